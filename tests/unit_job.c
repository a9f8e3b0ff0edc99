/* unit_job.c: job_filter against convolution as DESIGN.md defines it. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "engine.h"
#include "engine_fft.h"
#include "image.h"
#include "geom.h"
#include "job.h"
#include "kernel.h"

struct size2 { int w, h; };

static const struct size2 img_sizes[] = { { 1, 1 }, { 1, 7 }, { 7, 1 }, { 13, 9 }, { 31, 17 } };
static const struct size2 ker_sizes[] = { { 1, 1 }, { 2, 2 }, { 3, 3 }, { 4, 3 }, { 2, 5 }, { 7, 7 } };
static const struct border borders[] = {
	{ BORDER_CONST, 0.0f, 0, BORDER_CONST }, { BORDER_CONST, 0.375f, 0, BORDER_CONST }, { BORDER_CLAMP, 0, 0, BORDER_CLAMP },
	{ BORDER_REFLECT, 0, 0, BORDER_REFLECT }, { BORDER_MIRROR, 0, 0, BORDER_MIRROR }, { BORDER_WRAP, 0, 0, BORDER_WRAP },
	{ BORDER_REFLECT, 0, 1, BORDER_WRAP }, { BORDER_CONST, 0.375f, 1, BORDER_MIRROR },
};
#define NBORDERS ((int)(sizeof borders / sizeof borders[0]))
#define NORIGINS 3
#define NRANKS 3
static const char *const shape_names[] = { "same", "full", "valid" };
static const char *const border_names[] = { "zero", "const=0.375", "clamp", "reflect", "mirror", "wrap",
					     "reflect,wrap", "const=0.375,mirror" };

/*
 * ref_index maps index i of a row of n samples by the border rule, one
 * step at a time as DESIGN.md words it (a wider border repeats the rule),
 * independently of border.c.  -1 means "outside: the constant V".
 */
static long ref_index(enum border_mode mode, long i, long n)
{
	for (;;) {
		if (i >= 0 && i < n)
			return i;
		switch (mode) {
		case BORDER_CONST:
			return -1;
		case BORDER_CLAMP:              /* a a a | a b c d */
			return i < 0 ? 0 : n - 1;
		case BORDER_REFLECT:            /* c b a | a b c d: the edge repeats */
			i = i < 0 ? -i - 1 : 2 * n - 1 - i;
			break;
		case BORDER_MIRROR:             /* d c b | a b c d: the edge does not */
			if (n == 1)
				return 0;
			i = i < 0 ? -i : 2 * n - 2 - i;
			break;
		case BORDER_WRAP:               /* b c d | a b c d */
			i = i < 0 ? i + n : i - n;
			break;
		}
	}
}

/* ref_in is the input (is.w x is.h, row-major doubles) at (y, x), extended by bo. */
static double ref_in(const double *in, struct size2 is, struct border bo, long y, long x)
{
	long my = ref_index(bo.per_axis ? bo.ymode : bo.mode, y, is.h), mx = ref_index(bo.mode, x, is.w);

	return my < 0 || mx < 0 ? bo.value : in[my * is.w + mx];
}

/*
 * ref_filter computes the output in double, straight from DESIGN.md:
 * convolution out(y, x) = sum k(i, j) in(y - i + dy, x - j + dx), and
 * correlation out(y, x) = sum k(i, j) in(y + i - dy, x + j - dx), then
 * divided by scale and biased.  For `same`, (dx, dy) is the origin.
 * `full` is conv2's: every placement where kernel and image overlap, whatever
 * the origin (convolution dx = 0; correlation, the kernel unflipped, dx =
 * kw - 1).  `valid` is conv2's: every placement wholly inside the image
 * (convolution dx = kw - 1; correlation dx = 0).
 */
static void ref_filter(const double *in, struct size2 is, const struct kernel *k,
		       int correlate, enum job_shape shape, struct border bo,
		       double *out, int ow, int oh)
{
	int s = correlate ? 1 : -1, dx, dy, y, x, i, j;

	if (shape == SHAPE_SAME) {
		dx = k->ox;
		dy = k->oy;
	} else if (shape == SHAPE_FULL) {
		dx = correlate ? k->w - 1 : 0;
		dy = correlate ? k->h - 1 : 0;
	} else {
		dx = correlate ? 0 : k->w - 1;
		dy = correlate ? 0 : k->h - 1;
	}
	for (y = 0; y < oh; y++)
		for (x = 0; x < ow; x++) {
			double acc = 0;

			for (i = 0; i < k->h; i++)
				for (j = 0; j < k->w; j++)
					acc += k->m[i * k->w + j] *
					       ref_in(in, is, bo, y + s * (i - dy), x + s * (j - dx));
			out[y * ow + x] = acc / k->scale[0] + k->bias;
		}
}

/*
 * random_kernel fills m (ks.h x ks.w) with independent weights (rank 0:
 * full rank, about 15% zeros) or with a sum of `rank` random outer
 * products, which the separable engine accepts.
 */
static void random_kernel(double *m, struct size2 ks, int rank)
{
	double col[8], row[8];
	int i, j, t;

	for (i = 0; i < ks.w * ks.h; i++)
		m[i] = rank == 0 && rnd() >= 0.15 ? rnd() * 2 - 1 : 0;
	for (t = 0; t < rank; t++) {
		for (i = 0; i < ks.h; i++)
			col[i] = rnd() * 2 - 1;
		for (j = 0; j < ks.w; j++)
			row[j] = rnd() < 0.15 ? 0 : rnd() * 2 - 1;
		for (i = 0; i < ks.h; i++)
			for (j = 0; j < ks.w; j++)
				m[i * ks.w + j] += col[i] * row[j];
	}
}

/*
 * run_case filters one random single-channel float image with job_filter
 * (engine e, or the planner's choice when e is NULL) and returns the worst
 * error in units of sum|k / scale| * max|x| + |bias|, INFINITY for a
 * failure (why says what), NO_CASE when the case does not exist or
 * REFUSED when the forced engine does not support it.  *tol receives the
 * tolerance of the engine that ran.
 */
#define NO_CASE (-2.0)
#define REFUSED (-3.0)

static double run_case(const struct engine *e, int correlate, enum job_shape shape,
		       struct size2 is, struct size2 ks, struct border bo, int origin,
		       int rank, int threads, double *tol, char *why, size_t whylen)
{
	struct image im;
	struct kernel k, *kp = &k;
	struct job_opts opts;
	struct conv_job cj;
	struct plane insize = { is.w, is.h, 0, NULL }, outsize = { 0 };
	struct err err = { 0 };
	double in[31 * 17], m[49], scale, out[37 * 23], maxx = fabs(bo.value), sumk = 0, worst = 0;
	float *wt;
	int ow, oh, y, x, pw, ph, i, ok;
	const struct engine *ran;

	memset(&k, 0, sizeof k);
	snprintf(k.name, sizeof k.name, "random");
	k.w = ks.w;
	k.h = ks.h;
	k.n = 1;
	k.ox = origin == 0 ? ks.w / 2 : origin == 1 ? ks.w - 1 : 0;
	k.oy = origin == 0 ? ks.h / 2 : origin == 1 ? 0 : ks.h - 1;
	k.combine = KERN_SUM;
	scale = (rnd() < 0.3 ? -1 : 1) * (0.5 + 2 * rnd());
	k.scale = &scale;
	k.bias = rnd() < 0.5 ? 0 : rnd() * 2 - 1;
	k.m = m;
	random_kernel(m, ks, rank);
	for (i = 0; i < ks.w * ks.h; i++)
		sumk += fabs(m[i]);

	memset(&opts, 0, sizeof opts);
	opts.engine = e;
	opts.shape = shape;
	opts.border = bo;
	opts.correlate = correlate;
	opts.threads = threads;         /* and, zeroed: every channel, no deconvolution */
	/* Half the cases in strips of a few rows: each strip sees only the rows it needs. */
	opts.strip_rows = rnd() < 0.5 ? 0 : 1 + (int)(rnd() * 5);

	/* The expected size, and whether the forced engine takes the job at all. */
	ow = shape == SHAPE_SAME ? is.w : shape == SHAPE_FULL ? is.w + ks.w - 1 : is.w - ks.w + 1;
	oh = shape == SHAPE_SAME ? is.h : shape == SHAPE_FULL ? is.h + ks.h - 1 : is.h - ks.h + 1;
	if (ow < 1 || oh < 1) {
		/* Valid with a kernel larger than the image is an error, not a case. */
		if (img_alloc(&im, is.w, is.h, 1, &err) == 0)
			ok = job_filter(&im, &kp, 1, &opts, &err) != 0 && err.cls == ERR_DATA;
		else
			ok = 0;
		img_free(&im);
		if (!ok)
			snprintf(why, whylen, "valid with a larger kernel did not fail with ERR_DATA");
		return ok ? NO_CASE : INFINITY;
	}
	if (geom_prepare(&cj, &wt, &k, is.w, is.h, &opts, &pw, &ph, &err)) {
		free(wt);
		snprintf(why, whylen, "geom_prepare: %.200s", err.msg);
		return INFINITY;
	}
	/* As job.c asks the planner: of the planes only the sizes are read. */
	outsize.w = pw;
	outsize.h = ph;
	cj.in = &insize;
	cj.out = &outsize;
	ran = e != NULL ? e : eng_choose(&cj);
	ok = ran->supports(&cj);
	free(wt);
	if (!ok && e == NULL)
		snprintf(why, whylen, "the planner chose %s, which refuses the job", ran->name);
	if (!ok)
		return e != NULL ? REFUSED : INFINITY;
	*tol = strcmp(ran->name, "fft") == 0 ? 1e-4 : 1e-5;

	/* Samples in [-1, 2), float32 like a PFM, depth 32 so nothing is clamped. */
	if (img_alloc(&im, is.w, is.h, 1, &err)) {
		snprintf(why, whylen, "img_alloc: %.200s", err.msg);
		return INFINITY;
	}
	im.depth = 32;
	for (y = 0; y < is.h; y++)
		for (x = 0; x < is.w; x++) {
			float v = (float)(rnd() * 3 - 1);

			plane_row(&im.ch[0], y)[x] = v;
			in[y * is.w + x] = v;
			maxx = fmax(maxx, fabs(v));
		}
	ref_filter(in, is, &k, correlate, shape, bo, out, ow, oh);
	if (job_filter(&im, &kp, 1, &opts, &err)) {
		snprintf(why, whylen, "job_filter failed: %.200s", err.msg);
		worst = INFINITY;
	} else if (im.w != ow || im.h != oh || im.nch != 1) {
		snprintf(why, whylen, "output %dx%dx%d, expected %dx%dx1", im.w, im.h, im.nch, ow, oh);
		worst = INFINITY;
	} else {
		for (y = 0; y < oh; y++)
			for (x = 0; x < ow; x++) {
				double got = plane_row(&im.ch[0], y)[x], d = fabs(got - out[y * ow + x]);

				if (!isfinite(got))
					d = INFINITY;
				if (d > worst) {
					worst = d;
					snprintf(why, whylen, "at (x %d, y %d) got %.9g, expected %.9g",
						 x, y, got, out[y * ow + x]);
				}
			}
		worst /= sumk / fabs(scale) * maxx + fabs(k.bias) + 1e-30;
	}
	img_free(&im);
	return worst;
}

/*
 * in_place_vs_strips: job_filter works in place over the whole image when
 * one step's engine can (job.c), and in strips when strip_rows is set.
 * On an RGBA image with some channels left unfiltered (and alpha
 * premultiplied), both must give the same bytes, and the channels left
 * alone must be the input's own.
 */
static void in_place_vs_strips(void)
{
	static const char *const lists[] = { NULL, "r,b", "g", "a" };
	static const char *const engines[] = { "direct", "separable", NULL };
	double m[9] = { 1, 2, 1, 2, 4, 2, 1, 2, 1 }, scale = 16;
	struct kernel k, *kp = &k;
	struct image a, b, in;
	struct err err = { 0 };
	int li, ei, c, y, x, same, kept;
	char name[160];

	memset(&k, 0, sizeof k);
	snprintf(k.name, sizeof k.name, "binomial");
	k.w = k.h = 3;
	k.ox = k.oy = 1;
	k.n = 1;
	k.combine = KERN_SUM;
	k.scale = &scale;
	k.m = m;
	for (li = 0; li < 4; li++)
		for (ei = 0; ei < 3; ei++) {
			struct job_opts opts;

			memset(&in, 0, sizeof in);
			if (img_alloc(&in, 37, 23, 4, &err) || img_alloc(&a, 37, 23, 4, &err) ||
			    img_alloc(&b, 37, 23, 4, &err)) {
				check(0, "in place vs strips", "img_alloc: %s", err.msg);
				return;
			}
			in.depth = a.depth = b.depth = 8;
			for (c = 0; c < 4; c++)
				for (y = 0; y < 23; y++)
					for (x = 0; x < 37; x++)
						plane_row(&in.ch[c], y)[x] = plane_row(&a.ch[c], y)[x] =
							plane_row(&b.ch[c], y)[x] = (float)rnd();
			memset(&opts, 0, sizeof opts);
			opts.engine = engines[ei] != NULL ? eng_find(engines[ei]) : NULL;
			opts.channels = lists[li];
			opts.border.mode = opts.border.ymode = BORDER_REFLECT;
			opts.threads = 2;
			same = job_filter(&a, &kp, 1, &opts, &err) == 0;
			opts.strip_rows = 4;
			same = same && job_filter(&b, &kp, 1, &opts, &err) == 0;
			kept = 1;
			for (c = 0; same && c < 4; c++)
				for (y = 0; y < 23; y++) {
					const float *ra = plane_row(&a.ch[c], y), *rb = plane_row(&b.ch[c], y);
					const float *ri = plane_row(&in.ch[c], y);

					same = same && memcmp(ra, rb, 37 * sizeof *ra) == 0;
					if (lists[li] != NULL && strchr(lists[li], "rgba"[c]) == NULL)
						kept = kept && memcmp(ra, ri, 37 * sizeof *ra) == 0;
				}
			snprintf(name, sizeof name, "job_filter in place equals strips: %s, channels %s",
				 engines[ei] != NULL ? engines[ei] : "auto",
				 lists[li] != NULL ? lists[li] : "all");
			check(same && kept, name, "%s", !same ? "the bytes differ (or a run failed)"
							    : "an unfiltered channel changed");
			img_free(&in);
			img_free(&a);
			img_free(&b);
		}
}

int main(void)
{
	int ne = eng_count(), ei, c, s, ii, ki, bi, o, r, n = 0;

	/* Every engine of the table, then the planner's choice ("auto"). */
	for (ei = 0; ei <= ne; ei++) {
		const struct engine *e = ei < ne ? eng_at(ei) : NULL;
		const char *ename = e != NULL ? e->name : "auto";
		int engine_cases = 0;

		for (c = 0; c < 2; c++)
		for (s = SHAPE_SAME; s <= SHAPE_VALID; s++) {
			double worst = 0, tol = 1e-5;
			int cases = 0, failed = 0, refused = 0;
			char name[160], why[256], worst_at[512] = "";

			for (ii = 0; ii < (int)(sizeof img_sizes / sizeof img_sizes[0]); ii++)
			for (ki = 0; ki < (int)(sizeof ker_sizes / sizeof ker_sizes[0]); ki++)
			for (bi = 0; bi < NBORDERS; bi++)
			for (o = 0; o < NORIGINS; o++)
			for (r = 0; r < NRANKS; r++) {
				struct size2 is = img_sizes[ii], ks = ker_sizes[ki];
				double d;
				char at[512];

				/* Every fifth case runs in 3 bands of rows (threads). */
				why[0] = '\0';
				d = run_case(e, c, (enum job_shape)s, is, ks, borders[bi], o, r,
					     n++ % 5 == 0 ? 3 : 1, &tol, why, sizeof why);
				if (d == NO_CASE)
					continue;
				if (d == REFUSED) {
					refused++;
					continue;
				}
				cases++;
				snprintf(at, sizeof at, "image %dx%d kernel %dx%d rank %d origin %s, border %s: %s",
					 is.w, is.h, ks.w, ks.h, r, o == 0 ? "default" : o == 1 ? "top right" : "bottom left",
					 border_names[bi], why);
				/* Details of the first few failures of each group. */
				if (!(d <= tol) && failed++ < 3)
					check(0, "job_filter case", "%s %s %s: error %.3g (tolerance %g) at %s",
					      ename, c ? "correlate" : "convolve", shape_names[s], d, tol, at);
				if (!(d <= worst)) {
					worst = d;
					snprintf(worst_at, sizeof worst_at, "%s", at);
				}
			}
			engine_cases += cases;
			snprintf(name, sizeof name, "job_filter engine %s, %s, shape %s (%d cases, %d refused), worst %.3g",
				 ename, c ? "correlate" : "convolve", shape_names[s], cases, refused, worst);
			check(failed == 0 && cases > 0, name, "%d failed; worst at %s", failed, worst_at);
		}
		if (engine_cases == 0)
			check(0, "job_filter engine coverage", "engine %s ran no case", ename);
	}
	in_place_vs_strips();
	fft_shutdown();
	return check_exit();
}

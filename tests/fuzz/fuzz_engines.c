/*
 * fuzz_engines.c: the engines against each other and against the
 * definition.  The input draws one small job: an image (1 to 4 channels,
 * 1 to 24 a side), a kernel (1x1 to 9x9; ordinary, a bank with any
 * combine, or cross-channel, combined or not), the border (every mode, per
 * axis or not, any constant), the shape, stride, dilation, --transpose,
 * --correlate, threads and rows per strip.  The job runs through
 * job_filter, as the command line runs it, once with each engine of the
 * table that takes it and once with the planner's choice (auto), and
 * every output must match the double-precision reference of layer.h
 * (../ref_layer.h) within DESIGN.md's tolerance: 1e-5 (1e-4 for the FFT
 * engine and auto) times sum |k / scale| * max |x| plus |bias| (for the
 * transpose, the larger of that and the adjoint's largest sum of |terms|
 * of a sample, as unit_layer.c measures it).  Any difference, an
 * output of the wrong size, or an engine failing a job that auto ran
 * aborts with the case printed.  Auto then runs again with the whole
 * image as one strip: the output must be the same bytes.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine.h"
#include "fuzz.h"
#include "image.h"
#include "job.h"
#include "kernel.h"
#include "../ref_layer.h"

#define FZ_MAXK 9
#define FZ_MAXSIDE 24
#define FZ_MAXMAT 16            /* 4 kernels of 4 channels */

/*
 * The input, read a byte at a time; once it runs out, a generator seeded
 * from the whole input goes on, so that a short input still gives a whole
 * job and a mutation of any byte changes it.
 */
struct draw {
	const uint8_t *p;
	size_t n, at;
	unsigned long long state;
};

static unsigned byte(struct draw *d)
{
	if (d->at < d->n)
		return d->p[d->at++];
	d->state ^= d->state << 13;
	d->state ^= d->state >> 7;
	d->state ^= d->state << 17;
	return (unsigned)(d->state >> 56);
}

/* pick is a number in [0, n). */
static int pick(struct draw *d, int n)
{
	return (int)(byte(d) % (unsigned)n);
}

/* value is a float-exact number in [-2, 2) in steps of 1/64, now and then 0. */
static double value(struct draw *d)
{
	unsigned b = byte(d);

	return b < 24 ? 0 : ((int)b - 128) / 64.0;
}

/* The job a fuzz input draws. */
struct fz_case {
	struct kernel k;
	double m[FZ_MAXMAT * FZ_MAXK * FZ_MAXK];
	double scale[FZ_MAXMAT];
	double biases[4];
	struct job_opts o;
	int nch, w, h;
	double px[4 * FZ_MAXSIDE * FZ_MAXSIDE];
};

static const char *const mode_names[] = { "const", "clamp", "reflect", "mirror", "wrap" };
static const char *const shape_names[] = { "same", "full", "valid" };
static const char *const comb_names[] = { "sum", "max", "magnitude", "sumabs" };

/* draw_matrix fills kh x kw weights: independent, or (separable) an outer product. */
static void draw_matrix(struct draw *d, double *m, int kw, int kh, int separable)
{
	double col[FZ_MAXK], row[FZ_MAXK];
	int i, j;

	if (!separable) {
		for (i = 0; i < kw * kh; i++)
			m[i] = value(d);
		return;
	}
	for (i = 0; i < kh; i++)
		col[i] = value(d);
	for (j = 0; j < kw; j++)
		row[j] = value(d);
	for (i = 0; i < kh; i++)
		for (j = 0; j < kw; j++)
			m[i * kw + j] = col[i] * row[j];    /* exact: 1/64 times 1/64 */
}

/*
 * draw_case reads the job.  The first FZ_HEADER bytes choose its shape,
 * one byte each at a fixed place (so a seed can spell out a case, and a
 * mutation of one byte changes one choice):
 *
 *    0 shape       1 correlate   2 x border    3 per axis    4 y border
 *    5 constant?   6 its value   7-8 stride    9-10 dilation 11 transpose
 *   12 threads    13 strips?    14 strip rows 15 kind       16-17 kw, kh
 *   18 separable  19 combine    20 channels   21 bank size or M
 *   22-23 origin  24-25 image   26 bias?      27 its value
 *
 * kind: 0 an ordinary kernel, 1 a bank, 2 cross-channel, 3 cross-channel
 * combined.  Then the values: each matrix's scale (a byte choosing 1 or
 * the next) and weights (kh + kw factors when separable), the biases of a
 * cross-channel kernel, and the samples.
 */
#define FZ_HEADER 28

static void draw_case(struct draw *d, struct fz_case *c)
{
	struct job_opts *o = &c->o;
	struct kernel *k = &c->k;
	unsigned h[FZ_HEADER];
	int i, b, kw, kh, kind, separable, M = 1, N = 0, side;
	double v;

	for (i = 0; i < FZ_HEADER; i++)
		h[i] = byte(d);
	memset(o, 0, sizeof *o);
	o->alpha = ALPHA_SEPARATE;
	o->shape = (enum job_shape)(h[0] % 3);
	o->correlate = (int)(h[1] % 2);
	o->border.mode = (enum border_mode)(h[2] % 5);
	o->border.per_axis = (int)(h[3] % 2);
	o->border.ymode = o->border.per_axis ? (enum border_mode)(h[4] % 5) : o->border.mode;
	o->border.value = h[5] % 2 ? 0 : (float)(((int)h[6] - 128) / 64.0);
	o->stride[0] = (int)(h[7] % 4);           /* 0 means 1 */
	o->stride[1] = (int)(h[8] % 4);
	o->dilation[0] = (int)(h[9] % 4);
	o->dilation[1] = (int)(h[10] % 4);
	o->transpose = h[11] % 5 == 0;
	o->threads = 1 + (int)(h[12] % 3);
	o->strip_rows = h[13] % 2 ? 0 : 1 + (int)(h[14] % 6);

	kind = (int)(h[15] % 4);
	kw = 1 + (int)(h[16] % FZ_MAXK);
	kh = 1 + (int)(h[17] % FZ_MAXK);
	separable = h[18] % 3 == 0;
	memset(k, 0, sizeof *k);
	snprintf(k->name, sizeof k->name, "fuzz");
	k->w = kw;
	k->h = kh;
	k->combine = (enum kern_combine)(h[19] % 4);
	c->nch = 1 + (int)(h[20] % 4);
	if (kind == 0) {
		k->n = 1;
		k->combine = KERN_SUM;
	} else if (kind == 1) {
		k->n = 2 + (int)(h[21] % 3);
	} else {
		/* M kernels of N matrices, one per channel; combined or not. */
		M = 1 + (int)(h[21] % 4);
		N = c->nch;
		k->n = M * N;
		k->nin = N;
		k->combined = kind == 3;
		if (!k->combined)
			k->combine = KERN_SUM;
		k->biases = c->biases;
	}
	k->ox = (int)(h[22] % (unsigned)kw);
	k->oy = (int)(h[23] % (unsigned)kh);
	/* The transpose's output is up to 3 times its input a side: keep it small. */
	side = o->transpose ? 12 : FZ_MAXSIDE;
	c->w = 1 + (int)(h[24] % (unsigned)side);
	c->h = 1 + (int)(h[25] % (unsigned)side);
	k->bias = h[26] % 2 ? 0 : ((int)h[27] - 128) / 64.0;

	k->m = c->m;
	k->scale = c->scale;
	for (b = 0; b < k->n; b++) {
		v = pick(d, 4) == 0 ? value(d) : 1;
		c->scale[b] = v != 0 ? v : 0.5;
		draw_matrix(d, c->m + (size_t)b * kw * kh, kw, kh, separable);
	}
	for (b = 0; b < M && N > 0; b++)
		c->biases[b] = pick(d, 4) ? k->bias : value(d);
	/* The image a transposed cross-channel kernel reads has its M channels. */
	if (o->transpose && k->nin > 0)
		c->nch = kern_outputs(k);
	for (i = 0; i < c->nch * c->w * c->h; i++)
		c->px[i] = value(d);
}

/* describe prints the case, for the report of a finding. */
static void describe(const struct fz_case *c, const char *engine, const char *what)
{
	const struct kernel *k = &c->k;
	const struct job_opts *o = &c->o;
	int b, i, j;

	fprintf(stderr, "fuzz_engines: engine %s: %s\n", engine, what);
	fprintf(stderr, "  image %dx%dx%d; kernel %dx%d n %d nin %d combined %d combine %s "
		"origin %d,%d bias %g\n", c->w, c->h, c->nch, k->w, k->h, k->n, k->nin, k->combined,
		comb_names[k->combine], k->ox, k->oy, k->bias);
	fprintf(stderr, "  -b %s,%s (value %g) -s %s%s --stride %d,%d --dilation %d,%d%s, "
		"%d threads, strip rows %d\n", mode_names[o->border.mode],
		mode_names[border_ymode(&o->border)], o->border.value, shape_names[o->shape],
		o->correlate ? " --correlate" : "", o->stride[0], o->stride[1], o->dilation[0],
		o->dilation[1], o->transpose ? " --transpose" : "", o->threads, o->strip_rows);
	for (b = 0; b < k->n; b++) {
		fprintf(stderr, "  matrix %d (scale %g):", b, k->scale[b]);
		for (i = 0; i < k->h; i++) {
			if (i > 0)
				fprintf(stderr, " /");
			for (j = 0; j < k->w; j++)
				fprintf(stderr, " %g", k->m[((size_t)b * k->h + i) * k->w + j]);
		}
		fprintf(stderr, "\n");
	}
}

/* run filters a copy of the case's image; the result stays in *im. */
static int run(const struct fz_case *c, const struct engine *e, int strip_rows, struct image *im,
	       struct err *err)
{
	struct job_opts o = c->o;
	struct kernel *kp = (struct kernel *)&c->k;
	int ch, y, x;

	o.engine = e;
	o.strip_rows = strip_rows;
	err_clear(err);
	memset(im, 0, sizeof *im);
	if (img_alloc(im, c->w, c->h, c->nch, err))
		return -1;
	im->depth = 32;
	for (ch = 0; ch < c->nch; ch++)
		for (y = 0; y < c->h; y++)
			for (x = 0; x < c->w; x++)
				plane_row(&im->ch[ch], y)[x] =
					(float)c->px[((size_t)ch * c->h + y) * c->w + x];
	return job_filter(im, &kp, 1, &o, err);
}

/* The expected output and the scale of its rounding errors, plane by plane. */
struct fz_ref {
	int w, h, nch;
	double *v;
	double norm[4 * FZ_MAXMAT];
};

/* reference fills r; it returns -1 when the job has no output (valid, too small). */
static int reference(const struct fz_case *c, struct fz_ref *r)
{
	const struct kernel *k = &c->k;
	struct job_opts o = c->o;
	struct geo g;
	double maxx = fabs(o.border.value), *xabs, amax = 0;
	size_t wh = (size_t)c->w * c->h, i, np;
	int b;

	for (i = 0; i < (size_t)c->nch * wh; i++)
		maxx = fmax(maxx, fabs(c->px[i]));
	if (!o.transpose) {
		geo_of(k, &o, c->w, c->h, &g);
		if (g.ow == 0)
			return -1;
		r->w = g.ow;
		r->h = g.oh;
		np = (size_t)g.ow * g.oh;
		r->v = malloc(np * (k->nin > 0 ? 4 : c->nch) * sizeof *r->v);
		if (r->v == NULL)
			abort();
		r->nch = ref_forward(c->px, c->nch, c->w, c->h, k, &o, &g, r->v);
		for (b = 0; b < r->nch; b++)
			r->norm[b] = out_norm(k, k->nin > 0 ? b : 0) * maxx +
				     fabs(out_bias(k, b)) + 1e-30;
		return 0;
	}
	/* The transpose: T^T of the forward operator whose output is this image. */
	o.transpose = 0;
	geo_of(k, &o, 1, 1, &g);
	r->w = tsize(o.shape, c->w, g.sx, g.KW);
	r->h = tsize(o.shape, c->h, g.sy, g.KH);
	geo_of(k, &o, r->w, r->h, &g);
	r->nch = k->nin > 0 ? k->nin : c->nch;
	np = (size_t)r->w * r->h;
	r->v = malloc(np * r->nch * sizeof *r->v);
	xabs = malloc(np * r->nch * sizeof *xabs);
	if (r->v == NULL || xabs == NULL)
		abort();
	if (g.ow != c->w || g.oh != c->h) {
		/* full, below 1: refused or clamped; only failing or not is compared. */
		free(xabs);
		return -1;
	}
	ref_adjoint(c->px, c->nch, r->w, r->h, k, &o, &g, r->v, xabs);
	for (i = 0; i < np * r->nch; i++)
		amax = fmax(amax, xabs[i]);
	free(xabs);
	/*
	 * The scale of T^T's rounding errors: the largest sum of |terms| of a
	 * sample, but at least DESIGN.md's sum |k / scale| * max |x| (of every
	 * matrix), for a T^T that few or no taps reach: the FFT engine's
	 * noise then comes from the whole input, not from the sample's terms.
	 */
	for (b = 0; b < r->nch; b++)
		r->norm[b] = fmax(amax, out_norm(k, -1) * maxx) + fabs(out_bias(k, 0)) + 1e-30;
	return 0;
}

/* compare checks im against r within tol (aborting with the case if not); it returns the worst error. */
static double compare(const struct fz_case *c, const struct fz_ref *r, const struct image *im,
		    const char *engine, double tol)
{
	char what[300];
	double worst = 0;
	int ch, y, x;

	if (im->w != r->w || im->h != r->h || im->nch != r->nch) {
		snprintf(what, sizeof what, "output %dx%dx%d, the reference's %dx%dx%d", im->w,
			 im->h, im->nch, r->w, r->h, r->nch);
		describe(c, engine, what);
		abort();
	}
	for (ch = 0; ch < r->nch; ch++)
		for (y = 0; y < r->h; y++)
			for (x = 0; x < r->w; x++) {
				double got = plane_row(&im->ch[ch], y)[x];
				double want = r->v[((size_t)ch * r->h + y) * r->w + x];
				double d = fabs(got - want) / r->norm[ch];

				if (d <= tol) {
					worst = d > worst ? d : worst;
					continue;
				}
				snprintf(what, sizeof what, "channel %d at (x %d, y %d): got %.9g, "
					 "the reference %.9g: error %.3g > %g", ch, x, y, got, want,
					 d, tol);
				describe(c, engine, what);
				abort();
			}
	return worst;
}

/* refused says whether err is a forced engine's refusal of a job it does not take. */
static int refused(const struct err *err, const struct engine *e)
{
	char head[80];

	snprintf(head, sizeof head, "engine %s cannot run this job", e->name);
	return err->cls == ERR_USAGE && strncmp(err->msg, head, strlen(head)) == 0;
}

/*
 * With FUZZ_ENGINES_VERBOSE set in the environment, each input's case is
 * printed with what every engine did (to see what a seed covers).
 */
static void say(const struct fz_case *c, const char *engine, int rc, const struct err *err,
		double worst)
{
	static int verbose = -1;
	char what[300];

	if (verbose < 0)
		verbose = getenv("FUZZ_ENGINES_VERBOSE") != NULL;
	if (!verbose)
		return;
	if (rc == 0)
		snprintf(what, sizeof what, "ran, worst error %.3g", worst);
	else
		snprintf(what, sizeof what, "failed: %.200s", err->msg);
	describe(c, engine, what);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct fz_case c;
	struct draw d = { data, size, 0, 0x9e3779b97f4a7c15ULL };
	struct fz_ref r;
	struct image im, whole;
	struct err err = { 0 };
	size_t i;
	int ne = eng_count(), ei, has, rc, auto_rc, ch, y;

	for (i = 0; i < size; i++)
		d.state = (d.state ^ data[i]) * 0x100000001b3ULL;
	d.state |= 1;
	draw_case(&d, &c);
	memset(&r, 0, sizeof r);
	has = reference(&c, &r) == 0;

	/* auto first: it must run every job that has an output, bar the transpose's refusals. */
	auto_rc = run(&c, NULL, c.o.strip_rows, &im, &err);
	/* (A transpose whose `full` input would be below 1 a side may clamp it to 1: layer.h.) */
	if (auto_rc == 0 && !has && !c.o.transpose) {
		describe(&c, "auto", "ran a job that has no output");
		abort();
	}
	if (auto_rc != 0 && (err.cls == ERR_NONE || err.msg[0] == '\0' ||
			     (has && !c.o.transpose))) {
		describe(&c, "auto", err.msg[0] ? err.msg : "failed without a message");
		abort();
	}
	say(&c, "auto", auto_rc, &err, auto_rc == 0 && has ? compare(&c, &r, &im, "auto", 1e-4) : 0);
	if (auto_rc == 0 && has) {
		/* The output does not depend on the strips: one strip, the same bytes. */
		if (c.o.strip_rows > 0) {
			if (run(&c, NULL, 0, &whole, &err) != 0) {
				describe(&c, "auto", "failed in one strip");
				abort();
			}
			for (ch = 0; ch < im.nch; ch++)
				for (y = 0; y < im.h; y++)
					if (memcmp(plane_row(&im.ch[ch], y), plane_row(&whole.ch[ch], y),
						   (size_t)im.w * sizeof(float)) != 0) {
						describe(&c, "auto", "strips of rows change the output");
						abort();
					}
			img_free(&whole);
		}
	}
	img_free(&im);

	/* Every engine that takes the job agrees with the reference, and with auto on failing. */
	for (ei = 0; ei < ne; ei++) {
		const struct engine *e = eng_at(ei);

		rc = run(&c, e, c.o.strip_rows, &im, &err);
		if (rc != 0 && !refused(&err, e) && auto_rc == 0) {
			describe(&c, e->name, err.msg[0] ? err.msg : "failed without a message");
			abort();
		}
		if (rc == 0 && auto_rc != 0) {
			describe(&c, e->name, "ran a job that auto refused");
			abort();
		}
		say(&c, e->name, rc, &err, rc == 0 && has ?
		    compare(&c, &r, &im, e->name, strcmp(e->name, "fft") == 0 ? 1e-4 : 1e-5) : 0);
		img_free(&im);
	}
	free(r.v);
	return 0;
}

/* unit_engine.c: every engine against the double-precision reference. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CHECK_RNG_SEED 0x9e3779b97f4a7c15ULL
#include "check.h"
#include "cpu.h"
#include "engine.h"
#include "engine_fft.h"
#include "ref.h"

enum shape { SAME, SAME_EVEN_ALT, FULL, VALID, NSHAPES };
static const char *shape_names[] = { "same", "same(origin k-1-k/2)", "full", "valid" };

/* The engine's agreed tolerance, in units of sum|k| * max|x| (DESIGN.md). */
static double tolerance(const struct engine *e)
{
	return strcmp(e->name, "fft") == 0 ? 1e-4 : 1e-5;
}

struct size2 { int w, h; };

static const struct size2 img_sizes[] = {
	{ 1, 1 }, { 1, 9 }, { 9, 1 }, { 7, 5 }, { 13, 17 }, { 67, 3 }, { 3, 41 }, { 40, 33 },
};
static const struct size2 ker_sizes[] = {
	{ 1, 1 }, { 2, 2 }, { 3, 3 }, { 4, 4 }, { 5, 3 }, { 2, 7 }, { 6, 1 }, { 1, 5 }, { 9, 9 }, { 15, 12 },
};
static const struct { int nk; enum kern_combine c; } banks[] = {
	{ 1, KERN_SUM }, { 2, KERN_MAGNITUDE }, { 3, KERN_MAX }, { 2, KERN_SUM }, { 1, KERN_MAGNITUDE },
	{ 3, KERN_SUMABS }, { 1, KERN_SUMABS },
};
static const struct border borders[] = {
	{ BORDER_CONST, 0.0f, 0, BORDER_CONST }, { BORDER_CONST, 0.25f, 0, BORDER_CONST }, { BORDER_CLAMP, 0, 0, BORDER_CLAMP },
	{ BORDER_REFLECT, 0, 0, BORDER_REFLECT }, { BORDER_MIRROR, 0, 0, BORDER_MIRROR }, { BORDER_WRAP, 0, 0, BORDER_WRAP },
	{ BORDER_WRAP, 0, 1, BORDER_REFLECT }, { BORDER_CLAMP, 0.25f, 1, BORDER_CONST },
};

/*
 * Random kernels of rank r (r >= 1) are sums of r outer products of random
 * column and row vectors, some entries 0, so that the engines for
 * separable and low-rank kernels (which refuse full-rank kernels) are
 * tested as thoroughly as the others; rank 0 means independent random
 * weights, of full rank.
 */
static void random_kernel(float *wt, struct size2 ks, int rank)
{
	double col[64], row[64], v;
	int i, j, t;

	if (rank == 0) {
		for (i = 0; i < ks.w * ks.h; i++)
			wt[i] = rnd() < 0.15 ? 0.0f : (float)(rnd() * 2 - 1);
		return;
	}
	for (i = 0; i < ks.w * ks.h; i++)
		wt[i] = 0;
	for (t = 0; t < rank; t++) {
		for (i = 0; i < ks.h; i++)
			col[i] = rnd() < 0.15 ? 0 : rnd() * 2 - 1;
		for (j = 0; j < ks.w; j++)
			row[j] = rnd() < 0.15 ? 0 : rnd() * 2 - 1;
		for (i = 0; i < ks.h; i++)
			for (j = 0; j < ks.w; j++) {
				v = wt[i * ks.w + j] + col[i] * row[j];
				wt[i * ks.w + j] = (float)v;
			}
	}
}

/*
 * inplace_differs runs job again written over a copy of its input, when e
 * can, with its thread count and with 7 threads (bands thinner than the
 * kernel), and says whether either result differs in any bit from
 * job->out.  An engine working in place must compute exactly what it
 * computes into a separate plane.
 */
static int inplace_differs(const struct engine *e, const struct conv_job *job, int threads)
{
	struct conv_job ip = *job;
	struct plane copy;
	struct err err = { 0 };
	int t, y, differs = 0;

	if (e->inplace == NULL || job->out->w != job->in->w || job->out->h != job->in->h)
		return 0;
	ip.out = job->out;     /* the sizes, for inplace() */
	if (!e->inplace(&ip))
		return 0;
	for (t = 0; t < 2 && !differs; t++) {
		if (plane_alloc(&copy, job->in->w, job->in->h, &err))
			return 1;
		for (y = 0; y < copy.h; y++)
			memcpy(plane_row(&copy, y), plane_row(job->in, y),
			       (size_t)copy.w * sizeof(float));
		ip.in = &copy;
		ip.out = &copy;
		ip.threads = t == 0 ? threads : 7;
		if (e->run(&ip, &err) != 0)
			differs = 1;
		for (y = 0; y < copy.h && !differs; y++)
			differs = memcmp(plane_row(&copy, y), plane_row(job->out, y),
					 (size_t)copy.w * sizeof(float)) != 0;
		plane_free(&copy);
	}
	return differs;
}

/*
 * run_case runs one engine on one random case and returns the error in
 * units of sum|k| * max|x|, or -1 when the engine failed, or -2 when the
 * case does not exist (valid shape with a kernel larger than the image),
 * or -3 when the engine does not support it.
 */
static double run_case(const struct engine *e, struct size2 is, struct size2 ks,
		       int bank, struct border bo, enum shape shape, int threads, int rank,
		       char *why, size_t whylen)
{
	struct plane in, out;
	struct conv_job job;
	struct err err = { 0 };
	float *wt;
	double *ref, maxx = 0, sumk = 0, worst = 0;
	int nk = banks[bank].nk, ow, oh, x, y;
	size_t i, nw = (size_t)nk * ks.w * ks.h;

	switch (shape) {
	case SAME: ow = is.w; oh = is.h; break;
	case SAME_EVEN_ALT: ow = is.w; oh = is.h; break;
	case FULL: ow = is.w + ks.w - 1; oh = is.h + ks.h - 1; break;
	default:
		ow = is.w - ks.w + 1; oh = is.h - ks.h + 1;
		if (ow < 1 || oh < 1)
			return -2;
	}
	if (plane_alloc(&in, is.w, is.h, &err) || plane_alloc(&out, ow, oh, &err))
		return -1;
	for (y = 0; y < is.h; y++)
		for (x = 0; x < is.w; x++) {
			float v = (float)(rnd() * 3 - 1);
			plane_row(&in, y)[x] = v;
			maxx = fmax(maxx, fabs(v));
		}
	maxx = fmax(maxx, fabs(bo.value));
	wt = malloc(nw * sizeof *wt);
	for (i = 0; i < (size_t)nk; i++)
		random_kernel(wt + i * ks.w * ks.h, ks, rank);
	for (i = 0; i < nw; i++)
		sumk += fabs(wt[i]);
	memset(&job, 0, sizeof job);
	job.in = &in;
	job.out = &out;
	job.kw = ks.w;
	job.kh = ks.h;
	job.nk = nk;
	job.wt = wt;
	job.combine = banks[bank].c;
	job.border = bo;
	job.threads = threads;
	switch (shape) {
	case SAME: job.ax = ks.w / 2; job.ay = ks.h / 2; break;
	case SAME_EVEN_ALT: job.ax = ks.w - 1 - ks.w / 2; job.ay = ks.h - 1 - ks.h / 2; break;
	case FULL: job.ax = ks.w - 1; job.ay = ks.h - 1; break;
	default: job.ax = 0; job.ay = 0;
	}
	ref = malloc((size_t)ow * oh * sizeof *ref);
	ref_job(&job, ref);
	if (e->supports(&job) && e->run(&job, &err) == 0) {
		for (y = 0; y < oh; y++)
			for (x = 0; x < ow; x++) {
				double d = fabs(plane_row(&out, y)[x] - ref[(size_t)y * ow + x]);
				if (!(d <= worst))     /* NaN counts as the worst */
					worst = isnan(d) ? INFINITY : d;
			}
		worst /= (sumk * (nk > 1 ? nk : 1) * (maxx > 0 ? maxx : 1));
		if (inplace_differs(e, &job, threads)) {
			snprintf(why, whylen, "written in place, the result differs");
			worst = -1;
		}
	} else if (!e->supports(&job)) {
		worst = -3;
	} else {
		snprintf(why, whylen, "%s", err.msg);
		worst = -1;
	}
	free(ref);
	free(wt);
	plane_free(&in);
	plane_free(&out);
	return worst;
}

/*
 * run_pass runs engine e over every shape, border, image size, kernel
 * size and bank, with kernels of the given rank (rank 0: full rank;
 * rank -1: ranks 1 and 2 alternately).  When must_support is set, a case
 * the engine refuses is a failure.
 */
static void run_pass(const struct engine *e, const char *what, int rank, int must_support)
{
	double tol = tolerance(e);
	int s, bi, ii, ki, bk, th, r;
	char name[200], why[512], worst_case[256];

	for (s = 0; s < NSHAPES; s++) {
		for (bi = 0; bi < (int)(sizeof borders / sizeof borders[0]); bi++) {
			double worst = 0;
			int cases = 0, failed = 0;

			worst_case[0] = why[0] = '\0';
			for (ii = 0; ii < (int)(sizeof img_sizes / sizeof img_sizes[0]); ii++)
			for (ki = 0; ki < (int)(sizeof ker_sizes / sizeof ker_sizes[0]); ki++)
			for (bk = 0; bk < (int)(sizeof banks / sizeof banks[0]); bk++) {
				th = 1 + (ii + ki + bk) % 3;
				r = rank >= 0 ? rank : 1 + (ii + ki + bk) % 2;
				double d = run_case(e, img_sizes[ii], ker_sizes[ki], bk, borders[bi],
						    (enum shape)s, th, r, why, sizeof why);
				if (d == -2 || (d == -3 && !must_support))
					continue;
				cases++;
				if (d < 0 || d > tol)
					failed++;
				if (d < 0 || d > worst) {
					worst = d < 0 ? INFINITY : d;
					snprintf(worst_case, sizeof worst_case,
						 "image %dx%d kernel %dx%d rank %d bank %d threads %d%s%s",
						 img_sizes[ii].w, img_sizes[ii].h, ker_sizes[ki].w,
						 ker_sizes[ki].h, r, banks[bk].nk, th,
						 d == -1 ? ": " : d == -3 ? ": not supported" : "",
						 d == -1 ? why : "");
				}
			}
			snprintf(name, sizeof name, "engine %s%s, shape %s, border %s%s%s%s (%d cases)",
				 e->name, what, shape_names[s], border_name(borders[bi].mode),
				 borders[bi].per_axis ? "," : "",
				 borders[bi].per_axis ? border_name(borders[bi].ymode) : "",
				 borders[bi].value != 0 ? "=0.25" : "", cases);
			check(failed == 0 && cases > 0, name,
			      "%d failed; worst error %.3g (tolerance %g) at %s",
			      failed, worst, tol, worst_case);
		}
	}
}

/*
 * Wide images, where rows are cut into strips and the vector loops run
 * their full blocks as well as their tails, at every instruction-set
 * level this CPU has (cpu_limit; a level it lacks is a SKIP line), for
 * full-rank and low-rank kernels and a bank of each combine mode (the
 * bank's combine has vector loops of its own: unit_vec.c tests them
 * alone).
 */
static void run_wide(const struct engine *e)
{
	/* 4500 wide: a 31x31 kernel's rows take more than the strip budget. */
	static const struct size2 wide_img[] = { { 4500, 1 }, { 301, 6 } };
	static const struct size2 wide_ker[] = { { 31, 31 }, { 3, 3 }, { 6, 5 } };
	static const struct border wide_bo[] = { { BORDER_REFLECT, 0, 0, BORDER_REFLECT }, { BORDER_CONST, 0.5f, 0, BORDER_CONST } };
	/* banks[]: one kernel (sum), magnitude of 2, max of 3, sumabs of 3. */
	static const int wide_banks[] = { 0, 1, 2, 5 };
	double tol = tolerance(e);
	int lv, ii, ki, bo, bk, rank;
	char name[200], why[512];

	for (lv = CPU_C; lv <= CPU_AVX512; lv++) {
		enum cpu_level old = cpu_limit((enum cpu_level)lv);
		double worst = 0;
		int cases = 0, failed = 0;

		if (cpu_level() != (enum cpu_level)lv) {
			snprintf(name, sizeof name, "engine %s, wide images, %s code", e->name,
				 cpu_level_name((enum cpu_level)lv));
			check_skip(name, "this CPU (or this build) does not run it");
			cpu_limit(old);
			continue;
		}
		why[0] = '\0';
		for (ii = 0; ii < 2; ii++)
		for (ki = 0; ki < 3; ki++)
		for (bo = 0; bo < 2; bo++)
		for (bk = 0; bk < (int)(sizeof wide_banks / sizeof wide_banks[0]); bk++)
		for (rank = 0; rank <= 2; rank++) {
			if (ki == 0 && (bk != 0 || bo == 1))
				continue;      /* the 31x31 reference is slow: one case a rank */
			double d = run_case(e, wide_img[ii], wide_ker[ki], wide_banks[bk], wide_bo[bo],
					    ii == 0 ? SAME : FULL, 1 + (ki + rank) % 2, rank, why,
					    sizeof why);
			if (d == -2 || d == -3)
				continue;
			cases++;
			if (d < 0 || d > tol)
				failed++;
			if (d < 0 || d > worst)
				worst = d < 0 ? INFINITY : d;
		}
		cpu_limit(old);
		snprintf(name, sizeof name, "engine %s, wide images, %s code (%d cases)", e->name,
			 cpu_level_name((enum cpu_level)lv), cases);
		check(failed == 0 && cases > 0, name, "%d failed; worst error %.3g (tolerance %g) %s",
		      failed, worst, tol, why);
	}
}

int main(void)
{
	int ei;

	for (ei = 0; ei < eng_count(); ei++) {
		const struct engine *e = eng_at(ei);

		run_pass(e, "", 0, 0);
		/* Rank 1 and 2: separable (and every engine) must take every one. */
		run_pass(e, ", rank-1/2 kernels", -1, 1);
		if (strcmp(e->name, "direct") == 0 || strcmp(e->name, "separable") == 0)
			run_wide(e);
	}
	fft_shutdown();
	return check_exit();
}

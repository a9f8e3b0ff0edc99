/* unit_engine.c: every engine against the double-precision reference. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "engine.h"
#include "engine_fft.h"
#include "ref.h"

/* A small deterministic generator, so a failure reproduces exactly. */
static unsigned long long rng_state = 0x9e3779b97f4a7c15ULL;

static double rnd(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return (double)(rng_state >> 11) / 9007199254740992.0;
}

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
};
static const struct border borders[] = {
	{ BORDER_CONST, 0.0f }, { BORDER_CONST, 0.25f }, { BORDER_CLAMP, 0 },
	{ BORDER_REFLECT, 0 }, { BORDER_MIRROR, 0 }, { BORDER_WRAP, 0 },
};

/*
 * run_case runs one engine on one random case and returns the error in
 * units of sum|k| * max|x|, or -1 when the engine failed, or -2 when the
 * case does not exist (valid shape with a kernel larger than the image).
 */
static double run_case(const struct engine *e, struct size2 is, struct size2 ks,
		       int bank, struct border bo, enum shape shape, int threads,
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
	for (i = 0; i < nw; i++) {
		wt[i] = rnd() < 0.15 ? 0.0f : (float)(rnd() * 2 - 1);
		sumk += fabs(wt[i]);
	}
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
	} else if (!e->supports(&job)) {
		worst = -2;
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

int main(void)
{
	int ei, s, bi, ii, ki, bk, th;
	char name[160], why[512], worst_case[256];

	for (ei = 0; ei < eng_count(); ei++) {
		const struct engine *e = eng_at(ei);
		double tol = tolerance(e);

		for (s = 0; s < NSHAPES; s++) {
			for (bi = 0; bi < (int)(sizeof borders / sizeof borders[0]); bi++) {
				double worst = 0;
				int cases = 0, failed = 0;

				worst_case[0] = why[0] = '\0';
				for (ii = 0; ii < (int)(sizeof img_sizes / sizeof img_sizes[0]); ii++)
				for (ki = 0; ki < (int)(sizeof ker_sizes / sizeof ker_sizes[0]); ki++)
				for (bk = 0; bk < (int)(sizeof banks / sizeof banks[0]); bk++) {
					th = 1 + (ii + ki + bk) % 3;
					double r = run_case(e, img_sizes[ii], ker_sizes[ki], bk,
							    borders[bi], (enum shape)s, th, why, sizeof why);
					if (r == -2)
						continue;
					cases++;
					if (r < 0 || r > tol)
						failed++;
					if (r < 0 || r > worst) {
						worst = r < 0 ? INFINITY : r;
						snprintf(worst_case, sizeof worst_case,
							 "image %dx%d kernel %dx%d bank %d threads %d%s%s",
							 img_sizes[ii].w, img_sizes[ii].h, ker_sizes[ki].w,
							 ker_sizes[ki].h, banks[bk].nk, th,
							 r == -1 ? ": " : "", r == -1 ? why : "");
					}
				}
				snprintf(name, sizeof name, "engine %s, shape %s, border %s%s (%d cases)",
					 e->name, shape_names[s], border_name(borders[bi].mode),
					 borders[bi].value != 0 ? "=0.25" : "", cases);
				check(failed == 0 && cases > 0, name,
				      "%d failed; worst error %.3g (tolerance %g) at %s",
				      failed, worst, tol, worst_case);
			}
		}
	}
	fft_shutdown();
	return check_exit();
}

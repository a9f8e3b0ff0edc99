/* ref.h: the double-precision reference convolution the engine tests trust. */
#ifndef IMF_REF_H
#define IMF_REF_H

#include <math.h>
#include <stdlib.h>

#include "engine.h"

/*
 * Written from the definitions in DESIGN.md, independently of border.c:
 * each rule is applied step by step (reflect at the nearer edge until the
 * index lands inside), not by the closed forms the engines use.
 */
static long ref_map(enum border_mode mode, long i, long n)
{
	switch (mode) {
	case BORDER_CONST:
		return i < 0 || i >= n ? -1 : i;
	case BORDER_CLAMP:
		return i < 0 ? 0 : i >= n ? n - 1 : i;
	case BORDER_WRAP:
		while (i < 0)
			i += n;
		while (i >= n)
			i -= n;
		return i;
	case BORDER_REFLECT:           /* c b a | a b c d | d c b */
		while (i < 0 || i >= n)
			i = i < 0 ? -1 - i : 2 * n - 1 - i;
		return i;
	case BORDER_MIRROR:            /* d c b | a b c d | c b a */
		if (n == 1)
			return 0;
		while (i < 0 || i >= n)
			i = i < 0 ? -i : 2 * n - 2 - i;
		return i;
	}
	return -1;
}

/* ref_sample is the extended input at (y, x), in double. */
static double ref_sample(const struct conv_job *job, long y, long x)
{
	const struct plane *in = job->in;
	/* Rows by their own rule when the border is per axis (-b X,Y). */
	long my = ref_map(job->border.per_axis ? job->border.ymode : job->border.mode, y, in->h);
	long mx = ref_map(job->border.mode, x, in->w);

	if (my < 0 || mx < 0)
		return job->border.value;
	return in->px[my * in->stride + mx];
}

/* ref_job computes job's output in double: out[y * out_w + x]. */
static void ref_job(const struct conv_job *job, double *out)
{
	int ow = job->out->w, oh = job->out->h;
	int y, x, i, j, b;

	for (y = 0; y < oh; y++) {
		for (x = 0; x < ow; x++) {
			double acc = 0, r;

			for (b = 0; b < job->nk; b++) {
				const float *w = job->wt + (size_t)b * job->kh * job->kw;

				r = 0;
				for (i = 0; i < job->kh; i++)
					for (j = 0; j < job->kw; j++)
						r += (double)w[i * job->kw + j] *
						     ref_sample(job, (long)y + i - job->ay,
								(long)x + j - job->ax);
				if (b == 0)
					acc = job->combine == KERN_MAGNITUDE ? r * r :
					      job->combine == KERN_SUMABS ? fabs(r) : r;
				else if (job->combine == KERN_SUM)
					acc += r;
				else if (job->combine == KERN_MAX)
					acc = r > acc ? r : acc;
				else if (job->combine == KERN_SUMABS)
					acc += fabs(r);
				else
					acc += r * r;
			}
			out[(size_t)y * ow + x] = job->combine == KERN_MAGNITUDE ? sqrt(acc) : acc;
		}
	}
}

#endif

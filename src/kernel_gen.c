/* kernel_gen.c: generators that build a struct kernel (gaussian, box). */
#include "kernel.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* max_square_side is the largest n with an n x n matrix inside the limits. */
static int max_square_side(void)
{
	int n = (int)sqrt((double)KERN_MAX_ELEMS);

	while ((long)(n + 1) * (n + 1) <= KERN_MAX_ELEMS)
		n++;
	while ((long)n * n > KERN_MAX_ELEMS)
		n--;
	return n < KERN_MAX_SIDE ? n : KERN_MAX_SIDE;
}

/*
 * The Gaussian is the outer product of one normalised row with itself, so
 * it stays separable to the last bit that matters (kern_rank says 1).  The
 * samples sit at integer offsets from the centre (size - 1) / 2, which for
 * an even size lies between two samples: offsets +-0.5, +-1.5, ...  The
 * offset is divided by sigma before squaring, so a tiny sigma gives a clean
 * unit impulse instead of 0/0.
 */
int kern_gen_gaussian(double sigma, int size, struct kernel *k, struct err *err)
{
	int maxside = max_square_side(), x, y, c, i;
	double *g, sum, d, s;

	memset(k, 0, sizeof *k);
	if (!(sigma > 0) || !isfinite(sigma))
		return err_set(err, ERR_DATA, "gaussian:%g: sigma must be a number "
			       "greater than 0", sigma);
	if (size < 0)
		return err_set(err, ERR_DATA, "gaussian:%g,%d: size must be at "
			       "least 1", sigma, size);
	if (size == 0) {
		d = 2 * ceil(3 * sigma) + 1;
		if (d > maxside)
			return err_set(err, ERR_DATA, "gaussian:%g: its size %.0fx%.0f "
				       "is over the limit of %dx%d; give a smaller "
				       "SIZE (gaussian:SIGMA,SIZE)", sigma, d, d,
				       maxside, maxside);
		size = (int)d;
	}
	if (size > maxside)
		return err_set(err, ERR_DATA, "gaussian:%g,%d: size is over the "
			       "limit of %d", sigma, size, maxside);
	if (kern_alloc(k, size, size, 1, err))
		return -1;
	g = malloc((size_t)size * sizeof *g);
	if (g == NULL) {
		kern_free(k);
		return err_oom(err, "gaussian");
	}
	for (i = 0; i < size; i++) {
		d = (i - (size - 1) / 2.0) / sigma;
		g[i] = exp(-0.5 * d * d);
	}
	/*
	 * A compensated sum makes the row sum to 1 within an ulp or so; a plain
	 * one drifts by up to size ulps, and the centre fix below would then be
	 * large enough against a wide Gaussian's small centre to lift the rank.
	 */
	sum = kern_sum_of(g, (size_t)size);
	for (i = 0; i < size; i++)
		g[i] /= sum;
	for (y = 0; y < size; y++)
		for (x = 0; x < size; x++)
			k->m[(size_t)y * size + x] = g[y] * g[x];
	free(g);
	/*
	 * The products sum to 1 within a few units in the last place; the
	 * centre weight, the largest, takes up the difference so that the sum
	 * is 1 exactly in double.  Two rounds nearly always settle it.
	 */
	c = (size / 2) * size + size / 2;
	for (i = 0; i < 4; i++) {
		s = kern_sum(k, 0);
		if (s == 1.0)
			break;
		k->m[c] += 1.0 - s;
	}
	strcpy(k->name, "gaussian");
	snprintf(k->desc, sizeof k->desc, "Gaussian blur, sigma %g, %dx%d",
		 sigma, size, size);
	return 0;
}

int kern_gen_box(int w, int h, struct kernel *k, struct err *err)
{
	size_t i, count;

	memset(k, 0, sizeof *k);
	if (w < 1 || h < 1 || w > KERN_MAX_SIDE || h > KERN_MAX_SIDE)
		return err_set(err, ERR_DATA, "box:%dx%d: width and height must "
			       "be from 1 to %d", w, h, KERN_MAX_SIDE);
	if ((long)w * h > KERN_MAX_ELEMS)
		return err_set(err, ERR_DATA, "box:%dx%d: more than %ld weights",
			       w, h, (long)KERN_MAX_ELEMS);
	if (kern_alloc(k, w, h, 1, err))
		return -1;
	count = (size_t)w * h;
	for (i = 0; i < count; i++)
		k->m[i] = 1;
	/* Scale auto: the sum, so the box is the mean of its neighbourhood. */
	k->scale[0] = (double)count;
	strcpy(k->name, "box");
	snprintf(k->desc, sizeof k->desc, "Box blur, the mean of %dx%d", w, h);
	return 0;
}

/*
 * kernel_props.c: a kernel's properties: sums (compensated), scale and
 * bias, the anchor, rank and separability, and --show-kernel's report.
 */
#include "kernel.h"

#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A matrix sum this small against the sum of |weights| is rounding noise. */
#define ZERO_SUM_TOL 1e-12

/* ---- Sums and scale ----------------------------------------------------- */

/*
 * kern_sum_of adds with Neumaier's compensation, so that a kernel whose
 * weights cancel (an edge detector written with fractions) sums to 0 or
 * very near, and a normalised Gaussian's sum can be checked against 1.
 */
double kern_sum_of(const double *m, size_t count)
{
	double s = 0, c = 0, t;
	size_t i;

	for (i = 0; i < count; i++) {
		t = s + m[i];
		if (fabs(s) >= fabs(m[i]))
			c += (s - t) + m[i];
		else
			c += (m[i] - t) + s;
		s = t;
	}
	return s + c;
}

/*
 * sum_is_zero treats a sum that is rounding noise against the weights'
 * magnitudes as 0, so "scale auto" never divides by 1e-17.
 */
int kern_sum_is_zero(const double *m, size_t count)
{
	double abs = 0;
	size_t i;

	for (i = 0; i < count; i++)
		abs += fabs(m[i]);
	return fabs(kern_sum_of(m, count)) <= ZERO_SUM_TOL * abs;
}

/* auto_scale is what "scale auto" means: the sum, or 1 when it is 0. */
double kern_auto_scale(const double *m, size_t count)
{
	return kern_sum_is_zero(m, count) ? 1.0 : kern_sum_of(m, count);
}

double kern_sum(const struct kernel *k, int b)
{
	return kern_sum_of(kern_matrix(k, b), (size_t)k->w * k->h);
}

void kern_set_scale(struct kernel *k, double scale, int autoscale)
{
	int b, per = k->nin > 0 ? k->nin : 1;

	for (b = 0; b < k->n; b++)
		k->scale[b] = autoscale ?
			kern_auto_scale(kern_matrix(k, b - b % per), (size_t)k->w * k->h * per) : scale;
}

void kern_set_bias(struct kernel *k, double bias)
{
	int b;

	k->bias = bias;
	for (b = 0; k->nin > 0 && b < k->n / k->nin; b++)
		k->biases[b] = bias;
}

void kern_anchor_before(struct kernel *k)
{
	if (k->ox == k->w / 2)
		k->ox = (k->w - 1) / 2;
	if (k->oy == k->h / 2)
		k->oy = (k->h - 1) / 2;
}

/* ---- Rank ---------------------------------------------------------------- */

/*
 * rank_upto runs Gaussian elimination with full pivoting on a copy of the
 * h x w matrix src and stops after limit steps.  Each step picks the largest
 * remaining entry as the pivot; once that is at most 1e-9 of the largest
 * weight, what remains is rounding noise and the rank is the step count.
 */
static int rank_upto(const double *src, int w, int h, int limit)
{
	double *a, big = 0, piv, f, t;
	size_t count = (size_t)w * h;
	int r, i, j, pi, pj;

	for (i = 0; (size_t)i < count; i++)
		if (fabs(src[i]) > big)
			big = fabs(src[i]);
	if (big == 0)
		return 0;
	a = malloc(count * sizeof *a);
	if (a == NULL)
		return -1;
	memcpy(a, src, count * sizeof *a);
	for (r = 0; r < limit && r < w && r < h; r++) {
		pi = pj = r;
		for (i = r; i < h; i++)
			for (j = r; j < w; j++)
				if (fabs(a[(size_t)i * w + j]) > fabs(a[(size_t)pi * w + pj])) {
					pi = i;
					pj = j;
				}
		if (fabs(a[(size_t)pi * w + pj]) <= 1e-9 * big)
			break;
		for (j = 0; j < w; j++) {
			t = a[(size_t)r * w + j];
			a[(size_t)r * w + j] = a[(size_t)pi * w + j];
			a[(size_t)pi * w + j] = t;
		}
		for (i = 0; i < h; i++) {
			t = a[(size_t)i * w + r];
			a[(size_t)i * w + r] = a[(size_t)i * w + pj];
			a[(size_t)i * w + pj] = t;
		}
		piv = a[(size_t)r * w + r];
		for (i = r + 1; i < h; i++) {
			f = a[(size_t)i * w + r] / piv;
			for (j = r; j < w; j++)
				a[(size_t)i * w + j] -= f * a[(size_t)r * w + j];
		}
	}
	free(a);
	return r;
}

int kern_rank(const struct kernel *k, int b)
{
	return rank_upto(kern_matrix(k, b), k->w, k->h, INT_MAX);
}

int kern_separable(const struct kernel *k, int b)
{
	int r = rank_upto(kern_matrix(k, b), k->w, k->h, 2);

	return r < 0 ? -1 : r == 1;
}

/* ---- Showing a kernel ---------------------------------------------------- */

const char *kern_combine_name(enum kern_combine c)
{
	switch (c) {
	case KERN_MAX: return "max";
	case KERN_MAGNITUDE: return "magnitude";
	case KERN_SUMABS: return "sumabs";
	default: return "sum";
	}
}

/*
 * show_matrix prints matrix b in right-aligned %g columns, then its sum (0
 * when it is rounding noise), scale, rank and separability.  Adding 0.0
 * turns -0 into 0, which reads better.
 */
static void show_matrix(FILE *out, const struct kernel *k, int b)
{
	const double *m = kern_matrix(k, b);
	size_t count = (size_t)k->w * k->h, i;
	char buf[32];
	int width = 1, n, x, y, rank;
	double sum;

	for (i = 0; i < count; i++) {
		n = snprintf(buf, sizeof buf, "%g", m[i] + 0.0);
		if (n > width)
			width = n;
	}
	for (y = 0; y < k->h; y++) {
		for (x = 0; x < k->w; x++)
			fprintf(out, "  %*g", width, m[(size_t)y * k->w + x] + 0.0);
		fputc('\n', out);
	}
	sum = kern_sum_is_zero(m, count) ? 0.0 : kern_sum_of(m, count);
	rank = kern_rank(k, b);
	fprintf(out, "sum: %g   scale: %g   rank: ", sum, k->scale[b]);
	if (rank < 0)
		fprintf(out, "?   separable: ?\n");
	else
		fprintf(out, "%d   separable: %s\n", rank, rank <= 1 ? "yes" : "no");
}

void kern_show(FILE *out, const struct kernel *k)
{
	int b;

	fprintf(out, "name:     %s\n", k->name);
	if (k->desc[0])
		fprintf(out, "desc:     %s\n", k->desc);
	fprintf(out, "size:     %dx%d\n", k->w, k->h);
	fprintf(out, "origin:   %d %d\n", k->ox, k->oy);
	if (k->nin > 0) {
		fprintf(out, "channels: %d in, %d out (%d kernel%s)\n", k->nin, kern_outputs(k),
			k->n / k->nin, k->n / k->nin > 1 ? "s" : "");
		if (k->combined)
			fprintf(out, "combine:  %s of %d kernels\n", kern_combine_name(k->combine),
				k->n / k->nin);
	} else if (k->n > 1) {
		fprintf(out, "combine:  %s of %d matrices\n", kern_combine_name(k->combine), k->n);
	}
	if (k->nin > 0 && !k->combined) {
		fprintf(out, "bias:    ");
		for (b = 0; b < k->n / k->nin; b++)
			fprintf(out, " %g", k->biases[b] + 0.0);
		fputc('\n', out);
	} else {
		fprintf(out, "bias:     %g\n", k->bias + 0.0);
	}
	for (b = 0; b < k->n; b++) {
		if (k->nin > 0)
			fprintf(out, "\nkernel %d of %d, channel %d of %d:\n", b / k->nin + 1,
				k->n / k->nin, b % k->nin + 1, k->nin);
		else if (k->n > 1)
			fprintf(out, "\nmatrix %d of %d:\n", b + 1, k->n);
		else
			fputc('\n', out);
		show_matrix(out, k, b);
	}
}

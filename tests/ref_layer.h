/*
 * ref_layer.h: the double-precision reference of layer.h's operators
 * (cross-channel kernels, stride, dilation, the transpose), written from
 * layer.h alone, independently of src/: its own border mapping, geometry,
 * forward operator and adjoint, and the scale of rounding errors the
 * tolerances are stated in.  unit_layer.c and the differential fuzz target
 * (fuzz/fuzz_engines.c) both trust it.
 */
#ifndef IMF_REF_LAYER_H
#define IMF_REF_LAYER_H

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "job.h"
#include "kernel.h"

/*
 * map_index maps coordinate i of the extended input onto a row of n
 * samples by the border rule, one reflection or wrap at a time, as the
 * rule is worded (a border wider than the image repeats it); -1 means
 * outside, the constant.
 */
static long map_index(enum border_mode mode, long i, long n)
{
	while (i < 0 || i >= n) {
		switch (mode) {
		case BORDER_CONST:
			return -1;
		case BORDER_CLAMP:              /* a a | a b c d */
			i = i < 0 ? 0 : n - 1;
			break;
		case BORDER_REFLECT:            /* b a | a b c d: the edge sample repeats */
			i = i < 0 ? -1 - i : 2 * n - 1 - i;
			break;
		case BORDER_MIRROR:             /* c b | a b c d: it does not */
			if (n == 1)
				return 0;
			i = i < 0 ? -i : 2 * n - 2 - i;
			break;
		case BORDER_WRAP:               /* c d | a b c d */
			i = i < 0 ? i + n : i - n;
			break;
		}
	}
	return i;
}

/*
 * The geometry of layer.h for an input of W x H: stride, dilation, the
 * dilated kernel size, the anchor, and the output size (0 x 0 when the
 * shape has no output: valid with a kernel larger than the image).
 */
struct geo {
	int sx, sy, dx, dy;
	int KW, KH, AX, AY;
	int ow, oh;
};

static void geo_of(const struct kernel *k, const struct job_opts *o, int W, int H, struct geo *g)
{
	int ax = o->correlate ? k->ox : k->w - 1 - k->ox;
	int ay = o->correlate ? k->oy : k->h - 1 - k->oy;
	int ow1, oh1;

	g->sx = o->stride[0] > 0 ? o->stride[0] : 1;
	g->sy = o->stride[1] > 0 ? o->stride[1] : 1;
	g->dx = o->dilation[0] > 0 ? o->dilation[0] : 1;
	g->dy = o->dilation[1] > 0 ? o->dilation[1] : 1;
	g->KW = g->dx * (k->w - 1) + 1;
	g->KH = g->dy * (k->h - 1) + 1;
	switch (o->shape) {
	case SHAPE_SAME:
		g->AX = g->dx * ax;
		g->AY = g->dy * ay;
		ow1 = W;
		oh1 = H;
		break;
	case SHAPE_FULL:
		g->AX = g->KW - 1;
		g->AY = g->KH - 1;
		ow1 = W + g->KW - 1;
		oh1 = H + g->KH - 1;
		break;
	default:
		g->AX = g->AY = 0;
		ow1 = W - g->KW + 1;
		oh1 = H - g->KH + 1;
		break;
	}
	if (ow1 < 1 || oh1 < 1) {
		g->ow = g->oh = 0;
		return;
	}
	g->ow = (ow1 + g->sx - 1) / g->sx;
	g->oh = (oh1 + g->sy - 1) / g->sy;
}

/* tsize is layer.h's transposed output side for an input side h. */
static int tsize(enum job_shape shape, int h, int s, int K)
{
	int r;

	switch (shape) {
	case SHAPE_SAME:
		return h * s;
	case SHAPE_VALID:
		return (h - 1) * s + K;
	default:
		r = (h - 1) * s - K + 2;
		return r < 1 ? 1 : r;
	}
}

/* wt is w_mat(i, j): the matrix over its scale, turned unless correlating. */
static double wt(const struct kernel *k, int mat, int i, int j, int correlate)
{
	int si = correlate ? i : k->h - 1 - i, sj = correlate ? j : k->w - 1 - j;

	return k->m[((size_t)mat * k->h + si) * k->w + sj] / k->scale[mat];
}

/* ref_conv adds r(y, x) of one input plane (W x H) and matrix mat to acc. */
static void ref_conv(const double *in, int W, int H, const struct kernel *k, int mat,
		     const struct job_opts *o, const struct geo *g, double *acc)
{
	int y, x, i, j;

	for (y = 0; y < g->oh; y++)
		for (x = 0; x < g->ow; x++)
			for (i = 0; i < k->h; i++)
				for (j = 0; j < k->w; j++) {
					long py = (long)g->sy * y + (long)g->dy * i - g->AY;
					long px = (long)g->sx * x + (long)g->dx * j - g->AX;
					long my = map_index(o->border.per_axis ? o->border.ymode : o->border.mode, py, H);
					long mx = map_index(o->border.mode, px, W);
					double v = my < 0 || mx < 0 ? o->border.value : in[my * W + mx];

					acc[(size_t)y * g->ow + x] += wt(k, mat, i, j, o->correlate) * v;
				}
}

/* combine_into writes combine(r_0 .. r_{n-1}) + bias, np samples each. */
static void combine_into(double *out, const double *r, int n, enum kern_combine c,
			 size_t np, double bias)
{
	size_t i;
	int b;

	for (i = 0; i < np; i++) {
		double acc = 0;

		for (b = 0; b < n; b++) {
			double v = r[b * np + i];

			if (c == KERN_MAX)
				acc = b == 0 || v > acc ? v : acc;
			else if (c == KERN_MAGNITUDE)
				acc += v * v;
			else if (c == KERN_SUMABS)
				acc += fabs(v);
			else
				acc += v;
		}
		out[i] = (c == KERN_MAGNITUDE ? sqrt(acc) : acc) + bias;
	}
}

/*
 * ref_forward computes the forward operator of layer.h: nch planes of
 * W x H in, the output planes (g->ow x g->oh each) out; it returns their
 * number.
 */
static int ref_forward(const double *in, int nch, int W, int H, const struct kernel *k,
		       const struct job_opts *o, const struct geo *g, double *out)
{
	size_t np = (size_t)g->ow * g->oh, wh = (size_t)W * H;
	double *r = calloc(np * k->n + 1, sizeof *r);
	int c, b, N = k->nin, M = N > 0 ? k->n / N : 0, nout;

	if (r == NULL)
		return -1;
	if (N == 0) {
		for (c = 0; c < nch; c++) {
			memset(r, 0, np * k->n * sizeof *r);
			for (b = 0; b < k->n; b++)
				ref_conv(in + c * wh, W, H, k, b, o, g, r + b * np);
			combine_into(out + c * np, r, k->n, k->combine, np, k->bias);
		}
		nout = nch;
	} else {
		for (b = 0; b < M; b++)
			for (c = 0; c < N; c++)
				ref_conv(in + c * wh, W, H, k, b * N + c, o, g, r + b * np);
		if (k->combined) {
			combine_into(out, r, M, k->combine, np, k->bias);
			nout = 1;
		} else {
			for (b = 0; b < M; b++)
				combine_into(out + b * np, r + b * np, 1, KERN_SUM, np, k->biases[b]);
			nout = M;
		}
	}
	free(r);
	return nout;
}

/*
 * ref_scatter adds the adjoint of ref_conv: each output sample y(q) times
 * each weight goes back to the input sample the tap read, through the
 * border rule (nothing for a zero border outside).  xabs collects the
 * absolute values of the terms, the scale of the rounding errors.
 */
static void ref_scatter(const double *yv, const struct kernel *k, int mat,
			const struct job_opts *o, const struct geo *g, int W, int H,
			double *x, double *xabs)
{
	int qy, qx, i, j;

	for (qy = 0; qy < g->oh; qy++)
		for (qx = 0; qx < g->ow; qx++)
			for (i = 0; i < k->h; i++)
				for (j = 0; j < k->w; j++) {
					long py = (long)g->sy * qy + (long)g->dy * i - g->AY;
					long px = (long)g->sx * qx + (long)g->dx * j - g->AX;
					long my = map_index(o->border.per_axis ? o->border.ymode : o->border.mode, py, H);
					long mx = map_index(o->border.mode, px, W);
					double t = wt(k, mat, i, j, o->correlate) *
						   yv[(size_t)qy * g->ow + qx];

					if (my < 0 || mx < 0)
						continue;
					x[my * W + mx] += t;
					xabs[my * W + mx] += fabs(t);
				}
}

/*
 * ref_adjoint is T^T y plus the bias: y has the forward output's planes
 * (g for an input of W x H), x receives the input's planes, zeroed first;
 * it returns their number.
 */
static int ref_adjoint(const double *yv, int nout, int W, int H, const struct kernel *k,
		       const struct job_opts *o, const struct geo *g, double *x, double *xabs)
{
	size_t np = (size_t)g->ow * g->oh, wh = (size_t)W * H, i;
	int c, b, N = k->nin, M = N > 0 ? k->n / N : 0, nin;
	double bias;

	nin = N == 0 ? nout : N;
	memset(x, 0, nin * wh * sizeof *x);
	memset(xabs, 0, nin * wh * sizeof *xabs);
	if (N == 0) {
		for (c = 0; c < nout; c++)
			for (b = 0; b < k->n; b++)
				ref_scatter(yv + c * np, k, b, o, g, W, H, x + c * wh, xabs + c * wh);
		bias = k->bias;
	} else {
		for (b = 0; b < M; b++)
			for (c = 0; c < N; c++)
				ref_scatter(yv + (k->combined ? 0 : b * np), k, b * N + c, o, g, W, H,
					    x + c * wh, xabs + c * wh);
		bias = k->combined ? k->bias : k->biases[0];
	}
	for (i = 0; i < nin * wh; i++)
		x[i] += bias;
	return nin;
}

/*
 * out_norm is the scale of output plane b's rounding errors: the sum of
 * |w| / |scale| over the matrices that feed it (b < 0: every matrix).
 */
static double out_norm(const struct kernel *k, int b)
{
	size_t per = (size_t)k->w * k->h, i;
	int mat, m0, m1;
	double s = 0;

	if (k->nin == 0 || k->combined || b < 0) {
		m0 = 0;
		m1 = k->n;
	} else {
		m0 = b * k->nin;
		m1 = m0 + k->nin;
	}
	for (mat = m0; mat < m1; mat++)
		for (i = 0; i < per; i++)
			s += fabs(k->m[mat * per + i] / k->scale[mat]);
	return s;
}

static double out_bias(const struct kernel *k, int b)
{
	return k->nin == 0 || k->combined ? k->bias : k->biases[b];
}

#endif

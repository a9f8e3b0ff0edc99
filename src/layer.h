/*
 * layer.h: convolution as deep-learning layers compute it: cross-channel
 * kernels, strides, dilation and the transposed convolution.
 */
#ifndef IMF_LAYER_H
#define IMF_LAYER_H

#include <stdio.h>

#include "engine.h"
#include "err.h"
#include "image.h"
#include "job.h"
#include "kernel.h"

/*
 * The forward operator.  An image of N channels (H x W), a kernel of M
 * kernels of N matrices (kh x kw; one matrix when the kernel is ordinary,
 * applied to each channel alone), dilation (dx, dy), stride (sx, sy):
 *
 *   w_bc(i, j)  matrix c of kernel b divided by its scale, turned half a
 *               turn unless --correlate (as job_prepare does);
 *   KH, KW      the dilated size dy (kh - 1) + 1, dx (kw - 1) + 1;
 *   AY, AX      the anchor: dy * ay, dx * ax for `same` (ay, ax the
 *               origin, turned with the kernel), KH - 1, KW - 1 for
 *               `full`, 0 for `valid`;
 *   oh1, ow1    the stride-1 output: H x W (same), H + KH - 1 (full),
 *               H - KH + 1 (valid);
 *   r_b(y, x) = sum_c sum_{i, j} w_bc(i, j) in'_c(sy y + dy i - AY, sx x + dx j - AX)
 *               for y < oh = ceil(oh1 / sy), x < ow = ceil(ow1 / sx),
 *
 * in' being the input extended by the border rule.  Output channel b is
 * r_b + bias_b, or, for a kernel that combines, combine(r_0 ..) + bias.
 * This is PyTorch's conv2d with padding AY before and KH - 1 - AY after
 * (the same for columns): its size formula floor((H + pad - KH) / sy) + 1
 * gives oh.
 *
 * The transposed operator (--transpose) is the adjoint T^T of the forward
 * T without its bias, for the forward input size that the stride maps to
 * the given image: an image of h x w becomes H x W with
 *   same:  H = h sy                 (PyTorch output_padding sy - 1)
 *   valid: H = (h - 1) sy + KH      (output_padding 0)
 *   full:  H = (h - 1) sy - KH + 2  (output_padding 0; refused when < 1)
 * and its M channels (one per kernel) become N; then the bias is added to
 * every sample (the kernel's biases must then be equal).  Border rules
 * other than zero fold: T^T adds what T read outside the image back into
 * the samples the rule read instead.  A constant border other than 0 and
 * a kernel combining by max or magnitude are not linear and are refused.
 */

/*
 * layer_needed says whether kernel k under opts goes through layer_filter
 * rather than the per-channel path of job.c: a cross-channel kernel, or a
 * stride, dilation or transpose other than the default.
 */
int layer_needed(const struct kernel *k, const struct job_opts *opts);

/*
 * layer_filter applies k to *im as above, replacing *im with the result.
 * Returns 0, or -1 with err (ERR_DATA when the kernel's channel count is
 * not the image's, ERR_USAGE for options it cannot honour).
 */
int layer_filter(struct image *im, const struct kernel *k, const struct job_opts *opts,
		 struct err *err);

/*
 * layer_emit_matrix writes the matrix of the forward operator of kernel k
 * for an image of w x h x nch under opts to f (T^T with opts->transpose,
 * for which w x h is the size of the image to transpose), as
 * toeplitz_emit_matrix does: a cross-channel kernel's matrix maps all
 * channels, an ordinary kernel's one channel.
 */
int layer_emit_matrix(FILE *f, const struct kernel *k, int w, int h, int nch,
		      const struct job_opts *opts, struct err *err);

#endif

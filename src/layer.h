/*
 * layer.h: convolution as deep-learning layers compute it: cross-channel
 * kernels, strides, dilation and the transposed convolution.
 */
#ifndef IMF_LAYER_H
#define IMF_LAYER_H

#include <stdio.h>

#include "engine.h"
#include "err.h"
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
 * layer_needed says whether kernel k under opts is a layer step rather
 * than a plain one (step.h): a cross-channel kernel, or a stride,
 * dilation or transpose other than the default.
 */
int layer_needed(const struct kernel *k, const struct job_opts *opts);

/* One layer step's arithmetic: the kernel dilated, in the correlation form of engine.h. */
struct layer {
	struct kernel dk;         /* k dilated */
	struct conv_job job;      /* geom_prepare's: wt, kw, kh (KH, KW), ax, ay (AX, AY), border */
	float *wt;
	int nin, nk;              /* matrices per kernel (1: ordinary), kernels */
	int split;                /* each kernel writes its own channel */
	int sx, sy;
	int w, h;                 /* forward input */
	int ow1, oh1;             /* forward output at stride 1 */
	int ow, oh;               /* forward output */
	int transpose;
	int nout;                 /* planes one run writes: per input plane set */
	int out_w, out_h;         /* the step's output size */
};

/*
 * layer_setup fills L for kernel k on an image of w x h x nch (for the
 * transpose, the image is the forward's output).  Refuses (ERR_DATA) a
 * kernel whose channel count is not the image's and (ERR_USAGE) options
 * a layer cannot honour.  layer_free releases it.
 */
int layer_setup(struct layer *L, const struct kernel *k, const struct job_opts *opts,
		int w, int h, int nch, struct err *err);
void layer_free(struct layer *L);

/*
 * layer_rows gives the extended input rows [*lo, *hi) that forward output
 * rows [y0, y1) read (the transpose reads the whole image).
 */
void layer_rows(const struct layer *L, int y0, int y1, long *lo, long *hi);

/*
 * layer_plan builds into lp the engine job of a whole image's run (the
 * transpose's first output phase with a weight), with planes that have
 * sizes and no samples: what the planner, --explain and the engines'
 * tiles see.  Returns 0, or -1 with err; layer_plan_free releases lp.
 */
struct layer_plan {
	struct conv_job job;
	struct plane in, out;
	const struct plane *ins[KERN_MAX_BANK * KERN_MAX_CHANNELS];
	struct plane *outs[KERN_MAX_BANK * KERN_MAX_CHANNELS];
	void *priv;
};

int layer_plan(const struct layer *L, struct layer_plan *lp, struct err *err);
void layer_plan_free(struct layer_plan *lp);

/*
 * layer_run computes output rows [y0, y1) of the forward operator on
 * engine e from in[] (L->nin planes, or one for an ordinary kernel),
 * views of input rows a .. a + in[0]->h - 1 holding every row those
 * output rows read, the border rule's included; into outs[] (L->nout
 * planes of y1 - y0 rows).  The transpose takes the whole image (a == 0,
 * y0 == 0, y1 == L->out_h).  Bias is the caller's.
 */
int layer_run(const struct layer *L, const struct engine *e, const struct plane *const *in,
	      int a, int y0, int y1, struct plane *const *outs, char *note, size_t note_size,
	      struct err *err);

#endif

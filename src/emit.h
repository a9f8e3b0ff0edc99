/* emit.h: the convolution matrix of a job, for --emit-matrix. */
#ifndef IMF_EMIT_H
#define IMF_EMIT_H

#include <stdio.h>

#include "engine.h"
#include "err.h"
#include "job.h"
#include "kernel.h"

/* The most entries emit_matrix writes (man page, --emit-matrix). */
#define EMIT_MAX_NNZ 50000000L

/*
 * emit_matrix writes to f the matrix T with out(:) = T * in(:),
 * where in and out are job's input and output planes stacked by columns
 * (MATLAB's x(:): index x * h + y, 0-based), in Matrix Market coordinate
 * format: the banner, a comment line, "rows cols nnz", then one 1-based
 * "row col value" line per non-zero, sorted by row, then column.  Row
 * out_x * out_h + out_y + 1 holds the weights of the input pixels that
 * output pixel reaches through job's kernel, anchor and border rule; taps
 * that the border maps to the same input pixel are added up, so a
 * replicate, reflect, mirror or wrap border gives a matrix with the same
 * number of columns as zero does.  With job's geometry from the shape
 * "full" and a zero border, T is MATLAB's convmtx2(H, h, w).
 *
 * Only the sizes of job->in and job->out are read (their samples may be
 * NULL).  The map must be linear, so it refuses (ERR_USAGE, nothing
 * written) a constant border of non-zero value, a bank of several kernels
 * unless they combine by sum (T is then the sum of their matrices), and a
 * matrix that could exceed EMIT_MAX_NNZ entries, counted as
 * output pixels times non-zero kernel weights.  Bias, added by the job
 * layer, is not part of T.  A failed write gives ERR_IO.  Returns 0 or -1.
 *
 * Cross-channel jobs (engine.h: nin inputs, nk kernels) and strides are
 * written the same way: input channel c's pixel is column c * w * h +
 * x * h + y; output channel b's row b * out_w * out_h + ...; with
 * o->split each kernel is an output channel, else the bank is summed.  o
 * may be NULL (stride 1, not split, T itself).  With o->transpose the
 * entries are T^T's: the header gives its size, and they are sorted by
 * column instead.
 */
struct emit_opts {
	int sx, sy;      /* stride: output pixel (y, x) is the stride-1 one at (sy y, sx x) */
	int split;       /* job's nk kernels are nk output channels (no combine) */
	int transpose;   /* write T^T: rows and columns swapped */
};

int emit_matrix(FILE *f, const struct conv_job *job, const struct emit_opts *o,
			 struct err *err);

/*
 * emit_kernel writes the matrix of kernel k's step (step.h) for an image
 * of w x h x nch under opts: T, or T^T with --transpose (w x h then the
 * size of the image to transpose).  A cross-channel kernel's matrix maps
 * every channel, an ordinary kernel's one channel; strides, dilation and
 * shapes as the step computes them.
 */
int emit_kernel(FILE *f, const struct kernel *k, int w, int h, int nch,
		const struct job_opts *opts, struct err *err);

#endif

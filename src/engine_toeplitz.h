/* engine_toeplitz.h: the convolution matrix of a job, for --emit-matrix. */
#ifndef IMF_ENGINE_TOEPLITZ_H
#define IMF_ENGINE_TOEPLITZ_H

#include <stdio.h>

#include "engine.h"
#include "err.h"

/* The most entries toeplitz_emit_matrix writes (man page, --emit-matrix). */
#define TOEPLITZ_EMIT_MAX_NNZ 50000000L

/*
 * toeplitz_emit_matrix writes to f the matrix T with out(:) = T * in(:),
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
 * matrix that could exceed TOEPLITZ_EMIT_MAX_NNZ entries, counted as
 * output pixels times non-zero kernel weights.  Bias, added by the job
 * layer, is not part of T.  A failed write gives ERR_IO.  Returns 0 or -1.
 */
int toeplitz_emit_matrix(FILE *f, const struct conv_job *job, struct err *err);

#endif

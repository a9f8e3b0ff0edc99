/* geom.h: a kernel in the engines' form: correlation weights, anchor, output size. */
#ifndef IMF_GEOM_H
#define IMF_GEOM_H

#include "engine.h"
#include "err.h"
#include "job.h"
#include "kernel.h"

/*
 * geom_prepare fills job's kernel, geometry and border for kernel k applied
 * to a w x h plane under opts (no planes: job->in and job->out stay NULL;
 * the weights are allocated into *wt, freed by the caller with free()).
 * It is the one place that turns convolution, origin and shape into the
 * correlation-with-anchor form of engine.h; every step, --emit-matrix
 * and --explain go through it.  out_w and out_h receive the output size.
 */
int geom_prepare(struct conv_job *job, float **wt, const struct kernel *k,
		 int w, int h, const struct job_opts *opts, int *out_w, int *out_h,
		 struct err *err);

/*
 * geom_origin is the anchor of kernel k's origin in the correlation form
 * (the origin turned half a turn with the kernel unless --correlate).
 */
void geom_origin(const struct kernel *k, const struct job_opts *opts, int *cx, int *cy);

#endif

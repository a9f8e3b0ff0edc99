/* job.h: one image through prepare, plan, engine and finish. */
#ifndef IMF_JOB_H
#define IMF_JOB_H

#include <stdio.h>

#include "border.h"
#include "engine.h"
#include "err.h"
#include "image.h"
#include "kernel.h"

enum job_shape { SHAPE_SAME = 0, SHAPE_FULL, SHAPE_VALID };
enum job_alpha { ALPHA_PREMULTIPLY = 0, ALPHA_SEPARATE };
enum job_deconv { DECONV_NONE = 0, DECONV_WIENER, DECONV_RL };

struct job_opts {
	const struct engine *engine;  /* NULL: the planner chooses (auto) */
	enum job_shape shape;
	struct border border;
	int correlate;                /* slide the kernel unflipped */
	int threads;
	const char *channels;         /* --channels LIST, or NULL for every channel */
	enum job_alpha alpha;
	FILE *log;                    /* -v: one line per step, or NULL */
	FILE *explain;                /* --explain: the plan of each step, or NULL */
	enum job_deconv deconv;       /* divide the kernel out instead of applying it */
	double nsr;                   /* Wiener's noise-to-signal ratio */
	int iterations;               /* Richardson-Lucy's */
	/*
	 * --stride, --dilation (x then y; 0 means 1) and --transpose, for
	 * every step; see layer.h for their meaning and output sizes.
	 */
	int stride[2];
	int dilation[2];
	int transpose;
	int out_size[2];              /* --output-size W H for the transpose; 0: default */
	/* Called after each plane is filtered: done of total planes. */
	void (*progress)(void *ctx, int done, int total);
	void *progress_ctx;
};

/* job_shape_parse reads "same", "full" or "valid"; -1 if none. */
int job_shape_parse(const char *s, enum job_shape *shape);

/*
 * job_channels resolves a --channels LIST for an image of nch channels into
 * a bit mask (bit c: filter channel c).  LIST is comma-separated names or
 * runs of letters: r g b a for colour images, y (or gray/grey) and a for
 * grey ones, "color"/"colour" for every colour channel, "alpha", "all".
 * NULL means every channel.  Returns 0, or -1 with err (ERR_USAGE).
 */
int job_channels(const char *list, int nch, unsigned *mask, struct err *err);

/*
 * job_filter applies the kernels in order, each to the result of the one
 * before, replacing *im with the result (whose size follows the shape).
 * On failure *im may have lost planes; the caller frees it either way.
 */
int job_filter(struct image *im, struct kernel *const *kernels, int nkernels,
	       const struct job_opts *opts, struct err *err);

/*
 * job_prepare fills job's kernel, geometry and border for kernel k applied
 * to a w x h plane under opts (no planes: job->in and job->out stay NULL;
 * the weights are allocated into *wt, freed by the caller with free()).
 * It is the one place that turns convolution, origin and shape into the
 * correlation-with-anchor form of engine.h; --emit-matrix and --explain
 * use it too.  out_w and out_h receive the output size.
 */
int job_prepare(struct conv_job *job, float **wt, const struct kernel *k,
		int w, int h, const struct job_opts *opts, int *out_w, int *out_h,
		struct err *err);

#endif

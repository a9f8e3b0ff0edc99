/* job.h: one image through the decoder, its filter steps and the encoder. */
#ifndef IMF_JOB_H
#define IMF_JOB_H

#include <stdio.h>

#include "border.h"
#include "engine.h"
#include "err.h"
#include "image.h"
#include "io.h"
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
	/*
	 * Output rows per strip (0: each step's own choice, step_strip; set,
	 * it also keeps job_image from working in place); the results do not
	 * depend on it, which is what setting it tests.
	 */
	int strip_rows;
	/* Called as the output is made: done of total rows. */
	void (*progress)(void *ctx, int done, int total);
	void *progress_ctx;
};

/* job_shape_parse reads "same", "full" or "valid"; -1 if none. */
int job_shape_parse(const char *s, enum job_shape *shape);

/*
 * What a job does to an image: the kernels in order (each a step,
 * step.h) under opts, then the finishing touches of color_finish (absval,
 * offset) on the channels --channels names.  With linear, colour is
 * decoded from sRGB before the first step (unless the input holds float
 * samples, which are linear already) and encoded after the last (unless
 * the output is PFM).  max_pixels (0: none) limits the images that must
 * be held whole (a step that holds its input, an encoder that holds its
 * output), not the others.
 */
struct job_spec {
	struct kernel *const *kernels;
	int nkernels;
	const struct job_opts *opts;
	int linear;
	int absval;
	float offset;
	unsigned long long max_pixels;
	int luma;           /* write colour as one grey plane of its luma (color_to_luma) */
};

/*
 * job_file reads input (under ro: damage accepted is reported in
 * ro->damage), filters it and writes output (under wo, its format
 * resolved).  Decoding runs on a thread of its own while the rows it has
 * made are filtered, strip by strip, as the encoder asks for them; each
 * step keeps only the input rows its next strip reads.  Errors are those
 * of the serial order: the decoder's first, then the filter's, then the
 * encoder's.  No output file is left on failure.
 */
int job_file(const struct job_spec *pj, const char *input, struct io_read_opts *ro,
	      const char *output, const struct io_write_opts *wo, struct err *err);

/*
 * job_image runs the steps (not linear light nor the finishing touches)
 * on *im, replacing it with the result, strip by strip as job_file does;
 * one step whose engine works in place (step_inplace) runs over the
 * whole image in one call instead, unless opts->strip_rows asks for strips.
 * On failure *im may have lost planes; the caller frees it either way.
 */
int job_image(const struct job_spec *pj, struct image *im, struct err *err);

/*
 * job_filter is job_image with nothing but the kernels and opts: each
 * kernel applied to the result of the one before, *im replaced with the
 * result (whose size follows the shape).
 */
int job_filter(struct image *im, struct kernel *const *kernels, int nkernels,
	       const struct job_opts *opts, struct err *err);

#endif

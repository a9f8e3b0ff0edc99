/*
 * step.h: one kernel (or bank) applied to an image, strip by strip: the
 * filter step every path runs (pipe.c's streams, job_filter's whole
 * images, --emit-matrix and --explain).
 */
#ifndef IMF_STEP_H
#define IMF_STEP_H

#include <stdio.h>

#include "engine.h"
#include "err.h"
#include "job.h"
#include "kernel.h"
#include "layer.h"
#include "plane.h"

/*
 * A step maps an input of w x h x nch to an output of ow x oh x onch.
 * Output row y reads the input rows, extended by the border rule,
 * sy y - ay .. sy y - ay + kh - 1 (the kernel dilated; a layer step's
 * stride sy), so any band of output rows can be computed from a band of
 * input rows (step_need), which is how rows stream.  Steps that read the
 * whole input for every row hold it (holds): a wrap border (the first
 * rows need the last), deconvolution (whole-image FFTs) and the
 * transpose.
 *
 * A strip runs as: the input rows premultiplied by alpha as they arrive
 * (step_take), then step_run: the engine on the filtered channels, a copy
 * of the others, alpha divided out again, the bias added.
 */
struct step {
	const struct kernel *k;
	const struct job_opts *opts;
	int w, h, nch;            /* input */
	int ow, oh, onch;         /* output */
	unsigned mask;            /* the channels filtered */
	unsigned colour_mask;     /* the channels premultiplied by alpha while filtered */
	int holds;
	int sy, ay, kh;           /* the rows output row y reads, as above */
	int layer;                /* a layer step (layer.h), else a plain one */
	struct layer L;
	struct conv_job job;      /* a plain step's kernel in the engines' form */
	float *wt;
	int cx, cy;               /* the origin's tap: what an unfiltered channel copies */
	const struct engine *e;   /* the planner's choice (NULL: deconvolution) */
	char note[160];           /* the engine's last note, for -v */
	double seconds;           /* spent in step_run */
	int strips;               /* step_run calls */
	int quantum;              /* strips are whole multiples of it: the engine's tile rows */
};

/*
 * step_channels resolves a --channels LIST for an image of nch channels into
 * a bit mask (bit c: filter channel c).  LIST is comma-separated names or
 * runs of letters: r g b a for colour images, y (or gray/grey) and a for
 * grey ones, "color"/"colour" for every colour channel, "alpha", "all".
 * NULL means every channel.  Returns 0, or -1 with err (ERR_USAGE).
 */
int step_channels(const char *list, int nch, unsigned *mask, struct err *err);

/*
 * step_plan sets s up for kernel k on an input of w x h x nch under opts:
 * the channels, the geometry, the engine (printing the plan when
 * opts->explain is set).  Returns 0, or -1 with err; step_free releases
 * s either way.
 */
int step_plan(struct step *s, const struct kernel *k, const struct job_opts *opts,
	      int w, int h, int nch, struct err *err);
void step_free(struct step *s);

/*
 * step_strip is the output rows a strip should have: enough to amortise
 * the kernel's overlap and the engine's set-up, few enough to stay in
 * the caches; a holding step's whole output.
 */
int step_strip(const struct step *s);

/*
 * step_need gives the input rows [*a, *b) that output rows [y0, y1)
 * read: those under the kernel, clipped to the image, and every row the
 * border rule maps the others to (a reflection reads as deep into the
 * image as the kernel reaches outside it).  The whole image for a
 * holding step.
 */
void step_need(const struct step *s, int y0, int y1, int *a, int *b);

/* step_take premultiplies the n input rows of the planes in[] (views) by alpha. */
void step_take(const struct step *s, const struct plane *in, int n);

/*
 * step_run computes output rows [y0, y1) into out[] (onch planes of
 * y1 - y0 rows) from in[] (nch views of input rows a .. a + in[0].h - 1,
 * taken by step_take, at least step_need's rows), splitting the strip
 * into bands on `threads` threads.  Returns 0, or -1 with err.
 */
int step_run(struct step *s, const struct plane *in, int a, int y0, int y1,
	     struct plane *out, int threads, struct err *err);

/*
 * step_inplace says whether step_run may compute the whole output over
 * its input (out[] the very planes of in[], a = y0 = 0, y1 = h): a plain
 * step of an engine that works in place (engine.h), with the size and
 * channels kept and every unfiltered channel its own copy.
 */
int step_inplace(const struct step *s);

/*
 * step_map says where the output's pixels sit on the input's grid: the
 * centre of output pixel i (column, then row) is at input pixel
 * m[0] i + b[0] (row: m[1], b[1]): the kernel's origin under it, every
 * stride-th input pixel, or for the transpose the other way round.
 */
void step_map(const struct step *s, double m[2], double b[2]);

/* step_log prints the step's -v line to f; how it streamed, when it did (NULL: not). */
void step_log(const struct step *s, FILE *f, const char *how);

#endif

/*
 * pipe.h: the pipe of steps that job.c runs for a file and job_image.c
 * for an image in memory.  Private to those two.
 */
#ifndef IMF_PIPE_H
#define IMF_PIPE_H

#include <pthread.h>

#include "georef.h"
#include "image.h"
#include "job.h"
#include "step.h"

/*
 * The data flow.  Each step (stage) owns a window: its input rows
 * [y0, y0 + n), row y at slot y - y0 of planes of cap rows.  A stage
 * computes its output a strip at a time; strip [r0, r1) reads the input
 * rows step_need gives, [a, b), as one view of the window, so every
 * engine runs on contiguous rows.  Rows come into the window at its end:
 * from the decoder (stage 0) or as the strips of the stage before, which
 * are written straight into the free slots.  When the window is full its
 * rows still needed (from the least a of the strips to come, amin) slide
 * to its top; the window is sized for the largest span a strip and the
 * rows coming in need at once, so memory follows the kernel and the
 * strip, not the image's height.  A step that holds its input has a
 * window of the whole input.
 *
 * The last stage writes its strips into the output: the rows of an image
 * (job_image) or a ring of K strip slots that the encoder reads
 * (io_source): strip s goes to slot s % K once the encoder has released
 * the rows of strip s - K, and the encoder never asks for more than
 * (K - 1) strips past what it released (cap), so it never waits on a slot
 * it holds itself.
 *
 * Threads and the lock.  The decoder runs on a thread of its own, writing
 * rows into stage 0's window: it waits for a free slot (row()), marks the
 * row it is writing (writing) and publishes it (put(), decoded).  The
 * filter has no thread: whichever encoder thread needs rows that are not
 * made runs the next strip of the last stage (busy keeps it to one at a
 * time), pulling strips through the stages before it; with one step the
 * decoder also makes the next strip itself once its rows are in and its
 * slot is free, and slides the window when it is full and no strip is
 * being made.  Stage 0's window
 * slides only under the lock and when the decoder is not writing a row;
 * the decoder writes only into slots past the rows the filter reads.
 * Other stages' windows are the filter's alone.
 */

struct stage {
	struct step st;
	struct plane win[IMG_MAX_CHANNELS];
	int cap, y0, n;           /* n: rows in the window (stage 0 with a decoder: decoded - y0) */
	int ext;                  /* the window is the caller's whole image */
	int taken;                /* input rows premultiplied (and linearised) so far */
	int next;                 /* the next output row to compute */
	int rows;                 /* output rows per strip */
	int nstrips;
	int *amin;                /* per strip: the least first input row of it and the strips after */
	int span;                 /* input rows a strip and those kept for the next need at once */
};

struct pipe {
	const struct job_spec *pj;
	int nst;
	struct stage *stg;
	int threads;
	int linear_in, linear_out;
	unsigned finish_mask;
	/* The source: the decoder (job_file) or an image (job_image). */
	int from_decoder;
	struct image info;        /* the input's size, channels, depth and metadata */
	/* The output: a ring for the encoder, or an image. */
	struct image *dst;
	struct plane ring[IMG_MAX_CHANNELS];
	int ring_k;
	/* Under the lock: */
	pthread_mutex_t lock;
	pthread_cond_t cond;
	int started, planned, abort;
	int decoded, writing, dec_failed;
	int want;                 /* the decoded rows the filter waits for (0: it does not) */
	int dec_cancelled;        /* the decoder stopped because the rest did */
	int made;                 /* output rows made */
	int released;             /* output rows the encoder is done with */
	int busy, failed;
	struct err ferr;          /* the filter's error */
};

/* pipe_plan sets up every stage for an input of P->info's size (ext: stage 0 reads its planes). */
int pipe_plan(struct pipe *P, const struct image *ext, struct err *err);
void pipe_free(struct pipe *P);

/*
 * pipe_pull makes the next strip of the output: into the image, or into
 * its ring slot once the encoder has released that slot's rows.  Called
 * with the lock held and busy set; returns with the lock held.
 */
int pipe_pull(struct pipe *P);

/* pipe_take readies input rows up to b of stage i: linear light (stage 0), premultiplied. */
void pipe_take(struct pipe *P, int i, int b);

/* pipe_finish applies the finishing touches to output rows out[] (views of a strip). */
void pipe_finish(struct pipe *P, struct plane *out);

/* pipe_log prints each step's -v line, with how it ran. */
void pipe_log(const struct pipe *P, const char *how);

/* pipe_move_georef keeps a GeoTIFF's pixels on the map through every step (georef.h). */
void pipe_move_georef(const struct pipe *P, struct img_geo *geo);

int pipe_alloc_planes(struct plane *p, int n, int w, int h, struct err *err);

#endif

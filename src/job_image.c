/*
 * job_image.c: the steps on an image in memory (job.h): over the whole
 * image in place, strips written back one strip late, or strips into a
 * new image; the pipe is job.c's (pipe.h).
 */
#include "job.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "pipe.h"

/*
 * in_place says whether one step's strips can go back over the image they
 * are read from, one strip late (write_back): strip s's results replace
 * its input rows once strip s + 1 is made, so no strip from s + 2 on may
 * read a row before strip s + 1's (reflections at the bottom read back
 * into the image).  A fresh output image would be faulted in page by
 * page, which on a VM costs more than a small kernel's filtering.
 */
static int in_place(const struct pipe *P, const struct image *im)
{
	const struct stage *g = &P->stg[0];
	int s;

	if (P->nst != 1 || g->st.ow != im->w || g->st.oh != im->h || g->st.onch != im->nch ||
	    g->nstrips < 2)
		return 0;
	for (s = 2; s < g->nstrips; s++)
		if (g->amin[s] < (s - 1) * g->rows)
			return 0;
	return 1;
}

/* write_back copies strip s's results from its ring slot over its rows of im. */
static void write_back(struct pipe *P, struct image *im, int s)
{
	const struct stage *g = &P->stg[0];
	int c, y, r0 = s * g->rows, r1 = r0 + g->rows < im->h ? r0 + g->rows : im->h;

	for (c = 0; c < im->nch; c++)
		for (y = r0; y < r1; y++)
			memcpy(plane_row(&im->ch[c], y),
			       plane_row(&P->ring[c], (s % P->ring_k) * g->rows + y - r0),
			       (size_t)im->w * sizeof(float));
	P->released = r1;
}

/* whole_in_place runs job_image's one step over im in one call (step_inplace). */
static int whole_in_place(struct pipe *P, struct image *im, struct err *err)
{
	struct stage *g = &P->stg[0];

	pipe_take(P, 0, im->h);
	if (step_run(&g->st, im->ch, 0, 0, im->h, im->ch, P->threads, err))
		return -1;
	pipe_finish(P, im->ch);
	if (P->pj->opts->progress != NULL)
		P->pj->opts->progress(P->pj->opts->progress_ctx, im->h, im->h);
	if (P->pj->opts->log != NULL)
		step_log(&g->st, P->pj->opts->log, "in place");
	return 0;
}

int job_image(const struct job_spec *pj, struct image *im, struct err *err)
{
	struct pipe P;
	struct image out;
	const struct step *last;
	int rc = -1, inplace, s;

	memset(&P, 0, sizeof P);
	memset(&out, 0, sizeof out);
	P.pj = pj;
	P.info.w = im->w;
	P.info.h = im->h;
	P.info.nch = im->nch;
	P.info.depth = im->depth;
	pthread_mutex_init(&P.lock, NULL);
	pthread_cond_init(&P.cond, NULL);
	if (pipe_plan(&P, im, err))
		goto done;
	last = &P.stg[P.nst - 1].st;
	if (P.nst == 1 && pj->opts->strip_rows == 0 && step_inplace(last)) {
		/*
		 * One call over the whole image, the engine working in place: it
		 * keeps the few rows each band reads from another, and every other
		 * row is read once and written once, in the caches.
		 */
		rc = whole_in_place(&P, im, err);
		if (rc == 0)
			pipe_move_georef(&P, &im->meta.geo);
		goto done;
	}
	inplace = in_place(&P, im);
	if (inplace) {
		/* Two strip slots: the strip being made and the one before it. */
		P.ring_k = 2;
		if (pipe_alloc_planes(P.ring, im->nch, im->w, 2 * P.stg[0].rows, err))
			goto done;
	} else {
		P.dst = &out;
		if (img_alloc(&out, last->ow, last->oh, last->onch, err))
			goto done;
		out.depth = im->depth;
	}
	pthread_mutex_lock(&P.lock);
	for (s = 0; P.made < last->oh && pipe_pull(&P) == 0; s++)
		if (inplace && s > 0)
			write_back(&P, im, s - 1);
	pthread_mutex_unlock(&P.lock);
	if (P.failed) {
		*err = P.ferr;
		goto done;
	}
	if (inplace) {
		write_back(&P, im, s - 1);
		pipe_move_georef(&P, &im->meta.geo);
	} else {
		img_move_meta(&out, im);
		pipe_move_georef(&P, &out.meta.geo);
		img_free(im);
		*im = out;
		memset(&out, 0, sizeof out);
	}
	if (pj->opts->log != NULL)
		pipe_log(&P, "");
	rc = 0;
done:
	img_free(&out);
	pipe_free(&P);
	pthread_cond_destroy(&P.cond);
	pthread_mutex_destroy(&P.lock);
	return rc;
}

int job_filter(struct image *im, struct kernel *const *kernels, int nkernels,
	       const struct job_opts *opts, struct err *err)
{
	struct job_spec js;

	memset(&js, 0, sizeof js);
	js.kernels = kernels;
	js.nkernels = nkernels;
	js.opts = opts;
	return job_image(&js, im, err);
}

/* stream.c: decoding, filtering in strips and encoding one image, overlapped. */
#include "stream.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "color.h"
#include "engine.h"
#include "layer.h"

/*
 * Three stages share the image and one lock:
 *
 *   decoder thread   writes rows into im's planes, publishes `decoded`
 *   filter           strip by strip: waits until the rows a strip needs
 *                    are decoded, filters them into a strip buffer, and
 *                    copies the previous strip's results back over im's
 *                    rows, publishing `final`
 *   encoder          (the calling thread, or PNG's deflate workers) waits
 *                    for `final` rows before it reads them (io_rows)
 *
 * The filter has no thread of its own: whichever encoder thread needs
 * rows that are not final runs the next strip, and so does the decoder
 * when it is two strips ahead (`busy` keeps it to one strip at a time, in
 * order).  A strip runs on one thread: with two cores the decoder has one
 * and the filter and encoder the other.  (Splitting a strip of a few
 * dozen rows into bands as well was slower, measured: the threads'
 * start-up and the competition with the decoder cost more than the
 * second band gained.)
 *
 * Strips.  Output rows [y0, y1) of a `same` job with anchor ay read the
 * border-extended source rows y0 - ay .. y1 - ay + kh - 2.  A strip runs
 * the engine on a view of source rows [a, b), those rows clipped to the
 * image, with its anchor moved by y0 - a; rows outside the view are then
 * outside the image too, and the border rule finds the same rows in the
 * view as in the image, because every strip has at least 2 kh rows (a
 * reflection at most kh rows deep stays in the view; wrap, which needs the
 * far end of the image, does not stream).  Engines whose result at a
 * sample does not depend on where the plane was cut (direct and
 * separable, vec.h) then give the bytes of the whole-plane run.
 *
 * Results overwrite the source rows in place, one strip late: strip s
 * still reads the ay rows above it, which are strip s - 1's, so those are
 * copied back only once strip s is done; strip s + 1 reads rows from
 * y1 - ay >= y0 of strip s, never strip s - 1's.  Two strip buffers and
 * the image are all the memory there is.
 */

/* Rows per strip: at most this many (the least is 2 kh, and a quarter of the image). */
#define STRIP_ROWS 64

struct stream {
	const struct stream_job *sj;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	struct image im;
	struct err derr;          /* the decoder's error */
	/* Under the lock: */
	int started;              /* im is allocated, its size, depth and metadata set */
	int decoded;              /* rows of im final from the decoder */
	int want;                 /* the decoded rows a waiting filter needs */
	int dec_failed;           /* decoding failed: nothing more will come */
	int writer_done;          /* no one reads im any more */
	int final;                /* rows of results the encoder may read */
	int busy;                 /* a thread is filtering */
	int ready;                /* the strips are planned: the decoder may run them */
	int failed;               /* filtering failed (ferr says why, unless decoding did) */
	/* The filter's, used by one thread at a time (busy): */
	struct err ferr;
	struct conv_job job;
	const struct engine *e;
	float *wt;
	unsigned mask, colour_mask;
	int premul, ay;
	int rows, nstrips, next;  /* strip height; strips; the next to run */
	int premul_done;          /* source rows premultiplied so far */
	struct image buf[2];      /* the results of strips s and s - 1, by s % 2 */
	double seconds;
};

int stream_can(const struct job_opts *job, int nkernels, const struct kernel *k, int linear,
	       const char *output, enum io_format format)
{
	return nkernels == 1 && !layer_needed(k, job) && job->shape == SHAPE_SAME && job->deconv == DECONV_NONE &&
	       !linear && job->explain == NULL && !border_has(&job->border, BORDER_WRAP) &&
	       strcmp(output, "-") != 0 && (format == IO_PNG || format == IO_JPEG) &&
	       job->threads >= 2;
}

/* ---- the decoder's side ---------------------------------------------------- */

static int run_strip(struct stream *st);
static int strip_end(const struct stream *st, int s);

/*
 * run_strip_locked runs the next strip as the one thread filtering (busy),
 * with the lock released meanwhile; called and returning with it held.
 */
static int run_strip_locked(struct stream *st)
{
	int rc;

	st->busy = 1;
	pthread_mutex_unlock(&st->lock);
	rc = run_strip(st);
	pthread_mutex_lock(&st->lock);
	st->busy = 0;
	st->failed |= rc != 0;
	pthread_cond_broadcast(&st->cond);
	return rc;
}

static void on_rows(void *ctx, const struct image *im, int n)
{
	struct stream *st = ctx;

	(void)im;
	pthread_mutex_lock(&st->lock);
	if (n < 0) {
		/* *im is about to be freed: wait until no one reads it. */
		st->dec_failed = 1;
		pthread_cond_broadcast(&st->cond);
		while (!st->writer_done)
			pthread_cond_wait(&st->cond, &st->lock);
		pthread_mutex_unlock(&st->lock);
		return;
	}
	st->started = 1;
	st->decoded = n;
	if (n == 0 || n >= st->want)
		pthread_cond_broadcast(&st->cond);
	/*
	 * When decoding is ahead (the rows of the next two strips are here
	 * and no one is filtering), the encoder's thread is the slower one:
	 * the decoder runs a strip itself, so that the two share the filter.
	 * (JPEG decodes faster than it encodes; PNG the other way round, and
	 * there the decoder never gets this far ahead.)
	 */
	if (st->ready && !st->busy && !st->failed && !st->writer_done && st->next + 1 < st->nstrips &&
	    strip_end(st, st->next + 1) <= n)
		run_strip_locked(st);
	pthread_mutex_unlock(&st->lock);
}

static void *decoder(void *arg)
{
	struct stream *st = arg;
	int rc = io_read_opts(st->sj->input, &st->im, st->sj->read, &st->derr);

	pthread_mutex_lock(&st->lock);
	st->dec_failed |= rc != 0;
	pthread_cond_broadcast(&st->cond);
	pthread_mutex_unlock(&st->lock);
	return NULL;
}

/* wait_decoded waits for source rows 0..n-1; -1 if decoding failed. */
static int wait_decoded(struct stream *st, int n)
{
	int rc;

	pthread_mutex_lock(&st->lock);
	st->want = n;
	while (st->decoded < n && !st->dec_failed)
		pthread_cond_wait(&st->cond, &st->lock);
	rc = st->decoded >= n ? 0 : -1;
	pthread_mutex_unlock(&st->lock);
	return rc;
}

/* ---- the filter ------------------------------------------------------------ */

/* job.c's bias step on the channels in mask. */
static void add_bias_rows(struct image *im, unsigned mask, float bias)
{
	int c;

	for (c = 0; c < im->nch; c++)
		if (mask & (1u << c))
			plane_add(&im->ch[c], bias);
}

static void strip_rows(const struct stream *st, int s, int *y0, int *y1)
{
	*y0 = s * st->rows;
	*y1 = s == st->nstrips - 1 ? st->im.h : *y0 + st->rows;
}

/* strip_end is the end of the source rows strip s reads (clipped to the image). */
static int strip_end(const struct stream *st, int s)
{
	int y0, y1;

	strip_rows(st, s, &y0, &y1);
	return y1 - st->ay + st->job.kh - 1 < st->im.h ? y1 - st->ay + st->job.kh - 1 : st->im.h;
}

/* write_back copies strip s's results over its source rows. */
static void write_back(struct stream *st, int s)
{
	struct image *b = &st->buf[s % 2];
	int c, y, y0, y1;

	strip_rows(st, s, &y0, &y1);
	for (c = 0; c < st->im.nch; c++)
		if (st->mask & (1u << c))
			for (y = y0; y < y1; y++)
				memcpy(plane_row(&st->im.ch[c], y), plane_row(&b->ch[c], y - y0),
				       (size_t)st->im.w * sizeof(float));
}

/* run_strip filters the next strip and publishes the rows that became final. */
static int run_strip(struct stream *st)
{
	const struct stream_job *sj = st->sj;
	struct image *im = &st->im, *b = &st->buf[st->next % 2];
	int s = st->next, y0, y1, a, bend, c, y, final;
	double t0 = clock_seconds();

	strip_rows(st, s, &y0, &y1);
	a = y0 - st->ay > 0 ? y0 - st->ay : 0;
	bend = strip_end(st, s);
	if (wait_decoded(st, bend))
		return -1;
	if (st->premul && st->premul_done < bend) {
		color_premultiply_rows(im, st->colour_mask, st->premul_done, bend);
		st->premul_done = bend;
	}
	b->h = y1 - y0;
	for (c = 0; c < im->nch; c++) {
		struct plane view = { im->w, bend - a, im->ch[c].stride, plane_row(&im->ch[c], a) };
		struct conv_job job = st->job;

		b->ch[c].h = y1 - y0;
		if (!(st->mask & (1u << c))) {
			/* An unfiltered channel: kept in place, copied for the alpha step. */
			for (y = y0; y < y1; y++)
				memcpy(plane_row(&b->ch[c], y - y0), plane_row(&im->ch[c], y),
				       (size_t)im->w * sizeof(float));
			continue;
		}
		job.in = &view;
		job.out = &b->ch[c];
		job.ay = st->ay - (y0 - a);
		job.threads = 1;
		if (eng_run(st->e, &job, &st->ferr))
			return -1;
		if (s == st->nstrips - 1)
			memcpy(st->job.note, job.note, sizeof job.note);
	}
	if (st->premul)
		color_unpremultiply(b, st->colour_mask);
	add_bias_rows(b, st->mask, (float)sj->kernel->bias);
	color_finish(b, st->mask, sj->absval, sj->offset);

	if (s > 0)
		write_back(st, s - 1);
	final = y0;
	if (s == st->nstrips - 1) {
		write_back(st, s);
		final = im->h;
	}
	st->next++;
	st->seconds += clock_seconds() - t0;
	if (sj->job->progress != NULL)
		sj->job->progress(sj->job->progress_ctx, (int)((long long)im->nch * final / im->h),
				  im->nch);
	pthread_mutex_lock(&st->lock);
	st->final = final;
	pthread_mutex_unlock(&st->lock);
	return 0;
}

/* need is the encoder's io_rows wait: it runs strips until rows 0..n-1 are final. */
static int need(void *ctx, int n)
{
	struct stream *st = ctx;
	int rc = 0;

	pthread_mutex_lock(&st->lock);
	while (st->final < n) {
		if (st->failed || st->dec_failed) {
			rc = -1;
			break;
		}
		if (st->busy) {
			pthread_cond_wait(&st->cond, &st->lock);
			continue;
		}
		rc = run_strip_locked(st);
	}
	pthread_mutex_unlock(&st->lock);
	return rc;
}

/*
 * plan sets up the filter once the image's size is known: the kernel in
 * the engines' form, the engine the planner picks for the whole plane,
 * the strips, their buffers.  *ok says whether strips can run the job.
 */
static int plan(struct stream *st, int *ok)
{
	const struct stream_job *sj = st->sj;
	struct image *im = &st->im;
	struct plane sizes = { 0 };
	int ow, oh, c, i, rows;

	*ok = 0;
	if (job_channels(sj->job->channels, im->nch, &st->mask, &st->ferr) ||
	    job_prepare(&st->job, &st->wt, sj->kernel, im->w, im->h, sj->job, &ow, &oh, &st->ferr))
		return -1;
	sizes.w = ow;
	sizes.h = oh;
	st->job.in = &im->ch[0];
	st->job.out = &sizes;
	st->e = sj->job->engine != NULL ? sj->job->engine : eng_choose(&st->job);
	st->ay = st->job.ay;
	rows = im->h / 4 < STRIP_ROWS ? im->h / 4 : STRIP_ROWS;
	if (rows < 2 * st->job.kh)
		rows = 2 * st->job.kh;
	st->rows = rows;
	st->nstrips = im->h / rows;
	if ((st->e != &eng_direct && st->e != &eng_separable) || st->nstrips < 2 ||
	    st->ay < 0 || st->ay > st->job.kh - 1 || !st->e->supports(&st->job))
		return 0;
	st->colour_mask = img_has_alpha(im) ? st->mask & ((1u << (im->nch - 1)) - 1) : 0;
	st->premul = sj->job->alpha == ALPHA_PREMULTIPLY && st->colour_mask != 0;
	/* The last strip takes the rows left over: fewer than 2 * rows in all. */
	for (i = 0; i < 2; i++) {
		st->buf[i].w = im->w;
		st->buf[i].nch = im->nch;
		for (c = 0; c < im->nch; c++)
			if (plane_alloc(&st->buf[i].ch[c], im->w, 2 * rows - 1, &st->ferr))
				return -1;
	}
	*ok = 1;
	return 0;
}

/* serial runs the job one step after the other on the whole decoded image. */
static int serial(struct stream *st, struct err *err)
{
	const struct stream_job *sj = st->sj;
	unsigned mask;

	if (job_filter(&st->im, &sj->kernel, 1, sj->job, err) ||
	    job_channels(sj->job->channels, st->im.nch, &mask, err))
		return -1;
	color_finish(&st->im, mask, sj->absval, sj->offset);
	return io_write(sj->output, &st->im, sj->write, err);
}

int stream_file(const struct stream_job *sj, struct err *err)
{
	struct stream st;
	struct io_rows rows;
	struct err werr = { 0 };
	pthread_t tid;
	int ok = 0, rc = 0, planned = 0, i;
	const struct kernel *k = sj->kernel;
	const struct job_opts *o = sj->job;

	memset(&st, 0, sizeof st);
	st.sj = sj;
	pthread_mutex_init(&st.lock, NULL);
	pthread_cond_init(&st.cond, NULL);
	sj->read->rows = on_rows;
	sj->read->rows_ctx = &st;
	if (pthread_create(&tid, NULL, decoder, &st) != 0) {
		sj->read->rows = NULL;
		rc = io_read_opts(sj->input, &st.im, sj->read, err) ? -1 : serial(&st, err);
		goto out;
	}

	pthread_mutex_lock(&st.lock);
	while (!st.started && !st.dec_failed)
		pthread_cond_wait(&st.cond, &st.lock);
	planned = st.started && !st.dec_failed;
	pthread_mutex_unlock(&st.lock);
	if (planned && plan(&st, &ok) == 0 && ok) {
		pthread_mutex_lock(&st.lock);
		st.ready = 1;
		pthread_mutex_unlock(&st.lock);
		rows.wait = need;
		rows.ctx = &st;
		rc = io_write_rows(sj->output, &st.im, sj->write, &rows, &werr);
	}
	pthread_mutex_lock(&st.lock);
	st.writer_done = 1;
	pthread_cond_broadcast(&st.cond);
	pthread_mutex_unlock(&st.lock);
	pthread_join(tid, NULL);

	/* The serial order of errors: reading, filtering, writing. */
	if (st.dec_failed) {
		*err = st.derr;
		rc = -1;
	} else if (st.ferr.cls != ERR_NONE) {
		*err = st.ferr;
		rc = -1;
	} else if (!ok) {
		rc = serial(&st, err);
	} else if (rc) {
		*err = werr;
	} else if (o->log != NULL) {
		fprintf(o->log, "imfilter: %s: ", k->name);
		if (k->n > 1)
			fprintf(o->log, "bank of %d ", k->n);
		fprintf(o->log, "%dx%d on %dx%dx%d: engine %s, %.3f s; %d strips of %d rows overlapped "
			"with decoding and encoding%s%s\n", k->w, k->h, st.im.w, st.im.h, st.im.nch,
			st.e->name, st.seconds, st.nstrips, st.rows, st.job.note[0] ? "; " : "",
			st.job.note);
	}
out:
	sj->read->rows = NULL;
	sj->read->rows_ctx = NULL;
	for (i = 0; i < 2; i++)
		img_free(&st.buf[i]);
	free(st.wt);
	img_free(&st.im);
	pthread_cond_destroy(&st.cond);
	pthread_mutex_destroy(&st.lock);
	return rc;
}

/* job.c: one image through the decoder, its filter steps and the encoder, rows streaming. */
#include "job.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "color.h"
#include "georef.h"
#include "pipe.h"
#include "step.h"

int job_shape_parse(const char *s, enum job_shape *shape)
{
	if (strcmp(s, "same") == 0)
		*shape = SHAPE_SAME;
	else if (strcmp(s, "full") == 0)
		*shape = SHAPE_FULL;
	else if (strcmp(s, "valid") == 0)
		*shape = SHAPE_VALID;
	else
		return -1;
	return 0;
}

/* The decoder's lookahead: rows it may decode past what the next strip needs. */
#define LOOKAHEAD_ROWS 32

/* ---- windows ---------------------------------------------------------------- */

static void view_rows(struct plane *v, const struct plane *p, int slot, int rows)
{
	v->w = p->w;
	v->h = rows;
	v->stride = p->stride;
	v->px = plane_row(p, slot);
}

/*
 * plan_strips computes stage g's strips, the least input row of each
 * strip and those after it (amin), and the span of rows a strip and the
 * rows kept for the next ones need at once (*span).
 */
static int plan_strips(struct stage *g, struct err *err)
{
	int s, r0, r1, a, b, m;

	g->rows = step_strip(&g->st);
	g->nstrips = (g->st.oh + g->rows - 1) / g->rows;
	g->amin = malloc(((size_t)g->nstrips + 1) * sizeof *g->amin);
	if (g->amin == NULL)
		return err_oom(err, "pipe");
	g->amin[g->nstrips] = g->st.h;
	for (s = g->nstrips - 1; s >= 0; s--) {
		r0 = s * g->rows;
		r1 = r0 + g->rows < g->st.oh ? r0 + g->rows : g->st.oh;
		step_need(&g->st, r0, r1, &a, &b);
		g->amin[s] = a < g->amin[s + 1] ? a : g->amin[s + 1];
	}
	g->span = 0;
	for (s = 0; s < g->nstrips; s++) {
		r0 = s * g->rows;
		r1 = r0 + g->rows < g->st.oh ? r0 + g->rows : g->st.oh;
		step_need(&g->st, r0, r1, &a, &b);
		m = b - g->amin[s];
		if (m > g->span)
			g->span = m;
	}
	return 0;
}

int pipe_alloc_planes(struct plane *p, int n, int w, int h, struct err *err)
{
	int c;

	for (c = 0; c < n; c++)
		if (plane_alloc(&p[c], w, h, err))
			return -1;
	return 0;
}

/* slide moves stage g's rows from keep on to the window's top. */
static void slide(struct stage *g, int nch, int keep)
{
	int c, y, shift = keep - g->y0;

	if (shift <= 0)
		return;
	if (shift > g->n)
		shift = g->n;
	for (c = 0; c < nch; c++)
		for (y = 0; y + shift < g->n; y++)
			memcpy(plane_row(&g->win[c], y), plane_row(&g->win[c], y + shift),
			       (size_t)g->win[c].w * sizeof(float));
	g->y0 += shift;
	g->n -= shift;
}

/* ---- the decoder's side ------------------------------------------------------ */

/* cancelled stops the decoder because the rest of the pipe stopped (under the lock). */
static int cancelled(struct pipe *P, struct err *err)
{
	P->dec_cancelled = 1;
	return err_set(err, ERR_SOFTWARE, "decoding cancelled");
}

static int sink_begin(void *ctx, struct image *info, struct err *err)
{
	struct pipe *P = ctx;
	int ok;

	pthread_mutex_lock(&P->lock);
	P->info.w = info->w;
	P->info.h = info->h;
	P->info.nch = info->nch;
	P->info.depth = info->depth;
	img_move_meta(&P->info, info);
	P->started = 1;
	pthread_cond_broadcast(&P->cond);
	while (!P->planned && !P->abort)
		pthread_cond_wait(&P->cond, &P->lock);
	ok = !P->abort || cancelled(P, err) == 0;
	pthread_mutex_unlock(&P->lock);
	return ok ? 0 : -1;
}

/*
 * ready says whether the decoder may make the next strip itself (under
 * the lock): one step, its rows decoded, its ring slot free and no one
 * else making a strip.  The encoder's thread would otherwise make every
 * strip between its own encoding while the decoder, faster, waits for
 * room; this way each does half.
 */
static int ready(const struct pipe *P)
{
	const struct stage *g = &P->stg[0];
	int r0, r1, a, b;

	/* g->next is the strip maker's while busy. */
	if (P->nst != 1 || P->busy || P->failed || P->abort || P->ring_k == 0)
		return 0;
	r0 = g->next;
	if (r0 >= g->st.oh || P->released < (r0 / g->rows - P->ring_k + 1) * g->rows)
		return 0;
	r1 = r0 + g->rows < g->st.oh ? r0 + g->rows : g->st.oh;
	step_need(&g->st, r0, r1, &a, &b);
	return b <= P->decoded && b - g->y0 <= g->cap;
}

static float *sink_row(void *ctx, int c, int y)
{
	struct pipe *P = ctx;
	struct stage *g = &P->stg[0];

	if (c == 0) {
		pthread_mutex_lock(&P->lock);
		while (y - g->y0 >= g->cap && !P->abort) {
			/* Full: make room by making a strip, or by dropping rows no strip reads. */
			if (ready(P)) {
				P->busy = 1;
				pipe_pull(P);
				P->busy = 0;
				pthread_cond_broadcast(&P->cond);
			} else if (!P->busy && P->nst == 1 && g->amin[g->next / g->rows] > g->y0) {
				g->n = P->decoded - g->y0;
				slide(g, g->st.nch, g->amin[g->next / g->rows]);
			} else {
				pthread_cond_wait(&P->cond, &P->lock);
			}
		}
		P->writing = 1;
		pthread_mutex_unlock(&P->lock);
	}
	/* After an abort the rows go to the last slot: no one reads them any more. */
	if (y - g->y0 >= g->cap)
		return plane_row(&g->win[c], g->cap - 1);
	return plane_row(&g->win[c], y - g->y0);
}

static int sink_put(void *ctx, int n, struct err *err)
{
	struct pipe *P = ctx;
	int ok;

	pthread_mutex_lock(&P->lock);
	P->decoded = n;
	P->writing = 0;
	while (ready(P)) {
		P->busy = 1;
		pipe_pull(P);
		P->busy = 0;
		pthread_cond_broadcast(&P->cond);
	}
	/*
	 * Only when the filter can go on: it has the rows it waits for, or
	 * the window is full and it may slide.  A wake-up per row costs two
	 * context switches, which on a VM add up to more than a small
	 * kernel's filtering.
	 */
	if ((P->want > 0 && n >= P->want) || n - P->stg[0].y0 >= P->stg[0].cap || P->abort)
		pthread_cond_broadcast(&P->cond);
	ok = !P->abort || cancelled(P, err) == 0;
	pthread_mutex_unlock(&P->lock);
	return ok ? 0 : -1;
}

/* ---- the filter ----------------------------------------------------------------- */

static int produce(struct pipe *P, int i, struct plane *out);

/*
 * fill makes stage i's window hold input rows up to b: from the decoder,
 * or by running the stage before, whose strips are written into the
 * window's free slots.  keep is the first row the strips to come read.
 */
static int fill(struct pipe *P, int i, int b, int keep)
{
	struct stage *g = &P->stg[i];
	struct plane out[IMG_MAX_CHANNELS];
	int c, rows, rc = 0;

	if (g->ext)
		return 0;
	if (i == 0 && P->from_decoder) {
		pthread_mutex_lock(&P->lock);
		while (P->decoded < b && !P->dec_failed) {
			g->n = P->decoded - g->y0;
			if (g->n == g->cap && !P->writing && keep > g->y0) {
				/* Full, and the decoder waits for room: slide. */
				slide(g, g->st.nch, keep);
				pthread_cond_broadcast(&P->cond);
				continue;
			}
			P->want = b;
			pthread_cond_wait(&P->cond, &P->lock);
			P->want = 0;
		}
		rc = P->decoded >= b ? 0 : -1;
		g->n = P->decoded - g->y0;
		pthread_mutex_unlock(&P->lock);
		return rc;
	}
	while (g->y0 + g->n < b) {
		struct stage *up = &P->stg[i - 1];

		rows = up->rows < up->st.oh - up->next ? up->rows : up->st.oh - up->next;
		if (g->n + rows > g->cap)
			slide(g, g->st.nch, keep);
		if (g->n + rows > g->cap)
			return err_set(&P->ferr, ERR_SOFTWARE, "pipe: step %d's window is too small", i);
		for (c = 0; c < up->st.onch; c++)
			view_rows(&out[c], &g->win[c], g->n, rows);
		if (produce(P, i - 1, out))
			return -1;
		g->n += rows;
	}
	return 0;
}

void pipe_take(struct pipe *P, int i, int b)
{
	struct stage *g = &P->stg[i];
	struct plane v[IMG_MAX_CHANNELS];
	struct image im;
	int c, n = b - g->taken;

	if (n <= 0)
		return;
	for (c = 0; c < g->st.nch; c++)
		view_rows(&v[c], &g->win[c], g->taken - g->y0, n);
	if (i == 0 && P->linear_in) {
		img_view(&im, v, g->st.nch);
		color_to_linear(&im);
	}
	step_take(&g->st, v, n);
	g->taken = b;
}

/* produce computes the next strip of stage i into out[] (views of its rows). */
static int produce(struct pipe *P, int i, struct plane *out)
{
	struct stage *g = &P->stg[i];
	struct plane v[IMG_MAX_CHANNELS];
	int s = g->next / g->rows, r0 = g->next, r1, a, b, c;

	r1 = r0 + g->rows < g->st.oh ? r0 + g->rows : g->st.oh;
	step_need(&g->st, r0, r1, &a, &b);
	if (fill(P, i, b, g->amin[s]))
		return -1;
	pipe_take(P, i, b);
	for (c = 0; c < g->st.nch; c++)
		view_rows(&v[c], &g->win[c], a - g->y0, b - a);
	if (step_run(&g->st, v, a, r0, r1, out, P->threads, &P->ferr))
		return -1;
	g->next = r1;
	return 0;
}

void pipe_finish(struct pipe *P, struct plane *out)
{
	const struct step *last = &P->stg[P->nst - 1].st;
	struct image im;

	if (!P->pj->absval && P->pj->offset == 0.0f && !P->linear_out && !P->pj->luma)
		return;
	img_view(&im, out, last->onch);
	color_finish(&im, P->finish_mask, P->pj->absval, P->pj->offset);
	if (P->linear_out)
		color_to_srgb(&im);
	if (P->pj->luma)
		color_luma_rows(&im);
}

int pipe_pull(struct pipe *P)
{
	struct stage *g = &P->stg[P->nst - 1];
	struct plane out[IMG_MAX_CHANNELS];
	int r0 = g->next, rows, c, s = g->next / g->rows, rc;

	rows = g->rows < g->st.oh - r0 ? g->rows : g->st.oh - r0;
	if (P->dst == NULL)
		while (P->released < (s - P->ring_k + 1) * g->rows && !P->abort)
			pthread_cond_wait(&P->cond, &P->lock);
	if (P->abort)
		return -1;
	pthread_mutex_unlock(&P->lock);
	for (c = 0; c < g->st.onch; c++)
		if (P->dst != NULL)
			view_rows(&out[c], &P->dst->ch[c], r0, rows);
		else
			view_rows(&out[c], &P->ring[c], (s % P->ring_k) * g->rows, rows);
	rc = produce(P, P->nst - 1, out);
	if (rc == 0)
		pipe_finish(P, out);
	if (rc == 0 && P->pj->opts->progress != NULL)
		P->pj->opts->progress(P->pj->opts->progress_ctx, r0 + rows, g->st.oh);
	pthread_mutex_lock(&P->lock);
	if (rc)
		P->failed = 1;
	else
		P->made = r0 + rows;
	pthread_cond_broadcast(&P->cond);
	return rc;
}

/* ---- the encoder's side ---------------------------------------------------------- */

static int src_wait(void *ctx, int n)
{
	struct pipe *P = ctx;
	int rc = 0;

	pthread_mutex_lock(&P->lock);
	while (P->made < n) {
		if (P->failed || P->abort) {
			rc = -1;
			break;
		}
		if (P->busy) {
			pthread_cond_wait(&P->cond, &P->lock);
			continue;
		}
		P->busy = 1;
		rc = pipe_pull(P);
		P->busy = 0;
		pthread_cond_broadcast(&P->cond);
		if (rc)
			break;
	}
	pthread_mutex_unlock(&P->lock);
	return rc;
}

static const float *src_row(void *ctx, int c, int y)
{
	struct pipe *P = ctx;
	int rows = P->stg[P->nst - 1].rows;

	return plane_row(&P->ring[c], ((y / rows) % P->ring_k) * rows + y % rows);
}

static void src_release(void *ctx, int n)
{
	struct pipe *P = ctx;

	pthread_mutex_lock(&P->lock);
	if (n > P->released) {
		P->released = n;
		pthread_cond_broadcast(&P->cond);
	}
	pthread_mutex_unlock(&P->lock);
}

/* ---- planning ------------------------------------------------------------------------- */

void pipe_free(struct pipe *P)
{
	int i, c;

	for (i = 0; i < P->nst; i++) {
		struct stage *g = &P->stg[i];

		step_free(&g->st);
		free(g->amin);
		for (c = 0; c < IMG_MAX_CHANNELS && !g->ext; c++)
			plane_free(&g->win[c]);
	}
	free(P->stg);
	for (c = 0; c < IMG_MAX_CHANNELS; c++)
		plane_free(&P->ring[c]);
	img_free(&P->info);
}

/* hold_check applies the pixel limit to an image held whole, saying which. */
static int hold_check(const struct pipe *P, int w, int h, const char *what, struct err *err)
{
	unsigned long long max = P->pj->max_pixels;

	if (max != 0 && (unsigned long long)w * h > max)
		return err_set(err, ERR_OS, "%s holds the %d x %d image, more pixels than the "
			       "limit of %llu (--max-pixels)", what, w, h, max);
	return 0;
}

int pipe_plan(struct pipe *P, const struct image *ext, struct err *err)
{
	const struct job_spec *pj = P->pj;
	int i, c, w = P->info.w, h = P->info.h, nch = P->info.nch, rows;

	P->nst = pj->nkernels;
	P->stg = calloc((size_t)P->nst, sizeof *P->stg);
	if (P->stg == NULL)
		return err_oom(err, "pipe");
	P->threads = pj->opts->threads > 0 ? pj->opts->threads : 1;
	for (i = 0; i < P->nst; i++) {
		struct stage *g = &P->stg[i];

		if (step_plan(&g->st, pj->kernels[i], pj->opts, w, h, nch, err) ||
		    plan_strips(g, err))
			return -1;
		if (g->st.holds &&
		    hold_check(P, w, h, pj->opts->deconv != DECONV_NONE ? "--deconvolve" :
			       g->st.layer && g->st.L.transpose ? "--transpose" :
			       "the wrap border of rows", err))
			return -1;
		w = g->st.ow;
		h = g->st.oh;
		nch = g->st.onch;
	}
	for (i = 0; i < P->nst; i++) {
		struct stage *g = &P->stg[i];

		if (i == 0 && ext != NULL) {
			for (c = 0; c < ext->nch; c++)
				g->win[c] = ext->ch[c];
			g->ext = 1;
			g->n = g->cap = ext->h;
			continue;
		}
		/* Room for the span and the rows coming in (a strip, or the decoder's lookahead). */
		rows = i == 0 ? LOOKAHEAD_ROWS : P->stg[i - 1].rows;
		g->cap = g->span + rows < g->st.h + rows ? g->span + rows : g->st.h + rows;
		if (pipe_alloc_planes(g->win, g->st.nch, g->st.w, g->cap, err))
			return -1;
	}
	return step_channels(pj->opts->channels, nch, &P->finish_mask, err);
}

/*
 * plan_ring makes the output's ring: strips enough for the encoder's
 * window, or the whole output when the encoder holds it.
 */
static int plan_ring(struct pipe *P, const struct image *oinfo, int window, struct err *err)
{
	struct stage *g = &P->stg[P->nst - 1];

	if (window >= oinfo->h && hold_check(P, oinfo->w, oinfo->h, "writing this output", err))
		return -1;
	P->ring_k = (window + g->rows - 1) / g->rows + 1;
	if (P->ring_k > g->nstrips)
		P->ring_k = g->nstrips;
	/* The last step's planes: the encoder may read fewer (luma). */
	return pipe_alloc_planes(P->ring, g->st.onch, oinfo->w, P->ring_k * g->rows, err);
}

void pipe_log(const struct pipe *P, const char *how)
{
	char line[160];
	int i;

	for (i = 0; i < P->nst; i++) {
		const struct stage *g = &P->stg[i];

		if (g->nstrips > 1)
			snprintf(line, sizeof line, "%d strips of %d rows%s", g->nstrips, g->rows, how);
		else
			snprintf(line, sizeof line, "one strip%s", how);
		step_log(&g->st, P->pj->opts->log, line);
	}
}

void pipe_move_georef(const struct pipe *P, struct img_geo *geo)
{
	struct georef_map g;
	double m[2], b[2];
	int i;

	georef_identity(&g);
	for (i = 0; i < P->nst; i++) {
		step_map(&P->stg[i].st, m, b);
		georef_then(&g, m, b);
	}
	georef_apply(geo, &g);
}

/* ---- reading a file, writing a file ------------------------------------------ */

struct dec_arg {
	struct pipe *P;
	const char *input;
	struct io_read_opts *ro;
	struct err err;
	int rc;
};

static void *decoder(void *arg)
{
	struct dec_arg *d = arg;
	struct pipe *P = d->P;
	struct io_sink sink = { sink_begin, sink_row, sink_put, P };

	d->rc = io_read_sink(d->input, d->ro, &sink, &d->err);
	pthread_mutex_lock(&P->lock);
	if (d->rc)
		P->dec_failed = 1;
	pthread_cond_broadcast(&P->cond);
	pthread_mutex_unlock(&P->lock);
	return NULL;
}

int job_file(const struct job_spec *pj, const char *input, struct io_read_opts *ro,
	      const char *output, const struct io_write_opts *wo, struct err *err)
{
	struct pipe P;
	struct dec_arg d;
	struct image oinfo;
	struct io_source src;
	struct err perr = { 0 }, werr = { 0 };
	pthread_t tid;
	const struct step *last;
	int window, rc = -1, wrc = 0, planned = 0;

	memset(&P, 0, sizeof P);
	memset(&d, 0, sizeof d);
	memset(&oinfo, 0, sizeof oinfo);
	P.pj = pj;
	P.from_decoder = 1;
	pthread_mutex_init(&P.lock, NULL);
	pthread_cond_init(&P.cond, NULL);
	d.P = &P;
	d.input = input;
	d.ro = ro;
	if (pthread_create(&tid, NULL, decoder, &d) != 0) {
		err_set(err, ERR_OS, "cannot start a thread");
		goto out;
	}
	pthread_mutex_lock(&P.lock);
	while (!P.started && !P.dec_failed)
		pthread_cond_wait(&P.cond, &P.lock);
	planned = P.started && !P.dec_failed;
	pthread_mutex_unlock(&P.lock);

	if (planned) {
		/* The output's size comes from the steps; the encoder's window from the output. */
		P.linear_in = pj->linear && P.info.depth != 32;
		oinfo.depth = P.info.depth;
		oinfo.meta.tiff = P.info.meta.tiff;
		P.linear_out = pj->linear && !io_write_float(&oinfo, wo);
		planned = 0;
		if (pipe_plan(&P, NULL, &perr) == 0) {
			last = &P.stg[P.nst - 1].st;
			oinfo.w = last->ow;
			oinfo.h = last->oh;
			oinfo.nch = pj->luma && last->onch >= 3 ? 1 : last->onch;
			window = io_write_window(output, &oinfo, wo, &perr);
			planned = window >= 0 && plan_ring(&P, &oinfo, window, &perr) == 0;
		}
	}
	pthread_mutex_lock(&P.lock);
	if (planned)
		P.planned = 1;
	else
		P.abort = 1;
	pthread_cond_broadcast(&P.cond);
	pthread_mutex_unlock(&P.lock);

	if (planned) {
		img_move_meta(&oinfo, &P.info);
		pipe_move_georef(&P, &oinfo.meta.geo);
		src.wait = src_wait;
		src.row = src_row;
		src.release = src_release;
		src.ctx = &P;
		src.cap = (P.ring_k - 1) * P.stg[P.nst - 1].rows;
		if (P.ring_k >= P.stg[P.nst - 1].nstrips)
			src.cap = 0;
		wrc = io_write_source(output, &oinfo, wo, &src, &werr);
	}
	pthread_mutex_lock(&P.lock);
	P.abort = 1;
	pthread_cond_broadcast(&P.cond);
	pthread_mutex_unlock(&P.lock);
	pthread_join(tid, NULL);

	/* The serial order of errors: reading, planning and filtering, writing. */
	if (d.rc && !P.dec_cancelled) {
		*err = d.err;
	} else if (perr.cls != ERR_NONE) {
		/* A kernel that does not fit this image: name the image. */
		*err = perr;
		if (perr.cls == ERR_DATA)
			snprintf(err->msg, sizeof err->msg, "%.200s: %.300s",
				 strcmp(input, "-") == 0 ? "<stdin>" : input, perr.msg);
	} else if (P.ferr.cls != ERR_NONE) {
		*err = P.ferr;
	} else if (wrc) {
		*err = werr;
	} else if (d.rc) {
		*err = d.err;
	} else {
		rc = 0;
		if (pj->opts->log != NULL)
			pipe_log(&P, ", overlapped with decoding and encoding");
	}
out:
	img_free(&oinfo);
	pipe_free(&P);
	pthread_cond_destroy(&P.cond);
	pthread_mutex_destroy(&P.lock);
	return rc;
}

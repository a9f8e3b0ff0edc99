/* engine_separable.c: kernels of low rank as sums of separable passes. */
#include "engine.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cpu.h"
#include "size.h"
#include "vec.h"

/*
 * A kernel of rank r is a sum of r outer products, wt = sum_t col_t row_t^T
 * (col_t of kh weights, row_t of kw), so correlating with it is r
 * horizontal passes with the rows, each followed by a vertical pass with
 * its column: (kw + kh) r multiply-adds per sample instead of kw kh.
 * Gaussians, boxes and Sobel's kernels have rank 1; sharpen and unsharp
 * masks (identity minus a Gaussian) rank 2.
 *
 * Factoring: Gaussian elimination with complete pivoting, in double.  Each
 * step takes the largest remaining weight as pivot, its column as col_t
 * and its row divided by it as row_t (so |row_t| <= 1), and subtracts
 * their product, as rounded to float, from the remainder.  It stops when
 * what remains is below SEP_RESIDUAL of sum|wt|, which makes the rank
 * exact for kernels of exact low rank; an SVD would only add truncations
 * too coarse for the precision contract.  A kernel is refused when that
 * takes more than SEP_MAX_RANK steps (the passes would cost more than
 * direct sums) or when the factors' sizes, sum_t |col_t|_1 |row_t|_1,
 * exceed SEP_GROWTH sum|wt|: rounding in the passes grows with them.
 *
 * Running: each band of output rows works in vertical strips of at most
 * sw output columns (as the direct engine does, to stay in L2).  For each
 * source row v the strip needs, the row is extended by the border rule
 * once into a padded buffer and every term's horizontal pass writes its
 * result to slot v mod (kh + SEP_ROWS - 1) of the term's ring.  Output
 * rows then go SEP_ROWS at a time: for a kernel of one term, one vec_cols
 * call computes their vertical passes, loading each ring row once for all
 * of them (the vertical pass is bound by reading the ring from L2, not by
 * its multiply-adds); otherwise each row is one vec_taps call over the
 * ring slots of all the kernel's terms.  A band's last rows, fewer, sum
 * the same taps in the same order, and the strips never depend on the
 * threads, so output is bit-identical for any -j.
 *
 * In place (job->out == job->in) works as in the direct engine (see
 * engine_direct.c): a band's own rows enter its rings before they are
 * overwritten, and the horizontal passes of the rows it reads outside them
 * are computed, whole rows wide, into `saved` before any band starts.
 *
 * In place with several strips, a strip's horizontal passes also read the
 * ax source columns left of it, which the strip before has overwritten.
 * So before a strip writes an output row, it keeps the ax source columns
 * at its right end (the next strip's left margin) in `margin`, one slot
 * per row of the band, and the next strip takes them from there.  The
 * border rule then never reads a column that is already overwritten:
 * every strip is at least kw wide, so the right edge's reflection stays
 * within the last strip, and wrap (which reads the far end) keeps to
 * whole rows.  Working in place saves allocating the output plane: on a
 * VM, faulting in a fresh 96 MB plane costs more than a 63-tap Gaussian.
 */

#define SEP_MAX_RANK 4
#define SEP_RESIDUAL 1e-6
#define SEP_GROWTH 8.0

/* Output rows computed together; a ring has kh + SEP_ROWS - 1 slots. */
#define SEP_ROWS VEC_COLS_MAX

/* The rings of a strip are kept under cpu_ring_bytes() (most of L2). */

/*
 * sep_factor factors kernel k (kh x kw, row-major) into at most
 * SEP_MAX_RANK terms, writing col (kh per term) and row (kw per term)
 * when they are not NULL.  Returns the rank, 0 for an all-zero kernel, or
 * -1 when the kernel is refused (or memory ran out).
 */
static int sep_factor(const float *k, int kw, int kh, float *col, float *row)
{
	size_t n = (size_t)kw * kh, i, best;
	double *e, *c, *r, norm = 0, res, growth = 0, piv, sc, sr;
	int rank = -1, t, u, j;

	e = malloc((n + (size_t)kw + kh) * sizeof *e);
	if (e == NULL)
		return -1;
	c = e + n;
	r = c + kh;
	for (i = 0; i < n; i++) {
		e[i] = k[i];
		norm += fabs(e[i]);
	}
	for (t = 0; t <= SEP_MAX_RANK; t++) {
		res = 0;
		best = 0;
		for (i = 0; i < n; i++) {
			res += fabs(e[i]);
			if (fabs(e[i]) > fabs(e[best]))
				best = i;
		}
		if (res <= SEP_RESIDUAL * norm) {
			rank = t;
			break;
		}
		if (t == SEP_MAX_RANK)
			break;
		/* The factors as the passes will use them: rounded to float. */
		piv = e[best];
		sc = sr = 0;
		for (u = 0; u < kh; u++) {
			c[u] = (float)e[(size_t)u * kw + best % kw];
			sc += fabs(c[u]);
		}
		for (j = 0; j < kw; j++) {
			r[j] = (float)(e[best / kw * kw + j] / piv);
			sr += fabs(r[j]);
		}
		growth += sc * sr;
		for (u = 0; u < kh; u++)
			for (j = 0; j < kw; j++)
				e[(size_t)u * kw + j] -= c[u] * r[j];
		if (col != NULL)
			for (u = 0; u < kh; u++)
				col[(size_t)t * kh + u] = (float)c[u];
		if (row != NULL)
			for (j = 0; j < kw; j++)
				row[(size_t)t * kw + j] = (float)r[j];
	}
	free(e);
	return rank >= 0 && growth <= SEP_GROWTH * norm ? rank : -1;
}

/*
 * One term of a kernel: its nonzero row weights (horizontal) and all its
 * column weights (vertical; zeros kept, so that a pair of rows and a
 * single row sum the same taps).
 */
struct sep_term {
	int nh;
	int *hj;          /* nh column offsets */
	float *hw;        /* nh weights */
	float *vw;        /* kh weights */
};

struct sep_band {
	float *pad;            /* one source row of the strip, extended */
	float *ring;           /* per term, kh + SEP_ROWS - 1 slots of rs samples */
	float *acc[SEP_ROWS];  /* sw samples each, one kernel's result (banks only) */
	const float **src;     /* the taps' pointers of a pass */
	float *w;              /* the taps' weights of a vertical pass */
	float *saved;          /* in place: per term, kh slots of ss for rows outside [y0, y1) */
	float *margin;         /* in place with strips: lm samples per row of [y0, y1) */
	int y0, y1;
	int x0;                /* the strip being computed */
};

struct sep_ctx {
	struct conv_job *job;
	int inplace;           /* job->out == job->in */
	int sw;                /* strip width */
	size_t rs;             /* ring slot stride, a multiple of a cache line */
	size_t ss;             /* saved slot stride: whole rows */
	int lm;                /* in place with strips: the margin kept per row (ax) */
	int cols;              /* threads split columns, not rows */
	int nterms;            /* terms of all kernels */
	int *first;            /* nk + 1 entries: kernel b's terms are first[b] .. first[b+1]-1 */
	struct sep_term *terms;
	struct sep_band *bands;
};

/* ring_row is term t's ring slot of extended source row v. */
static float *ring_row(const struct sep_ctx *ctx, float *ring, int t, long v)
{
	long slots = (long)ctx->job->kh + SEP_ROWS - 1;

	return ring + ((size_t)t * slots + (size_t)(((v % slots) + slots) % slots)) * ctx->rs;
}

/* own_row says whether extended source row v goes through band bd's rings. */
static int own_row(const struct sep_ctx *ctx, const struct sep_band *bd, long v)
{
	return !ctx->inplace || eng_halo_slot(ctx->job, bd->y0, bd->y1, v) < 0;
}

/*
 * term_row is term t's horizontal pass of extended source row v for band
 * bd: a ring slot, or in place for a row not the band's own, its saved copy.
 */
static float *term_row(const struct sep_ctx *ctx, const struct sep_band *bd, int t, long v)
{
	long s = ctx->inplace ? eng_halo_slot(ctx->job, bd->y0, bd->y1, v) : -1;

	if (s < 0)
		return ring_row(ctx, bd->ring, t, v);
	return bd->saved + ((size_t)t * ctx->job->kh + (size_t)s) * ctx->ss + bd->x0;
}

/*
 * strip_width is the width of the strip at x0 of columns [.., x1): sw,
 * but, where it can (always in place: sw >= 2 kw there), never leaving a
 * last strip narrower than kw (see above).
 */
static int strip_width(const struct sep_ctx *ctx, int x0, int x1)
{
	int n = x1 - x0 < ctx->sw ? x1 - x0 : ctx->sw, kw = ctx->job->kw;

	if (x1 - x0 - n > 0 && x1 - x0 - n < kw && n >= 2 * kw)
		n -= kw;
	return n;
}

/* keep_margin keeps the next strip's left margin of source row y (in place). */
static void keep_margin(const struct sep_ctx *ctx, struct sep_band *bd, int y, int n)
{
	memcpy(bd->margin + (size_t)(y - bd->y0) * ctx->lm,
	       plane_row(ctx->job->in, y) + bd->x0 + n - ctx->lm, (size_t)ctx->lm * sizeof(float));
}

/* hpass extends source row v (columns x0 - ax on) and runs every term's horizontal pass. */
static void hpass(const struct sep_ctx *ctx, struct sep_band *bd, long v, int x0, int n)
{
	const struct conv_job *job = ctx->job;
	const int lm = ctx->lm;
	int t, k;

	if (x0 > 0 && lm > 0 && own_row(ctx, bd, v)) {
		/* Columns x0 - ax .. x0 - 1 are output now: their source was kept. */
		memcpy(bd->pad, bd->margin + (size_t)(v - bd->y0) * lm, (size_t)lm * sizeof(float));
		eng_pad_row(job, v, x0, (long)n + job->kw - 1 - lm, bd->pad + lm);
	} else {
		eng_pad_row(job, v, (long)x0 - job->ax, (long)n + job->kw - 1, bd->pad);
	}
	for (t = 0; t < ctx->nterms; t++) {
		const struct sep_term *T = &ctx->terms[t];

		for (k = 0; k < T->nh; k++)
			bd->src[k] = bd->pad + T->hj[k];
		vec_taps(term_row(ctx, bd, t, v), bd->src, T->hw, T->nh, n, 0);
	}
}

/* sep_rect computes output rows [y0, y1), columns [xa, xb), for band bd. */
static void sep_rect(struct sep_ctx *ctx, struct sep_band *bd, int y0, int y1, int xa, int xb)
{
	struct conv_job *job = ctx->job;
	const int kh = job->kh, ow = job->out->w;
	const int direct_only = job->nk == 1 && !kern_combine_pointwise(job->combine);
	const unsigned flags = direct_only && eng_stream(job) ? VEC_STREAM : 0;
	int x0, y, b, t, k, m, n, r, nr;
	long v, next;

	for (x0 = xa; x0 < xb; x0 += n) {
		n = strip_width(ctx, x0, xb);
		bd->x0 = x0;
		next = (long)y0 - job->ay;     /* first source row not yet in the rings */
		for (y = y0; y < y1; y += nr) {
			float *out[SEP_ROWS], *d[SEP_ROWS];
			long top = (long)y - job->ay;

			nr = y1 - y < SEP_ROWS ? y1 - y : SEP_ROWS;
			for (r = 0; r < nr; r++)
				out[r] = plane_row(job->out, y + r) + x0;
			if (next < top)
				next = top;
			for (v = next; v < top + kh + nr - 1; v++)
				if (own_row(ctx, bd, v))
					hpass(ctx, bd, v, x0, n);
			next = top + kh + nr - 1;
			if (ctx->lm > 0 && x0 + n < ow)
				for (r = 0; r < nr; r++)
					keep_margin(ctx, bd, y + r, n);

			for (b = 0; b < job->nk; b++) {
				for (r = 0; r < nr; r++)
					d[r] = direct_only ? out[r] : bd->acc[r];
				t = ctx->first[b];
				if (ctx->first[b + 1] - t == 1) {
					/* One term: the rows in one vertical pass sharing its loads. */
					for (k = 0; k < kh + nr - 1; k++)
						bd->src[k] = term_row(ctx, bd, t, top + k);
					vec_cols(d, nr, bd->src, ctx->terms[t].vw, kh, n, flags);
				} else {
					for (r = 0; r < nr; r++) {
						for (t = ctx->first[b], m = 0; t < ctx->first[b + 1]; t++)
							for (k = 0; k < kh; k++, m++) {
								bd->src[m] = term_row(ctx, bd, t, top + r + k);
								bd->w[m] = ctx->terms[t].vw[k];
							}
						vec_taps(d[r], bd->src, bd->w, m, n, flags);
					}
				}
				if (!direct_only)
					for (r = 0; r < nr; r++)
						eng_combine(job->combine, b, out[r], d[r], n);
			}
			if (!direct_only)
				for (r = 0; r < nr; r++)
					eng_combine_finish(job->combine, out[r], n);
		}
	}
}

static int sep_band_run(void *arg, int y0, int y1, int band)
{
	struct sep_ctx *ctx = arg;

	sep_rect(ctx, &ctx->bands[band], y0, y1, 0, ctx->job->out->w);
	return 0;
}

/*
 * sep_cols_run is band `band`'s columns [x0, x1) of every output row:
 * threads split the columns when not working in place, so that no two
 * threads compute the horizontal passes of the same source rows (split
 * by rows, each band repeats kh - 1 of them, which for a strip of 64
 * output rows and a 63-tap kernel is as many again as its own).
 */
static int sep_cols_run(void *arg, int x0, int x1, int band)
{
	struct sep_ctx *ctx = arg;

	sep_rect(ctx, &ctx->bands[band], 0, ctx->job->out->h, x0, x1);
	return 0;
}

static int sep_supports(const struct conv_job *job)
{
	int b;

	for (b = 0; b < job->nk; b++)
		if (sep_factor(job->wt + (size_t)b * job->kw * job->kh, job->kw, job->kh,
			       NULL, NULL) < 0)
			return 0;
	return 1;
}

/* sep_strip is the strip width: whole rows when the rings fit the budget. */
static int sep_strip(const struct conv_job *job, int nterms)
{
	long ow = job->out->w;
	long fit = cpu_ring_bytes() / (long)sizeof(float) /
		   (((long)job->kh + SEP_ROWS - 1) * (nterms > 0 ? nterms : 1));

	if (fit >= ow)
		return (int)ow;
	/* Whole blocks of the vector loop (128 samples), and at least one. */
	fit = fit / 128 * 128;
	return (int)(fit < 128 ? 128 : fit);
}

/* sep_nterms is the number of terms of job's kernels, or -1 when one is refused. */
static int sep_nterms(const struct conv_job *job)
{
	int b, rank, n = 0;

	for (b = 0; b < job->nk; b++) {
		rank = sep_factor(job->wt + (size_t)b * job->kw * job->kh, job->kw, job->kh,
				  NULL, NULL);
		if (rank < 0)
			return -1;
		n += rank;
	}
	return n;
}

/*
 * strips_inplace says whether strips of width sw can work in place (see
 * the top of the file): the margin is the kernel's left reach, and no
 * strip is narrower than the kernel.
 */
static int strips_inplace(const struct conv_job *job, int sw)
{
	return job->border.mode != BORDER_WRAP && job->ax >= 0 && job->ax < job->kw &&
	       sw >= 2 * job->kw;
}

static int sep_inplace(const struct conv_job *job)
{
	int n = sep_nterms(job), sw;

	if (n < 0 || job->out->w != job->in->w || job->out->h != job->in->h)
		return 0;
	sw = sep_strip(job, n);
	return sw == job->out->w || strips_inplace(job, sw);
}

static double sep_cost(const struct conv_job *job)
{
	double px = (double)job->out->w * job->out->h, taps = 0;
	float *row;
	int b, t, i, rank;

	row = malloc((size_t)SEP_MAX_RANK * ((size_t)job->kw + job->kh) * sizeof *row);
	if (row == NULL)
		return HUGE_VAL;
	for (b = 0; b < job->nk; b++) {
		float *cl = row + (size_t)SEP_MAX_RANK * job->kw;

		rank = sep_factor(job->wt + (size_t)b * job->kw * job->kh, job->kw, job->kh, cl, row);
		for (t = 0; t < rank; t++) {
			for (i = 0; i < job->kw; i++)
				taps += row[(size_t)t * job->kw + i] != 0.0f;
			taps += job->kh;
		}
	}
	free(row);
	return eng_time(job, px * (taps * eng_costs.separable.tap + eng_costs.separable.px +
				   (job->nk > 1 ? job->nk * eng_costs.separable.combine : 0)));
}

static void sep_free(struct sep_ctx *ctx, int nb)
{
	int b, t, i;

	for (b = 0; ctx->bands != NULL && b < nb; b++) {
		eng_scratch_free(ctx->bands[b].pad);
		eng_scratch_free(ctx->bands[b].ring);
		eng_scratch_free(ctx->bands[b].saved);
		eng_scratch_free(ctx->bands[b].margin);
		for (i = 0; i < SEP_ROWS; i++)
			eng_scratch_free(ctx->bands[b].acc[i]);
		free(ctx->bands[b].src);
		free(ctx->bands[b].w);
	}
	for (t = 0; ctx->terms != NULL && t < ctx->nterms; t++) {
		free(ctx->terms[t].hj);
		free(ctx->terms[t].hw);
		free(ctx->terms[t].vw);
	}
	free(ctx->bands);
	free(ctx->terms);
	free(ctx->first);
}

/*
 * save_rows prepares band b of nb for working in place: its rows, and the
 * horizontal passes of its halo (engine.h), taken before any band writes.
 */
static int save_rows(struct sep_ctx *ctx, struct sep_band *bd, int nb, int b)
{
	const struct conv_job *job = ctx->job;
	int s;

	size_t n;

	eng_band(nb, job->out->h, b, &bd->y0, &bd->y1);
	if (size_mul3(&n, (size_t)(ctx->nterms > 0 ? ctx->nterms : 1), (size_t)job->kh, ctx->ss))
		return -1;
	bd->saved = eng_scratch_alloc(n);
	if (bd->saved == NULL)
		return -1;
	if (ctx->lm > 0) {
		if (size_mul(&n, (size_t)(bd->y1 - bd->y0), (size_t)ctx->lm))
			return -1;
		bd->margin = eng_scratch_alloc(n);
		if (bd->margin == NULL)
			return -1;
	}
	bd->x0 = 0;
	for (s = 0; s < job->kh - 1; s++)
		hpass(ctx, bd, eng_halo_row(job, bd->y0, bd->y1, s), 0, job->out->w);
	return 0;
}

static int sep_run(struct conv_job *job, struct err *err)
{
	struct sep_ctx ctx;
	const int kw = job->kw, kh = job->kh;
	float *col = NULL, *row = NULL;
	size_t ring_n, npad;
	int nb, b, t, i, rank, maxtaps = kw, status = -1;

	memset(&ctx, 0, sizeof ctx);
	ctx.job = job;
	ctx.inplace = job->out == job->in;
	if (ctx.inplace && !sep_inplace(job))
		return err_set(err, ERR_SOFTWARE, "separable engine: this job cannot run in place");
	nb = job->threads < job->out->h ? job->threads : job->out->h;
	/* Columns for threads when each gets two blocks of the vector loop. */
	ctx.cols = !ctx.inplace && job->threads > 1 && job->out->w >= 256 * job->threads;
	if (ctx.cols)
		nb = job->threads;
	if (nb < 1)
		nb = 1;
	ctx.first = calloc((size_t)job->nk + 1, sizeof *ctx.first);
	ctx.terms = calloc((size_t)job->nk * SEP_MAX_RANK, sizeof *ctx.terms);
	col = malloc((size_t)SEP_MAX_RANK * kh * sizeof *col);
	row = malloc((size_t)SEP_MAX_RANK * kw * sizeof *row);
	if (ctx.first == NULL || ctx.terms == NULL || col == NULL || row == NULL)
		goto oom;

	/* Each kernel's terms, zero weights left out of both passes. */
	for (b = 0; b < job->nk; b++) {
		rank = sep_factor(job->wt + (size_t)b * kw * kh, kw, kh, col, row);
		if (rank < 0) {
			err_set(err, ERR_USAGE, "separable engine: kernel %d is not of low rank", b + 1);
			goto fail;
		}
		ctx.first[b] = ctx.nterms;
		for (t = 0; t < rank; t++) {
			struct sep_term *T = &ctx.terms[ctx.nterms++];

			T->hj = malloc((size_t)kw * sizeof *T->hj);
			T->hw = malloc((size_t)kw * sizeof *T->hw);
			T->vw = malloc((size_t)kh * sizeof *T->vw);
			if (T->hj == NULL || T->hw == NULL || T->vw == NULL)
				goto oom;
			for (i = 0; i < kw; i++)
				if (row[(size_t)t * kw + i] != 0.0f) {
					T->hj[T->nh] = i;
					T->hw[T->nh++] = row[(size_t)t * kw + i];
				}
			for (i = 0; i < kh; i++)
				T->vw[i] = col[(size_t)t * kh + i];
		}
		/* The vertical pass's taps, or vec_cols's rows. */
		if (rank * kh > maxtaps)
			maxtaps = rank * kh;
		if (kh + SEP_ROWS - 1 > maxtaps)
			maxtaps = kh + SEP_ROWS - 1;
	}
	ctx.first[job->nk] = ctx.nterms;

	ctx.sw = sep_strip(job, ctx.nterms);
	ctx.rs = ((size_t)ctx.sw + PLANE_ALIGN - 1) / PLANE_ALIGN * PLANE_ALIGN;
	ctx.ss = ctx.rs;
	npad = (size_t)ctx.sw + (size_t)kw - 1;
	if (ctx.inplace) {
		/* The halo's passes are whole rows; strips keep their margins. */
		ctx.ss = ((size_t)job->out->w + PLANE_ALIGN - 1) / PLANE_ALIGN * PLANE_ALIGN;
		npad = (size_t)job->out->w + (size_t)kw - 1;
		if (ctx.sw < job->out->w)
			ctx.lm = job->ax;
	}
	if (size_mul3(&ring_n, ctx.rs, (size_t)kh + SEP_ROWS - 1,
		       (size_t)(ctx.nterms > 0 ? ctx.nterms : 1))) {
		err_set(err, ERR_OS, "separable engine: kernel and image too large");
		goto fail;
	}
	ctx.bands = calloc((size_t)nb, sizeof *ctx.bands);
	if (ctx.bands == NULL)
		goto oom;
	for (b = 0; b < nb; b++) {
		struct sep_band *bd = &ctx.bands[b];

		bd->pad = eng_scratch_alloc(npad);
		bd->ring = eng_scratch_alloc(ring_n);
		bd->src = malloc((size_t)maxtaps * sizeof *bd->src);
		bd->w = malloc((size_t)maxtaps * sizeof *bd->w);
		if (bd->pad == NULL || bd->ring == NULL || bd->src == NULL || bd->w == NULL)
			goto oom;
		for (i = 0; i < SEP_ROWS && (job->nk > 1 || kern_combine_pointwise(job->combine)); i++)
			if ((bd->acc[i] = eng_scratch_alloc((size_t)ctx.sw)) == NULL)
				goto oom;
		if (ctx.inplace && save_rows(&ctx, bd, nb, b))
			goto oom;
	}
	if (ctx.cols)
		status = eng_parallel(nb, job->out->w, sep_cols_run, &ctx);
	else
		status = eng_parallel(nb, job->out->h, sep_band_run, &ctx);
	if (status == 0)
		snprintf(job->note, sizeof job->note,
			 "separable: %d pass pair%s, %d band%s of %s, strips of %d, %s", ctx.nterms,
			 ctx.nterms == 1 ? "" : "s", nb, nb > 1 ? "s" : "", ctx.cols ? "columns" : "rows",
			 ctx.sw,
			 cpu_level_name(cpu_level()));
	goto done;
oom:
	err_oom(err, "separable engine");
fail:
	status = -1;
done:
	sep_free(&ctx, nb);
	free(col);
	free(row);
	return status;
}

const struct engine eng_separable = {
	.name = "separable",
	.summary = "rank-1 (and low-rank) kernels as horizontal and vertical passes",
	.takes = "kernels of rank 4 or less (Gaussians, boxes, Sobel; see --show-kernel)",
	.supports = sep_supports,
	.cost = sep_cost,
	.run = sep_run,
	.inplace = sep_inplace,
};

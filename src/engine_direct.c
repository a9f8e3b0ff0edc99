/* engine_direct.c: the direct engine, a sliding-window sum per output sample. */
#include "engine.h"

#include <stdlib.h>
#include <string.h>

#include "cpu.h"
#include "size.h"
#include "vec.h"

/*
 * Each band of output rows works in vertical strips of at most `sw`
 * output columns, so that its working set stays in the core's L2 cache
 * whatever the image width.  For a strip at x0 it keeps a ring of kh + 1
 * source rows already extended by the border rule: row v of the extended
 * input (v = y + i - ay, any integer) lives in slot v mod (kh + 1),
 * holding the sw + kw - 1 samples from column x0 - ax on.  With the border
 * outside the hot loop, output row y of the strip is
 *
 *   out[x0 + x] = sum_{i,j} wt(i, j) * slot(y + i - ay)[x + j],
 *
 * summed for a block of output vectors held in registers (vec.h), so each
 * output sample is written once and the loop has neither branches nor
 * index arithmetic.  Rows go in pairs (vec_rows2), which share the loads
 * of the kh - 1 source rows both need; the ring's extra slot holds the
 * pair's last row.  A band's odd row is one vec_taps over the same taps,
 * which sums them identically, and so do the strips: every sample is
 * computed the same way for any -j.  Zero weights are kept for that
 * reason (0 * inf is NaN, so leaving a tap out is not the same sum).
 *
 * In place (job->out == job->in, whole rows in one strip), output row y
 * overwrites input row y.  Within a band that is safe: rows enter the
 * ring in increasing order, and row y is in it before output row y (or
 * the pair it starts or ends) is written, since the window of output y
 * reaches at least row y (ay <= kh - 1).  The rows a band reads that are
 * not its own (the rows above y0 and below y1 that neighbouring bands
 * overwrite, and rows beyond the image, whose border rule reads rows
 * anywhere, e.g. wrap) are copied, extended, before any band starts:
 * ay rows above and kh - 1 - ay below, kept per band in `saved`.
 */

/* A strip's ring of source rows is kept under cpu_ring_bytes() (most of L2). */

/* Pairs of rows are used up to this kernel height (the row pointers live on the stack). */
#define PAIR_ROWS_MAX 1024

struct direct_band {
	float *ring;           /* kh + 1 slots of rs samples */
	float *saved;          /* in place: kh slots of rs samples, rows outside [y0, y1) */
	int y0, y1;
	float *acc[2];         /* sw samples each, one kernel's result (banks only) */
	const float **src;     /* kw kh pointers: the taps of one row */
};

struct direct_ctx {
	struct conv_job *job;
	int inplace;           /* job->out == job->in */
	int sw;                /* strip width */
	size_t rs;             /* ring slot stride: sw + kw - 1, rounded up to a cache line */
	struct direct_band *bands;
};

/* ring_row is the ring slot of extended source row v. */
static float *ring_row(const struct direct_ctx *ctx, float *ring, long v)
{
	long slots = (long)ctx->job->kh + 1;

	return ring + (size_t)(((v % slots) + slots) % slots) * ctx->rs;
}

/*
 * src_row is extended source row v of band bd: its saved copy when the
 * band works in place and v is not one of its own rows, else its ring slot.
 */
static float *src_row(const struct direct_ctx *ctx, const struct direct_band *bd, long v)
{
	long s = ctx->inplace ? eng_halo_slot(ctx->job, bd->y0, bd->y1, v) : -1;

	return s >= 0 ? bd->saved + (size_t)s * ctx->rs : ring_row(ctx, bd->ring, v);
}

static int direct_band_run(void *arg, int y0, int y1, int band)
{
	struct direct_ctx *ctx = arg;
	struct conv_job *job = ctx->job;
	struct direct_band *bd = &ctx->bands[band];
	const int kh = job->kh, kw = job->kw, ow = job->out->w, nk = job->nk;
	const size_t kn = (size_t)kw * kh;
	/* One kernel's sums go straight to the output, unless combine changes them (|r|). */
	const int direct_only = nk == 1 && !kern_combine_pointwise(job->combine);
	const unsigned flags = direct_only && eng_stream(job) ? VEC_STREAM : 0;
	const float *rows[PAIR_ROWS_MAX];
	int x0, y, b, i, j, n, pair;
	long v, next;

	for (x0 = 0; x0 < ow; x0 += ctx->sw) {
		n = ow - x0 < ctx->sw ? ow - x0 : ctx->sw;
		next = (long)y0 - job->ay;     /* first source row not yet in the ring */
		for (y = y0; y < y1; y += pair ? 2 : 1) {
			float *out[2];
			long top = (long)y - job->ay;

			pair = y + 1 < y1 && kh < PAIR_ROWS_MAX;
			out[0] = plane_row(job->out, y) + x0;
			out[1] = pair ? plane_row(job->out, y + 1) + x0 : NULL;
			if (next < top)
				next = top;
			for (v = next; v < top + kh + pair; v++)
				if (!ctx->inplace || eng_halo_slot(job, bd->y0, bd->y1, v) < 0)
					eng_pad_row(job, v, (long)x0 - job->ax, (long)n + kw - 1,
						    ring_row(ctx, bd->ring, v));
			next = top + kh + pair;

			for (b = 0; b < nk; b++) {
				const float *w = job->wt + (size_t)b * kn;
				float *d0 = direct_only ? out[0] : bd->acc[0];
				float *d1 = direct_only ? out[1] : bd->acc[1];

				if (pair) {
					for (i = 0; i <= kh; i++)
						rows[i] = src_row(ctx, bd, top + i);
					vec_rows2(d0, d1, rows, w, kw, kh, n, flags, bd->src);
				} else {
					for (i = 0; i < kh; i++)
						for (j = 0; j < kw; j++)
							bd->src[(size_t)i * kw + j] =
								src_row(ctx, bd, top + i) + j;
					vec_taps(d0, bd->src, w, (int)kn, n, flags);
				}
				if (!direct_only) {
					eng_combine(job->combine, b, out[0], d0, n);
					if (pair)
						eng_combine(job->combine, b, out[1], d1, n);
				}
			}
			if (!direct_only) {
				eng_combine_finish(job->combine, out[0], n);
				if (pair)
					eng_combine_finish(job->combine, out[1], n);
			}
		}
	}
	return 0;
}

static int direct_supports(const struct conv_job *job)
{
	(void)job;
	return 1;
}

/* direct_strip is the strip width for job: whole rows when the ring fits the budget. */
static int direct_strip(const struct conv_job *job);

/* In place needs the whole rows in one strip: strips would overwrite each other's margins. */
static int direct_inplace(const struct conv_job *job)
{
	return job->out->w == job->in->w && job->out->h == job->in->h &&
	       direct_strip(job) == job->out->w;
}

static int direct_strip(const struct conv_job *job)
{
	long ow = job->out->w, kw = job->kw, kh = job->kh;
	long fit = cpu_ring_bytes() / (long)sizeof(float) / (kh + 1) - (kw - 1);

	if (fit >= ow)
		return (int)ow;
	/* Whole blocks of the vector loop (128 samples), and at least one. */
	fit = fit / 128 * 128;
	return (int)(fit < 128 ? 128 : fit);
}

static double direct_cost(const struct conv_job *job)
{
	double px = (double)job->out->w * job->out->h;
	double taps = (double)job->kw * job->kh * job->nk;

	return eng_time(job, px * (taps * eng_costs.direct.tap + eng_costs.direct.px +
				   (job->nk > 1 ? job->nk * eng_costs.direct.combine : 0)));
}

/*
 * save_rows prepares band b of nb for working in place: its rows, and
 * copies of its halo (engine.h), taken before any band writes.  rs is the
 * slot stride.
 */
static int save_rows(struct direct_ctx *ctx, struct direct_band *bd, int nb, int b, size_t rs)
{
	const struct conv_job *job = ctx->job;
	int s;

	eng_band(nb, job->out->h, b, &bd->y0, &bd->y1);
	bd->saved = eng_scratch_alloc((size_t)job->kh * rs);
	if (bd->saved == NULL)
		return -1;
	for (s = 0; s < job->kh - 1; s++)
		eng_pad_row(job, eng_halo_row(job, bd->y0, bd->y1, s), -(long)job->ax,
			    (long)job->out->w + job->kw - 1, bd->saved + (size_t)s * rs);
	return 0;
}

static int direct_run(struct conv_job *job, struct err *err)
{
	struct direct_ctx ctx;
	size_t ring_n, kn = (size_t)job->kw * job->kh;
	int nb, b, status = -1;

	memset(&ctx, 0, sizeof ctx);
	ctx.job = job;
	ctx.sw = direct_strip(job);
	ctx.inplace = job->out == job->in;
	if (ctx.inplace && !direct_inplace(job))
		return err_set(err, ERR_SOFTWARE, "direct engine: this job cannot run in place");
	ctx.rs = ((size_t)ctx.sw + (size_t)job->kw - 1 + PLANE_ALIGN - 1) / PLANE_ALIGN * PLANE_ALIGN;
	nb = job->threads < job->out->h ? job->threads : job->out->h;
	if (nb < 1)
		nb = 1;
	ctx.bands = calloc((size_t)nb, sizeof *ctx.bands);
	if (ctx.bands == NULL)
		return err_oom(err, "direct engine");
	if (size_mul(&ring_n, ctx.rs, (size_t)job->kh + 1)) {
		err_set(err, ERR_OS, "direct engine: kernel and image too large");
		goto done;
	}
	for (b = 0; b < nb; b++) {
		struct direct_band *bd = &ctx.bands[b];

		bd->ring = eng_scratch_alloc(ring_n);
		bd->acc[0] = eng_scratch_alloc((size_t)ctx.sw);
		bd->acc[1] = eng_scratch_alloc((size_t)ctx.sw);
		bd->src = malloc(kn * sizeof *bd->src);
		if (bd->ring == NULL || bd->acc[0] == NULL || bd->acc[1] == NULL || bd->src == NULL) {
			err_oom(err, "direct engine");
			goto done;
		}
		if (ctx.inplace && save_rows(&ctx, bd, nb, b, ctx.rs)) {
			err_oom(err, "direct engine");
			goto done;
		}
	}
	status = eng_parallel(nb, job->out->h, direct_band_run, &ctx);
	if (status == 0)
		snprintf(job->note, sizeof job->note, "direct: %d band%s, strips of %d, %s", nb,
			 nb > 1 ? "s" : "", ctx.sw, cpu_level_name(cpu_level()));
done:
	for (b = 0; b < nb; b++) {
		eng_scratch_free(ctx.bands[b].ring);
		eng_scratch_free(ctx.bands[b].saved);
		eng_scratch_free(ctx.bands[b].acc[0]);
		eng_scratch_free(ctx.bands[b].acc[1]);
		free(ctx.bands[b].src);
	}
	free(ctx.bands);
	return status;
}

const struct engine eng_direct = {
	.name = "direct",
	.summary = "sliding-window sums in vector registers, border rows padded once",
	.supports = direct_supports,
	.cost = direct_cost,
	.run = direct_run,
	.inplace = direct_inplace,
};

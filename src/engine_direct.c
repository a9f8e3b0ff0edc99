/* engine_direct.c: the direct engine, a sliding-window sum per output sample. */
#include "engine.h"

#include <stdlib.h>
#include <string.h>

#include "size.h"

/*
 * Each band of output rows keeps a ring of kh padded source rows: row v of
 * the extended input (v = y + i - ay, any integer) lives in slot v mod kh,
 * extended left and right by the border rule: pw = out_w + kw - 1 samples
 * starting at column -ax.  With the border outside the hot loop, output
 * row y is a sum of kh * kw scaled copies of those rows,
 *
 *   acc[x] += wt(i, j) * ring[(y + i - ay) mod kh][x + j],
 *
 * which the compiler vectorises over x (axpy below, cloned per CPU).
 * Moving down one output row pads one new source row.
 */

/* Seconds per multiply-add and per output sample (eng_costs, engine.c). */
#define DIRECT_SEC_PER_TAP (eng_costs.direct.tap)
#define DIRECT_SEC_PER_PX (eng_costs.direct.px)

#if defined(__GNUC__) && defined(__x86_64__) && !defined(__clang__) && \
	!defined(IMF_NO_CLONES)
#define CPU_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define CPU_CLONES
#endif

CPU_CLONES
static void axpy(float *restrict acc, const float *restrict src, float w, int n)
{
	int x;

	for (x = 0; x < n; x++)
		acc[x] += w * src[x];
}

struct direct_band {
	float *ring;     /* kh rows of pw samples */
	float *acc;      /* out_w samples, one kernel's result (banks only) */
};

struct direct_ctx {
	struct conv_job *job;
	size_t pw;
	struct direct_band *bands;
};

/* pad_source fills dst with extended source row v, columns -ax .. -ax+pw-1. */
static void pad_source(const struct conv_job *job, long v, float *dst, size_t pw)
{
	const struct plane *in = job->in;
	long sy = border_index(job->border.mode, v, in->h);
	size_t x;

	if (sy < 0) {
		for (x = 0; x < pw; x++)
			dst[x] = job->border.value;
		return;
	}
	border_span(&job->border, plane_row(in, (int)sy), in->w, -(long)job->ax,
		    (long)pw, dst);
}

static int direct_band_run(void *arg, int y0, int y1, int band)
{
	struct direct_ctx *ctx = arg;
	struct conv_job *job = ctx->job;
	struct direct_band *bd = &ctx->bands[band];
	const int kw = job->kw, kh = job->kh, ow = job->out->w;
	const size_t pw = ctx->pw;
	long v, next = (long)y0 - job->ay;    /* first source row not yet padded */
	int y, i, j, b;
	/* One kernel's sums go straight to the output, unless combine changes them (|r|). */
	const int direct_only = job->nk == 1 && job->combine != KERN_MAGNITUDE;

	for (y = y0; y < y1; y++) {
		float *out = plane_row(job->out, y);
		long top = (long)y - job->ay;

		/* Pad the rows this output row needs that the ring lacks. */
		if (next < top)
			next = top;
		for (v = next; v < top + kh; v++)
			pad_source(job, v, bd->ring + (size_t)(((v % kh) + kh) % kh) * pw, pw);
		next = top + kh;

		for (b = 0; b < job->nk; b++) {
			float *acc = direct_only ? out : bd->acc;
			const float *w = job->wt + (size_t)b * kh * kw;

			memset(acc, 0, (size_t)ow * sizeof *acc);
			for (i = 0; i < kh; i++) {
				v = top + i;
				const float *row = bd->ring + (size_t)(((v % kh) + kh) % kh) * pw;
				for (j = 0; j < kw; j++)
					if (w[i * kw + j] != 0.0f)
						axpy(acc, row + j, w[i * kw + j], ow);
			}
			if (!direct_only)
				eng_combine(job->combine, b, out, acc, ow);
		}
		if (!direct_only)
			eng_combine_finish(job->combine, out, ow);
	}
	return 0;
}

static int direct_supports(const struct conv_job *job)
{
	(void)job;
	return 1;
}

static double direct_cost(const struct conv_job *job)
{
	double px = (double)job->out->w * job->out->h;
	double taps = (double)job->kw * job->kh * job->nk;

	return px * (taps * DIRECT_SEC_PER_TAP + DIRECT_SEC_PER_PX) / job->threads;
}

static int direct_run(struct conv_job *job, struct err *err)
{
	struct direct_ctx ctx;
	size_t ring_n;
	int nb, b, status = -1;

	ctx.job = job;
	ctx.pw = (size_t)job->out->w + (size_t)job->kw - 1;
	nb = job->threads < job->out->h ? job->threads : job->out->h;
	if (nb < 1)
		nb = 1;
	ctx.bands = calloc((size_t)nb, sizeof *ctx.bands);
	if (ctx.bands == NULL)
		return err_oom(err, "direct engine");
	if (size_mul(&ring_n, ctx.pw, (size_t)job->kh)) {
		err_set(err, ERR_OS, "direct engine: kernel and image too large");
		goto done;
	}
	for (b = 0; b < nb; b++) {
		ctx.bands[b].ring = plane_aligned_alloc(ring_n);
		ctx.bands[b].acc = plane_aligned_alloc((size_t)job->out->w);
		if (ctx.bands[b].ring == NULL || ctx.bands[b].acc == NULL) {
			err_oom(err, "direct engine");
			goto done;
		}
	}
	status = eng_parallel(nb, job->out->h, direct_band_run, &ctx);
	if (status == 0 && nb > 1)
		snprintf(job->note, sizeof job->note, "direct: %d bands", nb);
done:
	for (b = 0; b < nb; b++) {
		plane_aligned_free(ctx.bands[b].ring);
		plane_aligned_free(ctx.bands[b].acc);
	}
	free(ctx.bands);
	return status;
}

const struct engine eng_direct = {
	.name = "direct",
	.summary = "sliding-window sums, border rows padded once",
	.supports = direct_supports,
	.cost = direct_cost,
	.run = direct_run,
};

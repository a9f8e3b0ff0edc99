/* engine_toeplitz.c: convolution as one matrix product per tile (OpenBLAS). */
#include "engine.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "blas.h"
#include "size.h"

/*
 * The lowering.  Output columns are cut into blocks of B samples.  Block
 * x0 .. x0 + B - 1 of output row y needs, from each of the kh source rows
 * y + i - ay, the B + kw - 1 samples from column x0 - ax; each piece is
 * taken bp wide, bp being B + kw - 1 rounded up to a multiple of TZ_VEC.
 * The kh pieces side by side are one row of the patch matrix A (kd = kh *
 * bp columns), and for kernel b
 *
 *   r_b(y, x0 + c) = sum_q A[q] * T[q][b * B + c],   q < kd,
 *   T[i * bp + c + j][b * B + c] = wt_b(i, j)        (i < kh, j < kw, c < B),
 *
 * T being zero elsewhere.  So T (kd x n, n = nk * B) stacks, for each
 * kernel row i, a bp x B banded Toeplitz block with that row of every
 * kernel on its diagonals.  A tile stacks tr output rows times tb blocks
 * into A, row m = r * tb + t, and one sgemm C = A * T (M = tr * tb rows)
 * computes every kernel of the bank for the tile's tr x (tb * B) samples.
 *
 * B = 1 is the textbook im2col (T is the kernels as columns, A copies kh *
 * kw samples per output sample).  A wide block copies only kd / B samples
 * per output sample, but multiplies by the zeros of the band: kh * bp
 * multiply-adds per sample and kernel instead of kh * kw.  sgemm runs
 * so much faster than a copy that B = 8 .. 32 wins by far: im2col (B = 1)
 * took 5 times as long as the best B for k = 3, 9 and 31.
 *
 * Memory.  The output is walked in vertical panels of tb blocks, and each
 * band of rows keeps a ring of kh + tr - 1 source rows of the panel's
 * width (pw = (tb - 1) * B + bp, padded by border_span, which applies the
 * border rule and the anchor), so the workspace depends on the kernel and
 * the thread count, never on the image: per band the ring, A and C, plus
 * T, shared.  It is at most TZ_MAX_WORKSPACE (64 MB): a job that would
 * need more runs on fewer threads, and a kernel too large even for one
 * (past about 300x300) is left to the other engines.  Measured on one
 * thread: 0.1 MB for 3x3, 0.3 MB for 9x9, 1.1 MB for 31x31, 10.6 MB for
 * 127x127, 38 MB for 255x255; a bank of eight 31x31 kernels on two
 * threads, 2.6 MB.
 *
 * Threads.  Bands of tile rows run on our threads (eng_parallel), each
 * calling sgemm with OpenBLAS set to one thread.  The tiles are small
 * (a few hundred rows of A), and OpenBLAS's threads do not pay on them:
 * on a 24 MP plane with 2 cores, 3x3 took 0.034 s with our two bands,
 * 0.068 s with two OpenBLAS threads and 0.072 s with one thread, and 31x31
 * took 1.7 times as long with two OpenBLAS threads as with one; our bands
 * also share out the padding, gathering and combining.  The OpenBLAS
 * thread count is a process-wide setting, restored after the run.
 */

/*
 * Cost model: per output sample and kernel, kh * bp multiply-adds in
 * sgemm; per output sample, kh * bp / B samples copied into A and a fixed
 * part (padding, storing); for a bank, per sample and kernel, gathering
 * and combining the results (scalar loops, hence its weight; measured
 * with banks of 2 and 8 3x3 kernels).  The multiply-add rate depends on the kernel
 * OpenBLAS chose for the CPU when it loaded (OPENBLAS_CORETYPE or its own
 * detection, which calls a CPU it does not know "Prescott" and uses SSE).
 * The constants are in eng_costs (engine.c), with how they were measured.
 */
#define TZ_SEC_PER_MAC_AVX512 (eng_costs.toeplitz.mac_avx512)
#define TZ_SEC_PER_MAC_AVX2 (eng_costs.toeplitz.mac_avx2)
#define TZ_SEC_PER_MAC_SSE (eng_costs.toeplitz.mac_sse)
#define TZ_SEC_PER_COPY (eng_costs.toeplitz.copy)
#define TZ_SEC_PER_PX (eng_costs.toeplitz.px)
#define TZ_SEC_PER_COMBINE (eng_costs.toeplitz.combine)

/*
 * Tile sizes.  M = tr * tb near TZ_TILE_M rows and panels of about
 * TZ_PANEL_COLS columns measured best (M = 64 .. 512 within 10%); A is
 * kept within TZ_A_FLOATS so that A, T and C stay in L2, except that M
 * never drops below TZ_MIN_M (for kernels past about 60 a side), where
 * sgemm loses half its speed (M = 10: 32 GFLOP/s, 64: 86, 128: 93, for
 * a 127x127 kernel's A).  Pieces are padded to TZ_VEC samples so they
 * move as whole vectors; C gets at least TZ_MIN_N columns, below which
 * sgemm's vector lanes run half empty.
 */
#define TZ_TILE_M 256
#define TZ_MIN_M 64
#define TZ_PANEL_COLS 512
#define TZ_A_FLOATS (256 * 1024)
#define TZ_VEC 8
#define TZ_MIN_N 8
#define TZ_MAX_B 64
#define TZ_MAX_WORKSPACE ((size_t)64 << 20)

struct tz_geom {
	int B;          /* output columns per block */
	int bp;         /* source columns per block: B + kw - 1, rounded up */
	int kd;         /* columns of A, rows of T: kh * bp */
	int n;          /* columns of T and C: nk * B */
	int tb;         /* blocks per tile and per panel */
	int tr;         /* output rows per tile */
	int pw;         /* padded panel width: (tb - 1) * B + bp */
	int ring;       /* source rows kept: kh + tr - 1 */
	int npanel;     /* panels across the output */
	int ngroup;     /* tile rows down the output */
	int nb;         /* bands (threads) */
	size_t ring_n, a_n, c_n, row_n, t_n;   /* floats in each buffer */
	size_t bytes;   /* the whole workspace */
};

/* tz_sec_per_mac is the multiply-add time of the sgemm OpenBLAS runs here. */
static double tz_sec_per_mac(void)
{
	static const char *const avx512[] = { "SkylakeX", "Cooperlake", "SapphireRapids" };
	static const char *const avx2[] = { "Haswell", "Zen" };
	const struct blas *blas = blas_get(NULL);
	const char *core = blas != NULL ? blas->get_corename() : "";
	size_t i;

	for (i = 0; i < sizeof avx512 / sizeof avx512[0]; i++)
		if (strstr(core, avx512[i]) != NULL)
			return TZ_SEC_PER_MAC_AVX512;
	for (i = 0; i < sizeof avx2 / sizeof avx2[0]; i++)
		if (strstr(core, avx2[i]) != NULL)
			return TZ_SEC_PER_MAC_AVX2;
	return TZ_SEC_PER_MAC_SSE;
}

/* tz_piece is bp, the width of a source piece for blocks of B columns. */
static long tz_piece(const struct conv_job *job, int B)
{
	return ((long)B + job->kw - 1 + TZ_VEC - 1) / TZ_VEC * TZ_VEC;
}

/* tz_sec_per_px is the model's time per output sample for blocks of B. */
static double tz_sec_per_px(const struct conv_job *job, int B, double mac)
{
	return (double)job->kh * eng_nin(job) * tz_piece(job, B) *
		       (job->nk * mac + TZ_SEC_PER_COPY / B) +
	       TZ_SEC_PER_PX + (job->nk > 1 ? job->nk * TZ_SEC_PER_COMBINE : 0);
}

/*
 * tz_block_width picks B by the cost model: a wider block copies less
 * into A per output sample but multiplies by more zeros.  Only widths
 * that fill their piece (B + kw - 1 a multiple of TZ_VEC) are tried.
 * Measured best (AVX-512; AVX2 agrees), which the model reproduces: one
 * 3x3 kernel B = 14 (bp 16); 9x9: 8 or 16 (bp 16, 24); 31x31: 24 to 32
 * (bp 56, 64); banks of 2 and of 8 3x3 kernels: B = 6 (bp 8).
 */
static int tz_block_width(const struct conv_job *job, double mac)
{
	int B, best = TZ_MAX_B;
	long bp;
	double t, best_t = HUGE_VAL;

	for (bp = tz_piece(job, 1); bp - job->kw + 1 <= TZ_MAX_B; bp += TZ_VEC) {
		B = (int)(bp - job->kw + 1);
		if ((long)B * job->nk < TZ_MIN_N)
			continue;
		t = tz_sec_per_px(job, B, mac);
		if (t < best_t) {
			best_t = t;
			best = B;
		}
	}
	return best;
}

/* tz_geometry fills g for job; -1 when a size overflows. */
static int tz_geometry(const struct conv_job *job, struct tz_geom *g)
{
	size_t band, all, lim;
	int nbx;

	memset(g, 0, sizeof *g);
	if (job->kw < 1 || job->kh < 1 || job->nk < 1 ||
	    job->kw > PLANE_MAX_SIDE || job->kh > PLANE_MAX_SIDE || job->nk > PLANE_MAX_SIDE)
		return -1;
	g->B = job->tile[1] > 0 ? job->tile[1] : tz_block_width(job, tz_sec_per_mac());
	if ((long long)job->kh * eng_nin(job) * tz_piece(job, g->B) > (1 << 30))
		return -1;
	g->bp = (int)tz_piece(job, g->B);
	g->kd = job->kh * eng_nin(job) * g->bp;
	g->n = job->nk * g->B;
	nbx = (job->out->w + g->B - 1) / g->B;
	g->tb = TZ_PANEL_COLS / g->B;
	if (g->tb < 1)
		g->tb = 1;
	if (g->tb > nbx)
		g->tb = nbx;
	g->tr = TZ_TILE_M / g->tb;
	if ((size_t)g->tr * g->tb * g->kd > TZ_A_FLOATS)
		g->tr = (int)(TZ_A_FLOATS / ((size_t)g->kd * g->tb));
	if (g->tr * g->tb < TZ_MIN_M)
		g->tr = (TZ_MIN_M + g->tb - 1) / g->tb;
	if (job->tile[0] > 0)
		g->tr = job->tile[0];
	if (g->tr > job->out->h)
		g->tr = job->out->h;
	if (g->tr < 1)
		g->tr = 1;
	g->pw = (g->tb - 1) * g->B + g->bp;
	g->ring = job->kh + g->tr - 1;
	g->npanel = (nbx + g->tb - 1) / g->tb;
	g->ngroup = (job->out->h + g->tr - 1) / g->tr;
	g->nb = job->threads < g->ngroup ? job->threads : g->ngroup;
	if (g->nb < 1)
		g->nb = 1;
	/* C and the bank's row get TZ_VEC samples of slack (see tz_store). */
	if (size_mul3(&g->ring_n, (size_t)g->ring, (size_t)g->pw, (size_t)eng_nin(job)) ||
	    size_mul(&g->a_n, (size_t)g->tr * g->tb, (size_t)g->kd) ||
	    size_mul(&g->c_n, (size_t)g->tr * g->tb, (size_t)g->n) ||
	    size_add(&g->c_n, g->c_n, TZ_VEC) ||
	    size_mul(&g->t_n, (size_t)g->kd, (size_t)g->n))
		return -1;
	g->row_n = job->nk > 1 || job->outs != NULL ? (size_t)g->tb * g->B + TZ_VEC : 0;
	if (size_add(&band, g->ring_n, g->a_n) || size_add(&band, band, g->c_n) ||
	    size_add(&band, band, g->row_n))
		return -1;
	/* Fewer threads rather than more than TZ_MAX_WORKSPACE (huge kernels). */
	lim = TZ_MAX_WORKSPACE / sizeof(float);
	while (g->nb > 1 && (g->t_n > lim || band > (lim - g->t_n) / (size_t)g->nb))
		g->nb--;
	if (size_mul(&all, band, (size_t)g->nb) || size_add(&all, all, g->t_n) ||
	    size_mul(&g->bytes, all, sizeof(float)))
		return -1;
	return 0;
}

/*
 * tz_build_t fills T (kd x n, zeroed by the caller): row i of kernel b's
 * matrix for input ch on the diagonals of the band block at rows (ch * kh
 * + i) * bp, columns b * B.  With several inputs, A's row holds each
 * input's pieces in turn, so one product sums over the inputs: K times P
 * with the channels' patches stacked, as a cross-channel layer computes.
 */
static void tz_build_t(const struct conv_job *job, const struct tz_geom *g, float *t)
{
	int b, ch, i, j, c, nin = eng_nin(job);

	for (b = 0; b < job->nk; b++)
		for (ch = 0; ch < nin; ch++)
			for (i = 0; i < job->kh; i++) {
				const float *w = job->wt +
					(((size_t)b * nin + ch) * job->kh + i) * job->kw;
				size_t r0 = ((size_t)ch * job->kh + i) * g->bp;

				for (c = 0; c < g->B; c++)
					for (j = 0; j < job->kw; j++)
						t[(r0 + c + j) * g->n + (size_t)b * g->B + c] = w[j];
			}
}

struct tz_band {
	float *ring;    /* per input, ring source rows of pw samples */
	float *a, *c;   /* the tile's A and C */
	float *row;     /* one kernel's results for one row of the tile (banks) */
};

struct tz_ctx {
	const struct blas *blas;
	const struct conv_job *job;
	const struct tz_geom *g;
	const float *t;
	struct tz_band *bands;
};

/* tz_pad fills dst with pw samples of input ch's extended row v from column x. */
static void tz_pad(const struct conv_job *job, int ch, long v, long x, float *dst, size_t pw)
{
	const struct plane *in = eng_input(job, ch);
	long sy = border_index(border_ymode(&job->border), v, in->h);
	size_t k;

	if (sy < 0) {
		for (k = 0; k < pw; k++)
			dst[k] = job->border.value;
		return;
	}
	border_span(&job->border, plane_row(in, (int)sy), in->w, x, (long)pw, dst);
}

/* tz_slot is the ring row holding input ch's extended source row v. */
static float *tz_slot(const struct tz_geom *g, float *ring, int ch, long v)
{
	long s = v % g->ring;

	return ring + ((size_t)ch * g->ring + (size_t)(s < 0 ? s + g->ring : s)) * g->pw;
}

/*
 * tz_gather builds the tile's A: row r * blocks + t is, for i < kh, the bp
 * samples of source row top + r + i from panel column t * B.  bp is a
 * multiple of TZ_VEC, so each piece moves as whole vectors (a fixed-size
 * memcpy the compiler inlines); a memcpy call or a scalar loop per piece
 * of a few tens of samples took longer than the sgemm itself.
 */
static void tz_gather(const struct conv_job *job, const struct tz_geom *g,
		      struct tz_band *bd, long top, int rows, int blocks)
{
	int r, t, i, k, ch;

	for (r = 0; r < rows; r++)
		for (ch = 0; ch < eng_nin(job); ch++)
			for (i = 0; i < job->kh; i++) {
				const float *src = tz_slot(g, bd->ring, ch, top + r + i);
				float *dst = bd->a + (size_t)r * blocks * g->kd +
					     ((size_t)ch * job->kh + i) * g->bp;

				for (t = 0; t < blocks; t++) {
					const float *sp = src + (size_t)t * g->B;
					float *d = dst + (size_t)t * g->kd;

					for (k = 0; k < g->bp; k += TZ_VEC)
						memcpy(d + k, sp + k, TZ_VEC * sizeof *d);
				}
			}
}

/*
 * tz_store moves the tile's results from C to the output.  C's rows r *
 * blocks .. r * blocks + blocks - 1 hold output row y0 + r from column x0:
 * for one kernel they are that row's samples in order; for a bank, block
 * t of kernel b is at t * n + b * B, gathered into a row for eng_combine.
 * The gather moves whole vectors of TZ_VEC samples, so it may read up to
 * TZ_VEC - 1 samples past the tile's last row of C and write as far past
 * the row: both buffers have that slack (C zeroed when allocated), and
 * the excess is overwritten or never used.
 */
static void tz_store(const struct conv_job *job, const struct tz_geom *g,
		     struct tz_band *bd, int y0, int rows, int x0, int blocks)
{
	int r, t, b, k, cnt = job->out->w - x0;

	if (cnt > blocks * g->B)
		cnt = blocks * g->B;
	for (r = 0; r < rows; r++) {
		float *out = plane_row(job->out, y0 + r) + x0;
		const float *cr = bd->c + (size_t)r * blocks * g->n;

		if (job->nk == 1 && job->outs == NULL) {
			/* "combine magnitude" or "sumabs" on one kernel still means |r|. */
			if (kern_combine_pointwise(job->combine)) {
				eng_combine(job->combine, 0, out, cr, cnt);
				eng_combine_finish(job->combine, out, cnt);
			} else {
				memcpy(out, cr, (size_t)cnt * sizeof *out);
			}
			continue;
		}
		for (b = 0; b < job->nk; b++) {
			for (t = 0; t < blocks; t++) {
				const float *s = cr + (size_t)t * g->n + (size_t)b * g->B;
				float *d = bd->row + (size_t)t * g->B;

				for (k = 0; k < g->B; k += TZ_VEC)
					memcpy(d + k, s + k, TZ_VEC * sizeof *d);
			}
			if (job->outs != NULL)
				memcpy(plane_row(job->outs[b], y0 + r) + x0, bd->row,
				       (size_t)cnt * sizeof *out);
			else
				eng_combine(job->combine, b, out, bd->row, cnt);
		}
		if (job->outs == NULL)
			eng_combine_finish(job->combine, out, cnt);
	}
}

/*
 * tz_band_run computes the output rows of tile rows [g0, g1) (tr output
 * rows each), panel by panel, tile by tile.  Bands split at tile rows, so
 * every tile, and with it every sum, is the same whatever the number of
 * threads: -j never changes the output.
 */
static int tz_band_run(void *arg, int g0, int g1, int band)
{
	struct tz_ctx *ctx = arg;
	const struct conv_job *job = ctx->job;
	const struct tz_geom *g = ctx->g;
	struct tz_band *bd = &ctx->bands[band];
	int nbx = (job->out->w + g->B - 1) / g->B;
	int y0 = g0 * g->tr, y1 = g1 * g->tr < job->out->h ? g1 * g->tr : job->out->h;
	int p, y, rows, blocks, ch;
	long v, next, top;

	for (p = 0; p < g->npanel; p++) {
		int x0 = p * g->tb * g->B;

		blocks = nbx - p * g->tb < g->tb ? nbx - p * g->tb : g->tb;
		next = (long)y0 - job->ay;      /* first source row not in the ring */
		for (y = y0; y < y1; y += rows) {
			rows = y1 - y < g->tr ? y1 - y : g->tr;
			top = (long)y - job->ay;
			if (next < top)
				next = top;
			for (v = next; v < top + rows + job->kh - 1; v++)
				for (ch = 0; ch < eng_nin(job); ch++)
					tz_pad(job, ch, v, (long)x0 - job->ax,
					       tz_slot(g, bd->ring, ch, v), (size_t)g->pw);
			next = top + rows + job->kh - 1;

			tz_gather(job, g, bd, top, rows, blocks);
			ctx->blas->sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans,
				    rows * blocks, g->n, g->kd, 1.0f, bd->a, g->kd,
				    ctx->t, g->n, 0.0f, bd->c, g->n);
			tz_store(job, g, bd, y, rows, x0, blocks);
		}
	}
	return 0;
}

/*
 * tz_tiles: a tile's sums are sgemm's, whose order of additions may
 * change with its M (OpenBLAS has kernels for small products), so strips
 * cut at whole tile rows, and the block width stays the plane's.
 */
static int tz_tiles(const struct conv_job *job, int tile[2])
{
	struct tz_geom g;

	if (tz_geometry(job, &g))
		return 0;
	tile[0] = g.tr;
	tile[1] = g.B;
	return g.tr;
}

static int tz_supports(const struct conv_job *job)
{
	struct tz_geom g;

	return tz_geometry(job, &g) == 0 && g.bytes <= TZ_MAX_WORKSPACE && blas_get(NULL) != NULL;
}

static double tz_cost(const struct conv_job *job)
{
	struct tz_geom g;
	double px = (double)job->out->w * job->out->h;

	if (tz_geometry(job, &g))
		return HUGE_VAL;
	/* sgemm also packs T once per tile: a copy of t_n samples per M * B outputs. */
	return px * (tz_sec_per_px(job, g.B, tz_sec_per_mac()) +
		     TZ_SEC_PER_COPY * g.t_n / ((double)g.tr * g.tb * g.B)) / g.nb;
}

static int tz_run(struct conv_job *job, struct err *err)
{
	struct tz_geom g;
	struct tz_ctx ctx;
	float *t = NULL;
	char inputs[32] = "";
	int b, status = -1, blas_threads;

	if (tz_geometry(job, &g) || g.bytes > TZ_MAX_WORKSPACE)
		return err_set(err, ERR_USAGE,
			       "toeplitz engine: a %dx%d kernel needs more than %zu MB of workspace",
			       job->kw, job->kh, TZ_MAX_WORKSPACE >> 20);
	if ((ctx.blas = blas_get(err)) == NULL)
		return -1;
	ctx.job = job;
	ctx.g = &g;
	ctx.bands = calloc((size_t)g.nb, sizeof *ctx.bands);
	t = plane_aligned_alloc(g.t_n);
	if (ctx.bands == NULL || t == NULL) {
		err_oom(err, "toeplitz engine");
		goto done;
	}
	memset(t, 0, g.t_n * sizeof *t);
	tz_build_t(job, &g, t);
	ctx.t = t;
	for (b = 0; b < g.nb; b++) {
		struct tz_band *bd = &ctx.bands[b];

		bd->ring = plane_aligned_alloc(g.ring_n);
		bd->a = plane_aligned_alloc(g.a_n);
		bd->c = plane_aligned_alloc(g.c_n);
		bd->row = g.row_n ? plane_aligned_alloc(g.row_n) : NULL;
		if (bd->ring == NULL || bd->a == NULL || bd->c == NULL ||
		    (g.row_n && bd->row == NULL)) {
			err_oom(err, "toeplitz engine");
			goto done;
		}
		memset(bd->c, 0, g.c_n * sizeof *bd->c);      /* so tz_store reads no garbage */
	}
	blas_threads = ctx.blas->get_num_threads();
	ctx.blas->set_num_threads(1);
	status = eng_parallel(g.nb, g.ngroup, tz_band_run, &ctx);
	ctx.blas->set_num_threads(blas_threads);
	if (eng_nin(job) > 1)
		snprintf(inputs, sizeof inputs, " x %d inputs", eng_nin(job));
	if (status == 0)
		snprintf(job->note, sizeof job->note,
			 "toeplitz: %d kernel%s%s in one sgemm per tile, %d tiles of %dx%d "
			 "(blocks of %d), %d thread%s, %.1f MB workspace",
			 job->nk, job->nk > 1 ? "s" : "", inputs, g.npanel * g.ngroup,
			 g.tb * g.B, g.tr, g.B, g.nb, g.nb > 1 ? "s" : "",
			 (double)g.bytes / (1 << 20));
done:
	if (ctx.bands != NULL)
		for (b = 0; b < g.nb; b++) {
			plane_aligned_free(ctx.bands[b].ring);
			plane_aligned_free(ctx.bands[b].a);
			plane_aligned_free(ctx.bands[b].c);
			plane_aligned_free(ctx.bands[b].row);
		}
	free(ctx.bands);
	plane_aligned_free(t);
	return status;
}

const struct engine eng_toeplitz = {
	.name = "toeplitz",
	.summary = "banded Toeplitz blocks of the kernel times image rows (OpenBLAS sgemm)",
	.takes = "kernels whose Toeplitz blocks fit its 64 MB workspace (up to about 300x300)",
	.supports = tz_supports,
	.cost = tz_cost,
	.run = tz_run,
	.multi = 1,
	.tiles = tz_tiles,
};

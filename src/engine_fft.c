/* engine_fft.c: the FFT engine (overlap-save tiles, FFTW single precision) and its FFTW plumbing. */
#include "engine_fft.h"

#include <errno.h>
#include <fftw3.h>
#include <limits.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cpu.h"
#include "engine.h"
#include "size.h"

/*
 * Tile geometry (overlap-save).  The output is cut into tiles of vh x vw
 * samples.  The tile whose first output sample is (ty, tx) reads the
 * extended input (the border rule applied by border_span, so every mode and
 * every anchor is exact) from row ty - ay and column tx - ax onwards, into an
 * nh x nw real buffer with nh = vh + kh - 1 and nw = vw + kw - 1.  The
 * buffer's forward transform times the conjugate spectrum of the kernel,
 * transformed back, is the circular correlation
 *
 *   R(u, v) = sum_{i<kh} sum_{j<kw} wt(i, j) * T((u + i) mod nh, (v + j) mod nw),
 *
 * which never wraps for u < vh and v < vw: those samples are exactly
 * r(ty + u, tx + v), and the rest of the tile is thrown away.  Rows and
 * columns of T that feed no kept sample (past the output's end) are zero.
 *
 * nh and nw come from the sides of the cost table (eng_costs.fft.side:
 * powers of two and 3, 5 times them, where FFTW is fast), from the kernel
 * size up to one tile for the whole output, plus the smallest product of
 * 2, 3, 5, 7 that covers a small output in one tile; the pair with the
 * least estimated time wins.  Overlap costs kh - 1 rows and kw - 1 columns
 * per tile, so large kernels want large tiles (640x640 for 127x127) and
 * small ones want many small tiles (384x32 for 3x3).  The workspace, one
 * or two buffers per thread plus one spectrum per kernel of the bank, is
 * held under FFT_WORK_BYTES whatever the image size (4.7 MB for 127x127 on
 * 24 megapixels).  Kernel spectra are computed once per tile size, with the
 * 1 / (nh nw) of the inverse transform folded in, and kept after the run,
 * so the next plane (the next channel) with the same kernel reuses them.
 *
 * Threads work on disjoint runs of tiles (eng_parallel), each with its own
 * buffers, executing the same plans with FFTW's new-array functions, which
 * are thread-safe.  FFTW's own threads are not used here.  On 24
 * megapixels with two threads, k = 127 on 640x640 tiles took 0.157 s on
 * separate tiles against 0.22 s splitting each transform (one thread:
 * 0.304 s), and k = 9 on 384x64 tiles 0.074 s against 0.40 s (one thread:
 * 0.144 s): the tiles are too small for FFTW's threads to pay for their
 * synchronisation.  Deconvolution's whole-plane transforms use them.
 */

/* Workspace bound (bytes); the thread count tiles are chosen for. */
#define FFT_WORK_BYTES (32.0 * 1024 * 1024)
#define FFT_GEOM_THREADS 2

/* ---- FFTW plumbing: one lock for the planner, wisdom, shutdown ---- */

static pthread_mutex_t fft_lock = PTHREAD_MUTEX_INITIALIZER;
static int fft_threads_ready;   /* fftwf_init_threads done (under fft_lock) */
static int fft_measure;         /* wisdom loaded: FFTW_MEASURE plans */

int fft_good_size(int n)
{
	int m;

	if (n < 1)
		return 1;
	for (;; n++) {
		m = n;
		while (m % 2 == 0)
			m /= 2;
		while (m % 3 == 0)
			m /= 3;
		while (m % 5 == 0)
			m /= 5;
		while (m % 7 == 0)
			m /= 7;
		if (m == 1)
			return n;
	}
}

void fft2_shape(struct fft2 *f, int nh, int nw)
{
	f->nh = nh;
	f->nw = nw;
	f->rs = 2 * ((size_t)nw / 2 + 1);
	f->fwd = f->inv = NULL;
}

float *fft2_alloc(const struct fft2 *f)
{
	size_t n, bytes;
	float *p;

	if (size_mul(&n, (size_t)f->nh, f->rs) || size_mul(&bytes, n, sizeof(float)))
		return NULL;
	p = fftwf_malloc(bytes);
	if (p != NULL)
		memset(p, 0, bytes);
	return p;
}

void fft2_free(float *buf)
{
	if (buf != NULL)
		fftwf_free(buf);
}

/*
 * fft_loop runs FFTW's parallel loops (whole-plane transforms planned with
 * several threads) on threads started here and joined before it returns.
 * FFTW's own pool would keep idle workers alive after fftwf_cleanup_threads,
 * which leak checkers report; a start per loop costs some microseconds
 * against transforms of many milliseconds.
 */
struct fft_loop_job {
	void *(*work)(char *);
	char *arg;
	pthread_t tid;
};

static void *fft_loop_main(void *p)
{
	struct fft_loop_job *j = p;

	return j->work(j->arg);
}

static void fft_loop(void *(*work)(char *), char *jobdata, size_t elsize, int njobs,
		     void *data)
{
	struct fft_loop_job *jobs;
	int i, started = 1;

	(void)data;
	jobs = njobs > 1 ? calloc((size_t)njobs, sizeof *jobs) : NULL;
	for (i = 0; jobs != NULL && i < njobs; i++) {
		jobs[i].work = work;
		jobs[i].arg = jobdata + elsize * (size_t)i;
	}
	if (jobs != NULL)
		for (; started < njobs; started++)
			if (pthread_create(&jobs[started].tid, NULL, fft_loop_main,
					   &jobs[started]) != 0)
				break;
	/* Job 0, and any job whose thread could not start, run here. */
	work(jobdata);
	for (i = jobs != NULL ? started : 1; i < njobs; i++)
		work(jobdata + elsize * (size_t)i);
	for (i = 1; jobs != NULL && i < started; i++)
		pthread_join(jobs[i].tid, NULL);
	free(jobs);
}

/*
 * threads_setup registers FFTW's threaded solvers (under fft_lock).  It
 * must come before planning and before importing wisdom: wisdom that
 * names a threaded solver does not import into a planner without them.
 */
static void threads_setup(void)
{
	if (!fft_threads_ready) {
		fft_threads_ready = fftwf_init_threads() != 0;
		if (fft_threads_ready)
			fftwf_threads_set_callback(fft_loop, NULL);
	}
}

int fft2_plan(struct fft2 *f, int threads, float *buf, struct err *err)
{
	unsigned flags;

	pthread_mutex_lock(&fft_lock);
	flags = fft_measure ? FFTW_MEASURE : FFTW_ESTIMATE;
	threads_setup();
	/* The thread count is planner state, so it is set under the lock too. */
	if (fft_threads_ready)
		fftwf_plan_with_nthreads(threads > 1 ? threads : 1);
	f->fwd = fftwf_plan_dft_r2c_2d(f->nh, f->nw, buf, (fftwf_complex *)buf, flags);
	f->inv = fftwf_plan_dft_c2r_2d(f->nh, f->nw, (fftwf_complex *)buf, buf, flags);
	pthread_mutex_unlock(&fft_lock);
	if (f->fwd == NULL || f->inv == NULL) {
		fft2_destroy(f);
		return err_set(err, ERR_SOFTWARE, "FFTW cannot plan a %d x %d transform",
			       f->nh, f->nw);
	}
	return 0;
}

void fft2_destroy(struct fft2 *f)
{
	pthread_mutex_lock(&fft_lock);
	if (f->fwd != NULL)
		fftwf_destroy_plan(f->fwd);
	if (f->inv != NULL)
		fftwf_destroy_plan(f->inv);
	pthread_mutex_unlock(&fft_lock);
	f->fwd = f->inv = NULL;
}

void fft2_forward(const struct fft2 *f, float *buf)
{
	fftwf_execute_dft_r2c(f->fwd, buf, (fftwf_complex *)buf);
}

void fft2_inverse(const struct fft2 *f, float *buf)
{
	fftwf_execute_dft_c2r(f->inv, (fftwf_complex *)buf, buf);
}

int fft_wisdom_load(const char *path, struct err *err)
{
	FILE *fp;
	int ok, saved;

	fp = fopen(path, "r");
	if (fp == NULL) {
		saved = errno;
		if (saved != ENOENT)
			return err_set(err, ERR_NOINPUT, "%s: %s", path, strerror(saved));
		ok = 1;              /* no wisdom yet: the first save creates it */
	} else {
		pthread_mutex_lock(&fft_lock);
		threads_setup();
		ok = fftwf_import_wisdom_from_file(fp);
		pthread_mutex_unlock(&fft_lock);
		fclose(fp);
	}
	if (!ok)
		return err_set(err, ERR_DATA, "%s: not an FFTW single-precision wisdom file",
			       path);
	pthread_mutex_lock(&fft_lock);
	fft_measure = 1;
	pthread_mutex_unlock(&fft_lock);
	return 0;
}

int fft_wisdom_save(const char *path, struct err *err)
{
	char *tmp;
	size_t len = strlen(path);
	int fd, saved;
	mode_t mask;
	FILE *fp;

	tmp = malloc(len + 16);
	if (tmp == NULL)
		return err_oom(err, "wisdom");
	memcpy(tmp, path, len);
	memcpy(tmp + len, ".tmp.XXXXXX", 12);
	fd = mkstemp(tmp);
	if (fd < 0) {
		saved = errno;
		free(tmp);
		return err_set(err, ERR_CANTCREAT, "%s: %s", path, strerror(saved));
	}
	/* mkstemp makes the file private; wisdom is as shareable as any output. */
	mask = umask(0);
	umask(mask);
	(void)fchmod(fd, 0666 & ~mask);
	fp = fdopen(fd, "w");
	if (fp == NULL) {
		saved = errno;
		close(fd);
		goto fail;
	}
	pthread_mutex_lock(&fft_lock);
	fftwf_export_wisdom_to_file(fp);
	pthread_mutex_unlock(&fft_lock);
	saved = ferror(fp) ? EIO : 0;
	if (fclose(fp) != 0 && saved == 0)
		saved = errno;
	if (saved == 0 && rename(tmp, path) != 0)
		saved = errno;
	if (saved == 0) {
		free(tmp);
		return 0;
	}
fail:
	unlink(tmp);
	free(tmp);
	return err_set(err, ERR_IO, "%s: %s", path, strerror(saved));
}

/* ---- the engine ---- */

struct fft_geom {
	int nh, nw;          /* transform size of a tile */
	int vh, vw;          /* output samples per tile */
	int tiles_y, tiles_x;
	int nb;              /* bands: threads working on runs of tiles */
	double work;         /* workspace bytes */
	double cost;         /* estimated seconds */
};

/*
 * Kernel spectra of the last run, kept for the next one (the next channel
 * of the same image uses the same kernel and tile size).  The cache lock is
 * held for a whole run, so runs of this engine from several threads take
 * turns; the job layer runs one plane at a time anyway.
 */
struct fft_cache {
	int kw, kh, nk;
	float *wt;           /* copy of the weights, nk * kh * kw */
	struct fft2 f;       /* plans for tiles of f.nh x f.nw */
	float **spec;        /* nk spectra, conjugated and scaled by 1 / (nh nw) */
};

static pthread_mutex_t cache_lock = PTHREAD_MUTEX_INITIALIZER;
static struct fft_cache cache;

static void cache_clear(struct fft_cache *c)
{
	int b;

	if (c->spec != NULL)
		for (b = 0; b < c->nk; b++)
			fft2_free(c->spec[b]);
	free(c->spec);
	free(c->wt);
	if (c->f.fwd != NULL || c->f.inv != NULL)
		fft2_destroy(&c->f);
	memset(c, 0, sizeof *c);
}

void fft_shutdown(void)
{
	pthread_mutex_lock(&cache_lock);
	cache_clear(&cache);
	pthread_mutex_unlock(&cache_lock);
	pthread_mutex_lock(&fft_lock);
	if (fft_threads_ready)
		fftwf_cleanup_threads();
	else
		fftwf_cleanup();
	fft_threads_ready = 0;
	fft_measure = 0;
	pthread_mutex_unlock(&fft_lock);
}

/* side_ns is FFTW's rate for side n, in ns per n log2 n of an n x n pair. */
static double side_ns(int n)
{
	const struct eng_costs *c = &eng_costs;
	int i;

	for (i = 0; i < ENG_FFT_SIDES && c->fft.side[i].n > 0; i++)
		if (c->fft.side[i].n == n)
			return c->fft.side[i].ns;
	return c->fft.other_ns;
}

/*
 * pair_cost is the estimated time of one r2c + c2r pair of nh x nw: a
 * rectangle costs n log2 n at the geometric mean of its sides' rates.
 */
static double pair_cost(int nh, int nw)
{
	double n = (double)nh * nw;

	return 1e-9 * n * log2(n > 2 ? n : 2) * sqrt(side_ns(nh) * side_ns(nw));
}

/*
 * geom_eval fills g for tiles of nh x nw and returns 0, or -1 when the
 * tiling is unusable (too many tiles for an int).  A tile costs one forward
 * transform, one product and inverse per kernel, the fill and the output;
 * the bands run ceil(tiles / nb) tiles each, in parallel.
 */
static int geom_eval(const struct conv_job *job, int nh, int nw, int threads,
		     struct fft_geom *g)
{
	const struct eng_costs *ec = &eng_costs;
	double tiles, per_tile, cplx, rounds;
	int nk = job->nk;

	g->nh = nh;
	g->nw = nw;
	g->vh = nh - job->kh + 1;
	g->vw = nw - job->kw + 1;
	g->tiles_y = (job->out->h + g->vh - 1) / g->vh;
	g->tiles_x = (job->out->w + g->vw - 1) / g->vw;
	tiles = (double)g->tiles_y * g->tiles_x;
	if (tiles > INT_MAX)
		return -1;
	g->nb = threads < tiles ? threads : (int)tiles;
	if (g->nb < 1)
		g->nb = 1;
	cplx = (double)nh * (nw / 2 + 1);
	g->work = (double)(g->nb * (nk > 1 ? 2 : 1) + nk) * cplx * 2 * sizeof(float);
	per_tile = pair_cost(nh, nw) * (1 + nk) / 2 + nk * ec->fft.kernel_row * g->vh;
	rounds = ceil(tiles / g->nb);
	g->cost = ec->fft.setup + nk * pair_cost(nh, nw) / 2 +
		  rounds * per_tile / (g->nb > 1 ? ec->fft.par_eff : 1) +
		  ec->fft.px * job->out->w * job->out->h / g->nb;
	return 0;
}

/*
 * side_sizes lists the candidate transform sizes for one side: the sides
 * of the cost table from the kernel size k up to the first that covers all
 * `need` samples in one tile, and the smallest product of 2, 3, 5, 7 that
 * does (the tile for a small image).
 */
static int side_sizes(int k, int need, int *sz)
{
	const struct eng_costs *ec = &eng_costs;
	int one = fft_good_size(need), count = 0, i, n;

	for (i = 0; i < ENG_FFT_SIDES && (n = ec->fft.side[i].n) > 0; i++) {
		if (n < k)
			continue;
		sz[count++] = n;
		if (n >= one)
			break;
	}
	if (count == 0 || sz[count - 1] != one)
		sz[count++] = one;
	return count;
}

/*
 * fft_geometry picks the cheapest tiling whose workspace fits
 * FFT_WORK_BYTES, or, when none fits (huge kernels or banks), the one with
 * the smallest workspace.  The choice is made for FFT_GEOM_THREADS threads
 * whatever job->threads is, so that -j never changes the tiles and the
 * result is the same to the last bit for every -j; the cost and the number
 * of bands are then those of job->threads.
 */
static void fft_geometry(const struct conv_job *job, struct fft_geom *best)
{
	int hs[ENG_FFT_SIDES + 1], ws[ENG_FFT_SIDES + 1], nhs, nws, a, b, have = 0, have_small = 0;
	struct fft_geom g, small;

	if (job->tile[0] > 0 && job->tile[1] > 0) {
		/* The plane's tiles, for a strip of it (engine.h). */
		memset(best, 0, sizeof *best);
		if (geom_eval(job, job->tile[0], job->tile[1], job->threads, best))
			best->nh = 0;
		return;
	}
	nhs = side_sizes(job->kh, job->out->h + job->kh - 1, hs);
	nws = side_sizes(job->kw, job->out->w + job->kw - 1, ws);
	memset(best, 0, sizeof *best);
	memset(&small, 0, sizeof small);
	for (a = 0; a < nhs; a++)
		for (b = 0; b < nws; b++) {
			if (geom_eval(job, hs[a], ws[b], FFT_GEOM_THREADS, &g))
				continue;
			if (g.work <= FFT_WORK_BYTES && (!have || g.cost < best->cost)) {
				*best = g;
				have = 1;
			}
			if (!have_small || g.work < small.work ||
			    (g.work == small.work && g.cost < small.cost)) {
				small = g;
				have_small = 1;
			}
		}
	if (!have)
		*best = small;
	if (have || have_small)
		geom_eval(job, best->nh, best->nw, job->threads, best);
}

/* fft_tiles: a tile's transforms mix all its samples, so strips cut at whole tiles. */
static int fft_tiles(const struct conv_job *job, int tile[2])
{
	struct fft_geom g;

	fft_geometry(job, &g);
	if (g.nh < 1)
		return 0;
	tile[0] = g.nh;
	tile[1] = g.nw;
	return g.vh;
}

static int fft_supports(const struct conv_job *job)
{
	return job->kw >= 1 && job->kh >= 1 && job->nk >= 1 &&
	       job->out->w >= 1 && job->out->h >= 1;
}

static double fft_cost(const struct conv_job *job)
{
	struct fft_geom g;

	fft_geometry(job, &g);
	return g.nh > 0 ? g.cost : HUGE_VAL;
}

/* cache_fill makes the cache hold plans and spectra for job at geometry g. */
static int cache_fill(const struct conv_job *job, const struct fft_geom *g,
		      float *scratch, int *reused, struct err *err)
{
	struct fft_cache *c = &cache;
	size_t nw8 = (size_t)job->nk * job->kh * job->kw, n, i;
	float scale;
	int b, y;

	if (c->spec != NULL && c->f.nh == g->nh && c->f.nw == g->nw && c->kw == job->kw &&
	    c->kh == job->kh && c->nk == job->nk &&
	    memcmp(c->wt, job->wt, nw8 * sizeof *job->wt) == 0) {
		*reused = 1;
		return 0;
	}
	*reused = 0;
	cache_clear(c);
	fft2_shape(&c->f, g->nh, g->nw);
	if (fft2_plan(&c->f, 1, scratch, err))
		return -1;
	c->kw = job->kw;
	c->kh = job->kh;
	c->nk = job->nk;
	c->wt = malloc(nw8 * sizeof *c->wt);
	c->spec = calloc((size_t)job->nk, sizeof *c->spec);
	if (c->wt == NULL || c->spec == NULL)
		goto oom;
	memcpy(c->wt, job->wt, nw8 * sizeof *c->wt);
	n = (size_t)g->nh * c->f.rs;
	scale = (float)(1.0 / ((double)g->nh * g->nw));
	for (b = 0; b < job->nk; b++) {
		float *s = fft2_alloc(&c->f);

		if (s == NULL)
			goto oom;
		c->spec[b] = s;
		for (y = 0; y < job->kh; y++)
			memcpy(s + (size_t)y * c->f.rs, job->wt + ((size_t)b * job->kh + y) * job->kw,
			       (size_t)job->kw * sizeof *s);
		fft2_forward(&c->f, s);
		/* Correlation multiplies by the conjugate of the kernel's spectrum. */
		for (i = 0; i < n; i += 2) {
			s[i] *= scale;
			s[i + 1] *= -scale;
		}
	}
	return 0;
oom:
	cache_clear(c);
	return err_oom(err, "fft engine");
}

struct fft_ctx {
	struct conv_job *job;
	struct fft_geom g;
	const struct fft_cache *c;
	float **buf, **prod;     /* per band: the tile, and a product for banks */
};

/*
 * spec_mul multiplies the n complex numbers of a by those of k, into dst,
 * or into a itself when dst is NULL (two loops, so both can be vectorised).
 */
CPU_CLONES
static void spec_mul(float *restrict dst, float *restrict a, const float *restrict k,
		     size_t n)
{
	size_t i;
	float re, im;

	if (dst == NULL) {
		for (i = 0; i < 2 * n; i += 2) {
			re = a[i] * k[i] - a[i + 1] * k[i + 1];
			im = a[i] * k[i + 1] + a[i + 1] * k[i];
			a[i] = re;
			a[i + 1] = im;
		}
		return;
	}
	for (i = 0; i < 2 * n; i += 2) {
		dst[i] = a[i] * k[i] - a[i + 1] * k[i + 1];
		dst[i + 1] = a[i] * k[i + 1] + a[i + 1] * k[i];
	}
}

/* tile_fill reads the extended input for the tile at output (ty, tx) into t. */
static void tile_fill(const struct fft_ctx *ctx, int ty, int tx, float *t)
{
	const struct conv_job *job = ctx->job;
	const struct plane *in = job->in;
	size_t rs = ctx->c->f.rs;
	int nh = ctx->g.nh, nw = ctx->g.nw, u, x;
	/* Only rows and columns that feed kept outputs are read; the rest is 0. */
	int rows = (ctx->g.vh < job->out->h - ty ? ctx->g.vh : job->out->h - ty) + job->kh - 1;
	int cols = (ctx->g.vw < job->out->w - tx ? ctx->g.vw : job->out->w - tx) + job->kw - 1;

	for (u = 0; u < nh; u++) {
		float *dst = t + (size_t)u * rs;
		long sy = border_index(border_ymode(&job->border), (long)ty - job->ay + u, in->h);

		if (u >= rows) {
			memset(dst, 0, (size_t)nw * sizeof *dst);
			continue;
		}
		if (sy < 0)
			for (x = 0; x < cols; x++)
				dst[x] = job->border.value;
		else
			border_span(&job->border, plane_row(in, (int)sy), in->w,
				    (long)tx - job->ax, cols, dst);
		if (cols < nw)
			memset(dst + cols, 0, (size_t)(nw - cols) * sizeof *dst);
	}
}

static int fft_band(void *arg, int t0, int t1, int band)
{
	struct fft_ctx *ctx = arg;
	struct conv_job *job = ctx->job;
	const struct fft_cache *c = ctx->c;
	size_t rs = c->f.rs, ncplx = (size_t)ctx->g.nh * (rs / 2);
	float *t = ctx->buf[band], *p = ctx->prod[band];
	int ti, ty, tx, vh, vw, u, b;

	for (ti = t0; ti < t1; ti++) {
		ty = ti / ctx->g.tiles_x * ctx->g.vh;
		tx = ti % ctx->g.tiles_x * ctx->g.vw;
		vh = ctx->g.vh < job->out->h - ty ? ctx->g.vh : job->out->h - ty;
		vw = ctx->g.vw < job->out->w - tx ? ctx->g.vw : job->out->w - tx;
		tile_fill(ctx, ty, tx, t);
		fft2_forward(&c->f, t);
		for (b = 0; b < job->nk; b++) {
			float *r = job->nk == 1 ? t : p;

			spec_mul(job->nk == 1 ? NULL : p, t, c->spec[b], ncplx);
			fft2_inverse(&c->f, r);
			for (u = 0; u < vh; u++)
				eng_combine(job->combine, b, plane_row(job->out, ty + u) + tx,
					    r + (size_t)u * rs, vw);
		}
		/* Magnitude takes a square root even of one kernel (|r|, as ref.h). */
		if (job->combine == KERN_MAGNITUDE)
			for (u = 0; u < vh; u++)
				eng_combine_finish(job->combine, plane_row(job->out, ty + u) + tx, vw);
	}
	return 0;
}

static int fft_run(struct conv_job *job, struct err *err)
{
	struct fft_ctx ctx;
	int b, reused = 0, status = -1, tiles;

	memset(&ctx, 0, sizeof ctx);
	ctx.job = job;
	fft_geometry(job, &ctx.g);
	if (ctx.g.nh < 1)
		return err_set(err, ERR_OS, "fft engine: image and kernel too large");
	tiles = ctx.g.tiles_y * ctx.g.tiles_x;
	ctx.buf = calloc((size_t)ctx.g.nb, sizeof *ctx.buf);
	ctx.prod = calloc((size_t)ctx.g.nb, sizeof *ctx.prod);
	if (ctx.buf == NULL || ctx.prod == NULL) {
		err_oom(err, "fft engine");
		goto done;
	}
	pthread_mutex_lock(&cache_lock);
	ctx.c = &cache;
	for (b = 0; b < ctx.g.nb; b++) {
		struct fft2 shape;

		fft2_shape(&shape, ctx.g.nh, ctx.g.nw);
		ctx.buf[b] = fft2_alloc(&shape);
		ctx.prod[b] = job->nk > 1 ? fft2_alloc(&shape) : NULL;
		if (ctx.buf[b] == NULL || (job->nk > 1 && ctx.prod[b] == NULL)) {
			err_oom(err, "fft engine");
			goto unlock;
		}
	}
	if (cache_fill(job, &ctx.g, ctx.buf[0], &reused, err))
		goto unlock;
	status = eng_parallel(ctx.g.nb, tiles, fft_band, &ctx);
	if (status == 0)
		snprintf(job->note, sizeof job->note,
			 "fft: %dx%d transforms, %d tiles of %dx%d, %d band%s, "
			 "%.1f MB workspace, spectra %s",
			 ctx.g.nw, ctx.g.nh, tiles, ctx.g.vw, ctx.g.vh, ctx.g.nb,
			 ctx.g.nb == 1 ? "" : "s", ctx.g.work / 1048576.0,
			 reused ? "reused" : "computed");
unlock:
	pthread_mutex_unlock(&cache_lock);
done:
	for (b = 0; ctx.buf != NULL && b < ctx.g.nb; b++) {
		fft2_free(ctx.buf[b]);
		if (ctx.prod != NULL)
			fft2_free(ctx.prod[b]);
	}
	free(ctx.buf);
	free(ctx.prod);
	return status;
}

const struct engine eng_fft = {
	.name = "fft",
	.summary = "overlap-save tiles with FFTW r2c/c2r, kernel spectra reused",
	.supports = fft_supports,
	.cost = fft_cost,
	.run = fft_run,
	.tiles = fft_tiles,
};

/* engine.c: the engine table, the auto planner and helpers for engines. */
#include "engine.h"

#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "vec.h"

static const struct engine *const engines[] = {
	&eng_direct,
	&eng_separable,
	&eng_toeplitz,
	&eng_fft,
};

#define N_ENGINES (sizeof engines / sizeof engines[0])

/*
 * Measured on the reference machine class, a 2-core x86-64 Xeon with
 * AVX-512 (GCC 12, FFTW 3.3.10 with FFTW_ESTIMATE plans), by timing the
 * engines in memory on 6000x4000 planes with one thread (CPU time, median
 * of 3 runs; the machine was shared, and CPU time is what sharing disturbs
 * least):
 *
 * fft: the side rates, kernel_row and the split of a pair into forward and
 * inverse halves were fitted together to 79 runs of the engine with forced
 * tile sizes (k = 3, 9, 15, 31, 127; tiles from 32x16 to 2048x256; banks
 * of 1, 2 and 4 kernels): rms error 7%, worst 20%, and for each k the
 * cheapest tile by the model was within 2% of the fastest measured (15%
 * for k = 31).  Sides 8 and from 2560 up are from loops of transforms
 * alone, scaled the same way.  FFTW's speed varies by side more than n log n
 * says (1536 takes twice 1280's rate; 96 and 40, left out, three times
 * 128's), hence a table of good sides rather than a formula.  Two threads
 * on separate tiles ran 1.94 times as fast as one (640x640 tiles, k = 127).
 *
 * Checked with two threads on the machine at rest, 24 megapixels, k = 3,
 * 5, 9, 15, 31, 63, 127: every estimate of direct and fft within 12% of
 * the measured time, and the cheapest estimate the fastest engine each time.
 *
 * Refreshed from make bench's core table (bench/core.c: the whole of
 * job_filter on three 6000x4000 planes, two threads, median of 5) once the
 * direct and separable engines wrote in place and sized their rings from
 * L2: direct's and separable's px and tap are fitted to k = 3 .. 127 (within
 * 10%, 15% at k = 3); fft's px is what the engine took beyond the
 * transform model, about 0.055 s a plane whatever k (3 to 127): the
 * output plane's allocation and page faults, and the tiles' gathers and
 * writes.
 */
const struct eng_costs eng_costs = {
	/*
	 * direct and separable (first fitted as follows; see above for the
	 * refresh): a timing driver linked with the objects ran
	 * each engine in memory on a 6000x4000 plane of random samples, with
	 * one thread (CPU time, median of 5 runs; AVX-512 code), for general
	 * kernels k = 1, 3, 5, 9, 15, 31 (direct) and Gaussians k = 3 .. 127
	 * (separable).  Time per sample fits px + taps * tap within 8%, where
	 * taps is kw kh for direct (every weight) and the multiply-adds of
	 * both passes for separable (rank (kw + kh), zero row weights left
	 * out).  A separable tap costs more than a direct one: its horizontal
	 * pass loads one vector per multiply-add, where direct shares each
	 * load between two output rows.  px is mostly memory traffic (reading
	 * and extending source rows, writing the output), measured at k = 1.
	 * Banks' combine is one more pass over each kernel's row.
	 */
	.direct = {
		.tap = 0.018e-9,
		.px = 0.55e-9,
		.combine = 0.3e-9,
	},
	.separable = {
		.tap = 0.036e-9,
		.px = 0.58e-9,
		.combine = 0.3e-9,
	},
	.fft = {
		.side = {
			{ 8, 0.36 }, { 16, 0.38 }, { 32, 0.33 }, { 64, 0.36 },
			{ 128, 0.38 }, { 256, 0.40 }, { 320, 0.40 }, { 384, 0.34 },
			{ 512, 0.40 }, { 640, 0.43 }, { 768, 0.44 }, { 1024, 0.46 },
			{ 1280, 0.44 }, { 1536, 0.75 }, { 2048, 0.50 }, { 2560, 0.50 },
			{ 3072, 1.0 }, { 4096, 1.0 }, { 5120, 1.05 }, { 8192, 1.15 },
		},
		.other_ns = 0.7,
		.kernel_row = 80e-9,
		.setup = 2e-4,
		.px = 4.5e-9,
		.par_eff = 0.95,
	},
	/*
	 * Toeplitz: from a timing driver on a 6000x1000 plane, one thread,
	 * k = 3, 9, 31, block widths B = 8 .. 32, solving for the rates from
	 * pairs of runs that differ in B (OpenBLAS 0.3.21); within about 15%
	 * of measured times for k = 3 to 127.  Banks' per-kernel cost is
	 * gathering and combining, measured with banks of 2 and 8 3x3 kernels.
	 */
	.toeplitz = {
		.mac_avx512 = 0.0155e-9,     /* SkylakeX, Cooperlake, SapphireRapids */
		.mac_avx2 = 0.0265e-9,       /* Haswell, Zen */
		.mac_sse = 0.068e-9,         /* Prescott and other fallbacks */
		.copy = 0.28e-9,
		.px = 0.8e-9,
		.combine = 1.2e-9,
	},
};

const struct engine *eng_find(const char *name)
{
	size_t i;

	for (i = 0; i < N_ENGINES; i++)
		if (strcmp(engines[i]->name, name) == 0)
			return engines[i];
	return NULL;
}

int eng_count(void)
{
	return (int)N_ENGINES;
}

const struct engine *eng_at(int i)
{
	return i >= 0 && i < (int)N_ENGINES ? engines[i] : NULL;
}

const char *eng_names(void)
{
	static char buf[128];
	size_t i;

	if (buf[0] == '\0') {
		strcpy(buf, "auto");
		for (i = 0; i < N_ENGINES; i++) {
			strcat(buf, ", ");
			strcat(buf, engines[i]->name);
		}
	}
	return buf;
}

/*
 * Cross-channel jobs for engines that take one plane: kernel b's result
 * is the sum of one single-plane job per input c (matrix (b, c)), each
 * written to a scratch plane and added, then stored or combined.  A
 * matrix of zeros adds nothing and is skipped (a dilated kernel's phases
 * under a stride are often all zero; see layer.c).
 */
static int zero_matrix(const struct conv_job *job, int b, int c)
{
	size_t taps = (size_t)job->kw * job->kh, i;
	const float *w = job->wt + ((size_t)b * eng_nin(job) + c) * taps;

	for (i = 0; i < taps; i++)
		if (w[i] != 0.0f)
			return 0;
	return 1;
}

/* split_job is the single-plane job of matrix (b, c) of job, writing to out. */
static struct conv_job split_job(const struct conv_job *job, int b, int c, struct plane *out)
{
	struct conv_job sub = *job;

	sub.in = eng_input(job, c);
	sub.out = out;
	sub.nk = 1;
	sub.nin = 0;
	sub.ins = NULL;
	sub.outs = NULL;
	sub.combine = KERN_SUM;
	sub.wt = job->wt + ((size_t)b * eng_nin(job) + c) * job->kw * job->kh;
	return sub;
}

static int is_multi(const struct conv_job *job)
{
	return job->nin > 1 || job->outs != NULL;
}

int eng_supports(const struct engine *e, const struct conv_job *job)
{
	struct conv_job sub;
	int b, c;

	if (!is_multi(job) || e->multi)
		return e->supports(job);
	for (b = 0; b < job->nk; b++)
		for (c = 0; c < eng_nin(job); c++) {
			sub = split_job(job, b, c, job->out);
			if (!zero_matrix(job, b, c) && !e->supports(&sub))
				return 0;
		}
	return 1;
}

double eng_cost(const struct engine *e, const struct conv_job *job)
{
	struct conv_job sub;
	double t = 0, px = (double)job->out->w * job->out->h;
	int b, c;

	if (!is_multi(job) || e->multi)
		return e->cost(job);
	for (b = 0; b < job->nk; b++)
		for (c = 0; c < eng_nin(job); c++) {
			if (zero_matrix(job, b, c))
				continue;
			sub = split_job(job, b, c, job->out);
			/* The engine's time, and adding its plane to the kernel's sum. */
			t += e->cost(&sub) + eng_time(job, px * eng_costs.direct.combine);
		}
	return t;
}

/* add_plane adds src to acc, sample by sample. */
static void add_plane(struct plane *acc, const struct plane *src)
{
	int y;

	for (y = 0; y < acc->h; y++)
		vec_combine(VEC_ADD, plane_row(acc, y), plane_row(src, y), acc->w);
}

static int run_split(const struct engine *e, struct conv_job *job, struct err *err)
{
	struct plane tmp = { 0 }, rb = { 0 };
	struct conv_job sub;
	int b, c, y, first, status = -1;
	const int ow = job->out->w, oh = job->out->h;

	if (job->outs == NULL && job->nk > 1 && plane_alloc(&rb, ow, oh, err))
		goto done;
	for (b = 0; b < job->nk; b++) {
		struct plane *acc = job->outs != NULL ? job->outs[b] : job->nk > 1 ? &rb : job->out;

		for (c = 0, first = 1; c < eng_nin(job); c++) {
			if (zero_matrix(job, b, c))
				continue;
			/* The scratch plane only once a second input needs it. */
			if (!first && tmp.px == NULL && plane_alloc(&tmp, ow, oh, err))
				goto done;
			sub = split_job(job, b, c, first ? acc : &tmp);
			if (e->run(&sub, err))
				goto done;
			if (!first)
				add_plane(acc, &tmp);
			first = 0;
		}
		if (first)
			for (y = 0; y < oh; y++)
				memset(plane_row(acc, y), 0, (size_t)ow * sizeof(float));
		if (job->outs == NULL && (job->nk > 1 || kern_combine_pointwise(job->combine)))
			for (y = 0; y < oh; y++)
				eng_combine(job->combine, b, plane_row(job->out, y), plane_row(acc, y), ow);
	}
	if (job->outs == NULL)
		for (y = 0; y < oh; y++)
			eng_combine_finish(job->combine, plane_row(job->out, y), ow);
	snprintf(job->note, sizeof job->note, "%s: %d kernel%s x %d input%s, one plane at a time",
		 e->name, job->nk, job->nk > 1 ? "s" : "", eng_nin(job), eng_nin(job) > 1 ? "s" : "");
	status = 0;
done:
	plane_free(&tmp);
	plane_free(&rb);
	return status;
}

const struct engine *eng_choose(const struct conv_job *job)
{
	const struct engine *best = NULL;
	double c, best_cost = HUGE_VAL;
	size_t i;

	for (i = 0; i < N_ENGINES; i++) {
		if (!eng_supports(engines[i], job))
			continue;
		c = eng_cost(engines[i], job);
		if (best == NULL || c < best_cost) {
			best = engines[i];
			best_cost = c;
		}
	}
	return best != NULL ? best : &eng_direct;
}

void eng_explain(FILE *f, const struct conv_job *job)
{
	const struct engine *best = eng_choose(job);
	size_t i;

	for (i = 0; i < N_ENGINES; i++) {
		if (!eng_supports(engines[i], job))
			fprintf(f, "  %-9s cannot run this job: it takes %s\n", engines[i]->name,
				engines[i]->takes != NULL ? engines[i]->takes : "other jobs");
		else
			fprintf(f, "  %-9s %10.4f s%s, estimated%s\n", engines[i]->name,
				eng_cost(engines[i], job), is_multi(job) ? "" : " per plane",
				engines[i] == best ? "  <- chosen" : "");
	}
}

int eng_run(const struct engine *e, struct conv_job *job, struct err *err)
{
	if (e == NULL)
		e = eng_choose(job);
	if (!eng_supports(e, job))
		return err_set(err, ERR_USAGE, "engine %s cannot run this job: it takes %s",
			       e->name, e->takes != NULL ? e->takes : "other jobs");
	job->note[0] = '\0';
	if (job->nin <= 1 && job->nk == 1 && job->outs != NULL) {
		/* One input, one kernel: a plain job. */
		job->out = job->outs[0];
		job->outs = NULL;
		job->combine = KERN_SUM;
	}
	if (is_multi(job) && !e->multi)
		return run_split(e, job, err);
	return e->run(job, err);
}

/*
 * The combining loops are vec.c's, vectorised per CPU: with a bank they
 * touch every output sample once per kernel, which costs as much as a
 * small kernel's taps.
 */
void eng_combine(enum kern_combine c, int b, float *acc, const float *r, int n)
{
	if (b == 0) {
		if (c == KERN_MAGNITUDE)
			vec_combine(VEC_SET_SQ, acc, r, n);
		else if (c == KERN_SUMABS)
			vec_combine(VEC_SET_ABS, acc, r, n);
		else if (acc != r)
			memcpy(acc, r, (size_t)n * sizeof *acc);
		return;
	}
	switch (c) {
	case KERN_SUM:
		vec_combine(VEC_ADD, acc, r, n);
		break;
	case KERN_MAX:
		vec_combine(VEC_MAX, acc, r, n);
		break;
	case KERN_MAGNITUDE:
		vec_combine(VEC_ADD_SQ, acc, r, n);
		break;
	case KERN_SUMABS:
		vec_combine(VEC_ADD_ABS, acc, r, n);
		break;
	}
}

void eng_combine_finish(enum kern_combine c, float *acc, int n)
{
	if (c == KERN_MAGNITUDE)
		vec_combine(VEC_SQRT, acc, NULL, n);
}

void eng_pad_row(const struct conv_job *job, long v, long start, long count, float *dst)
{
	const struct plane *in = job->in;
	long sy = border_index(border_ymode(&job->border), v, in->h), x;

	if (sy < 0) {
		for (x = 0; x < count; x++)
			dst[x] = job->border.value;
		return;
	}
	border_span(&job->border, plane_row(in, (int)sy), in->w, start, count, dst);
}

int eng_stream(const struct conv_job *job)
{
	/* Written over its input, an output row replaces one just read: it is cached. */
	if (job->out == job->in)
		return 0;
	return (double)job->out->h * job->out->stride * sizeof(float) > 16e6;
}

/*
 * The scratch blocks given back, oldest first, at most SCRATCH_SLOTS of
 * them and SCRATCH_BYTES in all; a block's capacity is kept in the cache
 * line before it.  A block is reused for a request of a quarter of its
 * size or more, so a small request does not hold a large block.
 */
#define SCRATCH_SLOTS 16
#define SCRATCH_BYTES ((size_t)64 << 20)

static struct {
	pthread_mutex_t m;
	struct { float *p; size_t cap; } slot[SCRATCH_SLOTS];
	int n;
	size_t bytes;
	int registered, closed;    /* scratch_drop registered with atexit; it ran */
} scratch = { PTHREAD_MUTEX_INITIALIZER, { { NULL, 0 } }, 0, 0, 0, 0 };

/* scratch_drop frees the blocks kept, at exit, for leak checkers. */
static void scratch_drop(void)
{
	int i;

	pthread_mutex_lock(&scratch.m);
	for (i = 0; i < scratch.n; i++)
		plane_aligned_free(scratch.slot[i].p - PLANE_ALIGN);
	scratch.n = 0;
	scratch.bytes = 0;
	scratch.closed = 1;
	pthread_mutex_unlock(&scratch.m);
}

float *eng_scratch_alloc(size_t n)
{
	float *p = NULL;
	int i, best = -1;

	pthread_mutex_lock(&scratch.m);
	for (i = 0; i < scratch.n; i++)
		if (scratch.slot[i].cap >= n && scratch.slot[i].cap / 4 <= n &&
		    (best < 0 || scratch.slot[i].cap < scratch.slot[best].cap))
			best = i;
	if (best >= 0) {
		p = scratch.slot[best].p;
		scratch.bytes -= scratch.slot[best].cap * sizeof(float);
		for (i = best; i + 1 < scratch.n; i++)
			scratch.slot[i] = scratch.slot[i + 1];
		scratch.n--;
	}
	pthread_mutex_unlock(&scratch.m);
	if (p != NULL)
		return p;
	if (n > ((size_t)-1) / sizeof(float) - PLANE_ALIGN)
		return NULL;
	p = plane_aligned_alloc(n + PLANE_ALIGN);
	if (p == NULL)
		return NULL;
	memcpy(p, &n, sizeof n);
	return p + PLANE_ALIGN;
}

void eng_scratch_free(float *p)
{
	float *drop[SCRATCH_SLOTS + 1];
	size_t cap;
	int i, nd = 0;

	if (p == NULL)
		return;
	memcpy(&cap, p - PLANE_ALIGN, sizeof cap);
	pthread_mutex_lock(&scratch.m);
	if (!scratch.registered)
		scratch.registered = atexit(scratch_drop) == 0 ? 1 : -1;
	if (cap * sizeof(float) > SCRATCH_BYTES || scratch.registered < 0 || scratch.closed) {
		drop[nd++] = p;
	} else {
		while (scratch.n == SCRATCH_SLOTS ||
		       (scratch.n > 0 && scratch.bytes + cap * sizeof(float) > SCRATCH_BYTES)) {
			drop[nd++] = scratch.slot[0].p;
			scratch.bytes -= scratch.slot[0].cap * sizeof(float);
			for (i = 0; i + 1 < scratch.n; i++)
				scratch.slot[i] = scratch.slot[i + 1];
			scratch.n--;
		}
		scratch.slot[scratch.n].p = p;
		scratch.slot[scratch.n++].cap = cap;
		scratch.bytes += cap * sizeof(float);
	}
	pthread_mutex_unlock(&scratch.m);
	for (i = 0; i < nd; i++)
		plane_aligned_free(drop[i] - PLANE_ALIGN);
}

double eng_time(const struct conv_job *job, double cpu)
{
	return cpu / job->threads;
}

struct band {
	int (*fn)(void *ctx, int y0, int y1, int band);
	void *ctx;
	int y0, y1, index, status;
	pthread_t tid;
};

static void *band_main(void *arg)
{
	struct band *b = arg;

	b->status = b->fn(b->ctx, b->y0, b->y1, b->index);
	return NULL;
}

void eng_band(int n, int rows, int i, int *y0, int *y1)
{
	*y0 = (int)((long long)rows * i / n);
	*y1 = (int)((long long)rows * (i + 1) / n);
}

long eng_halo_row(const struct conv_job *job, int y0, int y1, int s)
{
	return s < job->ay ? (long)y0 - job->ay + s : (long)y1 + (s - job->ay);
}

long eng_halo_slot(const struct conv_job *job, int y0, int y1, long v)
{
	if (v >= y0 && v < y1)
		return -1;
	return v < y0 ? v - ((long)y0 - job->ay) : job->ay + (v - y1);
}

/*
 * The workers of eng_parallel are started on first use and kept: an
 * engine is called once per strip of rows, many times per image, and
 * starting and joining a thread each time would cost as much as a strip
 * of a small kernel.  One call at a time has them (`busy`); a call that
 * finds them busy (steps of a pipeline in threads of their own, or a band
 * that calls eng_parallel itself) starts threads of its own, as does a
 * child after fork (pool.pid), which has none of its parent's threads.
 * At exit the workers are told to stop and joined, so that leak checkers
 * see every thread's memory released.
 */
#define POOL_MAX 64

static struct {
	pthread_mutex_t m;
	pthread_cond_t go, done;
	int busy;                  /* a call owns the workers */
	int nworkers, quit;
	unsigned gen;              /* counts calls, so a worker wakes once per call */
	int pending;               /* workers' bands not yet finished */
	struct band *bands;        /* the call's bands; worker i runs bands[i + 1] */
	int nbands;
	pid_t pid;                 /* the process that started the workers */
	pthread_t tid[POOL_MAX];
} pool = { PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, PTHREAD_COND_INITIALIZER,
	   0, 0, 0, 0, 0, NULL, 0, 0, { 0 } };

static void *pool_main(void *arg)
{
	int i = (int)(long)arg;
	unsigned seen = 0;

	pthread_mutex_lock(&pool.m);
	for (;;) {
		while (pool.gen == seen && !pool.quit)
			pthread_cond_wait(&pool.go, &pool.m);
		if (pool.quit)
			break;
		seen = pool.gen;
		if (i + 1 < pool.nbands) {
			struct band *b = &pool.bands[i + 1];

			pthread_mutex_unlock(&pool.m);
			band_main(b);
			pthread_mutex_lock(&pool.m);
			/* Broadcast: pool_stop may be waiting on done too. */
			if (--pool.pending == 0)
				pthread_cond_broadcast(&pool.done);
		}
	}
	pthread_mutex_unlock(&pool.m);
	return NULL;
}

static void pool_stop(void)
{
	int i, n;

	pthread_mutex_lock(&pool.m);
	if (pool.pid != getpid()) {
		pthread_mutex_unlock(&pool.m);
		return;
	}
	while (pool.busy)
		pthread_cond_wait(&pool.done, &pool.m);
	pool.quit = 1;
	n = pool.nworkers;
	pool.nworkers = 0;
	pthread_cond_broadcast(&pool.go);
	pthread_mutex_unlock(&pool.m);
	for (i = 0; i < n; i++)
		pthread_join(pool.tid[i], NULL);
}

/*
 * pool_take gives the calling thread the workers for a call of n bands,
 * starting those missing; it returns how many bands they take (bands 1 ..
 * that number), 0 when they are busy or belong to another process.
 */
static int pool_take(int n)
{
	int want = n - 1 < POOL_MAX ? n - 1 : POOL_MAX;

	pthread_mutex_lock(&pool.m);
	if (pool.busy || pool.quit || (pool.nworkers > 0 && pool.pid != getpid())) {
		pthread_mutex_unlock(&pool.m);
		return 0;
	}
	if (pool.nworkers == 0 && pool.pid == 0) {
		pool.pid = getpid();
		if (atexit(pool_stop) != 0)
			pool.pid = -1;
	}
	if (pool.pid != getpid()) {
		pthread_mutex_unlock(&pool.m);
		return 0;
	}
	while (pool.nworkers < want &&
	       pthread_create(&pool.tid[pool.nworkers], NULL, pool_main,
			      (void *)(long)pool.nworkers) == 0)
		pool.nworkers++;
	pool.busy = 1;
	pthread_mutex_unlock(&pool.m);
	return want < pool.nworkers ? want : pool.nworkers;
}

int eng_parallel(int threads, int rows,
		 int (*fn)(void *ctx, int y0, int y1, int band), void *ctx)
{
	struct band local[8], *bands;
	int i, n, pooled, started, status = 0;

	n = threads < rows ? threads : rows;
	if (n <= 1)
		return fn(ctx, 0, rows, 0);
	bands = n <= 8 ? local : calloc((size_t)n, sizeof *bands);
	if (bands == NULL)
		return fn(ctx, 0, rows, 0);
	for (i = 0; i < n; i++) {
		bands[i].fn = fn;
		bands[i].ctx = ctx;
		bands[i].index = i;
		bands[i].status = 0;
		eng_band(n, rows, i, &bands[i].y0, &bands[i].y1);
	}
	pooled = pool_take(n);
	if (pooled > 0) {
		/* Workers take bands 1 .. pooled; this thread the others. */
		pthread_mutex_lock(&pool.m);
		pool.bands = bands;
		pool.nbands = pooled + 1;
		pool.pending = pooled;
		pool.gen++;
		pthread_cond_broadcast(&pool.go);
		pthread_mutex_unlock(&pool.m);
		for (i = pooled + 1; i < n; i++)
			band_main(&bands[i]);
		band_main(&bands[0]);
		pthread_mutex_lock(&pool.m);
		while (pool.pending > 0)
			pthread_cond_wait(&pool.done, &pool.m);
		pool.bands = NULL;
		pool.nbands = 0;
		pool.busy = 0;
		pthread_cond_broadcast(&pool.done);
		pthread_mutex_unlock(&pool.m);
	} else {
		/* Band 0 runs on this thread; a band whose thread cannot start runs here too. */
		for (started = 1; started < n; started++)
			if (pthread_create(&bands[started].tid, NULL, band_main, &bands[started]) != 0)
				break;
		for (i = started; i < n; i++)
			band_main(&bands[i]);
		band_main(&bands[0]);
		for (i = 1; i < started; i++)
			pthread_join(bands[i].tid, NULL);
	}
	for (i = 0; i < n; i++)
		if (bands[i].status)
			status = -1;
	if (bands != local)
		free(bands);
	return status;
}

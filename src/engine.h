/* engine.h: the convolution engine interface, the engine table, the planner. */
#ifndef IMF_ENGINE_H
#define IMF_ENGINE_H

#include <stddef.h>
#include <stdio.h>

#include "border.h"
#include "err.h"
#include "kernel.h"
#include "plane.h"

/*
 * One convolution of one plane by a bank of nk kernels, in the form every
 * engine computes:
 *
 *   r_b(y, x) = sum_{i<kh} sum_{j<kw} wt_b(i, j) * in'(y + i - ay, x + j - ax)
 *   out(y, x) = combine(r_0, ..., r_{nk-1})          for y < out_h, x < out_w
 *
 * where in' is the input extended by the border rule.  This is correlation:
 * the job layer has already flipped the kernels for convolution, folded each
 * kernel's scale into its weights and turned the shape (same/full/valid)
 * into the output size and the anchor (ax, ay), which may be negative or
 * exceed the kernel (the output then starts inside or beyond the image).
 * Bias is added by the job layer afterwards.  Weights of kernel b, row i,
 * column j are wt[(b * kh + i) * kw + j].
 */
struct conv_job {
	const struct plane *in;
	struct plane *out;           /* allocated by the caller, out->w x out->h */
	int kw, kh, nk;
	const float *wt;
	/*
	 * Cross-channel jobs (layer.c).  With nin > 1 inputs ins[0 .. nin)
	 * of one size (in == ins[0]), kernel b sums every input's
	 * correlation with its own matrix:
	 *   r_b(y, x) = sum_c sum_{i,j} wt_bc(i, j) * ins[c]'(y + i - ay, x + j - ax),
	 * wt_bc(i, j) = wt[((b * nin + c) * kh + i) * kw + j].  With outs
	 * non-NULL, r_b is written to outs[b] (nk planes of out's size, out
	 * == outs[0]) instead of being combined.  nin == 0 means 1.
	 * Engines that do not compute these themselves (engine.multi) get
	 * them from eng_run as single-plane jobs, one per input and kernel.
	 */
	int nin;
	const struct plane *const *ins;
	struct plane *const *outs;
	int ax, ay;
	enum kern_combine combine;
	struct border border;
	int threads;                 /* >= 1 */
	/*
	 * The tiles of an engine whose sums depend on where it cuts the
	 * plane (engine.tiles; all zero: its own choice for this job).  A
	 * step fixes them from the whole plane's job and cuts its strips at
	 * multiples of their rows, so that each strip computes the whole
	 * plane's tiles and the output is the same bytes for any strip.
	 */
	int tile[2];
	char note[160];              /* what the engine did, for -v; may stay empty */
};

/*
 * An engine.  supports() says whether it can run the job at all; cost() is
 * its estimated time in seconds on this machine class (from the constants in
 * eng_costs below); run() computes job->out.
 */
struct engine {
	const char *name;
	const char *summary;
	const char *takes;     /* the jobs supports() accepts, for the refusal; NULL: every job */
	int (*supports)(const struct conv_job *job);
	double (*cost)(const struct conv_job *job);
	int (*run)(struct conv_job *job, struct err *err);
	/*
	 * inplace (NULL: never) says whether run() may be given job->out ==
	 * job->in, the output written over the input plane, for a job whose
	 * output has the input's size.  It saves allocating (and the kernel
	 * zeroing) an output plane and half the memory traffic.
	 */
	int (*inplace)(const struct conv_job *job);
	/* multi says that run() computes cross-channel jobs (nin, outs) itself. */
	int multi;
	/*
	 * tiles (NULL: a sample's sum does not depend on where the plane is
	 * cut, vec.h) fills tile[] with the tiles run() would use for job
	 * and returns the output rows of one tile (see conv_job.tile).
	 */
	int (*tiles)(const struct conv_job *job, int tile[2]);
};

/* eng_nin is the number of input planes of job; eng_input is plane c. */
static inline int eng_nin(const struct conv_job *job)
{
	return job->nin > 1 ? job->nin : 1;
}

static inline const struct plane *eng_input(const struct conv_job *job, int c)
{
	return job->nin > 1 ? job->ins[c] : job->in;
}

/*
 * The cost model's constants, one table for every engine so that the
 * planner's trade-offs are read and re-tuned in one place (engine.c, with
 * how each was measured).  Times are seconds for one thread; each engine's
 * cost() says how it combines its row.
 */
#define ENG_FFT_SIDES 32

struct eng_costs {
	struct {
		double tap;          /* per multiply-add (one nonzero weight, one sample) */
		double px;           /* per output sample */
		double combine;      /* per output sample and kernel of a bank */
	} direct;
	struct {
		double tap;          /* per multiply-add of either pass */
		double px;           /* per output sample */
		double combine;      /* per output sample and kernel of a bank */
	} separable;
	struct {
		/*
		 * A tile's r2c + c2r pair of nh x nw, ns per n log2 n, n =
		 * nh nw, at the geometric mean of the rates of its sides;
		 * the rates include filling the tile, the product and the copy
		 * out.  Sides are tried in this order; n == 0 ends the table.
		 */
		struct { int n; double ns; } side[ENG_FFT_SIDES];
		double other_ns;     /* any other side (one tile for a small image) */
		double kernel_row;   /* per kept tile row and kernel */
		double setup;        /* plans and allocation, once per run */
		double px;           /* per output sample: the plane, tiles in and out */
		double par_eff;      /* speed of each of several threads, relative to one */
	} fft;
	struct {
		/* sgemm's multiply-add, by the kernel OpenBLAS chose for the CPU */
		double mac_avx512, mac_avx2, mac_sse;
		double copy;         /* per sample copied into the patch matrix */
		double px;           /* per output sample */
		double combine;      /* per output sample and kernel of a bank */
	} toeplitz;
};

extern const struct eng_costs eng_costs;

/* The engines, one per file. */
extern const struct engine eng_direct;
extern const struct engine eng_separable;
extern const struct engine eng_toeplitz;
extern const struct engine eng_fft;

/* eng_find returns the engine called name, or NULL; "auto" gives NULL too. */
const struct engine *eng_find(const char *name);

/* eng_count and eng_at enumerate the table (tests run every engine). */
int eng_count(void);
const struct engine *eng_at(int i);

/* eng_names lists the engine names for messages and --help ("direct, ..."). */
const char *eng_names(void);

/*
 * eng_supports and eng_cost are e's supports() and cost() for any job,
 * cross-channel ones included (for an engine without .multi: the jobs
 * eng_run splits it into, and the sums that adds).
 */
int eng_supports(const struct engine *e, const struct conv_job *job);
double eng_cost(const struct engine *e, const struct conv_job *job);

/* eng_choose returns the cheapest engine that supports job (never NULL). */
const struct engine *eng_choose(const struct conv_job *job);

/*
 * eng_explain prints the plan for --explain to f: each engine's estimated
 * time for one plane of job, or that it cannot run it, and the planner's
 * choice, one line per engine.  Of the planes only the sizes are read, so
 * job->in and job->out may be planes without samples.
 */
void eng_explain(FILE *f, const struct conv_job *job);

/* eng_run runs job with engine e, or the planner's choice when e is NULL. */
int eng_run(const struct engine *e, struct conv_job *job, struct err *err);

/*
 * Helpers shared by the engines.
 *
 * eng_combine folds kernel b's result row r into the output row acc:
 * b == 0 initialises acc.  eng_combine_finish applies the last step
 * (the square root of "magnitude").
 */
void eng_combine(enum kern_combine c, int b, float *acc, const float *r, int n);
void eng_combine_finish(enum kern_combine c, float *acc, int n);

/*
 * eng_pad_row writes row v (any integer) of job's input extended by the
 * border rule, columns start .. start + count - 1, to dst.
 */
void eng_pad_row(const struct conv_job *job, long v, long start, long count, float *dst);

/*
 * eng_stream says whether job's output plane is so large (over 16 MB)
 * that an engine should write it past the caches (VEC_STREAM, vec.h):
 * it cannot stay cached until it is read again anyway.
 */
int eng_stream(const struct conv_job *job);

/*
 * eng_scratch_alloc returns n floats aligned as plane rows are (contents
 * undefined), or NULL; eng_scratch_free gives them back.  Blocks given
 * back are kept for the next calls: an engine runs once per strip of
 * rows, and its rings, allocated and freed each time, would otherwise be
 * returned to the system and faulted in again (glibc trims its heap).
 */
float *eng_scratch_alloc(size_t n);
void eng_scratch_free(float *p);

/*
 * eng_time turns an engine's one-thread seconds for job (cpu) into its
 * estimate with job->threads threads: bands of rows share the work evenly.
 */
double eng_time(const struct conv_job *job, double cpu);

/*
 * eng_parallel splits rows [0, rows) into at most `threads` contiguous
 * bands and calls fn(ctx, y0, y1, band) for each, in parallel threads.
 * fn returns 0 or -1 (having filled its own error record in ctx).  The
 * split depends only on rows and threads, never on timing.
 */
int eng_parallel(int threads, int rows,
		 int (*fn)(void *ctx, int y0, int y1, int band), void *ctx);

/*
 * eng_band is band i's rows [*y0, *y1) of eng_parallel's split into n
 * bands, for an engine that prepares each band before any runs.
 */
void eng_band(int n, int rows, int i, int *y0, int *y1);

/*
 * Working in place, a band of output rows [y0, y1) reads the extended
 * source rows y0 - ay .. y1 - ay + kh - 2.  Its own rows it reads before
 * it overwrites them; the others, its halo (ay rows above y0 and
 * kh - 1 - ay from y1 on), other bands or the border rule may overwrite
 * first, so an engine copies them before any band starts.  The halo has
 * kh - 1 rows; eng_halo_row is extended row number s of it (s < kh - 1),
 * and eng_halo_slot is the s of extended row v, or -1 for the band's own.
 */
long eng_halo_row(const struct conv_job *job, int y0, int y1, int s);
long eng_halo_slot(const struct conv_job *job, int y0, int y1, long v);

#endif

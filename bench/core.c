/*
 * core.c: times the core convolution of each engine and of auto in one
 * process, on an image decoded once (make bench's core table).
 *
 *   core IMAGE SPEC REPS THREADS ENGINE...
 *
 * For each of REPS rounds, every ENGINE ("auto" for the planner) filters
 * a fresh copy of the decoded image with SPEC, one after the other, so
 * that a change in the machine's load falls on all of them alike; each
 * round starts one engine further on, so that none always follows the
 * same one (an FFT's or an sgemm's traces in the caches).  The
 * time is job_filter's, as -v reports it: planning, the engine on every
 * plane, and bias; decoding, the copy and encoding are left out.  Prints
 * one line per engine: its name and the median of its times in seconds,
 * or "-" when it cannot run the job.
 *
 * With CORE_STRIP=N in the environment, each engine (auto: the planner's
 * choice for the whole plane) is instead run on strips of N output rows,
 * as the streaming pipeline calls engines: one call per strip, its input
 * the whole plane with the anchor shifted, its output one strip-sized
 * plane reused for every strip (allocated before the clock starts).
 * Convolution, border reflect, scale folded in, bias left out.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "io.h"
#include "job.h"
#include "engine.h"
#include "kernel.h"

#define MAX_ENGINES 8
#define MAX_REPS 64

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

static int copy_image(struct image *dst, const struct image *src, struct err *err)
{
	int c, y;

	if (img_alloc(dst, src->w, src->h, src->nch, err))
		return -1;
	dst->depth = src->depth;
	for (c = 0; c < src->nch; c++)
		for (y = 0; y < src->h; y++)
			memcpy(plane_row(&dst->ch[c], y), plane_row(&src->ch[c], y),
			       (size_t)src->w * sizeof(float));
	return 0;
}

/* strip_weights is kernel k flipped for convolution and divided by its scale. */
static float *strip_weights(const struct kernel *k)
{
	size_t n = (size_t)k->w * k->h, i;
	float *wt = malloc(n * sizeof *wt);

	for (i = 0; wt != NULL && i < n; i++)
		wt[i] = (float)(k->m[n - 1 - i] / k->scale[0]);
	return wt;
}

/* run_strips filters every plane of im with k in strips of `rows` rows. */
static int run_strips(struct image *im, const struct kernel *k, const float *wt,
		      const struct engine *e, int threads, struct plane *strip, int rows,
		      struct err *err)
{
	struct conv_job job;
	struct plane view;
	int c, y0;

	for (c = 0; c < im->nch; c++) {
		memset(&job, 0, sizeof job);
		job.in = &im->ch[c];
		job.kw = k->w;
		job.kh = k->h;
		job.nk = 1;
		job.wt = wt;
		job.ax = k->w - 1 - k->ox;
		job.border.mode = BORDER_REFLECT;
		job.threads = threads;
		for (y0 = 0; y0 < im->h; y0 += rows) {
			view = *strip;
			view.h = im->h - y0 < rows ? im->h - y0 : rows;
			job.out = &view;
			job.ay = k->h - 1 - k->oy - y0;
			if (eng_run(e, &job, err))
				return -1;
		}
	}
	return 0;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
	struct image im, work;
	struct kernel k, *kp = &k;
	struct err err = { 0 };
	double t[MAX_ENGINES][MAX_REPS], t0;
	int ok[MAX_ENGINES], reps, threads, ne, e, r, i, rows = 0;
	struct plane strip;
	float *wt = NULL;
	const char *env = getenv("CORE_STRIP");

	if (argc < 6 || argc - 5 > MAX_ENGINES) {
		fprintf(stderr, "usage: core IMAGE SPEC REPS THREADS ENGINE...\n");
		return 64;
	}
	reps = atoi(argv[3]);
	threads = atoi(argv[4]);
	ne = argc - 5;
	if (reps < 1 || reps > MAX_REPS || threads < 1) {
		fprintf(stderr, "core: REPS 1..%d and THREADS >= 1\n", MAX_REPS);
		return 64;
	}
	memset(&im, 0, sizeof im);
	memset(&k, 0, sizeof k);
	if (io_read(argv[1], &im, &err) || kern_resolve(argv[2], &k, &err)) {
		fprintf(stderr, "core: %s\n", err.msg);
		return 65;
	}
	memset(&strip, 0, sizeof strip);
	if (env != NULL && (rows = atoi(env)) > 0) {
		if (k.n != 1 || k.nin != 0 || (wt = strip_weights(&k)) == NULL ||
		    plane_alloc(&strip, im.w, rows, &err)) {
			fprintf(stderr, "core: CORE_STRIP takes one kernel and memory\n");
			return 64;
		}
	}
	for (e = 0; e < ne; e++) {
		ok[e] = strcmp(argv[5 + e], "auto") == 0 || eng_find(argv[5 + e]) != NULL;
		if (!ok[e])
			fprintf(stderr, "core: no engine %s\n", argv[5 + e]);
	}
	for (r = 0; r < reps; r++)
		for (i = 0; i < ne; i++) {
			struct job_opts opts;

			e = (i + r) % ne;
			if (!ok[e])
				continue;
			memset(&opts, 0, sizeof opts);
			opts.engine = strcmp(argv[5 + e], "auto") == 0 ? NULL : eng_find(argv[5 + e]);
			opts.border.mode = BORDER_REFLECT;
			opts.threads = threads;
			memset(&work, 0, sizeof work);
			err.cls = ERR_NONE;
			if (copy_image(&work, &im, &err)) {
				fprintf(stderr, "core: %s\n", err.msg);
				return 71;
			}
			t0 = now();
			if (rows > 0) {
				const struct engine *eg = opts.engine;

				if (eg == NULL) {
					/* The plan for the whole plane, as the pipeline makes it once. */
					struct conv_job pj;
					struct plane sizes = { 0 };

					memset(&pj, 0, sizeof pj);
					sizes.w = work.w;
					sizes.h = work.h;
					pj.in = &work.ch[0];
					pj.out = &sizes;
					pj.kw = k.w;
					pj.kh = k.h;
					pj.nk = 1;
					pj.wt = wt;
					pj.ax = k.w - 1 - k.ox;
					pj.ay = k.h - 1 - k.oy;
					pj.border.mode = BORDER_REFLECT;
					pj.threads = threads;
					eg = eng_choose(&pj);
				}
				if (run_strips(&work, &k, wt, eg, threads, &strip, rows, &err))
					ok[e] = 0;
			} else if (job_filter(&work, &kp, 1, &opts, &err)) {
				ok[e] = 0;
			}
			t[e][r] = now() - t0;
			img_free(&work);
		}
	for (e = 0; e < ne; e++) {
		if (!ok[e]) {
			printf("%s -\n", argv[5 + e]);
			continue;
		}
		qsort(t[e], (size_t)reps, sizeof t[e][0], cmp_double);
		printf("%s %.4f\n", argv[5 + e], t[e][reps / 2]);
	}
	img_free(&im);
	kern_free(&k);
	plane_free(&strip);
	free(wt);
	return 0;
}

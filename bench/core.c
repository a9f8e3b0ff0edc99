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
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "io.h"
#include "job.h"
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
	int ok[MAX_ENGINES], reps, threads, ne, e, r, i;

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
			if (job_filter(&work, &kp, 1, &opts, &err))
				ok[e] = 0;
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
	return 0;
}

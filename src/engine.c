/* engine.c: the engine table, the auto planner and helpers for engines. */
#include "engine.h"

#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

static const struct engine *const engines[] = {
	&eng_direct,
};

#define N_ENGINES (sizeof engines / sizeof engines[0])

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

const struct engine *eng_choose(const struct conv_job *job)
{
	const struct engine *best = NULL;
	double c, best_cost = HUGE_VAL;
	size_t i;

	for (i = 0; i < N_ENGINES; i++) {
		if (!engines[i]->supports(job))
			continue;
		c = engines[i]->cost(job);
		if (best == NULL || c < best_cost) {
			best = engines[i];
			best_cost = c;
		}
	}
	return best != NULL ? best : &eng_direct;
}

int eng_run(const struct engine *e, struct conv_job *job, struct err *err)
{
	if (e == NULL)
		e = eng_choose(job);
	if (!e->supports(job))
		return err_set(err, ERR_USAGE, "engine %s cannot run this job", e->name);
	job->note[0] = '\0';
	return e->run(job, err);
}

void eng_combine(enum kern_combine c, int b, float *acc, const float *r, int n)
{
	int x;

	if (b == 0) {
		if (c == KERN_MAGNITUDE)
			for (x = 0; x < n; x++)
				acc[x] = r[x] * r[x];
		else if (acc != r)
			memcpy(acc, r, (size_t)n * sizeof *acc);
		return;
	}
	switch (c) {
	case KERN_SUM:
		for (x = 0; x < n; x++)
			acc[x] += r[x];
		break;
	case KERN_MAX:
		for (x = 0; x < n; x++)
			acc[x] = r[x] > acc[x] ? r[x] : acc[x];
		break;
	case KERN_MAGNITUDE:
		for (x = 0; x < n; x++)
			acc[x] += r[x] * r[x];
		break;
	}
}

void eng_combine_finish(enum kern_combine c, float *acc, int n)
{
	int x;

	if (c == KERN_MAGNITUDE)
		for (x = 0; x < n; x++)
			acc[x] = sqrtf(acc[x]);
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

int eng_parallel(int threads, int rows,
		 int (*fn)(void *ctx, int y0, int y1, int band), void *ctx)
{
	struct band *bands;
	int i, n, started, status = 0;

	n = threads < rows ? threads : rows;
	if (n <= 1)
		return fn(ctx, 0, rows, 0);
	bands = calloc((size_t)n, sizeof *bands);
	if (bands == NULL)
		return fn(ctx, 0, rows, 0);
	for (i = 0; i < n; i++) {
		bands[i].fn = fn;
		bands[i].ctx = ctx;
		bands[i].index = i;
		bands[i].y0 = (int)((long long)rows * i / n);
		bands[i].y1 = (int)((long long)rows * (i + 1) / n);
	}
	/* Band 0 runs on this thread; a band whose thread cannot start runs here too. */
	for (started = 1; started < n; started++)
		if (pthread_create(&bands[started].tid, NULL, band_main, &bands[started]) != 0)
			break;
	for (i = started; i < n; i++)
		band_main(&bands[i]);
	band_main(&bands[0]);
	for (i = 1; i < started; i++)
		pthread_join(bands[i].tid, NULL);
	for (i = 0; i < n; i++)
		if (bands[i].status)
			status = -1;
	free(bands);
	return status;
}

/*
 * copy.c: make bench's STREAM-style copy.  Copies a buffer of N bytes
 * (default 288000000, the three float planes of 6000x4000 RGB) into
 * another with T threads (default 2), each thread its own slice, REPS
 * times (default 5), after touching both buffers once.  Prints the median
 * time of one copy in seconds and the bandwidth in GB/s counting bytes read
 * plus bytes written, as STREAM's copy does.
 */
#define _POSIX_C_SOURCE 200809L
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct slice {
	char *dst;
	const char *src;
	size_t n;
};

static void *copy_slice(void *arg)
{
	struct slice *s = arg;

	memcpy(s->dst, s->src, s->n);
	return NULL;
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

static int cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

int main(int argc, char **argv)
{
	size_t n = argc > 1 ? strtoull(argv[1], NULL, 10) : 288000000u;
	int threads = argc > 2 ? atoi(argv[2]) : 2;
	int reps = argc > 3 ? atoi(argv[3]) : 5;
	char *a, *b;
	pthread_t tid[64];
	struct slice sl[64];
	double t[64];
	int r, i;

	if (threads < 1 || threads > 64 || reps < 1 || reps > 64 || n < (size_t)threads)
		return 2;
	a = malloc(n);
	b = malloc(n);
	if (a == NULL || b == NULL)
		return 1;
	memset(a, 1, n);
	memset(b, 2, n);
	for (r = 0; r < reps; r++) {
		double t0 = now();

		for (i = 0; i < threads; i++) {
			size_t lo = n / (size_t)threads * (size_t)i;
			size_t hi = i == threads - 1 ? n : n / (size_t)threads * (size_t)(i + 1);

			sl[i].dst = b + lo;
			sl[i].src = a + lo;
			sl[i].n = hi - lo;
			if (pthread_create(&tid[i], NULL, copy_slice, &sl[i]) != 0)
				return 1;
		}
		for (i = 0; i < threads; i++)
			pthread_join(tid[i], NULL);
		t[r] = now() - t0;
	}
	qsort(t, (size_t)reps, sizeof t[0], cmp);
	printf("%.4f %.1f\n", t[reps / 2], 2.0 * (double)n / t[reps / 2] / 1e9);
	free(a);
	free(b);
	return 0;
}

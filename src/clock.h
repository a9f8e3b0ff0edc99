/* clock.h: seconds on the monotonic clock, for -v timings and progress. */
#ifndef IMF_CLOCK_H
#define IMF_CLOCK_H

#include <time.h>

static inline double clock_seconds(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

#endif

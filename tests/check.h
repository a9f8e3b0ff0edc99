/* check.h: the tiny harness every C unit test uses. */
#ifndef IMF_CHECK_H
#define IMF_CHECK_H

#include <stdarg.h>
#include <stdio.h>

/*
 * Each check prints one line, "PASS: name" or "FAIL: name: detail", which
 * tests/run.sh counts (and check_skip "SKIP: name: why"); check_exit() makes the binary's exit status say
 * whether anything failed.
 */
static int check_failures;

static inline __attribute__((format(printf, 3, 4)))
int check(int ok, const char *name, const char *fmt, ...)
{
	va_list ap;

	if (ok) {
		printf("PASS: %s\n", name);
	} else {
		check_failures++;
		printf("FAIL: %s: ", name);
		va_start(ap, fmt);
		vprintf(fmt, ap);
		va_end(ap);
		printf("\n");
	}
	fflush(stdout);
	return ok;
}

/*
 * check_skip prints "SKIP: name: why" for a case this machine cannot run;
 * tests/run.sh counts it apart, neither passed nor failed.
 */
static inline __attribute__((format(printf, 2, 3)))
void check_skip(const char *name, const char *fmt, ...)
{
	va_list ap;

	printf("SKIP: %s: ", name);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	fflush(stdout);
}

/*
 * rnd is a small deterministic generator (xorshift64), uniform in [0, 1),
 * so that a failure reproduces exactly.  It starts from CHECK_RNG_SEED,
 * which a test may define before including this file.
 */
#ifndef CHECK_RNG_SEED
#define CHECK_RNG_SEED 0x2545f4914f6cdd1dULL
#endif

static inline double rnd(void)
{
	static unsigned long long state = CHECK_RNG_SEED;

	state ^= state << 13;
	state ^= state >> 7;
	state ^= state << 17;
	return (double)(state >> 11) / 9007199254740992.0;
}

static inline int check_exit(void)
{
	return check_failures ? 1 : 0;
}

#endif

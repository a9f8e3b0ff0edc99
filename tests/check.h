/* check.h: the tiny harness every C unit test uses. */
#ifndef IMF_CHECK_H
#define IMF_CHECK_H

#include <stdarg.h>
#include <stdio.h>

/*
 * Each check prints one line, "PASS: name" or "FAIL: name: detail", which
 * tests/run.sh counts; check_exit() makes the binary's exit status say
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

static inline int check_exit(void)
{
	return check_failures ? 1 : 0;
}

#endif

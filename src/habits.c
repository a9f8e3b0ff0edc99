/* habits.c: ImageMagick's options, answered with imfilter's equivalents. */
#include "habits.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "kernel.h"

/* number reads all of s as a finite decimal number; 0 or -1. */
static int number(const char *s, double *v)
{
	char *end;

	errno = 0;
	*v = strtod(s, &end);
	return end == s || *end != '\0' || errno == ERANGE || !isfinite(*v) ? -1 : 0;
}

/*
 * blur answers -blur RxS (and -gaussian-blur): sigma S, radius R (0:
 * chosen from sigma).  strtod would read "0x2" as hexadecimal, so the two
 * numbers are cut apart first.
 */
static void blur(const char *arg, char *buf, size_t size)
{
	const char *x = arg != NULL ? strchr(arg, 'x') : NULL;
	double r = -1, sigma = 0;
	char rs[32];

	if (x != NULL && (size_t)(x - arg) < sizeof rs) {
		memcpy(rs, arg, (size_t)(x - arg));
		rs[x - arg] = '\0';
		if (number(rs, &r) || number(x + 1, &sigma) || r > KERN_MAX_SIDE)
			r = -1;
	}
	if (r >= 1 && sigma > 0)
		snprintf(buf, size, "-k gaussian:%g,%d", sigma, 2 * (int)r + 1);
	else if (r >= 0 && sigma > 0)
		snprintf(buf, size, "-k gaussian:%g", sigma);
	else
		snprintf(buf, size, "-k gaussian:SIGMA[,SIZE]");
}

/*
 * unsharp answers -unsharp RxS[+GAIN[+THRESHOLD]] with the unsharp
 * generator, which is ImageMagick's own at radius 0 (its automatic size)
 * and threshold 0; a threshold is not linear, so the answer says it is
 * left out.
 */
static void unsharp(const char *arg, char *buf, size_t size)
{
	const char *x = arg != NULL ? strchr(arg, 'x') : NULL;
	double v[3] = { 0, 1, 0.05 };      /* sigma, gain, threshold: its defaults */
	char part[32], *plus;
	const char *p;
	int i, ok = x != NULL;

	for (i = 0, p = ok ? x + 1 : ""; ok && i < 3 && *p != '\0'; i++) {
		snprintf(part, sizeof part, "%s", p);
		if ((plus = strchr(part, '+')) != NULL)
			*plus = '\0';
		ok = number(part, &v[i]) == 0;
		p = strchr(p, '+') != NULL ? strchr(p, '+') + 1 : "";
	}
	if (!ok || !(v[0] > 0) || v[1] < 0)
		snprintf(buf, size, "-k unsharp:SIGMA[,AMOUNT]");
	else if (v[2] != 0)
		snprintf(buf, size, "-k unsharp:%g,%g (as -unsharp 0x%g+%g+0: a threshold is "
			 "not linear, so none is applied)", v[0], v[1], v[0], v[1]);
	else
		snprintf(buf, size, "-k unsharp:%g,%g", v[0], v[1]);
}

/* convolve answers -convolve 'v,v,...' (a square's weights) with the inline matrix. */
static void convolve(const char *arg, char *buf, size_t size)
{
	char vals[200];
	size_t len = 0;
	int n = 0, side = 0;
	const char *p;

	for (p = arg ? arg : ""; *p != '\0' && len + 2 < sizeof vals; p++) {
		int sep = *p == ',' || *p == ' ';

		if (!sep && (len == 0 || vals[len - 1] == ' '))
			n++;
		if (!sep)
			vals[len++] = *p;
		else if (len > 0 && vals[len - 1] != ' ')
			vals[len++] = ' ';
	}
	vals[len] = '\0';
	while ((side + 1) * (side + 1) <= n)
		side++;
	if (*p == '\0' && n > 0 && side * side == n)
		snprintf(buf, size, "-k '%dx%d: %s'", side, side, vals);
	else
		snprintf(buf, size, "-k 'WxH: v v ...' (the weights row by row)");
}

/* morphology answers -morphology METHOD KERNEL: convolution is what there is. */
static void morphology(const char *arg, char *buf, size_t size)
{
	snprintf(buf, size, "-k SPEC%s (imfilter convolves; its kernels: --list-kernels)",
		 arg != NULL && strcasecmp(arg, "correlate") == 0 ? " --correlate" : "");
}

static const struct habit {
	const char *name;
	const char *answer;    /* NULL: built by fill from the option's argument */
	void (*fill)(const char *arg, char *buf, size_t size);
} habits[] = {
	{ "-blur", NULL, blur },
	{ "-gaussian-blur", NULL, blur },
	{ "-sharpen", "-k sharpen", NULL },
	{ "-unsharp", NULL, unsharp },
	{ "-convolve", NULL, convolve },
	{ "-morphology", NULL, morphology },
	{ "-emboss", "-k emboss", NULL },
	{ "-edge", "-k edge", NULL },
};

int habit_find(int argc, char **argv, char *here, size_t size)
{
	size_t h;
	int i;

	for (i = 1; i < argc && strcmp(argv[i], "--") != 0; i++) {
		for (h = 0; h < sizeof habits / sizeof habits[0]; h++) {
			if (strcmp(argv[i], habits[h].name) != 0)
				continue;
			if (habits[h].fill != NULL)
				habits[h].fill(i + 1 < argc ? argv[i + 1] : NULL, here, size);
			else
				snprintf(here, size, "%s", habits[h].answer);
			return i;
		}
	}
	return -1;
}

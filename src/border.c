/* border.c: index mapping and padded rows for every border mode. */
#include "border.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const struct {
	const char *name;
	enum border_mode mode;
} border_names[] = {
	{ "zero", BORDER_CONST },    { "constant", BORDER_CONST },
	{ "clamp", BORDER_CLAMP },   { "edge", BORDER_CLAMP },
	{ "replicate", BORDER_CLAMP }, { "nearest", BORDER_CLAMP },
	{ "reflect", BORDER_REFLECT }, { "symmetric", BORDER_REFLECT },
	{ "mirror", BORDER_MIRROR }, { "reflect101", BORDER_MIRROR },
	{ "wrap", BORDER_WRAP },     { "circular", BORDER_WRAP },
	{ "periodic", BORDER_WRAP },
};

/* parse_one reads one mode s[0..len) into *mode and, for a constant, *value. */
static int parse_one(const char *s, size_t len, enum border_mode *mode, float *value,
		     char *why, size_t whysz)
{
	char buf[64], *end, *num;
	size_t i;
	double v;

	if (len >= sizeof buf) {
		snprintf(why, whysz, "unknown border mode \"%.40s...\" (zero, const=V, clamp, "
			 "reflect, mirror, wrap; or X,Y per axis)", s);
		return -1;
	}
	memcpy(buf, s, len);
	buf[len] = '\0';
	if (strncmp(buf, "const=", 6) == 0 || strncmp(buf, "constant=", 9) == 0) {
		num = strchr(buf, '=') + 1;
		v = strtod(num, &end);
		if (end == num || *end != '\0' || !(v > -1e30 && v < 1e30)) {
			snprintf(why, whysz, "\"%s\" is not a number (const=V)", num);
			return -1;
		}
		*mode = BORDER_CONST;
		*value = (float)v;
		return 0;
	}
	for (i = 0; i < sizeof border_names / sizeof border_names[0]; i++) {
		if (strcmp(buf, border_names[i].name) == 0) {
			*mode = border_names[i].mode;
			*value = 0.0f;
			return 0;
		}
	}
	snprintf(why, whysz, "unknown border mode \"%s\" (zero, const=V, clamp, reflect, "
		 "mirror, wrap; or X,Y per axis)", buf);
	return -1;
}

int border_parse(const char *s, struct border *b, char *why, size_t whysz)
{
	const char *comma = strchr(s, ',');
	enum border_mode mx, my;
	float vx, vy;

	if (comma == NULL) {
		if (parse_one(s, strlen(s), &mx, &vx, why, whysz))
			return -1;
		b->mode = b->ymode = mx;
		b->value = vx;
		b->per_axis = 0;
		return 0;
	}
	if (parse_one(s, (size_t)(comma - s), &mx, &vx, why, whysz) ||
	    parse_one(comma + 1, strlen(comma + 1), &my, &vy, why, whysz))
		return -1;
	if (mx == BORDER_CONST && my == BORDER_CONST && vx != vy) {
		snprintf(why, whysz, "the two constants must be equal");
		return -1;
	}
	b->mode = mx;
	b->ymode = my;
	b->value = mx == BORDER_CONST ? vx : vy;
	b->per_axis = mx != my;
	return 0;
}

const char *border_name(enum border_mode mode)
{
	switch (mode) {
	case BORDER_CONST: return "const";
	case BORDER_CLAMP: return "clamp";
	case BORDER_REFLECT: return "reflect";
	case BORDER_MIRROR: return "mirror";
	case BORDER_WRAP: return "wrap";
	}
	return "?";
}

/* pos_mod is i mod n in [0, n) for any sign of i. */
static long pos_mod(long i, long n)
{
	long m = i % n;

	return m < 0 ? m + n : m;
}

long border_index(enum border_mode mode, long i, long n)
{
	long m;

	if (i >= 0 && i < n)
		return i;
	switch (mode) {
	case BORDER_CONST:
		return -1;
	case BORDER_CLAMP:
		return i < 0 ? 0 : n - 1;
	case BORDER_REFLECT:
		/* Period 2n: a b c d | d c b a | a b c d ... */
		m = pos_mod(i, 2 * n);
		return m < n ? m : 2 * n - 1 - m;
	case BORDER_MIRROR:
		/* Period 2n-2: a b c d | c b | a b c d ...; one sample: itself. */
		if (n == 1)
			return 0;
		m = pos_mod(i, 2 * n - 2);
		return m < n ? m : 2 * n - 2 - m;
	case BORDER_WRAP:
		return pos_mod(i, n);
	}
	return 0;
}

void border_span(const struct border *b, const float *src, long n,
		 long start, long count, float *dst)
{
	long p, j, lo, hi;

	/* The part inside the row is one copy; only the ends need mapping. */
	lo = start < 0 ? -start : 0;
	hi = n - start < count ? n - start : count;
	if (lo < hi)
		memcpy(dst + lo, src + start + lo, (size_t)(hi - lo) * sizeof *src);
	else
		lo = hi = count < lo ? count : lo;
	for (p = 0; p < lo; p++) {
		j = border_index(b->mode, start + p, n);
		dst[p] = j < 0 ? b->value : src[j];
	}
	for (p = hi > 0 ? hi : 0; p < count; p++) {
		j = border_index(b->mode, start + p, n);
		dst[p] = j < 0 ? b->value : src[j];
	}
}

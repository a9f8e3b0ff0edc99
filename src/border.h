/* border.h: border modes, the samples an engine sees outside the image. */
#ifndef IMF_BORDER_H
#define IMF_BORDER_H

/*
 * For a row "a b c d" the samples left of a are, by mode:
 *   BORDER_CONST    V V V     (zero: V = 0)
 *   BORDER_CLAMP    a a a
 *   BORDER_REFLECT  c b a     (half-sample symmetric; period 2n)
 *   BORDER_MIRROR   d c b     (whole-sample, edge not repeated; period 2n-2)
 *   BORDER_WRAP     b c d     (periodic; period n)
 * Borders wider than the image repeat the rule, so every index maps to a
 * sample (or to V) whatever its distance from the image.
 */
enum border_mode {
	BORDER_CONST = 0,
	BORDER_CLAMP,
	BORDER_REFLECT,
	BORDER_MIRROR,
	BORDER_WRAP
};

struct border {
	enum border_mode mode;
	float value;          /* BORDER_CONST only */
};

/*
 * border_parse reads a mode name or alias ("zero", "constant", "const=V",
 * "clamp", "edge", "replicate", "nearest", "reflect", "symmetric", "mirror",
 * "reflect101", "wrap", "circular", "periodic").  Returns 0 or -1.
 */
int border_parse(const char *s, struct border *b);

/* border_name is the canonical name of b's mode ("zero", "const", ...). */
const char *border_name(enum border_mode mode);

/*
 * border_index maps index i (any value) into [0, n) by mode; for
 * BORDER_CONST it returns -1 when i is outside, meaning "the value V".
 */
long border_index(enum border_mode mode, long i, long n);

/*
 * border_span writes dst[p] = the sample at index start + p of the row src
 * (n samples) extended by b's rule, for p in [0, count).  start may be
 * negative and the span may reach past either end, or lie wholly outside.
 */
void border_span(const struct border *b, const float *src, long n,
		 long start, long count, float *dst);

#endif

/* border.h: border modes, the samples an engine sees outside the image. */
#ifndef IMF_BORDER_H
#define IMF_BORDER_H

#include <stddef.h>

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

/*
 * A border has one mode for both axes, or with per_axis one for the
 * columns (mode, the x axis) and one for the rows (ymode): SciPy's
 * mode=[rows, columns] is -b COLUMNS,ROWS here.  A sample outside in both
 * directions takes the row rule, then the column rule (so outside a
 * constant axis it is the value, whatever the other axis says), as SciPy
 * maps each axis on its own.  Zero-initialised, per_axis is 0 and mode
 * serves both axes, so code that sets mode alone keeps its meaning.
 */
struct border {
	enum border_mode mode;    /* the columns, and the rows too unless per_axis */
	float value;              /* BORDER_CONST only (either axis) */
	int per_axis;             /* the rows follow ymode */
	enum border_mode ymode;
};

/* border_ymode is the rule for rows (the y axis). */
static inline enum border_mode border_ymode(const struct border *b)
{
	return b->per_axis ? b->ymode : b->mode;
}

/* border_has says whether either axis uses mode m. */
static inline int border_has(const struct border *b, enum border_mode m)
{
	return b->mode == m || border_ymode(b) == m;
}

/*
 * border_parse reads a mode name or alias ("zero", "constant", "const=V",
 * "clamp", "edge", "replicate", "nearest", "reflect", "symmetric", "mirror",
 * "reflect101", "wrap", "circular", "periodic"), or two of them "X,Y",
 * the columns' then the rows'.  Two constant values must be equal.
 * Returns 0 or -1; why (whysz bytes) then says what was wrong.
 */
int border_parse(const char *s, struct border *b, char *why, size_t whysz);

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

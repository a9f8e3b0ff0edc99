/* size.h: overflow-checked size arithmetic, used before every allocation. */
#ifndef IMF_SIZE_H
#define IMF_SIZE_H

#include <stddef.h>
#include <stdint.h>

/* size_mul sets *r = a * b and returns 0, or returns -1 on overflow. */
static inline int size_mul(size_t *r, size_t a, size_t b)
{
	if (a != 0 && b > SIZE_MAX / a)
		return -1;
	*r = a * b;
	return 0;
}

/* size_mul3 sets *r = a * b * c and returns 0, or returns -1 on overflow. */
static inline int size_mul3(size_t *r, size_t a, size_t b, size_t c)
{
	size_t ab;

	return size_mul(&ab, a, b) || size_mul(r, ab, c) ? -1 : 0;
}

/* size_add sets *r = a + b and returns 0, or returns -1 on overflow. */
static inline int size_add(size_t *r, size_t a, size_t b)
{
	if (b > SIZE_MAX - a)
		return -1;
	*r = a + b;
	return 0;
}

#endif

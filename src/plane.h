/* plane.h: one channel of float samples, the unit every engine works on. */
#ifndef IMF_PLANE_H
#define IMF_PLANE_H

#include <stddef.h>

#include "err.h"

/*
 * A plane is w x h float samples, row y starting at px + y * stride.  The
 * stride is a multiple of PLANE_ALIGN floats and px is aligned to
 * PLANE_ALIGN * sizeof(float) bytes, so every row starts on a cache line
 * and vector loads of a whole row need no peeling.  Samples past w in a row
 * are padding: allocated, zeroed, never part of the image.
 */
#define PLANE_ALIGN 16

struct plane {
	int w, h;
	ptrdiff_t stride;
	float *px;
};

/* Largest side accepted anywhere (keeps every int index computation safe). */
#define PLANE_MAX_SIDE (1 << 24)

/*
 * plane_alloc allocates a zeroed w x h plane (w, h >= 1).  On failure it
 * returns -1 with err filled (ERR_OS) and *p zeroed.
 */
int plane_alloc(struct plane *p, int w, int h, struct err *err);

/* plane_free releases p's samples and zeroes it; safe on a zeroed plane. */
void plane_free(struct plane *p);

/* plane_add adds v to every sample of p (a bias; nothing to do for 0). */
void plane_add(struct plane *p, float v);

/* plane_row is the address of row y. */
static inline float *plane_row(const struct plane *p, int y)
{
	return p->px + (ptrdiff_t)y * p->stride;
}

/*
 * plane_aligned_alloc returns n floats aligned as plane rows are, or NULL
 * (also on size overflow); free them with plane_aligned_free.
 */
float *plane_aligned_alloc(size_t n);
void plane_aligned_free(float *p);

#endif

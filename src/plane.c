/* plane.c: aligned, overflow-checked allocation of float planes. */
#include "plane.h"

#include <stdlib.h>
#include <string.h>

#include "size.h"

float *plane_aligned_alloc(size_t n)
{
	size_t bytes;
	void *p;

	if (n == 0)
		n = 1;
	if (size_mul(&bytes, n, sizeof(float)))
		return NULL;
	/* aligned_alloc wants a size that is a multiple of the alignment. */
	if (size_add(&bytes, bytes, PLANE_ALIGN * sizeof(float) - 1))
		return NULL;
	bytes -= bytes % (PLANE_ALIGN * sizeof(float));
	p = aligned_alloc(PLANE_ALIGN * sizeof(float), bytes);
	return p;
}

void plane_aligned_free(float *p)
{
	free(p);
}

int plane_alloc(struct plane *p, int w, int h, struct err *err)
{
	size_t stride, n;

	memset(p, 0, sizeof *p);
	if (w < 1 || h < 1 || w > PLANE_MAX_SIDE || h > PLANE_MAX_SIDE)
		return err_set(err, ERR_OS, "image of %d x %d pixels: size out of range", w, h);
	stride = ((size_t)w + PLANE_ALIGN - 1) / PLANE_ALIGN * PLANE_ALIGN;
	if (size_mul(&n, stride, (size_t)h))
		return err_set(err, ERR_OS, "image of %d x %d pixels: size overflow", w, h);
	p->px = plane_aligned_alloc(n);
	if (p->px == NULL)
		return err_set(err, ERR_OS, "%d x %d plane: out of memory", w, h);
	memset(p->px, 0, n * sizeof(float));
	p->w = w;
	p->h = h;
	p->stride = (ptrdiff_t)stride;
	return 0;
}

void plane_free(struct plane *p)
{
	plane_aligned_free(p->px);
	memset(p, 0, sizeof *p);
}

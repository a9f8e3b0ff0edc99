/* plane.c: aligned, overflow-checked allocation of float planes. */
#include "plane.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "size.h"

/*
 * Blocks are aligned by hand rather than with aligned_alloc, so that a
 * plane can come from calloc: for a block as large as a photo's plane
 * the C library maps fresh pages, which the system gives zeroed, and
 * calloc then skips clearing them.  The pages are then touched first
 * where the samples are written (by the decoder, as it goes), not all
 * at once before decoding starts: for a 24-megapixel image 70000 page
 * faults, a fifth of a second, move off the critical path.  The address
 * malloc returned is kept just below the aligned one, for the free.
 */
#define ALIGN_BYTES (PLANE_ALIGN * sizeof(float))

static float *aligned_block(size_t n, int zero)
{
	unsigned char *raw, *p;
	size_t bytes;

	if (n == 0)
		n = 1;
	if (size_mul(&bytes, n, sizeof(float)) ||
	    size_add(&bytes, bytes, ALIGN_BYTES + sizeof raw))
		return NULL;
	raw = zero ? calloc(1, bytes) : malloc(bytes);
	if (raw == NULL)
		return NULL;
	p = raw + sizeof raw;
	p += (ALIGN_BYTES - (uintptr_t)p % ALIGN_BYTES) % ALIGN_BYTES;
	memcpy(p - sizeof raw, &raw, sizeof raw);
	return (float *)(void *)p;
}

float *plane_aligned_alloc(size_t n)
{
	return aligned_block(n, 0);
}

void plane_aligned_free(float *p)
{
	unsigned char *raw;

	if (p == NULL)
		return;
	memcpy(&raw, (unsigned char *)p - sizeof raw, sizeof raw);
	free(raw);
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
	p->px = aligned_block(n, 1);
	if (p->px == NULL)
		return err_set(err, ERR_OS, "%d x %d plane: out of memory", w, h);
	p->w = w;
	p->h = h;
	p->stride = (ptrdiff_t)stride;
	return 0;
}

void plane_add(struct plane *p, float v)
{
	int y, x;

	if (v == 0.0f)
		return;
	for (y = 0; y < p->h; y++) {
		float *row = plane_row(p, y);

		for (x = 0; x < p->w; x++)
			row[x] += v;
	}
}

void plane_free(struct plane *p)
{
	plane_aligned_free(p->px);
	memset(p, 0, sizeof *p);
}

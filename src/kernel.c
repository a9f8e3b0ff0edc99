/* kernel.c: struct kernel's life: allocation, release and dilation. */
#include "kernel.h"

#include <stdlib.h>
#include <string.h>

#include "size.h"

/* ---- Lifecycle ---------------------------------------------------------- */

int kern_alloc(struct kernel *k, int w, int h, int n, struct err *err)
{
	size_t count;
	int b;

	memset(k, 0, sizeof *k);
	if (w < 1 || h < 1 || n < 1 || w > KERN_MAX_SIDE || h > KERN_MAX_SIDE ||
	    n > KERN_MAX_BANK || (long)w * h > KERN_MAX_ELEMS)
		return err_set(err, ERR_SOFTWARE, "kern_alloc: bad size %dx%d x %d",
			       w, h, n);
	if (size_mul3(&count, (size_t)w, (size_t)h, (size_t)n))
		return err_oom(err, "kernel");
	k->m = calloc(count, sizeof *k->m);
	k->scale = malloc((size_t)n * sizeof *k->scale);
	if (k->m == NULL || k->scale == NULL) {
		kern_free(k);
		return err_oom(err, "kernel");
	}
	for (b = 0; b < n; b++)
		k->scale[b] = 1;
	k->w = w;
	k->h = h;
	k->n = n;
	k->ox = w / 2;
	k->oy = h / 2;
	k->combine = KERN_SUM;
	return 0;
}

void kern_free(struct kernel *k)
{
	free(k->m);
	free(k->scale);
	free(k->biases);
	memset(k, 0, sizeof *k);
}

int kern_dilate(const struct kernel *k, int dx, int dy, struct kernel *out, struct err *err)
{
	long w = (long)(k->w - 1) * dx + 1, h = (long)(k->h - 1) * dy + 1;
	int b, y, x, nk = k->nin > 0 ? k->n / k->nin : 0;

	memset(out, 0, sizeof *out);
	if (w > KERN_MAX_SIDE || h > KERN_MAX_SIDE || w * h > KERN_MAX_ELEMS)
		return err_set(err, ERR_USAGE, "--dilation %d,%d: kernel %s would be %ldx%ld, "
			       "over the limit of %d a side and %ld weights", dx, dy, k->name,
			       w, h, KERN_MAX_SIDE, (long)KERN_MAX_ELEMS);
	if (kern_alloc(out, (int)w, (int)h, k->n, err))
		return -1;
	if (nk > 0 && (out->biases = malloc((size_t)nk * sizeof *out->biases)) == NULL) {
		kern_free(out);
		return err_oom(err, k->name);
	}
	memcpy(out->name, k->name, sizeof out->name);
	memcpy(out->desc, k->desc, sizeof out->desc);
	out->ox = k->ox * dx;
	out->oy = k->oy * dy;
	out->combine = k->combine;
	out->bias = k->bias;
	out->nin = k->nin;
	out->combined = k->combined;
	if (nk > 0)
		memcpy(out->biases, k->biases, (size_t)nk * sizeof *out->biases);
	memcpy(out->scale, k->scale, (size_t)k->n * sizeof *out->scale);
	for (b = 0; b < k->n; b++)
		for (y = 0; y < k->h; y++)
			for (x = 0; x < k->w; x++)
				out->m[((size_t)b * h + (size_t)y * dy) * w + (size_t)x * dx] =
					k->m[((size_t)b * k->h + y) * k->w + x];
	return 0;
}

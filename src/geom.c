/* geom.c: a kernel in the engines' form: correlation weights, anchor, output size. */
#include "geom.h"

#include <stdlib.h>
#include <string.h>

#include "size.h"

void geom_origin(const struct kernel *k, const struct job_opts *opts, int *cx, int *cy)
{
	*cx = opts->correlate ? k->ox : k->w - 1 - k->ox;
	*cy = opts->correlate ? k->oy : k->h - 1 - k->oy;
}

int geom_prepare(struct conv_job *job, float **wt, const struct kernel *k,
		 int w, int h, const struct job_opts *opts, int *out_w, int *out_h,
		 struct err *err)
{
	size_t n, per, b, i, j;
	int kw = k->w, kh = k->h;

	memset(job, 0, sizeof *job);
	*wt = NULL;
	if (size_mul3(&n, (size_t)k->n, (size_t)kw, (size_t)kh))
		return err_set(err, ERR_OS, "kernel %s: too large", k->name);
	*wt = malloc(n * sizeof **wt);
	if (*wt == NULL)
		return err_oom(err, k->name);

	/*
	 * Engines correlate.  Convolution is correlation with the kernel
	 * turned half a turn; the origin turns with it, so that `same` keeps
	 * conv2's alignment (for an even size, the output starts at offset
	 * floor(k/2) of the full result).  Scales fold into the weights.
	 */
	per = (size_t)kw * kh;
	for (b = 0; b < (size_t)k->n; b++) {
		const double *m = k->m + b * per;
		float *out = *wt + b * per;

		for (i = 0; i < (size_t)kh; i++)
			for (j = 0; j < (size_t)kw; j++) {
				size_t src = opts->correlate ? i * kw + j
							     : (kh - 1 - i) * kw + (kw - 1 - j);
				out[i * kw + j] = (float)(m[src] / k->scale[b]);
			}
	}
	job->kw = kw;
	job->kh = kh;
	job->nk = k->n;
	job->wt = *wt;
	job->combine = k->combine;
	job->border = opts->border;
	job->threads = opts->threads > 0 ? opts->threads : 1;

	/* Shapes as MATLAB conv2: full and valid do not depend on the origin. */
	switch (opts->shape) {
	case SHAPE_SAME:
		*out_w = w;
		*out_h = h;
		job->ax = opts->correlate ? k->ox : kw - 1 - k->ox;
		job->ay = opts->correlate ? k->oy : kh - 1 - k->oy;
		break;
	case SHAPE_FULL:
		if (w > PLANE_MAX_SIDE - kw || h > PLANE_MAX_SIDE - kh)
			return err_set(err, ERR_OS, "--shape full: output too large");
		*out_w = w + kw - 1;
		*out_h = h + kh - 1;
		job->ax = kw - 1;
		job->ay = kh - 1;
		break;
	case SHAPE_VALID:
		if (kw > w || kh > h)
			return err_set(err, ERR_DATA,
				       "--shape valid: the %dx%d kernel %s is larger than the %dx%d image",
				       kw, kh, k->name, w, h);
		*out_w = w - kw + 1;
		*out_h = h - kh + 1;
		job->ax = 0;
		job->ay = 0;
		break;
	}
	return 0;
}

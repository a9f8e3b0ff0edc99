/* job.c: one image through prepare (alpha), plan, engine and finish (bias). */
#include "job.h"

#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "color.h"
#include "deconv.h"
#include "layer.h"
#include "size.h"

int job_shape_parse(const char *s, enum job_shape *shape)
{
	if (strcmp(s, "same") == 0)
		*shape = SHAPE_SAME;
	else if (strcmp(s, "full") == 0)
		*shape = SHAPE_FULL;
	else if (strcmp(s, "valid") == 0)
		*shape = SHAPE_VALID;
	else
		return -1;
	return 0;
}

/* channel_bit maps one channel letter to its index in an nch-channel image. */
static int channel_bit(char c, int nch)
{
	int alpha = nch == 2 || nch == 4 ? nch - 1 : -1;

	if (c == 'a')
		return alpha;
	if (nch >= 3) {
		const char *p = strchr("rgb", c);
		return p != NULL && c != '\0' ? (int)(p - "rgb") : -1;
	}
	return c == 'y' || c == 'l' ? 0 : -1;
}

int job_channels(const char *list, int nch, unsigned *mask, struct err *err)
{
	unsigned all = (1u << nch) - 1, colour = nch == 2 || nch == 4 ? all >> 1 : all;
	const char *p = list, *end;
	size_t n;
	int bit;

	*mask = 0;
	if (list == NULL) {
		*mask = all;
		return 0;
	}
	while (*p != '\0') {
		end = p + strcspn(p, ",");
		n = (size_t)(end - p);
		if (n == 3 && strncmp(p, "all", 3) == 0)
			*mask |= all;
		else if ((n == 5 && strncmp(p, "color", 5) == 0) ||
			 (n == 6 && strncmp(p, "colour", 6) == 0))
			*mask |= colour;
		else if (n == 5 && strncmp(p, "alpha", 5) == 0 && colour != all)
			*mask |= all & ~colour;
		else if (n == 4 && nch <= 2 &&
			 (strncmp(p, "gray", 4) == 0 || strncmp(p, "grey", 4) == 0))
			*mask |= 1;
		else if (n == 0)
			return err_set(err, ERR_USAGE, "--channels %s: empty channel name", list);
		else
			for (; p < end; p++) {
				bit = channel_bit(*p, nch);
				if (bit < 0)
					return err_set(err, ERR_USAGE,
						       "--channels %s: no channel '%c' in a %s image",
						       list, *p,
						       nch == 1 ? "grey" : nch == 2 ? "grey+alpha" :
						       nch == 3 ? "RGB" : "RGBA");
				*mask |= 1u << bit;
			}
		p = *end == ',' ? end + 1 : end;
	}
	if (*mask == 0)
		return err_set(err, ERR_USAGE, "--channels %s: no channel named", list);
	return 0;
}

int job_prepare(struct conv_job *job, float **wt, const struct kernel *k,
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

/*
 * copy_plane gives an unfiltered channel the geometry of the filtered ones:
 * the sample under the kernel's origin, which for `same` is the input
 * itself and for `full`/`valid` a border-extended or cropped copy.  It runs
 * as a 1x1 kernel of weight 1 whose anchor is the offset of that origin.
 */
static int copy_plane(const struct conv_job *like, const struct kernel *k,
		      const struct job_opts *opts, const struct plane *in,
		      struct plane *out, struct err *err)
{
	static const float one = 1.0f;
	struct conv_job job = *like;
	int cx = opts->correlate ? k->ox : k->w - 1 - k->ox;
	int cy = opts->correlate ? k->oy : k->h - 1 - k->oy;

	job.in = in;
	job.out = out;
	job.kw = job.kh = job.nk = 1;
	job.wt = &one;
	job.ax = like->ax - cx;
	job.ay = like->ay - cy;
	return eng_run(&eng_direct, &job, err);
}

/* copy_is_identity says whether copy_plane would copy like's input unshifted. */
static int copy_is_identity(const struct conv_job *like, const struct kernel *k,
			    const struct job_opts *opts)
{
	int cx = opts->correlate ? k->ox : k->w - 1 - k->ox;
	int cy = opts->correlate ? k->oy : k->h - 1 - k->oy;

	return like->ax == cx && like->ay == cy;
}

/*
 * explain prints the plan of one step for --explain: what the planner
 * knows of the kernel (size, sum, rank) and each engine's estimated cost.
 */
static void explain(FILE *f, const struct kernel *k, const struct conv_job *job)
{
	int b, rank;

	fprintf(f, "imfilter: plan for %s: %dx%d kernel%s", k->name, k->w, k->h,
		k->n > 1 ? "s" : "");
	if (k->n > 1)
		fprintf(f, ", a bank of %d", k->n);
	for (b = 0; b < k->n; b++) {
		/* Full rank costs O(n^3): beyond 256x256 only separability is checked. */
		rank = (long)k->w * k->h <= 65536 ? kern_rank(k, b) : -1;
		fprintf(f, "%s sum %g, ", b == 0 ? ";" : ",", kern_sum(k, b) / k->scale[b]);
		if (rank >= 0)
			fprintf(f, "rank %d (%sseparable)", rank, rank <= 1 ? "" : "not ");
		else
			fprintf(f, "%sseparable", kern_separable(k, b) ? "" : "not ");
	}
	fprintf(f, "; output %dx%d, %d thread%s\n", job->out->w, job->out->h, job->threads,
		job->threads > 1 ? "s" : "");
	eng_explain(f, job);
}

/* deconvolve divides kernel job->wt out of job->in into job->out (see deconv.h). */
static int deconvolve(const struct job_opts *opts, struct conv_job *job, struct err *err)
{
	struct deconv_job dj;
	int rc;

	memset(&dj, 0, sizeof dj);
	dj.in = job->in;
	dj.out = job->out;
	dj.psf = job->wt;
	dj.kw = job->kw;
	dj.kh = job->kh;
	dj.ax = job->ax;
	dj.ay = job->ay;
	dj.border = job->border;
	dj.threads = job->threads;
	rc = opts->deconv == DECONV_WIENER ? deconv_wiener(&dj, opts->nsr, err)
					   : deconv_rl(&dj, opts->iterations, err);
	snprintf(job->note, sizeof job->note, "%s", dj.note);
	return rc;
}

/* filter_step applies one kernel (bank) to every channel of *im. */
static int filter_step(struct image *im, const struct kernel *k,
		       const struct job_opts *opts, int step, int nsteps, struct err *err)
{
	struct conv_job job;
	struct image out;
	struct plane sizes = { 0 };
	const struct engine *e;
	float *wt;
	unsigned mask, colour_mask;
	int c, ow, oh, premul, inplace, status = -1;
	double t0 = clock_seconds();

	if (layer_needed(k, opts))
		return layer_filter(im, k, opts, err);
	memset(&out, 0, sizeof out);
	if (job_channels(opts->channels, im->nch, &mask, err))
		return -1;
	if (opts->deconv != DECONV_NONE && (k->n > 1 || opts->shape != SHAPE_SAME))
		return err_set(err, ERR_USAGE, "--deconvolve needs one kernel (not a bank) and --shape same");
	if (job_prepare(&job, &wt, k, im->w, im->h, opts, &ow, &oh, err))
		goto done;
	/* The planner needs only the sizes: no output plane exists yet. */
	sizes.w = ow;
	sizes.h = oh;
	job.in = &im->ch[0];
	job.out = &sizes;
	e = opts->engine != NULL ? opts->engine : eng_choose(&job);
	if (opts->explain != NULL && opts->deconv == DECONV_NONE)
		explain(opts->explain, k, &job);

	/*
	 * Premultiplied alpha: colour is weighted by coverage while filtered,
	 * so transparent pixels do not bleed their (meaningless) colour.
	 */
	colour_mask = img_has_alpha(im) ? mask & ((1u << (im->nch - 1)) - 1) : 0;
	premul = opts->alpha == ALPHA_PREMULTIPLY && colour_mask != 0;
	if (premul)
		color_premultiply(im, colour_mask);

	out.w = ow;
	out.h = oh;
	out.nch = im->nch;
	out.depth = im->depth;
	/*
	 * Each input plane is freed as soon as its output exists, to bound
	 * peak memory.  An engine that can write over its input does so, and
	 * a plane copied unchanged (same size, no shift) is simply kept.
	 */
	inplace = opts->deconv == DECONV_NONE && ow == im->w && oh == im->h;
	for (c = 0; c < im->nch; c++) {
		job.in = &im->ch[c];
		job.out = &im->ch[c];
		if (inplace && (mask & (1u << c)) ? e->inplace != NULL && e->inplace(&job)
						  : inplace && copy_is_identity(&job, k, opts)) {
			if ((mask & (1u << c)) && eng_run(e, &job, err))
				goto done;
			out.ch[c] = im->ch[c];
			memset(&im->ch[c], 0, sizeof im->ch[c]);
			if (opts->progress != NULL)
				opts->progress(opts->progress_ctx, step * im->nch + c + 1,
					       nsteps * im->nch);
			continue;
		}
		if (plane_alloc(&out.ch[c], ow, oh, err))
			goto done;
		job.out = &out.ch[c];
		if (mask & (1u << c)) {
			if (opts->deconv != DECONV_NONE ? deconvolve(opts, &job, err)
							: eng_run(e, &job, err))
				goto done;
		} else if (copy_plane(&job, k, opts, &im->ch[c], &out.ch[c], err)) {
			goto done;
		}
		plane_free(&im->ch[c]);
		if (opts->progress != NULL)
			opts->progress(opts->progress_ctx, step * im->nch + c + 1, nsteps * im->nch);
	}
	if (premul)
		color_unpremultiply(&out, colour_mask);
	for (c = 0; c < im->nch && opts->deconv == DECONV_NONE; c++)
		if (mask & (1u << c))
			plane_add(&out.ch[c], (float)k->bias);
	if (opts->log != NULL) {
		fprintf(opts->log, "imfilter: %s: ", k->name);
		if (k->n > 1)
			fprintf(opts->log, "bank of %d ", k->n);
		fprintf(opts->log, "%dx%d on %dx%dx%d: %s %s, %.3f s%s%s\n",
			k->w, k->h, im->w, im->h, im->nch,
			opts->deconv != DECONV_NONE ? "deconvolve" : "engine",
			opts->deconv == DECONV_WIENER ? "wiener" : opts->deconv == DECONV_RL ? "rl" : e->name,
			clock_seconds() - t0, job.note[0] ? "; " : "", job.note);
	}
	img_move_meta(&out, im);
	img_free(im);
	*im = out;
	memset(&out, 0, sizeof out);
	status = 0;
done:
	img_free(&out);
	free(wt);
	return status;
}

int job_filter(struct image *im, struct kernel *const *kernels, int nkernels,
	       const struct job_opts *opts, struct err *err)
{
	int i;

	for (i = 0; i < nkernels; i++)
		if (filter_step(im, kernels[i], opts, i, nkernels, err))
			return -1;
	return 0;
}

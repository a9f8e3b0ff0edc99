/* step.c: one kernel (or bank) applied to an image, strip by strip. */
#include "step.h"

#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "color.h"
#include "deconv.h"
#include "geom.h"
#include "image.h"

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

int step_channels(const char *list, int nch, unsigned *mask, struct err *err)
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


/* at_least_1 reads a stride or dilation, where 0 means 1. */
static int at_least_1(int v)
{
	return v > 1 ? v : 1;
}

/* explain_layer prints the plan of a layer step's engine job for --explain. */
static void explain_layer(const struct step *s, const struct conv_job *job)
{
	const struct layer *L = &s->L;
	const struct job_opts *o = s->opts;
	const struct kernel *k = s->k;
	int nout = L->transpose ? L->nin : L->split ? L->nk : 1;

	fprintf(o->explain, "imfilter: plan for %s: %dx%d kernel%s, %d input%s and "
		"%d output%s, stride %dx%d, dilation %dx%d%s; engine job%s of %d x %d input%s "
		"of %dx%d, kernel %dx%d, output %dx%d\n",
		k->name, k->w, k->h, L->nk > 1 ? "s" : "", L->nin, L->nin > 1 ? "s" : "",
		nout, nout > 1 ? "s" : "", L->sx, L->sy,
		at_least_1(o->dilation[0]), at_least_1(o->dilation[1]),
		L->transpose ? ", transposed" : "",
		L->transpose && L->sx * L->sy > 1 ? " (one per output phase)" : "",
		job->nk, eng_nin(job), eng_nin(job) > 1 ? "s" : "", job->in->w, job->in->h,
		job->kw, job->kh, job->out->w, job->out->h);
	eng_explain(o->explain, job);
}

/*
 * The rows a strip aims at: 64, or the kernel's height when that is more,
 * so that the rows a strip reads are at most twice the rows it makes
 * (memory: MEMORY in the man page).
 */
static int base_rows(const struct step *s)
{
	int rows = s->kh / s->sy;

	return rows > 64 ? rows : 64;
}

/*
 * fix_tiles fixes the tiles of an engine whose sums depend on where the
 * plane is cut (engine.h) for job, whose output rows are a whole plane's:
 * chosen for a strip's rows, not the plane's, so that a strip is a few
 * tiles, and kept for every strip.
 */
static void fix_tiles(struct step *s, struct conv_job *job)
{
	struct plane out;
	struct plane *keep = job->out;

	if (s->e == NULL || s->e->tiles == NULL)
		return;
	out = *job->out;
	if (out.h > base_rows(s))
		out.h = base_rows(s);
	job->out = &out;
	s->quantum = s->e->tiles(job, job->tile);
	job->out = keep;
}

/* plan_layer sets up a layer step: geometry, channels, the engine. */
static int plan_layer(struct step *s, struct err *err)
{
	struct layer_plan lp;
	const struct kernel *k = s->k;
	const struct job_opts *o = s->opts;

	if (layer_setup(&s->L, k, o, s->w, s->h, s->nch, err))
		return -1;
	s->layer = 1;
	if (layer_plan(&s->L, &lp, err)) {
		layer_plan_free(&lp);
		return -1;
	}
	lp.job.threads = o->threads > 0 ? o->threads : 1;
	if (o->explain != NULL)
		explain_layer(s, &lp.job);
	s->e = o->engine != NULL ? o->engine : eng_choose(&lp.job);
	s->sy = s->L.sy;
	s->ay = s->L.job.ay;
	/*
	 * The stride's phase planes read the kernel padded with zero rows to
	 * a multiple of the stride: samples that meet only those zeros still
	 * go into an FFT's tiles, so they must be the image's own.
	 */
	s->kh = (s->L.job.kh + s->sy - 1) / s->sy * s->sy;
	/*
	 * A transpose's windows cut an engine's tiles where they please: with
	 * a tiled engine it holds the image, and the engine tiles it whole.
	 */
	if (!s->L.transpose) {
		fix_tiles(s, &lp.job);
		s->L.job.tile[0] = lp.job.tile[0];
		s->L.job.tile[1] = lp.job.tile[1];
	}
	layer_plan_free(&lp);
	s->ow = s->L.out_w;
	s->oh = s->L.out_h;
	s->onch = k->nin > 0 ? s->L.nout : s->nch;
	s->mask = (1u << s->onch) - 1;
	s->colour_mask = k->nin == 0 && (s->nch == 2 || s->nch == 4) &&
			 o->alpha == ALPHA_PREMULTIPLY ? (1u << (s->nch - 1)) - 1 : 0;
	s->holds = border_ymode(&o->border) == BORDER_WRAP ||
		   (s->L.transpose && s->e->tiles != NULL);
	return 0;
}

/* plan_plain sets up a plain step: each filtered channel alone, one engine job each. */
static int plan_plain(struct step *s, struct err *err)
{
	struct plane sizes[2];
	const struct kernel *k = s->k;
	const struct job_opts *o = s->opts;
	int alpha;

	if (step_channels(o->channels, s->nch, &s->mask, err))
		return -1;
	if (o->deconv != DECONV_NONE && (k->n > 1 || o->shape != SHAPE_SAME))
		return err_set(err, ERR_USAGE, "--deconvolve needs one kernel (not a bank) and --shape same");
	if (geom_prepare(&s->job, &s->wt, k, s->w, s->h, o, &s->ow, &s->oh, err))
		return -1;
	geom_origin(k, o, &s->cx, &s->cy);
	memset(sizes, 0, sizeof sizes);
	sizes[0].w = s->w;
	sizes[0].h = s->h;
	sizes[1].w = s->ow;
	sizes[1].h = s->oh;
	s->job.in = &sizes[0];
	s->job.out = &sizes[1];
	s->sy = 1;
	s->ay = s->job.ay;
	s->kh = s->job.kh;
	if (o->deconv == DECONV_NONE) {
		s->e = o->engine != NULL ? o->engine : eng_choose(&s->job);
		if (o->explain != NULL)
			explain(o->explain, k, &s->job);
		fix_tiles(s, &s->job);
	}
	s->job.in = NULL;
	s->job.out = NULL;
	s->onch = s->nch;
	/* Premultiplied alpha: colour is weighted by coverage while filtered. */
	alpha = s->nch == 2 || s->nch == 4;
	s->colour_mask = alpha && o->alpha == ALPHA_PREMULTIPLY ?
			 s->mask & ((1u << (s->nch - 1)) - 1) : 0;
	s->holds = o->deconv != DECONV_NONE || border_ymode(&o->border) == BORDER_WRAP;
	return 0;
}

int step_plan(struct step *s, const struct kernel *k, const struct job_opts *opts,
	      int w, int h, int nch, struct err *err)
{
	memset(s, 0, sizeof *s);
	s->k = k;
	s->opts = opts;
	s->w = w;
	s->h = h;
	s->nch = nch;
	return layer_needed(k, opts) ? plan_layer(s, err) : plan_plain(s, err);
}

void step_free(struct step *s)
{
	if (s->layer)
		layer_free(&s->L);
	free(s->wt);
	s->wt = NULL;
}

int step_strip(const struct step *s)
{
	int rows = base_rows(s);

	if (s->holds && (s->layer ? s->L.transpose : s->opts->deconv != DECONV_NONE))
		return s->oh;
	if (s->opts->strip_rows > 0)
		rows = s->opts->strip_rows;
	/* A transpose's window reaches 2 KH rows past the strip each way. */
	else if (s->layer && s->L.transpose && rows < 8 * s->kh)
		rows = 8 * s->kh;
	/* A narrow image: enough samples per strip to pay for the engine's set-up. */
	else if ((long)rows * s->ow < 65536)
		rows = (int)(65536 / s->ow) + 1;
	if (s->quantum > 0)
		rows = (rows + s->quantum - 1) / s->quantum * s->quantum;
	return rows < s->oh ? rows : s->oh;
}

void step_need(const struct step *s, int y0, int y1, int *a, int *b)
{
	long lo = (long)s->sy * y0 - s->ay, hi = (long)s->sy * (y1 - 1) - s->ay + s->kh;
	long ta, tb;

	if (s->holds) {
		*a = 0;
		*b = s->h;
		return;
	}
	if (s->layer && s->L.transpose) {
		layer_rows(&s->L, y0, y1, &lo, &hi);
		*a = (int)lo;
		*b = (int)hi;
		return;
	}
	/*
	 * A row -d above the image reads at most row d (mirror; reflect and
	 * clamp read less), a row h - 1 + d below at most row h - 1 - d, and
	 * a border deeper than the image repeats over all of it: those rows
	 * must be in the view, for the border rule to find them there.
	 */
	ta = lo;
	tb = hi;
	if (lo < 0 && tb < -lo + 1)
		tb = -lo + 1;
	if (hi > s->h && ta > 2L * s->h - hi - 1)
		ta = 2L * s->h - hi - 1;
	ta = ta < 0 ? 0 : ta > s->h - 1 ? s->h - 1 : ta;
	tb = tb > s->h ? s->h : tb < ta + 1 ? ta + 1 : tb;
	*a = (int)ta;
	*b = (int)tb;
}

void step_take(const struct step *s, const struct plane *in, int n)
{
	struct image v;

	if (s->colour_mask == 0 || n <= 0)
		return;
	img_view(&v, in, s->nch);
	color_premultiply_rows(&v, s->colour_mask, 0, n);
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

/*
 * copy_rows gives an unfiltered channel the geometry of the filtered ones:
 * the sample under the kernel's origin, which for `same` is the input
 * itself and for `full`/`valid` a border-extended or cropped copy.  It runs
 * as a 1x1 kernel of weight 1 whose anchor is the offset of that origin.
 */
static int copy_rows(const struct step *s, const struct conv_job *like, int y0,
		     const struct plane *in, int a, struct plane *out, struct err *err)
{
	static const float one = 1.0f;
	struct conv_job job = *like;
	int y;

	if (like->ax == s->cx && like->ay - a + y0 == s->cy && in->w == out->w) {
		/* The origin's sample is the input's own: rows y0 .. of the view. */
		for (y = 0; y < out->h; y++)
			memcpy(plane_row(out, y), plane_row(in, y0 - a + y),
			       (size_t)out->w * sizeof(float));
		return 0;
	}
	job.in = in;
	job.out = out;
	job.kw = job.kh = job.nk = 1;
	job.wt = &one;
	job.ax = like->ax - s->cx;
	job.ay = like->ay - s->cy;
	return eng_run(&eng_direct, &job, err);
}

/* run_plain is step_run for a plain step: every channel alone. */
static int run_plain(struct step *s, const struct plane *in, int a, int y0,
		     struct plane *out, int threads, struct err *err)
{
	const struct job_opts *o = s->opts;
	struct conv_job job = s->job;
	int c;

	/* Output row y0 is the view's first: the anchor moves with the cut. */
	job.ay = s->job.ay - y0 + a;
	job.threads = threads;
	for (c = 0; c < s->nch; c++) {
		/* In place (step_inplace): the engines know it by out == in. */
		job.in = out[c].px == in[c].px ? &out[c] : &in[c];
		job.out = &out[c];
		if (!(s->mask & (1u << c))) {
			if (job.out == job.in)
				continue;
			if (copy_rows(s, &job, y0, &in[c], a, &out[c], err))
				return -1;
			continue;
		}
		if (o->deconv != DECONV_NONE ? deconvolve(o, &job, err) : eng_run(s->e, &job, err))
			return -1;
		memcpy(s->note, job.note, sizeof s->note);
	}
	return 0;
}

/* run_layer is step_run for a layer step (layer.h). */
static int run_layer(struct step *s, const struct plane *in, int a, int y0, int y1,
		     struct plane *out, struct err *err)
{
	const struct kernel *k = s->k;
	const struct layer *L = &s->L;
	const struct plane *ins[IMG_MAX_CHANNELS];
	struct plane *outs[IMG_MAX_CHANNELS * KERN_MAX_BANK];
	int c;

	if (k->nin > 0) {
		/* One job over every channel. */
		for (c = 0; c < s->nch; c++)
			ins[c] = &in[c];
		for (c = 0; c < s->onch; c++)
			outs[c] = &out[c];
		return layer_run(L, s->e, ins, a, y0, y1, outs, s->note, sizeof s->note, err);
	}
	/* An ordinary kernel: each channel alone. */
	for (c = 0; c < s->nch; c++) {
		ins[0] = &in[c];
		outs[0] = &out[c];
		if (layer_run(L, s->e, ins, a, y0, y1, outs, s->note, sizeof s->note, err))
			return -1;
	}
	return 0;
}

/* add_bias adds each output channel's bias: the kernel's, or a cross-channel kernel's own. */
static void add_bias(const struct step *s, struct plane *out)
{
	const struct kernel *k = s->k;
	const struct layer *L = &s->L;
	int c;

	if (s->opts->deconv != DECONV_NONE)
		return;
	for (c = 0; c < s->onch; c++) {
		if (!(s->mask & (1u << c)))
			continue;
		if (s->layer && k->nin > 0)
			plane_add(&out[c], (float)(L->split && !L->transpose ? k->biases[c] :
						   L->split ? k->biases[0] : k->bias));
		else
			plane_add(&out[c], (float)k->bias);
	}
}

int step_run(struct step *s, const struct plane *in, int a, int y0, int y1,
	     struct plane *out, int threads, struct err *err)
{
	struct image v;
	double t0 = clock_seconds();
	int rc;

	rc = s->layer ? run_layer(s, in, a, y0, y1, out, err)
		      : run_plain(s, in, a, y0, out, threads, err);
	if (rc == 0 && s->colour_mask) {
		/* The bias comes after the division, as without alpha. */
		img_view(&v, out, s->onch);
		color_unpremultiply(&v, s->colour_mask);
	}
	if (rc == 0)
		add_bias(s, out);
	s->seconds += clock_seconds() - t0;
	s->strips++;
	return rc;
}

int step_inplace(const struct step *s)
{
	struct conv_job job = s->job;
	struct plane whole = { 0 };

	if (s->layer || s->opts->deconv != DECONV_NONE || s->e == NULL || s->e->inplace == NULL ||
	    s->ow != s->w || s->oh != s->h || s->onch != s->nch)
		return 0;
	/* An unfiltered channel is left as it is: its origin must be its own sample. */
	if (s->mask != (1u << s->nch) - 1 && (job.ax != s->cx || job.ay != s->cy))
		return 0;
	whole.w = s->w;
	whole.h = s->h;
	whole.stride = s->w;
	job.in = job.out = &whole;
	return s->e->inplace(&job);
}

void step_map(const struct step *s, double m[2], double b[2])
{
	int cx, cy;

	if (!s->layer) {
		m[0] = m[1] = 1.0;
		b[0] = s->cx - s->job.ax;
		b[1] = s->cy - s->job.ay;
		return;
	}
	/* Forward: output i reads input s i - A + the origin's tap, that of the dilated kernel. */
	geom_origin(&s->L.dk, s->opts, &cx, &cy);
	m[0] = s->L.sx;
	m[1] = s->L.sy;
	b[0] = cx - s->L.job.ax;
	b[1] = cy - s->L.job.ay;
	if (s->L.transpose) {
		b[0] = -b[0] / m[0];
		b[1] = -b[1] / m[1];
		m[0] = 1.0 / m[0];
		m[1] = 1.0 / m[1];
	}
}

void step_log(const struct step *s, FILE *f, const char *how)
{
	const struct kernel *k = s->k;
	const struct job_opts *o = s->opts;
	const char *engine = o->deconv == DECONV_WIENER ? "wiener" :
			     o->deconv == DECONV_RL ? "rl" : s->e != NULL ? s->e->name : "none";

	fprintf(f, "imfilter: %s: ", k->name);
	if (s->layer)
		fprintf(f, "%dx%d kernel%s, %d channel%s to %d, stride %dx%d, dilation %dx%d%s",
			k->w, k->h, s->L.nk > 1 ? "s" : "", s->nch, s->nch > 1 ? "s" : "", s->onch,
			s->L.sx, s->L.sy, at_least_1(o->dilation[0]), at_least_1(o->dilation[1]),
			s->L.transpose ? ", transposed" : "");
	else if (k->n > 1)
		fprintf(f, "bank of %d %dx%d", k->n, k->w, k->h);
	else
		fprintf(f, "%dx%d", k->w, k->h);
	fprintf(f, " on %dx%dx%d: %s %s, %.3f s", s->w, s->h, s->nch,
		o->deconv != DECONV_NONE ? "deconvolve" : "engine", engine, s->seconds);
	if (how != NULL)
		fprintf(f, "; %s", how);
	if (s->note[0])
		fprintf(f, "; %s", s->note);
	fputc('\n', f);
}

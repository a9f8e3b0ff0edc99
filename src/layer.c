/* layer.c: cross-channel kernels, strides, dilation and the transposed convolution. */
#include "layer.h"

#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "color.h"
#include "engine_toeplitz.h"
#include "size.h"

/*
 * How each part is computed.
 *
 * Dilation inserts zeros into the kernel (kern_dilate); the engines skip
 * nothing for them, except that under a stride whole phases drop out.
 *
 * Stride by phases.  With KH = QH sy rows (padding the kernel with zero
 * rows), r_b(y, x) = sum over the phases (p, q), p < sy, q < sx, of the
 * stride-1 correlation of the phase plane
 *   P_cpq(u, v) = in'_c(sy u + p - AY, sx v + q - AX)
 * with the sub-kernel w_bcpq(a, e) = w_bc(sy a + p, sx e + q), "valid"
 * (P already holds the border).  So one cross-channel job of N sy sx
 * inputs, each (oh + QH - 1) x (ow + QW - 1), computes only the kept
 * outputs, on every engine: kh kw multiply-adds per output and kernel, as
 * direct sliding would, and an FFT of the decimated size.  A phase whose
 * sub-kernels are all zero (a dilation that is a multiple of the stride
 * leaves one phase of sy sx) is left out, plane and all.
 *
 * The transpose.  T = D C E: E extends the input by the border rule to
 * the rows and columns the kernel reads, C correlates ("valid" on the
 * extension), D keeps every sy-th row and sx-th column.  T^T = E^T C^T
 * D^T: D^T spreads the image over the stride-1 output grid with zeros
 * between, C^T is the full correlation with the kernel turned half a turn
 * and the roles of inputs and kernels swapped, and E^T folds each extended
 * sample back onto the sample the border rule read (fold; a zero border
 * drops it).  The zeros are never multiplied: output phase (p, q) of C^T
 * D^T sees only the taps (sy b + p, sx d + q), so each phase is one full
 * convolution of the image itself with that part of the kernel
 * (adjoint_job), kh kw multiply-adds per input sample and kernel in all.
 */

static int at_least_1(int v)
{
	return v > 1 ? v : 1;
}

int layer_needed(const struct kernel *k, const struct job_opts *opts)
{
	return k->nin > 0 || at_least_1(opts->stride[0]) > 1 || at_least_1(opts->stride[1]) > 1 ||
	       at_least_1(opts->dilation[0]) > 1 || at_least_1(opts->dilation[1]) > 1 ||
	       opts->transpose;
}

/* One step: the dilated kernel in the correlation form of engine.h. */
struct step {
	struct kernel dk;         /* k dilated */
	struct conv_job job;      /* job_prepare's: wt, kw, kh, ax, ay, border, threads */
	float *wt;
	int nin, nk;              /* matrices per kernel (1: ordinary), kernels */
	int split;                /* each kernel writes its own channel */
	int sx, sy;
	int w, h;                 /* forward input */
	int ow1, oh1;             /* forward output at stride 1 */
	int ow, oh;               /* forward output */
};

static void step_free(struct step *st)
{
	kern_free(&st->dk);
	free(st->wt);
}

/* The planes a job needs besides the image's, freed together. */
struct scratch {
	struct plane *pl;
	int n;
	const struct plane **ins;
	struct plane **outs;
	float *wt;
};

static void scratch_free(struct scratch *s)
{
	int i;

	for (i = 0; i < s->n; i++)
		plane_free(&s->pl[i]);
	free(s->pl);
	free(s->ins);
	free(s->outs);
	free(s->wt);
	memset(s, 0, sizeof *s);
}

/* scratch_alloc makes room for n planes, n input and nout output pointers. */
static int scratch_alloc(struct scratch *s, int n, int nout, struct err *err)
{
	memset(s, 0, sizeof *s);
	s->pl = calloc((size_t)n + 1, sizeof *s->pl);
	s->ins = calloc((size_t)n + 1, sizeof *s->ins);
	s->outs = calloc((size_t)nout + 1, sizeof *s->outs);
	if (s->pl == NULL || s->ins == NULL || s->outs == NULL) {
		scratch_free(s);
		return err_oom(err, "layer");
	}
	return 0;
}

/* weight is w_bc(i, j) of the step (correlation form, dilated). */
static float weight(const struct step *st, int b, int c, int i, int j)
{
	return st->wt[(((size_t)b * st->nin + c) * st->job.kh + i) * st->job.kw + j];
}

/*
 * forward_job sets job to compute the forward operator on the nin planes
 * in[]: directly for stride 1, else on phase planes made into s.  The
 * outputs are outs[0 .. nk) when st->split, else outs[0] combined.
 */
static int forward_job(const struct step *st, const struct plane *const *in,
		       struct plane *const *outs, struct conv_job *job, struct scratch *s,
		       struct err *err)
{
	const int kh = st->job.kh, kw = st->job.kw, sy = st->sy, sx = st->sx;
	const int qh = (kh + sy - 1) / sy, qw = (kw + sx - 1) / sx;
	const int ph = st->oh + qh - 1, pw = st->ow + qw - 1;
	int c, p, q, b, a, e, nt, t, u, v, keep;
	float *row = NULL;
	size_t per = (size_t)qh * qw;

	memset(s, 0, sizeof *s);
	*job = st->job;
	job->nk = st->nk;
	job->combine = st->dk.combine;
	job->outs = st->split ? outs : NULL;
	job->out = outs[0];
	if (sx == 1 && sy == 1) {
		job->in = in[0];
		job->nin = st->nin > 1 ? st->nin : 0;
		job->ins = st->nin > 1 ? in : NULL;
		return 0;
	}
	if (scratch_alloc(s, st->nin * sx * sy, 0, err))
		return -1;
	s->wt = calloc((size_t)st->nk * st->nin * sx * sy * per + 1, sizeof *s->wt);
	row = malloc(((size_t)sx * pw + 1) * sizeof *row);
	if (s->wt == NULL || row == NULL) {
		free(row);
		return err_oom(err, "layer");
	}
	/* The phases whose sub-kernels are not all zero. */
	nt = 0;
	for (c = 0; c < st->nin; c++)
		for (p = 0; p < sy; p++)
			for (q = 0; q < sx; q++) {
				for (keep = 0, b = 0; b < st->nk && !keep; b++)
					for (a = 0; p + sy * a < kh && !keep; a++)
						for (e = 0; q + sx * e < kw; e++)
							if (weight(st, b, c, p + sy * a, q + sx * e) != 0.0f)
								keep = 1;
				if (!keep)
					continue;
				if (plane_alloc(&s->pl[nt], pw, ph, err)) {
					free(row);
					return -1;
				}
				s->n = ++nt;
				/* Row u of the phase: every sx-th sample of extended row sy u + p - AY. */
				job->in = in[c];
				for (u = 0; u < ph; u++) {
					float *dst = plane_row(&s->pl[nt - 1], u);

					eng_pad_row(job, (long)sy * u + p - st->job.ay,
						    (long)q - st->job.ax, (long)sx * (pw - 1) + 1, row);
					for (v = 0; v < pw; v++)
						dst[v] = row[(size_t)sx * v];
				}
				/* Term nt - 1's sub-kernel for every kernel, laid out below. */
				for (b = 0; b < st->nk; b++)
					for (a = 0; p + sy * a < kh; a++)
						for (e = 0; q + sx * e < kw; e++)
							s->wt[((size_t)b * st->nin * sx * sy + nt - 1) * per +
							      (size_t)a * qw + e] =
								weight(st, b, c, p + sy * a, q + sx * e);
			}
	free(row);
	/* Close the gaps of the phases left out: kernel b's terms are contiguous. */
	for (b = 1; b < st->nk; b++)
		memmove(s->wt + (size_t)b * nt * per,
			s->wt + (size_t)b * st->nin * sx * sy * per, (size_t)nt * per * sizeof *s->wt);
	if (nt == 0) {
		/* No weight at all: every output is 0 (a plane of one zero term). */
		if (plane_alloc(&s->pl[0], pw, ph, err))
			return -1;
		s->n = nt = 1;
		s->ins[0] = &s->pl[0];
	}
	for (t = 0; t < nt; t++)
		s->ins[t] = &s->pl[t];
	job->in = s->ins[0];
	job->nin = nt > 1 ? nt : 0;
	job->ins = nt > 1 ? s->ins : NULL;
	job->wt = s->wt;
	job->kh = qh;
	job->kw = qw;
	job->ax = job->ay = 0;
	job->border.mode = BORDER_CONST;
	job->border.value = 0;
	job->border.per_axis = 0;
	return 0;
}

/*
 * adjoint_job sets job to compute output phase (p, q) of C^T D^T of the nk
 * planes y[] (oh x ow): the samples (sy a + p, sx e + q) of the extended
 * forward input.  Spread over the stride-1 grid, y reaches them only
 * through the taps (sy b + p, sx d + q), so the phase is the full
 * convolution of y with that part of each kernel (qh x qw): inputs are the
 * kernels, outputs the forward's inputs, made in s ((oh + qh - 1) x (ow +
 * qw - 1) each).  Returns 1 when every weight of the phase is zero (there
 * is nothing to compute), 0 when job is set, -1 on failure.
 */
static int adjoint_job(const struct step *st, const struct plane *const *y, int p, int q,
		       struct conv_job *job, struct scratch *s, struct err *err)
{
	const int kh = st->job.kh, kw = st->job.kw, sy = st->sy, sx = st->sx;
	const int qh = (kh + sy - 1) / sy, qw = (kw + sx - 1) / sx;
	int m, c, i, j, ki, kj, any = 0;

	/* The phases' planes are the same size: made for the first, reused. */
	if (s->pl == NULL && scratch_alloc(s, st->nin, st->nin, err))
		return -1;
	if (s->wt == NULL)
		s->wt = calloc((size_t)st->nk * st->nin * qh * qw + 1, sizeof *s->wt);
	if (s->wt == NULL)
		return err_oom(err, "layer");
	memset(s->wt, 0, ((size_t)st->nk * st->nin * qh * qw + 1) * sizeof *s->wt);
	/* Output c, input m: the phase's taps of matrix (m, c), turned half a turn. */
	for (c = 0; c < st->nin; c++)
		for (m = 0; m < st->nk; m++)
			for (i = 0; i < qh; i++)
				for (j = 0; j < qw; j++) {
					ki = sy * (qh - 1 - i) + p;
					kj = sx * (qw - 1 - j) + q;
					if (ki >= kh || kj >= kw)
						continue;
					s->wt[(((size_t)c * st->nk + m) * qh + i) * qw + j] =
						weight(st, m, c, ki, kj);
					any |= weight(st, m, c, ki, kj) != 0.0f;
				}
	if (!any)
		return 1;
	for (c = s->n; c < st->nin; c++) {
		if (plane_alloc(&s->pl[c], st->ow + qw - 1, st->oh + qh - 1, err))
			return -1;
		s->n = c + 1;
		s->outs[c] = &s->pl[c];
	}
	*job = st->job;
	job->in = y[0];
	job->nin = st->nk > 1 ? st->nk : 0;
	job->ins = st->nk > 1 ? y : NULL;
	job->nk = st->nin;
	job->outs = s->outs;
	job->out = s->outs[0];
	job->wt = s->wt;
	job->kw = qw;
	job->kh = qh;
	job->combine = KERN_SUM;
	job->ax = qw - 1;
	job->ay = qh - 1;
	job->border.mode = BORDER_CONST;
	job->border.value = 0;
	job->border.per_axis = 0;
	return 0;
}

/*
 * fold is E^T for phase (p, q): x (the forward input) receives each sample
 * of the phase at the sample the border rule read for it; the phase's
 * sample (a, e) is extended row sy a + p - AY, column sx e + q - AX, and
 * the extension has oh1 + kh - 1 rows and ow1 + kw - 1 columns (a zero
 * border drops what falls outside the image).  Returns 0 or -1.
 */
static int fold(const struct plane *ph, const struct step *st, int p, int q, struct plane *x,
		struct err *err)
{
	enum border_mode mode = st->job.border.mode, ymode = border_ymode(&st->job.border);
	long *col = malloc(((size_t)ph->w + 1) * sizeof *col), r, t, u;
	int a, e;

	if (col == NULL)
		return err_oom(err, "layer");
	for (e = 0; e < ph->w; e++) {
		u = (long)st->sx * e + q;
		col[e] = u < (long)st->ow1 + st->job.kw - 1 ?
			border_index(mode, u - st->job.ax, x->w) : -1;
	}
	for (a = 0; a < ph->h; a++) {
		const float *src = plane_row(ph, a);
		float *dst;

		t = (long)st->sy * a + p;
		r = t < (long)st->oh1 + st->job.kh - 1 ? border_index(ymode, t - st->job.ay, x->h) : -1;
		if (r < 0)
			continue;
		dst = plane_row(x, (int)r);
		for (e = 0; e < ph->w; e++)
			if (col[e] >= 0)
				dst[col[e]] += src[e];
	}
	free(col);
	return 0;
}

/*
 * out_size replaces the transpose's default size *fw x *fh with
 * --output-size, PyTorch's output_size: any size whose forward output at
 * this stride is the w x h image, as PyTorch's output_padding from 0 to
 * stride - 1 allows.  Those sizes run from the default up (valid, full) or
 * down to it (same, whose default is the largest); others are refused.
 */
static int out_size(const struct step *st, const struct job_opts *opts, int w, int h,
		    long *fw, long *fh, struct err *err)
{
	long lo_w = opts->shape == SHAPE_SAME ? *fw - st->sx + 1 : *fw;
	long lo_h = opts->shape == SHAPE_SAME ? *fh - st->sy + 1 : *fh;

	if (opts->out_size[0] < lo_w || opts->out_size[0] > lo_w + st->sx - 1 ||
	    opts->out_size[1] < lo_h || opts->out_size[1] > lo_h + st->sy - 1)
		return err_set(err, ERR_USAGE, "--output-size %dx%d: the sizes a %dx%d image "
			       "transposes to at stride %dx%d run from %ldx%ld to %ldx%ld",
			       opts->out_size[0], opts->out_size[1], w, h, st->sx, st->sy,
			       lo_w, lo_h, lo_w + st->sx - 1, lo_h + st->sy - 1);
	*fw = opts->out_size[0];
	*fh = opts->out_size[1];
	return 0;
}

/*
 * step_setup fills st for kernel k on an image of w x h (the forward input;
 * for the transpose, the image is the forward's output and w, h its size).
 */
static int step_setup(struct step *st, const struct kernel *k, const struct job_opts *opts,
		      int w, int h, struct err *err)
{
	int dx = at_least_1(opts->dilation[0]), dy = at_least_1(opts->dilation[1]);
	int b, c, i, kh, kw;
	long fw, fh;
	size_t per;

	memset(st, 0, sizeof *st);
	st->sx = at_least_1(opts->stride[0]);
	st->sy = at_least_1(opts->stride[1]);
	if (kern_dilate(k, dx, dy, &st->dk, err))
		return -1;
	st->nin = k->nin > 0 ? k->nin : 1;
	st->nk = k->n / st->nin;
	st->split = k->nin > 0 && !k->combined;
	kw = st->dk.w;
	kh = st->dk.h;
	fw = w;
	fh = h;
	if (opts->transpose) {
		/* The forward input whose output (at this stride) is w x h. */
		switch (opts->shape) {
		case SHAPE_SAME:
			fw = (long)w * st->sx;
			fh = (long)h * st->sy;
			break;
		case SHAPE_VALID:
			fw = (long)(w - 1) * st->sx + kw;
			fh = (long)(h - 1) * st->sy + kh;
			break;
		case SHAPE_FULL:
			fw = (long)(w - 1) * st->sx - kw + 2;
			fh = (long)(h - 1) * st->sy - kh + 2;
			break;
		}
		if (fw < 1 || fh < 1)
			return err_set(err, ERR_DATA, "--transpose --shape full: the %dx%d kernel %s "
				       "is too large for the %dx%d image", kw, kh, k->name, w, h);
		if (opts->out_size[0] > 0 && out_size(st, opts, w, h, &fw, &fh, err))
			return -1;
		if (fw > PLANE_MAX_SIDE || fh > PLANE_MAX_SIDE)
			return err_set(err, ERR_OS, "--transpose: output too large");
	}
	st->w = (int)fw;
	st->h = (int)fh;
	if (job_prepare(&st->job, &st->wt, &st->dk, st->w, st->h, opts, &st->ow1, &st->oh1, err))
		return -1;
	st->ow = (st->ow1 + st->sx - 1) / st->sx;
	st->oh = (st->oh1 + st->sy - 1) / st->sy;
	if (!opts->transpose || st->nk == 1 || st->split)
		return 0;
	/* A bank combined by its sum is one kernel: the sum of its matrices. */
	if (st->dk.combine != KERN_SUM)
		return err_set(err, ERR_USAGE, "--transpose: kernel %s combines by %s, which "
			       "is not linear; only \"combine sum\" has a transpose", k->name,
			       kern_combine_name(st->dk.combine));
	per = (size_t)st->nin * kh * kw;
	for (b = 1; b < st->nk; b++)
		for (c = 0; c < st->nin; c++)
			for (i = 0; i < kh * kw; i++)
				st->wt[(size_t)c * kh * kw + i] += st->wt[b * per + (size_t)c * kh * kw + i];
	st->nk = 1;
	return 0;
}

/* explain_job prints the plan of one engine job for --explain. */
static void explain_job(const struct step *st, const struct kernel *k, const struct job_opts *opts,
			const struct conv_job *job, int nout)
{
	fprintf(opts->explain, "imfilter: plan for %s: %dx%d kernel%s, %d input%s and "
		"%d output%s, stride %dx%d, dilation %dx%d%s; engine job%s of %d x %d input%s "
		"of %dx%d, kernel %dx%d, output %dx%d\n",
		k->name, k->w, k->h, st->nk > 1 ? "s" : "", st->nin, st->nin > 1 ? "s" : "",
		nout, nout > 1 ? "s" : "", st->sx, st->sy,
		at_least_1(opts->dilation[0]), at_least_1(opts->dilation[1]),
		opts->transpose ? ", transposed" : "",
		opts->transpose && st->sx * st->sy > 1 ? " (one per output phase)" : "",
		job->nk, eng_nin(job), eng_nin(job) > 1 ? "s" : "", job->in->w, job->in->h,
		job->kw, job->kh, job->out->w, job->out->h);
	eng_explain(opts->explain, job);
}

/* plan is the engine for job (--engine, or the planner's), explained for --explain. */
static const struct engine *plan(const struct step *st, const struct kernel *k,
				 const struct job_opts *opts, const struct conv_job *job, int nout)
{
	if (opts->explain != NULL)
		explain_job(st, k, opts, job, nout);
	return opts->engine != NULL ? opts->engine : eng_choose(job);
}

/*
 * run_one computes one application of the step: the planes in[] to the
 * outputs (nk planes when split, else one; nin for the transpose), all
 * allocated here into outs[].  *used receives the engine.
 */
static int run_one(const struct step *st, const struct kernel *k, const struct job_opts *opts,
		   const struct plane *const *in, struct plane *outs, const struct engine **used,
		   char *note, size_t note_size, struct err *err)
{
	struct scratch s;
	struct conv_job job;
	struct plane *outp[IMG_MAX_CHANNELS * KERN_MAX_BANK];
	const struct engine *e = NULL;
	int i, p, q, rc, nout, status = -1;

	memset(&s, 0, sizeof s);
	nout = opts->transpose ? st->nin : st->split ? st->nk : 1;
	for (i = 0; i < nout; i++) {
		if (opts->transpose ? plane_alloc(&outs[i], st->w, st->h, err)
				    : plane_alloc(&outs[i], st->ow, st->oh, err))
			goto done;
		outp[i] = &outs[i];
	}
	if (!opts->transpose) {
		if (forward_job(st, in, outp, &job, &s, err))
			goto done;
		e = plan(st, k, opts, &job, nout);
		if (eng_run(e, &job, err))
			goto done;
		snprintf(note, note_size, "%s", job.note);
	}
	/* The transpose: each output phase, folded into the outputs (zeroed). */
	for (p = 0; opts->transpose && p < st->sy; p++)
		for (q = 0; q < st->sx; q++) {
			rc = adjoint_job(st, in, p, q, &job, &s, err);
			if (rc < 0)
				goto done;
			if (rc == 0) {
				/* Every phase's job has the same sizes: one plan for all. */
				if (e == NULL)
					e = plan(st, k, opts, &job, nout);
				if (eng_run(e, &job, err))
					goto done;
				snprintf(note, note_size, "%s", job.note);
				for (i = 0; i < nout; i++)
					if (fold(s.outs[i], st, p, q, &outs[i], err))
						goto done;
			}
		}
	*used = e;
	status = 0;
done:
	scratch_free(&s);
	if (status)
		for (i = 0; i < nout; i++)
			plane_free(&outs[i]);
	return status;
}

/* check_channels refuses an image whose channels do not fit kernel k. */
static int check_channels(const struct kernel *k, const struct job_opts *opts,
			  const struct image *im, const struct step *st, struct err *err)
{
	int want, nout, b;

	if (k->nin == 0)
		return 0;
	want = opts->transpose ? st->nk : k->nin;
	nout = opts->transpose ? k->nin : kern_outputs(k);
	if (im->nch != want)
		return err_set(err, ERR_DATA, "kernel %s %s %d channel%s, but the image has %d",
			       k->name, opts->transpose ? "transposed takes" : "takes",
			       want, want > 1 ? "s" : "", im->nch);
	if (!opts->transpose && nout > IMG_MAX_CHANNELS)
		return err_set(err, ERR_DATA, "kernel %s gives %d output channels; an image "
			       "has at most %d (or say how they combine)", k->name, nout,
			       IMG_MAX_CHANNELS);
	if (opts->transpose && st->split)
		for (b = 1; b < st->nk; b++)
			if (k->biases[b] != k->biases[0])
				return err_set(err, ERR_USAGE, "--transpose: kernel %s has a bias "
					       "per output channel (%g, %g, ...), which the transpose "
					       "cannot keep; give them one value", k->name,
					       k->biases[0], k->biases[b]);
	return 0;
}

int layer_filter(struct image *im, const struct kernel *k, const struct job_opts *opts,
		 struct err *err)
{
	struct step st;
	struct image out;
	const struct engine *used = NULL;
	const struct plane *ins[IMG_MAX_CHANNELS];
	char note[160] = "";
	unsigned colour = 0;
	int c, nout, status = -1;
	float bias;
	double t0 = clock_seconds();

	memset(&out, 0, sizeof out);
	if (opts->channels != NULL)
		return err_set(err, ERR_USAGE, "--channels: not with a cross-channel kernel, "
			       "--stride, --dilation or --transpose (they filter every channel)");
	if (opts->deconv != DECONV_NONE)
		return err_set(err, ERR_USAGE, "--deconvolve: not with a cross-channel kernel, "
			       "--stride, --dilation or --transpose");
	if (opts->transpose && border_has(&opts->border, BORDER_CONST) && opts->border.value != 0)
		return err_set(err, ERR_USAGE, "--transpose: a constant border of %g makes the "
			       "filter affine, not linear; use a zero border or another mode",
			       (double)opts->border.value);
	if (step_setup(&st, k, opts, im->w, im->h, err) || check_channels(k, opts, im, &st, err))
		goto done;
	out.w = opts->transpose ? st.w : st.ow;
	out.h = opts->transpose ? st.h : st.oh;
	out.depth = im->depth;
	if (k->nin > 0) {
		/* One job over every channel. */
		nout = opts->transpose ? st.nin : kern_outputs(k);
		for (c = 0; c < im->nch; c++)
			ins[c] = &im->ch[c];
		if (run_one(&st, k, opts, ins, out.ch, &used, note, sizeof note, err))
			goto done;
		out.nch = nout;
		if (opts->progress != NULL)
			opts->progress(opts->progress_ctx, 1, 1);
		for (c = 0; c < nout; c++) {
			bias = (float)(st.split && !opts->transpose ? k->biases[c] :
				       st.split ? k->biases[0] : k->bias);
			plane_add(&out.ch[c], bias);
		}
	} else {
		/* An ordinary kernel: each channel alone, colour weighted by alpha. */
		if (img_has_alpha(im) && opts->alpha == ALPHA_PREMULTIPLY) {
			colour = (1u << (im->nch - 1)) - 1;
			color_premultiply(im, colour);
		}
		out.nch = im->nch;
		for (c = 0; c < im->nch; c++) {
			ins[0] = &im->ch[c];
			if (run_one(&st, k, opts, ins, &out.ch[c], &used, note, sizeof note, err))
				goto done;
			plane_free(&im->ch[c]);
			if (opts->progress != NULL)
				opts->progress(opts->progress_ctx, c + 1, im->nch);
		}
		/* The bias comes after the division, as in job.c. */
		if (colour)
			color_unpremultiply(&out, colour);
		for (c = 0; c < out.nch; c++)
			plane_add(&out.ch[c], (float)k->bias);
	}
	if (opts->log != NULL)
		fprintf(opts->log, "imfilter: %s: %dx%d kernel%s, %d channel%s to %d, stride %dx%d, "
			"dilation %dx%d%s on %dx%dx%d: engine %s, %.3f s%s%s\n",
			k->name, k->w, k->h, st.nk > 1 ? "s" : "", im->nch, im->nch > 1 ? "s" : "",
			out.nch, st.sx, st.sy, at_least_1(opts->dilation[0]),
			at_least_1(opts->dilation[1]), opts->transpose ? ", transposed" : "",
			im->w, im->h, im->nch, used != NULL ? used->name : "none", clock_seconds() - t0,
			note[0] ? "; " : "", note);
	img_move_meta(&out, im);
	img_free(im);
	*im = out;
	memset(&out, 0, sizeof out);
	status = 0;
done:
	img_free(&out);
	step_free(&st);
	return status;
}

int layer_emit_matrix(FILE *f, const struct kernel *k, int w, int h, int nch,
		      const struct job_opts *opts, struct err *err)
{
	struct step st;
	struct image im;
	struct conv_job job;
	struct plane in = { 0 }, out = { 0 };
	const struct plane *ins[KERN_MAX_CHANNELS];
	struct emit_opts eo;
	int c, status = -1;

	memset(&im, 0, sizeof im);
	im.w = w;
	im.h = h;
	im.nch = nch;
	if (step_setup(&st, k, opts, w, h, err) ||
	    (k->nin > 0 && check_channels(k, opts, &im, &st, err)))
		goto done;
	job = st.job;
	in.w = st.w;
	in.h = st.h;
	out.w = st.ow;
	out.h = st.oh;
	for (c = 0; c < st.nin; c++)
		ins[c] = &in;
	job.in = &in;
	job.out = &out;
	job.nin = st.nin > 1 ? st.nin : 0;
	job.ins = ins;
	job.nk = st.nk;
	job.combine = st.dk.combine;
	eo.sx = st.sx;
	eo.sy = st.sy;
	eo.split = st.split;
	eo.transpose = opts->transpose;
	status = toeplitz_emit_matrix(f, &job, &eo, err);
done:
	step_free(&st);
	return status;
}

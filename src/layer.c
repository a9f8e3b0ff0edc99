/* layer.c: cross-channel kernels, strides, dilation and the transposed convolution. */
#include "layer.h"

#include <stdlib.h>
#include <string.h>

#include "geom.h"
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
static float weight(const struct layer *st, int b, int c, int i, int j)
{
	return st->wt[(((size_t)b * st->nin + c) * st->job.kh + i) * st->job.kw + j];
}

/* phase_kept says whether phase (p, q) of input c has a non-zero weight in any kernel. */
static int phase_kept(const struct layer *st, int c, int p, int q)
{
	int b, a, e;

	for (b = 0; b < st->nk; b++)
		for (a = 0; p + st->sy * a < st->job.kh; a++)
			for (e = 0; q + st->sx * e < st->job.kw; e++)
				if (weight(st, b, c, p + st->sy * a, q + st->sx * e) != 0.0f)
					return 1;
	return 0;
}

/*
 * forward_job sets job to compute the forward operator on the nin planes
 * in[]: directly for stride 1, else on phase planes made into s.  The
 * outputs are outs[0 .. nk) when st->split, else outs[0] combined.
 */
static int forward_job(const struct layer *st, const struct plane *const *in,
		       struct plane *const *outs, struct conv_job *job, struct scratch *s,
		       struct err *err)
{
	const int kh = st->job.kh, kw = st->job.kw, sy = st->sy, sx = st->sx;
	const int qh = (kh + sy - 1) / sy, qw = (kw + sx - 1) / sx;
	const int ph = st->oh + qh - 1, pw = st->ow + qw - 1;
	int c, p, q, b, a, e, nt, t, u, v;
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
				if (!phase_kept(st, c, p, q))
					continue;
				if (in[0]->px == NULL) {
					/* Sizes only, for the planner (layer_plan). */
					s->pl[nt].w = pw;
					s->pl[nt].h = ph;
				} else if (plane_alloc(&s->pl[nt], pw, ph, err)) {
					free(row);
					return -1;
				}
				s->n = ++nt;
				/* Row u of the phase: every sx-th sample of extended row sy u + p - AY. */
				job->in = in[c];
				for (u = 0; u < ph && in[0]->px != NULL; u++) {
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
		if (in[0]->px == NULL) {
			s->pl[0].w = pw;
			s->pl[0].h = ph;
		} else if (plane_alloc(&s->pl[0], pw, ph, err)) {
			return -1;
		}
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
static int adjoint_job(const struct layer *st, const struct plane *const *y, int p, int q,
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
		if (y[0]->px == NULL) {
			/* Sizes only, for the planner (layer_plan). */
			s->pl[c].w = st->ow + qw - 1;
			s->pl[c].h = st->oh + qh - 1;
		} else if (plane_alloc(&s->pl[c], st->ow + qw - 1, st->oh + qh - 1, err)) {
			return -1;
		}
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
static int fold(const struct plane *ph, const struct layer *st, int p, int q, struct plane *x,
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
static int out_size(const struct layer *st, const struct job_opts *opts, int w, int h,
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
static int setup(struct layer *st, const struct kernel *k, const struct job_opts *opts,
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
	if (geom_prepare(&st->job, &st->wt, &st->dk, st->w, st->h, opts, &st->ow1, &st->oh1, err))
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


/* check_channels refuses an image whose channels do not fit kernel k. */
static int check_channels(const struct kernel *k, const struct job_opts *opts, int nch,
			  const struct layer *st, struct err *err)
{
	int want, nout, b;

	if (k->nin == 0)
		return 0;
	want = opts->transpose ? st->nk : k->nin;
	nout = opts->transpose ? k->nin : kern_outputs(k);
	if (nch != want)
		return err_set(err, ERR_DATA, "kernel %s %s %d channel%s, but the image has %d",
			       k->name, opts->transpose ? "transposed takes" : "takes",
			       want, want > 1 ? "s" : "", nch);
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

int layer_setup(struct layer *L, const struct kernel *k, const struct job_opts *opts,
		int w, int h, int nch, struct err *err)
{
	memset(L, 0, sizeof *L);
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
	if (setup(L, k, opts, w, h, err) || check_channels(k, opts, nch, L, err)) {
		layer_free(L);
		return -1;
	}
	L->transpose = opts->transpose;
	L->nout = k->nin == 0 ? 1 : opts->transpose ? L->nin : kern_outputs(k);
	L->out_w = opts->transpose ? L->w : L->ow;
	L->out_h = opts->transpose ? L->h : L->oh;
	return 0;
}

void layer_free(struct layer *L)
{
	kern_free(&L->dk);
	free(L->wt);
	memset(L, 0, sizeof *L);
}

/* floor_div is a / b rounded down, for b > 0. */
static long floor_div(long a, long b)
{
	return a >= 0 ? a / b : -((-a + b - 1) / b);
}

void layer_rows(const struct layer *L, int y0, int y1, long *lo, long *hi)
{
	const long sy = L->sy, kh = L->job.kh, ay = L->job.ay;

	if (!L->transpose) {
		*lo = sy * y0 - ay;
		*hi = sy * (y1 - 1) - ay + kh;
		return;
	}
	/*
	 * Output row Y of the transpose gathers input rows y with
	 * sy y - AY + i == Y (i < KH), and near the image's edges what the
	 * border folded back.  A window of input rows computes its own
	 * transpose, right except within KH rows of a cut (which lacks the
	 * rows beyond it and folds where the image does not): the window
	 * reaches 2 KH rows and two input rows past the strip each way.
	 */
	*lo = floor_div(y0 - 2 * kh - ay, sy) - 2;
	*hi = floor_div(y1 + 2 * kh + ay + sy - 1, sy) + 2;
	if (*lo < 0)
		*lo = 0;
	if (*hi > L->oh)
		*hi = L->oh;
}

int layer_plan(const struct layer *L, struct layer_plan *lp, struct err *err)
{
	struct scratch *sc = calloc(1, sizeof *sc);
	int i, p, q, rc = 0;

	memset(lp, 0, sizeof *lp);
	if (sc == NULL)
		return err_oom(err, "layer");
	lp->priv = sc;
	/* Planes with sizes and no samples: what the planner and --explain read. */
	lp->in.w = L->transpose ? L->ow : L->w;
	lp->in.h = L->transpose ? L->oh : L->h;
	lp->out.w = L->ow;
	lp->out.h = L->oh;
	for (i = 0; i < KERN_MAX_BANK * KERN_MAX_CHANNELS; i++) {
		lp->ins[i] = &lp->in;
		lp->outs[i] = &lp->out;
	}
	if (!L->transpose)
		return forward_job(L, lp->ins, lp->outs, &lp->job, sc, err);
	/* The first output phase with a weight stands for all: they have its sizes. */
	for (p = 0, rc = 1; p < L->sy && rc == 1; p++)
		for (q = 0; q < L->sx && rc == 1; q++)
			rc = adjoint_job(L, lp->ins, p, q, &lp->job, sc, err);
	if (rc == 1) {
		/* No weight at all: any engine computes the zeros. */
		lp->job = L->job;
		lp->job.in = &lp->in;
		lp->job.out = &lp->out;
		rc = 0;
	}
	return rc;
}

void layer_plan_free(struct layer_plan *lp)
{
	if (lp->priv != NULL) {
		scratch_free(lp->priv);
		free(lp->priv);
	}
	memset(lp, 0, sizeof *lp);
}

int layer_run(const struct layer *L, const struct engine *e, const struct plane *const *in,
	      int a, int y0, int y1, struct plane *const *outs, char *note, size_t note_size,
	      struct err *err)
{
	struct scratch s;
	struct conv_job job;
	struct layer st = *L;
	struct plane win[KERN_MAX_CHANNELS];
	int i, p, q, rc, y, full = 0, status = -1;

	memset(&s, 0, sizeof s);
	memset(win, 0, sizeof win);
	if (!L->transpose) {
		/*
		 * Output rows y0 .. y1 - 1 from the input rows a .. (in[] is a
		 * view of them): the anchor moves so that output row y0 is the
		 * view's first, and the border rule sees the view (the caller
		 * gives a view that holds every row the rule reads).
		 */
		st.job.ay = L->job.ay - L->sy * y0 + a;
		st.oh = y1 - y0;
		st.h = in[0]->h;
		if (forward_job(&st, in, outs, &job, &s, err) == 0 && eng_run(e, &job, err) == 0) {
			snprintf(note, note_size, "%s", job.note);
			status = 0;
		}
		scratch_free(&s);
		return status;
	}
	/*
	 * The transpose of the window of input rows a .. a + h - 1, as if it
	 * were the whole image: its output starts at row sy a of the real
	 * one (a stride-1 forward output row y reads the forward input rows
	 * from sy y - AY on, a window's from sy (y - a) - AY), and it is
	 * h - oh input rows longer or shorter, each sy output rows.  Rows
	 * y0 .. y1 - 1 of it are the real ones when layer_rows chose the
	 * window; the others are dropped.
	 */
	st.oh = in[0]->h;
	st.h = L->h + (st.oh - L->oh) * L->sy;
	st.oh1 = L->oh1 + (st.h - L->h);
	if (st.h < 1)
		return err_set(err, ERR_SOFTWARE, "layer: a window of %d rows is too short", st.oh);
	full = a == 0 && st.h == y1 - y0;
	for (i = 0; i < L->nin; i++) {
		if (full) {
			win[i] = *outs[i];
		} else if (plane_alloc(&win[i], L->w, st.h, err)) {
			goto done;
		}
		for (y = 0; y < win[i].h; y++)
			memset(plane_row(&win[i], y), 0, (size_t)win[i].w * sizeof(float));
	}
	for (p = 0; p < L->sy; p++)
		for (q = 0; q < L->sx; q++) {
			rc = adjoint_job(&st, in, p, q, &job, &s, err);
			if (rc < 0)
				goto done;
			if (rc == 1)
				continue;
			if (eng_run(e, &job, err))
				goto done;
			snprintf(note, note_size, "%s", job.note);
			for (i = 0; i < L->nin; i++)
				if (fold(s.outs[i], &st, p, q, &win[i], err))
					goto done;
		}
	for (i = 0; i < L->nin && !full; i++)
		for (y = y0; y < y1; y++)
			memcpy(plane_row(outs[i], y - y0), plane_row(&win[i], y - L->sy * a),
			       (size_t)L->w * sizeof(float));
	status = 0;
done:
	scratch_free(&s);
	for (i = 0; i < L->nin && !full; i++)
		plane_free(&win[i]);
	return status;
}

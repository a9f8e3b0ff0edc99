/* deconv.c: Wiener deconvolution by whole-plane FFTs, Richardson-Lucy over the engines. */
#include "deconv.h"

#include <float.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine.h"
#include "engine_fft.h"
#include "size.h"

/*
 * The extended plane, nh x nw samples, row t and column s:
 *
 *   t in [0, h + 2 my)          extended row t - my (border rule)
 *   t in [h + 2 my, nh)         the seam: gap row q = t - h - 2 my of gh,
 *                               (1 - a) * row(h + my + q) + a * row(q - gh - my),
 *                               a rising from 0 to 1 as a raised cosine
 *
 * and the same across columns.  Both rows blended at q continue the border
 * rule from the near edge (downwards past the bottom, upwards past the
 * top), so the periodic extension the transform assumes has no jump at the
 * seam, and the margin my >= kh keeps the seam out of the psf's reach of
 * any image sample.  A wrapping axis has neither margin nor seam (my = gh
 * = 0, nh = h): the transform's own periodicity is then the border rule.
 */
struct ext {
	int h, w;            /* the plane */
	int my, mx;          /* margins */
	int gh, gw;          /* seam gaps */
	struct fft2 f;       /* nh = h + 2 my + gh, nw = w + 2 mx + gw */
};

/*
 * wiener_size is the transform side for at least n samples: the smallest
 * 2^a 3^b 5^c >= n with a >= b + c.  FFTW_ESTIMATE plans of whole planes
 * are slow on odd-heavy sides (6075 = 3^5 5^2 took 1.2 times 6144 = 2^11 3
 * for 4096 rows); these sides are at most about 12% longer than n, and
 * usually within a few percent.
 */
static long wiener_size(long n)
{
	long m;
	int a, bc;

	for (;; n++) {
		m = n;
		for (a = 0; m % 2 == 0; a++)
			m /= 2;
		for (bc = 0; m % 3 == 0; bc++)
			m /= 3;
		for (; m % 5 == 0; bc++)
			m /= 5;
		if (m == 1 && a >= bc)
			return n;
	}
}

/* Anchors are kernel offsets; far beyond the kernel they mean nothing here. */
#define DECONV_MAX_ANCHOR 65536

static int ext_init(const struct deconv_job *job, struct ext *e, struct err *err)
{
	long nh, nw;

	if (job->kw < 1 || job->kh < 1 || job->ax < -DECONV_MAX_ANCHOR ||
	    job->ax > DECONV_MAX_ANCHOR || job->ay < -DECONV_MAX_ANCHOR ||
	    job->ay > DECONV_MAX_ANCHOR)
		return err_set(err, ERR_USAGE, "deconvolution: point-spread function "
			       "or its origin out of range");
	if (job->out->w != job->in->w || job->out->h != job->in->h)
		return err_set(err, ERR_SOFTWARE, "deconvolution: output size differs");
	e->h = job->in->h;
	e->w = job->in->w;
	e->my = e->gh = e->mx = e->gw = 0;
	nh = e->h;
	nw = e->w;
	/*
	 * A wrapping axis is already periodic, of period the image's side:
	 * transformed at that side, with no margin and no seam, the blur is
	 * exactly circular on it.  Any other axis is extended; a seam at
	 * least as wide as the margin keeps the blend gentle.
	 */
	if (border_ymode(&job->border) != BORDER_WRAP) {
		e->my = job->kh + abs(job->ay);
		nh = wiener_size((long)e->h + 3L * e->my);
		e->gh = (int)(nh - e->h - 2L * e->my);
	}
	if (job->border.mode != BORDER_WRAP) {
		e->mx = job->kw + abs(job->ax);
		nw = wiener_size((long)e->w + 3L * e->mx);
		e->gw = (int)(nw - e->w - 2L * e->mx);
	}
	if (nh > INT_MAX / 2 || nw > INT_MAX / 2)
		return err_set(err, ERR_OS, "deconvolution: image too large");
	fft2_shape(&e->f, (int)nh, (int)nw);
	return 0;
}

/* seam_weight is the share of the far side's continuation at gap sample q. */
static float seam_weight(int q, int g)
{
	return (float)(0.5 - 0.5 * cos(3.14159265358979323846 * (q + 0.5) / g));
}

/* ext_span writes extended row v, columns start .. start + count - 1. */
static void ext_span(const struct deconv_job *job, long v, long start, long count,
		     float *dst)
{
	const struct plane *in = job->in;
	long sy = border_index(border_ymode(&job->border), v, in->h), x;

	if (sy < 0)
		for (x = 0; x < count; x++)
			dst[x] = job->border.value;
	else
		border_span(&job->border, plane_row(in, (int)sy), in->w, start, count, dst);
}

/* ext_row writes row v of the extended plane, seam included, into dst (nw). */
static void ext_row(const struct deconv_job *job, const struct ext *e, long v,
		    float *dst, float *tmp)
{
	int q, s0 = e->w + 2 * e->mx;
	float a;

	ext_span(job, v, -(long)e->mx, e->f.nw, dst);
	ext_span(job, v, -(long)e->mx - e->gw, e->gw, tmp);
	for (q = 0; q < e->gw; q++) {
		a = seam_weight(q, e->gw);
		dst[s0 + q] = (1 - a) * dst[s0 + q] + a * tmp[q];
	}
}

/* ext_fill writes the whole extended plane into buf (rows of f.rs floats). */
static int ext_fill(const struct deconv_job *job, const struct ext *e, float *buf,
		    struct err *err)
{
	size_t rs = e->f.rs;
	float *row2, *tmp;
	int t, q, s, t0 = e->h + 2 * e->my;
	float a;

	row2 = malloc(((size_t)e->f.nw + (size_t)e->gw + 1) * sizeof *row2);
	if (row2 == NULL)
		return err_oom(err, "deconvolution");
	tmp = row2 + e->f.nw;
	for (t = 0; t < t0; t++)
		ext_row(job, e, (long)t - e->my, buf + (size_t)t * rs, tmp);
	for (q = 0; q < e->gh; q++) {
		float *dst = buf + (size_t)(t0 + q) * rs;

		ext_row(job, e, (long)e->h + e->my + q, dst, tmp);
		ext_row(job, e, (long)q - e->gh - e->my, row2, tmp);
		a = seam_weight(q, e->gh);
		for (s = 0; s < e->f.nw; s++)
			dst[s] = (1 - a) * dst[s] + a * row2[s];
	}
	free(row2);
	return 0;
}

/*
 * psf_spectrum transforms the psf placed with its anchor at the origin,
 * weight (i, j) at ((i - ay) mod nh, (j - ax) mod nw), scaled by `scale`.
 * For this K the blur of x has the spectrum X * conj(K), and its adjoint
 * (correlation with the psf turned round) R * K.
 */
static void psf_spectrum(const struct deconv_job *job, const struct ext *e, double scale,
			 float *k)
{
	int i, j;
	long r, c;

	memset(k, 0, (size_t)e->f.nh * e->f.rs * sizeof *k);
	for (i = 0; i < job->kh; i++) {
		r = ((long)i - job->ay) % e->f.nh;
		r = r < 0 ? r + e->f.nh : r;
		for (j = 0; j < job->kw; j++) {
			c = ((long)j - job->ax) % e->f.nw;
			c = c < 0 ? c + e->f.nw : c;
			k[(size_t)r * e->f.rs + (size_t)c] +=
				(float)(job->psf[(size_t)i * job->kw + j] * scale);
		}
	}
	fft2_forward(&e->f, k);
}

/* crop copies the plane's part of the extended buf into job->out. */
static void crop(const struct deconv_job *job, const struct ext *e, const float *buf)
{
	int y;

	for (y = 0; y < e->h; y++)
		memcpy(plane_row(job->out, y),
		       buf + (size_t)(y + e->my) * e->f.rs + (size_t)e->mx,
		       (size_t)e->w * sizeof(float));
}

/* bufs_alloc allocates n buffers of the transform's shape and plans it. */
static int bufs_alloc(const struct deconv_job *job, struct ext *e, float **b, int n,
		      struct err *err)
{
	size_t cells;
	int i;

	if (size_mul(&cells, (size_t)e->f.nh, e->f.rs) || cells > SIZE_MAX / sizeof(float) / 4)
		return err_set(err, ERR_OS, "deconvolution: image too large");
	for (i = 0; i < n; i++) {
		b[i] = fft2_alloc(&e->f);
		if (b[i] == NULL)
			return err_oom(err, "deconvolution");
	}
	return fft2_plan(&e->f, job->threads, b[0], err);
}

static void bufs_free(struct ext *e, float **b, int n)
{
	int i;

	for (i = 0; i < n; i++)
		fft2_free(b[i]);
	if (e->f.fwd != NULL || e->f.inv != NULL)
		fft2_destroy(&e->f);
}

int deconv_wiener(struct deconv_job *job, double nsr, struct err *err)
{
	struct ext e;
	float *b[2] = { NULL, NULL }, *x, *k;
	size_t i, n;
	double scale, kr, ki, xr, xi, d;
	int status = -1;

	if (!(nsr > 0 && nsr < 1e6))
		return err_set(err, ERR_USAGE, "Wiener deconvolution: the noise-to-signal "
			       "ratio must be > 0, not %g", nsr);
	memset(&e, 0, sizeof e);
	if (ext_init(job, &e, err) || bufs_alloc(job, &e, b, 2, err))
		goto done;
	x = b[0];
	k = b[1];
	if (ext_fill(job, &e, x, err))
		goto done;
	psf_spectrum(job, &e, 1.0, k);
	fft2_forward(&e.f, x);
	/* X = B conj(G) / (|G|^2 + nsr) with G = conj(K); 1/(nh nw) for the inverse. */
	scale = 1.0 / ((double)e.f.nh * e.f.nw);
	n = (size_t)e.f.nh * e.f.rs;
	for (i = 0; i < n; i += 2) {
		kr = k[i];
		ki = k[i + 1];
		xr = x[i];
		xi = x[i + 1];
		d = scale / (kr * kr + ki * ki + nsr);
		x[i] = (float)((xr * kr - xi * ki) * d);
		x[i + 1] = (float)((xr * ki + xi * kr) * d);
	}
	fft2_inverse(&e.f, x);
	crop(job, &e, x);
	snprintf(job->note, sizeof job->note,
		 "wiener: nsr %g, %dx%d transform, margins %d/%d%s", nsr, e.f.nw, e.f.nh,
		 e.mx, e.my, border_has(&job->border, BORDER_WRAP) ? " (wrap: periodic)" : "");
	status = 0;
done:
	bufs_free(&e, b, 2);
	return status;
}

/*
 * Richardson-Lucy runs on the plane itself, not on an extended one: the
 * blur is a conv_job with the psf, the job's border rule and anchor (the
 * very model of deconv.h), and its adjoint a conv_job with the psf turned
 * round (weight (kh-1-i, kw-1-j), anchor (kw-1-ax, kh-1-ay)).  Both run on
 * the engine the planner picks, so a 13x13 psf on 24 megapixels takes the
 * FFT engine's tiles, far faster than transforms of the whole plane.  For
 * the mirror-like borders the adjoint extends the ratio by the same rule,
 * which is what folding the border's contributions back gives where the
 * ratio is smooth; for a constant border the outside is no part of the
 * estimate, so the adjoint extends by 0 and the update is divided by the
 * adjoint of 1 (the psf mass inside the plane).
 */
struct rl_state {
	struct conv_job fwd, adj, norm;
	const struct engine *e;
	float *w, *wf;               /* the psf normalised to sum 1, and turned round */
	const struct plane *in;      /* the blurred plane */
	struct plane *x;             /* the estimate (the job's output) */
	struct plane c, corr, ones, mass;
	float tiny;                  /* blurred estimates below this count as 0 */
};

/* rl_ratio_rows sets c = in / c on rows [y0, y1) (0 where c is about 0). */
static int rl_ratio_rows(void *arg, int y0, int y1, int band)
{
	struct rl_state *st = arg;
	int y, x;

	(void)band;
	for (y = y0; y < y1; y++) {
		const float *b = plane_row(st->in, y);
		float *c = plane_row(&st->c, y);

		for (x = 0; x < st->c.w; x++)
			c[x] = c[x] > st->tiny && b[x] > 0 ? b[x] / c[x] : 0;
	}
	return 0;
}

/* rl_update_rows multiplies the estimate by the correction on rows [y0, y1). */
static int rl_update_rows(void *arg, int y0, int y1, int band)
{
	struct rl_state *st = arg;
	float v;
	int y, x;

	(void)band;
	for (y = y0; y < y1; y++) {
		const float *r = plane_row(&st->corr, y);
		const float *m = st->mass.px != NULL ? plane_row(&st->mass, y) : NULL;
		float *e = plane_row(st->x, y);

		for (x = 0; x < st->c.w; x++) {
			v = m == NULL ? r[x] : m[x] > 1e-6f ? r[x] / m[x] : 0;
			e[x] = v > 0 ? e[x] * v : 0;
		}
	}
	return 0;
}

static void rl_free(struct rl_state *st)
{
	free(st->w);
	free(st->wf);
	plane_free(&st->c);
	plane_free(&st->corr);
	plane_free(&st->ones);
	plane_free(&st->mass);
}

int deconv_rl(struct deconv_job *job, int iterations, struct err *err)
{
	struct rl_state st;
	const struct plane *in = job->in;
	struct plane *x = job->out;
	size_t n = (size_t)job->kw * job->kh, i;
	double sum = 0;
	float peak = 0, v;
	int it, y, xx, cmode = border_has(&job->border, BORDER_CONST), status = -1;

	if (iterations < 1 || iterations > DECONV_RL_ITERATIONS_MAX)
		return err_set(err, ERR_USAGE, "Richardson-Lucy: iterations must be 1 to %d, "
			       "not %d", DECONV_RL_ITERATIONS_MAX, iterations);
	if (job->kw < 1 || job->kh < 1 || job->out->w != in->w || job->out->h != in->h)
		return err_set(err, ERR_SOFTWARE, "Richardson-Lucy: bad job");
	for (i = 0; i < n; i++) {
		if (job->psf[i] < 0)
			return err_set(err, ERR_DATA, "Richardson-Lucy needs a point-spread "
				       "function without negative weights");
		sum += job->psf[i];
	}
	if (!(sum > 0))
		return err_set(err, ERR_DATA, "Richardson-Lucy needs a point-spread "
			       "function with a positive sum");
	memset(&st, 0, sizeof st);
	st.w = malloc(n * sizeof *st.w);
	st.wf = malloc(n * sizeof *st.wf);
	if (st.w == NULL || st.wf == NULL) {
		err_oom(err, "Richardson-Lucy");
		goto done;
	}
	for (i = 0; i < n; i++) {
		st.w[i] = (float)(job->psf[i] / sum);
		st.wf[n - 1 - i] = st.w[i];
	}
	if (plane_alloc(&st.c, in->w, in->h, err) || plane_alloc(&st.corr, in->w, in->h, err))
		goto done;
	st.fwd.in = x;
	st.fwd.out = &st.c;
	st.fwd.kw = job->kw;
	st.fwd.kh = job->kh;
	st.fwd.nk = 1;
	st.fwd.wt = st.w;
	st.fwd.ax = job->ax;
	st.fwd.ay = job->ay;
	st.fwd.combine = KERN_SUM;
	st.fwd.border = job->border;
	st.fwd.threads = job->threads;
	st.adj = st.fwd;
	st.adj.in = &st.c;
	st.adj.out = &st.corr;
	st.adj.wt = st.wf;
	st.adj.ax = job->kw - 1 - job->ax;
	st.adj.ay = job->kh - 1 - job->ay;
	if (cmode)
		st.adj.border.value = 0;
	st.e = eng_choose(&st.fwd);
	if (cmode) {
		/* The psf mass that lands inside the plane, for each sample. */
		if (plane_alloc(&st.ones, in->w, in->h, err) ||
		    plane_alloc(&st.mass, in->w, in->h, err))
			goto done;
		for (y = 0; y < in->h; y++)
			for (xx = 0; xx < in->w; xx++)
				plane_row(&st.ones, y)[xx] = 1;
		st.norm = st.adj;
		st.norm.in = &st.ones;
		st.norm.out = &st.mass;
		if (eng_run(st.e, &st.norm, err))
			goto done;
	}
	for (y = 0; y < in->h; y++)
		for (xx = 0; xx < in->w; xx++) {
			v = plane_row(in, y)[xx];
			plane_row(x, y)[xx] = v > 0 ? v : 0;
			peak = v > peak ? v : peak;
		}
	st.in = in;
	st.x = x;
	st.tiny = peak > 0 ? peak * 1e-6f : FLT_MIN;
	for (it = 0; it < iterations; it++) {
		if (eng_run(st.e, &st.fwd, err) ||
		    eng_parallel(job->threads, in->h, rl_ratio_rows, &st) ||
		    eng_run(st.e, &st.adj, err) ||
		    eng_parallel(job->threads, in->h, rl_update_rows, &st))
			goto done;
	}
	snprintf(job->note, sizeof job->note,
		 "richardson-lucy: %d iterations, engine %s", iterations, st.e->name);
	status = 0;
done:
	rl_free(&st);
	return status;
}

/* unit_deconv.c: Wiener and Richardson-Lucy bring a blurred photo back closer to the original. */
#include <complex.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "deconv.h"
#include "engine.h"
#include "engine_fft.h"
#include "io.h"

/*
 * The photo is blurred by a known Gaussian with the direct engine and
 * rounded to 8 bits, as a blurred photo read from a PNG would be; each
 * method must then raise the PSNR against the original by a clear margin.
 * The figures are printed with each result.
 */
#define SIGMA 2.0
#define MIN_GAIN_DB 1.0

/* gaussian fills a normalised (2r+1)^2 Gaussian, r = ceil(3 sigma). */
static float *gaussian(double sigma, int *k)
{
	int r = (int)ceil(3 * sigma), n = 2 * r + 1, i, j;
	float *w = malloc((size_t)n * n * sizeof *w);
	double sum = 0;

	if (w == NULL)
		return NULL;
	for (i = 0; i < n; i++)
		for (j = 0; j < n; j++) {
			w[i * n + j] = (float)exp(-((i - r) * (i - r) + (j - r) * (j - r)) /
						  (2 * sigma * sigma));
			sum += w[i * n + j];
		}
	for (i = 0; i < n * n; i++)
		w[i] = (float)(w[i] / sum);
	*k = n;
	return w;
}

/* psnr is 10 log10(1 / mean squared error) of a against b, peak 1. */
static double psnr(const struct plane *a, const struct plane *b)
{
	double se = 0, d;
	int x, y;

	for (y = 0; y < a->h; y++)
		for (x = 0; x < a->w; x++) {
			d = plane_row(a, y)[x] - plane_row(b, y)[x];
			se += d * d;
		}
	se /= (double)a->w * a->h;
	return se > 0 ? 10 * log10(1 / se) : INFINITY;
}

/* blur computes dst = the psf's blur of src, reflect border, rounded to 8 bits. */
static int blur(const struct plane *src, struct plane *dst, const float *psf, int k,
		int round8)
{
	struct conv_job job;
	struct err err = { 0 };
	int x, y;

	memset(&job, 0, sizeof job);
	job.in = src;
	job.out = dst;
	job.kw = job.kh = k;
	job.nk = 1;
	job.wt = psf;
	job.ax = job.ay = k / 2;
	job.border.mode = BORDER_REFLECT;
	job.threads = 2;
	if (eng_direct.run(&job, &err))
		return -1;
	for (y = 0; round8 && y < dst->h; y++)
		for (x = 0; x < dst->w; x++) {
			float v = plane_row(dst, y)[x];

			v = v < 0 ? 0 : v > 1 ? 1 : v;
			plane_row(dst, y)[x] = roundf(v * 255) / 255;
		}
	return 0;
}

static void dj_init(struct deconv_job *dj, const struct plane *in, struct plane *out,
		    const float *psf, int k, int threads)
{
	memset(dj, 0, sizeof *dj);
	dj->in = in;
	dj->out = out;
	dj->psf = psf;
	dj->kw = dj->kh = k;
	dj->ax = dj->ay = k / 2;
	dj->border.mode = BORDER_REFLECT;
	dj->threads = threads;
}

/*
 * test_photo blurs every channel of the photo at path, restores it with
 * each method and checks the PSNR of all channels together.
 */
static void test_photo(const char *path)
{
	static const struct { const char *name; int rl; double arg; } methods[] = {
		{ "wiener, nsr 0.01 (default)", 0, DECONV_NSR_DEFAULT },
		{ "wiener, nsr 0.001", 0, 1e-3 },
		{ "richardson-lucy, 30 iterations (default)", 1, DECONV_RL_ITERATIONS_DEFAULT },
	};
	struct image im;
	struct plane blurred[IMG_MAX_CHANNELS], restored;
	struct deconv_job dj;
	struct err err = { 0 };
	double before = 0, after, gain;
	char name[256];
	float *psf;
	int k, c, m, ok = 1;

	if (io_read(path, &im, &err)) {
		check(0, "deconvolution: read a photo", "%s", err.msg);
		return;
	}
	psf = gaussian(SIGMA, &k);
	memset(blurred, 0, sizeof blurred);
	if (psf == NULL || plane_alloc(&restored, im.w, im.h, &err))
		ok = 0;
	for (c = 0; ok && c < im.nch; c++)
		ok = plane_alloc(&blurred[c], im.w, im.h, &err) == 0 &&
		     blur(&im.ch[c], &blurred[c], psf, k, 1) == 0;
	if (!ok) {
		check(0, "deconvolution: set-up", "out of memory");
		return;
	}
	for (c = 0; c < im.nch; c++)
		before += psnr(&blurred[c], &im.ch[c]) / im.nch;
	for (m = 0; m < (int)(sizeof methods / sizeof methods[0]); m++) {
		after = 0;
		for (c = 0; ok && c < im.nch; c++) {
			dj_init(&dj, &blurred[c], &restored, psf, k, 2);
			ok = (methods[m].rl ? deconv_rl(&dj, (int)methods[m].arg, &err)
					    : deconv_wiener(&dj, methods[m].arg, &err)) == 0;
			after += psnr(&restored, &im.ch[c]) / im.nch;
		}
		gain = after - before;
		snprintf(name, sizeof name, "%s on %s (%d channel%s) blurred by a Gaussian, "
			 "sigma %g: PSNR %.2f -> %.2f dB, gain %+.2f dB", methods[m].name, path,
			 im.nch, im.nch > 1 ? "s" : "", SIGMA, before, after, gain);
		check(ok && gain >= MIN_GAIN_DB, name, "%s", ok ? "gain too small" : err.msg);
	}
	free(psf);
	for (c = 0; c < im.nch; c++)
		plane_free(&blurred[c]);
	plane_free(&restored);
	img_free(&im);
}

/*
 * Without rounding, the blur is exactly the model deconvolution inverts
 * (reflect border, symmetric psf), so a small NSR recovers most of the
 * detail, on every side of an awkward rectangle; one and two threads agree.
 */
static void test_exact(void)
{
	struct plane orig, blurred, r1, r2;
	struct deconv_job dj;
	struct err err = { 0 };
	float *psf;
	double p0, p1, maxd = 0;
	int k, x, y, ok;

	psf = gaussian(1.0, &k);
	if (psf == NULL || plane_alloc(&orig, 131, 77, &err) ||
	    plane_alloc(&blurred, 131, 77, &err) || plane_alloc(&r1, 131, 77, &err) ||
	    plane_alloc(&r2, 131, 77, &err)) {
		check(0, "deconvolution: set-up", "out of memory");
		return;
	}
	for (y = 0; y < orig.h; y++)
		for (x = 0; x < orig.w; x++)
			plane_row(&orig, y)[x] = (float)(0.5 + 0.3 * sin(x * 0.37) * cos(y * 0.23) +
							  ((x / 9 + y / 7) % 2) * 0.15);
	blur(&orig, &blurred, psf, k, 0);
	p0 = psnr(&blurred, &orig);
	dj_init(&dj, &blurred, &r1, psf, k, 1);
	ok = deconv_wiener(&dj, 1e-6, &err) == 0;
	dj_init(&dj, &blurred, &r2, psf, k, 2);
	ok = ok && deconv_wiener(&dj, 1e-6, &err) == 0;
	p1 = psnr(&r1, &orig);
	for (y = 0; y < orig.h; y++)
		for (x = 0; x < orig.w; x++)
			maxd = fmax(maxd, fabs(plane_row(&r1, y)[x] - plane_row(&r2, y)[x]));
	check(ok && p1 > 40 && p1 - p0 > 10 && maxd < 1e-4,
	      "wiener (nsr 1e-6) inverts an exact blur of a 131x77 plane, 1 and 2 threads",
	      "PSNR %.2f -> %.2f dB, threads differ by %.3g (%s)", p0, p1, maxd,
	      ok ? dj.note : err.msg);
	printf("    exact blur, wiener nsr 1e-6: PSNR %.2f dB -> %.2f dB\n", p0, p1);
	free(psf);
	plane_free(&orig);
	plane_free(&blurred);
	plane_free(&r1);
	plane_free(&r2);
}

/* Tiny planes, a psf larger than the plane, every border: finite results. */
static void test_small(void)
{
	static const int sizes[][2] = { { 1, 1 }, { 1, 9 }, { 9, 1 }, { 7, 5 } };
	static const enum border_mode modes[] = {
		BORDER_CONST, BORDER_CLAMP, BORDER_REFLECT, BORDER_MIRROR, BORDER_WRAP
	};
	struct plane in, out;
	struct deconv_job dj;
	struct err err = { 0 };
	float *psf;
	int k, si, mi, x, y, bad = 0, runs = 0;
	char what[160] = "";

	psf = gaussian(1.5, &k);     /* 11x11, larger than every plane here */
	for (si = 0; si < 4; si++)
		for (mi = 0; mi < 5; mi++) {
			if (plane_alloc(&in, sizes[si][0], sizes[si][1], &err) ||
			    plane_alloc(&out, sizes[si][0], sizes[si][1], &err))
				return;
			for (y = 0; y < in.h; y++)
				for (x = 0; x < in.w; x++)
					plane_row(&in, y)[x] = 0.5f;
			dj_init(&dj, &in, &out, psf, k, 1 + (si + mi) % 2);
			dj.border.mode = modes[mi];
			dj.border.value = 0.5f;
			if (deconv_wiener(&dj, 0.01, &err) || deconv_rl(&dj, 5, &err)) {
				bad++;
				snprintf(what, sizeof what, "%dx%d %s: %.100s", in.w, in.h,
					 border_name(modes[mi]), err.msg);
			}
			for (y = 0; y < in.h; y++)
				for (x = 0; x < in.w; x++)
					/* A constant plane stays that constant under both methods. */
					if (!(fabs(plane_row(&out, y)[x] - 0.5f) < 1e-3)) {
						bad++;
						snprintf(what, sizeof what, "%dx%d %s: %g at %d,%d",
							 in.w, in.h, border_name(modes[mi]),
							 plane_row(&out, y)[x], x, y);
					}
			runs++;
			plane_free(&in);
			plane_free(&out);
		}
	check(bad == 0, "deconvolution of constant 1x1 .. 7x5 planes, 11x11 psf, every border",
	      "%d bad of %d: %s", bad, runs, what);
	free(psf);
}

/*
 * ---- -b wrap: deconvolution on the image's own period (the torus). ----
 *
 * The closed forms below are computed in double, from the model of
 * deconv.h written as a circular convolution: in = h * x on the image's
 * period, h(u, v) = psf(i, j) at u = (ay - i) mod H, v = (ax - j) mod W
 * (the psf folded onto the period), and then
 *
 *   Wiener:  X = conj(Hf) Y / (|Hf|^2 + nsr),   Hf the DFT of h,
 *   RL:      x <- x * h^T (in / (h x)),          h normalised to sum 1,
 *
 * by a naive DFT and naive circular sums, independently of deconv.c and
 * of FFTW.
 */
#define TORUS_MAX 17
#define TWO_PI 6.283185307179586476925

/* dft2 transforms a (H x W, row-major) in place; sign -1 forward, +1 inverse (unscaled). */
static void dft2(double complex *a, int W, int H, int sign)
{
	double complex t[TORUS_MAX];
	int y, x, u;

	for (y = 0; y < H; y++) {
		for (u = 0; u < W; u++) {
			t[u] = 0;
			for (x = 0; x < W; x++)
				t[u] += a[y * W + x] * cexp(sign * TWO_PI * I * ((double)u * x / W));
		}
		memcpy(a + y * W, t, (size_t)W * sizeof *t);
	}
	for (x = 0; x < W; x++) {
		for (u = 0; u < H; u++) {
			t[u] = 0;
			for (y = 0; y < H; y++)
				t[u] += a[y * W + x] * cexp(sign * TWO_PI * I * ((double)u * y / H));
		}
		for (u = 0; u < H; u++)
			a[u * W + x] = t[u];
	}
}

/* fold puts the psf onto the W x H period as the convolution kernel h. */
static void fold(const float *psf, int kw, int kh, int ax, int ay, int W, int H, double *h)
{
	int i, j;

	memset(h, 0, (size_t)W * H * sizeof *h);
	for (i = 0; i < kh; i++)
		for (j = 0; j < kw; j++)
			h[(((ay - i) % H + H) % H) * W + ((ax - j) % W + W) % W] += psf[i * kw + j];
}

/* wiener_closed is the closed form X; it returns min |Hf| over the spectrum. */
static double wiener_closed(const double *in, const double *h, int W, int H, double nsr,
			    double *out)
{
	double complex Y[TORUS_MAX * TORUS_MAX], Hf[TORUS_MAX * TORUS_MAX];
	double hmin = INFINITY;
	int i, n = W * H;

	for (i = 0; i < n; i++) {
		Y[i] = in[i];
		Hf[i] = h[i];
	}
	dft2(Y, W, H, -1);
	dft2(Hf, W, H, -1);
	for (i = 0; i < n; i++) {
		hmin = fmin(hmin, cabs(Hf[i]));
		Y[i] = conj(Hf[i]) * Y[i] / (creal(Hf[i] * conj(Hf[i])) + nsr);
	}
	dft2(Y, W, H, 1);
	for (i = 0; i < n; i++)
		out[i] = creal(Y[i]) / n;
	return hmin;
}

/* circ computes r = h * x (adjoint: the correlation h^T x) on the W x H period. */
static void circ(const double *h, const double *x, int W, int H, int adjoint, double *r)
{
	int y, xx, u, v;

	for (y = 0; y < H; y++)
		for (xx = 0; xx < W; xx++) {
			double acc = 0;

			for (u = 0; u < H; u++)
				for (v = 0; v < W; v++)
					acc += h[u * W + v] *
					       (adjoint ? x[((y + u) % H) * W + (xx + v) % W]
							: x[((y - u + H) % H) * W + (xx - v + W) % W]);
			r[y * W + xx] = acc;
		}
}

/* rl_closed runs the Richardson-Lucy steps of deconv.h in double, circularly. */
static void rl_closed(const double *in, const double *h, int W, int H, int iterations,
		      double *x)
{
	double c[TORUS_MAX * TORUS_MAX], r[TORUS_MAX * TORUS_MAX];
	int i, it, n = W * H;

	for (i = 0; i < n; i++)
		x[i] = in[i] > 0 ? in[i] : 0;
	for (it = 0; it < iterations; it++) {
		circ(h, x, W, H, 0, c);
		for (i = 0; i < n; i++)
			c[i] = c[i] > 0 && in[i] > 0 ? in[i] / c[i] : 0;
		circ(h, c, W, H, 1, r);
		for (i = 0; i < n; i++)
			x[i] = r[i] > 0 ? x[i] * r[i] : 0;
	}
}

/*
 * The psf: a 3-tap box across times a 2-tap box down, whose spectrum
 * vanishes at every third column frequency and at the row Nyquist (exactly
 * when the side divides, nearly otherwise), made slightly lopsided so that
 * the orientation and the anchor (1, 0 of 4 x 2) matter.
 */
#define TPSF_W 4
#define TPSF_H 2
static const float torus_psf[TPSF_H * TPSF_W] = {
	0.16f, 0.17f, 0.165f, 0.005f,
	0.165f, 0.16f, 0.17f, 0.005f,
};

static void test_torus(void)
{
	static const int sizes[][2] = { { 5, 5 }, { 8, 8 }, { 12, 12 }, { 13, 17 }, { 17, 13 },
					{ 3, 2 } };
	static const double nsrs[] = { DECONV_NSR_DEFAULT, 0.05, 1e-3 };
	static const enum border_mode other[] = { BORDER_REFLECT, BORDER_CONST };
	double in[TORUS_MAX * TORUS_MAX], h[TORUS_MAX * TORUS_MAX], want[TORUS_MAX * TORUS_MAX];
	double hmin, worst, d, sum = 0;
	float rlpsf[TPSF_H * TPSF_W];
	struct plane pin, pout;
	struct deconv_job dj;
	struct err err = { 0 };
	char name[200];
	int si, ni, W, H, y, x, i, ok;

	for (si = 0; si < (int)(sizeof sizes / sizeof sizes[0]); si++) {
		W = sizes[si][0];
		H = sizes[si][1];
		if (plane_alloc(&pin, W, H, &err) || plane_alloc(&pout, W, H, &err)) {
			check(0, "deconvolution on the torus: set-up", "%s", err.msg);
			return;
		}
		for (y = 0; y < H; y++)
			for (x = 0; x < W; x++) {
				float v = (float)rnd();

				plane_row(&pin, y)[x] = v;
				in[y * W + x] = v;
			}
		fold(torus_psf, TPSF_W, TPSF_H, 1, 0, W, H, h);
		for (ni = 0; ni < (int)(sizeof nsrs / sizeof nsrs[0]); ni++) {
			hmin = wiener_closed(in, h, W, H, nsrs[ni], want);
			dj_init(&dj, &pin, &pout, torus_psf, 0, 1 + ni % 2);
			dj.kw = TPSF_W;
			dj.kh = TPSF_H;
			dj.ax = 1;
			dj.ay = 0;
			dj.border.mode = BORDER_WRAP;
			ok = deconv_wiener(&dj, nsrs[ni], &err) == 0;
			worst = ok ? 0 : INFINITY;
			for (i = 0; ok && i < W * H; i++) {
				d = fabs(plane_row(&pout, i / W)[i % W] - want[i]);
				worst = isfinite(d) ? fmax(worst, d) : INFINITY;
			}
			snprintf(name, sizeof name, "wiener -b wrap, nsr %g, on %dx%d equals the closed "
				 "form on the image's period within 1e-4 (min |H| %.2g): %.3g", nsrs[ni],
				 W, H, hmin, worst);
			check(worst <= 1e-4, name, "%s", ok ? dj.note : err.msg);
		}
		/*
		 * One axis wrapping: the closed form along it, whatever the
		 * other does.  A psf one row high (or one column wide) reads
		 * only its own row (column): a 1-D problem per line.  torus_psf's
		 * first row serves as either.
		 */
		for (ni = 0; ni < 4 && H > 3; ni++) {
			int cols = ni < 2, n = cols ? W : H, lines = cols ? H : W, l, t;
			double line[TORUS_MAX], wantc[TORUS_MAX];

			dj_init(&dj, &pin, &pout, torus_psf, 0, 1);
			dj.kw = cols ? TPSF_W : 1;
			dj.kh = cols ? 1 : TPSF_W;
			dj.ax = cols ? 1 : 0;
			dj.ay = cols ? 0 : 1;
			dj.border.per_axis = 1;
			dj.border.mode = cols ? BORDER_WRAP : other[ni % 2];
			dj.border.ymode = cols ? other[ni % 2] : BORDER_WRAP;
			fold(torus_psf, TPSF_W, 1, 1, 0, n, 1, h);
			ok = deconv_wiener(&dj, 0.02, &err) == 0;
			worst = ok ? 0 : INFINITY;
			for (l = 0; ok && l < lines; l++) {
				for (t = 0; t < n; t++)
					line[t] = cols ? in[l * W + t] : in[t * W + l];
				wiener_closed(line, h, n, 1, 0.02, wantc);
				for (t = 0; t < n; t++) {
					d = fabs((cols ? plane_row(&pout, l)[t] : plane_row(&pout, t)[l]) -
						 wantc[t]);
					worst = isfinite(d) ? fmax(worst, d) : INFINITY;
				}
			}
			snprintf(name, sizeof name, "wiener -b %s,%s (the %s wrap), a 1-%s psf, on %dx%d: "
				 "each %s the closed form on its period: %.3g",
				 border_name(dj.border.mode), border_name(dj.border.ymode),
				 cols ? "columns" : "rows", cols ? "row" : "column", W, H,
				 cols ? "row" : "column", worst);
			check(worst <= 1e-4, name, "%s", ok ? dj.note : err.msg);
		}
		/* Richardson-Lucy: circular blurs on the image's period. */
		sum = 0;
		for (i = 0; i < TPSF_W * TPSF_H; i++)
			sum += torus_psf[i];
		for (i = 0; i < TPSF_W * TPSF_H; i++)
			rlpsf[i] = (float)(torus_psf[i] / sum);
		fold(rlpsf, TPSF_W, TPSF_H, 1, 0, W, H, h);
		rl_closed(in, h, W, H, 10, want);
		dj_init(&dj, &pin, &pout, torus_psf, 0, 2);
		dj.kw = TPSF_W;
		dj.kh = TPSF_H;
		dj.ax = 1;
		dj.ay = 0;
		dj.border.mode = BORDER_WRAP;
		ok = deconv_rl(&dj, 10, &err) == 0;
		worst = ok ? 0 : INFINITY;
		for (i = 0; ok && i < W * H; i++) {
			d = fabs(plane_row(&pout, i / W)[i % W] - want[i]);
			worst = isfinite(d) ? fmax(worst, d) : INFINITY;
		}
		snprintf(name, sizeof name, "richardson-lucy -b wrap, 10 iterations, on %dx%d equals "
			 "circular RL in double within 1e-4: %.3g", W, H, worst);
		check(worst <= 1e-4, name, "%s", ok ? dj.note : err.msg);
		plane_free(&pin);
		plane_free(&pout);
	}
}

static void test_errors(void)
{
	struct plane in, out;
	struct deconv_job dj;
	struct err err = { 0 };
	float neg[9] = { 0, -0.1f, 0, 0.3f, 0.6f, 0.3f, 0, -0.1f, 0 }, zero[1] = { 0 };
	int ok;

	if (plane_alloc(&in, 8, 8, &err) || plane_alloc(&out, 8, 8, &err))
		return;
	dj_init(&dj, &in, &out, neg, 3, 1);
	ok = deconv_rl(&dj, 10, &err) == -1 && err.cls == ERR_DATA;
	check(ok, "richardson-lucy refuses a psf with negative weights", "%s", err.msg);
	err.cls = ERR_NONE;
	dj_init(&dj, &in, &out, zero, 1, 1);
	ok = deconv_rl(&dj, 10, &err) == -1 && err.cls == ERR_DATA;
	check(ok, "richardson-lucy refuses a psf summing to 0", "%s", err.msg);
	err.cls = ERR_NONE;
	dj_init(&dj, &in, &out, neg, 3, 1);
	ok = deconv_wiener(&dj, 0, &err) == -1 && err.cls == ERR_USAGE;
	err.cls = ERR_NONE;
	ok = ok && deconv_rl(&dj, 0, &err) == -1 && err.cls == ERR_USAGE;
	check(ok, "nsr 0 and 0 iterations are usage errors", "%s", err.msg);
	plane_free(&in);
	plane_free(&out);
}

int main(void)
{
	test_photo("samples/camera.png");
	test_photo("samples/coffee.png");
	test_exact();
	test_small();
	test_torus();
	test_errors();
	fft_shutdown();
	return check_exit();
}

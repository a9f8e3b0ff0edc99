/* deconv.h: Wiener and Richardson-Lucy deconvolution of one plane. */
#ifndef IMF_DECONV_H
#define IMF_DECONV_H

#include "border.h"
#include "err.h"
#include "plane.h"

/* Defaults for --deconvolve wiener[:NSR] and rl[:ITERATIONS]. */
#define DECONV_NSR_DEFAULT 0.01
#define DECONV_RL_ITERATIONS_DEFAULT 30
#define DECONV_RL_ITERATIONS_MAX 10000

/*
 * One deconvolution: in is taken to be the blur of an unknown plane x by
 * the point-spread function psf,
 *
 *   in(y, x) = sum_{i<kh} sum_{j<kw} psf(i, j) * x'(y + i - ay, x + j - ax),
 *
 * x' being x extended by the border rule, which is exactly what an engine
 * computes for a struct conv_job with wt = psf (correlation orientation:
 * pass the same flipped, scaled weights and anchor that convolution with
 * the kernel uses).  out (same size as in, allocated by the caller)
 * receives the estimate of x.
 *
 * Wiener is a division in the frequency domain, so it transforms the whole
 * plane (no tiles): the plane is extended on every side by a margin of
 * kh + |ay| rows and kw + |ax| columns using the border rule, then to a
 * transform size whose wrap-around seam is hidden by a raised-cosine blend
 * between the two opposite extensions, so that the periodic transform sees
 * no jump; the margin is cropped off after.  An axis whose rule is
 * BORDER_WRAP is not extended: the model is then periodic along it, of
 * the image's own period, so it is transformed at exactly the image's side
 * (any size), the psf folded onto that period, and the division is the
 * closed form on the torus (both axes wrapping) or on a cylinder (one).
 * It needs two buffers of the extended plane's size (about twice the
 * plane's float size) and uses FFTW's threads.
 *
 * Richardson-Lucy alternates the blur and its adjoint, which are plain
 * convolutions: it runs them on the plane itself with the engine the
 * planner picks (the FFT engine's tiles for most psfs), the border rule
 * extending the estimate exactly as in the model above (with BORDER_WRAP,
 * circular convolutions on the image's period).  It needs two planes
 * besides in and out (four with a constant border).  in and out must be
 * different planes.
 */
struct deconv_job {
	const struct plane *in;
	struct plane *out;
	const float *psf;            /* kh rows of kw weights */
	int kw, kh;
	int ax, ay;
	struct border border;
	int threads;                 /* >= 1 */
	char note[160];              /* what was done, for -v */
};

/*
 * deconv_wiener divides the blur out with the Wiener filter
 * conj(H) / (|H|^2 + nsr), H the transfer function of psf; nsr > 0 is the
 * noise-to-signal power ratio (DECONV_NSR_DEFAULT; smaller sharpens more and
 * amplifies noise more).  Returns 0, or -1 with err filled.
 */
int deconv_wiener(struct deconv_job *job, double nsr, struct err *err);

/*
 * deconv_rl runs `iterations` Richardson-Lucy steps
 *
 *   x <- x * (psf^T (in / (psf x)))
 *
 * from x = in (DECONV_RL_ITERATIONS_DEFAULT; more sharpens more and
 * amplifies noise more).  It needs a non-negative psf with a positive sum
 * (ERR_DATA otherwise; the psf is normalised to sum 1) and treats negative
 * samples of in as 0; the estimate stays non-negative.  Returns 0 or -1.
 */
int deconv_rl(struct deconv_job *job, int iterations, struct err *err);

#endif

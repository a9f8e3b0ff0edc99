/* engine_fft.h: FFTW plans, wisdom and shutdown shared by the FFT engine and deconvolution. */
#ifndef IMF_ENGINE_FFT_H
#define IMF_ENGINE_FFT_H

#include <stddef.h>

#include "err.h"

/*
 * Wisdom.  fft_wisdom_load imports FFTW wisdom from path (a missing file is
 * not an error: it is created by the first save) and from then on plans
 * are made with FFTW_MEASURE instead of FFTW_ESTIMATE: slow the first time
 * a size is seen, instant once the wisdom file holds it.  fft_wisdom_save
 * writes the wisdom gathered so far to path, atomically (temporary file in
 * the same directory, then rename), so concurrent runs sharing one file
 * never see half a file.  Both return 0 or -1 with err filled (ERR_DATA for
 * a file that is not wisdom, ERR_CANTCREAT / ERR_IO for writing).
 */
int fft_wisdom_load(const char *path, struct err *err);
int fft_wisdom_save(const char *path, struct err *err);

/*
 * fft_shutdown frees the cached kernel spectra and FFTW's own state
 * (fftwf_cleanup_threads), so a leak checker sees nothing left.  Call it
 * once at exit, after the last plan is destroyed; the engine may be used
 * again afterwards (everything is set up afresh).
 */
void fft_shutdown(void);

/* fft_good_size is the smallest product of 2, 3, 5 and 7 that is >= n. */
int fft_good_size(int n);

/*
 * A 2-D real transform pair, in place: nh rows of nw real samples, each
 * row padded to rs = 2 * (nw / 2 + 1) floats, which after the forward
 * transform hold nw / 2 + 1 complex numbers (re, im interleaved).  The
 * inverse is unnormalised (a round trip multiplies by nh * nw).
 *
 * Use: fft2_shape sets nh, nw and rs; fft2_alloc gives buffers of that
 * shape; fft2_plan plans both directions for such buffers with `threads`
 * FFTW threads.  With wisdom enabled, planning measures on buf and
 * overwrites it, so plan before filling.  Plans are made under one lock
 * (FFTW's planner is not thread-safe); fft2_forward and fft2_inverse may
 * then run concurrently from any threads, each on its own buffer.
 */
struct fft2 {
	int nh, nw;
	size_t rs;           /* floats per buffer row */
	void *fwd, *inv;     /* fftwf_plan */
};

void fft2_shape(struct fft2 *f, int nh, int nw);
int fft2_plan(struct fft2 *f, int threads, float *buf, struct err *err);
void fft2_destroy(struct fft2 *f);

/* fft2_alloc returns nh * rs zeroed floats with FFTW's alignment, or NULL. */
float *fft2_alloc(const struct fft2 *f);
void fft2_free(float *buf);

void fft2_forward(const struct fft2 *f, float *buf);
void fft2_inverse(const struct fft2 *f, float *buf);

#endif

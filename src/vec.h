/* vec.h: the vectorised row loops every engine's hot path is made of. */
#ifndef IMF_VEC_H
#define IMF_VEC_H

/*
 * Each function has a portable C version and SSE2, AVX2 and AVX-512
 * versions on x86-64, chosen at each call by cpu_level() (cpu.h).  Within
 * one version a sample's result never depends on where its row was cut
 * (into bands, strips or the vector loop's tail): every x gets the same
 * operations in the same order, so engines stay bit-identical for any
 * number of threads.  Versions may differ from each other in the last
 * bit (the AVX versions fuse multiply and add).
 */

/* Flags of vec_taps and vec_rows2. */
enum {
	VEC_ACCUMULATE = 1,   /* add the sums to dst rather than set it */
	VEC_STREAM = 2        /* dst will not be read again soon: write past the caches */
};

/*
 * vec_taps sets dst[x] = sum_t w[t] * src[t][x] for x < n, the taps summed
 * in order t = 0 .. ntaps-1, onto dst[x] with VEC_ACCUMULATE and onto 0
 * otherwise.  Each src[t] must have n readable samples; dst may not overlap
 * them.  This is every engine's inner loop: a direct kernel's taps are
 * its rows shifted by j, a separable pass's taps are rows (vertical) or
 * one row shifted (horizontal).  The sums of a block of output vectors
 * stay in registers across all taps, so dst is read and written once.
 * VEC_STREAM (AVX-512 only, for rows of a plane larger than the caches)
 * saves reading each output cache line before it is overwritten.
 */
void vec_taps(float *dst, const float *const *src, const float *w, int ntaps, int n,
	      unsigned flags);

/*
 * vec_rows2 computes two consecutive output rows of a dense kh x kw
 * kernel w (row-major) from kh + 1 source rows:
 *
 *   dst0[x] = sum_{i,j} w[i kw + j] src[i][x + j]
 *   dst1[x] = sum_{i,j} w[i kw + j] src[i + 1][x + j]        for x < n,
 *
 * each sum bit-identical to vec_taps over the taps in (i, j) order (zero
 * weights included).  flags as for vec_taps.  scratch holds kw kh
 * pointers for the versions that call vec_taps.
 */
void vec_rows2(float *dst0, float *dst1, const float *const *src, const float *w, int kw,
	       int kh, int n, unsigned flags, const float **scratch);

/*
 * vec_cols computes nr (1 to VEC_COLS_MAX) consecutive output rows of a
 * vertical pass, a single column of kh weights w, from kh + nr - 1 source
 * rows:
 *
 *   dst[r][x] = sum_k w[k] src[r + k][x]        for r < nr, x < n,
 *
 * each sum bit-identical to vec_taps(dst[r], src + r, w, kh, n, flags).
 * The AVX-512 version loads each source vector once for all nr rows, so
 * a separable pass reads its ring a quarter as often as row by row.
 */
#define VEC_COLS_MAX 4

void vec_cols(float *const *dst, int nr, const float *const *src, const float *w, int kh,
	      int n, unsigned flags);

/* The row operations of combining a bank's results (eng_combine). */
enum vec_op {
	VEC_SET_SQ,       /* acc = r * r */
	VEC_ADD,          /* acc = acc + r */
	VEC_MAX,          /* acc = r > acc ? r : acc */
	VEC_ADD_SQ,       /* acc = acc + r * r */
	VEC_SQRT,         /* acc = sqrt(acc); r is not read */
	VEC_SET_ABS,      /* acc = |r| */
	VEC_ADD_ABS       /* acc = acc + |r| */
};

/*
 * vec_combine applies op to acc[x] and r[x] for x < n; r is acc itself or
 * does not overlap it.
 */
void vec_combine(enum vec_op op, float *acc, const float *r, int n);

#endif

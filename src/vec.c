/* vec.c: the row loops of vec.h, in portable C and per x86 instruction set. */
#include "vec.h"

#include <math.h>
#include <stdint.h>

#include "cpu.h"

#if CPU_X86
#include <immintrin.h>
#endif

/*
 * The portable versions.  Sums are formed in the same order as the vector
 * versions (taps in order, one accumulator per sample); an ISO C build does
 * not contract a * b + c into a fused multiply-add, so these round as the
 * SSE2 version does.
 */
static void taps_c(float *restrict dst, const float *const *src, const float *w,
		   int nt, int n, unsigned flags)
{
	const int add = flags & VEC_ACCUMULATE;
	float a[8];
	int x = 0, t, k;

	for (; x + 8 <= n; x += 8) {
		for (k = 0; k < 8; k++)
			a[k] = add ? dst[x + k] : 0.0f;
		for (t = 0; t < nt; t++) {
			const float *s = src[t] + x;
			float wt = w[t];

			for (k = 0; k < 8; k++)
				a[k] += wt * s[k];
		}
		for (k = 0; k < 8; k++)
			dst[x + k] = a[k];
	}
	for (; x < n; x++) {
		a[0] = add ? dst[x] : 0.0f;
		for (t = 0; t < nt; t++)
			a[0] += w[t] * src[t][x];
		dst[x] = a[0];
	}
}

static void combine_c(enum vec_op op, float *acc, const float *r, int n)
{
	int x;

	switch (op) {
	case VEC_SET_SQ:
		for (x = 0; x < n; x++)
			acc[x] = r[x] * r[x];
		break;
	case VEC_ADD:
		for (x = 0; x < n; x++)
			acc[x] += r[x];
		break;
	case VEC_MAX:
		for (x = 0; x < n; x++)
			acc[x] = r[x] > acc[x] ? r[x] : acc[x];
		break;
	case VEC_ADD_SQ:
		for (x = 0; x < n; x++)
			acc[x] += r[x] * r[x];
		break;
	case VEC_SQRT:
		for (x = 0; x < n; x++)
			acc[x] = sqrtf(acc[x]);
		break;
	case VEC_SET_ABS:
		for (x = 0; x < n; x++)
			acc[x] = fabsf(r[x]);
		break;
	case VEC_ADD_ABS:
		for (x = 0; x < n; x++)
			acc[x] += fabsf(r[x]);
		break;
	}
}

#if CPU_X86

/*
 * SSE2: four vectors of 4 samples per block; multiply then add, as the
 * portable version rounds.  The baseline of every x86-64, so no target
 * attribute is needed.
 */
static void taps_sse2(float *restrict dst, const float *const *src, const float *w,
		      int nt, int n, unsigned flags)
{
	const int add = flags & VEC_ACCUMULATE;
	int x = 0, t;

	for (; x + 16 <= n; x += 16) {
		__m128 a0, a1, a2, a3;

		if (add) {
			a0 = _mm_loadu_ps(dst + x);
			a1 = _mm_loadu_ps(dst + x + 4);
			a2 = _mm_loadu_ps(dst + x + 8);
			a3 = _mm_loadu_ps(dst + x + 12);
		} else {
			a0 = a1 = a2 = a3 = _mm_setzero_ps();
		}
		for (t = 0; t < nt; t++) {
			const float *s = src[t] + x;
			__m128 k = _mm_set1_ps(w[t]);

			a0 = _mm_add_ps(a0, _mm_mul_ps(k, _mm_loadu_ps(s)));
			a1 = _mm_add_ps(a1, _mm_mul_ps(k, _mm_loadu_ps(s + 4)));
			a2 = _mm_add_ps(a2, _mm_mul_ps(k, _mm_loadu_ps(s + 8)));
			a3 = _mm_add_ps(a3, _mm_mul_ps(k, _mm_loadu_ps(s + 12)));
		}
		_mm_storeu_ps(dst + x, a0);
		_mm_storeu_ps(dst + x + 4, a1);
		_mm_storeu_ps(dst + x + 8, a2);
		_mm_storeu_ps(dst + x + 12, a3);
	}
	for (; x + 4 <= n; x += 4) {
		__m128 a = add ? _mm_loadu_ps(dst + x) : _mm_setzero_ps();

		for (t = 0; t < nt; t++)
			a = _mm_add_ps(a, _mm_mul_ps(_mm_set1_ps(w[t]), _mm_loadu_ps(src[t] + x)));
		_mm_storeu_ps(dst + x, a);
	}
	for (; x < n; x++) {
		float a = add ? dst[x] : 0.0f;

		for (t = 0; t < nt; t++)
			a += w[t] * src[t][x];
		dst[x] = a;
	}
}

static void combine_sse2(enum vec_op op, float *acc, const float *r, int n)
{
	int x = 0;

	switch (op) {
	case VEC_SET_SQ:
		for (; x + 4 <= n; x += 4) {
			__m128 v = _mm_loadu_ps(r + x);
			_mm_storeu_ps(acc + x, _mm_mul_ps(v, v));
		}
		break;
	case VEC_ADD:
		for (; x + 4 <= n; x += 4)
			_mm_storeu_ps(acc + x, _mm_add_ps(_mm_loadu_ps(acc + x), _mm_loadu_ps(r + x)));
		break;
	case VEC_MAX:
		/* maxps(a, b) is a > b ? a : b, NaN included, as the C loop. */
		for (; x + 4 <= n; x += 4)
			_mm_storeu_ps(acc + x, _mm_max_ps(_mm_loadu_ps(r + x), _mm_loadu_ps(acc + x)));
		break;
	case VEC_ADD_SQ:
		for (; x + 4 <= n; x += 4) {
			__m128 v = _mm_loadu_ps(r + x);
			_mm_storeu_ps(acc + x, _mm_add_ps(_mm_loadu_ps(acc + x), _mm_mul_ps(v, v)));
		}
		break;
	case VEC_SQRT:
		for (; x + 4 <= n; x += 4)
			_mm_storeu_ps(acc + x, _mm_sqrt_ps(_mm_loadu_ps(acc + x)));
		break;
	case VEC_SET_ABS:
		for (; x + 4 <= n; x += 4)
			_mm_storeu_ps(acc + x, _mm_andnot_ps(_mm_set1_ps(-0.0f), _mm_loadu_ps(r + x)));
		break;
	case VEC_ADD_ABS:
		for (; x + 4 <= n; x += 4)
			_mm_storeu_ps(acc + x, _mm_add_ps(_mm_loadu_ps(acc + x),
						    _mm_andnot_ps(_mm_set1_ps(-0.0f),
								  _mm_loadu_ps(r + x))));
		break;
	}
	if (x < n)
		combine_c(op, acc + x, op == VEC_SQRT ? r : r + x, n - x);
}

/*
 * AVX2 with FMA: eight vectors of 8 samples per block (16 registers: 8
 * sums, the weight and loads), then single vectors, then a scalar tail
 * that fuses as the vectors do.
 */
__attribute__((target("avx2,fma")))
static float fma_ss(float a, float b, float c)
{
	return _mm_cvtss_f32(_mm_fmadd_ss(_mm_set_ss(a), _mm_set_ss(b), _mm_set_ss(c)));
}

__attribute__((target("avx2,fma")))
static void taps_avx2(float *restrict dst, const float *const *src, const float *w,
		      int nt, int n, unsigned flags)
{
	const int add = flags & VEC_ACCUMULATE;
	int x = 0, t, v;

	for (; x + 64 <= n; x += 64) {
		__m256 a[8];

#pragma GCC unroll 8
		for (v = 0; v < 8; v++)
			a[v] = add ? _mm256_loadu_ps(dst + x + 8 * v) : _mm256_setzero_ps();
		for (t = 0; t < nt; t++) {
			const float *s = src[t] + x;
			__m256 k = _mm256_set1_ps(w[t]);

	#pragma GCC unroll 8
		for (v = 0; v < 8; v++)
				a[v] = _mm256_fmadd_ps(k, _mm256_loadu_ps(s + 8 * v), a[v]);
		}
#pragma GCC unroll 8
		for (v = 0; v < 8; v++)
			_mm256_storeu_ps(dst + x + 8 * v, a[v]);
	}
	for (; x + 8 <= n; x += 8) {
		__m256 a = add ? _mm256_loadu_ps(dst + x) : _mm256_setzero_ps();

		for (t = 0; t < nt; t++)
			a = _mm256_fmadd_ps(_mm256_set1_ps(w[t]), _mm256_loadu_ps(src[t] + x), a);
		_mm256_storeu_ps(dst + x, a);
	}
	for (; x < n; x++) {
		float a = add ? dst[x] : 0.0f;

		for (t = 0; t < nt; t++)
			a = fma_ss(w[t], src[t][x], a);
		dst[x] = a;
	}
}

__attribute__((target("avx2,fma")))
static void combine_avx2(enum vec_op op, float *acc, const float *r, int n)
{
	int x = 0;

	switch (op) {
	case VEC_SET_SQ:
		for (; x + 8 <= n; x += 8) {
			__m256 v = _mm256_loadu_ps(r + x);
			_mm256_storeu_ps(acc + x, _mm256_mul_ps(v, v));
		}
		for (; x < n; x++)
			acc[x] = r[x] * r[x];
		break;
	case VEC_ADD:
		for (; x + 8 <= n; x += 8)
			_mm256_storeu_ps(acc + x, _mm256_add_ps(_mm256_loadu_ps(acc + x),
							     _mm256_loadu_ps(r + x)));
		for (; x < n; x++)
			acc[x] += r[x];
		break;
	case VEC_MAX:
		for (; x + 8 <= n; x += 8)
			_mm256_storeu_ps(acc + x, _mm256_max_ps(_mm256_loadu_ps(r + x),
							     _mm256_loadu_ps(acc + x)));
		for (; x < n; x++)
			acc[x] = r[x] > acc[x] ? r[x] : acc[x];
		break;
	case VEC_ADD_SQ:
		for (; x + 8 <= n; x += 8) {
			__m256 v = _mm256_loadu_ps(r + x);
			_mm256_storeu_ps(acc + x, _mm256_fmadd_ps(v, v, _mm256_loadu_ps(acc + x)));
		}
		for (; x < n; x++)
			acc[x] = fma_ss(r[x], r[x], acc[x]);
		break;
	case VEC_SQRT:
		for (; x + 8 <= n; x += 8)
			_mm256_storeu_ps(acc + x, _mm256_sqrt_ps(_mm256_loadu_ps(acc + x)));
		for (; x < n; x++)
			acc[x] = sqrtf(acc[x]);
		break;
	case VEC_SET_ABS:
	case VEC_ADD_ABS:
		for (; x + 8 <= n; x += 8) {
			__m256 v = _mm256_andnot_ps(_mm256_set1_ps(-0.0f), _mm256_loadu_ps(r + x));

			if (op == VEC_ADD_ABS)
				v = _mm256_add_ps(_mm256_loadu_ps(acc + x), v);
			_mm256_storeu_ps(acc + x, v);
		}
		combine_c(op, acc + x, r + x, n - x);
		break;
	}
}

/*
 * AVX-512: blocks of eight vectors of 16 samples, the sums in registers
 * across all taps; the rest of the row in masked blocks of four vectors
 * (masked lanes are neither read nor written), so there is no scalar tail
 * and every sample gets the same fused operations.
 */
static inline __mmask16 tail_mask(int left)
{
	return left >= 16 ? (__mmask16)0xffff : left <= 0 ? 0 : (__mmask16)((1u << left) - 1);
}

__attribute__((target("avx512f")))
static void taps_avx512(float *restrict dst, const float *const *src, const float *w,
			int nt, int n, unsigned flags)
{
	const int add = flags & VEC_ACCUMULATE;
	const int stream = (flags & VEC_STREAM) && (uintptr_t)dst % 64 == 0;
	int x = 0, t, v;

	for (; x + 128 <= n; x += 128) {
		__m512 a[8];

#pragma GCC unroll 8
		for (v = 0; v < 8; v++)
			a[v] = add ? _mm512_loadu_ps(dst + x + 16 * v) : _mm512_setzero_ps();
		for (t = 0; t < nt; t++) {
			const float *s = src[t] + x;
			__m512 k = _mm512_set1_ps(w[t]);

	#pragma GCC unroll 8
		for (v = 0; v < 8; v++)
				a[v] = _mm512_fmadd_ps(k, _mm512_loadu_ps(s + 16 * v), a[v]);
		}
		if (stream) {
#pragma GCC unroll 8
			for (v = 0; v < 8; v++)
				_mm512_stream_ps(dst + x + 16 * v, a[v]);
		} else {
#pragma GCC unroll 8
			for (v = 0; v < 8; v++)
				_mm512_storeu_ps(dst + x + 16 * v, a[v]);
		}
	}
	for (; x < n; x += 64) {
		__mmask16 m[4];
		__m512 a[4];

#pragma GCC unroll 4
		for (v = 0; v < 4; v++) {
			m[v] = tail_mask(n - x - 16 * v);
			a[v] = add ? _mm512_maskz_loadu_ps(m[v], dst + x + 16 * v) : _mm512_setzero_ps();
		}
		for (t = 0; t < nt; t++) {
			const float *s = src[t] + x;
			__m512 k = _mm512_set1_ps(w[t]);

	#pragma GCC unroll 4
		for (v = 0; v < 4; v++)
				a[v] = _mm512_fmadd_ps(k, _mm512_maskz_loadu_ps(m[v], s + 16 * v), a[v]);
		}
#pragma GCC unroll 4
		for (v = 0; v < 4; v++)
			_mm512_mask_storeu_ps(dst + x + 16 * v, m[v], a[v]);
	}
	if (stream)
		_mm_sfence();
}

__attribute__((target("avx512f")))
static void combine_avx512(enum vec_op op, float *acc, const float *r,
			   int n)
{
	int x;

	for (x = 0; x < n; x += 16) {
		__mmask16 m = tail_mask(n - x);
		__m512 a = _mm512_maskz_loadu_ps(m, acc + x);
		__m512 v = op == VEC_SQRT ? a : _mm512_maskz_loadu_ps(m, r + x);

		switch (op) {
		case VEC_SET_SQ: a = _mm512_mul_ps(v, v); break;
		case VEC_ADD: a = _mm512_add_ps(a, v); break;
		case VEC_MAX: a = _mm512_max_ps(v, a); break;
		case VEC_ADD_SQ: a = _mm512_fmadd_ps(v, v, a); break;
		case VEC_SQRT: a = _mm512_sqrt_ps(a); break;
		case VEC_SET_ABS: a = _mm512_abs_ps(v); break;
		case VEC_ADD_ABS: a = _mm512_add_ps(a, _mm512_abs_ps(v)); break;
		}
		_mm512_mask_storeu_ps(acc + x, m, a);
	}
}

/*
 * Two output rows at once: source rows 1 .. kh-1 each feed both, so each
 * vector loaded from them goes into two sums (the load, not the multiply-
 * add, is what limits a single row: most of its loads straddle cache
 * lines).  Each row's sums take the taps in the order vec_taps would.
 */
__attribute__((target("avx512f")))
static void rows2_avx512(float *restrict dst0, float *restrict dst1,
			 const float *const *src, const float *w, int kw, int kh, int n,
			 unsigned flags)
{
	const int stream = (flags & VEC_STREAM) && (uintptr_t)dst0 % 64 == 0 &&
			   (uintptr_t)dst1 % 64 == 0;
	int x = 0, i, j, v;

	for (; x + 128 <= n; x += 128) {
		__m512 a[8], b[8];
		const float *p = src[0] + x, *wa, *wb;

#pragma GCC unroll 8
		for (v = 0; v < 8; v++)
			a[v] = b[v] = _mm512_setzero_ps();
		for (j = 0; j < kw; j++) {
			__m512 k = _mm512_set1_ps(w[j]);

#pragma GCC unroll 8
			for (v = 0; v < 8; v++)
				a[v] = _mm512_fmadd_ps(k, _mm512_loadu_ps(p + j + 16 * v), a[v]);
		}
		for (i = 1; i < kh; i++) {
			p = src[i] + x;
			wa = w + (size_t)i * kw;
			wb = wa - kw;
			for (j = 0; j < kw; j++) {
				__m512 ka = _mm512_set1_ps(wa[j]), kb = _mm512_set1_ps(wb[j]);

#pragma GCC unroll 8
				for (v = 0; v < 8; v++) {
					__m512 d = _mm512_loadu_ps(p + j + 16 * v);

					/* One load for both sums: stop GCC from folding it into each. */
					__asm__("" : "+v"(d));
					a[v] = _mm512_fmadd_ps(ka, d, a[v]);
					b[v] = _mm512_fmadd_ps(kb, d, b[v]);
				}
			}
		}
		p = src[kh] + x;
		wb = w + (size_t)(kh - 1) * kw;
		for (j = 0; j < kw; j++) {
			__m512 k = _mm512_set1_ps(wb[j]);

#pragma GCC unroll 8
			for (v = 0; v < 8; v++)
				b[v] = _mm512_fmadd_ps(k, _mm512_loadu_ps(p + j + 16 * v), b[v]);
		}
		if (stream) {
#pragma GCC unroll 8
			for (v = 0; v < 8; v++) {
				_mm512_stream_ps(dst0 + x + 16 * v, a[v]);
				_mm512_stream_ps(dst1 + x + 16 * v, b[v]);
			}
		} else {
#pragma GCC unroll 8
			for (v = 0; v < 8; v++) {
				_mm512_storeu_ps(dst0 + x + 16 * v, a[v]);
				_mm512_storeu_ps(dst1 + x + 16 * v, b[v]);
			}
		}
	}
	for (; x < n; x += 64) {
		__mmask16 m[4];
		__m512 a[4], b[4];
		const float *p = src[0] + x, *wa, *wb;

#pragma GCC unroll 4
		for (v = 0; v < 4; v++) {
			m[v] = tail_mask(n - x - 16 * v);
			a[v] = b[v] = _mm512_setzero_ps();
		}
		for (j = 0; j < kw; j++) {
			__m512 k = _mm512_set1_ps(w[j]);

#pragma GCC unroll 4
			for (v = 0; v < 4; v++)
				a[v] = _mm512_fmadd_ps(k, _mm512_maskz_loadu_ps(m[v], p + j + 16 * v), a[v]);
		}
		for (i = 1; i < kh; i++) {
			p = src[i] + x;
			wa = w + (size_t)i * kw;
			wb = wa - kw;
			for (j = 0; j < kw; j++) {
				__m512 ka = _mm512_set1_ps(wa[j]), kb = _mm512_set1_ps(wb[j]);

#pragma GCC unroll 4
				for (v = 0; v < 4; v++) {
					__m512 d = _mm512_maskz_loadu_ps(m[v], p + j + 16 * v);

					a[v] = _mm512_fmadd_ps(ka, d, a[v]);
					b[v] = _mm512_fmadd_ps(kb, d, b[v]);
				}
			}
		}
		p = src[kh] + x;
		wb = w + (size_t)(kh - 1) * kw;
		for (j = 0; j < kw; j++) {
			__m512 k = _mm512_set1_ps(wb[j]);

#pragma GCC unroll 4
			for (v = 0; v < 4; v++)
				b[v] = _mm512_fmadd_ps(k, _mm512_maskz_loadu_ps(m[v], p + j + 16 * v), b[v]);
		}
#pragma GCC unroll 4
		for (v = 0; v < 4; v++) {
			_mm512_mask_storeu_ps(dst0 + x + 16 * v, m[v], a[v]);
			_mm512_mask_storeu_ps(dst1 + x + 16 * v, m[v], b[v]);
		}
	}
	if (stream)
		_mm_sfence();
}

/*
 * A vertical pass for nr output rows at once, in blocks of four vectors
 * of 16 samples: source row i feeds output row r with weight w[i - r],
 * so each loaded vector serves up to nr sums, and row r's sum takes its
 * taps in order k = 0 .. kh-1, as vec_taps does.  nr is a constant in
 * each caller below, so the row loops unroll.
 */
__attribute__((target("avx512f"), always_inline))
static inline void cols_body(float *const *dst, const int nr, const float *const *src,
			     const float *w, int kh, int n, int stream)
{
	int x, i, r, v;

	for (x = 0; x < n; x += 64) {
		__mmask16 m[4];
		__m512 a[VEC_COLS_MAX][4];

#pragma GCC unroll 4
		for (v = 0; v < 4; v++) {
			m[v] = tail_mask(n - x - 16 * v);
#pragma GCC unroll 4
			for (r = 0; r < nr; r++)
				a[r][v] = _mm512_setzero_ps();
		}
		for (i = 0; i < kh + nr - 1; i++) {
			const float *p = src[i] + x;
			__m512 d[4];

#pragma GCC unroll 4
			for (v = 0; v < 4; v++) {
				d[v] = _mm512_maskz_loadu_ps(m[v], p + 16 * v);
				/* One load for every row's sum: stop GCC from folding it into each. */
				__asm__("" : "+v"(d[v]));
			}
#pragma GCC unroll 4
			for (r = 0; r < nr; r++) {
				if (i - r >= 0 && i - r < kh) {
					__m512 k = _mm512_set1_ps(w[i - r]);

#pragma GCC unroll 4
					for (v = 0; v < 4; v++)
						a[r][v] = _mm512_fmadd_ps(k, d[v], a[r][v]);
				}
			}
		}
#pragma GCC unroll 4
		for (r = 0; r < nr; r++) {
#pragma GCC unroll 4
			for (v = 0; v < 4; v++) {
				if (stream && m[v] == 0xffff)
					_mm512_stream_ps(dst[r] + x + 16 * v, a[r][v]);
				else
					_mm512_mask_storeu_ps(dst[r] + x + 16 * v, m[v], a[r][v]);
			}
		}
	}
	if (stream)
		_mm_sfence();
}

__attribute__((target("avx512f")))
static void cols_avx512(float *const *dst, int nr, const float *const *src, const float *w,
			int kh, int n, unsigned flags)
{
	int stream = (flags & VEC_STREAM) != 0, r;

	for (r = 0; r < nr; r++)
		if ((uintptr_t)dst[r] % 64 != 0)
			stream = 0;
	switch (nr) {
	case 1: cols_body(dst, 1, src, w, kh, n, stream); break;
	case 2: cols_body(dst, 2, src, w, kh, n, stream); break;
	case 3: cols_body(dst, 3, src, w, kh, n, stream); break;
	default: cols_body(dst, 4, src, w, kh, n, stream); break;
	}
}

#endif

void vec_cols(float *const *dst, int nr, const float *const *src, const float *w, int kh,
	      int n, unsigned flags)
{
	int r;

#if CPU_X86
	if (cpu_level() == CPU_AVX512 && kh > 0 && nr >= 1 && nr <= VEC_COLS_MAX &&
	    !(flags & VEC_ACCUMULATE)) {
		cols_avx512(dst, nr, src, w, kh, n, flags);
		return;
	}
#endif
	for (r = 0; r < nr; r++)
		vec_taps(dst[r], src + r, w, kh, n, flags);
}

void vec_taps(float *dst, const float *const *src, const float *w, int ntaps, int n,
	      unsigned flags)
{
	switch (cpu_level()) {
#if CPU_X86
	case CPU_AVX512:
		taps_avx512(dst, src, w, ntaps, n, flags);
		return;
	case CPU_AVX2:
		taps_avx2(dst, src, w, ntaps, n, flags);
		return;
	case CPU_SSE2:
		taps_sse2(dst, src, w, ntaps, n, flags);
		return;
#endif
	default:
		taps_c(dst, src, w, ntaps, n, flags);
	}
}

void vec_combine(enum vec_op op, float *acc, const float *r, int n)
{
	switch (cpu_level()) {
#if CPU_X86
	case CPU_AVX512:
		combine_avx512(op, acc, r, n);
		return;
	case CPU_AVX2:
		combine_avx2(op, acc, r, n);
		return;
	case CPU_SSE2:
		combine_sse2(op, acc, r, n);
		return;
#endif
	default:
		combine_c(op, acc, r, n);
	}
}

/*
 * Other versions: two vec_taps calls over the dense taps, whose sums are
 * the same as the AVX-512 version's.
 */
void vec_rows2(float *dst0, float *dst1, const float *const *src, const float *w, int kw,
	       int kh, int n, unsigned flags, const float **scratch)
{
	int i, j;

#if CPU_X86
	if (cpu_level() == CPU_AVX512 && kh > 0 && kw > 0) {
		rows2_avx512(dst0, dst1, src, w, kw, kh, n, flags);
		return;
	}
#endif
	for (i = 0; i < kh; i++)
		for (j = 0; j < kw; j++)
			scratch[i * kw + j] = src[i] + j;
	vec_taps(dst0, scratch, w, kw * kh, n, flags);
	for (i = 0; i < kh; i++)
		for (j = 0; j < kw; j++)
			scratch[i * kw + j] = src[i + 1] + j;
	vec_taps(dst1, scratch, w, kw * kh, n, flags);
}

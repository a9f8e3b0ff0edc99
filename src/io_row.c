/* io_row.c: the sample conversions of the 8-bit codecs, per x86 instruction set. */
#include "io_codec.h"

#include "cpu.h"

#if CPU_X86
#include <immintrin.h>
#endif

/*
 * io_quantize, a row at a time.  The vector versions turn its branches
 * into a clamp: v > 0 (false for NaN) keeps v, else 0; then the minimum
 * with 1 (255.5 truncates to 255, as io_quantize's v >= 1 gives); then the
 * same product in double, t * 255 exact there, plus 0.5, truncated.  So
 * every version gives io_quantize's bytes.  Scalar, with its branches and
 * conversions, this loop was a sixth of a JPEG-to-JPEG command's time.
 */
static void quantize8_c(unsigned char *dst, const float *src, int n)
{
	int x;

	for (x = 0; x < n; x++)
		dst[x] = (unsigned char)io_quantize(src[x], 255);
}

#if CPU_X86

__attribute__((target("avx2")))
static void quantize8_avx2(unsigned char *dst, const float *src, int n)
{
	const __m256 zero = _mm256_setzero_ps(), one = _mm256_set1_ps(1.0f);
	const __m256d scale = _mm256_set1_pd(255.0), half = _mm256_set1_pd(0.5);
	int x = 0;

	for (; x + 8 <= n; x += 8) {
		__m256 v = _mm256_loadu_ps(src + x);
		__m256 t = _mm256_min_ps(_mm256_and_ps(v, _mm256_cmp_ps(v, zero, _CMP_GT_OQ)), one);
		__m256d lo = _mm256_cvtps_pd(_mm256_castps256_ps128(t));
		__m256d hi = _mm256_cvtps_pd(_mm256_extractf128_ps(t, 1));
		__m128i a = _mm256_cvttpd_epi32(_mm256_add_pd(_mm256_mul_pd(lo, scale), half));
		__m128i b = _mm256_cvttpd_epi32(_mm256_add_pd(_mm256_mul_pd(hi, scale), half));
		__m128i w = _mm_packus_epi32(a, b);

		_mm_storel_epi64((__m128i *)(void *)(dst + x), _mm_packus_epi16(w, w));
	}
	quantize8_c(dst + x, src + x, n - x);
}

__attribute__((target("avx512f")))
static void quantize8_avx512(unsigned char *dst, const float *src, int n)
{
	const __m512 one = _mm512_set1_ps(1.0f);
	const __m512d scale = _mm512_set1_pd(255.0), half = _mm512_set1_pd(0.5);
	int x = 0;

	for (; x + 16 <= n; x += 16) {
		__m512 v = _mm512_loadu_ps(src + x);
		__mmask16 pos = _mm512_cmp_ps_mask(v, _mm512_setzero_ps(), _CMP_GT_OQ);
		__m512 t = _mm512_min_ps(_mm512_maskz_mov_ps(pos, v), one);
		__m512d lo = _mm512_cvtps_pd(_mm512_castps512_ps256(t));
		__m512d hi = _mm512_cvtps_pd(_mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(t), 1)));
		__m256i a = _mm512_cvttpd_epi32(_mm512_add_pd(_mm512_mul_pd(lo, scale), half));
		__m256i b = _mm512_cvttpd_epi32(_mm512_add_pd(_mm512_mul_pd(hi, scale), half));
		__m512i i32 = _mm512_inserti64x4(_mm512_castsi256_si512(a), b, 1);

		_mm_storeu_si128((__m128i *)(void *)(dst + x), _mm512_cvtepi32_epi8(i32));
	}
	quantize8_c(dst + x, src + x, n - x);
}

#endif

void io_quantize_row8(unsigned char *restrict dst, const float *restrict src, int n)
{
	switch (cpu_level()) {
#if CPU_X86
	case CPU_AVX512:
		quantize8_avx512(dst, src, n);
		return;
	case CPU_AVX2:
		quantize8_avx2(dst, src, n);
		return;
#endif
	default:
		quantize8_c(dst, src, n);
	}
}

void io_unit_table8(float t[256])
{
	int v;

	for (v = 0; v < 256; v++)
		t[v] = (float)v / 255.0f;
}

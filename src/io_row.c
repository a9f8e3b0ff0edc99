/* io_row.c: the sample conversions of the 8-bit codecs, one copy per instruction set. */
#include "io_codec.h"

#include "cpu.h"

/*
 * io_quantize with the branches turned into a clamp: NaN and v <= 0 give
 * t = 0, v >= 1 gives t = 1 (255.5 truncates to 255), and in between the
 * same product in double, so the results are io_quantize's.  Without
 * branches the loop vectorises; per sample it was a tenth of the JPEG
 * encoder's time.
 */
CPU_CLONES CPU_VECTORIZE
void io_quantize_row8(unsigned char *restrict dst, const float *restrict src, int n)
{
	int x;

	for (x = 0; x < n; x++) {
		float v = src[x];
		float t = v > 0.0f ? v : 0.0f;

		t = t < 1.0f ? t : 1.0f;
		dst[x] = (unsigned char)(int)((double)t * 255.0 + 0.5);
	}
}

void io_unit_table8(float t[256])
{
	int v;

	for (v = 0; v < 256; v++)
		t[v] = (float)v / 255.0f;
}

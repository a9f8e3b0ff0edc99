/* unit_iorow.c: the 8-bit conversions of io_row.c against io_quantize, on every CPU path. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "cpu.h"
#include "io_codec.h"

#define N 4096

/*
 * Samples where rounding could go wrong: NaN, infinities, both sides of
 * 0 and 1, and for every k the float nearest (k + 0.5) / 255, where
 * io_quantize turns from k to k + 1, with its neighbours one ulp away;
 * then random values over [-0.5, 1.5).
 */
static int fill(float *v)
{
	static const float special[] = { NAN, -NAN, INFINITY, -INFINITY, 0.0f, -0.0f, 1.0f,
					 -1e-30f, 1e-30f, 0.99999994f, 1.00000012f, 2.0f, -2.0f };
	int n = 0, k, i;

	for (i = 0; i < (int)(sizeof special / sizeof special[0]); i++)
		v[n++] = special[i];
	for (k = 0; k < 255; k++) {
		float b = (float)((k + 0.5) / 255.0);

		v[n++] = nextafterf(b, 0.0f);
		v[n++] = b;
		v[n++] = nextafterf(b, 2.0f);
		v[n++] = (float)k / 255.0f;
	}
	while (n < N)
		v[n++] = (float)(rnd() * 2.0 - 0.5);
	return n;
}

int main(void)
{
	static float v[N];
	static unsigned char got[N + 64];
	static const enum cpu_level levels[] = { CPU_AVX512, CPU_AVX2, CPU_SSE2, CPU_C };
	float unit[256];
	char name[96], detail[160] = "";
	int n = fill(v), i, l, len, off, ok;

	for (l = 0; l < 4; l++) {
		enum cpu_level old = cpu_limit(levels[l]);

		ok = 1;
		/* Every length and start up to a few vectors, for the tails, then the whole row. */
		for (len = 0; len <= 70 && ok; len++)
			for (off = 0; off < 17 && ok; off++) {
				memset(got, 0xaa, sizeof got);
				io_quantize_row8(got, v + off * 100, len);
				for (i = 0; i < len && ok; i++)
					if (got[i] != io_quantize(v[off * 100 + i], 255)) {
						ok = 0;
						snprintf(detail, sizeof detail, "len %d: sample %g gave %d, not %u",
							 len, v[off * 100 + i], got[i],
							 io_quantize(v[off * 100 + i], 255));
					}
				if (ok && got[len] != 0xaa) {
					ok = 0;
					snprintf(detail, sizeof detail, "len %d: wrote past the end", len);
				}
			}
		io_quantize_row8(got, v, n);
		for (i = 0; i < n && ok; i++)
			if (got[i] != io_quantize(v[i], 255)) {
				ok = 0;
				snprintf(detail, sizeof detail, "sample %d (%.9g) gave %d, not %u", i, v[i],
					 got[i], io_quantize(v[i], 255));
			}
		snprintf(name, sizeof name, "io_quantize_row8 (%s) is io_quantize, NaN and tails included",
			 cpu_level_name(cpu_level()));
		check(ok, name, "%s", detail);
		cpu_limit(old);
	}
	io_unit_table8(unit);
	for (i = 0, ok = 1; i < 256; i++)
		ok &= memcmp(&unit[i], &(float){ (float)i / 255.0f }, sizeof(float)) == 0;
	check(ok, "io_unit_table8 holds v / 255.0f bit for bit", "a value differs");
	return check_exit();
}

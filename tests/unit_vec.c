/*
 * unit_vec.c: every vectorised row loop of vec.h at every instruction-set
 * level this CPU runs (cpu_limit caps the dispatch), as FFmpeg's checkasm
 * does: reference and candidate on the same random rows, every length up
 * to a few vectors (the tails) and a long one, unaligned starts, a guard
 * sample past the end.  The references are exact: sums in tap order, one
 * rounding per multiply and add (C, SSE2) or one per fused multiply-add
 * (AVX2, AVX-512), so a loop that computes anything else, even max for
 * min, fails here on the level it belongs to.  A level this CPU lacks is
 * a SKIP line.  (io_quantize_row8 is tested the same way in unit_iorow.c.)
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "cpu.h"
#include "vec.h"

#define LONG_N 1003           /* a long row: many full vectors, then a tail */
#define MAX_TAPS 17
#define PAD 64                /* samples of slack around every row */
#define GUARD 12345.0f        /* what a loop must not write past n */

static float *rows[MAX_TAPS + VEC_COLS_MAX + 1];   /* source rows */
static float *out[VEC_COLS_MAX + 1], *want[VEC_COLS_MAX + 1];
static float weights[MAX_TAPS * 8];

static float *row_alloc(void)
{
	/* aligned_alloc wants a size that is a multiple of the alignment. */
	size_t size = ((LONG_N + 2 * PAD) * sizeof(float) + 63) / 64 * 64;
	float *p = aligned_alloc(64, size);

	if (p == NULL) {
		printf("FAIL: vec: out of memory\n");
		exit(1);
	}
	return p;
}

static float rnd_sample(void)
{
	return (float)(rnd() * 4.0 - 2.0);
}

/* fused: the level fuses multiply and add (vec.h: the AVX versions). */
static int fused(enum cpu_level lv)
{
	return lv >= CPU_AVX2;
}

static float madd(int fuse, float w, float s, float a)
{
	return fuse ? fmaf(w, s, a) : a + w * s;
}

/*
 * taps_ref is vec_taps as its contract says, for the level: dst[x] (or 0)
 * plus w[t] * src[t][x] for t in order.
 */
static void taps_ref(int fuse, float *dst, const float *const *src, const float *w, int nt,
		     int n, unsigned flags)
{
	int x, t;

	for (x = 0; x < n; x++) {
		float a = flags & VEC_ACCUMULATE ? dst[x] : 0.0f;

		for (t = 0; t < nt; t++)
			a = madd(fuse, w[t], src[t][x], a);
		dst[x] = a;
	}
}

/* same compares n samples bit for bit and the guard after them. */
static int same(const float *got, const float *ref, int n, char *why, size_t size,
		const char *what)
{
	int x;

	for (x = 0; x < n; x++)
		if (memcmp(&got[x], &ref[x], sizeof(float)) != 0) {
			snprintf(why, size, "%s: x %d of %d: %.9g, want %.9g", what, x, n,
				 got[x], ref[x]);
			return 0;
		}
	if (memcmp(&got[n], &(float){ GUARD }, sizeof(float)) != 0) {
		snprintf(why, size, "%s: wrote past the end (n %d)", what, n);
		return 0;
	}
	return 1;
}

/* fill sets every row to random samples and the outputs to start values and guards. */
static void fill(void)
{
	int i, x;

	for (i = 0; i < MAX_TAPS + VEC_COLS_MAX + 1; i++)
		for (x = 0; x < LONG_N + 2 * PAD; x++)
			rows[i][x] = rnd_sample();
	for (i = 0; i < MAX_TAPS * 8; i++)
		weights[i] = rnd() < 0.1 ? 0.0f : rnd_sample();
}

static void start_out(int nr, int off, int n)
{
	int r, x;

	for (r = 0; r < nr; r++) {
		for (x = 0; x < LONG_N + 2 * PAD; x++)
			out[r][x] = want[r][x] = rows[MAX_TAPS + VEC_COLS_MAX][x];
		out[r][off + n] = want[r][off + n] = GUARD;
	}
}

/* next_n walks the lengths 0..70, then LONG_N. */
static int next_n(int n)
{
	return n < 70 ? n + 1 : n == 70 ? LONG_N : -1;
}

static void test_taps(enum cpu_level lv)
{
	static const int ntaps[] = { 1, 2, 3, 5, 9, MAX_TAPS };
	static const unsigned flags[] = { 0, VEC_ACCUMULATE, VEC_STREAM, VEC_ACCUMULATE | VEC_STREAM };
	const float *src[MAX_TAPS];
	char name[160], why[200] = "";
	int ok = 1, ti, fi, n, off, t, cases = 0;

	for (ti = 0; ti < 6 && ok; ti++)
		for (fi = 0; fi < 4 && ok; fi++)
			for (n = 0; n >= 0 && ok; n = next_n(n))
				for (off = 0; off < 4 && ok; off += (n > 20 ? 3 : 1)) {
					/* Sources start one sample apart, as a kernel row's taps do. */
					for (t = 0; t < ntaps[ti]; t++)
						src[t] = rows[t] + PAD + off + t % 3;
					start_out(1, PAD + off, n);
					vec_taps(out[0] + PAD + off, src, weights, ntaps[ti], n, flags[fi]);
					taps_ref(fused(lv), want[0] + PAD + off, src, weights, ntaps[ti], n,
						 flags[fi]);
					ok = same(out[0] + PAD + off, want[0] + PAD + off, n, why, sizeof why,
						  "taps");
					cases++;
				}
	snprintf(name, sizeof name, "vec_taps (%s): every tap count, flag, length and start (%d cases)",
		 cpu_level_name(lv), cases);
	check(ok, name, "%d taps, flags %u: %s", ntaps[ti - 1], flags[fi - 1], why);
}

/* vec_rows2 is vec_taps over the kernel's taps in (i, j) order, bit for bit. */
static void test_rows2(enum cpu_level lv)
{
	const float *src[9], *taps[MAX_TAPS * 8], *scratch[MAX_TAPS * 8];
	char name[160], why[200] = "";
	int ok = 1, kw, kh, n, off, i, j, cases = 0;

	for (kh = 1; kh <= 4 && ok; kh++)
		for (kw = 1; kw <= 7 && ok; kw++)
			for (n = 0; n >= 0 && ok; n = next_n(n))
				for (off = 0; off < 2 && ok; off++) {
					for (i = 0; i <= kh; i++)
						src[i] = rows[i] + PAD + off;
					start_out(2, PAD + off, n);
					vec_rows2(out[0] + PAD + off, out[1] + PAD + off, src, weights, kw, kh,
						  n, 0, scratch);
					for (i = 0; i < kh; i++)
						for (j = 0; j < kw; j++)
							taps[i * kw + j] = src[i] + j;
					taps_ref(fused(lv), want[0] + PAD + off, taps, weights, kw * kh, n, 0);
					for (i = 0; i < kh; i++)
						for (j = 0; j < kw; j++)
							taps[i * kw + j] = src[i + 1] + j;
					taps_ref(fused(lv), want[1] + PAD + off, taps, weights, kw * kh, n, 0);
					ok = same(out[0] + PAD + off, want[0] + PAD + off, n, why, sizeof why,
						  "first row") &&
					     same(out[1] + PAD + off, want[1] + PAD + off, n, why, sizeof why,
						  "second row");
					cases++;
				}
	snprintf(name, sizeof name, "vec_rows2 (%s): kernels 1x1 to 7x4, every length (%d cases)",
		 cpu_level_name(lv), cases);
	check(ok, name, "%dx%d: %s", kw - 1, kh - 1, why);
}

/* vec_cols' row r is vec_taps(dst[r], src + r, w, kh), bit for bit. */
static void test_cols(enum cpu_level lv)
{
	static const unsigned flags[] = { 0, VEC_STREAM, VEC_ACCUMULATE };
	const float *src[MAX_TAPS + VEC_COLS_MAX];
	float *dst[VEC_COLS_MAX];
	char name[160], why[200] = "";
	int ok = 1, nr, kh, fi, n, r, cases = 0;

	for (nr = 1; nr <= VEC_COLS_MAX && ok; nr++)
		for (kh = 1; kh <= 9 && ok; kh += 2)
			for (fi = 0; fi < 3 && ok; fi++)
				for (n = 0; n >= 0 && ok; n = next_n(n)) {
					for (r = 0; r < kh + nr - 1; r++)
						src[r] = rows[r] + PAD;
					start_out(nr, PAD, n);
					for (r = 0; r < nr; r++)
						dst[r] = out[r] + PAD;
					vec_cols(dst, nr, src, weights, kh, n, flags[fi]);
					for (r = 0; r < nr && ok; r++) {
						taps_ref(fused(lv), want[r] + PAD, src + r, weights, kh, n,
							 flags[fi]);
						ok = same(out[r] + PAD, want[r] + PAD, n, why, sizeof why, "row");
					}
					cases++;
				}
	snprintf(name, sizeof name, "vec_cols (%s): 1 to %d rows, every flag and length (%d cases)",
		 cpu_level_name(lv), VEC_COLS_MAX, cases);
	check(ok, name, "%d rows of %d taps, flags %u: %s", nr - 1, kh - 2, flags[fi - 1], why);
}

/* combine_ref is vec_combine's contract for one sample; the second answer fuses. */
static float combine_ref(enum vec_op op, float acc, float r, int fuse)
{
	switch (op) {
	case VEC_SET_SQ: return r * r;
	case VEC_ADD: return acc + r;
	case VEC_MAX: return r > acc ? r : acc;
	case VEC_ADD_SQ: return fuse ? fmaf(r, r, acc) : acc + r * r;
	case VEC_SQRT: return sqrtf(acc);
	case VEC_SET_ABS: return fabsf(r);
	case VEC_ADD_ABS: return acc + fabsf(r);
	}
	return NAN;
}

static const char *const op_names[] = {
	"set_sq", "add", "max", "add_sq", "sqrt", "set_abs", "add_abs"
};

/*
 * Every combine op (the bank's sum, max, magnitude and sumabs are made of
 * them), with r apart from acc and r == acc; for sqrt acc is not negative.
 * add_sq may round once (fused) or twice: either is the level's contract
 * as long as the whole row agrees with one of them.
 */
static void test_combine(enum cpu_level lv)
{
	char name[160], why[200];
	int op, n, off, x, inplace;

	for (op = VEC_SET_SQ; op <= VEC_ADD_ABS; op++) {
		int ok = 1, cases = 0;

		why[0] = '\0';
		for (inplace = 0; inplace < 2 && ok; inplace++)
			for (n = 0; n >= 0 && ok; n = next_n(n))
				for (off = 0; off < 4 && ok; off += (n > 20 ? 3 : 1)) {
					float *acc = out[0] + PAD + off;
					const float *r = inplace ? acc : rows[1] + PAD + off;
					int fuse_ok = 1, plain_ok = 1;

					start_out(1, PAD + off, n);
					for (x = 0; x < n; x++) {
						acc[x] = rows[0][PAD + off + x];
						if (op == VEC_SQRT)
							acc[x] = fabsf(acc[x]);
					}
					memcpy(want[0], out[0], (LONG_N + 2 * PAD) * sizeof(float));
					vec_combine((enum vec_op)op, acc, op == VEC_SQRT ? NULL : r, n);
					for (x = 0; x < n; x++) {
						float a = want[0][PAD + off + x];
						float rv = inplace ? a : r[x];
						float f = combine_ref((enum vec_op)op, a, rv, 1);
						float p = combine_ref((enum vec_op)op, a, rv, 0);

						fuse_ok &= memcmp(&acc[x], &f, sizeof f) == 0;
						plain_ok &= memcmp(&acc[x], &p, sizeof p) == 0;
						if (!fuse_ok && !plain_ok) {
							snprintf(why, sizeof why, "x %d of %d%s: acc %.9g r %.9g gave %.9g, want %.9g",
								 x, n, inplace ? " (in place)" : "", a, rv,
								 acc[x], p);
							break;
						}
					}
					if (!fuse_ok && !plain_ok)
						ok = 0;
					else if (memcmp(&acc[n], &(float){ GUARD }, sizeof(float)) != 0) {
						snprintf(why, sizeof why, "wrote past the end (n %d)", n);
						ok = 0;
					}
					cases++;
				}
		snprintf(name, sizeof name, "vec_combine %s (%s): every length, in place too (%d cases)",
			 op_names[op], cpu_level_name(lv), cases);
		check(ok, name, "%s", why);
	}
}

int main(void)
{
	int i, lv;

	for (i = 0; i < MAX_TAPS + VEC_COLS_MAX + 1; i++)
		rows[i] = row_alloc();
	for (i = 0; i <= VEC_COLS_MAX; i++) {
		out[i] = row_alloc();
		want[i] = row_alloc();
	}
	fill();
	for (lv = CPU_C; lv <= CPU_AVX512; lv++) {
		enum cpu_level old = cpu_limit((enum cpu_level)lv);
		char name[80];

		if (cpu_level() != (enum cpu_level)lv) {
			snprintf(name, sizeof name, "vec: %s code", cpu_level_name((enum cpu_level)lv));
			check_skip(name, "this CPU (or this build) does not run it");
			cpu_limit(old);
			continue;
		}
		test_taps((enum cpu_level)lv);
		test_rows2((enum cpu_level)lv);
		test_cols((enum cpu_level)lv);
		test_combine((enum cpu_level)lv);
		cpu_limit(old);
	}
	for (i = 0; i < MAX_TAPS + VEC_COLS_MAX + 1; i++)
		free(rows[i]);
	for (i = 0; i <= VEC_COLS_MAX; i++) {
		free(out[i]);
		free(want[i]);
	}
	return check_exit();
}

/* unit_toeplitz.c: the Toeplitz engine's own cases and the convolution matrix. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "engine.h"
#include "emit.h"
#include "ref.h"

/* A test job owns its planes and weights. */
struct tjob {
	struct plane in, out;
	float *wt;
	struct conv_job job;
};

/*
 * tjob_make sets up a w x h random input, nk random kw x kh kernels (a few
 * zero weights) and an output of ow x oh with anchor (ax, ay).
 */
static int tjob_make(struct tjob *t, int w, int h, int kw, int kh, int nk,
		     int ow, int oh, int ax, int ay)
{
	struct err err = { 0 };
	size_t i, n = (size_t)nk * kw * kh;
	int x, y;

	memset(t, 0, sizeof *t);
	if (plane_alloc(&t->in, w, h, &err) || plane_alloc(&t->out, ow, oh, &err))
		return -1;
	for (y = 0; y < h; y++)
		for (x = 0; x < w; x++)
			plane_row(&t->in, y)[x] = (float)(rnd() * 2 - 0.5);
	t->wt = malloc(n * sizeof *t->wt);
	if (t->wt == NULL)
		return -1;
	for (i = 0; i < n; i++)
		t->wt[i] = rnd() < 0.1 ? 0.0f : (float)(rnd() * 2 - 1);
	t->job.in = &t->in;
	t->job.out = &t->out;
	t->job.kw = kw;
	t->job.kh = kh;
	t->job.nk = nk;
	t->job.wt = t->wt;
	t->job.ax = ax;
	t->job.ay = ay;
	t->job.combine = KERN_SUM;
	t->job.border.mode = BORDER_REFLECT;
	t->job.threads = 1;
	return 0;
}

static void tjob_free(struct tjob *t)
{
	plane_free(&t->in);
	plane_free(&t->out);
	free(t->wt);
}

/* scale is the tolerance unit: sum|k| (over the bank) * max|x|. */
static double scale(const struct tjob *t)
{
	double sk = 0, mx = fabs(t->job.border.value);
	size_t i, n = (size_t)t->job.nk * t->job.kw * t->job.kh;
	int x, y;

	for (i = 0; i < n; i++)
		sk += fabs(t->wt[i]);
	for (y = 0; y < t->in.h; y++)
		for (x = 0; x < t->in.w; x++)
			mx = fmax(mx, fabs(plane_row(&t->in, y)[x]));
	return (sk > 0 ? sk : 1) * (mx > 0 ? mx : 1);
}

/*
 * run_vs_ref runs the Toeplitz engine on t and returns its worst error
 * against the double reference in tolerance units, or -1 if it failed.
 */
static double run_vs_ref(struct tjob *t)
{
	struct err err = { 0 };
	double *ref, worst = 0, d;
	int x, y, ow = t->out.w, oh = t->out.h;

	ref = malloc((size_t)ow * oh * sizeof *ref);
	if (ref == NULL || eng_run(&eng_toeplitz, &t->job, &err)) {
		free(ref);
		return -1;
	}
	ref_job(&t->job, ref);
	for (y = 0; y < oh; y++)
		for (x = 0; x < ow; x++) {
			d = fabs(plane_row(&t->out, y)[x] - ref[(size_t)y * ow + x]);
			if (!(d <= worst))
				worst = isnan(d) ? INFINITY : d;
		}
	free(ref);
	return worst / scale(t);
}

/* Images wider than a panel, odd sizes, every border, big and small kernels. */
static void test_engine_cases(void)
{
	static const struct { int w, h, kw, kh, nk; } cases[] = {
		{ 1031, 37, 5, 5, 1 }, { 1031, 37, 31, 31, 1 }, { 600, 23, 3, 3, 8 },
		{ 517, 19, 9, 7, 2 }, { 7, 9, 40, 33, 1 }, { 2, 300, 1, 17, 1 },
		{ 333, 41, 24, 2, 3 }, { 1, 1, 64, 1, 1 },
	};
	static const enum border_mode modes[] = {
		BORDER_CONST, BORDER_CLAMP, BORDER_REFLECT, BORDER_MIRROR, BORDER_WRAP,
	};
	char name[160];
	size_t c, m;

	for (c = 0; c < sizeof cases / sizeof cases[0]; c++)
		for (m = 0; m < sizeof modes / sizeof modes[0]; m++) {
			struct tjob t;
			int kw = cases[c].kw, kh = cases[c].kh;
			double e;

			/* Shape full, and an anchor outside the kernel on one axis. */
			if (tjob_make(&t, cases[c].w, cases[c].h, kw, kh, cases[c].nk,
				      cases[c].w + kw - 1, cases[c].h + kh - 1, kw - 1, kh + 2)) {
				check(0, "setup", "out of memory");
				return;
			}
			t.job.border.mode = modes[m];
			t.job.border.value = modes[m] == BORDER_CONST ? 0.25f : 0.0f;
			/* A single kernel with "combine magnitude" gives |r|. */
			t.job.combine = cases[c].nk == 8 ? KERN_MAX :
					cases[c].nk == 2 || c % 2 ? KERN_MAGNITUDE : KERN_SUM;
			t.job.threads = 1 + (int)(c + m) % 3;
			e = run_vs_ref(&t);
			snprintf(name, sizeof name,
				 "toeplitz %dx%d image, %dx%d kernel x%d (%s), border %s, %d threads",
				 cases[c].w, cases[c].h, kw, kh, cases[c].nk,
				 t.job.combine == KERN_MAX ? "max" :
				 t.job.combine == KERN_MAGNITUDE ? "magnitude" : "sum",
				 border_name(modes[m]), t.job.threads);
			check(e >= 0 && e <= 1e-5, name, "error %.3g (tolerance 1e-5)", e);
			tjob_free(&t);
		}
}

/*
 * A large-ish plane: Toeplitz against the direct engine (itself checked
 * against the reference by unit_engine) for 1, 2 and 3 threads, which must
 * also give identical results (the band split never changes a sum).
 */
static void test_threads(void)
{
	static const int ks[] = { 3, 11, 31 };
	struct err err = { 0 };
	struct plane direct, first;
	char name[160];
	size_t k;
	int th, x, y;

	for (k = 0; k < sizeof ks / sizeof ks[0]; k++) {
		struct tjob t;
		double worst = 0, unit;
		int same = 1;

		if (tjob_make(&t, 1500, 301, ks[k], ks[k], 1, 1500, 301, ks[k] / 2, ks[k] / 2) ||
		    plane_alloc(&direct, 1500, 301, &err) || plane_alloc(&first, 1500, 301, &err)) {
			check(0, "setup", "out of memory");
			return;
		}
		unit = scale(&t);
		t.job.out = &direct;
		eng_run(&eng_direct, &t.job, &err);
		t.job.out = &t.out;
		for (th = 1; th <= 3; th++) {
			t.job.threads = th;
			if (eng_run(&eng_toeplitz, &t.job, &err)) {
				worst = INFINITY;
				break;
			}
			for (y = 0; y < t.out.h; y++)
				for (x = 0; x < t.out.w; x++) {
					float v = plane_row(&t.out, y)[x];

					worst = fmax(worst, fabs(v - plane_row(&direct, y)[x]) / unit);
					if (th == 1)
						plane_row(&first, y)[x] = v;
					else if (v != plane_row(&first, y)[x])
						same = 0;
				}
		}
		snprintf(name, sizeof name,
			 "toeplitz 1500x301, %dx%d kernel, threads 1..3: matches direct", ks[k], ks[k]);
		check(worst <= 1e-5, name, "error %.3g (tolerance 1e-5): %s", worst, err.msg);
		snprintf(name, sizeof name,
			 "toeplitz 1500x301, %dx%d kernel: threads 1..3 give identical output",
			 ks[k], ks[k]);
		check(same, name, "outputs differ");
		plane_free(&direct);
		plane_free(&first);
		tjob_free(&t);
	}
}

/* A bank is one sgemm per tile, and -v's note says so. */
static void test_bank_note(void)
{
	static const float sobel[18] = {
		1, 0, -1, 2, 0, -2, 1, 0, -1,
		1, 2, 1, 0, 0, 0, -1, -2, -1,
	};
	struct tjob t;
	struct err err = { 0 };
	double e;

	if (tjob_make(&t, 640, 480, 3, 3, 2, 640, 480, 1, 1)) {
		check(0, "setup", "out of memory");
		return;
	}
	memcpy(t.wt, sobel, sizeof sobel);
	t.job.combine = KERN_MAGNITUDE;
	t.job.threads = 2;
	e = run_vs_ref(&t);
	check(e >= 0 && e <= 1e-5, "toeplitz sobel magnitude 640x480", "error %.3g", e);
	check(strstr(t.job.note, "2 kernels in one sgemm per tile") != NULL,
	      "toeplitz note names the bank's single sgemm", "note: \"%s\"", t.job.note);
	check(strstr(t.job.note, "MB workspace") != NULL, "toeplitz note gives the workspace",
	      "note: \"%s\"", t.job.note);
	(void)err;
	tjob_free(&t);
}

/* The cost grows with the kernel, and absurd kernels are left to other engines. */
static void test_cost_supports(void)
{
	struct plane in = { 6000, 4000, 6000, NULL }, out = in;
	struct conv_job job;
	double c3, c9, c31;

	memset(&job, 0, sizeof job);
	job.in = &in;
	job.out = &out;
	job.nk = 1;
	job.threads = 1;
	job.border.mode = BORDER_REFLECT;
	job.kw = job.kh = 3;
	c3 = eng_toeplitz.cost(&job);
	job.kw = job.kh = 9;
	c9 = eng_toeplitz.cost(&job);
	job.kw = job.kh = 31;
	c31 = eng_toeplitz.cost(&job);
	check(c3 > 0 && c3 < c9 && c9 < c31 && c31 < 100, "toeplitz cost grows with the kernel",
	      "3: %g, 9: %g, 31: %g s", c3, c9, c31);
	check(eng_toeplitz.supports(&job), "toeplitz supports a 31x31 kernel", "refused");
	job.kw = job.kh = 255;
	job.threads = 8;
	check(eng_toeplitz.supports(&job) && isfinite(eng_toeplitz.cost(&job)),
	      "toeplitz runs a 255x255 kernel with -j 8 (on fewer threads)", "refused");
	job.kw = job.kh = 3000;
	check(!eng_toeplitz.supports(&job), "toeplitz leaves a 3000x3000 kernel to others",
	      "accepted");
}

/* The seed's example: H = ones(3,3)/9, X = magic(5), conv2(X, H) (full). */
static const double magic5[5][5] = {
	{ 17, 24, 1, 8, 15 }, { 23, 5, 7, 14, 16 }, { 4, 6, 13, 20, 22 },
	{ 10, 12, 19, 21, 3 }, { 11, 18, 25, 2, 9 },
};

/*
 * read_mm parses a Matrix Market coordinate file (as emit_matrix
 * writes it) into y = T * x, for x stacked by columns; returns the number
 * of entries, or -1 on a malformed file.  rows, cols receive the size.
 */
static long read_mm(const char *text, const double *x, double *y, long ny,
		    long *rows, long *cols)
{
	const char *p = text;
	long r, c, nnz, k, i;
	double v;
	int used;

	if (strncmp(p, "%%MatrixMarket matrix coordinate real general\n", 46) != 0)
		return -1;
	while (*p == '%')
		p = strchr(p, '\n') + 1;
	if (sscanf(p, "%ld %ld %ld%n", rows, cols, &nnz, &used) != 3)
		return -1;
	p += used;
	for (i = 0; i < ny; i++)
		y[i] = 0;
	for (k = 0; k < nnz; k++) {
		if (sscanf(p, "%ld %ld %lf%n", &r, &c, &v, &used) != 3 ||
		    r < 1 || r > *rows || c < 1 || c > *cols || *rows > ny)
			return -1;
		p += used;
		y[r - 1] += v * x[c - 1];
	}
	while (*p == '\n' || *p == ' ')
		p++;
	return *p == '\0' ? nnz : -1;
}

/* emit_to_string runs emit_matrix into a malloc'd string. */
static int emit_to_string(const struct conv_job *job, char **text, struct err *err)
{
	size_t len;
	FILE *f = open_memstream(text, &len);
	int r;

	if (f == NULL)
		return -1;
	r = emit_matrix(f, job, NULL, err);
	fclose(f);
	return r;
}

static void test_emit_magic(void)
{
	struct plane in = { 5, 5, 5, NULL }, out = { 7, 7, 7, NULL };
	struct conv_job job;
	struct err err = { 0 };
	float wt[9];
	double x[25], y[49], want[7][7], worst = 0;
	static const double row1[7] = {
		1.8889, 4.5556, 4.6667, 3.6667, 2.6667, 2.5556, 1.6667,
	};
	char *text = NULL;
	long rows = 0, cols = 0, nnz;
	int i, j, p, q;

	/* conv2 by its definition, in double: C(i,j) = sum X(p,q) H(i-p, j-q). */
	for (i = 0; i < 7; i++)
		for (j = 0; j < 7; j++) {
			want[i][j] = 0;
			for (p = 0; p < 5; p++)
				for (q = 0; q < 5; q++)
					if (i - p >= 0 && i - p < 3 && j - q >= 0 && j - q < 3)
						want[i][j] += magic5[p][q] / 9.0;
		}
	for (j = 0; j < 7; j++)
		worst = fmax(worst, fabs(want[0][j] - row1[j]));
	check(worst < 5e-5, "conv2(magic(5), ones(3)/9) first row as in the seed",
	      "differs by %g", worst);

	for (i = 0; i < 9; i++)
		wt[i] = 1.0f / 9;
	memset(&job, 0, sizeof job);
	job.in = &in;
	job.out = &out;
	job.kw = job.kh = 3;
	job.nk = 1;
	job.wt = wt;
	job.ax = job.ay = 2;           /* shape full */
	job.border.mode = BORDER_CONST;
	job.threads = 1;
	for (q = 0; q < 5; q++)        /* X(:), by columns */
		for (p = 0; p < 5; p++)
			x[q * 5 + p] = magic5[p][q];
	if (emit_to_string(&job, &text, &err)) {
		check(0, "emit-matrix magic(5)", "%s", err.msg);
		free(text);
		return;
	}
	nnz = read_mm(text, x, y, 49, &rows, &cols);
	check(nnz == 225 && rows == 49 && cols == 25,
	      "emit-matrix magic(5): 49 x 25 with 225 entries, as convmtx2(H, 5, 5)",
	      "%ld x %ld, %ld entries", rows, cols, nnz);
	worst = 0;
	for (i = 0; i < 7; i++)
		for (j = 0; j < 7; j++)        /* reshape(T * X(:), 7, 7) */
			worst = fmax(worst, fabs(y[j * 7 + i] - want[i][j]));
	check(nnz > 0 && worst < 1e-5, "emit-matrix magic(5): reshape(T*X(:), 7, 7) == conv2(X, H)",
	      "differs by %g", worst);
	free(text);
}

/*
 * For every border mode and for shapes same and valid, a random kernel
 * (a bank of two, summed) on a small image: T * x matches the direct
 * engine, so taps the border folds onto one pixel add up.
 */
static void test_emit_vs_engine(void)
{
	static const enum border_mode modes[] = {
		BORDER_CONST, BORDER_CLAMP, BORDER_REFLECT, BORDER_MIRROR, BORDER_WRAP,
	};
	static const struct { int w, h, kw, kh, nk, valid; } cases[] = {
		{ 6, 4, 3, 5, 1, 0 }, { 5, 7, 4, 2, 2, 0 }, { 3, 2, 7, 6, 1, 0 },
		{ 9, 8, 3, 4, 2, 1 }, { 1, 1, 3, 3, 1, 0 },
	};
	char name[160];
	size_t c, m;

	for (c = 0; c < sizeof cases / sizeof cases[0]; c++)
		for (m = 0; m < sizeof modes / sizeof modes[0]; m++) {
			struct tjob t;
			struct err err = { 0 };
			int kw = cases[c].kw, kh = cases[c].kh, w = cases[c].w, h = cases[c].h;
			int ow = cases[c].valid ? w - kw + 1 : w, oh = cases[c].valid ? h - kh + 1 : h;
			double *x, *y, worst = 0;
			char *text = NULL;
			long rows, cols, nnz;
			int i, j;

			if (tjob_make(&t, w, h, kw, kh, cases[c].nk, ow, oh,
				      cases[c].valid ? 0 : kw / 2, cases[c].valid ? 0 : kh / 2)) {
				check(0, "setup", "out of memory");
				return;
			}
			t.job.border.mode = modes[m];
			x = malloc((size_t)w * h * sizeof *x);
			y = malloc((size_t)ow * oh * sizeof *y);
			for (j = 0; j < w; j++)
				for (i = 0; i < h; i++)
					x[(size_t)j * h + i] = plane_row(&t.in, i)[j];
			if (emit_to_string(&t.job, &text, &err) == 0 &&
			    eng_run(&eng_direct, &t.job, &err) == 0 &&
			    (nnz = read_mm(text, x, y, (long)ow * oh, &rows, &cols)) >= 0 &&
			    rows == (long)ow * oh && cols == (long)w * h) {
				for (j = 0; j < ow; j++)
					for (i = 0; i < oh; i++)
						worst = fmax(worst, fabs(y[(size_t)j * oh + i] -
									 plane_row(&t.out, i)[j]));
				worst /= scale(&t);
			} else {
				worst = INFINITY;
			}
			snprintf(name, sizeof name,
				 "emit-matrix %dx%d image, %dx%d kernel x%d, %s, border %s: T*x == engine",
				 w, h, kw, kh, cases[c].nk, cases[c].valid ? "valid" : "same",
				 border_name(modes[m]));
			check(worst <= 1e-6, name, "error %.3g: %s", worst, err.msg);
			free(text);
			free(x);
			free(y);
			tjob_free(&t);
		}
}

/* Refusals: non-linear jobs and matrices over the limit; nothing is written. */
static void test_emit_refusals(void)
{
	struct plane in = { 5, 5, 5, NULL }, out = in;
	struct plane big = { 8000, 8000, 8000, NULL };
	struct conv_job job;
	float wt[18];
	int i;
	static const struct { const char *name, *pattern; } rows[] = {
		{ "emit-matrix refuses const=0.25", "affine" },
		{ "emit-matrix refuses a max bank", "combined by max" },
		{ "emit-matrix refuses a magnitude bank", "combined by magnitude" },
		{ "emit-matrix refuses 8000x8000 by 3x3", "over the limit of 50000000" },
	};

	for (i = 0; i < 18; i++)
		wt[i] = 1;
	for (i = 0; i < 4; i++) {
		struct err err = { 0 };
		char *text = NULL;
		int r;

		memset(&job, 0, sizeof job);
		job.in = &in;
		job.out = &out;
		job.kw = job.kh = 3;
		job.nk = 1;
		job.wt = wt;
		job.ax = job.ay = 1;
		job.threads = 1;
		job.border.mode = BORDER_CONST;
		if (i == 0)
			job.border.value = 0.25f;
		if (i == 1 || i == 2) {
			job.nk = 2;
			job.combine = i == 1 ? KERN_MAX : KERN_MAGNITUDE;
		}
		if (i == 3)
			job.in = job.out = &big;
		r = emit_to_string(&job, &text, &err);
		check(r == -1 && err.cls == ERR_USAGE && strstr(err.msg, rows[i].pattern) != NULL &&
		      text != NULL && text[0] == '\0', rows[i].name,
		      "returned %d, class %d, \"%s\", wrote %zu bytes", r, err.cls, err.msg,
		      text != NULL ? strlen(text) : 0);
		free(text);
	}
}

/* An all-zero kernel has an empty matrix; a failed write is an I/O error. */
static void test_emit_edges(void)
{
	struct plane in = { 4, 3, 16, NULL }, out = in;
	struct conv_job job;
	struct err err = { 0 };
	float wt[4] = { 0, 0, 0, 0 };
	char *text = NULL;
	FILE *full;
	int r;

	memset(&job, 0, sizeof job);
	job.in = &in;
	job.out = &out;
	job.kw = job.kh = 2;
	job.nk = 1;
	job.wt = wt;
	job.threads = 1;
	job.border.mode = BORDER_WRAP;
	r = emit_to_string(&job, &text, &err);
	check(r == 0 && text != NULL && strstr(text, "\n12 12 0\n") != NULL &&
	      strstr(text, "\n12 12 0\n")[9] == '\0',
	      "emit-matrix of a zero kernel: 12 x 12, no entries", "%s", text ? text : err.msg);
	free(text);
	wt[0] = 1;
	full = fopen("/dev/full", "w");
	if (full != NULL) {
		r = emit_matrix(full, &job, NULL, &err);
		check(r == -1 && err.cls == ERR_IO && strstr(err.msg, "write failed") != NULL,
		      "emit-matrix to a full disk is an I/O error", "returned %d, class %d, %s",
		      r, err.cls, err.msg);
		fclose(full);
	}
}

int main(int argc, char **argv)
{
	/* "quick" skips the large cases (for valgrind). */
	int quick = argc > 1 && strcmp(argv[1], "quick") == 0;

	test_emit_magic();
	test_emit_vs_engine();
	test_emit_refusals();
	test_emit_edges();
	test_cost_supports();
	test_bank_note();
	if (!quick) {
		test_engine_cases();
		test_threads();
	}
	return check_exit();
}

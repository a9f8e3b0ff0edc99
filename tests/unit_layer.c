/*
 * unit_layer.c: cross-channel kernels, --stride, --dilation and --transpose
 * (layer.h) through job_filter, against a double-precision reference.
 *
 * The reference below is written from layer.h alone (its own border
 * mapping, geometry, forward operator and adjoint).  On top of it: the
 * reference material's worked examples as explicit K.P products; the
 * cross-channel parts of the kernel file format; output sizes; what the
 * transpose refuses; property tests of every engine (and the planner) on
 * every border x shape x stride x dilation with random kernels of every
 * kind; and the adjoint identity <T x, y> = <x, T^T y>.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "ref_layer.h"
#include "engine.h"
#include "engine_fft.h"
#include "image.h"
#include "job.h"
#include "kernel.h"

#define MAXK 9                  /* the largest kernel side of the random cases */
#define MAXMAT 16               /* matrices: 4 kernels of 4 channels */

static const struct border borders[] = {
	{ BORDER_CONST, 0.0f, 0, BORDER_CONST }, { BORDER_CONST, 0.375f, 0, BORDER_CONST }, { BORDER_CLAMP, 0, 0, BORDER_CLAMP },
	{ BORDER_REFLECT, 0, 0, BORDER_REFLECT }, { BORDER_MIRROR, 0, 0, BORDER_MIRROR }, { BORDER_WRAP, 0, 0, BORDER_WRAP },
	{ BORDER_MIRROR, 0, 1, BORDER_WRAP },
};
#define NBORDERS ((int)(sizeof borders / sizeof borders[0]))
static const char *const border_names[] = { "zero", "const=0.375", "clamp", "reflect", "mirror", "wrap",
					     "mirror,wrap" };
static const char *const shape_names[] = { "same", "full", "valid" };
static const char *const combine_names[] = { "sum", "max", "magnitude" };

/*
 * A test kernel: a struct kernel filled field by field as kernel.h
 * documents it, pointing into arrays of its own (never kern_free'd).
 */
struct tkernel {
	struct kernel k;
	double m[MAXMAT * MAXK * MAXK];
	double scale[MAXMAT];
	double biases[4];
};

static void tk_init(struct tkernel *t, int kw, int kh, int n, int nin, int combined,
		    enum kern_combine combine)
{
	int b;

	memset(t, 0, sizeof *t);
	snprintf(t->k.name, sizeof t->k.name, "random");
	t->k.w = kw;
	t->k.h = kh;
	t->k.n = n;
	t->k.ox = kw / 2;
	t->k.oy = kh / 2;
	t->k.combine = combine;
	t->k.scale = t->scale;
	t->k.m = t->m;
	t->k.nin = nin;
	t->k.combined = combined;
	t->k.biases = nin > 0 ? t->biases : NULL;
	for (b = 0; b < n; b++)
		t->scale[b] = 1;
}

/* ---- Helpers around the library. ---- */

static void opts_init(struct job_opts *o, const struct engine *e, enum job_shape shape,
		      struct border bo, int correlate)
{
	memset(o, 0, sizeof *o);
	o->engine = e;
	o->shape = shape;
	o->border = bo;
	o->correlate = correlate;
	o->threads = 1;
	o->alpha = ALPHA_SEPARATE;
}

/* image_from makes a float image (depth 32: nothing clamped) of nch planes of px. */
static int image_from(struct image *im, const double *px, int w, int h, int nch)
{
	struct err err = { 0 };
	int c, y, x;

	memset(im, 0, sizeof *im);
	if (img_alloc(im, w, h, nch, &err))
		return -1;
	im->depth = 32;
	for (c = 0; c < nch; c++)
		for (y = 0; y < h; y++)
			for (x = 0; x < w; x++)
				plane_row(&im->ch[c], y)[x] = (float)px[((size_t)c * h + y) * w + x];
	return 0;
}

/* filter runs job_filter on a copy of px; the result stays in *im. */
static int filter(struct image *im, const double *px, int w, int h, int nch,
		  const struct kernel *k, const struct job_opts *o, struct err *err)
{
	struct kernel *kp = (struct kernel *)k;

	err_clear(err);
	if (image_from(im, px, w, h, nch)) {
		snprintf(err->msg, sizeof err->msg, "img_alloc failed");
		return -1;
	}
	return job_filter(im, &kp, 1, o, err);
}

static double at(const struct image *im, int c, int y, int x)
{
	return plane_row(&im->ch[c], y)[x];
}

/* random_samples fills n values in [-1, 2), each exact in float. */
static void random_samples(double *v, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		v[i] = (float)(rnd() * 3 - 1);
}

/*
 * random_matrix fills a kh x kw matrix: independent weights with about
 * 15% zeros, or (separable) an outer product, which the separable engine
 * accepts whatever the dilation.
 */
static void random_matrix(double *m, int kw, int kh, int separable)
{
	double col[MAXK], row[MAXK];
	int i, j;

	if (!separable) {
		for (i = 0; i < kw * kh; i++)
			m[i] = rnd() < 0.15 ? 0 : (float)(rnd() * 2 - 1);
		return;
	}
	for (i = 0; i < kh; i++)
		col[i] = rnd() * 2 - 1;
	for (j = 0; j < kw; j++)
		row[j] = rnd() < 0.15 ? 0 : rnd() * 2 - 1;
	for (i = 0; i < kh; i++)
		for (j = 0; j < kw; j++)
			m[i * kw + j] = (float)(col[i] * row[j]);
}

/*
 * Kinds of random kernels: an ordinary kernel, an ordinary bank, a
 * cross-channel kernel for each (M, N) in {1, 3, 4}^2, and a
 * cross-channel kernel that combines (M in 2..4).
 */
#define KIND_ORDINARY 0
#define KIND_BANK 1
#define KIND_CROSS 2            /* .. KIND_CROSS + 8 */
#define KIND_COMBINED 11
#define NKINDS 12

static const int mn_values[] = { 1, 3, 4 };

/* Set by the tests on larger images: kernels of up to MAXK a side. */
static int large_side;

/*
 * random_kernel makes a kernel of the given kind and says how many
 * channels the image needs.  linear: combine by sum only, biases equal
 * (for the transposed operator); separable: every matrix of rank 1.
 */
static int random_kernel(struct tkernel *t, int kind, int linear, int separable, int *nch)
{
	/* Sides 1 to 5, now and then (large_side) up to MAXK. */
	int side = large_side ? MAXK : 5;
	int kw = 1 + (int)(rnd() * side), kh = 1 + (int)(rnd() * side);
	int M = 1, N = 0, n, b;
	enum kern_combine comb = linear ? KERN_SUM : (enum kern_combine)(int)(rnd() * 3);

	*nch = 1 + (int)(rnd() * 4);
	if (kind == KIND_ORDINARY) {
		tk_init(t, kw, kh, 1, 0, 0, KERN_SUM);
	} else if (kind == KIND_BANK) {
		tk_init(t, kw, kh, 2 + (int)(rnd() * 2), 0, 0, comb);
	} else if (kind < KIND_COMBINED) {
		M = mn_values[(kind - KIND_CROSS) / 3];
		N = mn_values[(kind - KIND_CROSS) % 3];
		tk_init(t, kw, kh, M * N, N, 0, KERN_SUM);
		*nch = N;
	} else {
		M = 2 + (int)(rnd() * 3);
		N = mn_values[(int)(rnd() * 3)];
		tk_init(t, kw, kh, M * N, N, 1, comb);
		*nch = N;
	}
	n = t->k.n;
	for (b = 0; b < n; b++) {
		random_matrix(t->m + (size_t)b * kw * kh, kw, kh, separable);
		if (rnd() < 0.3)
			t->scale[b] = (rnd() < 0.3 ? -1 : 1) * (0.5 + 2 * rnd());
	}
	if (rnd() < 0.5) {
		t->k.ox = (int)(rnd() * kw);
		t->k.oy = (int)(rnd() * kh);
	}
	t->k.bias = rnd() < 0.5 ? 0 : rnd() * 2 - 1;
	if (N > 0)
		for (b = 0; b < M; b++)
			t->biases[b] = linear ? t->k.bias : rnd() < 0.4 ? 0 : rnd() * 2 - 1;
	return kind;
}

static const char *kind_name(const struct kernel *k, char *buf, size_t len)
{
	if (k->nin == 0)
		snprintf(buf, len, "ordinary %s%dx%d", k->n > 1 ? "bank " : "", k->w, k->h);
	else
		snprintf(buf, len, "cross M %d N %d %dx%d%s%s", k->n / k->nin, k->nin, k->w, k->h,
			 k->combined ? " combine " : "", k->combined ? combine_names[k->combine] : "");
	return buf;
}

/* ---- (b) The worked examples of the reference material. ---- */

static const char example1[] =
	"# worked example (i): 2 kernels of 2x2x3\n"
	"channels 3\n"
	" 1  0\n 0 -1\n---\n"
	" 2  1\n 0  1\n---\n"
	" 0 -1\n 1  0\n---\n"
	" 1  1\n 1  1\n---\n"
	" 0  0\n 0  1\n---\n"
	"-1  2\n 0  3\n";

/* The same kernels (and one of zeros) turned half a turn, for convolution. */
static const char example1_turned[] =
	"channels 3\n"
	"-1  0\n 0  1\n---\n"
	" 1  0\n 1  2\n---\n"
	" 0  1\n-1  0\n---\n"
	" 1  1\n 1  1\n---\n"
	" 1  0\n 0  0\n---\n"
	" 3  0\n 2 -1\n---\n"
	"0 0\n0 0\n---\n0 0\n0 0\n---\n0 0\n0 0\n";

/* Example (i) with biases; the third kernel, of zeros, inherits -1. */
static const char example1_biased[] =
	"channels 3\n"
	"bias 0.5\n"
	" 1  0\n 0 -1\n---\n"
	" 2  1\n 0  1\n---\n"
	" 0 -1\n 1  0\n---\n"
	"bias -1\n"
	" 1  1\n 1  1\n---\n"
	" 0  0\n 0  1\n---\n"
	"-1  2\n 0  3\n---\n"
	"0 0\n0 0\n---\n0 0\n0 0\n---\n0 0\n0 0\n";

static int parse(const char *text, const char *name, struct kernel *k, struct err *err)
{
	err_clear(err);
	return kern_parse(text, strlen(text), name, k, err);
}

/*
 * kp_product multiplies K (mk x 12 rows of patches' weights) by P (12 x
 * np) in double, the way the reference material writes the layer.
 */
static void kp_product(const double *K, const double *P, int mk, int rows, int np, double *R)
{
	int b, r, q;

	for (b = 0; b < mk; b++)
		for (q = 0; q < np; q++) {
			double acc = 0;

			for (r = 0; r < rows; r++)
				acc += K[b * rows + r] * P[r * np + q];
			R[b * np + q] = acc;
		}
}

static void example_4x4(void)
{
	struct kernel k, kt, kb;
	struct err err = { 0 };
	struct job_opts o;
	struct image im;
	double in[3 * 16], K[2 * 12], P[12 * 9], R[2 * 9];
	int c, y, x, i, j, b, ei, ok, ne = eng_count();
	char name[200], why[300];

	/* Channel c (0-based), pixel (y, x): 16 c + 4 y + x + 1. */
	for (c = 0; c < 3; c++)
		for (y = 0; y < 4; y++)
			for (x = 0; x < 4; x++)
				in[(c * 4 + y) * 4 + x] = 16 * c + 4 * y + x + 1;
	ok = parse(example1, "example1", &k, &err) == 0;
	check(ok, "example 4x4x3: the kernel file parses", "%s", err.msg);
	if (!ok)
		return;
	check(k.nin == 3 && k.n == 6 && k.w == 2 && k.h == 2 && kern_outputs(&k) == 2 &&
	      !k.combined && k.biases != NULL && k.biases[0] == 0 && k.biases[1] == 0,
	      "example 4x4x3: channels 3, 6 matrices of 2x2: 2 kernels, 2 outputs, biases 0",
	      "nin %d n %d %dx%d outputs %d combined %d", k.nin, k.n, k.w, k.h, kern_outputs(&k),
	      k.combined);

	/* K: row b is kernel b's channel 1, 2, 3 matrices, each row-major. */
	for (b = 0; b < 2; b++)
		for (c = 0; c < 3; c++)
			for (i = 0; i < 4; i++)
				K[b * 12 + c * 4 + i] = k.m[(b * 3 + c) * 4 + i];
	/* P: column y * 3 + x is the patch at (y, x), channel after channel. */
	for (y = 0; y < 3; y++)
		for (x = 0; x < 3; x++)
			for (c = 0; c < 3; c++)
				for (i = 0; i < 2; i++)
					for (j = 0; j < 2; j++)
						P[(c * 4 + i * 2 + j) * 9 + y * 3 + x] =
							in[(c * 4 + y + i) * 4 + x + j];
	kp_product(K, P, 2, 12, 9, R);
	/* Worked by hand: r0 = 72 + 16 y + 4 x, r1 = 185 + 36 y + 9 x. */
	ok = 1;
	for (y = 0; y < 3; y++)
		for (x = 0; x < 3; x++)
			ok &= R[y * 3 + x] == 72 + 16 * y + 4 * x &&
			      R[9 + y * 3 + x] == 185 + 36 * y + 9 * x;
	check(ok && R[0] == 72 && R[8] == 112 && R[9] == 185 && R[9 + 5] == 239 && R[17] == 275,
	      "example 4x4x3: K (2x12) . P (12x9) gives r0 = 72 + 16y + 4x, r1 = 185 + 36y + 9x",
	      "R = %g %g .. %g, %g .. %g", R[0], R[1], R[8], R[9], R[17]);

	/* job_filter's 3x3x2 result, for every engine. */
	for (ei = 0; ei < ne; ei++) {
		const struct engine *e = eng_at(ei);
		int t;

		for (t = 1; t <= 3; t += 2) {
			opts_init(&o, e, SHAPE_VALID, borders[3], 1);
			o.threads = t;
			o.stride[0] = o.stride[1] = 1;
			why[0] = '\0';
			ok = filter(&im, in, 4, 4, 3, &k, &o, &err) == 0;
			if (!ok)
				snprintf(why, sizeof why, "job_filter failed: %.200s", err.msg);
			else if (im.w != 3 || im.h != 3 || im.nch != 2)
				snprintf(why, sizeof why, "output %dx%dx%d, expected 3x3x2", im.w, im.h,
					 im.nch), ok = 0;
			for (b = 0; ok && b < 2; b++)
				for (y = 0; y < 3; y++)
					for (x = 0; x < 3; x++) {
						double want = R[b * 9 + y * 3 + x];

						if (fabs(at(&im, b, y, x) - want) > 1e-4 && ok) {
							snprintf(why, sizeof why,
								 "channel %d (x %d, y %d): got %.9g, K.P gives %g",
								 b, x, y, at(&im, b, y, x), want);
							ok = 0;
						}
					}
			img_free(&im);
			snprintf(name, sizeof name,
				 "example 4x4x3, 2 kernels 2x2x3, valid, correlate: engine %s, %d thread%s: "
				 "the 3x3x2 output is K.P", e->name, t, t > 1 ? "s" : "");
			check(ok, name, "%s", why);
		}
	}

	/* Convolution turns the weights: the turned file gives the same result. */
	ok = parse(example1_turned, "example1-turned", &kt, &err) == 0;
	if (ok) {
		opts_init(&o, &eng_direct, SHAPE_VALID, borders[3], 0);
		ok = filter(&im, in, 4, 4, 3, &kt, &o, &err) == 0 && im.nch == 3 && im.w == 3 &&
		     im.h == 3;
		for (b = 0; ok && b < 2; b++)
			for (i = 0; i < 9; i++)
				ok &= at(&im, b, i / 3, i % 3) == R[b * 9 + i];
		img_free(&im);
	}
	check(ok, "example 4x4x3: convolution (no --correlate) of the turned kernels gives K.P",
	      "%s", err.msg);
	kern_free(&kt);

	/* Each kernel's own bias line. */
	ok = parse(example1_biased, "example1-biased", &kb, &err) == 0;
	if (ok) {
		ok = kb.biases != NULL && kb.biases[0] == 0.5 && kb.biases[1] == -1 &&
		     kb.biases[2] == -1;
		opts_init(&o, &eng_direct, SHAPE_VALID, borders[3], 1);
		ok = ok && filter(&im, in, 4, 4, 3, &kb, &o, &err) == 0 && im.nch == 3;
		for (i = 0; ok && i < 9; i++)
			ok &= at(&im, 0, i / 3, i % 3) == R[i] + 0.5 &&
			      at(&im, 1, i / 3, i % 3) == R[9 + i] - 1 && at(&im, 2, i / 3, i % 3) == -1;
		img_free(&im);
	}
	check(ok, "example 4x4x3: bias 0.5 and bias -1 are kernel 1's and kernel 2's (and carry to kernel 3)",
	      "%s", err.msg);
	kern_free(&kb);
	kern_free(&k);
}

static void example_1d(void)
{
	/* 1x12, 3 channels; 2 filters of 1x4 per channel; stride 2, valid. */
	static const char text[] =
		"channels 3\n"
		"1 0 -1 2\n---\n0 1 1 0\n---\n2 -1 0 1\n---\n"
		"-1 1 0 0\n---\n1 1 1 1\n---\n0 0 2 -2\n";
	struct kernel k;
	struct err err = { 0 };
	struct job_opts o;
	struct image im;
	double in[3 * 12], K[2 * 12], P[12 * 5], R[2 * 5];
	int c, x, j, b, ei, ok, ne = eng_count();
	char name[200], why[300];

	for (c = 0; c < 3; c++)
		for (x = 0; x < 12; x++)
			in[c * 12 + x] = 12 * c + x + 1;
	ok = parse(text, "example2", &k, &err) == 0;
	check(ok && k.nin == 3 && k.n == 6 && k.w == 4 && k.h == 1,
	      "example 1x12x3: channels 3, 6 matrices of 1x4", "%s", err.msg);
	if (!ok)
		return;
	for (b = 0; b < 2; b++)
		for (c = 0; c < 3; c++)
			for (j = 0; j < 4; j++)
				K[b * 12 + c * 4 + j] = k.m[(b * 3 + c) * 4 + j];
	for (x = 0; x < 5; x++)
		for (c = 0; c < 3; c++)
			for (j = 0; j < 4; j++)
				P[(c * 4 + j) * 5 + x] = in[c * 12 + 2 * x + j];
	kp_product(K, P, 2, 12, 5, R);
	/*
	 * By hand at x = 0: kernel 1 reads 1 2 3 4, 13 14 15 16, 25 26 27 28:
	 * (1 - 3 + 8) + (14 + 15) + (50 - 26 + 28) = 87; kernel 2:
	 * (-1 + 2) + (13 + 14 + 15 + 16) + (54 - 56) = 57.
	 */
	check(R[0] == 87 && R[5] == 57, "example 1x12x3: K (2x12) . P (12x5) by hand at x = 0",
	      "R[0] %g, R[5] %g", R[0], R[5]);
	for (ei = 0; ei < ne; ei++) {
		const struct engine *e = eng_at(ei);

		opts_init(&o, e, SHAPE_VALID, borders[0], 1);
		o.stride[0] = o.stride[1] = 2;
		why[0] = '\0';
		ok = filter(&im, in, 12, 1, 3, &k, &o, &err) == 0;
		if (!ok)
			snprintf(why, sizeof why, "job_filter failed: %.200s", err.msg);
		else if (im.w != 5 || im.h != 1 || im.nch != 2)
			snprintf(why, sizeof why, "output %dx%dx%d, expected 5x1x2", im.w, im.h, im.nch),
				ok = 0;
		for (b = 0; ok && b < 2; b++)
			for (x = 0; x < 5; x++) {
				double want = R[b * 5 + x];

				if (ok && fabs(at(&im, b, 0, x) - want) > 1e-4) {
					snprintf(why, sizeof why, "channel %d x %d: got %.9g, K.P gives %g",
						 b, x, at(&im, b, 0, x), want);
					ok = 0;
				}
			}
		img_free(&im);
		snprintf(name, sizeof name,
			 "example 1x12x3, 2 filters 1x4x3, stride 2, valid: engine %s: "
			 "the 1x5x2 output is K.P", e->name);
		check(ok, name, "%s", why);
	}
	kern_free(&k);
}

/* ---- The kernel file format's cross-channel parts. ---- */

static void parser_tests(void)
{
	static const char carry[] =
		"channels 1\nbias 0.25\n1\n---\n2\n---\n3\n";
	static const char ragged[] = "channels 3\n1\n---\n2\n---\n3\n---\n4\n";
	static const char late_bias[] = "channels 2\n1\n---\nbias 0.5\n2\n";
	static const char too_many[] = "channels 5\n1\n---\n1\n---\n1\n---\n1\n---\n1\n";
	static const char autoscale[] =
		"channels 3\nscale auto\n1 1\n---\n2 0\n---\n0 4\n---\n1 0\n---\n0 1\n---\n-1 3\n"
		"---\n0 0\n---\n0 -3\n---\n0 1\n";
	static const char scaled[] = "channels 3\nscale 2\n1\n---\n1\n---\n1\n";
	static const char combined[] =
		"channels 3\nbias 0.125\ncombine magnitude\n1\n---\n0\n---\n0\n---\n0\n---\n1\n---\n0\n";
	struct kernel k;
	struct err err = { 0 };
	struct job_opts o;
	struct image im;
	double ones[3 * 6], v[3 * 6];
	int ok, i;

	ok = parse(carry, "carry", &k, &err) == 0 && k.nin == 1 && k.n == 3 && k.biases != NULL &&
	     k.biases[0] == 0.25 && k.biases[1] == 0.25 && k.biases[2] == 0.25;
	check(ok, "kernel file: a bias line carries over to the later kernels",
	      "%s", err.msg);
	kern_free(&k);
	check(parse(ragged, "ragged", &k, &err) != 0 && err.cls == ERR_DATA && strstr(err.msg, "ragged"),
	      "kernel file: 4 matrices for channels 3 are refused (ERR_DATA, named)",
	      "class %d, \"%s\"", err.cls, err.msg);
	kern_free(&k);
	check(parse(late_bias, "late-bias", &k, &err) != 0 && err.cls == ERR_DATA,
	      "kernel file: a bias line before a kernel's second matrix is refused",
	      "class %d, \"%s\"", err.cls, err.msg);
	kern_free(&k);
	check(parse(too_many, "too-many", &k, &err) != 0 && err.cls == ERR_DATA,
	      "kernel file: channels 5 is refused (at most KERN_MAX_CHANNELS)",
	      "class %d, \"%s\"", err.cls, err.msg);
	kern_free(&k);

	/* scale auto: a constant image of 1 gives 1 from each kernel. */
	for (i = 0; i < 3 * 6; i++)
		ones[i] = 1;
	ok = parse(autoscale, "autoscale", &k, &err) == 0;
	if (ok) {
		opts_init(&o, &eng_direct, SHAPE_SAME, borders[2], 0);
		ok = filter(&im, ones, 3, 2, 3, &k, &o, &err) == 0 && im.nch == 3;
		for (i = 0; ok && i < 6; i++)
			ok &= fabs(at(&im, 0, i / 3, i % 3) - 1) < 1e-6 &&
			      fabs(at(&im, 1, i / 3, i % 3) - 1) < 1e-6 &&
			      fabs(at(&im, 2, i / 3, i % 3) - 1) < 1e-6;
		img_free(&im);
	}
	check(ok, "kernel file: scale auto divides by the sum over a kernel's N matrices",
	      "%s", err.msg);
	kern_free(&k);

	/* scale 2 applies to each matrix: 1 + 1 + 1 over 2. */
	ok = parse(scaled, "scaled", &k, &err) == 0;
	if (ok) {
		opts_init(&o, &eng_direct, SHAPE_SAME, borders[2], 0);
		ok = filter(&im, ones, 3, 2, 3, &k, &o, &err) == 0 && im.nch == 1 &&
		     fabs(at(&im, 0, 1, 2) - 1.5) < 1e-6;
		img_free(&im);
	}
	check(ok, "kernel file: an explicit scale divides each matrix (3 channels of 1, scale 2: 1.5)",
	      "%s", err.msg);
	kern_free(&k);

	/* combine magnitude: one output, sqrt(r0^2 + r1^2) + the one bias. */
	for (i = 0; i < 6; i++) {
		v[i] = 0.3 * i - 1;             /* channel 1 */
		v[6 + i] = 0.5 - 0.2 * i;       /* channel 2 */
		v[12 + i] = 7;                  /* channel 3, weight 0 */
	}
	ok = parse(combined, "combined", &k, &err) == 0;
	if (ok) {
		ok = k.combined && kern_outputs(&k) == 1 && k.combine == KERN_MAGNITUDE;
		opts_init(&o, &eng_direct, SHAPE_SAME, borders[2], 0);
		ok = ok && filter(&im, v, 3, 2, 3, &k, &o, &err) == 0 && im.nch == 1;
		for (i = 0; ok && i < 6; i++)
			ok &= fabs(at(&im, 0, i / 3, i % 3) -
				   (hypot(v[i], v[6 + i]) + 0.125)) < 1e-6;
		img_free(&im);
	}
	check(ok, "kernel file: combine magnitude gives one channel, sqrt(r0^2 + r1^2) + bias",
	      "%s", err.msg);
	kern_free(&k);
}

/* ---- (c) Property tests of the forward operator. ---- */

#define NO_CASE (-2.0)

/*
 * run_forward filters a random image by t's kernel under o and returns the
 * worst error in units of out_norm * max|x| + |bias|; INFINITY with why
 * for a failure; NO_CASE when the shape has no output, which must then be
 * an error.
 */
static double run_forward(const struct kernel *k, int nch, int W, int H, const struct job_opts *o,
			  char *why, size_t whylen)
{
	struct geo g;
	struct image im;
	struct err err = { 0 };
	double *in, *ref, maxx = fabs(o->border.value), worst = 0;
	size_t np, i;
	int nout, b, y, x, rc;

	geo_of(k, o, W, H, &g);
	in = malloc((size_t)nch * W * H * sizeof *in);
	random_samples(in, (size_t)nch * W * H);
	for (i = 0; i < (size_t)nch * W * H; i++)
		maxx = fmax(maxx, fabs(in[i]));
	if (g.ow == 0) {
		rc = filter(&im, in, W, H, nch, k, o, &err);
		img_free(&im);
		free(in);
		if (rc == 0 || err.cls == ERR_NONE || err.msg[0] == '\0') {
			snprintf(why, whylen, "valid with a %dx%d dilated kernel on %dx%d did not fail "
				 "with a message (rc %d, class %d)", g.KW, g.KH, W, H, rc, err.cls);
			return INFINITY;
		}
		return NO_CASE;
	}
	np = (size_t)g.ow * g.oh;
	ref = malloc(np * 4 * sizeof *ref);
	nout = ref_forward(in, nch, W, H, k, o, &g, ref);
	if (filter(&im, in, W, H, nch, k, o, &err)) {
		snprintf(why, whylen, "job_filter failed: %.200s", err.msg);
		worst = INFINITY;
	} else if (im.w != g.ow || im.h != g.oh || im.nch != nout) {
		snprintf(why, whylen, "output %dx%dx%d, expected %dx%dx%d", im.w, im.h, im.nch,
			 g.ow, g.oh, nout);
		worst = INFINITY;
	} else {
		for (b = 0; b < nout; b++) {
			double norm = out_norm(k, b) * maxx + fabs(out_bias(k, b)) + 1e-30;

			for (y = 0; y < g.oh; y++)
				for (x = 0; x < g.ow; x++) {
					double want = ref[b * np + (size_t)y * g.ow + x];
					double got = at(&im, b, y, x), d = fabs(got - want) / norm;

					if (!isfinite(got))
						d = INFINITY;
					if (!(d <= worst)) {
						worst = d;
						snprintf(why, whylen,
							 "channel %d at (x %d, y %d): got %.9g, expected %.9g",
							 b, x, y, got, want);
					}
				}
		}
	}
	img_free(&im);
	free(ref);
	free(in);
	return worst;
}

static int random_side(void)
{
	static const int sides[] = { 1, 2, 3, 5, 8, 13, 17, 24 };

	return sides[(int)(rnd() * 8)];
}

static void forward_tests(void)
{
	int ne = eng_count(), ei;

	for (ei = 0; ei <= ne; ei++) {
		const struct engine *e = ei < ne ? eng_at(ei) : NULL;
		const char *ename = e != NULL ? e->name : "auto";
		int fft = e == NULL || strcmp(e->name, "fft") == 0;
		int sep = e != NULL && strcmp(e->name, "separable") == 0;
		double tol = fft ? 1e-4 : 1e-5, worst = 0;
		int cases = 0, failed = 0, errors = 0, bi, s, sx, sy, dx, rep, kinds = 0;
		char worst_at[700] = "", name[300];

		for (bi = 0; bi < NBORDERS; bi++)
		for (s = SHAPE_SAME; s <= SHAPE_VALID; s++)
		for (sx = 1; sx <= 3; sx++)
		for (sy = 1; sy <= 3; sy++)
		for (dx = 1; dx <= 2; dx++)
		for (rep = 0; rep < 2; rep++) {
			struct tkernel t;
			struct job_opts o;
			struct geo g;
			int nch, kind = (int)(rnd() * NKINDS), W, H, extra;
			double d;
			char why[300] = "", at_[700], kn[80];

			random_kernel(&t, kind, 0, sep, &nch);
			kinds |= 1 << kind;
			opts_init(&o, e, (enum job_shape)s, borders[bi], rnd() < 0.5);
			/* 0 means 1, for stride and dilation alike. */
			o.stride[0] = sx == 1 && rnd() < 0.3 ? 0 : sx;
			o.stride[1] = sy;
			o.dilation[0] = dx;
			o.dilation[1] = rnd() < 0.5 ? dx : 3 - dx;
			o.threads = rnd() < 0.2 ? 3 : 1;
			o.strip_rows = rnd() < 0.5 ? 0 : 1 + (int)(rnd() * 5);
			W = random_side();
			H = random_side();
			geo_of(&t.k, &o, 1, 1, &g);
			/* valid needs the dilated kernel inside; the other shapes take any size. */
			if (s == SHAPE_VALID) {
				W = W < g.KW ? g.KW + (int)(rnd() * 4) : W;
				H = H < g.KH ? g.KH + (int)(rnd() * 4) : H;
			}
			for (extra = 0; extra < 2; extra++) {
				if (extra == 1) {
					/* Now and then: valid on an image smaller than the kernel. */
					if (s != SHAPE_VALID || rnd() > 0.25 || (g.KW == 1 && g.KH == 1))
						break;
					if (g.KW > 1)
						W = 1 + (int)(rnd() * (g.KW - 1));
					else
						H = 1 + (int)(rnd() * (g.KH - 1));
				}
				d = run_forward(&t.k, nch, W, H, &o, why, sizeof why);
				snprintf(at_, sizeof at_,
					 "%s, image %dx%dx%d, %s, %s, %s, stride %d,%d, dilation %d,%d, "
					 "origin %d,%d, bias %g, %d thread%s: %s",
					 kind_name(&t.k, kn, sizeof kn), W, H, nch, border_names[bi],
					 shape_names[s], o.correlate ? "correlate" : "convolve",
					 o.stride[0], o.stride[1], o.dilation[0], o.dilation[1], t.k.ox,
					 t.k.oy, t.k.bias, o.threads, o.threads > 1 ? "s" : "", why);
				if (d == NO_CASE) {
					errors++;
					continue;
				}
				cases++;
				if (!(d <= tol) && failed++ < 4)
					check(0, "layer forward case", "engine %s: error %.3g (tolerance %g): %s",
					      ename, d, tol, at_);
				if (!(d <= worst)) {
					worst = d;
					snprintf(worst_at, sizeof worst_at, "%s", at_);
				}
			}
		}
		snprintf(name, sizeof name,
			 "layer forward, engine %s: %d cases (every border x shape x stride 1..3,1..3 x "
			 "dilation 1, 2, twice; %d kernel kinds), %d valid-too-small refused, worst %.3g "
			 "(tolerance %g)", ename, cases, NKINDS, errors, worst, tol);
		check(failed == 0 && kinds == (1 << NKINDS) - 1, name, "%d failed%s; worst at %s",
		      failed, kinds == (1 << NKINDS) - 1 ? "" : " (a kernel kind never drawn)",
		      worst_at);
	}
}

/* Premultiplied alpha, as usual, for an ordinary kernel with a stride. */
static void alpha_test(void)
{
	static const double m[6] = { 1, 2, 1, 0.5, 3, 0.25 };
	struct tkernel t;
	struct job_opts o;
	struct geo g;
	struct image im;
	struct err err = { 0 };
	double in[4 * 11 * 7], pm[4 * 11 * 7], ref[4 * 6 * 4];
	int ne = eng_count(), ei, i, c, y, x, ok;
	size_t wh = 11 * 7, np;
	char name[200], why[300];

	tk_init(&t, 3, 2, 1, 0, 0, KERN_SUM);
	memcpy(t.m, m, sizeof m);
	t.k.bias = 0.0625;
	for (i = 0; i < 4 * 11 * 7; i++)
		in[i] = i >= 3 * 11 * 7 ? (float)(0.2 + 0.8 * rnd()) : (float)rnd();
	/* The reference: colour times alpha, filtered, over the filtered alpha. */
	memcpy(pm, in, sizeof pm);
	for (c = 0; c < 3; c++)
		for (i = 0; i < (int)wh; i++)
			pm[c * wh + i] *= in[3 * wh + i];
	for (ei = 0; ei < ne; ei++) {
		opts_init(&o, eng_at(ei), SHAPE_SAME, borders[3], 0);
		o.alpha = ALPHA_PREMULTIPLY;
		o.stride[0] = 2;
		o.stride[1] = 2;
		o.dilation[0] = 2;
		geo_of(&t.k, &o, 11, 7, &g);
		np = (size_t)g.ow * g.oh;
		t.k.bias = 0;
		ref_forward(pm, 4, 11, 7, &t.k, &o, &g, ref);
		t.k.bias = 0.0625;
		why[0] = '\0';
		ok = filter(&im, in, 11, 7, 4, &t.k, &o, &err) == 0 && im.nch == 4 && im.w == g.ow &&
		     im.h == g.oh;
		if (!ok)
			snprintf(why, sizeof why, "job_filter: %.200s; output %dx%dx%d, expected %dx%dx4",
				 err.msg, im.w, im.h, im.nch, g.ow, g.oh);
		for (c = 0; ok && c < 4; c++)
			for (y = 0; y < g.oh; y++)
				for (x = 0; x < g.ow; x++) {
					double a = ref[3 * np + y * g.ow + x];
					double want = (c == 3 ? a : ref[c * np + y * g.ow + x] / a) + 0.0625;

					if (ok && fabs(at(&im, c, y, x) - want) > 1e-5 * 8.75 * 2) {
						snprintf(why, sizeof why,
							 "channel %d (x %d, y %d): got %.9g, expected %.9g",
							 c, x, y, at(&im, c, y, x), want);
						ok = 0;
					}
				}
		img_free(&im);
		snprintf(name, sizeof name,
			 "ordinary kernel, stride 2, dilation 2,1 on RGBA: premultiplied alpha as usual (engine %s)",
			 eng_at(ei)->name);
		check(ok, name, "%s", why);
	}
}

/*
 * A cross-channel kernel treats alpha as a plain channel (README): the
 * default --alpha premultiply changes nothing, with a stride or without.
 */
static void cross_alpha_test(void)
{
	struct tkernel t;
	struct job_opts o;
	struct geo g;
	struct image im;
	struct err err = { 0 };
	double in[4 * 9 * 6], ref[4 * 9 * 6], worst = 0;
	int s, b, i, ok = 1, nch;

	random_samples(in, 4 * 9 * 6);
	for (s = 1; s <= 2; s++) {
		random_kernel(&t, KIND_CROSS + 2 + 3 * (s - 1), 0, 0, &nch);    /* N 4; M 1, 3 */
		opts_init(&o, &eng_direct, SHAPE_SAME, borders[3], 0);
		o.alpha = ALPHA_PREMULTIPLY;
		o.stride[0] = o.stride[1] = s;
		geo_of(&t.k, &o, 9, 6, &g);
		ref_forward(in, 4, 9, 6, &t.k, &o, &g, ref);
		if (filter(&im, in, 9, 6, 4, &t.k, &o, &err) || im.nch != kern_outputs(&t.k) ||
		    im.w != g.ow || im.h != g.oh) {
			ok = 0;
		} else {
			for (b = 0; b < im.nch; b++)
				for (i = 0; i < g.ow * g.oh; i++)
					worst = fmax(worst, fabs(at(&im, b, i / g.ow, i % g.ow) -
								 ref[b * g.ow * g.oh + i]) /
							    (out_norm(&t.k, b) * 2 + fabs(out_bias(&t.k, b))));
		}
		img_free(&im);
	}
	check(ok && worst < 1e-5,
	      "a channels 4 kernel on RGBA under --alpha premultiply: alpha is a plain channel "
	      "(strides 1 and 2)", "%s; worst %.3g", err.msg, worst);
}

/* ---- (d) The transposed operator. ---- */

/*
 * run_adjoint checks, for one random case: the transposed output's size
 * (layer.h's table), T^T y against the reference adjoint, and <T x, y> =
 * <x, T^T y> with T and T^T both from job_filter.  It returns the worst
 * of the two relative errors, INFINITY with why for a failure, or NO_CASE
 * when the `full` size is clamped to 1 (only the size is checked then).
 */
static double run_adjoint(const struct kernel *k, int nch_x, int w, int h, struct job_opts o,
			  double *adj_err, char *why, size_t whylen)
{
	struct geo g;
	struct image im;
	struct err err = { 0 };
	int N = k->nin == 0 ? nch_x : k->nin, M = k->nin == 0 ? nch_x : kern_outputs(k);
	int W, H, c, y, x, ok = 1;
	size_t wh, np, i;
	double *xv = NULL, *yv = NULL, *tty = NULL, *ref = NULL, *rabs = NULL;
	double lhs = 0, rhs = 0, lhs_abs = 0, rhs_abs = 0, worst = 0, amax = 0, result;

	*adj_err = 0;
	o.transpose = 0;
	geo_of(k, &o, 1, 1, &g);
	W = o.out_size[0] > 0 ? o.out_size[0] : tsize(o.shape, w, g.sx, g.KW);
	H = o.out_size[0] > 0 ? o.out_size[1] : tsize(o.shape, h, g.sy, g.KH);
	geo_of(k, &o, W, H, &g);
	wh = (size_t)W * H;
	np = (size_t)w * h;
	xv = malloc(N * wh * sizeof *xv);
	yv = malloc(M * np * sizeof *yv);
	tty = malloc(N * wh * sizeof *tty);
	ref = malloc(N * wh * sizeof *ref);
	rabs = malloc(N * wh * sizeof *rabs);
	random_samples(xv, N * wh);
	random_samples(yv, M * np);

	/* T^T y: its size, then its values against the reference. */
	o.transpose = 1;
	if (filter(&im, yv, w, h, M, k, &o, &err)) {
		if (o.shape == SHAPE_FULL && ((w - 1) * g.sx - g.KW + 2 < 1 || (h - 1) * g.sy - g.KH + 2 < 1) &&
		    err.msg[0] != '\0') {
			/* No forward input has this output: refused rather than clamped to 1. */
			result = NO_CASE;
			goto done;
		}
		snprintf(why, whylen, "transposed job_filter on %dx%dx%d failed: %.200s", w, h, M,
			 err.msg);
		result = INFINITY;
		goto done;
	}
	if (im.w != W || im.h != H || im.nch != N) {
		snprintf(why, whylen, "transposed output of %dx%dx%d is %dx%dx%d, layer.h says %dx%dx%d",
			 w, h, M, im.w, im.h, im.nch, W, H, N);
		result = INFINITY;
		goto done;
	}
	for (c = 0; c < N; c++)
		for (y = 0; y < H; y++)
			for (x = 0; x < W; x++)
				tty[c * wh + (size_t)y * W + x] = at(&im, c, y, x);
	img_free(&im);
	if (g.ow != w || g.oh != h) {
		/* full, clamped to 1: T of that size has another output size. */
		result = NO_CASE;
		goto done;
	}
	ref_adjoint(yv, M, W, H, k, &o, &g, ref, rabs);
	for (i = 0; i < N * wh; i++)
		amax = fmax(amax, rabs[i]);
	for (i = 0; i < N * wh; i++) {
		/*
		 * The floor of 1e-3 (the samples are of order 1) is for a T^T
		 * that is all zero, every tap outside: the FFT's rounding noise
		 * then has no scale of its own to be measured against.
		 */
		double d = fabs(tty[i] - ref[i]) / (amax + fabs(out_bias(k, 0)) + 1e-3);

		if (!isfinite(tty[i]))
			d = INFINITY;
		if (!(d <= worst)) {
			worst = d;
			snprintf(why, whylen, "T^T y channel %d at (x %d, y %d): got %.9g, reference %.9g",
				 (int)(i / wh), (int)(i % wh % W), (int)(i % wh / W), tty[i], ref[i]);
		}
	}

	/* T x, through the forward operator; then the two inner products. */
	o.transpose = 0;
	if (filter(&im, xv, W, H, N, k, &o, &err)) {
		snprintf(why, whylen, "forward job_filter on %dx%dx%d failed: %.200s", W, H, N, err.msg);
		result = INFINITY;
		goto done;
	}
	ok = im.w == w && im.h == h && im.nch == M;
	if (!ok) {
		snprintf(why, whylen, "forward output of %dx%dx%d is %dx%dx%d, expected %dx%dx%d",
			 W, H, N, im.w, im.h, im.nch, w, h, M);
		result = INFINITY;
		goto done;
	}
	for (c = 0; c < M; c++)
		for (y = 0; y < h; y++)
			for (x = 0; x < w; x++) {
				double t = at(&im, c, y, x) * yv[c * np + (size_t)y * w + x];

				lhs += t;
				lhs_abs += fabs(t);
			}
	for (i = 0; i < N * wh; i++) {
		rhs += xv[i] * tty[i];
		rhs_abs += fabs(xv[i] * tty[i]);
	}
	*adj_err = fabs(lhs - rhs) / (fmax(lhs_abs, rhs_abs) + 1e-3);
	if (!isfinite(*adj_err))
		*adj_err = INFINITY;
	if (*adj_err > 1e-4)
		snprintf(why, whylen, "<T x, y> = %.9g, <x, T^T y> = %.9g", lhs, rhs);
	result = worst;
done:
	img_free(&im);
	free(xv);
	free(yv);
	free(tty);
	free(ref);
	free(rabs);
	return result;
}

static void adjoint_tests(void)
{
	int ne = eng_count(), ei;

	for (ei = 0; ei <= ne; ei++) {
		const struct engine *e = ei < ne ? eng_at(ei) : NULL;
		const char *ename = e != NULL ? e->name : "auto";
		int fft = e == NULL || strcmp(e->name, "fft") == 0;
		int sep = e != NULL && strcmp(e->name, "separable") == 0;
		double tol = fft ? 1e-4 : 1e-5, worst = 0, worst_adj = 0;
		int cases = 0, failed = 0, clamped = 0, bi, s, sx, sy, dx;
		char worst_at[700] = "", name[300];

		for (bi = 0; bi < NBORDERS; bi++)
		for (s = SHAPE_SAME; s <= SHAPE_VALID; s++)
		for (sx = 1; sx <= 3; sx++)
		for (sy = 1; sy <= 3; sy++)
		for (dx = 1; dx <= 2; dx++) {
			struct tkernel t;
			struct job_opts o;
			int nch, kind = (int)(rnd() * NKINDS), w, h;
			double d, adj;
			char why[300] = "", at_[700], kn[80];

			if (borders[bi].mode == BORDER_CONST && borders[bi].value != 0)
				continue;
			random_kernel(&t, kind, 1, sep, &nch);
			t.k.bias = 0;
			memset(t.biases, 0, sizeof t.biases);
			opts_init(&o, e, (enum job_shape)s, borders[bi], rnd() < 0.5);
			o.stride[0] = sx;
			o.stride[1] = sy;
			o.dilation[0] = dx;
			o.dilation[1] = rnd() < 0.5 ? dx : 3 - dx;
			o.threads = rnd() < 0.2 ? 3 : 1;
			o.strip_rows = rnd() < 0.5 ? 0 : 1 + (int)(rnd() * 5);
			w = random_side() % 13 + 1;
			h = random_side() % 13 + 1;
			if (s == SHAPE_FULL && rnd() < 0.8) {
				/* Mostly sizes whose full forward input is not clamped. */
				struct geo g;

				geo_of(&t.k, &o, 1, 1, &g);
				while ((w - 1) * g.sx - g.KW + 2 < 1)
					w++;
				while ((h - 1) * g.sy - g.KH + 2 < 1)
					h++;
			}
			if (rnd() < 0.5) {
				/*
				 * --output-size: any size whose forward output is w x h,
				 * from the default down (same) or up (valid, full).
				 */
				struct geo g;
				int dw, dh;

				geo_of(&t.k, &o, 1, 1, &g);
				dw = tsize(o.shape, w, g.sx, g.KW);
				dh = tsize(o.shape, h, g.sy, g.KH);
				if (s == SHAPE_SAME) {
					dw -= g.sx - 1;
					dh -= g.sy - 1;
				}
				o.out_size[0] = dw + (int)(rnd() * g.sx);
				o.out_size[1] = dh + (int)(rnd() * g.sy);
				if (o.out_size[0] < 1 || o.out_size[1] < 1)
					o.out_size[0] = o.out_size[1] = 0;
			}
			d = run_adjoint(&t.k, nch, w, h, o, &adj, why, sizeof why);
			snprintf(at_, sizeof at_,
				 "%s, y %dx%dx%d, %s, %s, %s, stride %d,%d, dilation %d,%d, origin %d,%d, "
				 "%d thread%s, output size %dx%d: %s", kind_name(&t.k, kn, sizeof kn), w, h,
				 t.k.nin == 0 ? nch : kern_outputs(&t.k), border_names[bi], shape_names[s],
				 o.correlate ? "correlate" : "convolve", o.stride[0], o.stride[1],
				 o.dilation[0], o.dilation[1], t.k.ox, t.k.oy, o.threads,
				 o.threads > 1 ? "s" : "", o.out_size[0], o.out_size[1], why);
			if (d == NO_CASE) {
				clamped++;
				continue;
			}
			cases++;
			if ((!(d <= tol) || !(adj <= 1e-4)) && failed++ < 4)
				check(0, "layer transpose case",
				      "engine %s: T^T error %.3g (tolerance %g), adjoint error %.3g (1e-4): %s",
				      ename, d, tol, adj, at_);
			if (!(d <= worst) || !(adj <= worst_adj)) {
				worst = fmax(worst, d);
				worst_adj = fmax(worst_adj, adj);
				snprintf(worst_at, sizeof worst_at, "%s", at_);
			}
		}
		snprintf(name, sizeof name,
			 "layer transpose, engine %s: %d cases (5 borders x 3 shapes x strides 1..3,1..3 x "
			 "dilations 1, 2), <Tx,y> = <x,T^T y> within %.3g relative (1e-4), T^T y within "
			 "%.3g of the reference (%g); %d full sizes below 1 clamped or refused",
			 ename, cases, worst_adj, worst, tol, clamped);
		check(failed == 0 && cases > 0, name, "%d failed; worst at %s", failed, worst_at);
	}
}

/* Output sizes, written out from layer.h's formulas for a few geometries. */
static void size_tests(void)
{
	struct tkernel t;
	struct job_opts o;
	struct image im;
	struct err err = { 0 };
	double v[24 * 24];
	/* forward: 10x7 image, 3x3 kernel, stride 2,3, dilation 2,1: KW 5, KH 3. */
	static const int fwd[3][2] = { { 5, 3 }, { 7, 3 }, { 3, 2 } };
	/* transposed: 5x4 image, 3x3 kernel, stride 2,3, dilation 1,2: KW 3, KH 5. */
	static const int tr[3][2] = { { 10, 12 }, { 7, 6 }, { 11, 14 } };
	int s, ok, rc;
	char name[200];

	memset(v, 0, sizeof v);
	tk_init(&t, 3, 3, 1, 0, 0, KERN_SUM);
	t.m[4] = 1;
	for (s = SHAPE_SAME; s <= SHAPE_VALID; s++) {
		opts_init(&o, &eng_direct, (enum job_shape)s, borders[0], 0);
		o.stride[0] = 2;
		o.stride[1] = 3;
		o.dilation[0] = 2;
		o.dilation[1] = 1;
		ok = filter(&im, v, 10, 7, 1, &t.k, &o, &err) == 0 && im.w == fwd[s][0] &&
		     im.h == fwd[s][1];
		snprintf(name, sizeof name,
			 "size: 10x7, 3x3 kernel, stride 2,3, dilation 2,1, %s: %dx%d (ceil(oh1 / s))",
			 shape_names[s], fwd[s][0], fwd[s][1]);
		check(ok, name, "got %dx%d (%s)", im.w, im.h, err.msg);
		img_free(&im);

		o.stride[0] = 2;
		o.stride[1] = 3;
		o.dilation[0] = 1;
		o.dilation[1] = 2;
		o.transpose = 1;
		ok = filter(&im, v, 5, 4, 1, &t.k, &o, &err) == 0 && im.w == tr[s][0] &&
		     im.h == tr[s][1];
		snprintf(name, sizeof name,
			 "size: --transpose of 5x4, 3x3 kernel, stride 2,3, dilation 1,2, %s: %dx%d",
			 shape_names[s], tr[s][0], tr[s][1]);
		check(ok, name, "got %dx%d (%s)", im.w, im.h, err.msg);
		img_free(&im);
	}
	/* full: (h - 1) s - KH + 2, at least 1. */
	tk_init(&t, 5, 5, 1, 0, 0, KERN_SUM);
	opts_init(&o, &eng_direct, SHAPE_FULL, borders[0], 0);
	o.transpose = 1;
	rc = filter(&im, v, 1, 3, 1, &t.k, &o, &err);
	ok = rc == 0 ? im.w == 1 && im.h == 1 : err.msg[0] != '\0' && strstr(err.msg, "random") != NULL;
	snprintf(name, sizeof name,
		 "size: --transpose of 1x3, 5x5 kernel, stride 1, full: (h - 1) s - KH + 2 < 1 is %s",
		 rc == 0 ? "1x1 (at least 1)" : "refused, naming the kernel");
	check(ok, name, "got %dx%d (%s)", im.w, im.h, err.msg);
	img_free(&im);
}

/* What the transposed operator refuses, and the bias it adds. */
static void transpose_rules(void)
{
	struct tkernel t;
	struct job_opts o;
	struct image im;
	struct err err = { 0 };
	double v[3 * 6 * 5], ref[3 * 14 * 15], rabs[3 * 14 * 15];
	struct geo g;
	int i, ok, c;

	random_samples(v, 3 * 6 * 5);
	tk_init(&t, 3, 3, 1, 0, 0, KERN_SUM);
	random_matrix(t.m, 3, 3, 0);
	opts_init(&o, &eng_direct, SHAPE_SAME, borders[1], 0);
	o.transpose = 1;
	ok = filter(&im, v, 6, 5, 1, &t.k, &o, &err) != 0 && err.msg[0] != '\0';
	check(ok, "--transpose with a constant border of 0.375 is refused (not linear)",
	      "rc 0 or no message");
	img_free(&im);

	for (c = KERN_MAX; c <= KERN_MAGNITUDE; c++) {
		char name[160];

		tk_init(&t, 3, 3, 2, 0, 0, (enum kern_combine)c);
		random_matrix(t.m, 3, 3, 0);
		random_matrix(t.m + 9, 3, 3, 0);
		opts_init(&o, &eng_direct, SHAPE_SAME, borders[3], 0);
		o.transpose = 1;
		ok = filter(&im, v, 6, 5, 1, &t.k, &o, &err) != 0 && err.msg[0] != '\0';
		img_free(&im);
		snprintf(name, sizeof name, "--transpose of an ordinary bank combined by %s is refused",
			 combine_names[c]);
		check(ok, name, "rc 0 or no message");

		tk_init(&t, 3, 3, 6, 3, 1, (enum kern_combine)c);
		for (i = 0; i < 6; i++)
			random_matrix(t.m + 9 * i, 3, 3, 0);
		ok = filter(&im, v, 6, 5, 1, &t.k, &o, &err) != 0 && err.msg[0] != '\0';
		img_free(&im);
		snprintf(name, sizeof name,
			 "--transpose of a cross-channel kernel combined by %s is refused", combine_names[c]);
		check(ok, name, "rc 0 or no message");
	}

	/* Biases: equal ones are added to every sample; unequal ones refused. */
	tk_init(&t, 3, 2, 6, 3, 0, KERN_SUM);
	for (i = 0; i < 6; i++)
		random_matrix(t.m + 6 * i, 3, 2, 0);
	t.k.bias = t.biases[0] = t.biases[1] = 0.25;
	opts_init(&o, &eng_direct, SHAPE_SAME, borders[3], 0);
	o.stride[0] = o.stride[1] = 2;
	o.transpose = 1;
	geo_of(&t.k, &o, 12, 10, &g);
	ref_adjoint(v, 2, 12, 10, &t.k, &o, &g, ref, rabs);
	ok = filter(&im, v, 6, 5, 2, &t.k, &o, &err) == 0 && im.w == 12 && im.h == 10 && im.nch == 3;
	for (i = 0; ok && i < 3 * 120; i++)
		ok = fabs(at(&im, i / 120, i % 120 / 12, i % 12) - ref[i]) < 1e-5 * 10;
	check(ok, "--transpose of 2 kernels of 3 channels, both biases 0.25: T^T y + 0.25, 3 channels",
	      "%s; output %dx%dx%d", err.msg, im.w, im.h, im.nch);
	img_free(&im);
	t.biases[1] = -0.5;
	ok = filter(&im, v, 6, 5, 2, &t.k, &o, &err) != 0 && err.msg[0] != '\0';
	check(ok, "--transpose of kernels whose biases differ (0.25, -0.5) is refused (layer.h)",
	      "rc 0 or no message");
	img_free(&im);

	/* The image's channel count must be the kernel's. */
	t.biases[1] = 0.25;
	o.transpose = 0;
	ok = filter(&im, v, 6, 5, 1, &t.k, &o, &err) != 0 && err.cls == ERR_DATA;
	check(ok, "a channels 3 kernel on a 1-channel image: ERR_DATA", "class %d: %s", err.cls,
	      err.msg);
	img_free(&im);
	o.transpose = 1;
	ok = filter(&im, v, 6, 5, 3, &t.k, &o, &err) != 0 && err.cls == ERR_DATA;
	check(ok, "--transpose of 2 kernels on a 3-channel image (2 needed): ERR_DATA",
	      "class %d: %s", err.cls, err.msg);
	img_free(&im);

	/* An ordinary kernel's bias, on each channel. */
	tk_init(&t, 4, 3, 1, 0, 0, KERN_SUM);
	random_matrix(t.m, 4, 3, 0);
	t.k.bias = -0.125;
	opts_init(&o, &eng_toeplitz, SHAPE_VALID, borders[0], 1);
	o.stride[0] = 2;
	o.stride[1] = 3;
	o.transpose = 1;
	geo_of(&t.k, &o, 14, 15, &g);           /* (6 - 1) 2 + 4, (5 - 1) 3 + 3 */
	ref_adjoint(v, 3, 14, 15, &t.k, &o, &g, ref, rabs);
	ok = filter(&im, v, 6, 5, 3, &t.k, &o, &err) == 0 && im.w == 14 && im.h == 15 && im.nch == 3;
	for (i = 0; ok && i < 3 * 210; i++)
		ok = fabs(at(&im, i / 210, i % 210 / 14, i % 14) - ref[i]) < 1e-5 * 10;
	check(ok, "--transpose of an ordinary 4x3 kernel with bias -0.125 on RGB, stride 2,3, valid: "
	      "T^T y - 0.125 on each channel, 14x15", "%s; output %dx%dx%d", err.msg, im.w, im.h, im.nch);
	img_free(&im);
}

/*
 * Larger images, kernels of up to 9x9, strides to 4 and dilations to 3,
 * 1 to 4 threads: the engines' strips, tiles, bands and phases, which the
 * small cases above never fill.
 */
static void large_tests(void)
{
	int ne = eng_count(), ei, n;

	large_side = 1;
	for (ei = 0; ei <= ne; ei++) {
		const struct engine *e = ei < ne ? eng_at(ei) : NULL;
		const char *ename = e != NULL ? e->name : "auto";
		int fft = e == NULL || strcmp(e->name, "fft") == 0;
		int sep = e != NULL && strcmp(e->name, "separable") == 0;
		double tol = fft ? 1e-4 : 1e-5, worst = 0, worst_t = 0, worst_adj = 0;
		int failed = 0, cases = 0, tcases = 0;
		char worst_at[700] = "", name[400];

		for (n = 0; n < 28; n++) {
			struct tkernel t;
			struct job_opts o;
			struct geo g;
			int nch, transpose = n < 24 ? n % 3 == 2 : n >= 26, w, h;
			int kind = (int)(rnd() * NKINDS), bi = (int)(rnd() * NBORDERS);
			double d, adj = 0;
			char why[300] = "", at_[700], kn[80];

			if (transpose && borders[bi].mode == BORDER_CONST)
				bi = 0;
			random_kernel(&t, kind, transpose, sep, &nch);
			if (t.k.n > 8) {                /* bounds the reference's time */
				random_kernel(&t, KIND_CROSS + 4, transpose, sep, &nch);
				kind = KIND_CROSS + 4;
			}
			opts_init(&o, e, (enum job_shape)(int)(rnd() * 3), borders[bi], rnd() < 0.5);
			o.stride[0] = 1 + (int)(rnd() * 4);
			o.stride[1] = 1 + (int)(rnd() * 4);
			o.dilation[0] = 1 + (int)(rnd() * 3);
			o.dilation[1] = 1 + (int)(rnd() * 3);
			o.threads = 1 + (int)(rnd() * 4);
			o.strip_rows = rnd() < 0.5 ? 0 : 1 + (int)(rnd() * 5);
			geo_of(&t.k, &o, 1, 1, &g);
			if (n >= 24) {
				/* Wide and tall: rows longer than an engine's strip. */
				int longer = 1500 + (int)(rnd() * 1500), shorter = 1 + (int)(rnd() * 5);

				if (transpose) {
					t.k.bias = 0;
					memset(t.biases, 0, sizeof t.biases);
				}
				w = n % 2 == 0 ? longer : shorter;
				h = n % 2 == 0 ? shorter : longer;
				if (o.shape == SHAPE_VALID)
					o.shape = SHAPE_SAME;
				d = transpose ? run_adjoint(&t.k, nch, w, h, o, &adj, why, sizeof why)
					      : run_forward(&t.k, nch, w, h, &o, why, sizeof why);
			} else if (transpose) {
				t.k.bias = 0;
				memset(t.biases, 0, sizeof t.biases);
				w = 20 + (int)(rnd() * 41);
				h = 20 + (int)(rnd() * 41);
				d = run_adjoint(&t.k, nch, w, h, o, &adj, why, sizeof why);
			} else {
				w = 40 + (int)(rnd() * 81);
				h = 40 + (int)(rnd() * 81);
				d = run_forward(&t.k, nch, w, h, &o, why, sizeof why);
			}
			snprintf(at_, sizeof at_,
				 "%s%s, %s %dx%dx%d, %s, %s, %s, stride %d,%d, dilation %d,%d, origin %d,%d, "
				 "%d threads: %s", transpose ? "transpose, " : "",
				 kind_name(&t.k, kn, sizeof kn), transpose ? "y" : "image", w, h,
				 transpose && t.k.nin > 0 ? kern_outputs(&t.k) : nch, border_names[bi],
				 shape_names[o.shape], o.correlate ? "correlate" : "convolve", o.stride[0],
				 o.stride[1], o.dilation[0], o.dilation[1], t.k.ox, t.k.oy, o.threads, why);
			if (d == NO_CASE)
				continue;
			if (transpose)
				tcases++;
			else
				cases++;
			if ((!(d <= tol) || !(adj <= 1e-4)) && failed++ < 4)
				check(0, "layer large case", "engine %s: error %.3g (tolerance %g), adjoint %.3g: %s",
				      ename, d, tol, adj, at_);
			if (!(d <= (transpose ? worst_t : worst)) || !(adj <= worst_adj)) {
				if (transpose)
					worst_t = fmax(worst_t, d);
				else
					worst = fmax(worst, d);
				worst_adj = fmax(worst_adj, adj);
				snprintf(worst_at, sizeof worst_at, "%s", at_);
			}
		}
		snprintf(name, sizeof name,
			 "layer on larger images, engine %s: %d forward cases (40..120 a side, or 1500..3000 "
			 "by 1..5; kernels to 9x9, stride to 4, dilation to 3), worst %.3g; %d transposed, worst %.3g, adjoint "
			 "%.3g (tolerance %g, 1e-4)", ename, cases, worst, tcases, worst_t, worst_adj, tol);
		check(failed == 0 && cases > 0 && tcases > 0, name, "%d failed; worst at %s", failed,
		      worst_at);
	}
	large_side = 0;
}

int main(void)
{
	example_4x4();
	example_1d();
	parser_tests();
	size_tests();
	transpose_rules();
	alpha_test();
	cross_alpha_test();
	forward_tests();
	adjoint_tests();
	large_tests();
	fft_shutdown();
	return check_exit();
}

/*
 * kernel_gen.c: generators that build a struct kernel: gaussian, box,
 * unsharp (ImageMagick's -unsharp as one kernel), log (Laplacian of
 * Gaussian) and dog (difference of Gaussians), and their specs' parsing.
 */
#include "kernel.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PI 3.14159265358979323846

/* max_square_side is the largest n with an n x n matrix inside the limits. */
static int max_square_side(void)
{
	int n = (int)sqrt((double)KERN_MAX_ELEMS);

	while ((long)(n + 1) * (n + 1) <= KERN_MAX_ELEMS)
		n++;
	while ((long)n * n > KERN_MAX_ELEMS)
		n--;
	return n < KERN_MAX_SIDE ? n : KERN_MAX_SIDE;
}

static int check_sigma(const char *what, double sigma, struct err *err)
{
	if (!(sigma > 0) || !isfinite(sigma))
		return err_set(err, ERR_DATA, "%s:%g: sigma must be a number greater "
			       "than 0", what, sigma);
	return 0;
}

/*
 * auto_size is 2 ceil(reach sigma) + 1, the side that holds the curve out
 * to reach sigmas each way, or -1 (with a message) past the size limit.
 */
static int auto_size(const char *what, double sigma, double reach, struct err *err)
{
	int maxside = max_square_side();
	double d = 2 * ceil(reach * sigma) + 1;

	if (d > maxside)
		return err_set(err, ERR_DATA, "%s:%g: its size %.0fx%.0f is over the "
			       "limit of %dx%d", what, sigma, d, d, maxside, maxside);
	return (int)d;
}

/*
 * gauss_row fills g[0..size) with a Gaussian that sums to 1.  The samples
 * sit at integer offsets from the centre (size - 1) / 2, which for an even
 * size lies between two samples: offsets +-0.5, +-1.5, ...  The offset is
 * divided by sigma before squaring, so a tiny sigma gives a clean unit
 * impulse instead of 0/0.  A compensated sum makes the row sum to 1 within
 * an ulp or so; a plain one drifts by up to size ulps, and the centre fix
 * in kern_gen_gaussian would then be large enough against a wide
 * Gaussian's small centre to lift the rank.
 */
static void gauss_row(double sigma, int size, double *g)
{
	double d, sum;
	int i;

	for (i = 0; i < size; i++) {
		d = (i - (size - 1) / 2.0) / sigma;
		g[i] = exp(-0.5 * d * d);
	}
	sum = kern_sum_of(g, (size_t)size);
	for (i = 0; i < size; i++)
		g[i] /= sum;
}

/*
 * im_row fills g[0..size) with the Gaussian ImageMagick blurs with: each
 * weight the sum of the curve at the tap and a third of a pixel either
 * side (its blur kernel is sampled three times a pixel), normalised.
 * Against point samples this moves a sigma-1 centre weight by 3.5%.
 */
static void im_row(double sigma, int size, double *g)
{
	double d, sum;
	int i, o;

	for (i = 0; i < size; i++) {
		g[i] = 0;
		for (o = -1; o <= 1; o++) {
			d = (i - (size - 1) / 2.0 + o / 3.0) / sigma;
			g[i] += exp(-0.5 * d * d);
		}
	}
	sum = kern_sum_of(g, (size_t)size);
	for (i = 0; i < size; i++)
		g[i] /= sum;
}

/*
 * gauss_2d allocates k as the size x size outer product of the row row()
 * makes with itself, so it stays separable to the last bit that matters
 * (kern_rank says 1).  The products sum to 1 within a few units in the
 * last place; the centre weight, the largest, takes up the difference so
 * that the sum is 1 exactly in double.  Two rounds nearly always settle it.
 */
static int gauss_2d(double sigma, int size, void (*row)(double, int, double *),
		    struct kernel *k, struct err *err)
{
	double *g, s;
	int x, y, c, i;

	if (kern_alloc(k, size, size, 1, err))
		return -1;
	g = malloc((size_t)size * sizeof *g);
	if (g == NULL) {
		kern_free(k);
		return err_oom(err, "gaussian");
	}
	row(sigma, size, g);
	for (y = 0; y < size; y++)
		for (x = 0; x < size; x++)
			k->m[(size_t)y * size + x] = g[y] * g[x];
	free(g);
	c = (size / 2) * size + size / 2;
	for (i = 0; i < 4; i++) {
		s = kern_sum(k, 0);
		if (s == 1.0)
			break;
		k->m[c] += 1.0 - s;
	}
	return 0;
}

int kern_gen_gaussian(double sigma, int size, struct kernel *k, struct err *err)
{
	int maxside = max_square_side();

	memset(k, 0, sizeof *k);
	if (check_sigma("gaussian", sigma, err))
		return -1;
	if (size < 0)
		return err_set(err, ERR_DATA, "gaussian:%g,%d: size must be at "
			       "least 1", sigma, size);
	if (size == 0 && (size = auto_size("gaussian", sigma, 3, err)) < 0)
		return -1;
	if (size > maxside)
		return err_set(err, ERR_DATA, "gaussian:%g,%d: size is over the "
			       "limit of %d", sigma, size, maxside);
	if (gauss_2d(sigma, size, gauss_row, k, err))
		return -1;
	strcpy(k->name, "gaussian");
	snprintf(k->desc, sizeof k->desc, "Gaussian blur, sigma %g, %dx%d",
		 sigma, size, size);
	return 0;
}

int kern_gen_box(int w, int h, struct kernel *k, struct err *err)
{
	size_t i, count;

	memset(k, 0, sizeof *k);
	if (w < 1 || h < 1 || w > KERN_MAX_SIDE || h > KERN_MAX_SIDE)
		return err_set(err, ERR_DATA, "box:%dx%d: width and height must "
			       "be from 1 to %d", w, h, KERN_MAX_SIDE);
	if ((long)w * h > KERN_MAX_ELEMS)
		return err_set(err, ERR_DATA, "box:%dx%d: more than %ld weights",
			       w, h, (long)KERN_MAX_ELEMS);
	if (kern_alloc(k, w, h, 1, err))
		return -1;
	count = (size_t)w * h;
	for (i = 0; i < count; i++)
		k->m[i] = 1;
	/* Scale auto: the sum, so the box is the mean of its neighbourhood. */
	k->scale[0] = (double)count;
	strcpy(k->name, "box");
	snprintf(k->desc, sizeof k->desc, "Box blur, the mean of %dx%d", w, h);
	return 0;
}

/*
 * im_width is the side ImageMagick gives a Gaussian blur when its radius is
 * 0 ("a suitable radius"): odd sides from 3 up, the largest whose outermost
 * weight, relative to the row's sum, is still at least 1/65535 (one level
 * of a 16-bit quantum, as Debian's ImageMagick Q16 has it).
 */
static int im_width(double sigma)
{
	int width, j, i, maxside = max_square_side();
	double sum, last;

	for (width = 5; width <= maxside; width += 2) {
		j = (width - 1) / 2;
		sum = 0;
		for (i = -j; i <= j; i++)
			sum += exp(-0.5 * (i / sigma) * (i / sigma));
		last = exp(-0.5 * (j / sigma) * (j / sigma)) / sum;
		if (last < 1.0 / 65535)
			break;
	}
	return width - 2;
}

/*
 * Unsharp masking as ImageMagick's -unsharp 0xSIGMA+AMOUNT+0 computes it:
 * out = in + amount (in - blur), blur the Gaussian of sigma at
 * ImageMagick's automatic radius, sampled as ImageMagick samples it.  That is one linear kernel,
 * (1 + amount) delta - amount G, whose sum is 1, so flat areas keep their
 * value.  (ImageMagick's threshold, which skips pixels whose difference is
 * small, is not linear; kernel_spec.c refuses a non-zero one.)
 */
int kern_gen_unsharp(double sigma, double amount, struct kernel *k, struct err *err)
{
	size_t i;
	int size, c;

	memset(k, 0, sizeof *k);
	if (check_sigma("unsharp", sigma, err))
		return -1;
	if (!isfinite(amount) || amount < 0 || amount > 1000)
		return err_set(err, ERR_DATA, "unsharp:%g,%g: amount must be from 0 "
			       "to 1000", sigma, amount);
	size = im_width(sigma);
	if (size > max_square_side() - 2)
		return err_set(err, ERR_DATA, "unsharp:%g: sigma is too large for "
			       "the kernel size limit", sigma);
	if (gauss_2d(sigma, size, im_row, k, err))
		return -1;
	c = (size / 2) * size + size / 2;
	for (i = 0; i < (size_t)size * size; i++)
		k->m[i] *= -amount;
	k->m[c] += 1 + amount;
	strcpy(k->name, "unsharp");
	snprintf(k->desc, sizeof k->desc, "Unsharp mask, sigma %g, amount %g, %dx%d "
		 "(ImageMagick -unsharp 0x%g+%g+0)", sigma, amount, size, size, sigma, amount);
	return 0;
}

/*
 * The Laplacian of the Gaussian, d2G/dx2 + d2G/dy2, sampled at integer
 * offsets out to 4 sigma (at 3 sigma its tail is still 4% of the centre):
 * -(1 - r^2 / 2s^2) exp(-r^2 / 2s^2) / (pi s^4).  The centre is negative,
 * as the discrete Laplacian's (kernels/edge) and MATLAB's fspecial('log').
 * The samples' mean is subtracted, so the weights sum to 0 and flat areas
 * give 0, as the continuous operator does.
 */
int kern_gen_log(double sigma, struct kernel *k, struct err *err)
{
	double d2, s2, mean;
	size_t i, count;
	int size, x, y;

	memset(k, 0, sizeof *k);
	if (check_sigma("log", sigma, err) ||
	    (size = auto_size("log", sigma, 4, err)) < 0 ||
	    kern_alloc(k, size, size, 1, err))
		return -1;
	s2 = sigma * sigma;
	for (y = 0; y < size; y++)
		for (x = 0; x < size; x++) {
			d2 = ((x - size / 2) * (double)(x - size / 2) +
			      (y - size / 2) * (double)(y - size / 2)) / (2 * s2);
			k->m[(size_t)y * size + x] = -(1 - d2) * exp(-d2) / (PI * s2 * s2);
		}
	count = (size_t)size * size;
	mean = kern_sum_of(k->m, count) / (double)count;
	for (i = 0; i < count; i++)
		k->m[i] -= mean;
	strcpy(k->name, "log");
	snprintf(k->desc, sizeof k->desc, "Laplacian of Gaussian, sigma %g, %dx%d, "
		 "sum 0", sigma, size, size);
	return 0;
}

/*
 * The difference of Gaussians G(s1) - G(s2), both of the side the wider
 * needs (2 ceil(3 max(s1, s2)) + 1) and each normalised to sum 1 there,
 * so the difference sums to 0.  With s1 < s2 it is a band-pass whose
 * centre is positive (an approximation of -LoG); s1 == s2 is refused.
 */
int kern_gen_dog(double s1, double s2, struct kernel *k, struct err *err)
{
	struct kernel g2;
	size_t i, count;
	int size;

	memset(k, 0, sizeof *k);
	if (check_sigma("dog", s1, err) || check_sigma("dog", s2, err))
		return -1;
	if (s1 == s2)
		return err_set(err, ERR_DATA, "dog:%g,%g: the two sigmas must differ", s1, s2);
	if ((size = auto_size("dog", s1 > s2 ? s1 : s2, 3, err)) < 0 ||
	    gauss_2d(s1, size, gauss_row, k, err))
		return -1;
	if (gauss_2d(s2, size, gauss_row, &g2, err)) {
		kern_free(k);
		return -1;
	}
	count = (size_t)size * size;
	for (i = 0; i < count; i++)
		k->m[i] -= g2.m[i];
	kern_free(&g2);
	strcpy(k->name, "dog");
	snprintf(k->desc, sizeof k->desc, "Difference of Gaussians, sigma %g minus "
		 "sigma %g, %dx%d, sum 0", s1, s2, size, size);
	return 0;
}

/* ---- Parsing a generator spec ------------------------------------------- */

/* whole parses all of s[0..len) as a decimal integer from 1 to max, or -1. */
static long whole(const char *s, size_t len, long max)
{
	char buf[16], *end;
	size_t i;
	long v;

	if (len == 0 || len >= sizeof buf)
		return -1;
	for (i = 0; i < len; i++)
		if (s[i] < '0' || s[i] > '9')
			return -1;
	memcpy(buf, s, len);
	buf[len] = '\0';
	errno = 0;
	v = strtol(buf, &end, 10);
	if (errno != 0 || end != buf + len || v < 1 || v > max)
		return -1;
	return v;
}

/* gaussian parses "SIGMA[,SIZE]", the part of "gaussian:SIGMA[,SIZE]". */
static int gaussian(const char *spec, const char *arg, struct kernel *k,
		    struct err *err)
{
	const char *comma = strchr(arg, ',');
	size_t n = comma ? (size_t)(comma - arg) : strlen(arg);
	char q[64], why[160];
	double sigma;
	long size = 0;

	kern_quote(q, sizeof q, spec, strlen(spec));
	if (kern_number(arg, n, &sigma, why, sizeof why))
		return err_set(err, ERR_DATA, "%s: sigma: %s (expected "
			       "gaussian:SIGMA[,SIZE])", q, why);
	if (!(sigma > 0))
		return err_set(err, ERR_DATA, "%s: sigma must be greater than 0", q);
	if (comma && (size = whole(comma + 1, strlen(comma + 1), KERN_MAX_SIDE)) < 0)
		return err_set(err, ERR_DATA, "%s: size must be an integer from 1 "
			       "to %d (expected gaussian:SIGMA[,SIZE])", q,
			       KERN_MAX_SIDE);
	return kern_gen_gaussian(sigma, (int)size, k, err);
}

/* box parses "N" or "WxH", the part of "box:N" or "box:WxH". */
static int box(const char *spec, const char *arg, struct kernel *k,
	       struct err *err)
{
	const char *x = strchr(arg, 'x');
	long w, h;
	char q[64];

	if (x != NULL) {
		w = whole(arg, (size_t)(x - arg), KERN_MAX_SIDE);
		h = whole(x + 1, strlen(x + 1), KERN_MAX_SIDE);
	} else {
		w = h = whole(arg, strlen(arg), KERN_MAX_SIDE);
	}
	if (w < 0 || h < 0) {
		kern_quote(q, sizeof q, spec, strlen(spec));
		return err_set(err, ERR_DATA, "%s: expected box:N or box:WxH with "
			       "sides from 1 to %d", q, KERN_MAX_SIDE);
	}
	return kern_gen_box((int)w, (int)h, k, err);
}

/*
 * numbers parses arg, "V[,V...]", into v[0..max), each a number greater
 * than 0 (or at least 0 from index nonneg on).  It returns how many, or -1
 * with a message naming spec and its usage.
 */
static int numbers(const char *spec, const char *arg, const char *usage, double *v,
		   int min, int max, int nonneg, struct err *err)
{
	const char *p = arg, *comma;
	char q[64], why[160];
	size_t n;
	int count = 0;

	kern_quote(q, sizeof q, spec, strlen(spec));
	for (;;) {
		comma = strchr(p, ',');
		n = comma ? (size_t)(comma - p) : strlen(p);
		if (count == max)
			return err_set(err, ERR_DATA, "%s: too many numbers (expected %s)",
				       q, usage);
		if (kern_number(p, n, &v[count], why, sizeof why))
			return err_set(err, ERR_DATA, "%s: %s (expected %s)", q, why, usage);
		if (count < nonneg ? !(v[count] > 0) : !(v[count] >= 0))
			return err_set(err, ERR_DATA, "%s: %s must be %s 0 (expected %s)",
				       q, count < nonneg ? "sigma" : "each number",
				       count < nonneg ? "greater than" : "at least", usage);
		count++;
		if (comma == NULL)
			break;
		p = comma + 1;
	}
	if (count < min)
		return err_set(err, ERR_DATA, "%s: too few numbers (expected %s)", q, usage);
	return count;
}

/*
 * unsharp parses "SIGMA[,AMOUNT[,THRESHOLD]]" with ImageMagick's meaning
 * (-unsharp 0xSIGMA+AMOUNT+THRESHOLD; amount 1 when not given).  A
 * threshold leaves pixels whose difference from the blur is under it
 * unchanged, which no kernel can do, so only 0 is taken.
 */
static int unsharp(const char *spec, const char *arg, struct kernel *k,
		   struct err *err)
{
	static const char usage[] = "unsharp:SIGMA[,AMOUNT[,THRESHOLD]]";
	double v[3] = { 0, 1, 0 };
	char q[64];
	int n = numbers(spec, arg, usage, v, 1, 3, 1, err);

	if (n < 0)
		return -1;
	if (v[2] != 0) {
		kern_quote(q, sizeof q, spec, strlen(spec));
		return err_set(err, ERR_DATA, "%s: a threshold is not linear, so no "
			       "kernel applies it; give 0 or leave it out (ImageMagick's "
			       "-unsharp 0x%g+%g+0)", q, v[0], v[1]);
	}
	return kern_gen_unsharp(v[0], v[1], k, err);
}

static int log_gen(const char *spec, const char *arg, struct kernel *k,
		   struct err *err)
{
	double v[1];

	if (numbers(spec, arg, "log:SIGMA", v, 1, 1, 1, err) < 0)
		return -1;
	return kern_gen_log(v[0], k, err);
}

static int dog(const char *spec, const char *arg, struct kernel *k,
	       struct err *err)
{
	double v[2];

	if (numbers(spec, arg, "dog:SIGMA1,SIGMA2", v, 2, 2, 2, err) < 0)
		return -1;
	return kern_gen_dog(v[0], v[1], k, err);
}

static int starts_with(const char *s, const char *prefix)
{
	return strncmp(s, prefix, strlen(prefix)) == 0;
}

int kern_gen_spec(const char *spec, struct kernel *k, struct err *err)
{
	static const struct {
		const char *prefix;
		int (*parse)(const char *spec, const char *arg, struct kernel *k, struct err *err);
	} gens[] = {
		{ "gaussian:", gaussian }, { "box:", box }, { "unsharp:", unsharp },
		{ "log:", log_gen }, { "dog:", dog },
	};
	size_t i;

	for (i = 0; i < sizeof gens / sizeof gens[0]; i++)
		if (starts_with(spec, gens[i].prefix))
			return gens[i].parse(spec, spec + strlen(gens[i].prefix), k, err);
	return 1;
}

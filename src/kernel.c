/*
 * kernel.c: struct kernel, the parsers for kernel files (our format and
 * libvips matrix files) and inline matrices, and a matrix's properties.
 */
#include "kernel.h"

#include <errno.h>
#include <float.h>
#include <limits.h>
#include <locale.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "size.h"

/* Longest number token; longer ones are refused rather than truncated. */
#define NUM_MAX 100

/* A matrix sum this small against the sum of |weights| is rounding noise. */
#define ZERO_SUM_TOL 1e-12

/* ---- Lifecycle ---------------------------------------------------------- */

int kern_alloc(struct kernel *k, int w, int h, int n, struct err *err)
{
	size_t count;
	int b;

	memset(k, 0, sizeof *k);
	if (w < 1 || h < 1 || n < 1 || w > KERN_MAX_SIDE || h > KERN_MAX_SIDE ||
	    n > KERN_MAX_BANK || (long)w * h > KERN_MAX_ELEMS)
		return err_set(err, ERR_SOFTWARE, "kern_alloc: bad size %dx%d x %d",
			       w, h, n);
	if (size_mul3(&count, (size_t)w, (size_t)h, (size_t)n))
		return err_oom(err, "kernel");
	k->m = calloc(count, sizeof *k->m);
	k->scale = malloc((size_t)n * sizeof *k->scale);
	if (k->m == NULL || k->scale == NULL) {
		kern_free(k);
		return err_oom(err, "kernel");
	}
	for (b = 0; b < n; b++)
		k->scale[b] = 1;
	k->w = w;
	k->h = h;
	k->n = n;
	k->ox = w / 2;
	k->oy = h / 2;
	k->combine = KERN_SUM;
	return 0;
}

void kern_free(struct kernel *k)
{
	free(k->m);
	free(k->scale);
	free(k->biases);
	memset(k, 0, sizeof *k);
}

int kern_dilate(const struct kernel *k, int dx, int dy, struct kernel *out, struct err *err)
{
	long w = (long)(k->w - 1) * dx + 1, h = (long)(k->h - 1) * dy + 1;
	int b, y, x, nk = k->nin > 0 ? k->n / k->nin : 0;

	memset(out, 0, sizeof *out);
	if (w > KERN_MAX_SIDE || h > KERN_MAX_SIDE || w * h > KERN_MAX_ELEMS)
		return err_set(err, ERR_USAGE, "--dilation %d,%d: kernel %s would be %ldx%ld, "
			       "over the limit of %d a side and %ld weights", dx, dy, k->name,
			       w, h, KERN_MAX_SIDE, (long)KERN_MAX_ELEMS);
	if (kern_alloc(out, (int)w, (int)h, k->n, err))
		return -1;
	if (nk > 0 && (out->biases = malloc((size_t)nk * sizeof *out->biases)) == NULL) {
		kern_free(out);
		return err_oom(err, k->name);
	}
	memcpy(out->name, k->name, sizeof out->name);
	memcpy(out->desc, k->desc, sizeof out->desc);
	out->ox = k->ox * dx;
	out->oy = k->oy * dy;
	out->combine = k->combine;
	out->bias = k->bias;
	out->nin = k->nin;
	out->combined = k->combined;
	if (nk > 0)
		memcpy(out->biases, k->biases, (size_t)nk * sizeof *out->biases);
	memcpy(out->scale, k->scale, (size_t)k->n * sizeof *out->scale);
	for (b = 0; b < k->n; b++)
		for (y = 0; y < k->h; y++)
			for (x = 0; x < k->w; x++)
				out->m[((size_t)b * h + (size_t)y * dy) * w + (size_t)x * dx] =
					k->m[((size_t)b * k->h + y) * k->w + x];
	return 0;
}

/* ---- Sums and scale ----------------------------------------------------- */

/*
 * kern_sum_of adds with Neumaier's compensation, so that a kernel whose
 * weights cancel (an edge detector written with fractions) sums to 0 or
 * very near, and a normalised Gaussian's sum can be checked against 1.
 */
double kern_sum_of(const double *m, size_t count)
{
	double s = 0, c = 0, t;
	size_t i;

	for (i = 0; i < count; i++) {
		t = s + m[i];
		if (fabs(s) >= fabs(m[i]))
			c += (s - t) + m[i];
		else
			c += (m[i] - t) + s;
		s = t;
	}
	return s + c;
}

/*
 * sum_is_zero treats a sum that is rounding noise against the weights'
 * magnitudes as 0, so "scale auto" never divides by 1e-17.
 */
static int sum_is_zero(const double *m, size_t count)
{
	double abs = 0;
	size_t i;

	for (i = 0; i < count; i++)
		abs += fabs(m[i]);
	return fabs(kern_sum_of(m, count)) <= ZERO_SUM_TOL * abs;
}

/* auto_scale is what "scale auto" means: the sum, or 1 when it is 0. */
static double auto_scale(const double *m, size_t count)
{
	return sum_is_zero(m, count) ? 1.0 : kern_sum_of(m, count);
}

static const double *matrix(const struct kernel *k, int b)
{
	return k->m + (size_t)b * k->h * k->w;
}

double kern_sum(const struct kernel *k, int b)
{
	return kern_sum_of(matrix(k, b), (size_t)k->w * k->h);
}

void kern_set_scale(struct kernel *k, double scale, int autoscale)
{
	int b, per = k->nin > 0 ? k->nin : 1;

	for (b = 0; b < k->n; b++)
		k->scale[b] = autoscale ?
			auto_scale(matrix(k, b - b % per), (size_t)k->w * k->h * per) : scale;
}

void kern_set_bias(struct kernel *k, double bias)
{
	int b;

	k->bias = bias;
	for (b = 0; k->nin > 0 && b < k->n / k->nin; b++)
		k->biases[b] = bias;
}

void kern_anchor_before(struct kernel *k)
{
	if (k->ox == k->w / 2)
		k->ox = (k->w - 1) / 2;
	if (k->oy == k->h / 2)
		k->oy = (k->h - 1) / 2;
}

/* ---- Rank ---------------------------------------------------------------- */

/*
 * rank_upto runs Gaussian elimination with full pivoting on a copy of the
 * h x w matrix src and stops after limit steps.  Each step picks the largest
 * remaining entry as the pivot; once that is at most 1e-9 of the largest
 * weight, what remains is rounding noise and the rank is the step count.
 */
static int rank_upto(const double *src, int w, int h, int limit)
{
	double *a, big = 0, piv, f, t;
	size_t count = (size_t)w * h;
	int r, i, j, pi, pj;

	for (i = 0; (size_t)i < count; i++)
		if (fabs(src[i]) > big)
			big = fabs(src[i]);
	if (big == 0)
		return 0;
	a = malloc(count * sizeof *a);
	if (a == NULL)
		return -1;
	memcpy(a, src, count * sizeof *a);
	for (r = 0; r < limit && r < w && r < h; r++) {
		pi = pj = r;
		for (i = r; i < h; i++)
			for (j = r; j < w; j++)
				if (fabs(a[(size_t)i * w + j]) > fabs(a[(size_t)pi * w + pj])) {
					pi = i;
					pj = j;
				}
		if (fabs(a[(size_t)pi * w + pj]) <= 1e-9 * big)
			break;
		for (j = 0; j < w; j++) {
			t = a[(size_t)r * w + j];
			a[(size_t)r * w + j] = a[(size_t)pi * w + j];
			a[(size_t)pi * w + j] = t;
		}
		for (i = 0; i < h; i++) {
			t = a[(size_t)i * w + r];
			a[(size_t)i * w + r] = a[(size_t)i * w + pj];
			a[(size_t)i * w + pj] = t;
		}
		piv = a[(size_t)r * w + r];
		for (i = r + 1; i < h; i++) {
			f = a[(size_t)i * w + r] / piv;
			for (j = r; j < w; j++)
				a[(size_t)i * w + j] -= f * a[(size_t)r * w + j];
		}
	}
	free(a);
	return r;
}

int kern_rank(const struct kernel *k, int b)
{
	return rank_upto(matrix(k, b), k->w, k->h, INT_MAX);
}

int kern_separable(const struct kernel *k, int b)
{
	int r = rank_upto(matrix(k, b), k->w, k->h, 2);

	return r < 0 ? -1 : r == 1;
}

/* ---- Numbers ------------------------------------------------------------- */

static int is_digit(int c)
{
	return c >= '0' && c <= '9';
}

static int is_alpha(int c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

int kern_valid_name(const char *s, size_t len)
{
	size_t i;

	if (len < 1 || len > 63)
		return 0;
	for (i = 0; i < len; i++)
		if (!is_alpha((unsigned char)s[i]) && !is_digit(s[i]) &&
		    s[i] != '.' && s[i] != '_' && s[i] != '-')
			return 0;
	return 1;
}

void kern_quote(char *dst, size_t size, const char *s, size_t len)
{
	static const char hex[] = "0123456789abcdef";
	size_t i, o = 0, shown = len;
	unsigned char c;

	if (size < 12) {
		if (size > 0)
			dst[0] = '\0';
		return;
	}
	/* Shorten long tokens without splitting a UTF-8 sequence. */
	if (shown > 40) {
		shown = 40;
		while (shown > 0 && ((unsigned char)s[shown] & 0xc0) == 0x80)
			shown--;
	}
	dst[o++] = '"';
	for (i = 0; i < shown && o + 9 < size; i++) {
		c = (unsigned char)s[i];
		if (c < 0x20 || c == 0x7f) {
			dst[o++] = '\\';
			dst[o++] = 'x';
			dst[o++] = hex[c >> 4];
			dst[o++] = hex[c & 15];
		} else {
			dst[o++] = (char)c;
		}
	}
	if (i < len) {
		memcpy(dst + o, "...", 3);
		o += 3;
	}
	dst[o++] = '"';
	dst[o] = '\0';
}

/*
 * is_decimal says whether s[0..len) is exactly [+-]digits[.digits][e[+-]digits]
 * with at least one mantissa digit.  strtod alone would also take "inf",
 * "nan", "0x1p3" and leading spaces, which a kernel file must not contain.
 */
static int is_decimal(const char *s, size_t len)
{
	size_t i = 0, digits = 0;

	if (i < len && (s[i] == '+' || s[i] == '-'))
		i++;
	for (; i < len && is_digit(s[i]); i++)
		digits++;
	if (i < len && s[i] == '.')
		for (i++; i < len && is_digit(s[i]); i++)
			digits++;
	if (digits == 0)
		return 0;
	if (i < len && (s[i] == 'e' || s[i] == 'E')) {
		i++;
		if (i < len && (s[i] == '+' || s[i] == '-'))
			i++;
		if (i == len || !is_digit(s[i]))
			return 0;
		while (i < len && is_digit(s[i]))
			i++;
	}
	return i == len;
}

/* same_ci compares s[0..len) with the lower-case word, ignoring ASCII case. */
static int same_ci(const char *s, size_t len, const char *word)
{
	size_t i;

	if (len != strlen(word))
		return 0;
	for (i = 0; i < len; i++)
		if ((s[i] | 0x20) != word[i])
			return 0;
	return 1;
}

/* is_nonfinite recognises the spellings of NaN and infinity strtod knows. */
static int is_nonfinite(const char *s, size_t len)
{
	if (len > 0 && (s[0] == '+' || s[0] == '-')) {
		s++;
		len--;
	}
	return same_ci(s, len, "nan") || same_ci(s, len, "inf") ||
	       same_ci(s, len, "infinity") ||
	       (len > 4 && same_ci(s, 4, "nan(") && s[len - 1] == ')');
}

/*
 * decimal_value converts a token is_decimal accepted.  The file format uses
 * '.', whatever LC_NUMERIC the program runs under, so the point is swapped
 * for the locale's before strtod sees it.
 */
static int decimal_value(const char *s, size_t len, double *v)
{
	const char *dp = localeconv()->decimal_point;
	size_t dplen = strlen(dp), i, o = 0;
	char buf[NUM_MAX * 4 + 1], *end;

	if (dplen == 0 || dplen > 4) {
		dp = ".";
		dplen = 1;
	}
	for (i = 0; i < len; i++) {
		if (s[i] == '.') {
			memcpy(buf + o, dp, dplen);
			o += dplen;
		} else {
			buf[o++] = s[i];
		}
	}
	buf[o] = '\0';
	errno = 0;
	*v = strtod(buf, &end);
	if (end != buf + o)
		return -1;
	/* Overflow is an error; underflow to 0 or a subnormal is a fine weight. */
	if ((errno == ERANGE && fabs(*v) > 1) || !isfinite(*v) || fabs(*v) > FLT_MAX)
		return -1;
	return 0;
}

int kern_number(const char *s, size_t len, double *v, char *why, size_t whysz)
{
	const char *slash = memchr(s, '/', len), *what = NULL;
	size_t nlen = slash ? (size_t)(slash - s) : len;
	double num = 0, den = 1;   /* a plain number is num / 1, exactly */
	char q[64];

	if (len > NUM_MAX)
		what = "number too long:";
	else if (!is_decimal(s, nlen) ||
		 (slash && !is_decimal(slash + 1, len - nlen - 1)))
		what = is_nonfinite(s, len) ? "not a finite number:" :
					      "expected a number, found";
	else if (decimal_value(s, nlen, &num) ||
		 (slash && decimal_value(slash + 1, len - nlen - 1, &den)))
		what = "number out of range:";
	else if (den == 0)
		what = "division by zero in";
	else if (!isfinite(num / den) || fabs(num / den) > FLT_MAX)
		what = "number out of range:";
	if (what != NULL) {
		kern_quote(q, sizeof q, s, len);
		snprintf(why, whysz, "%s %s", what, q);
		return -1;
	}
	*v = num / den;
	return 0;
}

/* ---- Lines and tokens ---------------------------------------------------- */

/* A cursor over the lines of a text. */
struct lines {
	const char *s, *end;
	long no;             /* number of the line last returned, 1-based */
};

/*
 * One line without its line end and its comment, and a tokenizer position.
 * Tokens are separated by spaces, tabs and commas.  A comma right after
 * another, or before the first token, becomes a token of its own so that it
 * is reported ('expected a number, found ","') rather than silently taken
 * for an empty value; one trailing comma is fine.
 */
struct line {
	const char *s;
	size_t len, pos;
	long no;
	int ntok, comma;
	int nl_is_space;     /* inline specs may span lines */
};

struct tok {
	const char *s;
	size_t len;
	long col;            /* 1-based */
};

static void lines_init(struct lines *L, const char *text, size_t len)
{
	/* A UTF-8 byte-order mark is not part of line 1's columns. */
	if (len >= 3 && memcmp(text, "\xef\xbb\xbf", 3) == 0) {
		text += 3;
		len -= 3;
	}
	L->s = text;
	L->end = text + len;
	L->no = 0;
}

static int lines_next(struct lines *L, struct line *ln)
{
	const char *nl, *hash;

	if (L->s >= L->end)
		return 0;
	nl = memchr(L->s, '\n', (size_t)(L->end - L->s));
	memset(ln, 0, sizeof *ln);
	ln->s = L->s;
	ln->len = (size_t)((nl ? nl : L->end) - L->s);
	if (ln->len > 0 && ln->s[ln->len - 1] == '\r')
		ln->len--;
	hash = memchr(ln->s, '#', ln->len);
	if (hash)
		ln->len = (size_t)(hash - ln->s);
	ln->no = ++L->no;
	L->s = nl ? nl + 1 : L->end;
	return 1;
}

static int is_space(const struct line *ln, char c)
{
	return c == ' ' || c == '\t' ||
	       (ln->nl_is_space && (c == '\n' || c == '\r'));
}

static int tok_next(struct line *ln, struct tok *t)
{
	size_t start;

	for (;;) {
		while (ln->pos < ln->len && is_space(ln, ln->s[ln->pos]))
			ln->pos++;
		if (ln->pos == ln->len)
			return 0;
		if (ln->s[ln->pos] != ',' || ln->comma || ln->ntok == 0)
			break;
		ln->comma = 1;
		ln->pos++;
	}
	start = ln->pos;
	if (ln->s[ln->pos] == ',')
		ln->pos++;
	else
		while (ln->pos < ln->len && ln->s[ln->pos] != ',' &&
		       !is_space(ln, ln->s[ln->pos]))
			ln->pos++;
	t->s = ln->s + start;
	t->len = ln->pos - start;
	t->col = (long)start + 1;
	ln->ntok++;
	ln->comma = 0;
	return 1;
}

/* count_rest counts t and the tokens after it on the line. */
static int count_rest(struct line *ln)
{
	struct tok t;
	int n = 1;

	while (tok_next(ln, &t))
		n++;
	return n;
}

static int tok_is(const struct tok *t, const char *word)
{
	return t->len == strlen(word) && memcmp(t->s, word, t->len) == 0;
}

/*
 * find_desc copies the first non-empty comment that has a line to itself,
 * without its '#'s and surrounding blanks, cut at a UTF-8 boundary.
 */
static void find_desc(const char *text, size_t len, char *desc, size_t size)
{
	const char *p = text, *end = text + len, *nl, *a, *b;
	size_t n;

	desc[0] = '\0';
	if (len >= 3 && memcmp(text, "\xef\xbb\xbf", 3) == 0)
		p += 3;
	for (; p < end; p = nl ? nl + 1 : end) {
		nl = memchr(p, '\n', (size_t)(end - p));
		b = nl ? nl : end;
		for (a = p; a < b && (*a == ' ' || *a == '\t'); a++)
			;
		if (a == b || *a != '#')
			continue;
		while (a < b && (*a == '#' || *a == ' ' || *a == '\t'))
			a++;
		while (b > a && (b[-1] == ' ' || b[-1] == '\t' || b[-1] == '\r'))
			b--;
		if (a == b)
			continue;
		n = (size_t)(b - a);
		if (n >= size) {
			n = size - 1;
			while (n > 0 && ((unsigned char)a[n] & 0xc0) == 0x80)
				n--;
		}
		memcpy(desc, a, n);
		desc[n] = '\0';
		return;
	}
}

/* ---- The parser ---------------------------------------------------------- */

struct parser {
	const char *fname;
	struct err *err;
	struct kernel *k;            /* header values land here directly */
	double *m;                   /* every matrix's weights, in order */
	size_t nm, cap;
	double scale[KERN_MAX_BANK]; /* of each finished matrix */
	char autos[KERN_MAX_BANK];   /* its scale is "auto" */
	int n;                       /* finished matrices */
	int w, h;                    /* size of the first one */
	/* The matrix being read. */
	int cw, ch;                  /* its row length and rows so far */
	long first_line, first_col;  /* its first number */
	/* Scale in force; it carries over to the following matrices. */
	double cur_scale;
	int cur_auto;
	long scale_line;             /* 0 until this matrix's section sets one */
	/* Where the bank-wide headers were given (0 = not given). */
	long name_line, bias_line, combine_line, origin_line;
	long origin_col[2];
	long sep_line, sep_col;      /* the last "---" */
	/* Cross-channel kernels: "channels N", and each kernel's bias line. */
	int nin;
	long channels_line;
	long bias_sec_line;          /* 0 until this matrix's section sets a bias */
	double kbias[KERN_MAX_BANK];
	long kbias_line[KERN_MAX_BANK];
};

static int perr(struct parser *p, long line, long col, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static int perr(struct parser *p, long line, long col, const char *fmt, ...)
{
	char msg[400];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	return err_set(p->err, ERR_DATA, "%s:%ld:%ld: %s", p->fname,
		       line < 1 ? 1 : line, col < 1 ? 1 : col, msg);
}

static int number(struct parser *p, const struct line *ln, const struct tok *t,
		  double *v)
{
	char why[160];

	if (kern_number(t->s, t->len, v, why, sizeof why))
		return perr(p, ln->no, t->col, "%s", why);
	return 0;
}

/* whole_number parses a token that must be an integer from lo to hi. */
static int whole_number(struct parser *p, const struct line *ln,
			const struct tok *t, const char *what, long lo, long hi,
			int *out)
{
	char q[64];
	double v;

	kern_quote(q, sizeof q, t->s, t->len);
	if (number(p, ln, t, &v))
		return -1;
	if (v != floor(v) || v < (double)lo || v > (double)hi)
		return perr(p, ln->no, t->col, "%s must be an integer from %ld to %ld, found %s",
			    what, lo, hi, q);
	*out = (int)v;
	return 0;
}

static int append(struct parser *p, double v)
{
	size_t cap, bytes;
	double *m;

	if (p->nm == p->cap) {
		cap = p->cap ? p->cap * 2 : 256;
		if (size_mul(&bytes, cap, sizeof *m))
			return err_oom(p->err, p->fname);
		m = realloc(p->m, bytes);
		if (m == NULL)
			return err_oom(p->err, p->fname);
		p->m = m;
		p->cap = cap;
	}
	p->m[p->nm++] = v;
	return 0;
}

/*
 * row reads one matrix row starting at token t.  The first row of a matrix
 * sets its width unless a libvips header already did (p->cw != 0).
 */
static int row(struct parser *p, struct line *ln, struct tok *t)
{
	long end_col = t->col;
	int count = 0;
	double v;

	if (p->ch == 0) {
		if (p->n == KERN_MAX_BANK)
			return perr(p, ln->no, t->col, "more than %d matrices in a bank",
				    KERN_MAX_BANK);
		p->first_line = ln->no;
		p->first_col = t->col;
	}
	if (p->ch == KERN_MAX_SIDE)
		return perr(p, ln->no, t->col, "matrix has more than %d rows", KERN_MAX_SIDE);
	do {
		if (p->cw > 0 && count == p->cw)
			return perr(p, ln->no, t->col, "row has %d numbers, expected %d",
				    count + count_rest(ln), p->cw);
		if (count == KERN_MAX_SIDE)
			return perr(p, ln->no, t->col, "row has more than %d numbers",
				    KERN_MAX_SIDE);
		if (number(p, ln, t, &v) || append(p, v))
			return -1;
		count++;
		end_col = t->col + (long)t->len;
	} while (tok_next(ln, t));
	if (p->cw == 0)
		p->cw = count;
	else if (count < p->cw)
		return perr(p, ln->no, end_col, "row has %d number%s, expected %d",
			    count, count == 1 ? "" : "s", p->cw);
	p->ch++;
	if ((long)p->cw * p->ch > KERN_MAX_ELEMS)
		return perr(p, ln->no, p->first_col,
			    "matrix has more than %ld weights", (long)KERN_MAX_ELEMS);
	return 0;
}

/*
 * end_matrix closes the matrix being read, at a "---" (line, col) or at the
 * end of the file (sep == 0), checks its size against the first one and
 * resolves its scale.
 */
static int end_matrix(struct parser *p, long line, long col, int sep)
{
	size_t count;

	if (p->ch == 0) {
		if (sep)
			return perr(p, line, col, "no matrix before \"---\"");
		if (p->n > 0)
			return perr(p, p->sep_line, p->sep_col, "no matrix after \"---\"");
		return perr(p, line, col, "no matrix");
	}
	if (p->n == 0) {
		p->w = p->cw;
		p->h = p->ch;
	} else if (p->cw != p->w || p->ch != p->h) {
		return perr(p, p->first_line, p->first_col,
			    "matrix %d is %dx%d, but matrix 1 is %dx%d",
			    p->n + 1, p->cw, p->ch, p->w, p->h);
	}
	count = (size_t)p->w * p->h;
	p->scale[p->n] = p->cur_auto ? auto_scale(p->m + p->nm - count, count) :
				       p->cur_scale;
	p->autos[p->n] = (char)p->cur_auto;
	p->n++;
	p->cw = p->ch = 0;
	p->scale_line = 0;
	p->bias_sec_line = 0;
	if (sep) {
		p->sep_line = line;
		p->sep_col = col;
	}
	return 0;
}

/* once refuses a bank-wide header given twice. */
static int once(struct parser *p, const struct line *ln, const struct tok *w,
		long *where)
{
	if (*where)
		return perr(p, ln->no, w->col, "duplicate \"%.*s\" (first on line %ld)",
			    (int)w->len, w->s, *where);
	*where = ln->no;
	return 0;
}

/*
 * bias reads a "bias" line.  An ordinary kernel or bank has one, anywhere
 * before a matrix; a cross-channel kernel may give one before each
 * kernel's first matrix (it carries over to the kernels after it).
 */
static int bias(struct parser *p, const struct line *ln, const struct tok *w,
		const struct tok *v)
{
	double d;

	if (p->nin > 0 && p->n > 0 && p->bias_sec_line)
		return perr(p, ln->no, w->col, "duplicate \"bias\" for one kernel "
			    "(first on line %ld)", p->bias_sec_line);
	if (p->nin > 0 && p->n % p->nin != 0)
		return perr(p, ln->no, w->col, "\"bias\" before matrix %d, channel %d of "
			    "kernel %d: a kernel's bias goes before its first matrix",
			    p->n + 1, p->n % p->nin + 1, p->n / p->nin + 1);
	if (p->nin == 0 || p->n == 0) {
		if (once(p, ln, w, &p->bias_line))
			return -1;
	}
	if (number(p, ln, v, &d))
		return -1;
	p->bias_sec_line = ln->no;
	if (p->n == 0 || p->nin == 0)
		p->k->bias = d;
	p->kbias[p->nin > 0 ? p->n / p->nin : 0] = d;
	p->kbias_line[p->nin > 0 ? p->n / p->nin : 0] = ln->no;
	return 0;
}

/* header handles "name", "scale", "bias", "origin", "combine" and "channels" lines. */
static int header(struct parser *p, struct line *ln, const struct tok *w)
{
	static const char *const combines[] = { "sum", "max", "magnitude", "sumabs" };
	struct tok v, extra;
	char q[64];
	double d;
	int i;

	if (!tok_is(w, "name") && !tok_is(w, "scale") && !tok_is(w, "bias") &&
	    !tok_is(w, "origin") && !tok_is(w, "combine") && !tok_is(w, "channels")) {
		kern_quote(q, sizeof q, w->s, w->len);
		if (p->ch > 0)
			return perr(p, ln->no, w->col, "expected a number, found %s", q);
		return perr(p, ln->no, w->col, "unknown header %s "
			    "(expected name, scale, bias, origin, combine or channels)", q);
	}
	if (p->ch > 0)
		return perr(p, ln->no, w->col, "\"%.*s\" after the rows of a matrix "
			    "(headers come before the rows)", (int)w->len, w->s);
	if (!tok_next(ln, &v))
		return perr(p, ln->no, w->col + (long)w->len + 1,
			    "missing value after \"%.*s\"", (int)w->len, w->s);
	kern_quote(q, sizeof q, v.s, v.len);
	if (tok_is(w, "name")) {
		if (once(p, ln, w, &p->name_line))
			return -1;
		if (!kern_valid_name(v.s, v.len))
			return perr(p, ln->no, v.col, "a name is 1 to 63 of "
				    "A-Z a-z 0-9 . _ -, found %s", q);
		memcpy(p->k->name, v.s, v.len);
		p->k->name[v.len] = '\0';
	} else if (tok_is(w, "scale")) {
		if (p->scale_line)
			return perr(p, ln->no, w->col, "duplicate \"scale\" for one "
				    "matrix (first on line %ld)", p->scale_line);
		p->scale_line = ln->no;
		p->cur_auto = tok_is(&v, "auto");
		if (!p->cur_auto) {
			if (number(p, ln, &v, &d))
				return -1;
			if (d == 0)
				return perr(p, ln->no, v.col, "scale must not be 0");
			p->cur_scale = d;
		}
	} else if (tok_is(w, "bias")) {
		if (bias(p, ln, w, &v))
			return -1;
	} else if (tok_is(w, "channels")) {
		if (once(p, ln, w, &p->channels_line))
			return -1;
		if (p->n > 0)
			return perr(p, ln->no, w->col, "\"channels\" after the first matrix "
				    "(it goes before it)");
		if (whole_number(p, ln, &v, "channels", 1, KERN_MAX_CHANNELS, &p->nin))
			return -1;
	} else if (tok_is(w, "origin")) {
		if (once(p, ln, w, &p->origin_line))
			return -1;
		p->origin_col[0] = v.col;
		if (whole_number(p, ln, &v, "origin column", 0, KERN_MAX_SIDE - 1,
				 &p->k->ox))
			return -1;
		if (!tok_next(ln, &v))
			return perr(p, ln->no, ln->len + 1, "origin needs a column and a row");
		p->origin_col[1] = v.col;
		if (whole_number(p, ln, &v, "origin row", 0, KERN_MAX_SIDE - 1,
				 &p->k->oy))
			return -1;
	} else {
		if (once(p, ln, w, &p->combine_line))
			return -1;
		for (i = 0; i < 4 && !tok_is(&v, combines[i]); i++)
			;
		if (i == 4)
			return perr(p, ln->no, v.col, "unknown combine %s "
				    "(expected sum, max, magnitude or sumabs)", q);
		p->k->combine = (enum kern_combine)i;
	}
	if (tok_next(ln, &extra)) {
		kern_quote(q, sizeof q, extra.s, extra.len);
		return perr(p, ln->no, extra.col, "unexpected %s after \"%.*s\"",
			    q, (int)w->len, w->s);
	}
	return 0;
}

/* parse_ours reads the DESIGN.md format, version 1. */
static int parse_ours(struct parser *p, const char *text, size_t len)
{
	struct lines L;
	struct line ln;
	struct tok t;

	lines_init(&L, text, len);
	while (lines_next(&L, &ln)) {
		if (!tok_next(&ln, &t))
			continue;
		if (tok_is(&t, "---")) {
			struct tok extra;

			if (tok_next(&ln, &extra))
				return perr(p, ln.no, extra.col, "unexpected text after \"---\"");
			if (end_matrix(p, ln.no, t.col, 1))
				return -1;
		} else if (is_alpha((unsigned char)t.s[0]) && !is_nonfinite(t.s, t.len)) {
			if (header(p, &ln, &t))
				return -1;
		} else if (row(p, &ln, &t)) {
			return -1;
		}
	}
	return end_matrix(p, L.no, 1, 0);
}

/* ---- libvips matrix files ------------------------------------------------ */

/*
 * A libvips matrix file is "W H [SCALE [OFFSET]]" on its first line, then H
 * rows of W numbers.  Comments and blank lines, which libvips itself does
 * not allow, are accepted here as in our format.
 */

/* line_numbers counts a line's tokens and says whether all are numbers. */
static int line_numbers(struct line *ln, double *first, int nfirst, int *count)
{
	char why[160];
	struct tok t;
	double v;

	*count = 0;
	while (tok_next(ln, &t)) {
		if (kern_number(t.s, t.len, &v, why, sizeof why))
			return 0;
		if (*count < nfirst)
			first[*count] = v;
		++*count;
	}
	return 1;
}

/*
 * looks_like_vips applies the detection rule for files not named *.mat: the
 * first line holds 2 to 4 numbers, the first two positive integers W and H,
 * and then exactly H rows of W numbers follow.  A first line of W numbers
 * is taken for the first row of an ordinary W-column matrix instead.
 */
static int looks_like_vips(const char *text, size_t len)
{
	struct lines L;
	struct line ln;
	double head[4];
	int count, rows = 0, nhead = 0;
	double w = 0, h = 0;

	lines_init(&L, text, len);
	while (lines_next(&L, &ln)) {
		if (!line_numbers(&ln, head, nhead == 0 ? 4 : 0, &count))
			return 0;
		if (count == 0)
			continue;
		if (nhead == 0) {
			if (count < 2 || count > 4)
				return 0;
			w = head[0];
			h = head[1];
			if (w != floor(w) || h != floor(h) || w < 1 || h < 1 ||
			    w > KERN_MAX_SIDE || h > KERN_MAX_SIDE || count == w)
				return 0;
			nhead = count;
		} else if (count != w || ++rows > h) {
			return 0;
		}
	}
	return nhead > 0 && rows == h;
}

static int parse_vips(struct parser *p, const char *text, size_t len)
{
	static const char *const what[] = { "width", "height" };
	struct lines L;
	struct line ln;
	struct tok t, ht = { 0 };
	long hline = 0;
	double v[4] = { 0, 0, 1, 0 };
	int i, wh[2] = { 0, 0 };

	lines_init(&L, text, len);
	while (lines_next(&L, &ln)) {
		if (!tok_next(&ln, &t))
			continue;
		if (hline == 0) {
			hline = ln.no;
			for (i = 0; i == 0 || tok_next(&ln, &t); i++) {
				if (i == 4)
					return perr(p, ln.no, t.col, "a libvips matrix header is "
						    "\"WIDTH HEIGHT [SCALE [OFFSET]]\"");
				if (i < 2) {
					if (whole_number(p, &ln, &t, what[i], 1, KERN_MAX_SIDE, &wh[i]))
						return -1;
					ht = t;
				} else if (number(p, &ln, &t, &v[i])) {
					return -1;
				}
				if (i == 2 && v[2] == 0)
					return perr(p, ln.no, t.col, "scale must not be 0");
			}
			if (i < 2)
				return perr(p, ln.no, (long)ln.len + 1, "a libvips matrix "
					    "header is \"WIDTH HEIGHT [SCALE [OFFSET]]\"");
			if ((long)wh[0] * wh[1] > KERN_MAX_ELEMS)
				return perr(p, ln.no, 1, "matrix has more than %ld weights",
					    (long)KERN_MAX_ELEMS);
			p->cw = wh[0];
			continue;
		}
		if (p->ch == wh[1])
			return perr(p, ln.no, t.col, "more than %d rows, the height "
				    "the header gives", wh[1]);
		if (row(p, &ln, &t))
			return -1;
	}
	if (hline == 0)
		return perr(p, L.no, 1, "no matrix");
	if (p->ch < wh[1])
		return perr(p, hline, ht.col, "the header gives a height of %d, "
			    "but %d rows follow", wh[1], p->ch);
	p->cur_scale = v[2];
	/*
	 * libvips adds its offset to results in pixel units, 0..255 for the
	 * 8-bit images such files are written for; our bias is in the 0..1
	 * sample range, hence offset / 255.
	 */
	p->k->bias = v[3] / 255.0;
	return end_matrix(p, L.no, 1, 0);
}

/* ---- Entry points -------------------------------------------------------- */

static int ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);

	return n >= m && strcmp(s + n - m, suffix) == 0;
}

/* default_name is the file's base name without ".kernel" or ".mat". */
static void default_name(const char *fname, char *name, size_t size)
{
	const char *base = strrchr(fname, '/');
	size_t n;

	base = base ? base + 1 : fname;
	n = strlen(base);
	if (ends_with(base, ".kernel"))
		n -= strlen(".kernel");
	else if (ends_with(base, ".mat"))
		n -= strlen(".mat");
	if (n >= size)
		n = size - 1;
	memcpy(name, base, n);
	name[n] = '\0';
}

/*
 * channels_resolve finishes a cross-channel kernel: its matrices must make
 * whole kernels, "scale auto" divides by the sum over a kernel's matrices,
 * and each kernel's bias is the last one given at or before it.  Combined,
 * the kernels share one bias, added after combining.
 */
static int channels_resolve(struct parser *p)
{
	size_t per = (size_t)p->w * p->h;
	int b, c, nk = p->n / p->nin;

	if (p->n % p->nin != 0)
		return perr(p, p->channels_line, 1, "%d matri%s make no whole number of "
			    "kernels of %d channels", p->n, p->n == 1 ? "x" : "ces", p->nin);
	for (b = 0; b < nk; b++) {
		double group = auto_scale(p->m + (size_t)b * p->nin * per, per * p->nin);

		for (c = 0; c < p->nin; c++)
			if (p->autos[b * p->nin + c])
				p->scale[b * p->nin + c] = group;
		if (b > 0 && p->kbias_line[b] && p->combine_line)
			return perr(p, p->kbias_line[b], 1, "a bank that says \"combine\" "
				    "has one bias, before its first matrix");
		if (b > 0 && !p->kbias_line[b])
			p->kbias[b] = p->kbias[b - 1];
	}
	return 0;
}

int kern_parse(const char *text, size_t len, const char *fname,
	       struct kernel *k, struct err *err)
{
	struct parser p;
	double *m;
	int rc;

	memset(k, 0, sizeof *k);
	memset(&p, 0, sizeof p);
	p.fname = fname;
	p.err = err;
	p.k = k;
	p.cur_scale = 1;
	if (ends_with(fname, ".mat") || looks_like_vips(text, len))
		rc = parse_vips(&p, text, len);
	else
		rc = parse_ours(&p, text, len);
	if (rc == 0 && p.origin_line && k->ox >= p.w)
		rc = perr(&p, p.origin_line, p.origin_col[0], "origin column %d is "
			  "outside the %dx%d matrix", k->ox, p.w, p.h);
	if (rc == 0 && p.origin_line && k->oy >= p.h)
		rc = perr(&p, p.origin_line, p.origin_col[1], "origin row %d is "
			  "outside the %dx%d matrix", k->oy, p.w, p.h);
	if (rc == 0 && p.nin > 0)
		rc = channels_resolve(&p);
	if (rc == 0) {
		k->scale = malloc((size_t)p.n * sizeof *k->scale);
		if (k->scale == NULL)
			rc = err_oom(err, fname);
	}
	if (rc == 0 && p.nin > 0) {
		k->biases = malloc((size_t)(p.n / p.nin) * sizeof *k->biases);
		if (k->biases == NULL)
			rc = err_oom(err, fname);
		else
			memcpy(k->biases, p.kbias, (size_t)(p.n / p.nin) * sizeof *k->biases);
	}
	if (rc != 0) {
		free(p.m);
		free(k->scale);
		free(k->biases);
		memset(k, 0, sizeof *k);
		return -1;
	}
	memcpy(k->scale, p.scale, (size_t)p.n * sizeof *k->scale);
	k->nin = p.nin;
	k->combined = p.combine_line != 0;
	/* Give back the growth slack; keeping the larger block is fine too. */
	m = realloc(p.m, p.nm * sizeof *m);
	k->m = m ? m : p.m;
	k->w = p.w;
	k->h = p.h;
	k->n = p.n;
	if (!p.origin_line) {
		k->ox = p.w / 2;
		k->oy = p.h / 2;
	}
	if (!p.name_line)
		default_name(fname, k->name, sizeof k->name);
	find_desc(text, len, k->desc, sizeof k->desc);
	return 0;
}

int kern_load(const char *path, struct kernel *k, struct err *err)
{
	struct stat st;
	char *text = NULL, *t;
	size_t len = 0, cap = 0, got;
	FILE *f;
	int e, rc;

	memset(k, 0, sizeof *k);
	f = fopen(path, "rb");
	if (f == NULL) {
		e = errno;
		return err_set(err, ERR_NOINPUT, "%s: %s", path, strerror(e));
	}
	if (fstat(fileno(f), &st) == 0 && S_ISDIR(st.st_mode)) {
		fclose(f);
		return err_set(err, ERR_NOINPUT, "%s: %s", path, strerror(EISDIR));
	}
	for (;;) {
		if (len == cap) {
			if (cap >= (size_t)KERN_MAX_FILE) {
				rc = err_set(err, ERR_DATA, "%s: larger than %ld bytes, "
					     "the limit for a kernel file", path,
					     (long)KERN_MAX_FILE);
				goto out;
			}
			cap = cap ? cap * 2 : 4096;
			t = realloc(text, cap + 1);
			if (t == NULL) {
				rc = err_oom(err, path);
				goto out;
			}
			text = t;
		}
		got = fread(text + len, 1, cap - len, f);
		len += got;
		if (got == 0)
			break;
	}
	if (ferror(f)) {
		e = errno;
		rc = err_set(err, ERR_IO, "%s: %s", path, strerror(e));
		goto out;
	}
	rc = kern_parse(text, len, path, k, err);
out:
	free(text);
	fclose(f);
	return rc;
}

/* ---- Inline matrices ----------------------------------------------------- */

/* digits returns how many ASCII digits s starts with. */
static size_t digits(const char *s)
{
	size_t n = 0;

	while (is_digit(s[n]))
		n++;
	return n;
}

size_t kern_is_inline(const char *spec)
{
	size_t i = 0, d;

	if ((d = digits(spec)) == 0 || spec[d] != 'x')
		return 0;
	i = d + 1;
	if ((d = digits(spec + i)) == 0)
		return 0;
	i += d;
	if (spec[i] == '+') {
		if ((d = digits(spec + i + 1)) == 0 || spec[i + 1 + d] != '+')
			return 0;
		i += 1 + d + 1;
		if ((d = digits(spec + i)) == 0)
			return 0;
		i += d;
	}
	return spec[i] == ':' ? i + 1 : 0;
}

/* inline_int reads the digits at *s (kern_is_inline checked them), capped. */
static long inline_int(const char **s)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(*s, &end, 10);
	*s = end + 1;    /* past the 'x', '+' or ':' */
	return errno == ERANGE || v > INT_MAX ? INT_MAX : v;
}

int kern_parse_inline(const char *spec, struct kernel *k, struct err *err)
{
	char q[64], why[160];
	const char *s = spec;
	long w, h, x = -1, y = -1;
	size_t pre = kern_is_inline(spec), total;
	struct line ln;
	struct tok t;
	int count = 0;
	double v;

	memset(k, 0, sizeof *k);
	kern_quote(q, sizeof q, spec, strlen(spec));
	if (pre == 0)
		return err_set(err, ERR_USAGE, "%s: not an inline matrix "
			       "(expected \"WxH: v v ...\")", q);
	w = inline_int(&s);
	h = inline_int(&s);
	if (memchr(spec, '+', pre)) {
		x = inline_int(&s);
		y = inline_int(&s);
	}
	if (w < 1 || h < 1 || w > KERN_MAX_SIDE || h > KERN_MAX_SIDE)
		return err_set(err, ERR_DATA, "%s: width and height must be "
			       "from 1 to %d", q, KERN_MAX_SIDE);
	if (w * h > KERN_MAX_ELEMS)
		return err_set(err, ERR_DATA, "%s: more than %ld weights",
			       q, (long)KERN_MAX_ELEMS);
	if (x >= w || y >= h)
		return err_set(err, ERR_DATA, "%s: origin %ld,%ld is outside the "
			       "%ldx%ld matrix", q, x, y, w, h);
	if (kern_alloc(k, (int)w, (int)h, 1, err))
		return -1;
	total = (size_t)w * (size_t)h;
	memset(&ln, 0, sizeof ln);
	ln.s = spec + pre;
	ln.len = strlen(ln.s);
	ln.nl_is_space = 1;
	while (tok_next(&ln, &t)) {
		if ((size_t)count == total) {
			count += count_rest(&ln);
			break;
		}
		if (kern_number(t.s, t.len, &v, why, sizeof why)) {
			kern_free(k);
			return err_set(err, ERR_DATA, "%s: value %d: %s", q, count + 1, why);
		}
		k->m[count++] = v;
	}
	if ((size_t)count != total) {
		kern_free(k);
		return err_set(err, ERR_DATA, "%s: %d value%s, expected %zu",
			       q, count, count == 1 ? "" : "s", total);
	}
	if (x >= 0) {
		k->ox = (int)x;
		k->oy = (int)y;
	}
	strcpy(k->name, "inline");
	snprintf(k->desc, sizeof k->desc, "Inline %ldx%ld matrix", w, h);
	return 0;
}

/* ---- Showing a kernel ---------------------------------------------------- */

static const char *combine_name(enum kern_combine c)
{
	switch (c) {
	case KERN_MAX: return "max";
	case KERN_MAGNITUDE: return "magnitude";
	case KERN_SUMABS: return "sumabs";
	default: return "sum";
	}
}

/*
 * show_matrix prints matrix b in right-aligned %g columns, then its sum (0
 * when it is rounding noise), scale, rank and separability.  Adding 0.0
 * turns -0 into 0, which reads better.
 */
static void show_matrix(FILE *out, const struct kernel *k, int b)
{
	const double *m = matrix(k, b);
	size_t count = (size_t)k->w * k->h, i;
	char buf[32];
	int width = 1, n, x, y, rank;
	double sum;

	for (i = 0; i < count; i++) {
		n = snprintf(buf, sizeof buf, "%g", m[i] + 0.0);
		if (n > width)
			width = n;
	}
	for (y = 0; y < k->h; y++) {
		for (x = 0; x < k->w; x++)
			fprintf(out, "  %*g", width, m[(size_t)y * k->w + x] + 0.0);
		fputc('\n', out);
	}
	sum = sum_is_zero(m, count) ? 0.0 : kern_sum_of(m, count);
	rank = kern_rank(k, b);
	fprintf(out, "sum: %g   scale: %g   rank: ", sum, k->scale[b]);
	if (rank < 0)
		fprintf(out, "?   separable: ?\n");
	else
		fprintf(out, "%d   separable: %s\n", rank, rank <= 1 ? "yes" : "no");
}

void kern_show(FILE *out, const struct kernel *k)
{
	int b;

	fprintf(out, "name:     %s\n", k->name);
	if (k->desc[0])
		fprintf(out, "desc:     %s\n", k->desc);
	fprintf(out, "size:     %dx%d\n", k->w, k->h);
	fprintf(out, "origin:   %d %d\n", k->ox, k->oy);
	if (k->nin > 0) {
		fprintf(out, "channels: %d in, %d out (%d kernel%s)\n", k->nin, kern_outputs(k),
			k->n / k->nin, k->n / k->nin > 1 ? "s" : "");
		if (k->combined)
			fprintf(out, "combine:  %s of %d kernels\n", combine_name(k->combine),
				k->n / k->nin);
	} else if (k->n > 1) {
		fprintf(out, "combine:  %s of %d matrices\n", combine_name(k->combine), k->n);
	}
	if (k->nin > 0 && !k->combined) {
		fprintf(out, "bias:    ");
		for (b = 0; b < k->n / k->nin; b++)
			fprintf(out, " %g", k->biases[b] + 0.0);
		fputc('\n', out);
	} else {
		fprintf(out, "bias:     %g\n", k->bias + 0.0);
	}
	for (b = 0; b < k->n; b++) {
		if (k->nin > 0)
			fprintf(out, "\nkernel %d of %d, channel %d of %d:\n", b / k->nin + 1,
				k->n / k->nin, b % k->nin + 1, k->nin);
		else if (k->n > 1)
			fprintf(out, "\nmatrix %d of %d:\n", b + 1, k->n);
		else
			fputc('\n', out);
		show_matrix(out, k, b);
	}
}

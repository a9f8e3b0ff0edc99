/*
 * kernel_file.c: kernel files: our format (DESIGN.md, version 1) and
 * libvips matrix files, parsed into a struct kernel with located errors,
 * and loaded from a path.
 */
#include "kernel.h"
#include "kernel_lex.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "size.h"

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
				    count + klex_count_rest(ln), p->cw);
		if (count == KERN_MAX_SIDE)
			return perr(p, ln->no, t->col, "row has more than %d numbers",
				    KERN_MAX_SIDE);
		if (number(p, ln, t, &v) || append(p, v))
			return -1;
		count++;
		end_col = t->col + (long)t->len;
	} while (klex_tok_next(ln, t));
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
	p->scale[p->n] = p->cur_auto ? kern_auto_scale(p->m + p->nm - count, count) :
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

	if (!klex_tok_is(w, "name") && !klex_tok_is(w, "scale") && !klex_tok_is(w, "bias") &&
	    !klex_tok_is(w, "origin") && !klex_tok_is(w, "combine") && !klex_tok_is(w, "channels")) {
		kern_quote(q, sizeof q, w->s, w->len);
		if (p->ch > 0)
			return perr(p, ln->no, w->col, "expected a number, found %s", q);
		return perr(p, ln->no, w->col, "unknown header %s "
			    "(expected name, scale, bias, origin, combine or channels)", q);
	}
	if (p->ch > 0)
		return perr(p, ln->no, w->col, "\"%.*s\" after the rows of a matrix "
			    "(headers come before the rows)", (int)w->len, w->s);
	if (!klex_tok_next(ln, &v))
		return perr(p, ln->no, w->col + (long)w->len + 1,
			    "missing value after \"%.*s\"", (int)w->len, w->s);
	kern_quote(q, sizeof q, v.s, v.len);
	if (klex_tok_is(w, "name")) {
		if (once(p, ln, w, &p->name_line))
			return -1;
		if (!kern_valid_name(v.s, v.len))
			return perr(p, ln->no, v.col, "a name is 1 to 63 of "
				    "A-Z a-z 0-9 . _ -, found %s", q);
		memcpy(p->k->name, v.s, v.len);
		p->k->name[v.len] = '\0';
	} else if (klex_tok_is(w, "scale")) {
		if (p->scale_line)
			return perr(p, ln->no, w->col, "duplicate \"scale\" for one "
				    "matrix (first on line %ld)", p->scale_line);
		p->scale_line = ln->no;
		p->cur_auto = klex_tok_is(&v, "auto");
		if (!p->cur_auto) {
			if (number(p, ln, &v, &d))
				return -1;
			if (d == 0)
				return perr(p, ln->no, v.col, "scale must not be 0");
			p->cur_scale = d;
		}
	} else if (klex_tok_is(w, "bias")) {
		if (bias(p, ln, w, &v))
			return -1;
	} else if (klex_tok_is(w, "channels")) {
		if (once(p, ln, w, &p->channels_line))
			return -1;
		if (p->n > 0)
			return perr(p, ln->no, w->col, "\"channels\" after the first matrix "
				    "(it goes before it)");
		if (whole_number(p, ln, &v, "channels", 1, KERN_MAX_CHANNELS, &p->nin))
			return -1;
	} else if (klex_tok_is(w, "origin")) {
		if (once(p, ln, w, &p->origin_line))
			return -1;
		p->origin_col[0] = v.col;
		if (whole_number(p, ln, &v, "origin column", 0, KERN_MAX_SIDE - 1,
				 &p->k->ox))
			return -1;
		if (!klex_tok_next(ln, &v))
			return perr(p, ln->no, ln->len + 1, "origin needs a column and a row");
		p->origin_col[1] = v.col;
		if (whole_number(p, ln, &v, "origin row", 0, KERN_MAX_SIDE - 1,
				 &p->k->oy))
			return -1;
	} else {
		if (once(p, ln, w, &p->combine_line))
			return -1;
		for (i = 0; i < 4 && !klex_tok_is(&v, combines[i]); i++)
			;
		if (i == 4)
			return perr(p, ln->no, v.col, "unknown combine %s "
				    "(expected sum, max, magnitude or sumabs)", q);
		p->k->combine = (enum kern_combine)i;
	}
	if (klex_tok_next(ln, &extra)) {
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

	klex_lines_init(&L, text, len);
	while (klex_lines_next(&L, &ln)) {
		if (!klex_tok_next(&ln, &t))
			continue;
		if (klex_tok_is(&t, "---")) {
			struct tok extra;

			if (klex_tok_next(&ln, &extra))
				return perr(p, ln.no, extra.col, "unexpected text after \"---\"");
			if (end_matrix(p, ln.no, t.col, 1))
				return -1;
		} else if (klex_is_alpha((unsigned char)t.s[0]) && !klex_is_nonfinite(t.s, t.len)) {
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
	while (klex_tok_next(ln, &t)) {
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

	klex_lines_init(&L, text, len);
	while (klex_lines_next(&L, &ln)) {
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

	klex_lines_init(&L, text, len);
	while (klex_lines_next(&L, &ln)) {
		if (!klex_tok_next(&ln, &t))
			continue;
		if (hline == 0) {
			hline = ln.no;
			for (i = 0; i == 0 || klex_tok_next(&ln, &t); i++) {
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
		double group = kern_auto_scale(p->m + (size_t)b * p->nin * per, per * p->nin);

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
	klex_find_desc(text, len, k->desc, sizeof k->desc);
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

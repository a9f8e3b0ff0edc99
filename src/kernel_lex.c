/*
 * kernel_lex.c: the kernel parsers' lexing: numbers (decimals and
 * fractions, locale-independent), names, quoting for messages, and lines
 * and tokens (kernel_lex.h).
 */
#include "kernel.h"
#include "kernel_lex.h"

#include <errno.h>
#include <float.h>
#include <locale.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Longest number token; longer ones are refused rather than truncated. */
#define NUM_MAX 100

/* ---- Numbers ------------------------------------------------------------- */

int kern_valid_name(const char *s, size_t len)
{
	size_t i;

	if (len < 1 || len > 63)
		return 0;
	for (i = 0; i < len; i++)
		if (!klex_is_alpha((unsigned char)s[i]) && !klex_is_digit(s[i]) &&
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
	for (; i < len && klex_is_digit(s[i]); i++)
		digits++;
	if (i < len && s[i] == '.')
		for (i++; i < len && klex_is_digit(s[i]); i++)
			digits++;
	if (digits == 0)
		return 0;
	if (i < len && (s[i] == 'e' || s[i] == 'E')) {
		i++;
		if (i < len && (s[i] == '+' || s[i] == '-'))
			i++;
		if (i == len || !klex_is_digit(s[i]))
			return 0;
		while (i < len && klex_is_digit(s[i]))
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

/* klex_is_nonfinite recognises the spellings of NaN and infinity strtod knows. */
int klex_is_nonfinite(const char *s, size_t len)
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
		what = klex_is_nonfinite(s, len) ? "not a finite number:" :
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

void klex_lines_init(struct lines *L, const char *text, size_t len)
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

int klex_lines_next(struct lines *L, struct line *ln)
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

int klex_tok_next(struct line *ln, struct tok *t)
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
int klex_count_rest(struct line *ln)
{
	struct tok t;
	int n = 1;

	while (klex_tok_next(ln, &t))
		n++;
	return n;
}

int klex_tok_is(const struct tok *t, const char *word)
{
	return t->len == strlen(word) && memcmp(t->s, word, t->len) == 0;
}

/*
 * find_desc copies the first non-empty comment that has a line to itself,
 * without its '#'s and surrounding blanks, cut at a UTF-8 boundary.
 */
void klex_find_desc(const char *text, size_t len, char *desc, size_t size)
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

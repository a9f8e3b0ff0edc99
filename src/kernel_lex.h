/*
 * kernel_lex.h: the lexer the kernel parsers share (kernel_lex.c): lines
 * without their comments, tokens, and the file's description.  Private to
 * kernel_file.c and kernel_spec.c; kernel.h is the kernels' public surface.
 */
#ifndef IMF_KERNEL_LEX_H
#define IMF_KERNEL_LEX_H

#include <stddef.h>

static inline int klex_is_digit(int c)
{
	return c >= '0' && c <= '9';
}

static inline int klex_is_alpha(int c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

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

/* klex_lines_init starts a cursor over text, past a UTF-8 byte-order mark. */
void klex_lines_init(struct lines *L, const char *text, size_t len);

/* klex_lines_next gives the next line without its end and comment; 0 at the end. */
int klex_lines_next(struct lines *L, struct line *ln);

/* klex_tok_next gives the line's next token; 0 when there is none. */
int klex_tok_next(struct line *ln, struct tok *t);

/* klex_count_rest counts the token just read and the ones after it. */
int klex_count_rest(struct line *ln);

/* klex_tok_is says whether t is exactly word. */
int klex_tok_is(const struct tok *t, const char *word);

/*
 * klex_find_desc copies the first non-empty comment that has a line to
 * itself, without its '#'s and surrounding blanks, cut at a UTF-8 boundary.
 */
void klex_find_desc(const char *text, size_t len, char *desc, size_t size);

/* klex_is_nonfinite recognises the spellings of NaN and infinity strtod knows. */
int klex_is_nonfinite(const char *s, size_t len);

#endif

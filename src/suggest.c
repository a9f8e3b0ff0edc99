/* suggest.c: edit distance for "did you mean" lines. */
#include "suggest.h"

#include <ctype.h>
#include <string.h>

enum { MAX_LEN = 64, FAR = 9 };

static int lower(char c)
{
	return tolower((unsigned char)c);
}

static int min3(int a, int b, int c)
{
	int m = a < b ? a : b;

	return m < c ? m : c;
}

/*
 * The optimal-string-alignment distance: row d[i][j] is the cost of
 * turning a's first i letters into b's first j.  Words longer than
 * MAX_LEN are never close to anything a user meant.
 */
int suggest_distance(const char *a, size_t alen, const char *b, size_t blen)
{
	int d[MAX_LEN + 1][MAX_LEN + 1];
	size_t i, j;

	if (alen > MAX_LEN || blen > MAX_LEN)
		return FAR;
	for (i = 0; i <= alen; i++)
		d[i][0] = (int)i;
	for (j = 0; j <= blen; j++)
		d[0][j] = (int)j;
	for (i = 1; i <= alen; i++) {
		for (j = 1; j <= blen; j++) {
			int same = lower(a[i - 1]) == lower(b[j - 1]);

			d[i][j] = min3(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + !same);
			if (i > 1 && j > 1 && lower(a[i - 1]) == lower(b[j - 2]) &&
			    lower(a[i - 2]) == lower(b[j - 1]) && d[i - 2][j - 2] + 1 < d[i][j])
				d[i][j] = d[i - 2][j - 2] + 1;
		}
	}
	return d[alen][blen] < FAR ? d[alen][blen] : FAR;
}

void suggest_init(struct suggest *s, const char *word, size_t len)
{
	s->word = word;
	s->len = len;
	s->best = NULL;
	s->dist = FAR;
}

void suggest_offer(struct suggest *s, const char *candidate)
{
	int limit = s->len <= 4 ? 1 : 2;
	int d = suggest_distance(s->word, s->len, candidate, strlen(candidate));

	if (d <= limit && d < s->dist) {
		s->best = candidate;
		s->dist = d;
	}
}

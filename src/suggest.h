/* suggest.h: "did you mean": the nearest of a few known words to a typo. */
#ifndef IMF_SUGGEST_H
#define IMF_SUGGEST_H

#include <stddef.h>

/*
 * suggest_distance is the number of one-letter edits (insert, delete,
 * replace, swap two neighbours) that turn a into b, ignoring case; it
 * stops counting at 9.
 */
int suggest_distance(const char *a, size_t alen, const char *b, size_t blen);

/*
 * struct suggest keeps the best candidate seen so far for word: give it
 * every known word with suggest_offer, then read best (NULL when nothing
 * was close enough).  Close enough is a case-insensitive match, one edit
 * for words of up to four letters, two for longer ones.
 */
struct suggest {
	const char *word;
	size_t len;
	const char *best;
	int dist;
};

void suggest_init(struct suggest *s, const char *word, size_t len);
void suggest_offer(struct suggest *s, const char *candidate);

#endif

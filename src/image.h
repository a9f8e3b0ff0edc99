/* image.h: a decoded image as float planes, one per channel. */
#ifndef IMF_IMAGE_H
#define IMF_IMAGE_H

#include "err.h"
#include "plane.h"

#define IMG_MAX_CHANNELS 4

/*
 * Channels are stored in the order grey | grey,alpha | r,g,b | r,g,b,alpha:
 * nch is 1 to 4 and alpha, when present, is always the last channel
 * (nch == 2 or nch == 4).  Integer samples are mapped to [0, 1] (v / 255,
 * v / 65535); float sources (PFM) keep their values.
 */
struct image {
	int w, h;
	int nch;
	int depth;      /* source bit depth: 8, 16, or 32 for float sources */
	struct plane ch[IMG_MAX_CHANNELS];
};

static inline int img_has_alpha(const struct image *im)
{
	return im->nch == 2 || im->nch == 4;
}

/* img_alloc allocates nch zeroed w x h planes; -1 with err on failure. */
int img_alloc(struct image *im, int w, int h, int nch, struct err *err);

/* img_free releases every plane and zeroes im; safe on a zeroed image. */
void img_free(struct image *im);

#endif

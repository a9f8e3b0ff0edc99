/* image.c: allocation of a whole image. */
#include "image.h"

#include <stdlib.h>
#include <string.h>

int img_alloc(struct image *im, int w, int h, int nch, struct err *err)
{
	int c;

	memset(im, 0, sizeof *im);
	if (nch < 1 || nch > IMG_MAX_CHANNELS)
		return err_set(err, ERR_SOFTWARE, "img_alloc: %d channels", nch);
	for (c = 0; c < nch; c++) {
		if (plane_alloc(&im->ch[c], w, h, err)) {
			img_free(im);
			return -1;
		}
	}
	im->w = w;
	im->h = h;
	im->nch = nch;
	im->depth = 8;
	return 0;
}

static void meta_free(struct img_meta *m)
{
	free(m->icc);
	free(m->exif);
	free(m->xmp);
	free(m->geo.scale);
	free(m->geo.tie);
	free(m->geo.matrix);
	free(m->geo.keys);
	free(m->geo.doubles);
	free(m->geo.ascii);
	free(m->geo.gdal_metadata);
	free(m->geo.gdal_nodata);
	memset(m, 0, sizeof *m);
}

void img_move_meta(struct image *dst, struct image *src)
{
	meta_free(&dst->meta);
	dst->meta = src->meta;
	memset(&src->meta, 0, sizeof src->meta);
}

void img_free(struct image *im)
{
	int c;

	for (c = 0; c < IMG_MAX_CHANNELS; c++)
		plane_free(&im->ch[c]);
	meta_free(&im->meta);
	memset(im, 0, sizeof *im);
}

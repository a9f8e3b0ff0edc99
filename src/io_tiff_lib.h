/*
 * io_tiff_lib.h: what io_tiff.c (encoding) and io_tiff_read.c (decoding)
 * share of libtiff: GeoTIFF's and GDAL's tags, the process-wide set-up,
 * and each open's limit and message handlers.
 */
#ifndef IMF_IO_TIFF_LIB_H
#define IMF_IO_TIFF_LIB_H

#include <tiffio.h>

#include "err.h"

/*
 * libtiff's own limit on any one allocation (TIFFOpenOptions): a strip
 * or tile, a tag's array.  What this file allocates itself, a band of
 * rows at the file's depth (a strip, or a row of tiles), is checked
 * against it too, and against --max-pixels as a holding.
 */
#define TIFF_MAX_ALLOC ((tmsize_t)256 << 20)

/* Tags libtiff does not know (tiff_setup registers them). */
#define TAG_MODEL_PIXEL_SCALE 33550
#define TAG_MODEL_TIEPOINT 33922
#define TAG_MODEL_TRANSFORMATION 34264
#define TAG_GEO_KEYS 34735
#define TAG_GEO_DOUBLES 34736
#define TAG_GEO_ASCII 34737
#define TAG_GDAL_METADATA 42112
#define TAG_GDAL_NODATA 42113

/* What the handlers need: the name, the record, and a write's errno. */
struct tiff_msg {
	const char *name;
	struct err *err;
	int io_errno;
};

/* tiff_setup makes libtiff's process-wide settings, once: the tags above, no stderr. */
void tiff_setup(void);

/*
 * tiff_open_options is an open's options: TIFF_MAX_ALLOC, and handlers
 * that put libtiff's first error into m's record (NULL: out of memory).
 */
TIFFOpenOptions *tiff_open_options(struct tiff_msg *m);

#endif

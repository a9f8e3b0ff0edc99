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
/*
 * Metadata carried from input to output unchanged: the ICC profile (PNG
 * iCCP, JPEG APP2), EXIF (PNG eXIf, JPEG APP1; the TIFF structure without
 * JPEG's "Exif\0\0" prefix) and PNG's colour chunks gAMA, cHRM, sRGB.
 * Values are as stored (gAMA and cHRM times 100000).  TIFF adds XMP,
 * the resolution and the georeferencing tags (struct img_geo), and says
 * how its samples were stored, so that a TIFF output can store them alike.
 */

/*
 * The GeoTIFF and GDAL tags of a TIFF, as libtiff reads them: n counts
 * the values (0: the tag is absent).  georef.h adjusts the tie points or
 * the transformation when the pixel grid changes; the rest is carried as is.
 */
struct img_geo {
	double *scale;              /* ModelPixelScale (33550): Sx Sy Sz */
	double *tie;                /* ModelTiepoint (33922): I J K X Y Z, repeated */
	double *matrix;             /* ModelTransformation (34264): 4 x 4, by rows */
	unsigned short *keys;       /* GeoKeyDirectory (34735) */
	double *doubles;            /* GeoDoubleParams (34736) */
	unsigned n_scale, n_tie, n_matrix, n_keys, n_doubles;
	char *ascii;                /* GeoAsciiParams (34737), or NULL */
	char *gdal_metadata;        /* GDAL_METADATA (42112), or NULL */
	char *gdal_nodata;          /* GDAL_NODATA (42113), or NULL */
};

/*
 * How a TIFF stored its samples, when that is not what depth says
 * (raw_bits 0): integers taken as the numbers they are rather than mapped
 * to [0, 1] (signed ones, 32-bit unsigned ones).  assoc_alpha: the file's
 * alpha was associated (premultiplied); the decoder divided it out.
 */
struct img_tiff {
	int raw_bits;               /* 8, 16 or 32; 0: none */
	int raw_signed;
	int assoc_alpha;
};

struct img_meta {
	unsigned char *icc;
	size_t icc_len;
	char icc_name[80];          /* PNG's profile name */
	unsigned char *exif;
	size_t exif_len;
	int has_gamma, has_chrm, has_srgb;
	long gamma;
	long chrm[8];               /* white x y, red x y, green x y, blue x y */
	int srgb_intent;
	unsigned char *xmp;         /* TIFF XMLPacket */
	size_t xmp_len;
	int has_res;                /* TIFF XResolution, YResolution, ResolutionUnit */
	double xres, yres;
	int res_unit;
	struct img_geo geo;
	struct img_tiff tiff;
};

struct image {
	int w, h;
	int nch;
	int depth;      /* source bit depth: 8, 16, or 32 for float sources */
	struct plane ch[IMG_MAX_CHANNELS];
	struct img_meta meta;
};

/*
 * img_view makes *v an image of the n planes p (views of rows, not owned:
 * never img_free it), so that color.h's functions work on a strip.
 */
static inline void img_view(struct image *v, const struct plane *p, int n)
{
	int c;

	*v = (struct image){ .w = p[0].w, .h = p[0].h, .nch = n };
	for (c = 0; c < n; c++)
		v->ch[c] = p[c];
}

static inline int img_has_alpha(const struct image *im)
{
	return im->nch == 2 || im->nch == 4;
}

/* img_alloc allocates nch zeroed w x h planes; -1 with err on failure. */
int img_alloc(struct image *im, int w, int h, int nch, struct err *err);

/* img_move_meta hands src's metadata to dst (whose own is released). */
void img_move_meta(struct image *dst, struct image *src);

/* img_free releases every plane and the metadata and zeroes im; safe on a zeroed image. */
void img_free(struct image *im);

#endif

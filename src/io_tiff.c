/* io_tiff.c: TIFF and BigTIFF decoding and encoding through libtiff, rows streaming. */
#include <tiffio.h>
#include <float.h>
#include <limits.h>
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

#include "io_codec.h"
#include "size.h"

#ifndef IMF_VERSION
#define IMF_VERSION "0"
#endif

/*
 * libtiff's own limit on any one allocation (TIFFOpenOptions): a strip
 * or tile, a tag's array.  What this file allocates itself, a band of
 * rows at the file's depth (a strip, or a row of tiles), is checked
 * against it too, and against --max-pixels as a holding.
 */
#define TIFF_MAX_ALLOC ((tmsize_t)256 << 20)

/*
 * The most a compression can expand its data: a file that declares more
 * decoded bytes than its size times this cannot hold them (a compression
 * bomb whose strips all point at the same few bytes).  Deflate's bound is
 * about 1032:1; LZW's table of 4094 codes, restarted when full, gives well
 * under 4096:1; PackBits 128 bytes from 2.  Codecs without such a bound
 * (ZSTD's and LZMA's runs) get a generous one.
 */
static uint64_t max_ratio(uint16_t comp)
{
	switch (comp) {
	case COMPRESSION_NONE: return 1;
	case COMPRESSION_PACKBITS: return 64;
	case COMPRESSION_ADOBE_DEFLATE:
	case COMPRESSION_DEFLATE: return 1032;
	case COMPRESSION_LZW:
	case COMPRESSION_JPEG:
	case COMPRESSION_OJPEG: return 4096;
	default: return 1u << 16;
	}
}

/* ---- tags libtiff does not know: GeoTIFF's and GDAL's ----------------------- */

#define TAG_MODEL_PIXEL_SCALE 33550
#define TAG_MODEL_TIEPOINT 33922
#define TAG_MODEL_TRANSFORMATION 34264
#define TAG_GEO_KEYS 34735
#define TAG_GEO_DOUBLES 34736
#define TAG_GEO_ASCII 34737
#define TAG_GDAL_METADATA 42112
#define TAG_GDAL_NODATA 42113

static const TIFFFieldInfo geo_fields[] = {
	{ TAG_MODEL_PIXEL_SCALE, TIFF_VARIABLE2, TIFF_VARIABLE2, TIFF_DOUBLE, FIELD_CUSTOM, 1, 1,
	  (char *)"ModelPixelScaleTag" },
	{ TAG_MODEL_TIEPOINT, TIFF_VARIABLE2, TIFF_VARIABLE2, TIFF_DOUBLE, FIELD_CUSTOM, 1, 1,
	  (char *)"ModelTiepointTag" },
	{ TAG_MODEL_TRANSFORMATION, TIFF_VARIABLE2, TIFF_VARIABLE2, TIFF_DOUBLE, FIELD_CUSTOM, 1, 1,
	  (char *)"ModelTransformationTag" },
	{ TAG_GEO_KEYS, TIFF_VARIABLE2, TIFF_VARIABLE2, TIFF_SHORT, FIELD_CUSTOM, 1, 1,
	  (char *)"GeoKeyDirectoryTag" },
	{ TAG_GEO_DOUBLES, TIFF_VARIABLE2, TIFF_VARIABLE2, TIFF_DOUBLE, FIELD_CUSTOM, 1, 1,
	  (char *)"GeoDoubleParamsTag" },
	{ TAG_GEO_ASCII, TIFF_VARIABLE, TIFF_VARIABLE, TIFF_ASCII, FIELD_CUSTOM, 1, 0,
	  (char *)"GeoASCIIParamsTag" },
	{ TAG_GDAL_METADATA, TIFF_VARIABLE, TIFF_VARIABLE, TIFF_ASCII, FIELD_CUSTOM, 1, 0,
	  (char *)"GDALMetadata" },
	{ TAG_GDAL_NODATA, TIFF_VARIABLE, TIFF_VARIABLE, TIFF_ASCII, FIELD_CUSTOM, 1, 0,
	  (char *)"GDALNoDataValue" },
};

static TIFFExtendProc parent_extender;

static void extender(TIFF *tif)
{
	TIFFMergeFieldInfo(tif, geo_fields, sizeof geo_fields / sizeof geo_fields[0]);
	if (parent_extender != NULL)
		parent_extender(tif);
}

/*
 * libtiff's process-wide settings, made once: the tags above, and no
 * message of libtiff's to stderr (each open has handlers of its own,
 * which fill the error record).
 */
static void setup_once(void)
{
	parent_extender = TIFFSetTagExtender(extender);
	TIFFSetErrorHandler(NULL);
	TIFFSetWarningHandler(NULL);
}

static void tiff_setup(void)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;

	pthread_once(&once, setup_once);
}

/* ---- messages ------------------------------------------------------------------ */

/* What the handlers need: the name, the record, and a write's errno. */
struct tiff_msg {
	const char *name;
	struct err *err;
	int io_errno;
};

/*
 * libtiff's first error becomes the record's message; a failed
 * allocation or one over the limit is a resource (ERR_OS), anything else
 * the file's fault.
 */
static int on_error(TIFF *tif, void *user, const char *module, const char *fmt, va_list ap)
	__attribute__((format(printf, 4, 0)));

static int on_error(TIFF *tif, void *user, const char *module, const char *fmt, va_list ap)
{
	struct tiff_msg *m = user;
	char text[300];
	const char *t = text;
	size_t n;

	(void)tif;
	(void)module;
	vsnprintf(text, sizeof text, fmt, ap);
	/* Some of libtiff's messages name the file themselves. */
	n = strlen(m->name);
	if (strncmp(t, m->name, n) == 0 && strncmp(t + n, ": ", 2) == 0)
		t += n + 2;
	if (m->io_errno)
		err_set(m->err, ERR_IO, "%s: %s", m->name, strerror(m->io_errno));
	else if (strstr(text, "emory") != NULL || strstr(text, "limit") != NULL)
		err_set(m->err, ERR_OS, "%s: %s", m->name, t);
	else
		err_set(m->err, ERR_DATA, "%s: %s", m->name, t);
	return 1;
}

static int on_warning(TIFF *tif, void *user, const char *module, const char *fmt, va_list ap)
{
	(void)tif;
	(void)user;
	(void)module;
	(void)fmt;
	(void)ap;
	return 1;
}

static TIFFOpenOptions *open_options(struct tiff_msg *m)
{
	TIFFOpenOptions *o = TIFFOpenOptionsAlloc();

	if (o == NULL)
		return NULL;
	TIFFOpenOptionsSetMaxSingleMemAlloc(o, TIFF_MAX_ALLOC);
	TIFFOpenOptionsSetErrorHandlerExtR(o, on_error, m);
	TIFFOpenOptionsSetWarningHandlerExtR(o, on_warning, m);
	return o;
}

/* ---- decoding: the file's bytes as libtiff's client ---------------------------- */

struct mem_in {
	const unsigned char *buf;
	uint64_t n, pos;
};

static tmsize_t in_read(thandle_t h, void *p, tmsize_t len)
{
	struct mem_in *m = (struct mem_in *)h;
	uint64_t left = m->pos < m->n ? m->n - m->pos : 0;

	if (len < 0)
		return -1;
	if ((uint64_t)len > left)
		len = (tmsize_t)left;
	memcpy(p, m->buf + m->pos, (size_t)len);
	m->pos += (uint64_t)len;
	return len;
}

static tmsize_t in_write(thandle_t h, void *p, tmsize_t len)
{
	(void)h;
	(void)p;
	(void)len;
	return -1;
}

static toff_t in_seek(thandle_t h, toff_t off, int whence)
{
	struct mem_in *m = (struct mem_in *)h;
	uint64_t base = whence == SEEK_CUR ? m->pos : whence == SEEK_END ? m->n : 0;

	if (off > UINT64_MAX - base)
		return (toff_t)-1;
	m->pos = base + off;
	return m->pos;
}

static int in_close(thandle_t h)
{
	(void)h;
	return 0;
}

static toff_t in_size(thandle_t h)
{
	return ((struct mem_in *)h)->n;
}

/* The bytes are mapped already (or in memory): libtiff reads strips in place. */
static int in_map(thandle_t h, void **base, toff_t *size)
{
	struct mem_in *m = (struct mem_in *)h;

	*base = (void *)(uintptr_t)m->buf;
	*size = m->n;
	return 1;
}

static void in_unmap(thandle_t h, void *base, toff_t size)
{
	(void)h;
	(void)base;
	(void)size;
}

/* ---- decoding ------------------------------------------------------------------------ */

/*
 * A decoder's state.  Samples arrive in bands of rows at the file's depth:
 * one row (contiguous strips, read by scanline), a strip of every plane
 * read (separate planes), or a row of tiles.  band[p] holds plane group p
 * (one group when samples are contiguous, one per sample read when they
 * are separate), rows of rowbytes bytes.
 */
struct tiff_dec {
	struct tiff_msg msg;
	struct io_src *src;
	const struct io_sink *sink;
	struct mem_in in;
	TIFF *tif;
	uint32_t w, h;
	uint16_t spp, bps, fmt, photo, planar, comp;
	int tiled;
	int ncol;                  /* colour samples read: 1 (grey, palette) or 3 */
	int nch;                   /* image channels */
	int alpha;                 /* the sample that is alpha, or -1 */
	int white;                 /* min-is-white */
	int assoc;                 /* the alpha is associated */
	uint16_t *cmap[3];         /* palette */
	int nplanes;               /* band groups */
	unsigned char *band[IMG_MAX_CHANNELS];
	size_t rowbytes;           /* one band row of one group */
	uint32_t band_rows;
	float unit[256];
	struct image hdr;
};

/* half_to_float converts an IEEE 754 binary16 value. */
static float half_to_float(uint16_t h)
{
	int e = (h >> 10) & 0x1f, m = h & 0x3ff;
	float v;

	if (e == 0)
		v = ldexpf((float)m, -24);
	else if (e == 31)
		v = m != 0 ? NAN : INFINITY;
	else
		v = ldexpf((float)(m | 0x400), e - 25);
	return (h & 0x8000) ? -v : v;
}

/* get_bits reads the n-bit sample (n <= 16) at bit position pos, first bit most significant. */
static unsigned get_bits(const unsigned char *p, size_t pos, int n)
{
	unsigned v = 0;
	int i;

	for (i = 0; i < n; i++, pos++)
		v = v << 1 | ((p[pos >> 3] >> (7 - (pos & 7))) & 1u);
	return v;
}

/*
 * get_samples converts sample s of every pixel of one band row (pixels
 * step samples apart) to floats: unsigned integers of up to 16 bits to
 * [0, 1] (for a colour channel c, min-is-white turned over and a
 * palette looked up in channel c; alpha, c < 0, is neither),
 * other integers as the numbers they are, floats as they are (binary16
 * and binary64 converted).  Returns -1 at a sample that is not finite.
 */
static int get_samples(struct tiff_dec *d, const unsigned char *row, int s, int step, int c,
		       float *out)
{
	uint32_t x, w = d->w;
	size_t i = (size_t)s;
	const uint16_t *cmap = c >= 0 ? d->cmap[c] : NULL;
	int white = c >= 0 && d->white;

	if (d->fmt == SAMPLEFORMAT_UINT && d->bps <= 16) {
		unsigned max = (1u << d->bps) - 1;
		/* Divided, not multiplied by 1 / max: v / max correctly rounded, as PNG's and PNM's are. */
		float fmax = (float)max;

		for (x = 0; x < w; x++, i += (size_t)step) {
			unsigned v;

			if (d->bps == 8)
				v = row[i];
			else if (d->bps == 16)
				v = ((const uint16_t *)(const void *)row)[i];
			else
				v = get_bits(row, i * d->bps, d->bps);
			if (cmap != NULL)
				out[x] = (float)cmap[v] / 65535.0f;
			else if (white)
				out[x] = d->bps == 8 ? d->unit[max - v] : (float)(max - v) / fmax;
			else
				out[x] = d->bps == 8 ? d->unit[v] : d->bps == 16 ? (float)v / 65535.0f
										 : (float)v / fmax;
		}
		return 0;
	}
	if (d->fmt == SAMPLEFORMAT_IEEEFP && d->bps == 32) {
		/* The common float case in one loop: v - v is NaN unless v is finite. */
		const unsigned char *p = row + i * 4;
		float bad = 0.0f;

		for (x = 0; x < w; x++, p += (size_t)step * 4) {
			memcpy(&out[x], p, 4);
			bad += out[x] - out[x];
		}
		return bad == 0.0f ? 0 : -1;
	}
	for (x = 0; x < w; x++, i += (size_t)step) {
		const unsigned char *p = row + i * (d->bps / 8);
		float v;

		switch (d->fmt << 8 | d->bps) {
		case SAMPLEFORMAT_UINT << 8 | 32: { uint32_t u; memcpy(&u, p, 4); v = (float)u; break; }
		case SAMPLEFORMAT_INT << 8 | 8: v = (float)(int8_t)p[0]; break;
		case SAMPLEFORMAT_INT << 8 | 16: { int16_t t; memcpy(&t, p, 2); v = (float)t; break; }
		case SAMPLEFORMAT_INT << 8 | 32: { int32_t t; memcpy(&t, p, 4); v = (float)t; break; }
		case SAMPLEFORMAT_IEEEFP << 8 | 16: { uint16_t t; memcpy(&t, p, 2); v = half_to_float(t); break; }
		case SAMPLEFORMAT_IEEEFP << 8 | 32: memcpy(&v, p, 4); break;
		default: { double t; memcpy(&t, p, 8); v = (float)t; break; }
		}
		if (!isfinite(v))
			return -1;
		out[x] = v;
	}
	return 0;
}

/*
 * sample_of is the sample that channel c of the image reads: a palette's
 * index for each of R, G and B.  (When samples are separate, it is also
 * the plane, and channel c's rows are band group c.)
 */
static int sample_of(const struct tiff_dec *d, int c)
{
	if (c == d->nch - 1 && d->alpha >= 0)
		return d->alpha;
	return d->cmap[0] != NULL ? 0 : c;
}

/*
 * put_rows hands band rows [0, n) (image rows y0 ..) to the sink.  An
 * associated alpha's colour is divided by it: the image holds straight
 * colour, which the filter premultiplies once.
 */
static int put_rows(struct tiff_dec *d, uint32_t y0, uint32_t n)
{
	const struct io_sink *sink = d->sink;
	uint32_t r, x;
	int c;

	for (r = 0; r < n; r++) {
		uint32_t y = y0 + r;
		float *out[IMG_MAX_CHANNELS];

		if (y > 0 && sink->put(sink->ctx, (int)y, d->msg.err))
			return -1;
		for (c = 0; c < d->nch; c++) {
			int s = sample_of(d, c), colour = s == d->alpha ? -1 : c;
			int g = d->planar == PLANARCONFIG_SEPARATE ? c : 0;
			const unsigned char *row = d->band[g] + (size_t)r * d->rowbytes;

			out[c] = sink->row(sink->ctx, c, (int)y);
			if (d->planar == PLANARCONFIG_SEPARATE ? get_samples(d, row, 0, 1, colour, out[c])
							       : get_samples(d, row, s, d->spp, colour, out[c]))
				return err_set(d->msg.err, ERR_DATA,
					       "%s: a sample of row %lu is not a finite number",
					       d->src->name, (unsigned long)y);
		}
		if (d->assoc)
			for (x = 0; x < d->w; x++) {
				float a = out[d->nch - 1][x];

				for (c = 0; c < d->nch - 1; c++)
					out[c][x] = a > 0.0f ? out[c][x] / a : 0.0f;
			}
	}
	return 0;
}


/* drop_before drops the input's pages before the first strip or tile from strile on. */
static void drop_before(struct tiff_dec *d, uint32_t strile, uint32_t count)
{
	uint64_t lo = UINT64_MAX, off;
	uint32_t i;

	if (!d->src->mapped)
		return;
	for (i = 0; i < count; i++) {
		off = TIFFGetStrileOffset(d->tif, strile + i);
		if (off != 0 && off < lo)
			lo = off;
	}
	if (lo != UINT64_MAX && lo <= d->src->n)
		io_src_done(d->src, (size_t)lo);
}

static int read_scanlines(struct tiff_dec *d)
{
	uint32_t y;

	for (y = 0; y < d->h; y++) {
		if (TIFFReadScanline(d->tif, d->band[0], y, 0) < 0)
			return err_set(d->msg.err, ERR_DATA, "%s: cannot read row %lu", d->src->name,
				       (unsigned long)y);
		if (put_rows(d, y, 1))
			return -1;
		if ((y & 63) == 63)
			drop_before(d, TIFFComputeStrip(d->tif, y + 1 < d->h ? y + 1 : y, 0), 1);
	}
	return 0;
}

/* read_strips reads separate planes a strip of each at a time. */
static int read_strips(struct tiff_dec *d)
{
	uint32_t per_plane = TIFFNumberOfStrips(d->tif) / d->spp, s, y0, n;
	int c;

	for (s = 0, y0 = 0; y0 < d->h; s++, y0 += d->band_rows) {
		n = d->h - y0 < d->band_rows ? d->h - y0 : d->band_rows;
		for (c = 0; c < d->nch; c++) {
			uint32_t strip = (uint32_t)sample_of(d, c) * per_plane + s;

			if (TIFFReadEncodedStrip(d->tif, strip, d->band[c], (tmsize_t)(d->rowbytes * n)) < 0)
				return err_set(d->msg.err, ERR_DATA, "%s: cannot read strip %lu",
					       d->src->name, (unsigned long)strip);
		}
		if (put_rows(d, y0, n))
			return -1;
		drop_before(d, s + 1, 1);
	}
	return 0;
}

/* read_tiles reads a row of tiles at a time into the band, then puts its rows. */
static int read_tiles(struct tiff_dec *d, unsigned char *tile, uint32_t tw, uint32_t th)
{
	size_t trow = (size_t)TIFFTileRowSize64(d->tif);
	uint32_t y0, x0, r, n;
	int c;

	for (y0 = 0; y0 < d->h; y0 += th) {
		n = d->h - y0 < th ? d->h - y0 : th;
		for (x0 = 0; x0 < d->w; x0 += tw)
			for (c = 0; c < d->nplanes; c++) {
				uint16_t plane = d->planar == PLANARCONFIG_SEPARATE ? (uint16_t)sample_of(d, c) : 0;
				uint32_t t = TIFFComputeTile(d->tif, x0, y0, 0, plane);

				if (TIFFReadEncodedTile(d->tif, t, tile, (tmsize_t)(trow * th)) < 0)
					return err_set(d->msg.err, ERR_DATA, "%s: cannot read tile %lu",
						       d->src->name, (unsigned long)t);
				for (r = 0; r < n; r++)
					memcpy(d->band[c] + (size_t)r * d->rowbytes + (size_t)(x0 / tw) * trow,
					       tile + (size_t)r * trow, trow);
			}
		if (put_rows(d, y0, n))
			return -1;
		if (y0 + th < d->h)
			drop_before(d, TIFFComputeTile(d->tif, 0, y0 + th, 0, 0), 1);
	}
	return 0;
}

static int unsupported(const struct tiff_dec *d, const char *what, unsigned v)
{
	return err_set(d->msg.err, ERR_DATA, "%s: %s %u is not supported", d->src->name, what, v);
}

/*
 * layout checks the sample type and the photometric interpretation and
 * decides the channels: grey or RGB (a palette becomes RGB), and the first
 * extra sample as alpha when it is one (associated or not); other extra
 * samples are not read.
 */
static int layout(struct tiff_dec *d)
{
	TIFF *tif = d->tif;
	uint16_t nextra = 0, *extra = NULL, inkset = 0;
	int ok;

	TIFFGetFieldDefaulted(tif, TIFFTAG_SAMPLESPERPIXEL, &d->spp);
	TIFFGetFieldDefaulted(tif, TIFFTAG_BITSPERSAMPLE, &d->bps);
	TIFFGetFieldDefaulted(tif, TIFFTAG_SAMPLEFORMAT, &d->fmt);
	TIFFGetFieldDefaulted(tif, TIFFTAG_PLANARCONFIG, &d->planar);
	TIFFGetFieldDefaulted(tif, TIFFTAG_COMPRESSION, &d->comp);
	if (!TIFFGetField(tif, TIFFTAG_PHOTOMETRIC, &d->photo))
		d->photo = d->spp >= 3 ? PHOTOMETRIC_RGB : PHOTOMETRIC_MINISBLACK;
	if (d->fmt == SAMPLEFORMAT_VOID)
		d->fmt = SAMPLEFORMAT_UINT;
	switch (d->fmt) {
	case SAMPLEFORMAT_UINT: ok = (d->bps >= 1 && d->bps <= 16) || d->bps == 32; break;
	case SAMPLEFORMAT_INT: ok = d->bps == 8 || d->bps == 16 || d->bps == 32; break;
	case SAMPLEFORMAT_IEEEFP: ok = d->bps == 16 || d->bps == 32 || d->bps == 64; break;
	default: return unsupported(d, "sample format", d->fmt);
	}
	if (!ok)
		return err_set(d->msg.err, ERR_DATA, "%s: %u-bit %s samples are not supported",
			       d->src->name, d->bps, d->fmt == SAMPLEFORMAT_UINT ? "unsigned" :
			       d->fmt == SAMPLEFORMAT_INT ? "signed" : "floating-point");
	if (d->photo == PHOTOMETRIC_YCBCR && d->comp == COMPRESSION_JPEG) {
		/* libjpeg converts to RGB. */
		TIFFSetField(tif, TIFFTAG_JPEGCOLORMODE, JPEGCOLORMODE_RGB);
		d->photo = PHOTOMETRIC_RGB;
	}
	TIFFGetField(tif, TIFFTAG_INKSET, &inkset);
	switch (d->photo) {
	case PHOTOMETRIC_MINISWHITE:
		d->white = 1;
		/* fall through */
	case PHOTOMETRIC_MINISBLACK:
		d->ncol = 1;
		if (d->white && !(d->fmt == SAMPLEFORMAT_UINT && d->bps <= 16))
			return err_set(d->msg.err, ERR_DATA, "%s: min-is-white %u-bit samples are "
				       "not supported", d->src->name, d->bps);
		break;
	case PHOTOMETRIC_RGB:
		d->ncol = 3;
		break;
	case PHOTOMETRIC_PALETTE:
		d->ncol = 1;
		if (d->fmt != SAMPLEFORMAT_UINT || d->bps > 16 ||
		    !TIFFGetField(tif, TIFFTAG_COLORMAP, &d->cmap[0], &d->cmap[1], &d->cmap[2]))
			return err_set(d->msg.err, ERR_DATA, "%s: a palette image without a usable "
				       "colour map", d->src->name);
		break;
	default:
		return unsupported(d, "photometric interpretation", d->photo);
	}
	if (d->spp < d->ncol)
		return err_set(d->msg.err, ERR_DATA, "%s: %u samples per pixel are too few for "
			       "the photometric interpretation", d->src->name, d->spp);
	d->alpha = -1;
	TIFFGetField(tif, TIFFTAG_EXTRASAMPLES, &nextra, &extra);
	if (d->spp > d->ncol && nextra > 0 &&
	    (extra[0] == EXTRASAMPLE_ASSOCALPHA || extra[0] == EXTRASAMPLE_UNASSALPHA)) {
		d->alpha = d->ncol;
		d->assoc = extra[0] == EXTRASAMPLE_ASSOCALPHA;
		d->hdr.meta.tiff.assoc_alpha = d->assoc;
	}
	d->nch = (d->cmap[0] != NULL ? 3 : d->ncol) + (d->alpha >= 0);
	if (d->fmt == SAMPLEFORMAT_UINT && d->bps <= 16) {
		d->hdr.depth = d->bps <= 8 ? 8 : 16;
	} else {
		d->hdr.depth = 32;
		if (d->fmt != SAMPLEFORMAT_IEEEFP) {
			d->hdr.meta.tiff.raw_bits = d->bps;
			d->hdr.meta.tiff.raw_signed = d->fmt == SAMPLEFORMAT_INT;
		}
	}
	if (d->cmap[0] != NULL) {
		/* A colour map of 8-bit values times 257 is an 8-bit palette. */
		uint32_t i, n = 1u << d->bps;
		int c;

		d->hdr.depth = 8;
		for (c = 0; c < 3; c++)
			for (i = 0; i < n; i++)
				if (d->cmap[c][i] % 257 != 0)
					d->hdr.depth = 16;
	}
	return 0;
}

/* dup_bytes copies n bytes into *dst (malloc'd); 0, or -1 with err. */
static int dup_bytes(struct tiff_dec *d, void **dst, const void *p, size_t n)
{
	if ((*dst = malloc(n + 1)) == NULL)
		return err_oom(d->msg.err, d->src->name);
	memcpy(*dst, p, n);
	((char *)*dst)[n] = '\0';
	return 0;
}

/* get_array copies the values of a GeoTIFF array tag; *n stays 0 when it is absent. */
static int get_array(struct tiff_dec *d, uint32_t tag, void **dst, unsigned *n, size_t size)
{
	uint32_t count = 0;
	void *p = NULL;

	if (!TIFFGetField(d->tif, tag, &count, &p) || p == NULL || count == 0)
		return 0;
	*n = count;
	return dup_bytes(d, dst, p, (size_t)count * size);
}

static int get_string(struct tiff_dec *d, uint32_t tag, char **dst)
{
	const char *p = NULL;

	if (!TIFFGetField(d->tif, tag, &p) || p == NULL)
		return 0;
	return dup_bytes(d, (void **)dst, p, strlen(p));
}

/* copy_meta keeps what travels to the output (image.h). */
static int copy_meta(struct tiff_dec *d)
{
	struct img_meta *m = &d->hdr.meta;
	struct img_geo *g = &m->geo;
	uint32_t len = 0;
	void *p = NULL;
	float xr, yr;
	uint16_t unit = RESUNIT_INCH;

	if (TIFFGetField(d->tif, TIFFTAG_ICCPROFILE, &len, &p) && p != NULL && len > 0) {
		if (dup_bytes(d, (void **)&m->icc, p, len))
			return -1;
		m->icc_len = len;
	}
	if (TIFFGetField(d->tif, TIFFTAG_XMLPACKET, &len, &p) && p != NULL && len > 0) {
		if (dup_bytes(d, (void **)&m->xmp, p, len))
			return -1;
		m->xmp_len = len;
	}
	if (TIFFGetField(d->tif, TIFFTAG_XRESOLUTION, &xr) &&
	    TIFFGetField(d->tif, TIFFTAG_YRESOLUTION, &yr)) {
		TIFFGetFieldDefaulted(d->tif, TIFFTAG_RESOLUTIONUNIT, &unit);
		m->has_res = 1;
		m->xres = xr;
		m->yres = yr;
		m->res_unit = unit;
	}
	return get_array(d, TAG_MODEL_PIXEL_SCALE, (void **)&g->scale, &g->n_scale, sizeof(double)) ||
	       get_array(d, TAG_MODEL_TIEPOINT, (void **)&g->tie, &g->n_tie, sizeof(double)) ||
	       get_array(d, TAG_MODEL_TRANSFORMATION, (void **)&g->matrix, &g->n_matrix,
			 sizeof(double)) ||
	       get_array(d, TAG_GEO_KEYS, (void **)&g->keys, &g->n_keys, sizeof(uint16_t)) ||
	       get_array(d, TAG_GEO_DOUBLES, (void **)&g->doubles, &g->n_doubles, sizeof(double)) ||
	       get_string(d, TAG_GEO_ASCII, &g->ascii) ||
	       get_string(d, TAG_GDAL_METADATA, &g->gdal_metadata) ||
	       get_string(d, TAG_GDAL_NODATA, &g->gdal_nodata) ? -1 : 0;
}

/*
 * bands sizes the band: a row (contiguous strips), a strip or a row of
 * tiles, for every plane group; it is a holding, so --max-pixels applies.
 */
static int bands(struct tiff_dec *d, uint32_t *tw, uint32_t *th)
{
	uint64_t bytes, rowbytes;
	uint32_t rows = 1, rps = 0;
	size_t total;
	int c;

	d->nplanes = d->planar == PLANARCONFIG_SEPARATE ? d->nch : 1;
	if (d->tiled) {
		if (!TIFFGetField(d->tif, TIFFTAG_TILEWIDTH, tw) ||
		    !TIFFGetField(d->tif, TIFFTAG_TILELENGTH, th) || *tw == 0 || *th == 0)
			return err_set(d->msg.err, ERR_DATA, "%s: tiles without a size", d->src->name);
		rowbytes = TIFFTileRowSize64(d->tif) * ((d->w + *tw - 1) / *tw);
		rows = *th;
	} else {
		rowbytes = TIFFScanlineSize64(d->tif);
		if (d->planar == PLANARCONFIG_SEPARATE) {
			TIFFGetFieldDefaulted(d->tif, TIFFTAG_ROWSPERSTRIP, &rps);
			rows = rps < d->h ? rps : d->h;
		}
	}
	if (rowbytes == 0 || rows == 0)
		return err_set(d->msg.err, ERR_DATA, "%s: malformed strips or tiles", d->src->name);
	if (io_check_hold(d->src, d->w, rows, d->msg.err))
		return -1;
	bytes = rowbytes * rows;
	if (bytes / rows != rowbytes || bytes > (uint64_t)TIFF_MAX_ALLOC)
		return err_set(d->msg.err, ERR_OS, "%s: a %s of %llu MB is beyond the limit of %lld MB",
			       d->src->name, d->tiled ? "row of tiles" : "strip",
			       (unsigned long long)(bytes >> 20), (long long)(TIFF_MAX_ALLOC >> 20));
	d->rowbytes = (size_t)rowbytes;
	d->band_rows = rows;
	total = (size_t)bytes;
	for (c = 0; c < d->nplanes; c++)
		if ((d->band[c] = malloc(total + 8)) == NULL)
			return err_oom(d->msg.err, d->src->name);
	return 0;
}

/*
 * bomb refuses a file whose strips or tiles declare more decoded bytes
 * than its size can hold at the compression's best ratio.
 */
static int bomb(struct tiff_dec *d)
{
	uint64_t bytes = (uint64_t)d->w * d->h / 8 * d->bps * d->spp;

	if (bytes / max_ratio(d->comp) > d->src->n)
		return err_set(d->msg.err, ERR_DATA, "%s: too little image data for %lu x %lu pixels "
			       "(a compression bomb?)", d->src->name, (unsigned long)d->w,
			       (unsigned long)d->h);
	return 0;
}

static int decode_run(struct tiff_dec *d)
{
	uint32_t tw = 0, th = 0;
	unsigned char *tile = NULL;
	tdir_t pages;
	int rc;

	if (d->src->page > 0 && !TIFFSetDirectory(d->tif, (tdir_t)d->src->page)) {
		err_clear(d->msg.err);
		pages = TIFFNumberOfDirectories(d->tif);
		return err_set(d->msg.err, ERR_DATA, "%s: no page %d (pages 0 to %u)", d->src->name,
			       d->src->page, pages > 0 ? (unsigned)pages - 1 : 0);
	}
	if (!TIFFGetField(d->tif, TIFFTAG_IMAGEWIDTH, &d->w) ||
	    !TIFFGetField(d->tif, TIFFTAG_IMAGELENGTH, &d->h))
		return err_set(d->msg.err, ERR_DATA, "%s: no image size", d->src->name);
	if (io_check_size(d->src, d->w, d->h, d->msg.err) || layout(d))
		return -1;
	d->tiled = TIFFIsTiled(d->tif);
	if (bomb(d) || bands(d, &tw, &th) || copy_meta(d))
		return -1;
	if (d->tiled) {
		uint64_t tsize = TIFFTileRowSize64(d->tif) * th;

		if ((tile = malloc((size_t)tsize + 8)) == NULL)
			return err_oom(d->msg.err, d->src->name);
	}
	d->hdr.w = (int)d->w;
	d->hdr.h = (int)d->h;
	d->hdr.nch = d->nch;
	io_unit_table8(d->unit);
	if (d->sink->begin(d->sink->ctx, &d->hdr, d->msg.err)) {
		free(tile);
		return -1;
	}
	if (d->tiled)
		rc = read_tiles(d, tile, tw, th);
	else if (d->planar == PLANARCONFIG_SEPARATE)
		rc = read_strips(d);
	else
		rc = read_scanlines(d);
	free(tile);
	if (rc)
		return -1;
	return d->sink->put(d->sink->ctx, (int)d->h, d->msg.err);
}

int io_tiff_read(struct io_src *src, const struct io_sink *sink, struct err *err)
{
	struct tiff_dec d;
	TIFFOpenOptions *opts;
	int rc, c;

	tiff_setup();
	memset(&d, 0, sizeof d);
	d.msg.name = src->name;
	d.msg.err = err;
	d.src = src;
	d.sink = sink;
	d.in.buf = src->buf;
	d.in.n = src->n;
	if ((opts = open_options(&d.msg)) == NULL)
		return err_oom(err, src->name);
	d.tif = TIFFClientOpenExt(src->name, "rm", (thandle_t)&d.in, in_read, in_write, in_seek,
				  in_close, in_size, in_map, in_unmap, opts);
	TIFFOpenOptionsFree(opts);
	if (d.tif == NULL) {
		if (err->cls == ERR_NONE)
			err_set(err, ERR_DATA, "%s: not a readable TIFF", src->name);
		return -1;
	}
	rc = decode_run(&d);
	TIFFClose(d.tif);
	for (c = 0; c < IMG_MAX_CHANNELS; c++)
		free(d.band[c]);
	img_free(&d.hdr);
	if (src->mapped) {
		io_src_drop(src, 0, src->n);
		src->dropped = 0;
	}
	return rc;
}

/* ---- encoding ------------------------------------------------------------------------ */

/* Where the encoder's bytes go: a seekable file, or memory written to a pipe at the end. */
struct out {
	struct tiff_msg msg;
	FILE *f;                   /* NULL: memory */
	unsigned char *mem;
	uint64_t len, cap, pos;
};

static tmsize_t out_read(thandle_t h, void *p, tmsize_t len)
{
	struct out *o = (struct out *)h;

	if (o->f != NULL)
		return (tmsize_t)fread(p, 1, (size_t)len, o->f);
	if (o->pos >= o->len)
		return 0;
	if ((uint64_t)len > o->len - o->pos)
		len = (tmsize_t)(o->len - o->pos);
	memcpy(p, o->mem + o->pos, (size_t)len);
	o->pos += (uint64_t)len;
	return len;
}

static tmsize_t out_write(thandle_t h, void *p, tmsize_t len)
{
	struct out *o = (struct out *)h;

	if (len < 0)
		return -1;
	if (o->f != NULL) {
		if (fwrite(p, 1, (size_t)len, o->f) != (size_t)len) {
			o->msg.io_errno = errno ? errno : EIO;
			return -1;
		}
		return len;
	}
	if (o->pos + (uint64_t)len > o->cap) {
		uint64_t ncap = o->cap ? o->cap : 1 << 16;
		unsigned char *nm;

		while (ncap < o->pos + (uint64_t)len)
			ncap *= 2;
		if (ncap > SIZE_MAX || (nm = realloc(o->mem, (size_t)ncap)) == NULL) {
			o->msg.io_errno = ENOMEM;
			return -1;
		}
		o->mem = nm;
		o->cap = ncap;
	}
	if (o->pos > o->len)
		memset(o->mem + o->len, 0, (size_t)(o->pos - o->len));
	memcpy(o->mem + o->pos, p, (size_t)len);
	o->pos += (uint64_t)len;
	if (o->pos > o->len)
		o->len = o->pos;
	return len;
}

static toff_t out_seek(thandle_t h, toff_t off, int whence)
{
	struct out *o = (struct out *)h;
	uint64_t base;

	if (o->f != NULL) {
		if (fseeko(o->f, (off_t)off, whence) != 0) {
			o->msg.io_errno = errno;
			return (toff_t)-1;
		}
		return (toff_t)ftello(o->f);
	}
	base = whence == SEEK_CUR ? o->pos : whence == SEEK_END ? o->len : 0;
	o->pos = base + off;
	return o->pos;
}

static int out_close(thandle_t h)
{
	(void)h;
	return 0;
}

static toff_t out_size(thandle_t h)
{
	struct out *o = (struct out *)h;
	off_t here, end;

	if (o->f == NULL)
		return o->len;
	here = ftello(o->f);
	if (here < 0 || fseeko(o->f, 0, SEEK_END) != 0)
		return 0;
	end = ftello(o->f);
	fseeko(o->f, here, SEEK_SET);
	return end < 0 ? 0 : (toff_t)end;
}

static int out_map(thandle_t h, void **base, toff_t *size)
{
	(void)h;
	(void)base;
	(void)size;
	return 0;
}

/* What a sample is written as. */
enum kind { K_U8, K_U16, K_F32, K_RAW };

struct enc {
	struct out o;
	TIFF *tif;
	const struct image *info;
	const struct io_source *src;
	enum kind kind;
	int bits, is_signed;       /* of K_RAW */
	int nch, assoc;
	size_t bytes;              /* per sample */
	uint32_t rps;
	unsigned char *buf;
	float *tmp;
};

static uint32_t rows_per_strip(const struct image *info, size_t bytes)
{
	size_t row = (size_t)info->w * (size_t)info->nch * bytes;
	size_t rows = row > 0 ? ((size_t)1 << 20) / row : 1;

	if (rows < 1)
		rows = 1;
	return rows < (size_t)info->h ? (uint32_t)rows : (uint32_t)info->h;
}

static enum kind kind_of(const struct image *info, int depth, int *bits)
{
	*bits = 0;
	if (depth == 0 && info->meta.tiff.raw_bits != 0) {
		*bits = info->meta.tiff.raw_bits;
		return K_RAW;
	}
	if (depth == 0)
		depth = info->depth;
	return depth == 32 ? K_F32 : depth == 16 ? K_U16 : K_U8;
}

static size_t kind_bytes(enum kind k, int bits)
{
	return k == K_U8 ? 1 : k == K_U16 ? 2 : k == K_F32 ? 4 : (size_t)bits / 8;
}

int io_tiff_window(const struct image *info, int depth)
{
	int bits;
	enum kind k = kind_of(info, depth, &bits);

	return (int)rows_per_strip(info, kind_bytes(k, bits));
}

/* put_raw stores v rounded and clamped to the integer type of e. */
static void put_raw(const struct enc *e, unsigned char *p, float v)
{
	double lo = e->is_signed ? -ldexp(1.0, e->bits - 1) : 0.0;
	double hi = e->is_signed ? ldexp(1.0, e->bits - 1) - 1 : ldexp(1.0, e->bits) - 1;
	double r = isnan(v) ? 0.0 : nearbyint((double)v);

	r = r < lo ? lo : r > hi ? hi : r;
	switch (e->bits) {
	case 8: if (e->is_signed) { int8_t t = (int8_t)r; memcpy(p, &t, 1); } else { p[0] = (uint8_t)r; } break;
	case 16: if (e->is_signed) { int16_t t = (int16_t)r; memcpy(p, &t, 2); } else { uint16_t t = (uint16_t)r; memcpy(p, &t, 2); } break;
	default: if (e->is_signed) { int32_t t = (int32_t)r; memcpy(p, &t, 4); } else { uint32_t t = (uint32_t)r; memcpy(p, &t, 4); } break;
	}
}

/* put_samples stores the w samples in[] as e's kind, step bytes apart from p on. */
static void put_samples(const struct enc *e, const float *in, int w, unsigned char *p, size_t step)
{
	int x;

	switch (e->kind) {
	case K_U8:
		for (x = 0; x < w; x++, p += step)
			p[0] = (unsigned char)io_quantize(in[x], 255);
		break;
	case K_U16:
		for (x = 0; x < w; x++, p += step) {
			uint16_t t = (uint16_t)io_quantize(in[x], 65535);

			memcpy(p, &t, 2);
		}
		break;
	case K_F32:
		for (x = 0; x < w; x++, p += step) {
			float v = in[x];

			/* As PFM: NaN becomes 0, infinities the largest finite floats. */
			if (v - v != 0.0f)
				v = isnan(v) ? 0.0f : v > 0 ? FLT_MAX : -FLT_MAX;
			memcpy(p, &v, 4);
		}
		break;
	case K_RAW:
		for (x = 0; x < w; x++, p += step)
			put_raw(e, p, in[x]);
		break;
	}
}

/* put_row converts row y of the source into dst, samples interleaved. */
static void put_row(struct enc *e, unsigned char *dst, int y)
{
	const struct io_source *src = e->src;
	int c, x, w = e->info->w, n = e->nch;
	const float *alpha = e->assoc ? src->row(src->ctx, n - 1, y) : NULL;

	for (c = 0; c < n; c++) {
		const float *in = src->row(src->ctx, c, y);
		unsigned char *p = dst + (size_t)c * e->bytes;

		if (alpha != NULL && c < n - 1) {
			for (x = 0; x < w; x++)
				e->tmp[x] = in[x] * alpha[x];
			in = e->tmp;
		}
		put_samples(e, in, w, p, (size_t)n * e->bytes);
	}
}

/* put_string sets an ASCII tag if the value is there. */
static void put_string(TIFF *tif, uint32_t tag, const char *s)
{
	if (s != NULL)
		TIFFSetField(tif, tag, s);
}

static void put_array(TIFF *tif, uint32_t tag, const void *p, unsigned n)
{
	if (p != NULL && n > 0)
		TIFFSetField(tif, tag, (uint32_t)n, p);
}

static void put_meta(TIFF *tif, const struct img_meta *m)
{
	const struct img_geo *g = &m->geo;

	if (m->icc != NULL && m->icc_len <= UINT32_MAX)
		TIFFSetField(tif, TIFFTAG_ICCPROFILE, (uint32_t)m->icc_len, m->icc);
	if (m->xmp != NULL && m->xmp_len <= UINT32_MAX)
		TIFFSetField(tif, TIFFTAG_XMLPACKET, (uint32_t)m->xmp_len, m->xmp);
	if (m->has_res) {
		TIFFSetField(tif, TIFFTAG_XRESOLUTION, (float)m->xres);
		TIFFSetField(tif, TIFFTAG_YRESOLUTION, (float)m->yres);
		TIFFSetField(tif, TIFFTAG_RESOLUTIONUNIT, (uint16_t)m->res_unit);
	}
	put_array(tif, TAG_MODEL_PIXEL_SCALE, g->scale, g->n_scale);
	put_array(tif, TAG_MODEL_TIEPOINT, g->tie, g->n_tie);
	put_array(tif, TAG_MODEL_TRANSFORMATION, g->matrix, g->n_matrix);
	put_array(tif, TAG_GEO_KEYS, g->keys, g->n_keys);
	put_array(tif, TAG_GEO_DOUBLES, g->doubles, g->n_doubles);
	put_string(tif, TAG_GEO_ASCII, g->ascii);
	put_string(tif, TAG_GDAL_METADATA, g->gdal_metadata);
	put_string(tif, TAG_GDAL_NODATA, g->gdal_nodata);
}

static const uint16_t compressions[] = {
	[IO_TIFF_DEFLATE] = COMPRESSION_ADOBE_DEFLATE, [IO_TIFF_NONE] = COMPRESSION_NONE,
	[IO_TIFF_LZW] = COMPRESSION_LZW, [IO_TIFF_ZSTD] = COMPRESSION_ZSTD,
};

/* put_header sets the image's tags. */
static void put_header(struct enc *e, int compression)
{
	TIFF *tif = e->tif;
	const struct image *info = e->info;
	uint16_t fmt = e->kind == K_F32 ? SAMPLEFORMAT_IEEEFP :
		       e->kind == K_RAW && e->is_signed ? SAMPLEFORMAT_INT : SAMPLEFORMAT_UINT;
	uint16_t extra = e->assoc ? EXTRASAMPLE_ASSOCALPHA : EXTRASAMPLE_UNASSALPHA;
	uint16_t comp = compressions[compression];

	TIFFSetField(tif, TIFFTAG_IMAGEWIDTH, (uint32_t)info->w);
	TIFFSetField(tif, TIFFTAG_IMAGELENGTH, (uint32_t)info->h);
	TIFFSetField(tif, TIFFTAG_SAMPLESPERPIXEL, (uint16_t)e->nch);
	TIFFSetField(tif, TIFFTAG_BITSPERSAMPLE, (uint16_t)(e->bytes * 8));
	TIFFSetField(tif, TIFFTAG_SAMPLEFORMAT, fmt);
	TIFFSetField(tif, TIFFTAG_PLANARCONFIG, PLANARCONFIG_CONTIG);
	TIFFSetField(tif, TIFFTAG_PHOTOMETRIC, e->nch >= 3 ? PHOTOMETRIC_RGB : PHOTOMETRIC_MINISBLACK);
	if (e->nch == 2 || e->nch == 4)
		TIFFSetField(tif, TIFFTAG_EXTRASAMPLES, (uint16_t)1, &extra);
	TIFFSetField(tif, TIFFTAG_ROWSPERSTRIP, e->rps);
	TIFFSetField(tif, TIFFTAG_COMPRESSION, comp);
	/*
	 * Levels for speed, as PNG's default is: deflate's 6 (libdeflate's
	 * lazy matching) took 6 times as long as 4 on a 16-bit photo for a
	 * file 7 % smaller, and ZSTD's 9 (libtiff's default) 9 times as long
	 * as 3 for 12 %.
	 */
	if (comp == COMPRESSION_ADOBE_DEFLATE)
		TIFFSetField(tif, TIFFTAG_ZIPQUALITY, 4);
	else if (comp == COMPRESSION_ZSTD)
		TIFFSetField(tif, TIFFTAG_ZSTD_LEVEL, 3);
	if (comp != COMPRESSION_NONE)
		TIFFSetField(tif, TIFFTAG_PREDICTOR,
			     fmt == SAMPLEFORMAT_IEEEFP ? PREDICTOR_FLOATINGPOINT : PREDICTOR_HORIZONTAL);
	TIFFSetField(tif, TIFFTAG_SOFTWARE, "imfilter " IMF_VERSION);
	put_meta(tif, &info->meta);
}

static int encode_strips(struct enc *e, struct err *err, const char *name)
{
	const struct io_source *src = e->src;
	uint32_t y0, n, r, h = (uint32_t)e->info->h;
	size_t rowbytes = (size_t)e->info->w * (size_t)e->nch * e->bytes;

	for (y0 = 0; y0 < h; y0 += e->rps) {
		n = h - y0 < e->rps ? h - y0 : e->rps;
		if (io_src_wait(src, name, (int)(y0 + n), err))
			return -1;
		for (r = 0; r < n; r++)
			put_row(e, e->buf + (size_t)r * rowbytes, (int)(y0 + r));
		src->release(src->ctx, (int)(y0 + n));
		if (TIFFWriteEncodedStrip(e->tif, y0 / e->rps, e->buf, (tmsize_t)(rowbytes * n)) < 0) {
			if (err->cls == ERR_NONE)
				err_set(err, ERR_IO, "%s: cannot write strip %lu", name,
					(unsigned long)(y0 / e->rps));
			return -1;
		}
	}
	if (!TIFFFlush(e->tif)) {
		if (err->cls == ERR_NONE)
			err_set(err, ERR_IO, "%s: cannot write the directory", name);
		return -1;
	}
	return 0;
}

int io_tiff_write(FILE *f, const char *name, const struct image *info, int depth,
		  int compression, int seekable, const struct io_source *src, struct err *err)
{
	struct enc e;
	TIFFOpenOptions *opts;
	uint64_t raw;
	size_t rowbytes;
	int rc;

	tiff_setup();
	memset(&e, 0, sizeof e);
	e.o.msg.name = name;
	e.o.msg.err = err;
	e.o.f = seekable ? f : NULL;
	e.info = info;
	e.src = src;
	e.nch = info->nch;
	e.kind = kind_of(info, depth, &e.bits);
	e.is_signed = e.kind == K_RAW && info->meta.tiff.raw_signed;
	e.bytes = kind_bytes(e.kind, e.bits);
	e.assoc = (e.nch == 2 || e.nch == 4) && info->meta.tiff.assoc_alpha;
	e.rps = rows_per_strip(info, e.bytes);
	if (size_mul3(&rowbytes, (size_t)info->w, (size_t)e.nch, e.bytes) ||
	    (e.buf = malloc(rowbytes * e.rps)) == NULL ||
	    (e.tmp = malloc((size_t)info->w * sizeof *e.tmp)) == NULL) {
		free(e.buf);
		return err_oom(err, name);
	}
	/* BigTIFF when the samples alone, incompressible, would pass 4 GB. */
	raw = (uint64_t)rowbytes * (uint64_t)info->h;
	if ((opts = open_options(&e.o.msg)) == NULL) {
		free(e.buf);
		free(e.tmp);
		return err_oom(err, name);
	}
	e.tif = TIFFClientOpenExt(name, raw + raw / 64 + (16u << 20) > UINT32_MAX ? "w8" : "w",
				  (thandle_t)&e.o, out_read, out_write, out_seek, out_close, out_size,
				  out_map, in_unmap, opts);
	TIFFOpenOptionsFree(opts);
	if (e.tif == NULL) {
		rc = err->cls != ERR_NONE ? -1 : err_set(err, ERR_IO, "%s: cannot start a TIFF", name);
	} else {
		put_header(&e, compression);
		rc = encode_strips(&e, err, name);
		TIFFClose(e.tif);
	}
	if (rc == 0 && e.o.f == NULL)
		rc = io_put(f, e.o.mem, (size_t)e.o.len, name, err);
	free(e.o.mem);
	free(e.buf);
	free(e.tmp);
	return rc;
}

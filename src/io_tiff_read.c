/* io_tiff_read.c: TIFF and BigTIFF decoding through libtiff, by strips or rows of tiles. */
#include <tiffio.h>
#include <float.h>
#include <limits.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

#include "io_codec.h"
#include "size.h"
#include "io_tiff_lib.h"

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
	if ((opts = tiff_open_options(&d.msg)) == NULL)
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

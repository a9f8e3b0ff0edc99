/* io_tiff.c: TIFF and BigTIFF encoding through libtiff, rows streaming; what decoding shares. */
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
#include "io_tiff_lib.h"

#ifndef IMF_VERSION
#define IMF_VERSION "0"
#endif

/* ---- tags libtiff does not know: GeoTIFF's and GDAL's ----------------------- */

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

void tiff_setup(void)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;

	pthread_once(&once, setup_once);
}

/* ---- messages ------------------------------------------------------------------ */

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

TIFFOpenOptions *tiff_open_options(struct tiff_msg *m)
{
	TIFFOpenOptions *o = TIFFOpenOptionsAlloc();

	if (o == NULL)
		return NULL;
	TIFFOpenOptionsSetMaxSingleMemAlloc(o, TIFF_MAX_ALLOC);
	TIFFOpenOptionsSetErrorHandlerExtR(o, on_error, m);
	TIFFOpenOptionsSetWarningHandlerExtR(o, on_warning, m);
	return o;
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

static void out_unmap(thandle_t h, void *base, toff_t size)
{
	(void)h;
	(void)base;
	(void)size;
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
	if ((opts = tiff_open_options(&e.o.msg)) == NULL) {
		free(e.buf);
		free(e.tmp);
		return err_oom(err, name);
	}
	e.tif = TIFFClientOpenExt(name, raw + raw / 64 + (16u << 20) > UINT32_MAX ? "w8" : "w",
				  (thandle_t)&e.o, out_read, out_write, out_seek, out_close, out_size,
				  out_map, out_unmap, opts);
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

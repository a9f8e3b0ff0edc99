/* io_png.c: PNG decoding and encoding through libpng's full API. */
#include <png.h>
#include <zlib.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "io_codec.h"
#include "size.h"

/*
 * Limits that keep hostile files cheap.  libpng's own default for the image
 * sides is kept.  A chunk whose length field claims a gigabyte must not
 * make libpng allocate it, and a flood of small ancillary chunks must not
 * pile up in memory either.  (The ancillary chunks are skipped anyway, see
 * io_png_decode; these limits are the second line.)
 */
#define PNG_SIDE_MAX 1000000u
#define PNG_CHUNK_MAX (16u << 20)
#define PNG_CHUNK_CACHE 1000

/*
 * deflate cannot expand data by more than about 1032:1 (a 258-byte match
 * in two bits), so a file that declares more pixel bytes than that times
 * its size cannot hold them; it is rejected before the planes are allocated.
 */
#define DEFLATE_MAX_RATIO 1032u

/*
 * Compressed image data after the last row is inflated by libpng, while it
 * finishes the last row (or pass) and in png_read_end, to check the end of
 * the stream and its Adler-32.  An encoder leaves a few bytes there; a bomb
 * can leave megabytes that inflate to gigabytes, seconds each.  So no call
 * into libpng may read more image data than one row can take at worst
 * (stored: rowbytes plus 1/64 for block headers) and this much more;
 * beyond it the file is refused.
 */
#define PNG_TAIL_MAX (16u << 10)

/* The chunk type IDAT as png_get_io_chunk_type returns it. */
#define PNG_TYPE_IDAT 0x49444154u


/* What the error handler needs, shared by reading and writing. */
struct png_msg {
	const char *name;
	struct err *err;
	int io_errno;   /* set by a failed fwrite before it raises the error */
};

/*
 * libpng calls this for every fatal error.  The message is libpng's own;
 * it never reaches stderr, only the error record, and the jump returns to
 * the setjmp in decode_run or encode_run.
 */
static void on_error(png_structp png, png_const_charp msg)
{
	struct png_msg *m = png_get_error_ptr(png);

	if (m->io_errno)
		err_set(m->err, ERR_IO, "%s: %s", m->name, strerror(m->io_errno));
	else if (strstr(msg, "memory") != NULL)
		err_set(m->err, ERR_OS, "%s: %s", m->name, msg);
	else
		err_set(m->err, ERR_DATA, "%s: %s", m->name, msg);
	png_longjmp(png, 1);
}

/* Warnings (a damaged ancillary chunk, an odd gamma) are dropped silently. */
static void on_warning(png_structp png, png_const_charp msg)
{
	(void)png;
	(void)msg;
}

/* ---- decoding -------------------------------------------------------------- */

/*
 * Everything decode_run allocates lives here, outside the function that
 * calls setjmp, so the cleanup after a longjmp sees every pointer.
 */
struct png_dec {
	struct png_msg msg;
	struct io_src *src;
	const struct io_sink *sink;
	size_t pos;
	png_structp png;
	png_infop info;
	unsigned char *pix;   /* one row, or the whole image when interlaced */
	float unit[256];      /* io_unit_table8 */
	png_bytepp rows;      /* row pointers into pix when interlaced */
	struct image hdr;     /* what the sink's begin gets */
	size_t idat, idat_max;  /* IDAT data bytes read in this call, allowed */
	size_t exif_at;         /* the first eXIf chunk after the image data, or 0 */
};

static void read_mem(png_structp png, png_bytep out, size_t len)
{
	struct png_dec *d = png_get_io_ptr(png);

	if (len > d->src->n - d->pos)
		png_error(png, "unexpected end of file");
	if (d->idat_max != 0 && (png_get_io_state(png) & PNG_IO_CHUNK_DATA) &&
	    png_get_io_chunk_type(png) == PNG_TYPE_IDAT) {
		d->idat += len;
		if (d->idat > d->idat_max)
			png_error(png, "too much compressed image data for the rows it holds");
	}
	memcpy(out, d->src->buf + d->pos, len);
	d->pos += len;
	io_src_done(d->src, d->pos);
}

static unsigned long get32(const unsigned char *p)
{
	return (unsigned long)p[0] << 24 | (unsigned long)p[1] << 16 |
	       (unsigned long)p[2] << 8 | p[3];
}

/*
 * check_chunks walks the chunk list before libpng sees it.  A chunk cannot
 * be longer than the file that holds it; refusing such a length here means
 * no handler of libpng's can be asked to allocate it (libpng only warns
 * about a chunk above its malloc limit, then allocates anyway).  It also
 * finds the eXIf chunks after the image data (*exif_at: the first), which
 * the metadata needs before the first row is out (late_exif).  The walk
 * touches a page per chunk, which for a file of small IDAT chunks is
 * every page: they are dropped as it goes and at its end.
 */
static int check_chunks(struct io_src *src, size_t *exif_at, struct err *err)
{
	size_t pos = 8;
	int idat = 0;

	*exif_at = 0;
	while (pos + 12 <= src->n) {
		const unsigned char *p = src->buf + pos;
		unsigned long len = get32(p);

		if (len > src->n - pos - 12) {
			io_src_drop(src, 0, src->n);
			src->dropped = 0;
			return err_set(err, ERR_DATA, "%s: chunk %.4s at byte %zu claims %lu bytes, "
				       "more than the file holds", src->name,
				       (const char *)p + 4, pos, len);
		}
		if (memcmp(p + 4, "IEND", 4) == 0)
			break;
		idat |= memcmp(p + 4, "IDAT", 4) == 0;
		if (idat && *exif_at == 0 && memcmp(p + 4, "eXIf", 4) == 0)
			*exif_at = pos;
		pos += 12 + len;
		io_src_done(src, pos);
	}
	io_src_drop(src, 0, src->n);
	src->dropped = 0;
	return 0;
}

/*
 * late_exif reads the eXIf chunks after the image data as libpng will
 * when it gets there: the first one that is at least two bytes, starts
 * "MM" or "II" and has a good CRC (a bad one is only warned about and
 * dropped) is the image's EXIF, unless one came before the image data.
 */
static int late_exif(struct png_dec *d)
{
	struct img_meta *m = &d->hdr.meta;
	size_t pos = d->exif_at;
	const unsigned char *p;
	unsigned long len;

	for (; pos + 12 <= d->src->n; pos += 12 + len) {
		p = d->src->buf + pos;
		len = get32(p);
		if (memcmp(p + 4, "IEND", 4) == 0)
			break;
		if (memcmp(p + 4, "eXIf", 4) != 0 || len < 2 || (p[8] != 'M' && p[8] != 'I') ||
		    p[9] != p[8] ||
		    crc32(crc32(crc32(0L, Z_NULL, 0), p + 4, 4), p + 8, (uInt)len) != get32(p + 8 + len))
			continue;
		if ((m->exif = malloc(len)) == NULL)
			return err_oom(d->msg.err, d->src->name);
		memcpy(m->exif, p + 8, len);
		m->exif_len = len;
		break;
	}
	return 0;
}

/* copy_meta keeps the chunks that travel to the output (image.h). */
static int copy_meta(struct png_dec *d)
{
	struct img_meta *m = &d->hdr.meta;
	png_structp png = d->png;
	png_infop info = d->info;
	png_charp name;
	png_bytep profile, exif;
	png_uint_32 len;
	png_fixed_point v[8];
	int comp, intent;

	if (png_get_iCCP(png, info, &name, &comp, &profile, &len) && len > 0) {
		if ((m->icc = malloc(len)) == NULL)
			return err_oom(d->msg.err, d->src->name);
		memcpy(m->icc, profile, len);
		m->icc_len = len;
		snprintf(m->icc_name, sizeof m->icc_name, "%s", name);
	}
	if (png_get_eXIf_1(png, info, &len, &exif) && len > 0) {
		if ((m->exif = malloc(len)) == NULL)
			return err_oom(d->msg.err, d->src->name);
		memcpy(m->exif, exif, len);
		m->exif_len = len;
	} else if (d->exif_at != 0 && late_exif(d)) {
		return -1;
	}
	if (png_get_gAMA_fixed(png, info, &v[0])) {
		m->has_gamma = 1;
		m->gamma = v[0];
	}
	if (png_get_cHRM_fixed(png, info, &v[0], &v[1], &v[2], &v[3], &v[4], &v[5],
			       &v[6], &v[7])) {
		m->has_chrm = 1;
		for (comp = 0; comp < 8; comp++)
			m->chrm[comp] = v[comp];
	}
	if (png_get_sRGB(png, info, &intent)) {
		m->has_srgb = 1;
		m->srgb_intent = intent;
	}
	return 0;
}

/*
 * put_row hands row y, interleaved 8- or 16-bit samples, to the sink,
 * once rows 0..y-1 are put; 8-bit samples are looked up in unit
 * (io_unit_table8).
 */
static int put_row(struct png_dec *d, const unsigned char *row, int y)
{
	const struct io_sink *sink = d->sink;
	int c, x, nch = d->hdr.nch, w = d->hdr.w;

	if (y > 0 && sink->put(sink->ctx, y, d->msg.err))
		return -1;
	for (c = 0; c < nch; c++) {
		float *out = sink->row(sink->ctx, c, y);

		if (d->hdr.depth == 16) {
			const unsigned char *p = row + 2 * c;

			for (x = 0; x < w; x++, p += 2 * nch)
				out[x] = (float)(p[0] << 8 | p[1]) / 65535.0f;
		} else {
			const unsigned char *p = row + c;

			for (x = 0; x < w; x++, p += nch)
				out[x] = d->unit[*p];
		}
	}
	return 0;
}

/*
 * read_interlaced reads the passes of an Adam7 image into rows held at the
 * file's depth (each pass fills rows all over the image), then puts them.
 */
static int read_interlaced(struct png_dec *d, int passes, size_t rowbytes)
{
	png_uint_32 y, h = (png_uint_32)d->hdr.h;
	size_t total;
	int pass;

	if (size_mul(&total, rowbytes, h) ||
	    (d->pix = malloc(total)) == NULL ||
	    (d->rows = malloc(h * sizeof *d->rows)) == NULL)
		return err_oom(d->msg.err, d->src->name);
	for (y = 0; y < h; y++)
		d->rows[y] = d->pix + y * rowbytes;
	/* As png_read_image, one row at a time for read_mem's count. */
	for (pass = 0; pass < passes; pass++)
		for (y = 0; y < h; y++) {
			d->idat = 0;
			png_read_row(d->png, d->rows[y], NULL);
		}
	for (y = 0; y < h; y++)
		if (put_row(d, d->rows[y], (int)y))
			return -1;
	return 0;
}

/*
 * The transforms bring every PNG to 8- or 16-bit grey, grey+alpha, RGB or
 * RGBA, which is the channel order of struct image.  Samples are taken as
 * stored: gAMA, cHRM, sRGB, iCCP and sBIT are not applied, and bKGD is not
 * composited, so the filter sees the file's own numbers.
 */
static int decode_run(struct png_dec *d)
{
	png_structp png = d->png;
	png_infop info = d->info;
	png_uint_32 w, h, y;
	int bit_depth, color_type, passes;
	size_t rowbytes;

	if (setjmp(png_jmpbuf(png)))
		return -1;
	png_read_info(png, info);
	png_get_IHDR(png, info, &w, &h, &bit_depth, &color_type, NULL, NULL, NULL);
	if (io_check_size(d->src, w, h, d->msg.err))
		return -1;
	if ((unsigned long long)w * h * png_get_channels(png, info) * bit_depth / 8 /
	    DEFLATE_MAX_RATIO > d->src->n)
		return err_set(d->msg.err, ERR_DATA,
			       "%s: too little image data for %lu x %lu pixels",
			       d->src->name, (unsigned long)w, (unsigned long)h);

	if (color_type == PNG_COLOR_TYPE_PALETTE)
		png_set_palette_to_rgb(png);
	if (color_type == PNG_COLOR_TYPE_GRAY && bit_depth < 8)
		png_set_expand_gray_1_2_4_to_8(png);
	if (png_get_valid(png, info, PNG_INFO_tRNS))
		png_set_tRNS_to_alpha(png);
	passes = png_set_interlace_handling(png);
	png_read_update_info(png, info);
	if (passes > 1 && io_check_hold(d->src, w, h, d->msg.err))
		return -1;

	d->hdr.w = (int)w;
	d->hdr.h = (int)h;
	d->hdr.nch = png_get_channels(png, info);
	d->hdr.depth = png_get_bit_depth(png, info) == 16 ? 16 : 8;
	rowbytes = png_get_rowbytes(png, info);
	/* The metadata is complete here, a late eXIf included (check_chunks). */
	if (copy_meta(d) || d->sink->begin(d->sink->ctx, &d->hdr, d->msg.err))
		return -1;
	d->idat_max = rowbytes + rowbytes / 64 + PNG_TAIL_MAX;
	io_unit_table8(d->unit);
	if (passes == 1) {
		d->pix = malloc(rowbytes);
		if (d->pix == NULL)
			return err_oom(d->msg.err, d->src->name);
		for (y = 0; y < h; y++) {
			d->idat = 0;
			png_read_row(png, d->pix, NULL);
			if (put_row(d, d->pix, (int)y))
				return -1;
		}
	} else if (read_interlaced(d, passes, rowbytes)) {
		return -1;
	}
	/*
	 * Reading up to IEND checks the end of the compressed stream, its
	 * Adler-32 and the CRCs of the chunks after the image; only then is
	 * the last row final.
	 */
	d->idat = 0;
	png_read_end(png, info);
	return d->sink->put(d->sink->ctx, (int)h, d->msg.err);
}

int io_png_read(struct io_src *src, const struct io_sink *sink, struct err *err)
{
	struct png_dec d;
	int rc;

	memset(&d, 0, sizeof d);
	d.msg.name = src->name;
	d.msg.err = err;
	d.src = src;
	d.sink = sink;
	if (check_chunks(src, &d.exif_at, err))
		return -1;
	d.png = png_create_read_struct(PNG_LIBPNG_VER_STRING, &d.msg, on_error, on_warning);
	if (d.png == NULL)
		return err_oom(err, src->name);
	d.info = png_create_info_struct(d.png);
	if (d.info == NULL) {
		png_destroy_read_struct(&d.png, NULL, NULL);
		return err_oom(err, src->name);
	}
	png_set_read_fn(d.png, &d, read_mem);
	/*
	 * Every ancillary chunk but tRNS and the metadata carried to the
	 * output is skipped unread: their content is not used (see decode_run),
	 * and libpng only warns about a chunk longer than PNG_CHUNK_MAX before
	 * allocating its full declared length for the text, eXIf, pCAL, sCAL
	 * and sPLT handlers (check_chunks bounds eXIf by the file size).
	 */
	static const png_byte meta_chunks[] = "iCCP\0eXIf\0gAMA\0cHRM\0sRGB";

	png_set_keep_unknown_chunks(d.png, PNG_HANDLE_CHUNK_NEVER, NULL, -1);
	png_set_keep_unknown_chunks(d.png, PNG_HANDLE_CHUNK_AS_DEFAULT, meta_chunks,
				    (int)(sizeof meta_chunks / 5));
	png_set_user_limits(d.png, PNG_SIDE_MAX, PNG_SIDE_MAX);
	png_set_chunk_cache_max(d.png, PNG_CHUNK_CACHE);
	png_set_chunk_malloc_max(d.png, PNG_CHUNK_MAX);

	rc = decode_run(&d);

	png_destroy_read_struct(&d.png, &d.info, NULL);
	free(d.rows);
	free(d.pix);
	img_free(&d.hdr);
	return rc;
}

/* ---- encoding -------------------------------------------------------------- */

struct png_enc {
	struct png_msg msg;
	FILE *f;
	png_structp png;
	png_infop info;
	const struct image *im;
	int depth;
};

static void write_file(png_structp png, png_bytep p, size_t n)
{
	struct png_enc *e = png_get_io_ptr(png);

	if (fwrite(p, 1, n, e->f) != n) {
		e->msg.io_errno = errno ? errno : EIO;
		png_error(png, "write error");
	}
}

/* io.c flushes and syncs the whole file once it is complete. */
static void flush_nothing(png_structp png)
{
	(void)png;
}
/*
 * put_meta writes the carried metadata.  A profile that does not suit the
 * image (libpng checks it) is dropped with a warning, which is silent.
 */
static void put_meta(png_structp png, png_infop info, const struct img_meta *m)
{
	png_set_benign_errors(png, 1);
	if (m->icc != NULL && m->icc_len <= 0xffffffffu)
		png_set_iCCP(png, info, m->icc_name[0] ? m->icc_name : "ICC profile",
			     PNG_COMPRESSION_TYPE_BASE, m->icc, (png_uint_32)m->icc_len);
	else if (m->has_srgb)
		png_set_sRGB(png, info, m->srgb_intent);
	if (m->has_gamma)
		png_set_gAMA_fixed(png, info, (png_fixed_point)m->gamma);
	if (m->has_chrm)
		png_set_cHRM_fixed(png, info, (png_fixed_point)m->chrm[0], (png_fixed_point)m->chrm[1],
				   (png_fixed_point)m->chrm[2], (png_fixed_point)m->chrm[3],
				   (png_fixed_point)m->chrm[4], (png_fixed_point)m->chrm[5],
				   (png_fixed_point)m->chrm[6], (png_fixed_point)m->chrm[7]);
	if (m->exif != NULL && m->exif_len <= 0x7fffffffu)
		png_set_eXIf_1(png, info, (png_uint_32)m->exif_len, m->exif);
}

/*
 * header_run has libpng write the signature, the header and the
 * metadata; the image data and the end are ours (io_idat.c), deflated in
 * parallel.  Nothing of libpng's comes after IDAT: eXIf goes before it.
 */
static int header_run(struct png_enc *e)
{
	static const int color_types[IMG_MAX_CHANNELS + 1] = {
		0, PNG_COLOR_TYPE_GRAY, PNG_COLOR_TYPE_GRAY_ALPHA,
		PNG_COLOR_TYPE_RGB, PNG_COLOR_TYPE_RGB_ALPHA
	};
	const struct image *im = e->im;

	if (setjmp(png_jmpbuf(e->png)))
		return -1;
	png_set_IHDR(e->png, e->info, (png_uint_32)im->w, (png_uint_32)im->h, e->depth,
		     color_types[im->nch], PNG_INTERLACE_NONE,
		     PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
	put_meta(e->png, e->info, &im->meta);
	png_write_info(e->png, e->info);
	return 0;
}

int io_png_write(FILE *f, const char *name, const struct image *info, int depth,
		 int threads, int level, const struct io_source *src, struct err *err)
{
	struct png_enc e;
	int rc;

	memset(&e, 0, sizeof e);
	e.msg.name = name;
	e.msg.err = err;
	e.f = f;
	e.im = info;
	e.depth = depth;
	e.png = png_create_write_struct(PNG_LIBPNG_VER_STRING, &e.msg, on_error, on_warning);
	if (e.png != NULL)
		e.info = png_create_info_struct(e.png);
	if (e.info == NULL) {
		png_destroy_write_struct(&e.png, NULL);
		return err_oom(err, name);
	}
	png_set_write_fn(e.png, &e, write_file, flush_nothing);
	rc = header_run(&e);
	png_destroy_write_struct(&e.png, &e.info);
	if (rc)
		return -1;
	return io_png_idat(f, name, info, depth, threads, level, src, err);
}

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
	const struct io_src *src;
	size_t pos;
	png_structp png;
	png_infop info;
	unsigned char *pix;   /* one row, or the whole image when interlaced */
	float unit[256];      /* io_unit_table8 */
	png_bytepp rows;      /* row pointers into pix when interlaced */
	struct image *im;
	size_t idat, idat_max;  /* IDAT data bytes read in this call, allowed */
	int late_exif;          /* metadata after the image data (check_chunks) */
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
}

/*
 * check_chunks walks the chunk list before libpng sees it.  A chunk cannot
 * be longer than the file that holds it; refusing such a length here means
 * no handler of libpng's can be asked to allocate it (libpng only warns
 * about a chunk above its malloc limit, then allocates anyway).  It also
 * says whether an eXIf chunk follows the image data (*late_exif), when the
 * metadata is complete only at the end.
 */
static int check_chunks(const struct io_src *src, int *late_exif, struct err *err)
{
	size_t pos = 8;
	int idat = 0;

	while (pos + 12 <= src->n) {
		const unsigned char *p = src->buf + pos;
		unsigned long len = (unsigned long)p[0] << 24 | (unsigned long)p[1] << 16 |
				    (unsigned long)p[2] << 8 | p[3];

		if (len > src->n - pos - 12)
			return err_set(err, ERR_DATA, "%s: chunk %.4s at byte %zu claims %lu bytes, "
				       "more than the file holds", src->name,
				       (const char *)p + 4, pos, len);
		if (memcmp(p + 4, "IEND", 4) == 0)
			break;
		idat |= memcmp(p + 4, "IDAT", 4) == 0;
		if (idat && memcmp(p + 4, "eXIf", 4) == 0)
			*late_exif = 1;
		pos += 12 + len;
	}
	return 0;
}

/* copy_meta keeps the chunks that travel to the output (image.h). */
static int copy_meta(struct png_dec *d)
{
	struct img_meta *m = &d->im->meta;
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
 * put_row spreads one row of interleaved 8- or 16-bit samples over the
 * planes; 8-bit samples are looked up in unit (io_unit_table8).
 */
static void put_row(struct image *im, const unsigned char *row, int y, const float *unit)
{
	int c, x, nch = im->nch;

	for (c = 0; c < nch; c++) {
		float *out = plane_row(&im->ch[c], y);

		if (im->depth == 16) {
			const unsigned char *p = row + 2 * c;

			for (x = 0; x < im->w; x++, p += 2 * nch)
				out[x] = (float)(p[0] << 8 | p[1]) / 65535.0f;
		} else {
			const unsigned char *p = row + c;

			for (x = 0; x < im->w; x++, p += nch)
				out[x] = unit[*p];
		}
	}
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
	int bit_depth, color_type, passes, pass;
	size_t rowbytes, total;

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

	if (img_alloc(d->im, (int)w, (int)h, png_get_channels(png, info), d->msg.err))
		return -1;
	d->im->depth = png_get_bit_depth(png, info) == 16 ? 16 : 8;
	rowbytes = png_get_rowbytes(png, info);

	/*
	 * The chunks before the image data are read: unless an eXIf chunk
	 * comes after it, the metadata is complete, and a reader of the rows
	 * as they come (io_src_rows) may start.  The last row is final only
	 * once png_read_end has checked the stream (io.c says so).
	 */
	if (!d->late_exif) {
		if (copy_meta(d))
			return -1;
		io_src_rows(d->src, d->im, 0);
	}
	d->idat_max = rowbytes + rowbytes / 64 + PNG_TAIL_MAX;
	io_unit_table8(d->unit);
	if (passes == 1) {
		d->pix = malloc(rowbytes);
		if (d->pix == NULL)
			return err_oom(d->msg.err, d->src->name);
		for (y = 0; y < h; y++) {
			d->idat = 0;
			png_read_row(png, d->pix, NULL);
			put_row(d->im, d->pix, (int)y, d->unit);
			if (!d->late_exif && y + 1 < h)
				io_src_rows(d->src, d->im, (int)y + 1);
		}
	} else {
		/* Adam7 fills every row in each pass, so the whole image is needed. */
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
				png_read_row(png, d->rows[y], NULL);
			}
		for (y = 0; y < h; y++) {
			put_row(d->im, d->rows[y], (int)y, d->unit);
			if (!d->late_exif && y + 1 < h)
				io_src_rows(d->src, d->im, (int)y + 1);
		}
	}
	/*
	 * Reading up to IEND checks the end of the compressed stream, its
	 * Adler-32 and the CRCs of the chunks after the image (eXIf may be
	 * there).
	 */
	d->idat = 0;
	png_read_end(png, info);
	return d->late_exif ? copy_meta(d) : 0;
}

int io_png_decode(const struct io_src *src, struct image *im, struct err *err)
{
	struct png_dec d;
	int rc;

	memset(im, 0, sizeof *im);
	memset(&d, 0, sizeof d);
	d.msg.name = src->name;
	d.msg.err = err;
	d.src = src;
	d.im = im;
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

	if (check_chunks(src, &d.late_exif, err)) {
		png_destroy_read_struct(&d.png, &d.info, NULL);
		return -1;
	}
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
	if (rc) {
		io_src_rows(src, im, -1);
		img_free(im);
	}
	return rc;
}

/* ---- encoding -------------------------------------------------------------- */

struct png_enc {
	struct png_msg msg;
	FILE *f;
	png_structp png;
	png_infop info;
	const struct image *im;
	int depth, threads, level;
	const struct io_rows *rows;
	struct io_idat *idat;
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

static int encode_run(struct png_enc *e)
{
	static const int color_types[IMG_MAX_CHANNELS + 1] = {
		0, PNG_COLOR_TYPE_GRAY, PNG_COLOR_TYPE_GRAY_ALPHA,
		PNG_COLOR_TYPE_RGB, PNG_COLOR_TYPE_RGB_ALPHA
	};
	const struct image *im = e->im;

	/*
	 * The image data is deflated first, into memory, and the file written
	 * after, so that rows still being made (e->rows) are deflated as they
	 * come.
	 */
	if (io_png_deflate(e->msg.name, im, e->depth, e->threads, e->level, e->rows, &e->idat,
			   e->msg.err))
		return -1;
	if (setjmp(png_jmpbuf(e->png)))
		return -1;
	png_set_IHDR(e->png, e->info, (png_uint_32)im->w, (png_uint_32)im->h, e->depth,
		     color_types[im->nch], PNG_INTERLACE_NONE,
		     PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
	put_meta(e->png, e->info, &im->meta);
	/*
	 * libpng writes the signature, the header and the metadata; the
	 * image data and the end are ours (io_idat.c), deflated in parallel.
	 * Nothing of libpng's comes after IDAT: eXIf goes before it.
	 */
	png_write_info(e->png, e->info);
	return io_png_idat_write(e->f, e->msg.name, e->idat, e->msg.err);
}

int io_png_encode(FILE *f, const char *name, const struct image *im, int depth,
		  int threads, int level, const struct io_rows *rows, struct err *err)
{
	struct png_enc e;
	int rc;

	memset(&e, 0, sizeof e);
	e.msg.name = name;
	e.msg.err = err;
	e.f = f;
	e.im = im;
	e.depth = depth;
	e.threads = threads > 0 ? threads : 1;
	e.level = level;
	e.rows = rows;
	e.png = png_create_write_struct(PNG_LIBPNG_VER_STRING, &e.msg, on_error, on_warning);
	if (e.png != NULL)
		e.info = png_create_info_struct(e.png);
	if (e.info == NULL) {
		png_destroy_write_struct(&e.png, NULL);
		return err_oom(err, name);
	}
	png_set_write_fn(e.png, &e, write_file, flush_nothing);

	rc = encode_run(&e);

	png_destroy_write_struct(&e.png, &e.info);
	io_png_idat_free(e.idat);
	return rc;
}

/* io_jpeg.c: JPEG decoding and encoding through libjpeg(-turbo). */
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jpeglib.h>
#include <jerror.h>

#include "io_codec.h"

/*
 * A progressive file may carry any number of scans, and each one makes the
 * decoder pass over the whole coefficient buffer again; a hostile file can
 * spin for minutes that way.  1000 is ten times what cjpeg can write.
 */
#define JPEG_MAX_SCANS 1000

/* Quality from which chroma is kept at full resolution (see encode_run). */
#define JPEG_FULL_CHROMA_QUALITY 90

#define JPEG_OUT_BUF 65536

/*
 * Our error manager: libjpeg's, plus where to jump and what to fill.  It is
 * the first member of the codec state, which lives in the caller of the
 * function that calls setjmp, so nothing it holds is lost by the jump.
 */
struct jpeg_fail {
	struct jpeg_error_mgr pub;
	jmp_buf jb;
	const char *name;
	struct err *err;
	int io_errno;   /* set by a failed fwrite before it raises the error */
	char *damage;   /* decoding: where accepted damage is told (NULL: refuse it) */
	int warning;    /* the error being raised is a refused warning */
};

/* Every fatal error ends here with libjpeg's own formatted message. */
static void on_error_exit(j_common_ptr cinfo)
{
	struct jpeg_fail *f = (struct jpeg_fail *)cinfo->err;
	char msg[JMSG_LENGTH_MAX];

	(*cinfo->err->format_message)(cinfo, msg);
	if (f->io_errno)
		err_set(f->err, ERR_IO, "%s: %s", f->name, strerror(f->io_errno));
	else if (cinfo->err->msg_code == JERR_OUT_OF_MEMORY)
		err_set(f->err, ERR_OS, "%s: %s", f->name, msg);
	else if (f->warning)
		err_set(f->err, ERR_DATA, "%s: %s (--accept-damaged decodes it anyway)", f->name, msg);
	else
		err_set(f->err, ERR_DATA, "%s: %s", f->name, msg);
	longjmp(f->jb, 1);
}

/*
 * Warnings (msg_level -1) are corrupt data: a truncated file, a damaged
 * segment.  libjpeg would carry on and pad the picture with grey, which
 * would then be filtered and written as if it were the image, so they are
 * errors here, unless the caller accepts damaged files: then decoding goes
 * on and the first warning is kept for the caller to report.  Trace
 * messages (msg_level >= 0) are dropped.
 */
static void on_emit_message(j_common_ptr cinfo, int msg_level)
{
	struct jpeg_fail *f = (struct jpeg_fail *)cinfo->err;

	if (msg_level >= 0)
		return;
	if (f->damage == NULL) {
		f->warning = 1;
		on_error_exit(cinfo);
	}
	if (f->damage[0] == '\0')
		(*cinfo->err->format_message)(cinfo, f->damage);
}

/* Nothing of libjpeg's ever reaches stderr. */
static void on_output_message(j_common_ptr cinfo)
{
	(void)cinfo;
}

static void init_fail(struct jpeg_fail *f, const char *name, struct err *err)
{
	jpeg_std_error(&f->pub);
	f->pub.error_exit = on_error_exit;
	f->pub.emit_message = on_emit_message;
	f->pub.output_message = on_output_message;
	f->name = name;
	f->err = err;
}

/* ---- decoding -------------------------------------------------------------- */

struct jpeg_dec {
	struct jpeg_fail fail;
	struct jpeg_decompress_struct cinfo;
	struct jpeg_progress_mgr progress;
	struct io_src *src;
	const struct io_sink *sink;
	struct image hdr;     /* what the sink's begin gets */
};

static void on_progress(j_common_ptr cinfo)
{
	j_decompress_ptr c = (j_decompress_ptr)cinfo;
	struct jpeg_fail *f = (struct jpeg_fail *)cinfo->err;

	if (c->input_scan_number > JPEG_MAX_SCANS) {
		err_set(f->err, ERR_DATA, "%s: more than %d scans", f->name, JPEG_MAX_SCANS);
		longjmp(f->jb, 1);
	}
}

/*
 * CMYK to RGB.  Adobe's applications (the files with an APP14 marker) store
 * CMYK inverted, 255 meaning no ink, so there R = C * K / 255; other files
 * store ink amounts, R = (255 - C) * (255 - K) / 255.  libjpeg has already
 * turned YCCK into CMYK.  No colour profile is applied: this is the naive
 * conversion every viewer without colour management uses.
 */
static void put_cmyk_row(float *const out[3], const JSAMPLE *row, int w, int adobe)
{
	int x;

	for (x = 0; x < w; x++, row += 4) {
		float c = row[0], m = row[1], ye = row[2], k = row[3];

		if (!adobe) {
			c = 255.0f - c;
			m = 255.0f - m;
			ye = 255.0f - ye;
			k = 255.0f - k;
		}
		out[0][x] = c * k / (255.0f * 255.0f);
		out[1][x] = m * k / (255.0f * 255.0f);
		out[2][x] = ye * k / (255.0f * 255.0f);
	}
}

/* put_row spreads an interleaved row over the channels; unit is io_unit_table8's. */
static void put_row(float *const out[3], const JSAMPLE *row, int w, int nch, const float *unit)
{
	int c, x;

	for (c = 0; c < nch; c++) {
		const JSAMPLE *p = row + c;

		for (x = 0; x < w; x++, p += nch)
			out[c][x] = unit[*p];
	}
}

/*
 * copy_meta keeps the ICC profile (APP2, reassembled by libjpeg-turbo) and
 * the first EXIF block (APP1 starting "Exif\0\0") for the output.
 */
static int copy_meta(struct jpeg_dec *d)
{
	static const char exif_id[6] = { 'E', 'x', 'i', 'f', 0, 0 };
	struct img_meta *m = &d->hdr.meta;
	jpeg_saved_marker_ptr mk;
	JOCTET *icc;
	unsigned int len;

	if (jpeg_read_icc_profile(&d->cinfo, &icc, &len) && len > 0) {
		m->icc = icc;     /* malloc'd by libjpeg-turbo: ours to free */
		m->icc_len = len;
	}
	for (mk = d->cinfo.marker_list; mk != NULL; mk = mk->next) {
		if (mk->marker != JPEG_APP0 + 1 || mk->data_length <= sizeof exif_id ||
		    memcmp(mk->data, exif_id, sizeof exif_id) != 0)
			continue;
		m->exif_len = mk->data_length - sizeof exif_id;
		if ((m->exif = malloc(m->exif_len)) == NULL)
			return err_oom(d->fail.err, d->src->name);
		memcpy(m->exif, mk->data + sizeof exif_id, m->exif_len);
		break;
	}
	return 0;
}

/* input_done tells the file's reader how far libjpeg has read (libjpeg's memory source). */
static void input_done(struct jpeg_dec *d)
{
	const JOCTET *p = d->cinfo.src->next_input_byte;

	/* At the end of the data libjpeg reads a fake end marker of its own. */
	if (p >= d->src->buf && p <= d->src->buf + d->src->n)
		io_src_done(d->src, (size_t)(p - d->src->buf));
}

/*
 * Pixels are returned as stored: an EXIF Orientation tag is not applied,
 * so a photo a camera tagged "rotate 90" comes out lying on its side, as
 * the decoder sees it.  A progressive file (or any of several scans) is
 * held whole by libjpeg, as coefficients, so the limit on holdings
 * applies to it; a baseline file goes through a few rows at a time.
 */
static int decode_run(struct jpeg_dec *d)
{
	j_decompress_ptr c = &d->cinfo;
	const struct io_sink *sink = d->sink;
	JSAMPARRAY row;
	int nch, cmyk, ch;
	float unit[256], *out[3];

	if (setjmp(d->fail.jb))
		return -1;
	jpeg_create_decompress(c);
	d->progress.progress_monitor = on_progress;
	c->progress = &d->progress;
	jpeg_mem_src(c, d->src->buf, (unsigned long)d->src->n);
	jpeg_save_markers(c, JPEG_APP0 + 1, 0xffff);
	jpeg_save_markers(c, JPEG_APP0 + 2, 0xffff);
	jpeg_read_header(c, TRUE);
	if (io_check_size(d->src, c->image_width, c->image_height, d->fail.err) ||
	    (jpeg_has_multiple_scans(c) &&
	     io_check_hold(d->src, c->image_width, c->image_height, d->fail.err)))
		return -1;
	switch (c->jpeg_color_space) {
	case JCS_GRAYSCALE:
		c->out_color_space = JCS_GRAYSCALE;
		cmyk = 0;
		nch = 1;
		break;
	case JCS_CMYK:
	case JCS_YCCK:
		c->out_color_space = JCS_CMYK;
		cmyk = 1;
		nch = 3;
		break;
	default:
		c->out_color_space = JCS_RGB;
		cmyk = 0;
		nch = 3;
		break;
	}
	jpeg_start_decompress(c);
	input_done(d);
	d->hdr.w = (int)c->output_width;
	d->hdr.h = (int)c->output_height;
	d->hdr.nch = nch;
	d->hdr.depth = 8;
	if (copy_meta(d) || sink->begin(sink->ctx, &d->hdr, d->fail.err))
		return -1;
	/* Memory from libjpeg's pools goes away with jpeg_destroy, jump or not. */
	row = (*c->mem->alloc_sarray)((j_common_ptr)c, JPOOL_IMAGE,
				      c->output_width * (JDIMENSION)c->output_components, 1);
	io_unit_table8(unit);
	while (c->output_scanline < c->output_height) {
		int y = (int)c->output_scanline;

		if (y > 0 && sink->put(sink->ctx, y, d->fail.err))
			return -1;
		jpeg_read_scanlines(c, row, 1);
		input_done(d);
		for (ch = 0; ch < nch; ch++)
			out[ch] = sink->row(sink->ctx, ch, y);
		if (cmyk)
			put_cmyk_row(out, row[0], d->hdr.w, c->saw_Adobe_marker);
		else
			put_row(out, row[0], d->hdr.w, nch, unit);
	}
	jpeg_finish_decompress(c);
	return sink->put(sink->ctx, d->hdr.h, d->fail.err);
}

int io_jpeg_read(struct io_src *src, const struct io_sink *sink, struct err *err)
{
	struct jpeg_dec d;
	int rc;

	memset(&d, 0, sizeof d);
	init_fail(&d.fail, src->name, err);
	d.fail.damage = src->accept_damaged && src->damage != NULL ? src->damage : NULL;
	d.cinfo.err = &d.fail.pub;
	d.src = src;
	d.sink = sink;

	rc = decode_run(&d);

	jpeg_destroy_decompress(&d.cinfo);
	img_free(&d.hdr);
	return rc;
}

/* ---- encoding -------------------------------------------------------------- */

/*
 * A destination manager writing to our FILE *, so that a failed write keeps
 * its errno (jpeg_stdio_dest only says "out of disk space?").
 */
struct jpeg_out {
	struct jpeg_destination_mgr pub;
	FILE *f;
	JOCTET buf[JPEG_OUT_BUF];
};

static void flush_out(j_compress_ptr cinfo, size_t n)
{
	struct jpeg_out *o = (struct jpeg_out *)cinfo->dest;

	if (n != 0 && fwrite(o->buf, 1, n, o->f) != n) {
		((struct jpeg_fail *)cinfo->err)->io_errno = errno ? errno : EIO;
		ERREXIT(cinfo, JERR_FILE_WRITE);
	}
	o->pub.next_output_byte = o->buf;
	o->pub.free_in_buffer = sizeof o->buf;
}

static void init_out(j_compress_ptr cinfo)
{
	flush_out(cinfo, 0);
}

static boolean empty_out(j_compress_ptr cinfo)
{
	/* libjpeg asks only when the buffer is full, whatever free_in_buffer says. */
	flush_out(cinfo, JPEG_OUT_BUF);
	return TRUE;
}

static void term_out(j_compress_ptr cinfo)
{
	struct jpeg_out *o = (struct jpeg_out *)cinfo->dest;

	flush_out(cinfo, sizeof o->buf - o->pub.free_in_buffer);
}

struct jpeg_enc {
	struct jpeg_fail fail;
	struct jpeg_compress_struct cinfo;
	struct jpeg_out out;
	const struct image *im;
	int quality;
	const struct io_source *src;
};

/*
 * get_row interleaves row y as grey or RGB; alpha is dropped.  Each
 * channel's row is quantized whole into tmp (w samples), then spread.
 */
static void get_row(const struct io_source *src, int w, int ncomp, JSAMPLE *row,
		    unsigned char *tmp, int y)
{
	int c, x;

	if (ncomp == 1) {
		io_quantize_row8(row, src->row(src->ctx, 0, y), w);
		return;
	}
	for (c = 0; c < ncomp; c++) {
		JSAMPLE *p = row + c;

		io_quantize_row8(tmp, src->row(src->ctx, c, y), w);
		for (x = 0; x < w; x++, p += ncomp)
			*p = tmp[x];
	}
}

/* The most data one marker segment holds (its length field counts itself). */
#define JPEG_MAX_MARKER 65533u

/*
 * put_meta writes EXIF as one APP1 segment (an EXIF block too large for one
 * segment cannot be written and is dropped) and the ICC profile as APP2
 * segments, split by libjpeg-turbo.
 */
static void put_meta(j_compress_ptr c, const struct img_meta *m)
{
	static const JOCTET exif_id[6] = { 'E', 'x', 'i', 'f', 0, 0 };
	size_t i;

	if (m->exif != NULL && m->exif_len <= JPEG_MAX_MARKER - sizeof exif_id) {
		jpeg_write_m_header(c, JPEG_APP0 + 1,
				    (unsigned int)(m->exif_len + sizeof exif_id));
		for (i = 0; i < sizeof exif_id; i++)
			jpeg_write_m_byte(c, exif_id[i]);
		for (i = 0; i < m->exif_len; i++)
			jpeg_write_m_byte(c, m->exif[i]);
	}
	if (m->icc != NULL && m->icc_len <= 0xffffffffu)
		jpeg_write_icc_profile(c, m->icc, (unsigned int)m->icc_len);
}

static int encode_run(struct jpeg_enc *e)
{
	j_compress_ptr c = &e->cinfo;
	const struct image *im = e->im;
	int ncomp = im->nch >= 3 ? 3 : 1;
	JSAMPARRAY row, tmp;

	if (setjmp(e->fail.jb))
		return -1;
	jpeg_create_compress(c);
	e->out.pub.init_destination = init_out;
	e->out.pub.empty_output_buffer = empty_out;
	e->out.pub.term_destination = term_out;
	c->dest = &e->out.pub;
	c->image_width = (JDIMENSION)im->w;
	c->image_height = (JDIMENSION)im->h;
	c->input_components = ncomp;
	c->in_color_space = ncomp == 3 ? JCS_RGB : JCS_GRAYSCALE;
	jpeg_set_defaults(c);
	jpeg_set_quality(c, e->quality, TRUE);
	/*
	 * libjpeg halves the chroma both ways (4:2:0) at every quality.  From
	 * quality 90 on, that loss would dominate the error and smear coloured
	 * edges (which filters such as "edge" produce), so chroma is kept
	 * whole (4:4:4) there, as ImageMagick and GIMP do.
	 */
	if (ncomp == 3 && e->quality >= JPEG_FULL_CHROMA_QUALITY) {
		c->comp_info[0].h_samp_factor = 1;
		c->comp_info[0].v_samp_factor = 1;
	}
	/* An EXIF file conventionally has no JFIF marker; the APP1 comes first. */
	if (im->meta.exif != NULL && im->meta.exif_len <= JPEG_MAX_MARKER - 6)
		c->write_JFIF_header = FALSE;
	jpeg_start_compress(c, TRUE);
	put_meta(c, &im->meta);
	row = (*c->mem->alloc_sarray)((j_common_ptr)c, JPOOL_IMAGE,
				      c->image_width * (JDIMENSION)ncomp, 1);
	tmp = (*c->mem->alloc_sarray)((j_common_ptr)c, JPOOL_IMAGE, c->image_width, 1);
	/* libjpeg copies each row into buffers of its own: one row is all it needs of ours. */
	while (c->next_scanline < c->image_height) {
		int y = (int)c->next_scanline;

		if (io_src_wait(e->src, e->fail.name, y + 1, e->fail.err))
			return -1;
		get_row(e->src, im->w, ncomp, row[0], tmp[0], y);
		e->src->release(e->src->ctx, y + 1);
		jpeg_write_scanlines(c, row, 1);
	}
	jpeg_finish_compress(c);
	return 0;
}

int io_jpeg_write(FILE *f, const char *name, const struct image *info, int quality,
		  const struct io_source *src, struct err *err)
{
	struct jpeg_enc *e;
	int rc;

	/* The output buffer makes the state too large for the stack. */
	e = calloc(1, sizeof *e);
	if (e == NULL)
		return err_oom(err, name);
	init_fail(&e->fail, name, err);
	e->cinfo.err = &e->fail.pub;
	e->out.f = f;
	e->im = info;
	e->quality = quality;
	e->src = src;

	rc = encode_run(e);

	jpeg_destroy_compress(&e->cinfo);
	free(e);
	return rc;
}

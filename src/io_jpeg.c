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
 * ---- Markers ------------------------------------------------------------
 *
 * Of the APP markers only two kinds travel to the output: the first EXIF
 * block (APP1 starting "Exif\0\0") and the ICC profile's chunks (APP2
 * starting "ICC_PROFILE\0").  libjpeg's jpeg_save_markers would keep every
 * APP1 and APP2 in a list it walks to its end for each one it appends, so
 * a file of 100,000 tiny markers took seconds; our own marker reader
 * (jpeg_set_marker_processor) looks at the first bytes of each and keeps
 * the carried ones in an array, skipping everything else unread.  What is
 * kept is capped: at most JPEG_MAX_ICC_CHUNKS ICC chunks and
 * JPEG_MAX_META_BYTES in all; past a cap the rest are skipped, and the
 * profile they belonged to is dropped, with one warning.
 */

/* An ICC chunk's sequence number is one byte: a profile has at most 255. */
#define JPEG_MAX_ICC_CHUNKS 255
/* 255 full chunks (16.7 MB) is the largest profile a JPEG can hold. */
#define JPEG_MAX_META_BYTES (16u << 20)
#define ICC_ID_LEN 12           /* "ICC_PROFILE\0" */
#define ICC_HEAD_LEN 14         /* the identifier, the sequence number, the count */
#define EXIF_ID_LEN 6           /* "Exif\0\0" */

static const char icc_id[ICC_ID_LEN] = "ICC_PROFILE";
static const char exif_id[EXIF_ID_LEN] = { 'E', 'x', 'i', 'f', 0, 0 };

/* An ICC chunk as it came: its sequence number, its count, its payload. */
struct icc_chunk {
	int seq, count;
	unsigned char *data;
	size_t len;
};

/* The carried markers of one file, all malloc'd: io_jpeg_read frees them. */
struct jpeg_meta {
	unsigned char *exif;        /* the first EXIF block, without its identifier */
	size_t exif_len;
	struct icc_chunk icc[JPEG_MAX_ICC_CHUNKS];
	int nicc;
	size_t bytes;               /* kept so far, against JPEG_MAX_META_BYTES */
	int icc_over;               /* ICC chunks were skipped past a cap */
	int exif_more;              /* EXIF blocks after the first, skipped */
};

/*
 * marker_byte reads one byte of the marker being processed.  The memory
 * source never suspends: at the end of the data it raises libjpeg's
 * truncation warning (an error unless damage is accepted) and hands out
 * an end marker, whose bytes then read as the marker's rest.
 */
static int marker_byte(j_decompress_ptr c)
{
	struct jpeg_source_mgr *s = c->src;

	if (s->bytes_in_buffer == 0)
		(*s->fill_input_buffer)(c);
	s->bytes_in_buffer--;
	return *s->next_input_byte++;
}

static void marker_skip(j_decompress_ptr c, long n)
{
	if (n > 0)
		(*c->src->skip_input_data)(c, n);
}

/*
 * marker_read is the reader of APP1 and APP2 markers: it reads the
 * length and as many bytes as tell the kind, then keeps or skips the rest.
 * Time is linear in the number of markers and memory bounded by the caps.
 */
static boolean marker_read(j_decompress_ptr c)
{
	struct jpeg_meta *m = c->client_data;
	unsigned char head[ICC_HEAD_LEN], *data;
	size_t len, nhead, i;
	int app1 = c->unread_marker == JPEG_APP0 + 1;

	len = (size_t)marker_byte(c) << 8;
	len += (size_t)marker_byte(c);
	len = len >= 2 ? len - 2 : 0;
	nhead = app1 ? EXIF_ID_LEN : ICC_HEAD_LEN;
	if (nhead > len)
		nhead = len;
	for (i = 0; i < nhead; i++)
		head[i] = (unsigned char)marker_byte(c);
	if (app1 && (nhead < EXIF_ID_LEN || memcmp(head, exif_id, EXIF_ID_LEN) != 0)) {
		marker_skip(c, (long)(len - nhead));
		return TRUE;
	}
	if (!app1 && (nhead < ICC_ID_LEN || memcmp(head, icc_id, ICC_ID_LEN) != 0)) {
		marker_skip(c, (long)(len - nhead));
		return TRUE;
	}
	if (app1 && m->exif != NULL) {
		m->exif_more++;
		marker_skip(c, (long)(len - nhead));
		return TRUE;
	}
	if (!app1 && (m->nicc == JPEG_MAX_ICC_CHUNKS || m->bytes + len > JPEG_MAX_META_BYTES)) {
		m->icc_over = 1;
		marker_skip(c, (long)(len - nhead));
		return TRUE;
	}
	/* A chunk too short for its two numbers is kept as malformed (seq 0). */
	data = malloc(len - nhead + 1);
	if (data == NULL)
		ERREXIT1(c, JERR_OUT_OF_MEMORY, 10);
	/* Kept before it is read: a truncated file leaves by longjmp, and meta_free frees it. */
	m->bytes += len;
	if (app1) {
		m->exif = data;
		m->exif_len = len - nhead;
	} else {
		struct icc_chunk *k = &m->icc[m->nicc++];

		k->seq = nhead == ICC_HEAD_LEN ? head[12] : 0;
		k->count = nhead == ICC_HEAD_LEN ? head[13] : 0;
		k->data = data;
		k->len = len - nhead;
	}
	for (i = 0; i < len - nhead; i++)
		data[i] = (unsigned char)marker_byte(c);
	return TRUE;
}

static void meta_free(struct jpeg_meta *m)
{
	int i;

	free(m->exif);
	for (i = 0; i < m->nicc; i++)
		free(m->icc[i].data);
	memset(m, 0, sizeof *m);
}

/* warn keeps the first warning of a file for the caller to print. */
static void warn(const struct io_src *src, const char *what)
{
	if (src->warning != NULL && src->warning[0] == '\0')
		snprintf(src->warning, IO_WARNING_LEN, "%s", what);
}

/*
 * icc_check says what is wrong with the chunks of the ICC profile, or
 * NULL: every chunk must give the same count N, the sequence numbers
 * must be 1..N, each exactly once, and no chunk may be empty.  (libjpeg's
 * jpeg_read_icc_profile raises "bad ICC marker" for most of these, which
 * would refuse a file whose pixels are whole.)
 */
static const char *icc_check(const struct jpeg_meta *m)
{
	unsigned char seen[JPEG_MAX_ICC_CHUNKS + 1] = { 0 };
	int i, n = m->icc[0].count;

	if (m->icc_over)
		return "more ICC chunks than a profile can have";
	for (i = 0; i < m->nicc; i++) {
		const struct icc_chunk *k = &m->icc[i];

		if (k->count != n || k->count == 0)
			return "the chunk counts disagree";
		if (k->seq < 1 || k->seq > n)
			return "a sequence number is out of range";
		if (seen[k->seq]++)
			return "a chunk is repeated";
		if (k->len == 0)
			return "a chunk is empty";
	}
	if (m->nicc != n)
		return "a chunk is missing";
	return NULL;
}

/* icc_join puts the chunks of a sound profile together in sequence order. */
static int icc_join(const struct jpeg_meta *m, struct img_meta *out, struct err *err,
		    const char *name)
{
	const struct icc_chunk *by_seq[JPEG_MAX_ICC_CHUNKS + 1];
	size_t len = 0;
	int i;

	for (i = 0; i < m->nicc; i++) {
		by_seq[m->icc[i].seq] = &m->icc[i];
		len += m->icc[i].len;
	}
	if ((out->icc = malloc(len)) == NULL)
		return err_oom(err, name);
	out->icc_len = 0;
	for (i = 1; i <= m->nicc; i++) {
		memcpy(out->icc + out->icc_len, by_seq[i]->data, by_seq[i]->len);
		out->icc_len += by_seq[i]->len;
	}
	return 0;
}

struct jpeg_dec {
	struct jpeg_fail fail;
	struct jpeg_decompress_struct cinfo;
	struct jpeg_progress_mgr progress;
	struct io_src *src;
	const struct io_sink *sink;
	struct image hdr;     /* what the sink's begin gets */
	struct jpeg_meta meta;
};

/*
 * copy_meta hands the kept EXIF block and the ICC profile to the output.
 * A profile whose chunks do not fit together is dropped with a warning:
 * it says nothing about the pixels, which are decoded as they are.
 */
static int copy_meta(struct jpeg_dec *d)
{
	struct img_meta *out = &d->hdr.meta;
	struct jpeg_meta *m = &d->meta;
	const char *bad;
	char msg[IO_WARNING_LEN];

	if (m->exif != NULL && m->exif_len > 0) {
		out->exif = m->exif;
		out->exif_len = m->exif_len;
		m->exif = NULL;
	}
	if (m->nicc > 0 || m->icc_over) {
		if ((bad = icc_check(m)) == NULL)
			return icc_join(m, out, d->fail.err, d->src->name);
		snprintf(msg, sizeof msg, "ICC profile dropped: %s (the pixels are decoded as they are)",
			 bad);
		warn(d->src, msg);
	} else if (m->exif_more > 0) {
		snprintf(msg, sizeof msg, "%d EXIF blocks after the first skipped (only one is carried)",
			 m->exif_more);
		warn(d->src, msg);
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
	c->client_data = &d->meta;
	jpeg_set_marker_processor(c, JPEG_APP0 + 1, marker_read);
	jpeg_set_marker_processor(c, JPEG_APP0 + 2, marker_read);
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
	meta_free(&d.meta);
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
	size_t i;

	if (m->exif != NULL && m->exif_len <= JPEG_MAX_MARKER - sizeof exif_id) {
		jpeg_write_m_header(c, JPEG_APP0 + 1,
				    (unsigned int)(m->exif_len + sizeof exif_id));
		for (i = 0; i < sizeof exif_id; i++)
			jpeg_write_m_byte(c, (unsigned char)exif_id[i]);
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

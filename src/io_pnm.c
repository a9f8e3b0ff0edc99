/* io_pnm.c: the Netpbm formats, binary PNM (P5, P6) and PFM (Pf, PF). */
#include <float.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "io_codec.h"
#include "size.h"

/* ---- header parsing, shared by PNM and PFM ------------------------------ */

/* A read position in the file's bytes. */
struct cursor {
	const unsigned char *p, *end;
};

static int is_space(int ch)
{
	return ch == ' ' || ch == '\t' || ch == '\n' || ch == '\r' ||
	       ch == '\v' || ch == '\f';
}

/* skip_space passes blanks and '#' comments, which run to the line's end. */
static void skip_space(struct cursor *c)
{
	while (c->p < c->end) {
		if (*c->p == '#') {
			while (c->p < c->end && *c->p != '\n' && *c->p != '\r')
				c->p++;
		} else if (is_space(*c->p)) {
			c->p++;
		} else {
			break;
		}
	}
}

/*
 * read_uint reads a decimal header field.  Values beyond 2^32 are refused
 * here; the caller checks the real range with a message of its own.
 */
static int read_uint(struct cursor *c, unsigned long *v)
{
	unsigned long x = 0;
	const unsigned char *start;

	skip_space(c);
	start = c->p;
	while (c->p < c->end && *c->p >= '0' && *c->p <= '9') {
		x = x * 10 + (unsigned long)(*c->p - '0');
		if (x > 0xffffffffUL)
			return -1;
		c->p++;
	}
	if (c->p == start)
		return -1;
	*v = x;
	return 0;
}

/*
 * end_header consumes the single whitespace byte that separates the last
 * header field from the samples; the samples may start with any byte, so
 * exactly one is skipped.
 */
static int end_header(struct cursor *c)
{
	if (c->p >= c->end || !is_space(*c->p))
		return -1;
	c->p++;
	return 0;
}

/*
 * read_dims reads width and height and vets them; data_size then checks
 * that the file holds all w * h * nch * bps sample bytes, before anything
 * is allocated for them.
 */
static int read_dims(struct cursor *c, const struct io_src *src,
		     unsigned long *w, unsigned long *h, struct err *err)
{
	if (read_uint(c, w) || read_uint(c, h))
		return err_set(err, ERR_DATA, "%s: malformed header (width and height)",
			       src->name);
	return io_check_size(src, *w, *h, err);
}

static int data_size(const struct cursor *c, const struct io_src *src,
		     unsigned long w, unsigned long h, int nch, int bps,
		     const char *fmt, struct err *err)
{
	size_t need, row;

	if (size_mul3(&row, w, (size_t)nch, (size_t)bps) || size_mul(&need, row, h))
		return err_set(err, ERR_DATA, "%s: image size %lu x %lu is out of range",
			       src->name, w, h);
	if (need > (size_t)(c->end - c->p))
		return err_set(err, ERR_DATA, "%s: truncated %s data (%zu of %zu bytes)",
			       src->name, fmt, (size_t)(c->end - c->p), need);
	return 0;
}

/* ---- PNM ------------------------------------------------------------------- */

/*
 * begin_image hands the sink the image's description (its metadata is
 * none); the info is freed whatever the sink took.
 */
static int begin_image(const struct io_sink *sink, unsigned long w, unsigned long h, int nch,
		       int depth, struct err *err)
{
	struct image info;
	int rc;

	memset(&info, 0, sizeof info);
	info.w = (int)w;
	info.h = (int)h;
	info.nch = nch;
	info.depth = depth;
	rc = sink->begin(sink->ctx, &info, err);
	img_free(&info);
	return rc;
}

/*
 * P5 is grey, P6 is RGB; a maxval below 256 means one byte per sample,
 * otherwise two, most significant first.  Samples map to v / maxval.  A
 * file holding several images yields its first.
 */
int io_pnm_read(struct io_src *src, const struct io_sink *sink, struct err *err)
{
	struct cursor c = { src->buf, src->buf + src->n };
	unsigned long w, h, maxval;
	int nch, bps, ch, x, y;
	float *out[3];

	/* The type shown is the bytes the file has, at most two of them. */
	if (src->n < 2 || (src->buf[1] != '5' && src->buf[1] != '6'))
		return err_set(err, ERR_DATA, "%s: PNM type %.*s is not supported (only P5 and P6)",
			       src->name, src->n < 2 ? (int)src->n : 2,
			       (const char *)src->buf);
	nch = src->buf[1] == '5' ? 1 : 3;
	c.p += 2;
	if (read_dims(&c, src, &w, &h, err))
		return -1;
	if (read_uint(&c, &maxval) || maxval < 1 || maxval > 65535 || end_header(&c))
		return err_set(err, ERR_DATA, "%s: malformed PNM header (maxval)", src->name);
	bps = maxval < 256 ? 1 : 2;
	if (data_size(&c, src, w, h, nch, bps, "PNM", err) ||
	    begin_image(sink, w, h, nch, bps == 2 ? 16 : 8, err))
		return -1;
	for (y = 0; y < (int)h; y++) {
		if (y > 0 && sink->put(sink->ctx, y, err))
			return -1;
		for (ch = 0; ch < nch; ch++)
			out[ch] = sink->row(sink->ctx, ch, y);
		for (x = 0; x < (int)w; x++) {
			for (ch = 0; ch < nch; ch++) {
				unsigned v = *c.p++;

				if (bps == 2)
					v = v << 8 | *c.p++;
				if (v > maxval)
					return err_set(err, ERR_DATA,
						       "%s: sample %u exceeds maxval %lu",
						       src->name, v, maxval);
				out[ch][x] = (float)v / (float)maxval;
			}
		}
		io_src_done(src, (size_t)(c.p - src->buf));
	}
	return sink->put(sink->ctx, (int)h, err);
}

/* PNM has no alpha: 1 or 2 channels give P5, 3 or 4 give P6. */
int io_pnm_write(FILE *f, const char *name, const struct image *info, int depth,
		 const struct io_source *src, struct err *err)
{
	int ncomp = info->nch >= 3 ? 3 : 1;
	int bps = depth == 16 ? 2 : 1;
	unsigned max = depth == 16 ? 65535 : 255;
	unsigned char *row, *p;
	size_t rowbytes;
	int c, x, y, rc = 0;

	if (size_mul3(&rowbytes, (size_t)info->w, (size_t)ncomp, (size_t)bps))
		return err_oom(err, name);
	row = malloc(rowbytes);
	if (row == NULL)
		return err_oom(err, name);
	if (fprintf(f, "P%c\n%d %d\n%u\n", ncomp == 3 ? '6' : '5', info->w, info->h, max) < 0) {
		free(row);
		return err_set(err, ERR_IO, "%s: %s", name, strerror(errno));
	}
	for (y = 0; y < info->h && rc == 0; y++) {
		if (io_src_wait(src, name, y + 1, err)) {
			rc = -1;
			break;
		}
		for (c = 0; c < ncomp; c++) {
			const float *in = src->row(src->ctx, c, y);

			p = row + c * bps;
			for (x = 0; x < info->w; x++, p += ncomp * bps) {
				unsigned v = io_quantize(in[x], max);

				if (bps == 2) {
					p[0] = (unsigned char)(v >> 8);
					p[1] = (unsigned char)v;
				} else {
					p[0] = (unsigned char)v;
				}
			}
		}
		src->release(src->ctx, y + 1);
		rc = io_put(f, row, rowbytes, name, err);
	}
	free(row);
	return rc;
}

/* ---- PFM ------------------------------------------------------------------- */

/*
 * read_scale reads PFM's third header field.  Its sign gives the byte
 * order (negative: little-endian); its magnitude is a scale factor that
 * hardly any program honours, so samples are taken as stored.
 */
static int read_scale(struct cursor *c, double *scale)
{
	char tok[64], *end;
	size_t n = 0;

	skip_space(c);
	while (c->p < c->end && !is_space(*c->p) && n < sizeof tok - 1)
		tok[n++] = (char)*c->p++;
	tok[n] = '\0';
	if (n == 0 || n == sizeof tok - 1)
		return -1;
	*scale = strtod(tok, &end);
	if (*end != '\0' || !isfinite(*scale) || *scale == 0.0)
		return -1;
	return 0;
}

static float get_float(const unsigned char *b, int little)
{
	uint32_t u;
	float v;

	if (little)
		u = (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 |
		    (uint32_t)b[3] << 24;
	else
		u = (uint32_t)b[3] | (uint32_t)b[2] << 8 | (uint32_t)b[1] << 16 |
		    (uint32_t)b[0] << 24;
	memcpy(&v, &u, sizeof v);
	return v;
}

/*
 * Pf is grey, PF is RGB, both 32-bit floats with rows stored bottom to top:
 * row y is read from its place in the file, so the rows still come top
 * first, and the pages read are dropped from the end of the file back.
 * NaN and infinities are refused: one would spread through every
 * convolution sum it enters and poison a whole neighbourhood.
 */
int io_pfm_read(struct io_src *src, const struct io_sink *sink, struct err *err)
{
	struct cursor c = { src->buf, src->buf + src->n };
	unsigned long w, h;
	double scale;
	int nch, little, ch, x, y;
	size_t rowbytes, low = src->n, at;
	const unsigned char *data;
	float *out[3];

	if (src->n < 2)
		return err_set(err, ERR_DATA, "%s: malformed PFM header", src->name);
	nch = src->buf[1] == 'F' ? 3 : 1;
	c.p += 2;
	if (read_dims(&c, src, &w, &h, err))
		return -1;
	if (read_scale(&c, &scale) || end_header(&c))
		return err_set(err, ERR_DATA, "%s: malformed PFM header (scale)", src->name);
	little = scale < 0;
	if (data_size(&c, src, w, h, nch, 4, "PFM", err) ||
	    begin_image(sink, w, h, nch, 32, err))
		return -1;
	/* data_size has checked that these products fit. */
	rowbytes = (size_t)w * (size_t)nch * 4;
	data = c.p;
	for (y = 0; y < (int)h; y++) {
		if (y > 0 && sink->put(sink->ctx, y, err))
			return -1;
		at = (size_t)(data - src->buf) + ((size_t)h - 1 - (size_t)y) * rowbytes;
		for (ch = 0; ch < nch; ch++)
			out[ch] = sink->row(sink->ctx, ch, y);
		for (x = 0; x < (int)w; x++) {
			for (ch = 0; ch < nch; ch++) {
				float v = get_float(src->buf + at + ((size_t)x * nch + ch) * 4, little);

				if (!isfinite(v))
					return err_set(err, ERR_DATA,
						       "%s: sample at x %d, y %d is not a finite number",
						       src->name, x, y);
				out[ch][x] = v;
			}
		}
		if (src->mapped && low - at >= IO_DROP_STEP) {
			io_src_drop(src, at, low);
			low = at;
		}
	}
	return sink->put(sink->ctx, (int)h, err);
}

/*
 * put_float stores v little-endian.  NaN becomes 0 and infinities the
 * largest finite float, so the file is always one this reader accepts.
 */
static void put_float(unsigned char *b, float v)
{
	uint32_t u;

	if (isnan(v))
		v = 0.0f;
	else if (isinf(v))
		v = v > 0 ? FLT_MAX : -FLT_MAX;
	memcpy(&u, &v, sizeof u);
	b[0] = (unsigned char)u;
	b[1] = (unsigned char)(u >> 8);
	b[2] = (unsigned char)(u >> 16);
	b[3] = (unsigned char)(u >> 24);
}

/* pfm_row converts row y of src to little-endian floats in row. */
static void pfm_row(const struct io_source *src, int w, int ncomp, unsigned char *row, int y)
{
	int c, x;

	for (c = 0; c < ncomp; c++) {
		const float *in = src->row(src->ctx, c, y);

		for (x = 0; x < w; x++)
			put_float(row + ((size_t)x * ncomp + c) * 4, in[x]);
	}
}

/*
 * PFM has no alpha: 1 or 2 channels give Pf, 3 or 4 give PF.  Rows are
 * stored bottom to top: into a regular file each goes to its place as it
 * comes; a stream must wait for the last row first (io_write_window asks
 * the source to hold the image for it).
 */
int io_pfm_write(FILE *f, const char *name, const struct image *info, int seekable,
		 const struct io_source *src, struct err *err)
{
	int ncomp = info->nch >= 3 ? 3 : 1;
	unsigned char *row;
	size_t rowbytes;
	off_t head = 0;
	int y, k, rc = 0;

	if (size_mul3(&rowbytes, (size_t)info->w, (size_t)ncomp, 4))
		return err_oom(err, name);
	row = malloc(rowbytes);
	if (row == NULL)
		return err_oom(err, name);
	if (fprintf(f, "P%c\n%d %d\n-1.0\n", ncomp == 3 ? 'F' : 'f', info->w, info->h) < 0 ||
	    (seekable && (head = ftello(f)) < 0)) {
		free(row);
		return err_set(err, ERR_IO, "%s: %s", name, strerror(errno));
	}
	if (!seekable && io_src_wait(src, name, info->h, err)) {
		free(row);
		return -1;
	}
	/* k counts rows as they are written; y is the row written. */
	for (k = 0; k < info->h && rc == 0; k++) {
		y = seekable ? k : info->h - 1 - k;
		if (seekable && io_src_wait(src, name, y + 1, err)) {
			rc = -1;
			break;
		}
		pfm_row(src, info->w, ncomp, row, y);
		if (seekable) {
			src->release(src->ctx, y + 1);
			if (fseeko(f, head + (off_t)(info->h - 1 - y) * (off_t)rowbytes, SEEK_SET) != 0) {
				rc = err_set(err, ERR_IO, "%s: %s", name, strerror(errno));
				break;
			}
		}
		rc = io_put(f, row, rowbytes, name, err);
	}
	if (!seekable && rc == 0)
		src->release(src->ctx, info->h);
	free(row);
	return rc;
}

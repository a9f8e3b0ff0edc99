/* io_codec.h: the private interface between io.c and the per-format codecs. */
#ifndef IMF_IO_CODEC_H
#define IMF_IO_CODEC_H

#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "err.h"
#include "image.h"
#include "io.h"
#include "plane.h"

/*
 * The whole input file, already in memory, and what a decoder needs to know
 * besides the bytes: the name for messages ("<stdin>" for standard input)
 * and the largest pixel count the caller accepts (0 means no limit).
 */
struct io_src {
	const unsigned char *buf;
	size_t n;
	const char *name;
	unsigned long long max_pixels;
	/* Decode past damage (see io_read_opts), saying what it was in damage[256]. */
	int accept_damaged;
	char *damage;
	/* io_read_opts' rows callback (io.h), or NULL. */
	void (*rows)(void *ctx, const struct image *im, int n);
	void *rows_ctx;
};

/* io_src_rows tells the reader, if any, that rows 0..n-1 of im are final (io.h). */
static inline void io_src_rows(const struct io_src *src, const struct image *im, int n)
{
	if (src->rows != NULL)
		src->rows(src->rows_ctx, im, n);
}

/* io_wait_rows waits for rows 0..n-1 when the image is still being made (io.h). */
static inline int io_wait_rows(const struct io_rows *rows, const char *name, int n,
			       struct err *err)
{
	if (rows == NULL || rows->wait(rows->ctx, n) == 0)
		return 0;
	return err_set(err, ERR_SOFTWARE, "%s: the image was not completed", name);
}

/*
 * Decoders fill *im (zeroed on failure) and return 0, or return -1 with err
 * filled; every message starts with src->name.  Encoders write the whole
 * image to f and return 0, or return -1 with err filled: ERR_IO for a
 * failed write (with the errno of that write), ERR_DATA or ERR_SOFTWARE for
 * an image the format cannot hold.  The caller flushes and closes f.
 */
int io_png_decode(const struct io_src *src, struct image *im, struct err *err);
int io_png_encode(FILE *f, const char *name, const struct image *im, int depth,
		  int threads, int level, const struct io_rows *rows, struct err *err);

/*
 * io_png_deflate filters and deflates im's samples (depth 8 or 16, not
 * interlaced) into *out on up to `threads` threads, the same bytes for any
 * count; level is IO_PNG_FAST or IO_PNG_LEVEL(n) (io.h).  With rows, each
 * piece waits for its rows (io.h), so deflating overlaps their making.
 * io_png_idat_write then writes them as the IDAT chunks of a PNG whose
 * header libpng wrote, then IEND; io_png_idat_free releases *out (NULL is
 * fine).
 */
struct io_idat;
int io_png_deflate(const char *name, const struct image *im, int depth, int threads,
		   int level, const struct io_rows *rows, struct io_idat **out, struct err *err);
int io_png_idat_write(FILE *f, const char *name, const struct io_idat *d, struct err *err);
void io_png_idat_free(struct io_idat *d);

int io_jpeg_decode(const struct io_src *src, struct image *im, struct err *err);
int io_jpeg_encode(FILE *f, const char *name, const struct image *im,
		   int quality, const struct io_rows *rows, struct err *err);

int io_pnm_decode(const struct io_src *src, struct image *im, struct err *err);
int io_pnm_encode(FILE *f, const char *name, const struct image *im, int depth,
		  struct err *err);

int io_pfm_decode(const struct io_src *src, struct image *im, struct err *err);
int io_pfm_encode(FILE *f, const char *name, const struct image *im,
		  struct err *err);

/*
 * io_check_size vets the dimensions a file declares before anything is
 * allocated for them: a side outside 1..PLANE_MAX_SIDE is malformed data,
 * more pixels than the caller's limit is a resource limit (ERR_OS).
 */
static inline int io_check_size(const struct io_src *src, unsigned long w,
				unsigned long h, struct err *err)
{
	if (w < 1 || h < 1 || w > PLANE_MAX_SIDE || h > PLANE_MAX_SIDE)
		return err_set(err, ERR_DATA, "%s: image size %lu x %lu is out of range",
			       src->name, w, h);
	if (src->max_pixels != 0 && (unsigned long long)w * h > src->max_pixels)
		return err_set(err, ERR_OS, "%s: %lu x %lu pixels exceed the limit of %llu",
			       src->name, w, h, src->max_pixels);
	return 0;
}

/*
 * io_quantize maps a sample to an integer 0..max: clamped to [0, 1], scaled
 * and rounded half up.  NaN becomes 0 (the comparison is false for it), so
 * no encoder ever sees one.  The product is formed in double, where it is
 * exact, so a value k / max that went through float comes back as k.
 */
static inline unsigned io_quantize(float v, unsigned max)
{
	if (!(v > 0.0f))
		return 0;
	if (v >= 1.0f)
		return max;
	return (unsigned)((double)v * max + 0.5);
}

/*
 * io_quantize_row8 sets dst[x] = io_quantize(src[x], 255) for x < n
 * (vectorised, io_row.c).  io_unit_table8 fills t[v] = v / 255.0f, the
 * float an 8-bit sample v decodes to: looking samples up gives the
 * division's bits at the cost of a load.
 */
void io_quantize_row8(unsigned char *restrict dst, const float *restrict src, int n);
void io_unit_table8(float t[256]);

/* io_put writes n bytes, recording a failed write as ERR_IO with its errno. */
static inline int io_put(FILE *f, const void *p, size_t n, const char *name,
			 struct err *err)
{
	if (n != 0 && fwrite(p, 1, n, f) != n)
		return err_set(err, ERR_IO, "%s: %s", name, strerror(errno));
	return 0;
}

#endif

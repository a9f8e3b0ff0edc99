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
 * The whole input file as bytes, and what a decoder needs to know besides
 * them: the name for messages ("<stdin>" for standard input), the limits
 * on pixels and whether damage is accepted.  A regular file is a read-only
 * mapping (mapped): a decoder tells io_src_done how far it has read, and
 * the pages behind that are dropped from memory every IO_DROP_STEP bytes,
 * so that a file larger than memory decodes in little of it.  The pages
 * come back from the file if they are read again.
 */
struct io_src {
	const unsigned char *buf;
	size_t n;
	const char *name;
	/* Pixels any image may have (io_read_opts: it holds the image); 0: no limit. */
	unsigned long long max_pixels;
	/* Pixels a decoder may hold itself (interlaced PNG, progressive JPEG); 0: no limit. */
	unsigned long long max_hold;
	/* Decode past damage (see io_read_opts), saying what it was in damage[256]. */
	int accept_damaged;
	char *damage;
	/* What the output will lack (io_read_opts' warning); NULL: nobody asks. */
	char *warning;
	int page;           /* the page wanted of a multi-page file (TIFF) */
	int mapped;
	size_t dropped;     /* bytes from the start whose pages are dropped */
};

#define IO_DROP_STEP ((size_t)1 << 20)

/*
 * io_src_drop drops the pages of src from the one holding byte a to the
 * one before the page holding byte b (or the last, when b is the end):
 * the bytes before a on its page are done with too, or cheap to read
 * again.  Successive ranges that meet leave no page behind.
 */
void io_src_drop(struct io_src *src, size_t a, size_t b);

/* io_src_done says that the bytes before pos will not be read again (soon). */
static inline void io_src_done(struct io_src *src, size_t pos)
{
	if (src->mapped && pos > src->dropped && pos - src->dropped >= IO_DROP_STEP) {
		io_src_drop(src, src->dropped, pos);
		src->dropped = pos;
	}
}

/*
 * Decoders (io_png_read and its kind) decode src into sink (io.h) and
 * return 0, or -1 with err filled; every message of theirs starts with
 * src->name.  The info they give begin is theirs to free after.
 *
 * Encoders write the image whose size, channels and metadata info gives,
 * and whose rows come from src (io.h), to f and return 0, or -1 with err
 * filled: ERR_IO for a failed write (with the errno of that write),
 * ERR_DATA or ERR_SOFTWARE for an image the format cannot hold.  The
 * caller flushes and closes f.  They wait for rows through io_src_wait.
 */
int io_png_read(struct io_src *src, const struct io_sink *sink, struct err *err);
int io_jpeg_read(struct io_src *src, const struct io_sink *sink, struct err *err);
int io_pnm_read(struct io_src *src, const struct io_sink *sink, struct err *err);
int io_pfm_read(struct io_src *src, const struct io_sink *sink, struct err *err);
int io_tiff_read(struct io_src *src, const struct io_sink *sink, struct err *err);

int io_png_write(FILE *f, const char *name, const struct image *info, int depth,
		 int threads, int level, const struct io_source *src, struct err *err);
int io_jpeg_write(FILE *f, const char *name, const struct image *info, int quality,
		  const struct io_source *src, struct err *err);
int io_pnm_write(FILE *f, const char *name, const struct image *info, int depth,
		 const struct io_source *src, struct err *err);
/* seekable: f is a regular file, so rows go to their place as they come. */
int io_pfm_write(FILE *f, const char *name, const struct image *info, int seekable,
		 const struct io_source *src, struct err *err);
/*
 * depth: 8 or 16 (integers mapped from [0, 1]), 32 (float), 0 (as the
 * input was stored: info->depth, or its raw integers, img_tiff).
 * compression: enum io_tiff_comp.  A file that is not seekable (a pipe)
 * is made in memory and written at the end.
 */
int io_tiff_write(FILE *f, const char *name, const struct image *info, int depth,
		  int compression, int seekable, const struct io_source *src, struct err *err);

/* io_tiff_window is the rows of one strip of io_tiff_write's. */
int io_tiff_window(const struct image *info, int depth);

/*
 * io_png_window is the least cap of a source io_png_write can keep
 * `threads` threads busy with (io.h's io_write_window): the rows of that
 * many pieces and the row above them.
 */
int io_png_window(const struct image *info, int depth, int threads);

/*
 * io_png_idat filters and deflates the rows of src (depth 8 or 16, not
 * interlaced) on up to `threads` threads and writes them as the IDAT
 * chunks of a PNG whose header libpng has written, then IEND: each piece
 * is written as soon as it and those before it are done, and freed, and
 * the rows are released as soon as no piece still to be made needs them.
 * The bytes are the same for any thread count; level is IO_PNG_FAST or
 * IO_PNG_LEVEL(n) (io.h).
 */
int io_png_idat(FILE *f, const char *name, const struct image *info, int depth, int threads,
		int level, const struct io_source *src, struct err *err);

/* io_src_wait waits for rows 0..n-1 of src; an error if they never come. */
static inline int io_src_wait(const struct io_source *src, const char *name, int n,
			      struct err *err)
{
	if (src->wait(src->ctx, n) == 0)
		return 0;
	return err_set(err, ERR_SOFTWARE, "%s: the image was not completed", name);
}

/*
 * io_output_is_stream says whether path (links followed) exists and is
 * neither a regular file nor a directory: a device, a FIFO or a socket,
 * which io_write_atomic writes as it is, without seeking, as stdout.
 */
int io_output_is_stream(const char *path);

/*
 * The whole-image forms, which the fuzz targets call: a decoder into *im
 * (zeroed on failure; src->max_pixels applies), an encoder from im's
 * planes.
 */
int io_png_decode(const struct io_src *src, struct image *im, struct err *err);
int io_jpeg_decode(const struct io_src *src, struct image *im, struct err *err);
int io_pnm_decode(const struct io_src *src, struct image *im, struct err *err);
int io_pfm_decode(const struct io_src *src, struct image *im, struct err *err);
int io_tiff_decode(const struct io_src *src, struct image *im, struct err *err);
int io_png_encode(FILE *f, const char *name, const struct image *im, int depth,
		  int threads, int level, struct err *err);
int io_jpeg_encode(FILE *f, const char *name, const struct image *im,
		   int quality, struct err *err);
/* The TIFF is made in memory and written to f at the end (f need not seek). */
int io_tiff_encode(FILE *f, const char *name, const struct image *im, int depth,
		   int compression, struct err *err);

/*
 * io_check_size vets the dimensions a file declares before anything is
 * allocated for them: a side outside 1..PLANE_MAX_SIDE is malformed data,
 * more pixels than the caller's limit is a resource limit (ERR_OS).
 * io_check_hold is the limit alone, for what a decoder must hold.
 */
static inline int io_check_limit(const struct io_src *src, unsigned long w, unsigned long h,
				 unsigned long long limit, struct err *err)
{
	if (limit != 0 && (unsigned long long)w * h > limit)
		return err_set(err, ERR_OS, "%s: %lu x %lu pixels exceed the limit of %llu",
			       src->name, w, h, limit);
	return 0;
}

static inline int io_check_size(const struct io_src *src, unsigned long w,
				unsigned long h, struct err *err)
{
	if (w < 1 || h < 1 || w > PLANE_MAX_SIDE || h > PLANE_MAX_SIDE)
		return err_set(err, ERR_DATA, "%s: image size %lu x %lu is out of range",
			       src->name, w, h);
	return io_check_limit(src, w, h, src->max_pixels, err);
}

static inline int io_check_hold(const struct io_src *src, unsigned long w,
				unsigned long h, struct err *err)
{
	return io_check_limit(src, w, h, src->max_hold, err);
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

/* io.h: reading and writing images in every supported format. */
#ifndef IMF_IO_H
#define IMF_IO_H

#include <stddef.h>
#include <stdio.h>

#include "err.h"
#include "image.h"

enum io_format {
	IO_NONE = 0,
	IO_PNG,
	IO_JPEG,
	IO_PNM,   /* P5 (grey) or P6 (RGB), 8 or 16 bit */
	IO_PFM    /* Pf (grey) or PF (RGB), 32-bit float */
};

/* io_format_by_name maps "png", "jpeg"/"jpg", "pnm"/"pgm"/"ppm", "pfm". */
enum io_format io_format_by_name(const char *name);

/* io_format_by_ext maps a path's extension (case-insensitive), or IO_NONE. */
enum io_format io_format_by_ext(const char *path);

/* io_format_name is the canonical name ("png", "jpeg", "pnm", "pfm"). */
const char *io_format_name(enum io_format f);

/*
 * io_read decodes the image in path ("-" reads stdin) into *im, detecting
 * the format by its magic bytes.  On failure it returns -1 with err filled:
 * ERR_NOINPUT when the file cannot be opened, ERR_DATA for malformed or
 * unsupported data, ERR_IO for a read error, ERR_OS for memory; the
 * message names the file.  *im is zeroed on failure.
 */
int io_read(const char *path, struct image *im, struct err *err);

/*
 * io_read_limit is io_read with a limit on the pixel count (0: none): a
 * larger image fails with ERR_OS before its planes are allocated, which is
 * how a --max-pixels option keeps a small hostile file from taking all
 * memory.
 */
int io_read_limit(const char *path, struct image *im,
		  unsigned long long max_pixels, struct err *err);

/*
 * How io_read_opts reads: the pixel limit of io_read_limit, and whether
 * damaged data that the codec can decode past (a truncated JPEG, a
 * corrupt segment: libjpeg pads the picture with grey) is accepted
 * rather than refused.  When it is, the first such complaint is left in
 * damage ("" when the file was whole), for the caller to report.
 */
struct io_read_opts {
	unsigned long long max_pixels;   /* 0: no limit */
	int accept_damaged;
	char damage[256];                /* out */
	/*
	 * For a reader that works on the image while it is decoded (stream.c;
	 * NULL: none): rows(rows_ctx, im, n) is called from the decoding
	 * thread when rows 0..n-1 of every plane of *im are final.  n == 0
	 * comes once *im is allocated and its depth and metadata are set
	 * (not every decoder says so early; a reader must not touch *im
	 * before); n == im->h once decoding has succeeded, checks included;
	 * n == -1 when it failed, before *im is freed: that call must not
	 * return while anyone still reads *im.
	 */
	void (*rows)(void *ctx, const struct image *im, int n);
	void *rows_ctx;
};

int io_read_opts(const char *path, struct image *im, struct io_read_opts *opts,
		 struct err *err);

struct io_write_opts {
	enum io_format format;  /* IO_NONE: by the path's extension */
	int depth;              /* 8 or 16 for PNG/PNM; 0: the image's depth */
	int quality;            /* JPEG quality 1..100; 0: 90 */
	int threads;            /* threads an encoder may use (PNG); 0: 1 */
	int png_level;          /* IO_PNG_FAST (0) or IO_PNG_LEVEL(n) */
};

/*
 * PNG's default deflate, IO_PNG_FAST: zlib's run-length strategy at level
 * 1, several times faster than level 6 for files a few percent larger
 * (io_idat.c).  IO_PNG_LEVEL(n) is zlib's level n, 0..9, with its default
 * strategy.
 */
#define IO_PNG_FAST 0
#define IO_PNG_LEVEL(n) ((n) + 1)

/*
 * io_write encodes im to path ("-" writes stdout).  A file is written to a
 * temporary file in the same directory and renamed into place, so a failed
 * write leaves any existing file untouched and no partial file.
 * Integer formats clamp samples to [0, 1] and round to nearest; PFM keeps
 * raw floats.  Formats without alpha (JPEG, PNM, PFM) drop the alpha channel.
 * opts may be NULL: the format by extension, the image's depth, quality 90.
 * Errors: ERR_USAGE for an unknown format or a bad depth or quality,
 * ERR_CANTCREAT when the temporary file cannot be made or renamed into
 * place, ERR_IO when a write fails midway, ERR_DATA when the format cannot
 * hold the image (e.g. JPEG beyond 65500 pixels a side).  One output is
 * written at a time (the temporary path is kept for the signal handler).
 */
int io_write(const char *path, const struct image *im,
	     const struct io_write_opts *opts, struct err *err);

/*
 * The other half of overlapping (stream.c): an encoder that is given an
 * io_rows calls wait(ctx, n) before it reads rows below n.  wait returns
 * 0 once they are final, or -1 when they never will be; the encoder then
 * fails (its error message is the caller's to replace).  wait may be
 * called from several threads at once.  The size, depth and metadata of
 * the image must be final before the encoder starts.
 */
struct io_rows {
	int (*wait)(void *ctx, int n);
	void *ctx;
};

/* io_write_rows is io_write for an image whose rows are still being made (rows). */
int io_write_rows(const char *path, const struct image *im, const struct io_write_opts *opts,
		  const struct io_rows *rows, struct err *err);

/*
 * io_write_atomic is io_write's file handling for any content: fill(f,
 * name, ctx, err) fills a temporary file beside path, which is synced and
 * renamed onto path only when fill succeeded ("-": standard output).
 * name is what messages should call the file.
 */
int io_write_atomic(const char *path,
		    int (*fill)(FILE *f, const char *name, void *ctx, struct err *err),
		    void *ctx, struct err *err);

/*
 * io_cleanup_on_signal removes a temporary output file still being written;
 * it is async-signal-safe and meant for the CLI's SIGINT/SIGTERM handler.
 */
void io_cleanup_on_signal(void);

#endif

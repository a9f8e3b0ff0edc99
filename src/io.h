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
	IO_PFM,   /* Pf (grey) or PF (RGB), 32-bit float */
	IO_TIFF   /* TIFF and BigTIFF, through libtiff (io_tiff.c, io_tiff_read.c) */
};

/* io_format_by_name maps "png", "jpeg"/"jpg", "pnm"/"pgm"/"ppm", "pfm", "tiff"/"tif". */
enum io_format io_format_by_name(const char *name);

/* io_format_by_ext maps a path's extension (case-insensitive), or IO_NONE. */
enum io_format io_format_by_ext(const char *path);

/* io_format_name is the canonical name ("png", "jpeg", "pnm", "pfm", "tiff"). */
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
#define IO_WARNING_LEN 160

struct io_read_opts {
	unsigned long long max_pixels;   /* 0: no limit */
	int accept_damaged;
	int page;                        /* the page of a multi-page file (TIFF), from 0 */
	char damage[256];                /* out */
	/*
	 * out: the first thing left out of the file's metadata that the
	 * output would have carried (a malformed ICC profile, markers past
	 * the caps: see io_jpeg.c), "" when nothing was, for one warning line.
	 */
	char warning[IO_WARNING_LEN];
};

int io_read_opts(const char *path, struct image *im, struct io_read_opts *opts,
		 struct err *err);

struct io_write_opts {
	enum io_format format;  /* IO_NONE: by the path's extension */
	int depth;              /* 8 or 16 (PNG, PNM, TIFF), 32 (float: TIFF); 0: the image's */
	int quality;            /* JPEG quality 1..100; 0: 90 */
	int threads;            /* threads an encoder may use (PNG); 0: 1 */
	int png_level;          /* IO_PNG_FAST (0) or IO_PNG_LEVEL(n) */
	int tiff_compression;   /* enum io_tiff_comp */
};

/*
 * TIFF's compressions for output; deflate, the default, with predictor 2
 * (integers) or 3 (floats).
 */
enum io_tiff_comp { IO_TIFF_DEFLATE = 0, IO_TIFF_NONE, IO_TIFF_LZW, IO_TIFF_ZSTD };

/* io_tiff_comp_parse reads "none", "lzw", "deflate" or "zstd"; -1 if none. */
int io_tiff_comp_parse(const char *s, int *comp);

/*
 * io_write_float says whether the output opts would write for an image
 * of info's depth and metadata holds raw numbers (PFM, float TIFF, a
 * TIFF of raw integers) rather than [0, 1] mapped to integers.
 */
int io_write_float(const struct image *info, const struct io_write_opts *opts);

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
 * io_write_atomic is io_write's file handling for any content: fill(f,
 * name, ctx, err) fills a temporary file beside path, which is synced and
 * renamed onto path only when fill succeeded ("-": standard output).
 * name is what messages should call the file.  A path that is a symbolic
 * link has its target replaced (the temporary file beside the target,
 * the link kept); a file replaced keeps its permission bits (and, under
 * root, its owner and group); a new file gets 0666 less the umask.
 */
int io_write_atomic(const char *path,
		    int (*fill)(FILE *f, const char *name, void *ctx, struct err *err),
		    void *ctx, struct err *err);

/*
 * io_cleanup_on_signal removes a temporary output file still being written;
 * it is async-signal-safe and meant for the CLI's SIGINT/SIGTERM handler.
 */
void io_cleanup_on_signal(void);

/*
 * ---- Rows as they come -------------------------------------------------
 *
 * The streaming interface: a decoder hands rows to a sink as it decodes
 * them, and an encoder takes rows from a source as they are made, so that
 * neither holds the image.  io_read_opts and io_write above are these two
 * with a whole image as sink and source.
 *
 * A sink.  begin(ctx, info, err) comes once, when the size, channel count,
 * depth and metadata are known: info has w, h, nch, depth and meta set and
 * no planes; the sink may take info->meta over (img_move_meta), which the
 * decoder frees otherwise.  Then for y = 0, 1, ..., h - 1 in order the
 * decoder writes channel c of row y (w floats) at row(ctx, c, y), and
 * put(ctx, n, err) says that rows 0 .. n - 1 are final; row(ctx, c, y) is
 * asked for only after put(ctx, y) (or begin, for y == 0), and put may
 * block until the sink has room for row n.  put(ctx, h) comes once the
 * file has been checked to its end.  begin and put return 0, or -1 with
 * err filled to stop the decoder, which then fails with that error.
 * Everything runs on the caller's thread.
 */
struct io_sink {
	int (*begin)(void *ctx, struct image *info, struct err *err);
	float *(*row)(void *ctx, int c, int y);
	int (*put)(void *ctx, int n, struct err *err);
	void *ctx;
};

/*
 * io_read_sink decodes path ("-": stdin) into sink.  Unlike io_read_opts it
 * holds nothing that grows with the image unless the file makes it
 * (interlaced PNG: libpng's rows at the file's depth; progressive JPEG:
 * libjpeg's coefficients; standard input: the compressed file), and
 * opts->max_pixels applies only to the codecs' two holdings.  A regular file is
 * mapped and the pages already decoded are dropped as the decoder goes.
 * Errors as io_read_opts, plus those begin and put return.
 */
int io_read_sink(const char *path, struct io_read_opts *opts, const struct io_sink *sink,
		 struct err *err);

/*
 * A source.  The encoder calls wait(ctx, n) before it reads rows below n
 * (0 once they are ready, -1 when they never will be: the encoder then
 * fails), row(ctx, c, y) for channel c of a ready row y (valid until the
 * encoder releases it), and release(ctx, n) once it no longer reads rows
 * below n.  wait may be called from several encoder threads at once; the
 * encoder never waits for a row at or beyond (rows released) + cap, so a
 * source can keep its rows in a ring of cap rows.  cap == 0 means the
 * source holds the whole image.  release comes from one encoder thread at
 * a time, with n increasing, and the last one is release(ctx, h) once
 * the encoder has read every row.
 */
struct io_source {
	int (*wait)(void *ctx, int n);
	const float *(*row)(void *ctx, int c, int y);
	void (*release)(void *ctx, int n);
	void *ctx;
	int cap;
};

/*
 * io_write_window is the least cap a source must offer the encoder that
 * io_write_source(path, info, opts, ...) would run: a few PNG pieces, a
 * JPEG MCU row, a row; info->h for an encoder that must hold the image
 * (PFM to standard output, whose rows are stored bottom to top).  info
 * has w, h, nch, depth set; -1 with err for an output it cannot write.
 */
int io_write_window(const char *path, const struct image *info, const struct io_write_opts *opts,
		    struct err *err);

/*
 * io_write_source is io_write for an image whose rows come from src: info
 * gives the size, channels, depth and metadata (no planes).  The file is
 * written as the rows come, to a temporary file renamed into place at the
 * end, as io_write does; nothing grows with the image but the output.
 * A source whose cap is not 0 and below io_write_window's is refused
 * (ERR_SOFTWARE) before anything is written.
 */
int io_write_source(const char *path, const struct image *info, const struct io_write_opts *opts,
		    const struct io_source *src, struct err *err);

#endif

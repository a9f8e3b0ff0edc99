/* io.c: format detection, input files mapped or read, sinks and sources, encoders chosen (files: io_file.c). */

/* madvise and MADV_DONTNEED are not POSIX (posix_madvise's DONTNEED does nothing in glibc). */
#define _DEFAULT_SOURCE

#include "io.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#include "io_codec.h"
#include "size.h"

#ifndef PATH_MAX
#define PATH_MAX 4096
#endif

/* The quality used when the caller leaves it 0. */
#define IO_DEFAULT_QUALITY 90

/* ---- format names ------------------------------------------------------ */

static const struct {
	const char *name;
	enum io_format format;
} format_names[] = {
	{ "png", IO_PNG },
	{ "jpeg", IO_JPEG }, { "jpg", IO_JPEG }, { "jpe", IO_JPEG },
	{ "pnm", IO_PNM }, { "pgm", IO_PNM }, { "ppm", IO_PNM },
	{ "pfm", IO_PFM },
	{ "tiff", IO_TIFF }, { "tif", IO_TIFF },
};

#define N_FORMAT_NAMES (sizeof format_names / sizeof format_names[0])

enum io_format io_format_by_name(const char *name)
{
	size_t i;

	for (i = 0; i < N_FORMAT_NAMES; i++)
		if (strcasecmp(name, format_names[i].name) == 0)
			return format_names[i].format;
	return IO_NONE;
}

enum io_format io_format_by_ext(const char *path)
{
	const char *slash = strrchr(path, '/');
	const char *base = slash ? slash + 1 : path;
	const char *dot = strrchr(base, '.');

	/* A leading dot starts a hidden name, not an extension. */
	if (dot == NULL || dot == base)
		return IO_NONE;
	return io_format_by_name(dot + 1);
}

const char *io_format_name(enum io_format f)
{
	switch (f) {
	case IO_PNG: return "png";
	case IO_JPEG: return "jpeg";
	case IO_PNM: return "pnm";
	case IO_PFM: return "pfm";
	case IO_TIFF: return "tiff";
	case IO_NONE: break;
	}
	return "none";
}

/* ---- reading --------------------------------------------------------------- */

static const unsigned char png_sig[8] = { 0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n' };

/*
 * A file whose first eight bytes mostly match the PNG signature is a PNG
 * damaged in transfer (a bit flipped, CR/LF translated); libpng says which,
 * which is clearer than "not an image".
 */
static int looks_like_png(const unsigned char *b, size_t n)
{
	size_t i;
	int same = 0;

	if (n < 8)
		return 0;
	for (i = 0; i < 8; i++)
		same += b[i] == png_sig[i];
	return same >= 5;
}

static enum io_format detect(const unsigned char *b, size_t n)
{
	if (n >= 8 && memcmp(b, png_sig, 8) == 0)
		return IO_PNG;
	if (n >= 3 && b[0] == 0xff && b[1] == 0xd8 && b[2] == 0xff)
		return IO_JPEG;
	if (n >= 2 && b[0] == 'P' && (b[1] == 'f' || b[1] == 'F'))
		return IO_PFM;
	/* Classic TIFF (42) and BigTIFF (43), either byte order. */
	if (n >= 4 && ((b[0] == 'I' && b[1] == 'I' && (b[2] == 42 || b[2] == 43) && b[3] == 0) ||
		       (b[0] == 'M' && b[1] == 'M' && b[2] == 0 && (b[3] == 42 || b[3] == 43))))
		return IO_TIFF;
	/* P1..P4 and P7 go to the PNM decoder too, which names what it lacks. */
	if (n >= 2 && b[0] == 'P' && b[1] >= '1' && b[1] <= '7')
		return IO_PNM;
	if (looks_like_png(b, n))
		return IO_PNG;
	return IO_NONE;
}

/*
 * read_all reads fd to its end into a malloc'd buffer.  A regular file's
 * size sizes the buffer up front (plus one byte, so the read that sees the
 * end needs no growth); pipes grow it by doubling.
 */
static int read_all(int fd, const char *name, unsigned char **out, size_t *n,
		    struct err *err)
{
	struct stat st;
	unsigned char *buf = NULL, *nb;
	size_t cap = 1 << 16, len = 0;
	ssize_t r;

	if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_size > 0 &&
	    (unsigned long long)st.st_size < SIZE_MAX - 1)
		cap = (size_t)st.st_size + 1;
	buf = malloc(cap);
	if (buf == NULL)
		return err_oom(err, name);
	for (;;) {
		if (len == cap) {
			size_t ncap;

			if (size_mul(&ncap, cap, 2)) {
				free(buf);
				return err_oom(err, name);
			}
			nb = realloc(buf, ncap);
			if (nb == NULL) {
				free(buf);
				return err_oom(err, name);
			}
			buf = nb;
			cap = ncap;
		}
		r = read(fd, buf + len, cap - len);
		if (r == 0)
			break;
		if (r < 0) {
			int e = errno;

			if (e == EINTR)
				continue;
			free(buf);
			return err_set(err, ERR_IO, "%s: %s", name, strerror(e));
		}
		len += (size_t)r;
	}
	*out = buf;
	*n = len;
	return 0;
}

/*
 * An input: a regular file is mapped read-only, so that its pages can be
 * dropped once decoded (io_src_done) and a file of gigabytes costs a few
 * megabytes of memory; anything else (standard input, a pipe, a device) is
 * read whole into memory, where it stays while it is decoded.  (A mapped
 * file that someone truncates meanwhile would raise SIGBUS; files are
 * not expected to change under a running filter.)
 */
struct input {
	struct io_src src;
	unsigned char *mem;    /* read_all's buffer, or NULL */
	void *map;             /* the mapping, or NULL */
	size_t map_len;
};

void io_src_drop(struct io_src *src, size_t a, size_t b)
{
	size_t page = (size_t)sysconf(_SC_PAGESIZE);

	if (!src->mapped || page == 0)
		return;
	/* The mapping reaches to the end of the file's last page. */
	if (b >= src->n)
		b = src->n + (page - src->n % page) % page;
	a = a / page * page;
	b = b / page * page;
	if (a < b)
		madvise((void *)(uintptr_t)(src->buf + a), b - a, MADV_DONTNEED);
}

/* map_file maps the regular file fd of st's size; 0, or -1 to read it instead. */
static int map_file(int fd, const struct stat *st, struct input *in)
{
	void *p;

	if (!S_ISREG(st->st_mode) || st->st_size <= 0 ||
	    (unsigned long long)st->st_size > SIZE_MAX)
		return -1;
	p = mmap(NULL, (size_t)st->st_size, PROT_READ, MAP_PRIVATE, fd, 0);
	if (p == MAP_FAILED)
		return -1;
	in->map = p;
	in->map_len = (size_t)st->st_size;
	in->src.buf = p;
	in->src.n = in->map_len;
	in->src.mapped = 1;
	return 0;
}

/* open_input opens path ("-": stdin) and makes its bytes in->src.buf. */
static int open_input(const char *path, struct input *in, struct err *err)
{
	struct stat st;
	int fd, rc = 0;
	int is_stdin = strcmp(path, "-") == 0;

	memset(in, 0, sizeof *in);
	in->src.name = is_stdin ? "<stdin>" : path;
	if (is_stdin) {
		fd = STDIN_FILENO;
	} else {
		fd = open(path, O_RDONLY);
		if (fd < 0)
			return err_set(err, ERR_NOINPUT, "%s: %s", path, strerror(errno));
	}
	if (fstat(fd, &st) != 0) {
		rc = err_set(err, ERR_IO, "%s: %s", in->src.name, strerror(errno));
	} else if (S_ISDIR(st.st_mode)) {
		/* A directory opens fine on Linux and fails only at read(); say it early. */
		rc = err_set(err, ERR_NOINPUT, "%s: %s", in->src.name, strerror(EISDIR));
	} else if (is_stdin || map_file(fd, &st, in) != 0) {
		rc = read_all(fd, in->src.name, &in->mem, &in->src.n, err);
		in->src.buf = in->mem;
	}
	if (!is_stdin)
		close(fd);
	if (rc == 0 && in->src.n == 0)
		rc = err_set(err, ERR_DATA, "%s: empty file", in->src.name);
	if (rc) {
		free(in->mem);
		in->mem = NULL;
	}
	return rc;
}

static void close_input(struct input *in)
{
	if (in->map != NULL)
		munmap(in->map, in->map_len);
	free(in->mem);
	in->map = NULL;
	in->mem = NULL;
}

typedef int (*io_reader)(struct io_src *src, const struct io_sink *sink, struct err *err);

static io_reader reader_for(const struct io_src *src)
{
	switch (detect(src->buf, src->n)) {
	case IO_PNG: return io_png_read;
	case IO_JPEG: return io_jpeg_read;
	case IO_PNM: return io_pnm_read;
	case IO_PFM: return io_pfm_read;
	case IO_TIFF: return io_tiff_read;
	case IO_NONE: break;
	}
	return NULL;
}

/*
 * read_into decodes path into sink; whole says that the sink holds the
 * image, so that max_pixels limits every image rather than only what the
 * decoder holds.
 */
static int read_into(const char *path, struct io_read_opts *opts, int whole,
		     const struct io_sink *sink, struct err *err)
{
	struct input in;
	io_reader rd;
	int rc;

	opts->damage[0] = '\0';
	opts->warning[0] = '\0';
	if (open_input(path, &in, err))
		return -1;
	in.src.max_pixels = whole ? opts->max_pixels : 0;
	in.src.max_hold = whole ? 0 : opts->max_pixels;
	in.src.accept_damaged = opts->accept_damaged;
	in.src.damage = opts->damage;
	in.src.warning = opts->warning;
	in.src.page = opts->page;
	rd = reader_for(&in.src);
	if (rd == NULL)
		rc = err_set(err, ERR_DATA, "%s: not a PNG, JPEG, PNM, PFM or TIFF image", in.src.name);
	else if (opts->page > 0 && rd != io_tiff_read)
		rc = err_set(err, ERR_DATA, "%s: no page %d: the file holds one image", in.src.name,
			     opts->page);
	else
		rc = rd(&in.src, sink, err);
	close_input(&in);
	return rc;
}

int io_read_sink(const char *path, struct io_read_opts *opts, const struct io_sink *sink,
		 struct err *err)
{
	struct io_read_opts none = { 0 };

	return read_into(path, opts != NULL ? opts : &none, 0, sink, err);
}

/* The image sink: planes allocated at begin, rows written in place. */
struct image_sink {
	struct image *im;
};

static int image_begin(void *ctx, struct image *info, struct err *err)
{
	struct image_sink *s = ctx;

	if (img_alloc(s->im, info->w, info->h, info->nch, err))
		return -1;
	s->im->depth = info->depth;
	img_move_meta(s->im, info);
	return 0;
}

static float *image_row(void *ctx, int c, int y)
{
	struct image_sink *s = ctx;

	return plane_row(&s->im->ch[c], y);
}

static int image_put(void *ctx, int n, struct err *err)
{
	(void)ctx;
	(void)n;
	(void)err;
	return 0;
}

static void image_sink_init(struct io_sink *sink, struct image_sink *s, struct image *im)
{
	memset(im, 0, sizeof *im);
	s->im = im;
	sink->begin = image_begin;
	sink->row = image_row;
	sink->put = image_put;
	sink->ctx = s;
}

int io_read_opts(const char *path, struct image *im, struct io_read_opts *opts,
		 struct err *err)
{
	struct image_sink s;
	struct io_sink sink;

	image_sink_init(&sink, &s, im);
	if (read_into(path, opts, 1, &sink, err)) {
		img_free(im);
		return -1;
	}
	return 0;
}

int io_read_limit(const char *path, struct image *im,
		  unsigned long long max_pixels, struct err *err)
{
	struct io_read_opts opts = { .max_pixels = max_pixels };

	return io_read_opts(path, im, &opts, err);
}

int io_read(const char *path, struct image *im, struct err *err)
{
	return io_read_limit(path, im, 0, err);
}

/* decode_image is a decoder of io_codec.h's whole-image form. */
static int decode_image(const struct io_src *src, io_reader rd, struct image *im,
			struct err *err)
{
	struct image_sink s;
	struct io_sink sink;
	struct io_src copy = *src;

	image_sink_init(&sink, &s, im);
	copy.mapped = 0;
	if (rd(&copy, &sink, err)) {
		img_free(im);
		return -1;
	}
	return 0;
}

int io_png_decode(const struct io_src *src, struct image *im, struct err *err)
{
	return decode_image(src, io_png_read, im, err);
}

int io_jpeg_decode(const struct io_src *src, struct image *im, struct err *err)
{
	return decode_image(src, io_jpeg_read, im, err);
}

int io_pnm_decode(const struct io_src *src, struct image *im, struct err *err)
{
	return decode_image(src, io_pnm_read, im, err);
}

int io_pfm_decode(const struct io_src *src, struct image *im, struct err *err)
{
	return decode_image(src, io_pfm_read, im, err);
}

int io_tiff_decode(const struct io_src *src, struct image *im, struct err *err)
{
	return decode_image(src, io_tiff_read, im, err);
}

/* ---- writing --------------------------------------------------------------- */

static int check_info(const char *name, const struct image *im, struct err *err)
{
	if (im->nch < 1 || im->nch > IMG_MAX_CHANNELS || im->w < 1 || im->h < 1)
		return err_set(err, ERR_SOFTWARE, "%s: invalid image (%d x %d, %d channels)",
			       name, im->w, im->h, im->nch);
	return 0;
}

static int check_image(const char *name, const struct image *im, struct err *err)
{
	int c;

	if (check_info(name, im, err))
		return -1;
	for (c = 0; c < im->nch; c++)
		if (im->ch[c].px == NULL || im->ch[c].w != im->w || im->ch[c].h != im->h)
			return err_set(err, ERR_SOFTWARE, "%s: invalid image plane %d",
				       name, c);
	return 0;
}

/*
 * The parameters an encoder gets after defaults are applied: the integer
 * depth (8 or 16; a float image is written as 16 bits; TIFF: also 32 for
 * float, and 0 for the input's own sample type) and the JPEG quality.
 */
struct enc_params {
	enum io_format format;
	int depth;
	int quality;
	int threads;
	int png_level;
	int tiff_compression;
};

int io_tiff_comp_parse(const char *s, int *comp)
{
	static const char *const names[] = { "deflate", "none", "lzw", "zstd" };
	int i;

	for (i = 0; i < 4; i++)
		if (strcmp(s, names[i]) == 0) {
			*comp = i;
			return 0;
		}
	return -1;
}

static int resolve(const char *name, int by_ext, const struct image *im,
		   const struct io_write_opts *opts, struct enc_params *p,
		   struct err *err)
{
	p->format = opts ? opts->format : IO_NONE;
	if (p->format == IO_NONE && by_ext)
		p->format = io_format_by_ext(name);
	if (p->format == IO_NONE)
		return err_set(err, ERR_USAGE,
			       "%s: cannot tell the output format from the name; use --format",
			       name);
	p->depth = opts ? opts->depth : 0;
	if (p->depth == 32 && (p->format == IO_PNG || p->format == IO_PNM))
		return err_set(err, ERR_USAGE, "%s: %s holds 8 or 16 bits; -d 32f is for TIFF",
			       name, p->format == IO_PNG ? "PNG" : "PNM");
	if (p->depth == 0 && p->format != IO_TIFF)
		p->depth = im->depth > 8 ? 16 : 8;
	if (p->depth != 0 && p->depth != 8 && p->depth != 16 && p->depth != 32)
		return err_set(err, ERR_USAGE, "%s: bit depth %d is not supported (8, 16 or 32f)",
			       name, p->depth);
	p->tiff_compression = opts ? opts->tiff_compression : IO_TIFF_DEFLATE;
	if (p->tiff_compression < IO_TIFF_DEFLATE || p->tiff_compression > IO_TIFF_ZSTD)
		return err_set(err, ERR_USAGE, "%s: unknown TIFF compression %d", name,
			       p->tiff_compression);
	p->threads = opts ? opts->threads : 0;
	p->png_level = opts ? opts->png_level : IO_PNG_FAST;
	if (p->png_level < IO_PNG_FAST || p->png_level > IO_PNG_LEVEL(9))
		return err_set(err, ERR_USAGE, "%s: PNG compression level %d is out of range",
			       name, p->png_level - 1);
	p->quality = opts ? opts->quality : 0;
	if (p->quality == 0)
		p->quality = IO_DEFAULT_QUALITY;
	if (p->quality < 1 || p->quality > 100)
		return err_set(err, ERR_USAGE, "%s: quality %d is out of range (1 to 100)",
			       name, p->quality);
	return 0;
}

static int encode(FILE *f, const char *name, const struct image *info,
		  const struct enc_params *p, int seekable, const struct io_source *src,
		  struct err *err)
{
	switch (p->format) {
	case IO_PNG:
		return io_png_write(f, name, info, p->depth, p->threads, p->png_level, src, err);
	case IO_JPEG: return io_jpeg_write(f, name, info, p->quality, src, err);
	case IO_PNM: return io_pnm_write(f, name, info, p->depth, src, err);
	case IO_PFM: return io_pfm_write(f, name, info, seekable, src, err);
	case IO_TIFF:
		return io_tiff_write(f, name, info, p->depth, p->tiff_compression, seekable, src, err);
	case IO_NONE: break;
	}
	return err_set(err, ERR_SOFTWARE, "%s: no encoder for format %d", name, (int)p->format);
}

/*
 * The image source: rows from an image's planes, all there.  It holds the
 * whole image, so its cap is 0 and waiting and releasing do nothing.
 */
struct image_source {
	const struct image *im;
};

static int image_wait(void *ctx, int n)
{
	(void)ctx;
	(void)n;
	return 0;
}

static const float *image_src_row(void *ctx, int c, int y)
{
	struct image_source *s = ctx;

	return plane_row(&s->im->ch[c], y);
}

static void image_release(void *ctx, int n)
{
	(void)ctx;
	(void)n;
}

static void image_source_init(struct io_source *src, struct image_source *s,
			      const struct image *im)
{
	s->im = im;
	src->wait = image_wait;
	src->row = image_src_row;
	src->release = image_release;
	src->ctx = s;
	src->cap = 0;
}

int io_png_encode(FILE *f, const char *name, const struct image *im, int depth,
		  int threads, int level, struct err *err)
{
	struct image_source s;
	struct io_source src;

	image_source_init(&src, &s, im);
	return io_png_write(f, name, im, depth, threads, level, &src, err);
}

int io_jpeg_encode(FILE *f, const char *name, const struct image *im,
		   int quality, struct err *err)
{
	struct image_source s;
	struct io_source src;

	image_source_init(&src, &s, im);
	return io_jpeg_write(f, name, im, quality, &src, err);
}

int io_tiff_encode(FILE *f, const char *name, const struct image *im, int depth,
		   int compression, struct err *err)
{
	struct image_source s;
	struct io_source src;

	image_source_init(&src, &s, im);
	return io_tiff_write(f, name, im, depth, compression, 0, &src, err);
}

struct encode_ctx {
	const struct image *info;
	const struct enc_params *p;
	const struct io_source *src;
	int seekable;
};

static int encode_to(FILE *f, const char *name, void *ctx, struct err *err)
{
	struct encode_ctx *e = ctx;

	return encode(f, name, e->info, e->p, e->seekable, e->src, err);
}

/*
 * unseekable says whether the output at path is written as a stream
 * (io_output_is_stream), where an encoder cannot seek back (PFM's
 * bottom-up rows, TIFF's directory).
 */
static int unseekable(const char *path)
{
	return strcmp(path, "-") == 0 || io_output_is_stream(path);
}

/* window is io_write_window's answer once the parameters are resolved. */
static int window(const struct image *info, const struct enc_params *p, int is_stdout)
{
	switch (p->format) {
	case IO_PNG: return io_png_window(info, p->depth, p->threads);
	case IO_PFM: return is_stdout ? info->h : 1;
	case IO_TIFF: return io_tiff_window(info, p->depth);
	case IO_JPEG:
	case IO_PNM:
	case IO_NONE: break;
	}
	return 1;
}

/* write_source writes to path, a temporary file renamed into place ("-": stdout). */
static int write_source(const char *path, const struct image *info, const struct enc_params *p,
			const struct io_source *src, struct err *err)
{
	struct encode_ctx ctx = { info, p, src, !unseekable(path) };

	return io_write_atomic(path, encode_to, &ctx, err);
}

int io_write(const char *path, const struct image *im,
	     const struct io_write_opts *opts, struct err *err)
{
	struct enc_params p;
	struct image_source s;
	struct io_source src;
	int is_stdout = strcmp(path, "-") == 0;
	const char *name = is_stdout ? "<stdout>" : path;

	if (check_image(name, im, err) || resolve(name, !is_stdout, im, opts, &p, err))
		return -1;
	image_source_init(&src, &s, im);
	return write_source(path, im, &p, &src, err);
}

int io_write_window(const char *path, const struct image *info, const struct io_write_opts *opts,
		    struct err *err)
{
	struct enc_params p;
	int is_stdout = strcmp(path, "-") == 0;
	const char *name = is_stdout ? "<stdout>" : path;

	if (check_info(name, info, err) || resolve(name, !is_stdout, info, opts, &p, err))
		return -1;
	return window(info, &p, unseekable(path));
}

int io_write_source(const char *path, const struct image *info, const struct io_write_opts *opts,
		    const struct io_source *src, struct err *err)
{
	struct enc_params p;
	int is_stdout = strcmp(path, "-") == 0;
	const char *name = is_stdout ? "<stdout>" : path;
	int need;

	if (check_info(name, info, err) || resolve(name, !is_stdout, info, opts, &p, err))
		return -1;
	need = window(info, &p, unseekable(path));
	if (src->cap != 0 && src->cap < need)
		return err_set(err, ERR_SOFTWARE, "%s: the source keeps %d rows, the encoder needs %d",
			       name, src->cap, need);
	return write_source(path, info, &p, src, err);
}

int io_write_float(const struct image *info, const struct io_write_opts *opts)
{
	int depth = opts != NULL ? opts->depth : 0;

	if (opts != NULL && opts->format == IO_PFM)
		return 1;
	if (opts == NULL || opts->format != IO_TIFF)
		return 0;
	return depth == 32 || (depth == 0 && info->depth == 32);
}

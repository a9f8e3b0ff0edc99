/* io.c: format detection, reading a whole input, and atomic output files. */
#include "io.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
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

static int decode(const struct io_src *src, struct image *im, struct err *err)
{
	switch (detect(src->buf, src->n)) {
	case IO_PNG: return io_png_decode(src, im, err);
	case IO_JPEG: return io_jpeg_decode(src, im, err);
	case IO_PNM: return io_pnm_decode(src, im, err);
	case IO_PFM: return io_pfm_decode(src, im, err);
	case IO_NONE: break;
	}
	return err_set(err, ERR_DATA, "%s: not a PNG, JPEG, PNM or PFM image", src->name);
}

int io_read_opts(const char *path, struct image *im, struct io_read_opts *opts,
		 struct err *err)
{
	struct io_src src;
	struct stat st;
	unsigned char *buf = NULL;
	size_t n = 0;
	int fd, rc;
	int is_stdin = strcmp(path, "-") == 0;

	memset(im, 0, sizeof *im);
	src.name = is_stdin ? "<stdin>" : path;
	src.max_pixels = opts->max_pixels;
	src.accept_damaged = opts->accept_damaged;
	src.damage = opts->damage;
	src.rows = opts->rows;
	src.rows_ctx = opts->rows_ctx;
	opts->damage[0] = '\0';
	if (is_stdin) {
		fd = STDIN_FILENO;
	} else {
		fd = open(path, O_RDONLY);
		if (fd < 0)
			return err_set(err, ERR_NOINPUT, "%s: %s", path, strerror(errno));
	}
	/* A directory opens fine on Linux and fails only at read(); say it early. */
	if (fstat(fd, &st) == 0 && S_ISDIR(st.st_mode)) {
		if (!is_stdin)
			close(fd);
		return err_set(err, ERR_NOINPUT, "%s: %s", src.name, strerror(EISDIR));
	}
	rc = read_all(fd, src.name, &buf, &n, err);
	if (!is_stdin)
		close(fd);
	if (rc)
		return -1;
	if (n == 0) {
		free(buf);
		return err_set(err, ERR_DATA, "%s: empty file", src.name);
	}
	src.buf = buf;
	src.n = n;
	rc = decode(&src, im, err);
	free(buf);
	if (rc)
		img_free(im);
	else
		io_src_rows(&src, im, im->h);
	return rc;
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

/* ---- writing --------------------------------------------------------------- */

/*
 * The temporary file being written, for io_cleanup_on_signal.  The path is
 * complete before tmp_active is set and tmp_active is cleared before the
 * path is reused, so a handler never sees a half-written name.  A signal in
 * the few instructions between mkstemp and setting the flag leaves the file
 * behind; closing that window would need signals blocked around mkstemp.
 */
static char tmp_path[PATH_MAX];
static volatile sig_atomic_t tmp_active;

void io_cleanup_on_signal(void)
{
	if (tmp_active)
		unlink(tmp_path);
}

static int check_image(const char *name, const struct image *im, struct err *err)
{
	int c;

	if (im->nch < 1 || im->nch > IMG_MAX_CHANNELS || im->w < 1 || im->h < 1)
		return err_set(err, ERR_SOFTWARE, "%s: invalid image (%d x %d, %d channels)",
			       name, im->w, im->h, im->nch);
	for (c = 0; c < im->nch; c++)
		if (im->ch[c].px == NULL || im->ch[c].w != im->w || im->ch[c].h != im->h)
			return err_set(err, ERR_SOFTWARE, "%s: invalid image plane %d",
				       name, c);
	return 0;
}

/*
 * The parameters an encoder gets after defaults are applied: the integer
 * depth (8 or 16; a float image is written as 16 bits) and the JPEG quality.
 */
struct enc_params {
	enum io_format format;
	int depth;
	int quality;
	int threads;
	int png_level;
};

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
	if (p->depth == 0)
		p->depth = im->depth > 8 ? 16 : 8;
	if (p->depth != 8 && p->depth != 16)
		return err_set(err, ERR_USAGE, "%s: bit depth %d is not supported (8 or 16)",
			       name, p->depth);
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

static int encode(FILE *f, const char *name, const struct image *im,
		  const struct enc_params *p, const struct io_rows *rows, struct err *err)
{
	switch (p->format) {
	case IO_PNG: return io_png_encode(f, name, im, p->depth, p->threads, p->png_level, rows, err);
	case IO_JPEG: return io_jpeg_encode(f, name, im, p->quality, rows, err);
	case IO_PNM: return io_pnm_encode(f, name, im, p->depth, err);
	case IO_PFM: return io_pfm_encode(f, name, im, err);
	case IO_NONE: break;
	}
	return err_set(err, ERR_SOFTWARE, "%s: no encoder for format %d", name, (int)p->format);
}

/*
 * make_temp creates "DIR/.BASE.XXXXXX" beside path, in tmp_path, and
 * returns its descriptor.  Being in the target's directory keeps rename()
 * on one file system, which is what makes it atomic.
 */
static int make_temp(const char *path, struct err *err)
{
	const char *slash = strrchr(path, '/');
	const char *base = slash ? slash + 1 : path;
	int dirlen = slash ? (int)(slash - path) + 1 : 0;
	int len, fd;
	mode_t mask;

	if (*base == '\0' || strcmp(base, ".") == 0 || strcmp(base, "..") == 0)
		return err_set(err, ERR_CANTCREAT, "%s: %s", path, strerror(EISDIR));
	len = snprintf(tmp_path, sizeof tmp_path, "%.*s.%s.XXXXXX", dirlen, path, base);
	if (len < 0 || (size_t)len >= sizeof tmp_path)
		return err_set(err, ERR_CANTCREAT, "%s: %s", path, strerror(ENAMETOOLONG));
	fd = mkstemp(tmp_path);
	if (fd < 0)
		return err_set(err, ERR_CANTCREAT, "%s: %s", path, strerror(errno));
	tmp_active = 1;
	/*
	 * mkstemp makes the file 0600; give it the mode a plain open(O_CREAT)
	 * would have.  umask can only be read by setting it, so set it back.
	 */
	mask = umask(0);
	umask(mask);
	if (fchmod(fd, 0666 & ~mask) != 0) {
		int e = errno;

		close(fd);
		tmp_active = 0;
		unlink(tmp_path);
		return err_set(err, ERR_CANTCREAT, "%s: %s", path, strerror(e));
	}
	return fd;
}

/* finish_file flushes f all the way to the disk and closes it. */
static int finish_file(FILE *f, const char *path, struct err *err)
{
	int e = 0;

	if (fflush(f) != 0 || ferror(f))
		e = errno ? errno : EIO;
	else if (fsync(fileno(f)) != 0)
		e = errno;
	if (fclose(f) != 0 && e == 0)
		e = errno;
	if (e)
		return err_set(err, ERR_IO, "%s: %s", path, strerror(e));
	return 0;
}

int io_write_atomic(const char *path,
		    int (*fill)(FILE *f, const char *name, void *ctx, struct err *err),
		    void *ctx, struct err *err)
{
	FILE *f;
	int fd, e;

	if (strcmp(path, "-") == 0) {
		if (fill(stdout, "<stdout>", ctx, err))
			return -1;
		if (fflush(stdout) != 0 || ferror(stdout))
			return err_set(err, ERR_IO, "<stdout>: %s", strerror(errno));
		return 0;
	}
	fd = make_temp(path, err);
	if (fd < 0)
		return -1;
	f = fdopen(fd, "wb");
	if (f == NULL) {
		e = errno;
		close(fd);
		err_set(err, ERR_OS, "%s: %s", path, strerror(e));
		goto fail;
	}
	if (fill(f, path, ctx, err)) {
		fclose(f);
		goto fail;
	}
	if (finish_file(f, path, err))
		goto fail;
	if (rename(tmp_path, path) != 0) {
		err_set(err, ERR_CANTCREAT, "%s: %s", path, strerror(errno));
		goto fail;
	}
	tmp_active = 0;
	return 0;
fail:
	unlink(tmp_path);
	tmp_active = 0;
	return -1;
}

struct encode_ctx {
	const struct image *im;
	const struct enc_params *p;
	const struct io_rows *rows;
};

static int encode_to(FILE *f, const char *name, void *ctx, struct err *err)
{
	struct encode_ctx *e = ctx;

	/* The PNM and PFM encoders take the image whole. */
	if (e->p->format != IO_PNG && e->p->format != IO_JPEG &&
	    io_wait_rows(e->rows, name, e->im->h, err))
		return -1;
	return encode(f, name, e->im, e->p, e->rows, err);
}

int io_write(const char *path, const struct image *im,
	     const struct io_write_opts *opts, struct err *err)
{
	return io_write_rows(path, im, opts, NULL, err);
}

int io_write_rows(const char *path, const struct image *im, const struct io_write_opts *opts,
		  const struct io_rows *rows, struct err *err)
{
	struct enc_params p;
	struct encode_ctx ctx = { im, &p, rows };
	int is_stdout = strcmp(path, "-") == 0;
	const char *name = is_stdout ? "<stdout>" : path;

	if (check_image(name, im, err) || resolve(name, !is_stdout, im, opts, &p, err))
		return -1;
	return io_write_atomic(path, encode_to, &ctx, err);
}

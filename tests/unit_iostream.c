/* unit_iostream.c: rows as they come (io.h): sinks and sources against io_read and io_write. */
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"
#include "err.h"
#include "image.h"
#include "io.h"

#define TESTDATA "../shared/testdata"

/* The large files of the memory test, made in build/ (each about 100 MB). */
#define BIG_PNG "build/tests/iostream-big.png"
#define BIG_PFM "build/tests/iostream-big.pfm"
/* Peak memory may grow by at most this much while the big file is decoded or encoded. */
#define BIG_GROWTH_KB (40L << 10)

static char tmpdir[64];

static const char *tmp(const char *name)
{
	static char buf[8][256];
	static int k;

	k = (k + 1) % 8;
	snprintf(buf[k], sizeof buf[k], "%s/%s", tmpdir, name);
	return buf[k];
}

/* ---- a sink that keeps one row ------------------------------------------- */

/*
 * The sink under test hands the decoder one row per channel and checks
 * the protocol of io.h: begin once, rows asked for only in order and only
 * once the rows above are put, put counting up by one to h.  It copies
 * each final row into keep (when keep is set), to compare with io_read.
 */
struct row_sink {
	struct image info;        /* what begin said, metadata taken over */
	float *row[4];
	int begun, put, asked;    /* puts so far; the row last asked for */
	int bad;                  /* the protocol was broken */
	int keep;
	struct image im;          /* the rows kept */
	int stop_at;              /* stop_put fails from this put on */
};

static int rs_begin(void *ctx, struct image *info, struct err *err)
{
	struct row_sink *s = ctx;
	int c;

	if (s->begun++ || info->ch[0].px != NULL)
		s->bad = 1;
	s->info = *info;
	memset(&s->info.meta, 0, sizeof s->info.meta);
	img_move_meta(&s->info, info);
	for (c = 0; c < info->nch; c++)
		s->row[c] = calloc((size_t)info->w, sizeof(float));
	s->asked = -1;
	if (s->keep && img_alloc(&s->im, info->w, info->h, info->nch, err))
		return -1;
	return 0;
}

static float *rs_row(void *ctx, int c, int y)
{
	struct row_sink *s = ctx;

	if (!s->begun || y != s->put || c < 0 || c >= s->info.nch)
		s->bad = 1;
	s->asked = y;
	return s->row[c];
}

static int rs_put(void *ctx, int n, struct err *err)
{
	struct row_sink *s = ctx;
	int c;

	(void)err;
	if (n != s->put + 1 || s->asked != n - 1 || n > s->info.h)
		s->bad = 1;
	else if (s->keep)
		for (c = 0; c < s->info.nch; c++)
			memcpy(plane_row(&s->im.ch[c], n - 1), s->row[c],
			       (size_t)s->info.w * sizeof(float));
	s->put = n;
	return 0;
}

static void rs_free(struct row_sink *s)
{
	int c;

	for (c = 0; c < 4; c++)
		free(s->row[c]);
	img_free(&s->info);
	img_free(&s->im);
}

static int read_rows(const char *path, struct row_sink *s, unsigned long long max_pixels,
		     struct err *err)
{
	struct io_read_opts opts = { .max_pixels = max_pixels };
	struct io_sink sink = { rs_begin, rs_row, rs_put, s };

	return io_read_sink(path, &opts, &sink, err);
}

static int same_meta(const struct img_meta *a, const struct img_meta *b)
{
	return a->icc_len == b->icc_len && a->exif_len == b->exif_len &&
	       (a->icc_len == 0 || memcmp(a->icc, b->icc, a->icc_len) == 0) &&
	       (a->exif_len == 0 || memcmp(a->exif, b->exif, a->exif_len) == 0) &&
	       strcmp(a->icc_name, b->icc_name) == 0 && a->has_gamma == b->has_gamma &&
	       a->gamma == b->gamma && a->has_chrm == b->has_chrm &&
	       memcmp(a->chrm, b->chrm, sizeof a->chrm) == 0 && a->has_srgb == b->has_srgb &&
	       a->srgb_intent == b->srgb_intent;
}

/* same_image: size, depth, channels and every sample's bits. */
static int same_image(const struct image *a, const struct image *b)
{
	int c, y;

	if (a->w != b->w || a->h != b->h || a->nch != b->nch || a->depth != b->depth)
		return 0;
	for (c = 0; c < a->nch; c++)
		for (y = 0; y < a->h; y++)
			if (memcmp(plane_row(&a->ch[c], y), plane_row(&b->ch[c], y),
				   (size_t)a->w * sizeof(float)) != 0)
				return 0;
	return 1;
}

/* check_decode: the rows through a sink are io_read's image, bit for bit. */
static void check_decode(const char *path, const char *label)
{
	struct row_sink s = { .keep = 1 };
	struct image ref;
	struct err e1 = { 0 }, e2 = { 0 };
	int r1 = io_read(path, &ref, &e1), r2 = read_rows(path, &s, 0, &e2);
	char name[160];

	snprintf(name, sizeof name, "iostream: %s: rows through a sink are io_read's image", label);
	if (check(r1 == 0 && r2 == 0, name, "io_read: %s; io_read_sink: %s", e1.msg, e2.msg)) {
		s.im.depth = s.info.depth;
		check(!s.bad && s.put == ref.h && same_image(&ref, &s.im) &&
		      same_meta(&ref.meta, &s.info.meta), name,
		      "protocol %s, %d of %d rows put, %s", s.bad ? "broken" : "kept", s.put, ref.h,
		      same_image(&ref, &s.im) ? "metadata differs" : "samples differ");
	}
	img_free(&ref);
	rs_free(&s);
}

/* ---- a source that keeps a ring of rows ---------------------------------- */

/*
 * The source under test keeps cap rows in a ring, filled from an image
 * when the encoder waits for them: a wait beyond released + cap is a
 * broken promise (and fails the encoder), and a released row is
 * overwritten with NaN at once, so an encoder that read it would write
 * different bytes.  Waits come from several threads.
 */
struct ring_source {
	const struct image *im;
	int cap, nch;
	float *ring;              /* cap rows of nch * w floats */
	pthread_mutex_t lock;
	int made, released;
	int bad;
};

static float *ring_row(struct ring_source *r, int c, int y)
{
	return r->ring + ((size_t)(y % r->cap) * (size_t)r->nch + (size_t)c) * (size_t)r->im->w;
}

static int ring_wait(void *ctx, int n)
{
	struct ring_source *r = ctx;
	int c, rc = 0;

	pthread_mutex_lock(&r->lock);
	if (n > r->released + r->cap || n > r->im->h) {
		r->bad = 1;
		rc = -1;
	}
	for (; rc == 0 && r->made < n; r->made++)
		for (c = 0; c < r->nch; c++)
			memcpy(ring_row(r, c, r->made), plane_row(&r->im->ch[c], r->made),
			       (size_t)r->im->w * sizeof(float));
	pthread_mutex_unlock(&r->lock);
	return rc;
}

static const float *ring_get(void *ctx, int c, int y)
{
	struct ring_source *r = ctx;
	int bad;

	pthread_mutex_lock(&r->lock);
	bad = y < r->released || y >= r->made;
	r->bad |= bad;
	pthread_mutex_unlock(&r->lock);
	return ring_row(r, c, y);
}

static void ring_release(void *ctx, int n)
{
	struct ring_source *r = ctx;
	int c, x;

	pthread_mutex_lock(&r->lock);
	if (n < r->released || n > r->made)
		r->bad = 1;
	for (; r->released < n && r->released < r->made; r->released++)
		for (c = 0; c < r->nch; c++)
			for (x = 0; x < r->im->w; x++)
				ring_row(r, c, r->released)[x] = NAN;
	pthread_mutex_unlock(&r->lock);
}

static int bytes_equal(const char *a, const char *b)
{
	FILE *fa = fopen(a, "rb"), *fb = fopen(b, "rb");
	int ca, cb, same = fa != NULL && fb != NULL;

	while (same) {
		ca = getc(fa);
		cb = getc(fb);
		same = ca == cb;
		if (ca == EOF)
			break;
	}
	if (fa)
		fclose(fa);
	if (fb)
		fclose(fb);
	return same;
}

/*
 * check_encode: io_write_source with a ring of the least cap
 * io_write_window allows writes the bytes of io_write.
 */
static void check_encode(const struct image *im, const char *file, const struct io_write_opts *o,
			 const char *label)
{
	struct ring_source r = { .im = im, .nch = im->nch };
	struct io_source src = { ring_wait, ring_get, ring_release, &r, 0 };
	struct image info = *im;
	struct err e1 = { 0 }, e2 = { 0 };
	char name[160], ref[256], got[256];
	int r1, r2;

	snprintf(ref, sizeof ref, "%s", tmp("ref-"));
	strncat(ref, file, sizeof ref - strlen(ref) - 1);
	snprintf(got, sizeof got, "%s", tmp(file));
	snprintf(name, sizeof name, "iostream: %s: a source of io_write_window rows writes io_write's bytes",
		 label);
	memset(info.ch, 0, sizeof info.ch);
	r.cap = io_write_window(got, &info, o, &e2);
	if (!check(r.cap >= 1 && r.cap <= im->h, name, "io_write_window: %d %s", r.cap, e2.msg))
		return;
	src.cap = r.cap;
	r.ring = malloc((size_t)r.cap * (size_t)im->nch * (size_t)im->w * sizeof(float));
	pthread_mutex_init(&r.lock, NULL);
	r1 = io_write(ref, im, o, &e1);
	r2 = io_write_source(got, &info, o, &src, &e2);
	if (check(r1 == 0 && r2 == 0, name, "io_write: %s; io_write_source: %s", e1.msg, e2.msg))
		check(!r.bad && r.released == im->h && bytes_equal(ref, got), name,
		      "cap %d: %s, released %d of %d, %s", r.cap, r.bad ? "ring misused" : "ring kept",
		      r.released, im->h, bytes_equal(ref, got) ? "same bytes" : "bytes differ");
	pthread_mutex_destroy(&r.lock);
	free(r.ring);
	unlink(ref);
	unlink(got);
}

/* ---- the tests ------------------------------------------------------------- */

static float fn_value(int x, int y, int c, int depth)
{
	unsigned v = (unsigned)(x * 7919 + y * 104729 + c * 1299709);

	v ^= v >> 13;
	v *= 0x5bd1e995u;
	v ^= v >> 15;
	if (depth == 32)
		return (float)(v % 100000) / 25000.0f - 1.0f;
	return depth == 16 ? (float)(v % 65536) / 65535.0f : (float)(v % 256) / 255.0f;
}

/* make_image: noise with smooth stretches, so deflate has something to do. */
static int make_image(struct image *im, int w, int h, int nch, int depth)
{
	struct err err = { 0 };
	int c, x, y;

	if (img_alloc(im, w, h, nch, &err))
		return -1;
	im->depth = depth;
	for (c = 0; c < nch; c++)
		for (y = 0; y < h; y++)
			for (x = 0; x < w; x++)
				plane_row(&im->ch[c], y)[x] = (x / 16 + y / 16) % 3 == 0
								  ? (float)((x + y) % 256) / 255.0f
								  : fn_value(x, y, c, depth);
	return 0;
}

static void test_decode_corpus(void)
{
	static const char *png[] = {
		"basn0g08.png", "basn0g16.png", "basn4a08.png", "basn4a16.png", "basn2c08.png",
		"basn2c16.png", "basn6a08.png", "basn6a16.png", "basn3p08.png", "basn0g01.png",
		"tbrn2c08.png", "basi0g08.png", "basi2c16.png", "basi3p04.png", "basi6a08.png",
		"exif2c08.png", "cs5n3p08.png", "g10n2c08.png",
	};
	static const char *jpeg[] = {
		"coffee_baseline_420.jpg", "coffee_baseline_444.jpg", "coffee_progressive.jpg",
		"coffee_gray.jpg", "coffee_gray_progressive.jpg", "coffee_cmyk_adobe.jpg",
		"coffee_ycck_adobe.jpg", "coffee_restart_7blocks.jpg", "odd_17x9_420.jpg",
	};
	char path[256];
	size_t i;

	for (i = 0; i < sizeof png / sizeof png[0]; i++) {
		snprintf(path, sizeof path, TESTDATA "/pngsuite/%s", png[i]);
		check_decode(path, png[i]);
	}
	for (i = 0; i < sizeof jpeg / sizeof jpeg[0]; i++) {
		snprintf(path, sizeof path, TESTDATA "/jpeg/%s", jpeg[i]);
		check_decode(path, jpeg[i]);
	}
	check_decode(TESTDATA "/photo/coffee_299x199_rgba8_gradient_alpha.png", "photo RGBA");
	check_decode(TESTDATA "/photo/coffee_299x199_gray16.png", "photo grey 16");
}

/*
 * A late eXIf: exif2c08.png with its eXIf chunk moved after the image
 * data.  The sink must have it at begin, the same bytes as in the file
 * where it comes first.
 */
static void test_late_exif(void)
{
	const char *late = tmp("late-exif.png");
	unsigned char *b, *out;
	size_t n, pos = 8, o = 8, len, exif_at = 0, exif_len = 0;
	FILE *f = fopen(TESTDATA "/pngsuite/exif2c08.png", "rb");
	struct row_sink s = { .keep = 1 };
	struct image early;
	struct err err = { 0 };
	int ok;

	if (f == NULL || (b = malloc(1 << 16)) == NULL || (out = malloc(1 << 16)) == NULL) {
		check(0, "iostream: late eXIf", "cannot read exif2c08.png");
		return;
	}
	n = fread(b, 1, 1 << 16, f);
	fclose(f);
	memcpy(out, b, 8);
	/* Copy every chunk but eXIf; put eXIf just before IEND. */
	while (pos + 12 <= n) {
		len = (size_t)b[pos] << 24 | (size_t)b[pos + 1] << 16 | (size_t)b[pos + 2] << 8 | b[pos + 3];
		if (memcmp(b + pos + 4, "eXIf", 4) == 0) {
			exif_at = pos;
			exif_len = len + 12;
		} else {
			if (memcmp(b + pos + 4, "IEND", 4) == 0 && exif_len != 0) {
				memcpy(out + o, b + exif_at, exif_len);
				o += exif_len;
			}
			memcpy(out + o, b + pos, len + 12);
			o += len + 12;
		}
		pos += len + 12;
	}
	f = fopen(late, "wb");
	fwrite(out, 1, o, f);
	fclose(f);
	free(b);
	free(out);
	check_decode(late, "late eXIf");
	ok = io_read(TESTDATA "/pngsuite/exif2c08.png", &early, &err) == 0 &&
	     read_rows(late, &s, 0, &err) == 0;
	check(ok && exif_len != 0 && s.info.meta.exif_len > 0 && same_meta(&early.meta, &s.info.meta),
	      "iostream: a late eXIf is in the metadata at begin", "%s", ok ? "metadata differs" : err.msg);
	img_free(&early);
	rs_free(&s);
	unlink(late);
}

/* Generated PNM and PFM files, and PNG and JPEG of several shapes, decode alike. */
static void test_decode_generated(void)
{
	static const struct {
		const char *file;
		enum io_format format;
		int nch, depth;
	} g[] = {
		{ "g8.pgm", IO_PNM, 1, 8 }, { "g16.pgm", IO_PNM, 1, 16 }, { "c8.ppm", IO_PNM, 3, 8 },
		{ "c16.ppm", IO_PNM, 3, 16 }, { "g.pfm", IO_PFM, 1, 32 }, { "c.pfm", IO_PFM, 3, 32 },
		{ "ga16.png", IO_PNG, 2, 16 }, { "rgba8.png", IO_PNG, 4, 8 },
	};
	struct io_write_opts o = { 0 };
	struct image im;
	struct err err = { 0 };
	size_t i;

	for (i = 0; i < sizeof g / sizeof g[0]; i++) {
		if (make_image(&im, 97, 61, g[i].nch, g[i].depth))
			continue;
		o.format = g[i].format;
		if (check(io_write(tmp(g[i].file), &im, &o, &err) == 0, "iostream: write a test file",
			  "%s: %s", g[i].file, err.msg))
			check_decode(tmp(g[i].file), g[i].file);
		unlink(tmp(g[i].file));
		img_free(&im);
	}
}

/*
 * max_pixels limits what a decoder holds, not the image: a progressive
 * JPEG and an interlaced PNG are refused under a small limit, a baseline
 * JPEG and a plain PNG are not; io_read still refuses them all.
 */
static void test_holding_limit(void)
{
	static const struct {
		const char *file;
		int holds;
	} t[] = {
		{ TESTDATA "/jpeg/coffee_baseline_420.jpg", 0 },
		{ TESTDATA "/jpeg/coffee_progressive.jpg", 1 },
		{ TESTDATA "/pngsuite/basn2c08.png", 0 },
		{ TESTDATA "/pngsuite/basi2c08.png", 1 },
	};
	struct image im;
	size_t i;
	char name[200];

	for (i = 0; i < sizeof t / sizeof t[0]; i++) {
		struct row_sink s = { 0 };
		struct err e1 = { 0 }, e2 = { 0 };
		int r = read_rows(t[i].file, &s, 16, &e1);

		snprintf(name, sizeof name, "iostream: %s: --max-pixels 16 %s through a sink",
			 strrchr(t[i].file, '/') + 1, t[i].holds ? "refuses it" : "passes it");
		check(t[i].holds ? r != 0 && e1.cls == ERR_OS : r == 0, name, "%s", e1.msg);
		rs_free(&s);
		check(io_read_limit(t[i].file, &im, 16, &e2) != 0 && e2.cls == ERR_OS,
		      "iostream: io_read_limit still refuses every image over the limit", "%s",
		      strrchr(t[i].file, '/') + 1);
	}
}

static void test_encode(void)
{
	static const struct {
		const char *file;
		enum io_format format;
		int w, h, nch, depth, threads;
	} t[] = {
		/* 2000 x 700 RGB 8-bit is 12 PNG pieces of 174 rows. */
		{ "rgb8-j1.png", IO_PNG, 2000, 700, 3, 8, 1 },
		{ "rgb8-j4.png", IO_PNG, 2000, 700, 3, 8, 4 },
		{ "g8-j3.png", IO_PNG, 3001, 1500, 1, 8, 3 },
		{ "ga16-j2.png", IO_PNG, 613, 977, 2, 16, 2 },
		{ "rgba16-j8.png", IO_PNG, 1111, 333, 4, 16, 8 },
		{ "rgba8-small.png", IO_PNG, 5, 3, 4, 8, 4 },
		{ "rgb.jpg", IO_JPEG, 333, 257, 3, 8, 1 },
		{ "g.jpg", IO_JPEG, 97, 61, 1, 8, 1 },
		{ "rgba.jpg", IO_JPEG, 64, 17, 4, 8, 1 },
		{ "g8.pgm", IO_PNM, 97, 61, 1, 8, 1 },
		{ "c16.ppm", IO_PNM, 97, 61, 3, 16, 1 },
		{ "g.pfm", IO_PFM, 97, 61, 1, 32, 1 },
		{ "c.pfm", IO_PFM, 101, 67, 4, 32, 1 },
	};
	size_t i;

	for (i = 0; i < sizeof t / sizeof t[0]; i++) {
		struct io_write_opts o = { .format = t[i].format, .threads = t[i].threads };
		struct image im;

		if (make_image(&im, t[i].w, t[i].h, t[i].nch, t[i].depth) == 0)
			check_encode(&im, t[i].file, &o, t[i].file);
		img_free(&im);
	}
}

/* The windows: a row for most, the image for PFM to a stream, PNG's pieces, and too small a ring. */
static void test_windows(void)
{
	struct image info = { .w = 2000, .h = 5000, .nch = 3, .depth = 8 };
	struct io_write_opts png1 = { .format = IO_PNG, .threads = 1 };
	struct io_write_opts png4 = { .format = IO_PNG, .threads = 4 };
	struct io_write_opts pfm = { .format = IO_PFM };
	struct err err = { 0 };
	int w1 = io_write_window(tmp("w.png"), &info, &png1, &err);
	int w4 = io_write_window(tmp("w.png"), &info, &png4, &err);
	struct ring_source r = { .im = &info, .nch = 3, .cap = w4 - 1 };
	struct io_source src = { ring_wait, ring_get, ring_release, &r, w4 - 1 };

	check(w1 == 174 + 1 && w4 == 4 * 174 + 1, "iostream: PNG's window is its pieces and the row above",
	      "%d and %d rows", w1, w4);
	check(io_write_window(tmp("w.jpg"), &info, NULL, &err) == 1 &&
	      io_write_window(tmp("w.ppm"), &info, NULL, &err) == 1 &&
	      io_write_window(tmp("w.pfm"), &info, NULL, &err) == 1 &&
	      io_write_window("-", &info, &pfm, &err) == info.h,
	      "iostream: JPEG, PNM and PFM to a file need a row, PFM to a stream the image", "%s",
	      err.msg);
	err_clear(&err);
	check(io_write_source(tmp("w.png"), &info, &png4, &src, &err) != 0 && err.cls == ERR_SOFTWARE &&
	      access(tmp("w.png"), F_OK) != 0,
	      "iostream: a source smaller than the window is refused", "%s", err.msg);
}

/* ---- failures ------------------------------------------------------------ */

/* A sink that stops the decoder at put(stop_at), with an error of its own. */
static int stop_put(void *ctx, int n, struct err *err)
{
	struct row_sink *s = ctx;

	rs_put(ctx, n, err);
	return n >= s->stop_at ? err_set(err, ERR_IO, "stopped at row %d", n) : 0;
}

/* Every decoder stops when put says so, and fails with the sink's error. */
static void test_sink_stops(void)
{
	static const char *files[] = {
		TESTDATA "/pngsuite/basn2c08.png", TESTDATA "/pngsuite/basi0g16.png",
		TESTDATA "/jpeg/coffee_baseline_420.jpg", TESTDATA "/jpeg/coffee_progressive.jpg",
	};
	struct image im;
	struct err err = { 0 };
	size_t i;
	char name[160];

	/* PNM and PFM files of the generated kind, beside the corpus. */
	if (make_image(&im, 40, 30, 3, 8) == 0) {
		io_write(tmp("stop.ppm"), &im, NULL, &err);
		io_write(tmp("stop.pfm"), &im, NULL, &err);
	}
	img_free(&im);
	for (i = 0; i < sizeof files / sizeof files[0] + 2; i++) {
		const char *path = i < 4 ? files[i] : tmp(i == 4 ? "stop.ppm" : "stop.pfm");
		struct row_sink s = { .stop_at = 5 };
		struct io_sink sink = { rs_begin, rs_row, stop_put, &s };
		struct io_read_opts opts = { 0 };
		int rc;

		err_clear(&err);
		rc = io_read_sink(path, &opts, &sink, &err);
		snprintf(name, sizeof name, "iostream: %s: a sink's put stops the decoder with its error",
			 strrchr(path, '/') + 1);
		check(rc != 0 && err.cls == ERR_IO && strstr(err.msg, "stopped at row 5") != NULL &&
		      s.put == 5, name, "rc %d, %d rows put, \"%s\"", rc, s.put, err.msg);
		rs_free(&s);
	}
	unlink(tmp("stop.ppm"));
	unlink(tmp("stop.pfm"));
}

/* A ring whose rows stop coming at fail_at: every wait beyond fails. */
struct failing_source {
	struct ring_source r;
	int fail_at;
};

static int failing_wait(void *ctx, int n)
{
	struct failing_source *f = ctx;

	return n > f->fail_at ? -1 : ring_wait(&f->r, n);
}

static const float *failing_row(void *ctx, int c, int y)
{
	return ring_get(&((struct failing_source *)ctx)->r, c, y);
}

static void failing_release(void *ctx, int n)
{
	ring_release(&((struct failing_source *)ctx)->r, n);
}

/*
 * Every encoder fails when its rows never come, on every thread count,
 * without hanging and without leaving a file or a temporary one.
 */
static void test_source_fails(void)
{
	static const struct {
		const char *file;
		int threads;
	} t[] = {
		{ "fail-j1.png", 1 }, { "fail-j4.png", 4 }, { "fail.jpg", 1 }, { "fail.ppm", 1 },
		{ "fail.pfm", 1 },
	};
	struct image im;
	size_t i;
	char name[160];

	if (make_image(&im, 2000, 700, 3, 8))
		return;
	for (i = 0; i < sizeof t / sizeof t[0]; i++) {
		struct io_write_opts o = { .threads = t[i].threads };
		struct failing_source f = { { .im = &im, .nch = 3 }, 400 };
		struct io_source src = { failing_wait, failing_row, failing_release, &f, 0 };
		struct image info = im;
		struct err err = { 0 };
		int rc;

		memset(info.ch, 0, sizeof info.ch);
		f.r.cap = io_write_window(tmp(t[i].file), &info, &o, &err);
		src.cap = f.r.cap;
		f.r.ring = malloc((size_t)f.r.cap * 3 * (size_t)im.w * sizeof(float));
		pthread_mutex_init(&f.r.lock, NULL);
		rc = io_write_source(tmp(t[i].file), &info, &o, &src, &err);
		snprintf(name, sizeof name, "iostream: %s: rows that never come fail the encoder, "
			 "leaving no file", t[i].file);
		check(rc != 0 && err.cls == ERR_SOFTWARE && !f.r.bad &&
		      access(tmp(t[i].file), F_OK) != 0, name, "rc %d, \"%s\"%s", rc, err.msg,
		      f.r.bad ? ", ring misused" : "");
		pthread_mutex_destroy(&f.r.lock);
		free(f.r.ring);
	}
	img_free(&im);
}

/* ---- memory ---------------------------------------------------------------- */

/* A sanitizer's shadow memory and quarantine are not ours: the bounds are off under one. */
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define UNDER_SANITIZER 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#define UNDER_SANITIZER 1
#endif
#endif

static long peak_kb(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return ru.ru_maxrss;
}

/*
 * A source that makes its rows on the spot (noise, so the file is about
 * as large as the samples) and keeps only cap rows.
 */
struct noise_source {
	int w, nch, cap;
	float *ring;
};

static int noise_wait(void *ctx, int n)
{
	(void)ctx;
	(void)n;
	return 0;
}

static const float *noise_row(void *ctx, int c, int y)
{
	struct noise_source *s = ctx;
	float *r = s->ring + ((size_t)(y % s->cap) * (size_t)s->nch + (size_t)c) * (size_t)s->w;
	int x;

	for (x = 0; x < s->w; x++)
		r[x] = fn_value(x, y, c, 8);
	return r;
}

static void noise_release(void *ctx, int n)
{
	(void)ctx;
	(void)n;
}

/*
 * make_big writes path, side x side RGB, from a source of few rows, in a
 * child process so that its memory does not count in this one's peak;
 * the child measures its own.  Returns the peak growth in kB, or -1.
 */
static long make_big(const char *path, int side)
{
	struct image info = { .w = side, .h = side, .nch = 3, .depth = 8 };
	struct io_write_opts o = { .threads = 4 };
	int fd[2], status;
	long growth = -1;
	pid_t pid;

	if (pipe(fd) != 0)
		return -1;
	pid = fork();
	if (pid == 0) {
		struct err err = { 0 };
		struct noise_source s = { side, 3, 0, NULL };
		struct io_source src = { noise_wait, noise_row, noise_release, &s, 0 };
		long before = peak_kb();

		s.cap = io_write_window(path, &info, &o, &err);
		src.cap = s.cap;
		s.ring = malloc((size_t)s.cap * 3 * (size_t)side * sizeof(float));
		if (s.ring == NULL || io_write_source(path, &info, &o, &src, &err) != 0)
			_exit(1);
		growth = peak_kb() - before;
		if (write(fd[1], &growth, sizeof growth) != sizeof growth)
			_exit(1);
		_exit(0);
	}
	close(fd[1]);
	if (pid > 0 && read(fd[0], &growth, sizeof growth) != sizeof growth)
		growth = -1;
	close(fd[0]);
	if (pid > 0)
		waitpid(pid, &status, 0);
	return growth;
}

/*
 * The memory test: a file of about 100 MB (a 6000 x 6000 RGB PNG of
 * noise; a 3000 x 3000 RGB PFM, whose rows are read from the end of the
 * file back) decoded through a sink that keeps one row must not raise the
 * peak by more than BIG_GROWTH_KB: the mapped file's pages are dropped as
 * the decoder goes.  Writing it from a ring must not either.  It runs
 * first, while this process is small.
 */
static void check_memory(const char *path, int side, const char *label)
{
	struct row_sink s = { 0 };
	struct err err = { 0 };
	struct stat st;
	long enc, before, dec;
	char name[160];
	int rc;

	enc = make_big(path, side);
	snprintf(name, sizeof name, "iostream: memory: a %d x %d %s written and read back", side,
		 side, label);
	if (!check(enc >= 0 && stat(path, &st) == 0, name, "could not write %s", path))
		return;
	before = peak_kb();
	rc = read_rows(path, &s, 0, &err);
	dec = peak_kb() - before;
	printf("iostream: memory: %s is %lld MB; peak grew %ld kB encoding it, %ld kB decoding it\n",
	       path, (long long)st.st_size >> 20, enc, dec);
#ifdef UNDER_SANITIZER
	enc = dec = 0;
#endif
	check(rc == 0 && !s.bad && s.put == side, name, "%s", err.msg);
	snprintf(name, sizeof name, "iostream: memory: encoding a %s from a ring stays small", label);
	check(enc < BIG_GROWTH_KB, name, "peak grew %ld kB", enc);
	snprintf(name, sizeof name, "iostream: memory: decoding a 100 MB %s stays small (madvise)",
		 label);
	check(dec < BIG_GROWTH_KB, name, "peak grew %ld kB for a %lld MB file", dec,
	      (long long)st.st_size >> 20);
	rs_free(&s);
	unlink(path);
}

static void test_memory(void)
{
	check_memory(BIG_PNG, 6000, "PNG");
	check_memory(BIG_PFM, 3000, "PFM");
}

int main(void)
{
	test_memory();
	snprintf(tmpdir, sizeof tmpdir, "/tmp/unit_iostream.XXXXXX");
	if (mkdtemp(tmpdir) == NULL) {
		check(0, "mkdtemp", "%s", strerror(errno));
		return check_exit();
	}
	test_decode_generated();
	test_encode();
	test_windows();
	test_source_fails();
	if (check(access(TESTDATA "/pngsuite/basn0g08.png", R_OK) == 0, "iostream: testdata present",
		  "%s not found", TESTDATA)) {
		test_decode_corpus();
		test_late_exif();
		test_holding_limit();
		test_sink_stops();
	}
	check(rmdir(tmpdir) == 0, "iostream: no files left behind", "%s: %s", tmpdir, strerror(errno));
	return check_exit();
}

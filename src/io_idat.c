/* io_idat.c: a PNG's image data, filtered and deflated in parallel pieces. */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "cpu.h"
#include "io.h"
#include "io_codec.h"
#include "size.h"

/*
 * libpng deflates the rows of an image in one zlib stream on one thread,
 * which for a 24-megapixel photo takes longer than filtering it.  Here the
 * rows are cut into pieces of about PIECE_BYTES filtered bytes, and each
 * piece is filtered (Paeth, from the row above even across a cut) and
 * deflated on its own by whichever thread is free, as pigz does:
 *
 *   zlib header | piece 0, sync flush | piece 1, sync flush | ... |
 *   last piece, final block | Adler-32 of all the filtered bytes
 *
 * A sync flush ends each piece on a byte boundary with an empty stored
 * block, so the pieces concatenate into one valid deflate stream; the
 * Adler-32 of the whole is combined from the pieces' (adler32_combine).
 * With zlib's run-length strategy a match only ever reaches one byte back,
 * so starting each piece with an empty window loses nothing (with the
 * levels of --png-compression, the first 32 kB of each megabyte lose the
 * window behind them, a fraction of a percent).  The cut
 * depends only on the image, never on the thread count, so the file is
 * the same bytes whatever -j is.  Each piece goes out as one IDAT chunk.
 */
#define PIECE_BYTES (1u << 20)

/*
 * How rows are compressed.  Measured on the 24-megapixel photo of make
 * bench (filtered 3x3), in one stream: zlib level 6 with libpng's adaptive
 * filters takes 6 s for 13.5 MB; the Paeth filter with zlib's run-length
 * strategy takes 1 s for 14.4 MB, 1.09 times the 13.3 MB ImageMagick
 * writes.  (Level 1 with the ordinary strategy is slower and larger: 1.3 s,
 * 17.5 MB.)  With Z_RLE the level changes nothing.
 */
#define FAST_LEVEL 1
#define FAST_STRATEGY Z_RLE

struct piece {
	unsigned char *z;    /* the piece's compressed bytes */
	size_t nz;
	uLong adler;         /* Adler-32 of its filtered bytes */
	size_t nraw;
	int failed;          /* 1: out of memory; 2: its rows never came (io_rows) */
};

struct io_idat {
	const struct image *im;
	const struct io_rows *wait;   /* rows still being made, or NULL */
	int depth, bpp;           /* bits per sample; bytes per pixel */
	int zlevel, strategy;     /* deflateInit2's */
	size_t rowbytes;          /* bytes of one row's samples, without the filter byte */
	int rows;                 /* rows per piece */
	int npieces;
	struct piece *p;
	pthread_mutex_t lock;
	int next;                 /* the next piece to take */
	unsigned char zhead[2];   /* the zlib header */
};

/*
 * get_row interleaves row y of the planes into big-endian samples; 8-bit
 * rows are quantized a plane's row at a time into tmp (w bytes).
 */
static void get_row(const struct image *im, int depth, unsigned char *row, unsigned char *tmp,
		    int y)
{
	int c, x, nch = im->nch;
	unsigned max = depth == 16 ? 65535 : 255;

	for (c = 0; c < nch; c++) {
		const float *in = plane_row(&im->ch[c], y);

		if (depth == 16) {
			unsigned char *q = row + 2 * c;

			for (x = 0; x < im->w; x++, q += 2 * nch) {
				unsigned v = io_quantize(in[x], max);

				q[0] = (unsigned char)(v >> 8);
				q[1] = (unsigned char)v;
			}
		} else if (nch == 1) {
			io_quantize_row8(row, in, im->w);
		} else {
			unsigned char *q = row + c;

			io_quantize_row8(tmp, in, im->w);
			for (x = 0; x < im->w; x++, q += nch)
				*q = tmp[x];
		}
	}
}

/*
 * paeth writes filter type 4 and row cur filtered against prev (a row of
 * zeros for the first row, as the PNG specification has it) to dst.  The
 * predictor reads only unfiltered bytes, so every byte is independent:
 * written without branches, the loop past the first pixel vectorises
 * (one copy per instruction set, CPU_CLONES).  In the first pixel a and c
 * are 0, so the predictor is b.
 */
CPU_CLONES CPU_VECTORIZE
static void paeth(unsigned char *restrict dst, const unsigned char *restrict cur,
		  const unsigned char *restrict prev, size_t n, int bpp)
{
	size_t i, k = (size_t)bpp < n ? (size_t)bpp : n;

	*dst++ = 4;
	for (i = 0; i < k; i++)
		dst[i] = (unsigned char)(cur[i] - prev[i]);
	for (i = k; i < n; i++) {
		int a = cur[i - bpp], b = prev[i], c = prev[i - bpp];
		int pa = abs(b - c), pb = abs(a - c), pc = abs(a + b - 2 * c);
		int pred = pa <= pb && pa <= pc ? a : pb <= pc ? b : c;

		dst[i] = (unsigned char)(cur[i] - pred);
	}
}

/*
 * do_piece filters and deflates piece k; scratch holds two rows, a row of
 * zeros and get_row's tmp.
 */
static void do_piece(struct io_idat *d, int k, unsigned char *scratch)
{
	struct piece *p = &d->p[k];
	int y0 = k * d->rows, y1 = y0 + d->rows < d->im->h ? y0 + d->rows : d->im->h, y;
	unsigned char *raw, *prev = scratch, *cur = scratch + d->rowbytes, *t;
	const unsigned char *above;
	size_t line = d->rowbytes + 1, cap;
	z_stream zs;
	int rc;

	/* Rows still being made: wait for this piece's (io.h). */
	if (d->wait != NULL && d->wait->wait(d->wait->ctx, y1) != 0) {
		p->failed = 2;
		return;
	}
	p->nraw = line * (size_t)(y1 - y0);
	raw = malloc(p->nraw);
	if (raw == NULL) {
		p->failed = 1;
		return;
	}
	if (y0 > 0)
		get_row(d->im, d->depth, prev, scratch + 3 * d->rowbytes, y0 - 1);
	for (y = y0; y < y1; y++) {
		get_row(d->im, d->depth, cur, scratch + 3 * d->rowbytes, y);
		above = y > 0 ? prev : scratch + 2 * d->rowbytes;
		paeth(raw + line * (size_t)(y - y0), cur, above, d->rowbytes, d->bpp);
		t = prev;
		prev = cur;
		cur = t;
	}
	p->adler = adler32(adler32(0L, Z_NULL, 0), raw, (uInt)p->nraw);

	memset(&zs, 0, sizeof zs);
	if (deflateInit2(&zs, d->zlevel, Z_DEFLATED, -15, 8, d->strategy) != Z_OK) {
		free(raw);
		p->failed = 1;
		return;
	}
	/* The bound is for a finished stream; a sync flush adds at most 6 bytes more. */
	cap = deflateBound(&zs, (uLong)p->nraw) + 16;
	p->z = malloc(cap);
	if (p->z == NULL) {
		deflateEnd(&zs);
		free(raw);
		p->failed = 1;
		return;
	}
	zs.next_in = raw;
	zs.avail_in = (uInt)p->nraw;
	zs.next_out = p->z;
	zs.avail_out = (uInt)cap;
	rc = deflate(&zs, k == d->npieces - 1 ? Z_FINISH : Z_SYNC_FLUSH);
	if (zs.avail_in != 0 || (k == d->npieces - 1 ? rc != Z_STREAM_END : rc != Z_OK))
		p->failed = 1;
	p->nz = cap - zs.avail_out;
	deflateEnd(&zs);
	free(raw);
}

static void *worker(void *arg)
{
	struct io_idat *d = arg;
	/* Two rows, a row of zeros above the first, and get_row's tmp. */
	unsigned char *scratch = calloc(4, d->rowbytes);
	int k;

	for (;;) {
		pthread_mutex_lock(&d->lock);
		k = d->next < d->npieces ? d->next++ : -1;
		pthread_mutex_unlock(&d->lock);
		if (k < 0)
			break;
		if (scratch == NULL)
			d->p[k].failed = 1;
		else
			do_piece(d, k, scratch);
	}
	free(scratch);
	return NULL;
}

static void put32(unsigned char *b, uLong v)
{
	b[0] = (unsigned char)(v >> 24);
	b[1] = (unsigned char)(v >> 16);
	b[2] = (unsigned char)(v >> 8);
	b[3] = (unsigned char)v;
}

/* put_chunk writes a chunk of the given type: head and body are its data, one after the other. */
static int put_chunk(FILE *f, const char *name, const char *type, const unsigned char *head,
		     size_t nhead, const unsigned char *body, size_t nbody, struct err *err)
{
	unsigned char b[8];
	uLong crc = crc32(0L, Z_NULL, 0);

	put32(b, (uLong)(nhead + nbody));
	memcpy(b + 4, type, 4);
	crc = crc32(crc, b + 4, 4);
	if (nhead > 0)
		crc = crc32(crc, head, (uInt)nhead);
	if (nbody > 0)
		crc = crc32(crc, body, (uInt)nbody);
	if (io_put(f, b, 8, name, err) || (nhead > 0 && io_put(f, head, nhead, name, err)) ||
	    (nbody > 0 && io_put(f, body, nbody, name, err)))
		return -1;
	put32(b, crc);
	return io_put(f, b, 4, name, err);
}

int io_png_deflate(const char *name, const struct image *im, int depth, int threads,
		   int level, const struct io_rows *rows, struct io_idat **out, struct err *err)
{
	struct io_idat *d;
	pthread_t *tid = NULL;
	int i, started = 0;

	*out = NULL;
	d = calloc(1, sizeof *d);
	if (d == NULL)
		return err_oom(err, name);
	d->im = im;
	d->wait = rows;
	d->depth = depth;
	d->zlevel = level == IO_PNG_FAST ? FAST_LEVEL : level - 1;
	d->strategy = level == IO_PNG_FAST ? FAST_STRATEGY : Z_DEFAULT_STRATEGY;
	/* The zlib header: deflate with a 32 kB window, the level's hint, the check bits. */
	d->zhead[0] = 0x78;
	d->zhead[1] = (unsigned char)((d->zlevel < 2 ? 0 : d->zlevel < 6 ? 1 : d->zlevel == 6 ? 2 : 3) << 6);
	d->zhead[1] = (unsigned char)(d->zhead[1] + (31 - (d->zhead[0] * 256 + d->zhead[1]) % 31) % 31);
	d->bpp = im->nch * depth / 8;
	if (size_mul(&d->rowbytes, (size_t)im->w, (size_t)d->bpp)) {
		free(d);
		return err_oom(err, name);
	}
	d->rows = (int)(PIECE_BYTES / (d->rowbytes + 1));
	if (d->rows < 1)
		d->rows = 1;
	d->npieces = (im->h + d->rows - 1) / d->rows;
	d->p = calloc((size_t)d->npieces, sizeof *d->p);
	if (d->p == NULL) {
		free(d);
		return err_oom(err, name);
	}
	pthread_mutex_init(&d->lock, NULL);
	if (threads > d->npieces)
		threads = d->npieces;
	if (threads > 1)
		tid = malloc((size_t)(threads - 1) * sizeof *tid);
	for (i = 0; tid != NULL && i < threads - 1; i++, started++)
		if (pthread_create(&tid[i], NULL, worker, d) != 0)
			break;
	worker(d);
	for (i = 0; i < started; i++)
		pthread_join(tid[i], NULL);
	free(tid);
	pthread_mutex_destroy(&d->lock);
	*out = d;
	for (i = 0; i < d->npieces; i++)
		if (d->p[i].failed)
			return d->p[i].failed == 2
				       ? err_set(err, ERR_SOFTWARE, "%s: the image was not completed", name)
				       : err_oom(err, name);
	return 0;
}

int io_png_idat_write(FILE *f, const char *name, const struct io_idat *d, struct err *err)
{
	unsigned char tail[4];
	uLong adler = adler32(0L, Z_NULL, 0);
	int i;

	for (i = 0; i < d->npieces; i++) {
		adler = i == 0 ? d->p[i].adler : adler32_combine(adler, d->p[i].adler, (z_off_t)d->p[i].nraw);
		if (put_chunk(f, name, "IDAT", d->zhead, i == 0 ? 2 : 0, d->p[i].z, d->p[i].nz, err))
			return -1;
	}
	put32(tail, adler);
	return put_chunk(f, name, "IDAT", NULL, 0, tail, 4, err) ||
	       put_chunk(f, name, "IEND", NULL, 0, NULL, 0, err) ? -1 : 0;
}

void io_png_idat_free(struct io_idat *d)
{
	int i;

	if (d == NULL)
		return;
	for (i = 0; i < d->npieces; i++)
		free(d->p[i].z);
	free(d->p);
	free(d);
}

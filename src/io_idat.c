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
 *
 * Pieces are written in order as they are done, and freed: at most
 * `window` pieces are taken and not yet written, which bounds both the
 * memory (a piece's filtered bytes while it is deflated, its compressed
 * bytes until it is written) and the rows of the source the encoder
 * needs at once.  Piece k reads rows k * rows - 1 (Paeth's row above)
 * to (k + 1) * rows - 1; once every piece before k has read its rows, the
 * rows before k * rows - 1 are released.  The first piece not written is
 * at or after the first whose rows are not all read, so a piece taken
 * reads rows below (first unread + window) * rows, which is within
 * window * rows + 1 rows of what is released: the cap io_png_window asks.
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

enum piece_state { PIECE_FREE, PIECE_TAKEN, PIECE_READ, PIECE_DONE };

/* Why the encoder stopped: what error it ends with. */
enum idat_fail { FAIL_NONE, FAIL_MEMORY, FAIL_ROWS, FAIL_WRITE };

struct piece {
	unsigned char *z;    /* the piece's compressed bytes */
	size_t nz;
	uLong adler;         /* Adler-32 of its filtered bytes */
	size_t nraw;
	enum piece_state state;
};

struct idat {
	FILE *f;
	const char *name;
	const struct io_source *src;
	int w, h, nch;
	int depth, bpp;           /* bits per sample; bytes per pixel */
	int zlevel, strategy;     /* deflateInit2's */
	size_t rowbytes;          /* bytes of one row's samples, without the filter byte */
	int rows;                 /* rows per piece */
	int npieces;
	int window;               /* pieces taken and not yet written, at most */
	struct piece *p;
	unsigned char zhead[2];   /* the zlib header */
	/* Under the lock: */
	pthread_mutex_t lock;
	pthread_cond_t cond;
	int next;                 /* the next piece to take */
	int unread;               /* the first piece whose rows are not all read */
	int released;             /* rows released to the source */
	int written;              /* pieces written */
	int writing;              /* a thread is writing pieces */
	enum idat_fail failed;
	/* The writing thread's: */
	uLong adler;              /* of the pieces written */
	struct err werr;
};

/* piece_rows is the rows per piece: about PIECE_BYTES of filtered bytes. */
static int piece_rows(size_t rowbytes)
{
	size_t rows = PIECE_BYTES / (rowbytes + 1);

	return rows < 1 ? 1 : (int)rows;
}

int io_png_window(const struct image *info, int depth, int threads)
{
	size_t rowbytes, cap;

	if (size_mul(&rowbytes, (size_t)info->w, (size_t)(info->nch * depth / 8)))
		return info->h;
	cap = (size_t)piece_rows(rowbytes) * (size_t)(threads > 1 ? threads : 1) + 1;
	return cap < (size_t)info->h ? (int)cap : info->h;
}

/*
 * get_row interleaves row y of the source into big-endian samples; 8-bit
 * rows are quantized a channel at a time into tmp (w bytes).
 */
static void get_row(const struct idat *d, unsigned char *row, unsigned char *tmp, int y)
{
	const struct io_source *src = d->src;
	int c, x, nch = d->nch;
	unsigned max = d->depth == 16 ? 65535 : 255;

	for (c = 0; c < nch; c++) {
		const float *in = src->row(src->ctx, c, y);

		if (d->depth == 16) {
			unsigned char *q = row + 2 * c;

			for (x = 0; x < d->w; x++, q += 2 * nch) {
				unsigned v = io_quantize(in[x], max);

				q[0] = (unsigned char)(v >> 8);
				q[1] = (unsigned char)v;
			}
		} else if (nch == 1) {
			io_quantize_row8(row, in, d->w);
		} else {
			unsigned char *q = row + c;

			io_quantize_row8(tmp, in, d->w);
			for (x = 0; x < d->w; x++, q += nch)
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

/*
 * rows_read marks piece k's rows read and releases the rows no piece
 * still to read needs; the release is made under the lock, so that it
 * comes before any piece that counts on it is taken.
 */
static void rows_read(struct idat *d, int k)
{
	int n;

	pthread_mutex_lock(&d->lock);
	d->p[k].state = PIECE_READ;
	while (d->unread < d->npieces && d->p[d->unread].state >= PIECE_READ)
		d->unread++;
	n = d->unread == d->npieces ? d->h : d->unread * d->rows - 1;
	if (n > d->released) {
		d->src->release(d->src->ctx, n);
		d->released = n;
	}
	pthread_mutex_unlock(&d->lock);
}

/* filter_rows fills raw with piece k's rows, each filtered against the row above. */
static void filter_rows(struct idat *d, int k, unsigned char *raw, unsigned char *scratch)
{
	int y0 = k * d->rows, y1 = y0 + d->rows < d->h ? y0 + d->rows : d->h, y;
	unsigned char *prev = scratch, *cur = scratch + d->rowbytes, *t;
	unsigned char *zeros = scratch + 2 * d->rowbytes, *tmp = scratch + 3 * d->rowbytes;
	size_t line = d->rowbytes + 1;

	if (y0 > 0)
		get_row(d, prev, tmp, y0 - 1);
	for (y = y0; y < y1; y++) {
		get_row(d, cur, tmp, y);
		paeth(raw + line * (size_t)(y - y0), cur, y > 0 ? prev : zeros, d->rowbytes, d->bpp);
		t = prev;
		prev = cur;
		cur = t;
	}
}

/* deflate_piece compresses piece k's filtered bytes raw into the piece. */
static enum idat_fail deflate_piece(struct idat *d, int k, unsigned char *raw)
{
	struct piece *p = &d->p[k];
	int last = k == d->npieces - 1, rc;
	size_t cap;
	z_stream zs;

	p->adler = adler32(adler32(0L, Z_NULL, 0), raw, (uInt)p->nraw);
	memset(&zs, 0, sizeof zs);
	if (deflateInit2(&zs, d->zlevel, Z_DEFLATED, -15, 8, d->strategy) != Z_OK)
		return FAIL_MEMORY;
	/* The bound is for a finished stream; a sync flush adds at most 6 bytes more. */
	cap = deflateBound(&zs, (uLong)p->nraw) + 16;
	p->z = malloc(cap);
	if (p->z == NULL) {
		deflateEnd(&zs);
		return FAIL_MEMORY;
	}
	zs.next_in = raw;
	zs.avail_in = (uInt)p->nraw;
	zs.next_out = p->z;
	zs.avail_out = (uInt)cap;
	rc = deflate(&zs, last ? Z_FINISH : Z_SYNC_FLUSH);
	p->nz = cap - zs.avail_out;
	deflateEnd(&zs);
	if (zs.avail_in != 0 || (last ? rc != Z_STREAM_END : rc != Z_OK))
		return FAIL_MEMORY;
	return FAIL_NONE;
}

/*
 * do_piece waits for piece k's rows, filters them (scratch holds two
 * rows, a row of zeros and get_row's tmp) and deflates them.
 */
static enum idat_fail do_piece(struct idat *d, int k, unsigned char *scratch)
{
	struct piece *p = &d->p[k];
	int y0 = k * d->rows, y1 = y0 + d->rows < d->h ? y0 + d->rows : d->h;
	unsigned char *raw;
	enum idat_fail rc;

	if (d->src->wait(d->src->ctx, y1) != 0)
		return FAIL_ROWS;
	p->nraw = (d->rowbytes + 1) * (size_t)(y1 - y0);
	raw = malloc(p->nraw);
	if (raw == NULL)
		return FAIL_MEMORY;
	filter_rows(d, k, raw, scratch);
	rows_read(d, k);
	rc = deflate_piece(d, k, raw);
	free(raw);
	return rc;
}

/* write_piece writes piece k as an IDAT chunk (the first after the zlib header) and frees it. */
static int write_piece(struct idat *d, int k)
{
	struct piece *p = &d->p[k];
	int rc;

	d->adler = k == 0 ? p->adler : adler32_combine(d->adler, p->adler, (z_off_t)p->nraw);
	rc = put_chunk(d->f, d->name, "IDAT", d->zhead, k == 0 ? 2 : 0, p->z, p->nz, &d->werr);
	free(p->z);
	p->z = NULL;
	return rc;
}

/*
 * flush_pieces, called with the lock held, writes the pieces that are
 * done and next in the file, unless another thread is writing them: that
 * one looks again for pieces done meanwhile before it stops.
 */
static void flush_pieces(struct idat *d)
{
	int k, rc;

	if (d->writing)
		return;
	d->writing = 1;
	while (d->failed == FAIL_NONE && d->written < d->npieces &&
	       d->p[d->written].state == PIECE_DONE) {
		k = d->written;
		pthread_mutex_unlock(&d->lock);
		rc = write_piece(d, k);
		pthread_mutex_lock(&d->lock);
		if (rc)
			d->failed = FAIL_WRITE;
		d->written++;
		pthread_cond_broadcast(&d->cond);
	}
	d->writing = 0;
}

static void *worker(void *arg)
{
	struct idat *d = arg;
	/* Two rows, a row of zeros above the first, and get_row's tmp. */
	unsigned char *scratch = calloc(4, d->rowbytes);
	enum idat_fail rc;
	int k;

	pthread_mutex_lock(&d->lock);
	for (;;) {
		while (d->failed == FAIL_NONE && d->next < d->npieces &&
		       d->next >= d->written + d->window)
			pthread_cond_wait(&d->cond, &d->lock);
		if (d->failed != FAIL_NONE || d->next >= d->npieces)
			break;
		k = d->next++;
		d->p[k].state = PIECE_TAKEN;
		pthread_mutex_unlock(&d->lock);
		rc = scratch == NULL ? FAIL_MEMORY : do_piece(d, k, scratch);
		pthread_mutex_lock(&d->lock);
		if (rc != FAIL_NONE) {
			if (d->failed == FAIL_NONE)
				d->failed = rc;
			pthread_cond_broadcast(&d->cond);
			break;
		}
		d->p[k].state = PIECE_DONE;
		flush_pieces(d);
	}
	pthread_mutex_unlock(&d->lock);
	free(scratch);
	return NULL;
}

/*
 * setup fills in d's geometry: the zlib header, the pieces, and the
 * window the source's cap allows.
 */
static int setup(struct idat *d, const struct image *info, int threads, int level,
		 struct err *err)
{
	int cap = d->src->cap;

	d->w = info->w;
	d->h = info->h;
	d->nch = info->nch;
	d->zlevel = level == IO_PNG_FAST ? FAST_LEVEL : level - 1;
	d->strategy = level == IO_PNG_FAST ? FAST_STRATEGY : Z_DEFAULT_STRATEGY;
	/* The zlib header: deflate with a 32 kB window, the level's hint, the check bits. */
	d->zhead[0] = 0x78;
	d->zhead[1] = (unsigned char)((d->zlevel < 2 ? 0 : d->zlevel < 6 ? 1 : d->zlevel == 6 ? 2 : 3) << 6);
	d->zhead[1] = (unsigned char)(d->zhead[1] + (31 - (d->zhead[0] * 256 + d->zhead[1]) % 31) % 31);
	d->bpp = info->nch * d->depth / 8;
	if (size_mul(&d->rowbytes, (size_t)info->w, (size_t)d->bpp))
		return err_oom(err, d->name);
	d->rows = piece_rows(d->rowbytes);
	d->npieces = (info->h + d->rows - 1) / d->rows;
	/* Twice the threads keeps them busy while the oldest piece is finished. */
	d->window = 2 * threads;
	if (cap > 0 && cap < info->h && (cap - 1) / d->rows < d->window)
		d->window = (cap - 1) / d->rows;
	if (d->window < 1)
		return err_set(err, ERR_SOFTWARE, "%s: a source of %d rows is too small for the "
			       "encoder (%d rows)", d->name, cap, io_png_window(info, d->depth, 1));
	d->p = calloc((size_t)d->npieces, sizeof *d->p);
	if (d->p == NULL)
		return err_oom(err, d->name);
	return 0;
}

/* run starts the workers, works too, and waits for them. */
static void run(struct idat *d, int threads)
{
	pthread_t *tid = NULL;
	int i, started = 0;

	if (threads > d->npieces)
		threads = d->npieces;
	if (threads > d->window)
		threads = d->window;
	if (threads > 1)
		tid = malloc((size_t)(threads - 1) * sizeof *tid);
	for (i = 0; tid != NULL && i < threads - 1; i++, started++)
		if (pthread_create(&tid[i], NULL, worker, d) != 0)
			break;
	worker(d);
	for (i = 0; i < started; i++)
		pthread_join(tid[i], NULL);
	free(tid);
}

int io_png_idat(FILE *f, const char *name, const struct image *info, int depth, int threads,
		int level, const struct io_source *src, struct err *err)
{
	struct idat d;
	unsigned char tail[4];
	int i, rc = 0;

	memset(&d, 0, sizeof d);
	d.f = f;
	d.name = name;
	d.src = src;
	d.depth = depth;
	if (threads < 1)
		threads = 1;
	if (setup(&d, info, threads, level, err)) {
		free(d.p);
		return -1;
	}
	pthread_mutex_init(&d.lock, NULL);
	pthread_cond_init(&d.cond, NULL);
	run(&d, threads);
	pthread_cond_destroy(&d.cond);
	pthread_mutex_destroy(&d.lock);
	for (i = 0; i < d.npieces; i++)
		free(d.p[i].z);
	free(d.p);
	switch (d.failed) {
	case FAIL_NONE:
		break;
	case FAIL_MEMORY:
		return err_oom(err, name);
	case FAIL_ROWS:
		return err_set(err, ERR_SOFTWARE, "%s: the image was not completed", name);
	case FAIL_WRITE:
		*err = d.werr;
		return -1;
	}
	put32(tail, d.adler);
	if (put_chunk(f, name, "IDAT", NULL, 0, tail, 4, err) ||
	    put_chunk(f, name, "IEND", NULL, 0, NULL, 0, err))
		rc = -1;
	return rc;
}

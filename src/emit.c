/* emit.c: the convolution matrix of a job, written for --emit-matrix. */
#include "emit.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "border.h"
#include "size.h"
#include "step.h"

/*
 * The convolution matrix.  Output pixel (y, x) of kernel b reaches,
 * through tap (i, j) of its matrix for input c, the input pixel (sy, sx) =
 * (map(y * stride_y + i - ay, h), map(x * stride_x + j - ax, w)) of input
 * c, where map is the border rule (border_index; -1 for a zero border's
 * outside, which contributes nothing).  Several taps may reach the same
 * pixel near the edges, so each output pixel's taps are first summed per
 * pixel: the distinct sy of the kernels' rows and the distinct sx of their
 * columns, sorted, index a small dense accumulator, which is then written
 * in increasing input index (c * w * h + sx * h + sy).  Only non-zero
 * weights, and the rows and columns holding them, are visited, so a pass
 * costs about the entry bound (output pixels x non-zero weights) that the
 * limit caps.  One pass counts the entries for the header, a second
 * writes them.
 */
struct emit_tap {
	int i, j;             /* indices into emit.ri, emit.cj */
	double w;
};

struct emit {
	const struct conv_job *job;
	struct emit_opts o;
	int nin, nk;          /* inputs, output kernels (1 unless split) */
	int nr, nc, nz;       /* non-zero kernel rows, columns, weights */
	int *ri, *cj;         /* those rows and columns */
	struct emit_tap *tap; /* the nz weights, by (kernel, input) */
	int *first;           /* tap[first[p] .. first[p + 1]) of pair p = b * nin + c */
	long *sy, *sx;        /* per row ri[k] / column cj[k]: input row / column or -1 */
	long *uy, *ux;        /* distinct sy, sx, sorted */
	int *di, *dj;         /* per row / column: index into uy / ux, or -1 */
	double *acc;          /* the output pixel's sums, ndx x ndy */
};

static int cmp_long(const void *a, const void *b)
{
	long x = *(const long *)a, y = *(const long *)b;

	return x < y ? -1 : x > y;
}

/*
 * distinct sorts the n indices s[] other than -1 into distinct values u[]
 * (returns their count) and sets d[k] to the position of s[k] in u, or -1
 * when s[k] is -1.
 */
static int distinct(const long *s, int n, long *u, int *d)
{
	int k, m = 0, lo, hi, mid;

	for (k = 0; k < n; k++)
		if (s[k] >= 0)
			u[m++] = s[k];
	qsort(u, (size_t)m, sizeof *u, cmp_long);
	for (k = 0, lo = 0; k < m; k++)
		if (k == 0 || u[k] != u[lo - 1])
			u[lo++] = u[k];
	m = lo;
	for (k = 0; k < n; k++) {
		d[k] = -1;
		for (lo = 0, hi = m - 1; s[k] >= 0 && lo <= hi;) {
			mid = (lo + hi) / 2;
			if (u[mid] < s[k]) {
				lo = mid + 1;
			} else if (u[mid] > s[k]) {
				hi = mid - 1;
			} else {
				d[k] = mid;
				break;
			}
		}
	}
	return m;
}

/*
 * emit_entry writes one entry (row r, column c of T, 0-based), or of T^T
 * when transposed, to f; only counts it when f is NULL.
 */
static int emit_entry(const struct emit *e, FILE *f, long long r, long long c, double v,
		      long long *count)
{
	++*count;
	if (f == NULL)
		return 0;
	if (e->o.transpose)
		return fprintf(f, "%lld %lld %.9g\n", c + 1, r + 1, v) < 0 ? -1 : 0;
	return fprintf(f, "%lld %lld %.9g\n", r + 1, c + 1, v) < 0 ? -1 : 0;
}

/* emit_pass writes T's entries to f, or only counts them when f is NULL. */
static int emit_pass(struct emit *e, FILE *f, long long *count)
{
	const struct conv_job *job = e->job;
	const int iw = job->in->w, ih = job->in->h, ow = job->out->w, oh = job->out->h;
	const long long in_px = (long long)iw * ih, out_px = (long long)ow * oh;
	enum border_mode mode = job->border.mode, ymode = border_ymode(&job->border);
	int x, y, k, p, q, b, c, ndx, ndy;

	*count = 0;
	for (b = 0; b < e->nk; b++)
		for (x = 0; x < ow; x++) {
			for (k = 0; k < e->nc; k++)
				e->sx[k] = border_index(mode, (long)x * e->o.sx + e->cj[k] - job->ax, iw);
			ndx = distinct(e->sx, e->nc, e->ux, e->dj);
			for (y = 0; y < oh; y++) {
				for (k = 0; k < e->nr; k++)
					e->sy[k] = border_index(ymode, (long)y * e->o.sy + e->ri[k] - job->ay,
								ih);
				ndy = distinct(e->sy, e->nr, e->uy, e->di);
				for (c = 0; c < e->nin; c++) {
					int pair = b * e->nin + c;

					memset(e->acc, 0, (size_t)ndx * ndy * sizeof *e->acc);
					for (k = e->first[pair]; k < e->first[pair + 1]; k++) {
						const struct emit_tap *t = &e->tap[k];

						if (e->di[t->i] >= 0 && e->dj[t->j] >= 0)
							e->acc[(size_t)e->dj[t->j] * ndy + e->di[t->i]] += t->w;
					}
					for (p = 0; p < ndx; p++)
						for (q = 0; q < ndy; q++) {
							double v = e->acc[(size_t)p * ndy + q];

							if (v != 0 &&
							    emit_entry(e, f, b * out_px + (long long)x * oh + y,
								       c * in_px + (long long)e->ux[p] * ih + e->uy[q],
								       v, count))
								return -1;
						}
				}
			}
		}
	return 0;
}

/*
 * emit_setup sums the bank into w when it is not split (nk x nin x kh x kw
 * after), lists the non-zero weights of each (kernel, input) pair and the
 * rows and columns holding any.  Returns 0 or -1 (out of memory).
 */
static int emit_setup(struct emit *e, const struct conv_job *job, double *w)
{
	const int kw = job->kw, kh = job->kh, nin = eng_nin(job);
	size_t taps = (size_t)kw * kh, k;
	int i, j, b, pair, n, *row_at, *col_at;

	e->nin = nin;
	e->nk = e->o.split ? job->nk : 1;
	row_at = malloc((size_t)kh * sizeof *row_at);
	col_at = malloc((size_t)kw * sizeof *col_at);
	e->first = malloc(((size_t)e->nk * nin + 1) * sizeof *e->first);
	if (row_at == NULL || col_at == NULL || e->first == NULL) {
		free(row_at);
		free(col_at);
		return -1;
	}
	for (i = 0; i < kh; i++)
		row_at[i] = -1;
	for (j = 0; j < kw; j++)
		col_at[j] = -1;
	for (pair = 0; pair < e->nk * nin; pair++)
		for (k = 0; k < taps; k++) {
			double *d = &w[(size_t)pair * taps + k];

			*d = 0;
			for (b = e->o.split ? pair / nin : 0; b < (e->o.split ? pair / nin + 1 : job->nk); b++)
				*d += job->wt[((size_t)b * nin + pair % nin) * taps + k];
			if (*d != 0) {
				e->nz++;
				row_at[k / kw] = 0;
				col_at[k % kw] = 0;
			}
		}
	for (i = 0; i < kh; i++)
		if (row_at[i] == 0)
			row_at[i] = e->nr++;
	for (j = 0; j < kw; j++)
		if (col_at[j] == 0)
			col_at[j] = e->nc++;
	e->tap = malloc(((size_t)e->nz + 1) * sizeof *e->tap);
	e->ri = malloc(((size_t)e->nr + 1) * sizeof *e->ri);
	e->sy = malloc(((size_t)e->nr + 1) * sizeof *e->sy);
	e->uy = malloc(((size_t)e->nr + 1) * sizeof *e->uy);
	e->di = malloc(((size_t)e->nr + 1) * sizeof *e->di);
	e->cj = malloc(((size_t)e->nc + 1) * sizeof *e->cj);
	e->sx = malloc(((size_t)e->nc + 1) * sizeof *e->sx);
	e->ux = malloc(((size_t)e->nc + 1) * sizeof *e->ux);
	e->dj = malloc(((size_t)e->nc + 1) * sizeof *e->dj);
	e->acc = malloc(((size_t)(e->nr < job->in->h ? e->nr : job->in->h) *
			 (size_t)(e->nc < job->in->w ? e->nc : job->in->w) + 1) * sizeof *e->acc);
	if (e->tap != NULL && e->ri != NULL && e->cj != NULL) {
		for (i = 0; i < kh; i++)
			if (row_at[i] >= 0)
				e->ri[row_at[i]] = i;
		for (j = 0; j < kw; j++)
			if (col_at[j] >= 0)
				e->cj[col_at[j]] = j;
		for (pair = 0, n = 0; pair < e->nk * nin; pair++) {
			e->first[pair] = n;
			for (k = 0; k < taps; k++) {
				double v = w[(size_t)pair * taps + k];

				if (v != 0) {
					e->tap[n].i = row_at[k / kw];
					e->tap[n].j = col_at[k % kw];
					e->tap[n++].w = v;
				}
			}
		}
		e->first[pair] = n;
	}
	free(row_at);
	free(col_at);
	return e->tap == NULL || e->ri == NULL || e->sy == NULL || e->uy == NULL ||
	       e->di == NULL || e->cj == NULL || e->sx == NULL || e->ux == NULL ||
	       e->dj == NULL || e->acc == NULL ? -1 : 0;
}

static void emit_free(struct emit *e)
{
	free(e->tap);
	free(e->first);
	free(e->ri);
	free(e->sy);
	free(e->uy);
	free(e->di);
	free(e->cj);
	free(e->sx);
	free(e->ux);
	free(e->dj);
	free(e->acc);
}

int emit_matrix(FILE *f, const struct conv_job *job, const struct emit_opts *o,
			 struct err *err)
{
	static const struct emit_opts plain = { 1, 1, 0, 0 };
	struct emit e;
	double *w;
	size_t bound, px = (size_t)job->out->w * (size_t)job->out->h, in_px;
	long long count, rows, cols;
	int saved, status = -1;

	if (border_has(&job->border, BORDER_CONST) && job->border.value != 0)
		return err_set(err, ERR_USAGE,
			       "convolution matrix: a constant border of %g makes the filter "
			       "affine, not linear; use a zero border or another mode",
			       (double)job->border.value);
	memset(&e, 0, sizeof e);
	e.job = job;
	e.o = o != NULL ? *o : plain;
	if (e.o.sx < 1)
		e.o.sx = 1;
	if (e.o.sy < 1)
		e.o.sy = 1;
	if (job->nk > 1 && !e.o.split && job->combine != KERN_SUM)
		return err_set(err, ERR_USAGE,
			       "convolution matrix: a bank of %d kernels combined by %s is not "
			       "linear; only \"combine sum\" has a matrix",
			       job->nk, kern_combine_name(job->combine));
	w = malloc(((size_t)job->kw * job->kh * eng_nin(job) *
		    (e.o.split ? (size_t)job->nk : 1) + 1) * sizeof *w);
	if (w == NULL || emit_setup(&e, job, w)) {
		err_oom(err, "convolution matrix");
		goto done;
	}
	if (size_mul(&bound, px, (size_t)e.nz) || bound > (size_t)EMIT_MAX_NNZ) {
		err_set(err, ERR_USAGE,
			"convolution matrix of a %dx%d output by a %dx%d kernel: up to "
			"%zu x %d entries, over the limit of %ld",
			job->out->w, job->out->h, job->kw, job->kh, px, e.nz,
			EMIT_MAX_NNZ);
		goto done;
	}
	in_px = (size_t)job->in->w * job->in->h;
	rows = (long long)px * e.nk;
	cols = (long long)in_px * e.nin;
	emit_pass(&e, NULL, &count);
	errno = 0;
	if (fprintf(f, "%%%%MatrixMarket matrix coordinate real general\n"
		    "%% imfilter: %s, images stacked by columns, channel after channel; "
		    "output %dx%dx%d, input %dx%dx%d (width x height x channels)\n"
		    "%lld %lld %lld\n",
		    e.o.transpose ? "out(:) = T' * in(:), T' the transpose" : "out(:) = T * in(:)",
		    e.o.transpose ? job->in->w : job->out->w, e.o.transpose ? job->in->h : job->out->h,
		    e.o.transpose ? e.nin : e.nk,
		    e.o.transpose ? job->out->w : job->in->w, e.o.transpose ? job->out->h : job->in->h,
		    e.o.transpose ? e.nk : e.nin,
		    e.o.transpose ? cols : rows, e.o.transpose ? rows : cols, count) < 0 ||
	    emit_pass(&e, f, &count) || fflush(f) == EOF || ferror(f)) {
		saved = errno;
		err_set(err, ERR_IO, "convolution matrix: write failed%s%s",
			saved ? ": " : "", saved ? strerror(saved) : "");
		goto done;
	}
	status = 0;
done:
	emit_free(&e);
	free(w);
	return status;
}

int emit_kernel(FILE *f, const struct kernel *k, int w, int h, int nch,
		const struct job_opts *opts, struct err *err)
{
	struct step s;
	struct conv_job job;
	struct plane in = { 0 }, out = { 0 };
	const struct plane *ins[KERN_MAX_CHANNELS];
	struct emit_opts eo = { 1, 1, 0, 0 };
	struct job_opts o = *opts;
	int c, rc;

	/* The matrix is one channel's (or all of a cross-channel kernel's). */
	o.channels = NULL;
	o.explain = NULL;
	if (step_plan(&s, k, &o, w, h, nch, err)) {
		step_free(&s);
		return -1;
	}
	if (s.layer) {
		const struct layer *L = &s.L;

		job = L->job;
		in.w = L->w;
		in.h = L->h;
		out.w = L->ow;
		out.h = L->oh;
		for (c = 0; c < L->nin; c++)
			ins[c] = &in;
		job.nin = L->nin > 1 ? L->nin : 0;
		job.ins = ins;
		job.nk = L->nk;
		job.combine = L->dk.combine;
		eo.sx = L->sx;
		eo.sy = L->sy;
		eo.split = L->split;
		eo.transpose = L->transpose;
	} else {
		job = s.job;
		in.w = s.w;
		in.h = s.h;
		out.w = s.ow;
		out.h = s.oh;
	}
	job.in = &in;
	job.out = &out;
	rc = emit_matrix(f, &job, &eo, err);
	step_free(&s);
	return rc;
}

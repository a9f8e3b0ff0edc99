/*
 * kernel.h: convolution kernels and banks, the public surface of
 * kernel.c (life), kernel_lex.c (numbers, names), kernel_file.c (files),
 * kernel_gen.c (generators), kernel_spec.c (-k SPEC, inline matrices,
 * the library) and kernel_props.c (sums, rank, --show-kernel).
 */
#ifndef IMF_KERNEL_H
#define IMF_KERNEL_H

#include <stdio.h>

#include "err.h"

/* Documented limits (man page, "KERNEL FILES"). */
#define KERN_MAX_SIDE 4095          /* width and height */
#define KERN_MAX_ELEMS (1L << 22)   /* width x height of one matrix */
#define KERN_MAX_BANK 64            /* matrices in one bank */
#define KERN_MAX_FILE (256L << 20)  /* bytes of one kernel file */
#define KERN_MAX_CHANNELS 4         /* "channels N": 1 .. 4, as images have */

enum kern_combine {
	KERN_SUM = 0,        /* r = r1 + r2 + ... */
	KERN_MAX,            /* r = max(r1, r2, ...) */
	KERN_MAGNITUDE,      /* r = sqrt(r1^2 + r2^2 + ...) */
	KERN_SUMABS          /* r = |r1| + |r2| + ... (libvips' compass SUM) */
};

/*
 * kern_combine_pointwise says whether combine c changes even a single
 * kernel's result (|r| for magnitude and sumabs), so that a bank of one
 * cannot write its sums straight to the output.
 */
static inline int kern_combine_pointwise(enum kern_combine c)
{
	return c == KERN_MAGNITUDE || c == KERN_SUMABS;
}

/* kern_combine_name is c as a kernel file spells it ("sum", "max", ...). */
const char *kern_combine_name(enum kern_combine c);

/*
 * A kernel is a bank of n >= 1 matrices of the same size w x h, applied to
 * the same input, their results merged by combine.  Matrix b's weight at
 * row y, column x is m[((size_t)b * h + y) * w + x], as written in the file
 * (not flipped).  The origin (ox, oy) is the anchor column and row, 0-based,
 * in the convolution sense of DESIGN.md; default floor(w/2), floor(h/2).
 * scale[b] divides matrix b's sums ("auto" is resolved when parsed: the
 * matrix's sum, or 1 when the sum is 0); bias is added once, after combine.
 */
struct kernel {
	char name[64];
	char desc[160];      /* first comment line of the file, or generated text */
	int w, h, n;
	int ox, oy;
	enum kern_combine combine;
	double bias;
	double *scale;       /* n entries */
	double *m;           /* n * h * w entries */
	/*
	 * A cross-channel kernel ("channels N" in the file, nin = N >= 1)
	 * holds one matrix per input channel: its n matrices are n / nin
	 * kernels of nin matrices each, matrix c of kernel b being matrix
	 * b * nin + c, and an image of nin channels gives one output channel
	 * per kernel (PyTorch's conv2d with weights (n / nin) x nin x h x w),
	 * or one channel when the file says how they combine (combined, the
	 * bias is k->bias, added after combining).  Kernel b's own bias is
	 * biases[b] (n / nin entries; all k->bias when the file gives none).
	 * "scale auto" divides by the sum over a kernel's nin matrices.
	 * nin == 0: an ordinary kernel, applied to each channel on its own.
	 */
	int nin;
	int combined;        /* "combine" was given (cross-channel kernels) */
	double *biases;      /* nin > 0: n / nin entries; else NULL */
};

/* kern_outputs is the number of channels a cross-channel kernel writes. */
static inline int kern_outputs(const struct kernel *k)
{
	return k->nin == 0 || k->combined ? 1 : k->n / k->nin;
}

/*
 * kern_parse parses the text of a kernel file (DESIGN.md format, version 1,
 * or a libvips matrix file) into *k.  fname is used in error messages, which
 * read "FNAME:LINE:COL: message" (ERR_DATA).  Returns 0 or -1; *k is zeroed
 * on failure.
 */
int kern_parse(const char *text, size_t len, const char *fname,
	       struct kernel *k, struct err *err);

/* kern_load reads and parses the kernel file at path (ERR_NOINPUT if absent). */
int kern_load(const char *path, struct kernel *k, struct err *err);

/*
 * kern_parse_inline parses "WxH: v v v ..." or ImageMagick's
 * "WxH+X+Y: v,v,..." (W columns, H rows, row by row; X, Y the origin).
 */
int kern_parse_inline(const char *spec, struct kernel *k, struct err *err);

/* Generators.  gaussian: size 0 means 2*ceil(3 sigma)+1; normalised to sum 1. */
int kern_gen_gaussian(double sigma, int size, struct kernel *k, struct err *err);
/* box: w x h ones, scale auto (the mean). */
int kern_gen_box(int w, int h, struct kernel *k, struct err *err);
/*
 * unsharp: ImageMagick's -unsharp 0xSIGMA+AMOUNT+0, (1 + amount) delta -
 * amount G, G the Gaussian at ImageMagick's automatic size; sums to 1.
 */
int kern_gen_unsharp(double sigma, double amount, struct kernel *k, struct err *err);
/* log: the Laplacian of Gaussian out to 4 sigma, centre negative, sum 0. */
int kern_gen_log(double sigma, struct kernel *k, struct err *err);
/* dog: G(s1) - G(s2) at the wider one's size, each of sum 1; sum 0. */
int kern_gen_dog(double s1, double s2, struct kernel *k, struct err *err);

/*
 * kern_gen_spec builds the kernel of a generator spec, "gaussian:...",
 * "box:...", "unsharp:...", "log:..." or "dog:...".  Returns 0, -1 with a
 * message naming the spec and its usage, or 1 when spec names none of them.
 */
int kern_gen_spec(const char *spec, struct kernel *k, struct err *err);

/*
 * kern_resolve turns a -k SPEC into a kernel: an inline matrix, a generator
 * ("gaussian:SIGMA[,SIZE]", "box:N", "box:WxH", "unsharp:SIGMA[,AMOUNT[,0]]",
 * "log:SIGMA", "dog:SIGMA1,SIGMA2"), a path to a kernel file,
 * or a name in the kernel library, searched in $IMFILTER_KERNEL_PATH
 * (colon-separated), then the "kernels" directory beside the running
 * program, then KERNEL_DATADIR.  An unknown name or generator is a usage
 * error that names the nearest known one and the directories searched.
 */
int kern_resolve(const char *spec, struct kernel *k, struct err *err);

/*
 * kern_library_argv0 gives the program's argv[0], to find the directory
 * beside the program where /proc/self/exe does not exist.
 */
void kern_library_argv0(const char *argv0);

/* kern_library_dirs lists the library's directories in search order, "a, b, c". */
void kern_library_dirs(char *buf, size_t size);

/*
 * kern_list prints "name  description" for every library kernel, sorted;
 * an empty library is an error (ERR_NOINPUT) naming where it looked.
 */
int kern_list(FILE *out, struct err *err);

/* kern_show prints the matrices, sums, scale, bias, origin, rank/separability. */
void kern_show(FILE *out, const struct kernel *k);

/* kern_free releases k's arrays and zeroes it; safe on a zeroed kernel. */
void kern_free(struct kernel *k);

/* kern_sum is the sum of matrix b's weights. */
double kern_sum(const struct kernel *k, int b);

/*
 * kern_rank is the numerical rank of matrix b (Gaussian elimination with full
 * pivoting, relative tolerance 1e-9); rank 1 means separable.  It returns -1
 * when out of memory.
 */
int kern_rank(const struct kernel *k, int b);

/*
 * kern_separable says whether matrix b has rank 1 (an outer product of a
 * column and a row).  It stops after two elimination steps, so it costs
 * O(w h) where kern_rank costs O(min(w, h) w h); -1 when out of memory.
 */
int kern_separable(const struct kernel *k, int b);

/*
 * kern_dilate makes *out, k with dx - 1 columns and dy - 1 rows of zeros
 * between its weights ((w - 1) dx + 1 wide, (h - 1) dy + 1 high) and its
 * origin moved with them; a copy of k for dx = dy = 1.  ERR_USAGE when the
 * result would pass the size limits.
 */
int kern_dilate(const struct kernel *k, int dx, int dy, struct kernel *out, struct err *err);

/*
 * kern_set_scale sets every matrix's scale; auto != 0 means each one's sum
 * (or 1), for a cross-channel kernel the sum over each kernel's matrices.
 */
void kern_set_scale(struct kernel *k, double scale, int autoscale);

/* kern_set_bias sets the bias, every kernel's for a cross-channel kernel. */
void kern_set_bias(struct kernel *k, double bias);

/*
 * kern_anchor_before moves a default origin (floor(w/2), floor(h/2)) of an
 * even side to floor((w - 1)/2), floor((h - 1)/2): the anchor MATLAB's
 * imfilter and PyTorch's padding='same' use (--like matlab, torch).  Odd
 * sides and origins given otherwise keep theirs.
 */
void kern_anchor_before(struct kernel *k);

/* ---- Shared by the kernel*.c files only. ---- */

/* kern_matrix is matrix b's first weight. */
static inline const double *kern_matrix(const struct kernel *k, int b)
{
	return k->m + (size_t)b * k->h * k->w;
}

/*
 * kern_sum_is_zero treats a sum that is rounding noise against the
 * weights' magnitudes as 0; kern_auto_scale is what "scale auto" means:
 * the sum of m[0..count), or 1 when it is 0.
 */
int kern_sum_is_zero(const double *m, size_t count);
double kern_auto_scale(const double *m, size_t count);

/*
 * kern_alloc zeroes *k and allocates n zeroed w x h matrices with scale 1,
 * bias 0, combine sum and the default origin.  The caller has checked the
 * limits; a size outside them is ERR_SOFTWARE.
 */
int kern_alloc(struct kernel *k, int w, int h, int n, struct err *err);

/*
 * kern_sum_of is the sum of m[0..count), compensated (Neumaier), as
 * kern_sum computes it.
 */
double kern_sum_of(const double *m, size_t count);

/*
 * kern_number parses all of s[0..len) as a decimal number (optional sign,
 * optional exponent) or a fraction "a/b" of two of them, independent of the
 * locale.  NaN, infinities, hexadecimal and values beyond float range are
 * refused.  Returns 0, or -1 with a message such as
 * 'expected a number, found "x"' in why.
 */
int kern_number(const char *s, size_t len, double *v, char *why, size_t whysz);

/*
 * kern_is_inline returns the length of an inline spec's "WxH:" or
 * "WxH+X+Y:" prefix (colon included), or 0 if spec does not start so.
 */
size_t kern_is_inline(const char *spec);

/* kern_valid_name says whether s[0..len) is 1 to 63 of [A-Za-z0-9._-]. */
int kern_valid_name(const char *s, size_t len);

/*
 * kern_quote writes s[0..len) in double quotes to dst, control bytes as
 * \xHH and anything past 40 bytes as "...", for error messages.
 */
void kern_quote(char *dst, size_t size, const char *s, size_t len);

#endif

/* cli.c: option table, --help, dispatch, and every user-facing error line. */
#include "cli.h"

#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "batch.h"
#include "blas.h"
#include "clock.h"
#include "color.h"
#include "deconv.h"
#include "engine.h"
#include "engine_fft.h"
#include "err.h"
#include "image.h"
#include "io.h"
#include "job.h"
#include "kernel.h"
#include "layer.h"
#include "stream.h"

#ifndef IMF_VERSION
#define IMF_VERSION "0"
#endif

#define MAX_KERNELS 64

/* Long-only options get codes above the char range. */
enum {
	OPT_CORRELATE = 256, OPT_SCALE, OPT_BIAS, OPT_ALPHA, OPT_LIST_KERNELS,
	OPT_SHOW_KERNEL, OPT_MAX_PIXELS, OPT_SUFFIX, OPT_PROGRESS, OPT_QUIET,
	OPT_LINEAR, OPT_ABS, OPT_OFFSET, OPT_DECONVOLVE, OPT_EXPLAIN, OPT_FFT_WISDOM,
	OPT_EMIT_MATRIX, OPT_ACCEPT_DAMAGED, OPT_PNG_COMPRESSION, OPT_STRIDE, OPT_DILATION,
	OPT_TRANSPOSE
};

/*
 * Images above this many pixels are refused from their header, before any
 * large allocation: 250 megapixels accepts any camera's photos and keeps a
 * forged header from costing gigabytes.  --max-pixels or IMFILTER_MAX_PIXELS
 * change it.
 */
#define DEFAULT_MAX_PIXELS 250000000LL

/*
 * The one option table: it drives getopt_long and --help, and a test
 * checks that the man page names every entry.
 */
static const struct cli_opt {
	const char *name;
	int has_arg;
	int code;
	const char *arg;
	const char *help;
} cli_opts[] = {
	{ "output", 1, 'o', "DIR", "batch: filter every FILE into DIR (or a template like %d/%n.sharp.%e)" },
	{ "suffix", 1, OPT_SUFFIX, "S", "batch: add S to each output name before its extension" },
	{ "kernel", 1, 'k', "SPEC", "kernel file, library name, gaussian:S[,N], box:N or 'WxH: v v ...'; repeat to chain" },
	{ "engine", 1, 'e', "NAME", NULL },   /* help built from the engine table */
	{ "border", 1, 'b', "MODE", "zero, const=V, clamp, reflect (default), mirror, wrap" },
	{ "shape", 1, 's', "SHAPE", "same (default), full or valid, as MATLAB conv2" },
	{ "correlate", 0, OPT_CORRELATE, NULL, "slide the kernel unflipped (correlation)" },
	{ "stride", 1, OPT_STRIDE, "S[,SY]", "move the kernel S columns (SY rows) at a time: an S times smaller output" },
	{ "dilation", 1, OPT_DILATION, "D[,DY]", "spread the kernel's taps D columns (DY rows) apart" },
	{ "transpose", 0, OPT_TRANSPOSE, NULL, "apply the transposed (adjoint) convolution; with --stride S it upsamples S times" },
	{ "deconvolve", 1, OPT_DECONVOLVE, "M", "divide the kernel out: wiener[:NSR] (0.01) or rl[:ITERATIONS] (30)" },
	{ "scale", 1, OPT_SCALE, "S", "divide every sum by S, or by the kernel's sum with 'auto'" },
	{ "bias", 1, OPT_BIAS, "B", "add B to every result (0..1 range)" },
	{ "channels", 1, 'c', "LIST", "filter only these channels (r,g,b,a, y; e.g. rgb); copy the rest" },
	{ "alpha", 1, OPT_ALPHA, "MODE", "premultiply (default) or separate" },
	{ "linear", 0, OPT_LINEAR, NULL, "filter in linear light (decode sRGB first, encode after)" },
	{ "abs", 0, OPT_ABS, NULL, "write the absolute value of the results (signed edges)" },
	{ "offset", 1, OPT_OFFSET, "V", "add V to the final results (e.g. 0.5 to show signed ones)" },
	{ "format", 1, 'f', "FMT", "output format png, jpeg, pnm or pfm (default: by extension)" },
	{ "depth", 1, 'd', "BITS", "PNG/PNM output depth 8 or 16 (default: the input's)" },
	{ "quality", 1, 'q', "N", "JPEG quality 1..100 (default 90)" },
	{ "png-compression", 1, OPT_PNG_COMPRESSION, "L", "PNG deflate: fast (default, run-length) or zlib level 0..9 (smaller, slower)" },
	{ "threads", 1, 'j', "N", "threads (default: all cores)" },
	{ "max-pixels", 1, OPT_MAX_PIXELS, "N", "refuse images of more than N pixels (default 250000000)" },
	{ "accept-damaged", 0, OPT_ACCEPT_DAMAGED, NULL, "decode a damaged JPEG (truncated, corrupt data) with a warning instead of refusing it" },
	{ "verbose", 0, 'v', NULL, "say what was done, on stderr" },
	{ "explain", 0, OPT_EXPLAIN, NULL, "print the plan on stderr: kernel, each engine's cost, the choice" },
	{ "fft-wisdom", 1, OPT_FFT_WISDOM, "FILE", "load and save FFTW wisdom in FILE (measured FFT plans)" },
	{ "progress", 0, OPT_PROGRESS, NULL, "show a progress line even when stderr is not a terminal" },
	{ "quiet", 0, OPT_QUIET, NULL, "never show a progress line" },
	{ "emit-matrix", 1, OPT_EMIT_MATRIX, "FILE", "write the convolution matrix T for INPUT's size (Matrix Market) instead of filtering" },
	{ "list-kernels", 0, OPT_LIST_KERNELS, NULL, "list the kernel library and exit" },
	{ "show-kernel", 1, OPT_SHOW_KERNEL, "SPEC", "print a kernel's matrix and properties and exit" },
	{ "help", 0, 'h', NULL, "print this help and exit" },
	{ "version", 0, 'V', NULL, "print the version and exit" },
};

#define N_OPTS (sizeof cli_opts / sizeof cli_opts[0])

struct cli {
	const char *kernel_specs[MAX_KERNELS];
	int nkernels;
	struct job_opts job;
	struct io_write_opts out;
	double scale;
	int scale_set, scale_auto;
	double bias;
	int bias_set;
	int verbose;
	int linear, absval;
	const char *wisdom;          /* --fft-wisdom or IMFILTER_FFT_WISDOM */
	const char *emit_matrix;     /* --emit-matrix FILE */
	double offset;
	long long max_pixels;
	int accept_damaged;          /* --accept-damaged */
	int progress;                /* 1 on, 0 off, -1 when stderr is a terminal */
	const char *input, *output;  /* single-file mode */
	const char *target;          /* -o DIR or template: batch mode */
	const char *suffix;
	char **files;                /* batch inputs */
	int nfiles;
};

static void print_help(void)
{
	char left[64];
	size_t i;

	printf("usage: imfilter [OPTIONS] -k SPEC INPUT OUTPUT\n"
	       "       imfilter [OPTIONS] -k SPEC -o DIR FILE...\n"
	       "       imfilter --list-kernels | --show-kernel SPEC\n"
	       "Filter an image (PNG, JPEG, PNM, PFM) by convolution. '-' is stdin/stdout.\n\n");
	for (i = 0; i < N_OPTS; i++) {
		const struct cli_opt *o = &cli_opts[i];

		if (o->code < 256)
			snprintf(left, sizeof left, "-%c, --%s%s%s", o->code, o->name,
				 o->arg ? " " : "", o->arg ? o->arg : "");
		else
			snprintf(left, sizeof left, "    --%s%s%s", o->name,
				 o->arg ? " " : "", o->arg ? o->arg : "");
		if (o->help != NULL)
			printf("  %-26s %s\n", left, o->help);
		else
			printf("  %-26s convolution engine: %s (default auto)\n", left, eng_names());
	}
	printf("\nExit status: 0 ok, 64 usage, 65 bad data, 66 no input, 70 internal,\n"
	       "71 out of memory or limit, 73 cannot create output, 74 I/O error.\n"
	       "See imfilter(1).\n");
}

/* usage_error prints one line with a hint, and returns EX_USAGE. */
static __attribute__((format(printf, 1, 2)))
int usage_error(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "imfilter: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, " (try 'imfilter --help')\n");
	return ERR_USAGE;
}

static int report(const struct err *err)
{
	fprintf(stderr, "imfilter: %s\n", err->msg);
	return err->cls != ERR_NONE ? (int)err->cls : ERR_SOFTWARE;
}

/* parse_double reads a whole finite number; 0 or -1. */
static int parse_double(const char *s, double *v)
{
	char *end;

	errno = 0;
	*v = strtod(s, &end);
	return end == s || *end != '\0' || errno == ERANGE || !isfinite(*v) ? -1 : 0;
}

/* parse_int reads a whole integer in [lo, hi]; 0 or -1. */
static int parse_int(const char *s, int lo, int hi, int *v)
{
	char *end;
	long l;

	errno = 0;
	l = strtol(s, &end, 10);
	if (end == s || *end != '\0' || errno == ERANGE || l < lo || l > hi)
		return -1;
	*v = (int)l;
	return 0;
}

/* parse_pair reads "N" or "N,M" (x then y; N alone for both), each 1 to hi. */
static int parse_pair(const char *s, int hi, int v[2])
{
	const char *comma = strchr(s, ',');
	char buf[32];
	size_t n = comma ? (size_t)(comma - s) : strlen(s);

	if (n >= sizeof buf)
		return -1;
	memcpy(buf, s, n);
	buf[n] = '\0';
	if (parse_int(buf, 1, hi, &v[0]))
		return -1;
	v[1] = v[0];
	return comma != NULL ? parse_int(comma + 1, 1, hi, &v[1]) : 0;
}

/* parse_deconvolve reads METHOD[:PARAM] for --deconvolve into job. */
static int parse_deconvolve(const char *s, struct job_opts *job)
{
	const char *colon = strchr(s, ':');
	size_t n = colon ? (size_t)(colon - s) : strlen(s);

	if (n == 6 && strncmp(s, "wiener", 6) == 0) {
		job->deconv = DECONV_WIENER;
		job->nsr = DECONV_NSR_DEFAULT;
		return colon && (parse_double(colon + 1, &job->nsr) || !(job->nsr > 0)) ? -1 : 0;
	}
	if (n == 2 && strncmp(s, "rl", 2) == 0) {
		job->deconv = DECONV_RL;
		job->iterations = DECONV_RL_ITERATIONS_DEFAULT;
		return colon && parse_int(colon + 1, 1, DECONV_RL_ITERATIONS_MAX, &job->iterations) ? -1 : 0;
	}
	return -1;
}

/* parse_count reads a whole positive count (digits only) up to 2^62. */
static int parse_count(const char *s, long long *v)
{
	char *end;

	if (*s < '0' || *s > '9')
		return -1;
	errno = 0;
	*v = strtoll(s, &end, 10);
	return *end != '\0' || errno == ERANGE || *v < 1 || *v > (1LL << 62) ? -1 : 0;
}

static int default_threads(void)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);

	return n < 1 ? 1 : n > 256 ? 256 : (int)n;
}

/* parse_args fills cli from argv; returns -1 to go on, or an exit code. */
static int parse_args(struct cli *cli, int argc, char **argv)
{
	struct option longs[N_OPTS + 1];
	char shorts[2 * N_OPTS + 2], *sp = shorts;
	char why[160];
	struct kernel k;
	struct err err = { 0 };
	size_t i;
	int c, status, level;

	*sp++ = ':';
	for (i = 0; i < N_OPTS; i++) {
		longs[i].name = cli_opts[i].name;
		longs[i].has_arg = cli_opts[i].has_arg ? required_argument : no_argument;
		longs[i].flag = NULL;
		longs[i].val = cli_opts[i].code;
		if (cli_opts[i].code < 256) {
			*sp++ = (char)cli_opts[i].code;
			if (cli_opts[i].has_arg)
				*sp++ = ':';
		}
	}
	*sp = '\0';
	memset(&longs[N_OPTS], 0, sizeof longs[N_OPTS]);

	opterr = 0;
	optind = 0;     /* a full reset: cli_main may run more than once in a process */
	while ((c = getopt_long(argc, argv, shorts, longs, NULL)) != -1) {
		switch (c) {
		case 'o':
			cli->target = optarg;
			break;
		case OPT_SUFFIX:
			cli->suffix = optarg;
			break;
		case OPT_PROGRESS:
			cli->progress = 1;
			break;
		case OPT_QUIET:
			cli->progress = 0;
			break;
		case OPT_ACCEPT_DAMAGED:
			cli->accept_damaged = 1;
			break;
		case 'k':
			if (cli->nkernels == MAX_KERNELS)
				return usage_error("more than %d kernels", MAX_KERNELS);
			cli->kernel_specs[cli->nkernels++] = optarg;
			break;
		case 'e':
			if (strcmp(optarg, "auto") == 0)
				cli->job.engine = NULL;
			else if ((cli->job.engine = eng_find(optarg)) == NULL)
				return usage_error("unknown engine \"%s\" (engines: %s)", optarg, eng_names());
			break;
		case 'b':
			if (border_parse(optarg, &cli->job.border, why, sizeof why))
				return usage_error("%s (zero, const=V, clamp, reflect, mirror, wrap; "
						   "X,Y per axis)", why);
			break;
		case 's':
			if (job_shape_parse(optarg, &cli->job.shape))
				return usage_error("unknown shape \"%s\" (same, full, valid)", optarg);
			break;
		case OPT_CORRELATE:
			cli->job.correlate = 1;
			break;
		case OPT_STRIDE:
			if (parse_pair(optarg, KERN_MAX_SIDE, cli->job.stride))
				return usage_error("--stride %s: expected S or S,SY, each 1 to %d",
						   optarg, KERN_MAX_SIDE);
			break;
		case OPT_DILATION:
			if (parse_pair(optarg, KERN_MAX_SIDE, cli->job.dilation))
				return usage_error("--dilation %s: expected D or D,DY, each 1 to %d",
						   optarg, KERN_MAX_SIDE);
			break;
		case OPT_TRANSPOSE:
			cli->job.transpose = 1;
			break;
		case OPT_SCALE:
			cli->scale_set = 1;
			cli->scale_auto = strcmp(optarg, "auto") == 0;
			if (!cli->scale_auto && (parse_double(optarg, &cli->scale) || cli->scale == 0))
				return usage_error("--scale %s: expected a non-zero number or auto", optarg);
			break;
		case OPT_BIAS:
			cli->bias_set = 1;
			if (parse_double(optarg, &cli->bias))
				return usage_error("--bias %s: expected a number", optarg);
			break;
		case 'c':
			cli->job.channels = optarg;
			break;
		case OPT_ALPHA:
			if (strcmp(optarg, "premultiply") == 0 || strcmp(optarg, "premultiplied") == 0)
				cli->job.alpha = ALPHA_PREMULTIPLY;
			else if (strcmp(optarg, "separate") == 0)
				cli->job.alpha = ALPHA_SEPARATE;
			else
				return usage_error("--alpha %s: expected premultiply or separate", optarg);
			break;
		case 'f':
			if ((cli->out.format = io_format_by_name(optarg)) == IO_NONE)
				return usage_error("unknown format \"%s\" (png, jpeg, pnm, pfm)", optarg);
			break;
		case 'd':
			if (parse_int(optarg, 8, 16, &cli->out.depth) ||
			    (cli->out.depth != 8 && cli->out.depth != 16))
				return usage_error("--depth %s: expected 8 or 16", optarg);
			break;
		case 'q':
			if (parse_int(optarg, 1, 100, &cli->out.quality))
				return usage_error("--quality %s: expected 1 to 100", optarg);
			break;
		case OPT_PNG_COMPRESSION:
			if (strcmp(optarg, "fast") == 0)
				cli->out.png_level = IO_PNG_FAST;
			else if (parse_int(optarg, 0, 9, &level))
				return usage_error("--png-compression %s: expected fast or 0 to 9", optarg);
			else
				cli->out.png_level = IO_PNG_LEVEL(level);
			break;
		case 'j':
			if (parse_int(optarg, 1, 256, &cli->job.threads))
				return usage_error("--threads %s: expected 1 to 256", optarg);
			break;
		case 'v':
			cli->verbose = 1;
			break;
		case OPT_DECONVOLVE:
			if (parse_deconvolve(optarg, &cli->job))
				return usage_error("--deconvolve %s: expected wiener[:NSR] (NSR > 0) or "
						   "rl[:ITERATIONS] (1 to %d)", optarg, DECONV_RL_ITERATIONS_MAX);
			break;
		case OPT_EXPLAIN:
			cli->job.explain = stderr;
			break;
		case OPT_EMIT_MATRIX:
			cli->emit_matrix = optarg;
			break;
		case OPT_FFT_WISDOM:
			cli->wisdom = optarg;
			break;
		case OPT_LINEAR:
			cli->linear = 1;
			break;
		case OPT_ABS:
			cli->absval = 1;
			break;
		case OPT_OFFSET:
			if (parse_double(optarg, &cli->offset))
				return usage_error("--offset %s: expected a number", optarg);
			break;
		case OPT_MAX_PIXELS:
			if (parse_count(optarg, &cli->max_pixels))
				return usage_error("--max-pixels %s: expected a positive whole number", optarg);
			break;
		case OPT_LIST_KERNELS:
			status = kern_list(stdout, &err) ? report(&err) : 0;
			return fflush(stdout) || ferror(stdout) ? ERR_IO : status;
		case OPT_SHOW_KERNEL:
			if (kern_resolve(optarg, &k, &err))
				return report(&err);
			kern_show(stdout, &k);
			kern_free(&k);
			return fflush(stdout) || ferror(stdout) ? ERR_IO : 0;
		case 'h':
			print_help();
			return fflush(stdout) || ferror(stdout) ? ERR_IO : 0;
		case 'V':
			printf("imfilter %s\n", IMF_VERSION);
			return fflush(stdout) || ferror(stdout) ? ERR_IO : 0;
		case ':':
			return usage_error("option %s needs an argument", argv[optind - 1]);
		default:
			if (optopt > 0 && optopt < 256)
				return usage_error("unknown option -%c", optopt);
			return usage_error("unknown option %s", argv[optind - 1]);
		}
	}
	if (cli->nkernels == 0)
		return usage_error("no kernel given; use -k SPEC");
	if (cli->target != NULL) {
		if (argc - optind < 1)
			return usage_error("-o %s: expected one or more input files", cli->target);
		if (cli->suffix != NULL && strchr(cli->target, '%') != NULL)
			return usage_error("--suffix goes with -o DIR, not with a template");
		cli->files = argv + optind;
		cli->nfiles = argc - optind;
		return -1;
	}
	if (cli->suffix != NULL)
		return usage_error("--suffix needs -o DIR");
	if (cli->emit_matrix != NULL) {
		if (argc - optind != 1 || cli->nkernels != 1)
			return usage_error("--emit-matrix FILE takes one -k SPEC and one INPUT (for its size)");
		cli->input = argv[optind];
		return -1;
	}
	if (argc - optind != 2)
		return usage_error("%s", argc - optind < 2 ? "expected INPUT and OUTPUT"
							  : "too many arguments (several inputs need -o DIR)");
	cli->input = argv[optind];
	cli->output = argv[optind + 1];
	return -1;
}

/*
 * on_signal removes the temporary output, says so in one line (write(2)
 * is async-signal-safe, stdio is not) and dies of the signal, so the
 * caller sees the usual 128+N status.
 */
static void on_signal(int sig)
{
	static const char intr[] = "imfilter: interrupted by SIGINT\n";
	static const char term[] = "imfilter: terminated by SIGTERM\n";
	static const char hup[] = "imfilter: hung up (SIGHUP)\n";
	int e = errno;

	io_cleanup_on_signal();
	if (sig == SIGINT)
		(void)!write(STDERR_FILENO, intr, sizeof intr - 1);
	else if (sig == SIGTERM)
		(void)!write(STDERR_FILENO, term, sizeof term - 1);
	else
		(void)!write(STDERR_FILENO, hup, sizeof hup - 1);
	errno = e;
	signal(sig, SIG_DFL);
	raise(sig);
}

static void install_signals(void)
{
	struct sigaction sa;

	static const int sigs[] = { SIGINT, SIGTERM, SIGHUP };
	struct sigaction old;
	size_t i;

	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	/* A signal the caller ignores (SIGINT for a background job) stays ignored. */
	for (i = 0; i < sizeof sigs / sizeof sigs[0]; i++)
		if (sigaction(sigs[i], NULL, &old) == 0 && old.sa_handler != SIG_IGN)
			sigaction(sigs[i], &sa, NULL);
	/* A closed pipe must show up as a write error (exit 74), not a silent death. */
	signal(SIGPIPE, SIG_IGN);
	/*
	 * So must a file size limit (ulimit -f): ignored, SIGXFSZ turns into
	 * EFBIG from write(), and the temporary file is removed as on any
	 * failed write instead of being left behind by the default action.
	 */
	signal(SIGXFSZ, SIG_IGN);
}

/* What write_matrix needs: the kernel, the options, the input's size. */
struct matrix_ctx {
	const struct cli *cli;
	const struct kernel *k;
	const struct image *im;
};

static int write_matrix(FILE *f, const char *name, void *ctx, struct err *err)
{
	const struct matrix_ctx *m = ctx;

	(void)name;
	return layer_emit_matrix(f, m->k, m->im->w, m->im->h, m->im->nch, &m->cli->job, err);
}

/*
 * read_input decodes path under the command line's limits.  A damaged file
 * that --accept-damaged let through is decoded with one warning line on
 * stderr, since the picture holds grey where the data was lost.
 */
static void warn_damage(const char *path, const struct io_read_opts *ro)
{
	if (ro->damage[0] != '\0')
		fprintf(stderr, "imfilter: %s: warning: damaged data decoded anyway: %s\n",
			strcmp(path, "-") == 0 ? "<stdin>" : path, ro->damage);
}

static int read_input(const struct cli *cli, const char *path, struct image *im,
		      struct err *err)
{
	struct io_read_opts ro = { .max_pixels = (unsigned long long)cli->max_pixels,
				   .accept_damaged = cli->accept_damaged };

	if (io_read_opts(path, im, &ro, err))
		return -1;
	warn_damage(path, &ro);
	return 0;
}

/*
 * emit_matrix writes the convolution matrix of kernel k for input's size,
 * shape and border (--emit-matrix), and returns the exit code.
 */
static int emit_matrix(struct cli *cli, const struct kernel *k)
{
	struct image im;
	struct err err = { 0 };
	struct matrix_ctx ctx = { cli, k, &im };
	double bias = k->bias;
	int b;

	memset(&im, 0, sizeof im);
	for (b = 0; k->nin > 0 && !k->combined && b < k->n / k->nin; b++)
		if (k->biases[b] != 0)
			bias = k->biases[b];
	if (bias != 0)
		err_set(&err, ERR_USAGE, "--emit-matrix: the kernel's bias %g makes the map affine, "
			"not linear (use --bias 0)", bias);
	else if (read_input(cli, cli->input, &im, &err) == 0) {
		install_signals();
		io_write_atomic(cli->emit_matrix, write_matrix, &ctx, &err);
	}
	img_free(&im);
	return err.cls != ERR_NONE ? report(&err) : 0;
}

/* The state one file's run needs: in batch mode each child gets a copy. */
struct run {
	struct cli *cli;
	struct kernel **kernels;
	char **outputs;           /* batch: one per file */
	double start;             /* single file: when the run began */
};

/* A single image's progress line appears only once it has taken half a second. */
static void plane_progress(void *ctx, int done, int total)
{
	struct run *r = ctx;

	if (clock_seconds() - r->start >= 0.5 || r->start == 0) {
		r->start = 0;
		progress_draw(done, total, "planes", 0);
	}
}

/*
 * filter_file reads input, filters it and writes output; it prints the one
 * error line itself and returns the exit code.
 */
static int filter_file(struct run *r, const char *input, const char *output,
		       int threads)
{
	struct cli *cli = r->cli;
	struct job_opts job = cli->job;
	struct io_write_opts out = cli->out;
	struct image im;
	struct err err = { 0 };
	unsigned mask;

	memset(&im, 0, sizeof im);
	install_signals();
	job.threads = threads;
	out.threads = threads;
	if (out.format == IO_NONE && (out.format = io_format_by_ext(output)) == IO_NONE) {
		err_set(&err, ERR_USAGE, "%s: cannot tell the output format from the name; use --format",
			output);
		goto done;
	}
	/* Decoding, filtering and encoding overlapped, when the job allows (stream.h). */
	if (stream_can(&job, cli->nkernels, r->kernels[0], cli->linear, output, out.format)) {
		struct io_read_opts ro = { .max_pixels = (unsigned long long)cli->max_pixels,
					   .accept_damaged = cli->accept_damaged };
		struct stream_job sj = { input, output, &ro, r->kernels[0], &job, &out,
					 cli->absval, (float)cli->offset };
		int rc = stream_file(&sj, &err);

		warn_damage(input, &ro);
		if (rc == 0 && cli->wisdom != NULL)
			fft_wisdom_save(cli->wisdom, &err);
		goto done;
	}
	if (read_input(cli, input, &im, &err))
		goto done;
	/* Float (PFM) samples are taken to be linear already; the others are sRGB. */
	if (cli->linear && im.depth != 32)
		color_to_linear(&im);
	if (job_filter(&im, r->kernels, cli->nkernels, &job, &err)) {
		/* A kernel that does not fit this image: name the image. */
		if (err.cls == ERR_DATA) {
			char msg[sizeof err.msg];

			snprintf(msg, sizeof msg, "%s", err.msg);
			snprintf(err.msg, sizeof err.msg, "%.200s: %.300s",
				 strcmp(input, "-") == 0 ? "<stdin>" : input, msg);
		}
		goto done;
	}
	if (job_channels(job.channels, im.nch, &mask, &err))
		goto done;
	color_finish(&im, mask, cli->absval, (float)cli->offset);
	if (cli->linear && out.format != IO_PFM)
		color_to_srgb(&im);
	if (io_write(output, &im, &out, &err) == 0 && cli->wisdom != NULL)
		fft_wisdom_save(cli->wisdom, &err);
done:
	img_free(&im);
	return err.cls != ERR_NONE ? report(&err) : 0;
}

static int batch_one(void *ctx, int i)
{
	struct run *r = ctx;
	int threads = r->cli->job.threads, left = r->cli->nfiles - i;
	int busy = left < threads ? left : threads;

	/*
	 * Cores go to files when there are many, and inside an image when
	 * there are few: file i shares the cores with the files still to
	 * start after it (at most one per core), so the last files of a batch
	 * take the cores the finished ones gave back.  Results do not depend
	 * on the thread count, only the time does.
	 */
	return filter_file(r, r->cli->files[i], r->outputs[i], busy > 1 ? threads / busy : threads);
}

/* batch_outputs names every output before any work, refusing two inputs with one output. */
static int batch_outputs(struct cli *cli, char ***outputs)
{
	char path[PATH_MAX];
	struct err err = { 0 };
	char **out;
	int i, j, status = 0;

	out = calloc((size_t)cli->nfiles, sizeof *out);
	if (out == NULL) {
		fprintf(stderr, "imfilter: out of memory\n");
		return ERR_OS;
	}
	for (i = 0; i < cli->nfiles && status == 0; i++) {
		if (batch_output_path(cli->target, cli->suffix ? cli->suffix : "", cli->files[i],
				      cli->out.format, path, sizeof path, &err)) {
			status = report(&err);
		} else if ((out[i] = strdup(path)) == NULL) {
			fprintf(stderr, "imfilter: out of memory\n");
			status = ERR_OS;
		}
		for (j = 0; j < i && status == 0; j++)
			if (strcmp(out[i], out[j]) == 0)
				status = usage_error("%s and %s would both be written to %s",
						     cli->files[j], cli->files[i], out[i]);
	}
	if (status == 0 && strchr(cli->target, '%') == NULL && access(cli->target, W_OK | X_OK) != 0)
		status = (fprintf(stderr, "imfilter: %s: %s\n", cli->target, strerror(errno)), ERR_CANTCREAT);
	*outputs = out;
	return status;
}

int cli_main(int argc, char **argv)
{
	struct cli cli;
	struct kernel kernels[MAX_KERNELS];
	struct kernel *kp[MAX_KERNELS];
	struct err err = { 0 };
	struct run run;
	const char *env;
	int i, status, loaded = 0;

	blas_no_pool();
	memset(&cli, 0, sizeof cli);
	memset(&run, 0, sizeof run);
	cli.job.border.mode = BORDER_REFLECT;
	cli.job.threads = default_threads();
	cli.out.quality = 90;
	cli.progress = -1;
	env = getenv("IMFILTER_MAX_PIXELS");
	cli.max_pixels = DEFAULT_MAX_PIXELS;
	if (env != NULL && *env != '\0' && parse_count(env, &cli.max_pixels))
		return usage_error("IMFILTER_MAX_PIXELS=%s: expected a positive whole number", env);
	status = parse_args(&cli, argc, argv);
	if (status >= 0)
		return status;
	if (cli.verbose)
		cli.job.log = stderr;
	if (cli.progress < 0)
		cli.progress = isatty(STDERR_FILENO);

	/* Decide the output format before any work, so a bad name fails fast. */
	if (cli.target == NULL && cli.emit_matrix == NULL && cli.out.format == IO_NONE) {
		if (strcmp(cli.output, "-") == 0)
			return usage_error("writing to stdout needs --format");
		if ((cli.out.format = io_format_by_ext(cli.output)) == IO_NONE)
			return usage_error("%s: cannot tell the output format from the name; use --format",
					   cli.output);
	}
	if (cli.target == NULL && cli.emit_matrix == NULL && strcmp(cli.output, "-") == 0 &&
	    isatty(STDOUT_FILENO))
		return usage_error("refusing to write an image to a terminal");

	for (i = 0; i < cli.nkernels; i++) {
		if (kern_resolve(cli.kernel_specs[i], &kernels[i], &err)) {
			status = report(&err);
			goto done;
		}
		loaded++;
		if (cli.scale_set)
			kern_set_scale(&kernels[i], cli.scale, cli.scale_auto);
		if (cli.bias_set)
			kern_set_bias(&kernels[i], cli.bias);
		kp[i] = &kernels[i];
	}
	if (cli.wisdom == NULL && (env = getenv("IMFILTER_FFT_WISDOM")) != NULL && *env != '\0')
		cli.wisdom = env;
	if (cli.wisdom != NULL && fft_wisdom_load(cli.wisdom, &err)) {
		status = report(&err);
		goto done;
	}
	run.cli = &cli;
	run.kernels = kp;
	if (cli.emit_matrix != NULL) {
		status = emit_matrix(&cli, &kernels[0]);
	} else if (cli.target == NULL) {
		if (cli.progress) {
			run.start = clock_seconds();
			cli.job.progress = plane_progress;
			cli.job.progress_ctx = &run;
		}
		status = filter_file(&run, cli.input, cli.output, cli.job.threads);
		progress_end();
	} else {
		struct batch_opts bo = { .progress = cli.progress };

		bo.workers = cli.nfiles < cli.job.threads ? cli.nfiles : cli.job.threads;
		status = batch_outputs(&cli, &run.outputs);
		if (status == 0)
			status = batch_run(cli.nfiles, batch_one, &run, &bo);
		for (i = 0; run.outputs != NULL && i < cli.nfiles; i++)
			free(run.outputs[i]);
		free(run.outputs);
	}
done:
	for (i = 0; i < loaded; i++)
		kern_free(&kernels[i]);
	fft_shutdown();
	return status;
}

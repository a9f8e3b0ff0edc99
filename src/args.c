/* args.c: the option table, its setters, --help and the operands (args.h). */
#include "args.h"

#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "deconv.h"
#include "engine.h"
#include "err.h"
#include "habits.h"
#include "kernel.h"
#include "plane.h"
#include "suggest.h"

/*
 * Images above this many pixels are refused from their header, before any
 * large allocation: 250 megapixels accepts any camera's photos and keeps a
 * forged header from costing gigabytes.  --max-pixels or IMFILTER_MAX_PIXELS
 * change it.
 */
#define DEFAULT_MAX_PIXELS 250000000LL

int args_usage(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "imfilter: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, " (try 'imfilter --help')\n");
	return ERR_USAGE;
}

/* ---- Values ------------------------------------------------------------- */

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

/* ---- One setter per option ----------------------------------------------
 *
 * Each takes the option's argument (NULL for a switch) and returns 0, or
 * an exit code after printing the one usage line.  None acts: the table
 * below pairs every option with its setter, and parse_args only calls them.
 */

static int set_output(struct cli *cli, const char *a) { cli->target = a; return 0; }
static int set_suffix(struct cli *cli, const char *a) { cli->suffix = a; return 0; }
static int set_channels(struct cli *cli, const char *a) { cli->job.channels = a; return 0; }
static int set_emit_matrix(struct cli *cli, const char *a) { cli->emit_matrix = a; return 0; }
static int set_wisdom(struct cli *cli, const char *a) { cli->wisdom = a; return 0; }
static int set_progress(struct cli *cli, const char *a) { (void)a; cli->progress = 1; return 0; }
static int set_quiet(struct cli *cli, const char *a) { (void)a; cli->progress = 0; return 0; }
static int set_damaged(struct cli *cli, const char *a) { (void)a; cli->accept_damaged = 1; return 0; }
static int set_correlate(struct cli *cli, const char *a) { (void)a; cli->job.correlate = 1; return 0; }
static int set_transpose(struct cli *cli, const char *a) { (void)a; cli->job.transpose = 1; return 0; }

/*
 * --like PEER: the conventions of the call people port from, each checked
 * against the peer itself by tests/like.py.  anchor_before: an even
 * kernel's anchor is floor((k - 1) / 2), left of the middle, rather than
 * floor(k / 2) (MATLAB's imfilter centre floor((k + 1) / 2), 1-based; a
 * padding of k - 1 in all, (k - 1) // 2 before, in PyTorch's 'same').
 * Options after --like override it, as any later option does.
 */
static const struct like {
	const char *name;
	const char *call;         /* for the error line */
	int correlate;
	enum border_mode border;
	int anchor_before;
} likes[] = {
	{ "matlab", "imfilter(A, h)", 1, BORDER_CONST, 1 },
	{ "opencv", "cv2.filter2D", 1, BORDER_MIRROR, 0 },
	{ "scipy", "scipy.ndimage.convolve", 0, BORDER_REFLECT, 0 },
	{ "torch", "conv2d(padding='same')", 1, BORDER_CONST, 1 },
	{ "vips", "vips conv", 1, BORDER_CLAMP, 0 },
};

static int set_like(struct cli *cli, const char *a)
{
	size_t i;

	for (i = 0; i < sizeof likes / sizeof likes[0]; i++)
		if (strcmp(a, likes[i].name) == 0) {
			cli->job.correlate = likes[i].correlate;
			memset(&cli->job.border, 0, sizeof cli->job.border);
			cli->job.border.mode = likes[i].border;
			cli->anchor_before = likes[i].anchor_before;
			return 0;
		}
	return args_usage("--like %s: expected matlab, opencv, scipy, torch or vips", a);
}

/* --output-size WxH: the transpose's output size, PyTorch's output_size. */
static int set_output_size(struct cli *cli, const char *a)
{
	const char *x = strchr(a, 'x');
	char buf[32];
	size_t n = x != NULL ? (size_t)(x - a) : 0;

	if (x == NULL || n >= sizeof buf)
		return args_usage("--output-size %s: expected WxH, e.g. 9x9", a);
	memcpy(buf, a, n);
	buf[n] = '\0';
	if (parse_int(buf, 1, PLANE_MAX_SIDE, &cli->job.out_size[0]) ||
	    parse_int(x + 1, 1, PLANE_MAX_SIDE, &cli->job.out_size[1]))
		return args_usage("--output-size %s: expected WxH, each 1 to %d", a, PLANE_MAX_SIDE);
	return 0;
}
static int set_verbose(struct cli *cli, const char *a) { (void)a; cli->verbose = 1; return 0; }
static int set_explain(struct cli *cli, const char *a) { (void)a; cli->job.explain = stderr; return 0; }
static int set_linear(struct cli *cli, const char *a) { (void)a; cli->linear = 1; return 0; }
static int set_abs(struct cli *cli, const char *a) { (void)a; cli->absval = 1; return 0; }
static int set_in_place(struct cli *cli, const char *a) { (void)a; cli->in_place = 1; return 0; }

/* The first action asked for is the one taken. */
static int want(struct cli *cli, enum action act)
{
	if (cli->action == ACT_FILTER)
		cli->action = act;
	return 0;
}

static int set_help(struct cli *cli, const char *a) { (void)a; return want(cli, ACT_HELP); }
static int set_version(struct cli *cli, const char *a) { (void)a; return want(cli, ACT_VERSION); }
static int set_list(struct cli *cli, const char *a) { (void)a; return want(cli, ACT_LIST_KERNELS); }

static int set_show(struct cli *cli, const char *a)
{
	if (cli->action == ACT_FILTER)
		cli->show = a;
	return want(cli, ACT_SHOW_KERNEL);
}

static int set_kernel(struct cli *cli, const char *a)
{
	if (cli->nkernels == MAX_KERNELS)
		return args_usage("more than %d kernels", MAX_KERNELS);
	cli->kernel_specs[cli->nkernels++] = a;
	return 0;
}

static int set_engine(struct cli *cli, const char *a)
{
	if (strcmp(a, "auto") == 0)
		cli->job.engine = NULL;
	else if ((cli->job.engine = eng_find(a)) == NULL)
		return args_usage("unknown engine \"%s\" (engines: %s)", a, eng_names());
	return 0;
}

static int set_border(struct cli *cli, const char *a)
{
	char why[160];

	if (border_parse(a, &cli->job.border, why, sizeof why))
		return args_usage("-b %s: %s", a, why);
	return 0;
}

static int set_shape(struct cli *cli, const char *a)
{
	if (job_shape_parse(a, &cli->job.shape))
		return args_usage("unknown shape \"%s\" (same, full, valid)", a);
	return 0;
}

static int set_stride(struct cli *cli, const char *a)
{
	if (parse_pair(a, KERN_MAX_SIDE, cli->job.stride))
		return args_usage("--stride %s: expected S or S,SY, each 1 to %d", a, KERN_MAX_SIDE);
	return 0;
}

static int set_dilation(struct cli *cli, const char *a)
{
	if (parse_pair(a, KERN_MAX_SIDE, cli->job.dilation))
		return args_usage("--dilation %s: expected D or D,DY, each 1 to %d", a, KERN_MAX_SIDE);
	return 0;
}

static int set_scale(struct cli *cli, const char *a)
{
	cli->scale_set = 1;
	cli->scale_auto = strcmp(a, "auto") == 0;
	if (!cli->scale_auto && (parse_double(a, &cli->scale) || cli->scale == 0))
		return args_usage("--scale %s: expected a non-zero number or auto", a);
	return 0;
}

static int set_bias(struct cli *cli, const char *a)
{
	cli->bias_set = 1;
	if (parse_double(a, &cli->bias))
		return args_usage("--bias %s: expected a number", a);
	return 0;
}

static int set_offset(struct cli *cli, const char *a)
{
	if (parse_double(a, &cli->offset))
		return args_usage("--offset %s: expected a number", a);
	return 0;
}

static int set_alpha(struct cli *cli, const char *a)
{
	if (strcmp(a, "premultiply") == 0 || strcmp(a, "premultiplied") == 0)
		cli->job.alpha = ALPHA_PREMULTIPLY;
	else if (strcmp(a, "separate") == 0)
		cli->job.alpha = ALPHA_SEPARATE;
	else
		return args_usage("--alpha %s: expected premultiply or separate", a);
	return 0;
}

static int set_format(struct cli *cli, const char *a)
{
	if ((cli->out.format = io_format_by_name(a)) == IO_NONE)
		return args_usage("unknown format \"%s\" (png, jpeg, pnm, pfm, tiff)", a);
	return 0;
}

/* -d 8, 16 or 32f (float, TIFF only; "32" alone would not say which 32 bits). */
static int set_depth(struct cli *cli, const char *a)
{
	if (strcmp(a, "32f") == 0)
		cli->out.depth = 32;
	else if (parse_int(a, 8, 16, &cli->out.depth) || (cli->out.depth != 8 && cli->out.depth != 16))
		return args_usage("--depth %s: expected 8, 16 or 32f", a);
	return 0;
}

static int set_tiff_comp(struct cli *cli, const char *a)
{
	if (io_tiff_comp_parse(a, &cli->out.tiff_compression))
		return args_usage("--tiff-compression %s: expected none, lzw, deflate or zstd", a);
	cli->tiff_comp_set = 1;
	return 0;
}

static int set_page(struct cli *cli, const char *a)
{
	if (parse_int(a, 0, 65535, &cli->page))
		return args_usage("--page %s: expected 0 to 65535 (0 is the first page)", a);
	return 0;
}

static int set_quality(struct cli *cli, const char *a)
{
	if (parse_int(a, 1, 100, &cli->out.quality))
		return args_usage("--quality %s: expected 1 to 100", a);
	return 0;
}

static int set_png_level(struct cli *cli, const char *a)
{
	int level;

	if (strcmp(a, "fast") == 0)
		cli->out.png_level = IO_PNG_FAST;
	else if (parse_int(a, 0, 9, &level))
		return args_usage("--png-compression %s: expected fast or 0 to 9", a);
	else
		cli->out.png_level = IO_PNG_LEVEL(level);
	cli->png_level_set = 1;
	return 0;
}

static int set_threads(struct cli *cli, const char *a)
{
	if (parse_int(a, 1, 256, &cli->job.threads))
		return args_usage("--threads %s: expected 1 to 256", a);
	return 0;
}

static int set_deconvolve(struct cli *cli, const char *a)
{
	if (parse_deconvolve(a, &cli->job))
		return args_usage("--deconvolve %s: expected wiener[:NSR] (NSR > 0) or "
				   "rl[:ITERATIONS] (1 to %d)", a, DECONV_RL_ITERATIONS_MAX);
	return 0;
}

static int set_max_pixels(struct cli *cli, const char *a)
{
	if (parse_count(a, &cli->max_pixels))
		return args_usage("--max-pixels %s: expected a positive whole number", a);
	return 0;
}

/* ---- The option table ------------------------------------------------------ */

/*
 * The one option table: it drives getopt_long, the setters and --help
 * (in this order, everyday options first, a heading where a group
 * starts), and tests/docsync.sh checks that the man page names every
 * entry.  A short option is its code; long-only options get codes above
 * the char range, numbered by their place in the table.
 */
static const struct cli_opt {
	const char *name;
	int has_arg;
	int code;                 /* 0: a long-only option */
	const char *arg;
	const char *help;         /* NULL: built by print_help (the engines) */
	int (*set)(struct cli *cli, const char *arg);
	const char *heading;      /* printed above this option in --help */
} cli_opts[] = {
	{ "kernel", 1, 'k', "SPEC", "kernel file, library name, generator (gaussian:S[,N], box:N, "
	  "unsharp:S[,AMOUNT], log:S, dog:S1,S2) or inline 'WxH: v v ...'; repeat to chain",
	  set_kernel, NULL },
	{ "output", 1, 'o', "OUT", "the output: a FILE for one input; a DIR/ or a template "
	  "like %d/%n.sharp.%e for many", set_output, NULL },
	{ "border", 1, 'b', "MODE", "zero, const=V, clamp, reflect (default), mirror, wrap", set_border, NULL },
	{ "shape", 1, 's', "SHAPE", "same (default), full or valid, as MATLAB conv2", set_shape, NULL },
	{ "format", 1, 'f', "FMT", "output format png, jpeg, pnm, pfm or tiff (default: by extension)",
	  set_format, NULL },
	{ "quality", 1, 'q', "N", "JPEG quality 1..100 (default 90)", set_quality, NULL },
	{ "depth", 1, 'd', "BITS", "output depth 8 or 16 (PNG, PNM, TIFF) or 32f (float TIFF); "
	  "default: the input's", set_depth, NULL },
	{ "threads", 1, 'j', "N", "threads (default: all cores)", set_threads, NULL },
	{ "verbose", 0, 'v', NULL, "say what was done, on stderr", set_verbose, NULL },
	{ "list-kernels", 0, 0, NULL, "list the kernel library (with -v, the directories searched)", set_list, NULL },
	{ "show-kernel", 1, 0, "SPEC", "print a kernel's matrix and properties", set_show, NULL },
	{ "help", 0, 'h', NULL, "print this help", set_help, NULL },
	{ "version", 0, 'V', NULL, "print the version", set_version, NULL },

	{ "correlate", 0, 0, NULL, "slide the kernel unflipped (correlation)", set_correlate,
	  "Filtering:" },
	{ "like", 1, 0, "PEER", "matlab, opencv, scipy, torch or vips: that peer's correlation, "
	  "even-kernel anchor and border; later options override", set_like, NULL },
	{ "scale", 1, 0, "S", "divide every sum by S, or by the kernel's sum with 'auto'", set_scale, NULL },
	{ "bias", 1, 0, "B", "add B to every result (0..1 range)", set_bias, NULL },
	{ "channels", 1, 'c', "LIST", "filter only these channels (r,g,b,a, y; e.g. rgb); copy the rest",
	  set_channels, NULL },
	{ "alpha", 1, 0, "MODE", "premultiply (default) or separate", set_alpha, NULL },
	{ "linear", 0, 0, NULL, "filter in linear light (decode sRGB first, encode after)", set_linear, NULL },
	{ "abs", 0, 0, NULL, "write the absolute value of the results (signed edges)", set_abs, NULL },
	{ "offset", 1, 0, "V", "add V to the final results (e.g. 0.5 to show signed ones)", set_offset, NULL },
	{ "stride", 1, 0, "S[,SY]", "move the kernel S columns (SY rows) at a time: an S times "
	  "smaller output", set_stride, NULL },
	{ "dilation", 1, 0, "D[,DY]", "spread the kernel's taps D columns (DY rows) apart", set_dilation, NULL },
	{ "transpose", 0, 0, NULL, "apply the transposed (adjoint) convolution; with --stride S "
	  "it upsamples S times", set_transpose, NULL },
	{ "output-size", 1, 0, "WxH", "--transpose to this size (PyTorch's output_size), e.g. "
	  "9x9 from a 5x5 image at stride 2", set_output_size, NULL },
	{ "deconvolve", 1, 0, "M", "divide the kernel out: wiener[:NSR] (0.01) or rl[:ITERATIONS] (30)",
	  set_deconvolve, NULL },
	{ "engine", 1, 'e', "NAME", NULL, set_engine, NULL },

	{ "suffix", 1, 0, "S", "batch: add S to each output name before its extension", set_suffix,
	  "Files and limits:" },
	{ "in-place", 0, 0, NULL, "let an output replace its own input (refused otherwise)",
	  set_in_place, NULL },
	{ "png-compression", 1, 0, "L", "PNG deflate: fast (default, run-length) or zlib level 0..9 "
	  "(smaller, slower)", set_png_level, NULL },
	{ "tiff-compression", 1, 0, "C", "TIFF output: deflate (default, with a predictor), zstd, "
	  "lzw or none", set_tiff_comp, NULL },
	{ "page", 1, 0, "N", "read page N of a multi-page TIFF (0, the first, by default)", set_page,
	  NULL },
	{ "max-pixels", 1, 0, "N", "refuse images of more than N pixels (default 250000000)",
	  set_max_pixels, NULL },
	{ "accept-damaged", 0, 0, NULL, "decode a damaged JPEG (truncated, corrupt data) with a "
	  "warning instead of refusing it", set_damaged, NULL },
	{ "progress", 0, 0, NULL, "show a progress line even when stderr is not a terminal",
	  set_progress, NULL },
	{ "quiet", 0, 0, NULL, "never show a progress line", set_quiet, NULL },

	{ "explain", 0, 0, NULL, "print the plan on stderr: kernel, each engine's cost, the choice",
	  set_explain, "Inspecting:" },
	{ "emit-matrix", 1, 0, "FILE", "write the convolution matrix T for INPUT's size (Matrix "
	  "Market) instead of filtering", set_emit_matrix, NULL },
	{ "fft-wisdom", 1, 0, "FILE", "load and save FFTW wisdom in FILE (measured FFT plans)",
	  set_wisdom, NULL },
};

#define N_OPTS (sizeof cli_opts / sizeof cli_opts[0])

/* opt_code is the value getopt_long returns for entry i. */
static int opt_code(size_t i)
{
	return cli_opts[i].code != 0 ? cli_opts[i].code : 256 + (int)i;
}

/* ---- --help ---------------------------------------------------------------- */

/*
 * print_wrapped prints text in the column that starts at indent, breaking
 * lines at spaces so that none passes 79 columns; col is where the cursor
 * is now (at most indent).
 */
static void print_wrapped(const char *text, int col, int indent)
{
	const char *p = text;
	int room = 79 - indent;

	while (*p != '\0') {
		const char *end = p + strlen(p), *cut = end;

		if (end - p > room) {
			for (cut = p + room; cut > p && *cut != ' '; cut--)
				;
			if (cut == p)
				cut = strchr(p, ' ') ? strchr(p, ' ') : end;
		}
		printf("%*s%.*s\n", indent - col, "", (int)(cut - p), p);
		p = *cut == ' ' ? cut + 1 : cut;
		col = 0;
	}
}

void args_help(void)
{
	enum { INDENT = 27 };
	char left[64], engines[160];
	size_t i;
	int n;

	printf("usage: imfilter [OPTIONS] -k SPEC INPUT OUTPUT\n"
	       "       imfilter [OPTIONS] -k SPEC INPUT -o OUTPUT\n"
	       "       imfilter [OPTIONS] -k SPEC -o DIR/ FILE...\n"
	       "       imfilter --list-kernels | --show-kernel SPEC\n"
	       "Filter an image (PNG, JPEG, PNM, PFM, TIFF) by convolution; '-' is stdin or\n"
	       "stdout.  A GeoTIFF stays on the map: when --shape full or valid, --stride or\n"
	       "--transpose change the pixel grid, its tie point and pixel size move with it.\n\n");
	for (i = 0; i < N_OPTS; i++) {
		const struct cli_opt *o = &cli_opts[i];

		if (o->heading != NULL)
			printf("\n%s\n", o->heading);
		if (o->code != 0)
			n = snprintf(left, sizeof left, "  -%c, --%s%s%s", o->code, o->name,
				     o->arg ? " " : "", o->arg ? o->arg : "");
		else
			n = snprintf(left, sizeof left, "      --%s%s%s", o->name,
				     o->arg ? " " : "", o->arg ? o->arg : "");
		fputs(left, stdout);
		if (n >= INDENT - 1) {
			putchar('\n');
			n = 0;
		}
		if (o->help == NULL) {
			snprintf(engines, sizeof engines, "convolution engine: %s (default auto)",
				 eng_names());
			print_wrapped(engines, n, INDENT);
		} else {
			print_wrapped(o->help, n, INDENT);
		}
	}
	printf("\nExit status: 0 ok, 64 usage, 65 bad data, 66 no input, 70 internal,\n"
	       "71 out of memory or limit, 73 cannot create output, 74 I/O error.\n"
	       "See imfilter(1).\n");
}

/* ---- Parsing ------------------------------------------------------------- */

/* stdin_terminal refuses "-" as an input when stdin is a terminal: it would wait silently. */
static int stdin_terminal(char **inputs, int n)
{
	int i;

	for (i = 0; i < n; i++)
		if (strcmp(inputs[i], "-") == 0 && isatty(STDIN_FILENO))
			return args_usage("'-' reads an image from stdin, which is a terminal; "
					   "pipe one in (... | imfilter -k SPEC - OUT) or name a file");
	return -1;
}

/* is_dir says whether path names an existing directory. */
static int is_dir(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

/*
 * batch_target says whether -o OUT with n inputs means batch mode: a
 * template, a name ending in '/', an existing directory, or several
 * inputs.  Otherwise -o names the one output file, as gcc's -o does.
 */
static int batch_target(const char *target, int n)
{
	size_t len = strlen(target);

	return strchr(target, '%') != NULL || (len > 0 && target[len - 1] == '/') ||
	       is_dir(target) || n > 1;
}

/* operands checks the non-option arguments against the mode they imply. */
static int operands(struct cli *cli, int argc, char **argv, int first)
{
	int n = argc - first;

	if (cli->nkernels == 0)
		return args_usage("no kernel given; use -k SPEC");
	if (cli->target != NULL && n == 1 && !batch_target(cli->target, n)) {
		cli->input = argv[first];
		cli->output = cli->target;
		cli->target = NULL;
		return cli->suffix != NULL ? args_usage("--suffix needs -o DIR")
					   : stdin_terminal(argv + first, 1);
	}
	if (cli->target != NULL) {
		if (n < 1)
			return args_usage("-o %s: expected one or more input files", cli->target);
		if (cli->suffix != NULL && strchr(cli->target, '%') != NULL)
			return args_usage("--suffix goes with -o DIR, not with a template");
		if (!batch_target(cli->target, 1) && io_format_by_ext(cli->target) != IO_NONE)
			return args_usage("-o %s: %d inputs need a directory (-o DIR/) or a template",
					   cli->target, n);
		cli->files = argv + first;
		cli->nfiles = n;
		return stdin_terminal(cli->files, n);
	}
	if (cli->suffix != NULL)
		return args_usage("--suffix needs -o DIR");
	if (cli->emit_matrix != NULL) {
		if (n != 1 || cli->nkernels != 1)
			return args_usage("--emit-matrix FILE takes one -k SPEC and one INPUT (for its size)");
		cli->input = argv[first];
		return stdin_terminal(argv + first, 1);
	}
	if (n != 2)
		return args_usage("%s", n < 2 ? "expected INPUT and OUTPUT"
					       : "too many arguments (several inputs need -o DIR/)");
	cli->input = argv[first];
	cli->output = argv[first + 1];
	return stdin_terminal(argv + first, 1);
}

/* unknown_option says which option was not understood, and the nearest one. */
static int unknown_option(char **argv)
{
	const char *arg = argv[optind - 1], *eq;
	struct suggest sg;
	size_t i;

	if (optopt > 0 && optopt < 256)
		return args_usage("unknown option -%c", optopt);
	if (strncmp(arg, "--", 2) == 0) {
		eq = strchr(arg, '=');
		suggest_init(&sg, arg + 2, eq ? (size_t)(eq - arg - 2) : strlen(arg + 2));
		for (i = 0; i < N_OPTS; i++)
			suggest_offer(&sg, cli_opts[i].name);
		if (sg.best != NULL)
			return args_usage("unknown option %s; did you mean --%s?", arg, sg.best);
	}
	return args_usage("unknown option %s", arg);
}

/*
 * imagemagick answers the first of argv's words that is one of ImageMagick's
 * options (habits.h); returns -1 when there is none, or EX_USAGE.
 */
static int imagemagick(int argc, char **argv)
{
	char here[256];
	int i = habit_find(argc, argv, here, sizeof here);

	if (i < 0)
		return -1;
	fprintf(stderr, "imfilter: %s is ImageMagick's; here: %s\n", argv[i], here);
	return ERR_USAGE;
}

/*
 * parse_args fills cli from argv, calling each option's setter, and checks
 * the operands; it acts on nothing.  Returns -1 to go on, or an exit code.
 */
static int parse_args(struct cli *cli, int argc, char **argv)
{
	struct option longs[N_OPTS + 1];
	char shorts[2 * N_OPTS + 2], *sp = shorts;
	size_t i;
	int c, status;

	*sp++ = ':';
	for (i = 0; i < N_OPTS; i++) {
		longs[i].name = cli_opts[i].name;
		longs[i].has_arg = cli_opts[i].has_arg ? required_argument : no_argument;
		longs[i].flag = NULL;
		longs[i].val = opt_code(i);
		if (cli_opts[i].code != 0) {
			*sp++ = (char)cli_opts[i].code;
			if (cli_opts[i].has_arg)
				*sp++ = ':';
		}
	}
	*sp = '\0';
	memset(&longs[N_OPTS], 0, sizeof longs[N_OPTS]);

	if ((status = imagemagick(argc, argv)) >= 0)
		return status;
	opterr = 0;
	optind = 0;     /* a full reset: cli_main may run more than once in a process */
	while ((c = getopt_long(argc, argv, shorts, longs, NULL)) != -1) {
		if (c == ':')
			return args_usage("option %s needs an argument", argv[optind - 1]);
		for (i = 0; i < N_OPTS && opt_code(i) != c; i++)
			;
		if (i == N_OPTS)
			return unknown_option(argv);
		if ((status = cli_opts[i].set(cli, optarg)) != 0)
			return status;
	}
	if (cli->action != ACT_FILTER)
		return -1;
	if (cli->job.out_size[0] > 0 && !cli->job.transpose)
		return args_usage("--output-size %dx%d: only with --transpose", cli->job.out_size[0],
				   cli->job.out_size[1]);
	return operands(cli, argc, argv, optind);
}

int args_parse(struct cli *cli, int argc, char **argv)
{
	const char *env;

	memset(cli, 0, sizeof *cli);
	cli->job.border.mode = BORDER_REFLECT;
	cli->job.threads = default_threads();
	cli->progress = -1;
	env = getenv("IMFILTER_MAX_PIXELS");
	cli->max_pixels = DEFAULT_MAX_PIXELS;
	if (env != NULL && *env != '\0' && parse_count(env, &cli->max_pixels))
		return args_usage("IMFILTER_MAX_PIXELS=%s: expected a positive whole number", env);
	env = getenv("IMFILTER_STRIP_ROWS");
	if (env != NULL && *env != '\0') {
		long long rows;

		if (parse_count(env, &rows) || rows > PLANE_MAX_SIDE)
			return args_usage("IMFILTER_STRIP_ROWS=%s: expected a positive whole number", env);
		cli->job.strip_rows = (int)rows;
	}
	return parse_args(cli, argc, argv);
}

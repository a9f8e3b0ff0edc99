/*
 * args.h: the command line read into a struct cli: the option table,
 * its setters, --help, the operands and the environment.  Reading acts
 * on nothing (cli.c does, once every option is read).
 */
#ifndef IMF_ARGS_H
#define IMF_ARGS_H

#include "io.h"
#include "job.h"

#define MAX_KERNELS 64


/*
 * What the command line asks for besides filtering.  Parsing only records
 * it; cli_main acts once every option has been read, so a bad option
 * after --version is still a usage error.
 */
enum action { ACT_FILTER, ACT_HELP, ACT_VERSION, ACT_LIST_KERNELS, ACT_SHOW_KERNEL };

struct cli {
	enum action action;
	const char *show;            /* --show-kernel SPEC */
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
	int in_place;                /* --in-place: an output may be its own input */
	int anchor_before;           /* --like matlab|torch: even kernels anchored before the middle */
	int png_level_set;           /* --png-compression given (out.depth, out.quality: nonzero) */
	int tiff_comp_set;           /* --tiff-compression given */
	int page;                    /* --page N */
	char **files;                /* batch inputs */
	int nfiles;
};

/*
 * args_parse fills cli from the environment (IMFILTER_MAX_PIXELS,
 * IMFILTER_STRIP_ROWS) and argv, with the defaults first, and checks the
 * operands.  Returns -1 to go on, or an exit code once it has said why.
 */
int args_parse(struct cli *cli, int argc, char **argv);

/* args_help prints --help on stdout. */
void args_help(void);

/* args_usage prints one line with a hint (try --help), and returns ERR_USAGE. */
__attribute__((format(printf, 1, 2)))
int args_usage(const char *fmt, ...);

#endif

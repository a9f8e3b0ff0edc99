/* cli.c: runs what the command line asks (args.h reads it), with every error line. */
#include "cli.h"

#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "args.h"
#include "batch.h"
#include "blas.h"
#include "clock.h"
#include "color.h"
#include "deconv.h"
#include "engine.h"
#include "emit.h"
#include "engine_fft.h"
#include "err.h"
#include "image.h"
#include "io.h"
#include "job.h"
#include "kernel.h"

#ifndef IMF_VERSION
#define IMF_VERSION "0"
#endif

/* report prints err in one line and returns its exit code. */
static int report(const struct err *err)
{
	fprintf(stderr, "imfilter: %s\n", err->msg);
	return err->cls != ERR_NONE ? (int)err->cls : ERR_SOFTWARE;
}

/* ---- Actions other than filtering ------------------------------------------ */

static int flushed(int status)
{
	return fflush(stdout) || ferror(stdout) ? ERR_IO : status;
}

/* act runs --help, --version, --list-kernels or --show-kernel. */
static int act(const struct cli *cli)
{
	struct err err = { 0 };
	struct kernel k;

	switch (cli->action) {
	case ACT_HELP:
		args_help();
		return flushed(0);
	case ACT_VERSION:
		printf("imfilter %s\n", IMF_VERSION);
		return flushed(0);
	case ACT_LIST_KERNELS:
		if (cli->verbose) {
			char dirs[600];

			kern_library_dirs(dirs, sizeof dirs);
			fprintf(stderr, "imfilter: kernel library: %s\n", dirs);
		}
		return flushed(kern_list(stdout, &err) ? report(&err) : 0);
	case ACT_SHOW_KERNEL:
		if (kern_resolve(cli->show, &k, &err))
			return report(&err);
		kern_show(stdout, &k);
		kern_free(&k);
		return flushed(0);
	default:
		return ERR_SOFTWARE;
	}
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
	return emit_kernel(f, m->k, m->im->w, m->im->h, m->im->nch, &m->cli->job, err);
}

/*
 * read_input decodes path under the command line's limits.  A damaged file
 * that --accept-damaged let through is decoded with one warning line on
 * stderr, since the picture holds grey where the data was lost.
 */
static void warn_damage(const char *path, const struct io_read_opts *ro)
{
	const char *name = strcmp(path, "-") == 0 ? "<stdin>" : path;

	if (ro->damage[0] != '\0')
		fprintf(stderr, "imfilter: %s: warning: damaged data decoded anyway: %s\n",
			name, ro->damage);
	if (ro->warning[0] != '\0')
		fprintf(stderr, "imfilter: %s: warning: %s\n", name, ro->warning);
}

static int read_input(const struct cli *cli, const char *path, struct image *im,
		      struct err *err)
{
	struct io_read_opts ro = { .max_pixels = (unsigned long long)cli->max_pixels,
				   .accept_damaged = cli->accept_damaged, .page = cli->page };

	if (io_read_opts(path, im, &ro, err))
		return -1;
	warn_damage(path, &ro);
	return 0;
}

/*
 * emit_matrix writes the convolution matrix of kernel k for input's size,
 * shape and border (--emit-matrix), and returns the exit code.
 */
static int run_emit_matrix(struct cli *cli, const struct kernel *k)
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
		progress_draw(done, total, "rows", 0);
	}
}

/* grey_name says whether path ends in .pgm: a PGM holds grey only. */
static int grey_name(const char *path)
{
	size_t n = strlen(path);

	return n >= 4 && strcasecmp(path + n - 4, ".pgm") == 0;
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
	struct io_read_opts ro = { .max_pixels = (unsigned long long)cli->max_pixels,
				   .accept_damaged = cli->accept_damaged, .page = cli->page };
	struct job_spec js = { r->kernels, cli->nkernels, &job, cli->linear, cli->absval,
			       (float)cli->offset, (unsigned long long)cli->max_pixels, 0 };
	struct err err = { 0 };

	install_signals();
	job.threads = threads;
	out.threads = threads;
	if (out.format == IO_NONE && (out.format = io_format_by_ext(output)) == IO_NONE) {
		err_set(&err, ERR_USAGE, "%s: cannot tell the output format from the name; use --format",
			output);
		return report(&err);
	}
	/* A .pgm holds grey: colour is written as its luma. */
	js.luma = out.format == IO_PNM && grey_name(output);
	/* Decoding, filtering and encoding overlapped, rows streaming (job.h). */
	if (job_file(&js, input, &ro, output, &out, &err) == 0 && cli->wisdom != NULL)
		fft_wisdom_save(cli->wisdom, &err);
	warn_damage(input, &ro);
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

/*
 * warn_no_effect says, in one line each, which output options no output of
 * the run can use: formats holds a bit (1 << format) for every output.
 */
static void warn_no_effect(const struct cli *cli, unsigned formats)
{
	static const char *const names[] = { "", "PNG", "JPEG", "PNM", "PFM", "TIFF" };
	const char *fmt = "";
	int f;

	for (f = IO_PNG; f <= IO_TIFF; f++)
		if (formats & (1u << f))
			fmt = names[f];
	if (cli->out.depth != 0 && !(formats & (1u << IO_PNG | 1u << IO_PNM | 1u << IO_TIFF)))
		fprintf(stderr, "imfilter: warning: -d %d%s has no effect on %s output\n",
			cli->out.depth, cli->out.depth == 32 ? "f" : "", fmt);
	if (cli->tiff_comp_set && !(formats & 1u << IO_TIFF))
		fprintf(stderr, "imfilter: warning: --tiff-compression has no effect on %s output\n",
			fmt);
	if (cli->out.quality != 0 && !(formats & 1u << IO_JPEG))
		fprintf(stderr, "imfilter: warning: -q %d has no effect on %s output (JPEG only)\n",
			cli->out.quality, fmt);
	if (cli->png_level_set && !(formats & 1u << IO_PNG))
		fprintf(stderr, "imfilter: warning: --png-compression has no effect on %s output\n",
			fmt);
}

/*
 * An output that is one of the run's inputs would be overwritten before
 * (or while) it is read, and a batch would lose its originals: refused
 * unless --in-place says so.  Files are compared by device and inode, so
 * "./a.png", "a.png" and a link to it are one file.
 */
struct inputs {
	struct stat *st;
	const char **names;
	int n;
};

static int inputs_stat(struct inputs *in, char **names, int n)
{
	int i;

	in->n = 0;
	in->st = calloc((size_t)n, sizeof *in->st);
	in->names = calloc((size_t)n, sizeof *in->names);
	if (in->st == NULL || in->names == NULL)
		return -1;
	for (i = 0; i < n; i++)
		if (strcmp(names[i], "-") != 0 && stat(names[i], &in->st[in->n]) == 0)
			in->names[in->n++] = names[i];
	return 0;
}

static void inputs_free(struct inputs *in)
{
	free(in->st);
	free(in->names);
}

/* overwrites_input returns the input that output would replace, or NULL. */
static const char *overwrites_input(const struct inputs *in, const char *output)
{
	struct stat st;
	int i;

	if (strcmp(output, "-") == 0 || stat(output, &st) != 0)
		return NULL;
	for (i = 0; i < in->n; i++)
		if (in->st[i].st_dev == st.st_dev && in->st[i].st_ino == st.st_ino)
			return in->names[i];
	return NULL;
}

static int refuse_overwrite(const char *output, const char *input)
{
	fprintf(stderr, "imfilter: %s: would write over the input %s (add --in-place to mean it)\n",
		output, input);
	return ERR_CANTCREAT;
}

/*
 * check_output checks the one output of single-file mode before any work:
 * every directory above it exists, and it is not the input.
 */
static int check_output(const struct cli *cli)
{
	struct err err = { 0 };
	struct inputs in;
	const char *same;
	char *names[1];
	int status = 0;

	if (strcmp(cli->output, "-") == 0)
		return 0;
	if (batch_dirs(cli->output, cli->output, 0, 0, &err))
		return report(&err);
	names[0] = (char *)cli->input;
	if (inputs_stat(&in, names, 1) != 0)
		status = (fprintf(stderr, "imfilter: out of memory\n"), ERR_OS);
	else if (!cli->in_place && (same = overwrites_input(&in, cli->output)) != NULL)
		status = refuse_overwrite(cli->output, same);
	inputs_free(&in);
	return status;
}

/*
 * batch_outputs names every output before any work, refusing two inputs
 * with one output and an output that is an input; then it makes the
 * output directories (-o DIR/ as mkdir -p; a template's, file by file).
 */
static int batch_outputs(struct cli *cli, char ***outputs)
{
	char path[PATH_MAX];
	struct err err = { 0 };
	struct inputs in;
	const char *same;
	int template = strchr(cli->target, '%') != NULL;
	unsigned formats = 0;
	char **out;
	int i, j, status = 0;

	out = calloc((size_t)cli->nfiles, sizeof *out);
	if (out == NULL || inputs_stat(&in, cli->files, cli->nfiles) != 0) {
		*outputs = out;
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
		} else if (!cli->in_place && (same = overwrites_input(&in, out[i])) != NULL) {
			status = refuse_overwrite(out[i], same);
		}
		for (j = 0; j < i && status == 0; j++)
			if (strcmp(out[i], out[j]) == 0)
				status = args_usage("%s and %s would both be written to %s",
						     cli->files[j], cli->files[i], out[i]);
	}
	inputs_free(&in);
	for (i = 0; status == 0 && i < cli->nfiles; i++)
		formats |= 1u << (cli->out.format != IO_NONE ? cli->out.format : io_format_by_ext(out[i]));
	if (status == 0)
		warn_no_effect(cli, formats);
	if (status == 0 && !template && batch_dirs(cli->target, cli->target, 1, 1, &err))
		status = report(&err);
	for (i = 0; status == 0 && template && i < cli->nfiles; i++)
		if (batch_dirs(out[i], out[i], 0, 1, &err))
			status = report(&err);
	if (status == 0 && !template && access(cli->target, W_OK | X_OK) != 0)
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
	kern_library_argv0(argc > 0 ? argv[0] : NULL);
	memset(&run, 0, sizeof run);
	status = args_parse(&cli, argc, argv);
	if (status >= 0)
		return status;
	if (cli.action != ACT_FILTER)
		return act(&cli);
	if (cli.verbose)
		cli.job.log = stderr;
	if (cli.progress < 0)
		cli.progress = isatty(STDERR_FILENO);

	/* Decide the output format before any work, so a bad name fails fast. */
	if (cli.target == NULL && cli.emit_matrix == NULL && cli.out.format == IO_NONE) {
		if (strcmp(cli.output, "-") == 0)
			return args_usage("writing to stdout needs --format");
		if ((cli.out.format = io_format_by_ext(cli.output)) == IO_NONE)
			return args_usage("%s: cannot tell the output format from the name; use --format",
					   cli.output);
	}
	if (cli.target == NULL && cli.emit_matrix == NULL && strcmp(cli.output, "-") == 0 &&
	    isatty(STDOUT_FILENO))
		return args_usage("refusing to write an image to a terminal");

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
		if (cli.anchor_before)
			kern_anchor_before(&kernels[i]);
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
		status = run_emit_matrix(&cli, &kernels[0]);
	} else if (cli.target == NULL) {
		if (cli.progress) {
			run.start = clock_seconds();
			cli.job.progress = plane_progress;
			cli.job.progress_ctx = &run;
		}
		status = check_output(&cli);
		if (status == 0)
			warn_no_effect(&cli, 1u << cli.out.format);
		if (status == 0)
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

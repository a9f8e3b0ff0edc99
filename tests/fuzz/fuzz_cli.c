/*
 * fuzz_cli.c: the option parser.  The input is split at newlines into at
 * most FUZZ_MAX_ARGS arguments, placed between "imfilter" and an INPUT that
 * does not exist and an OUTPUT in a directory that does not exist, so a run
 * parses options, resolves kernels and then fails to open its input; it
 * never reads or writes an image.  Standard input, output and error are
 * /dev/null while cli_main runs; sanitizer reports still reach the real
 * standard error.  The target runs in build/fuzz/cli-scratch, so whatever
 * a run may write under a name of the fuzzer's choosing (--fft-wisdom,
 * --emit-matrix, batch outputs) lands there; the kernel library is found
 * through IMFILTER_KERNEL_PATH.
 */
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sanitizer/common_interface_defs.h>

#include "cli.h"
#include "fuzz.h"

#define FUZZ_MAX_ARGS 32

int LLVMFuzzerInitialize(int *argc, char ***argv);

static int devnull = -1, real_out = -1, real_err = -1;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	char lib[PATH_MAX];
	size_t n;

	(void)argc;
	(void)argv;
	/* Started from the repository's root, as make fuzz does. */
	if (getcwd(lib, sizeof lib - sizeof "/kernels") == NULL)
		abort();
	n = strlen(lib);
	memcpy(lib + n, "/kernels", sizeof "/kernels");
	mkdir("build/fuzz/cli-scratch", 0777);
	if (chdir("build/fuzz/cli-scratch") != 0)
		abort();
	devnull = open("/dev/null", O_RDWR);
	real_out = dup(STDOUT_FILENO);
	real_err = dup(STDERR_FILENO);
	if (devnull < 0 || real_out < 0 || real_err < 0 ||
	    dup2(devnull, STDIN_FILENO) < 0)
		abort();
	__sanitizer_set_report_fd((void *)(long)real_err);
	/* The environment must not change what a run does. */
	unsetenv("IMFILTER_MAX_PIXELS");
	unsetenv("IMFILTER_FFT_WISDOM");
	setenv("IMFILTER_KERNEL_PATH", lib, 1);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *argv[FUZZ_MAX_ARGS + 4], *text, *p, *end;
	int argc = 0, rc;

	text = malloc(size + 1);
	if (text == NULL)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	argv[argc++] = "imfilter";
	for (p = text, end = text + size; p <= end && argc <= FUZZ_MAX_ARGS; ) {
		char *nl = memchr(p, '\n', (size_t)(end - p));

		if (nl != NULL)
			*nl = '\0';
		argv[argc++] = p;
		if (nl == NULL)
			break;
		p = nl + 1;
	}
	argv[argc++] = "no-such-input.png";
	argv[argc++] = "no-such-dir/out.png";
	argv[argc] = NULL;

	fflush(stdout);
	fflush(stderr);
	dup2(devnull, STDOUT_FILENO);
	dup2(devnull, STDERR_FILENO);
	rc = cli_main(argc, argv);
	fflush(stdout);
	fflush(stderr);
	dup2(real_out, STDOUT_FILENO);
	dup2(real_err, STDERR_FILENO);
	free(text);

	/* Every run ends in an exit code of sysexits.h, never a crash. */
	if (rc != 0 && rc != 64 && rc != 65 && rc != 66 && rc != 71 && rc != 73 &&
	    rc != 74)
		abort();
	return 0;
}

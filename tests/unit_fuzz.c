/*
 * unit_fuzz.c: replays the kept inputs through the fuzz targets themselves,
 * built without libFuzzer: tests/regress/TARGET/ (what the fuzzers found)
 * and tests/fuzz/seeds/TARGET/, for the kernel, inline, png, jpeg and pnm
 * targets, and the PNG and JPEG files of ../shared/testdata.  A target aborts on a broken contract, and under
 * make check-sanitize a sanitizer stops the run, so a replayed input that
 * regresses fails the suite.  (The cli target's inputs are run through
 * ./imfilter by tests/regress.sh.)
 */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"

int fuzz_kernel_one(const uint8_t *data, size_t size);
int fuzz_inline_one(const uint8_t *data, size_t size);
int fuzz_png_one(const uint8_t *data, size_t size);
int fuzz_jpeg_one(const uint8_t *data, size_t size);
int fuzz_pnm_one(const uint8_t *data, size_t size);

#define LLVMFuzzerTestOneInput fuzz_kernel_one
#include "fuzz/fuzz_kernel.c"
#undef LLVMFuzzerTestOneInput
#define LLVMFuzzerTestOneInput fuzz_inline_one
#include "fuzz/fuzz_inline.c"
#undef LLVMFuzzerTestOneInput
#define LLVMFuzzerTestOneInput fuzz_png_one
#include "fuzz/fuzz_png.c"
#undef LLVMFuzzerTestOneInput
#define LLVMFuzzerTestOneInput fuzz_jpeg_one
#include "fuzz/fuzz_jpeg.c"
#undef LLVMFuzzerTestOneInput
#define LLVMFuzzerTestOneInput fuzz_pnm_one
#include "fuzz/fuzz_pnm.c"
#undef LLVMFuzzerTestOneInput

static const struct {
	const char *name;
	int (*one)(const uint8_t *data, size_t size);
} targets[] = {
	{ "kernel", fuzz_kernel_one },
	{ "inline", fuzz_inline_one },
	{ "png", fuzz_png_one },
	{ "jpeg", fuzz_jpeg_one },
	{ "pnm", fuzz_pnm_one },
};

/* read_file returns the whole file in a malloc'ed buffer, or NULL. */
static unsigned char *read_file(const char *path, size_t *n)
{
	FILE *f = fopen(path, "rb");
	unsigned char *buf = NULL, *nb;
	size_t cap = 0, got;

	*n = 0;
	if (f == NULL)
		return NULL;
	for (;;) {
		if (*n == cap) {
			cap = cap ? cap * 2 : 4096;
			if ((nb = realloc(buf, cap)) == NULL)
				break;
			buf = nb;
		}
		got = fread(buf + *n, 1, cap - *n, f);
		*n += got;
		if (got == 0)
			break;
	}
	fclose(f);
	return buf;
}

/*
 * replay runs every file of dir through one target; returns how many, or
 * -1 when dir cannot be opened.
 */
static int replay(const char *dir, int (*one)(const uint8_t *, size_t))
{
	char path[1024];
	struct dirent *de;
	unsigned char *buf;
	size_t n;
	DIR *d = opendir(dir);
	int count = 0;

	if (d == NULL)
		return -1;
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof path, "%s/%s", dir, de->d_name);
		buf = read_file(path, &n);
		/* An empty file reads as no buffer: give the target a valid pointer. */
		one(buf != NULL ? buf : (const uint8_t *)"", n);
		free(buf);
		count++;
	}
	closedir(d);
	return count;
}

int main(void)
{
	char dir[256], name[300];
	size_t i;
	int n, regress = 0;

	/*
	 * A target the fuzzers never broke has no tests/regress directory:
	 * that is a SKIP, not a pass.  A directory that replays no input is
	 * a FAIL, and so is a suite whose regress inputs all went unread.
	 */
	for (i = 0; i < sizeof targets / sizeof targets[0]; i++) {
		snprintf(dir, sizeof dir, "tests/regress/%s", targets[i].name);
		n = replay(dir, targets[i].one);
		snprintf(name, sizeof name, "fuzz replay: %s: %d input%s of %s",
			 targets[i].name, n < 0 ? 0 : n, n == 1 ? "" : "s", dir);
		if (n < 0)
			check_skip(name, "no such directory (nothing kept for this target)");
		else
			check(n > 0, name, "the directory holds no input");
		regress += n > 0 ? n : 0;
		snprintf(dir, sizeof dir, "tests/fuzz/seeds/%s", targets[i].name);
		n = replay(dir, targets[i].one);
		snprintf(name, sizeof name, "fuzz replay: %s: %d seed%s of %s",
			 targets[i].name, n < 0 ? 0 : n, n == 1 ? "" : "s", dir);
		if (n <= 0 && (strcmp(targets[i].name, "png") == 0 ||
			       strcmp(targets[i].name, "jpeg") == 0))
			check_skip(name, "none kept (the shared files below seed it)");
		else
			check(n > 0, name, "no seeds");
	}
	check(regress > 0, "fuzz replay: tests/regress holds inputs and they were replayed",
	      "none replayed (run from the repository's root?)");
	/* The shared corpora too, through the targets' stricter contract. */
	n = replay("../shared/testdata/pngsuite", fuzz_png_one);
	n = n < 0 ? -1 : n + replay("../shared/testdata/libpng-crashers", fuzz_png_one);
	snprintf(name, sizeof name, "fuzz replay: png: %d files of ../shared/testdata", n);
	check(n > 0, name, "no files");
	n = replay("../shared/testdata/jpeg", fuzz_jpeg_one);
	snprintf(name, sizeof name, "fuzz replay: jpeg: %d files of ../shared/testdata", n);
	check(n > 0, name, "no files");
	return check_exit();
}

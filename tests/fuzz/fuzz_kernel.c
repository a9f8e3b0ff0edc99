/*
 * fuzz_kernel.c: the kernel file parser on arbitrary text, read both as our
 * format (or a libvips file it recognises) and as a forced libvips ".mat"
 * file; a kernel that parses is shown, which runs the sums and the rank.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "kernel.h"

static FILE *devnull;

static void parse_as(const uint8_t *data, size_t size, const char *fname)
{
	struct kernel k;
	struct err err = { 0 };

	if (kern_parse((const char *)data, size, fname, &k, &err) == 0) {
		/* The rank costs min(w,h) w h: keep it to kernels of fuzz size. */
		if ((size_t)k.w * k.h * k.n <= 4096)
			kern_show(devnull, &k);
		kern_free(&k);
	} else if (err.cls == ERR_NONE || strncmp(err.msg, fname, strlen(fname)) != 0) {
		/* A failure always says where: "FNAME:LINE:COL: ..." or "FNAME: ...". */
		abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (devnull == NULL && (devnull = fopen("/dev/null", "w")) == NULL)
		abort();
	parse_as(data, size, "fuzz.kernel");
	parse_as(data, size, "fuzz.mat");
	return 0;
}

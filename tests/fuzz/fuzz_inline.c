/*
 * fuzz_inline.c: -k SPEC strings that need no file: inline matrices
 * ("WxH: v v ...", "WxH+X+Y: v,v,...") and the generators
 * (gaussian:SIGMA[,SIZE], box:N, box:WxH), through kern_parse_inline and
 * kern_resolve.  Specs that would name a file or a library kernel are
 * skipped, so the target never touches the file system.
 */
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "kernel.h"

/* The largest generated kernel a run may build (box:2048 is 4M weights). */
#define FUZZ_MAX_WEIGHTS (1L << 22)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct kernel k;
	struct err err = { 0 };
	char *spec = malloc(size + 1);

	if (spec == NULL)
		return 0;
	memcpy(spec, data, size);
	spec[size] = '\0';   /* a NUL inside cuts the spec short, as argv would */

	if (kern_parse_inline(spec, &k, &err) == 0) {
		if (k.w < 1 || k.h < 1 || k.n != 1 || k.ox < 0 || k.ox >= k.w ||
		    k.oy < 0 || k.oy >= k.h || (long)k.w * k.h > FUZZ_MAX_WEIGHTS)
			abort();
		kern_free(&k);
	} else if (err.cls == ERR_NONE) {
		abort();
	}
	err_clear(&err);
	if (kern_is_inline(spec) || strncmp(spec, "gaussian:", 9) == 0 ||
	    strncmp(spec, "box:", 4) == 0) {
		if (kern_resolve(spec, &k, &err) == 0)
			kern_free(&k);
		else if (err.cls == ERR_NONE)
			abort();
	}
	free(spec);
	return 0;
}

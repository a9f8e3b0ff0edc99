/* blas.c: OpenBLAS through dlopen (see blas.h). */
#include "blas.h"

#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

/* The library pkg-config names, then the system's default one. */
#ifndef BLAS_LIBDIR
#define BLAS_LIBDIR ""
#endif

static struct blas table;
static const struct blas *loaded;
static char why[256];
static pthread_once_t once = PTHREAD_ONCE_INIT;

void blas_no_pool(void)
{
	setenv("OPENBLAS_NUM_THREADS", "1", 1);
}

/* sym looks name up in h, remembering the first failure in why. */
static void *sym(void *h, const char *name)
{
	void *p = dlsym(h, name);

	if (p == NULL && why[0] == '\0')
		snprintf(why, sizeof why, "OpenBLAS has no %s", name);
	return p;
}

static void load(void)
{
	static const char *const names[] = { BLAS_LIBDIR "/libopenblas.so.0", "libopenblas.so.0" };
	void *h = NULL;
	size_t i;

	for (i = 0; h == NULL && i < sizeof names / sizeof names[0]; i++)
		if (names[i][0] != '/' || BLAS_LIBDIR[0] != '\0')
			h = dlopen(names[i], RTLD_NOW | RTLD_LOCAL);
	if (h == NULL) {
		const char *e = dlerror();

		snprintf(why, sizeof why, "cannot load OpenBLAS: %s", e != NULL ? e : "not found");
		return;
	}
	/* POSIX's dlsym returns void *; a function pointer is assigned through it. */
	*(void **)&table.sgemm = sym(h, "cblas_sgemm");
	*(void **)&table.set_num_threads = sym(h, "openblas_set_num_threads");
	*(void **)&table.get_num_threads = sym(h, "openblas_get_num_threads");
	*(void **)&table.get_corename = sym(h, "openblas_get_corename");
	if (why[0] == '\0')
		loaded = &table;
}

const struct blas *blas_get(struct err *err)
{
	pthread_once(&once, load);
	if (loaded == NULL)
		err_set(err, ERR_SOFTWARE, "toeplitz engine: %s", why);
	return loaded;
}

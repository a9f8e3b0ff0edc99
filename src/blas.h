/* blas.h: OpenBLAS, loaded the first time the Toeplitz engine needs it. */
#ifndef IMF_BLAS_H
#define IMF_BLAS_H

#include <cblas.h>

#include "err.h"

/*
 * OpenBLAS starts its thread pool when it is loaded, and the pool's
 * threads spin for about 0.1 s of CPU waiting for work that never comes:
 * the Toeplitz engine runs OpenBLAS on one thread inside its own bands.
 * Linked as usual, that happens before main() and steals a core from the
 * decoder of every command, Toeplitz or not (0.05 s of a 0.4 s JPEG to
 * JPEG run).  So OpenBLAS is opened with dlopen on first use, with
 * OPENBLAS_NUM_THREADS=1 set first by blas_no_pool.
 */
struct blas {
	void (*sgemm)(const enum CBLAS_ORDER, const enum CBLAS_TRANSPOSE,
		      const enum CBLAS_TRANSPOSE, const blasint m, const blasint n,
		      const blasint k, const float alpha, const float *a, const blasint lda,
		      const float *b, const blasint ldb, const float beta, float *c,
		      const blasint ldc);
	void (*set_num_threads)(int n);
	int (*get_num_threads)(void);
	char *(*get_corename)(void);
};

/*
 * blas_no_pool asks OpenBLAS for no thread pool (OPENBLAS_NUM_THREADS=1)
 * before it is loaded.  It changes the environment, so it must run while
 * the process has one thread (cli_main calls it first).
 */
void blas_no_pool(void);

/*
 * blas_get returns OpenBLAS's functions, loading the library the first
 * time (thread-safe), or NULL with err (ERR_SOFTWARE) when it cannot be
 * loaded; err may be NULL.
 */
const struct blas *blas_get(struct err *err);

#endif

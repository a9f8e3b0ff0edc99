/* batch.h: many files in parallel processes, with a progress line. */
#ifndef IMF_BATCH_H
#define IMF_BATCH_H

#include <stddef.h>

#include "err.h"
#include "io.h"

struct batch_opts {
	int workers;     /* files filtered at once, >= 1 */
	int progress;    /* draw a progress line on stderr */
};

/*
 * batch_run calls run(ctx, i) for every i in [0, n), each in its own child
 * process, at most o->workers at a time.  A child's stderr is relayed whole
 * when it ends, so lines from different files never interleave with each
 * other or with the progress line.  A failing file does not stop the
 * others.  Returns 0 when every run returned 0, otherwise the exit status
 * of the failed file that comes first in the list (a child killed by a
 * signal counts as 70).  SIGINT, SIGTERM and SIGHUP are passed on to the
 * children, which remove their temporary files; then the batch ends with
 * the same signal.
 */
int batch_run(int n, int (*run)(void *ctx, int i), void *ctx,
	      const struct batch_opts *o);

/*
 * batch_output_path makes the output path for input: when target contains
 * '%' it is a template (%d the input's directory, %n its name without
 * extension, %e the extension, %f the whole file name, %% a percent sign),
 * otherwise a directory, giving target/NAME+suffix.EXT.  A non-IO_NONE
 * format replaces the extension by the format's own.  Returns 0, or -1
 * with err (ERR_USAGE) when the result would not fit or is empty.
 */
int batch_output_path(const char *target, const char *suffix, const char *input,
		      enum io_format format, char *out, size_t size, struct err *err);

/*
 * batch_dirs makes sure the directories along path exist: with create,
 * it makes the missing ones as mkdir -p does; without, a missing one is
 * an error.  When last is 0 the last component (a file name) is left out.
 * Errors are ERR_CANTCREAT and name the component at fault: "a.png is not
 * a directory", "no directory out", or the system's reason.  what is the
 * path the user gave, which each message starts with.
 */
int batch_dirs(const char *what, const char *path, int last, int create, struct err *err);

/* progress_draw draws "[####    ] done/total what" on stderr, in place. */
void progress_draw(int done, int total, const char *what, int failed);

/* progress_end ends the progress line (one newline) if one was drawn. */
void progress_end(void);

#endif

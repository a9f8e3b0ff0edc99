/* err.h: the error record every layer fills and only the CLI prints. */
#ifndef IMF_ERR_H
#define IMF_ERR_H

/*
 * Error classes are the exit codes of sysexits.h, so the CLI can exit with
 * the class unchanged.  ERR_NONE means "no error recorded".
 */
enum err_class {
	ERR_NONE = 0,
	ERR_USAGE = 64,     /* bad command line */
	ERR_DATA = 65,      /* malformed or unsupported image or kernel */
	ERR_NOINPUT = 66,   /* an input file cannot be opened */
	ERR_SOFTWARE = 70,  /* internal error */
	ERR_OS = 71,        /* out of memory, resource limit exceeded */
	ERR_CANTCREAT = 73, /* the output cannot be created */
	ERR_IO = 74         /* a read or write failed midway */
};

/* A located message such as "kernels/x.kernel:3:5: expected a number". */
struct err {
	enum err_class cls;
	char msg[512];
};

/*
 * err_set records a message (printf format) in err, keeping the first error
 * if one is already recorded, and returns -1 so callers can write
 * "return err_set(err, ERR_DATA, ...);".  err may be NULL.
 */
int err_set(struct err *err, enum err_class cls, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* err_oom records "WHERE: out of memory" (class ERR_OS) and returns -1. */
int err_oom(struct err *err, const char *where);

/* err_clear resets the record to ERR_NONE. */
void err_clear(struct err *err);

#endif

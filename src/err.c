/* err.c: filling the error record. */
#include "err.h"

#include <stdarg.h>
#include <stdio.h>

int err_set(struct err *err, enum err_class cls, const char *fmt, ...)
{
	va_list ap;

	if (err == NULL || err->cls != ERR_NONE)
		return -1;
	err->cls = cls;
	va_start(ap, fmt);
	vsnprintf(err->msg, sizeof err->msg, fmt, ap);
	va_end(ap);
	return -1;
}

int err_oom(struct err *err, const char *where)
{
	return err_set(err, ERR_OS, "%s: out of memory", where);
}

void err_clear(struct err *err)
{
	err->cls = ERR_NONE;
	err->msg[0] = '\0';
}

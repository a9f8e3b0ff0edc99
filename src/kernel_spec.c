/*
 * kernel_spec.c: resolves a -k SPEC (inline matrix, generator, file path or
 * library name), parses inline matrices, and lists the kernel library.
 */
#include "kernel.h"
#include "kernel_lex.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "size.h"
#include "suggest.h"

#ifndef KERNEL_DATADIR
#define KERNEL_DATADIR "/usr/local/share/imfilter/kernels"
#endif

/* ---- Inline matrices ----------------------------------------------------- */

/* digits returns how many ASCII digits s starts with. */
static size_t digits(const char *s)
{
	size_t n = 0;

	while (klex_is_digit(s[n]))
		n++;
	return n;
}

size_t kern_is_inline(const char *spec)
{
	size_t i = 0, d;

	if ((d = digits(spec)) == 0 || spec[d] != 'x')
		return 0;
	i = d + 1;
	if ((d = digits(spec + i)) == 0)
		return 0;
	i += d;
	if (spec[i] == '+') {
		if ((d = digits(spec + i + 1)) == 0 || spec[i + 1 + d] != '+')
			return 0;
		i += 1 + d + 1;
		if ((d = digits(spec + i)) == 0)
			return 0;
		i += d;
	}
	return spec[i] == ':' ? i + 1 : 0;
}

/* inline_int reads the digits at *s (kern_is_inline checked them), capped. */
static long inline_int(const char **s)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(*s, &end, 10);
	*s = end + 1;    /* past the 'x', '+' or ':' */
	return errno == ERANGE || v > INT_MAX ? INT_MAX : v;
}

int kern_parse_inline(const char *spec, struct kernel *k, struct err *err)
{
	char q[64], why[160];
	const char *s = spec;
	long w, h, x = -1, y = -1;
	size_t pre = kern_is_inline(spec), total;
	struct line ln;
	struct tok t;
	int count = 0;
	double v;

	memset(k, 0, sizeof *k);
	kern_quote(q, sizeof q, spec, strlen(spec));
	if (pre == 0)
		return err_set(err, ERR_USAGE, "%s: not an inline matrix "
			       "(expected \"WxH: v v ...\")", q);
	w = inline_int(&s);
	h = inline_int(&s);
	if (memchr(spec, '+', pre)) {
		x = inline_int(&s);
		y = inline_int(&s);
	}
	if (w < 1 || h < 1 || w > KERN_MAX_SIDE || h > KERN_MAX_SIDE)
		return err_set(err, ERR_DATA, "%s: width and height must be "
			       "from 1 to %d", q, KERN_MAX_SIDE);
	if (w * h > KERN_MAX_ELEMS)
		return err_set(err, ERR_DATA, "%s: more than %ld weights",
			       q, (long)KERN_MAX_ELEMS);
	if (x >= w || y >= h)
		return err_set(err, ERR_DATA, "%s: origin %ld,%ld is outside the "
			       "%ldx%ld matrix", q, x, y, w, h);
	if (kern_alloc(k, (int)w, (int)h, 1, err))
		return -1;
	total = (size_t)w * (size_t)h;
	memset(&ln, 0, sizeof ln);
	ln.s = spec + pre;
	ln.len = strlen(ln.s);
	ln.nl_is_space = 1;
	while (klex_tok_next(&ln, &t)) {
		if ((size_t)count == total) {
			count += klex_count_rest(&ln);
			break;
		}
		if (kern_number(t.s, t.len, &v, why, sizeof why)) {
			kern_free(k);
			return err_set(err, ERR_DATA, "%s: value %d: %s", q, count + 1, why);
		}
		k->m[count++] = v;
	}
	if ((size_t)count != total) {
		kern_free(k);
		return err_set(err, ERR_DATA, "%s: %d value%s, expected %zu",
			       q, count, count == 1 ? "" : "s", total);
	}
	if (x >= 0) {
		k->ox = (int)x;
		k->oy = (int)y;
	}
	strcpy(k->name, "inline");
	snprintf(k->desc, sizeof k->desc, "Inline %ldx%ld matrix", w, h);
	return 0;
}

/* ---- The library's directories ------------------------------------------- */

/*
 * The library is searched in each directory of $IMFILTER_KERNEL_PATH
 * (colon-separated, empty entries skipped), so a user's own kernels come
 * first and may stand in for a library one; then in "kernels" beside the
 * running program (the build tree: ./imfilter and ./kernels); then in the
 * installed KERNEL_DATADIR.  The first file of a name wins.  Nothing
 * depends on the current directory.
 */
static void looked_in(char *buf, size_t size, struct err *err);

struct dirs {
	char *env;           /* a copy of $IMFILTER_KERNEL_PATH, cut at colons */
	char *next;          /* the unread rest of env */
	int stage;           /* 0: env; 1: beside the program; 2: KERNEL_DATADIR; 3: done */
	char exe[PATH_MAX];  /* DIR/kernels for the program's DIR, or "" */
};

static const char *argv0_hint;

void kern_library_argv0(const char *argv0)
{
	argv0_hint = argv0;
}

/*
 * exe_kernels names the kernels directory beside the running program:
 * /proc/self/exe where there is one, else argv[0] when it holds a path
 * (relative to the current directory, which the program does not change).
 * A program found through $PATH without /proc is left to KERNEL_DATADIR.
 */
static void exe_kernels(char *buf, size_t size)
{
	char path[PATH_MAX], *slash;
	ssize_t n = readlink("/proc/self/exe", path, sizeof path - 1);

	buf[0] = '\0';
	if (n > 0)
		path[n] = '\0';
	else if (argv0_hint == NULL || strchr(argv0_hint, '/') == NULL ||
		 (size_t)snprintf(path, sizeof path, "%s", argv0_hint) >= sizeof path)
		return;
	slash = strrchr(path, '/');
	if (slash == NULL)
		return;
	*slash = '\0';
	if ((size_t)snprintf(buf, size, "%s/kernels", path) >= size)
		buf[0] = '\0';
}

static int dirs_init(struct dirs *d, struct err *err)
{
	const char *env = getenv("IMFILTER_KERNEL_PATH");

	d->env = NULL;
	d->stage = 0;
	if (env != NULL && (d->env = strdup(env)) == NULL)
		return err_oom(err, "IMFILTER_KERNEL_PATH");
	d->next = d->env;
	exe_kernels(d->exe, sizeof d->exe);
	return 0;
}

static const char *dirs_next(struct dirs *d)
{
	char *dir, *colon;

	while (d->stage == 0 && d->next != NULL) {
		dir = d->next;
		colon = strchr(dir, ':');
		if (colon != NULL) {
			*colon = '\0';
			d->next = colon + 1;
		} else {
			d->next = NULL;
		}
		if (dir[0] != '\0')
			return dir;
	}
	if (d->stage == 0) {
		d->stage = 1;
		if (d->exe[0] != '\0' && strcmp(d->exe, KERNEL_DATADIR) != 0)
			return d->exe;
	}
	if (d->stage == 1) {
		d->stage = 2;
		return KERNEL_DATADIR;
	}
	d->stage = 3;
	return NULL;
}

static void dirs_free(struct dirs *d)
{
	free(d->env);
	d->env = d->next = NULL;
}

void kern_library_dirs(char *buf, size_t size)
{
	struct err err;

	err_clear(&err);
	looked_in(buf, size, &err);
}

/* looked_in lists the directories searched, "a, b, c", cut to fit size. */
static void looked_in(char *buf, size_t size, struct err *err)
{
	struct dirs d;
	const char *dir;
	size_t len = 0;

	buf[0] = '\0';
	if (dirs_init(&d, err))
		return;
	while ((dir = dirs_next(&d)) != NULL && len < size)
		len += (size_t)snprintf(buf + len, size - len, "%s%s", len ? ", " : "", dir);
	dirs_free(&d);
}

/* join returns the malloc'ed path DIR/NAME.kernel, or NULL when out of memory. */
static char *join(const char *dir, const char *name, size_t namelen)
{
	size_t dl = strlen(dir), n;
	char *p;

	if (size_add(&n, dl, namelen) || size_add(&n, n, sizeof "/.kernel"))
		return NULL;
	p = malloc(n);
	if (p != NULL)
		snprintf(p, n, "%s/%.*s.kernel", dir, (int)namelen, name);
	return p;
}

static int is_regular(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

static int unknown_kernel(const char *name, struct err *err);

/* find_library loads NAME.kernel from the first directory that has it. */
static int find_library(const char *name, struct kernel *k, struct err *err)
{
	struct dirs d;
	const char *dir;
	char *path;
	int rc = 1;

	if (dirs_init(&d, err))
		return -1;
	while (rc == 1 && (dir = dirs_next(&d)) != NULL) {
		path = join(dir, name, strlen(name));
		if (path == NULL)
			rc = err_oom(err, name);
		else if (is_regular(path))
			rc = kern_load(path, k, err);
		free(path);
	}
	dirs_free(&d);
	return rc == 1 ? unknown_kernel(name, err) : rc;
}

/* ---- Generators ---------------------------------------------------------- */

/* The generators' names, for "did you mean". */
static const char *const generators[] = { "gaussian", "box", "unsharp", "log", "dog" };

/* unknown_generator answers NAME:ARGS with the generator NAME was likely meant to be. */
static int unknown_generator(const char *spec, struct err *err)
{
	size_t n = (size_t)(strchr(spec, ':') - spec), i;
	struct suggest sg;
	char q[64];

	kern_quote(q, sizeof q, spec, n);
	suggest_init(&sg, spec, n);
	for (i = 0; i < sizeof generators / sizeof generators[0]; i++)
		suggest_offer(&sg, generators[i]);
	if (sg.best != NULL)
		return err_set(err, ERR_USAGE, "unknown generator %s; did you mean %s%s?",
			       q, sg.best, spec + n);
	return err_set(err, ERR_USAGE, "unknown generator %s (generators: gaussian:SIGMA[,SIZE], "
		       "box:N or box:WxH, unsharp:SIGMA[,AMOUNT], log:SIGMA, dog:SIGMA1,SIGMA2)", q);
}

/* ---- Resolving a spec ---------------------------------------------------- */

static int ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);

	return n >= m && strcmp(s + n - m, suffix) == 0;
}

int kern_resolve(const char *spec, struct kernel *k, struct err *err)
{
	char q[64];
	int rc;

	memset(k, 0, sizeof *k);
	if (spec == NULL || spec[0] == '\0')
		return err_set(err, ERR_USAGE, "empty kernel spec");
	if (kern_is_inline(spec))
		return kern_parse_inline(spec, k, err);
	if ((rc = kern_gen_spec(spec, k, err)) <= 0)
		return rc;
	/*
	 * A name that ends like a kernel file is meant as a file, so a typo
	 * there reads "No such file" rather than "unknown kernel".
	 */
	if (strchr(spec, '/') || is_regular(spec) || ends_with(spec, ".kernel") ||
	    ends_with(spec, ".mat"))
		return kern_load(spec, k, err);
	kern_quote(q, sizeof q, spec, strlen(spec));
	if (strcmp(spec, "gaussian") == 0 || strcmp(spec, "box") == 0 ||
	    strcmp(spec, "log") == 0 || strcmp(spec, "dog") == 0)
		return err_set(err, ERR_USAGE, "%s needs parameters: "
			       "gaussian:SIGMA[,SIZE], box:N or box:WxH, log:SIGMA, "
			       "dog:SIGMA1,SIGMA2", q);
	if (strchr(spec, ':') != NULL)
		return unknown_generator(spec, err);
	if (!kern_valid_name(spec, strlen(spec)))
		return unknown_kernel(spec, err);
	return find_library(spec, k, err);
}

/* ---- Listing the library ------------------------------------------------- */

struct entry {
	char name[64];
	char *path;
};

struct entries {
	struct entry *e;
	size_t n, cap;
	int width;           /* longest name */
};

static int has_entry(const struct entries *list, const char *name, size_t len)
{
	size_t i;

	for (i = 0; i < list->n; i++)
		if (strlen(list->e[i].name) == len &&
		    memcmp(list->e[i].name, name, len) == 0)
			return 1;
	return 0;
}

static int add_entry(struct entries *list, const char *dir, const char *name,
		     size_t len, struct err *err)
{
	struct entry *e;
	size_t cap, bytes;
	char *path;

	path = join(dir, name, len);
	if (path == NULL)
		return err_oom(err, "kernel list");
	if (!is_regular(path)) {
		free(path);
		return 0;
	}
	if (list->n == list->cap) {
		cap = list->cap ? list->cap * 2 : 32;
		if (size_mul(&bytes, cap, sizeof *e) ||
		    (e = realloc(list->e, bytes)) == NULL) {
			free(path);
			return err_oom(err, "kernel list");
		}
		list->e = e;
		list->cap = cap;
	}
	e = &list->e[list->n++];
	memcpy(e->name, name, len);
	e->name[len] = '\0';
	e->path = path;
	if ((int)len > list->width)
		list->width = (int)len;
	return 0;
}

/* scan_dir adds DIR's *.kernel files whose names are not listed yet. */
static int scan_dir(struct entries *list, const char *dir, struct err *err)
{
	struct dirent *de;
	size_t len;
	DIR *d;
	int rc = 0;

	d = opendir(dir);
	if (d == NULL)
		return 0;    /* a missing directory just holds no kernels */
	while (rc == 0 && (de = readdir(d)) != NULL) {
		if (!ends_with(de->d_name, ".kernel"))
			continue;
		len = strlen(de->d_name) - strlen(".kernel");
		if (kern_valid_name(de->d_name, len) &&
		    !has_entry(list, de->d_name, len))
			rc = add_entry(list, dir, de->d_name, len, err);
	}
	closedir(d);
	return rc;
}

static int by_name(const void *a, const void *b)
{
	return strcmp(((const struct entry *)a)->name, ((const struct entry *)b)->name);
}

/*
 * print_entry loads a kernel for its description.  A file that fails to
 * parse is listed with its error, which is more use there than a gap.
 */
static int print_entry(FILE *out, const struct entry *e, int width,
		       struct err *err)
{
	struct kernel k;
	struct err kerr;

	err_clear(&kerr);
	if (kern_load(e->path, &k, &kerr) == 0) {
		fprintf(out, "%-*s  %s\n", width, e->name, k.desc);
		kern_free(&k);
		return 0;
	}
	if (kerr.cls == ERR_OS)
		return err_set(err, kerr.cls, "%s", kerr.msg);
	fprintf(out, "%-*s  (not usable: %s)\n", width, e->name, kerr.msg);
	return 0;
}

int kern_list(FILE *out, struct err *err)
{
	struct entries list = { NULL, 0, 0, 0 };
	struct dirs d;
	const char *dir;
	size_t i;
	int rc = 0;

	if (dirs_init(&d, err))
		return -1;
	while (rc == 0 && (dir = dirs_next(&d)) != NULL)
		rc = scan_dir(&list, dir, err);
	dirs_free(&d);
	if (rc == 0 && list.n == 0) {
		char where[400];

		looked_in(where, sizeof where, err);
		rc = err_set(err, ERR_NOINPUT, "no kernel library found (looked in %s)", where);
	}
	if (list.n > 0)
		qsort(list.e, list.n, sizeof *list.e, by_name);
	for (i = 0; rc == 0 && i < list.n; i++)
		rc = print_entry(out, &list.e[i], list.width, err);
	for (i = 0; i < list.n; i++)
		free(list.e[i].path);
	free(list.e);
	if (rc == 0 && ferror(out))
		rc = err_set(err, ERR_IO, "kernel list: write error");
	return rc;
}

/*
 * unknown_kernel says that name is in no library directory: the library
 * name nearest to it, if one is near, and the directories searched.
 */
static int unknown_kernel(const char *name, struct err *err)
{
	struct entries list = { NULL, 0, 0, 0 };
	struct suggest sg;
	struct dirs d;
	struct err scan;
	const char *dir;
	char q[64], best[80] = "", where[400];
	size_t i;

	err_clear(&scan);
	if (dirs_init(&d, err))
		return -1;
	while ((dir = dirs_next(&d)) != NULL && scan_dir(&list, dir, &scan) == 0)
		;
	dirs_free(&d);
	suggest_init(&sg, name, strlen(name));
	for (i = 0; i < list.n; i++)
		suggest_offer(&sg, list.e[i].name);
	if (sg.best != NULL)
		snprintf(best, sizeof best, "; did you mean \"%s\"?", sg.best);
	for (i = 0; i < list.n; i++)
		free(list.e[i].path);
	free(list.e);
	looked_in(where, sizeof where, err);
	kern_quote(q, sizeof q, name, strlen(name));
	if (list.n == 0)
		return err_set(err, ERR_USAGE, "unknown kernel %s: no kernel library found "
			       "(looked in %s)", q, where);
	return err_set(err, ERR_USAGE, "unknown kernel %s%s (looked in %s; see --list-kernels)",
		       q, best, where);
}

/*
 * io_file.c: where an output's bytes go: a temporary file beside the
 * target, renamed into place (through symbolic links, keeping the mode),
 * or standard output, a device or a FIFO written as it is.
 */
#include "io.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#include "io_codec.h"

/*
 * The temporary file being written, for io_cleanup_on_signal.  The path is
 * complete before tmp_active is set and tmp_active is cleared before the
 * path is reused, so a handler never sees a half-written name.  A signal in
 * the few instructions between mkstemp and setting the flag leaves the file
 * behind; closing that window would need signals blocked around mkstemp.
 */
static char tmp_path[PATH_MAX];
static volatile sig_atomic_t tmp_active;

void io_cleanup_on_signal(void)
{
	if (tmp_active)
		unlink(tmp_path);
}

/*
 * resolve_target follows path through symbolic links to the file a write
 * should replace, into out[PATH_MAX]: writing through a link replaces its
 * target, as cp and ImageMagick do, and the link stays a link.  A link's
 * relative target is read from the link's directory; a dangling link
 * gives the file it names, which is then made.  A path that is not a
 * link comes back as it is.  Only the last component matters: rename
 * follows links among the directories.
 */
static int resolve_target(const char *path, char *out, struct err *err)
{
	char link[PATH_MAX];
	struct stat st;
	int hops, len;
	ssize_t n;

	if (strlen(path) >= PATH_MAX)
		return err_set(err, ERR_CANTCREAT, "%s: %s", path, strerror(ENAMETOOLONG));
	strcpy(out, path);
	/* 40 links, as Linux follows, before ELOOP. */
	for (hops = 0; lstat(out, &st) == 0 && S_ISLNK(st.st_mode); hops++) {
		const char *slash = strrchr(out, '/');
		int dirlen = slash ? (int)(slash - out) + 1 : 0;

		if (hops == 40)
			return err_set(err, ERR_CANTCREAT, "%s: %s", path, strerror(ELOOP));
		n = readlink(out, link, sizeof link - 1);
		if (n < 0)
			return err_set(err, ERR_CANTCREAT, "%s: %s", path, strerror(errno));
		link[n] = '\0';
		if (link[0] == '/')
			dirlen = 0;
		len = snprintf(out + dirlen, PATH_MAX - (size_t)dirlen, "%s", link);
		if (len < 0 || (size_t)len >= PATH_MAX - (size_t)dirlen)
			return err_set(err, ERR_CANTCREAT, "%s: %s", path, strerror(ENAMETOOLONG));
	}
	return 0;
}

/*
 * keep_owner gives the temporary file fd the permission bits of the file
 * it will replace (and its owner and group, which only root can give
 * away; for anyone else that fails quietly and the file is theirs, as
 * with any new file).  A new file keeps the umask's default of make_temp.
 */
static int keep_owner(int fd, const char *target)
{
	struct stat st;

	if (stat(target, &st) != 0 || !S_ISREG(st.st_mode))
		return 0;
	/* Before fchmod, which fchown's clearing of set-user-ID would undo. */
	if ((st.st_uid != geteuid() || st.st_gid != getegid()) &&
	    fchown(fd, st.st_uid, st.st_gid) != 0)
		errno = 0;   /* not root: the file becomes the writer's, as a new one would */
	return fchmod(fd, st.st_mode & 07777);
}

/*
 * make_temp creates "DIR/.BASE.XXXXXX" beside target, in tmp_path, and
 * returns its descriptor; messages name path, the name the user gave.
 * Being in the target's directory keeps rename() on one file system,
 * which is what makes it atomic.
 */
static int make_temp(const char *target, const char *path, struct err *err)
{
	const char *slash = strrchr(target, '/');
	const char *base = slash ? slash + 1 : target;
	int dirlen = slash ? (int)(slash - target) + 1 : 0;
	int len, fd;
	mode_t mask;

	if (*base == '\0' || strcmp(base, ".") == 0 || strcmp(base, "..") == 0)
		return err_set(err, ERR_CANTCREAT, "%s: %s", path, strerror(EISDIR));
	len = snprintf(tmp_path, sizeof tmp_path, "%.*s.%s.XXXXXX", dirlen, target, base);
	if (len < 0 || (size_t)len >= sizeof tmp_path)
		return err_set(err, ERR_CANTCREAT, "%s: %s", path, strerror(ENAMETOOLONG));
	fd = mkstemp(tmp_path);
	if (fd < 0)
		return err_set(err, ERR_CANTCREAT, "%s: %s", path, strerror(errno));
	tmp_active = 1;
	/*
	 * mkstemp makes the file 0600; give it the mode a plain open(O_CREAT)
	 * would have, or the mode of the file it replaces.  umask can only be
	 * read by setting it, so set it back.
	 */
	mask = umask(0);
	umask(mask);
	if (fchmod(fd, 0666 & ~mask) != 0 || keep_owner(fd, target) != 0) {
		int e = errno;

		close(fd);
		tmp_active = 0;
		unlink(tmp_path);
		return err_set(err, ERR_CANTCREAT, "%s: %s", path, strerror(e));
	}
	return fd;
}

/* finish_file flushes f all the way to the disk and closes it. */
static int finish_file(FILE *f, const char *path, struct err *err)
{
	int e = 0;

	if (fflush(f) != 0 || ferror(f))
		e = errno ? errno : EIO;
	else if (fsync(fileno(f)) != 0)
		e = errno;
	if (fclose(f) != 0 && e == 0)
		e = errno;
	if (e)
		return err_set(err, ERR_IO, "%s: %s", path, strerror(e));
	return 0;
}

/*
 * fill_stream fills f, an output that is written as it is (stdout, a
 * device), and flushes it.
 */
static int fill_stream(FILE *f, const char *name,
		       int (*fill)(FILE *f, const char *name, void *ctx, struct err *err),
		       void *ctx, struct err *err)
{
	if (fill(f, name, ctx, err))
		return -1;
	if (fflush(f) != 0 || ferror(f))
		return err_set(err, ERR_IO, "%s: %s", name, strerror(errno ? errno : EIO));
	return 0;
}

int io_output_is_stream(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 && !S_ISREG(st.st_mode) && !S_ISDIR(st.st_mode);
}

/*
 * write_device fills an output that is not a file but a device, a FIFO
 * or a socket (/dev/null, /dev/stdout, a named pipe): there is nothing to
 * replace, so it is opened and written as it is, as cp and a shell's >
 * do.  Renaming a file over it would put a regular file in its place:
 * as root, over /dev/null itself.
 */
static int write_device(const char *target, const char *path,
			int (*fill)(FILE *f, const char *name, void *ctx, struct err *err),
			void *ctx, struct err *err)
{
	FILE *f;
	int fd = open(target, O_WRONLY | O_CLOEXEC), e, rc;

	if (fd < 0)
		return err_set(err, ERR_CANTCREAT, "%s: %s", path, strerror(errno));
	f = fdopen(fd, "wb");
	if (f == NULL) {
		e = errno;
		close(fd);
		return err_set(err, ERR_OS, "%s: %s", path, strerror(e));
	}
	rc = fill_stream(f, path, fill, ctx, err);
	if (fclose(f) != 0 && rc == 0)
		rc = err_set(err, ERR_IO, "%s: %s", path, strerror(errno));
	return rc;
}

int io_write_atomic(const char *path,
		    int (*fill)(FILE *f, const char *name, void *ctx, struct err *err),
		    void *ctx, struct err *err)
{
	char target[PATH_MAX];
	FILE *f;
	int fd, e;

	if (strcmp(path, "-") == 0)
		return fill_stream(stdout, "<stdout>", fill, ctx, err);
	if (resolve_target(path, target, err))
		return -1;
	if (io_output_is_stream(target))
		return write_device(target, path, fill, ctx, err);
	fd = make_temp(target, path, err);
	if (fd < 0)
		return -1;
	f = fdopen(fd, "wb");
	if (f == NULL) {
		e = errno;
		close(fd);
		err_set(err, ERR_OS, "%s: %s", path, strerror(e));
		goto fail;
	}
	if (fill(f, path, ctx, err)) {
		fclose(f);
		goto fail;
	}
	if (finish_file(f, path, err))
		goto fail;
	if (rename(tmp_path, target) != 0) {
		err_set(err, ERR_CANTCREAT, "%s: %s", path, strerror(errno));
		goto fail;
	}
	tmp_active = 0;
	return 0;
fail:
	unlink(tmp_path);
	tmp_active = 0;
	return -1;
}

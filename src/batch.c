/* batch.c: many files in parallel child processes, with a progress line. */
#include "batch.h"

#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

/* ---- progress line ----------------------------------------------------- */

static int progress_shown;

void progress_draw(int done, int total, const char *what, int failed)
{
	enum { WIDTH = 30 };
	char bar[WIDTH + 1];
	int i, fill = total > 0 ? (int)((long long)WIDTH * done / total) : WIDTH;

	for (i = 0; i < WIDTH; i++)
		bar[i] = i < fill ? '#' : '.';
	bar[WIDTH] = '\0';
	fprintf(stderr, "\r\033[K[%s] %d/%d %s", bar, done, total, what);
	if (failed > 0)
		fprintf(stderr, ", %d failed", failed);
	fflush(stderr);
	progress_shown = 1;
}

/* progress_clear wipes the line so that another message can be printed. */
static void progress_clear(void)
{
	if (progress_shown)
		fputs("\r\033[K", stderr);
}

void progress_end(void)
{
	if (progress_shown)
		fputc('\n', stderr);
	progress_shown = 0;
}

/* ---- output names ---------------------------------------------------------- */

/* append copies n bytes of s to out at *len, failing when it would not fit. */
static int append(char *out, size_t size, size_t *len, const char *s, size_t n)
{
	if (n >= size - *len)
		return -1;
	memcpy(out + *len, s, n);
	*len += n;
	out[*len] = '\0';
	return 0;
}

int batch_output_path(const char *target, const char *suffix, const char *input,
		      enum io_format format, char *out, size_t size, struct err *err)
{
	const char *slash = strrchr(input, '/');
	const char *file = slash ? slash + 1 : input;
	const char *dot = strrchr(file, '.');
	const char *ext;
	size_t dir_len = slash ? (size_t)(slash - input) : 0, name_len, ext_len;
	size_t len = 0;
	const char *p;
	int bad = 0;

	if (dot == NULL || dot == file)
		dot = file + strlen(file);
	name_len = (size_t)(dot - file);
	ext = *dot == '.' ? dot + 1 : dot;
	if (format != IO_NONE && io_format_by_name(ext) != format)
		ext = format == IO_JPEG ? "jpg" : format == IO_TIFF ? "tif" : io_format_name(format);
	ext_len = strlen(ext);
	out[0] = '\0';

	if (strchr(target, '%') == NULL) {
		bad |= append(out, size, &len, target, strlen(target));
		if (len > 0 && out[len - 1] != '/')
			bad |= append(out, size, &len, "/", 1);
		bad |= append(out, size, &len, file, name_len);
		bad |= append(out, size, &len, suffix, strlen(suffix));
		if (ext_len > 0) {
			bad |= append(out, size, &len, ".", 1);
			bad |= append(out, size, &len, ext, ext_len);
		}
	} else {
		for (p = target; *p != '\0' && !bad; p++) {
			if (*p != '%') {
				bad |= append(out, size, &len, p, 1);
				continue;
			}
			switch (*++p) {
			case 'd':
				bad |= slash ? append(out, size, &len, input, dir_len ? dir_len : 1)
					     : append(out, size, &len, ".", 1);
				break;
			case 'n': bad |= append(out, size, &len, file, name_len); break;
			case 'e': bad |= append(out, size, &len, ext, ext_len); break;
			case 'f':
				bad |= append(out, size, &len, file, name_len);
				if (ext_len > 0)
					bad |= append(out, size, &len, ".", 1) |
					       append(out, size, &len, ext, ext_len);
				break;
			case '%': bad |= append(out, size, &len, "%", 1); break;
			default:
				return err_set(err, ERR_USAGE,
					       "-o %s: unknown %%%c in the output template (%%d %%n %%e %%f %%%%)",
					       target, *p ? *p : ' ');
			}
		}
	}
	if (bad || len == 0)
		return err_set(err, ERR_USAGE, "%s: the output name would be too long", input);
	return 0;
}

/* ---- output directories ------------------------------------------------------ */

/* dir_at checks (and with create, makes) the directory dir. */
static int dir_at(const char *what, const char *dir, int create, struct err *err)
{
	struct stat st;
	int e;

	if (stat(dir, &st) == 0)
		return S_ISDIR(st.st_mode) ? 0 : err_set(err, ERR_CANTCREAT, "%s: %s is not a directory",
							 what, dir);
	e = errno;
	if (e != ENOENT)
		return err_set(err, ERR_CANTCREAT, "%s: %s: %s", what, dir, strerror(e));
	if (!create)
		return err_set(err, ERR_CANTCREAT, "%s: no directory %s", what, dir);
	if (mkdir(dir, 0777) == 0)
		return 0;
	/* Another run of a parallel batch may have made it a moment ago. */
	e = errno;
	if (e == EEXIST && stat(dir, &st) == 0 && S_ISDIR(st.st_mode))
		return 0;
	return err_set(err, ERR_CANTCREAT, "%s: cannot create directory %s: %s", what, dir,
		       strerror(e));
}

int batch_dirs(const char *what, const char *path, int last, int create, struct err *err)
{
	char buf[PATH_MAX];
	const char *slash = strrchr(path, '/');
	size_t end = last ? strlen(path) : slash ? (size_t)(slash - path) : 0, i;

	if (end >= sizeof buf)
		return err_set(err, ERR_CANTCREAT, "%s: the path is too long", what);
	memcpy(buf, path, end);
	buf[end] = '\0';
	/* Each prefix that ends a component, the root and repeated slashes aside. */
	for (i = 1; i <= end; i++) {
		char c = buf[i];

		if ((i < end && c != '/') || buf[i - 1] == '/')
			continue;
		buf[i] = '\0';
		if (dir_at(what, buf, create, err))
			return -1;
		buf[i] = c;
	}
	return 0;
}

/* ---- running children ---------------------------------------------------- */

struct child {
	pid_t pid;
	int fd;           /* read end of the child's stderr */
	int index;
	char *text;       /* what the child wrote to stderr */
	size_t len, cap;
};

static volatile sig_atomic_t batch_signal;

static void on_batch_signal(int sig)
{
	batch_signal = sig;
}

static int start_child(struct child *c, int index, int (*run)(void *, int), void *ctx)
{
	int fds[2];

	if (pipe(fds) != 0)
		return -1;
	fflush(NULL);
	c->pid = fork();
	if (c->pid < 0) {
		close(fds[0]);
		close(fds[1]);
		return -1;
	}
	if (c->pid == 0) {
		int status;

		/* The child: default signal handling (the CLI's cleanup handler), stderr to the pipe. */
		signal(SIGINT, SIG_DFL);
		signal(SIGTERM, SIG_DFL);
		signal(SIGHUP, SIG_DFL);
		close(fds[0]);
		dup2(fds[1], STDERR_FILENO);
		close(fds[1]);
		status = run(ctx, index);
		fflush(NULL);
		_exit(status);
	}
	close(fds[1]);
	c->fd = fds[0];
	c->index = index;
	c->len = 0;
	return 0;
}

/* drain reads what is available from the child's pipe; returns 1 at EOF. */
static int drain(struct child *c)
{
	char buf[4096];
	ssize_t r = read(c->fd, buf, sizeof buf);

	if (r < 0)
		return errno == EINTR || errno == EAGAIN ? 0 : 1;
	if (r == 0)
		return 1;
	if (c->len + (size_t)r + 1 > c->cap) {
		size_t cap = (c->cap ? c->cap * 2 : 1024) + (size_t)r;
		char *t = realloc(c->text, cap);
		if (t == NULL)
			return 0;    /* drop the text rather than the child */
		c->text = t;
		c->cap = cap;
	}
	memcpy(c->text + c->len, buf, (size_t)r);
	c->len += (size_t)r;
	return 0;
}

int batch_run(int n, int (*run)(void *ctx, int i), void *ctx,
	      const struct batch_opts *o)
{
	struct sigaction sa, old_int, old_term, old_hup;
	struct child *kids;
	struct pollfd *pfd;
	int workers = o->workers < 1 ? 1 : o->workers;
	int next = 0, running = 0, done = 0, failed = 0, first_fail = n, result = 0;
	int w, status, code;

	kids = calloc((size_t)workers, sizeof *kids);
	pfd = calloc((size_t)workers, sizeof *pfd);
	if (kids == NULL || pfd == NULL) {
		free(kids);
		free(pfd);
		fprintf(stderr, "imfilter: out of memory\n");
		return ERR_OS;
	}
	for (w = 0; w < workers; w++)
		kids[w].pid = 0;

	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_batch_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, &old_int);
	sigaction(SIGTERM, &sa, &old_term);
	sigaction(SIGHUP, &sa, &old_hup);

	if (o->progress)
		progress_draw(0, n, "files", 0);
	while ((next < n && !batch_signal) || running > 0) {
		for (w = 0; w < workers && next < n && !batch_signal; w++) {
			if (kids[w].pid != 0)
				continue;
			if (start_child(&kids[w], next, run, ctx) != 0) {
				progress_clear();
				fprintf(stderr, "imfilter: cannot start a process: %s\n", strerror(errno));
				if (o->progress)
					progress_draw(done, n, "files", failed);
				kids[w].pid = 0;
				if (running == 0) {
					result = ERR_OS;
					goto out;
				}
				break;
			}
			next++;
			running++;
		}
		for (w = 0; w < workers; w++) {
			pfd[w].fd = kids[w].pid != 0 ? kids[w].fd : -1;
			pfd[w].events = POLLIN;
			pfd[w].revents = 0;
		}
		if (batch_signal)
			for (w = 0; w < workers; w++)
				if (kids[w].pid != 0)
					kill(kids[w].pid, batch_signal);
		if (poll(pfd, (nfds_t)workers, -1) < 0 && errno != EINTR)
			break;
		for (w = 0; w < workers; w++) {
			struct child *c = &kids[w];

			if (c->pid == 0 || !(pfd[w].revents & (POLLIN | POLLHUP | POLLERR)))
				continue;
			if (!drain(c))
				continue;
			close(c->fd);
			while (waitpid(c->pid, &status, 0) < 0 && errno == EINTR)
				;
			code = WIFEXITED(status) ? WEXITSTATUS(status) : ERR_SOFTWARE;
			if (c->len > 0) {
				progress_clear();
				fwrite(c->text, 1, c->len, stderr);
			}
			if (WIFSIGNALED(status) && WTERMSIG(status) != batch_signal) {
				progress_clear();
				fprintf(stderr, "imfilter: file %d: killed by signal %d\n",
					c->index + 1, WTERMSIG(status));
			}
			if (code != 0) {
				failed++;
				if (c->index < first_fail) {
					first_fail = c->index;
					result = code;
				}
			}
			done++;
			running--;
			c->pid = 0;
			if (o->progress)
				progress_draw(done, n, "files", failed);
		}
	}
out:
	if (o->progress)
		progress_end();
	for (w = 0; w < workers; w++)
		free(kids[w].text);
	free(kids);
	free(pfd);
	sigaction(SIGINT, &old_int, NULL);
	sigaction(SIGTERM, &old_term, NULL);
	sigaction(SIGHUP, &old_hup, NULL);
	if (batch_signal) {
		signal(batch_signal, SIG_DFL);
		raise(batch_signal);
	}
	return result;
}

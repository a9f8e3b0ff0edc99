/* unit_kernel.c: kernel files, inline matrices, generators, specs, library. */
#include <dirent.h>
#include <locale.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "kernel.h"

/* parse runs kern_parse on a NUL-terminated text. */
static int parse(const char *text, const char *fname, struct kernel *k,
		 struct err *e)
{
	err_clear(e);
	return kern_parse(text, strlen(text), fname, k, e);
}

/*
 * comma_locale sets LC_NUMERIC to a locale whose decimal point is a comma:
 * an installed one, or de_DE.UTF-8 compiled by localedef into a temporary
 * directory that LOCPATH then names.  Returns 0 when there is none.
 */
static int comma_locale(void)
{
	static char dir[] = "/tmp/imfilter-locale.XXXXXX";
	char cmd[256];

	if (setlocale(LC_NUMERIC, "de_DE.UTF-8") || setlocale(LC_NUMERIC, "fr_FR.UTF-8"))
		return strcmp(localeconv()->decimal_point, ",") == 0;
	if (mkdtemp(dir) == NULL)
		return 0;
	snprintf(cmd, sizeof cmd, "localedef -i de_DE -f UTF-8 %s/de_DE.UTF-8 >/dev/null 2>&1", dir);
	if (system(cmd) == 0 && setenv("LOCPATH", dir, 1) == 0 &&
	    setlocale(LC_NUMERIC, "de_DE.UTF-8") == NULL)
		unsetenv("LOCPATH");
	snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
	if (strcmp(setlocale(LC_NUMERIC, NULL), "de_DE.UTF-8") != 0) {
		(void)system(cmd);
		return 0;
	}
	(void)system(cmd);
	return strcmp(localeconv()->decimal_point, ",") == 0;
}

/* same compares matrix b of k with the h * w values in want. */
static int same(const struct kernel *k, int b, const double *want)
{
	size_t i, n = (size_t)k->w * k->h;

	for (i = 0; i < n; i++)
		if (k->m[(size_t)b * n + i] != want[i])
			return 0;
	return 1;
}

static void test_design_example(void)
{
	static const char text[] =
		"# Sharpen: the centre against its four neighbours.\n"
		"name   sharpen\n"
		"scale  1          # optional; every sum is divided by it; auto = the kernel's sum (or 1 when the sum is 0)\n"
		"bias   0          # optional; added to every result (0..1 image range)\n"
		"origin 1 1        # optional; anchor column and row, 0-based; default floor(w/2) floor(h/2)\n"
		" 0 -1  0\n"
		"-1  5 -1\n"
		" 0 -1  0\n";
	static const double want[] = { 0, -1, 0, -1, 5, -1, 0, -1, 0 };
	struct kernel k;
	struct err e;
	int rc = parse(text, "x/other.kernel", &k, &e);

	check(rc == 0, "design example parses", "%s", e.msg);
	if (rc != 0)
		return;
	check(strcmp(k.name, "sharpen") == 0, "design example: name header", "%s", k.name);
	check(strcmp(k.desc, "Sharpen: the centre against its four neighbours.") == 0,
	      "design example: desc from the first comment", "\"%s\"", k.desc);
	check(k.w == 3 && k.h == 3 && k.n == 1, "design example: 3x3, one matrix",
	      "%dx%d n=%d", k.w, k.h, k.n);
	check(k.scale[0] == 1 && k.bias == 0 && k.ox == 1 && k.oy == 1 &&
	      k.combine == KERN_SUM, "design example: scale, bias, origin, combine",
	      "scale %g bias %g origin %d %d", k.scale[0], k.bias, k.ox, k.oy);
	check(same(&k, 0, want), "design example: weights", "%s", "differ");
	check(kern_sum(&k, 0) == 1, "design example: sum 1", "%g", kern_sum(&k, 0));
	kern_free(&k);
	check(k.m == NULL && k.scale == NULL && k.n == 0, "kern_free zeroes",
	      "%s", "not zeroed");
}

/* One accepted text and what it must give. */
struct good {
	const char *what, *text, *fname;
	int w, h, n;
	double m0[9];        /* the first matrix, row by row */
	double scale0, bias;
	int ox, oy;
};

static void test_good(void)
{
	static const struct good cases[] = {
		{ "fractions", "1/16 2/16 1/16\n-3/8 +1/2 0.5e1/10\n1.5e-1 -2 .5\n", "f.kernel",
		  3, 3, 1, { 0.0625, 0.125, 0.0625, -0.375, 0.5, 0.5, 0.15, -2, 0.5 }, 1, 0, 1, 1 },
		{ "commas, spaces and tabs mixed", "1, 2,\t3,\n4\t5 ,6\n", "c.kernel",
		  3, 2, 1, { 1, 2, 3, 4, 5, 6 }, 1, 0, 1, 1 },
		{ "CRLF line ends", "# d\r\nscale 2\r\n1 2\r\n3 4\r\n", "c.kernel",
		  2, 2, 1, { 1, 2, 3, 4 }, 2, 0, 1, 1 },
		{ "UTF-8 byte-order mark", "\xef\xbb\xbf" "bias 0.25\n1 2\n", "b.kernel",
		  2, 1, 1, { 1, 2 }, 1, 0.25, 1, 0 },
		{ "comments everywhere", "  # lead\nscale 4 # s\n\n1 1 # r1\n# between\n"
		  "   \t\n1 1#r2\n# tail\n", "c.kernel",
		  2, 2, 1, { 1, 1, 1, 1 }, 4, 0, 1, 1 },
		{ "no trailing newline", "7", "n.kernel", 1, 1, 1, { 7 }, 1, 0, 0, 0 },
		{ "scale auto is the sum", "scale auto\n1 2\n3 4\n", "a.kernel",
		  2, 2, 1, { 1, 2, 3, 4 }, 10, 0, 1, 1 },
		{ "scale auto of a zero sum is 1", "scale auto\n-1 1\n", "a.kernel",
		  2, 1, 1, { -1, 1 }, 1, 0, 1, 0 },
		{ "scale auto of a rounding-noise sum is 1", "scale auto\n0.1 0.2 -0.3\n",
		  "a.kernel", 3, 1, 1, { 0.1, 0.2, -0.3 }, 1, 0, 1, 0 },
		{ "default scale is 1, not auto", "1 1\n1 1\n", "d.kernel",
		  2, 2, 1, { 1, 1, 1, 1 }, 1, 0, 1, 1 },
		{ "fractional scale", "scale 1/16\n1\n", "s.kernel",
		  1, 1, 1, { 1 }, 0.0625, 0, 0, 0 },
		{ "origin header", "origin 0 2\n1\n2\n3\n", "o.kernel",
		  1, 3, 1, { 1, 2, 3 }, 1, 0, 0, 2 },
		{ "even size default origin", "1 2 3 4\n5 6 7 8\n", "e.kernel",
		  4, 2, 1, { 1, 2, 3, 4, 5, 6, 7, 8 }, 1, 0, 2, 1 },
		{ "trailing comma", "1, 2,\n3, 4,\n", "t.kernel",
		  2, 2, 1, { 1, 2, 3, 4 }, 1, 0, 1, 1 },
		{ "underflow is a tiny weight", "1e-400 1\n", "u.kernel",
		  2, 1, 1, { 0, 1 }, 1, 0, 1, 0 },
		{ "plain 2-column matrix whose first row is integers", "2 2\n1 1\n1 1\n",
		  "p.kernel", 2, 3, 1, { 2, 2, 1, 1, 1, 1 }, 1, 0, 1, 1 },
		{ "vips-looking first line followed by wrong row count", "3 2\n1 2 3\n",
		  "p.kernel", 0, 0, 0, { 0 }, 0, 0, 0, 0 },
		{ "libvips .mat file", "3 2\n1 2 3\n4 5 6\n", "m.mat",
		  3, 2, 1, { 1, 2, 3, 4, 5, 6 }, 1, 0, 1, 1 },
		{ "libvips .mat with scale and offset", "2 2 4 51\n1 1\n1 1\n", "m.mat",
		  2, 2, 1, { 1, 1, 1, 1 }, 4, 0.2, 1, 1 },
		{ "libvips .mat with integral floats and CRLF", "2.0 1.0 2\r\n1 3\r\n", "m.mat",
		  2, 1, 1, { 1, 3 }, 2, 0, 1, 0 },
		{ "libvips file detected by content", "3 3 16 0\n1 2 1\n2 4 2\n1 2 1\n",
		  "blur.kernel", 3, 3, 1, { 1, 2, 1, 2, 4, 2, 1, 2, 1 }, 16, 0, 1, 1 },
		{ "libvips file detected after comments", "# a vips mask\n\n3 1\n-1 0 1\n",
		  "v.txt", 3, 1, 1, { -1, 0, 1 }, 1, 0, 1, 0 },
		{ "libvips 1x1 detected", "1 1 2\n5\n", "v", 1, 1, 1, { 5 }, 2, 0, 0, 0 },
	};
	struct kernel k;
	struct err e;
	size_t i;
	int rc, ok;

	for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		const struct good *c = &cases[i];

		rc = parse(c->text, c->fname, &k, &e);
		if (c->w == 0) {
			/* Must not be taken for libvips: our format, then an error. */
			check(rc != 0 && strstr(e.msg, "row has 3 numbers, expected 2") &&
			      strncmp(e.msg, "p.kernel:2:", 11) == 0, c->what, "%s", e.msg);
			continue;
		}
		ok = rc == 0 && k.w == c->w && k.h == c->h && k.n == c->n &&
		     same(&k, 0, c->m0) && fabs(k.scale[0] - c->scale0) < 1e-15 &&
		     fabs(k.bias - c->bias) < 1e-15 && k.ox == c->ox && k.oy == c->oy;
		check(ok, c->what, "rc %d (%s) %dx%d n=%d scale %g bias %g origin %d %d",
		      rc, e.msg, k.w, k.h, k.n, rc ? 0 : k.scale[0], k.bias, k.ox, k.oy);
		kern_free(&k);
	}
}

static void test_names_and_desc(void)
{
	struct kernel k;
	struct err e;

	parse("1\n", "some/dir/soft-glow.kernel", &k, &e);
	check(strcmp(k.name, "soft-glow") == 0, "name defaults to the base name",
	      "%s", k.name);
	kern_free(&k);
	parse("1 1\n5\n", "mask.mat", &k, &e);
	check(strcmp(k.name, "mask") == 0, "name of a .mat file drops .mat", "%s", k.name);
	kern_free(&k);
	parse("#\n####\n#   \n  ##  First real one.  \n# second\n1\n", "d.kernel", &k, &e);
	check(strcmp(k.desc, "First real one.") == 0,
	      "desc skips empty comments and trims", "\"%s\"", k.desc);
	kern_free(&k);
	parse("1 # trailing comments are not a desc\n", "d.kernel", &k, &e);
	check(k.desc[0] == '\0', "no comment line, empty desc", "\"%s\"", k.desc);
	kern_free(&k);
	parse("\xef\xbb\xbf# With BOM\r\n1\r\n", "d.kernel", &k, &e);
	check(strcmp(k.desc, "With BOM") == 0, "desc after a BOM, without CR",
	      "\"%s\"", k.desc);
	kern_free(&k);
}

static void test_banks(void)
{
	static const char sobel[] =
		"# Sobel.\ncombine magnitude\n-1 0 1\n-2 0 2\n-1 0 1\n---\n"
		"-1 -2 -1\n0 0 0\n1 2 1\n";
	static const double gy[] = { -1, -2, -1, 0, 0, 0, 1, 2, 1 };
	struct kernel k;
	struct err e;
	int rc;

	rc = parse(sobel, "s.kernel", &k, &e);
	check(rc == 0 && k.n == 2 && k.w == 3 && k.h == 3 &&
	      k.combine == KERN_MAGNITUDE && same(&k, 1, gy),
	      "bank with --- and combine magnitude", "rc %d %s n=%d", rc, e.msg, k.n);
	kern_free(&k);

	rc = parse("scale 2\n1 1\n---\n1 1\n---\nscale 4\n1 1\n---\n1 3\n", "s.kernel", &k, &e);
	check(rc == 0 && k.n == 4 && k.scale[0] == 2 && k.scale[1] == 2 &&
	      k.scale[2] == 4 && k.scale[3] == 4,
	      "scale carries over to the following matrices", "rc %d %s", rc, e.msg);
	kern_free(&k);

	rc = parse("scale auto\n1 1\n---\n1 -1\n---\n2 3\n", "s.kernel", &k, &e);
	check(rc == 0 && k.n == 3 && k.scale[0] == 2 && k.scale[1] == 1 &&
	      k.scale[2] == 5, "scale auto is per matrix and carries over",
	      "rc %d %s", rc, e.msg);
	kern_free(&k);

	rc = parse("origin 0 0\n1 2\n---\ncombine max\nbias 0.5\n3 4 # x\n", "s.kernel", &k, &e);
	check(rc == 0 && k.n == 2 && k.combine == KERN_MAX && k.bias == 0.5 &&
	      k.ox == 0 && k.oy == 0, "bank-wide headers before a later matrix",
	      "rc %d %s", rc, e.msg);
	kern_free(&k);
}

/* Cross-channel kernels: channels, kernels, per-kernel bias and auto scale. */
static void test_channels(void)
{
	struct kernel k;
	struct err e;
	int rc;

	rc = parse("channels 2\nbias 0.5\nscale auto\n1 1\n---\n2 0\n---\n"
		   "bias -1\n0 3\n---\n0 1\n---\n5 5\n---\n0 0\n", "c.kernel", &k, &e);
	check(rc == 0 && k.nin == 2 && k.n == 6 && kern_outputs(&k) == 3 && !k.combined &&
	      k.biases != NULL && k.biases[0] == 0.5 && k.biases[1] == -1 && k.biases[2] == -1 &&
	      k.scale[0] == 4 && k.scale[1] == 4 && k.scale[2] == 4 && k.scale[3] == 4 &&
	      k.scale[4] == 10 && k.scale[5] == 10,
	      "channels 2: 3 kernels of 2 matrices, biases carry over, auto scale per kernel",
	      "rc %d %s nin %d n %d", rc, e.msg, k.nin, k.n);
	kern_set_bias(&k, 0.25);
	check(rc == 0 && k.biases[0] == 0.25 && k.biases[2] == 0.25 && k.bias == 0.25,
	      "kern_set_bias sets every kernel's bias", "%g %g", k.biases[0], k.biases[2]);
	kern_set_scale(&k, 0, 1);
	check(rc == 0 && k.scale[0] == 4 && k.scale[3] == 4 && k.scale[5] == 10,
	      "kern_set_scale auto: the sum over each kernel's matrices", "%g %g %g",
	      k.scale[0], k.scale[3], k.scale[5]);
	kern_free(&k);
	rc = parse("channels 3\ncombine magnitude\nbias 0.1\n1\n---\n2\n---\n3\n---\n"
		   "4\n---\n5\n---\n6\n", "c.kernel", &k, &e);
	check(rc == 0 && k.nin == 3 && k.combined && kern_outputs(&k) == 1 && k.bias == 0.1 &&
	      k.combine == KERN_MAGNITUDE, "channels 3 with combine: one output, one bias",
	      "rc %d %s", rc, e.msg);
	kern_free(&k);
	rc = parse("1 2\n---\n3 4\n", "c.kernel", &k, &e);
	check(rc == 0 && k.nin == 0 && k.biases == NULL && kern_outputs(&k) == 1,
	      "an ordinary bank is not cross-channel", "rc %d %s", rc, e.msg);
	kern_free(&k);
}

/* One rejected text: the error's place and a fragment of its message. */
struct bad {
	const char *text, *fname;
	long line, col;
	const char *frag;
};

static void test_bad(void)
{
	static const struct bad cases[] = {
		{ "1 2 3\n4 x 6\n", "t.kernel", 2, 3, "expected a number, found \"x\"" },
		{ "1 2 3\n4 5\n", "t.kernel", 2, 4, "row has 2 numbers, expected 3" },
		{ "1 2\n3 4 5\n", "t.kernel", 2, 5, "row has 3 numbers, expected 2" },
		{ "1 2\n3 4\n\n5\n", "t.kernel", 4, 2, "row has 1 number, expected 2" },
		{ "1 nan\n", "t.kernel", 1, 3, "not a finite number: \"nan\"" },
		{ "inf 1\n", "t.kernel", 1, 1, "not a finite number: \"inf\"" },
		{ "1 -Infinity\n", "t.kernel", 1, 3, "not a finite number" },
		{ "1 NAN(0x1)\n", "t.kernel", 1, 3, "not a finite number" },
		{ "0x1p3 1\n", "t.kernel", 1, 1, "expected a number, found \"0x1p3\"" },
		{ "1 0x10\n", "t.kernel", 1, 3, "expected a number, found \"0x10\"" },
		{ "1e999\n", "t.kernel", 1, 1, "number out of range: \"1e999\"" },
		{ "1e300\n", "t.kernel", 1, 1, "number out of range" },
		{ "1e30/1e-30\n", "t.kernel", 1, 1, "number out of range" },
		{ "2 1/0\n", "t.kernel", 1, 3, "division by zero in \"1/0\"" },
		{ "1/2/3\n", "t.kernel", 1, 1, "expected a number, found \"1/2/3\"" },
		{ "1.\n.\n", "t.kernel", 2, 1, "expected a number, found \".\"" },
		{ "1e\n", "t.kernel", 1, 1, "expected a number, found \"1e\"" },
		{ "--1\n", "t.kernel", 1, 1, "expected a number" },
		{ "1,,2\n", "t.kernel", 1, 3, "expected a number, found \",\"" },
		{ ",1\n", "t.kernel", 1, 1, "expected a number, found \",\"" },
		{ "", "t.kernel", 1, 1, "no matrix" },
		{ "\n\n", "t.kernel", 2, 1, "no matrix" },
		{ "# only a comment\nscale 2\n", "t.kernel", 2, 1, "no matrix" },
		{ "---\n1\n", "t.kernel", 1, 1, "no matrix before \"---\"" },
		{ "1\n---\n", "t.kernel", 2, 1, "no matrix after \"---\"" },
		{ "1\n---\n  ---\n2\n", "t.kernel", 3, 3, "no matrix before \"---\"" },
		{ "1\n--- x\n2\n", "t.kernel", 2, 5, "unexpected text after \"---\"" },
		{ "1 2\n3 4\n---\n1 2 3\n4 5 6\n", "t.kernel", 4, 1,
		  "matrix 2 is 3x2, but matrix 1 is 2x2" },
		{ "1 2\n---\n1 2\n3 4\n", "t.kernel", 3, 1, "matrix 2 is 2x2, but matrix 1 is 2x1" },
		{ "scale 0\n1\n", "t.kernel", 1, 7, "scale must not be 0" },
		{ "scale -0/5\n1\n", "t.kernel", 1, 7, "scale must not be 0" },
		{ "scale x\n1\n", "t.kernel", 1, 7, "expected a number, found \"x\"" },
		{ "scale\n1\n", "t.kernel", 1, 7, "missing value after \"scale\"" },
		{ "scale 2 3\n1\n", "t.kernel", 1, 9, "unexpected \"3\" after \"scale\"" },
		{ "scale 2\nscale 3\n1\n", "t.kernel", 2, 1, "duplicate \"scale\"" },
		{ "combine avg\n1 2\n---\n3 4\n", "t.kernel", 1, 9,
		  "unknown combine \"avg\" (expected sum, max, magnitude or sumabs)" },
		{ "colour 3\n1\n", "t.kernel", 1, 1, "unknown header \"colour\"" },
		{ "\xef\xbb\xbfx\n", "t.kernel", 1, 1, "unknown header \"x\"" },
		{ "1 2\nscale 2\n", "t.kernel", 2, 1, "\"scale\" after the rows of a matrix" },
		{ "1 2\nfoo\n", "t.kernel", 2, 1, "expected a number, found \"foo\"" },
		{ "bias 1\nbias 2\n1\n", "t.kernel", 2, 1, "duplicate \"bias\" (first on line 1)" },
		{ "bias nan\n1\n", "t.kernel", 1, 6, "not a finite number" },
		{ "name a b\n1\n", "t.kernel", 1, 8, "unexpected \"b\" after \"name\"" },
		{ "name bad/name\n1\n", "t.kernel", 1, 6, "a name is 1 to 63 of" },
		{ "origin 3 0\n1 2 3\n", "t.kernel", 1, 8, "origin column 3 is outside the 3x1 matrix" },
		{ "origin 0 1\n1 2 3\n", "t.kernel", 1, 10, "origin row 1 is outside the 3x1 matrix" },
		{ "origin -1 0\n1\n", "t.kernel", 1, 8, "origin column must be an integer" },
		{ "origin 0.5 0\n1\n", "t.kernel", 1, 8, "origin column must be an integer" },
		{ "origin 1\n1 2\n", "t.kernel", 1, 9, "origin needs a column and a row" },
		{ "1 2\r\n3 x\r\n", "t.kernel", 2, 3, "expected a number, found \"x\"" },
		{ "1\t2\n3\t\tx\n", "t.kernel", 2, 4, "expected a number, found \"x\"" },
		{ "1 \x01\n", "t.kernel", 1, 3, "expected a number, found \"\\x01\"" },
		/* cross-channel kernels */
		{ "channels 0\n1\n", "t.kernel", 1, 10, "channels must be an integer from 1 to 4" },
		{ "channels 5\n1\n", "t.kernel", 1, 10, "channels must be an integer from 1 to 4" },
		{ "1\n---\nchannels 2\n2\n", "t.kernel", 3, 1, "\"channels\" after the first matrix" },
		{ "channels 2\nchannels 2\n1\n---\n2\n", "t.kernel", 2, 1, "duplicate \"channels\"" },
		{ "channels 2\n1\n---\n2\n---\n3\n", "t.kernel", 1, 1,
		  "3 matrices make no whole number of kernels of 2 channels" },
		{ "channels 2\n1\n---\nbias 1\n2\n", "t.kernel", 4, 1,
		  "a kernel's bias goes before its first matrix" },
		{ "channels 1\ncombine max\n1\n---\nbias 2\n2\n", "t.kernel", 5, 1,
		  "has one bias, before its first matrix" },
		{ "channels 1\n1\n---\nbias 1\nbias 2\n2\n", "t.kernel", 5, 1,
		  "duplicate \"bias\" for one kernel" },
		/* libvips matrix files */
		{ "3 3\n1 2 3\n4 5 6\n", "v.mat", 1, 3, "the header gives a height of 3, but 2 rows follow" },
		{ "3 2 0\n1 2 3\n4 5 6\n", "v.mat", 1, 5, "scale must not be 0" },
		{ "3.5 2\n", "v.mat", 1, 1, "width must be an integer from 1 to 4095" },
		{ "3 0\n", "v.mat", 1, 3, "height must be an integer from 1 to 4095" },
		{ "9999 1\n", "v.mat", 1, 1, "width must be an integer" },
		{ "2 1\n1 2\n3 4\n", "v.mat", 3, 1, "more than 1 rows" },
		{ "2 1 1 0 5\n1 2\n", "v.mat", 1, 9, "a libvips matrix header is" },
		{ "2\n1 2\n", "v.mat", 1, 2, "a libvips matrix header is" },
		{ "2 2\n1 2\n3\n", "v.mat", 3, 2, "row has 1 number, expected 2" },
		{ "2 1\n1 2 3\n", "v.mat", 2, 5, "row has 3 numbers, expected 2" },
		{ "2 1\n1 y\n", "v.mat", 2, 3, "expected a number, found \"y\"" },
		{ "", "v.mat", 1, 1, "no matrix" },
		{ "2048 2049\n", "v.mat", 1, 1, "more than 4194304 weights" },
	};
	struct kernel k;
	struct err e;
	char prefix[64];
	size_t i;
	int rc;

	for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		const struct bad *c = &cases[i];
		char name[96];

		rc = parse(c->text, c->fname, &k, &e);
		snprintf(prefix, sizeof prefix, "%s:%ld:%ld: ", c->fname, c->line, c->col);
		snprintf(name, sizeof name, "rejects %s %s:%ld:%ld", c->fname,
			 c->frag, c->line, c->col);
		check(rc == -1 && e.cls == ERR_DATA &&
		      strncmp(e.msg, prefix, strlen(prefix)) == 0 &&
		      strstr(e.msg, c->frag) != NULL && k.m == NULL && k.scale == NULL,
		      name, "rc %d class %d msg \"%s\"", rc, e.cls, e.msg);
	}
}

/* repeat returns unit repeated times, then tail (malloc'ed), or NULL. */
static char *repeat(const char *unit, size_t times, const char *tail)
{
	size_t ul = strlen(unit), tl = strlen(tail), i;
	char *s = malloc(ul * times + tl + 1);

	if (s == NULL)
		return NULL;
	for (i = 0; i < times; i++)
		memcpy(s + i * ul, unit, ul);
	memcpy(s + times * ul, tail, tl + 1);
	return s;
}

static void test_limits(void)
{
	struct kernel k;
	struct err e;
	char *s, *row;
	int rc;

	s = repeat("0 ", KERN_MAX_SIDE + 1, "\n");
	rc = parse(s, "t.kernel", &k, &e);
	check(rc == -1 && strstr(e.msg, "t.kernel:1:8191: row has more than 4095 numbers"),
	      "rejects a row over KERN_MAX_SIDE", "%s", e.msg);
	free(s);

	s = repeat("0\n", KERN_MAX_SIDE + 1, "");
	rc = parse(s, "t.kernel", &k, &e);
	check(rc == -1 && strstr(e.msg, "t.kernel:4096:1: matrix has more than 4095 rows"),
	      "rejects rows over KERN_MAX_SIDE", "%s", e.msg);
	free(s);

	s = repeat("0\n", KERN_MAX_SIDE, "");
	rc = parse(s, "t.kernel", &k, &e);
	check(rc == 0 && k.h == KERN_MAX_SIDE && k.oy == KERN_MAX_SIDE / 2,
	      "accepts KERN_MAX_SIDE rows", "%s", e.msg);
	kern_free(&k);
	free(s);

	row = repeat("0 ", 2048, "\n");
	s = row ? repeat(row, 2049, "") : NULL;
	rc = parse(s, "t.kernel", &k, &e);
	check(rc == -1 && strstr(e.msg, "t.kernel:2049:1: matrix has more than 4194304 weights"),
	      "rejects a matrix over KERN_MAX_ELEMS", "%s", e.msg);
	free(s);
	free(row);

	s = repeat("1\n---\n", KERN_MAX_BANK, "1\n");
	rc = parse(s, "t.kernel", &k, &e);
	check(rc == -1 && strstr(e.msg, "t.kernel:129:1: more than 64 matrices in a bank"),
	      "rejects a bank over KERN_MAX_BANK", "%s", e.msg);
	free(s);

	s = repeat("1\n---\n", KERN_MAX_BANK - 1, "1\n");
	rc = parse(s, "t.kernel", &k, &e);
	check(rc == 0 && k.n == KERN_MAX_BANK, "accepts KERN_MAX_BANK matrices", "%s", e.msg);
	kern_free(&k);
	free(s);

	err_clear(&e);
	rc = kern_parse("1 2\0 3\n", 7, "t.kernel", &k, &e);
	check(rc == -1 && strstr(e.msg, "t.kernel:1:3: expected a number, found \"2\\x00\""),
	      "rejects a NUL byte, shown escaped", "%s", e.msg);
}

static void test_inline(void)
{
	static const double sharp[] = { 0, -1, 0, -1, 5, -1, 0, -1, 0 };
	struct kernel k;
	struct err e;
	int rc;

	err_clear(&e);
	rc = kern_parse_inline("3x3: 0 -1 0 -1 5 -1 0 -1 0", &k, &e);
	check(rc == 0 && k.w == 3 && k.h == 3 && same(&k, 0, sharp) && k.ox == 1 &&
	      k.oy == 1 && strcmp(k.name, "inline") == 0 && k.scale[0] == 1,
	      "inline WxH: with spaces", "%s", e.msg);
	kern_free(&k);

	err_clear(&e);
	rc = kern_parse_inline("3x3+0+0: 0,-1,0,-1,5,-1,0,-1,0", &k, &e);
	check(rc == 0 && same(&k, 0, sharp) && k.ox == 0 && k.oy == 0,
	      "inline ImageMagick 3x3+0+0: with commas", "%s", e.msg);
	kern_free(&k);

	err_clear(&e);
	rc = kern_parse_inline("2x3+1+2:1/2, 1/2,\n3 4 5 6,", &k, &e);
	check(rc == 0 && k.w == 2 && k.h == 3 && k.ox == 1 && k.oy == 2 &&
	      k.m[0] == 0.5 && k.m[5] == 6, "inline 2x3+1+2 with fractions and a newline",
	      "%s", e.msg);
	kern_free(&k);

	err_clear(&e);
	rc = kern_parse_inline("3x3: 1 2", &k, &e);
	check(rc == -1 && e.cls == ERR_DATA &&
	      strcmp(e.msg, "\"3x3: 1 2\": 2 values, expected 9") == 0,
	      "inline with too few values", "%s", e.msg);

	err_clear(&e);
	rc = kern_parse_inline("2x2:5", &k, &e);
	check(rc == -1 && strcmp(e.msg, "\"2x2:5\": 1 value, expected 4") == 0,
	      "inline with one value", "%s", e.msg);

	err_clear(&e);
	rc = kern_parse_inline("1x2: 1 2 3 4", &k, &e);
	check(rc == -1 && strstr(e.msg, "4 values, expected 2"), "inline with too many values",
	      "%s", e.msg);

	err_clear(&e);
	rc = kern_parse_inline("3x3+0+0: 1,x,3", &k, &e);
	check(rc == -1 && e.cls == ERR_DATA &&
	      strstr(e.msg, "\"3x3+0+0: 1,x,3\": value 2: expected a number, found \"x\""),
	      "inline with a non-number", "%s", e.msg);

	err_clear(&e);
	rc = kern_parse_inline("2x2+2+0: 1 2 3 4", &k, &e);
	check(rc == -1 && strstr(e.msg, "origin 2,0 is outside"), "inline origin outside",
	      "%s", e.msg);

	err_clear(&e);
	rc = kern_parse_inline("0x3: 1", &k, &e);
	check(rc == -1 && e.cls == ERR_DATA && strstr(e.msg, "from 1 to 4095"),
	      "inline zero width", "%s", e.msg);

	err_clear(&e);
	rc = kern_parse_inline("99999999999999999999x1: 1", &k, &e);
	check(rc == -1 && e.cls == ERR_DATA, "inline huge width", "%s", e.msg);

	check(kern_is_inline("3x3:") == 4 && kern_is_inline("3x3+1+1:1") == 8 &&
	      kern_is_inline("3x3") == 0 && kern_is_inline("3x3+1:") == 0 &&
	      kern_is_inline("x3:") == 0 && kern_is_inline("3X3:") == 0 &&
	      kern_is_inline("3x3 :") == 0, "kern_is_inline follows the pattern", "%s", "");
}

static void test_generators(void)
{
	struct kernel k;
	struct err e;
	int rc, x, y, sym, maxok;
	double c;

	err_clear(&e);
	rc = kern_gen_gaussian(1.0, 0, &k, &e);
	check(rc == 0 && k.w == 7 && k.h == 7 && k.ox == 3 && k.oy == 3,
	      "gaussian sigma 1 defaults to 7x7", "%s %dx%d", e.msg, k.w, k.h);
	if (rc == 0) {
		sym = maxok = 1;
		c = k.m[3 * 7 + 3];
		for (y = 0; y < 7; y++)
			for (x = 0; x < 7; x++) {
				double v = k.m[y * 7 + x];

				if (v != k.m[x * 7 + y] || v != k.m[y * 7 + (6 - x)] ||
				    v != k.m[(6 - y) * 7 + x])
					sym = 0;
				if ((x != 3 || y != 3) && !(v < c))
					maxok = 0;
			}
		check(kern_sum(&k, 0) == 1.0, "gaussian sums to exactly 1", "%.17g",
		      kern_sum(&k, 0));
		check(sym, "gaussian is symmetric", "%s", "");
		check(maxok, "gaussian centre is the maximum", "%s", "");
		check(k.scale[0] == 1 && strcmp(k.name, "gaussian") == 0 &&
		      strcmp(k.desc, "Gaussian blur, sigma 1, 7x7") == 0,
		      "gaussian scale 1, name and desc", "%s", k.desc);
		check(kern_rank(&k, 0) == 1 && kern_separable(&k, 0) == 1,
		      "gaussian is separable", "rank %d", kern_rank(&k, 0));
		check(fabs(k.m[3 * 7 + 4] / c - exp(-0.5)) < 1e-12,
		      "gaussian samples exp(-d^2/2s^2)", "%g", k.m[3 * 7 + 4] / c);
	}
	kern_free(&k);

	rc = kern_gen_gaussian(1.5, 0, &k, &e);
	check(rc == 0 && k.w == 11 && strcmp(k.desc, "Gaussian blur, sigma 1.5, 11x11") == 0 &&
	      kern_sum(&k, 0) == 1.0, "gaussian sigma 1.5 is 11x11, sum 1", "%s", k.desc);
	kern_free(&k);

	for (x = 1; x <= 9; x++) {
		double sigmas[] = { 0.3, 0.7, 1.1, 2.5, 3.3, 5.0, 7.7, 10, 0.01 };

		rc = kern_gen_gaussian(sigmas[x - 1], 0, &k, &e);
		if (rc != 0 || fabs(kern_sum(&k, 0) - 1.0) > 0)
			break;
		kern_free(&k);
	}
	check(x == 10, "gaussian sums to 1 for many sigmas", "sigma #%d", x);
	kern_free(&k);

	rc = kern_gen_gaussian(1.0, 4, &k, &e);
	check(rc == 0 && k.w == 4 && k.h == 4 && k.ox == 2 && k.oy == 2,
	      "gaussian even size 4", "%s", e.msg);
	if (rc == 0) {
		check(fabs(k.m[1 * 4 + 1] - k.m[2 * 4 + 2]) < 1e-16 &&
		      fabs(k.m[0] - k.m[15]) < 1e-16 && fabs(k.m[1] - k.m[2]) < 1e-16 &&
		      k.m[5] > k.m[4] && fabs(kern_sum(&k, 0) - 1) < 1e-15,
		      "gaussian even size: centre between samples, sum 1", "%g %g",
		      k.m[5], k.m[10]);
		/* (x, y) offsets (-0.5, -1.5) against (-0.5, -0.5): exp(-(2.25 - 0.25) / 2). */
		check(fabs(k.m[1] / k.m[5] - exp(-1.0)) < 1e-12,
		      "gaussian even size: offsets +-0.5, +-1.5", "%g", k.m[1] / k.m[5]);
	}
	kern_free(&k);

	rc = kern_gen_gaussian(300, 0, &k, &e);
	check(rc == 0 && k.w == 1801 && kern_separable(&k, 0) == 1 &&
	      kern_sum(&k, 0) == 1.0, "wide gaussian (sigma 300) stays rank 1, sum 1",
	      "%s %d", e.msg, k.w);
	kern_free(&k);

	rc = kern_gen_gaussian(1e-200, 0, &k, &e);
	check(rc == 0 && k.w == 3 && k.m[4] == 1 && k.m[0] == 0,
	      "gaussian tiny sigma is a unit impulse", "%s", e.msg);
	kern_free(&k);

	err_clear(&e);
	rc = kern_gen_gaussian(0, 0, &k, &e);
	check(rc == -1 && e.cls == ERR_DATA && strstr(e.msg, "sigma must be"),
	      "gaussian sigma 0 rejected", "%s", e.msg);
	err_clear(&e);
	rc = kern_gen_gaussian(400, 0, &k, &e);
	check(rc == -1 && e.cls == ERR_DATA && strstr(e.msg, "over the limit"),
	      "gaussian too large rejected", "%s", e.msg);
	err_clear(&e);
	rc = kern_gen_gaussian(1, 2049, &k, &e);
	check(rc == -1 && e.cls == ERR_DATA && strstr(e.msg, "limit of 2048"),
	      "gaussian size over 2048 rejected", "%s", e.msg);

	err_clear(&e);
	rc = kern_gen_box(3, 2, &k, &e);
	check(rc == 0 && k.w == 3 && k.h == 2 && k.scale[0] == 6 && kern_sum(&k, 0) == 6 &&
	      k.ox == 1 && k.oy == 1 && strcmp(k.name, "box") == 0 && k.desc[0],
	      "box 3x2: ones, scale auto", "%s", e.msg);
	check(kern_rank(&k, 0) == 1, "box has rank 1", "%d", kern_rank(&k, 0));
	kern_free(&k);
	err_clear(&e);
	rc = kern_gen_box(0, 2, &k, &e);
	check(rc == -1 && e.cls == ERR_DATA, "box 0x2 rejected", "%s", e.msg);
}

/*
 * unsharp, log and dog against their definitions: unsharp is
 * (1 + a) delta - a G at ImageMagick's automatic size (9x9 for sigma 1 at
 * 16 bits: the 5th weight out is 1.3e-4 of the row's sum, the 6th 1.5e-6,
 * under 1/65535); log and dog sum to 0.
 */
static void test_more_generators(void)
{
	struct kernel k;
	struct err e;
	double maxd = 0, d, g[9], sum;
	int rc, i, j;

	err_clear(&e);
	rc = kern_resolve("unsharp:1,0.5", &k, &e);
	check(rc == 0 && k.w == 9 && k.h == 9 && fabs(kern_sum(&k, 0) - 1) < 1e-12,
	      "unsharp:1,0.5 is 9x9 and sums to 1", "rc %d %s w %d", rc, e.msg, k.w);
	/* ImageMagick's Gaussian: three samples a pixel, at -1/3, 0, +1/3. */
	for (i = 0, sum = 0; i < 9; i++) {
		g[i] = 0;
		for (j = -1; j <= 1; j++)
			g[i] += exp(-0.5 * (i - 4 + j / 3.0) * (i - 4 + j / 3.0));
		sum += g[i];
	}
	for (i = 0; rc == 0 && i < 81; i++) {
		d = fabs(k.m[i] - ((i == 40 ? 1.5 : 0) - 0.5 * g[i / 9] * g[i % 9] / (sum * sum)));
		maxd = d > maxd ? d : maxd;
	}
	check(rc == 0 && maxd < 1e-12, "unsharp is (1 + a) delta - a G", "max diff %g", maxd);
	check(rc == 0 && kern_rank(&k, 0) == 2, "unsharp has rank 2", "%d", kern_rank(&k, 0));
	kern_free(&k);
	rc = kern_resolve("unsharp:2", &k, &e);
	check(rc == 0 && k.w == 17 && k.m[8 * 17 + 8] > 1, "unsharp:2: amount 1, 17x17",
	      "rc %d w %d", rc, k.w);
	kern_free(&k);
	err_clear(&e);
	rc = kern_resolve("unsharp:1,1,0.05", &k, &e);
	check(rc == -1 && e.cls == ERR_DATA && strstr(e.msg, "threshold is not linear"),
	      "unsharp with a threshold refused", "%s", e.msg);
	err_clear(&e);
	rc = kern_resolve("unsharp:1,1,0", &k, &e);
	check(rc == 0, "unsharp with threshold 0 taken", "%s", e.msg);
	kern_free(&k);

	rc = kern_resolve("log:1.4", &k, &e);
	check(rc == 0 && k.w == 13 && fabs(kern_sum(&k, 0)) < 1e-12 &&
	      k.m[6 * 13 + 6] < 0 && k.m[0] > -1e-3,
	      "log:1.4: 13x13, sum 0, negative centre", "rc %d %s w %d", rc, e.msg, k.w);
	kern_free(&k);
	rc = kern_resolve("dog:1,2", &k, &e);
	check(rc == 0 && k.w == 13 && fabs(kern_sum(&k, 0)) < 1e-12 && k.m[6 * 13 + 6] > 0,
	      "dog:1,2: 13x13, sum 0, positive centre", "rc %d %s w %d", rc, e.msg, k.w);
	kern_free(&k);
	err_clear(&e);
	rc = kern_resolve("dog:2,2", &k, &e);
	check(rc == -1 && strstr(e.msg, "must differ"), "dog with equal sigmas refused",
	      "%s", e.msg);
	err_clear(&e);
	rc = kern_resolve("dog:1", &k, &e);
	check(rc == -1 && strstr(e.msg, "dog:SIGMA1,SIGMA2"), "dog with one sigma refused",
	      "%s", e.msg);
	err_clear(&e);
	rc = kern_resolve("log:0", &k, &e);
	check(rc == -1 && strstr(e.msg, "greater than 0"), "log:0 refused", "%s", e.msg);

	/* --like matlab|torch: even sides anchored before the middle, others kept. */
	err_clear(&e);
	rc = kern_resolve("4x3: 1 2 3 4 5 6 7 8 9 10 11 12", &k, &e);
	if (rc == 0)
		kern_anchor_before(&k);
	check(rc == 0 && k.ox == 1 && k.oy == 1, "kern_anchor_before: 4x3 origin 2,1 -> 1,1",
	      "rc %d origin %d,%d", rc, k.ox, k.oy);
	kern_free(&k);
	rc = kern_resolve("4x2+3+0: 1 2 3 4 5 6 7 8", &k, &e);
	if (rc == 0)
		kern_anchor_before(&k);
	check(rc == 0 && k.ox == 3 && k.oy == 0, "kern_anchor_before keeps an origin given otherwise",
	      "rc %d origin %d,%d", rc, k.ox, k.oy);
	kern_free(&k);
}

static void test_rank(void)
{
	struct kernel k;
	struct err e;

	parse("-1 0 1\n-2 0 2\n-1 0 1\n", "s.kernel", &k, &e);
	check(kern_rank(&k, 0) == 1 && kern_separable(&k, 0) == 1,
	      "sobel-x has rank 1, separable", "%d", kern_rank(&k, 0));
	kern_free(&k);
	parse("0 -1 0\n-1 5 -1\n0 -1 0\n", "s.kernel", &k, &e);
	check(kern_rank(&k, 0) == 2 && kern_separable(&k, 0) == 0,
	      "sharpen has rank 2, not separable", "%d", kern_rank(&k, 0));
	kern_free(&k);
	parse("0 0 0\n0 0 0\n", "z.kernel", &k, &e);
	check(kern_rank(&k, 0) == 0, "zero matrix has rank 0", "%d", kern_rank(&k, 0));
	kern_free(&k);
	parse("1 2 3\n4 5 6\n7 8 10\n", "f.kernel", &k, &e);
	check(kern_rank(&k, 0) == 3, "full-rank 3x3", "%d", kern_rank(&k, 0));
	kern_free(&k);
	parse("1 2 3 4\n2 4 6 8.000000000001\n", "n.kernel", &k, &e);
	check(kern_rank(&k, 0) == 1, "rank tolerates 1e-12 noise", "%d", kern_rank(&k, 0));
	kern_free(&k);
	parse("1 2 3 4\n2 4 6 8.001\n", "n.kernel", &k, &e);
	check(kern_rank(&k, 0) == 2, "rank sees 1e-3 differences", "%d", kern_rank(&k, 0));
	kern_free(&k);
	parse("1 0 0 0 0\n0 1 0 0 0\n0 0 1 0 0\n", "w.kernel", &k, &e);
	check(kern_rank(&k, 0) == 3, "wide matrix rank", "%d", kern_rank(&k, 0));
	kern_free(&k);
}

/* show returns what kern_show prints (malloc'ed), or NULL. */
static char *show(const struct kernel *k)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	if (f == NULL)
		return NULL;
	kern_show(f, k);
	fclose(f);
	return buf;
}

static void test_show(void)
{
	struct kernel k;
	struct err e;
	char *s;

	parse("# Sobel x.\n-1 0 1\n-2 0 2\n-1 0 1\n", "sobel-x.kernel", &k, &e);
	s = show(&k);
	check(s && strstr(s, "separable: yes") && strstr(s, "name:     sobel-x") &&
	      strstr(s, "size:     3x3") && strstr(s, "\n  -1   0   1\n  -2   0   2\n") &&
	      strstr(s, "rank: 1") && strstr(s, "sum: 0") && !strstr(s, "combine"),
	      "kern_show of sobel-x", "%s", s ? s : "(null)");
	free(s);
	kern_free(&k);

	parse("combine max\nscale 4\n0.5 -0.25\n---\n1 1\n", "b.kernel", &k, &e);
	s = show(&k);
	check(s && strstr(s, "combine:  max of 2 matrices") && strstr(s, "matrix 2 of 2") &&
	      strstr(s, "   0.5  -0.25\n") && strstr(s, "separable: no") == NULL &&
	      strstr(s, "scale: 4"), "kern_show of a bank", "%s", s ? s : "(null)");
	free(s);
	kern_free(&k);
}

/* write_file creates path with text; returns 0 or -1. */
static int write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	if (f == NULL)
		return -1;
	fputs(text, f);
	return fclose(f) == 0 ? 0 : -1;
}

/* lines_starting counts the lines of s that start with prefix. */
static int lines_starting(const char *s, const char *prefix)
{
	int n = 0;

	for (; s != NULL && *s; s = strchr(s, '\n') ? strchr(s, '\n') + 1 : "")
		if (strncmp(s, prefix, strlen(prefix)) == 0)
			n++;
	return n;
}

static void test_resolve(void)
{
	char dir[] = "/tmp/unit_kernel.XXXXXX", path[128], *s = NULL;
	struct kernel k;
	struct err e;
	size_t len = 0;
	FILE *f;
	int rc;

	/* The unit binaries live in build/tests, away from the library. */
	setenv("IMFILTER_KERNEL_PATH", "kernels", 1);
	err_clear(&e);
	rc = kern_resolve("sharpen", &k, &e);
	check(rc == 0 && strcmp(k.name, "sharpen") == 0 && k.w == 3 && kern_sum(&k, 0) == 1,
	      "resolve a library name", "%s", e.msg);
	kern_free(&k);

	err_clear(&e);
	rc = kern_resolve("kernels/sobel-x.kernel", &k, &e);
	check(rc == 0 && strcmp(k.name, "sobel-x") == 0, "resolve a path", "%s", e.msg);
	kern_free(&k);

	err_clear(&e);
	rc = kern_resolve("nosuchkernel", &k, &e);
	check(rc == -1 && e.cls == ERR_USAGE &&
	      strncmp(e.msg, "unknown kernel \"nosuchkernel\" (looked in kernels, ", 42) == 0,
	      "resolve an unknown name", "%s", e.msg);

	err_clear(&e);
	rc = kern_resolve("no/such.kernel", &k, &e);
	check(rc == -1 && e.cls == ERR_NOINPUT &&
	      strcmp(e.msg, "no/such.kernel: No such file or directory") == 0,
	      "resolve a missing path", "%s", e.msg);

	err_clear(&e);
	rc = kern_resolve("missing.kernel", &k, &e);
	check(rc == -1 && e.cls == ERR_NOINPUT, "a name ending in .kernel is a path",
	      "%s", e.msg);

	err_clear(&e);
	rc = kern_resolve("kernels", &k, &e);
	check(rc == -1 && e.cls == ERR_USAGE, "a directory name is not a kernel", "%s", e.msg);

	err_clear(&e);
	rc = kern_resolve("kernels/", &k, &e);
	check(rc == -1 && e.cls == ERR_NOINPUT && strstr(e.msg, "Is a directory"),
	      "a directory path is refused", "%s", e.msg);

	err_clear(&e);
	rc = kern_resolve("bad name!", &k, &e);
	check(rc == -1 && e.cls == ERR_USAGE && strstr(e.msg, "unknown kernel"),
	      "a name with odd characters is unknown", "%s", e.msg);

	err_clear(&e);
	rc = kern_resolve("", &k, &e);
	check(rc == -1 && e.cls == ERR_USAGE, "empty spec", "%s", e.msg);

	err_clear(&e);
	rc = kern_resolve("gaussian", &k, &e);
	check(rc == -1 && e.cls == ERR_USAGE && strstr(e.msg, "needs parameters"),
	      "bare generator name", "%s", e.msg);

	err_clear(&e);
	rc = kern_resolve("3x3+1+1: 1 1 1 1 1 1 1 1 1", &k, &e);
	check(rc == 0 && k.w == 3 && strcmp(k.name, "inline") == 0, "resolve inline",
	      "%s", e.msg);
	kern_free(&k);

	err_clear(&e);
	rc = kern_resolve("gaussian:2", &k, &e);
	check(rc == 0 && k.w == 13, "resolve gaussian:2", "%s", e.msg);
	kern_free(&k);
	err_clear(&e);
	rc = kern_resolve("gaussian:0.5,4", &k, &e);
	check(rc == 0 && k.w == 4, "resolve gaussian:0.5,4", "%s", e.msg);
	kern_free(&k);
	err_clear(&e);
	rc = kern_resolve("gaussian:x", &k, &e);
	check(rc == -1 && e.cls == ERR_DATA && strstr(e.msg, "\"gaussian:x\": sigma:"),
	      "resolve gaussian:x", "%s", e.msg);
	err_clear(&e);
	rc = kern_resolve("gaussian:-1", &k, &e);
	check(rc == -1 && e.cls == ERR_DATA && strstr(e.msg, "greater than 0"),
	      "resolve gaussian:-1", "%s", e.msg);
	err_clear(&e);
	rc = kern_resolve("gaussian:1,0", &k, &e);
	check(rc == -1 && e.cls == ERR_DATA && strstr(e.msg, "size must be"),
	      "resolve gaussian:1,0", "%s", e.msg);
	err_clear(&e);
	rc = kern_resolve("gaussian:1,", &k, &e);
	check(rc == -1 && e.cls == ERR_DATA, "resolve gaussian:1,", "%s", e.msg);
	err_clear(&e);
	rc = kern_resolve("box:5", &k, &e);
	check(rc == 0 && k.w == 5 && k.h == 5 && k.scale[0] == 25, "resolve box:5", "%s", e.msg);
	kern_free(&k);
	err_clear(&e);
	rc = kern_resolve("box:7x1", &k, &e);
	check(rc == 0 && k.w == 7 && k.h == 1 && k.scale[0] == 7, "resolve box:7x1", "%s", e.msg);
	kern_free(&k);
	err_clear(&e);
	rc = kern_resolve("box:3x", &k, &e);
	check(rc == -1 && e.cls == ERR_DATA && strstr(e.msg, "\"box:3x\""),
	      "resolve box:3x", "%s", e.msg);
	err_clear(&e);
	rc = kern_resolve("box:0", &k, &e);
	check(rc == -1 && e.cls == ERR_DATA, "resolve box:0", "%s", e.msg);

	/* IMFILTER_KERNEL_PATH comes first and overrides ./kernels. */
	if (mkdtemp(dir) == NULL) {
		check(0, "mkdtemp", "%s", dir);
		return;
	}
	snprintf(path, sizeof path, "%s/sharpen.kernel", dir);
	write_file(path, "# My own sharpen.\n1 2\n");
	snprintf(path, sizeof path, "%s/zz-mine.kernel", dir);
	write_file(path, "# Mine.\n3\n");
	snprintf(path, sizeof path, "%s/broken.kernel", dir);
	write_file(path, "1 x\n");
	snprintf(path, sizeof path, "%s/README", dir);
	write_file(path, "not a kernel\n");
	/* The library itself comes last: the unit binary is not beside it. */
	snprintf(path, sizeof path, "/nonexistent::%s:kernels", dir);
	setenv("IMFILTER_KERNEL_PATH", path, 1);

	err_clear(&e);
	rc = kern_resolve("sharpen", &k, &e);
	check(rc == 0 && k.w == 2 && strcmp(k.desc, "My own sharpen.") == 0,
	      "an earlier directory overrides the library", "%s", e.msg);
	kern_free(&k);
	err_clear(&e);
	rc = kern_resolve("blur", &k, &e);
	check(rc == 0 && k.w == 3, "names not in an earlier directory fall back to the library",
	      "%s", e.msg);
	kern_free(&k);
	err_clear(&e);
	rc = kern_resolve("broken", &k, &e);
	snprintf(path, sizeof path, "%s/broken.kernel:1:3: expected a number", dir);
	check(rc == -1 && e.cls == ERR_DATA && strstr(e.msg, path),
	      "errors in a library file name the file", "%s", e.msg);

	f = open_memstream(&s, &len);
	err_clear(&e);
	rc = f ? kern_list(f, &e) : -1;
	if (f)
		fclose(f);
	check(rc == 0 && s && strstr(s, "sharpen     My own sharpen.\n") &&
	      strstr(s, "zz-mine     Mine.\n") && strstr(s, "sobel-x     Sobel x:") &&
	      strstr(s, "broken      (not usable: ") && !strstr(s, "README") &&
	      strstr(s, "blur ") < strstr(s, "box3 ") && strstr(s, "box3 ") < strstr(s, "zz-mine"),
	      "kern_list: sorted, padded, first occurrence wins", "%s", s ? s : "(null)");
	check(lines_starting(s, "sharpen ") == 1 && lines_starting(s, "blur ") == 1,
	      "kern_list lists a name once", "%s", s ? s : "(null)");
	free(s);

	snprintf(path, sizeof path, "%s/sharpen.kernel", dir);
	unlink(path);
	snprintf(path, sizeof path, "%s/zz-mine.kernel", dir);
	unlink(path);
	snprintf(path, sizeof path, "%s/broken.kernel", dir);
	unlink(path);
	snprintf(path, sizeof path, "%s/README", dir);
	unlink(path);
	rmdir(dir);
	unsetenv("IMFILTER_KERNEL_PATH");
}

/* The expected sum / scale of each matrix of each library kernel. */
struct libcase {
	const char *name;
	int n;
	double norm;         /* every matrix's sum divided by its scale */
	int rank;            /* of matrix 0 */
};

static void test_library(void)
{
	static const struct libcase cases[] = {
		{ "identity", 1, 1, 1 }, { "box3", 1, 1, 1 }, { "box5", 1, 1, 1 },
		{ "blur", 1, 1, 1 }, { "gaussian5", 1, 1, 1 }, { "sharpen", 1, 1, 2 },
		{ "unsharp", 1, 1, 2 }, { "emboss", 1, 0, 2 }, { "edge", 1, 0, 2 },
		{ "edge8", 1, 0, 2 }, { "outline", 1, 0, 2 }, { "sobel-x", 1, 0, 1 },
		{ "sobel-y", 1, 0, 1 }, { "prewitt-x", 1, 0, 1 }, { "prewitt-y", 1, 0, 1 },
		{ "motion", 1, 1, 9 }, { "sobel", 2, 0, 1 }, { "prewitt", 2, 0, 1 },
		{ "compass", 8, 0, 2 },
	};
	char path[512], name[600];
	struct dirent *de;
	struct kernel k;
	struct err e;
	size_t i, len;
	int b, ok, count = 0;
	DIR *d;

	d = opendir("kernels");
	check(d != NULL, "kernels/ opens (run from the repository root)", "%s", "");
	while (d && (de = readdir(d)) != NULL) {
		len = strlen(de->d_name);
		if (len < 8 || strcmp(de->d_name + len - 7, ".kernel") != 0)
			continue;
		count++;
		snprintf(path, sizeof path, "kernels/%s", de->d_name);
		err_clear(&e);
		ok = kern_load(path, &k, &e) == 0;
		snprintf(name, sizeof name, "%s parses, named after its file, with a desc", path);
		check(ok && k.desc[0] != '\0' && strlen(k.name) == len - 7 &&
		      strncmp(k.name, de->d_name, len - 7) == 0, name, "%s", e.msg);
		kern_free(&k);
	}
	if (d)
		closedir(d);
	check(count >= (int)(sizeof cases / sizeof cases[0]), "library has every kernel",
	      "%d files", count);

	for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		const struct libcase *c = &cases[i];

		snprintf(path, sizeof path, "kernels/%s.kernel", c->name);
		err_clear(&e);
		ok = kern_load(path, &k, &e) == 0 && k.n == c->n;
		for (b = 0; ok && b < k.n; b++)
			if (fabs(kern_sum(&k, b) / k.scale[b] - c->norm) > 1e-12)
				ok = 0;
		snprintf(name, sizeof name, "%s: %d matrices, sum / scale = %g, rank %d",
			 c->name, c->n, c->norm, c->rank);
		check(ok && kern_rank(&k, 0) == c->rank, name, "%s n=%d sum %g scale %g rank %d",
		      e.msg, k.n, k.n ? kern_sum(&k, 0) : 0, k.n ? k.scale[0] : 0,
		      k.n ? kern_rank(&k, 0) : -1);
		kern_free(&k);
	}

	kern_load("kernels/sobel.kernel", &k, &e);
	check(k.n == 2 && k.combine == KERN_MAGNITUDE, "sobel bank combines by magnitude",
	      "%d", k.combine);
	kern_free(&k);
	kern_load("kernels/compass.kernel", &k, &e);
	ok = k.n == 8 && k.combine == KERN_MAX;
	for (b = 0; ok && b < 8; b++)
		ok = k.scale[b] == 15;
	check(ok, "compass: 8 matrices, max, scale 15 each", "n=%d", k.n);
	kern_free(&k);
	kern_load("kernels/blur.kernel", &k, &e);
	check(kern_sum(&k, 0) == 16 && k.scale[0] == 16, "blur sums to 16, scale 16", "%g",
	      kern_sum(&k, 0));
	kern_free(&k);
	kern_load("kernels/unsharp.kernel", &k, &e);
	check(k.m[12] == 476 && kern_sum(&k, 0) == 256, "unsharp centre 476, sum 256", "%g",
	      k.m[12]);
	kern_free(&k);
}

static void test_misc(void)
{
	struct kernel k;
	struct err e;
	double v, v2, v3;
	char why[128];

	parse("1 2\n3 -6\n", "s.kernel", &k, &e);
	kern_set_scale(&k, 0, 1);
	check(k.scale[0] == 1, "kern_set_scale auto of a zero sum is 1", "%g", k.scale[0]);
	kern_set_scale(&k, 3, 0);
	check(k.scale[0] == 3, "kern_set_scale fixed", "%g", k.scale[0]);
	kern_free(&k);
	parse("1 2\n---\n3 4\n", "s.kernel", &k, &e);
	kern_set_scale(&k, 0, 1);
	check(k.scale[0] == 3 && k.scale[1] == 7, "kern_set_scale auto is per matrix",
	      "%g %g", k.scale[0], k.scale[1]);
	kern_free(&k);

	err_clear(&e);
	check(kern_load("/nonexistent/x.kernel", &k, &e) == -1 && e.cls == ERR_NOINPUT &&
	      strcmp(e.msg, "/nonexistent/x.kernel: No such file or directory") == 0,
	      "kern_load of a missing file", "%s", e.msg);

	check(kern_number("-3/8", 4, &v, why, sizeof why) == 0 && v == -0.375,
	      "kern_number fraction", "%s", why);
	check(kern_number(" 1", 2, &v, why, sizeof why) == -1, "kern_number refuses spaces",
	      "%g", v);

	/*
	 * The file format's '.' holds whatever the numeric locale says.  A
	 * machine without a comma locale gets one compiled into a temporary
	 * directory (localedef, from Debian's locales package).
	 */
	if (comma_locale()) {
		check(kern_number("0.5", 3, &v, why, sizeof why) == 0 && v == 0.5 &&
		      kern_number("-1.25e1", 7, &v2, why, sizeof why) == 0 && v2 == -12.5 &&
		      kern_number("0,5", 3, &v3, why, sizeof why) == -1,
		      "numbers parse the same under a comma locale", "%s", why);
		setlocale(LC_NUMERIC, "C");
	} else {
		check(0, "numbers parse the same under a comma locale",
		      "no locale with a decimal comma could be set up (make deps installs locales)");
	}
}

int main(void)
{
	test_design_example();
	test_good();
	test_names_and_desc();
	test_banks();
	test_channels();
	test_bad();
	test_limits();
	test_inline();
	test_generators();
	test_more_generators();
	test_rank();
	test_show();
	test_resolve();
	test_library();
	test_misc();
	return check_exit();
}

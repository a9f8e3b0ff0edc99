/* unit_fft.c: the FFT engine on large tiled planes, spectra reuse, threads, wisdom. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "engine.h"
#include "engine_fft.h"
#include "ref.h"

/*
 * Large cases are compared with the direct engine (itself held to 1e-5 of
 * the double reference by unit_engine) everywhere, and with the double
 * reference at sampled pixels.  "unit_fft quick" runs reduced sizes, for
 * valgrind.
 */
static int quick;

struct tcase {
	struct plane in, out;
	struct conv_job job;
	float *wt;
	double sumk, maxx;
};

/* tcase_make builds a random w x h plane and nk random kw x kh kernels. */
static int tcase_make(struct tcase *t, int w, int h, int kw, int kh, int nk,
		      enum kern_combine c, struct border b, int ax, int ay, int ow, int oh)
{
	struct err err = { 0 };
	size_t i, n = (size_t)nk * kw * kh;
	int x, y;

	memset(t, 0, sizeof *t);
	if (plane_alloc(&t->in, w, h, &err) || plane_alloc(&t->out, ow, oh, &err))
		return -1;
	for (y = 0; y < h; y++)
		for (x = 0; x < w; x++) {
			float v = (float)(rnd() * 2 - 0.5);

			plane_row(&t->in, y)[x] = v;
			t->maxx = fmax(t->maxx, fabs(v));
		}
	t->maxx = fmax(t->maxx, fabs(b.value));
	t->wt = malloc(n * sizeof *t->wt);
	if (t->wt == NULL)
		return -1;
	for (i = 0; i < n; i++) {
		t->wt[i] = (float)(rnd() * 2 - 1);
		t->sumk += fabs(t->wt[i]);
	}
	t->job.in = &t->in;
	t->job.out = &t->out;
	t->job.kw = kw;
	t->job.kh = kh;
	t->job.nk = nk;
	t->job.wt = t->wt;
	t->job.ax = ax;
	t->job.ay = ay;
	t->job.combine = c;
	t->job.border = b;
	t->job.threads = 2;
	return 0;
}

static void tcase_free(struct tcase *t)
{
	plane_free(&t->in);
	plane_free(&t->out);
	free(t->wt);
}

/* ref_at is the double-precision result at one output pixel (as ref_job). */
static double ref_at(const struct conv_job *job, int y, int x)
{
	double acc = 0, r;
	int i, j, b;

	for (b = 0; b < job->nk; b++) {
		const float *w = job->wt + (size_t)b * job->kh * job->kw;

		r = 0;
		for (i = 0; i < job->kh; i++)
			for (j = 0; j < job->kw; j++)
				r += (double)w[i * job->kw + j] *
				     ref_sample(job, (long)y + i - job->ay, (long)x + j - job->ax);
		if (b == 0)
			acc = job->combine == KERN_MAGNITUDE ? r * r :
			      job->combine == KERN_SUMABS ? fabs(r) : r;
		else if (job->combine == KERN_SUM)
			acc += r;
		else if (job->combine == KERN_MAX)
			acc = r > acc ? r : acc;
		else if (job->combine == KERN_SUMABS)
			acc += fabs(r);
		else
			acc += r * r;
	}
	return job->combine == KERN_MAGNITUDE ? sqrt(acc) : acc;
}

/* tiles_in reads the tile count from the engine's note ("..., N tiles of ..."). */
static int tiles_in(const char *note)
{
	const char *p = strstr(note, "transforms, ");
	int n = 0;

	if (p != NULL)
		sscanf(p + 12, "%d", &n);
	return n;
}

static double workspace_in(const char *note)
{
	const char *p = strstr(note, " MB workspace");
	double mb = -1;

	while (p != NULL && p > note && p[-1] != ' ')
		p--;
	if (p != NULL)
		sscanf(p, "%lf", &mb);
	return mb;
}

/*
 * check_large runs fft and direct on one case and compares them
 * everywhere, and fft with the double reference at 40 random pixels.
 */
static void check_large(const char *name, int w, int h, int kw, int kh, int nk,
			enum kern_combine c, struct border b, int ax, int ay, int ow, int oh)
{
	struct tcase t;
	struct plane ref_out;
	struct err err = { 0 };
	double worst = 0, worst_ref = 0, d, tol;
	char note[160];
	int x, y, i, ok;

	if (tcase_make(&t, w, h, kw, kh, nk, c, b, ax, ay, ow, oh) ||
	    plane_alloc(&ref_out, ow, oh, &err)) {
		check(0, name, "out of memory");
		return;
	}
	ok = eng_fft.run(&t.job, &err) == 0;
	snprintf(note, sizeof note, "%s", t.job.note);
	t.job.out = &ref_out;
	ok = ok && eng_direct.run(&t.job, &err) == 0;
	t.job.out = &t.out;
	tol = 1e-4 * t.sumk * t.maxx;
	for (y = 0; ok && y < oh; y++)
		for (x = 0; x < ow; x++) {
			d = fabs(plane_row(&t.out, y)[x] - plane_row(&ref_out, y)[x]);
			if (!(d <= worst))
				worst = isnan(d) ? INFINITY : d;
		}
	for (i = 0; ok && i < 40; i++) {
		y = (int)(rnd() * oh);
		x = (int)(rnd() * ow);
		d = fabs(plane_row(&t.out, y)[x] - ref_at(&t.job, y, x));
		if (!(d <= worst_ref))
			worst_ref = isnan(d) ? INFINITY : d;
	}
	check(ok && worst <= tol && worst_ref <= tol && tiles_in(note) > 1, name,
	      "%s; error vs direct %.3g, vs reference %.3g (tolerance %.3g); %s",
	      ok ? "ran" : err.msg, worst, worst_ref, tol, note);
	printf("    error %.2g of the tolerance; %s\n", fmax(worst, worst_ref) / tol, note);
	plane_free(&ref_out);
	tcase_free(&t);
}

static void test_large(void)
{
	struct border reflect = { BORDER_REFLECT, 0, 0, BORDER_REFLECT }, c25 = { BORDER_CONST, 0.25f, 0, BORDER_CONST };
	struct border wrap = { BORDER_WRAP, 0, 0, BORDER_WRAP }, mirror = { BORDER_MIRROR, 0, 0, BORDER_MIRROR };
	struct border clamp = { BORDER_CLAMP, 0, 0, BORDER_CLAMP };
	int s = quick ? 4 : 1;

	check_large("fft tiles: 1501x1103, 9x9, same, reflect",
		    1501 / s, 1103 / s, 9, 9, 1, KERN_SUM, reflect, 4, 4, 1501 / s, 1103 / s);
	check_large("fft tiles: 1201x997, 31x31, full, const=0.25",
		    1201 / s, 997 / s, 31, 31, 1, KERN_SUM, c25, 30, 30,
		    1201 / s + 30, 997 / s + 30);
	check_large("fft tiles: 1100x900, 40x64 even, valid, wrap",
		    1100 / s, 900 / s, 40, 64, 1, KERN_SUM, wrap, 0, 0,
		    1100 / s - 39, 900 / s - 63);
	check_large("fft tiles: 997x1201, 3-kernel bank 15x12, max, mirror",
		    997 / s, 1201 / s, 15, 12, 3, KERN_MAX, mirror, 7, 6, 997 / s, 1201 / s);
	check_large("fft tiles: 1300x700, 2-kernel bank 21x21, magnitude, clamp",
		    1300 / s, 700 / s, 21, 21, 2, KERN_MAGNITUDE, clamp, 10, 10, 1300 / s, 700 / s);
	check_large("fft tiles: anchors outside the kernel (-5, 40), 17x9",
		    1000 / s, 800 / s, 17, 9, 1, KERN_SUM, reflect, -5, 40, 1000 / s, 800 / s);
}

/* Running a job again reuses the spectra, and threads do not change a bit. */
static void test_reuse_threads(void)
{
	struct border b = { BORDER_REFLECT, 0, 0, BORDER_REFLECT };
	struct tcase t;
	struct plane first;
	struct err err = { 0 };
	char note1[160], note2[160];
	int th, y, same = 1, ok;
	size_t bytes;

	if (tcase_make(&t, 900, 700, 25, 25, 1, KERN_SUM, b, 12, 12, 900, 700) ||
	    plane_alloc(&first, 900, 700, &err)) {
		check(0, "fft reuse", "out of memory");
		return;
	}
	bytes = (size_t)first.stride * first.h * sizeof(float);
	t.job.threads = 1;
	ok = eng_fft.run(&t.job, &err) == 0;
	memcpy(first.px, t.out.px, bytes);
	snprintf(note1, sizeof note1, "%s", t.job.note);
	ok = ok && eng_fft.run(&t.job, &err) == 0;
	snprintf(note2, sizeof note2, "%s", t.job.note);
	check(ok && strstr(note2, "spectra reused") != NULL &&
	      memcmp(first.px, t.out.px, bytes) == 0,
	      "fft: a second run with the same kernel reuses the spectra, same result",
	      "%s / %s", note1, note2);
	for (th = 2; th <= 4; th++) {
		t.job.threads = th;
		memset(t.out.px, 0, bytes);
		ok = ok && eng_fft.run(&t.job, &err) == 0;
		for (y = 0; y < t.out.h; y++)
			if (memcmp(plane_row(&first, y), plane_row(&t.out, y),
				   (size_t)t.out.w * sizeof(float)) != 0)
				same = 0;
	}
	check(ok && same, "fft: 2, 3 and 4 threads give bit-identical results", "%s",
	      ok ? "results differ" : err.msg);
	/* A different kernel of the same size must not pick up stale spectra. */
	t.wt[0] += 1.0f;
	ok = eng_fft.run(&t.job, &err) == 0;
	check(ok && strstr(t.job.note, "spectra computed") != NULL &&
	      fabs(plane_row(&t.out, 350)[450] - ref_at(&t.job, 350, 450)) <= 1e-4 * (t.sumk + 1) * t.maxx,
	      "fft: a changed kernel recomputes the spectra", "%s", t.job.note);
	plane_free(&first);
	tcase_free(&t);
}

/* The workspace for 24 megapixels and 127x127 is under half the plane. */
static void test_workspace(void)
{
	struct border b = { BORDER_REFLECT, 0, 0, BORDER_REFLECT };
	struct tcase t;
	struct err err = { 0 };
	double plane_mb, mb, d, worst = 0;
	int w = quick ? 1500 : 6000, h = quick ? 1000 : 4000, i, x, y, ok;

	if (tcase_make(&t, w, h, 127, 127, 1, KERN_SUM, b, 63, 63, w, h)) {
		check(0, "fft workspace", "out of memory");
		return;
	}
	ok = eng_fft.run(&t.job, &err) == 0;
	for (i = 0; ok && i < 12; i++) {
		y = i < 4 ? i * 17 % h : (int)(rnd() * h);
		x = i < 4 ? w - 1 - i * 31 % w : (int)(rnd() * w);
		d = fabs(plane_row(&t.out, y)[x] - ref_at(&t.job, y, x));
		worst = d > worst || isnan(d) ? d : worst;
	}
	plane_mb = (double)w * h * sizeof(float) / 1048576.0;
	mb = workspace_in(t.job.note);
	check(ok && mb > 0 && (quick || mb < plane_mb / 2) && worst <= 1e-4 * t.sumk * t.maxx,
	      quick ? "fft: 1500x1000, 127x127: sampled pixels correct"
		    : "fft: 6000x4000, 127x127: workspace under half the plane, sampled pixels correct",
	      "workspace %.1f MB for a %.1f MB plane; error %.3g; %s",
	      mb, plane_mb, worst, ok ? t.job.note : err.msg);
	printf("    %s (plane %.1f MB)\n", t.job.note, plane_mb);
	tcase_free(&t);
}

static void test_good_size(void)
{
	static const int cases[][2] = {
		{ 0, 1 }, { 1, 1 }, { 7, 7 }, { 11, 12 }, { 13, 14 }, { 97, 98 },
		{ 121, 125 }, { 4097, 4116 }, { 6127, 6144 },
	};
	size_t i;
	int bad = -1;

	for (i = 0; i < sizeof cases / sizeof cases[0]; i++)
		if (fft_good_size(cases[i][0]) != cases[i][1])
			bad = (int)i;
	check(bad < 0, "fft_good_size: smallest product of 2, 3, 5, 7",
	      "fft_good_size(%d) = %d, expected %d", cases[bad < 0 ? 0 : bad][0],
	      fft_good_size(cases[bad < 0 ? 0 : bad][0]), cases[bad < 0 ? 0 : bad][1]);
}

/* Wisdom: load (absent file), measured plans, save, load again, bad file. */
static void test_wisdom(void)
{
	char dir[] = "/tmp/imf-wisdom.XXXXXX", path[96], bad[96];
	struct border b = { BORDER_CLAMP, 0, 0, BORDER_CLAMP };
	struct err err = { 0 };
	struct tcase t;
	FILE *fp;
	long size = 0;
	int ok;

	if (mkdtemp(dir) == NULL) {
		check(0, "fft wisdom", "mkdtemp failed");
		return;
	}
	snprintf(path, sizeof path, "%s/wisdom", dir);
	snprintf(bad, sizeof bad, "%s/bad", dir);
	ok = fft_wisdom_load(path, &err) == 0;
	check(ok, "fft wisdom: a missing file is not an error", "%s", err.msg);
	if (tcase_make(&t, 300, 200, 11, 11, 1, KERN_SUM, b, 5, 5, 300, 200))
		return;
	ok = eng_fft.run(&t.job, &err) == 0 &&
	     fabs(plane_row(&t.out, 100)[150] - ref_at(&t.job, 100, 150)) <= 1e-4 * t.sumk * t.maxx &&
	     fabs(plane_row(&t.out, 0)[0] - ref_at(&t.job, 0, 0)) <= 1e-4 * t.sumk * t.maxx;
	check(ok, "fft wisdom: measured plans give correct results", "%s %s", err.msg, t.job.note);
	ok = fft_wisdom_save(path, &err) == 0;
	fp = fopen(path, "r");
	if (fp != NULL) {
		fseek(fp, 0, SEEK_END);
		size = ftell(fp);
		fclose(fp);
	}
	check(ok && size > 0, "fft wisdom: saved", "%s (size %ld)", err.msg, size);
	ok = fft_wisdom_load(path, &err) == 0;
	check(ok, "fft wisdom: the saved file loads", "%s", err.msg);
	fp = fopen(bad, "w");
	if (fp != NULL) {
		fputs("this is not wisdom\n", fp);
		fclose(fp);
	}
	err.cls = ERR_NONE;
	ok = fft_wisdom_load(bad, &err) == -1 && err.cls == ERR_DATA;
	check(ok, "fft wisdom: a malformed file is ERR_DATA", "class %d: %s", err.cls, err.msg);
	err.cls = ERR_NONE;
	snprintf(bad, sizeof bad, "%s/no/such/dir/wisdom", dir);
	ok = fft_wisdom_save(bad, &err) == -1 && err.cls != ERR_NONE;
	check(ok, "fft wisdom: an unwritable path fails cleanly", "class %d: %s", err.cls, err.msg);
	snprintf(bad, sizeof bad, "%s/bad", dir);
	unlink(bad);
	unlink(path);
	rmdir(dir);
	tcase_free(&t);
	/* Back to estimated plans for the rest (fft_shutdown forgets the wisdom). */
	fft_shutdown();
}

/* The planner takes fft for large general kernels on large planes, not for 3x3. */
static void test_planner(void)
{
	struct plane in = { 6000, 4000, 6000, NULL }, out = in;
	struct conv_job job;
	float *wt = calloc(127 * 127, sizeof *wt);
	const struct engine *e3, *e127;
	char text[1024] = "";
	size_t n;
	FILE *fp;
	int i;

	/* Random weights: a full-rank kernel, which the separable path cannot take. */
	srand(7);
	for (i = 0; wt != NULL && i < 127 * 127; i++)
		wt[i] = (float)rand() / RAND_MAX - 0.5f;
	memset(&job, 0, sizeof job);
	job.in = &in;
	job.out = &out;
	job.nk = 1;
	job.wt = wt;
	job.threads = 2;
	job.kw = job.kh = 3;
	job.ax = job.ay = 1;
	e3 = eng_choose(&job);
	job.kw = job.kh = 127;
	job.ax = job.ay = 63;
	e127 = eng_choose(&job);
	check(strcmp(e127->name, "fft") == 0 && strcmp(e3->name, "fft") != 0,
	      "planner: 24 MP takes fft for 127x127, not for 3x3", "3x3: %s, 127x127: %s",
	      e3->name, e127->name);
	fp = tmpfile();
	if (fp != NULL) {
		eng_explain(fp, &job);
		rewind(fp);
		n = fread(text, 1, sizeof text - 1, fp);
		text[n] = '\0';
		fclose(fp);
	}
	check(strstr(text, "fft") != NULL && strstr(text, "direct") != NULL &&
	      strstr(text, "s per plane") != NULL && strstr(text, "<- chosen") != NULL &&
	      strstr(strstr(text, "fft"), "<- chosen") != NULL,
	      "eng_explain lists every engine's cost and marks the choice", "%s", text);
	free(wt);
}

int main(int argc, char **argv)
{
	(void)ref_job;     /* ref.h's whole-plane reference; this file samples pixels */
	quick = argc > 1 && strcmp(argv[1], "quick") == 0;
	test_good_size();
	test_large();
	test_reuse_threads();
	test_workspace();
	test_wisdom();
	test_planner();
	fft_shutdown();
	return check_exit();
}

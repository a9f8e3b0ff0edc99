/* unit_seed.c: the worked examples of the reference material, end to end. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "check.h"
#include "image.h"
#include "job.h"
#include "kernel.h"

static int make_image(struct image *im, int w, int h, const double *v)
{
	struct err err = { 0 };
	int x, y;

	if (img_alloc(im, w, h, 1, &err))
		return -1;
	for (y = 0; y < h; y++)
		for (x = 0; x < w; x++)
			plane_row(&im->ch[0], y)[x] = (float)v[y * w + x];
	return 0;
}

static double at(const struct image *im, int y, int x)
{
	return plane_row(&im->ch[0], y)[x];
}

static int run(struct image *im, const char *spec, enum job_shape shape, int correlate,
	       struct border border)
{
	struct job_opts o;
	struct kernel k;
	struct kernel *kp = &k;
	struct err err = { 0 };
	int rc;

	memset(&o, 0, sizeof o);
	o.shape = shape;
	o.correlate = correlate;
	o.border = border;
	o.threads = 1;
	if (kern_resolve(spec, &k, &err)) {
		printf("# %s\n", err.msg);
		return -1;
	}
	rc = job_filter(im, &kp, 1, &o, &err);
	if (rc)
		printf("# %s\n", err.msg);
	kern_free(&k);
	return rc;
}

int main(void)
{
	static const double nine[9] = { 1, 2, 3, 4, 5, 6, 7, 8, 9 };
	static const double magic5[25] = {
		17, 24, 1, 8, 15, 23, 5, 7, 14, 16, 4, 6, 13, 20, 22,
		10, 12, 19, 21, 3, 11, 18, 25, 2, 9,
	};
	static const double first_row[7] = {
		1.8889, 4.5556, 4.6667, 3.6667, 2.6667, 2.5556, 1.6667,
	};
	struct border zero = { BORDER_CONST, 0.0f, 0, BORDER_CONST };
	struct image im;
	double worst;
	int x, y, i, j, ok;

	/* "the first element of the result should be 10*0 + 20*0 + 30*0 + 40*1 = 40",
	 * "the element in position 2,2 should be 1*10 + 2*20 + 4*30 + 5*40 = 370". */
	ok = make_image(&im, 3, 3, nine) == 0 &&
	     run(&im, "2x2: 10 20 30 40", SHAPE_FULL, 1, zero) == 0;
	check(ok && im.w == 4 && im.h == 4 && at(&im, 0, 0) == 40 && at(&im, 1, 1) == 370,
	      "seed: 2x2 kernel on [1..9], full correlation: 40 at (1,1), 370 at (2,2)",
	      "size %dx%d, got %g and %g", im.w, im.h, ok ? at(&im, 0, 0) : NAN,
	      ok ? at(&im, 1, 1) : NAN);
	img_free(&im);

	/* Convolution flips the kernel: the first full element is 10 * 1. */
	ok = make_image(&im, 3, 3, nine) == 0 &&
	     run(&im, "2x2: 10 20 30 40", SHAPE_FULL, 0, zero) == 0;
	check(ok && at(&im, 0, 0) == 10 && at(&im, 3, 3) == 360 && at(&im, 1, 1) == 10 * 5 + 20 * 4 + 30 * 2 + 40 * 1,
	      "seed: 2x2 kernel on [1..9], full convolution flips the kernel",
	      "got %g, %g, %g", ok ? at(&im, 0, 0) : NAN, ok ? at(&im, 3, 3) : NAN,
	      ok ? at(&im, 1, 1) : NAN);
	img_free(&im);

	/* conv2(magic(5), ones(3)/9): the 7x7 result whose first row the seed lists. */
	ok = make_image(&im, 5, 5, magic5) == 0 &&
	     run(&im, "3x3: 1/9 1/9 1/9 1/9 1/9 1/9 1/9 1/9 1/9", SHAPE_FULL, 0, zero) == 0;
	worst = ok ? 0 : INFINITY;
	for (x = 0; ok && x < 7; x++)
		worst = fmax(worst, fabs(at(&im, 0, x) - first_row[x]));
	check(ok && im.w == 7 && im.h == 7 && worst < 1e-4,
	      "seed: conv2(magic(5), ones(3)/9) first row 1.8889 4.5556 ... 1.6667",
	      "worst difference %g", worst);
	worst = ok ? 0 : INFINITY;
	for (y = 0; ok && y < 7; y++)
		for (x = 0; x < 7; x++) {
			double s = 0;
			for (i = 0; i < 3; i++)
				for (j = 0; j < 3; j++) {
					int sy = y - i, sx = x - j;
					if (sy >= 0 && sy < 5 && sx >= 0 && sx < 5)
						s += magic5[sy * 5 + sx] / 9.0;
				}
			worst = fmax(worst, fabs(at(&im, y, x) - s));
		}
	check(ok && worst < 1e-5, "seed: conv2(magic(5), ones(3)/9) whole 7x7 result",
	      "worst difference %g", worst);
	img_free(&im);

	/* same: the central 5x5 of full; valid: the inner 3x3. */
	ok = make_image(&im, 5, 5, magic5) == 0 && run(&im, "box:3", SHAPE_VALID, 0, zero) == 0;
	check(ok && im.w == 3 && im.h == 3 && fabs(at(&im, 0, 0) - (17 + 24 + 1 + 23 + 5 + 7 + 4 + 6 + 13) / 9.0) < 1e-5,
	      "seed: valid shape is the inner part", "size %dx%d", im.w, im.h);
	img_free(&im);
	ok = make_image(&im, 5, 5, magic5) == 0 && run(&im, "box:3", SHAPE_SAME, 0, zero) == 0;
	check(ok && im.w == 5 && fabs(at(&im, 0, 0) - (17 + 24 + 23 + 5) / 9.0) < 1e-5,
	      "seed: same shape is the centre of full", "got %g", ok ? at(&im, 0, 0) : NAN);
	img_free(&im);

	/* conv2 'same' with an even kernel starts at offset floor(k/2) of full. */
	ok = make_image(&im, 3, 3, nine) == 0 && run(&im, "2x2: 10 20 30 40", SHAPE_SAME, 0, zero) == 0;
	check(ok && at(&im, 0, 0) == 10 * 5 + 20 * 4 + 30 * 2 + 40 * 1 && at(&im, 2, 2) == 360,
	      "seed: same with an even kernel matches conv2's alignment", "got %g %g",
	      ok ? at(&im, 0, 0) : NAN, ok ? at(&im, 2, 2) : NAN);
	img_free(&im);
	return check_exit();
}

/*
 * fuzz_image.h: the body of the decoder targets.  fuzz_decode runs one
 * decoder on the input as io.c would (the whole file in memory) and checks
 * the contract: success gives a well-formed image of finite samples,
 * failure an error record naming the file and a zeroed image.  A small
 * decoded image is then encoded as PNG and JPEG in memory, which writes
 * whatever metadata (ICC profile, EXIF) the hostile file carried.
 */
#ifndef IMF_FUZZ_IMAGE_H
#define IMF_FUZZ_IMAGE_H

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "io_codec.h"

typedef int (*fuzz_decoder)(const struct io_src *src, struct image *im,
			    struct err *err);

static void fuzz_check_image(const struct image *im)
{
	int c, x, y;

	if (im->w < 1 || im->h < 1 || im->nch < 1 || im->nch > IMG_MAX_CHANNELS ||
	    (unsigned long long)im->w * im->h > FUZZ_MAX_PIXELS)
		abort();
	for (c = 0; c < im->nch; c++) {
		if (im->ch[c].w != im->w || im->ch[c].h != im->h || im->ch[c].px == NULL)
			abort();
		for (y = 0; y < im->h; y++)
			for (x = 0; x < im->w; x++)
				if (!isfinite(plane_row(&im->ch[c], y)[x]))
					abort();
	}
}

/* Images up to this many pixels are encoded again (it costs executions). */
#define FUZZ_ENCODE_PIXELS 4096

static void fuzz_encode(const struct image *im)
{
	struct err err = { 0 };
	char *buf = NULL;
	size_t n = 0;
	FILE *f = open_memstream(&buf, &n);

	if (f == NULL)
		return;
	if (io_png_encode(f, "fuzz.png", im, im->depth > 8 ? 16 : 8, 1, 0, &err) != 0 &&
	    err.cls == ERR_NONE)
		abort();
	err_clear(&err);
	if (io_jpeg_encode(f, "fuzz.jpg", im, 90, &err) != 0 && err.cls == ERR_NONE)
		abort();
	err_clear(&err);
	if (io_tiff_encode(f, "fuzz.tif", im, 0, IO_TIFF_DEFLATE, &err) != 0 &&
	    err.cls == ERR_NONE)
		abort();
	fclose(f);
	free(buf);
}

static void fuzz_decode(fuzz_decoder dec, const uint8_t *data, size_t size)
{
	static const char name[] = "fuzz.img";
	struct io_src src = { .buf = data, .n = size, .name = name, .max_pixels = FUZZ_MAX_PIXELS };
	struct image im;
	struct err err = { 0 };

	if (dec(&src, &im, &err) == 0) {
		fuzz_check_image(&im);
		if ((long)im.w * im.h <= FUZZ_ENCODE_PIXELS)
			fuzz_encode(&im);
		img_free(&im);
	} else if (err.cls == ERR_NONE || strncmp(err.msg, name, strlen(name)) != 0 ||
		   im.nch != 0 || im.ch[0].px != NULL) {
		abort();
	}
}

#endif

/* color.c: sRGB <-> linear light, and the finishing touches on signed results. */
#include "color.h"

#include <math.h>

static float srgb_decode(float v)
{
	float a = fabsf(v), r;

	r = a <= 0.04045f ? a / 12.92f : powf((a + 0.055f) / 1.055f, 2.4f);
	return v < 0 ? -r : r;
}

static float srgb_encode(float v)
{
	float a = fabsf(v), r;

	r = a <= 0.0031308f ? a * 12.92f : 1.055f * powf(a, 1.0f / 2.4f) - 0.055f;
	return v < 0 ? -r : r;
}

static int colour_channels(const struct image *im)
{
	return img_has_alpha(im) ? im->nch - 1 : im->nch;
}

static void map_colour(struct image *im, float (*f)(float))
{
	int c, y, x;

	for (c = 0; c < colour_channels(im); c++)
		for (y = 0; y < im->h; y++) {
			float *p = plane_row(&im->ch[c], y);
			for (x = 0; x < im->w; x++)
				p[x] = f(p[x]);
		}
}

void color_to_linear(struct image *im)
{
	map_colour(im, srgb_decode);
}

void color_to_srgb(struct image *im)
{
	map_colour(im, srgb_encode);
}

void color_finish(struct image *im, unsigned mask, int absval, float offset)
{
	int c, y, x;

	if (!absval && offset == 0.0f)
		return;
	for (c = 0; c < colour_channels(im); c++)
		if (mask & (1u << c))
		for (y = 0; y < im->h; y++) {
			float *p = plane_row(&im->ch[c], y);
			for (x = 0; x < im->w; x++)
				p[x] = (absval ? fabsf(p[x]) : p[x]) + offset;
		}
}

void color_premultiply_rows(struct image *im, unsigned mask, int y0, int y1)
{
	int c, y, x, a = im->nch - 1;

	for (c = 0; c < a; c++) {
		if (!(mask & (1u << c)))
			continue;
		for (y = y0; y < y1; y++) {
			float *p = plane_row(&im->ch[c], y);
			const float *al = plane_row(&im->ch[a], y);
			for (x = 0; x < im->w; x++)
				p[x] *= al[x];
		}
	}
}

void color_premultiply(struct image *im, unsigned mask)
{
	color_premultiply_rows(im, mask, 0, im->h);
}

void color_unpremultiply(struct image *im, unsigned mask)
{
	int c, y, x, a = im->nch - 1;

	for (c = 0; c < a; c++) {
		if (!(mask & (1u << c)))
			continue;
		for (y = 0; y < im->h; y++) {
			float *p = plane_row(&im->ch[c], y);
			const float *al = plane_row(&im->ch[a], y);
			for (x = 0; x < im->w; x++)
				p[x] = al[x] > 0.0f ? p[x] / al[x] : 0.0f;
		}
	}
}

/*
 * color_to_luma keeps one plane: Y = 0.2126 R + 0.7152 G + 0.0722 B, the
 * Rec. 709 weights luma-sobel.kernel uses, on the stored (sRGB-encoded)
 * values as video luma is.  Alpha is dropped with the other planes.
 */
void color_luma_rows(struct image *im)
{
	int y, x;

	if (im->nch < 3)
		return;
	for (y = 0; y < im->h; y++) {
		float *r = plane_row(&im->ch[0], y);
		const float *g = plane_row(&im->ch[1], y);
		const float *b = plane_row(&im->ch[2], y);

		for (x = 0; x < im->w; x++)
			r[x] = 0.2126f * r[x] + 0.7152f * g[x] + 0.0722f * b[x];
	}
}

void color_to_luma(struct image *im)
{
	int c;

	if (im->nch < 3)
		return;
	color_luma_rows(im);
	for (c = 1; c < im->nch; c++)
		plane_free(&im->ch[c]);
	im->nch = 1;
}

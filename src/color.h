/* color.h: sRGB <-> linear light, and the finishing touches on signed results. */
#ifndef IMF_COLOR_H
#define IMF_COLOR_H

#include "image.h"

/*
 * color_to_linear decodes the colour channels of im (not alpha) from the
 * sRGB transfer curve to linear light; color_to_srgb encodes them back.
 * The sRGB curve (IEC 61966-2-1): linear = v / 12.92 for v <= 0.04045,
 * else ((v + 0.055) / 1.055)^2.4.  Values outside [0, 1] are mapped by
 * the curve's odd extension, so negative results survive the round trip.
 */
void color_to_linear(struct image *im);
void color_to_srgb(struct image *im);

/*
 * color_finish applies |v| (when absval) and then + offset to the colour
 * channels whose bit is set in mask (alpha is never touched).
 */
void color_finish(struct image *im, unsigned mask, int absval, float offset);

/*
 * color_premultiply multiplies the colour channels whose bit is set in
 * mask by alpha (the last channel); color_unpremultiply divides them by
 * it again after filtering, giving 0 where no coverage is left.
 */
void color_premultiply(struct image *im, unsigned mask);
void color_unpremultiply(struct image *im, unsigned mask);

/*
 * color_to_luma turns an RGB or RGBA image into one grey plane with the
 * Rec. 709 weights (for a .pgm output); a grey image is left as it is.
 */
void color_to_luma(struct image *im);

/* color_luma_rows writes the luma into the first plane and keeps the others (views). */
void color_luma_rows(struct image *im);

/* color_premultiply_rows premultiplies rows [y0, y1) only. */
void color_premultiply_rows(struct image *im, unsigned mask, int y0, int y1);

#endif

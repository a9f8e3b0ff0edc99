/* georef.c: a GeoTIFF's tie points and transformation moved with the pixel grid. */
#include "georef.h"

#include <stddef.h>

/* GeoTIFF's GTRasterTypeGeoKey and its value for "pixel is point". */
#define KEY_RASTER_TYPE 1025
#define RASTER_PIXEL_IS_POINT 2

void georef_identity(struct georef_map *g)
{
	g->m[0] = g->m[1] = 1.0;
	g->b[0] = g->b[1] = 0.0;
}

void georef_then(struct georef_map *g, const double m[2], const double b[2])
{
	int a;

	for (a = 0; a < 2; a++) {
		g->b[a] += g->m[a] * b[a];
		g->m[a] *= m[a];
	}
}

/*
 * pixel_is_point reads the raster type from the key directory: a header
 * of four shorts (version, revision, minor revision, key count), then
 * four per key (id, location, count, value; location 0: the value is
 * the short itself).
 */
static int pixel_is_point(const struct img_geo *geo)
{
	unsigned i, n;

	if (geo->keys == NULL || geo->n_keys < 4)
		return 0;
	n = geo->keys[3];
	for (i = 0; i < n && 4 + 4 * i + 3 < geo->n_keys; i++) {
		const unsigned short *k = geo->keys + 4 + 4 * i;

		if (k[0] == KEY_RASTER_TYPE && k[1] == 0)
			return k[3] == RASTER_PIXEL_IS_POINT;
	}
	return 0;
}

void georef_apply(struct img_geo *geo, const struct georef_map *g)
{
	double c[2];
	unsigned i;
	int a, r;

	if (g->m[0] == 1.0 && g->m[1] == 1.0 && g->b[0] == 0.0 && g->b[1] == 0.0)
		return;
	/*
	 * Raster coordinates: input I = m I' + c for output I'.  Pixel is
	 * area puts pixel i's centre at i + 1/2, so c = b + (1 - m) / 2;
	 * pixel is point puts it at i.
	 */
	for (a = 0; a < 2; a++)
		c[a] = pixel_is_point(geo) ? g->b[a] : g->b[a] + 0.5 * (1.0 - g->m[a]);
	if (geo->tie != NULL && geo->n_tie == 6 && geo->scale != NULL && geo->n_scale >= 2) {
		/* One tie point and a scale: the output's corner (0, 0) tied, the scale times m. */
		double *t = geo->tie;

		t[3] += (c[0] - t[0]) * geo->scale[0];
		t[4] -= (c[1] - t[1]) * geo->scale[1];
		t[0] = t[1] = 0.0;
		geo->scale[0] *= g->m[0];
		geo->scale[1] *= g->m[1];
	} else if (geo->tie != NULL) {
		/* Ground control points: each moves to where its raster position went. */
		for (i = 0; i + 6 <= geo->n_tie; i += 6)
			for (a = 0; a < 2; a++)
				geo->tie[i + a] = (geo->tie[i + a] - c[a]) / g->m[a];
		if (geo->scale != NULL && geo->n_scale >= 2) {
			geo->scale[0] *= g->m[0];
			geo->scale[1] *= g->m[1];
		}
	}
	if (geo->matrix != NULL && geo->n_matrix == 16)
		for (r = 0; r < 4; r++) {
			double *row = geo->matrix + 4 * r;

			row[3] += row[0] * c[0] + row[1] * c[1];
			row[0] *= g->m[0];
			row[1] *= g->m[1];
		}
}

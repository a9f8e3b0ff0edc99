/*
 * georef.h: a GeoTIFF's georeferencing kept on the map when filtering
 * changes the pixel grid (--shape full or valid, --stride, --transpose).
 */
#ifndef IMF_GEOREF_H
#define IMF_GEOREF_H

#include "image.h"

/*
 * Where output pixels sit on the input's grid, x then y: the centre of
 * output pixel i is at input pixel m i + b (indices, not corners), the
 * same for every row and column.  The steps of a job compose.
 */
struct georef_map {
	double m[2], b[2];
};

void georef_identity(struct georef_map *g);

/* georef_then follows g with a step whose output pixel i sits at its input's m i + b. */
void georef_then(struct georef_map *g, const double m[2], const double b[2]);

/*
 * georef_apply moves geo's tie points or transformation, and scales the
 * pixel scale, so that every output pixel is where its centre was on the
 * map.  The raster type (GTRasterTypeGeoKey: pixel is area, the default,
 * or point) says whether raster coordinates name corners or centres.
 * An identity leaves every value as it was.
 */
void georef_apply(struct img_geo *geo, const struct georef_map *g);

#endif

#!/bin/sh
# tiff.sh: TIFF in and out against tiffcp, ImageMagick, libvips, GDAL,
# tifffile and PIL (tiff.py), and hostile TIFFs (tiff_hostile.py).
# Files are made in build/tests/tiff; TIFF_ONLY=TEXT runs the checks whose
# names hold TEXT.
IMF=${IMF:-./imfilter}
D=build/tests/tiff
mkdir -p "$D" || exit 70
if ! /usr/bin/python3 -c 'import numpy, tifffile, PIL' 2>/dev/null || ! command -v tiffcp >/dev/null ||
   ! command -v gdalinfo >/dev/null || ! command -v vips >/dev/null || [ ! -x /usr/bin/convert ]; then
	echo "FAIL: tiff: python3-tifffile, python3-pil, libtiff-tools, gdal-bin, libvips-tools and imagemagick are needed (make deps installs them)"
	exit 1
fi
/usr/bin/python3 tests/tiff.py "$IMF" "$D" "${TIFF_ONLY:-}"
/usr/bin/python3 tests/tiff_hostile.py "$IMF" "$D/hostile" "${TIFF_ONLY:-}"

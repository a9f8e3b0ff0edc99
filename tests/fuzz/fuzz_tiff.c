/*
 * fuzz_tiff.c: the TIFF decoder (libtiff under io_tiff_read.c's checks) on
 * arbitrary bytes; a small decoded image is encoded again as PNG, JPEG
 * and TIFF (fuzz_image.h), which writes whatever metadata it carried,
 * the GeoTIFF tags included.
 */
#include "fuzz_image.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fuzz_decode(io_tiff_decode, data, size);
	return 0;
}

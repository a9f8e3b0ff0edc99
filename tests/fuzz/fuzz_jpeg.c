/* fuzz_jpeg.c: the JPEG decoder on arbitrary bytes. */
#include "fuzz_image.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fuzz_decode(io_jpeg_decode, data, size);
	return 0;
}

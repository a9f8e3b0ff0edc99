/*
 * fuzz_pnm.c: the PNM (P5, P6) and PFM (Pf, PF) decoders on arbitrary
 * bytes, chosen by the magic as io.c chooses: "Pf" and "PF" go to the PFM
 * decoder, every other input to the PNM decoder, which refuses what it
 * does not know.
 */
#include "fuzz_image.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size >= 2 && data[0] == 'P' && (data[1] == 'f' || data[1] == 'F'))
		fuzz_decode(io_pfm_decode, data, size);
	else
		fuzz_decode(io_pnm_decode, data, size);
	return 0;
}

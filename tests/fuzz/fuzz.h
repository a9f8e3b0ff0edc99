/* fuzz.h: what the libFuzzer targets share. */
#ifndef IMF_FUZZ_H
#define IMF_FUZZ_H

#include <stddef.h>
#include <stdint.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/*
 * The image targets refuse images of more pixels than this, as
 * --max-pixels does, so that a header a mutation inflated costs a refusal
 * rather than a gigabyte: the decoders' size checks are what is under test,
 * not the machine's memory.
 */
#define FUZZ_MAX_PIXELS (1ULL << 20)

#endif

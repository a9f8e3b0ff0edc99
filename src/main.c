/* main.c: imfilter's entry point; everything happens in cli.c (args.c reads the command line). */
#include <stdlib.h>

#include "cli.h"

#ifdef __GLIBC__
#include <malloc.h>
#endif

int main(int argc, char **argv)
{
#ifdef __GLIBC__
	/*
	 * Each strip allocates and frees the same engine workspaces (FFT
	 * tiles, Toeplitz panels, stride phases), hundreds of times an image.
	 * glibc would hand blocks over 128 kB back to the system at each free
	 * and fault their pages in again at the next strip, which on a VM
	 * costs more than filtering them: it keeps them for reuse instead.
	 */
	mallopt(M_MMAP_THRESHOLD, 32 << 20);
	mallopt(M_TRIM_THRESHOLD, 64 << 20);
#endif
	return cli_main(argc, argv);
}

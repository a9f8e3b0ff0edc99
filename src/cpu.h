/* cpu.h: which vector instructions the running CPU has, for run-time dispatch. */
#ifndef IMF_CPU_H
#define IMF_CPU_H

/*
 * The build never assumes more than the compiler's baseline (no -march):
 * faster paths are separate functions compiled for their instruction set
 * with a target attribute and chosen when the program runs, as FFmpeg
 * overrides its portable C functions.  CPU_X86 says whether such paths
 * exist in this build at all; elsewhere only the portable C is compiled.
 */
#if defined(__x86_64__) && defined(__GNUC__) && !defined(IMF_NO_SIMD)
#define CPU_X86 1
#else
#define CPU_X86 0
#endif

/*
 * CPU_CLONES asks GCC for one copy of a plain C loop per instruction set,
 * picked when the program loads; for loops the compiler vectorises well.
 */
#if CPU_X86 && !defined(__clang__) && !defined(IMF_NO_CLONES)
#define CPU_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define CPU_CLONES
#endif

/*
 * CPU_VECTORIZE lets GCC vectorise a loop that its -O2 cost model ("very
 * cheap": no loop that needs a remainder loop) would leave scalar, for the
 * few loops where that is most of the time (PNG row filtering).
 */
#if defined(__GNUC__) && !defined(__clang__)
#define CPU_VECTORIZE __attribute__((optimize("tree-vectorize", "vect-cost-model=dynamic")))
#else
#define CPU_VECTORIZE
#endif

/* Instruction-set levels, each including the ones below it. */
enum cpu_level {
	CPU_C = 0,        /* portable C */
	CPU_SSE2,         /* every x86-64 */
	CPU_AVX2,         /* AVX2 and FMA (Haswell, Zen and later) */
	CPU_AVX512        /* AVX-512 F (Skylake-SP and later) */
};

/*
 * cpu_level is the best level this CPU runs and this build has, capped
 * by cpu_limit.  cpu_limit(level) caps it (tests use it to run every path
 * on one machine) and returns the previous cap; call it before starting
 * threads.
 */
enum cpu_level cpu_level(void);
enum cpu_level cpu_limit(enum cpu_level level);

/*
 * cpu_ring_bytes is how many bytes of source rows an engine's band should
 * keep (its ring): three quarters of one core's L2 cache as the system
 * reports it, or 512 kB when it does not say, within 256 kB and 4 MB.
 * Rows read again for the next output row then come from L2.
 */
long cpu_ring_bytes(void);

/* cpu_level_name is "c", "sse2", "avx2" or "avx512" (for -v and tests). */
const char *cpu_level_name(enum cpu_level level);

#endif

/* cpu.c: the running CPU's vector instruction sets, for run-time dispatch. */
#include "cpu.h"

#include <unistd.h>

/* The cap set by cpu_limit; only tests lower it, before any thread starts. */
static enum cpu_level level_cap = CPU_AVX512;

enum cpu_level cpu_level(void)
{
	enum cpu_level have = CPU_C;

#if CPU_X86
	/* __builtin_cpu_supports reads flags the C runtime fills at start-up. */
	if (__builtin_cpu_supports("avx512f"))
		have = CPU_AVX512;
	else if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))
		have = CPU_AVX2;
	else
		have = CPU_SSE2;
#endif
	return have < level_cap ? have : level_cap;
}

enum cpu_level cpu_limit(enum cpu_level level)
{
	enum cpu_level old = level_cap;

	level_cap = level;
	return old;
}

long cpu_ring_bytes(void)
{
	long l2 = -1;

#if defined(_SC_LEVEL2_CACHE_SIZE)
	l2 = sysconf(_SC_LEVEL2_CACHE_SIZE);
#endif
	if (l2 <= 0)
		return 512L << 10;
	l2 = l2 / 4 * 3;
	return l2 < (256L << 10) ? 256L << 10 : l2 > (4L << 20) ? 4L << 20 : l2;
}

const char *cpu_level_name(enum cpu_level level)
{
	static const char *const names[] = { "c", "sse2", "avx2", "avx512" };

	return level >= CPU_C && level <= CPU_AVX512 ? names[level] : "?";
}

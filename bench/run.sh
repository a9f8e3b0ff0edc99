#!/bin/sh
# run.sh: make bench.  Times each engine (and auto) on a 24-megapixel RGB
# image for general and Gaussian kernels of each size, and prints a table:
# the core convolution time (from -v, decode and encode excluded), the whole
# command's time and peak memory (/usr/bin/time -v).
#   BENCH_REPS   runs per cell, the median is shown (default 3)
#   BENCH_SIZES  kernel sizes (default "3 5 9 15 31 63 127")
#   BENCH_ENGINES engines (default: every engine, then auto)
#   BENCH_TIMEOUT seconds before a run is given up (default 300)
set -u
cd "$(dirname "$0")/.."
D=bench/data
R=bench/results
mkdir -p "$D" "$R"
reps=${BENCH_REPS:-3}
sizes=${BENCH_SIZES:-"3 5 9 15 31 63 127"}
engines=${BENCH_ENGINES:-"$(./imfilter -e list 2>&1 | sed -n 's/.*(engines: auto, \([^)]*\)).*/\1/p' | tr -d ',') auto"}
timeout=${BENCH_TIMEOUT:-300}
# OpenBLAS runs at half speed under the OPENBLAS_CORETYPE this machine's
# environment sets; a benchmark measures the library at its best.
unset OPENBLAS_CORETYPE

if [ ! -s "$D/big.png" ]; then
	echo "making $D/big.png (6000x4000 RGB) and kernels..." >&2
	./imfilter -k identity -f pnm samples/coffee.png - | /usr/bin/python3 bench/make_data.py "$D" || exit 1
	./imfilter -k identity "$D/big.ppm" "$D/big.png" || exit 1
	rm -f "$D/big.ppm"
fi

# median of the numbers on stdin
median() { sort -g | awk '{a[NR] = $1} END {if (NR == 0) print "-"; else print a[int((NR + 1) / 2)]}'; }

# run ENGINE KERNEL: prints "core_seconds wall_seconds peak_MB" for one run.
run() {
	timeout "$timeout" /usr/bin/time -v ./imfilter -v -e "$1" -k "$2" "$D/big.png" "$R/out.png" \
		> /dev/null 2> "$R/log" || { echo "- - -"; return; }
	core=$(sed -n 's/.*engine [a-z]*, \([0-9.]*\) s.*/\1/p' "$R/log" | awk '{s += $1} END {print s}')
	wall=$(sed -n 's/.*Elapsed (wall clock) time.*: \(.*\)/\1/p' "$R/log" | awk -F: '{print ($1 * 60) + $2}')
	mem=$(sed -n 's/.*Maximum resident set size (kbytes): \(.*\)/\1/p' "$R/log" | awk '{printf "%.0f", $1 / 1024}')
	echo "$core $wall $mem"
}

printf '| kernel | k | engine | core s | Mpx/s | whole PNG->PNG s | peak MB | vs direct (core) |\n'
printf '|---|---:|---|---:|---:|---:|---:|---:|\n'
for k in $sizes; do
	for kind in general gaussian; do
		if [ $kind = general ]; then spec=$D/k$k.kernel; else spec="gaussian:$(awk "BEGIN {print $k / 6}"),$k"; fi
		direct_core=
		for e in $engines; do
			: > "$R/cells"
			i=0
			while [ $i -lt "$reps" ]; do run "$e" "$spec" >> "$R/cells"; i=$((i + 1)); done
			core=$(awk '{print $1}' "$R/cells" | grep -v '^-$' | median)
			wall=$(awk '{print $2}' "$R/cells" | grep -v '^-$' | median)
			mem=$(awk '{print $3}' "$R/cells" | grep -v '^-$' | median)
			[ "$e" = direct ] && direct_core=$core
			mps=$(awk "BEGIN {if (\"$core\" == \"-\" || $core + 0 == 0) print \"-\"; else printf \"%.0f\", 24 / $core}")
			ratio=$(awk "BEGIN {if (\"$core\" == \"-\" || \"$direct_core\" == \"\" || \"$direct_core\" == \"-\") print \"-\"; else printf \"%.2fx\", $direct_core / $core}")
			printf '| %s | %d | %s | %s | %s | %s | %s | %s |\n' "$kind" "$k" "$e" "$core" "$mps" "$wall" "$mem" "$ratio"
		done
	done
done

#!/bin/sh
# run.sh: make bench.  Times each engine (and auto) on a 24-megapixel RGB
# PNG for a general (random, full-rank) kernel and a Gaussian of each size,
# and prints a table: the core convolution time (the engine's own time,
# which -v reports; decoding and encoding excluded), the peak memory of the
# whole command (/usr/bin/time -v), and each engine's speed relative to the
# fastest engine for that kernel.  The output is written as PFM to
# /dev/null so that the encoder's time does not swamp the table.
#   BENCH_REPS     runs per cell; the median is shown (default 3)
#   BENCH_SIZES    kernel sizes (default "3 5 9 15 31 63 127")
#   BENCH_ENGINES  engines (default: every engine, then auto)
#   BENCH_KINDS    "general gaussian" (default) or one of them
#   BENCH_MAX_EST  cells whose planner estimate for the whole image exceeds
#                  this many seconds are not run (default 100)
set -u
cd "$(dirname "$0")/.."
D=bench/data
R=bench/results
mkdir -p "$D" "$R"
reps=${BENCH_REPS:-3}
sizes=${BENCH_SIZES:-"3 5 9 15 31 63 127"}
engines=${BENCH_ENGINES:-"$(./imfilter -e '?' 2>&1 | sed -n 's/.*(engines: auto, \([^)]*\)).*/\1/p' | tr -d ',') auto"}
kinds=${BENCH_KINDS:-"general gaussian"}
max_est=${BENCH_MAX_EST:-100}
# OpenBLAS runs at half speed under the OPENBLAS_CORETYPE this machine's
# environment sets; a benchmark measures the library at its best.
unset OPENBLAS_CORETYPE

if [ ! -s "$D/big.png" ]; then
	echo "making $D/big.png (6000x4000 RGB) and kernels..." >&2
	./imfilter -k identity -f pnm samples/coffee.png - | /usr/bin/python3 bench/make_data.py "$D" || exit 1
	./imfilter -k identity "$D/big.ppm" "$D/big.png" || exit 1
	rm -f "$D/big.ppm"
fi
IMG=$D/big.png

# median of the numbers on stdin ("-" when there are none)
median() { sort -g | awk '{a[NR] = $1} END {if (NR == 0) print "-"; else print a[int((NR + 1) / 2)]}'; }

# estimate ENGINE KERNEL: the planner's estimate for the three 24 MP planes,
# in seconds, scaled from its estimate for a 512x512 plane (--explain).
estimate() {
	./imfilter --explain -e fft -k "$2" samples/camera.png -f pfm - 2>&1 > /dev/null |
		awk -v e="$1" '$1 == e {print $2 * 3 * 24000000 / (512 * 512)}' | head -1
}

# run ENGINE KERNEL: prints "core_seconds peak_MB" for one run.
run() {
	/usr/bin/time -v ./imfilter -v -e "$1" -k "$2" -f pfm "$IMG" - 2> "$R/log" > /dev/null ||
		{ echo "- -"; return; }
	core=$(sed -n 's/.*engine [a-z]*, \([0-9.]*\) s.*/\1/p' "$R/log" | awk '{s += $1} END {print s}')
	mem=$(sed -n 's/.*Maximum resident set size (kbytes): \(.*\)/\1/p' "$R/log" | awk '{printf "%.0f", $1 / 1024}')
	echo "$core $mem"
}

echo "imfilter $(./imfilter --version | cut -d' ' -f2), $(nproc) cores, $(date -u +%Y-%m-%d), image 6000x4000 RGB (decoded floats: 275 MiB)"
echo
printf '| kernel | k | engine | core s | Mpx/s | peak MiB | vs fastest |\n'
printf '|---|---:|---|---:|---:|---:|---:|\n'
for k in $sizes; do
	for kind in $kinds; do
		if [ "$kind" = general ]; then spec=$D/k$k.kernel; else spec="gaussian:$(awk "BEGIN {print $k / 6}"),$k"; fi
		: > "$R/rows"
		for e in $engines; do
			est=$(estimate "$e" "$spec")
			if [ "$e" != auto ] && [ -n "$est" ] && awk "BEGIN {exit !($est > $max_est)}"; then
				echo "$e - - $(printf '%.0f' "$est")" >> "$R/rows"
				continue
			fi
			: > "$R/cells"
			i=0
			while [ $i -lt "$reps" ]; do run "$e" "$spec" >> "$R/cells"; i=$((i + 1)); done
			core=$(awk '{print $1}' "$R/cells" | grep -v '^-$' | median)
			mem=$(awk '{print $2}' "$R/cells" | grep -v '^-$' | median)
			echo "$e $core $mem -" >> "$R/rows"
		done
		best=$(awk '$1 != "auto" && $2 != "-" {print $2}' "$R/rows" | sort -g | head -1)
		while read -r e core mem est; do
			if [ "$core" = "-" ]; then
				printf '| %s | %d | %s | skipped (estimate %s s) | | | |\n' "$kind" "$k" "$e" "$est"
				continue
			fi
			printf '| %s | %d | %s | %s | %.0f | %s | %.2fx |\n' "$kind" "$k" "$e" "$core" \
				"$(awk "BEGIN {print 24 / $core}")" "$mem" "$(awk "BEGIN {print $core / $best}")"
		done < "$R/rows"
	done
done

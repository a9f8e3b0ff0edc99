#!/bin/sh
# run.sh SECONDS TARGET...: runs each libFuzzer target build/fuzz/fuzz_TARGET
# for SECONDS seconds and prints "PASS: fuzz TARGET: N runs in S s" or
# "FAIL: fuzz TARGET: ..." with the crashing input kept in
# build/fuzz/artifacts/.  The corpus grows in build/fuzz/corpus/TARGET from
# run to run; its seeds are tests/fuzz/seeds/TARGET, tests/regress/TARGET,
# ../shared/testdata and files generated here into build/fuzz/seeds/TARGET
# with ./imfilter.
cd "$(dirname "$0")/../.." || exit 70
secs=${1:?usage: run.sh SECONDS TARGET...}
shift
# Absolute paths: the cli target works in a directory of its own.
R=$(pwd)
B=$R/build/fuzz
TD=../shared/testdata
S=$TD/pngsuite

# gen_images DIR: small images in every format imfilter writes, made from
# a few PngSuite files (grey, grey+alpha, RGB, RGBA, 16-bit) at 8 and 16 bits.
gen_images() {
	for f in basn0g08 basn0g16 basn2c08 basn2c16 basn4a08 basn6a16 s07n3p02 s01i3p01; do
		[ -f "$S/$f.png" ] || continue
		./imfilter -k identity "$S/$f.png" "$1/gen-$f.png" 2>/dev/null
		./imfilter -k identity -q 75 "$S/$f.png" "$1/gen-$f.jpg" 2>/dev/null
		./imfilter -k identity -q 95 "$S/$f.png" "$1/gen-$f-q95.jpg" 2>/dev/null
		./imfilter -k identity "$S/$f.png" "$1/gen-$f.pnm" 2>/dev/null
		./imfilter -k identity -d 16 "$S/$f.png" "$1/gen-$f-16.pnm" 2>/dev/null
		./imfilter -k emboss "$S/$f.png" "$1/gen-$f.pfm" 2>/dev/null
		./imfilter -k identity --tiff-compression lzw "$S/$f.png" "$1/gen-$f.tif" 2>/dev/null
		./imfilter -k emboss -d 32f --tiff-compression none "$S/$f.png" "$1/gen-$f-f.tif" 2>/dev/null
	done
}

# seeds TARGET DIR: fills DIR with the generated and shared seeds of TARGET.
seeds() {
	mkdir -p "$2" "$B/gen"
	ls "$B"/gen/*.tif >/dev/null 2>&1 || gen_images "$B/gen"
	case $1 in
	kernel) cp kernels/*.kernel "$2"/ ;;
	png) cp "$S"/*.png "$TD"/libpng-crashers/*.png "$B"/gen/*.png "$2"/ ;;
	jpeg) cp "$TD"/jpeg/*.jpg "$B"/gen/*.jpg "$2"/ ;;
	pnm) cp "$B"/gen/*.pnm "$B"/gen/*.pfm "$2"/ ;;
	tiff) cp "$B"/gen/*.tif "$2"/ ;;
	esac
}

fails=0
for t in "$@"; do
	bin=$B/fuzz_$t
	if [ ! -x "$bin" ]; then
		echo "FAIL: fuzz $t: build/fuzz/fuzz_$t is not built (make fuzz-build)"
		fails=$((fails + 1))
		continue
	fi
	mkdir -p "$B/corpus/$t" "$B/artifacts" "$R/tests/fuzz/seeds/$t"
	seeds "$t" "$B/seeds/$t"
	dict= regress=
	[ -f "$R/tests/fuzz/$t.dict" ] && dict=-dict="$R/tests/fuzz/$t.dict"
	# What the fuzzers found before is a seed too.
	[ -d "$R/tests/regress/$t" ] && regress=$R/tests/regress/$t
	# One process; -timeout and -rss_limit_mb make a hang or a runaway
	# allocation a finding too.
	"$bin" -max_total_time="$secs" -timeout=20 -rss_limit_mb=2048 \
		-print_final_stats=1 -artifact_prefix="$B/artifacts/$t-" $dict \
		"$B/corpus/$t" "$B/seeds/$t" "$R/tests/fuzz/seeds/$t" $regress > "$B/$t.log" 2>&1
	rc=$?
	runs=$(sed -n 's/^Done \([0-9]*\) runs in \([0-9]*\) second.*/\1 runs in \2 s/p' "$B/$t.log")
	cov=$(grep -o 'cov: [0-9]*' "$B/$t.log" | tail -n 1)
	if [ $rc -eq 0 ] && [ -n "$runs" ]; then
		echo "PASS: fuzz $t: $runs, $cov, corpus $(ls "$B/corpus/$t" | wc -l) files"
	else
		art=$(sed -n 's/.*Test unit written to \(.*\)/\1/p' "$B/$t.log" | head -n 1)
		echo "FAIL: fuzz $t: exit $rc, input ${art:-?}: $(grep -m1 -E 'ERROR|runtime error|deadly|timeout|leak' "$B/$t.log")"
		fails=$((fails + 1))
	fi
done
[ $fails -eq 0 ]

#!/bin/sh
# run.sh: make bench.  imfilter and the tools people use for the same job,
# side by side on one 24-megapixel RGB photo (PNG and JPEG, generated into
# bench/data from samples/coffee.png), for a general (random, full-rank)
# kernel and a Gaussian of each size.  Three tables:
#   core     the convolution alone, in memory: each imfilter engine and auto
#            (timed by bench/core.c in one process, taking turns; the time -v
#            reports: decoding and encoding excluded) and
#            OpenCV filter2D / sepFilter2D on float32 planes (timed inside
#            Python around the calls only);
#   PNG, JPEG  the whole command, file to file: imfilter, libvips (vips conv,
#            vips convsep), ImageMagick (convert -morphology Convolve) and a
#            Python script with OpenCV (decode, filter, encode), with peak
#            memory (/usr/bin/time -v) and output size.
# Every cell is the median of BENCH_REPS runs; a peer whose first run takes
# longer than BENCH_SLOW seconds is run once, and one that does not finish
# within BENCH_BUDGET seconds is stopped and its larger kernels skipped.
#   BENCH_REPS     runs per cell (default 5 for the core table, 3 for the others)
#   BENCH_SIZES    kernel sizes (default "3 5 9 15 31 63 127")
#   BENCH_KINDS    "general gaussian" (default) or one of them
#   BENCH_ENGINES  imfilter engines for the core table (default: all, then auto)
#   BENCH_TABLES   "core png jpeg" (default) or some of them
#   BENCH_PEERS    "vips magick opencv" (default; those not installed are left out)
#   BENCH_MAX_EST  an engine (not auto) whose planner estimate exceeds this
#                  many seconds is not run (default 30)
#   BENCH_BUDGET   seconds one run may take (default 60)
#   BENCH_SLOW     seconds beyond which a peer's cell is run once (default 20)
#   BENCH_IMFILTER the imfilter binary to time (default ./imfilter)
set -u
cd "$(dirname "$0")/.."
D=bench/data
R=bench/results
mkdir -p "$D" "$R"
IMF=${BENCH_IMFILTER:-./imfilter}
reps=${BENCH_REPS:-3}
core_reps=${BENCH_REPS:-5}
sizes=${BENCH_SIZES:-"3 5 9 15 31 63 127"}
kinds=${BENCH_KINDS:-"general gaussian"}
tables=${BENCH_TABLES:-"core png jpeg"}
peers=${BENCH_PEERS:-"vips magick opencv"}
max_est=${BENCH_MAX_EST:-30}
budget=${BENCH_BUDGET:-60}
slow=${BENCH_SLOW:-20}
engines=${BENCH_ENGINES:-"$("$IMF" -e '?' 2>&1 | sed -n 's/.*(engines: auto, \([^)]*\)).*/\1/p' | tr -d ',') auto"}
PY=/usr/bin/python3
MAGICK=/usr/bin/convert
MPX=24
TIME=/usr/bin/time

# OpenBLAS 0.3.21 does not know this CPU model and falls back to its SSE
# kernels unless told the core type; with AVX-512 the SkylakeX kernels are
# the right ones.  A value the caller set is kept.
if [ -z "${OPENBLAS_CORETYPE:-}" ] && grep -qw avx512f /proc/cpuinfo 2>/dev/null; then
	OPENBLAS_CORETYPE=SkylakeX
	export OPENBLAS_CORETYPE
fi

# The peers that are installed.
have() {
	case $1 in
	vips) command -v vips > /dev/null ;;
	magick) [ -x "$MAGICK" ] && "$MAGICK" -version 2>/dev/null | grep -q ImageMagick ;;
	opencv) $PY -c 'import cv2' 2> /dev/null ;;
	esac
}
p_ok=
for p in $peers; do have "$p" && p_ok="$p_ok $p"; done
peers=$p_ok

if [ ! -s "$D/big.png" ] || [ ! -s "$D/big.jpg" ] || [ ! -s "$D/big.ppm" ] || [ ! -s "$D/g127.im" ]; then
	echo "making $D: big.png, big.jpg, big.ppm (6000x4000 RGB) and kernels..." >&2
	"$IMF" -k identity -f pnm samples/coffee.png - | $PY bench/make_data.py "$D" || exit 1
	"$IMF" -k identity "$D/big.ppm" "$D/big.png" || exit 1
	"$IMF" -k identity "$D/big.ppm" "$D/big.jpg" || exit 1
fi
cc -std=c11 -O2 -pthread -o "$R/copy" bench/copy.c || exit 1

# median of the numbers on stdin ("-" when there are none)
median() { grep -v '^-$' | sort -g | awk '{a[NR] = $1} END {if (NR == 0) print "-"; else print a[int((NR + 1) / 2)]}'; }
# fmt X: a time with three significant digits, or "-"
fmt() { awk -v x="$1" 'BEGIN {if (x == "-" || x == "") print "-"; else if (x < 1) printf "%.3f", x; else if (x < 10) printf "%.2f", x; else printf "%.1f", x}'; }
# ratio A B: A / B as "N.NNx", or "-"
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {if (a == "-" || b == "-" || a == "" || b == "" || b == 0) print "-"; else printf "%.2fx", a / b}'; }
# best A B: the smaller of two times, or the one that is not "-"
best() { awk -v a="$1" -v b="$2" 'BEGIN {if (a == "-") print b; else if (b == "-") print a; else print (a < b ? a : b)}'; }
mpxs() { awk -v t="$1" -v m=$MPX 'BEGIN {if (t == "-") print "-"; else printf "%.0f", m / t}'; }

# gspec K: imfilter's spec of the bench Gaussian of size K
gspec() { echo "gaussian:$(awk "BEGIN {print $1 / 6}"),$1"; }

# estimate ENGINE KERNEL: the planner's estimate for the three 24 MP planes,
# in seconds, scaled from its estimate for a 512x512 plane (--explain).
estimate() {
	"$IMF" --explain -e fft -k "$2" samples/camera.png -f pfm - 2>&1 > /dev/null |
		awk -v e="$1" '$1 == e {print $2 * 3 * 24000000 / (512 * 512)}' | head -1
}

# whole OUT CMD...: runs CMD (which writes OUT) under /usr/bin/time -v and
# the budget; prints "seconds peak_MiB output_MB", or "- - -".
whole() {
	out=$1
	shift
	rm -f "$out"
	if ! timeout "$budget" $TIME -v "$@" > /dev/null 2> "$R/log" || [ ! -s "$out" ]; then
		echo "- - -"
		return
	fi
	awk -v sz="$(wc -c < "$out")" '
		/Elapsed \(wall clock\)/ {n = split($NF, a, ":"); t = 0; for (i = 1; i <= n; i++) t = t * 60 + a[i]}
		/Maximum resident set size/ {m = $NF / 1024}
		END {printf "%s %.0f %.1f\n", t, m, sz / 1e6}' "$R/log"
}

# cell NAME OUT CMD...: the median of the runs of a whole command, as
# "seconds peak_MiB output_MB"; "skip" when NAME ran out of budget before.
cell() {
	name=$1
	shift
	if grep -qx "$name" "$R/over" 2> /dev/null; then
		echo skip
		return
	fi
	: > "$R/cells"
	i=0
	while [ $i -lt "$reps" ]; do
		whole "$@" >> "$R/cells"
		t=$(tail -1 "$R/cells" | awk '{print $1}')
		if [ "$t" = - ]; then
			echo "$name" >> "$R/over"
			break
		fi
		i=$((i + 1))
		awk -v t="$t" -v s="$slow" 'BEGIN {exit !(t > s)}' && break
	done
	if [ "$(awk '$1 != "-"' "$R/cells" | wc -l)" = 0 ]; then
		echo over
		return
	fi
	printf '%s %s %s\n' "$(awk '{print $1}' "$R/cells" | median)" \
		"$(awk '{print $2}' "$R/cells" | median)" "$(awk '{print $3}' "$R/cells" | median)"
}

# show CELL: "time s, peak MiB, size MB" for a table
show() {
	case $1 in
	skip) echo "skipped" ;;
	over) echo "over ${budget} s" ;;
	*) set -- $1; echo "$(fmt "$1") s, $2 MiB, $3 MB" ;;
	esac
}

copy=$("$R/copy" 288000000 "$(nproc)")
copy_s=${copy% *}
copy_gb=${copy#* }
echo "imfilter $("$IMF" --version | cut -d' ' -f2), $(grep -m1 'model name' /proc/cpuinfo | sed 's/.*: //'), $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg), $(date -u +%Y-%m-%d)"
echo "image 6000x4000 RGB (24 Mpx; decoded float planes 288 MB); OPENBLAS_CORETYPE=${OPENBLAS_CORETYPE:-unset};" \
	"peers:${peers:- none}; medians of $core_reps runs (core), $reps (whole command)"
echo "copy of 288 MB with $(nproc) threads (bench/copy.c, STREAM-style): $(fmt "$copy_s") s, $copy_gb GB/s:" \
	"the memory-traffic bound of a 3x3 core (read the planes once, write them once)"

for table in $tables; do
	echo
	case $table in
	core)
		echo "Core convolution in memory, seconds (auto: also Mpx/s; OpenCV: float32 planes; speed-up = OpenCV / auto)"
		echo
		h="| kernel | k |"
		s="|---|---:|"
		for e in $engines; do h="$h $e |"; s="$s---:|"; done
		h="$h auto/fastest | Mpx/s |"
		s="$s---:|---:|"
		case $peers in *opencv*) h="$h OpenCV | speed-up |"; s="$s---:|---:|" ;; esac
		echo "$h"
		echo "$s"
		;;
	png|jpeg)
		ext=$table
		[ "$ext" = jpeg ] && ext=jpg
		echo "Whole command $(echo "$table" | tr a-z A-Z) to $(echo "$table" | tr a-z A-Z): seconds, peak memory, output size (speed-up = peer / imfilter)"
		echo
		h="| kernel | k | imfilter | Mpx/s |"
		s="|---|---:|---|---:|"
		for p in $peers; do
			case $p in
			vips) h="$h libvips |" ;;
			magick) h="$h ImageMagick |" ;;
			opencv) h="$h Python+OpenCV |" ;;
			esac
			s="$s---|"
		done
		h="$h vs best CLI peer | vs OpenCV script |"
		s="$s---:|---:|"
		echo "$h"
		echo "$s"
		;;
	esac
	: > "$R/over"
	for k in $sizes; do
		for kind in $kinds; do
			if [ "$kind" = general ]; then spec=$D/k$k.kernel; else spec=$(gspec "$k"); fi
			row="| $kind | $k |"
			if [ "$table" = core ]; then
				auto=- fastest=-
				# One process decodes the image once and times the engines
				# taking turns, run after run, so that a change in the
				# machine's load falls on all of them alike (bench/core.c).
				run_e=
				for e in $engines; do
					est=$(estimate "$e" "$spec")
					if [ "$e" != auto ] && [ -n "$est" ] && awk "BEGIN {exit !($est > $max_est)}"; then
						echo "$est" > "$R/est.$e"
						continue
					fi
					rm -f "$R/est.$e"
					run_e="$run_e $e"
				done
				build/bench-core "$D/big.ppm" "$spec" "$core_reps" "$(nproc)" $run_e > "$R/core.out"
				for e in $engines; do
					if [ -f "$R/est.$e" ]; then
						row="$row (est. $(printf '%.0f' "$(cat "$R/est.$e")") s) |"
						continue
					fi
					t=$(awk -v e="$e" '$1 == e {print $2}' "$R/core.out")
					[ -n "$t" ] || t=-
					if [ "$e" = auto ]; then auto=$t; else fastest=$(best "$fastest" "$t"); fi
					row="$row $(fmt "$t") |"
				done
				row="$row $(ratio "$auto" "$fastest") | $(mpxs "$auto") |"
				case $peers in *opencv*)
					t=$($PY bench/cv.py core "$kind" "$k" "$D" "$D/big.png" "$core_reps" | median)
					row="$row $(fmt "$t") | $(ratio "$t" "$auto") |"
				esac
				echo "$row"
				continue
			fi
			in=$D/big.$ext
			out=$R/out.$ext
			[ "$ext" = jpg ] && q=90 || q=
			c=$(cell imfilter "$out" "$IMF" -k "$spec" "$in" "$out")
			it=${c%% *}
			row="$row $(show "$c") | $(mpxs "$it") |"
			cli=-
			cvt=-
			for p in $peers; do
				case $p in
				vips)
					o="$out${q:+[Q=$q]}"
					if [ "$kind" = general ]; then
						c=$(cell "vips-$kind" "$out" vips conv "$in" "$o" "$D/k$k.mat")
					else
						c=$(cell "vips-$kind" "$out" vips convsep "$in" "$o" "$D/g$k.mat")
					fi
					;;
				magick)
					if [ "$kind" = general ]; then
						c=$(cell "magick-$kind" "$out" $MAGICK "$in" -define 'convolve:scale=!' \
							-morphology Convolve "$(cat "$D/k$k.im")" ${q:+-quality $q} "$out")
					else
						c=$(cell "magick-$kind" "$out" $MAGICK "$in" \
							-morphology Convolve "$(cat "$D/g$k.im")" ${q:+-quality $q} "$out")
					fi
					;;
				opencv)
					c=$(cell "opencv-$kind" "$out" $PY bench/cv.py file "$kind" "$k" "$D" "$in" "$out")
					;;
				esac
				t=${c%% *}
				case $c in skip|over) t=- ;; esac
				if [ "$p" = opencv ]; then cvt=$t; else cli=$(best "$cli" "$t"); fi
				row="$row $(show "$c") |"
			done
			echo "$row $(ratio "$cli" "$it") | $(ratio "$cvt" "$it") |"
		done
	done
done
rm -f "$R/out.png" "$R/out.jpg"

#!/bin/sh
# run.sh: make bench.  imfilter and the tools people use for the same job,
# side by side on one 24-megapixel RGB photo (PNG and JPEG, generated into
# bench/data from samples/coffee.png), for a general (random, full-rank)
# kernel and a Gaussian of each size; then on a gigapixel one.  The first
# line names the CPU; every table comes from this one run.  Five tables:
#   core     the convolution alone, in memory: each imfilter engine and auto
#            (timed by bench/core.c in one process, taking turns; the time -v
#            reports: decoding and encoding excluded) and
#            OpenCV filter2D / sepFilter2D on float32 planes (timed inside
#            Python around the calls only).  No memory column: the engines
#            share one process, so its peak is not any one engine's;
#   PNG, JPEG  the whole command, file to file: imfilter, libvips (vips conv,
#            vips convsep), ImageMagick (convert -morphology Convolve) and a
#            Python script with OpenCV (decode, filter, encode), each with
#            its time and its peak memory (max RSS as /usr/bin/time's %M
#            reports it, in MB of 10^6 bytes), and the output sizes;
#   tiff     the whole command, 16-bit RGB TIFF to 16-bit TIFF (deflate with
#            the horizontal predictor: each tool's nearest to imfilter's
#            default): imfilter, libvips and ImageMagick, as the PNG table;
#   giga     the whole command on a 40000x25000 RGB PNG (1000 Mpx, tiled by
#            libvips from bench/data/big.png, made once into build/bench-giga),
#            to PNG and to JPEG, general 15x15 and gaussian:10: imfilter and
#            libvips, time, Mpx/s and peak memory; a tool that fails (an
#            exit status, e.g. imfilter's pixel limit) is shown as failing,
#            with its message under the table; then a 40000x25000 grey
#            float TIFF in 256x256 tiles (ZSTD, floating-point predictor,
#            BigTIFF; made from the same PNG by libvips) to a float TIFF.
#            Needs libvips to make the inputs; one run per cell, about an
#            hour with libvips.
# Every time is the median of BENCH_REPS runs and the peak memory the
# largest of the same runs; a peer whose first run takes longer than
# BENCH_SLOW seconds is run once, and one that does not finish within
# BENCH_BUDGET seconds is stopped and its larger kernels skipped.
#   BENCH_REPS     runs per cell (default 5 for the core table, 3 for the others)
#   BENCH_SIZES    kernel sizes (default "3 5 9 15 31 63 127")
#   BENCH_KINDS    "general gaussian" (default) or one of them
#   BENCH_ENGINES  imfilter engines for the core table (default: all, then auto)
#   BENCH_TABLES   "core png jpeg tiff giga" (default) or some of them
#   BENCH_GIGA     0 leaves the gigapixel table out of the default tables
#                  (default 1)
#   BENCH_GIGA_REPS    runs per gigapixel cell (default 1)
#   BENCH_GIGA_BUDGET  seconds one gigapixel run may take (default 900)
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
giga=${BENCH_GIGA:-1}
if [ "$giga" = 0 ]; then tables=${BENCH_TABLES:-"core png jpeg tiff"}; else tables=${BENCH_TABLES:-"core png jpeg tiff giga"}; fi
giga_reps=${BENCH_GIGA_REPS:-1}
giga_budget=${BENCH_GIGA_BUDGET:-900}
peers=${BENCH_PEERS:-"vips magick opencv"}
max_est=${BENCH_MAX_EST:-30}
budget=${BENCH_BUDGET:-60}
slow=${BENCH_SLOW:-20}
engines=${BENCH_ENGINES:-"$("$IMF" -e '?' 2>&1 | sed -n 's/.*(engines: auto, \([^)]*\)).*/\1/p' | tr -d ',') auto"}
PY=/usr/bin/python3
MAGICK=/usr/bin/convert
MPX=24
TIME=/usr/bin/time
G=build/bench-giga
GW=40000
GH=25000
GMPX=1000

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
	*) false ;;
	esac
}
p_ok=
for p in $peers; do have "$p" && p_ok="$p_ok $p"; done
peers=$p_ok

# The first line names the CPU, before anything else is made or printed:
# every table below is from this machine and this run.
echo "imfilter $("$IMF" --version | cut -d' ' -f2), $(grep -m1 'model name' /proc/cpuinfo | sed 's/.*: //'), $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg), $(date -u +%Y-%m-%d)"

if [ ! -s "$D/big.png" ] || [ ! -s "$D/big.jpg" ] || [ ! -s "$D/big.ppm" ] || [ ! -s "$D/g127.im" ]; then
	echo "making $D: big.png, big.jpg, big.ppm (6000x4000 RGB) and kernels..." >&2
	"$IMF" -k identity -f pnm samples/coffee.png - | $PY bench/make_data.py "$D" || exit 1
	"$IMF" -k identity "$D/big.ppm" "$D/big.png" || exit 1
	"$IMF" -k identity "$D/big.ppm" "$D/big.jpg" || exit 1
fi
# The 16-bit TIFF, made by ImageMagick (v * 257: the photo's 8 bits spread
# over 16, as any 8-to-16-bit conversion does).
case " $tables " in *" tiff "*)
	if [ ! -s "$D/big16.tif" ]; then
		$MAGICK "$D/big.png" -depth 16 -compress Zip -define tiff:predictor=2 "$D/big16.tmp.tif" &&
			mv "$D/big16.tmp.tif" "$D/big16.tif" || exit 1
	fi
esac

# The gigapixel input: big.png cut to an eighth of each side and tiled 8x8
# by libvips, which streams the tiles into the PNG without holding the
# image, so it has the photo's texture at 42 times the size.  Made once
# (about a minute), under a temporary name until it is whole.
giga_why=
case " $tables " in *" giga "*)
	if [ ! -s "$G/giga.png" ]; then
		if command -v vips > /dev/null; then
			echo "making $G/giga.png (${GW}x${GH} RGB)..." >&2
			mkdir -p "$G"
			vips crop "$D/big.png" "$G/tile.v" 0 0 $((GW / 8)) $((GH / 8)) &&
				vips replicate "$G/tile.v" "$G/giga.tmp.png" 8 8 &&
				mv "$G/giga.tmp.png" "$G/giga.png" || giga_why="making $G/giga.png with libvips failed"
			rm -f "$G/tile.v" "$G/giga.tmp.png"
		else
			giga_why="libvips (vips) is needed to make the input"
		fi
	fi
	# The float TIFF: the PNG's luma as floats 0..255 in 256x256 tiles,
	# ZSTD (level 1: deflate took libvips half an hour) with the
	# floating-point predictor, in BigTIFF (4 GB of samples).
	if [ -z "$giga_why" ] && [ ! -s "$G/giga-f32.tif" ]; then
		echo "making $G/giga-f32.tif (${GW}x${GH} grey float, tiled)..." >&2
		vips colourspace "$G/giga.png" "$G/grey.v" b-w &&
			vips cast "$G/grey.v" "$G/giga-f32.tmp.tif[tile,tile-width=256,tile-height=256,compression=zstd,level=1,predictor=float,bigtiff]" float &&
			mv "$G/giga-f32.tmp.tif" "$G/giga-f32.tif" || giga_why="making $G/giga-f32.tif with libvips failed"
		rm -f "$G/grey.v" "$G/giga-f32.tmp.tif"
	fi
	# imfilter's gaussian:10 (61x61: 2 ceil(3 sigma) + 1 samples of
	# exp(-x^2 / 2 sigma^2), summing to 1) as the one row vips convsep takes.
	mkdir -p "$G"
	awk 'BEGIN {s = 10; n = 61
		for (i = 0; i < n; i++) {x = i - (n - 1) / 2; g[i] = exp(-0.5 * (x / s) ^ 2); sum += g[i]}
		printf "%d 1 1 0\n", n
		for (i = 0; i < n; i++) printf "%.9g%s", g[i] / sum, (i < n - 1 ? " " : "\n")}' > "$G/g10.mat"
esac
cc -std=c11 -O2 -pthread -o "$R/copy" bench/copy.c || exit 1

# median of the numbers on stdin ("-" when there are none)
median() { grep -v '^-$' | sort -g | awk '{a[NR] = $1} END {if (NR == 0) print "-"; else print a[int((NR + 1) / 2)]}'; }
# largest of the numbers on stdin
largest() { sort -g | tail -n 1; }
# fmt X: a time with three significant digits, or "-"
fmt() { awk -v x="$1" 'BEGIN {if (x == "-" || x == "") print "-"; else if (x < 1) printf "%.3f", x; else if (x < 10) printf "%.2f", x; else printf "%.1f", x}'; }
# ratio A B: A / B as "N.NNx", or "-"
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {if (a == "-" || b == "-" || a == "" || b == "" || b == 0) print "-"; else printf "%.2fx", a / b}'; }
# best A B: the smaller of two times, or the one that is not "-"
best() { awk -v a="$1" -v b="$2" 'BEGIN {if (a == "-") print b; else if (b == "-") print a; else print (a < b ? a : b)}'; }
# mpxs T [MPX]: megapixels per second of a job of MPX (default the 24 Mpx photo)
mpxs() { awk -v t="$1" -v m="${2:-$MPX}" 'BEGIN {if (t == "-") print "-"; else printf "%.0f", m / t}'; }

# gspec K: imfilter's spec of the bench Gaussian of size K
gspec() { echo "gaussian:$(awk "BEGIN {print $1 / 6}"),$1"; }

# estimate ENGINE KERNEL: the planner's estimate for the three 24 MP planes,
# in seconds, scaled from its estimate for a 512x512 plane (--explain).
estimate() {
	"$IMF" --explain -e fft -k "$2" samples/camera.png -f pfm - 2>&1 > /dev/null |
		awk -v e="$1" '$1 == e {print $2 * 3 * 24000000 / (512 * 512)}' | head -1
}

# whole BUDGET OUT CMD...: runs CMD (which writes OUT) under /usr/bin/time
# and the budget.  Prints "seconds peak_KiB output_MB" (%e and %M, the
# maximum resident set size); or "over" when the budget ran out; or, when
# CMD failed, "exit N", "refused N" (imfilter's pixel limit), "signal N" or
# "noout" (exit 0 without an output), with CMD's stderr kept in $R/err.
whole() {
	lim=$1
	out=$2
	shift 2
	rm -f "$out"
	timeout "$lim" $TIME -o "$R/time" -f '%e %M' "$@" > /dev/null 2> "$R/err"
	rc=$?
	if [ $rc -eq 124 ]; then
		echo over
	elif [ $rc -gt 128 ]; then
		echo "signal $((rc - 128))"
	elif [ $rc -ne 0 ] && grep -q 'exceed the limit' "$R/err"; then
		echo "refused $rc"
	elif [ $rc -ne 0 ]; then
		echo "exit $rc"
	elif [ ! -s "$out" ]; then
		echo noout
	else
		echo "$(tail -n 1 "$R/time") $(awk -v sz="$(wc -c < "$out")" 'BEGIN {printf "%.1f", sz / 1e6}')"
	fi
}

# cell NAME OUT CMD...: the runs of a whole command ($t_reps of them, each
# within $t_budget seconds) as "median_seconds largest_peak_KiB output_MB";
# "skip" when NAME ran out of budget before; a failure as whole prints it,
# with a note for under the table ($where says which row it was).
cell() {
	name=$1
	shift
	if grep -qx "$name" "$R/over" 2> /dev/null; then
		echo skip
		return
	fi
	: > "$R/cells"
	i=0
	while [ $i -lt "$t_reps" ]; do
		r=$(whole "$t_budget" "$@")
		case $r in
		over)
			echo "$name" >> "$R/over"
			break
			;;
		[!0-9]*)
			echo "- ${name%%-*} ($where): $(show_t "$r"): $(head -n 1 "$R/err" | cut -c1-200)" >> "$R/notes"
			echo "$r"
			return
			;;
		esac
		echo "$r" >> "$R/cells"
		i=$((i + 1))
		awk -v t="${r%% *}" -v s="$slow" 'BEGIN {exit !(t > s)}' && break
	done
	if [ ! -s "$R/cells" ]; then
		echo over
		return
	fi
	printf '%s %s %s\n' "$(awk '{print $1}' "$R/cells" | median)" \
		"$(awk '{print $2}' "$R/cells" | largest)" "$(awk '{print $3}' "$R/cells" | median)"
}

# The parts of a cell: its time as the tables show it; its time as a
# number ("-" when it did not run or failed); its peak memory in MB
# (10^6 bytes; %M counts KiB); its output size in MB.
show_t() {
	set -- $1
	case $1 in
	skip) echo skipped ;;
	over) echo "over $t_budget s" ;;
	exit) echo "exit $2" ;;
	refused) echo "refused (exit $2)" ;;
	signal) echo "killed (signal $2)" ;;
	noout) echo "no output" ;;
	*) echo "$(fmt "$1") s" ;;
	esac
}
num_t() { set -- $1; case $1 in [0-9]*) echo "$1" ;; *) echo - ;; esac; }
show_m() { set -- $1; case $1 in [0-9]*) awk -v k="$2" 'BEGIN {printf "%.0f", k * 1024 / 1e6}' ;; *) echo - ;; esac; }
show_sz() { set -- $1; case $1 in [0-9]*) echo "$3" ;; *) echo - ;; esac; }

# notes: the failures of the table just printed, with their messages.
notes() {
	if [ -s "$R/notes" ]; then
		echo
		echo "Failures (first line of stderr):"
		cat "$R/notes"
	fi
	: > "$R/notes"
}

# giga_row LABEL JOB KIND IN OUT VIPS_OUT: one gigapixel row, imfilter and
# libvips (writing to VIPS_OUT, OUT with its save options) filtering IN with
# KIND's kernel; LABEL names the cells for the budget's skips.
giga_row() {
	label=$1 job=$2 kind=$3 in=$4 out=$5 o=$6
	if [ "$kind" = general ]; then
		spec=$D/k15.kernel kname="general 15x15" vop=conv vmat=$D/k15.mat
	else
		spec=gaussian:10 kname="gaussian:10 (61x61)" vop=convsep vmat=$G/g10.mat
	fi
	where="$job, $kname"
	c=$(cell "imfilter-$label$kind" "$out" "$IMF" -k "$spec" "$in" "$out")
	it=$(num_t "$c")
	row="| $job | $kname | $(show_t "$c") | $(mpxs "$it" $GMPX) | $(show_m "$c") |"
	outs=$(show_sz "$c")
	vt=-
	case " $peers " in *" vips "*)
		c=$(cell "vips-$label$kind" "$out" vips $vop "$in" "$o" "$vmat")
		vt=$(num_t "$c")
		row="$row $(show_t "$c") | $(mpxs "$vt" $GMPX) | $(show_m "$c") |"
		outs="$outs / $(show_sz "$c")"
	esac
	echo "$row $(ratio "$vt" "$it") | $outs |"
	rm -f "$out"
}

# giga_table: the gigapixel rows (see the top of this file): the PNG to
# PNG and to JPEG, then the tiled float TIFF to a float TIFF.
giga_table() {
	for ext in png jpg; do
		[ "$ext" = jpg ] && q=90 || q=
		for kind in general gaussian; do
			giga_row "" "PNG to $(echo "$ext" | sed 's/jpg/JPEG/; s/png/PNG/')" "$kind" \
				"$G/giga.png" "$R/giga.$ext" "$R/giga.$ext${q:+[Q=$q]}"
		done
	done
	for kind in general gaussian; do
		giga_row tiff- "float TIFF (tiled, grey) to float TIFF" "$kind" "$G/giga-f32.tif" \
			"$R/giga.tif" "$R/giga.tif[compression=deflate,predictor=float,bigtiff]"
	done
}

copy=$("$R/copy" 288000000 "$(nproc)")
copy_s=${copy% *}
copy_gb=${copy#* }
echo "image 6000x4000 RGB (24 Mpx; decoded float planes 288 MB); OPENBLAS_CORETYPE=${OPENBLAS_CORETYPE:-unset};" \
	"peers:${peers:- none}; medians of $core_reps runs (core), $reps (whole command)"
echo "copy of 288 MB with $(nproc) threads (bench/copy.c, STREAM-style): $(fmt "$copy_s") s, $copy_gb GB/s:" \
	"the memory-traffic bound of a 3x3 core (read the planes once, write them once)"

: > "$R/notes"
for table in $tables; do
	echo
	t_reps=$reps
	t_budget=$budget
	: > "$R/over"
	case $table in
	core)
		echo "Core convolution in memory, seconds (auto: also Mpx/s; OpenCV: float32 planes; speed-up = OpenCV / auto;" \
			"no memory column: the engines take turns in one process)"
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
	png|jpeg|tiff)
		ext=$table
		[ "$ext" = jpeg ] && ext=jpg
		t_peers=$peers
		if [ "$table" = tiff ]; then
			# OpenCV's script reads 8 bits: the 16-bit table is the command-line tools'.
			t_peers=$(echo "$peers" | sed 's/opencv//')
			echo "Whole command 16-bit TIFF to 16-bit TIFF (deflate, predictor 2): seconds (median of $reps runs)," \
				"peak memory in MB (max RSS, the largest of those runs), output size in MB (tool by tool);" \
				"speed-up = peer / imfilter"
		else
			echo "Whole command $(echo "$table" | tr a-z A-Z) to $(echo "$table" | tr a-z A-Z): seconds (median of $reps runs)," \
				"peak memory in MB (max RSS, the largest of those runs), output size in MB (tool by tool);" \
				"speed-up = peer / imfilter"
		fi
		echo
		h="| kernel | k | imfilter | MB | Mpx/s |"
		s="|---|---:|---:|---:|---:|"
		for p in $t_peers; do
			case $p in
			vips) h="$h libvips | MB |" ;;
			magick) h="$h ImageMagick | MB |" ;;
			opencv) h="$h Python+OpenCV | MB |" ;;
			esac
			s="$s---:|---:|"
		done
		h="$h vs best CLI peer | vs OpenCV script | output MB |"
		s="$s---:|---:|---|"
		echo "$h"
		echo "$s"
		;;
	giga)
		t_reps=$giga_reps
		t_budget=$giga_budget
		echo "Gigapixel: ${GW}x${GH} RGB PNG ($GMPX Mpx), whole command: seconds ($giga_reps run a cell, budget $giga_budget s)," \
			"Mpx/s, peak memory in MB (max RSS), output size in MB; speed-up = libvips / imfilter"
		echo
		if [ -n "$giga_why" ]; then
			echo "skipped: $giga_why"
			continue
		fi
		h="| job | kernel | imfilter | Mpx/s | MB |"
		s="|---|---|---:|---:|---:|"
		case " $peers " in *" vips "*) h="$h libvips | Mpx/s | MB |"; s="$s---:|---:|---:|" ;; esac
		echo "$h speed-up | output MB |"
		echo "$s---:|---|"
		giga_table
		notes
		continue
		;;
	esac
	for k in $sizes; do
		for kind in $kinds; do
			if [ "$kind" = general ]; then spec=$D/k$k.kernel; else spec=$(gspec "$k"); fi
			row="| $kind | $k |"
			where="$kind $k"
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
			[ "$ext" = tiff ] && in=$D/big16.tif
			out=$R/out.$ext
			[ "$ext" = jpg ] && q=90 || q=
			# ImageMagick's and libvips' TIFF options nearest to imfilter's default.
			mopt= vopt=
			[ "$ext" = jpg ] && mopt="-quality 90" vopt="[Q=90]"
			[ "$ext" = tiff ] && mopt="-compress Zip -define tiff:predictor=2" \
				vopt="[compression=deflate,predictor=horizontal]"
			c=$(cell imfilter "$out" "$IMF" -k "$spec" "$in" "$out")
			it=$(num_t "$c")
			row="$row $(show_t "$c") | $(show_m "$c") | $(mpxs "$it") |"
			outs=$(show_sz "$c")
			cli=-
			cvt=-
			for p in $t_peers; do
				case $p in
				vips)
					o="$out$vopt"
					if [ "$kind" = general ]; then
						c=$(cell "vips-$kind" "$out" vips conv "$in" "$o" "$D/k$k.mat")
					else
						c=$(cell "vips-$kind" "$out" vips convsep "$in" "$o" "$D/g$k.mat")
					fi
					;;
				magick)
					if [ "$kind" = general ]; then
						c=$(cell "magick-$kind" "$out" $MAGICK "$in" -define 'convolve:scale=!' \
							-morphology Convolve "$(cat "$D/k$k.im")" $mopt "$out")
					else
						c=$(cell "magick-$kind" "$out" $MAGICK "$in" \
							-morphology Convolve "$(cat "$D/g$k.im")" $mopt "$out")
					fi
					;;
				opencv)
					c=$(cell "opencv-$kind" "$out" $PY bench/cv.py file "$kind" "$k" "$D" "$in" "$out")
					;;
				esac
				t=$(num_t "$c")
				if [ "$p" = opencv ]; then cvt=$t; else cli=$(best "$cli" "$t"); fi
				row="$row $(show_t "$c") | $(show_m "$c") |"
				outs="$outs / $(show_sz "$c")"
			done
			echo "$row $(ratio "$cli" "$it") | $(ratio "$cvt" "$it") | $outs |"
		done
	done
	notes
done
rm -f "$R/out.png" "$R/out.jpg" "$R/out.tiff" "$R/giga.png" "$R/giga.jpg" "$R/giga.tif"

#!/bin/sh
# testdata.sh: runs "./imfilter -k identity IN OUT" over every file of the
# shared test corpora and checks the outcome each folder's README expects.
# Prints "PASS: name" or "FAIL: name: detail" lines, one per group of files.
cd "$(dirname "$0")/.." || exit 70

TD=$(cd .. && pwd)/shared/testdata
if [ ! -d "$TD" ]; then
	echo "FAIL: testdata: $TD not found"
	exit 1
fi
IMF=${IMF:-./imfilter}
if [ ! -x "$IMF" ]; then
	echo "FAIL: testdata: $IMF is not built"
	exit 1
fi
T=$(mktemp -d "${TMPDIR:-/tmp}/imf_testdata.XXXXXX") || exit 70
trap 'rm -rf "$T"' EXIT
trap 'exit 70' INT TERM
OUT=$T/out

# run IN EXT [OPTIONS...]: filters IN into a fresh $OUT/out.EXT; sets rc.
run() {
	in=$1 ext=$2
	shift 2
	rm -rf "$OUT" && mkdir "$OUT" || exit 70
	"$IMF" "$@" -k identity "$in" "$OUT/out.$ext" > "$T/stdout" 2> "$T/stderr"
	rc=$?
}

# why_ok: empty when the last run succeeded quietly and left exactly the
# output file; otherwise the reason.
why_ok() {
	if [ "$rc" -ne 0 ]; then
		echo "exit $rc: $(head -n 1 "$T/stderr")"
	elif [ ! -s "$OUT/out.$ext" ]; then
		echo "no output"
	elif [ -s "$T/stderr" ] || [ -s "$T/stdout" ]; then
		echo "not quiet: $(head -n 1 "$T/stderr" "$T/stdout" | tr '\n' ' ')"
	elif [ "$(ls -A "$OUT" | wc -l)" -ne 1 ]; then
		echo "extra files: $(ls -A "$OUT" | tr '\n' ' ')"
	fi
}

# why_bad: empty when the last run failed as a rejected input must: exit 65,
# one stderr line "imfilter: ..." naming the file, nothing in the directory.
why_bad() {
	lines=$(awk 'END { print NR }' "$T/stderr")
	if [ "$rc" -ne 65 ]; then
		echo "exit $rc (want 65): $(head -n 1 "$T/stderr")"
	elif [ "$lines" -ne 1 ]; then
		echo "$lines stderr lines"
	elif ! head -n 1 "$T/stderr" | grep -q '^imfilter: '; then
		echo "message does not start with 'imfilter: '"
	elif ! grep -qF "$in" "$T/stderr"; then
		echo "message does not name the file: $(cat "$T/stderr")"
	elif [ -n "$(ls -A "$OUT")" ]; then
		echo "left behind: $(ls -A "$OUT" | tr '\n' ' ')"
	fi
}

# report NAME COUNT WANT FAILURES: one line for a group of files.
report() {
	if [ "$2" -ne "$3" ]; then
		echo "FAIL: $1: $2 files, expected $3"
	elif [ -n "$4" ]; then
		echo "FAIL: $1:$4"
	else
		echo "PASS: $1"
	fi
}

# png_depth FILE: the bit depth byte of a PNG's IHDR.
png_depth() {
	od -An -tu1 -j24 -N1 "$1" | tr -d ' '
}

# ---- pngsuite: 161 valid files, 14 corrupt x* files --------------------------
n_ok=0 n_bad=0 f_ok= f_bad= f_16=
for f in "$TD"/pngsuite/*.png; do
	b=${f##*/}
	run "$f" png
	case $b in
	x*)
		n_bad=$((n_bad + 1))
		w=$(why_bad)
		[ -n "$w" ] && f_bad="$f_bad $b ($w);"
		;;
	*)
		n_ok=$((n_ok + 1))
		w=$(why_ok)
		if [ -n "$w" ]; then
			f_ok="$f_ok $b ($w);"
		else
			d=$(png_depth "$OUT/out.png")
			case $b in
			*16.png) [ "$d" = 16 ] || f_16="$f_16 $b (depth $d);" ;;
			*) [ "$d" = 8 ] || f_16="$f_16 $b (depth $d);" ;;
			esac
		fi
		;;
	esac
done
report "testdata pngsuite: valid files filter to PNG" "$n_ok" 161 "$f_ok"
report "testdata pngsuite: output keeps the input's 8 or 16 bits" "$n_ok" 161 "$f_16"
report "testdata pngsuite: x* files exit 65 with one line, no output" "$n_bad" 14 "$f_bad"

# ---- libpng crashers: all fail but empty_ancillary_chunks ------------------
n_bad=0 f_bad= f_ok=
for f in "$TD"/libpng-crashers/*.png; do
	b=${f##*/}
	run "$f" png
	if [ "$b" = empty_ancillary_chunks.png ]; then
		w=$(why_ok)
		[ -n "$w" ] && f_ok=" $b ($w);"
	else
		n_bad=$((n_bad + 1))
		w=$(why_bad)
		[ -n "$w" ] && f_bad="$f_bad $b ($w);"
	fi
done
report "testdata libpng-crashers: empty_ancillary_chunks.png decodes" 1 1 "$f_ok"
report "testdata libpng-crashers: 22 files exit 65 with one line, no output" "$n_bad" 22 "$f_bad"

# ---- jpeg: 12-bit and truncated files fail, the rest decode ------------------
n_ok=0 n_bad=0 f_ok= f_bad=
for f in "$TD"/jpeg/*.jpg; do
	b=${f##*/}
	run "$f" png
	case $b in
	ljt_testorig12.jpg | *truncated*)
		n_bad=$((n_bad + 1))
		w=$(why_bad)
		[ -n "$w" ] && f_bad="$f_bad $b ($w);"
		;;
	*)
		n_ok=$((n_ok + 1))
		w=$(why_ok)
		[ -n "$w" ] && f_ok="$f_ok $b ($w);"
		;;
	esac
done
report "testdata jpeg: 27 files decode and filter to PNG" "$n_ok" 27 "$f_ok"
report "testdata jpeg: 12-bit and truncated files exit 65 with one line, no output" \
	"$n_bad" 3 "$f_bad"

# ---- photo: decode, and the identity filter round-trips losslessly ----------
n_ok=0 f_ok=
for f in "$TD"/photo/*.png; do
	n_ok=$((n_ok + 1))
	run "$f" png
	w=$(why_ok)
	[ -n "$w" ] && f_ok="$f_ok ${f##*/} ($w);"
done
report "testdata photo: 3 files filter to PNG" "$n_ok" 3 "$f_ok"

# same_pixels IN EXT OPTIONS: IN through the identity filter into EXT, then
# both the original and the result to PNM, compared byte for byte.
same_pixels() {
	in=$1 ext=$2
	shift 2
	"$IMF" "$@" -k identity "$in" "$T/a.$ext" 2> "$T/stderr" &&
		"$IMF" --format pnm --depth 16 -k identity "$T/a.$ext" "$T/a.pnm" 2>> "$T/stderr" &&
		"$IMF" --format pnm --depth 16 -k identity "$in" "$T/b.pnm" 2>> "$T/stderr" &&
		cmp -s "$T/a.pnm" "$T/b.pnm"
}
for c in "coffee_299x199_rgb8.png png" "coffee_299x199_gray16.png png" \
	 "coffee_299x199_rgb8.png ppm" "coffee_299x199_gray16.png pgm"; do
	set -- $c
	if same_pixels "$TD/photo/$1" "$2"; then
		echo "PASS: testdata photo: $1 -> $2 with -k identity is lossless"
	else
		echo "FAIL: testdata photo: $1 -> $2 with -k identity is lossless: pixels differ $(head -n 1 "$T/stderr")"
	fi
done

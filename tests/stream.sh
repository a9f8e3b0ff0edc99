#!/bin/sh
# stream.sh: rows stream through bounded windows (job.c) and give the
# bytes the whole-image program gave.  tests/stream.ref holds, for each
# case, the first 16 hex digits of the SHA-256 of the PFM output, and the
# exit code, of imfilter as it was before rows streamed (commit a38658d,
# which held the image whole and filtered it in one piece): every engine
# option below is direct or separable, whose sums do not depend on where
# the image is cut.  Each case runs with each step's own strips and with
# strips of 1 and 7 rows (IMFILTER_STRIP_ROWS), on one and two threads.
# Toeplitz and FFT cut their tiles their own way: they give the same bytes
# for every strip size and -j, within the engines' tolerance of direct.
# Then the failures: a decode error midway must leave no output, with the
# -j 1 message and exit code.
IMF=${IMF:-./imfilter}
T=$(mktemp -d /tmp/imfilter-stream.XXXXXX)
MOUNTED=
trap '[ -z "$MOUNTED" ] || umount "$MOUNTED"; rm -rf "$T"' EXIT
S=../shared/testdata
P=$S/pngsuite
J=$S/jpeg
PHOTO=$S/photo/coffee_299x199_rgb8.png
PY=/usr/bin/python3

pass() { echo "PASS: $1"; }
fail() { echo "FAIL: $1: $2"; }
skip() { echo "SKIP: $1: $2"; }

printf 'origin 0 2\n1 2 1\n0 1 0\n-1 0 3\n' > "$T/shifted.kernel"
printf 'channels 3\n1 0 1\n---\n0 1 0\n---\n-1 0 2\n---\nbias 0.1\n1 0 0\n---\n2 0 1\n---\n0.5 0 0\n' \
	> "$T/cc.kernel"
# A general 31x31 kernel and a separable 21x21 one.
K31=$(awk 'BEGIN {printf "31x31:"; for (i = 0; i < 961; i++) printf " %d", (i * 7919) % 13 - 6; print ""}')
K31S=$(awk 'BEGIN {printf "21x21:"; for (i = 0; i < 21; i++) for (j = 0; j < 21; j++)
	printf " %d", ((i * 7) % 5 - 2) * ((j * 3) % 7 - 3); print ""}')

path() {
	case $1 in
	photo) echo "$PHOTO" ;;
	alpha) echo "$S/photo/coffee_299x199_rgba8_gradient_alpha.png" ;;
	gray16) echo "$S/photo/coffee_299x199_gray16.png" ;;
	interlaced) echo "$P/basi6a08.png" ;;
	progressive) echo "$J/coffee_progressive.jpg" ;;
	cmyk) echo "$J/coffee_cmyk_adobe.jpg" ;;
	esac
}

# run ARGS...: the case's PFM output into $T/out.pfm; sets rc.
run() {
	set -- $(echo "$*" | sed "s#SHIFTED#$T/shifted.kernel#; s#CC#$T/cc.kernel#")
	quoted=""
	for a in "$@"; do
		case $a in K31) a=$K31 ;; K31S) a=$K31S ;; esac
		quoted="$quoted '$a'"
	done
	eval "\"\$IMF\" $quoted -f pfm -" > "$T/out.pfm" 2> "$T/err"
	rc=$?
}

n=0 bad=0
while read -r sum code input args; do
	for rows in "" 1 7; do
		for j in 1 2; do
			n=$((n + 1))
			IMFILTER_STRIP_ROWS=$rows run -j $j $args "$(path "$input")"
			got=$(sha256sum < "$T/out.pfm" | cut -c1-16)
			if [ "$rc" != "$code" ] || [ "$got" != "$sum" ]; then
				fail "$input $args (strips ${rows:-auto}, -j $j)" \
					"exit $rc (expected $code), sum $got (expected $sum): $(head -c 300 "$T/err")"
				bad=$((bad + 1))
				continue 3
			fi
		done
	done
done < tests/stream.ref
[ $bad -eq 0 ] && pass "the whole-image program's bytes, in strips of any size ($n runs)"

# Toeplitz and FFT: the same bytes whatever the strips and threads, and
# within the engines' tolerance of direct (DESIGN.md: 1e-5 and 1e-4 of
# sum|k| max|x|; the kernels here have sum|k| <= 35, samples <= 1).
for e in toeplitz fft; do
	for args in "-k gaussian:2" "-k sobel -s full -b zero" "-k K31 -b mirror" \
		"-k gaussian:1 --stride 2 -s valid" "-k CC -b clamp" "-k sharpen -k box:3" \
		"-k box:7 -b mirror,const=0.5" "-k sharpen -b reflect,wrap"; do
		for input in photo alpha; do
			# CC takes three channels; along a zero border alpha falls
			# to 0, where dividing it out turns the engines' rounding
			# into colour (as it did before rows streamed).
			case "$args $input" in *CC*alpha | *zero*alpha) continue ;; esac
			run -e direct $args "$(path "$input")"
			mv "$T/out.pfm" "$T/direct.pfm"
			ref=""
			for rows in "" 1 7 64; do
				for j in 1 2; do
					IMFILTER_STRIP_ROWS=$rows run -e $e -j $j $args "$(path "$input")"
					got=$(sha256sum < "$T/out.pfm" | cut -c1-16)
					[ -z "$ref" ] && ref=$got && cp "$T/out.pfm" "$T/first.pfm"
					[ "$got" = "$ref" ] || break 2
				done
			done
			name="$e $args on $input"
			if [ "$rc" != 0 ] || [ "$got" != "$ref" ]; then
				fail "$name: the same bytes for any strip and -j" \
					"exit $rc, strips ${rows:-auto} -j $j differ: $(head -c 200 "$T/err")"
			elif ! why=$($PY - "$T/direct.pfm" "$T/first.pfm" "$e" <<'EOF2'
import sys
sys.path.insert(0, "tests")
from pfm import read_pfm
import numpy as np
a, b = read_pfm(sys.argv[1]), read_pfm(sys.argv[2])
tol = (1e-4 if sys.argv[3] == "fft" else 1e-5) * 35 * 1.5
d = float(np.max(np.abs(a.astype(np.float64) - b))) if a.shape == b.shape else float("inf")
print("shape %s vs %s, worst %.3g (tolerance %.3g)" % (a.shape, b.shape, d, tol))
sys.exit(0 if d <= tol else 1)
EOF2
); then
				fail "$name: within tolerance of direct" "$why"
			else
				pass "$name: strips and -j give one result, $why"
			fi
		done
	done
done

# Per-axis borders (-b X,Y) came after the whole-image program: direct
# gives one result for every strip size and -j.
for args in "-k box:7 -b mirror,const=0.5" "-k K31 -b zero,clamp -s full" "-k sobel -b reflect,mirror"; do
	ref=""
	for rows in "" 1 7; do
		for j in 1 2; do
			IMFILTER_STRIP_ROWS=$rows run -e direct -j $j $args "$PHOTO"
			got=$(sha256sum < "$T/out.pfm" | cut -c1-16)
			[ -z "$ref" ] && ref=$got
			[ "$rc" = 0 ] && [ "$got" = "$ref" ] || break 2
		done
	done
	[ "$rc" = 0 ] && [ "$got" = "$ref" ] && pass "direct $args: one result for any strip and -j" ||
		fail "direct $args: one result for any strip and -j" "exit $rc, strips ${rows:-auto} -j $j differ"
done

# -v says how each step streamed.
"$IMF" -v -j 2 -k sharpen -k blur "$PHOTO" "$T/v.png" 2> "$T/log"
if [ "$(grep -c 'strip.*overlapped with decoding and encoding' "$T/log")" -eq 2 ]; then
	pass "-v: each step says how it streamed"
else
	fail "-v: each step says how it streamed" "$(cat "$T/log")"
fi
IMFILTER_STRIP_ROWS=8 "$IMF" -v -j 2 -k sharpen "$P/basn2c08.png" "$T/v.jpg" 2> "$T/log"
grep -q '4 strips of 8 rows' "$T/log" && pass "-v: 32x32 in 4 strips of 8 rows" ||
	fail "-v: 32x32 in 4 strips of 8 rows" "$(cat "$T/log")"
IMFILTER_STRIP_ROWS=x "$IMF" -k sharpen "$PHOTO" "$T/v.png" 2> "$T/log"
[ $? -eq 64 ] && grep -q 'IMFILTER_STRIP_ROWS=x' "$T/log" && pass "IMFILTER_STRIP_ROWS=x: 64" ||
	fail "IMFILTER_STRIP_ROWS=x: 64" "$(cat "$T/log")"

# Failures while streaming: the serial path's message and code, no output.
# A file cut in the middle of its image data, and one whose Adler-32 (read
# after the last row) is wrong.
# A PNG of noise is three IDAT chunks of 1 MB: a byte flipped in the middle
# one fails its CRC when half the rows are decoded (and filtered, and
# deflated); a JPEG cut in half runs out of data there.
{ printf 'P6\n1000 800\n255\n'; head -c 2400000 /dev/urandom; } > "$T/noise.ppm"
"$IMF" -k identity "$T/noise.ppm" "$T/big.png"
cp "$T/big.png" "$T/crc.png"
printf 'x' | dd of="$T/crc.png" bs=1 seek=$(($(wc -c < "$T/big.png") / 2)) conv=notrunc 2> /dev/null
"$IMF" -k identity -s full -b wrap -k 'box:40' "$PHOTO" "$T/big.jpg"
head -c $(($(wc -c < "$T/big.jpg") / 2)) "$T/big.jpg" > "$T/half.jpg"
for f in "$T/crc.png" "$T/half.jpg" "$S/libpng-crashers/badadler.png" \
	"$J/coffee_truncated_midscan.jpg" "$J/coffee_progressive_truncated.jpg"; do
	for ext in png jpg; do
		name="$(basename "$f") to .$ext"
		"$IMF" -j 1 -k sharpen "$f" "$T/serial.$ext" 2> "$T/err1"
		rc1=$?
		rm -f "$T/out.$ext"
		"$IMF" -j 2 -k sharpen "$f" "$T/out.$ext" 2> "$T/err2"
		rc2=$?
		if [ $rc1 -eq 0 ] || [ $rc2 -ne $rc1 ]; then
			fail "$name: exit $rc1 serially, $rc2 overlapped" "$(cat "$T/err1" "$T/err2")"
		elif [ "$(wc -l < "$T/err2")" -ne 1 ] || [ "$(sed "s/serial/out/" "$T/err1")" != "$(cat "$T/err2")" ]; then
			fail "$name: the serial message" "$(cat "$T/err1" "$T/err2")"
		elif [ -e "$T/out.$ext" ] || ls -a "$T" | grep -q '^\.out\.'; then
			fail "$name: no output" "$(ls -a "$T")"
		else
			pass "$name: exit $rc2, one line, no output"
		fi
	done
done
# Accepted damage is decoded, with the warning, the same bytes either way.
"$IMF" -j 1 --accept-damaged -k sharpen "$T/half.jpg" "$T/a.png" 2> "$T/err1"
rc1=$?
IMFILTER_STRIP_ROWS=3 "$IMF" -j 2 --accept-damaged -k sharpen "$T/half.jpg" "$T/b.png" 2> "$T/err2"
if [ $rc1 -eq 0 ] && [ $? -eq 0 ] && cmp -s "$T/a.png" "$T/b.png" &&
	grep -q 'warning: damaged data decoded anyway' "$T/err2"; then
	pass "--accept-damaged: identical, with the warning"
else
	fail "--accept-damaged: identical, with the warning" "$(cat "$T/err1" "$T/err2")"
fi
# An output that cannot be created, from a good input: 73, no file.  Root
# ignores permission bits (CI runs as root), so there the directory is a
# read-only bind mount; where that cannot be made either, a SKIP line.
mkdir "$T/ro"
chmod 555 "$T/ro"
ro=$T/ro
if [ "$(id -u)" = 0 ]; then
	ro=
	mkdir "$T/ro-mnt"
	if mount --bind "$T/ro" "$T/ro-mnt" 2>/dev/null; then
		MOUNTED=$T/ro-mnt
		mount -o remount,bind,ro "$T/ro-mnt" 2>/dev/null && ro=$T/ro-mnt
	fi
fi
if [ -n "$ro" ]; then
	"$IMF" -j 2 -k sharpen "$PHOTO" "$ro/out.png" 2> "$T/err2"
	rc=$?
	[ $rc -eq 73 ] && [ ! -e "$ro/out.png" ] && pass "unwritable directory: 73" ||
		fail "unwritable directory: 73" "exit $rc: $(cat "$T/err2")"
else
	skip "unwritable directory: 73" "root, and no read-only bind mount could be made"
fi
"$IMF" -j 2 -k sharpen "$PHOTO" "$T/nodir/out.png" 2> "$T/err2"
rc=$?
[ $rc -eq 73 ] && grep -q 'nodir/out.png' "$T/err2" && pass "missing directory: 73" ||
	fail "missing directory: 73" "exit $rc: $(cat "$T/err2")"

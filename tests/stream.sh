#!/bin/sh
# stream.sh: the overlapped whole command (stream.c) gives the bytes of the
# serial one.  With -j 1 imfilter decodes, filters and encodes one after the
# other; with -j 2 it decodes on one thread while the rows already decoded
# are filtered in strips and encoded.  A strip that read rows before the
# decoder had written them (still zero) or results before they were copied
# back would change the output, so every pair is compared byte for byte:
# many sizes (1x1 to photo), shapes of image (grey, grey+alpha, RGB, RGBA,
# 16-bit, palette, interlaced PNG, progressive and CMYK JPEG), kernels
# (odd, even, separable, banks, larger than the image, a shifted origin)
# and borders.  Then the failures: a decode error midway must leave no
# output, with the serial path's message and exit code.
IMF=${IMF:-./imfilter}
T=$(mktemp -d /tmp/imfilter-stream.XXXXXX)
trap 'rm -rf "$T"' EXIT
S=../shared/testdata
P=$S/pngsuite
J=$S/jpeg
PHOTO=$S/photo/coffee_299x199_rgb8.png

pass() { echo "PASS: $1"; }
fail() { echo "FAIL: $1: $2"; }

printf 'origin 0 2\n1 2 1\n0 1 0\n-1 0 3\n' > "$T/shifted.kernel"
# A general 31x31 kernel: larger than the small images, strips of 62 rows on the photo.
awk 'BEGIN {printf "31x31:"; for (i = 0; i < 961; i++) printf " %d", (i * 7919) % 13 - 6; print ""}' \
	> "$T/k31.spec"
K31=$(cat "$T/k31.spec")

inputs="$PHOTO $S/photo/coffee_299x199_gray16.png $S/photo/coffee_299x199_rgba8_gradient_alpha.png
$P/basn0g08.png $P/basn0g16.png $P/basn2c16.png $P/basn3p04.png $P/basn4a08.png $P/basn6a16.png
$P/basi0g08.png $P/basi2c08.png $P/basi6a08.png $P/tbrn2c08.png $P/s01n3p01.png $P/s09i3p02.png
$P/s39n3p04.png $P/exif2c08.png
$J/coffee_baseline_420.jpg $J/coffee_progressive.jpg $J/coffee_gray_progressive.jpg
$J/coffee_cmyk_adobe.jpg $J/odd_17x9_420.jpg $J/strip_1x199.jpg $J/strip_299x1.jpg $J/tiny_1x1.jpg"
kernels="sharpen gaussian:1.5 box:4 2x2:1,2,3,4 sobel $T/shifted.kernel k31"
borders="reflect mirror clamp zero const=0.25"

# same NAME ARGS...: the serial and the overlapped run agree (and both succeed).
same() {
	name=$1
	shift
	if ! "$IMF" -j 1 "$@" "$T/a.$ext" 2> "$T/err1"; then
		fail "$name" "serial run failed: $(cat "$T/err1")"
	elif ! "$IMF" -j 2 "$@" "$T/b.$ext" 2> "$T/err2"; then
		fail "$name" "overlapped run failed: $(cat "$T/err2")"
	elif ! cmp -s "$T/a.$ext" "$T/b.$ext"; then
		fail "$name" "outputs differ"
	else
		return 0
	fi
	return 1
}

n=0 bad=0
for f in $inputs; do
	for k in $kernels; do
		set -- $borders
		shift $((n % 5))
		b=$1
		for ext in png jpg; do
			n=$((n + 1))
			spec=$k
			[ "$k" = k31 ] && spec=$K31
			same "$(basename "$f") -k $k -b $b .$ext" -b "$b" -k "$spec" "$f" || bad=$((bad + 1))
		done
	done
done
[ $bad -eq 0 ] && pass "serial and overlapped outputs identical ($n runs)"

# Options that change what the strips do.
ext=png
for opts in "--channels rgb -k sharpen" "--channels g -k blur" "--channels a -k blur" \
	"--alpha separate -k unsharp" "--abs --offset 0.5 -k edge" "--bias 0.1 -k blur" \
	"--correlate -k $T/shifted.kernel" "-e direct -k gaussian:2" "-e separable -k gaussian:2" \
	"-d 16 -k sharpen" "-b const=1 -k box:7" "--scale auto -k emboss" "-k gaussian:3,31" \
	"-b mirror,const=0.5 -k box:7"; do
	for f in $PHOTO $S/photo/coffee_299x199_rgba8_gradient_alpha.png; do
		case "$opts $f" in *"channels a"*rgb8*) continue ;; esac
		# shellcheck disable=SC2086
		same "$(basename "$f") $opts" $opts "$f" && pass "$(basename "$f") $opts: identical"
	done
done
ext=jpg
same "-q 75 .jpg" -q 75 -k unsharp "$PHOTO" && pass "-q 75 jpeg: identical"

# The photo is streamed (the log says so) and so is a 32x32 PNG; a kernel
# with rows for only one strip, and standard output, are not.
"$IMF" -v -j 2 -k sharpen "$PHOTO" "$T/v.png" 2> "$T/log"
if grep -q 'engine direct, .* strips of .* overlapped' "$T/log"; then
	pass "-v: the photo was filtered in strips"
else
	fail "-v: the photo was filtered in strips" "$(cat "$T/log")"
fi
"$IMF" -v -j 2 -k sharpen "$P/basn2c08.png" "$T/v.jpg" 2> "$T/log"
grep -q 'strips of 8 rows' "$T/log" && pass "-v: 32x32 in strips of 8 rows" ||
	fail "-v: 32x32 in strips of 8 rows" "$(cat "$T/log")"
"$IMF" -v -j 2 -k "$K31" "$P/basn2c08.png" "$T/v.png" 2> "$T/log"
grep -q 'overlapped' "$T/log" && fail "31x31 on 32x32: one step after another" "$(cat "$T/log")" ||
	pass "31x31 on 32x32: one step after another"

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
ext=png
same "--accept-damaged" --accept-damaged -k sharpen "$T/half.jpg" &&
	grep -q 'warning: damaged data decoded anyway' "$T/err2" &&
	pass "--accept-damaged: identical, with the warning"
# An output that cannot be created, from a good input: 73, no file.
mkdir "$T/ro"
chmod 555 "$T/ro"
if [ "$(id -u)" != 0 ]; then
	"$IMF" -j 2 -k sharpen "$PHOTO" "$T/ro/out.png" 2> "$T/err2"
	rc=$?
	[ $rc -eq 73 ] && [ ! -e "$T/ro/out.png" ] && pass "unwritable directory: 73" ||
		fail "unwritable directory: 73" "exit $rc: $(cat "$T/err2")"
fi
"$IMF" -j 2 -k sharpen "$PHOTO" "$T/nodir/out.png" 2> "$T/err2"
rc=$?
[ $rc -eq 73 ] && grep -q 'nodir/out.png' "$T/err2" && pass "missing directory: 73" ||
	fail "missing directory: 73" "exit $rc: $(cat "$T/err2")"

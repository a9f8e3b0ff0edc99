#!/bin/sh
# color.sh: --linear, --abs and --offset on hand-checked pixels.
IMF=${IMF:-./imfilter}
T=$(mktemp -d /tmp/imfilter-color.XXXXXX)
trap 'rm -rf "$T"' EXIT
pass() { echo "PASS: $1"; }
fail() { echo "FAIL: $1: $2"; }
# pixels FILE: the samples of a binary PNM as decimal numbers, header dropped.
pixels() { tail -c "$2" "$1" | od -An -tu1 | tr -s ' \n' ' ' | sed 's/^ //; s/ $//'; }

# A saturated red | green edge, averaged across: in sRGB numbers the middle
# is a dark (128, 128, 0); in linear light it is (188, 188, 0), the
# brightness the eye expects from mixing the two lights.
printf 'P6\n2 1\n255\n\377\000\000\000\377\000' > "$T/rg.ppm"
got=$($IMF -k '2x1: 1/2 1/2' -b clamp -f pnm "$T/rg.ppm" - > "$T/a.ppm" && pixels "$T/a.ppm" 6)
[ "$got" = "128 128 0 0 255 0" ] && pass "sRGB average of red and green is 128 128 0" ||
	fail "sRGB average of red and green is 128 128 0" "$got"
got=$($IMF --linear -k '2x1: 1/2 1/2' -b clamp -f pnm "$T/rg.ppm" - > "$T/b.ppm" && pixels "$T/b.ppm" 6)
[ "$got" = "188 188 0 0 255 0" ] && pass "--linear average of red and green is 188 188 0" ||
	fail "--linear average of red and green is 188 188 0" "$got"
# --linear with the identity is lossless for 8-bit input.
$IMF --linear -k identity ../shared/testdata/photo/coffee_299x199_rgb8.png -f pnm - > "$T/l.ppm"
$IMF -k identity ../shared/testdata/photo/coffee_299x199_rgb8.png -f pnm - > "$T/i.ppm"
[ -s "$T/l.ppm" ] && cmp -s "$T/l.ppm" "$T/i.ppm" && pass "--linear round trip is exact for 8-bit samples" ||
	fail "--linear round trip is exact for 8-bit samples" "differs"

# A grey step 0 0 1 1: a gradient kernel gives a signed result on the edge.
printf 'P5\n4 1\n255\n\000\000\377\377' > "$T/step.pgm"
got=$($IMF -k '3x1: -1 0 1' -b clamp -f pnm "$T/step.pgm" - > "$T/c.pgm" && pixels "$T/c.pgm" 4)
[ "$got" = "0 0 0 0" ] && pass "convolution of a rising step by -1 0 1 is negative, clamped to 0" ||
	fail "convolution of a rising step by -1 0 1 is negative, clamped to 0" "$got"
got=$($IMF --abs -k '3x1: -1 0 1' -b clamp -f pnm "$T/step.pgm" - > "$T/d.pgm" && pixels "$T/d.pgm" 4)
[ "$got" = "0 255 255 0" ] && pass "--abs keeps the edge's strength" || fail "--abs keeps the edge's strength" "$got"
got=$($IMF --offset 0.5 -k '3x1: -1/2 0 1/2' -b clamp -f pnm "$T/step.pgm" - > "$T/e.pgm" && pixels "$T/e.pgm" 4)
[ "$got" = "128 0 0 128" ] && pass "--offset 0.5 shows the signed result around mid-grey" ||
	fail "--offset 0.5 shows the signed result around mid-grey" "$got"
got=$($IMF --correlate --offset 0.5 -k '3x1: -1/2 0 1/2' -b clamp -f pnm "$T/step.pgm" - > "$T/f.pgm" && pixels "$T/f.pgm" 4)
[ "$got" = "128 255 255 128" ] && pass "--correlate --offset 0.5 gives the rising edge above grey" ||
	fail "--correlate --offset 0.5 gives the rising edge above grey" "$got"
# The library's gradient kernels give a rising edge a positive sign, as
# textbooks' Sobel and OpenCV's Sobel do: sobel-x on a step rising to the
# right, sobel-y on one rising downwards (the step turned to a column).
printf 'P5\n1 4\n255\n\000\000\377\377' > "$T/vstep.pgm"
for k in sobel-x:step prewitt-x:step sobel-y:vstep prewitt-y:vstep; do
	got=$($IMF -k "${k%%:*}" --offset 0.5 --scale 8 -b clamp -f pnm "$T/${k#*:}.pgm" - > "$T/g.pgm" && pixels "$T/g.pgm" 4)
	case $got in
	"128 "[1-9]*" "[1-9]*" 128") pass "${k%%:*} is positive on a rising edge ($got)" ;;
	*) fail "${k%%:*} is positive on a rising edge" "$got" ;;
	esac
done
exit 0

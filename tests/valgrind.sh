#!/bin/sh
# valgrind.sh: a whole run is free of memory errors and leaks, for a PNG and
# a JPEG, on success and on a failure path.
T=$(mktemp -d /tmp/imfilter-vg.XXXXXX)
trap 'rm -rf "$T"' EXIT
S=../shared/testdata
if ! command -v valgrind > /dev/null; then
	echo "FAIL: valgrind: not installed (make deps installs it)"
	exit 1
fi
vg() {
	name=$1; want=$2; shift 2
	valgrind -q --leak-check=full --show-leak-kinds=definite,indirect,possible \
		--errors-for-leak-kinds=definite,indirect,possible --error-exitcode=99 \
		"${IMF:-./imfilter}" "$@" > /dev/null 2> "$T/log"
	rc=$?
	if [ $rc -eq "$want" ] && ! grep -q '^==' "$T/log"; then
		echo "PASS: valgrind: $name"
	else
		echo "FAIL: valgrind: $name: exit $rc: $(grep '^==' "$T/log" | head -5 | tr '\n' ' ')"
	fi
}
vg "sharpen a PNG" 0 -k sharpen $S/photo/coffee_299x199_rgb8.png "$T/out.png"
vg "sharpen a JPEG" 0 -k sharpen $S/jpeg/coffee_baseline_420.jpg "$T/out.jpg"
vg "sobel bank on RGBA to 16-bit PNG" 0 -k sobel -d 16 $S/photo/coffee_299x199_rgba8_gradient_alpha.png "$T/out16.png"
vg "truncated JPEG (error path)" 65 -k sharpen $S/jpeg/coffee_truncated_midscan.jpg "$T/bad.png"
vg "corrupt PNG (error path)" 65 -k sharpen $S/pngsuite/xcsn0g01.png "$T/bad.png"
vg "bad kernel (error path)" 64 -k no-such-kernel $S/photo/coffee_299x199_rgb8.png "$T/bad.png"

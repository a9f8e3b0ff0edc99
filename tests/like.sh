#!/bin/sh
# like.sh: --like PEER against the real peers (see like.py), -b X,Y, combine
# sumabs and --output-size against SciPy, libvips and PyTorch; then the
# command-line errors of these options.
IMF=${IMF:-./imfilter}
if ! /usr/bin/python3 -c 'import numpy' 2>/dev/null; then
	echo "FAIL: like: /usr/bin/python3 with numpy is missing (make deps installs it)"
	exit 1
fi
/usr/bin/python3 tests/like.py "$IMF"

T=$(mktemp -d /tmp/imfilter-like.XXXXXX)
trap 'rm -rf "$T"' EXIT
S=samples/camera.png
# expect CODE PATTERN ARGS...: the exit code and the one stderr line.
expect() {
	code=$1; pat=$2; shift 2
	"$IMF" "$@" > /dev/null 2> "$T/err"
	rc=$?
	name=$(printf '%s' "imfilter $*" | sed "s|$T/||g")
	if [ -z "$pat" ]; then
		[ ! -s "$T/err" ]
	else
		grep -q -- "$pat" "$T/err" && [ "$(wc -l < "$T/err")" -eq 1 ]
	fi
	ok=$?
	if [ "$rc" -eq "$code" ] && [ "$ok" -eq 0 ]; then
		echo "PASS: like: exit $code: $name"
	else
		echo "FAIL: like: $name: exit $rc (expected $code): $(cat "$T/err")"
	fi
}
expect 64 'expected matlab, opencv, scipy, torch or vips' --like octave -k blur "$S" "$T/o.png"
expect 64 'only with --transpose' --output-size 9x9 -k blur "$S" "$T/o.png"
expect 64 'expected WxH' --output-size 9 --transpose -k blur "$S" "$T/o.png"
expect 64 'run from 512x512 to 512x512' --output-size 511x512 --transpose -k blur "$S" "$T/o.png"
expect 64 'two constants must be equal' -b const=0.1,const=0.2 -k blur "$S" "$T/o.png"
expect 64 'unknown border mode "sideways"' -b clamp,sideways -k blur "$S" "$T/o.png"
expect 64 '"abc" is not a number' -b const=abc -k blur "$S" "$T/o.png"
expect 0 '' --like torch -b reflect,wrap -k '4x4: 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16' "$S" "$T/o.png"

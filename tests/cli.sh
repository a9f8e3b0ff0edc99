#!/bin/sh
# cli.sh: command-line behaviour as a table: exit code, arguments, and the
# pattern of the one line expected on stderr; each bad input must leave no
# output file (and no temporary file) behind.
IMF=${IMF:-./imfilter}
T=$(mktemp -d /tmp/imfilter-cli.XXXXXX)
trap 'rm -rf "$T"' EXIT
S=../shared/testdata
PHOTO=$S/photo/coffee_299x199_rgb8.png

pass() { echo "PASS: $1"; }
fail() { echo "FAIL: $1: $2"; }

# Fixtures: a text file, a truncated PNG and JPEG, a bad kernel file.
echo "hello" > "$T/text.png"
head -c 3000 "$PHOTO" > "$T/trunc.png"
head -c 5000 "$S/jpeg/coffee_baseline_444.jpg" > "$T/trunc.jpg"
printf '1 2 3\n4 x 6\n7 8 9\n' > "$T/bad.kernel"
printf '1 2 3\n4 5\n' > "$T/ragged.kernel"
: > "$T/empty.png"

# expect CODE PATTERN ARGS...: runs imfilter with output $T/out.png unless
# the arguments name another; checks the code, one stderr line matching
# PATTERN, and that no output or temporary file exists.
expect() {
	code=$1; pat=$2; shift 2
	rm -f "$T/out.png"
	"$IMF" "$@" > "$T/stdout" 2> "$T/stderr"
	rc=$?
	name="exit $code: imfilter $*"
	lines=$(wc -l < "$T/stderr")
	if [ "$rc" -ne "$code" ]; then
		fail "$name" "exit $rc, stderr: $(head -c 300 "$T/stderr")"
	elif [ "$code" -ne 0 ] && [ "$lines" -ne 1 ]; then
		fail "$name" "$lines lines on stderr: $(head -c 300 "$T/stderr")"
	elif [ "$code" -ne 0 ] && ! grep -Eq -- "^imfilter: .*$pat" "$T/stderr"; then
		fail "$name" "stderr does not match /$pat/: $(cat "$T/stderr")"
	elif [ "$code" -ne 0 ] && [ -e "$T/out.png" ]; then
		fail "$name" "an output file was written"
	elif ls -a "$T" | grep -q '^\.out\.png\.'; then
		fail "$name" "a temporary file was left: $(ls -a "$T")"
	else
		pass "$name"
	fi
}

expect 0 '' -k sharpen "$PHOTO" "$T/out.png"
expect 66 'missing\.png: No such file' -k sharpen "$T/missing.png" "$T/out.png"
expect 65 'text\.png' -k sharpen "$T/text.png" "$T/out.png"
expect 65 'empty\.png' -k sharpen "$T/empty.png" "$T/out.png"
expect 65 'trunc\.png' -k sharpen "$T/trunc.png" "$T/out.png"
expect 65 'trunc\.jpg' -k sharpen "$T/trunc.jpg" "$T/out.png"
expect 65 'truncated_midscan\.jpg: Premature end of JPEG file .--accept-damaged' \
	-k sharpen "$S/jpeg/coffee_truncated_midscan.jpg" "$T/out.png"
expect 65 'badcrc\.png' -k sharpen "$S/libpng-crashers/badcrc.png" "$T/out.png"
expect 65 'xcsn0g01\.png' -k sharpen "$S/pngsuite/xcsn0g01.png" "$T/out.png"
expect 65 'bad\.kernel:2:3: expected a number' -k "$T/bad.kernel" "$PHOTO" "$T/out.png"
expect 65 'ragged\.kernel:2' -k "$T/ragged.kernel" "$PHOTO" "$T/out.png"
expect 66 'nokernel\.kernel' -k "$T/nokernel.kernel" "$PHOTO" "$T/out.png"
expect 64 'unknown kernel' -k no-such-kernel "$PHOTO" "$T/out.png"
expect 64 'unknown option --frobnicate' --frobnicate -k sharpen "$PHOTO" "$T/out.png"
expect 64 'unknown option -Z' -Z -k sharpen "$PHOTO" "$T/out.png"
expect 64 'needs an argument' -k
expect 64 'expected INPUT and OUTPUT' -k sharpen "$PHOTO"
expect 64 'too many arguments' -k sharpen "$PHOTO" "$T/out.png" extra
expect 64 'no kernel' "$PHOTO" "$T/out.png"
expect 64 'unknown engine "warp"' -e warp -k sharpen "$PHOTO" "$T/out.png"
expect 64 'unknown border mode' -b sideways -k sharpen "$PHOTO" "$T/out.png"
expect 64 'unknown shape' -s round -k sharpen "$PHOTO" "$T/out.png"
expect 64 'quality' -q 0 -k sharpen "$PHOTO" "$T/out.png"
expect 64 'quality' -q 101 -k sharpen "$PHOTO" "$T/out.png"
expect 64 'png-compression 10: expected fast or 0 to 9' --png-compression 10 -k sharpen "$PHOTO" "$T/out.png"
expect 64 'png-compression x' --png-compression x -k sharpen "$PHOTO" "$T/out.png"
expect 0 '' --png-compression 9 -k sharpen "$PHOTO" "$T/out.png"
expect 64 'depth' -d 12 -k sharpen "$PHOTO" "$T/out.png"
expect 64 'threads' -j 0 -k sharpen "$PHOTO" "$T/out.png"
expect 64 'scale' --scale 0 -k sharpen "$PHOTO" "$T/out.png"
expect 64 'bias' --bias nan -k sharpen "$PHOTO" "$T/out.png"
expect 64 'unknown format' -f gif -k sharpen "$PHOTO" "$T/out.png"
expect 64 'cannot tell the output format' -k sharpen "$PHOTO" "$T/out.xyz"
expect 64 'needs --format' -k sharpen "$PHOTO" -
expect 64 "no channel 'q'" -c q -k sharpen "$PHOTO" "$T/out.png"
expect 64 "no channel 'a'" -c a -k sharpen "$PHOTO" "$T/out.png"
expect 65 'larger than' -s valid -k box:9 "$S/jpeg/tiny_1x1.jpg" "$T/out.png"
expect 73 'nodir' -k sharpen "$PHOTO" "$T/nodir/out.png"

# --accept-damaged: the truncated JPEG is written, with one warning line.
"$IMF" --accept-damaged -k sharpen "$S/jpeg/coffee_truncated_midscan.jpg" "$T/damaged.png" 2> "$T/err.log"
rc=$?
if [ $rc -eq 0 ] && [ -s "$T/damaged.png" ] && [ "$(wc -l < "$T/err.log")" -eq 1 ] &&
	grep -q 'coffee_truncated_midscan\.jpg: warning: damaged data decoded anyway: Premature end' "$T/err.log"; then
	pass "--accept-damaged decodes a truncated JPEG with one warning"
else
	fail "--accept-damaged decodes a truncated JPEG with one warning" "exit $rc: $(cat "$T/err.log")"
fi
rm -f "$T/damaged.png"
expect 65 'gaussian' -k gaussian:-1 "$PHOTO" "$T/out.png"
expect 65 '"3x3: 1 2"' -k "3x3: 1 2" "$PHOTO" "$T/out.png"

# --help, --version: stdout, exit 0, nothing on stderr.
if $IMF --help > "$T/help" 2> "$T/stderr" && [ ! -s "$T/stderr" ] && grep -q '^usage: imfilter' "$T/help"; then
	pass "--help prints usage to stdout"
else
	fail "--help prints usage to stdout" "$(cat "$T/stderr")"
fi
if $IMF --version | grep -Eq '^imfilter [0-9]+\.[0-9]+'; then
	pass "--version"
else
	fail "--version" "$($IMF --version 2>&1)"
fi

# An existing output is untouched by a failed run.
cp "$PHOTO" "$T/keep.png"
$IMF -k sharpen "$T/trunc.png" "$T/keep.png" 2>/dev/null
if cmp -s "$PHOTO" "$T/keep.png"; then
	pass "failed run leaves an existing output intact"
else
	fail "failed run leaves an existing output intact" "keep.png changed"
fi

# Output path = input path is refused, and works with --in-place (the input
# is read whole first).
cp "$PHOTO" "$T/same.png"
if ! $IMF -k blur "$T/same.png" "$T/same.png" 2>/dev/null && cmp -s "$PHOTO" "$T/same.png" &&
   $IMF --in-place -k blur "$T/same.png" "$T/same.png" && ! cmp -s "$PHOTO" "$T/same.png" &&
   $IMF -k identity "$T/same.png" "$T/check.png"; then
	pass "output path = input path: refused, then --in-place"
else
	fail "output path = input path: refused, then --in-place" "failed"
fi

# stdin to stdout, and a pipe through itself.
if $IMF -k blur --format pnm - - < "$PHOTO" | $IMF -k sharpen - "$T/piped.png" &&
   [ -s "$T/piped.png" ]; then
	pass "stdin to stdout pipe"
else
	fail "stdin to stdout pipe" "failed"
fi

# The identity kernel round-trips an 8-bit PNG exactly (compare as PNM).
$IMF -k identity "$PHOTO" "$T/id.png" && $IMF -k identity -f pnm "$PHOTO" - > "$T/a.pnm" &&
	$IMF -k identity -f pnm "$T/id.png" - > "$T/b.pnm"
if cmp -s "$T/a.pnm" "$T/b.pnm"; then
	pass "identity round trip is exact"
else
	fail "identity round trip is exact" "pixels differ"
fi

# -k is repeatable: blur then sharpen equals the two runs chained.
$IMF -k blur -k sharpen -f pfm "$PHOTO" "$T/chain.pfm" &&
	$IMF -k blur -f pfm "$PHOTO" "$T/step.pfm" && $IMF -k sharpen -f pfm "$T/step.pfm" "$T/step2.pfm"
if cmp -s "$T/chain.pfm" "$T/step2.pfm"; then
	pass "-k chains kernels in order"
else
	fail "-k chains kernels in order" "differs from two runs"
fi

# -v says which engine ran.
if $IMF -v -e direct -k sharpen "$PHOTO" "$T/v.png" 2>&1 | grep -q "engine direct"; then
	pass "-v names the engine"
else
	fail "-v names the engine" "$($IMF -v -k sharpen "$PHOTO" "$T/v.png" 2>&1)"
fi
exit 0

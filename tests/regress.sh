#!/bin/sh
# regress.sh: every input kept in tests/regress/ (what the fuzzers and the
# hostile-input tests found) through ./imfilter: the exit code expected
# below, exactly one stderr line matching the pattern, and no output or
# temporary file.  tests/regress/TARGET/ holds the inputs of fuzz target
# TARGET: images (png, jpeg, pnm), kernel files (kernel), -k specs (inline)
# and argument lists, one argument a line (cli).  unit_fuzz replays the
# same files through the fuzz targets themselves.
IMF=${IMF:-./imfilter}
T=$(mktemp -d /tmp/imfilter-regress.XXXXXX) || exit 70
trap 'rm -rf "$T"' EXIT
trap 'exit 70' INT TERM
R=tests/regress
PHOTO=../shared/testdata/photo/coffee_299x199_rgb8.png

# The expected outcome of each file: PATH CODE PATTERN.  Where they came from:
# pnm/*: fuzz_pnm found the PNM decoder reading past a file of under two
#   bytes (its message printed two bytes of the type); the PFM decoder had
#   the same flaw.  The CLI never calls them so (io.c needs the magic first).
# png/idat-tail-bomb.png: hostile.sh: a 1x1 image followed by 24 MB of
#   compressed zeros, which libpng inflated whole (4 GB took 13 s).
# jpeg/truncated-app1-leak: fuzz_jpeg: a file that ends inside an APP1
#   payload leaked the marker reader's buffer (libjpeg's longjmp).
expected() {
	cat <<'TABLE'
pnm/empty 65 empty file
pnm/one-byte-P 65 not a PNG, JPEG, PNM, PFM or TIFF image
pnm/pfm-magic-only 65 malformed header
png/idat-tail-bomb.png 65 too much compressed image data
jpeg/truncated-app1-leak 65 Premature end of JPEG file
TABLE
}

# run FILE: runs imfilter the way FILE's target calls for.
run() {
	case $1 in
	$R/png/* | $R/jpeg/* | $R/pnm/*)
		"$IMF" -k identity "$1" "$T/out.png" ;;
	$R/kernel/*)
		"$IMF" -k "$1" "$PHOTO" "$T/out.png" ;;
	$R/inline/*)
		"$IMF" -k "$(cat "$1")" "$PHOTO" "$T/out.png" ;;
	$R/cli/*)
		# As fuzz_cli: the lines, then an input that does not exist.
		set --
		while IFS= read -r a || [ -n "$a" ]; do set -- "$@" "$a"; done < "$1"
		"$IMF" "$@" "$T/no-such-input.png" "$T/out.png" ;;
	esac > /dev/null 2> "$T/err"
}

n=0
for f in $R/*/*; do
	[ -f "$f" ] || continue
	n=$((n + 1))
	rel=${f#$R/}
	line=$(expected | awk -v f="$rel" '$1 == f')
	if [ -z "$line" ]; then
		echo "FAIL: regress: $rel: no expected outcome in tests/regress.sh"
		continue
	fi
	code=$(echo "$line" | awk '{ print $2 }')
	pat=$(echo "$line" | cut -d' ' -f3-)
	rm -f "$T/out.png"
	run "$f"
	rc=$?
	lines=$(awk 'END { print NR }' "$T/err")
	if [ "$rc" -ne "$code" ]; then
		echo "FAIL: regress: $rel: exit $rc (want $code): $(head -c 300 "$T/err")"
	elif [ "$code" -ne 0 ] && { [ "$lines" -ne 1 ] || ! grep -q "^imfilter: .*$pat" "$T/err"; }; then
		echo "FAIL: regress: $rel: stderr is not one line matching /$pat/: $(head -c 300 "$T/err")"
	elif [ "$code" -ne 0 ] && [ -n "$(ls -A "$T" | grep 'out\.png')" ]; then
		echo "FAIL: regress: $rel: an output or temporary file was left"
	else
		echo "PASS: regress: $rel: exit $rc"
	fi
done
[ $n -gt 0 ] || echo "FAIL: regress: no file in $R"

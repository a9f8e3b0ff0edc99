#!/bin/sh
# defaults.sh: the defaults a user gets without naming them, each checked
# against the option that names it, so that a changed default fails here
# (every other test names its mode):
# - --alpha: premultiply, on an RGBA photo with a gradient alpha (the same
#   bytes as --alpha premultiply, not those of --alpha separate);
# - JPEG chroma: 4:4:4 (every component sampled 1x1) at the default
#   quality 90 and above, 4:2:0 below (the SOF marker read here);
# - IMFILTER_MAX_PIXELS: the default of --max-pixels, honoured by a job
#   that holds the image (-b wrap), overridden by the option, refused
#   when it is not a number.
IMF=${IMF:-./imfilter}
PY=/usr/bin/python3
T=$(mktemp -d /tmp/imfilter-defaults.XXXXXX) || exit 70
trap 'rm -rf "$T"' EXIT
trap 'exit 70' INT TERM
S=../shared/testdata
RGBA=$S/photo/coffee_299x199_rgba8_gradient_alpha.png
PHOTO=$S/photo/coffee_299x199_rgb8.png

pass() { echo "PASS: defaults: $1"; }
fail() { echo "FAIL: defaults: $1: $2"; }

# ---- --alpha -----------------------------------------------------------------
for a in default premultiply separate; do
	opt=
	[ $a = default ] || opt="--alpha $a"
	# shellcheck disable=SC2086
	"$IMF" $opt -k gaussian:3 "$RGBA" "$T/alpha-$a.png" 2> "$T/err" ||
		fail "--alpha $a" "exit $?: $(cat "$T/err")"
done
if cmp -s "$T/alpha-default.png" "$T/alpha-premultiply.png" &&
   ! cmp -s "$T/alpha-default.png" "$T/alpha-separate.png"; then
	pass "the default --alpha is premultiply (and separate differs on this photo)"
else
	fail "the default --alpha is premultiply" \
		"default = premultiply: $(cmp -s "$T/alpha-default.png" "$T/alpha-premultiply.png" && echo yes || echo no), default = separate: $(cmp -s "$T/alpha-default.png" "$T/alpha-separate.png" && echo yes || echo no)"
fi

# ---- JPEG chroma subsampling ---------------------------------------------------
# sampling FILE: the components' sampling factors from the SOF marker, as
# "HxV HxV HxV".
sampling() {
	$PY - "$1" <<'PYEOF'
import struct, sys
d = open(sys.argv[1], "rb").read()
i = 2
while i + 4 <= len(d) and d[i] == 0xFF:
    m, n = d[i + 1], struct.unpack(">H", d[i + 2:i + 4])[0]
    if m in (0xC0, 0xC1, 0xC2):
        nc = d[i + 9]
        print(" ".join("%dx%d" % (d[i + 11 + 3 * c] >> 4, d[i + 11 + 3 * c] & 15)
                       for c in range(nc)))
        break
    i += 2 + n
PYEOF
}
for q in default 90 95 89 75; do
	opt=
	[ $q = default ] || opt="-q $q"
	# shellcheck disable=SC2086
	if ! "$IMF" $opt -k sharpen "$PHOTO" "$T/q-$q.jpg" 2> "$T/err"; then
		fail "JPEG chroma at quality $q" "$(cat "$T/err")"
		continue
	fi
	got=$(sampling "$T/q-$q.jpg")
	case $q in
	default|90|95) want="1x1 1x1 1x1" what="4:4:4" ;;
	*) want="2x2 1x1 1x1" what="4:2:0" ;;
	esac
	[ "$got" = "$want" ] && pass "JPEG chroma at quality $q is $what ($got)" ||
		fail "JPEG chroma at quality $q is $what" "sampling factors $got, want $want"
done

# ---- IMFILTER_MAX_PIXELS -----------------------------------------------------------
# -b wrap holds the image (299x199 = 59501 pixels).
IMFILTER_MAX_PIXELS=50000 "$IMF" -b wrap -k blur "$PHOTO" "$T/wrap.png" 2> "$T/err"
rc=$?
[ $rc -eq 71 ] && grep -q 'limit of 50000' "$T/err" && [ ! -e "$T/wrap.png" ] &&
	pass "IMFILTER_MAX_PIXELS=50000 refuses to hold 59501 pixels: exit 71" ||
	fail "IMFILTER_MAX_PIXELS=50000 refuses to hold 59501 pixels" "exit $rc: $(cat "$T/err")"
IMFILTER_MAX_PIXELS=60000 "$IMF" -b wrap -k blur "$PHOTO" "$T/wrap.png" 2> "$T/err"
rc=$?
[ $rc -eq 0 ] && pass "IMFILTER_MAX_PIXELS=60000 lets 59501 pixels through" ||
	fail "IMFILTER_MAX_PIXELS=60000 lets 59501 pixels through" "exit $rc: $(cat "$T/err")"
IMFILTER_MAX_PIXELS=50000 "$IMF" --max-pixels 60000 -b wrap -k blur "$PHOTO" "$T/wrap2.png" 2> "$T/err"
rc=$?
[ $rc -eq 0 ] && pass "--max-pixels overrides IMFILTER_MAX_PIXELS" ||
	fail "--max-pixels overrides IMFILTER_MAX_PIXELS" "exit $rc: $(cat "$T/err")"
IMFILTER_MAX_PIXELS=lots "$IMF" -k blur "$PHOTO" "$T/bad.png" 2> "$T/err"
rc=$?
[ $rc -eq 64 ] && grep -q 'IMFILTER_MAX_PIXELS=lots' "$T/err" &&
	pass "IMFILTER_MAX_PIXELS=lots: exit 64, named" ||
	fail "IMFILTER_MAX_PIXELS=lots: exit 64" "exit $rc: $(cat "$T/err")"
exit 0

#!/bin/sh
# layer.sh: cross-channel kernels, --stride, --dilation and --transpose on
# the command line: output sizes, the library kernels downscale2, upscale2
# and luma-sobel, and a table of bad inputs (exit code, one stderr line, no
# output file).  The numeric checks are in layer_zone.py.
IMF=${IMF:-./imfilter}
T=$(mktemp -d /tmp/imfilter-layer.XXXXXX)
trap 'rm -rf "$T"' EXIT
PHOTO=../shared/testdata/photo/coffee_299x199_rgb8.png
[ -f "$PHOTO" ] || PHOTO=samples/chelsea.png
GREY=samples/camera.png
PY=/usr/bin/python3

pass() { echo "PASS: $1"; }
fail() { echo "FAIL: $1: $2"; }

# png_size FILE prints "WxH" from the PNG's IHDR (big-endian words at 16 and 20).
png_size() {
	od -An -tu1 -j16 -N8 "$1" 2>/dev/null |
		awk '{ printf "%dx%d", (($1 * 256 + $2) * 256 + $3) * 256 + $4,
				       (($5 * 256 + $6) * 256 + $7) * 256 + $8 }'
}

# size_is NAME WxH ARGS...: imfilter ARGS (the last one the PNG written) runs
# and writes an image of WxH.
size_is() {
	name=$1; want=$2; shift 2
	for last; do :; done
	rm -f "$last"
	if ! "$IMF" "$@" 2> "$T/stderr"; then
		fail "$name" "exit $?: $(head -c 300 "$T/stderr")"
		return
	fi
	got=$(png_size "$last")
	if [ "$got" = "$want" ]; then pass "$name: $want"; else fail "$name" "got $got, expected $want"; fi
}

# expect CODES PATTERN ARGS...: runs imfilter writing $T/out.png; the exit
# code is one of CODES (e.g. "64" or "64 65"), stderr is one line matching
# PATTERN, and no output or temporary file is left.
expect() {
	codes=$1; pat=$2; shift 2
	rm -f "$T/out.png"
	"$IMF" "$@" > "$T/stdout" 2> "$T/stderr"
	rc=$?
	name="exit $codes: imfilter $*"
	lines=$(wc -l < "$T/stderr")
	case " $codes " in
	*" $rc "*) ok=1 ;;
	*) ok=0 ;;
	esac
	if [ $ok -eq 0 ]; then
		fail "$name" "exit $rc, stderr: $(head -c 300 "$T/stderr")"
	elif [ "$lines" -ne 1 ]; then
		fail "$name" "$lines lines on stderr: $(head -c 300 "$T/stderr")"
	elif ! grep -Eq -- "^imfilter: .*($pat)" "$T/stderr"; then
		fail "$name" "stderr does not match /$pat/: $(cat "$T/stderr")"
	elif [ -e "$T/out.png" ]; then
		fail "$name" "an output file was written"
	elif ls -a "$T" | grep -q '^\.out\.png\.'; then
		fail "$name" "a temporary file was left: $(ls -a "$T")"
	else
		pass "$name"
	fi
}

# ---- Sizes. ----
size_is "downscale2 --stride 2 halves a 512x512 image" 256x256 \
	-k downscale2 --stride 2 "$GREY" "$T/half.png"
size_is "downscale2 --stride 2 halves a 299x199 image (odd sides: ceil)" 150x100 \
	-k downscale2 --stride 2 "$PHOTO" "$T/half.png"
size_is "upscale2 --transpose --stride 2 doubles a 299x199 image" 598x398 \
	-k upscale2 --transpose --stride 2 "$PHOTO" "$T/big.png"
size_is "--stride 2,3 takes every 2nd column and 3rd row of 299x199" 150x67 \
	-k '1x1: 1' --stride 2,3 "$PHOTO" "$T/s.png"
size_is "--dilation 2 keeps the size (same)" 299x199 \
	-k blur --dilation 2 "$PHOTO" "$T/d.png"
size_is "--dilation 2 -s valid: a 3x3 kernel spans 5x5" 295x195 \
	-k blur --dilation 2 -s valid "$PHOTO" "$T/d.png"
size_is "--stride 3 -s full: ceil((299 + 2) / 3) x ceil((199 + 2) / 3)" 101x67 \
	-k blur --stride 3 -s full "$PHOTO" "$T/f.png"
size_is "--transpose --stride 2 -s valid: (h - 1) 2 + 3" 599x399 \
	-k blur --transpose --stride 2 -s valid "$PHOTO" "$T/t.png"

# Plain decimation keeps exactly every 2nd pixel (PNM: the samples as bytes).
"$IMF" -k identity -f pnm "$PHOTO" "$T/full.ppm" &&
	"$IMF" -k '1x1: 1' --stride 2 -f pnm "$PHOTO" "$T/dec.ppm" &&
	d=$($PY -c '
import sys
import numpy as np
def ppm(p):
    b = open(p, "rb").read()
    parts = b.split(maxsplit=4)
    w, h = int(parts[1]), int(parts[2])
    return np.frombuffer(b[-w * h * 3:], np.uint8).reshape(h, w, 3)
a, b = ppm(sys.argv[1]), ppm(sys.argv[2])
print(int(np.abs(a[::2, ::2].astype(int) - b).max()) if a[::2, ::2].shape == b.shape else 999)' \
		"$T/full.ppm" "$T/dec.ppm")
if [ "${d:-999}" = 0 ]; then
	pass "-k '1x1: 1' --stride 2 keeps pixels (0, 0), (2, 0), ... exactly"
else
	fail "-k '1x1: 1' --stride 2 keeps every 2nd pixel" "difference $d"
fi

# luma-sobel writes one channel (PNG colour type 0) from RGB.
if "$IMF" -k luma-sobel "$PHOTO" "$T/edges.png" 2> "$T/stderr" &&
   [ "$(od -An -tu1 -j25 -N1 "$T/edges.png" | tr -d ' ')" = 0 ]; then
	pass "luma-sobel: an RGB photo gives a grey PNG of the same size ($(png_size "$T/edges.png"))"
else
	fail "luma-sobel: an RGB photo gives a grey PNG" "$(cat "$T/stderr")"
fi

# Output channels: 1, 2, 3 and 4 kernels give grey, grey and alpha, RGB and
# RGBA (PNG colour types 0, 4, 2, 6; README and man page); more are refused.
mk_cross() {   # mk_cross FILE M: M kernels of 3 channels, 1x1, kernel b picks channel b mod 3
	b=0; : > "$1"; echo "channels 3" >> "$1"
	while [ $b -lt "$2" ]; do
		c=0
		while [ $c -lt 3 ]; do
			[ $b -gt 0 ] || [ $c -gt 0 ] && echo "---" >> "$1"
			if [ $c -eq $((b % 3)) ]; then echo "1" >> "$1"; else echo "0" >> "$1"; fi
			c=$((c + 1))
		done
		b=$((b + 1))
	done
}
for m in 1:0:grey 2:4:grey+alpha 3:2:RGB 4:6:RGBA; do
	n=${m%%:*}; want=${m#*:}; want=${want%%:*}; what=${m##*:}
	mk_cross "$T/out$n.kernel" "$n"
	if "$IMF" -k "$T/out$n.kernel" "$PHOTO" "$T/o$n.png" 2> "$T/stderr" &&
	   [ "$(od -An -tu1 -j25 -N1 "$T/o$n.png" | tr -d ' ')" = "$want" ]; then
		pass "a channels 3 kernel of $n kernel(s) writes $what (PNG colour type $want)"
	else
		fail "a channels 3 kernel of $n kernel(s) writes $what" \
		     "colour type $(od -An -tu1 -j25 -N1 "$T/o$n.png" 2>/dev/null), $(cat "$T/stderr")"
	fi
done
# PNM has no alpha: of 2 outputs it keeps the first, as a PGM.
if "$IMF" -k "$T/out2.kernel" -f pnm "$PHOTO" "$T/o2.pgm" 2> "$T/stderr" &&
   [ "$(head -c 2 "$T/o2.pgm")" = P5 ]; then
	pass "2 outputs written as PNM: a grey PGM of the first"
else
	fail "2 outputs written as PNM: a grey PGM of the first" "$(head -c 2 "$T/o2.pgm") $(cat "$T/stderr")"
fi
# The stride applies to every step: two kernels, two halvings.
size_is "-k luma-sobel -k downscale2 --stride 2: each step halves (299x199 to 75x50)" 75x50 \
	-k luma-sobel -k downscale2 --stride 2 "$PHOTO" "$T/two.png"
# A channels 4 kernel takes an RGBA image.
RGBA=../shared/testdata/photo/coffee_299x199_rgba8_gradient_alpha.png
if [ -f "$RGBA" ]; then
	printf 'channels 4\n0.25\n---\n0.25\n---\n0.25\n---\n0.25\n' > "$T/four.kernel"
	size_is "a channels 4 kernel on an RGBA image, stride 2" 150x100 \
		-k "$T/four.kernel" --stride 2 "$RGBA" "$T/four.png"
fi

# ---- Bad inputs. ----
printf 'channels 3\ncombine max\n1\n---\n0\n---\n0\n---\n0\n---\n1\n---\n0\n' > "$T/max.kernel"
expect 65 'camera\.png.*luma-sobel|luma-sobel.*camera\.png' -k luma-sobel "$GREY" "$T/out.png"
mk_cross "$T/five.kernel" 5
expect "64 65" 'five' -k "$T/five.kernel" "$PHOTO" "$T/out.png"
expect 65 'coffee.*luma-sobel|luma-sobel.*coffee' -k luma-sobel "$RGBA" "$T/out.png"
expect 64 'stride' --stride 0 -k blur "$PHOTO" "$T/out.png"
expect 64 'stride' --stride x -k blur "$PHOTO" "$T/out.png"
expect 64 'stride' --stride 2,0 -k blur "$PHOTO" "$T/out.png"
expect 64 'stride' --stride -1 -k blur "$PHOTO" "$T/out.png"
expect 64 'stride' --stride 2,2,2 -k blur "$PHOTO" "$T/out.png"
expect 64 'stride' --stride 99999999999 -k blur "$PHOTO" "$T/out.png"
expect 64 'dilation' --dilation 0 -k blur "$PHOTO" "$T/out.png"
expect 64 'dilation' --dilation 1,x -k blur "$PHOTO" "$T/out.png"
expect 64 'const|constant' --transpose --border const=0.5 -k blur "$PHOTO" "$T/out.png"
expect "64 65" 'magnitude|combine|linear' --transpose -k sobel "$PHOTO" "$T/out.png"
expect "64 65" 'max|combine|linear' --transpose -k "$T/max.kernel" "$PHOTO" "$T/out.png"
expect 65 'valid|large' -s valid --dilation 200 -k blur "$PHOTO" "$T/out.png"
expect 64 'dilation' --dilation 4095 -k blur "$PHOTO" "$T/out.png"
expect 64 'channels' -c r -k luma-sobel "$PHOTO" "$T/out.png"
expect 64 'channels' -c r --stride 2 -k blur "$PHOTO" "$T/out.png"
expect 64 'deconvolve' --deconvolve wiener --stride 2 -k blur "$PHOTO" "$T/out.png"
# The second luma-sobel gets the first one's single channel.
expect 65 'luma-sobel.*3 channels' -k luma-sobel -k luma-sobel "$PHOTO" "$T/out.png"

# ---- The numbers: zone plate, upscale2, luma-sobel, engines, --emit-matrix. ----
if ! $PY -c 'import numpy' 2>/dev/null; then
	fail "layer_zone.py" "/usr/bin/python3 with numpy is missing (make deps installs it)"
	exit 1
fi
mkdir -p "$T/py"
$PY tests/layer_zone.py "$IMF" "$T/py" "$PHOTO"

#!/bin/sh
# engines.sh: the engine options on the command line: --engine for each
# engine, --explain, --fft-wisdom and --deconvolve.
IMF=${IMF:-./imfilter}
T=$(mktemp -d /tmp/imfilter-eng.XXXXXX)
trap 'rm -rf "$T"' EXIT
PHOTO=../shared/testdata/photo/coffee_299x199_rgb8.png
pass() { echo "PASS: $1"; }
fail() { echo "FAIL: $1: $2"; }
check() { if eval "$2"; then pass "$1"; else fail "$1" "${3:-failed}"; fi; }

engines=$($IMF -e '?' 2>&1 | sed -n 's/.*(engines: auto, \([^)]*\)).*/\1/p' | tr -d ',')
check "the engine list names direct, separable, toeplitz and fft" \
	'[ "$engines" = "direct separable toeplitz fft" ]' "$engines"

# Every engine gives the same picture for a general kernel, and -v names
# the engine that ran.
for e in $engines; do
	$IMF -v -e "$e" -k unsharp -f pnm "$PHOTO" "$T/$e.ppm" 2> "$T/$e.log"
	check "-e $e runs and -v says so" 'grep -q "engine $e" "$T/$e.log"' "$(cat "$T/$e.log")"
done
# (An engine's float result may round to the other side of a half.)
diff=$(/usr/bin/python3 -c '
import sys
import numpy as np
a = [np.frombuffer(open(p, "rb").read()[-299 * 199 * 3:], np.uint8).astype(int) for p in sys.argv[1:]]
print(max(int(np.abs(x - a[0]).max()) for x in a))' "$T/direct.ppm" "$T/separable.ppm" "$T/toeplitz.ppm" \
	"$T/fft.ppm")
check "every engine writes the same 8-bit result, give or take one step" '[ "$diff" -le 1 ]' "max difference $diff"

# A bank runs as one sgemm per tile for all its kernels.
$IMF -v -e toeplitz -k sobel "$PHOTO" "$T/sobel.png" 2> "$T/tz.log"
check "toeplitz: the sobel bank in one sgemm per tile (-v)" 'grep -q "2 kernels in one sgemm per tile" "$T/tz.log"' "$(cat "$T/tz.log")"

# --explain: kernel facts and one line per engine, the choice marked.
$IMF --explain -k gaussian:3 "$PHOTO" "$T/x.png" 2> "$T/explain.log"
n=$(grep -c 'per plane, estimated' "$T/explain.log")
check "--explain prints the kernel, every engine's cost and the choice" \
	'grep -q "19x19 kernel; sum 1, rank 1 (separable)" "$T/explain.log" && [ "$n" -eq 4 ] &&
	 [ "$(grep -c "<- chosen" "$T/explain.log")" -eq 1 ]' "$(cat "$T/explain.log")"

# --fft-wisdom: the first run creates the file, later runs (with threads,
# whose solvers must be registered before the import) load it.
$IMF -j 2 -e fft --fft-wisdom "$T/w" -k gaussian:4 "$PHOTO" "$T/w1.png" &&
	$IMF -j 2 -e fft --fft-wisdom "$T/w" -k gaussian:4 "$PHOTO" "$T/w2.png" 2> "$T/w.log"
check "--fft-wisdom saves, then loads with threads" '[ $? -eq 0 ] && [ -s "$T/w" ] && cmp -s "$T/w1.png" "$T/w2.png"' "$(cat "$T/w.log")"
echo "not wisdom" > "$T/bad"
$IMF --fft-wisdom "$T/bad" -k blur "$PHOTO" "$T/w3.png" 2> "$T/w.log"
check "a malformed wisdom file is exit 65, one line" '[ $? -eq 65 ] && [ "$(wc -l < "$T/w.log")" -eq 1 ]' "$(cat "$T/w.log")"
IMFILTER_FFT_WISDOM=$T/env-w $IMF -e fft -k gaussian:4 "$PHOTO" "$T/w4.png"
check "IMFILTER_FFT_WISDOM sets the default" '[ -s "$T/env-w" ]'

# --deconvolve: each method brings a blurred photo closer to the original.
$IMF -k gaussian:1.5 -f pfm "$PHOTO" "$T/blur.pfm"
$IMF -k identity -f pfm "$PHOTO" "$T/orig.pfm"
for m in wiener wiener:0.002 rl rl:60; do
	$IMF -k gaussian:1.5 --deconvolve $m "$T/blur.pfm" "$T/d.pfm" 2> "$T/d.log"
	gain=$(/usr/bin/python3 - "$T/orig.pfm" "$T/blur.pfm" "$T/d.pfm" <<'PY'
import sys
import numpy as np
def pfm(p):
    with open(p, "rb") as f:
        f.readline(); w, h = map(int, f.readline().split()); f.readline()
        return np.frombuffer(f.read(), "<f4").astype(float)
o, b, d = (pfm(p) for p in sys.argv[1:4])
psnr = lambda x: 10 * np.log10(1 / np.mean((np.clip(x, 0, 1) - o) ** 2))
print("%.2f %.2f %.2f" % (psnr(b), psnr(d), psnr(d) - psnr(b)))
PY
)
	check "--deconvolve $m sharpens a blurred photo (PSNR blurred, restored, gain: $gain dB)" \
		'[ -n "$gain" ] && awk "BEGIN {exit !(${gain##* } > 1.0)}"' "$(cat "$T/d.log") $gain"
done
$IMF -k sobel --deconvolve wiener "$PHOTO" "$T/e.png" 2> "$T/e.log"
check "--deconvolve with a bank is a usage error" '[ $? -eq 64 ] && grep -q "bank" "$T/e.log"' "$(cat "$T/e.log")"
$IMF -k blur --deconvolve wiener:0 "$PHOTO" "$T/e.png" 2> "$T/e.log"
check "--deconvolve wiener:0 is a usage error" '[ $? -eq 64 ]' "$(cat "$T/e.log")"
$IMF -k sharpen --deconvolve rl "$PHOTO" "$T/e.png" 2> "$T/e.log"
check "--deconvolve rl with negative weights is a data error" '[ $? -eq 65 ] && [ "$(wc -l < "$T/e.log")" -eq 1 ]' "$(cat "$T/e.log")"
# --emit-matrix: the seed's example, T = convmtx2(ones(3)/9, 5, 5) and
# reshape(T * magic(5)(:), 7, 7) = conv2(magic(5), ones(3)/9).
/usr/bin/python3 -c '
import struct
m = [[17, 24, 1, 8, 15], [23, 5, 7, 14, 16], [4, 6, 13, 20, 22], [10, 12, 19, 21, 3], [11, 18, 25, 2, 9]]
with open("'"$T"'/magic5.pfm", "wb") as f:
    f.write(b"Pf\n5 5\n-1.0\n" + b"".join(struct.pack("<f", v) for row in reversed(m) for v in row))'
$IMF -s full -b zero -k box:3 --emit-matrix "$T/T.mtx" "$T/magic5.pfm"
got=$(/usr/bin/python3 - "$T/T.mtx" <<'PY'
import sys
import numpy as np
lines = [l for l in open(sys.argv[1]) if not l.startswith("%")]
rows, cols, nnz = map(int, lines[0].split())
T = np.zeros((rows, cols))
for l in lines[1:]:
    i, j, v = l.split()
    T[int(i) - 1, int(j) - 1] += float(v)
X = np.array([[17, 24, 1, 8, 15], [23, 5, 7, 14, 16], [4, 6, 13, 20, 22], [10, 12, 19, 21, 3], [11, 18, 25, 2, 9]], float)
Y = (T @ X.flatten(order="F")).reshape((7, 7), order="F")
print("%dx%d %d %s" % (rows, cols, nnz, " ".join("%.4f" % v for v in Y[0])))
PY
)
check "--emit-matrix: T*magic(5)(:) reshaped is conv2's 7x7 (first row 1.8889 4.5556 4.6667 3.6667 2.6667 2.5556 1.6667)" \
	'[ "$got" = "49x25 225 1.8889 4.5556 4.6667 3.6667 2.6667 2.5556 1.6667" ]' "$got"
$IMF -b const=0.5 -k box:3 --emit-matrix "$T/T2.mtx" "$T/magic5.pfm" 2> "$T/e.log"
check "--emit-matrix refuses a non-zero constant border (affine)" '[ $? -eq 64 ] && [ ! -e "$T/T2.mtx" ]' "$(cat "$T/e.log")"
$IMF -k box:3 --emit-matrix "$T/T3.mtx" "$PHOTO" "$T/extra" 2> "$T/e.log"
check "--emit-matrix takes one INPUT" '[ $? -eq 64 ]' "$(cat "$T/e.log")"
exit 0

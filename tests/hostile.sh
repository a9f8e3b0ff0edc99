#!/bin/sh
# hostile.sh: small files that claim huge images are refused quickly and in
# little memory: a PNG header of 100000x100000, PNG decompression bombs (a
# few kilobytes of zlib data that inflate to gigabytes), a JPEG claiming
# 65500x65500.  Each must be refused (exit 65 or 71, one line on stderr, no
# output) or, for chunks that are dropped, decoded, in under a second and
# under 50 MB of resident memory (wall time
# from date +%s%N, memory from /usr/bin/time; generous bounds, not a
# benchmark).  The files are generated here by python3.
IMF=${IMF:-./imfilter}
PY=/usr/bin/python3
T=$(mktemp -d /tmp/imfilter-hostile.XXXXXX) || exit 70
trap '[ -n "$KEEP" ] || rm -rf "$T"' EXIT
trap 'exit 70' INT TERM
S=../shared/testdata

# The bounds hold for a sanitizer build too (its shadow memory stays
# small for these runs).
MAX_MS=1000
MAX_KB=51200

if [ ! -x /usr/bin/time ] || ! $PY -c 'import zlib' 2>/dev/null; then
	echo "FAIL: hostile: /usr/bin/time and python3 are needed (make deps installs them)"
	exit 1
fi

$PY - "$T" "$S/jpeg/tiny_1x1.jpg" <<'EOF' || { echo "FAIL: hostile: generating the files failed"; exit 1; }
import struct, sys, zlib
out, tiny_jpeg = sys.argv[1], sys.argv[2]

def chunk(kind, data):
    return (struct.pack('>I', len(data)) + kind + data +
            struct.pack('>I', zlib.crc32(kind + data) & 0xffffffff))

def png(name, w, h, idat, colour=0, depth=8, extra=b'', interlace=0):
    ihdr = struct.pack('>IIBBBBB', w, h, depth, colour, 0, 0, interlace)
    with open(f'{out}/{name}', 'wb') as f:
        f.write(b'\x89PNG\r\n\x1a\n' + chunk(b'IHDR', ihdr) + extra +
                chunk(b'IDAT', idat) + chunk(b'IEND', b''))

def zeros_stream(n, prefix=b'', block=1 << 20):
    """A zlib stream of prefix and then n zero bytes, built without
    compressing n bytes: one megabyte compressed and fully flushed is a
    self-contained piece that can be repeated.  Zeros leave Adler-32's sum
    A as it is and add n * A to its sum B."""
    c = zlib.compressobj(9)
    piece = c.compress(bytes(block)) + c.flush(zlib.Z_FULL_FLUSH)
    d = zlib.compressobj(9)
    head = d.compress(prefix) + d.flush(zlib.Z_FULL_FLUSH)  # zlib header, prefix, sync
    body = piece[2:]  # the same 2-byte zlib header starts both
    tail = b'\x03\x00'  # an empty final block with fixed codes
    a0 = zlib.adler32(prefix)
    a, b = a0 & 0xffff, (a0 >> 16) + n * (a0 & 0xffff)
    return (head + body * (n // block) + tail +
            struct.pack('>I', (b % 65521) << 16 | a))

# 1. A header of 100000 x 100000 RGB (30 GB of samples) with a token IDAT,
#    plain and interlaced: too little data for the pixels it claims.
png('huge-header.png', 100000, 100000, zlib.compress(bytes(64)), colour=2)
png('huge-header-adam7.png', 100000, 100000, zlib.compress(bytes(64)), colour=2, interlace=1)

# 2. A bomb: 60000 x 60000 grey, 3.6 GB of zeros in about 3.5 MB of zlib
#    (every row is its filter byte and zeros), at deflate's best ratio,
#    interlaced so that it would be held.  (Not interlaced it is a valid
#    3.6-gigapixel image as far as its data goes: rows stream, so it is
#    filtered in bounded memory, in the time an image that size takes.)
rows = 60000 * 60001
png('bomb-60k.png', 60000, 60000, zeros_stream(rows - rows % (1 << 20)), interlace=1)

# 3. A bomb under the pixel limit whose header is honest about its size
#    but whose IDAT holds far too little data for it: 15000 x 15000 RGBA
#    16-bit is 1.8 GB of samples; 16 kB of zlib cannot hold them.
png('bomb-short.png', 15000, 15000, zeros_stream(16 << 20), colour=6, depth=16)

# 4. A small image whose IDAT inflates to 4 GB, far more than the image
#    needs: decoding must stop at the image's end, not inflate the rest.
png('bomb-tail.png', 16, 16, zeros_stream(4 << 30), colour=0)
png('bomb-tail-adam7.png', 3, 3, zeros_stream(4 << 30), colour=0, interlace=1)

# 5. A 1x1 image with a zTXt chunk that inflates to 1 GB: ancillary chunks
#    are skipped unread.
ztxt = b'Comment\x00\x00' + zeros_stream(1 << 30)
png('bomb-ztxt.png', 1, 1, zlib.compress(b'\x00\x80'), extra=chunk(b'zTXt', ztxt))

# 6. A 1x1 image with an iCCP profile that inflates to 1 GB (profiles
#    are read, to be carried to the output): the header claims 1 GB.
icc = struct.pack('>I', 1 << 30) + bytes(32) + b'acsp' + bytes(88)
iccp = b'icc\x00\x00' + zeros_stream((1 << 30) - len(icc), icc)
png('bomb-iccp.png', 1, 1, zlib.compress(b'\x00\x80'), extra=chunk(b'iCCP', iccp))

# 7. A 1x1 JPEG whose frame header claims 65500 x 65500.
j = bytearray(open(tiny_jpeg, 'rb').read())
i = 2
while i < len(j):
    marker, length = j[i + 1], j[i + 2] << 8 | j[i + 3]
    if marker in (0xc0, 0xc1, 0xc2):
        j[i + 5:i + 9] = struct.pack('>HH', 65500, 65500)
        break
    i += 2 + length
open(f'{out}/huge-header.jpg', 'wb').write(j)
EOF

# refuse NAME FILE CODE PATTERN [OPTIONS...]: runs imfilter on FILE and
# checks the outcome and the bounds.
refuse() {
	name=$1 file=$2 want=$3 pat=$4
	shift 4
	rm -f "$T/out.png"
	t0=$(date +%s%N)
	/usr/bin/time -f '%M' -o "$T/rss" "$IMF" "$@" -k blur "$T/$file" "$T/out.png" 2> "$T/err"
	rc=$?
	ms=$((($(date +%s%N) - t0) / 1000000))
	kb=$(tail -n 1 "$T/rss")
	lines=$(awk 'END { print NR }' "$T/err")
	if [ "$rc" -ne "$want" ]; then
		echo "FAIL: hostile: $name: exit $rc (want $want): $(head -c 300 "$T/err")"
	elif [ "$want" -ne 0 ] && { [ "$lines" -ne 1 ] || ! grep -Eq "^imfilter: .*$pat" "$T/err"; }; then
		echo "FAIL: hostile: $name: stderr is not one line matching /$pat/: $(head -c 300 "$T/err")"
	elif [ "$want" -ne 0 ] && [ -n "$(ls -A "$T" | grep 'out\.png')" ]; then
		echo "FAIL: hostile: $name: an output or temporary file was left"
	elif [ "$ms" -ge $MAX_MS ]; then
		echo "FAIL: hostile: $name: took $ms ms (bound $MAX_MS ms)"
	elif [ "$kb" -ge $MAX_KB ]; then
		echo "FAIL: hostile: $name: $kb kB resident (bound $MAX_KB kB)"
	else
		echo "PASS: hostile: $name: exit $rc in $ms ms, $kb kB"
	fi
}

refuse "PNG header of 100000x100000" huge-header.png 65 'too little image data'
refuse "PNG header of 100000x100000, interlaced" huge-header-adam7.png 65 'too little image data'
refuse "PNG bomb: 3.6 GB of zeros in 3.5 MB" bomb-60k.png 71 'exceed the limit'
refuse "PNG of 15000x15000 RGBA16 with 16 kB of data" bomb-short.png 65 'too little image data'
refuse "PNG of 16x16 whose data inflates to 4 GB" bomb-tail.png 65 "too much compressed image data"
refuse "interlaced PNG of 3x3 whose data inflates to 4 GB" bomb-tail-adam7.png 65 "too much compressed image data"
refuse "PNG with a zTXt chunk inflating to 1 GB" bomb-ztxt.png 0 ''
refuse "PNG with an iCCP profile inflating to 1 GB" bomb-iccp.png 0 ''
refuse "JPEG header of 65500x65500" huge-header.jpg 65 'premature end of data'

# Kernels whose sums overflow float (1e38 weights, a scale of 1e-38, a
# bias of 1e38) give infinities and NaN inside; no encoder may write one.
# PFM output must read back (imfilter refuses non-finite PFM samples), and
# every format must be written.
P=$S/photo/coffee_299x199_rgba8_gradient_alpha.png
engines=$("$IMF" -e list 2>&1 | sed -n 's/.*(engines: \([^)]*\)).*/\1/p' | tr -d ',')
for e in $engines; do
	why=
	for f in pfm png ppm jpg; do
		for opts in "-k 3x3:1e38,1e38,1e38,1e38,-3e38,1e38,1e38,1e38,1e38" \
			    "--scale 1e-38 --bias 1e38 -k sharpen"; do
			# shellcheck disable=SC2086
			"$IMF" -e "$e" $opts "$P" "$T/inf.$f" 2> "$T/err" ||
				why="$why $f ($opts): exit $? $(head -n 1 "$T/err");"
			[ $f = pfm ] && ! "$IMF" -k identity "$T/inf.pfm" "$T/back.pfm" 2> "$T/err" &&
				why="$why PFM ($opts) does not read back: $(head -n 1 "$T/err");"
		done
	done
	if [ -z "$why" ]; then
		echo "PASS: hostile: engine $e: overflowing sums write finite PFM, PNG, PNM and JPEG"
	else
		echo "FAIL: hostile: engine $e: overflowing sums:$why"
	fi
done

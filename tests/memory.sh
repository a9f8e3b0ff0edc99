#!/bin/sh
# memory.sh: rows stream through bounded memory (issue 12).  A 20000x20000
# grey PNG (400 Mpx: 1.6 GB as float planes) filtered with gaussian:3 to
# PNG must succeed with a peak resident memory of at most 128 MB
# (10^6 bytes; as /usr/bin/time's %M reports it, in KiB).  A test of
# memory, not of time: the time limit below only keeps a hang from
# stalling make check.
#
# The input is made once by python3 (numpy and zlib, a band of rows at a
# time, so the generator itself stays small) and kept in build/tests,
# since making it costs more than the test; the output is removed.
IMF=${IMF:-./imfilter}
PY=/usr/bin/python3
T=$(mktemp -d /tmp/imfilter-memory.XXXXXX) || exit 70
trap 'rm -rf "$T"' EXIT
trap 'exit 70' INT TERM

SIDE=20000
MAX_KB=125000		# 128 MB = 128e6 bytes = 125000 KiB
LIMIT_S=300
IN=build/tests/grey$SIDE.png
name="20000x20000 grey PNG, gaussian:3 to PNG"

# A sanitizer build's resident memory is mostly its own (shadow memory,
# the quarantine of freed blocks): there the run must still succeed, but
# its peak says nothing about imfilter's and is not held to the bound.
asan=
grep -q __asan_init "$IMF" 2>/dev/null && asan=yes

if [ ! -x /usr/bin/time ] || ! $PY -c 'import numpy, zlib' 2>/dev/null; then
	echo "FAIL: memory: /usr/bin/time and python3 with numpy are needed (make deps installs them)"
	exit 1
fi

if [ ! -s "$IN" ]; then
	mkdir -p build/tests
	# Written under a temporary name and renamed, so that an interrupted
	# run does not leave a truncated file to be taken for the input.
	$PY - "$IN.tmp" "$SIDE" <<'EOF' || { rm -f "$IN.tmp"; echo "FAIL: memory: making $IN failed"; exit 1; }
import struct, sys, zlib
import numpy as np

path, side = sys.argv[1], int(sys.argv[2])

def chunk(kind, data):
    return (struct.pack('>I', len(data)) + kind + data +
            struct.pack('>I', zlib.crc32(kind + data) & 0xffffffff))

# A smooth pattern with some texture: it compresses quickly at level 1
# but is not one repeated row, so the decoder does real work.
x = np.arange(side, dtype=np.int32)
band = 500
with open(path, 'wb') as f:
    f.write(b'\x89PNG\r\n\x1a\n')
    f.write(chunk(b'IHDR', struct.pack('>IIBBBBB', side, side, 8, 0, 0, 0, 0)))
    z = zlib.compressobj(1)
    for y0 in range(0, side, band):
        y = np.arange(y0, min(y0 + band, side), dtype=np.int32)[:, None]
        rows = np.zeros((len(y), side + 1), np.uint8)   # column 0: filter type 0
        rows[:, 1:] = ((x * 3 + y * 5) // 7 + ((x ^ y) & 15)) & 255
        data = z.compress(rows.tobytes())
        if data:
            f.write(chunk(b'IDAT', data))
    f.write(chunk(b'IDAT', z.flush()))
    f.write(chunk(b'IEND', b''))
EOF
	mv "$IN.tmp" "$IN" || { echo "FAIL: memory: cannot rename $IN.tmp"; exit 1; }
fi

timeout "$LIMIT_S" /usr/bin/time -o "$T/time" -f '%M' \
	"$IMF" -k gaussian:3 "$IN" "$T/out.png" 2> "$T/err"
rc=$?
# time writes "Command exited with non-zero status N" before the figure.
kb=$(tail -n 1 "$T/time" 2> /dev/null)
case $kb in '' | *[!0-9]*) kb= ;; esac
mb=$(awk -v k="${kb:-0}" 'BEGIN {printf "%.0f", k * 1024 / 1e6}')
if [ $rc -eq 124 ]; then
	echo "FAIL: memory: $name: not done within $LIMIT_S s"
elif [ $rc -ne 0 ]; then
	echo "FAIL: memory: $name: exit $rc (want 0 and a peak of at most 128 MB; peak $mb MB): $(head -n 1 "$T/err")"
elif [ -z "$kb" ]; then
	echo "FAIL: memory: $name: no peak memory from /usr/bin/time"
elif [ -z "$asan" ] && [ "$kb" -gt $MAX_KB ]; then
	echo "FAIL: memory: $name: peak resident memory $mb MB, over 128 MB"
elif [ "$(od -An -tu1 -j16 -N8 "$T/out.png" | tr -s ' ' | sed 's/^ //')" != "0 0 78 32 0 0 78 32" ]; then
	echo "FAIL: memory: $name: the output is not a 20000x20000 PNG"
elif [ -n "$asan" ]; then
	echo "PASS: memory: $name (sanitizer build: peak $mb MB, not held to 128 MB)"
else
	echo "PASS: memory: $name, peak $mb MB"
fi

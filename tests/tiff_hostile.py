#!/usr/bin/python3
"""tiff_hostile.py: hostile TIFFs are refused in one line, cheaply.

Usage: tiff_hostile.py IMFILTER DIR [NAME-FILTER].  Each file is built
here byte by byte (a classic little-endian TIFF: header, one directory,
its values after it) and must be refused with exit 65 (malformed) or 71
(a limit), exactly one line on stderr naming the file, no output file,
in under two seconds of wall time and 150 MB of resident memory
(/usr/bin/time), the bounds holding for a sanitizer build too.
"""
import os
import struct
import subprocess
import sys
import time
import zlib

IMF = os.path.abspath(sys.argv[1])
D = os.path.abspath(sys.argv[2])
ONLY = sys.argv[3] if len(sys.argv) > 3 else ""
MAX_S, MAX_KB = 2.0, 150 * 1024
failures = 0
os.makedirs(D, exist_ok=True)

BYTE, ASCII, SHORT, LONG = 1, 2, 3, 4
SIZES = {BYTE: 1, ASCII: 1, SHORT: 2, LONG: 4}


def tiff(entries, data=b"", next_ifd=0, data_at=None):
    """A TIFF whose directory (at 8) holds entries (tag, type, values) and whose
    bytes after the directory and its arrays are data; values that reference
    data use the offset data_at() gives (the start of data)."""
    entries = sorted(entries)
    ifd_len = 2 + 12 * len(entries) + 4
    arrays = b""
    body = []
    base = 8 + ifd_len
    # First pass: where the arrays go; data comes after them.
    total_arrays = sum(len(v) * SIZES[t] for _, t, v in entries if len(v) * SIZES[t] > 4)
    total_arrays += total_arrays % 2
    data_off = base + total_arrays
    for tag, typ, vals in entries:
        vals = [data_off + v[1] if isinstance(v, tuple) else v for v in vals]
        fmt = {BYTE: "B", ASCII: "B", SHORT: "H", LONG: "I"}[typ]
        raw = struct.pack("<%d%s" % (len(vals), fmt), *vals)
        if len(raw) <= 4:
            body.append(struct.pack("<HHI", tag, typ, len(vals)) + raw.ljust(4, b"\0"))
        else:
            body.append(struct.pack("<HHII", tag, typ, len(vals), base + len(arrays)))
            arrays += raw
    arrays += b"\0" * (total_arrays - len(arrays))
    ifd = struct.pack("<H", len(entries)) + b"".join(body) + struct.pack("<I", next_ifd)
    return b"II*\0" + struct.pack("<I", 8) + ifd + arrays + data


def d(off=0):
    """A value that is an offset into the data part."""
    return ("data", off)


def image(w, h, bps=8, spp=1, photo=1, comp=1, rps=None, offsets=None, counts=None,
          extra=(), planar=1):
    rps = h if rps is None else rps
    e = [(256, LONG, [w]), (257, LONG, [h]), (258, SHORT, [bps] * spp), (259, SHORT, [comp]),
         (262, SHORT, [photo]), (277, SHORT, [spp]), (278, LONG, [rps]), (284, SHORT, [planar])]
    if offsets is not None:
        e += [(273, LONG, offsets), (279, LONG, counts)]
    return e + list(extra)


def check(name, content, *args, codes=(65, 71)):
    if ONLY not in name:
        return
    global failures
    path = os.path.join(D, name.replace(" ", "-").replace("/", "") + ".tif")
    out = os.path.join(D, "out.tif")
    with open(path, "wb") as f:
        f.write(content)
    if os.path.exists(out):
        os.unlink(out)
    t0 = time.monotonic()
    r = subprocess.run(["/usr/bin/time", "-f", "%M", IMF, "-k", "blur", *args, path, out],
                       capture_output=True, text=True)
    secs = time.monotonic() - t0
    lines = r.stderr.strip().split("\n")
    kb = int(lines[-1]) if lines and lines[-1].isdigit() else -1
    msg = [l for l in lines[:-1] if not l.startswith("Command exited")]
    ok = (r.returncode in codes and len(msg) == 1 and msg[0].startswith("imfilter: " + path)
          and not os.path.exists(out) and secs < MAX_S and 0 <= kb < MAX_KB)
    if ok:
        print("PASS: tiff: hostile %s: exit %d, %.2f s, %d MB: %s" % (name, r.returncode, secs,
                                                                     kb >> 10, msg[0][len(path) + 12:]))
    else:
        failures += 1
        print("FAIL: tiff: hostile %s: exit %d, %d stderr lines, %.2f s, %d kB, output %s: %s"
              % (name, r.returncode, len(msg), secs, kb, os.path.exists(out), " | ".join(msg)[:300]))


tiny = zlib.compress(bytes(4096), 9)

# Sizes: a 100000 x 100000 deflate image with one token strip, sides past
# 2^32 and past our limit, tiles of absurd sizes.
check("huge image, token strip", tiff(image(100000, 100000, comp=8, offsets=[d()],
                                            counts=[len(tiny)]), tiny))
check("sides 2^32-1", tiff(image(0xFFFFFFFF, 0xFFFFFFFF, offsets=[d()], counts=[16]), bytes(16)))
check("width 0", tiff(image(0, 10, offsets=[d()], counts=[16]), bytes(16)))
check("tile count overflow", tiff(image(1 << 24, 1 << 24, extra=[
    (322, LONG, [16]), (323, LONG, [16]), (324, LONG, [d()]), (325, LONG, [16])]), bytes(16)))
check("tile of 2^31 x 2^31", tiff(image(64, 64, extra=[
    (322, LONG, [1 << 31]), (323, LONG, [1 << 31]), (324, LONG, [d()]), (325, LONG, [16])]),
    bytes(16)))
# Strips where the file is not.
check("strip offset past the end", tiff(image(64, 64, offsets=[1 << 30], counts=[4096])))
half = zlib.compress(os.urandom(1000) * 60)[:3000]
check("strip byte count past the end", tiff(image(250, 240, comp=8, offsets=[d()], counts=[1 << 30]),
                                            half))
check("strip arrays past the end", tiff(image(64, 64, rps=1, extra=[
    (273, LONG, [1 << 30]), (279, LONG, [1 << 30])])))
# A million tiny strips whose arrays the file does not hold.
ents = image(1, 1000000, rps=1)
ents[0:0] = []
raw = tiff(ents)
# StripOffsets and StripByteCounts: a million LONGs each, claimed at the end of the file.
ifd = bytearray(raw)
n = struct.unpack_from("<H", ifd, 8)[0]
extra = struct.pack("<HHII", 273, LONG, 1000000, len(raw)) + struct.pack("<HHII", 279, LONG, 1000000,
                                                                          len(raw) + 4000)
entries = [bytes(ifd[10 + 12 * i: 22 + 12 * i]) for i in range(n)]
entries = sorted(entries + [extra[:12], extra[12:]], key=lambda e: struct.unpack_from("<H", e)[0])
million = (b"II*\0" + struct.pack("<I", 8) + struct.pack("<H", n + 2) + b"".join(entries) +
           struct.pack("<I", 0) + bytes(8000))
check("a million strips, arrays missing", million)
# Bits and samples.
check("0 bits per sample", tiff(image(8, 8, bps=0, offsets=[d()], counts=[64]), bytes(64)))
check("200 bits per sample", tiff(image(8, 8, bps=200, offsets=[d()], counts=[64]), bytes(64)))
check("12-bit floats", tiff(image(8, 8, bps=12, extra=[(339, SHORT, [3])], offsets=[d()],
                                  counts=[96]), bytes(96)))
check("RGB of one sample", tiff(image(8, 8, photo=2, offsets=[d()], counts=[64]), bytes(64)))
check("photometric 99", tiff(image(8, 8, photo=99, offsets=[d()], counts=[64]), bytes(64)))
# A compression bomb: 16 strips of 16384 x 1024 zeros, all the same 16 kB of deflate.
bomb = zlib.compress(bytes(16384 * 1024), 9)
check("compression bomb (strips sharing their data)",
      tiff(image(16384, 16384, comp=8, rps=1024, offsets=[d()] * 16, counts=[len(bomb)] * 16), bomb))
# A loop of directories: the first points back at itself.
loop = tiff(image(8, 8, offsets=[d()], counts=[64]), bytes(64), next_ifd=8)
check("directory loop, --page 1", loop, "--page", "1")
check("directory loop, --page 60000", loop, "--page", "60000")
# The band a decoder must hold, over --max-pixels: separate planes in one
# strip each (a resource limit: 71).
plane = zlib.compress(os.urandom(1000 * 1000), 1)
check("one strip per plane over --max-pixels", tiff(image(
    1000, 1000, spp=3, photo=2, comp=8, planar=2, offsets=[d(), d(len(plane)), d(2 * len(plane))],
    counts=[len(plane)] * 3), plane * 3), "--max-pixels", "500000", codes=(71,))
# Not a TIFF after all: a header and nothing else, an IFD offset past the end.
check("header only", b"II*\0" + struct.pack("<I", 8))
check("directory past the end", b"II*\0" + struct.pack("<I", 1 << 30) + bytes(64))
check("BigTIFF header, bad", b"II+\0" + struct.pack("<HHQ", 8, 0, 1 << 40) + bytes(64))

print("tiff_hostile.py: %d failed" % failures, file=sys.stderr)

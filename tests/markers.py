#!/usr/bin/python3
"""markers.py: JPEG APP markers, many and malformed.

Files are made here from a small JPEG of the shared test data by
inserting markers into its bytes, and kept in build/markers/:

- 100,000 tiny markers (APP1 junk, APP1 "Exif", APP2 "ICC_PROFILE"):
  decoded (exit 0) and the output carries no more than one EXIF block and
  one profile's chunks, at most 255 (the caps, io_jpeg.c); one warning
  line at most.  The time is printed, not judged (a benchmark's business).
- ICC chunk sequences that are malformed (a number out of range, a chunk
  missing, repeated or empty, counts that disagree): exit 0, exactly one
  warning line, and the output is byte for byte the one made from the same
  file with its APP2 markers removed.  A sound profile split in two chunks
  given out of order is put together and carried.

Usage: markers.py IMFILTER SHARED_TESTDATA OUTDIR
"""
import os
import struct
import subprocess
import sys
import time

IMF, SHARED, OUT = sys.argv[1], sys.argv[2], sys.argv[3]
failures = 0


def report(name, ok, detail=""):
    global failures
    if ok:
        print("PASS: markers: %s" % name)
    else:
        failures += 1
        print("FAIL: markers: %s: %s" % (name, detail))


def segments(data):
    """(marker, body) of every segment before the first scan."""
    i, out = 2, []
    while i + 4 <= len(data) and data[i] == 0xFF and data[i + 1] != 0xDA:
        n = struct.unpack(">H", data[i + 2:i + 4])[0]
        out.append((data[i + 1], data[i + 4:i + 2 + n]))
        i += 2 + n
    return out


def seg(marker, body):
    return bytes([0xFF, marker]) + struct.pack(">H", len(body) + 2) + body


def icc_chunk(seq, count, payload):
    return seg(0xE2, b"ICC_PROFILE\0" + bytes([seq, count]) + payload)


def with_markers(jpeg, markers):
    """jpeg with the given segments right after SOI."""
    return jpeg[:2] + b"".join(markers) + jpeg[2:]


def without_app2(jpeg):
    """jpeg with every APP2 segment before the first scan removed."""
    i, out = 2, jpeg[:2]
    while i + 4 <= len(jpeg) and jpeg[i] == 0xFF and jpeg[i + 1] != 0xDA:
        n = struct.unpack(">H", jpeg[i + 2:i + 4])[0]
        if jpeg[i + 1] != 0xE2:
            out += jpeg[i:i + 2 + n]
        i += 2 + n
    return out + jpeg[i:]


def run(args):
    t = time.monotonic()
    r = subprocess.run([IMF] + args, capture_output=True)
    return r.returncode, r.stderr.decode(errors="replace"), time.monotonic() - t


def path(name):
    return os.path.join(OUT, name)


def write(name, data):
    open(path(name), "wb").write(data)
    return path(name)


def many_markers(base):
    n = 100000
    files = {
        "app1-junk": [seg(0xE1, b"ab")] * n,
        "app1-exif": [seg(0xE1, b"Exif\0\0" + struct.pack(">I", i)) for i in range(n)],
        "app2-icc": [icc_chunk(1 + i % 255, 255, b"x") for i in range(n)],
    }
    for name, markers in files.items():
        src = write("many-%s.jpg" % name, with_markers(base, markers))
        rc, err, secs = run(["-k", "blur", src, path("many-%s.out.jpg" % name)])
        print("markers: %s: %d markers, %d bytes, decoded and written in %.3f s" %
              (name, n, os.path.getsize(src), secs))
        report("%s: 100,000 markers decode, exit 0" % name, rc == 0, "exit %d: %s" % (rc, err))
        out = open(path("many-%s.out.jpg" % name), "rb").read() if rc == 0 else b""
        kinds = [m for m, _ in segments(out)]
        report("%s: the output carries at most 1 APP1 and 255 APP2" % name,
               rc == 0 and kinds.count(0xE1) <= 1 and kinds.count(0xE2) <= 255,
               "APP1 %d, APP2 %d" % (kinds.count(0xE1), kinds.count(0xE2)))
        report("%s: at most one warning line" % name, len(err.splitlines()) <= 1, err)
    # The junk carried nothing and says nothing; the profile of 100,000
    # chunks cannot be whole and is dropped with a word.
    rc, err, _ = run(["-k", "blur", path("many-app1-junk.jpg"), path("junk.png")])
    report("app1-junk: no warning (nothing carried was lost)", rc == 0 and err == "", err)
    rc, err, _ = run(["-k", "blur", path("many-app2-icc.jpg"), path("icc.png")])
    report("app2-icc: the profile is dropped with one warning",
           rc == 0 and len(err.splitlines()) == 1 and "ICC" in err, err)


def malformed_icc(base):
    half = b"p" * 100
    cases = {
        "seq-out-of-range": [icc_chunk(1, 2, half), icc_chunk(3, 2, half)],
        "seq-zero": [icc_chunk(0, 1, half)],
        "count-zero": [icc_chunk(1, 0, half)],
        "missing": [icc_chunk(1, 2, half)],
        "duplicate": [icc_chunk(1, 2, half), icc_chunk(1, 2, half)],
        "empty-payload": [icc_chunk(1, 2, half), icc_chunk(2, 2, b"")],
        "count-mismatch": [icc_chunk(1, 2, half), icc_chunk(2, 3, half)],
        "no-numbers": [seg(0xE2, b"ICC_PROFILE\0")],
    }
    for name, markers in cases.items():
        bad = write("icc-%s.jpg" % name, with_markers(base, markers))
        stripped = write("icc-%s.stripped.jpg" % name, without_app2(open(bad, "rb").read()))
        for ext in ("jpg", "png"):
            rc, err, _ = run(["-k", "sharpen", bad, path("icc-%s.out.%s" % (name, ext))])
            rc2, err2, _ = run(["-k", "sharpen", stripped, path("icc-%s.ref.%s" % (name, ext))])
            report("%s -> %s: exit 0, one warning line" % (name, ext),
                   rc == 0 and len(err.splitlines()) == 1 and "warning" in err and
                   "ICC" in err, "exit %d: %r" % (rc, err))
            same = (rc == 0 and rc2 == 0 and
                    open(path("icc-%s.out.%s" % (name, ext)), "rb").read() ==
                    open(path("icc-%s.ref.%s" % (name, ext)), "rb").read())
            report("%s -> %s: the output is the profile-less file's" % (name, ext), same, err2)
    # Sound chunks out of order: joined by their numbers, no warning.
    src = write("icc-sound.jpg", with_markers(base, [icc_chunk(2, 2, b"B" * 70),
                                                     icc_chunk(1, 2, b"A" * 60)]))
    rc, err, _ = run(["-k", "sharpen", src, path("icc-sound.out.jpg")])
    out = open(path("icc-sound.out.jpg"), "rb").read() if rc == 0 else b""
    parts = {b[12]: b[14:] for m, b in segments(out) if m == 0xE2 and b.startswith(b"ICC_PROFILE\0")}
    icc = b"".join(parts[k] for k in sorted(parts))
    report("two sound chunks out of order are joined in order and carried",
           rc == 0 and err == "" and icc == b"A" * 60 + b"B" * 70, "%d %r %r" % (rc, err, icc[:8]))


def main():
    os.makedirs(OUT, exist_ok=True)
    base = open(os.path.join(SHARED, "jpeg/odd_17x9_420.jpg"), "rb").read()
    report("the base JPEG has no APP2 of its own",
           all(m != 0xE2 for m, _ in segments(base)))
    many_markers(base)
    malformed_icc(base)
    return 1 if failures else 0


sys.exit(main())

#!/usr/bin/python3
"""meta.py: ICC profiles and EXIF carried from input to output byte for byte.

Makes a small valid ICC profile, embeds it (with imfilter's own writer
nowhere involved) into a PNG as iCCP and into a JPEG as APP2 by rewriting
the files' bytes, runs imfilter PNG->PNG, JPEG->JPEG, PNG->JPEG and
JPEG->PNG, and compares the extracted profile and EXIF bytes.
"""
import os
import struct
import subprocess
import sys
import tempfile
import zlib

IMF = sys.argv[1]
SHARED = sys.argv[2]
failures = 0


def report(name, ok, detail=""):
    global failures
    if ok:
        print("PASS: meta: %s" % name)
    else:
        failures += 1
        print("FAIL: meta: %s: %s" % (name, detail))


def icc_profile():
    """A minimal ICC v2 display profile: header, desc, wtpt and cprt tags."""
    def text_desc(s):
        b = s.encode() + b"\0"
        return b"desc" + b"\0" * 4 + struct.pack(">I", len(b)) + b + b"\0" * 12 + b"\0" * 67

    tags = [
        (b"desc", text_desc("imfilter test profile")),
        (b"wtpt", b"XYZ " + b"\0" * 4 + struct.pack(">iii", 0xF6D6, 0x10000, 0xD32D)),
        (b"cprt", b"text" + b"\0" * 4 + b"No copyright, test data\0"),
    ]
    table_len = 4 + 12 * len(tags)
    offset = 128 + table_len
    table, data = b"", b""
    for sig, body in tags:
        while (offset + len(data)) % 4:
            data += b"\0"
        table += sig + struct.pack(">II", offset + len(data), len(body))
        data += body
    while len(data) % 4:
        data += b"\0"
    size = 128 + table_len + len(data)
    header = struct.pack(">I4sI4s4s4s", size, b"none", 0x02100000, b"mntr", b"RGB ", b"XYZ ")
    header += struct.pack(">6H", 2026, 11, 26, 0, 0, 0) + b"acsp" + b"\0" * 4
    header += b"\0" * 4 + b"\0" * 8 + b"\0" * 8 + struct.pack(">I", 0)
    header += struct.pack(">iii", 0xF6D6, 0x10000, 0xD32D) + b"none" + b"\0" * 16
    header += b"\0" * (128 - len(header))
    return header + struct.pack(">I", len(tags)) + table + data


def png_chunks(data):
    i, out = 8, []
    while i + 8 <= len(data):
        n = struct.unpack(">I", data[i:i + 4])[0]
        out.append((data[i + 4:i + 8], data[i + 8:i + 8 + n]))
        i += 12 + n
    return out


def png_chunk(kind, body):
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def png_meta(data):
    icc = exif = None
    for kind, body in png_chunks(data):
        if kind == b"iCCP":
            name_end = body.index(b"\0")
            icc = zlib.decompress(body[name_end + 2:])
        elif kind == b"eXIf":
            exif = body
    return icc, exif


def png_with(data, icc=None, exif=None):
    """Inserts iCCP after IHDR and eXIf before IEND."""
    out = data[:8]
    for kind, body in png_chunks(data):
        if kind == b"IEND" and exif is not None:
            out += png_chunk(b"eXIf", exif)
        out += png_chunk(kind, body)
        if kind == b"IHDR" and icc is not None:
            out += png_chunk(b"iCCP", b"test\0\0" + zlib.compress(icc))
    return out


def jpeg_segments(data):
    i, out = 2, []
    while i + 4 <= len(data) and data[i] == 0xFF and data[i + 1] != 0xDA:
        n = struct.unpack(">H", data[i + 2:i + 4])[0]
        out.append((data[i + 1], data[i + 4:i + 2 + n], i))
        i += 2 + n
    return out


def jpeg_meta(data):
    icc_parts, exif = {}, None
    for marker, body, _ in jpeg_segments(data):
        if marker == 0xE1 and body.startswith(b"Exif\0\0") and exif is None:
            exif = body[6:]
        elif marker == 0xE2 and body.startswith(b"ICC_PROFILE\0"):
            icc_parts[body[12]] = body[14:]
    icc = b"".join(icc_parts[k] for k in sorted(icc_parts)) if icc_parts else None
    return icc, exif


def jpeg_with_icc(data, icc):
    body = b"ICC_PROFILE\0" + bytes([1, 1]) + icc
    seg = b"\xFF\xE2" + struct.pack(">H", len(body) + 2) + body
    return data[:2] + seg + data[2:]


def run(args):
    r = subprocess.run([IMF] + args, capture_output=True)
    return r.returncode == 0, r.stderr.decode(errors="replace")


def main():
    icc = icc_profile()
    with tempfile.TemporaryDirectory() as tmp:
        def path(n):
            return os.path.join(tmp, n)

        # The PngSuite file with an eXIf chunk, given an ICC profile too.
        src_png = open(os.path.join(SHARED, "pngsuite/exif2c08.png"), "rb").read()
        png_exif = png_meta(src_png)[1]
        open(path("in.png"), "wb").write(png_with(src_png, icc=icc))
        # The JPEG with an EXIF orientation tag, given the profile as APP2.
        src_jpg = open(os.path.join(SHARED, "jpeg/coffee_exif_orientation6.jpg"), "rb").read()
        jpg_exif = jpeg_meta(src_jpg)[1]
        open(path("in.jpg"), "wb").write(jpeg_with_icc(src_jpg, icc))
        report("test inputs carry a profile and EXIF",
               png_exif is not None and jpg_exif is not None and
               png_meta(open(path("in.png"), "rb").read())[0] == icc)

        for src, dst, exif in (("in.png", "out.png", png_exif), ("in.jpg", "out.jpg", jpg_exif),
                               ("in.png", "cross.jpg", png_exif), ("in.jpg", "cross.png", jpg_exif)):
            ok, err = run(["-k", "sharpen", path(src), path(dst)])
            data = open(path(dst), "rb").read() if ok else b""
            got_icc, got_exif = (png_meta if dst.endswith(".png") else jpeg_meta)(data)
            report("%s -> %s keeps the ICC profile byte for byte" % (src, dst),
                   ok and got_icc == icc, err or "profile %s" % (None if got_icc is None else len(got_icc)))
            report("%s -> %s keeps EXIF byte for byte" % (src, dst),
                   ok and got_exif == exif, err or "exif %r" % (got_exif,))

        # PNG colour chunks travel PNG -> PNG.
        g = os.path.join(SHARED, "pngsuite/g04n2c08.png")
        ok, err = run(["-k", "blur", g, path("g.png")])
        before = [b for k, b in png_chunks(open(g, "rb").read()) if k == b"gAMA"]
        after = [b for k, b in png_chunks(open(path("g.png"), "rb").read()) if k == b"gAMA"] if ok else []
        report("gAMA is carried PNG -> PNG", ok and before and before == after, "%r -> %r" % (before, after))
        c = os.path.join(SHARED, "pngsuite/ccwn2c08.png")
        ok, err = run(["-k", "blur", c, path("c.png")])
        before = [b for k, b in png_chunks(open(c, "rb").read()) if k == b"cHRM"]
        after = [b for k, b in png_chunks(open(path("c.png"), "rb").read()) if k == b"cHRM"] if ok else []
        report("cHRM is carried PNG -> PNG", ok and before and before == after, "%r -> %r" % (before, after))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())

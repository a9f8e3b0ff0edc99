#!/usr/bin/python3
"""tiff.py: TIFF input and output, checked against independent writers and readers.

Usage: tiff.py IMFILTER DIR [NAME-FILTER].  Every file is made in DIR
(build/tests/tiff) from numpy arrays: written by tifffile and PIL, and
turned into every compression, layout and sample type by tiffcp
(libtiff-tools), ImageMagick's convert, libvips and GDAL's gdal_translate.
imfilter decodes each (-k identity to a float TIFF, uncompressed, which
tifffile reads back), and the values must be the array's under imfilter's
rules: unsigned integers of up to 16 bits v / (2^bits - 1), min-is-white
turned over, palettes through their colour map, other integers and floats
as they are; lossy compressions (JPEG, WebP) against libtiff's own
decoding of the same file (tiffcp -c none, read by tifffile).  Then: the
PNG and PFM paths give the same results as the TIFF path (float TIFF to
float TIFF bit for bit as PFM to PFM), types and metadata survive a round
trip, GeoTIFFs keep their place on the map as gdalinfo reports it, and
hostile files are refused in one line with 65 or 71, no output, quickly.
Each check prints PASS or FAIL.
"""
import json
import os
import subprocess
import sys
import time

import numpy as np
import tifffile
from PIL import Image

from meta import icc_profile
from pfm import write_pfm

IMF = os.path.abspath(sys.argv[1])
D = os.path.abspath(sys.argv[2])
ONLY = sys.argv[3] if len(sys.argv) > 3 else ""
CONVERT = "/usr/bin/convert"
failures = 0
os.makedirs(D, exist_ok=True)


def report(name, ok, detail=""):
    global failures
    if ok:
        print("PASS: tiff: %s" % name)
    else:
        failures += 1
        print("FAIL: tiff: %s: %s" % (name, detail))


def wanted(name):
    return ONLY in name


def p(name):
    return os.path.join(D, name)


def run(args, **kw):
    return subprocess.run(args, capture_output=True, text=True, **kw)


def imf(*args):
    return run([IMF] + list(args))


def tool(*args):
    r = run(list(args))
    if r.returncode != 0:
        raise RuntimeError("%s: %s" % (" ".join(args), r.stderr.strip()[:200]))


def read_tif(path):
    """A TIFF as h x w x c float64, by tifffile (uncompressed or deflate)."""
    a = tifffile.imread(path)
    if a.ndim == 2:
        a = a[:, :, None]
    return a.astype(np.float64)


def decode(path, *extra):
    """imfilter's decoding of path: identity to an uncompressed float TIFF."""
    out = p("decoded.tif")
    if os.path.exists(out):
        os.unlink(out)
    r = imf("-k", "identity", "--alpha", "separate", "-d", "32f", "--tiff-compression", "none",
            *extra, path, out)
    if r.returncode != 0:
        return None, r.stderr.strip()
    return read_tif(out), ""


def compare(name, path, want, tol=0.0, *extra):
    if not wanted(name):
        return
    got, why = decode(path, *extra)
    if got is None:
        report(name, False, why)
        return
    if got.shape != want.shape:
        report(name, False, "shape %s, expected %s" % (got.shape, want.shape))
        return
    diff = np.abs(got - want)
    worst = float(diff.max()) if diff.size else 0.0
    scale = max(1.0, float(np.abs(want).max()))
    report(name, worst <= tol * scale, "largest difference %g (tolerance %g)" % (worst, tol * scale))


rng = np.random.default_rng(13)
H, W = 37, 53


def unit(a, bits):
    """What imfilter makes of unsigned samples: v / (2^bits - 1) as a float32."""
    return (a.astype(np.float64) / (2 ** bits - 1)).astype(np.float32).astype(np.float64)


def chan(a):
    return a if a.ndim == 3 else a[:, :, None]


# ---- variants written by tifffile, read back against the array -------------

g8 = rng.integers(0, 256, (H, W), dtype=np.uint8)
rgb8 = rng.integers(0, 256, (H, W, 3), dtype=np.uint8)
rgb16 = rng.integers(0, 65536, (H, W, 3), dtype=np.uint16)
ga8 = rng.integers(0, 256, (H, W, 2), dtype=np.uint8)
rgba16 = rng.integers(0, 65536, (H, W, 4), dtype=np.uint16)
f32 = (rng.standard_normal((H, W)) * 1000).astype(np.float32)
f32rgb = (rng.standard_normal((H, W, 3)) * 3).astype(np.float32)

tifffile.imwrite(p("g8.tif"), g8)
tifffile.imwrite(p("rgb8.tif"), rgb8, photometric="rgb")
tifffile.imwrite(p("rgb16.tif"), rgb16, photometric="rgb")
tifffile.imwrite(p("f32.tif"), f32)
tifffile.imwrite(p("f32rgb.tif"), f32rgb, photometric="rgb")
compare("tifffile grey 8-bit", p("g8.tif"), unit(chan(g8), 8))
compare("tifffile RGB 8-bit", p("rgb8.tif"), unit(rgb8, 8))
compare("tifffile RGB 16-bit", p("rgb16.tif"), unit(rgb16, 16))
compare("tifffile float32", p("f32.tif"), chan(f32).astype(np.float64))

for name, a, kw in [
    ("int8", rng.integers(-128, 128, (H, W), dtype=np.int8), {}),
    ("int16", rng.integers(-32768, 32768, (H, W), dtype=np.int16), {}),
    ("int32", rng.integers(-2 ** 24, 2 ** 24, (H, W), dtype=np.int32), {}),
    ("uint32", rng.integers(0, 2 ** 24, (H, W), dtype=np.uint32), {}),
    ("float16", (rng.standard_normal((H, W)) * 100).astype(np.float16), {}),
    ("float64", rng.standard_normal((H, W, 3)) * 1e3, {"photometric": "rgb"}),
]:
    tifffile.imwrite(p(name + ".tif"), a, **kw)
    compare("tifffile " + name, p(name + ".tif"), chan(a).astype(np.float32).astype(np.float64),
            1e-7 if name == "float64" else 0.0)

tifffile.imwrite(p("sep16.tif"), np.moveaxis(rgb16, 2, 0), photometric="rgb",
                 planarconfig="separate")
compare("tifffile separate planes, strips", p("sep16.tif"), unit(rgb16, 16))
tifffile.imwrite(p("septile.tif"), np.moveaxis(rgba16, 2, 0), photometric="rgb",
                 planarconfig="separate",
                 tile=(16, 16), extrasamples=["unassalpha"])
compare("tifffile separate planes, tiles, alpha", p("septile.tif"), unit(rgba16, 16))
tifffile.imwrite(p("tiles.tif"), rgb8, photometric="rgb", tile=(16, 32))
compare("tifffile tiles (partial at the edges)", p("tiles.tif"), unit(rgb8, 8))
tifffile.imwrite(p("big.tif"), rgb16, photometric="rgb", bigtiff=True)
compare("tifffile BigTIFF", p("big.tif"), unit(rgb16, 16))
tifffile.imwrite(p("white.tif"), g8, photometric="miniswhite")
compare("tifffile min-is-white", p("white.tif"), unit(255 - chan(g8), 8))
tifffile.imwrite(p("white-alpha.tif"), ga8, photometric="miniswhite", extrasamples=["unassalpha"])
compare("tifffile min-is-white with alpha (alpha not turned over)", p("white-alpha.tif"),
        np.dstack([unit(255 - ga8[:, :, :1], 8), unit(ga8[:, :, 1:], 8)]))
tifffile.imwrite(p("ga8.tif"), ga8, photometric="minisblack", extrasamples=["unassalpha"])
compare("tifffile grey and unassociated alpha", p("ga8.tif"), unit(ga8, 8))
tifffile.imwrite(p("lzma.tif"), rgb16, photometric="rgb", compression="lzma")
compare("tifffile LZMA", p("lzma.tif"), unit(rgb16, 16))
tifffile.imwrite(p("pred2.tif"), rgb16, photometric="rgb", compression="zlib", predictor=True)
compare("tifffile deflate, predictor 2", p("pred2.tif"), unit(rgb16, 16))

# Associated alpha: colour already times alpha.  imfilter divides it out,
# filters, and writes it associated again (the same values, to float
# rounding); to PNG it writes straight colour.
a = rng.integers(1, 256, (H, W), dtype=np.uint16)
c = rng.integers(0, 256, (H, W, 3), dtype=np.uint16)
assoc = np.dstack([c * a[:, :, None] // 255, a]).astype(np.uint8)
tifffile.imwrite(p("assoc.tif"), assoc, photometric="rgb", extrasamples=["assocalpha"])
compare("tifffile associated alpha, kept associated", p("assoc.tif"), unit(assoc, 8), 1e-6)
if wanted("associated alpha to PNG"):
    r = imf("-k", "identity", p("assoc.tif"), p("assoc.png"))
    ok = r.returncode == 0
    if ok:
        got = np.asarray(Image.open(p("assoc.png"))).astype(np.float64)
        want = np.round(np.minimum(assoc[:, :, :3] * 255.0 / assoc[:, :, 3:], 255))
        worst = np.abs(got[:, :, :3] - want).max()
        ok = worst <= 1 and (got[:, :, 3] == assoc[:, :, 3]).all()
    report("associated alpha to PNG: straight colour, divided once", ok,
           r.stderr.strip() or "largest difference %g" % worst)

# Palette and 1-bit by PIL.
pal = Image.fromarray(rng.integers(0, 200, (H, W), dtype=np.uint8), "P")
pal.putpalette(list(rng.integers(0, 256, 600, dtype=np.uint8)))
pal.save(p("palette.tif"))
with tifffile.TiffFile(p("palette.tif")) as t:
    cmap = t.pages[0].colormap.astype(np.float64)
    idx = t.pages[0].asarray()
compare("PIL palette (tifffile's colour map)", p("palette.tif"),
        (cmap[:, idx].transpose(1, 2, 0) / 65535).astype(np.float32).astype(np.float64))
bw = Image.fromarray(rng.integers(0, 2, (H, W), dtype=np.uint8) * 255).convert("1")
bw.save(p("bilevel.tif"))
compare("PIL 1-bit", p("bilevel.tif"), unit(chan(np.asarray(bw).astype(np.uint8)), 1))

def cp_name(base, opts):
    return "cp-%s%s.tif" % (base, "".join(o.replace(":", "").replace("-", "_") for o in opts))


# 2 and 4-bit grey by ImageMagick, read back by PIL (which spreads them over 8 bits).
Image.fromarray(g8).save(p("g8.png"))
for bits in (2, 4):
    name = "convert %d-bit grey (PIL's reading)" % bits
    if not wanted(name):
        continue
    try:
        tool(CONVERT, p("g8.png"), "-depth", str(bits), p("g%dbit.tif" % bits))
        pil = np.asarray(Image.open(p("g%dbit.tif" % bits)).convert("L"))
        compare(name, p("g%dbit.tif" % bits), unit(chan(pil), 8))
    except RuntimeError as e:
        report(name, False, str(e))


# ---- tiffcp: every compression, predictors, tiles, strips of a row, BigTIFF ----------

for opts, base, want, tol in [
    (["-c", "lzw"], "rgb8", unit(rgb8, 8), 0),
    (["-c", "lzw:2"], "rgb16", unit(rgb16, 16), 0),
    (["-c", "zip"], "rgb8", unit(rgb8, 8), 0),
    (["-c", "zip:2"], "rgb16", unit(rgb16, 16), 0),
    (["-c", "zip:3"], "f32", chan(f32).astype(np.float64), 0),
    (["-c", "lzw:3"], "f32rgb", f32rgb.astype(np.float64), 0),
    (["-c", "zstd:3"], "f32rgb", f32rgb.astype(np.float64), 0),
    (["-c", "zstd"], "rgb16", unit(rgb16, 16), 0),
    (["-c", "lzma:2"], "rgb16", unit(rgb16, 16), 0),
    (["-c", "packbits"], "g8", unit(chan(g8), 8), 0),
    (["-c", "lerc"], "f32", chan(f32).astype(np.float64), 0),
    (["-c", "zip", "-t", "-w", "16", "-l", "16"], "rgb16", unit(rgb16, 16), 0),
    (["-c", "lzw", "-p", "separate", "-t", "-w", "32", "-l", "16"], "rgb8", unit(rgb8, 8), 0),
    (["-r", "1"], "rgb16", unit(rgb16, 16), 0),
    (["-c", "zip", "-8"], "f32rgb", f32rgb.astype(np.float64), 0),
    (["-c", "g4"], "bilevel", unit(chan(np.asarray(bw).astype(np.uint8)), 1), 0),
    (["-c", "g3"], "bilevel", unit(chan(np.asarray(bw).astype(np.uint8)), 1), 0),
]:
    name = "tiffcp " + " ".join(opts) + " (" + base + ")"
    out = p(cp_name(base, opts))
    if not wanted(name):
        continue
    try:
        tool("tiffcp", *opts, p(base + ".tif"), out)
    except RuntimeError as e:
        report(name, False, str(e))
        continue
    compare(name, out, want, tol)

# Lossy codecs: against libtiff's own decoding (tiffcp -c none, read by tifffile).
for opts, base in [(["-c", "jpeg"], "rgb8"), (["-c", "jpeg"], "g8"),
                   (["-c", "jpeg", "-t"], "rgb8"), (["-c", "webp"], "rgb8")]:
    name = "tiffcp " + " ".join(opts) + " (" + base + ", lossy)"
    if not wanted(name):
        continue
    out, ref = p("lossy-%s-%d.tif" % (base, len(opts))), p("lossy-ref.tif")
    try:
        tool("tiffcp", *opts, p(base + ".tif"), out)
        tool("tiffcp", "-c", "none", out, ref)
    except RuntimeError as e:
        report(name, False, str(e))
        continue
    compare(name, out, unit(read_tif(ref), 8), 1.5 / 255)

# ---- ImageMagick, libvips and GDAL -------------------------------------------------------

Image.fromarray(rgb8).save(p("rgb8.png"))
for name, args, want in [
    ("convert LZW", [p("rgb8.png"), "-compress", "LZW", p("im-lzw.tif")], unit(rgb8, 8)),
    ("convert Zip, tiles", [p("rgb8.png"), "-compress", "Zip", "-define",
                            "tiff:tile-geometry=16x16", p("im-tile.tif")], unit(rgb8, 8)),
    ("convert RLE (PackBits)", [p("rgb8.png"), "-compress", "RLE", p("im-rle.tif")], unit(rgb8, 8)),
    ("convert 16-bit RGBA, unassociated", [p("septile.tif"), "-compress", "Zip",
                                           p("im-rgba.tif")], unit(rgba16, 16)),
]:
    if not wanted(name):
        continue
    try:
        tool(CONVERT, *args)
        compare(name, args[-1], want)
    except RuntimeError as e:
        report(name, False, str(e))

for name, opts, base, want in [
    ("vips deflate, tiles, predictor", "[compression=deflate,tile,tile-width=32,tile-height=32,"
     "predictor=horizontal]", "rgb16", unit(rgb16, 16)),
    ("vips LZW, BigTIFF", "[compression=lzw,bigtiff]", "rgb8", unit(rgb8, 8)),
    ("vips zstd float, predictor 3", "[compression=zstd,predictor=float]", "f32rgb",
     f32rgb.astype(np.float64)),
]:
    if not wanted(name):
        continue
    try:
        tool("vips", "copy", p(base + ".tif"), p("vips-%s.tif" % base) + opts)
        compare(name, p("vips-%s.tif" % base), want)
    except RuntimeError as e:
        report(name, False, str(e))

for name, co, base, want in [
    ("gdal_translate ZSTD float, predictor 3, tiled", ["COMPRESS=ZSTD", "PREDICTOR=3", "TILED=YES",
                                                       "BLOCKXSIZE=32", "BLOCKYSIZE=16"],
     "f32", chan(f32).astype(np.float64)),
    ("gdal_translate DEFLATE, separate bands", ["COMPRESS=DEFLATE", "PREDICTOR=2", "INTERLEAVE=BAND"],
     "rgb16", unit(rgb16, 16)),
    ("gdal_translate int16, LZW", ["COMPRESS=LZW"], "int16",
     chan(tifffile.imread(p("int16.tif"))).astype(np.float64)),
]:
    if not wanted(name):
        continue
    args = ["gdal_translate", "-q"]
    for o in co:
        args += ["-co", o]
    try:
        tool(*args, p(base + ".tif"), p("gdal-%s.tif" % base))
        compare(name, p("gdal-%s.tif" % base), want)
    except RuntimeError as e:
        report(name, False, str(e))

# ---- pages --------------------------------------------------------------------------------

with tifffile.TiffWriter(p("pages.tif")) as t:
    for page in [g8, 255 - g8, g8 // 2]:
        t.write(page)
compare("--page 0", p("pages.tif"), unit(chan(g8), 8))
compare("--page 2", p("pages.tif"), unit(chan(g8 // 2), 8), 0, "--page", "2")
if wanted("--page past the last"):
    r = imf("-k", "identity", "--page", "3", p("pages.tif"), p("nopage.tif"))
    report("--page past the last: 65, one line, no output",
           r.returncode == 65 and r.stderr.count("\n") == 1 and not os.path.exists(p("nopage.tif")),
           "exit %d: %s" % (r.returncode, r.stderr.strip()))

# ---- the same results by the PNG and PFM paths ---------------------------------------------



def read_pfm(path):
    with open(path, "rb") as f:
        magic = f.readline().strip()
        w, h = map(int, f.readline().split())
        f.readline()
        data = np.frombuffer(f.read(), dtype="<f4")
    return data.reshape(h, w, 3 if magic == b"PF" else 1)[::-1]


for base, arr in [("f32", chan(f32)), ("f32rgb", f32rgb)]:
    for kern in ["gaussian:1.5", "sobel-x", "5x5: " + " ".join(str(v) for v in range(25))]:
        name = "float TIFF to float TIFF = PFM to PFM, bit for bit (%s, -k %s)" % (base, kern)
        if not wanted(name):
            continue
        write_pfm(p(base + ".pfm"), arr)
        src = p(cp_name(base, ["-c", "zip:3"]))
        src = src if os.path.exists(src) else p(base + ".tif")
        r1 = imf("-k", kern, p(base + ".pfm"), p("path.pfm"))
        r2 = imf("-k", kern, src, p("path.tif"))
        ok = r1.returncode == 0 and r2.returncode == 0
        if ok:
            tool("tiffcp", "-c", "none", p("path.tif"), p("path-none.tif"))
            t = tifffile.imread(p("path-none.tif")).astype("<f4")
            t = t if t.ndim == 3 else t[:, :, None]
            ok = t.tobytes() == np.ascontiguousarray(read_pfm(p("path.pfm"))).tobytes()
        report(name, ok, (r1.stderr + r2.stderr).strip() or "the samples differ")

for base, want_depth in [("rgb8", 8), ("rgb16", 16)]:
    name = "%s TIFF and PNG give the same PNG (-k blur)" % base
    if not wanted(name):
        continue
    tool(CONVERT, p(base + ".tif"), p(base + "-ref.png"))
    r1 = imf("-k", "blur", p(base + "-ref.png"), p("via-png.png"))
    r2 = imf("-k", "blur", p(cp_name(base, ["-c", "lzw"])) if base == "rgb8" else p(base + ".tif"),
             p("via-tif.png"))
    ok = r1.returncode == 0 and r2.returncode == 0
    if ok:
        # The pixels (tifffile reads PNG through imageio? no: PIL, 8-bit; convert for 16-bit).
        tool(CONVERT, p("via-png.png"), "-compress", "none", p("via-png.tif"))
        tool(CONVERT, p("via-tif.png"), "-compress", "none", p("via-tif.tif"))
        ok = np.array_equal(tifffile.imread(p("via-png.tif")), tifffile.imread(p("via-tif.tif")))
    report(name, ok, (r1.stderr + r2.stderr).strip() or "the pixels differ")


# ---- pipes and threads ------------------------------------------------------------------------

if wanted("pipes"):
    with open(p("rgb16.tif"), "rb") as f:
        r1 = subprocess.run([IMF, "-k", "blur", "-f", "tiff", "-", "-"], stdin=f, capture_output=True)
    r2 = imf("-k", "blur", "-j", "1", p("rgb16.tif"), p("pipe-file.tif"))
    r3 = imf("-k", "blur", "-j", "2", p("rgb16.tif"), p("pipe-file2.tif"))
    ok = r1.returncode == 0 and r2.returncode == 0 and r3.returncode == 0
    if ok:
        a = open(p("pipe-file.tif"), "rb").read()
        ok = r1.stdout == a and open(p("pipe-file2.tif"), "rb").read() == a
    report("pipes: standard input to standard output gives the file's bytes, for any -j", ok,
           "exit %d %d %d" % (r1.returncode, r2.returncode, r3.returncode))


# ---- output: sample types, -d, compressions, metadata --------------------------------------

for src, args, dtype, label in [
    ("rgb8", [], "uint8", "8-bit stays 8-bit"),
    ("rgb16", [], "uint16", "16-bit stays 16-bit"),
    ("f32", [], "float32", "float stays float"),
    ("int16", [], "int16", "int16 stays int16"),
    ("rgb16", ["-d", "8"], "uint8", "-d 8"),
    ("rgb8", ["-d", "16"], "uint16", "-d 16"),
    ("rgb8", ["-d", "32f"], "float32", "-d 32f"),
]:
    for comp in ["none", "deflate", "lzw", "zstd"]:
        name = "write %s, --tiff-compression %s" % (label, comp)
        if not wanted(name):
            continue
        out = p("w.tif")
        r = imf("-k", "identity", "--tiff-compression", comp, *args, p(src + ".tif"), out)
        ok = r.returncode == 0
        detail = r.stderr.strip()
        if ok:
            tool("tiffcp", "-c", "none", out, p("w-none.tif"))
            got = tifffile.imread(p("w-none.tif"))
            ref = tifffile.imread(p(src + ".tif"))
            if dtype == "uint8" and ref.dtype == np.uint16:
                ref = np.round(ref / 65535.0 * 255)
            elif dtype == "uint16" and ref.dtype == np.uint8:
                ref = ref.astype(np.float64) * 257
            elif dtype == "float32" and ref.dtype == np.uint8:
                ref = (ref.astype(np.float32) / np.float32(255))
            ok = got.dtype == np.dtype(dtype) and np.array_equal(got.astype(np.float64),
                                                                  ref.astype(np.float64))
            detail = "type %s, values equal %s" % (got.dtype, ok)
        report(name, ok, detail)

if wanted("negative float results stay negative"):
    r = imf("-k", "sobel-x", "--tiff-compression", "none", p("f32.tif"), p("neg.tif"))
    got = read_tif(p("neg.tif")) if r.returncode == 0 else None
    report("negative float results stay negative, unclamped", got is not None and got.min() < -1,
           r.stderr.strip())

if wanted("-d 32f to PNG"):
    r = imf("-k", "identity", "-d", "32f", p("rgb8.tif"), p("x.png"))
    report("-d 32f to PNG is a usage error (64)", r.returncode == 64 and not os.path.exists(p("x.png")),
           "exit %d: %s" % (r.returncode, r.stderr.strip()))

if wanted("metadata"):
    icc = icc_profile()
    xmp = b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><imfilter test="1"/></x:xmpmeta>'
    tifffile.imwrite(p("meta.tif"), rgb8, photometric="rgb", resolution=(300, 150), resolutionunit=2,
                     extratags=[(34675, 7, len(icc), icc, True), (700, 1, len(xmp), xmp, True)])
    for out in ["meta-out.tif", "meta-out.png"]:
        r = imf("-k", "blur", p("meta.tif"), p(out))
        if out.endswith(".png"):
            ok = r.returncode == 0 and Image.open(p(out)).info.get("icc_profile") == icc
            report("ICC profile TIFF to PNG", ok, r.stderr.strip())
            continue
        ok = r.returncode == 0
        if ok:
            with tifffile.TiffFile(p(out)) as t:
                tags = t.pages[0].tags
                ok = (tags["InterColorProfile"].value == icc and tags["XMP"].value == xmp and
                      tags["XResolution"].value == (300, 1) and tags["YResolution"].value == (150, 1)
                      and tags["ResolutionUnit"].value == 2)
        report("ICC profile, XMP and resolution TIFF to TIFF", ok, r.stderr.strip())

# ---- GeoTIFF -------------------------------------------------------------------------------


def gdal_json(path):
    return json.loads(run(["gdalinfo", "-json", path]).stdout)


if wanted("GeoTIFF"):
    tool("gdal_translate", "-q", "-a_srs", "EPSG:32633", "-a_ullr", "500000", "4600000",
         str(500000 + W * 10), str(4600000 - H * 20), "-a_nodata", "-9999", "-mo", "IMFILTER=test",
         p("f32.tif"), p("geo.tif"))
    gin = gdal_json(p("geo.tif"))
    gt = gin["geoTransform"]
    # Kernel 5x5 (origin 2, 2): full moves the origin 2 pixels up and left;
    # stride 2 doubles the pixels and keeps their centres where they were.
    cases = [
        ("same", [], (gt[0], gt[1], gt[3], gt[5])),
        ("full", ["-s", "full"], (gt[0] - 2 * gt[1], gt[1], gt[3] - 2 * gt[5], gt[5])),
        ("valid", ["-s", "valid"], (gt[0] + 2 * gt[1], gt[1], gt[3] + 2 * gt[5], gt[5])),
        ("--stride 2", ["--stride", "2"], (gt[0] - 0.5 * gt[1], 2 * gt[1], gt[3] - 0.5 * gt[5], 2 * gt[5])),
        ("--stride 3 -s full", ["--stride", "3", "-s", "full"],
         (gt[0] - 3 * gt[1], 3 * gt[1], gt[3] - 3 * gt[5], 3 * gt[5])),
        ("two kernels, full", ["-s", "full", "-k", "box:3"],
         (gt[0] - 3 * gt[1], gt[1], gt[3] - 3 * gt[5], gt[5])),
        ("--dilation 2 -s full", ["--dilation", "2", "-s", "full"],
         (gt[0] - 4 * gt[1], gt[1], gt[3] - 4 * gt[5], gt[5])),
        ("--transpose --stride 2", ["--transpose", "--stride", "2"],
         (gt[0] + 0.25 * gt[1], gt[1] / 2, gt[3] + 0.25 * gt[5], gt[5] / 2)),
    ]
    for label, args, want in cases:
        name = "GeoTIFF %s: gdalinfo's origin and pixel size" % label
        r = imf("-k", "gaussian:1,5", *args, p("geo.tif"), p("geo-out.tif"))
        if r.returncode != 0:
            report(name, False, r.stderr.strip())
            continue
        g = gdal_json(p("geo-out.tif"))
        got = (g["geoTransform"][0], g["geoTransform"][1], g["geoTransform"][3], g["geoTransform"][5])
        ok = np.allclose(got, want, rtol=0, atol=1e-6) and g["coordinateSystem"]["wkt"] == \
            gin["coordinateSystem"]["wkt"]
        if label == "same":
            ok = ok and g["geoTransform"] == gt
        report(name, ok, "got %s, expected %s" % (got, want))
    g = gdal_json(p("geo-out.tif"))
    band = g["bands"][0]
    report("GeoTIFF: GDAL_NODATA and GDAL_METADATA carried",
           band.get("noDataValue") == -9999 and g.get("metadata", {}).get("", {}).get("IMFILTER") == "test",
           "nodata %s, metadata %s" % (band.get("noDataValue"), g.get("metadata")))
    with tifffile.TiffFile(p("geo.tif")) as a, tifffile.TiffFile(p("geo-out.tif")) as b:
        ta, tb = a.pages[0].tags, b.pages[0].tags
        same = all(ta[k].value == tb[k].value for k in ["GeoKeyDirectoryTag", "GeoAsciiParamsTag"]
                   if k in ta)
    report("GeoTIFF: key directory and ASCII parameters byte for byte", same)
    # A ModelTransformation instead of scale and tie point (a rotated grid).
    tifffile.imwrite(p("geo-matrix.tif"), f32, extratags=[
        (34264, 12, 16, (2.0, 0.5, 0, 1000, 0.25, -3.0, 0, 2000, 0, 0, 0, 0, 0, 0, 0, 1), True),
        (34735, 3, 8, (1, 1, 0, 1, 1024, 0, 1, 1), True)])
    r = imf("-k", "box:3", "-s", "full", "--stride", "2", p("geo-matrix.tif"), p("geo-matrix-out.tif"))
    if r.returncode == 0:
        with tifffile.TiffFile(p("geo-matrix-out.tif")) as t:
            m = np.array(t.pages[0].tags["ModelTransformationTag"].value).reshape(4, 4)
        # Output pixel i: input centre 2 i - 1, corner c = -1 + (1 - 2) / 2 = -1.5.
        want = np.array([[4.0, 1.0, 0, 1000 - 1.5 * 2 - 1.5 * 0.5], [0.5, -6.0, 0, 2000 - 1.5 * 0.25 + 1.5 * 3],
                         [0, 0, 0, 0], [0, 0, 0, 1]])
        report("GeoTIFF ModelTransformation composed (full, stride 2)", np.allclose(m, want),
               "got %s" % m.tolist())
    else:
        report("GeoTIFF ModelTransformation composed (full, stride 2)", False, r.stderr.strip())

print("tiff.py: %d failed" % failures, file=sys.stderr)
sys.exit(0)

#!/usr/bin/python3
"""layer_zone.py IMFILTER TMPDIR PHOTO: the numeric command-line checks of
cross-channel kernels, --stride and --transpose (layer.sh runs it).

- downscale2 with --stride 2 on a zone plate leaves less aliasing than
  plain decimation: the energy (variance) of the output where the input's
  local frequency is above the new Nyquist frequency, both figures printed;
- upscale2 with --transpose --stride 2: a constant stays constant, a
  ramp's interior is bilinear at pixel centres;
- luma-sobel against luma then Sobel in double (numpy);
- every engine gives the same result for a cross-channel kernel with
  stride 2 on a photo, and that result is the numpy reference's;
- --emit-matrix with --transpose writes the transpose of the matrix
  written without it.

Prints PASS/FAIL lines. Images are written as PNG here (zlib) and read
back as PFM, which keeps imfilter's float results.
"""
import os
import re
import struct
import subprocess
import sys
import zlib

import numpy as np

from pfm import read_pfm

failures = 0


def report(ok, name, detail=""):
    global failures
    if ok:
        print("PASS: %s" % name)
    else:
        failures += 1
        print("FAIL: %s: %s" % (name, detail))
    sys.stdout.flush()


def write_png(path, a):
    """a: h x w (grey) or h x w x 3 (RGB) of 0..255 integers, 8 bits."""
    a = np.asarray(a)
    if a.ndim == 2:
        a = a[:, :, None]
    h, w, ch = a.shape
    colour = {1: 0, 3: 2}[ch]
    raw = b"".join(b"\0" + a[y].astype(np.uint8).tobytes() for y in range(h))

    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + \
            struct.pack(">I", zlib.crc32(kind + data) & 0xffffffff)
    with open(path, "wb") as f:
        f.write(b"\x89PNG\r\n\x1a\n")
        f.write(chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, colour, 0, 0, 0)))
        f.write(chunk(b"IDAT", zlib.compress(raw)))
        f.write(chunk(b"IEND", b""))


def png_header(path):
    """(width, height, bit depth, colour type) from a PNG's IHDR."""
    with open(path, "rb") as f:
        head = f.read(29)
    w, h, depth, colour = struct.unpack(">IIBB", head[16:26])
    return w, h, depth, colour


def run(imf, *args):
    p = subprocess.run([imf] + list(args), stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    return p.returncode, p.stderr.decode(errors="replace").strip()


def parse_kernel(path):
    """A kernel file as a dict: channels, combine, scale, kernels (lists of
    per-channel matrices), biases. Enough of the format for the library's
    files: comments, keywords, '---' separators, rows of numbers."""
    mats, rows, info = [], [], {"channels": 0, "combine": "sum", "scale": None,
                                "biases": [], "bias_at": {}}
    bias = 0.0

    def num(s):
        if "/" in s:
            a, b = s.split("/")
            return float(a) / float(b)
        return float(s)

    def end_matrix():
        if rows:
            mats.append(np.array(rows, float))
            rows.clear()
    for line in open(path, encoding="utf-8-sig"):
        line = line.split("#")[0].strip()
        if not line:
            continue
        if line == "---":
            end_matrix()
            continue
        word = line.split()
        if word[0] in ("channels", "combine", "scale", "bias", "name", "origin"):
            if word[0] == "channels":
                info["channels"] = int(word[1])
            elif word[0] == "combine":
                info["combine"] = word[1]
            elif word[0] == "scale":
                info["scale"] = word[1]
            elif word[0] == "bias":
                bias = num(word[1])
                info["bias_at"][len(mats)] = bias
            continue
        rows.append([num(v) for v in re.split(r"[\s,]+", line)])
    end_matrix()
    n = info["channels"] or 1
    info["kernels"] = [mats[i:i + n] for i in range(0, len(mats), n)]
    # Each kernel's bias: the last bias line at or before its first matrix.
    b, biases = 0.0, []
    for i in range(len(info["kernels"])):
        for at in sorted(info["bias_at"]):
            if at <= i * n:
                b = info["bias_at"][at]
        biases.append(b)
    info["biases"] = biases
    return info


def pad_reflect(a, top, bottom, left, right):
    """Half-sample symmetric border (imfilter's reflect), repeated as far as needed."""
    return np.pad(a, ((top, bottom), (left, right)), mode="symmetric")


def conv_layer(img, kernels, biases, stride=(1, 1), combine=None, correlate=False):
    """layer.h's forward operator for shape same, border reflect, dilation 1,
    default origin: img h x w x N, kernels M lists of N matrices (weights
    as written). Returns h' x w' x M (or x 1 when combined)."""
    h, w, n = img.shape
    sx, sy = stride
    outs = []
    for kern in kernels:
        acc = None
        for c in range(n):
            k = kern[c] if correlate else kern[c][::-1, ::-1]
            kh, kw = k.shape
            # The origin floor(k/2), turned with the kernel for convolution.
            oy, ox = kh // 2, kw // 2
            ay, ax = (oy, ox) if correlate else (kh - 1 - oy, kw - 1 - ox)
            p = pad_reflect(img[:, :, c], ay, kh - 1 - ay, ax, kw - 1 - ax)
            r = np.zeros((h, w))
            for i in range(kh):
                for j in range(kw):
                    r += k[i, j] * p[i:i + h, j:j + w]
            acc = r if acc is None else acc + r
        outs.append(acc[::sy, ::sx])
    if combine == "magnitude":
        return np.sqrt(sum(o * o for o in outs))[:, :, None] + biases[0]
    return np.stack([o + b for o, b in zip(outs, biases)], axis=2)


def zone_plate(imf, tmp):
    n = 512
    y, x = np.mgrid[0:n, 0:n].astype(float)
    c = (n - 1) / 2.0
    r2 = (x - c) ** 2 + (y - c) ** 2
    # Local frequency r / 512 cycles per pixel: 0.5 at r = 256.
    f = 0.5 + 0.5 * np.cos(np.pi * r2 / 512.0)
    zone = os.path.join(tmp, "zone.png")
    write_png(zone, np.round(f * 255))
    down = os.path.join(tmp, "zone-down.pfm")
    dec = os.path.join(tmp, "zone-dec.pfm")
    rc1, e1 = run(imf, "-k", "downscale2", "--stride", "2", zone, down)
    rc2, e2 = run(imf, "-k", "1x1: 1", "--stride", "2", zone, dec)
    if rc1 or rc2:
        report(0, "zone plate: downscale2 and plain decimation run", "%d %s; %d %s" % (rc1, e1, rc2, e2))
        return
    a, b = read_pfm(down)[:, :, 0], read_pfm(dec)[:, :, 0]
    if a.shape != (256, 256) or b.shape != (256, 256):
        report(0, "zone plate: 512x512 becomes 256x256", "%s and %s" % (a.shape, b.shape))
        return

    def band(img, offset, lo, hi):
        # Output q sits at input 2 q + offset (the centre of its window).
        q = np.arange(256) * 2.0 + offset
        rr = np.hypot(q[None, :] - c, q[:, None] - c)
        sel = (rr > lo) & (rr < hi)
        return float(np.var(img[sel]))
    # Above the new Nyquist (0.25 cycles per input pixel, r > 128), below
    # the input's own (r < 256, beyond which the input itself aliases).
    ea, eb = band(a, 0.5, 128, 256), band(b, 0.0, 128, 256)
    report(ea < 0.2 * eb,
           "zone plate: downscale2 --stride 2 leaves aliasing energy %.4f vs %.4f for plain "
           "decimation (variance where the input is above the new Nyquist)" % (ea, eb),
           "downscale2 does not leave clearly less (needs < 20%%)")
    # It must not get there by blurring everything: below half the new
    # Nyquist (r < 64) the pattern survives.
    la, lb = band(a, 0.5, 0, 64), band(b, 0.0, 0, 64)
    report(la > 0.5 * lb,
           "zone plate: downscale2 keeps the low frequencies (variance %.4f vs %.4f where "
           "r < 64)" % (la, lb), "too much of the pass band lost")


def upscale(imf, tmp):
    small = os.path.join(tmp, "const.png")
    big = os.path.join(tmp, "const-big.png")
    write_png(small, np.full((30, 40), 153))
    rc, err = run(imf, "-k", "upscale2", "--transpose", "--stride", "2", small, big)
    ok = rc == 0 and png_header(big)[:2] == (80, 60)
    report(ok, "upscale2 --transpose --stride 2: 40x30 becomes 80x60",
           "exit %d %s, %s" % (rc, err, png_header(big) if rc == 0 else ""))
    if ok:
        pfm = os.path.join(tmp, "const-big.pfm")
        run(imf, "-k", "upscale2", "--transpose", "--stride", "2", small, pfm)
        v = read_pfm(pfm)
        d = float(np.abs(v - 153 / 255.0).max())
        report(d < 1e-6, "upscale2: a constant image stays constant, edges included (border "
               "reflect), max deviation %.2g" % d, "deviation %.3g" % d)

    # A ramp: v(x, y) = (4 x + 2 y + 10) / 255; bilinear at pixel centres
    # puts output p at input (p + 0.5) / 2 - 0.5.
    y, x = np.mgrid[0:30, 0:40]
    ramp = os.path.join(tmp, "ramp.png")
    write_png(ramp, 4 * x + 2 * y + 10)
    out = os.path.join(tmp, "ramp-big.pfm")
    rc, err = run(imf, "-k", "upscale2", "--transpose", "--stride", "2", ramp, out)
    if rc:
        report(0, "upscale2 on a ramp runs", err)
        return
    v = read_pfm(out)[:, :, 0]
    py, px = np.mgrid[0:60, 0:80].astype(float)
    want = (4 * ((px + 0.5) / 2 - 0.5) + 2 * ((py + 0.5) / 2 - 0.5) + 10) / 255.0
    inner = (slice(2, 58), slice(2, 78))
    d = float(np.abs(v[inner] - want[inner]).max())
    report(v.shape == (60, 80) and d < 1e-5,
           "upscale2: a ramp's interior is bilinear at pixel centres (max error %.2g)" % d,
           "max error %.3g; output %s" % (d, v.shape))


def luma_sobel(imf, tmp, photo):
    src = os.path.join(tmp, "photo.pfm")
    rc, err = run(imf, "-k", "identity", photo, src)
    if rc:
        report(0, "luma-sobel: reading the photo", err)
        return
    rgb = np.round(read_pfm(src) * 255) / 255.0      # exactly the 8-bit values / 255
    sobel = parse_kernel("kernels/sobel.kernel")
    kx, ky = sobel["kernels"][0][0], sobel["kernels"][1][0]
    # The library file: one kernel per gradient, the Sobel matrix times each luma weight.
    ls = parse_kernel("kernels/luma-sobel.kernel")
    luma = (0.2126, 0.7152, 0.0722)
    dev = max(float(np.abs(m - l * s).max()) for kern, s in zip(ls["kernels"], (kx, ky))
              for m, l in zip(kern, luma)) if len(ls["kernels"]) == 2 else 1.0
    report(ls["channels"] == 3 and ls["combine"] == "magnitude" and dev < 1e-12,
           "luma-sobel.kernel: channels 3, combine magnitude, sobel x and y times the Rec. 709 "
           "luma weights", "channels %d, combine %s, %d kernels, deviation %.3g" %
           (ls["channels"], ls["combine"], len(ls["kernels"]), dev))

    png = os.path.join(tmp, "edges.png")
    rc, err = run(imf, "-k", "luma-sobel", photo, png)
    hdr = png_header(png) if rc == 0 else None
    report(rc == 0 and hdr[3] == 0, "luma-sobel: photo.png to edges.png writes a grey PNG",
           "exit %d %s, IHDR %s" % (rc, err, hdr))
    out = os.path.join(tmp, "edges.pfm")
    rc, err = run(imf, "-k", "luma-sobel", photo, out)
    if rc:
        report(0, "luma-sobel to PFM runs", err)
        return
    got = read_pfm(out)
    Y = rgb[:, :, 0] * luma[0] + rgb[:, :, 1] * luma[1] + rgb[:, :, 2] * luma[2]
    want = conv_layer(Y[:, :, None], [[kx], [ky]], [0.0], combine="magnitude")
    d = float(np.abs(got - want).max() / np.abs(want).max()) if got.shape == want.shape else 1.0
    report(got.shape == want.shape and d < 1e-5,
           "luma-sobel: one channel equal to sqrt(gx^2 + gy^2) of the luma in double (max "
           "error %.2g of the maximum %.3g)" % (d, float(np.abs(want).max())),
           "shape %s vs %s, relative error %.3g" % (got.shape, want.shape, d))


def engines(imf, tmp, photo):
    # Three output channels from three, each matrix a rank-1 product so
    # that the separable engine applies too; biases of their own.
    rs = np.random.RandomState(8)
    kernels = []
    text = ["# engines: 3 kernels of 5x4x3, rank 1 each", "channels 3"]
    biases = [0.25, -0.125, 0.0625]
    for b in range(3):
        kern = []
        for c in range(3):
            col = rs.randint(-3, 4, 4).astype(float)
            row = rs.randint(-3, 4, 5).astype(float)
            col[0] = col[0] or 1
            row[1] = row[1] or 2
            m = np.outer(col, row) / 16.0
            kern.append(m)
            if c == 0:
                text.append("bias %r" % biases[b])
            text += [" ".join("%r" % v for v in r) for r in m]
            text.append("---")
        kernels.append(kern)
    path = os.path.join(tmp, "cross.kernel")
    with open(path, "w") as f:
        f.write("\n".join(text[:-1]) + "\n")
    src = os.path.join(tmp, "photo.pfm")
    run(imf, "-k", "identity", photo, src)
    rgb = np.round(read_pfm(src) * 255) / 255.0
    want = conv_layer(rgb, kernels, biases, stride=(2, 2))
    sumk = max(sum(float(np.abs(m).sum()) for m in kern) for kern in kernels)
    results = {}
    for e in ("direct", "separable", "toeplitz", "fft"):
        out = os.path.join(tmp, "cross-%s.pfm" % e)
        rc, err = run(imf, "-v", "-e", e, "-k", path, "--stride", "2", photo, out)
        if rc or ("engine %s" % e) not in err:
            report(0, "cross-channel kernel, stride 2, engine %s runs (and -v names it)" % e, err)
            continue
        results[e] = read_pfm(out)
    if "direct" not in results:
        return
    for e, got in results.items():
        tol = 1e-4 if e == "fft" else 1e-5
        if got.shape != want.shape:
            report(0, "cross-channel kernel, stride 2, engine %s" % e,
                   "shape %s, expected %s" % (got.shape, want.shape))
            continue
        d_ref = float(np.abs(got - want).max()) / sumk
        d_dir = float(np.abs(got - results["direct"]).max()) / sumk
        report(d_ref < tol and d_dir < tol,
               "cross-channel kernel 5x4x3 -> 3, stride 2, on a %dx%d photo: engine %s within "
               "%.2g of direct and %.2g of the numpy reference (units of sum|k| max|x|; %g)" %
               (rgb.shape[1], rgb.shape[0], e, d_dir, d_ref, tol),
               "%.3g from direct, %.3g from the reference" % (d_dir, d_ref))


def read_mtx(path):
    with open(path) as f:
        lines = [l for l in f if not l.startswith("%")]
    rows, cols, nnz = map(int, lines[0].split())
    entries = {}
    for l in lines[1:]:
        i, j, v = l.split()
        entries[(int(i), int(j))] = entries.get((int(i), int(j)), 0.0) + float(v)
    return rows, cols, nnz, entries


def emit_matrix(imf, tmp):
    rs = np.random.RandomState(5)
    big = os.path.join(tmp, "emit-big.png")
    small = os.path.join(tmp, "emit-small.png")
    write_png(big, rs.randint(0, 256, (8, 10)))
    write_png(small, rs.randint(0, 256, (4, 5)))
    # full with stride 3,2: the smallest input of its output size, 8x7
    # (layer.h's (h - 1) s - KH + 2), so that T^T maps back to it.
    odd = os.path.join(tmp, "emit-odd.png")
    write_png(odd, rs.randint(0, 256, (7, 8)))
    spec = "3x3: 1 2 0 -1 3 1 0 2 -2"
    cases = [("stride 2, reflect", ["--stride", "2"], big, small),
             ("stride 2, dilation 2,1, zero border", ["--stride", "2", "--dilation", "2,1", "-b", "zero"],
              big, small),
             ("stride 1, wrap, valid", ["-b", "wrap", "-s", "valid"], big, None),
             ("stride 3,2, mirror, full", ["--stride", "3,2", "-b", "mirror", "-s", "full"], odd, None)]
    for name, args, x_img, y_img in cases:
        t = os.path.join(tmp, "T.mtx")
        tt = os.path.join(tmp, "TT.mtx")
        rc, err = run(imf, "--emit-matrix", t, "-k", spec, *args, x_img)
        if rc:
            report(0, "--emit-matrix %s" % name, err)
            continue
        rows, cols, _, te = read_mtx(t)
        if y_img is None:
            # An image of the forward output's size, written for the transpose.
            m = re.search(r"output (\d+)x(\d+)", open(t).read())
            ow, oh = int(m.group(1)), int(m.group(2))
            y_img = os.path.join(tmp, "emit-y.png")
            write_png(y_img, rs.randint(0, 256, (oh, ow)))
        rc, err = run(imf, "--emit-matrix", tt, "--transpose", "-k", spec, *args, y_img)
        if rc:
            report(0, "--emit-matrix --transpose %s" % name, err)
            continue
        trows, tcols, _, tte = read_mtx(tt)
        flipped = {(j, i): v for (i, j), v in te.items()}
        keys = set(flipped) | set(tte)
        d = max((abs(flipped.get(k, 0.0) - tte.get(k, 0.0)) for k in keys), default=0.0)
        report((trows, tcols) == (cols, rows) and d < 1e-6,
               "--emit-matrix with --transpose writes T^T (%s; T is %dx%d, %d entries)" %
               (name, rows, cols, len(te)),
               "T^T is %dx%d, T %dx%d, largest entry difference %.3g" % (trows, tcols, rows, cols, d))


def emit_applies(imf, tmp):
    """T from --emit-matrix times the image equals the filtered image, for
    an ordinary kernel with a stride and a cross-channel one (whose T maps
    all channels: x(:) stacked by columns, channel after channel)."""
    rs = np.random.RandomState(6)
    x_img = os.path.join(tmp, "emit-rgb.png")
    y_img = os.path.join(tmp, "emit-rgb-small.png")
    # 10x6: sides the strides divide, so that T^T maps back to this size.
    write_png(x_img, rs.randint(0, 256, (6, 10, 3)))
    text = ["channels 3"]
    for b in range(3):
        for c in range(3):
            text += [" ".join(str(v) for v in rs.randint(-2, 3, 3)) for _ in range(2)]
            text.append("---")
    kpath = os.path.join(tmp, "emit-cross.kernel")
    with open(kpath, "w") as f:
        f.write("\n".join(text[:-1]) + "\n")
    for name, spec, args in (("ordinary 3x3, stride 2,3, dilation 1,2, clamp",
                              "3x3: 1 2 0 -1 3 1 0 2 -2",
                              ["--stride", "2,3", "--dilation", "1,2", "-b", "clamp"]),
                             ("cross-channel 3x2x3 -> 3, stride 2, reflect", kpath,
                              ["--stride", "2"])):
        t = os.path.join(tmp, "T.mtx")
        tt = os.path.join(tmp, "TT.mtx")
        out = os.path.join(tmp, "emit-out.pfm")
        src = os.path.join(tmp, "emit-src.pfm")
        rc1, e1 = run(imf, "--emit-matrix", t, "-k", spec, *args, x_img)
        rc2, e2 = run(imf, "-k", spec, *args, x_img, out)
        rc3, e3 = run(imf, "-k", "identity", x_img, src)
        if rc1 or rc2 or rc3:
            report(0, "--emit-matrix, %s" % name, "%s %s %s" % (e1, e2, e3))
            continue
        rows, cols, _, te = read_mtx(t)
        x = np.round(read_pfm(src) * 255) / 255.0
        got = read_pfm(out)
        h, w, n = x.shape
        oh, ow, m = got.shape
        T = np.zeros((rows, cols))
        for (i, j), v in te.items():
            T[i - 1, j - 1] = v
        if spec == kpath:
            # Stacked by columns (x * h + y), channel after channel.
            xv = np.concatenate([x[:, :, c].T.ravel() for c in range(n)])
            want = np.concatenate([got[:, :, c].T.ravel() for c in range(m)])
            ok = T.shape == (ow * oh * m, w * h * n)
            if ok:
                d = float(np.abs(T @ xv - want).max())
                ok = d < 1e-5
                detail = "max |T x - filter(x)| %.3g" % d
            else:
                detail = "T is %dx%d, expected %dx%d" % (rows, cols, ow * oh * m, w * h * n)
        else:
            ok = T.shape == (ow * oh, w * h)
            if ok:
                d = max(float(np.abs(T @ x[:, :, c].T.ravel() - got[:, :, c].T.ravel()).max())
                        for c in range(n))
                ok = d < 1e-5
                detail = "max |T x - filter(x)| %.3g over the channels" % d
            else:
                detail = "T is %dx%d, expected %dx%d" % (rows, cols, ow * oh, w * h)
        report(ok, "--emit-matrix, %s: T times the image is the filtered image (%s)" % (name, detail),
               detail)
        # An image of the forward output's size and channels, to transpose.
        write_png(y_img, rs.randint(0, 256, (oh, ow, m) if m == 3 else (oh, ow)))
        rc, err = run(imf, "--emit-matrix", tt, "--transpose", "-k", spec, *args, y_img)
        if rc:
            report(0, "--emit-matrix --transpose, %s" % name, err)
            continue
        trows, tcols, _, tte = read_mtx(tt)
        flipped = {(j, i): v for (i, j), v in te.items()}
        d = max((abs(flipped.get(k, 0.0) - tte.get(k, 0.0)) for k in set(flipped) | set(tte)),
                default=0.0)
        report((trows, tcols) == (cols, rows) and d < 1e-6,
               "--emit-matrix with --transpose writes T^T (%s; T is %dx%d)" % (name, rows, cols),
               "T^T is %dx%d, T %dx%d, largest entry difference %.3g" % (trows, tcols, rows, cols, d))


def main():
    imf, tmp, photo = sys.argv[1], sys.argv[2], sys.argv[3]
    zone_plate(imf, tmp)
    upscale(imf, tmp)
    luma_sobel(imf, tmp, photo)
    engines(imf, tmp, photo)
    emit_matrix(imf, tmp)
    emit_applies(imf, tmp)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/python3
"""deconv_ref.py IMFILTER: --deconvolve through the command line against
NumPy, in double precision, on float images (PFM: nothing clamped).

With -b wrap the blur is circular on the image's own period, so Wiener
deconvolution is the closed form X = conj(H) Y / (|H|^2 + NSR) there, H the
DFT of the kernel placed with its origin at (0, 0), and Richardson-Lucy's
blurs are circular convolutions.  Checked within 1e-4 on 5x5, 8x8, 12x12
and 13x17 images (grey and RGB) with a kernel whose spectrum nears zero;
wiener:NSR at several NSRs, each against the closed form at that NSR and
different from the others, so that an NSR that is parsed and then ignored
fails here.  Then the issue's own reproduction: the same images against
Octave's deconvwnr (octave-image; circular, psf2otf puts the kernel's
centre floor(size / 2) at the origin, as imfilter's default origin is),
when octave-cli is there.  Prints PASS/FAIL lines.
"""
import os
import subprocess
import sys
import tempfile

import numpy as np

from octave import octave_ok
from pfm import read_pfm, write_pfm

# A 3-tap box across times a 2-tap box down, slightly lopsided: its
# spectrum vanishes (or nearly) at a third of the columns' frequencies and
# at the rows' Nyquist.  Origin: the default, floor(w/2), floor(h/2).
K = np.array([[0.16, 0.17, 0.165, 0.005],
              [0.165, 0.16, 0.17, 0.005]])
SPEC = "4x2: " + " ".join(repr(v) for v in K.ravel())
OX, OY = K.shape[1] // 2, K.shape[0] // 2
TOL = 1e-4


def transfer(h, w):
    """The DFT of the kernel on an h x w period, origin at (0, 0) (convolution)."""
    k = np.zeros((h, w))
    for i in range(K.shape[0]):
        for j in range(K.shape[1]):
            k[(i - OY) % h, (j - OX) % w] += np.float32(K[i, j])
    return np.fft.fft2(k)


def wiener(y, nsr):
    H = transfer(*y.shape)
    return np.real(np.fft.ifft2(np.conj(H) * np.fft.fft2(y) / (np.abs(H) ** 2 + nsr)))


def rl(y, iterations):
    H = transfer(*y.shape) / np.sum(K.astype(np.float32))
    blur = lambda x: np.real(np.fft.ifft2(H * np.fft.fft2(x)))
    adjoint = lambda x: np.real(np.fft.ifft2(np.conj(H) * np.fft.fft2(x)))
    x = np.maximum(y, 0)
    for _ in range(iterations):
        c = blur(x)
        r = adjoint(np.where((c > 0) & (y > 0), y / np.where(c > 0, c, 1), 0))
        x = np.where(r > 0, x * r, 0)
    return x


def run(imf, tmp, img, method):
    src, out = os.path.join(tmp, "in.pfm"), os.path.join(tmp, "out.pfm")
    write_pfm(src, img)
    p = subprocess.run([imf, "-b", "wrap", "-k", SPEC, "--deconvolve", method, src, out],
                       capture_output=True, text=True)
    if p.returncode != 0:
        return None, p.stderr.strip()
    return read_pfm(out), ""


def octave_deconvwnr(tmp, imgs, nsr):
    """Octave's deconvwnr(I, K, nsr) of each 2-D image, in one Octave run."""
    script = ["pkg load image; K = [%s];" % "; ".join(" ".join(repr(v) for v in row) for row in K)]
    for i, img in enumerate(imgs):
        src, out = os.path.join(tmp, "oct%d.in" % i), os.path.join(tmp, "oct%d.out" % i)
        np.asfortranarray(img).T.astype("<f8").tofile(src)
        script.append("f = fopen('%s'); I = fread(f, [%d %d], 'double'); fclose(f); "
                      "f = fopen('%s', 'w'); fwrite(f, deconvwnr(I, single(K), %r), 'double'); "
                      "fclose(f);" % (src, img.shape[0], img.shape[1], out, nsr))
    subprocess.run(["octave-cli", "--quiet", "--no-gui", "--eval", " ".join(script)], check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return [np.fromfile(os.path.join(tmp, "oct%d.out" % i), "<f8").reshape(img.shape[1],
                                                                            img.shape[0]).T
            for i, img in enumerate(imgs)]


def main():
    imf = sys.argv[1]
    rng = np.random.default_rng(15)
    failures = 0

    def check(ok, name, detail):
        nonlocal failures
        print("PASS: %s" % name if ok else "FAIL: %s: %s" % (name, detail))
        failures += not ok

    with tempfile.TemporaryDirectory() as tmp:
        for w, h, ch in ((5, 5, 1), (8, 8, 1), (12, 12, 3), (13, 17, 1), (17, 13, 3)):
            img = rng.random((h, w, ch)).astype(np.float32).astype(np.float64)
            hmin = np.min(np.abs(transfer(h, w)))
            results = {}
            for method, nsr in (("wiener", 0.01), ("wiener:0.05", 0.05), ("wiener:0.2", 0.2),
                                ("wiener:0.001", 0.001)):
                got, err = run(imf, tmp, img, method)
                want = np.stack([wiener(img[:, :, c], nsr) for c in range(ch)], axis=2)
                d = np.inf if got is None else np.max(np.abs(got - want))
                results[nsr] = got
                check(d <= TOL, "--deconvolve %s -b wrap on %dx%dx%d: the closed form at "
                      "NSR %g within %g (min |H| %.2g): %.3g" % (method, w, h, ch, nsr, TOL,
                                                                 hmin, d), err)
            # Each NSR gives its own result: none is the default's.
            if all(r is not None for r in results.values()):
                gaps = [np.max(np.abs(results[a] - results[0.01])) for a in (0.05, 0.2, 0.001)]
                check(min(gaps) > 1e-2, "--deconvolve wiener:NSR on %dx%dx%d: NSR 0.05, 0.2 and "
                      "0.001 each differ from the default 0.01 (by %s)" %
                      (w, h, ch, ", ".join("%.3g" % g for g in gaps)), "too close")
            got, err = run(imf, tmp, img, "rl:10")
            want = np.stack([rl(img[:, :, c], 10) for c in range(ch)], axis=2)
            d = np.inf if got is None else np.max(np.abs(got - want))
            check(d <= TOL, "--deconvolve rl:10 -b wrap on %dx%dx%d: circular Richardson-Lucy "
                  "within %g: %.3g" % (w, h, ch, TOL, d), err)
        # Octave's deconvwnr, as the issue ran it, on 5x5, 8x8, 12x12 and 13x17.
        if not octave_ok():
            check(False, "--deconvolve wiener -b wrap as Octave's deconvwnr",
                  "octave-cli with octave-image is missing (make deps installs it)")
        else:
            imgs = [rng.random((h, w)).astype(np.float32).astype(np.float64)
                    for w, h in ((5, 5), (8, 8), (12, 12), (13, 17))]
            for nsr in (0.01, 0.05):
                want = octave_deconvwnr(tmp, imgs, nsr)
                for img, ref in zip(imgs, want):
                    got, err = run(imf, tmp, img[:, :, None], "wiener:%r" % nsr)
                    d = np.inf if got is None else np.max(np.abs(got[:, :, 0] - ref))
                    check(d <= TOL, "--deconvolve wiener:%g -b wrap on %dx%d as Octave's "
                          "deconvwnr(I, K, %g) within %g: %.3g" % (nsr, img.shape[1], img.shape[0],
                                                                   nsr, TOL, d), err)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())

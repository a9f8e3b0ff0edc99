#!/usr/bin/python3
"""scipy_ref.py IMFILTER PHOTO...: compares the PFM output of imfilter's
direct engine with SciPy, an independent double-precision reference,
for every border mode and shape, convolution and correlation.

same shape: scipy.ndimage.correlate with the turned kernel (or the kernel
itself for --correlate) and the matching mode. full and valid: the image
padded by numpy.pad with the matching mode, then scipy.signal.correlate2d
'valid'. Prints PASS/FAIL lines with the worst error, relative to
sum|k| * max|x|.
"""
import os
import subprocess
import sys
import tempfile

import numpy as np
from scipy import ndimage, signal

from pfm import read_pfm

NDIMAGE = {"zero": "constant", "const=0.3": "constant", "clamp": "nearest",
           "reflect": "reflect", "mirror": "mirror", "wrap": "wrap"}
NPPAD = {"zero": "constant", "const=0.3": "constant", "clamp": "edge",
         "reflect": "symmetric", "mirror": "reflect", "wrap": "wrap"}


def pad_reference(img, k, mode, cval, shape):
    kh, kw = k.shape
    if shape == "valid":
        return signal.correlate2d(img, k, mode="valid")
    # full: every position where kernel and image overlap.
    padded = np.pad(img, ((kh - 1, kh - 1), (kw - 1, kw - 1)), mode=NPPAD[mode],
                    **({"constant_values": cval} if NPPAD[mode] == "constant" else {}))
    return signal.correlate2d(padded, k, mode="valid")


def main():
    imf = sys.argv[1]
    kernels = {
        "sharpen 3x3": np.array([[0, -1, 0], [-1, 5, -1], [0, -1, 0]], float),
        "asymmetric 4x3": np.array([[1, 2, 0, -1], [3, -2, 5, 1], [0, 1, 2, 7]], float) / 10,
        "asymmetric 2x5": np.array([[1, -2], [3, 4], [0, 5], [2, 2], [-1, 1]], float) / 9,
    }
    failures = 0
    with tempfile.TemporaryDirectory() as tmp:
        for photo in sys.argv[2:]:
            src = os.path.join(tmp, "src.pfm")
            subprocess.run([imf, "-k", "identity", photo, src], check=True)
            img = read_pfm(src)
            for kname, k in kernels.items():
                spec = "%dx%d: %s" % (k.shape[1], k.shape[0], " ".join(repr(v) for v in k.ravel()))
                for correlate in (False, True):
                    kc = k if correlate else k[::-1, ::-1]
                    for mode in NDIMAGE:
                        cval = 0.3 if mode == "const=0.3" else 0.0
                        for shape in ("same", "full", "valid"):
                            out = os.path.join(tmp, "out.pfm")
                            args = [imf, "-e", "direct", "-b", mode, "-s", shape, "-k", spec]
                            if correlate:
                                args.append("--correlate")
                            subprocess.run(args + [src, out], check=True)
                            got = read_pfm(out)
                            worst = 0.0
                            for c in range(img.shape[2]):
                                plane = img[:, :, c]
                                if shape == "same":
                                    # ndimage centres at k//2 of the kernel it is given;
                                    # the turned kernel's centre is the original origin turned.
                                    kh, kw = kc.shape
                                    origin = (0, 0) if correlate else \
                                        (kh - 1 - kh // 2 - kh // 2, kw - 1 - kw // 2 - kw // 2)
                                    ref = ndimage.correlate(plane, kc, mode=NDIMAGE[mode],
                                                            cval=cval, origin=origin)
                                else:
                                    ref = pad_reference(plane, kc, mode, cval, shape)
                                if ref.shape != got[:, :, c].shape:
                                    worst = float("inf")
                                    break
                                d = np.abs(ref - got[:, :, c])
                                # A NaN or infinity anywhere is a failure, not lost in max().
                                worst = float("inf") if not np.isfinite(d).all() else \
                                    max(worst, d.max())
                            rel = worst / (np.abs(k).sum() * max(np.abs(img).max(), cval))
                            name = "scipy: %s, %s, %s, %s, %s" % (
                                os.path.basename(photo), kname,
                                "correlate" if correlate else "convolve", mode, shape)
                            if rel <= 1e-5:
                                print("PASS: %s (error %.2g)" % (name, rel))
                            else:
                                failures += 1
                                print("FAIL: %s: error %.3g > 1e-5" % (name, rel))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/python3
"""like.py IMFILTER: --like PEER against the peers themselves, on random
images, for every kernel size from 2 to 7 (square, and a few oblong): the
result of imfilter --like PEER must be the peer's usual call's within the
engines' tolerance, 1e-5 * sum|k| * max|x| (DESIGN.md).

  matlab  Octave's imfilter(A, h) (octave-image; MATLAB's conventions)
  opencv  cv2.filter2D(A, -1, h)
  scipy   scipy.ndimage.convolve(A, h)
  torch   torch.nn.functional.conv2d(A, h, padding='same')
  vips    vips conv A h (matrix files; precision float)

Also: an option after --like overrides it (--like opencv -b zero against
filter2D with BORDER_CONSTANT); -b X,Y against SciPy's per-axis modes;
combine sumabs against vips compass; --transpose --output-size against
PyTorch's conv_transpose2d(output_size=...).  A peer that is not installed
is skipped with a SKIP line (make deps installs them all).
"""
import os
import shutil
import subprocess
import sys
import tempfile

import warnings

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from octave import octave_ok  # noqa: E402
from pfm import read_pfm, write_pfm  # noqa: E402

IMF = sys.argv[1]
TMP = tempfile.mkdtemp(prefix="imfilter-like.")
RNG = np.random.default_rng(1414)
SIZES = [(k, k) for k in range(2, 8)] + [(2, 5), (6, 3), (7, 4), (4, 7)]   # (rows, columns)
failures = 0


def report(name, err, tol=1e-5):
    global failures
    if err <= tol:
        print("PASS: like: %s (error %.2g)" % (name, err))
    else:
        failures += 1
        print("FAIL: like: %s: error %.3g > %g" % (name, err, tol))


def rel_err(got, ref, k, x):
    if got.shape != ref.shape:
        return float("inf")
    d = np.abs(got - ref)
    if not np.isfinite(d).all():
        return float("inf")
    return d.max() / (np.abs(k).sum() * np.abs(x).max())


def inline(k):
    return "%dx%d: %s" % (k.shape[1], k.shape[0], " ".join(repr(float(v)) for v in k.ravel()))


def imfilter(x, args):
    """imfilter ARGS on the plane x (PFM in, PFM out), as doubles."""
    src, out = os.path.join(TMP, "in.pfm"), os.path.join(TMP, "out.pfm")
    write_pfm(src, x[:, :, None])
    subprocess.run([IMF] + args + [src, out], check=True)
    return read_pfm(out)[:, :, 0]


def cases():
    """One random image and kernel per size; odd image sides, not square."""
    for kh, kw in SIZES:
        x = RNG.random((17 + kh, 23 + kw))
        k = RNG.random((kh, kw)) - 0.4
        yield kh, kw, x, k


def have(module):
    try:
        __import__(module)
        return True
    except ImportError:
        return False


def skip(what, why):
    print("SKIP: like: %s: %s (make deps installs it)" % (what, why))


# ---- The five peers ----------------------------------------------------------

def check_peer(peer, call):
    for kh, kw, x, k in cases():
        got = imfilter(x, ["--like", peer, "-k", inline(k)])
        report("--like %s, %dx%d kernel, as %s" % (peer, kw, kh, peer), rel_err(got, call(x, k), k, x))


def opencv(x, k, border=None):
    import cv2
    if border is None:
        return cv2.filter2D(x, -1, k)
    return cv2.filter2D(x, -1, k, borderType=border)


def scipy_convolve(x, k):
    from scipy import ndimage
    return ndimage.convolve(x, k)


def torch_same(x, k):
    import torch
    # Its note that an even kernel needs a padded copy is not a problem here.
    warnings.filterwarnings("ignore", message=".*padding='same'.*")
    t = torch.nn.functional.conv2d(torch.tensor(x)[None, None], torch.tensor(k)[None, None],
                                   padding="same")
    return t[0, 0].numpy()


def write_matrix(path, a):
    """A libvips matrix file: 'W H scale offset', then the rows."""
    with open(path, "w") as f:
        f.write("%d %d 1 0\n" % (a.shape[1], a.shape[0]))
        for row in a:
            f.write(" ".join(repr(float(v)) for v in row) + "\n")


def read_matrix(path):
    with open(path) as f:
        w, h = map(int, f.readline().split()[:2])
        return np.array([[float(v) for v in f.readline().split()] for _ in range(h)])


def vips(args, x, k):
    """vips OP in.mat out.mat mask.mat ARGS (matrix files keep doubles and row order)."""
    src, out, mask = (os.path.join(TMP, n) for n in ("x.mat", "y.mat", "k.mat"))
    write_matrix(src, x)
    write_matrix(mask, k)
    subprocess.run(["vips", args[0], src, out, mask] + args[1:], check=True)
    return read_matrix(out)


def octave_imfilter():
    """Every case through one Octave run of imfilter(A, h)."""
    import scipy.io
    data = list(cases())
    src, out = os.path.join(TMP, "oct_in.mat"), os.path.join(TMP, "oct_out.mat")
    scipy.io.savemat(src, {"A%d" % i: x for i, (_, _, x, _) in enumerate(data)} |
                     {"h%d" % i: k for i, (_, _, _, k) in enumerate(data)})
    script = ("pkg load image; load('%s'); for i = 0:%d, "
              "R.(sprintf('B%%d', i)) = imfilter(eval(sprintf('A%%d', i)), eval(sprintf('h%%d', i))); "
              "end; save('-v7', '%s', '-struct', 'R');" % (src, len(data) - 1, out))
    subprocess.run(["octave-cli", "--quiet", "--no-gui", "--eval", script], check=True,
                   stderr=subprocess.DEVNULL)
    res = scipy.io.loadmat(out)
    for i, (kh, kw, x, k) in enumerate(data):
        got = imfilter(x, ["--like", "matlab", "-k", inline(k)])
        report("--like matlab, %dx%d kernel, as Octave's imfilter" % (kw, kh),
               rel_err(got, res["B%d" % i], k, x))


def main():
    if octave_ok() and have("scipy"):
        octave_imfilter()
    else:
        skip("matlab", "octave-cli with octave-image (and scipy.io) is missing")
    if have("cv2"):
        import cv2
        check_peer("opencv", opencv)
        for kh, kw, x, k in list(cases())[:4]:
            got = imfilter(x, ["--like", "opencv", "-b", "zero", "-k", inline(k)])
            report("--like opencv -b zero, %dx%d kernel: the later -b wins" % (kw, kh),
                   rel_err(got, opencv(x, k, cv2.BORDER_CONSTANT), k, x))
    else:
        skip("opencv", "python3-opencv is missing")
    if have("scipy"):
        check_peer("scipy", scipy_convolve)
        per_axis()
    else:
        skip("scipy", "python3-scipy is missing")
    if have("torch"):
        check_peer("torch", torch_same)
        output_size()
    else:
        skip("torch", "python3-torch is missing")
    if shutil.which("vips") is not None:
        check_peer("vips", lambda x, k: vips(["conv", "--precision", "float"], x, k))
        compass()
    else:
        skip("vips", "libvips-tools is missing")
    return 1 if failures else 0


NPPAD = {"zero": "constant", "clamp": "edge", "reflect": "symmetric", "mirror": "reflect",
         "wrap": "wrap"}
SCIPY = {"zero": "constant", "clamp": "nearest", "reflect": "reflect", "mirror": "mirror",
         "wrap": "wrap"}


def per_axis():
    """-b X,Y: SciPy's mode=[rows, columns] read the other way round.  SciPy
    takes a sequence of modes only in its separable filters, so the axis
    order is checked with uniform_filter against a box; every engine is then
    checked with general kernels against numpy.pad applied to the rows with
    Y's rule and then to the columns with X's."""
    from scipy import ndimage, signal
    for xmode, ymode in (("reflect", "wrap"), ("zero", "mirror"), ("wrap", "clamp")):
        x = RNG.random((19, 24))
        got = imfilter(x, ["-b", "%s,%s" % (xmode, ymode), "-k", "box:5x3"])
        ref = ndimage.uniform_filter(x, size=(3, 5), mode=[SCIPY[ymode], SCIPY[xmode]])
        report("-b %s,%s box 5x3 as SciPy uniform_filter mode=['%s','%s']"
               % (xmode, ymode, SCIPY[ymode], SCIPY[xmode]), rel_err(got, ref, np.ones(15) / 15, x))
        for engine in ("direct", "separable", "toeplitz", "fft"):
            for kh, kw, x, k in list(cases())[::3]:
                if engine == "separable":
                    k = np.outer(RNG.random(kh) - 0.3, RNG.random(kw) - 0.3)
                got = imfilter(x, ["-e", engine, "-b", "%s,%s" % (xmode, ymode), "-k", inline(k)])
                # Convolution: correlate with the turned kernel, origin floor(k/2).
                ext = np.pad(x, ((kh - 1 - kh // 2, kh // 2), (0, 0)), mode=NPPAD[ymode])
                ext = np.pad(ext, ((0, 0), (kw - 1 - kw // 2, kw // 2)), mode=NPPAD[xmode])
                ref = signal.correlate2d(ext, k[::-1, ::-1], mode="valid")
                report("-b %s,%s, engine %s, %dx%d kernel" % (xmode, ymode, engine, kw, kh),
                       rel_err(got, ref, k, x), 1e-4 if engine == "fft" else 1e-5)


def compass():
    """combine sumabs: a bank of a mask turned 0, 90, 180 and 270 degrees
    against vips compass --times 4 --angle d90 --combine sum."""
    for n in (3, 5):
        k = RNG.random((n, n)) - 0.5
        x = RNG.random((21, 26))
        bank = os.path.join(TMP, "compass.kernel")
        with open(bank, "w") as f:
            f.write("combine sumabs\n")
            for t in range(4):
                if t:
                    f.write("---\n")
                for row in np.rot90(k, -t):
                    f.write(" ".join(repr(float(v)) for v in row) + "\n")
        got = imfilter(x, ["--like", "vips", "-k", bank])
        ref = vips(["compass", "--times", "4", "--angle", "d90", "--combine", "sum",
                    "--precision", "float"], x, k)
        report("combine sumabs, %dx%d mask turned 4 times, as vips compass --combine sum" % (n, n),
               rel_err(got, ref, 4 * k, x))


def output_size():
    """--transpose --output-size: PyTorch's conv_transpose2d(output_size=...).
    A 9x9 image at stride 2 gives 5x5, whose transpose is 10x10 by default
    and 9x9 when asked, the exact adjoint of the forward map."""
    import torch
    for n, k, s in ((9, 3, 2), (11, 5, 3), (8, 3, 2), (10, 5, 4)):
        w = RNG.random((k, k)) - 0.4
        x = RNG.random((n, n))
        fwd = ["--correlate", "-b", "zero", "--stride", str(s), "-k", inline(w)]
        y = imfilter(x, fwd)
        tx = torch.tensor(x)[None, None]
        tw = torch.tensor(w)[None, None]
        ref_y = torch.nn.functional.conv2d(tx, tw, stride=s, padding=(k - 1) // 2)[0, 0].numpy()
        report("forward %dx%d, %dx%d kernel, stride %d, as conv2d" % (n, n, k, k, s),
               rel_err(y, ref_y, w, x))
        for size in range((len(y) - 1) * s + 1, len(y) * s + 1):
            got = imfilter(y, ["--transpose", "--output-size", "%dx%d" % (size, size)] + fwd)
            ref = torch.nn.functional.conv_transpose2d(
                torch.tensor(y)[None, None], tw, stride=s, padding=(k - 1) // 2,
                output_padding=size - ((len(y) - 1) * s - 2 * ((k - 1) // 2) + k))[0, 0].numpy()
            report("--transpose --output-size %dx%d of %dx%d, stride %d, as conv_transpose2d"
                   % (size, size, len(y), len(y), s), rel_err(got, ref, w, y))
        # <T x, y> = <x, T^T y> at the forward input's own size.
        z = RNG.random(y.shape)
        tz = imfilter(z, ["--transpose", "--output-size", "%dx%d" % (n, n)] + fwd)
        lhs, rhs = (y * z).sum(), (x * tz).sum()
        report("<Tx, z> = <x, T^T z> for %dx%d at stride %d with --output-size" % (n, n, s),
               abs(lhs - rhs) / (np.abs(y * z).sum() + 1e-30))
    src, out = os.path.join(TMP, "in.pfm"), os.path.join(TMP, "out.pfm")
    write_pfm(src, RNG.random((5, 5, 1)))
    r = subprocess.run([IMF, "--transpose", "--stride", "2", "--output-size", "11x11",
                        "-k", "3x3: 1 2 1 2 4 2 1 2 1", src, out], capture_output=True, text=True)
    report("--output-size 11x11 of 5x5 at stride 2 refused (exit 64) as PyTorch refuses it",
           0 if r.returncode == 64 and "9x9 to 10x10" in r.stderr else 1)


if __name__ == "__main__":
    try:
        sys.exit(main())
    finally:
        shutil.rmtree(TMP, ignore_errors=True)

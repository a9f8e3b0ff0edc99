#!/usr/bin/python3
"""torch_ref.py IMFILTER: imfilter's cross-channel kernels, strides, dilation
and --transpose against PyTorch, whose conv2d and conv_transpose2d define
them (issue 8: "Semantics as PyTorch conv2d").

Each case writes a random image (PFM, 1 or 3 channels) and a random kernel
file ("channels N", M kernels with their own biases, or an ordinary kernel),
runs imfilter, and compares with PyTorch in double precision:

  forward    torch conv2d(pad(x), W, stride, dilation) + bias, where W is
             the kernel turned half a turn (imfilter convolves) unless
             --correlate, and pad extends x by the border rule through an
             index map that numpy.pad builds (an independent border rule);
  transpose  the gradient of that forward map with respect to x, taken by
             torch.autograd (so the border rule's adjoint, the folding, is
             PyTorch's, not ours), plus the bias; for the zero border it is
             also checked against conv_transpose2d with PyTorch's own
             padding and output_padding.

Every engine that can run the case is tried.  The tolerance is DESIGN.md's:
1e-5 * sum|k| * max|x| (1e-4 for fft).  Prints PASS/FAIL lines; a summary
line per engine gives the worst error seen.
"""
import os
import subprocess
import sys
import tempfile

import numpy as np
import torch
import torch.nn.functional as F

from pfm import read_pfm, write_pfm

NPPAD = {"zero": "constant", "clamp": "edge", "reflect": "symmetric",
         "mirror": "reflect", "wrap": "wrap"}
ENGINES = ["direct", "toeplitz", "fft", "auto"]


def write_planes(path, a):
    """a: channels x h x w, as a PFM."""
    write_pfm(path, a.transpose(1, 2, 0))


def read_planes(path):
    """A PFM as channels x h x w doubles."""
    return read_pfm(path).transpose(2, 0, 1)


def write_kernel(path, wts, biases, nin):
    """wts: M x N x kh x kw as written in the file; nin 0: an ordinary kernel."""
    lines = ["# torch_ref.py case"]
    if nin:
        lines.append("channels %d" % nin)
    first = True
    for b in range(wts.shape[0]):
        for c in range(wts.shape[1]):
            if not first:
                lines.append("---")
            first = False
            if c == 0 and (nin or b == 0):
                lines.append("bias %r" % float(biases[b]))
            for row in wts[b, c]:
                lines.append(" ".join(repr(float(v)) for v in row))
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")


def pad_index(n, before, after, mode):
    """The source index of each extended sample, -1 for the zero border."""
    idx = np.arange(n)
    if mode == "zero":
        return np.pad(idx, (before, after), mode="constant", constant_values=-1)
    return np.pad(idx, (before, after), mode=NPPAD[mode])


def extend(x, before, after, mode):
    """x: 1 x C x H x W tensor, extended by the border rule (differentiable)."""
    iy = pad_index(x.shape[2], before[0], after[0], mode)
    ix = pad_index(x.shape[3], before[1], after[1], mode)
    z = F.pad(x, (0, 1, 0, 1))               # index -1 reads the zero row / column
    return z[:, :, torch.as_tensor(iy)][:, :, :, torch.as_tensor(ix)]


def geometry(kh, kw, dil, shape, origin, correlate):
    """Dilated size, padding before and after (rows, columns), as imfilter's man page maps them."""
    K = (dil[1] * (kh - 1) + 1, dil[0] * (kw - 1) + 1)
    if shape == "valid":
        return K, (0, 0), (0, 0)
    if shape == "full":
        return K, (K[0] - 1, K[1] - 1), (K[0] - 1, K[1] - 1)
    # same: the turned origin's tap (convolution) or the origin (correlation).
    oy, ox = origin
    ay = oy if correlate else kh - 1 - oy
    ax = ox if correlate else kw - 1 - ox
    before = (dil[1] * ay, dil[0] * ax)
    return K, before, (K[0] - 1 - before[0], K[1] - 1 - before[1])


def torch_weight(wts, correlate):
    w = wts if correlate else wts[:, :, ::-1, ::-1]
    return torch.as_tensor(w.copy())


def forward_ref(x, wts, biases, stride, dil, shape, mode, correlate, origin):
    kh, kw = wts.shape[2:]
    K, before, after = geometry(kh, kw, dil, shape, origin, correlate)
    xt = torch.as_tensor(x)[None]
    out = F.conv2d(extend(xt, before, after, mode), torch_weight(wts, correlate),
                   stride=(stride[1], stride[0]), dilation=(dil[1], dil[0]))
    return out[0].numpy() + np.asarray(biases)[:, None, None]


def transpose_ref(y, wts, bias, stride, dil, shape, mode, correlate, origin, H, W):
    """T^T y by autograd, for the forward input size H x W."""
    kh, kw = wts.shape[2:]
    K, before, after = geometry(kh, kw, dil, shape, origin, correlate)
    x = torch.zeros((1, wts.shape[1], H, W), dtype=torch.float64, requires_grad=True)
    out = F.conv2d(extend(x, before, after, mode), torch_weight(wts, correlate),
                   stride=(stride[1], stride[0]), dilation=(dil[1], dil[0]))
    if tuple(out.shape[2:]) != y.shape[1:]:
        return None
    out.backward(torch.as_tensor(y)[None])
    ref = x.grad[0].numpy() + bias
    if mode == "zero":
        # The same by conv_transpose2d: PyTorch's padding and output_padding, then the crop.
        op = (H + before[0] + after[0] - K[0] - (y.shape[1] - 1) * stride[1],
              W + before[1] + after[1] - K[1] - (y.shape[2] - 1) * stride[0])
        full = F.conv_transpose2d(torch.as_tensor(y)[None], torch_weight(wts, correlate),
                                  stride=(stride[1], stride[0]), dilation=(dil[1], dil[0]),
                                  output_padding=op)
        crop = full[0, :, before[0]:before[0] + H, before[1]:before[1] + W].numpy() + bias
        if np.abs(crop - ref).max() > 1e-9 * max(1.0, np.abs(ref).max()):
            raise AssertionError("autograd and conv_transpose2d disagree")
    return ref


def transposed_size(h, w, kh, kw, stride, dil, shape):
    K = (dil[1] * (kh - 1) + 1, dil[0] * (kw - 1) + 1)
    if shape == "same":
        return h * stride[1], w * stride[0]
    if shape == "valid":
        return (h - 1) * stride[1] + K[0], (w - 1) * stride[0] + K[1]
    return (h - 1) * stride[1] - K[0] + 2, (w - 1) * stride[0] - K[1] + 2


def main():
    imf = sys.argv[1]
    rng = np.random.default_rng(20261201)
    worst = {e: 0.0 for e in ENGINES}
    runs = {e: 0 for e in ENGINES}
    failures = 0
    cases = 0
    with tempfile.TemporaryDirectory() as tmp:
        src, out, kfile = (os.path.join(tmp, n) for n in ("in.pfm", "out.pfm", "k.kernel"))
        for case in range(90):
            transpose = case % 3 == 2
            nin = [0, 1, 3, 3][case % 4]                 # 0: an ordinary kernel
            nimg = nin if nin else int(rng.choice([1, 3]))
            M = 1 if nin == 0 else int(rng.choice([1, 3]))
            kh, kw = int(rng.integers(1, 6)), int(rng.integers(1, 6))
            stride = (int(rng.integers(1, 4)), int(rng.integers(1, 4)))
            dil = (int(rng.integers(1, 3)), int(rng.integers(1, 3)))
            shape = ["same", "full", "valid"][case % 3 if case % 2 else (case // 3) % 3]
            mode = list(NPPAD)[case % 5]
            correlate = bool(case % 7 in (1, 4))
            wts = np.round(rng.uniform(-1, 1, (M, nin or 1, kh, kw)) * 8) / 8
            biases = np.round(rng.uniform(-0.5, 0.5, M) * 8) / 8
            if transpose:
                biases[:] = biases[0]
            write_kernel(kfile, wts, biases, nin)
            origin = (kh // 2, kw // 2)
            if transpose:
                h, w = int(rng.integers(1, 9)), int(rng.integers(1, 9))
                H, W = transposed_size(h, w, kh, kw, stride, dil, shape)
                if H < 1 or W < 1:
                    continue
                data = rng.uniform(0, 1, (M if nin else nimg, h, w))
            else:
                H, W = int(rng.integers(1, 24)), int(rng.integers(1, 24))
                data = rng.uniform(0, 1, (nimg, H, W))
            data = data.astype(np.float32).astype(np.float64)
            write_planes(src, data)
            if transpose:
                ref = np.concatenate([transpose_ref(data[c:c + 1] if not nin else data, wts,
                                                    biases[0], stride, dil, shape, mode,
                                                    correlate, origin, H, W)
                                      for c in range(1 if nin else nimg)])
            else:
                K = (dil[1] * (kh - 1) + 1, dil[0] * (kw - 1) + 1)
                if shape == "valid" and (K[0] > H or K[1] > W):
                    continue
                ref = np.concatenate([forward_ref(data[c:c + 1] if not nin else data, wts,
                                                  biases, stride, dil, shape, mode,
                                                  correlate, origin)
                                      for c in range(1 if nin else nimg)])
            cases += 1
            tol_unit = np.abs(wts).sum(axis=(1, 2, 3)).max() * max(1.0, np.abs(data).max())
            for eng in ENGINES:
                args = [imf, "-e", eng, "-b", mode, "-s", shape, "-k", kfile,
                        "--stride", "%d,%d" % stride, "--dilation", "%d,%d" % dil,
                        "--alpha", "separate"]
                if correlate:
                    args.append("--correlate")
                if transpose:
                    args.append("--transpose")
                desc = "%s %s: %s, %s, %s, %d in %d out, %dx%d kernel, stride %d,%d, " \
                       "dilation %d,%d%s" % (eng, "transpose" if transpose else "forward",
                                             shape, mode, "channels %d" % nin if nin else
                                             "ordinary", nimg if not transpose else data.shape[0],
                                             ref.shape[0], kw, kh, stride[0], stride[1],
                                             dil[0], dil[1], ", correlate" if correlate else "")
                r = subprocess.run(args + [src, out], capture_output=True, text=True)
                if r.returncode != 0:
                    if "cannot run this job" in r.stderr and eng != "auto":
                        continue
                    print("FAIL: torch: %s: exit %d: %s" % (desc, r.returncode, r.stderr.strip()))
                    failures += 1
                    continue
                got = read_planes(out)
                if got.shape != ref.shape:
                    print("FAIL: torch: %s: output %s, PyTorch %s" % (desc, got.shape, ref.shape))
                    failures += 1
                    continue
                err = np.abs(got - ref).max() / tol_unit
                runs[eng] += 1
                worst[eng] = max(worst[eng], err)
                if not err <= (1e-4 if eng == "fft" else 1e-5):
                    print("FAIL: torch: %s: error %.3g of sum|k| max|x|" % (desc, err))
                    failures += 1
    for eng in ENGINES:
        ok = runs[eng] > 0 and worst[eng] <= (1e-4 if eng == "fft" else 1e-5)
        print("%s: torch: %s engine matches PyTorch conv2d / its adjoint on %d of %d cases, "
              "worst %.2g of sum|k| max|x|" % ("PASS" if ok and failures == 0 else "FAIL", eng,
                                               runs[eng], cases, worst[eng]))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/python3
"""make_data.py DIR: writes the benchmark inputs into DIR.

big.ppm: a 6000x4000 RGB photo, samples/coffee.png (decoded by imfilter to
PPM on stdin) upscaled 10x with bilinear interpolation, so it compresses
like a photograph rather than like blocks.
kK.kernel: a general (non-separable, rank > 1) kernel of each size K, with
positive weights so the result stays in range; the same weights for the
peers: kK.mat (a libvips matrix file), kK.im (an ImageMagick kernel string,
normalised with -define convolve:scale=!) and kK.txt (numpy.loadtxt).
gK.mat, gK.im, gK.txt: the Gaussian imfilter's gaussian:K/6,K builds, as
one row (vips convsep, OpenCV sepFilter2D) and, for ImageMagick, as a row
and a column applied in turn.
"""
import os
import sys

import numpy as np
from scipy import ndimage

out = sys.argv[1]
data = sys.stdin.buffer.read()
# PPM header: P6 W H MAXVAL, whitespace separated.
fields, pos = [], 0
while len(fields) < 4:
    while data[pos:pos + 1].isspace():
        pos += 1
    start = pos
    while not data[pos:pos + 1].isspace():
        pos += 1
    fields.append(data[start:pos])
pos += 1
w, h = int(fields[1]), int(fields[2])
img = np.frombuffer(data[pos:pos + w * h * 3], np.uint8).reshape(h, w, 3)
big = np.stack([ndimage.zoom(img[:, :, c].astype(np.float32), 10, order=1) for c in range(3)], axis=2)
big = np.clip(big + 0.5, 0, 255).astype(np.uint8)
with open(os.path.join(out, "big.ppm"), "wb") as f:
    f.write(b"P6\n%d %d\n255\n" % (big.shape[1], big.shape[0]))
    f.write(big.tobytes())



def write(name, text):
    with open(os.path.join(out, name), "w") as f:
        f.write(text)


def rows(m, fmt):
    return "".join(" ".join(fmt % v for v in row) + "\n" for row in m)


rng = np.random.default_rng(1)
for k in (3, 5, 9, 15, 31, 63, 127):
    # Four decimals keep ImageMagick's 127x127 string under the 128 kB a
    # command-line argument may have.
    m = np.round(rng.random((k, k)) + 0.1, 4)
    write("k%d.kernel" % k,
          "# General %dx%d kernel with random positive weights (rank %d).\n"
          "name general%d\nscale auto\n" % (k, k, np.linalg.matrix_rank(m), k)
          + rows(m, "%.4f"))
    # libvips slides its mask unturned (correlation): it gets the kernel turned.
    write("k%d.mat" % k, "%d %d %.4f 0\n" % (k, k, m.sum()) + rows(m[::-1, ::-1], "%.4f"))
    write("k%d.im" % k, "%dx%d:" % (k, k) + ",".join("%.4f" % v for v in m.ravel()))
    write("k%d.txt" % k, rows(m / m.sum(), "%.9g"))
    sigma = k / 6.0
    x = np.arange(k) - (k - 1) / 2.0
    g = np.exp(-0.5 * (x / sigma) ** 2)
    g /= g.sum()
    write("g%d.mat" % k, "%d 1 1 0\n" % k + rows([g], "%.9g"))
    write("g%d.im" % k, "%dx1:%s;1x%d:%s" % (k, ",".join("%.9g" % v for v in g),
                                             k, ",".join("%.9g" % v for v in g)))
    write("g%d.txt" % k, rows([g], "%.9g"))

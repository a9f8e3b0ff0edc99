#!/usr/bin/python3
"""make_data.py DIR: writes the benchmark inputs into DIR.

big.ppm: a 6000x4000 RGB photo, samples/coffee.png (decoded by imfilter to
PPM on stdin) upscaled 10x with bilinear interpolation, so it compresses
like a photograph rather than like blocks.
kK.kernel: a general (non-separable, rank > 1) kernel of each size K, with
positive weights so the result stays in range.
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

rng = np.random.default_rng(1)
for k in (3, 5, 9, 15, 31, 63, 127):
    m = rng.random((k, k)) + 0.1
    with open(os.path.join(out, "k%d.kernel" % k), "w") as f:
        f.write("# General %dx%d kernel with random positive weights (rank %d).\n"
                % (k, k, np.linalg.matrix_rank(m)))
        f.write("name general%d\nscale auto\n" % k)
        for row in m:
            f.write(" ".join("%.6f" % v for v in row) + "\n")

"""pfm.py: PFM files for the Python cross-checks (scipy_ref.py, torch_ref.py,
layer_zone.py): imfilter's float output, unclamped and unrounded."""
import numpy as np


def read_pfm(path):
    """A PFM as h x w x channels doubles, top row first."""
    with open(path, "rb") as f:
        magic = f.readline().strip()
        w, h = map(int, f.readline().split())
        scale = float(f.readline())
        data = np.frombuffer(f.read(), dtype="<f4" if scale < 0 else ">f4")
    ch = 3 if magic == b"PF" else 1
    return data.reshape(h, w, ch)[::-1].astype(np.float64)


def write_pfm(path, a):
    """a: h x w x channels (1 or 3), top row first; written little-endian."""
    h, w, c = a.shape
    with open(path, "wb") as f:
        f.write(b"PF\n" if c == 3 else b"Pf\n")
        f.write(b"%d %d\n-1.0\n" % (w, h))
        f.write(np.ascontiguousarray(a[::-1]).astype("<f4").tobytes())

"""kerngen.py: the generators people ask for against their definitions and
against ImageMagick: unsharp:SIGMA,AMOUNT as -unsharp 0xSIGMA+AMOUNT+0
(ImageMagick Q16 rounds each of its two blur passes to 1/65535, so the
tolerance is a few of those times 1 + AMOUNT); log and dog give 0 on a
flat image; emboss gives mid-grey there.  Usage: kerngen.py IMFILTER"""
import os
import shutil
import subprocess
import sys
import tempfile

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from pfm import read_pfm, write_pfm  # noqa: E402

imf = sys.argv[1]
tmp = tempfile.mkdtemp(prefix="imfilter-kerngen.")
rng = np.random.default_rng(14)


def ok(name, cond, detail=""):
    print(("PASS: kerngen: %s" % name) if cond else ("FAIL: kerngen: %s: %s" % (name, detail)))


def run(args):
    subprocess.run([imf] + args, check=True)


src = os.path.join(tmp, "r.pfm")
out = os.path.join(tmp, "o.pfm")
# Mid-range values, so that ImageMagick's clamp to 0..1 does not bite.
a = rng.random((37, 53, 1)) * 0.3 + 0.35
write_pfm(src, a)

convert = "/usr/bin/convert"
if shutil.which(convert) is None:
    print("SKIP: kerngen: %s is missing (make deps installs imagemagick)" % convert)
else:
    for sigma, amount in ((0.5, 1), (1, 1), (1.5, 0.8), (0.7, 2), (2.5, 0.5)):
        run(["-k", "unsharp:%g,%g" % (sigma, amount), "-b", "clamp", src, out])
        mine = np.clip(read_pfm(out), 0, 1)
        im = os.path.join(tmp, "im.pfm")
        subprocess.run([convert, src, "-unsharp", "0x%g+%g+0" % (sigma, amount), im],
                       check=True)
        theirs = read_pfm(im)
        d = np.abs(mine - theirs).max()
        tol = 2.0 * (1 + amount) / 65535
        ok("unsharp:%g,%g matches ImageMagick -unsharp 0x%g+%g+0" % (sigma, amount, sigma, amount),
           d <= tol, "max difference %.3g > %.3g" % (d, tol))

flat = os.path.join(tmp, "flat.pfm")
write_pfm(flat, np.full((20, 21, 1), 0.3))
for spec, want in (("log:1.5", 0.0), ("dog:1,2", 0.0), ("emboss", 0.5), ("unsharp:1,3", 0.3)):
    run(["-k", spec, flat, out])
    d = np.abs(read_pfm(out) - want).max()
    ok("%s on a flat image gives %g" % (spec, want), d < 1e-5, "max difference %g" % d)

# log is the Laplacian of the Gaussian: on a quadratic surface x^2 + y^2
# the Laplacian is 4 everywhere, and blurring does not change it.
y, x = np.mgrid[0:41, 0:41].astype(float)
quad = os.path.join(tmp, "quad.pfm")
write_pfm(quad, ((x - 20) ** 2 + (y - 20) ** 2)[:, :, None] / 100)
run(["-k", "log:1.2", "-s", "valid", quad, out])
v = read_pfm(out)
ok("log:1.2 of (x^2 + y^2)/100 is 0.04", np.abs(v - 0.04).max() < 2e-3,
   "values %g .. %g" % (v.min(), v.max()))
shutil.rmtree(tmp)

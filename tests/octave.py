"""octave.py: whether Octave and its image package are there, for the tests that compare with them."""
import shutil
import subprocess


def octave_ok():
    if shutil.which("octave-cli") is None:
        return False
    r = subprocess.run(["octave-cli", "--quiet", "--no-gui", "--eval", "pkg load image"],
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return r.returncode == 0

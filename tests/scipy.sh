#!/bin/sh
# scipy.sh: imfilter against SciPy on real photos (see scipy_ref.py).
if ! /usr/bin/python3 -c 'import numpy, scipy' 2>/dev/null; then
	echo "FAIL: scipy: /usr/bin/python3 with numpy and scipy is missing (make deps installs them)"
	exit 1
fi
exec /usr/bin/python3 tests/scipy_ref.py "${IMF:-./imfilter}" ../shared/testdata/photo/coffee_299x199_rgb8.png samples/camera.png

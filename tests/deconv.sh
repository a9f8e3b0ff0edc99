#!/bin/sh
# deconv.sh: --deconvolve with -b wrap against NumPy's closed forms on the
# image's own period, and wiener:NSR honouring its NSR (see deconv_ref.py).
if ! /usr/bin/python3 -c 'import numpy' 2>/dev/null; then
	echo "FAIL: deconv: /usr/bin/python3 with numpy is missing (make deps installs it)"
	exit 1
fi
exec /usr/bin/python3 tests/deconv_ref.py "${IMF:-./imfilter}"

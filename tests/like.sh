#!/bin/sh
# like.sh: --like PEER against the real peers (see like.py), -b X,Y, combine
# sumabs and --output-size against SciPy, libvips and PyTorch.
if ! /usr/bin/python3 -c 'import numpy' 2>/dev/null; then
	echo "FAIL: like: /usr/bin/python3 with numpy is missing (make deps installs it)"
	exit 1
fi
exec /usr/bin/python3 tests/like.py "${IMF:-./imfilter}"

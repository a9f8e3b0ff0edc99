#!/bin/sh
# torch.sh: cross-channel kernels, strides, dilation and --transpose against
# PyTorch's conv2d and its adjoint (see torch_ref.py).
if ! /usr/bin/python3 -c 'import numpy, torch' 2>/dev/null; then
	echo "FAIL: torch: /usr/bin/python3 with numpy and torch is missing (make deps installs python3-torch)"
	exit 1
fi
exec /usr/bin/python3 tests/torch_ref.py "${IMF:-./imfilter}"

#!/usr/bin/python3
"""cv.py: the OpenCV peer of make bench (Debian's python3-opencv).

cv.py core KIND K DIR IMAGE REPS
    loads IMAGE as three float32 planes and times, REPS times, the
    convolution of the planes alone (filter2D for KIND general, the kernel
    DIR/kK.txt; sepFilter2D for KIND gaussian, the row DIR/gK.txt) into
    output planes allocated beforehand, after one untimed call: the clock
    runs around the OpenCV calls only.  Prints one time a line.
cv.py file KIND K DIR IN OUT
    the whole job as a script does it: decode IN, filter, encode OUT
    (OpenCV's default PNG settings, JPEG quality 90 as imfilter's).
Borders reflect (BORDER_REFLECT, imfilter's default "reflect"); the
kernel is flipped, since filter2D correlates and imfilter convolves.
"""
import sys
import time

import cv2
import numpy as np


def kernel(kind, k, d):
    if kind == "general":
        return np.ascontiguousarray(np.loadtxt("%s/k%s.txt" % (d, k), ndmin=2)[::-1, ::-1],
                                    dtype=np.float32)
    return np.loadtxt("%s/g%s.txt" % (d, k), ndmin=1).astype(np.float32)


def run(img, kind, kern, ddepth, dst=None):
    if kind == "general":
        return cv2.filter2D(img, ddepth, kern, dst=dst, borderType=cv2.BORDER_REFLECT)
    return cv2.sepFilter2D(img, ddepth, kern, kern, dst=dst, borderType=cv2.BORDER_REFLECT)


def main():
    mode, kind, k, d = sys.argv[1:5]
    kern = kernel(kind, k, d)
    if mode == "core":
        img = cv2.imread(sys.argv[5], cv2.IMREAD_COLOR)
        planes = [np.ascontiguousarray(img[:, :, c], dtype=np.float32) / np.float32(255)
                  for c in range(3)]
        # Outputs allocated once and a first, untimed call, so that
        # neither allocation nor OpenCV's start-up is counted against it.
        outs = [np.empty_like(p) for p in planes]
        run(planes[0], kind, kern, cv2.CV_32F, outs[0])
        for _ in range(int(sys.argv[6])):
            t0 = time.perf_counter()
            for p, o in zip(planes, outs):
                run(p, kind, kern, cv2.CV_32F, o)
            print("%.4f" % (time.perf_counter() - t0))
    else:
        img = cv2.imread(sys.argv[5], cv2.IMREAD_UNCHANGED)
        out = run(img, kind, kern, -1)
        if not cv2.imwrite(sys.argv[6], out, [cv2.IMWRITE_JPEG_QUALITY, 90]):
            sys.exit("cv.py: cannot write %s" % sys.argv[6])


main()

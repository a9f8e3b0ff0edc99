#!/bin/sh
# meta.sh: ICC, EXIF and PNG colour chunks survive a run (see meta.py).
exec /usr/bin/python3 tests/meta.py "${IMF:-./imfilter}" ../shared/testdata

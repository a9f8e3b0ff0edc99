#!/bin/sh
# markers.sh: JPEG APP markers, many (100,000 tiny ones, decoded in linear
# time under caps) and malformed ICC chunk sequences (the profile dropped
# with one warning, the image kept).  tests/markers.py makes the files in
# build/markers/ and says what it checks.
exec /usr/bin/python3 tests/markers.py "${IMF:-./imfilter}" ../shared/testdata build/markers

#!/bin/sh
# gallery.sh: make gallery's contact sheet regenerates, with a tile for every
# library kernel and generator family: docs/gallery.py run afresh gives a PNG
# of the committed docs/gallery.png's size (the bytes may differ across CPUs,
# whose vector units round differently), and the README shows it.
IMF=${IMF:-./imfilter}
T=$(mktemp -d /tmp/imfilter-gallery.XXXXXX)
trap 'rm -rf "$T"' EXIT
if ! /usr/bin/python3 -c 'import numpy' 2>/dev/null; then
	echo "FAIL: gallery: /usr/bin/python3 with numpy is missing (make deps installs it)"
	exit 1
fi
size() { od -An -tu1 -j16 -N8 "$1" | tr -s ' ' | sed 's/^ //'; }
msg=$(/usr/bin/python3 docs/gallery.py "$IMF" samples/chelsea.png "$T/g.png" 2>&1)
n=$("$IMF" --list-kernels | grep -c .)
want=$((n + 5))
case "$msg" in
"gallery: $want kernels"*) echo "PASS: gallery: $want tiles, one per library kernel and generator family" ;;
*) echo "FAIL: gallery: expected $want tiles: $msg" ;;
esac
if [ -f "$T/g.png" ] && [ "$(size "$T/g.png")" = "$(size docs/gallery.png)" ]; then
	echo "PASS: gallery: docs/gallery.png is up to date in size (make gallery)"
else
	echo "FAIL: gallery: docs/gallery.png is not what make gallery makes now; run make gallery"
fi
if grep -q '^!\[.*\](docs/gallery.png)' README.md && grep -q 'make gallery' README.md; then
	echo "PASS: gallery: README shows docs/gallery.png and how to remake it"
else
	echo "FAIL: gallery: README does not show docs/gallery.png with make gallery"
fi

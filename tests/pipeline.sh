#!/bin/sh
# pipeline.sh: batch mode, Makefile pipelines, xargs -P and GNU parallel,
# and pipes through djpeg/cjpeg and ImageMagick, as the README shows them.
IMF=${IMF:-./imfilter}
ROOT=$(pwd)
case $IMF in /*) ;; *) IMF=$ROOT/$IMF ;; esac
T=$(mktemp -d /tmp/imfilter-pipe.XXXXXX)
trap 'rm -rf "$T"' EXIT
PHOTO=$ROOT/../shared/testdata/photo/coffee_299x199_rgb8.png
SMALL=$ROOT/../shared/testdata/pngsuite/basn2c08.png

pass() { echo "PASS: $1"; }
fail() { echo "FAIL: $1: $2"; }
check() { if eval "$2"; then pass "$1"; else fail "$1" "${3:-failed}"; fi; }

# ---- batch: 200 small images with -j 2, one of them corrupt -------------------
mkdir -p "$T/in" "$T/out" "$T/ref"
i=1
while [ $i -le 200 ]; do
	cp "$SMALL" "$T/in/img$i.png"
	i=$((i + 1))
done
echo "not an image" > "$T/in/img77.png"
# Under a pseudo-terminal (script), so the progress line is drawn by
# itself; where no pseudo-terminal can be had (a bare chroot without
# /dev/pts), with --progress forcing it.
if script -qec true /dev/null > /dev/null 2>&1; then
	how="on a terminal"
	script -qec "$IMF -j 2 -k sharpen -o $T/out $T/in/*.png" /dev/null > "$T/tty.log" 2>&1
	rc=$?
else
	how="with --progress (no pseudo-terminal here)"
	"$IMF" --progress -j 2 -k sharpen -o "$T/out" "$T"/in/*.png 2> "$T/tty.log"
	rc=$?
fi
written=$(ls "$T/out" | wc -l)
check "batch: exit status non-zero with a corrupt file" '[ $rc -ne 0 ]' "exit $rc"
check "batch: the 199 good files written" '[ "$written" -eq 199 ] && [ ! -e "$T/out/img77.png" ]' "$written written"
check "batch: the corrupt file reported in one line" \
	'[ "$(grep -c "imfilter: .*img77.png" "$T/tty.log")" -eq 1 ]' "$(grep -a imfilter "$T/tty.log" | head -3)"
# One progress line: redrawn in place with \r, ended by one newline; the
# only other line is the error.
lines=$(tr -cd '\n' < "$T/tty.log" | wc -c)
check "batch: one progress line $how" \
	'[ "$lines" -eq 2 ] && grep -q "200/200 files, 1 failed" "$T/tty.log"' "$lines lines: $(tr '\r' '|' < "$T/tty.log" | tail -c 200)"
"$IMF" -k sharpen "$SMALL" "$T/ref/one.png"
bad=0
for f in "$T"/out/*.png; do cmp -s "$f" "$T/ref/one.png" || bad=$((bad + 1)); done
check "batch: every output equals a single-file run" '[ $bad -eq 0 ]' "$bad differ"
# Without a terminal there is no progress line at all.
"$IMF" -j 2 -k sharpen -o "$T/out" "$T"/in/img1*.png 2> "$T/err.log"
check "batch: no progress line when stderr is not a terminal" '[ ! -s "$T/err.log" ]' "$(cat "$T/err.log")"

# A single slow image shows its rows once it has taken half a second.  The
# input arrives slowly through a pipe, so the run is slow however fast the
# engines are.
{ head -c 4096 "$ROOT/samples/camera.png"; sleep 0.7; tail -c +4097 "$ROOT/samples/camera.png"; } |
	"$IMF" --progress -j 1 -k blur - "$T/slow.png" 2> "$T/err.log"
check "single image: --progress draws one line of rows" \
	'grep -q "512/512 rows" "$T/err.log" && [ "$(tr -cd "\n" < "$T/err.log" | wc -c)" -eq 1 ]' "$(cat -A "$T/err.log" | head -c 300)"

# Suffix, template and --format in batch mode.
"$IMF" -k blur --suffix .soft -o "$T/out" "$T/in/img1.png" &&
"$IMF" -k blur -f jpeg -o "$T/%n.%e" "$T/in/img2.png"
check "batch: --suffix and an output template with --format" \
	'[ -s "$T/out/img1.soft.png" ] && [ -s "$T/img2.jpg" ]'
"$IMF" -k blur -o "$T/out" "$T/in/img1.png" "$T/in/../in/img1.png" 2> "$T/err.log"
check "batch: two inputs with one output are refused" \
	'[ $? -eq 64 ] && grep -q "would both be written" "$T/err.log"' "$(cat "$T/err.log")"

# ---- Makefile pipeline: from scratch, nothing to do, an interrupted target -----
cp -r "$ROOT/samples" "$T/samples"
rm -rf "$T/samples/out"
make -s -C "$T/samples" -j2 IMFILTER="$IMF" IMFILTER_KERNEL_PATH="$ROOT/kernels" > "$T/make.log" 2>&1
rc=$?
n=$(ls "$T/samples/out" | wc -l)
check "make -C samples -j2 builds every target" '[ $rc -eq 0 ] && [ $n -eq 16 ]' "exit $rc, $n targets: $(tail -3 "$T/make.log")"
make -q -C "$T/samples" IMFILTER="$IMF" IMFILTER_KERNEL_PATH="$ROOT/kernels"
check "make: a second run has nothing to do" '[ $? -eq 0 ]'
# Interrupt one target: an imfilter killed by SIGTERM while it works (its
# input still arriving through a pipe).
cat > "$T/slow.sh" <<EOS
#!/bin/sh
case "\$*" in
*camera.sharp.png*) { head -c 4096 "\$3"; sleep 3; } | "$IMF" "\$1" "\$2" - "\$4" & pid=\$!; sleep 0.3; kill -TERM \$pid; wait \$pid; exit \$? ;;
*) exec "$IMF" "\$@" ;;
esac
EOS
chmod +x "$T/slow.sh"
rm -f "$T/samples/out/camera.sharp.png"
touch "$T/samples/camera.png"
make -s -k -C "$T/samples" -j2 IMFILTER="$T/slow.sh" IMFILTER_KERNEL_PATH="$ROOT/kernels" > /dev/null 2>&1
check "make: the interrupted target does not exist" '[ ! -e "$T/samples/out/camera.sharp.png" ] && ! ls -a "$T/samples/out" | grep -q "^\.camera"'
ls -l --time-style=+%s.%N "$T/samples/out" > "$T/before"
make -C "$T/samples" -j2 IMFILTER="$IMF" IMFILTER_KERNEL_PATH="$ROOT/kernels" > "$T/make2.log" 2>&1
rebuilt=$(grep -c "$IMF" "$T/make2.log")
check "make: the re-run rebuilds only the missing target" \
	'[ "$rebuilt" -eq 1 ] && grep -q "camera.sharp.png" "$T/make2.log"' "$(cat "$T/make2.log")"

# ---- xargs -P and GNU parallel ------------------------------------------------
mkdir -p "$T/x" "$T/p"
ls "$T"/in/img1?.png | xargs -P 2 -n 3 "$IMF" -j 1 -k blur -o "$T/x"
check "xargs -P 2 runs one imfilter per file" '[ "$(ls "$T/x" | wc -l)" -eq 10 ]'
if command -v parallel > /dev/null; then
	ls "$T"/in/img1?.png | parallel -j 2 "$IMF" -j 1 -k blur {} "$T/p/{/}"
	same=0
	for f in "$T"/x/*.png; do cmp -s "$f" "$T/p/$(basename "$f")" && same=$((same + 1)); done
	check "GNU parallel gives the same files as xargs" '[ $same -eq 10 ]' "$same of 10 equal"
else
	fail "GNU parallel" "not installed (make deps installs it)"
fi

# ---- pipes ------------------------------------------------------------------------
JPG=$ROOT/samples/rocket.jpg
djpeg "$JPG" | "$IMF" -k blur --format pnm - - | cjpeg > "$T/out.jpg"
check "djpeg | imfilter --format pnm - - | cjpeg" '[ -s "$T/out.jpg" ] && "$IMF" -k identity "$T/out.jpg" "$T/back.png"'
/usr/bin/convert "$PHOTO" ppm:- | "$IMF" -k sharpen - "$T/im.png"
"$IMF" -k sharpen "$PHOTO" "$T/direct.png"
check "convert ppm:- | imfilter - out.png equals filtering the PNG" 'cmp -s "$T/im.png" "$T/direct.png"'
"$IMF" -k blur -f pfm "$PHOTO" - | "$IMF" -k sharpen -d 8 -f png - - > "$T/chain.png"
"$IMF" -k blur -k sharpen "$PHOTO" "$T/chain2.png"
check "a float pipe between two imfilters equals -k twice" 'cmp -s "$T/chain.png" "$T/chain2.png"'
exit 0

#!/bin/sh
# demo.sh OUTDIR: filters every image in samples/ with several kernels into
# OUTDIR, printing each file written.  Run by "make demo".
set -e
cd "$(dirname "$0")/.."
out=${1:-out}
mkdir -p "$out"
for img in samples/*.png samples/*.jpg; do
	base=$(basename "$img")
	name=${base%.*}
	ext=${base##*.}
	for k in blur sharpen emboss edge sobel-x gaussian:2.5 motion; do
		tag=$(printf '%s' "$k" | tr ':.,' '---')
		dst="$out/$name.$tag.$ext"
		./imfilter -k "$k" "$img" "$dst"
		echo "wrote $dst"
	done
done

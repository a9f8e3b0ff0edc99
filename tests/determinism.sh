#!/bin/sh
# determinism.sh: the same input, kernel, options and engine give
# bit-identical output whatever -j is (1, 2, 3, 7), run after run, for every
# engine -e accepts and a 3x3 kernel, a 31x31 Gaussian and a bank (Sobel).
# Output is PFM, so every float bit is compared.
IMF=${IMF:-./imfilter}
T=$(mktemp -d /tmp/imfilter-det.XXXXXX) || exit 70
trap 'rm -rf "$T"' EXIT
trap 'exit 70' INT TERM
S=../shared/testdata
IN=$S/photo/coffee_299x199_rgba8_gradient_alpha.png

engines=$("$IMF" -e list 2>&1 | sed -n 's/.*(engines: \([^)]*\)).*/\1/p' | tr -d ',')
if [ -z "$engines" ]; then
	echo "FAIL: determinism: no engine list from $IMF -e list"
	exit 1
fi

for e in $engines; do
	for k in sharpen gaussian:5 sobel; do
		name="engine $e, -k $k"
		why=
		ran=0
		# -j 2 twice (run after run), then 1, 3 and 7.
		for j in 2 2 1 3 7; do
			"$IMF" -e "$e" -j "$j" -b reflect -k "$k" "$IN" "$T/j$j.pfm" 2> "$T/err"
			rc=$?
			if [ $rc -ne 0 ]; then
				why="$why -j $j: exit $rc: $(head -n 1 "$T/err");"
				continue
			fi
			ran=$((ran + 1))
			if [ ! -f "$T/ref.pfm" ]; then
				mv "$T/j$j.pfm" "$T/ref.pfm"
			elif ! cmp -s "$T/ref.pfm" "$T/j$j.pfm"; then
				why="$why -j $j differs from -j 2;"
			fi
		done
		rm -f "$T"/*.pfm
		if [ -z "$why" ]; then
			echo "PASS: determinism: $name: -j 2 (twice), 1, 3, 7 bit-identical"
		else
			echo "FAIL: determinism: $name:$why"
		fi
	done
done
# The same across engines' own runs on a prime-sized grey image with full
# shape and wrap border, where bands split unevenly.
for e in $engines; do
	"$IMF" -e "$e" -j 1 -s full -b wrap -k gaussian:2 -k emboss "$S/pngsuite/basn0g16.png" "$T/a.pfm" 2> "$T/err" &&
		"$IMF" -e "$e" -j 7 -s full -b wrap -k gaussian:2 -k emboss "$S/pngsuite/basn0g16.png" "$T/b.pfm" 2>> "$T/err"
	rc=$?
	if [ $rc -eq 0 ] && cmp -s "$T/a.pfm" "$T/b.pfm"; then
		echo "PASS: determinism: engine $e, full shape, wrap, two kernels: -j 1 = -j 7"
	else
		# Say which engines ran: auto may plan differently for 1 and 7 threads.
		chose=$(for j in 1 7; do "$IMF" -v -e "$e" -j $j -s full -b wrap -k gaussian:2 -k emboss \
			"$S/pngsuite/basn0g16.png" "$T/c.pfm" 2>&1 | sed -n "s/.*engine \([a-z]*\).*/-j $j: \1/p"; done | tr '\n' ' ')
		echo "FAIL: determinism: engine $e, full shape, wrap, two kernels: -j 1 and -j 7 differ (exit $rc; engines $chose) $(head -n 1 "$T/err")"
	fi
done

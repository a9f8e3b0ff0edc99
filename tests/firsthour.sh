#!/bin/sh
# firsthour.sh: a new user's first hour (issue 14): the kernel library found
# from anywhere, -o as people expect, help that teaches, the small things.
# Each case runs the built imfilter by absolute path from a directory
# outside the repository, with no IMFILTER_KERNEL_PATH.
ROOT=$(pwd)
IMF=${IMF:-./imfilter}
case $IMF in /*) ;; *) IMF=$ROOT/$IMF ;; esac
T=$(mktemp -d /tmp/imfilter-first.XXXXXX)
trap 'rm -rf "$T"' EXIT
S=$ROOT/../shared/testdata
PHOTO=$S/photo/coffee_299x199_rgb8.png
unset IMFILTER_KERNEL_PATH

pass() { echo "PASS: $1"; }
fail() { echo "FAIL: $1: $2"; }

# expect CODE PATTERN ARGS...: run in $T/w; the exit code and, for a
# failure, one stderr line matching PATTERN.
expect() {
	code=$1; pat=$2; shift 2
	(cd "$T/w" && "$IMF" "$@") > "$T/stdout" 2> "$T/stderr" < /dev/null
	rc=$?
	name="exit $code: imfilter $*"
	lines=$(wc -l < "$T/stderr")
	if [ "$rc" -ne "$code" ]; then
		fail "$name" "exit $rc, stderr: $(head -c 300 "$T/stderr")"
	elif [ "$code" -ne 0 ] && [ "$lines" -ne 1 ]; then
		fail "$name" "$lines lines on stderr: $(head -c 300 "$T/stderr")"
	elif [ -n "$pat" ] && ! grep -Eq -- "$pat" "$T/stderr"; then
		fail "$name" "stderr does not match /$pat/: $(cat "$T/stderr")"
	else
		pass "$name"
	fi
}

fresh() {
	rm -rf "$T/w"
	mkdir -p "$T/w/photos"
	cp "$PHOTO" "$T/w/in.png"
	cp "$PHOTO" "$T/w/photo.png"
	cp "$PHOTO" "$T/w/scan.png"
	cp "$PHOTO" "$T/w/flag.png"
	cp "$PHOTO" "$T/w/half.png"
	cp "$PHOTO" "$T/w/photos/a.png"
	cp "$S/jpeg/coffee_baseline_444.jpg" "$T/w/photo.jpg"
	cp "$S/jpeg/coffee_baseline_444.jpg" "$T/w/in.jpg"
	cp "$S/jpeg/coffee_baseline_444.jpg" "$T/w/photos/b.jpg"
}

# ---- 1. The library beside the program -------------------------------------

# Every README example that names a library kernel, run as written from a
# directory outside the repository, with "imfilter" the built binary.
fresh
mkdir -p "$T/bin"
printf '#!/bin/sh\nexec "%s" "$@"\n' "$IMF" > "$T/bin/imfilter"
chmod +x "$T/bin/imfilter"
command -v convert > /dev/null && convert "$T/w/in.png" "$T/w/in.tif" 2>/dev/null
libs=$(ls "$ROOT/kernels" | sed -n 's/\.kernel$//p' | tr '\n' '|')
# Code lines of the README, a trailing backslash joining the next line.
sed -n 's/^    //p' "$ROOT/README.md" | sed -e ':a' -e '/\\$/N; s/\\\n *//; ta' |
grep -E "imfilter .*(-k ($libs)( |$)|--list-kernels|--show-kernel)" |
grep -vE 'SLURM|sshlogin|\$f|\$<' > "$T/examples"
n=0
while IFS= read -r line; do
	n=$((n + 1))
	cmd=$(printf '%s\n' "$line" | sed 's/  *# .*$//')
	for tool in djpeg cjpeg convert parallel xargs; do
		case $cmd in *"$tool "*)
			command -v $tool > /dev/null || { echo "SKIP: README: $cmd (no $tool)"; continue 2; } ;;
		esac
	done
	if (cd "$T/w" && PATH="$T/bin:$PATH" bash -c "$cmd") > "$T/ex.out" 2>&1; then
		pass "README from elsewhere: $cmd"
	else
		fail "README from elsewhere: $cmd" "$(head -c 300 "$T/ex.out")"
	fi
done < "$T/examples"
[ "$n" -ge 15 ] && pass "README: $n examples name a library kernel" ||
	fail "README: examples that name a library kernel" "only $n found"

fresh
expect 0 '' -k sharpen in.png out.png
n=$(cd "$T/w" && "$IMF" --list-kernels | wc -l)
[ "$n" -ge 19 ] && pass "--list-kernels from elsewhere lists $n kernels" ||
	fail "--list-kernels from elsewhere" "$n lines"
expect 64 'unknown kernel "nosuch" \(looked in .*/kernels' -k nosuch in.png out.png
(cd "$T/w" && "$IMF" -v --list-kernels) 2> "$T/stderr" > /dev/null
grep -q "^imfilter: kernel library: /.*/kernels, " "$T/stderr" &&
	pass "-v --list-kernels names the directories searched" ||
	fail "-v --list-kernels names the directories searched" "$(cat "$T/stderr")"
export IMFILTER_KERNEL_PATH=/nowhere
expect 64 'looked in /nowhere, ' -k nosuch in.png out.png
unset IMFILTER_KERNEL_PATH
# A copy of the program with no library beside it and none installed.
cp "$IMF" "$T/lonely"
(cd "$T/w" && IMFILTER_KERNEL_PATH=/nowhere "$T/lonely" --list-kernels) > "$T/stdout" 2> "$T/stderr"
rc=$?
if [ $rc -ne 0 ] && grep -q 'no kernel library found (looked in /nowhere, ' "$T/stderr" &&
   [ ! -d /usr/local/share/imfilter/kernels ]; then
	pass "--list-kernels with nothing found exits $rc and says where it looked"
elif [ -d /usr/local/share/imfilter/kernels ]; then
	echo "SKIP: --list-kernels with nothing found: a library is installed in /usr/local"
else
	fail "--list-kernels with nothing found" "exit $rc: $(cat "$T/stderr")"
fi
# IMFILTER_KERNEL_PATH comes first: a kernel of its own stands in for the library's.
mkdir -p "$T/mine"
printf '# Mine.\nname sharpen\n1\n' > "$T/mine/sharpen.kernel"
if (cd "$T/w" && IMFILTER_KERNEL_PATH="$T/mine" "$IMF" --show-kernel sharpen) | grep -q 'Mine'; then
	pass "IMFILTER_KERNEL_PATH comes before the library"
else
	fail "IMFILTER_KERNEL_PATH comes before the library" "$(cd "$T/w" && IMFILTER_KERNEL_PATH="$T/mine" "$IMF" --show-kernel sharpen 2>&1 | head -3)"
fi

# ---- 2. Outputs -----------------------------------------------------------

fresh
expect 0 '' -k blur in.png -o out.png
[ -s "$T/w/out.png" ] && pass "-o FILE with one input writes FILE" || fail "-o FILE with one input writes FILE" "no out.png"
expect 0 '' -k blur in.png photo.png -o made/
[ -s "$T/w/made/in.png" ] && [ -s "$T/w/made/photo.png" ] && pass "-o DIR/ makes the directory" ||
	fail "-o DIR/ makes the directory" "$(ls -R "$T/w")"
expect 0 '' -k blur in.png -o deep/er/
[ -s "$T/w/deep/er/in.png" ] && pass "-o DIR/ makes its parents too" || fail "-o DIR/ makes its parents too" "no deep/er/in.png"
expect 0 '' -k blur in.png photo.png -o several
[ -s "$T/w/several/in.png" ] && pass "-o NAME with several inputs is a directory" ||
	fail "-o NAME with several inputs is a directory" "no several/in.png"
mkdir -p "$T/w/exists"
expect 0 '' -k blur in.png -o exists
[ -s "$T/w/exists/in.png" ] && pass "-o an existing directory is batch mode" || fail "-o an existing directory is batch mode" "no exists/in.png"
expect 0 '' -k blur in.png -o 'tpl/%n.soft.%e'
[ -s "$T/w/tpl/in.soft.png" ] && pass "a template's directory is made" || fail "a template's directory is made" "no tpl/in.soft.png"
expect 64 '2 inputs need a directory' -k blur in.png photo.png -o out2.png
expect 64 'suffix needs -o DIR' -k blur --suffix .x in.png -o one.png
fresh
expect 73 '\./in\.png: would write over the input in\.png \(add --in-place' -k blur in.png photo.png -o .
cmp -s "$PHOTO" "$T/w/in.png" && cmp -s "$PHOTO" "$T/w/photo.png" &&
	pass "-o . in a batch leaves the originals" || fail "-o . in a batch leaves the originals" "changed"
expect 73 'would write over the input' -k blur in.png -o '%d/%n.%e'
expect 73 'would write over the input' -k blur photos/a.png -o '%d/%f'
expect 73 'would write over the input in\.png' -k blur in.png in.png
expect 73 'would write over the input in\.png' -k blur in.png ./in.png
ln -s in.png "$T/w/link.png"
expect 73 'would write over the input in\.png' -k blur in.png -o link.png
cmp -s "$PHOTO" "$T/w/in.png" && pass "a refused run leaves the input" || fail "a refused run leaves the input" "changed"
expect 0 '' --in-place -k blur in.png photo.png -o .
if cmp -s "$PHOTO" "$T/w/in.png"; then fail "--in-place writes over the inputs" "in.png unchanged"
else pass "--in-place writes over the inputs"; fi
expect 73 'out\.png/x\.png: no directory out\.png' -k blur photo.png -o out.png/x.png
cp "$PHOTO" "$T/w/out.png"
expect 73 'out\.png/x\.png: out\.png is not a directory' -k blur photo.png -o out.png/x.png
expect 73 'out\.png/: out\.png is not a directory' -k blur photo.png -o out.png/
expect 73 'sub/x\.png: no directory sub' -k blur photo.png sub/x.png
expect 73 'in\.png/sub/: in\.png is not a directory' -k blur photo.png scan.png -o in.png/sub/

# ---- 3. Help that teaches ---------------------------------------------------

fresh
expect 64 'unknown option --kernal; did you mean --kernel\?' --kernal blur in.png out.png
expect 64 'unknown option --bordr=zero; did you mean --border\?' --bordr=zero -k blur in.png out.png
expect 64 'unknown option --frobnicate \(try' --frobnicate -k blur in.png out.png
expect 64 'unknown kernel "sharpn"; did you mean "sharpen"\?' -k sharpn in.png out.png
expect 64 'unknown kernel "Sobel"; did you mean "sobel"\?' -k Sobel in.png out.png
expect 64 'unknown kernel "SHARPEN"; did you mean "sharpen"\?' -k SHARPEN in.png out.png
expect 64 'unknown generator "gausian"; did you mean gaussian:2\?' -k gausian:2 in.png out.png
expect 64 'unknown generator "bx"; did you mean box:3\?' -k bx:3 in.png out.png
expect 64 '^imfilter: -blur is ImageMagick.s; here: -k gaussian:2$' -blur 0x2 in.png out.png
expect 64 '^imfilter: -blur is ImageMagick.s; here: -k gaussian:1\.5,7$' -blur 3x1.5 in.png out.png
expect 64 '^imfilter: -gaussian-blur is ImageMagick.s; here: -k gaussian:1$' -gaussian-blur 0x1 in.png out.png
expect 64 '^imfilter: -sharpen is ImageMagick.s; here: -k sharpen' -sharpen 0x1 in.png out.png
expect 64 '^imfilter: -unsharp is ImageMagick.s; here: -k unsharp' -unsharp 0x1 in.png out.png
expect 64 "^imfilter: -convolve is ImageMagick.s; here: -k '3x3: 0 -1 0 -1 5 -1 0 -1 0'\$" \
	-convolve 0,-1,0,-1,5,-1,0,-1,0 in.png out.png
expect 64 '^imfilter: -morphology is ImageMagick.s; here: -k SPEC' -morphology Convolve Gaussian:0x2 in.png out.png
expect 64 'unknown option --frobnicate' --version --frobnicate
expect 64 'unknown option --frobnicate' --help --frobnicate
expect 64 'unknown option --frobnicate' --list-kernels --frobnicate
[ ! -s "$T/stdout" ] && pass "--list-kernels runs only after parsing" ||
	fail "--list-kernels runs only after parsing" "it printed $(wc -l < "$T/stdout") lines first"
expect 64 'needs an argument' --show-kernel
"$IMF" --help > "$T/help"
wide=$(awk 'length > 79' "$T/help")
[ -z "$wide" ] && pass "--help fits in 80 columns" || fail "--help fits in 80 columns" "$wide"
first=$(grep -E '^  (-[a-zA-Z], )?--' "$T/help" | head -3 | grep -oE -- '--[a-z-]+' | tr '\n' ' ')
[ "$first" = "--kernel --output --border " ] && pass "--help: everyday options first" ||
	fail "--help: everyday options first" "$first"

# ---- 7. Small things --------------------------------------------------------

fresh
expect 64 '-b const=abc: "abc" is not a number' -b const=abc -k blur in.png out.png
expect 0 '' -b const=0.25 -k blur in.png out.png

# warns CASE ARGS...: exit 0 and exactly one warning line matching CASE;
# quiet ARGS...: exit 0 and nothing on stderr.
warns() {
	pat=$1; shift
	(cd "$T/w" && "$IMF" "$@") 2> "$T/stderr" > /dev/null
	rc=$?
	if [ $rc -eq 0 ] && [ "$(wc -l < "$T/stderr")" -eq 1 ] && grep -Eq "^imfilter: warning: $pat" "$T/stderr"; then
		pass "one warning: imfilter $*"
	else
		fail "one warning: imfilter $*" "exit $rc: $(cat "$T/stderr")"
	fi
}
quiet() {
	(cd "$T/w" && "$IMF" "$@") 2> "$T/stderr" > /dev/null
	rc=$?
	[ $rc -eq 0 ] && [ ! -s "$T/stderr" ] && pass "no warning: imfilter $*" ||
		fail "no warning: imfilter $*" "exit $rc: $(cat "$T/stderr")"
}
warns '-d 16 has no effect on JPEG output' -d 16 -k blur in.png out.jpg
warns '-q 50 has no effect on PNG output' -q 50 -k blur in.png out.png
warns '-q 50 has no effect on PNM output' -q 50 -k blur in.png out.ppm
warns '--png-compression has no effect on JPEG output' --png-compression 9 -k blur in.png out.jpg
warns '-d 8 has no effect on PFM output' -d 8 -k blur in.png out.pfm
warns '-q 70 has no effect on PNG output' -q 70 -k blur -o pngs/ in.png photo.png
quiet -d 16 -k blur in.png out.png
quiet -q 50 -k blur in.png out.jpg
quiet -q 50 -k blur -o mixed/ in.png photo.jpg

# A .pgm output of a colour image is grey: Rec. 709 luma of the stored values.
printf 'P6\n3 1\n255\n\377\000\000\000\377\000\000\000\377' > "$T/w/rgb.ppm"
expect 0 '' -k identity rgb.ppm grey.pgm
got=$(od -An -tu1 "$T/w/grey.pgm" | tr -s ' \n' ' ')
case $got in
*" 53 10 54 182 18 ") pass ".pgm from colour is Rec. 709 luma (P5: 54 182 18)" ;;
*) fail ".pgm from colour is Rec. 709 luma" "bytes: $got" ;;
esac
expect 0 '' -k identity rgb.ppm colour.ppm
[ "$(head -c 2 "$T/w/colour.ppm")" = P6 ] && pass ".ppm from colour stays colour" ||
	fail ".ppm from colour stays colour" "$(head -c 2 "$T/w/colour.ppm")"

# '-' on a terminal is refused with a hint instead of waiting.
# (script(1) makes the terminal; a chroot without /dev/pts has none to give.)
if command -v script > /dev/null && script -qec true /dev/null > /dev/null 2>&1 < /dev/null; then
	(cd "$T/w" && script -qec "'$IMF' -k blur - out.png" /dev/null) > "$T/tty.out" 2>&1 < /dev/null
	rc=$?
	if [ $rc -eq 64 ] && grep -q "reads an image from stdin, which is a terminal; pipe one in" "$T/tty.out"; then
		pass "'-' on a terminal is refused with a hint"
	else
		fail "'-' on a terminal is refused with a hint" "exit $rc: $(cat "$T/tty.out")"
	fi
else
	echo "SKIP: '-' on a terminal: no script(1) or no pseudo-terminal"
fi
(cd "$T/w" && "$IMF" -k blur - out.png < in.png) && pass "'-' from a file or pipe still reads" ||
	fail "'-' from a file or pipe still reads" "failed"

# Bash completion: names with spaces stay whole; a whole kernel name gets
# its space, a generator (gaussian:) does not.
if command -v bash > /dev/null; then
	mkdir -p "$T/w/my photos"
	cp "$PHOTO" "$T/w/my photos/a b.png"
	got=$(cd "$T/w" && bash -c '
		compopt() { [ "$1" = -o ] && echo "compopt $2"; }
		. "$1"
		show() { COMP_WORDS=("$2" "${@:3}"); COMP_CWORD=$(($# - 2)); _imfilter; printf "<%s>" "${COMPREPLY[@]}"; echo; }
		show x "$2" -k sharpe
		show x "$2" -k gaussian:
		show x "$2" -k sobel "my"
		show x "$2" -k sobel "my photos/a"
		show x "$2" -k sobel in.png -o "my"' _ "$ROOT/src/completion.bash" "$IMF" 2>&1)
	printf '%s\n' "$got" > "$T/compl"
	sed -n 1p "$T/compl" | grep -qx '<sharpen>' && pass "completion: a whole kernel name gets a space" ||
		fail "completion: a whole kernel name gets a space" "$(cat "$T/compl")"
	sed -n 2,3p "$T/compl" | tr '\n' ' ' | grep -q 'compopt nospace <gaussian:>' &&
		pass "completion: gaussian: waits for its numbers" ||
		fail "completion: gaussian: waits for its numbers" "$(cat "$T/compl")"
	grep -q '<my photos>' "$T/compl" && grep -q '<my photos/a b.png>' "$T/compl" &&
		pass "completion: file names with spaces stay whole" ||
		fail "completion: file names with spaces stay whole" "$(cat "$T/compl")"
fi
exit 0

#!/bin/sh
# install.sh: make install PREFIX=... from a copy of the tree puts the binary,
# the man page, the kernel library (found by -k NAME from any directory) and
# the bash completion in place.
T=$(mktemp -d /tmp/imfilter-inst.XXXXXX)
trap 'rm -rf "$T"' EXIT
pass() { echo "PASS: $1"; }
fail() { echo "FAIL: $1: $2"; }
mkdir -p "$T/tree"
cp -r Makefile src kernels man tests "$T/tree/" 2>/dev/null
if ! make -s -C "$T/tree" install PREFIX="$T/prefix" > "$T/make.log" 2>&1; then
	fail "make install PREFIX=..." "$(tail -5 "$T/make.log")"
	exit 0
fi
P=$T/prefix
for f in bin/imfilter share/man/man1/imfilter.1 share/imfilter/kernels/sharpen.kernel \
	 share/bash-completion/completions/imfilter; do
	[ -e "$P/$f" ] && pass "installed $f" || fail "installed $f" "missing"
done
# -k NAME from a directory without ./kernels, no IMFILTER_KERNEL_PATH.
mkdir -p "$T/elsewhere"
cp ../shared/testdata/photo/coffee_299x199_rgb8.png "$T/elsewhere/in.png"
if (cd "$T/elsewhere" && env -u IMFILTER_KERNEL_PATH "$P/bin/imfilter" -k sharpen in.png out.png) &&
   [ -s "$T/elsewhere/out.png" ]; then
	pass "the installed binary finds its kernel library"
else
	fail "the installed binary finds its kernel library" "-k sharpen failed"
fi
n=$(cd "$T/elsewhere" && env -u IMFILTER_KERNEL_PATH "$P/bin/imfilter" --list-kernels | wc -l)
[ "$n" -ge 19 ] && pass "--list-kernels lists the installed library ($n)" || fail "--list-kernels lists the installed library" "$n lines"
# The completion offers options and kernel names.
if command -v bash > /dev/null; then
	got=$(PATH="$P/bin:$PATH" bash -c '
		. "$1"
		COMP_WORDS=(imfilter --lin); COMP_CWORD=1; _imfilter; echo "${COMPREPLY[*]}"
		COMP_WORDS=(imfilter -k sob); COMP_CWORD=2; _imfilter; echo "${COMPREPLY[*]}"
		COMP_WORDS=(imfilter -e ""); COMP_CWORD=2; _imfilter; echo "${COMPREPLY[*]}"' _ \
		"$P/share/bash-completion/completions/imfilter" 2>&1)
	echo "$got" | grep -q -- '--linear' && echo "$got" | grep -q 'sobel-x' && echo "$got" | grep -q 'direct' &&
		pass "bash completion: options, kernel names, engines" ||
		fail "bash completion: options, kernel names, engines" "$got"
fi
make -s -C "$T/tree" uninstall PREFIX="$T/prefix" > /dev/null 2>&1
left=$(find "$P" -type f | wc -l)
[ "$left" -eq 0 ] && pass "make uninstall removes every file" || fail "make uninstall removes every file" "$left left"

#!/bin/sh
# docsync.sh: --help, the man page and the README describe the same program:
# every long option in args.c's table is in --help and man/imfilter.1, and
# every option the man page documents is in the table.
table=$(sed -n '/cli_opts\[\] = {/,/^};/p' src/args.c | grep -oE '^\s*\{ "[a-z][a-z0-9-]*"' | grep -oE '[a-z][a-z0-9-]*' | sort -u)
IMF=${IMF:-./imfilter}
help=$("$IMF" --help)
man=$(sed 's/\\-/-/g' man/imfilter.1)
[ -n "$table" ] || { echo "FAIL: docsync: no options found in src/args.c"; exit 0; }
missing_help= missing_man=
for o in $table; do
	printf '%s\n' "$help" | grep -q -- "--$o\b" || missing_help="$missing_help --$o"
	printf '%s\n' "$man" | grep -q -- "--$o\b" || missing_man="$missing_man --$o"
done
if [ -z "$missing_help" ]; then echo "PASS: docsync: every option is in --help"
else echo "FAIL: docsync: not in --help:$missing_help"; fi
if [ -z "$missing_man" ]; then echo "PASS: docsync: every option is in the man page"
else echo "FAIL: docsync: not in man/imfilter.1:$missing_man"; fi

# Options the man page's OPTIONS section documents (.TP then .B/.BI --name).
documented=$(sed -n '/^\.SH OPTIONS/,/^\.SH /p' man/imfilter.1 | sed 's/\\-/-/g' |
	grep -oE -- '--[a-z][a-z0-9-]*' | sed 's/^--//' | sort -u)
extra=
for o in $documented; do
	printf '%s\n' "$table" | grep -qx -- "$o" || extra="$extra --$o"
done
if [ -z "$extra" ]; then echo "PASS: docsync: the man page documents no option the program lacks"
else echo "FAIL: docsync: in the man page but not in the option table:$extra"; fi

# README: the two set-up commands and every option it mentions exist.
# (only what follows "imfilter" on a line, so other tools' options are not taken)
readme_opts=$(grep imfilter README.md | sed 's/.*imfilter//' | grep -oE -- '(^|[ `(])--[a-z][a-z0-9-]*' |
	grep -oE -- '--[a-z][a-z0-9-]*' | sed 's/^--//' | sort -u)
extra=
for o in $readme_opts; do
	printf '%s\n' "$table" | grep -qx -- "$o" || extra="$extra --$o"
done
if [ -z "$extra" ] && grep -q 'make demo' README.md && grep -q 'make check' README.md; then
	echo "PASS: docsync: README shows make demo and make check and only real options"
else
	echo "FAIL: docsync: README:$extra"
fi

# The man page renders without warnings.
w=$(groff -t -ww -man -Tutf8 man/imfilter.1 2>&1 >/dev/null)
if [ -z "$w" ]; then echo "PASS: docsync: man page renders without warnings"
else echo "FAIL: docsync: groff warnings: $w"; fi

# Every engine -e accepts is in --help and the man page.
for e in $("$IMF" -e list 2>&1 | sed -n 's/.*(engines: \([^)]*\)).*/\1/p' | tr -d ','); do
	printf '%s\n' "$help" | grep -q "$e" && printf '%s\n' "$man" | grep -q "^\.B $e" ||
		{ echo "FAIL: docsync: engine $e not in --help or not a .B entry in the man page"; continue; }
	echo "PASS: docsync: engine $e documented"
done

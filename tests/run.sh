#!/bin/sh
# run.sh: runs every test (the unit binaries given as arguments, then the
# shell tests) and ends with one line "N passed, N failed, N skipped".
# Each test prints "PASS: name" or "FAIL: name: detail" lines, and
# "SKIP: name: why" for a case this machine cannot run (counted apart:
# a case that did not run never passes); this shows one summary line per
# test and every FAIL line.  build/tests/check.log keeps them all.
# Environment: IMF, the imfilter binary the shell tests run (default
# ./imfilter); IMF_LOG, the log; IMF_SKIP, shell tests to leave out (e.g.
# "valgrind.sh" for a sanitizer build, which valgrind cannot run).
cd "$(dirname "$0")/.." || exit 70
IMF=${IMF:-./imfilter}
export IMF
log=${IMF_LOG:-build/tests/check.log}
out=$log.out.$$
mkdir -p "$(dirname "$log")"
: > "$log"

run() {
	name=$1; shift
	"$@" > "$out" 2>&1
	rc=$?
	cat "$out" >> "$log"
	p=$(grep -c '^PASS' "$out")
	f=$(grep -c '^FAIL' "$out")
	s=$(grep -c '^SKIP' "$out")
	if [ $rc -ne 0 ] && [ "$f" -eq 0 ]; then
		# A crash or an early exit without a FAIL line still counts.
		echo "FAIL: $name: exit status $rc: $(tail -n 3 "$out" | tr '\n' ' ')" | tee -a "$log"
		f=1
	fi
	printf '%-28s %4d passed, %d failed, %d skipped\n' "$name" "$p" "$f" "$s"
	grep '^FAIL' "$out"
	rm -f "$out"
}

for t in "$@"; do
	run "$(basename "$t")" "$t"
done
for t in tests/*.sh; do
	[ "$t" = tests/run.sh ] && continue
	case " $IMF_SKIP " in *" ${t#tests/} "*) continue ;; esac
	run "$(basename "$t")" sh "$t"
done

passed=$(grep -c '^PASS' "$log")
failed=$(grep -c '^FAIL' "$log")
skipped=$(grep -c '^SKIP' "$log")
echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]

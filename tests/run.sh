#!/bin/sh
# run.sh: runs every test (the unit binaries given as arguments, then the
# shell tests) and ends with one line "N passed, N failed".
# Each test prints "PASS: name" or "FAIL: name: detail" lines.
cd "$(dirname "$0")/.." || exit 70
log=build/tests/check.log
mkdir -p build/tests
: > "$log"

run() {
	name=$1; shift
	"$@" > build/tests/out.$$ 2>&1
	rc=$?
	cat build/tests/out.$$ >> "$log"
	grep -E '^(PASS|FAIL)' build/tests/out.$$
	if [ $rc -ne 0 ] && ! grep -q '^FAIL' build/tests/out.$$; then
		# A crash or an early exit without a FAIL line still counts.
		echo "FAIL: $name: exit status $rc" | tee -a "$log"
	fi
	rm -f build/tests/out.$$
}

for t in "$@"; do
	run "$t" "$t"
done
for t in tests/*.sh; do
	[ "$t" = tests/run.sh ] && continue
	run "$t" sh "$t"
done

passed=$(grep -c '^PASS' "$log")
failed=$(grep -c '^FAIL' "$log")
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]

#!/bin/sh
# setup.sh: each make target installs only what it needs (issue 14, point 8).
# make -n shows what a target would run when a part is missing: the build
# targets ask for make build-deps (DEB_BUILD only), the test targets for
# make deps (DEB_BUILD and DEB_TEST).  BUILD_OK= and TEST_OK= on the command
# line play a machine that lacks the build's libraries or the test tools.
pass() { echo "PASS: $1"; }
fail() { echo "FAIL: $1: $2"; }

# plan GOAL VAR=...: what make -n would do; the recursive makes run as -n too.
# When make check itself ran after installing (make DEPS_TRIED=yes check),
# MAKEFLAGS and the environment (make exports command-line variables) carry
# DEPS_TRIED=yes: the plans start from a clean slate.
plan() { env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL -u DEPS_TRIED make -n --no-print-directory "$@" 2>&1; }

for goal in all demo install; do
	out=$(plan "$goal" BUILD_OK= TEST_OK=)
	name="make $goal on a bare machine installs the build's packages only"
	if ! printf '%s\n' "$out" | grep -q 'apt-get install.*libpng-dev'; then
		fail "$name" "no apt-get install of DEB_BUILD: $(printf '%s' "$out" | head -c 300)"
	elif printf '%s\n' "$out" | grep 'apt-get install' | grep -qE ' (valgrind|python3-torch|clang) '; then
		fail "$name" "installs a test tool: $(printf '%s\n' "$out" | grep -m1 'apt-get install')"
	else
		pass "$name"
	fi
	out=$(plan "$goal" TEST_OK=)
	name="make $goal with the build's packages present installs nothing"
	if printf '%s\n' "$out" | grep -q 'apt-get'; then
		fail "$name" "$(printf '%s\n' "$out" | grep -m1 apt-get)"
	else
		pass "$name"
	fi
done
for goal in check check-sanitize; do
	out=$(plan "$goal" TEST_OK=)
	name="make $goal without the test tools installs them"
	if printf '%s\n' "$out" | grep 'apt-get install' | grep -q ' valgrind .*python3-torch\| python3-torch .*valgrind '; then
		pass "$name"
	else
		fail "$name" "$(printf '%s' "$out" | head -c 300)"
	fi
done
if grep -q 'make build-deps' README.md && grep -q 'make deps' README.md; then
	pass "README says which command installs what"
else
	fail "README says which command installs what" "no make build-deps / make deps"
fi
exit 0

#!/bin/sh
# kerngen.sh: unsharp, log, dog and emboss (see kerngen.py), and their bad specs.
IMF=${IMF:-./imfilter}
if ! /usr/bin/python3 -c 'import numpy' 2>/dev/null; then
	echo "FAIL: kerngen: /usr/bin/python3 with numpy is missing (make deps installs it)"
	exit 1
fi
/usr/bin/python3 tests/kerngen.py "$IMF"
S=samples/camera.png
bad() {
	want=$1; pat=$2; spec=$3
	msg=$("$IMF" -k "$spec" "$S" /tmp/imfilter-kerngen-$$.png 2>&1)
	rc=$?
	if [ "$rc" -eq "$want" ] && printf '%s\n' "$msg" | grep -q -- "$pat"; then
		echo "PASS: kerngen: -k $spec: exit $want"
	else
		echo "FAIL: kerngen: -k $spec: exit $rc: $msg"
	fi
	rm -f /tmp/imfilter-kerngen-$$.png
}
bad 65 'threshold is not linear' 'unsharp:1,1,0.05'
bad 65 'expected unsharp:SIGMA' 'unsharp:x'
bad 65 'too many numbers' 'unsharp:1,1,0,4'
bad 65 'must differ' 'dog:1,1'
bad 65 'too few numbers' 'dog:2'
bad 65 'greater than 0' 'log:-1'
bad 64 'needs parameters' 'log'
# ImageMagick's -unsharp answered with the generator that computes it.
msg=$("$IMF" -unsharp 0x1.5+0.8+0 in.png out.png 2>&1)
if [ $? -eq 64 ] && printf '%s\n' "$msg" | grep -q 'here: -k unsharp:1.5,0.8$'; then
	echo "PASS: kerngen: -unsharp 0x1.5+0.8+0 answered with -k unsharp:1.5,0.8"
else
	echo "FAIL: kerngen: -unsharp 0x1.5+0.8+0: $msg"
fi

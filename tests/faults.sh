#!/bin/sh
# faults.sh: faults around a run: disk full (a small tmpfs, ulimit -f,
# /dev/full), an unwritable directory, output = input, stdout closed early,
# SIGINT and SIGTERM mid-write, out of memory (ulimit -v).  Each must end
# with the documented exit code and exactly one line on stderr, leave a
# pre-existing output intact and leave no temporary file (.NAME.XXXXXX).
# Then outputs that exist already: a symbolic link (its target replaced,
# the link kept), a file's permission bits and owner kept, batch mode
# pointed at its own inputs refused, a device or FIFO written to and not
# replaced.  The mounts need root; where mount
# fails, those cases fall back or print a SKIP line (never a PASS).
IMF=${IMF:-./imfilter}
T=$(mktemp -d /tmp/imfilter-faults.XXXXXX) || exit 70
MOUNTS=
cleanup() {
	for m in $MOUNTS; do umount "$m" 2>/dev/null; done
	rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 70' INT TERM
S=../shared/testdata
PHOTO=$S/photo/coffee_299x199_rgb8.png

pass() { echo "PASS: faults: $1"; }
fail() { echo "FAIL: faults: $1: $2"; }
skip() { echo "SKIP: faults: $1"; }

# A sanitizer build reserves terabytes of address space: ulimit -v cannot
# apply to it.
asan=
grep -q __asan_init "$IMF" 2>/dev/null && asan=yes

# Inputs: random pixels, which no encoder can squeeze, so writing takes a
# while and the output is as large as the samples.
# mid: 1000x1000 RGB, 3 MB as PNM; big: 4000x3000 RGB, 36 MB as PNM.
{ printf 'P6\n1000 1000\n255\n'; head -c 3000000 /dev/urandom; } > "$T/mid.ppm"
{ printf 'P6\n4000 3000\n255\n'; head -c 36000000 /dev/urandom; } > "$T/big.ppm"

# verdict NAME WANT PATTERN DIR FILE [ORIG]: judges the last run ($rc,
# stderr in $T/err): exit WANT, one stderr line matching PATTERN, no
# temporary file for FILE in DIR, and FILE equal to ORIG (or absent when
# ORIG is not given).
verdict() {
	name=$1 want=$2 pat=$3 dir=$4 file=$5 orig=$6
	lines=$(awk 'END { print NR }' "$T/err")
	if [ "$rc" -ne "$want" ]; then
		fail "$name" "exit $rc (want $want): $(head -c 300 "$T/err")"
	elif [ "$lines" -ne 1 ]; then
		fail "$name" "$lines lines on stderr: $(head -c 300 "$T/err")"
	elif ! grep -Eq -- "^imfilter: .*$pat" "$T/err"; then
		fail "$name" "stderr does not match /$pat/: $(cat "$T/err")"
	elif ls -a "$dir" 2>/dev/null | grep -q "^\.$file\."; then
		fail "$name" "a temporary file was left: $(ls -a "$dir" | tr '\n' ' ')"
	elif [ -n "$orig" ] && ! cmp -s "$orig" "$dir/$file"; then
		fail "$name" "the existing $file was changed"
	elif [ -z "$orig" ] && [ -e "$dir/$file" ]; then
		fail "$name" "an output file was written"
	else
		pass "$name"
	fi
}

# ---- disk full ---------------------------------------------------------------
# A 1 MB tmpfs holding an older output; the new one (3 MB) cannot fit.
mkdir -p "$T/full"
if mount -t tmpfs -o size=1m imfilter-faults "$T/full" 2>/dev/null; then
	MOUNTS="$T/full $MOUNTS"
	cp "$S/pngsuite/basn2c08.png" "$T/full/out.ppm"
	"$IMF" -k blur "$T/mid.ppm" "$T/full/out.ppm" 2> "$T/err"
	rc=$?
	verdict "disk full (1 MB tmpfs): exit 74" 74 'No space left on device' \
		"$T/full" out.ppm "$S/pngsuite/basn2c08.png"
else
	skip "disk full (1 MB tmpfs): mount failed (not root?)"
fi

# A file size limit: SIGXFSZ must not kill the program midway.
mkdir -p "$T/fsize"
cp "$S/pngsuite/basn2c08.png" "$T/fsize/out.ppm"
(ulimit -f 200 && exec "$IMF" -k blur "$T/mid.ppm" "$T/fsize/out.ppm") 2> "$T/err"
rc=$?
verdict "file size limit (ulimit -f): exit 74" 74 'File too large' \
	"$T/fsize" out.ppm "$S/pngsuite/basn2c08.png"

# Standard output on a full device.
"$IMF" -k blur -f pnm "$T/mid.ppm" - > /dev/full 2> "$T/err"
rc=$?
verdict "stdout on /dev/full: exit 74" 74 '<stdout>: No space left on device' "$T" stdout-none

# ---- unwritable directory ----------------------------------------------------
# Root ignores permission bits, so the directory is a read-only bind mount
# (holding an older output); without mount rights, chmod does it.
mkdir -p "$T/rosrc" "$T/ro"
cp "$PHOTO" "$T/rosrc/out.png"
if mount --bind "$T/rosrc" "$T/ro" 2>/dev/null; then
	MOUNTS="$T/ro $MOUNTS"
	if mount -o remount,bind,ro "$T/ro" 2>/dev/null; then
		"$IMF" -k blur "$PHOTO" "$T/ro/out.png" 2> "$T/err"
		rc=$?
		verdict "read-only directory: exit 73" 73 'out\.png: Read-only file system' \
			"$T/ro" out.png "$PHOTO"
	else
		skip "read-only directory: read-only remount failed"
	fi
elif [ "$(id -u)" != 0 ]; then
	chmod 555 "$T/rosrc"
	"$IMF" -k blur "$PHOTO" "$T/rosrc/out.png" 2> "$T/err"
	rc=$?
	chmod 755 "$T/rosrc"
	verdict "unwritable directory (chmod 555): exit 73" 73 'Permission denied' \
		"$T/rosrc" out.png "$PHOTO"
else
	skip "read-only directory: bind mount failed"
fi

# A file where the directory should be, and a directory of /proc.
: > "$T/notadir"
"$IMF" -k blur "$PHOTO" "$T/notadir/out.png" 2> "$T/err"
rc=$?
verdict "a file as the output's directory: exit 73" 73 'notadir is not a directory' "$T" notadir-none
"$IMF" -k blur "$PHOTO" /proc/imfilter-out.png 2> "$T/err"
rc=$?
verdict "output in /proc: exit 73" 73 '/proc/imfilter-out\.png: ' /proc imfilter-out.png

# ---- output path = input path ---------------------------------------------
mkdir -p "$T/same"
cp "$PHOTO" "$T/same/in.png"
"$IMF" --in-place -k blur "$T/same/in.png" "$T/same/in.png" 2> "$T/err"
rc=$?
if [ $rc -eq 0 ] && [ ! -s "$T/err" ] && ! cmp -s "$PHOTO" "$T/same/in.png" &&
   [ "$(ls -A "$T/same")" = in.png ] && "$IMF" -k identity "$T/same/in.png" "$T/same.png"; then
	pass "output = input: replaced by the filtered image, no temporary file"
else
	fail "output = input" "exit $rc, files: $(ls -A "$T/same" | tr '\n' ' ') $(cat "$T/err")"
fi
# A run that fails after reading leaves the input as it was.
cp "$PHOTO" "$T/same/in.png"
"$IMF" --in-place -s valid -k box:400 "$T/same/in.png" "$T/same/in.png" 2> "$T/err"
rc=$?
verdict "output = input, failed run: exit 65, input intact" 65 'larger than' \
	"$T/same" in.png "$PHOTO"

# ---- outputs that exist: links, permissions, the inputs themselves ---------
# mode_of FILE: its permission bits in octal; owner_of FILE: user:group.
mode_of() { stat -c %a "$1"; }
owner_of() { stat -c %U:%G "$1"; }
# temps DIR...: the temporary files left in the directories, if any.
temps() { for d in "$@"; do ls -a "$d" | grep '^\.[^.].*\.......$'; done; }

# A symbolic link into another directory, relative: the target gets the
# image (the bytes a direct write gives), the link stays a link to it, and
# neither directory keeps a temporary file.
mkdir -p "$T/ln/dir" "$T/ln/other"
"$IMF" -k blur "$PHOTO" "$T/ln/direct.png" 2> "$T/err" || fail "symlink: reference" "$(cat "$T/err")"
cp "$PHOTO" "$T/ln/other/target.png"
ln -s ../other/target.png "$T/ln/dir/out.png"
"$IMF" -k blur "$PHOTO" "$T/ln/dir/out.png" 2> "$T/err"
rc=$?
if [ $rc -ne 0 ] || [ -s "$T/err" ]; then
	fail "output is a symlink" "exit $rc: $(cat "$T/err")"
elif [ ! -L "$T/ln/dir/out.png" ] || [ "$(readlink "$T/ln/dir/out.png")" != ../other/target.png ]; then
	fail "output is a symlink" "the link was replaced: $(ls -l "$T/ln/dir/out.png")"
elif ! cmp -s "$T/ln/direct.png" "$T/ln/other/target.png"; then
	fail "output is a symlink" "the link's target does not hold the output"
elif [ -n "$(temps "$T/ln/dir" "$T/ln/other")" ]; then
	fail "output is a symlink" "temporary files left: $(temps "$T/ln/dir" "$T/ln/other")"
else
	pass "output is a symlink: its target replaced, the link kept"
fi
# A chain of two links, the second absolute, and a dangling link.
cp "$PHOTO" "$T/ln/other/target.png"
ln -s "$T/ln/other/target.png" "$T/ln/abs.png"
ln -s abs.png "$T/ln/chain.png"
"$IMF" -k blur "$PHOTO" "$T/ln/chain.png" 2> "$T/err"
rc=$?
if [ $rc -eq 0 ] && [ -L "$T/ln/chain.png" ] && [ -L "$T/ln/abs.png" ] &&
   cmp -s "$T/ln/direct.png" "$T/ln/other/target.png"; then
	pass "output is a chain of symlinks: the last target replaced, both links kept"
else
	fail "output is a chain of symlinks" "exit $rc: $(cat "$T/err") $(ls -l "$T/ln")"
fi
ln -s other/new.png "$T/ln/dangling.png"
"$IMF" -k blur "$PHOTO" "$T/ln/dangling.png" 2> "$T/err"
rc=$?
if [ $rc -eq 0 ] && [ -L "$T/ln/dangling.png" ] && cmp -s "$T/ln/direct.png" "$T/ln/other/new.png"; then
	pass "output is a dangling symlink: the file it names is made"
else
	fail "output is a dangling symlink" "exit $rc: $(cat "$T/err") $(ls -l "$T/ln" "$T/ln/other")"
fi
# A link to the input is the input: refused without --in-place.
cp "$PHOTO" "$T/ln/in.png"
ln -s in.png "$T/ln/to-in.png"
"$IMF" -k blur "$T/ln/in.png" "$T/ln/to-in.png" 2> "$T/err"
rc=$?
verdict "output is a symlink to the input: exit 73" 73 'would write over the input' \
	"$T/ln" in.png "$PHOTO"

# Permission bits of a replaced file are kept, through a link too; a new
# file gets 0666 less the umask.
mkdir -p "$T/perm"
for m in 600 640 444 755; do
	cp "$PHOTO" "$T/perm/out-$m.png"
	chmod $m "$T/perm/out-$m.png"
	"$IMF" -k blur "$PHOTO" "$T/perm/out-$m.png" 2> "$T/err"
	rc=$?
	if [ $rc -eq 0 ] && [ "$(mode_of "$T/perm/out-$m.png")" = $m ] &&
	   cmp -s "$T/ln/direct.png" "$T/perm/out-$m.png"; then
		pass "a replaced file keeps its mode $m"
	else
		fail "a replaced file keeps its mode $m" "exit $rc, mode $(mode_of "$T/perm/out-$m.png"): $(cat "$T/err")"
	fi
done
cp "$PHOTO" "$T/perm/target.png"
chmod 604 "$T/perm/target.png"
ln -s target.png "$T/perm/link.png"
"$IMF" -k blur "$PHOTO" "$T/perm/link.png" 2> "$T/err"
rc=$?
if [ $rc -eq 0 ] && [ "$(mode_of "$T/perm/target.png")" = 604 ] && [ -L "$T/perm/link.png" ]; then
	pass "a link's target keeps its mode"
else
	fail "a link's target keeps its mode" "exit $rc, mode $(mode_of "$T/perm/target.png")"
fi
(umask 027 && exec "$IMF" -k blur "$PHOTO" "$T/perm/new.png") 2> "$T/err"
rc=$?
if [ $rc -eq 0 ] && [ "$(mode_of "$T/perm/new.png")" = 640 ]; then
	pass "a new file is 0666 less the umask (027: 640)"
else
	fail "a new file is 0666 less the umask" "exit $rc, mode $(mode_of "$T/perm/new.png")"
fi
# Under root, a file of another user stays theirs.
if [ "$(id -u)" = 0 ] && id nobody > /dev/null 2>&1; then
	cp "$PHOTO" "$T/perm/theirs.png"
	chown nobody "$T/perm/theirs.png"
	chmod 640 "$T/perm/theirs.png"
	before=$(owner_of "$T/perm/theirs.png")
	"$IMF" -k blur "$PHOTO" "$T/perm/theirs.png" 2> "$T/err"
	rc=$?
	if [ $rc -eq 0 ] && [ "$(owner_of "$T/perm/theirs.png")" = "$before" ] &&
	   [ "$(mode_of "$T/perm/theirs.png")" = 640 ]; then
		pass "root replacing another user's file keeps its owner ($before) and mode"
	else
		fail "root replacing another user's file" "exit $rc, $(owner_of "$T/perm/theirs.png") $(mode_of "$T/perm/theirs.png")"
	fi
else
	skip "owner kept: not root, or no user nobody"
fi

# Batch mode pointed at its own inputs: -o . and -o ./ in the inputs'
# directory, and templates that name the inputs, are refused before any
# work (exit 73, the first clash named), every input intact.
mkdir -p "$T/self"
cp "$PHOTO" "$T/self/a.png"
cp "$PHOTO" "$T/self/b.png"
imf=$(cd "$(dirname "$IMF")" && pwd)/$(basename "$IMF")
for o in . ./ '%d/%n.%e' "$T/self/%n.png"; do
	(cd "$T/self" && exec "$imf" -k blur -o "$o" a.png b.png) 2> "$T/err"
	rc=$?
	verdict "batch -o '$o' over its own inputs: exit 73" 73 'would write over the input' \
		"$T/self" a.png "$PHOTO"
	cmp -s "$PHOTO" "$T/self/b.png" || fail "batch -o '$o' over its own inputs" "b.png was changed"
done

# ---- standard output closed early ------------------------------------------
{ "$IMF" -k blur --format png "$T/mid.ppm" - 2> "$T/err"; echo $? > "$T/rc"; } | head -c 10 > "$T/head"
rc=$(cat "$T/rc")
if [ "$(wc -c < "$T/head")" -ne 10 ]; then
	fail "stdout closed early" "head got $(wc -c < "$T/head") bytes"
else
	verdict "stdout closed early (| head -c 10): exit 74" 74 '<stdout>: Broken pipe' "$T" stdout-none
fi

# ---- signals mid-write ---------------------------------------------------------
# signal_test SIG CODE PATTERN: filters big.ppm into an existing out.png
# and sends SIG once the temporary file exists, i.e. while the output is
# being written.  env --default-signal undoes the SIG_IGN a non-interactive
# shell gives SIGINT in background jobs (which imfilter rightly keeps).
signal_test() {
	sig=$1 want=$2 pat=$3
	d=$T/sig-$sig
	mkdir -p "$d"
	cp "$PHOTO" "$d/out.png"
	env --default-signal=INT,TERM "$IMF" -j 2 -k blur "$T/big.ppm" "$d/out.png" 2> "$T/err" &
	pid=$!
	n=0
	# Up to 120 s for the filtering before the write (a sanitizer build is slow).
	while ! ls -a "$d" | grep -q '^\.out\.png\.' && kill -0 $pid 2>/dev/null &&
	      [ $n -lt 12000 ]; do
		sleep 0.01
		n=$((n + 1))
	done
	if ! ls -a "$d" | grep -q '^\.out\.png\.'; then
		kill -KILL $pid 2>/dev/null
		wait $pid
		fail "SIG$sig mid-write" "no temporary file appeared (the run ended or took too long)"
		return
	fi
	kill -"$sig" $pid
	wait $pid 2>/dev/null
	rc=$?
	verdict "SIG$sig mid-write: exit $want, no temporary file, old output intact" \
		"$want" "$pat" "$d" out.png "$PHOTO"
}
signal_test INT 130 'interrupted by SIGINT'
signal_test TERM 143 'terminated by SIGTERM'

# ---- out of memory ---------------------------------------------------------------
# The limit is what the program has mapped before it reads (measured on a
# run whose decoder thread is blocked opening a FIFO, its stack included),
# plus the 36 MB input, which is mapped, and 2 MB: the rows of the step's
# window (96 rows of 48 kB) cannot be had.
# An output that is not a file (a device, a FIFO) is written to, not
# replaced: renaming a file over it would, as root, turn /dev/null into a
# regular file.  A private device node, so that a failure spoils only it.
mkdir -p "$T/dev"
if mknod "$T/dev/null" c 1 3 2>/dev/null; then
	"$IMF" -k blur "$PHOTO" -f png "$T/dev/null" 2> "$T/err"
	rc=$?
	if [ $rc -eq 0 ] && [ -c "$T/dev/null" ] && [ ! -s "$T/err" ] && [ -z "$(temps "$T/dev")" ]; then
		pass "output is a character device: written to, still a device"
	else
		fail "output is a character device" "exit $rc: $(cat "$T/err") $(ls -la "$T/dev")"
	fi
else
	skip "output is a character device: mknod needs root"
fi
# Down a FIFO, each format gives the bytes it writes to a file, PFM and
# TIFF too, which seek back in a file (their directory, bottom-up rows).
mkfifo "$T/dev/pipe"
for fmt in png pfm tiff; do
	"$IMF" -k blur "$PHOTO" -f $fmt "$T/dev/file.$fmt" 2> "$T/err" || fail "FIFO: $fmt reference" "$(cat "$T/err")"
	# A reader that gives up: were the FIFO replaced, nothing would ever open it.
	timeout 20 cat "$T/dev/pipe" > "$T/dev/from-pipe.$fmt" &
	pid=$!
	"$IMF" -k blur "$PHOTO" -f $fmt "$T/dev/pipe" 2> "$T/err"
	rc=$?
	wait $pid
	if [ $rc -eq 0 ] && [ -p "$T/dev/pipe" ] && cmp -s "$T/dev/file.$fmt" "$T/dev/from-pipe.$fmt"; then
		pass "output is a FIFO ($fmt): the image goes down it, the FIFO stays"
	else
		fail "output is a FIFO ($fmt)" "exit $rc: $(cat "$T/err") $(ls -la "$T/dev")"
	fi
done

if [ -n "$asan" ]; then
	skip "out of memory (ulimit -v): a sanitizer build cannot run under ulimit -v"
else
	mkfifo "$T/fifo"
	"$IMF" -j 1 -e direct -k blur "$T/fifo" "$T/oom.png" 2> /dev/null &
	pid=$!
	base=
	n=0
	while [ -z "$base" ] && [ $n -lt 500 ]; do
		sleep 0.01
		n=$((n + 1))
		# Blocked in open() on the FIFO: every library is loaded by then.
		cat /proc/$pid/task/*/wchan 2>/dev/null | grep -Eq 'fifo|partner' &&
			base=$(awk '/^VmSize:/ { print $2 }' "/proc/$pid/status")
	done
	: > "$T/fifo"
	wait $pid
	if [ -z "$base" ]; then
		fail "out of memory (ulimit -v)" "could not measure the program's base size"
	else
		limit=$((base + 36000 + 2000))
		mkdir -p "$T/oom"
		cp "$PHOTO" "$T/oom/out.png"
		(ulimit -v $limit && exec "$IMF" -j 1 -e direct -k blur "$T/big.ppm" "$T/oom/out.png") 2> "$T/err"
		rc=$?
		verdict "out of memory (ulimit -v $limit): exit 71" 71 'out of memory' \
			"$T/oom" out.png "$PHOTO"
	fi
fi
exit 0

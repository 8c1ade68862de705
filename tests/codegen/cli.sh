#!/bin/sh
# `lathe compile` end to end: the digits model compiled to C, built by the system C compiler
# together with user.c (which includes the generated header), run on the 360 held-out
# images; and the bad cases (unknown emit kind, a backend not built, an unwritable output, a
# type the backends do not handle) with their exit codes, leaving nothing behind.
# usage: cli.sh LATHE SOURCE_DIR CC
set -u
lathe=$1
src=$2
cc=$3
digits=$src/examples/digits
. "$(dirname "$0")/../lib.sh"

check help 0 '^usage: lathe compile' -- "$lathe" compile --help
# Workspace by hand: c1, n1, r1 8*8*8 floats (2048 bytes each), p1 8*4*4 (512), c2 and r2
# 16*4*4 (1024 each), p2 64 (256), g1 and r3 32 (128 each), g2 10 (40, rounded up to 64):
# 3*2048 + 512 + 2*1024 + 256 + 2*128 + 64 = 9280 (flatten reuses p2's buffer).
check compile-digits 0 '^workspace: 9280 bytes$' -- \
  "$lathe" compile "$digits/digits.lathe" -o "$tmp/digits" --emit=c,header,nest
expect wrote-c-h-nest test -s "$tmp/digits.c" -a -s "$tmp/digits.h" -a -s "$tmp/digits.nest"
expect header-workspace grep -q '^#define DIGITS_WORKSPACE_SIZE 9280u$' "$tmp/digits.h"
expect header-extern-c grep -q 'extern "C"' "$tmp/digits.h"
check build-c 0 '' -- "$cc" -std=c99 -O2 -Wall -Wextra -Werror -I"$src/include" -I"$tmp" \
  "$src/tests/codegen/user.c" "$tmp/digits.c" -o "$tmp/user" -lm
# 97.22 % = 350 of 360: the interpreter's accuracy (examples/digits/README.md, digits_demo).
"$tmp/user" "$digits/test_images.npy" "$digits/test_labels.npy" "$digits/test_probs.npy" >"$tmp/user.out" 2>&1
expect run-ok test $? -eq 0
expect accuracy grep -q '^accuracy 97.22 % (350 of 360)$' "$tmp/user.out"
# Probabilities within 1e-5 of torch's own (test_probs.npy was written by train.py).
expect matches-torch awk '/^max \|p - torch\|/ { ok = ($5 + 0 < 1e-5) } END { exit !ok }' "$tmp/user.out"
expect refuses-misaligned grep -q '^misaligned workspace: refused$' "$tmp/user.out"
expect refuses-null grep -q '^NULL output: refused$' "$tmp/user.out"
expect refuses-abi grep -q '^other ABI: refused$' "$tmp/user.out"
expect descriptor grep -q '^descriptor: input probs 9280 bytes workspace$' "$tmp/user.out"
grep -E '^(accuracy|median)' "$tmp/user.out"

# --name sets the prefix (sanitized); -o m.c alone writes m.c only.
check name 0 '' -- "$lathe" compile "$digits/digits.lathe" -o "$tmp/m.c" --name=my-model.v2
expect name-sanitized grep -q '^int my_model_v2_run(const lathe_exec' "$tmp/m.c"
expect only-c test ! -e "$tmp/m.h" -a ! -e "$tmp/m.c.c"
# --weights: the blob goes to the sidecar, and the code reads it from lathe_exec.weights.
check sidecar 0 '^weights: 14976 bytes \(sidecar\)$' -- \
  "$lathe" compile "$digits/digits.lathe" -o "$tmp/side" --emit=c --weights="$tmp/side.bin"
expect sidecar-size test "$(wc -c <"$tmp/side.bin")" -eq 14976
expect sidecar-not-embedded sh -c "! grep -q lt_weights '$tmp/side.c'"

# Bad input: one clear message, exit 1 or 2, nothing written.
mkdir "$tmp/bad"
check unknown-kind 2 "unknown emit kind 'exe'" -- "$lathe" compile "$digits/digits.lathe" -o "$tmp/bad/m" --emit=c,exe
check needs-llvm 2 'needs the LLVM backend' -- "$lathe" compile "$digits/digits.lathe" -o "$tmp/bad/m.so"
check no-output 2 '-o BASE is required' -- "$lathe" compile "$digits/digits.lathe"
check unwritable 1 'nosuchdir' -- "$lathe" compile "$digits/digits.lathe" -o "$tmp/nosuchdir/m" --emit=c,header
cat >"$tmp/bad/half.lathe" <<'M'
lathe 1
graph @half(%x: f16[4]) -> (%y: f16[4]) {
  %r = relu(%x) : f16[4]
  return %r
}
M
check no-lowering 1 'half.lathe:2:13: error: input %x has type f16\[4\], which the compiled backends do not handle yet' -- \
  "$lathe" compile "$tmp/bad/half.lathe" -o "$tmp/bad/half" --emit=c,header
expect nothing-written test -z "$(ls "$tmp/bad" | grep -v '^half.lathe$')"
finish

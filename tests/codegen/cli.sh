#!/bin/sh
# `lathe compile` end to end: the digits model compiled to C, built by the system C compiler
# together with user.c (which includes the generated header), run on the 360 held-out
# images; the same through the LLVM backend (.o linked with user.c; .so run by `lathe run`
# against the interpreter); the pass flags; and the bad cases (unknown emit kind or target,
# an unwritable output, a type the backends do not handle) with their exit codes, leaving
# nothing behind.
# usage: cli.sh LATHE SOURCE_DIR CC
set -u
lathe=$1
src=$2
cc=$3
digits=$src/examples/digits
. "$(dirname "$0")/../lib.sh"

check help 0 '^usage: lathe compile' -- "$lathe" compile --help
# Workspace by hand (the memory plan): c1, n1, r1 8*8*8 floats (2048 bytes each), p1 8*4*4
# (512), c2 and r2 16*4*4 (1024 each), p2 64 (256), g1 and r3 32 (128 each), g2 10 (40). The
# most live at once is c1 and n1 at the batch_norm, 2*2048 = 4096; every later tensor fits
# beside what is still live (r1 in place of n1, r2 of c2, r3 of g1, the flatten is p2 itself).
# -O0: the graph as written (the default -O2 fuses, and the sizes change).
check compile-digits 0 '^workspace: 4096 bytes$' -- \
  "$lathe" compile -O0 "$digits/digits.lathe" -o "$tmp/digits" --emit=c,header,nest
expect wrote-c-h-nest test -s "$tmp/digits.c" -a -s "$tmp/digits.h" -a -s "$tmp/digits.nest"
expect header-workspace grep -q '^#define DIGITS_WORKSPACE_SIZE 4096u$' "$tmp/digits.h"
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
expect descriptor grep -q '^descriptor: input probs 4096 bytes workspace$' "$tmp/user.out"
grep -E '^(accuracy|median)' "$tmp/user.out"

# The LLVM backend (-O2, the native target): the object file links with the same user.c.
mkdir "$tmp/llvm"
check compile-llvm 0 '^workspace: [0-9]+ bytes$' -- \
  "$lathe" compile "$digits/digits.lathe" -o "$tmp/llvm/digits" --emit=header,obj,so,asm,llvm
expect wrote-llvm test -s "$tmp/llvm/digits.o" -a -s "$tmp/llvm/digits.so" -a -s "$tmp/llvm/digits.s" -a -s "$tmp/llvm/digits.ll"
check build-obj 0 '' -- "$cc" -std=c99 -O2 -I"$src/include" -I"$tmp/llvm" "$src/tests/codegen/user.c" "$tmp/llvm/digits.o" \
  -o "$tmp/llvm/user" -lm
"$tmp/llvm/user" "$digits/test_images.npy" "$digits/test_labels.npy" "$digits/test_probs.npy" >"$tmp/llvm/user.out" 2>&1
expect obj-run-ok test $? -eq 0
expect obj-accuracy grep -q '^accuracy 97.22 % (350 of 360)$' "$tmp/llvm/user.out"
expect obj-matches-torch awk '/^max \|p - torch\|/ { ok = ($5 + 0 < 1e-5) } END { exit !ok }' "$tmp/llvm/user.out"
expect obj-refuses-abi grep -q '^other ABI: refused$' "$tmp/llvm/user.out"
sed 's/^/llvm: /' "$tmp/llvm/user.out" | grep -E '^llvm: (accuracy|median)'
# The .so through `lathe run` (liblathe_rt) against the interpreter: the first held-out image
# (a 7) and random inputs of three seeds, every probability within 1e-5.
python=/usr/bin/python3 # Debian's, with python3-numpy
check so-digit 0 'argmax 7$' -- "$lathe" run "$tmp/llvm/digits.so" --in input="$src/tests/cli/digit_first.npy" --out-dir "$tmp/llvm/so0"
"$lathe" run "$digits/digits.lathe" --interp --in input="$src/tests/cli/digit_first.npy" --out-dir "$tmp/llvm/in0" >/dev/null 2>&1
for seed in 1 2 3; do
  "$lathe" run "$tmp/llvm/digits.so" --seed $seed --out-dir "$tmp/llvm/so$seed" >/dev/null 2>&1
  "$lathe" run "$digits/digits.lathe" --interp --seed $seed --out-dir "$tmp/llvm/in$seed" >/dev/null 2>&1
done
expect so-matches-interp "$python" -c "
import numpy as np, sys
for k in range(4):
    a = np.load('$tmp/llvm/so%d/probs.npy' % k); b = np.load('$tmp/llvm/in%d/probs.npy' % k)
    if a.shape != (1, 10) or a.shape != b.shape or not np.all(np.abs(a - b) <= 1e-5): sys.exit(1)
"
# Every target compiles; --target=generic code runs anywhere x86-64 does.
check target-generic 0 '' -- "$lathe" compile --target=generic "$digits/digits.lathe" -o "$tmp/llvm/gen.so"
check so-generic 0 'argmax 7$' -- "$lathe" run "$tmp/llvm/gen.so" --in input="$src/tests/cli/digit_first.npy"
# --time-passes: after the passes' own lines, one line per compile phase, in order.
check time-phases 0 '^phase link +[0-9.]+ ms$' -- "$lathe" compile --time-passes "$digits/digits.lathe" -o "$tmp/llvm/timed.so"
expect time-phases-order test "$(sed -n 's/^phase \([a-z0-9-]*\) .*/\1/p' "$tmp/out" | tr '\n' ' ')" = \
  "load passes lower artifact llvm-ir llvm-o3 llvm-codegen link "
check target-v3-asm 0 '' -- "$lathe" compile --target=x86-64-v3 "$digits/digits.lathe" -o "$tmp/llvm/v3.s"
expect v3-uses-ymm grep -q '%ymm' "$tmp/llvm/v3.s"
expect only-asm test ! -e "$tmp/llvm/v3.so" -a ! -e "$tmp/llvm/v3.s.s"
check target-v4-ll 0 '' -- "$lathe" compile --target=x86-64-v4 "$digits/digits.lathe" -o "$tmp/llvm/v4.ll"
expect v4-cpu grep -q '"target-cpu"="x86-64-v4"' "$tmp/llvm/v4.ll"

# The pass flags of `lathe opt` (-O2 by default); --memory-map prints the plan.
check pass-memory-map 0 '^arena: [0-9]+ bytes, naive: [0-9]+ bytes' -- \
  "$lathe" compile --memory-map "$digits/digits.lathe" -o "$tmp/llvm/mm" --emit=nest
check pass-time 0 'fuse' -- "$lathe" compile --time-passes "$digits/digits.lathe" -o "$tmp/llvm/tp" --emit=nest
check pass-list 0 '' -- "$lathe" compile --passes=dce "$digits/digits.lathe" -o "$tmp/llvm/pl" --emit=nest
check pass-bad-level 2 '-O takes 0, 1 or 2' -- "$lathe" compile -O7 "$digits/digits.lathe" -o "$tmp/llvm/x" --emit=c
check pass-unknown 2 "unknown pass 'nosuch'" -- "$lathe" compile --passes=nosuch "$digits/digits.lathe" -o "$tmp/llvm/x" --emit=c

# The workspace is laid out from the memory plan (docs/codegen.md, placement). Digits at -O2:
# the plan's arena (2560 bytes, worked out by hand in tests/passes/e2e.sh) and nothing more,
# the fused convolutions computing straight into their results.
check plan-digits 0 '^workspace: 2560 bytes$' -- "$lathe" compile "$digits/digits.lathe" -o "$tmp/plan-digits" --emit=nest
# tests/models/residual.lathe at -O2: %x and %h (2*6*6 floats, 288 bytes, 320 rounded up) live
# together (arena 640); the residual fusion writes %y in place of %x, so its convolution %e
# cannot go there (the add still reads %x after it), and the arena has no gap at that step:
# %e takes 320 bytes above it, 960 in all.
residual=$src/tests/models/residual.lathe
check plan-residual-map 0 '^y +0 +288 +8\.\.9  in place of %x$' -- "$lathe" opt "$residual" -O2 --memory-map
check plan-residual-arena 0 '^arena: 640 bytes' -- "$lathe" opt "$residual" -O2 --memory-map
check plan-residual 0 '^workspace: 960 bytes$' -- "$lathe" compile "$residual" -o "$tmp/llvm/res.so"
check plan-residual-O0 0 '^workspace: [0-9]+ bytes$' -- "$lathe" compile -O0 "$residual" -o "$tmp/llvm/res0.so"
# tests/models/residual_wide.lathe at -O2: its stem's %x8 (8*6*6 floats, 1152 bytes) and %x
# (320) make the arena 1472; at the residual step only %h [0, 320) and %x [1152, 1472) are
# live, so %e (320) goes in the gap at 320, and the workspace is the arena.
wide=$src/tests/models/residual_wide.lathe
check plan-wide-arena 0 '^arena: 1472 bytes' -- "$lathe" opt "$wide" -O2 --memory-map
check plan-wide 0 '^workspace: 1472 bytes$' -- "$lathe" compile "$wide" -o "$tmp/llvm/wide" --emit=nest,so
expect plan-wide-gap grep -q '^  workspace e: f32\[72\] @320$' "$tmp/llvm/wide.nest"
# The tiled nests (docs/codegen.md, "Tiling"), read in the nest dump. matmul 70 x 270 by
# k 300: k in blocks of 256 (a loop kept from 256 kb to the block's end or 299), the register
# tile's 4 rows by 16 columns unrolled. conv2d on a 14 x 14 map padded by 1 with 160 input
# channels: 4 channels' weights would take 4 * 160 * 9 * 4 bytes, more than 16 KiB, so the
# channels go in blocks of 64 (the largest power of 2 within 16 KiB); the interior columns
# 1..12 form one tile of 12.
cat >"$tmp/tiles.lathe" <<'MODEL'
lathe 1
graph @tiles(%a: f32[70,300], %b: f32[300,270], %x: f32[1,160,14,14], %w: f32[8,160,3,3]) -> (%y: f32[70,270], %z: f32[1,8,14,14]) {
  %y1 = matmul(%a, %b) : f32[70,270]
  %z1 = conv2d(%x, %w) {pads = [1, 1, 1, 1]} : f32[1,8,14,14]
  return %y1, %z1
}
MODEL
check tiles-nest 0 '^workspace: 0 bytes$' -- "$lathe" compile "$tmp/tiles.lathe" -o "$tmp/tiles" --emit=nest
awk '/^kernel/ { k = $2 } /^ *for .* in \[/ { print k, $NF, $0 }' "$tmp/tiles.nest" >"$tmp/tiles.loops"
expect tiles-k-block grep -q 'matmul kept: *for [a-z0-9]* in \[([a-z0-9]* \* 256), (min(299, (([a-z0-9]* \* 256) + 255)) + 1)) kept:$' "$tmp/tiles.loops"
expect tiles-rows-unrolled grep -q 'matmul unrolled: *for [a-z0-9]* in \[0, 4) unrolled:$' "$tmp/tiles.loops"
expect tiles-cols-unrolled grep -q 'matmul unrolled: *for [a-z0-9]* in \[0, 16) unrolled:$' "$tmp/tiles.loops"
expect tiles-ci-block grep -q 'conv2d kept: *for [a-z0-9]* in \[([a-z0-9]* \* 64), (min(159, (([a-z0-9]* \* 64) + 63)) + 1)) kept:$' "$tmp/tiles.loops"
expect tiles-conv-cols grep -q 'conv2d unrolled: *for [a-z0-9]* in \[1, 13) unrolled:$' "$tmp/tiles.loops"
# Compiled (the ranges reused) against the interpreter, three seeds: residual at -O2 and -O0,
# residual_wide at -O2.
for seed in 1 2 3; do
  "$lathe" run "$tmp/llvm/res.so" --seed $seed --out-dir "$tmp/llvm/rs$seed" >/dev/null 2>&1
  "$lathe" run "$tmp/llvm/res0.so" --seed $seed --out-dir "$tmp/llvm/rz$seed" >/dev/null 2>&1
  "$lathe" run "$residual" --interp --seed $seed --out-dir "$tmp/llvm/ri$seed" >/dev/null 2>&1
  "$lathe" run "$tmp/llvm/wide.so" --seed $seed --out-dir "$tmp/llvm/ws$seed" >/dev/null 2>&1
  "$lathe" run "$wide" --interp --seed $seed --out-dir "$tmp/llvm/wi$seed" >/dev/null 2>&1
done
expect plan-residual-matches-interp "$python" -c "
import numpy as np, sys
for k in range(1, 4):
    for got, want in (('rs', 'ri'), ('rz', 'ri'), ('ws', 'wi')):
        a = np.load('$tmp/llvm/%s%d/out.npy' % (got, k)); b = np.load('$tmp/llvm/%s%d/out.npy' % (want, k))
        if a.shape != (1, 2, 1, 1) or not np.all(np.abs(a - b) <= 1e-5 + 1e-5 * np.abs(b)): sys.exit(1)
"

# --name sets the prefix (sanitized); -o m.c alone writes m.c only.
check name 0 '' -- "$lathe" compile "$digits/digits.lathe" -o "$tmp/m.c" --name=my-model.v2
expect name-sanitized grep -q '^int my_model_v2_run(const lathe_exec' "$tmp/m.c"
expect only-c test ! -e "$tmp/m.h" -a ! -e "$tmp/m.c.c"
# --weights: the blob goes to the sidecar, and the code reads it from lathe_exec.weights.
check sidecar 0 '^weights: 14976 bytes \(sidecar\)$' -- \
  "$lathe" compile -O0 "$digits/digits.lathe" -o "$tmp/side" --emit=c --weights="$tmp/side.bin"
expect sidecar-size test "$(wc -c <"$tmp/side.bin")" -eq 14976
expect sidecar-not-embedded sh -c "! grep -q lt_weights '$tmp/side.c'"

# Bad input: one clear message, exit 1 or 2, nothing written.
mkdir "$tmp/bad"
check unknown-kind 2 "unknown emit kind 'exe'" -- "$lathe" compile "$digits/digits.lathe" -o "$tmp/bad/m" --emit=c,exe
check unknown-target 2 "unknown target 'pdp11'" -- "$lathe" compile --target=pdp11 "$digits/digits.lathe" -o "$tmp/bad/m.so"
check unknown-target-c 2 "unknown target 'pdp11'" -- "$lathe" compile --target=pdp11 "$digits/digits.lathe" -o "$tmp/bad/m.c"
check so-unwritable 1 'nosuchdir' -- "$lathe" compile "$digits/digits.lathe" -o "$tmp/nosuchdir/m" --emit=c,so
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

# The LLVM backend is a module the lathe command loads only to compile (tools/backend.c): the
# executable itself does not link libLLVM, C needs no backend, and a missing module is one
# error that leaves nothing behind.
expect no-libllvm-linked sh -c "! ldd '$lathe' | grep -q libLLVM"
mkdir -p "$tmp/nb"
check c-without-backend 0 '^workspace:' -- env LATHE_LLVM_BACKEND="$tmp/nb/none.so" \
  "$lathe" compile "$digits/digits.lathe" -o "$tmp/nb/c" --emit=c
check missing-backend 1 'cannot load the LLVM backend \(liblathe_llvm.so\): .*none.so' -- \
  env LATHE_LLVM_BACKEND="$tmp/nb/none.so" "$lathe" compile "$digits/digits.lathe" -o "$tmp/nb/m.so"
expect missing-backend-nothing test "$(ls "$tmp/nb")" = "c.c"
finish

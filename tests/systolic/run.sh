#!/bin/sh
# End-to-end tests of lathe asm, disasm and sim: help and exit codes, the listing round trip,
# assembler errors with carets, programs run on DRAM bound to .npy files, malformed programs,
# and SCALE-Sim v2 compatibility on whole topologies for os, ws and is (every file in
# expected/ was written by scalesim_ref.py, an independent re-derivation of SCALE-Sim's count).
# usage: run.sh LATHE SOURCE_DIR
set -u
lathe=$1
here=$2/tests/systolic
. "$(dirname "$0")/../lib.sh"

# mknpy FILE DESCR SHAPE BYTES: writes a version 1.0 .npy file (BYTES in printf's octal escapes).
mknpy() {
  f=$1 d=$2 s=$3 bytes=$4
  dict="{'descr': '$d', 'fortran_order': False, 'shape': ($s), }"
  len=$((${#dict} + 1)); pad=$(((64 - (10 + len) % 64) % 64)); hl=$((len + pad))
  {
    printf '\223NUMPY\001\000'
    printf "\\$(printf %03o $((hl % 256)))\\$(printf %03o $((hl / 256)))"
    printf '%s%*s\n' "$dict" "$pad" ''
    printf "$bytes"
  } >"$f"
}

# ---- help and usage -----------------------------------------------------------------------------
for c in asm disasm sim; do
  check "help-$c" 0 "^usage: lathe $c" -- "$lathe" $c --help
done
check main-help-lists 0 '^  sim PROGRAM ' -- "$lathe" --help
check asm-no-output 2 'expected -o FILE.bin' -- "$lathe" asm "$here/gemm4x4.s"
check asm-no-file 2 'expected one FILE.s' -- "$lathe" asm -o "$tmp/x.bin"
check disasm-no-file 2 'expected one FILE.bin' -- "$lathe" disasm
check sim-no-program 2 'expected one PROGRAM' -- "$lathe" sim
check sim-topology-alone 2 'go together' -- "$lathe" sim --topology "$here/topologies/gemm.csv"
check sim-bad-array 2 "bad value '4by4' for --array" -- "$lathe" sim --array 4by4 "$here/gemm4x4.s"
check sim-bad-option 2 'unknown option' -- "$lathe" sim --frobnicate "$here/gemm4x4.s"
check sim-compat-alone 2 'need --topology' -- "$lathe" sim --scalesim-compat "$here/gemm4x4.s"
check sim-topology-machine 2 'from --config' -- "$lathe" sim --array 4x4 --topology "$here/topologies/gemm.csv" --config "$here/configs/ws_8x32.cfg"
check sim-bad-dram-in 2 'needs ADDR=FILE.npy' -- "$lathe" sim --dram-in 0x10 "$here/gemm4x4.s"

# ---- the listing round trip -------------------------------------------------------------------
check asm 0 '' -- "$lathe" asm "$here/gemm4x4.s" -o "$tmp/g.bin"
expect asm-size test "$(wc -c <"$tmp/g.bin")" -eq $((16 * 11))
expect asm-magic sh -c "head -c 8 '$tmp/g.bin' | grep -q LATHESYS"
check disasm 0 '^matmul in=8 acc=0 rows=6 mode=set weights=new wait=load signal=store$' -- "$lathe" disasm "$tmp/g.bin"
"$lathe" disasm "$tmp/g.bin" -o "$tmp/g.s" >/dev/null 2>&1
"$lathe" asm "$tmp/g.s" -o "$tmp/g2.bin" >/dev/null 2>&1
"$lathe" disasm "$tmp/g2.bin" >"$tmp/g2.s" 2>&1
expect round-trip-bytes cmp -s "$tmp/g.bin" "$tmp/g2.bin"
expect round-trip-text cmp -s "$tmp/g.s" "$tmp/g2.s"

# ---- assembler and file errors -------------------------------------------------------------------
printf 'halt\nloadw row=0 rows=99999 cols=4\nmatmul in=0 acc=0 rows=1 mode=sub\n' >"$tmp/bad.s"
check asm-error-range 1 "bad.s:2:18: error: '99999' is not a value of rows \(0 to 65535\)" -- "$lathe" asm "$tmp/bad.s" -o "$tmp/bad.bin"
check asm-error-caret 1 '^                   \^$' -- "$lathe" asm "$tmp/bad.s" -o "$tmp/bad.bin"
check asm-error-second 1 "bad.s:3:31: error: 'sub' is not a value of mode" -- "$lathe" asm "$tmp/bad.s" -o "$tmp/bad.bin"
expect asm-error-no-output test ! -e "$tmp/bad.bin"
check disasm-not-program 1 'no LATHESYS header' -- "$lathe" disasm "$here/gemm4x4.s"
head -c 40 "$tmp/g.bin" >"$tmp/short.bin"
check disasm-truncated 1 'length does not match' -- "$lathe" disasm "$tmp/short.bin"
{ head -c 32 "$tmp/g.bin"; printf '\037\000\000\000\000\000\000\000\000\000\000\000\000\000\000\000'; tail -c 144 "$tmp/g.bin"; } >"$tmp/op.bin"
printf 'LATHESYS\001\000\000\000\013\000\000\000' | dd of="$tmp/op.bin" bs=1 conv=notrunc 2>/dev/null
check disasm-bad-opcode 1 'instruction 1 \(byte 32\): invalid opcode \(opcode 31\)' -- "$lathe" disasm "$tmp/op.bin"
check sim-bad-opcode 1 'instruction 1: invalid opcode' -- "$lathe" sim "$tmp/op.bin"
check missing-file 1 'nosuch.bin.*No such file' -- "$lathe" disasm "$tmp/nosuch.bin"

# ---- running programs ----------------------------------------------------------------------------
# A = 1..24 (6 x 4), B = the identity: the result is A, as int32.
mknpy "$tmp/a.npy" '|i1' '6, 4' '\001\002\003\004\005\006\007\010\011\012\013\014\015\016\017\020\021\022\023\024\025\026\027\030'
mknpy "$tmp/b.npy" '|i1' '4, 4' '\001\000\000\000\000\001\000\000\000\000\001\000\000\000\000\001'
run="$lathe sim --array 4x4 --spad-kib 1 --acc-kib 1 --dram-mib 1 --latency 10 --bw 4 --dram-in 0=$tmp/a.npy --dram-in 0x100=$tmp/b.npy"
# 69 cycles, worked out by hand in tests/unit/test_systolic_sim.c.
check sim-listing 0 '^cycles: 69$' -- $run --dram-out "0x200:6x4:i32=$tmp/c.npy" "$here/gemm4x4.s"
check sim-breakdown 0 '^  weight load/shift +14 ' -- $run "$tmp/g.bin"
check sim-utilization 0 '^utilization: 8.70% \(96 useful MACs on a 4x4 array\)$' -- $run "$tmp/g.bin"
expect sim-output-values sh -c "tail -c 96 '$tmp/c.npy' | od -An -td4 -w96 | tr -s ' ' | grep -q '^ 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20 21 22 23 24$'"
check sim-out-header 0 '' -- sh -c "head -c 80 '$tmp/c.npy' | grep -q \"'descr': '<i4'.*'shape': (6, 4)\""
check sim-dram-out-bad 2 'expected ADDR:SHAPE:TYPE' -- $run --dram-out "0x200:6x4:i7=$tmp/c.npy" "$here/gemm4x4.s"
check sim-dram-in-too-big 1 'do not fit the 1048576-byte DRAM' -- $run --dram-in "1048570=$tmp/a.npy" "$here/gemm4x4.s"
# bf16 in DRAM from an f32 file and back: 1 + 2^-8 is a tie and rounds to the even 1.0.
mknpy "$tmp/f.npy" '<f4' '3,' '\000\000\200\077\000\200\200\077\000\000\100\100'
printf 'halt\n' >"$tmp/halt.s"
check sim-bf16-dram 0 '^cycles: 0$' -- "$lathe" sim --dram-in "0x40:bf16=$tmp/f.npy" --dram-out "0x40:3:bf16=$tmp/f2.npy" "$tmp/halt.s"
expect sim-bf16-values sh -c "tail -c 12 '$tmp/f2.npy' | od -An -tx1 | tr -s ' ' | grep -q '^ 00 00 80 3f 00 00 80 3f 00 00 40 40$'"
printf 'config.compute type=i8\nmatmul in=0 acc=0 rows=1 mode=set wait=load\nhalt\n' >"$tmp/under.s"
check sim-token-underflow 1 'under.s:2:1: error: instruction 1 \(matmul\): token underflow' -- "$lathe" sim "$tmp/under.s"
printf 'config.compute type=i8\n' >"$tmp/nohalt.s"
check sim-missing-halt 1 'ends without halt' -- "$lathe" sim "$tmp/nohalt.s"
printf 'matmul in=0 acc=0 rows=60000 mode=set\nmatmul in=0 acc=0 rows=60000 mode=set\nhalt\n' >"$tmp/long.s"
check sim-cycle-limit 1 'long.s:2:1: error: .*cycle limit: the run passed 100000 cycles' -- "$lathe" sim --max-cycles 100000 --spad-kib 2048 --acc-kib 8192 "$tmp/long.s"
printf 'config.load stride=4 limit=1000000\nload to=sp row=0 dram=0xfff00 rows=100 cols=16 type=i8\nhalt\n' >"$tmp/far.s"
check sim-dram-range 1 'outside the 1048576-byte DRAM' -- "$lathe" sim --dram-mib 1 "$tmp/far.s"

# ---- SCALE-Sim ---------------------------------------------------------------------------------------
check golden 0 '^0, 112283, 0, 91.68309650614964, 94.53125, 90.78000992063485,$' -- \
  "$lathe" sim --scalesim-compat --topology "$here/topologies/alexnet_part.csv" --config "$here/configs/ws_32x32.cfg"
for f in "$here"/expected/*.csv; do
  b=$(basename "$f" .csv); topo=${b%%.*}; cfg=${b#*.}
  "$lathe" sim --scalesim-compat --topology "$here/topologies/$topo.csv" --config "$here/configs/$cfg.cfg" -o "$tmp/r.csv" >/dev/null 2>&1
  expect "compat-$topo-$cfg" cmp -s "$tmp/r.csv" "$f"
done
check compat-user-note 0 'stall-free \(CALC\) counts' -- \
  "$lathe" sim --scalesim-compat --topology "$here/topologies/gemm.csv" --config "$here/configs/ws_4x4_user.cfg"
check compat-force-conv 1 'a convolution layer has 8 fields' -- \
  "$lathe" sim --scalesim-compat --conv --topology "$here/topologies/gemm.csv" --config "$here/configs/ws_8x32.cfg"
check full-model 0 'layers on a 8x32 array, function and time' -- \
  "$lathe" sim --topology "$here/topologies/mobilenet_dp.csv" --config "$here/configs/ws_8x32.cfg" -o "$tmp/full.csv"
expect full-model-rows test "$(wc -l <"$tmp/full.csv")" -eq 29
check full-model-os-note 0 "weight-stationary; the layers run as ws" -- \
  "$lathe" sim --timing-only --topology "$here/topologies/gemm.csv" --config "$here/configs/os_16x16.cfg"
check full-model-quiet 0 '^5, ' -- "$lathe" sim -q --topology "$here/topologies/gemm.csv" --config "$here/configs/is_8x32.cfg"

finish

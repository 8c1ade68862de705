#!/bin/sh
# End to end through files: every model of tests/models and examples/digits is optimized at
# -O0 and -O2 with `lathe opt -o` (checked by --verify-each as it goes), the result is loaded
# again (its new sidecar's size and SHA-256 checked) and run on the interpreter with the same
# seeded inputs as the original; every output must agree with the original's (floats within
# 1e-4 + 1e-3 |want|, compared by numpy: not lathe's own code; Debian's /usr/bin/python3 with python3-numpy).
# usage: e2e.sh LATHE SOURCE_DIR
set -u
if [ $# -ne 2 ]; then echo "usage: e2e.sh LATHE SOURCE_DIR" >&2; exit 2; fi
lathe=$1
src=$2
. "$src/tests/lib.sh"
for model in "$src"/tests/models/*.lathe "$src"/examples/digits/digits.lathe; do
  m=$(basename "$model" .lathe)
  if ! "$lathe" run "$model" --interp --seed 5 --out-dir "$tmp/$m.ref" >/dev/null 2>"$tmp/err"; then
    # outputs .npy cannot hold (bf16): the in-process comparison of --verify-each only
    check "$m -O2 (no .npy outputs: --verify-each only)" 0 "" -- "$lathe" opt "$model" -O2 --verify-each -o "$tmp/$m.O2.lathe"
    continue
  fi
  for level in 0 2; do
    out="$tmp/$m.O$level.lathe"
    check "$m -O$level opt" 0 "" -- "$lathe" opt "$model" -O$level --verify-each -o "$out"
    check "$m -O$level run" 0 "" -- "$lathe" run "$out" --interp --seed 5 --out-dir "$tmp/$m.O$level"
    check "$m -O$level agrees" 0 "" -- /usr/bin/python3 -c '
import sys, glob, os, numpy as np
ref, got = sys.argv[1], sys.argv[2]
files = sorted(glob.glob(ref + "/*.npy"))
assert files, "no outputs"
for f in files:
    a, b = np.load(os.path.join(got, os.path.basename(f))), np.load(f)
    assert a.shape == b.shape and a.dtype == b.dtype, f
    if a.dtype.kind == "f":
        with np.errstate(invalid="ignore"):
            ok = (a == b) | (np.abs(a - b) <= 1e-4 + 1e-3 * np.abs(b)) | (np.isnan(a) & np.isnan(b))
        assert np.all(ok), f
    else:
        assert np.array_equal(a, b), f
' "$tmp/$m.ref" "$tmp/$m.O$level"
  done
done

# The commands' own behaviour. The digits plan, worked out by hand from the -O2 schedule:
# workspace r1 2048 B, p1 512, r2 1024, p2 256, r3 128, g2 40 bytes (N = 4008; f, the flatten,
# is a view of p2 and has no bytes of its own); the most live at once is r1 + p1 at the
# maxpool (L = 2560), and best fit reaches it (A = 2560).
digits=$src/examples/digits/digits.lathe
check "opt --memory-map (digits)" 0 '^arena: 2560 bytes, naive: 4008 bytes, lower bound: 2560 bytes$' -- \
  "$lathe" opt "$digits" -O2 --memory-map
check "opt --help" 0 'memory-map' -- "$lathe" opt --help
check "opt unknown pass" 2 "unknown pass 'nope'" -- "$lathe" opt "$digits" --passes=fold,nope
check "opt -O3" 2 '-O takes 0, 1 or 2' -- "$lathe" opt "$digits" -O3
check "opt -O1 and --passes" 2 'either --passes or -O' -- "$lathe" opt "$digits" -O1 --passes=dce
check "opt missing file" 1 'cannot open|No such file' -- "$lathe" opt "$tmp/missing.lathe" -o "$tmp/never.lathe"
expect "opt wrote nothing on failure" test ! -e "$tmp/never.lathe" -a ! -e "$tmp/never.safetensors"
check "opt --print-after-all" 0 '^# IR after pass fuse-epilogue$' -- "$lathe" opt "$digits" --print-after-all
"$lathe" opt "$digits" -O2 --print-after=bnfold -o "$tmp/unused.lathe" 2>"$tmp/dump.lathe"
check "a dump between passes parses back" 0 '' -- "$lathe" print "$tmp/dump.lathe"
expect "the dump elides the folded weights" grep -q 'const weight("conv1_w_bn")' "$tmp/dump.lathe"
check "dot of an -O2 model" 0 'label="fused conv2d_relu"' -- "$lathe" dot "$tmp/digits.O2.lathe"
check "dot -o" 0 '' -- "$lathe" dot "$tmp/digits.O2.lathe" -o "$tmp/digits.dot"
expect "dot -o wrote a digraph with clusters" grep -q 'subgraph cluster_' "$tmp/digits.dot"
finish

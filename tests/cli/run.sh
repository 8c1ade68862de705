#!/bin/sh
# End-to-end tests of the `lathe` command as a user runs it: exit codes, help, check, print,
# run --interp with .npy inputs and outputs, safe writes and damaged sidecars; run FILE.so.
# usage: run.sh LATHE SOURCE_DIR
set -u
lathe=$1
src=$2
digits=$src/examples/digits
here=$src/tests/cli
. "$(dirname "$0")/../lib.sh"

check version 0 '^lathe [0-9]+\.[0-9]+\.[0-9]+$' -- "$lathe" --version
check help 0 '^usage: lathe <command>' -- "$lathe" --help
for c in check print run; do
  check "help-$c" 0 "^usage: lathe $c" -- "$lathe" $c --help
done
check no-args 2 '^usage: lathe' -- "$lathe"
check unknown-command 2 "unknown command 'frobnicate'" -- "$lathe" frobnicate
check check-no-file 2 'expected one FILE' -- "$lathe" check
check run-bad-seed 2 "--seed needs a number" -- "$lathe" run --interp --seed abc "$digits/digits.lathe"
check run-bad-in 2 "--in needs NAME=FILE.npy" -- "$lathe" run --interp --in foo "$digits/digits.lathe"
check missing-file 1 'nosuch.lathe.*No such file' -- "$lathe" check "$tmp/nosuch.lathe"

# check: the summary's figures, computed by hand from the architecture in examples/digits:
# parameters 8*9+8 + 4*8 + 16*8*9+16 + 32*64+32 + 10*32+10 = 3690 (4 bytes each);
# MACs 8*8*8*9 + 16*4*4*8*9 + 64*32 + 32*10 = 25408.
check check-digits 0 '^parameters: 3690 in 12 tensors, 14760 bytes$' -- "$lathe" check "$digits/digits.lathe"
check check-digits-macs 0 '^MACs: 25408$' -- "$lathe" check "$digits/digits.lathe"
check check-digits-inputs 0 '^  %input: f32\[1,1,8,8\]$' -- "$lathe" check "$digits/digits.lathe"

# run: the first held-out image is a 7 (its label in test_labels.npy).
check run-digit 0 'argmax 7$' -- "$lathe" run "$digits/digits.lathe" --interp --in input=$here/digit_first.npy --out-dir "$tmp/o"
expect run-writes-npy test -s "$tmp/o/probs.npy"
expect run-npy-magic sh -c "head -c 6 '$tmp/o/probs.npy' | od -c | grep -q 'N   U   M   P   Y'"
check run-percent-name 0 'argmax 7$' -- "$lathe" run "$digits/digits.lathe" --interp --in %input=$here/digit_first.npy
check run-wrong-shape 1 'input %input needs f32\[1,1,8,8\] but the file holds f32\[2,1,8,8\]' -- \
  "$lathe" run "$digits/digits.lathe" --interp --in input=$here/wrong_shape.npy
check run-wrong-dtype 1 'f8|float64|dtype' -- "$lathe" run "$digits/digits.lathe" --interp --in input=$here/wrong_dtype.npy
check run-unknown-input 1 'no input named %nosuch' -- "$lathe" run "$digits/digits.lathe" --interp --in nosuch=$here/digit_first.npy
"$lathe" run "$digits/digits.lathe" --interp --seed 5 >"$tmp/s5a" 2>&1
"$lathe" run "$digits/digits.lathe" --interp --seed 5 >"$tmp/s5b" 2>&1
"$lathe" run "$digits/digits.lathe" --interp --seed 6 >"$tmp/s6" 2>&1
expect seed-repeats cmp -s "$tmp/s5a" "$tmp/s5b"
# --time N: N more runs after the shown one, their median, min and max; the outputs shown are
# the first run's (the same as without --time).
check run-time-interp 0 '^time: median [0-9.]+ ms per run over 3 runs \(min [0-9.]+ ms, max [0-9.]+ ms\)$' -- \
  "$lathe" run "$digits/digits.lathe" --interp --seed 5 --time 3
"$lathe" run "$digits/digits.lathe" --interp --seed 5 --time 2 | grep -v '^time: ' >"$tmp/s5t"
expect run-time-same-outputs cmp -s "$tmp/s5a" "$tmp/s5t"
check run-time-zero 2 "--time needs a count of runs from 1 to 1000000, not '0'" -- "$lathe" run --interp --time 0 "$digits/digits.lathe"
check run-time-compare 2 'without --interp, --out-dir, --weights or --time' -- "$lathe" run --compare --time 2 "$digits/digits.lathe"
# --out-dir with a bf16 output (types.lathe's %bf2), which .npy cannot hold: one error line,
# on stderr, exit 2, and nothing written: not the f32 and f16 outputs before it, not the folder.
"$lathe" run --interp "$src/tests/models/types.lathe" --out-dir "$tmp/bf" >"$tmp/bf.out" 2>"$tmp/bf.err"
expect run-bf16-exit test $? -eq 2
printf '%s\n' "$tmp/bf/bf2.npy: error: bf16 has no NumPy dtype; convert the tensor to f32 before writing it as .npy" >"$tmp/bf.want"
expect run-bf16-one-line cmp -s "$tmp/bf.want" "$tmp/bf.err"
expect run-bf16-summaries grep -q '^  %bf2: bf16\[2,2\]$' "$tmp/bf.out"
expect run-bf16-nothing-written test ! -e "$tmp/bf"
expect seed-matters sh -c "! cmp -s '$tmp/s5a' '$tmp/s6'"

# run without --interp: compiled to a temporary .so in $TMPDIR, removed afterwards, also when
# the run fails (a wrong input) or the model cannot be compiled (f16 has no lowering).
mkdir "$tmp/rt"
check run-compiled 0 'argmax 7$' -- env TMPDIR="$tmp/rt" "$lathe" run "$digits/digits.lathe" --in input=$here/digit_first.npy --out-dir "$tmp/oc"
expect run-compiled-npy test -s "$tmp/oc/probs.npy"
check run-compiled-time 0 '^time: median [0-9.]+ ms per run over 4 runs' -- env TMPDIR="$tmp/rt" "$lathe" run "$digits/digits.lathe" --time 4
check run-compiled-wrong-shape 1 'input %input needs f32\[1,1,8,8\] but the file holds f32\[2,1,8,8\]' -- \
  env TMPDIR="$tmp/rt" "$lathe" run "$digits/digits.lathe" --in input=$here/wrong_shape.npy
cat >"$tmp/half.lathe" <<'M'
lathe 1
graph @half(%x: f16[4]) -> (%y: f16[4]) {
  %r = relu(%x) : f16[4]
  return %r
}
M
check run-compiled-no-lowering 1 'add --interp' -- env TMPDIR="$tmp/rt" "$lathe" run "$tmp/half.lathe"
check run-compiled-bad-model 1 'nosuch.lathe.*No such file' -- env TMPDIR="$tmp/rt" "$lathe" run "$tmp/nosuch.lathe"
check run-compiled-no-tmpdir 1 'cannot make a temporary file' -- env TMPDIR="$tmp/nosuchdir" "$lathe" run "$digits/digits.lathe"
expect run-compiled-cleans-up test -z "$(ls -A "$tmp/rt")"

# print: canonical output, written safely.
check print-to-file 0 '' -- "$lathe" print "$src/tests/models/types.lathe" -o "$tmp/p1.lathe"
check print-printout 0 '' -- "$lathe" print "$tmp/p1.lathe" -o "$tmp/p2.lathe"
expect print-fixed-point cmp -s "$tmp/p1.lathe" "$tmp/p2.lathe"
printf 'lathe 1\ngraph @m(%%x: f32[2]) -> (%%o: f32[2]) {\n  return %%nope\n}\n' >"$tmp/bad.lathe"
cp "$tmp/p1.lathe" "$tmp/keep.lathe"
check print-bad-input 1 'undefined value %nope' -- "$lathe" print "$tmp/bad.lathe" -o "$tmp/keep.lathe"
expect print-keeps-old-file cmp -s "$tmp/p1.lathe" "$tmp/keep.lathe"
check print-no-dir 1 'nodir' -- "$lathe" print "$src/tests/models/mlp.lathe" -o "$tmp/nodir/x.lathe"
expect print-no-partial-file sh -c "! ls '$tmp' | grep -q tmp"

# damaged sidecars are refused before use.
mkdir "$tmp/d"
cp "$digits/digits.lathe" "$digits/digits.safetensors" "$tmp/d/"
printf '\001' | dd of="$tmp/d/digits.safetensors" bs=1 seek=2000 conv=notrunc 2>/dev/null
check sidecar-altered 1 'has SHA-256 [0-9a-f]{64} but the model says' -- "$lathe" check "$tmp/d/digits.lathe"
head -c 1000 "$digits/digits.safetensors" >"$tmp/d/digits.safetensors"
check sidecar-truncated 1 'is 1000 bytes but the model says 15584' -- "$lathe" check "$tmp/d/digits.lathe"
rm "$tmp/d/digits.safetensors"
check sidecar-missing 1 'digits.safetensors.*No such file' -- "$lathe" check "$tmp/d/digits.lathe"
check sidecar-skipped 0 ': ok$' -- "$lathe" check --no-weights "$tmp/d/digits.lathe"

# run FILE.so: compiled artifacts through liblathe_rt. The fixture model (z = x * y per row,
# s = sum of z) is built here by the system compiler and sealed by tests/seal_artifact.py, which
# computes the content hash as docs/abi.md defines it, independently of the runtime's own code.
fixture=$src/tests/unit/fixtures/runtime_model.c
python=/usr/bin/python3 # Debian's, with python3-numpy (not a pyenv one on PATH)
build_so() { out=$1; shift; cc -std=gnu11 -shared -fPIC -O1 -I"$src/include" "$@" -o "$out" "$fixture"; }
cat >"$tmp/npy.py" <<'PY'
import numpy as np, sys
d = sys.argv[1]
np.save(d + "/x.npy", np.array([[1, 2, 3], [4, 5, 6]], np.float32))
np.save(d + "/y.npy", np.array([10, 20, 30], np.float32))
np.array([0.5, 0.25, 0.125, -1, -2, -4], np.float32).tofile(d + "/w.bin")
PY
"$python" "$tmp/npy.py" "$tmp"
build_so "$tmp/fx.so" && "$python" "$src/tests/seal_artifact.py" "$tmp/fx.so"
check so-run 0 '^    min 10  max 180  mean 76.6667  argmax 5$' -- \
  "$lathe" run "$tmp/fx.so" --in x="$tmp/x.npy" --in %y="$tmp/y.npy" --out-dir "$tmp/so"
check so-sum 0 '^    min 460  max 460' -- "$lathe" run "$tmp/fx.so" --in x="$tmp/x.npy" --in y="$tmp/y.npy"
expect so-writes-npy "$python" -c "import numpy as np; z = np.load('$tmp/so/z.npy'); \
assert z.dtype == np.float32 and (z == np.float32([[1, 2, 3], [4, 5, 6]]) * np.float32([10, 20, 30])).all()"
check so-random-inputs 0 '^  %z: f32\[2,3\]$' -- "$lathe" run "$tmp/fx.so" --seed 3
cp "$tmp/fx.so" "$tmp/fx.model"
check so-elf-any-name 0 'argmax 5$' -- "$lathe" run "$tmp/fx.model" --in x="$tmp/x.npy" --in y="$tmp/y.npy"
check so-with-interp 2 'compiled artifact: --interp runs .lathe models' -- "$lathe" run --interp "$tmp/fx.so"
check so-weights-for-lathe 2 '--weights is for compiled artifacts' -- "$lathe" run --interp --weights "$tmp/w.bin" "$digits/digits.lathe"
check so-wrong-shape 1 'input %x needs f32\[2,3\] but the file holds f32\[3\]' -- "$lathe" run "$tmp/fx.so" --in x="$tmp/y.npy"
check so-unknown-input 1 'no input named %q' -- "$lathe" run "$tmp/fx.so" --in q="$tmp/y.npy"
cp "$tmp/fx.so" "$tmp/altered.so"
printf '\001' | dd of="$tmp/altered.so" bs=1 seek=300 conv=notrunc 2>/dev/null
check so-altered 1 'altered.so: the content hash does not match' -- "$lathe" run "$tmp/altered.so"
head -c 2000 "$tmp/fx.so" >"$tmp/short.so"
check so-truncated 1 'short.so: truncated' -- "$lathe" run "$tmp/short.so"
check so-missing 1 'nosuch.so: cannot open: No such file' -- "$lathe" run "$tmp/nosuch.so"
build_so "$tmp/abi2.so" -DABI=2
check so-other-abi 1 'built for ABI version 2; this runtime reads version 1' -- "$lathe" run "$tmp/abi2.so"
build_so "$tmp/cpu.so" -DCPU=0x10000000000ull && "$python" "$src/tests/seal_artifact.py" "$tmp/cpu.so"
check so-other-cpu 1 'needs bit 40 \(unknown to this runtime\), which this CPU lacks' -- "$lathe" run "$tmp/cpu.so"
build_so "$tmp/nodesc.so" -DNO_DESC && "$python" "$src/tests/seal_artifact.py" "$tmp/nodesc.so"
check so-no-descriptor 1 'no symbol fx_desc' -- "$lathe" run "$tmp/nodesc.so"
sha=$("$python" -c "import hashlib; print(','.join(str(b) for b in hashlib.sha256(open('$tmp/w.bin', 'rb').read()).digest()))")
build_so "$tmp/side.so" -DSIDECAR -DWEIGHTS_SHA="$sha" && "$python" "$src/tests/seal_artifact.py" "$tmp/side.so"
check so-sidecar 0 '^    \[10.5, 40.25, 90.125, 39, 98, 176\]$' -- \
  "$lathe" run "$tmp/side.so" --weights "$tmp/w.bin" --in x="$tmp/x.npy" --in y="$tmp/y.npy"
check so-sidecar-missing 1 "model 'fx' returned status 1" -- "$lathe" run "$tmp/side.so"
printf 'abcdef' >"$tmp/w6.bin"
check so-sidecar-wrong 1 "the weights are 6 bytes but model 'fx' needs 24" -- "$lathe" run "$tmp/side.so" --weights "$tmp/w6.bin"

finish

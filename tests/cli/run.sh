#!/bin/sh
# End-to-end tests of the `lathe` command as a user runs it: exit codes, help, check, print,
# run --interp with .npy inputs and outputs, safe writes and damaged sidecars.
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
check run-needs-interp 2 'add --interp' -- "$lathe" run "$digits/digits.lathe"
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
expect seed-matters sh -c "! cmp -s '$tmp/s5a' '$tmp/s6'"

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

finish

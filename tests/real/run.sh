#!/bin/sh
# Real models against ONNX Runtime (issue 3, item 6): ResNet-18, MobileNetV2 and a 4-layer
# TransformerEncoder, exported with random weights by scripts/export_models.py (Debian's
# python3-torch; cached in DATA_DIR), each imported (`lathe import`), checked (`lathe check`)
# and run on the interpreter (`lathe run --interp`) on the model's seeded input; every output
# must be within 1e-4 * max|ref| of ONNX Runtime's (npm onnxruntime-node, installed into
# DATA_DIR/ort by install-ort.sh; ort_run.js runs it, compare.py compares).
# One line per model, then `N passed, N failed, N skipped`. A model listed in
# known_failures.txt (with its cause) is still run and counted as a failure, but only a failure
# not listed there, or a listed model that passes, makes the run fail. Exit 77 (skipped, for
# ctest) when python3-torch, node or ONNX Runtime is not available.
# usage: run.sh LATHE SOURCE_DIR DATA_DIR [MODEL...]
set -u
lathe=$1
src=$2
data=$3
shift 3
models=${*:-resnet18 mobilenet_v2 transformer}
here=$src/tests/real
python=/usr/bin/python3 # Debian's, with python3-torch and python3-torchvision
. "$here/../lib.sh"
unexpected=0

skip_all() {
  for m in $models; do skip "$m" "$1"; done
  finish
  exit 77
}

known_cause() { # prints the cause known_failures.txt gives for model $1, if any
  sed -n "s/^$1[[:space:]]\{1,\}//p" "$here/known_failures.txt"
}

# The models, exported once; exported again when the export script or torch changes.
if ! "$python" -c 'import torch, torchvision, numpy' 2>/dev/null; then
  skip_all "$python cannot import torch and torchvision (Debian packages python3-torch, python3-torchvision)"
fi
mkdir -p "$data" || exit 1
stamp=$( (sha256sum "$src/scripts/export_models.py"; "$python" -c 'import torch, torchvision; print(torch.__version__, torchvision.__version__)') | sha256sum)
if [ "$(cat "$data/export-stamp" 2>/dev/null)" != "$stamp" ]; then
  rm -f "$data"/*.onnx "$data"/*.input.npy "$data/export-stamp"
fi
missing=
for m in $models; do
  [ -f "$data/$m.onnx" ] && [ -f "$data/$m.input.npy" ] || missing="$missing $m"
done
if [ -n "$missing" ]; then
  start=$(date +%s)
  # shellcheck disable=SC2086 # one word per model
  if ! "$python" "$src/scripts/export_models.py" "$data" $missing >"$data/export.log" 2>&1; then
    echo "FAIL exporting$missing with scripts/export_models.py:"; tail -20 "$data/export.log" | sed 's/^/  | /'
    exit 1
  fi
  echo "exported$missing in $(($(date +%s) - start)) s"
fi
echo "$stamp" >"$data/export-stamp"

# The reference.
if ! sh "$here/install-ort.sh" "$data/ort" >"$tmp/install.log" 2>&1; then
  sed 's/^/  | /' "$tmp/install.log" | tail -20
  skip_all "ONNX Runtime (npm onnxruntime-node) could not be installed"
fi

# step WHAT CMD...: runs one step of a model's test, its output in $tmp/out; on failure leaves
# a one-line reason in $why.
step() {
  what=$1
  shift
  if "$@" >"$tmp/out" 2>&1; then return 0; fi
  why="$what failed: $(grep -m1 -E 'error|FAIL|Error|EXCEEDED' "$tmp/out" || head -1 "$tmp/out")"
  return 1
}

for m in $models; do
  dir=$tmp/$m
  mkdir -p "$dir"
  why=
  start=$(date +%s)
  if step import "$lathe" import "$data/$m.onnx" -o "$dir/$m.lathe" &&
     step check "$lathe" check "$dir/$m.lathe" &&
     step run "$lathe" run --interp "$dir/$m.lathe" --in "input=$data/$m.input.npy" --out-dir "$dir/lathe" &&
     step "onnx runtime" node "$here/ort_run.js" "$data/ort/node_modules" "$data/$m.onnx" "$data/$m.input.npy" "$dir/ort" &&
     step compare "$python" "$here/compare.py" "$dir/ort" "$dir/lathe"; then
    result="$(tr '\n' ';' <"$tmp/out" | sed 's/;$//; s/;/; /g') ($(($(date +%s) - start)) s)"
    cause=$(known_cause "$m")
    if [ -n "$cause" ]; then
      echo "FAIL $m: passes but known_failures.txt lists it ($cause): remove it there; $result"
      failed=$((failed + 1)) unexpected=$((unexpected + 1))
    else
      echo "PASS $m: $result"
      passed=$((passed + 1))
    fi
  else
    cause=$(known_cause "$m")
    if [ -n "$cause" ]; then
      echo "FAIL $m (known: $cause): $why"
    else
      echo "FAIL $m: $why"
      unexpected=$((unexpected + 1))
    fi
    sed 's/^/  | /' "$tmp/out" | head -20
    failed=$((failed + 1))
  fi
done
finish
[ "$unexpected" -eq 0 ]

#!/bin/sh
# Real models against ONNX Runtime (issue 3, item 6): ResNet-18, MobileNetV2 and a 4-layer
# TransformerEncoder, exported with random weights by scripts/export_models.py (Debian's
# python3-torch; cached in DATA_DIR), each imported (`lathe import`), checked (`lathe check`)
# and run on the interpreter (`lathe run --interp`) on the model's seeded input; every output
# must be within 1e-4 * max|ref| of ONNX Runtime's (npm onnxruntime-node, installed into
# DATA_DIR/ort by install-ort.sh; ort_run.js runs it, compare.py compares).
# Then each model compiled as a user compiles it (`lathe compile -O2`, a native .so; the
# compile time is printed) and run through liblathe_rt (`lathe run MODEL.so`): every output
# must be within 2e-5 * max|interpreter| of the interpreter's and within 1e-4 * max|ref| of
# ONNX Runtime's. One line per model and one per compiled model, then `N passed, N failed,
# N skipped` (the interpreter's) and `compiled: N passed, N failed, N skipped`. A model listed
# in known_failures.txt (MODEL, or MODEL:compiled for its compiled run, with the cause) is
# still run and counted as a failure, but only a failure not listed there, or a listed model
# that passes, makes the run fail. Exit 77 (skipped, for ctest) when python3-torch, node or
# ONNX Runtime is not available.
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
cpassed=0 cfailed=0 cskipped=0 # the compiled runs

# The bound of compiled against interpreted outputs, relative to max |interpreter|: the
# interpreter computes in double, compiled code in f32 (vectorized sums); tighter than the
# 1e-4 bound against ONNX Runtime.
COMPILED_RELATIVE=2e-5

# cskip NAME REASON: a compiled run that could not be made; counted, never as passed.
cskip() {
  echo "SKIP $1: $2"
  cskipped=$((cskipped + 1))
}

compiled_finish() {
  echo "compiled: $cpassed passed, $cfailed failed, $cskipped skipped"
}

skip_all() {
  for m in $models; do skip "$m" "$1"; cskip "$m:compiled" "$1"; done
  finish
  compiled_finish
  exit 77
}

known_cause() { # prints the cause known_failures.txt gives for model $1 (or MODEL:compiled), if any
  sed -n "s/^$1[[:space:]]\{1,\}//p" "$here/known_failures.txt"
}

# report NAME OK RESULT: prints and counts the result of NAME (a model, or "MODEL:compiled"),
# OK 0 when it passed; RESULT says why or what it measured. Counts into $passed/$failed, or
# $cpassed/$cfailed for a compiled run. A known failure ($why set when failed) is still a failure.
report() {
  name=$1 ok=$2 result=$3
  cause=$(known_cause "$name")
  case $name in *:compiled) var=c ;; *) var= ;; esac
  if [ "$ok" -eq 0 ] && [ -n "$cause" ]; then
    echo "FAIL $name: passes but known_failures.txt lists it ($cause): remove it there; $result"
    unexpected=$((unexpected + 1))
    eval "${var}failed=\$((${var}failed + 1))"
  elif [ "$ok" -eq 0 ]; then
    echo "PASS $name: $result"
    eval "${var}passed=\$((${var}passed + 1))"
  else
    if [ -n "$cause" ]; then echo "FAIL $name (known: $cause): $result"
    else echo "FAIL $name: $result"; unexpected=$((unexpected + 1)); fi
    sed 's/^/  | /' "$tmp/out" | head -20
    eval "${var}failed=\$((${var}failed + 1))"
  fi
}

# oneline: $tmp/out as one line ("a; b").
oneline() { tr '\n' ';' <"$tmp/out" | sed 's/;$//; s/;/; /g'; }

# The models, exported once; exported again when the export script or torch changes.
if ! "$python" -c 'import torch, torchvision, numpy' 2>/dev/null; then
  skip_all "$python cannot import torch and torchvision (Debian packages python3-torch, python3-torchvision)"
fi
mkdir -p "$data" || exit 1
stamp=$( (sha256sum <"$src/scripts/export_models.py"; "$python" -c 'import torch, torchvision; print(torch.__version__, torchvision.__version__)') | sha256sum)
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
    report "$m" 0 "$(oneline) ($(($(date +%s) - start)) s)"
  else
    report "$m" 1 "$why"
  fi
  # Compiled: needs the imported model and both references.
  if [ ! -d "$dir/lathe" ] || [ ! -d "$dir/ort" ]; then
    cskip "$m:compiled" "no interpreted or ONNX Runtime outputs to compare with"
    continue
  fi
  # GNU time (Debian package time) gives the compile's CPU time and peak memory too.
  timer=
  [ -x /usr/bin/time ] && timer="/usr/bin/time -o $dir/time -f %U,%M"
  t0=$(date +%s.%N)
  if step compile $timer "$lathe" compile -O2 "$dir/$m.lathe" -o "$dir/$m.so"; then
    ctime=$(echo "$t0 $(date +%s.%N)" | awk '{printf "%.1f", $2 - $1}')
    if [ -n "$timer" ]; then
      ctime="$ctime s ($(awk -F, '{printf "%s s of CPU, peak %.0f MB", $1, $2 / 1024}' "$dir/time"))"
    else
      ctime="$ctime s"
    fi
    if step "compiled run" "$lathe" run "$dir/$m.so" --in "input=$data/$m.input.npy" --out-dir "$dir/compiled" &&
       step "compare with the interpreter" "$python" "$here/compare.py" "$dir/lathe" "$dir/compiled" "$COMPILED_RELATIVE" &&
       vs_interp=$(oneline) &&
       step "compare with ONNX Runtime" "$python" "$here/compare.py" "$dir/ort" "$dir/compiled"; then
      report "$m:compiled" 0 "compiled in $ctime; against the interpreter $vs_interp; against ONNX Runtime $(oneline)"
      continue
    fi
  fi
  report "$m:compiled" 1 "$why"
done
finish
compiled_finish
[ "$unexpected" -eq 0 ]

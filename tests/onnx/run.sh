#!/bin/sh
# The ONNX conformance run: generates the backend node tests once into DATA_DIR (about five
# seconds; kept for later runs, regenerated when the installed onnx changes), then imports and
# runs every one of them on the interpreter and, when that passes, compiled to a native .so and
# run through liblathe_rt (tests/onnx/conformance.c --compiled; about half a minute more).
# usage: run.sh CONFORMANCE_BIN DATA_DIR [NAME_FILTER]
set -u
bin=$1
data=$2
filter=${3:-}
here=$(dirname "$0")
python=/usr/bin/python3 # Debian's, with python3-onnx and python3-numpy (not a pyenv one on PATH)

if [ ! -x "$python" ] || ! "$python" -c 'import onnx, numpy' 2>/dev/null; then
  echo "onnx conformance: $python cannot import onnx and numpy (Debian packages python3-onnx, python3-numpy)"
  exit 1
fi
version=$("$python" -c 'import onnx; print(onnx.__version__)')
stamp="$data/generated-by-onnx-$version"
if [ ! -f "$stamp" ]; then
  rm -rf "$data"
  mkdir -p "$data"
  start=$(date +%s)
  if ! "$python" "$here/generate.py" "$data" >"$data/generate.log" 2>&1; then
    echo "onnx conformance: generating the test data failed:"
    tail -20 "$data/generate.log"
    rm -rf "$data"
    exit 1
  fi
  echo "generated the ONNX $version backend test data in $(($(date +%s) - start)) s"
  touch "$stamp"
fi
exec "$bin" --known "$here/known_failures.txt" --compiled="$here/known_failures_compiled.txt" "$data/node" $filter

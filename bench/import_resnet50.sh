#!/bin/sh
# The import benchmark of issue 3: `lathe import` of ResNet-50 (about 100 MB of weights, random,
# exported by scripts/export_models.py with Debian's python3-torch and cached in DATA_DIR),
# RUNS times. Prints each run's wall time and peak resident memory (GNU time), then the
# medians, the model's size and the ratio of peak memory to it, and whether each target is met.
# Targets: under 2 s and under 2.5 times the model's size. docs/benchmarks.md has the figures.
# usage: bench/import_resnet50.sh [LATHE [DATA_DIR [RUNS]]]   (defaults: build/lathe build/bench-data 5)
set -u
src=$(cd "$(dirname "$0")/.." && pwd)
lathe=${1:-build/lathe}
data=${2:-build/bench-data}
runs=${3:-5}
. "$src/bench/lib.sh"
need_gnu_time import_resnet50.sh
export_resnet50 "$data" import_resnet50.sh
model=$data/resnet50.onnx
size=$(wc -c <"$model")
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
echo "resnet50: $runs imports, load at the start $(load)"
i=0
while [ "$i" -lt "$runs" ]; do
  i=$((i + 1))
  if ! "$gnu_time" -f '%e %M' -o "$out/time" "$lathe" import "$model" -o "$out/resnet50.lathe" >"$out/log" 2>&1; then
    echo "import_resnet50.sh: run $i failed:" >&2; cat "$out/log" >&2; exit 1
  fi
  read -r wall kb <"$out/time"
  echo "run $i: $wall s, peak $((kb / 1024)) MiB"
  echo "$wall $kb" >>"$out/runs"
done
wall=$(cut -d' ' -f1 "$out/runs" | median)
kb=$(cut -d' ' -f2 "$out/runs" | median)
awk -v w="$wall" -v kb="$kb" -v size="$size" -v runs="$runs" 'BEGIN {
  printf "resnet50.onnx: %.1f MB; import median of %d runs: %.2f s (target < 2 s: %s), peak %.1f MB = %.2fx the model (target < 2.5x: %s)\n",
         size / 1e6, runs, w, (w < 2 ? "met" : "NOT met"), kb * 1024 / 1e6, kb * 1024 / size, (kb * 1024 < 2.5 * size ? "met" : "NOT met") }'

#!/bin/sh
# The import benchmark of issue 3: `lathe import` of ResNet-50 (about 100 MB of weights, random,
# exported by scripts/export_models.py with Debian's python3-torch and cached in DATA_DIR),
# RUNS times. Prints each run's wall time and peak resident memory (GNU time), then the
# medians, the model's size and the ratio of peak memory to it. Targets: under 2 s and under
# 2.5 times the model's size.
# usage: bench/import_resnet50.sh [LATHE [DATA_DIR [RUNS]]]   (defaults: build/lathe build/bench-data 5)
set -u
src=$(cd "$(dirname "$0")/.." && pwd)
lathe=${1:-build/lathe}
data=${2:-build/bench-data}
runs=${3:-5}
time=/usr/bin/time # GNU time (Debian package time), for the peak resident set size
[ -x "$time" ] || { echo "import_resnet50.sh: needs GNU time at $time (Debian package time)" >&2; exit 1; }
mkdir -p "$data" || exit 1
model=$data/resnet50.onnx
if [ ! -f "$model" ]; then
  /usr/bin/python3 "$src/scripts/export_models.py" "$data" resnet50 >"$data/export.log" 2>&1 ||
    { echo "import_resnet50.sh: the export failed:" >&2; tail -20 "$data/export.log" >&2; exit 1; }
fi
size=$(wc -c <"$model")
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
i=0
while [ "$i" -lt "$runs" ]; do
  i=$((i + 1))
  if ! "$time" -f '%e %M' -o "$out/time" "$lathe" import "$model" -o "$out/resnet50.lathe" >"$out/log" 2>&1; then
    echo "import_resnet50.sh: run $i failed:" >&2; cat "$out/log" >&2; exit 1
  fi
  read -r wall kb <"$out/time"
  echo "run $i: $wall s, peak $((kb / 1024)) MiB"
  echo "$wall $kb" >>"$out/runs"
done
median() { sort -n | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
wall=$(cut -d' ' -f1 "$out/runs" | median)
kb=$(cut -d' ' -f2 "$out/runs" | median)
awk -v w="$wall" -v kb="$kb" -v size="$size" -v runs="$runs" 'BEGIN {
  printf "resnet50.onnx: %.1f MB; import median of %d runs: %.2f s (target < 2 s), peak %.1f MB = %.2fx the model (target < 2.5x)\n",
         size / 1e6, runs, w, kb * 1024 / 1e6, kb * 1024 / size }'

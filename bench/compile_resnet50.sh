#!/bin/sh
# The compile benchmark of issue 4: `lathe compile resnet50.lathe -o resnet50.so` (native,
# -O2, weights embedded) of ResNet-50 (about 100 MB of weights, random, exported by
# scripts/export_models.py and cached in DATA_DIR, imported once with `lathe import`), RUNS
# times, pinned to core 0 (taskset). Prints each run's wall, user + system time and peak
# resident memory (GNU time), then the medians and ranges. Then checks the last .so: `lathe
# run` on the exported input, and unless COMPARE is 0, the same input on the reference
# interpreter (`lathe run --interp`, minutes: ResNet-50 is about 4 GMAC), every output within
# 2e-5 of the largest interpreted magnitude (tests/real/compare.py, the bound the real-model
# tests use). Target: under 20 s on one core.
# usage: bench/compile_resnet50.sh [LATHE [DATA_DIR [RUNS [COMPARE]]]]
#        (defaults: build/lathe build/bench-data 3 1)
set -u
src=$(cd "$(dirname "$0")/.." && pwd)
lathe=${1:-build/lathe}
data=${2:-build/bench-data}
runs=${3:-3}
compare=${4:-1}
. "$src/bench/lib.sh"
need_gnu_time compile_resnet50.sh
[ -x "$lathe" ] || { echo "compile_resnet50.sh: no $lathe: build first (make build)" >&2; exit 1; }
export_resnet50 "$data" compile_resnet50.sh
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
"$lathe" import "$data/resnet50.onnx" -o "$out/resnet50.lathe" >"$out/log" 2>&1 ||
  { echo "compile_resnet50.sh: lathe import failed:" >&2; cat "$out/log" >&2; exit 1; }
echo "resnet50: $runs compiles, $pinned, load at the start $(load)"
i=0
while [ "$i" -lt "$runs" ]; do
  i=$((i + 1))
  if ! $pin "$gnu_time" -f '%e %U %S %M' -o "$out/time" "$lathe" compile "$out/resnet50.lathe" -o "$out/resnet50.so" \
       >"$out/log" 2>&1; then
    echo "compile_resnet50.sh: compile $i failed:" >&2; cat "$out/log" >&2; exit 1
  fi
  read -r wall user sys kb <"$out/time"
  echo "$wall $user $sys $kb" | awk -v i="$i" '{
    printf "run %d: %.2f s wall, %.2f s user + %.2f s system = %.2f s CPU, peak %d MiB\n", i, $1, $2, $3, $2 + $3, $4 / 1024 }'
  echo "$wall $user $sys $kb" | awk '{ print $1, $2 + $3, $4 }' >>"$out/runs"
done
wall=$(cut -d' ' -f1 "$out/runs" | median)
cpu=$(cut -d' ' -f2 "$out/runs" | median)
kb=$(cut -d' ' -f3 "$out/runs" | median)
echo "wall: median $wall s (runs $(cut -d' ' -f1 "$out/runs" | range)); CPU: median $cpu s (runs $(cut -d' ' -f2 "$out/runs" | range)); load at the end $(load)"
so_mb=$(wc -c <"$out/resnet50.so" | awk '{ printf "%.1f", $1 / 1e6 }')

# The .so must load and run; its outputs are compared with the interpreter's unless COMPARE=0.
if ! "$lathe" run "$out/resnet50.so" --in "input=$data/resnet50.input.npy" --out-dir "$out/compiled" >"$out/log" 2>&1; then
  echo "compile_resnet50.sh: lathe run of the .so failed:" >&2; cat "$out/log" >&2; exit 1
fi
check="the .so ($so_mb MB) runs; interpreter comparison skipped (COMPARE=0)"
if [ "$compare" != 0 ]; then
  start=$(date +%s)
  if ! "$lathe" run --interp "$out/resnet50.lathe" --in "input=$data/resnet50.input.npy" --out-dir "$out/interp" \
       >"$out/log" 2>&1; then
    echo "compile_resnet50.sh: lathe run --interp failed:" >&2; cat "$out/log" >&2; exit 1
  fi
  if ! /usr/bin/python3 "$src/tests/real/compare.py" "$out/interp" "$out/compiled" 2e-5 >"$out/log" 2>&1; then
    echo "compile_resnet50.sh: the .so does not match the interpreter:" >&2; cat "$out/log" >&2; exit 1
  fi
  check="the .so ($so_mb MB) matches the interpreter ($(head -1 "$out/log"); interpreted in $(($(date +%s) - start)) s)"
fi
echo "$check"
awk -v w="$wall" -v c="$cpu" -v kb="$kb" -v runs="$runs" -v pinned="$pinned" 'BEGIN {
  printf "resnet50 compile to .so, median of %d runs, %s: %.2f s wall, %.2f s CPU, peak %.0f MB (target < 20 s on one core: %s)\n",
         runs, pinned, w, c, kb * 1024 / 1e6, (w < 20 ? "met" : "NOT met") }'

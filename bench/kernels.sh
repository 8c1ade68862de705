#!/bin/sh
# The kernels of docs/benchmarks.md, "Kernels": matrix products and convolutions of ResNet's
# shapes, each a one-node model compiled (`lathe compile -O2`, native) and run with `lathe run
# m.so --time RUNS` pinned to core 0; prints each kernel's median and minimum ms per run and
# its GFLOP/s (2 flops per multiply-add) at the median. Run it with the lathe of two commits to
# compare them side by side.
# usage: bench/kernels.sh [LATHE [RUNS]]   (defaults: build/lathe, 20)
set -u
src=$(cd "$(dirname "$0")/.." && pwd)
lathe=${1:-$src/build/lathe}
runs=${2:-20}
. "$src/bench/lib.sh"
[ -x "$lathe" ] || { echo "kernels.sh: no $lathe: build first (make build)" >&2; exit 1; }
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
# model NAME MACS INPUT WEIGHT OP RESULT: a one-node model, its input and its constant weight.
model() {
  printf 'lathe 1\ngraph @%s(%%x: %s) -> (%%y: %s) {\n  %%w = const dense<0.01> : %s\n  %%y = %s : %s\n  return %%y\n}\n' \
    "$1" "$3" "$6" "$4" "$5" "$6" >"$out/$1.lathe"
  echo "$1 $2" >>"$out/list"
}
model mm512 134217728 'f32[512,512]' 'f32[512,512]' 'matmul(%x, %w)' 'f32[512,512]'
model mm1k 268435456 'f32[256,1024]' 'f32[1024,1024]' 'matmul(%x, %w)' 'f32[256,1024]'
model conv56 115605504 'f32[1,64,56,56]' 'f32[64,64,3,3]' 'conv2d(%x, %w) {pads = [1, 1, 1, 1]}' 'f32[1,64,56,56]'
model conv14 115605504 'f32[1,256,14,14]' 'f32[256,256,3,3]' 'conv2d(%x, %w) {pads = [1, 1, 1, 1]}' 'f32[1,256,14,14]'
model conv7 115605504 'f32[1,512,7,7]' 'f32[512,512,3,3]' 'conv2d(%x, %w) {pads = [1, 1, 1, 1]}' 'f32[1,512,7,7]'
model pw14 51380224 'f32[1,256,14,14]' 'f32[1024,256,1,1]' 'conv2d(%x, %w)' 'f32[1,1024,14,14]'
echo "kernels: $runs runs each, $pinned, $lathe, load at the start $(load)"
while read -r name macs; do
  "$lathe" compile -O2 "$out/$name.lathe" -o "$out/$name.so" >"$out/log" 2>&1 ||
    { echo "kernels.sh: lathe compile $name failed:" >&2; cat "$out/log" >&2; exit 1; }
  line=$($pin "$lathe" run "$out/$name.so" --time "$runs" | grep '^time: ') ||
    { echo "kernels.sh: lathe run $name failed" >&2; exit 1; }
  echo "$line" | awk -v n="$name" -v macs="$macs" '{ med = $3; min = $11;
    printf "%-7s median %8.3f ms, min %8.3f ms per run: %5.1f GFLOP/s\n", n, med, min, 2 * macs / med / 1e6 }'
done <"$out/list"
echo "load at the end $(load)"

#!/bin/sh
# The digits benchmark of issue 4: the bundled digits model (examples/digits) compiled to a
# shared object (`lathe compile`, native, -O2) against the reference interpreter, on one core.
# Each of RUNS runs is one run of the demo (examples/digits/digits_demo, `make demo`), which
# times every one of the 360 held-out images on the interpreter and then through liblathe_rt
# and prints the median µs per image of each: the two are measured side by side, in the same
# process, so a change of load hits both. Prints each run's figures, then the medians over the
# runs with their ranges and the ratio. Target: compiled at least 20 times the interpreter's
# speed.
# usage: bench/digits.sh [BUILD [RUNS]]   (defaults: build 7; BUILD holds lathe and the demo)
set -u
src=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-build}
runs=${2:-7}
. "$src/bench/lib.sh"
demo=$build/examples/digits/digits_demo
for f in "$build/lathe" "$demo"; do
  [ -x "$f" ] || { echo "digits.sh: no $f: build first (make build)" >&2; exit 1; }
done
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
"$build/lathe" compile "$src/examples/digits/digits.lathe" -o "$out/digits.so" >"$out/log" 2>&1 ||
  { echo "digits.sh: lathe compile failed:" >&2; cat "$out/log" >&2; exit 1; }
echo "digits: $runs runs of $demo, $pinned, load at the start $(load)"
i=0
while [ "$i" -lt "$runs" ]; do
  i=$((i + 1))
  if ! $pin "$demo" "$src/examples/digits" "$out/digits.so" >"$out/log" 2>&1; then
    echo "digits.sh: run $i failed:" >&2; cat "$out/log" >&2; exit 1
  fi
  # "interpreter: median X us per image" and "compiled (...): ...; median Y us per image, ..."
  interp=$(sed -n 's/^interpreter: median \([0-9.]*\) us per image$/\1/p' "$out/log")
  compiled=$(sed -n 's/^compiled .*; median \([0-9.]*\) us per image,.*/\1/p' "$out/log")
  accuracy=$(sed -n 's/^compiled .*: accuracy \([0-9.]* %\);.*/\1/p' "$out/log")
  [ -n "$interp" ] && [ -n "$compiled" ] ||
    { echo "digits.sh: run $i: the demo's output is not what this script reads:" >&2; cat "$out/log" >&2; exit 1; }
  awk -v i="$i" -v a="$interp" -v b="$compiled" -v acc="$accuracy" 'BEGIN {
    printf "run %d: interpreter %.2f us, compiled %.2f us per image: %.1fx (compiled accuracy %s)\n", i, a, b, a / b, acc }'
  echo "$interp $compiled" | awk '{ print $1, $2, $1 / $2 }' >>"$out/runs"
done
interp=$(cut -d' ' -f1 "$out/runs" | median)
compiled=$(cut -d' ' -f2 "$out/runs" | median)
ratio=$(cut -d' ' -f3 "$out/runs" | median)
echo "interpreter: median $interp us per image (runs $(cut -d' ' -f1 "$out/runs" | range))"
echo "compiled:    median $compiled us per image (runs $(cut -d' ' -f2 "$out/runs" | range))"
echo "ratio:       median $(printf %.1f "$ratio") (runs $(cut -d' ' -f3 "$out/runs" | range | awk '{ printf "%.1f to %.1f", $1, $3 }')), load at the end $(load)"
awk -v a="$interp" -v b="$compiled" -v r="$ratio" -v runs="$runs" -v pinned="$pinned" 'BEGIN {
  printf "digits, median of %d runs, %s: interpreter %.2f us, compiled %.2f us per image: %.1fx the interpreter (target >= 20x: %s)\n",
         runs, pinned, a, b, r, (r >= 20 ? "met" : "NOT met") }'

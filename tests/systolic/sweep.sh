#!/bin/sh
# The systolic unit's big checks, too slow for every `make test` (about a minute): ResNet-18 on
# lathe's full timing model (16x16 must finish in under 60 s; 8x32 and 128x128 are reported),
# SCALE-Sim compatibility on random topologies against scalesim_ref.py for os, ws and is on
# square and non-square arrays (needs python3), and the random-layer sweep of the generator
# against the C reference (test_systolic_gen with LATHE_SYSTOLIC_SWEEP).
# usage: sweep.sh LATHE BUILD_DIR SOURCE_DIR
set -u
lathe=$1
build=$2
here=$3/tests/systolic
. "$(dirname "$0")/../lib.sh"

# ResNet-18 on the full timing model (function and time), timed.
for cfg in ws_16x16 ws_8x32 ws_32x32; do
  start=$(date +%s.%N)
  "$lathe" sim --topology "$here/topologies/resnet18.csv" --config "$here/configs/$cfg.cfg" -o "$tmp/r18.csv" 2>"$tmp/r18.txt"
  rc=$?
  secs=$(echo "$start $(date +%s.%N)" | awk '{printf "%.1f", $2 - $1}')
  util=$(grep '^utilization' "$tmp/r18.txt")
  echo "  resnet18 $cfg: $secs s, $util"
  expect "resnet18-$cfg-runs" test "$rc" -eq 0
  [ "$cfg" = ws_16x16 ] && expect "resnet18-16x16-under-60s" awk "BEGIN { exit !($secs < 60) }"
done

# SCALE-Sim compatibility on random topologies (conv and GEMM), every dataflow and shape.
if command -v python3 >/dev/null 2>&1; then
  for seed in 1 2 3 4 5; do
    awk -v seed=$seed 'BEGIN {
      srand(seed); print "Layer name, IFMAP Height, IFMAP Width, Filter Height, Filter Width, Channels, Num Filter, Strides,"
      for (i = 0; i < 12; i++) {
        fh = 1 + int(rand() * 7); fw = 1 + int(rand() * 7); s = 1 + int(rand() * 4)
        printf "L%d%s, %d, %d, %d, %d, %d, %d, %d,\n", i, (rand() < 0.15 ? "DP" : ""), fh + int(rand() * 60), fw + int(rand() * 60),
          fh, fw, 1 + int(rand() * 300), 1 + int(rand() * 600), s
      }
    }' >"$tmp/conv.csv"
    awk -v seed=$seed 'BEGIN {
      srand(seed + 100); print "Layer, M, N, K,"
      for (i = 0; i < 12; i++) printf "G%d, %d, %d, %d,\n", i, 1 + int(rand() * 3000), 1 + int(rand() * 3000), 1 + int(rand() * 3000)
    }' >"$tmp/gemm.csv"
    for df in os ws is; do
      for shape in "7 13" "32 32" "128 8" "256 256"; do
        set -- $shape
        sed -e "s/^ArrayHeight:.*/ArrayHeight: $1/" -e "s/^ArrayWidth:.*/ArrayWidth: $2/" \
          "$here/configs/${df}_32x32.cfg" >"$tmp/c.cfg"
        for topo in conv gemm; do
          g=""; [ $topo = gemm ] && g=gemm
          python3 "$here/scalesim_ref.py" "$tmp/c.cfg" "$tmp/$topo.csv" $g >"$tmp/want.csv"
          "$lathe" sim --scalesim-compat --topology "$tmp/$topo.csv" --config "$tmp/c.cfg" >"$tmp/got.csv" 2>/dev/null
          expect "compat-random-$seed-$topo-$df-$1x$2" cmp -s "$tmp/want.csv" "$tmp/got.csv"
        done
      done
    done
  done
else
  echo "(python3 not found: the random compatibility checks were not run)"
fi

# The generator against the C reference on random layers, five array shapes.
if LATHE_SYSTOLIC_SWEEP=40 CMOCKA_MESSAGE_OUTPUT=STDOUT "$build/tests/test_systolic_gen" >"$tmp/gen.txt" 2>&1; then
  expect generator-sweep true
else
  sed 's/^/  | /' "$tmp/gen.txt" | tail -20
  expect generator-sweep false
fi

finish

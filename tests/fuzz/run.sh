#!/bin/sh
# Runs one libFuzzer target for SECONDS: the seeds (corpus/NAME) and the regression inputs
# (regressions/NAME) first, then new inputs, kept in WORK/corpus/NAME between runs. A finding
# is written to WORK/crashes/NAME/ and fails the run; add it to regressions/NAME (the replay
# tests of every build then run it) once lathe is fixed. Run by the ctest tests fuzz.run.NAME
# of build-fuzz (label fuzz: `make test` for 30 s each, `make fuzz` for FUZZ_SECONDS). It
# prints libFuzzer's `Done N runs in S second(s)`, the executions and the peak memory.
# usage: run.sh FUZZER NAME SECONDS TESTS_FUZZ_DIR WORK_DIR
set -u
fuzzer=$1 name=$2 seconds=$3 src=$4 work=$5
mkdir -p "$work/corpus/$name" "$work/crashes/$name"
dict=
[ -f "$src/$name.dict" ] && dict="-dict=$src/$name.dict"
# -rss_limit_mb: a hostile size that makes lathe allocate gigabytes is a finding too.
# -timeout: an input that takes longer than 10 s is a hang.
"$fuzzer" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 $dict \
  -artifact_prefix="$work/crashes/$name/" "$work/corpus/$name" "$src/corpus/$name" "$src/regressions/$name" \
  >"$work/$name.log" 2>&1
status=$?
grep -E '^(stat::number_of_executed_units|stat::peak_rss_mb|#[0-9]+ +DONE)|^Done ' "$work/$name.log"
if [ "$status" -ne 0 ]; then
  echo "fuzz $name: finding (exit $status); see $work/$name.log and $work/crashes/$name/"
  tail -40 "$work/$name.log"
fi
exit "$status"

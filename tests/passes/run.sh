#!/bin/sh
# Golden IR before and after passes: every NAME.lathe in tests/passes/golden (the IR before)
# names its passes on a line `# opt: FLAGS` (e.g. `# opt: --passes=fold,dce` or `# opt: -O2`);
# `lathe opt FLAGS NAME.lathe` (run from inside that folder) must print exactly NAME.out (the
# IR after, weights elided; stderr after stdout; times of --time-passes replaced by "T ms";
# then `exit: N`). --bless (re)writes the .out files instead.
# usage: run.sh [--bless] LATHE SOURCE_DIR
set -u
bless=0
if [ "${1:-}" = --bless ]; then bless=1; shift; fi
if [ $# -ne 2 ]; then echo "usage: run.sh [--bless] LATHE SOURCE_DIR" >&2; exit 2; fi
lathe=$1
case $lathe in /*) ;; *) lathe=$(pwd)/$lathe ;; esac
. "$2/tests/lib.sh"
cd "$2/tests/passes/golden" || exit 2
for f in *.lathe; do
  name=${f%.lathe}
  flags=$(sed -n 's/^# opt: //p' "$f")
  # shellcheck disable=SC2086 # the flags are words
  "$lathe" opt $flags "$f" >"$tmp/stdout" 2>"$tmp/stderr"
  rc=$?
  cat "$tmp/stdout" "$tmp/stderr" | sed 's/ [0-9.]* ms/ T ms/' >"$tmp/got"
  echo "exit: $rc" >>"$tmp/got"
  if [ $bless -eq 1 ]; then cp "$tmp/got" "$name.out"; echo "blessed $name"; continue; fi
  if [ -f "$name.out" ] && cmp -s "$tmp/got" "$name.out"; then
    expect "$name" true
  else
    expect "$name" false
    [ -f "$name.out" ] && diff "$name.out" "$tmp/got" | head -20
  fi
done
finish

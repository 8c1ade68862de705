#!/bin/sh
# Golden tests of `lathe check`, in the style of cproc's: every NAME.lathe in DIR is checked
# from inside DIR (so the paths in messages are short and stable) and what it prints is
# compared with the expected file beside it:
#   errors (default)  NAME.err: stderr, then a last line `exit: N`
#   --ok              NAME.out: stdout, then stderr (expected empty), then `exit: N`
# A file without its expected file fails. --bless (re)writes the expected files instead.
# usage: run.sh [--bless] [--ok] LATHE DIR
set -u
bless=0
mode=err
while [ $# -gt 0 ]; do
  case $1 in
  --bless) bless=1; shift ;;
  --ok) mode=out; shift ;;
  --) shift; break ;;
  -*) echo "run.sh: unknown option $1" >&2; exit 2 ;;
  *) break ;;
  esac
done
if [ $# -ne 2 ]; then
  echo "usage: run.sh [--bless] [--ok] LATHE DIR" >&2
  exit 2
fi
lathe=$1
dir=$2
case $lathe in /*) ;; *) lathe=$(pwd)/$lathe ;; esac
if [ ! -x "$lathe" ]; then echo "run.sh: $lathe is not an executable" >&2; exit 2; fi
cd "$dir" || exit 2
tmp=$(mktemp -d) || exit 2
trap 'rm -rf "$tmp"' EXIT
# A hang is a failure, not a stuck test run.
limit=
if command -v timeout >/dev/null 2>&1; then limit="timeout 20"; fi

passed=0
failed=0
skipped=0
for f in *.lathe; do
  [ -e "$f" ] || continue
  name=${f%.lathe}
  if [ "$mode" = err ]; then
    $limit "$lathe" check "$f" >/dev/null 2>"$tmp/got"
    echo "exit: $?" >>"$tmp/got"
  else
    $limit "$lathe" check "$f" >"$tmp/got" 2>"$tmp/stderr"
    rc=$?
    cat "$tmp/stderr" >>"$tmp/got"
    echo "exit: $rc" >>"$tmp/got"
  fi
  want=$name.$mode
  if [ "$bless" -eq 1 ]; then
    cp "$tmp/got" "$want"
    echo "BLESS $name"
    passed=$((passed + 1))
  elif [ ! -f "$want" ]; then
    echo "FAIL $name: no $want (write it with --bless, then read it)"
    sed 's/^/  | /' "$tmp/got"
    failed=$((failed + 1))
  elif diff -u "$want" "$tmp/got" >"$tmp/diff"; then
    echo "PASS $name"
    passed=$((passed + 1))
  else
    echo "FAIL $name"
    cat "$tmp/diff"
    failed=$((failed + 1))
  fi
done
echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]

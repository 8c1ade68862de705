# lib.sh — what the shell test runners share: a scratch folder removed on exit, pass/fail
# counters, check (exit code and output of a command), expect (a plain assertion) and finish
# (the closing line `N passed, N failed, N skipped` and the runner's exit status); skip counts
# what a runner could not test.
# Sourced by tests/*/run.sh and tests/onnx/import.sh; POSIX sh.
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
passed=0
failed=0
skipped=0

# check NAME WANT_EXIT PATTERN -- CMD...: runs CMD, expects the exit code and (when PATTERN is
# not empty) a line of stdout+stderr matching the extended regular expression PATTERN.
check() {
  name=$1 want=$2 pattern=$3
  shift 4
  "$@" >"$tmp/out" 2>&1
  got=$?
  if [ "$got" -ne "$want" ]; then
    echo "FAIL $name: exit $got, expected $want"; sed 's/^/  | /' "$tmp/out" | head -20
    failed=$((failed + 1)); return
  fi
  if [ -n "$pattern" ] && ! grep -Eq -- "$pattern" "$tmp/out"; then
    echo "FAIL $name: no line matches /$pattern/"; sed 's/^/  | /' "$tmp/out" | head -20
    failed=$((failed + 1)); return
  fi
  echo "PASS $name"
  passed=$((passed + 1))
}

# expect NAME CONDITION...: a plain assertion.
expect() {
  name=$1
  shift
  if "$@"; then echo "PASS $name"; passed=$((passed + 1)); else echo "FAIL $name"; failed=$((failed + 1)); fi
}

# skip NAME REASON: a test that could not run; counted, never as passed.
skip() {
  echo "SKIP $1: $2"
  skipped=$((skipped + 1))
}

# finish: the closing line; the runner's status is 0 only when nothing failed.
finish() {
  echo "$passed passed, $failed failed, $skipped skipped"
  [ "$failed" -eq 0 ]
}

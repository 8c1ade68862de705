# Shared by the benchmarks in bench/ (sourced, not run): the median, the pinning to one core,
# GNU time, and the export of ResNet-50. Expects $src (the checkout's root) to be set.

# Prints the median of the numbers on standard input, one a line (the mean of the middle two
# when there is an even count).
median() { sort -n | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

# Prints the smallest and largest of the numbers on standard input as "MIN to MAX".
range() { sort -n | awk 'NR == 1 { lo = $1 } { hi = $1 } END { print lo " to " hi }'; }

# The command prefix that pins a process to core 0 (util-linux taskset), or nothing when
# taskset is missing or cannot pin here; pinned says which, for the closing line.
if command -v taskset >/dev/null 2>&1 && taskset -c 0 true 2>/dev/null; then
  pin="taskset -c 0"
  pinned="pinned to core 0 (taskset)"
else
  pin=""
  pinned="NOT pinned (no taskset)"
fi

# GNU time (Debian package time), for user and system time and the peak resident set size.
gnu_time=/usr/bin/time
need_gnu_time() {
  [ -x "$gnu_time" ] || { echo "$1: needs GNU time at $gnu_time (Debian package time)" >&2; exit 1; }
}

# export_resnet50 DIR NAME: writes DIR/resnet50.onnx and DIR/resnet50.input.npy unless the
# model is there (scripts/export_models.py, Debian's python3-torch; random weights, seeded).
export_resnet50() {
  mkdir -p "$1" || exit 1
  [ -f "$1/resnet50.onnx" ] && [ -f "$1/resnet50.input.npy" ] && return 0
  /usr/bin/python3 "$src/scripts/export_models.py" "$1" resnet50 >"$1/export.log" 2>&1 ||
    { echo "$2: the export failed:" >&2; tail -20 "$1/export.log" >&2; exit 1; }
}

# The load when a benchmark starts: its figures mean little on a busy machine.
load() { uptime | sed 's/.*load average: *//'; }

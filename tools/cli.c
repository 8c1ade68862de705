/* cli.c — what every command of the `lathe` tool shares: statuses to exit codes, the
 * usage-error message with its help hint, the pass flags of `lathe opt` and `compile`, and
 * the --tolerance of `lathe opt --bisect` and `lathe run --compare`. */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "passes/pass.h"
#include "tools/commands.h"

int exit_code(IrStatus st) {
  switch (st) {
  case IR_OK: return EXIT_OK;
  case IR_ERR_USAGE: return EXIT_USAGE;
  case IR_ERR_INTERNAL: return EXIT_INTERNAL;
  default: return EXIT_INPUT;
  }
}

int usage_error(const char *cmd, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  fprintf(stderr, "lathe %s: ", cmd);
  vfprintf(stderr, fmt, ap);
  va_end(ap);
  fprintf(stderr, "\nTry 'lathe %s --help'.\n", cmd);
  return EXIT_USAGE;
}

/* ---- pass flags ------------------------------------------------------------------------------ */

const char pass_flags_help[] =
    "  -O0, -O1, -O2            optimization level: -O0 runs no pass, -O1 canonicalizes (fold,\n"
    "                           simplify, cse, bnfold, dce), -O2 also fuses and plans memory\n"
    "                           (docs/passes.md has the table)\n"
    "  --passes=A,B,...         run exactly these passes, in this order, instead of a level\n"
    "  --print-after-all        print the IR after every pass (to stderr; weights elided)\n"
    "  --print-after=PASS       print the IR after each run of pass PASS\n"
    "  --time-passes            print each pass's time and whether it changed the graph\n"
    "  --verify-each            after every pass run the verifier, then the interpreter on\n"
    "                           random inputs (seed 0), comparing the outputs with the input\n"
    "                           graph's (floats within 1e-4 + 1e-3 |want|, others exactly)\n"
    "  --memory-map             print each workspace tensor's offset, size and steps, then\n"
    "                           `arena: A bytes, naive: N bytes, lower bound: L bytes`\n";

void pass_flags_init(PassFlags *f) {
  memset(f, 0, sizeof *f);
  f->level = -1;
}

/* Checks every name of a comma-separated list of passes; reports the first unknown one. */
static bool passes_known(const char *cmd, const char *list) {
  char name[64];
  for (const char *p = list;;) {
    size_t len = strcspn(p, ",");
    if (len == 0 || len >= sizeof name) {
      usage_error(cmd, "--passes needs a comma-separated list of pass names, not '%s'", list);
      return false;
    }
    memcpy(name, p, len);
    name[len] = 0;
    if (!pass_lookup(name)) {
      usage_error(cmd, "unknown pass '%s'", name);
      return false;
    }
    if (!p[len]) return true;
    p += len + 1;
  }
}

int pass_flags_take(const char *cmd, int c, const char *arg, PassFlags *f) {
  switch (c) {
  case 'O':
    if (strlen(arg) != 1 || arg[0] < '0' || arg[0] > '2') return usage_error(cmd, "-O takes 0, 1 or 2, not '%s'", arg);
    f->level = arg[0] - '0';
    return 1;
  case PF_PASSES:
    if (!passes_known(cmd, arg)) return EXIT_USAGE;
    f->passes = arg;
    return 1;
  case PF_PRINT_AFTER:
    if (!pass_lookup(arg)) return usage_error(cmd, "unknown pass '%s'", arg);
    f->print_after = arg;
    return 1;
  case PF_PRINT_AFTER_ALL: f->print_after_all = true; return 1;
  case PF_TIME_PASSES: f->time_passes = true; return 1;
  case PF_VERIFY_EACH: f->verify_each = true; return 1;
  case PF_MEMORY_MAP: f->memory_map = true; return 1;
  default: return 0;
  }
}

IrStatus pass_flags_run(Graph *g, const PassFlags *f, int default_level, DiagSink *d) {
  const Pass *list[64];
  int n = 0;
  if (f->passes) {
    char name[64];
    for (const char *p = f->passes; n < 64;) {
      size_t len = strcspn(p, ",");
      memcpy(name, p, len);
      name[len] = 0;
      list[n++] = pass_lookup(name);
      if (!p[len]) break;
      p += len + 1;
    }
  } else {
    int count;
    const Pass *const *level = pass_level(f->level >= 0 ? f->level : default_level, &count);
    for (int i = 0; i < count; i++) list[n++] = level[i];
  }
  PipelineOpts o = {stderr, f->print_after_all, f->print_after, f->time_passes, f->verify_each, 0, f->inputs, f->tol,
                    f->bisect};
  PassCtx c = {d, false, NULL};
  IrStatus st = pass_run_pipeline(g, list, n, &o, &c);
  if (st == IR_OK && f->memory_map) {
    pass_plan_free(c.plan); /* planned again: a pass after "plan" would have made it stale */
    c.plan = NULL;
    st = pass_plan_compute(g, &c.plan, d);
    if (st == IR_OK) pass_plan_print(stdout, g, c.plan);
  }
  pass_plan_free(c.plan);
  return st;
}

/* ---- tolerances ------------------------------------------------------------------------------ */

bool tolerance_parse(const char *cmd, const char *arg, IrTolerance *tol) {
  char *end;
  double r = strtod(arg, &end), a = r / 10;
  if (end != arg && *end == ',') {
    const char *s = end + 1;
    a = strtod(s, &end);
    if (end == s) end = (char *)s - 1; /* nothing after the comma: bad */
  }
  if (end == arg || *end || !(r >= 0) || !(a >= 0) || isinf(r) || isinf(a)) {
    usage_error(cmd, "--tolerance needs RTOL or RTOL,ATOL (non-negative numbers), not '%s'", arg);
    return false;
  }
  tol->rtol = r;
  tol->atol = a;
  return true;
}

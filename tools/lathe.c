/* lathe.c — the `lathe` command: check, print and run models. Only tools/ turns statuses
 * into exit codes: 0 ok, 1 bad input, 2 usage, 70 internal error. */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "frontend/npy.h"
#include "frontend/parser.h"
#include "frontend/weights.h"
#include "ir/fs.h"
#include "ir/interp.h"
#include "ir/printer.h"
#include "ir/verify.h"
#include "lathe/runtime.h"
#include "tools/commands.h"

static const char *const main_usage =
    "usage: lathe <command> [options] FILE\n"
    "\n"
    "lathe compiles neural-network graphs written in its text IR (docs/ir.md).\n"
    "\n"
    "commands:\n"
    "  check FILE       parse and verify a model and its weights; print a summary\n"
    "  print FILE       print a model in canonical form (what the printer writes)\n"
    "  run FILE         run a model compiled, on the interpreter (--interp), or a FILE.so;\n"
    "                   --compare: the first node whose compiled result is not the interpreter's\n"
    "  import FILE      import an ONNX model: its text IR and weights (-o OUT.lathe)\n"
    "  compile FILE     compile a model to C and a header (-o BASE, --emit=c,header,nest)\n"
    "  opt FILE         run graph passes (-O0/-O1/-O2, --passes=...) and write the result;\n"
    "                   --bisect: the first pass that changes the outputs\n"
    "  dot FILE         write a Graphviz drawing of a model (fused ops as clusters)\n"
    "  asm FILE.s       assemble a systolic-unit listing into a program (-o FILE.bin)\n"
    "  disasm FILE.bin  print a systolic program's listing\n"
    "  sim PROGRAM      run a systolic program, or a SCALE-Sim topology, on the simulator\n"
    "\n"
    "options:\n"
    "  --version        print the version and exit\n"
    "  --help, -h       print this help; `lathe <command> --help` for a command's\n"
    "\n"
    "exit codes: 0 ok, 1 bad input, 2 usage, 70 internal error\n";

static const char *const check_usage =
    "usage: lathe check FILE\n"
    "\n"
    "Parses and verifies FILE (types, shapes, attributes, names), opens the weights file it\n"
    "names and checks its size, SHA-256 and every weight, then prints the inputs, outputs,\n"
    "op counts, parameters (count and bytes) and multiply-accumulates.\n"
    "\n"
    "options:\n"
    "  --no-weights     do not open the weights file\n"
    "  -h, --help       print this help\n";

static const char *const print_usage =
    "usage: lathe print FILE [-o OUT]\n"
    "\n"
    "Parses and verifies FILE and prints it in canonical form: attributes sorted, numbers in\n"
    "their shortest exact form, comments dropped. Printing the printout gives the same bytes.\n"
    "\n"
    "options:\n"
    "  -o, --output OUT write to OUT (replaced only when the whole file is written)\n"
    "  -h, --help       print this help\n";

static const char *const run_usage =
    "usage: lathe run FILE.lathe [--interp] [options]\n"
    "       lathe run FILE.so [options]\n"
    "       lathe run --compare FILE.lathe|FILE.onnx [--in NAME=FILE.npy]... [--seed N]\n"
    "                 [--tolerance=RTOL[,ATOL]]\n"
    "\n"
    "Runs the model in FILE.lathe compiled to native code (-O2, the host's CPU; a temporary\n"
    "shared object, removed afterwards) or on the reference interpreter (--interp), or the\n"
    "compiled artifact FILE.so\n"
    "(checked before it is loaded: docs/abi.md) through liblathe_rt, and prints a summary of\n"
    "each output (shape, min, max, mean, argmax and the first values).\n"
    "\n"
    "With --compare, the model is compiled at -O0 (every node kept) with every node's result\n"
    "made an output, run beside the interpreter on the same inputs, and every result compared\n"
    "in graph order: it prints `N nodes (M values) compared, all within tolerance` and exits\n"
    "0, or names the first node whose result differs beyond the tolerance (its file:line:col,\n"
    "or for FILE.onnx, imported in memory, its ONNX node name) with the largest differences\n"
    "and exits 1. docs/debugging.md has examples.\n"
    "\n"
    "options:\n"
    "  --interp             run a .lathe model on the reference interpreter\n"
    "  --in NAME=FILE.npy   read input NAME from a NumPy file (dtype and shape must match)\n"
    "  --out-dir DIR        write each output as DIR/NAME.npy (DIR is created if missing)\n"
    "  --seed N             inputs not given with --in are random, from this seed (default 0):\n"
    "                       floats uniform in [-1, 1), integers in [0, 10), bools 0 or 1\n"
    "  --weights FILE       (FILE.so) the sidecar weights of a model compiled with --weights=file\n"
    "  --compare            compare every node's compiled result with the interpreter's\n"
    "  --tolerance=R[,A]    (--compare) floats agree when |compiled - interpreted| <=\n"
    "                       A + R |interpreted| (default 1e-5,1e-6; A defaults to R/10);\n"
    "                       other dtypes must match exactly\n"
    "  --time N             after the run whose outputs are shown, run the model N more times\n"
    "                       (same inputs, same workspace) and print the median, min and max\n"
    "                       time per run: `time: median X ms per run over N runs (...)`\n"
    "  -h, --help           print this help\n"
    "\n"
    "A FILE ending in .so, or starting as an ELF file does, is run as a compiled artifact.\n";

/* ---- check ---------------------------------------------------------------------------------------- */

/* Counts ops in region r (and bodies), and sums parameters and MACs. */
static void tally(const Graph *g, const Region *r, int *counts, int64_t *params, int64_t *bytes, int *nweights,
                  int64_t *macs) {
  for (int i = 0; i < r->nnodes; i++) {
    const Node *n = &g->nodes[r->nodes[i]];
    counts[n->op]++;
    if (n->op == OP_CONST) {
      const TensorType *t = &g->values[n->outputs[0]].type;
      *params += ir_type_numel(t);
      *bytes += ir_type_bytes(t);
      *nweights += 1;
    } else if (n->body) {
      tally(g, n->body, counts, params, bytes, nweights, macs);
    } else if (ir_ops[n->op].impl->macs) {
      *macs += ir_ops[n->op].impl->macs(g, n);
    }
  }
}

/* Prints "%name: type" lines for a list of values or outputs. */
static void print_signature_line(const char *name, const TensorType *t) {
  fputs("  ", stdout);
  ir_print_name(stdout, '%', name);
  fputs(": ", stdout);
  ir_print_type(stdout, t);
  putchar('\n');
}

static int cmd_check(int argc, char **argv) {
  static const struct option opts[] = {{"help", no_argument, 0, 'h'}, {"no-weights", no_argument, 0, 'W'}, {0, 0, 0, 0}};
  bool weights = true;
  int c;
  while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
    if (c == 'h') { fputs(check_usage, stdout); return EXIT_OK; }
    if (c == 'W') weights = false;
    else return usage_error("check", "%s", "unknown option");
  }
  if (optind != argc - 1) return usage_error("check", "%s", "expected one FILE");
  const char *path = argv[optind];
  DiagSink d;
  diag_init(&d, stderr);
  Graph *g;
  IrStatus st = ir_load(&d, path, LOAD_VERIFY | (weights ? LOAD_WEIGHTS : 0), &g);
  if (st != IR_OK) { diag_free(&d); return exit_code(st); }
  printf("%s: ok\ngraph ", path);
  ir_print_name(stdout, '@', g->name);
  printf("\ninputs:\n");
  for (int i = 0; i < g->body->nparams; i++) {
    const Value *v = &g->values[g->body->params[i]];
    print_signature_line(v->name, &v->type);
  }
  printf("outputs:\n");
  for (int i = 0; i < g->body->nresults; i++) print_signature_line(g->output_names[i], &g->output_types[i]);
  int counts[OP_COUNT] = {0}, nweights = 0;
  int64_t params = 0, bytes = 0, macs = 0;
  tally(g, g->body, counts, &params, &bytes, &nweights, &macs);
  int total = 0;
  for (int op = 0; op < OP_COUNT; op++) total += counts[op];
  printf("ops: %d\n", total);
  for (int op = 0; op < OP_COUNT; op++)
    if (counts[op]) printf("  %-20s %d\n", ir_ops[op].name, counts[op]);
  printf("parameters: %lld in %d tensor%s, %lld bytes\n", (long long)params, nweights, nweights == 1 ? "" : "s",
         (long long)bytes);
  printf("MACs: %lld\n", (long long)macs);
  ir_graph_free(g);
  diag_free(&d);
  return EXIT_OK;
}

/* ---- print ---------------------------------------------------------------------------------------- */

static int cmd_print(int argc, char **argv) {
  static const struct option opts[] = {{"help", no_argument, 0, 'h'}, {"output", required_argument, 0, 'o'}, {0, 0, 0, 0}};
  const char *out = NULL;
  int c;
  while ((c = getopt_long(argc, argv, "ho:", opts, NULL)) != -1) {
    if (c == 'h') { fputs(print_usage, stdout); return EXIT_OK; }
    if (c == 'o') out = optarg;
    else return usage_error("print", "%s", "unknown option");
  }
  if (optind != argc - 1) return usage_error("print", "%s", "expected one FILE");
  DiagSink d;
  diag_init(&d, stderr);
  Graph *g;
  IrStatus st = ir_load(&d, argv[optind], LOAD_VERIFY, &g);
  if (st == IR_OK) {
    if (out) {
      char *text = ir_print_to_string(g);
      st = text ? ir_write_file(out, text, strlen(text), &d) : diag_oom(&d, loc_file(out));
      ir_free(text);
    } else {
      ir_print_graph(stdout, g);
    }
    ir_graph_free(g);
  }
  diag_free(&d);
  return exit_code(st);
}

/* ---- run ------------------------------------------------------------------------------------------ */

/* Prints one output's summary: type, min, max, mean, argmax and the first values. */
static void summarize(const char *name, const TensorType *t, void *plain) {
  const Tensor tensor = {*t, plain};
  int64_t n = ir_type_numel(t);
  print_signature_line(name, t);
  if (n == 0) return;
  double lo = INFINITY, hi = -INFINITY, sum = 0;
  int64_t arg = 0;
  for (int64_t i = 0; i < n; i++) {
    double v = op_get(&tensor, i);
    if (v > hi) { hi = v; arg = i; }
    if (v < lo) lo = v;
    sum += v;
  }
  printf("    min %.6g  max %.6g  mean %.6g  argmax %lld\n    [", lo, hi, sum / (double)n, (long long)arg);
  for (int64_t i = 0; i < n && i < 8; i++) printf("%s%.6g", i ? ", " : "", op_get(&tensor, i));
  printf("%s]\n", n > 8 ? ", ..." : "");
}

/* A file name for output `name`: characters other than [A-Za-z0-9_.-] become '_'. */
static void output_file_name(char *buf, size_t n, const char *dir, const char *name) {
  int len = snprintf(buf, n, "%s/", dir);
  for (const char *p = name; *p && (size_t)len + 5 < n; p++) {
    char ch = *p;
    bool ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') || ch == '_' ||
              ch == '-' || (ch == '.' && p != name);
    buf[len++] = ok ? ch : '_';
  }
  snprintf(buf + len, n - (size_t)len, ".npy");
}

/* What `lathe run` was asked to do, whichever way the model runs. */
typedef struct RunOpts {
  const char **ins;      /* the --in NAME=FILE.npy arguments */
  int nins;
  const char *out_dir;   /* --out-dir, or NULL */
  const char *weights;   /* --weights: a compiled model's sidecar weights, or NULL */
  uint64_t seed;         /* for inputs not given with --in */
  int timed;             /* --time: runs timed after the first */
} RunOpts;

/* Prints a summary of each output and, with --out-dir, writes it as DIR/NAME.npy. */
static IrStatus report_outputs(RunPort *outs, int nout, const RunOpts *o, DiagSink *d) {
  for (int i = 0; i < nout; i++) summarize(outs[i].name, &outs[i].type, outs[i].data);
  if (!o->out_dir) return IR_OK;
  char path[4096];
  /* an output .npy cannot hold (bf16) is refused before the folder or any file is made */
  for (int i = 0; i < nout; i++) {
    output_file_name(path, sizeof path, o->out_dir, outs[i].name);
    IrStatus st = npy_can_write(path, &outs[i].type, d);
    if (st != IR_OK) return st;
  }
  if (mkdir(o->out_dir, 0777) != 0 && errno != EEXIST) {
    diag_error(d, loc_file(o->out_dir), "cannot create the output directory: %s", strerror(errno));
    return IR_ERR_INPUT;
  }
  for (int i = 0; i < nout; i++) {
    output_file_name(path, sizeof path, o->out_dir, outs[i].name);
    Tensor tensor = {outs[i].type, outs[i].data};
    IrStatus st = npy_write(path, &tensor, d);
    if (st != IR_OK) return st;
  }
  return IR_OK;
}

/* Runs the .lathe model at path on the reference interpreter. */
static IrStatus run_interp(const char *path, const RunOpts *o, DiagSink *d) {
  Graph *g = NULL;
  IrStatus st = ir_load(d, path, LOAD_VERIFY | LOAD_WEIGHTS, &g);
  if (st != IR_OK) return st;
  int nin = g->body->nparams, nout = g->body->nresults;
  RunPort *ins = NULL, *outs = NULL;
  void **inputs = NULL, **outputs = physical_alloc(g, false);
  /* The interpreter reads and writes the physical form (layouts); the ports hold row-major. */
  st = graph_ports(g, &ins, &outs, d);
  if (st == IR_OK) st = fill_inputs(ins, nin, o->ins, o->nins, o->seed, d);
  if (st == IR_OK && (!outputs || !(inputs = physical_inputs(g, ins)))) st = diag_oom(d, loc_none());
  if (st == IR_OK) st = ir_interp_run(g, (const void *const *)inputs, outputs, d);
  double *times = st == IR_OK && o->timed > 0 ? calloc((size_t)o->timed, sizeof *times) : NULL;
  if (st == IR_OK && o->timed > 0 && !times) st = diag_oom(d, loc_none());
  for (int i = 0; st == IR_OK && i < o->timed; i++) {
    double t0 = ir_now_ms();
    st = ir_interp_run(g, (const void *const *)inputs, outputs, d);
    times[i] = ir_now_ms() - t0;
  }
  for (int i = 0; st == IR_OK && i < nout; i++)
    ir_tensor_unpack(&g->output_types[i], outputs[i], outs[i].type.dtype, outs[i].data);
  if (st == IR_OK) run_timing_print(times, o->timed);
  free(times);
  if (st == IR_OK) st = report_outputs(outs, nout, o, d);
  physical_free(inputs, nin);
  physical_free(outputs, nout);
  ports_free(ins, nin);
  ports_free(outs, nout);
  ir_graph_free(g);
  return st;
}

/* True when path names a compiled artifact: it ends in ".so" or starts as an ELF file does. */
static bool is_artifact(const char *path) {
  size_t len = strlen(path);
  if (len > 3 && strcmp(path + len - 3, ".so") == 0) return true;
  FILE *f = fopen(path, "rb");
  unsigned char magic[4] = {0};
  if (f) {
    size_t got = fread(magic, 1, sizeof magic, f);
    fclose(f);
    return got == 4 && memcmp(magic, "\177ELF", 4) == 0;
  }
  return false;
}

/* Runs a compiled artifact through liblathe_rt: checked, loaded, run once, closed. */
static IrStatus run_artifact(const char *path, const RunOpts *o, DiagSink *d) {
  lathe_model *m;
  IrStatus st = artifact_open(path, o->weights, &m, d);
  if (st != IR_OK) return st;
  int nin = lathe_model_ninputs(m), nout = lathe_model_noutputs(m);
  RunPort *ins = artifact_ports(m, true), *outs = artifact_ports(m, false);
  if (!ins || !outs) st = diag_oom(d, loc_none());
  if (st == IR_OK) st = fill_inputs(ins, nin, o->ins, o->nins, o->seed, d);
  if (st == IR_OK) st = artifact_run(m, ins, outs, o->timed, d);
  if (st == IR_OK) st = report_outputs(outs, nout, o, d);
  ports_free(ins, nin);
  ports_free(outs, nout);
  lathe_model_close(m);
  return st;
}

/* Runs a .lathe model as native code: compiled (-O2, the native target) to a temporary shared
 * object, run by run_artifact, and removed afterwards, whatever happened. Returns the tool's
 * exit code. */
static int run_compiled_model(const char *path, const RunOpts *o) {
  DiagSink d;
  diag_init(&d, stderr);
  char *so = temp_so_path(&d);
  IrStatus st = so ? compile_model_so(path, so, &d) : IR_ERR_INPUT;
  if (st == IR_OK) st = run_artifact(so, o, &d);
  else if (st == IR_ERR_INPUT && d.errors && so) fputs("lathe run: add --interp to run the model on the interpreter\n", stderr);
  if (so) remove(so);
  diag_free(&d);
  free(so);
  return exit_code(st);
}

static int cmd_run(int argc, char **argv) {
  static const struct option opts[] = {
      {"help", no_argument, 0, 'h'},          {"interp", no_argument, 0, 'I'},
      {"in", required_argument, 0, 'i'},      {"out-dir", required_argument, 0, 'O'},
      {"seed", required_argument, 0, 'S'},    {"weights", required_argument, 0, 'W'},
      {"compare", no_argument, 0, 'C'},       {"tolerance", required_argument, 0, 'T'},
      {"time", required_argument, 0, 'N'},    {0, 0, 0, 0}};
  bool interp = false, compare = false, has_tol = false;
  IrTolerance tol = compare_default_tol;
  RunOpts o = {calloc((size_t)argc + 1, sizeof(const char *)), 0, NULL, NULL, 0, 0};
  int c;
  if (!o.ins) { fputs("lathe: out of memory\n", stderr); return EXIT_INPUT; }
  while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
    char *end;
    switch (c) {
    case 'h': fputs(run_usage, stdout); free(o.ins); return EXIT_OK;
    case 'I': interp = true; break;
    case 'i':
      if (!strchr(optarg, '=')) { free(o.ins); return usage_error("run", "--in needs NAME=FILE.npy, not '%s'", optarg); }
      o.ins[o.nins++] = optarg;
      break;
    case 'O': o.out_dir = optarg; break;
    case 'W': o.weights = optarg; break;
    case 'C': compare = true; break;
    case 'T':
      has_tol = true;
      if (!tolerance_parse("run", optarg, &tol)) { free(o.ins); return EXIT_USAGE; }
      break;
    case 'N': {
      long v = strtol(optarg, &end, 10);
      if (*end || !*optarg || v < 1 || v > 1000000) {
        free(o.ins);
        return usage_error("run", "--time needs a count of runs from 1 to 1000000, not '%s'", optarg);
      }
      o.timed = (int)v;
      break;
    }
    case 'S':
      o.seed = strtoull(optarg, &end, 0);
      if (*end || !*optarg) { free(o.ins); return usage_error("run", "--seed needs a number, not '%s'", optarg); }
      break;
    default: free(o.ins); return usage_error("run", "%s", "unknown option");
    }
  }
  if (optind != argc - 1) { free(o.ins); return usage_error("run", "%s", "expected one FILE"); }
  const char *path = argv[optind];
  bool artifact = is_artifact(path);
  int code;
  if (has_tol && !compare) {
    code = usage_error("run", "%s", "--tolerance goes with --compare");
  } else if (compare && (interp || o.out_dir || o.weights || o.timed || artifact)) {
    code = usage_error("run", "%s", "--compare takes a .lathe or .onnx model, without --interp, --out-dir, --weights or --time");
  } else if (compare) {
    DiagSink d;
    diag_init(&d, stderr);
    code = exit_code(run_compare(path, o.ins, o.nins, o.seed, &tol, &d));
    diag_free(&d);
  } else if (artifact && interp) {
    code = usage_error("run", "%s is a compiled artifact: --interp runs .lathe models", path);
  } else if (!artifact && o.weights) {
    code = usage_error("run", "%s", "--weights is for compiled artifacts; a .lathe model names its own weights");
  } else if (!artifact && !interp) {
    code = run_compiled_model(path, &o);
  } else {
    DiagSink d;
    diag_init(&d, stderr);
    code = exit_code(artifact ? run_artifact(path, &o, &d) : run_interp(path, &o, &d));
    diag_free(&d);
  }
  free(o.ins);
  return code;
}

int main(int argc, char **argv) {
  if (argc < 2) { fputs(main_usage, stderr); return EXIT_USAGE; }
  const char *cmd = argv[1];
  if (!strcmp(cmd, "--version")) { printf("lathe %s\n", LATHE_VERSION); return EXIT_OK; }
  if (!strcmp(cmd, "--help") || !strcmp(cmd, "-h") || !strcmp(cmd, "help")) { fputs(main_usage, stdout); return EXIT_OK; }
  if (!strcmp(cmd, "check")) return cmd_check(argc - 1, argv + 1);
  if (!strcmp(cmd, "print")) return cmd_print(argc - 1, argv + 1);
  if (!strcmp(cmd, "run")) return cmd_run(argc - 1, argv + 1);
  if (!strcmp(cmd, "import")) return cmd_import(argc - 1, argv + 1);
  if (!strcmp(cmd, "compile")) return cmd_compile(argc - 1, argv + 1);
  if (!strcmp(cmd, "opt")) return cmd_opt(argc - 1, argv + 1);
  if (!strcmp(cmd, "dot")) return cmd_dot(argc - 1, argv + 1);
  if (!strcmp(cmd, "asm")) return cmd_asm(argc - 1, argv + 1);
  if (!strcmp(cmd, "disasm")) return cmd_disasm(argc - 1, argv + 1);
  if (!strcmp(cmd, "sim")) return cmd_sim(argc - 1, argv + 1);
  fprintf(stderr, "lathe: unknown command '%s'\n\n%s", cmd, main_usage);
  return EXIT_USAGE;
}

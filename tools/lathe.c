/* lathe.c — the `lathe` command: check, print and run models. Only tools/ turns statuses
 * into exit codes: 0 ok, 1 bad input, 2 usage, 70 internal error. */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

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
    "  run FILE         run a model compiled, on the interpreter (--interp), or a FILE.so\n"
    "  import FILE      import an ONNX model: its text IR and weights (-o OUT.lathe)\n"
    "  compile FILE     compile a model to C and a header (-o BASE, --emit=c,header,nest)\n"
    "  opt FILE         run graph passes (-O0/-O1/-O2, --passes=...) and write the result\n"
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
    "\n"
    "Runs the model in FILE.lathe compiled to native code (-O2, the host's CPU; a temporary\n"
    "shared object, removed afterwards) or on the reference interpreter (--interp), or the\n"
    "compiled artifact FILE.so\n"
    "(checked before it is loaded: docs/abi.md) through liblathe_rt, and prints a summary of\n"
    "each output (shape, min, max, mean, argmax and the first values).\n"
    "\n"
    "options:\n"
    "  --interp             run a .lathe model on the reference interpreter\n"
    "  --in NAME=FILE.npy   read input NAME from a NumPy file (dtype and shape must match)\n"
    "  --out-dir DIR        write each output as DIR/NAME.npy (DIR is created if missing)\n"
    "  --seed N             inputs not given with --in are random, from this seed (default 0):\n"
    "                       floats uniform in [-1, 1), integers in [0, 10), bools 0 or 1\n"
    "  --weights FILE       (FILE.so) the sidecar weights of a model compiled with --weights=file\n"
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
} RunOpts;

/* One input or output of the model being run: its name, its row-major type and a buffer of
 * that type (the form .npy files and compiled models use). */
typedef struct RunPort {
  const char *name;
  TensorType type;
  void *data;
} RunPort;

/* Allocates each port's buffer (zeroed); false when out of memory. */
static bool ports_alloc(RunPort *ports, int n) {
  for (int i = 0; i < n; i++) {
    ports[i].data = calloc(1, (size_t)ir_type_bytes(&ports[i].type) + 1);
    if (!ports[i].data) return false;
  }
  return true;
}

static void ports_free(RunPort *ports, int n) {
  for (int i = 0; ports && i < n; i++) free(ports[i].data);
  free(ports);
}

/* Binds one --in NAME=FILE: reads the file into the input port named NAME. */
static IrStatus bind_input(RunPort *ins, int nin, const char *spec, DiagSink *d) {
  const char *eq = strchr(spec, '=');
  if (!eq) return IR_ERR_USAGE;
  size_t len = (size_t)(eq - spec);
  if (len && spec[0] == '%') { spec++; len--; }
  for (int i = 0; i < nin; i++) {
    if (strlen(ins[i].name) != len || memcmp(ins[i].name, spec, len) != 0) continue;
    Tensor t;
    IrBuffer *buf;
    IrStatus st = npy_read(eq + 1, &t, &buf, d);
    if (st != IR_OK) return st;
    if (!ir_type_equal(&t.type, &ins[i].type)) {
      char a[256], b[256];
      diag_error(d, loc_file(eq + 1), "input %%%s needs %s but the file holds %s", ins[i].name,
                 ir_type_str(&ins[i].type, a, sizeof a), ir_type_str(&t.type, b, sizeof b));
      ir_buffer_unref(buf);
      return IR_ERR_INPUT;
    }
    memcpy(ins[i].data, t.data, (size_t)ir_type_bytes(&t.type));
    ir_buffer_unref(buf);
    return IR_OK;
  }
  diag_error(d, loc_none(), "--in %.*s: the model has no input named %%%.*s", (int)len, spec, (int)len, spec);
  return IR_ERR_INPUT;
}

/* Fills the inputs: seeded random first, then the files given (so a file replaces its input). */
static IrStatus fill_inputs(RunPort *ins, int nin, const RunOpts *o, DiagSink *d) {
  uint64_t seed = o->seed;
  for (int i = 0; i < nin; i++) ir_fill_random(&ins[i].type, ins[i].data, &seed);
  for (int k = 0; k < o->nins; k++) {
    IrStatus st = bind_input(ins, nin, o->ins[k], d);
    if (st != IR_OK) return st;
  }
  return IR_OK;
}

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
  RunPort *ins = calloc((size_t)nin + 1, sizeof *ins), *outs = calloc((size_t)nout + 1, sizeof *outs);
  void **inputs = calloc((size_t)nin + 1, sizeof *inputs), **outputs = calloc((size_t)nout + 1, sizeof *outputs);
  if (!ins || !outs || !inputs || !outputs) st = diag_oom(d, loc_none());
  /* The interpreter reads and writes the physical form (layouts); the ports hold row-major. */
  for (int i = 0; st == IR_OK && i < nin; i++) {
    const Value *v = &g->values[g->body->params[i]];
    ins[i] = (RunPort){v->name, ir_type_plain(&v->type, v->type.dtype), NULL};
    inputs[i] = calloc(1, (size_t)ir_type_bytes(&v->type) + 1);
    if (!inputs[i]) st = diag_oom(d, loc_none());
  }
  for (int i = 0; st == IR_OK && i < nout; i++) {
    const TensorType *t = &g->output_types[i];
    outs[i] = (RunPort){g->output_names[i], ir_type_plain(t, t->dtype), NULL};
    outputs[i] = calloc(1, (size_t)ir_type_bytes(t) + 1);
    if (!outputs[i]) st = diag_oom(d, loc_none());
  }
  if (st == IR_OK && (!ports_alloc(ins, nin) || !ports_alloc(outs, nout))) st = diag_oom(d, loc_none());
  if (st == IR_OK) st = fill_inputs(ins, nin, o, d);
  for (int i = 0; st == IR_OK && i < nin; i++) {
    const TensorType *t = &g->values[g->body->params[i]].type;
    ir_tensor_pack(t, ins[i].data, t->dtype, inputs[i]);
  }
  if (st == IR_OK) st = ir_interp_run(g, (const void *const *)inputs, outputs, d);
  for (int i = 0; st == IR_OK && i < nout; i++)
    ir_tensor_unpack(&g->output_types[i], outputs[i], outs[i].type.dtype, outs[i].data);
  if (st == IR_OK) st = report_outputs(outs, nout, o, d);
  for (int i = 0; inputs && i < nin; i++) free(inputs[i]);
  for (int i = 0; outputs && i < nout; i++) free(outputs[i]);
  free(inputs);
  free(outputs);
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

/* Reports a runtime error as a diagnostic (its message names the file) and returns the status
 * the tool's exit code comes from: 70 for an internal error, 1 for all else. */
static IrStatus rt_report(DiagSink *d, const lathe_error *err) {
  diag_error(d, loc_none(), "%s", err->message);
  return err->status == LATHE_ERR_INTERNAL ? IR_ERR_INTERNAL : IR_ERR_INPUT;
}

_Static_assert(LATHE_F32 == (int)DT_F32 && LATHE_BOOL == (int)DT_BOOL && LATHE_I64 == (int)DT_I64,
               "lathe_dtype numbers the dtypes as the text IR does");

/* Ports for the inputs or outputs a compiled model describes. */
static RunPort *artifact_ports(const lathe_model *m, bool inputs, int n) {
  RunPort *ports = calloc((size_t)n + 1, sizeof *ports);
  for (int i = 0; ports && i < n; i++) {
    const lathe_tensor_desc *t = inputs ? lathe_model_input(m, i) : lathe_model_output(m, i);
    ports[i].name = t->name;
    ports[i].type = (TensorType){(DType)t->dtype, t->rank, {0}, NULL, NULL};
    memcpy(ports[i].type.dims, t->dims, sizeof ports[i].type.dims);
  }
  return ports;
}

/* Runs a compiled artifact through liblathe_rt: checked, loaded, run once, closed. */
static IrStatus run_artifact(const char *path, const RunOpts *o, DiagSink *d) {
  lathe_error err;
  lathe_model *m;
  if (lathe_model_open(path, &m, &err) != LATHE_OK) return rt_report(d, &err);
  IrStatus st = IR_OK;
  if (o->weights && lathe_model_load_weights(m, o->weights, &err) != LATHE_OK) st = rt_report(d, &err);
  int nin = lathe_model_ninputs(m), nout = lathe_model_noutputs(m);
  RunPort *ins = artifact_ports(m, true, nin), *outs = artifact_ports(m, false, nout);
  const void **inputs = calloc((size_t)nin + 1, sizeof *inputs);
  void **outputs = calloc((size_t)nout + 1, sizeof *outputs);
  size_t *in_sizes = calloc((size_t)nin + 1, sizeof *in_sizes), *out_sizes = calloc((size_t)nout + 1, sizeof *out_sizes);
  void *ws = lathe_model_alloc_workspace(m, &err);
  if (st == IR_OK && !ws) st = rt_report(d, &err);
  if (st == IR_OK && (!ins || !outs || !inputs || !outputs || !in_sizes || !out_sizes || !ports_alloc(ins, nin) ||
                      !ports_alloc(outs, nout)))
    st = diag_oom(d, loc_none());
  if (st == IR_OK) st = fill_inputs(ins, nin, o, d);
  for (int i = 0; st == IR_OK && i < nin; i++) {
    inputs[i] = ins[i].data;
    in_sizes[i] = lathe_model_input(m, i)->size;
  }
  for (int i = 0; st == IR_OK && i < nout; i++) {
    outputs[i] = outs[i].data;
    out_sizes[i] = lathe_model_output(m, i)->size;
  }
  if (st == IR_OK && lathe_model_run(m, NULL, inputs, in_sizes, outputs, out_sizes, ws, &err) != LATHE_OK)
    st = rt_report(d, &err);
  if (st == IR_OK) st = report_outputs(outs, nout, o, d);
  lathe_model_free_workspace(ws);
  free(inputs);
  free(outputs);
  free(in_sizes);
  free(out_sizes);
  ports_free(ins, nin);
  ports_free(outs, nout);
  lathe_model_close(m);
  return st;
}

/* Runs a .lathe model as native code: compiled (-O2, the native target) to a temporary shared
 * object in $TMPDIR (or /tmp), run by run_artifact, and removed afterwards, whatever happened.
 * Returns the tool's exit code. */
static int run_compiled_model(const char *path, const RunOpts *o) {
  const char *dir = getenv("TMPDIR");
  if (!dir || !*dir) dir = "/tmp";
  size_t n = strlen(dir) + 32;
  char *so = malloc(n);
  if (!so) { fputs("lathe: out of memory\n", stderr); return EXIT_INPUT; }
  snprintf(so, n, "%s/lathe-run-XXXXXX.so", dir);
  int fd = mkstemps(so, 3); /* reserves the name; the compiler renames its file over it */
  if (fd < 0) {
    fprintf(stderr, "lathe run: cannot make a temporary file in %s: %s\n", dir, strerror(errno));
    free(so);
    return EXIT_INPUT;
  }
  close(fd);
  DiagSink d;
  diag_init(&d, stderr);
  IrStatus st = compile_model_so(path, so, &d);
  if (st == IR_OK) st = run_artifact(so, o, &d);
  else if (st == IR_ERR_INPUT && d.errors) fputs("lathe run: add --interp to run the model on the interpreter\n", stderr);
  remove(so);
  diag_free(&d);
  free(so);
  return exit_code(st);
}

static int cmd_run(int argc, char **argv) {
  static const struct option opts[] = {
      {"help", no_argument, 0, 'h'},          {"interp", no_argument, 0, 'I'},
      {"in", required_argument, 0, 'i'},      {"out-dir", required_argument, 0, 'O'},
      {"seed", required_argument, 0, 'S'},    {"weights", required_argument, 0, 'W'},
      {0, 0, 0, 0}};
  bool interp = false;
  RunOpts o = {calloc((size_t)argc + 1, sizeof(const char *)), 0, NULL, NULL, 0};
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
  if (artifact && interp) {
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

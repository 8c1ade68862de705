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
#include "tools/commands.h"

static const char *const main_usage =
    "usage: lathe <command> [options] FILE\n"
    "\n"
    "lathe compiles neural-network graphs written in its text IR (docs/ir.md).\n"
    "\n"
    "commands:\n"
    "  check FILE       parse and verify a model and its weights; print a summary\n"
    "  print FILE       print a model in canonical form (what the printer writes)\n"
    "  run FILE         run a model on the reference interpreter (--interp)\n"
    "  import FILE      import an ONNX model: its text IR and weights (-o OUT.lathe)\n"
    "  compile FILE     compile a model to C and a header (-o BASE, --emit=c,header,nest)\n"
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
    "usage: lathe run FILE --interp [--in NAME=FILE.npy]... [--out-dir DIR] [--seed N]\n"
    "\n"
    "Runs the model in FILE on the reference interpreter and prints a summary of each output\n"
    "(shape, min, max, mean, argmax and the first values).\n"
    "\n"
    "options:\n"
    "  --interp             run on the reference interpreter (this version runs nothing else)\n"
    "  --in NAME=FILE.npy   read input NAME from a NumPy file (dtype and shape must match)\n"
    "  --out-dir DIR        write each output as DIR/NAME.npy (DIR is created if missing)\n"
    "  --seed N             inputs not given with --in are random, from this seed (default 0):\n"
    "                       floats uniform in [-1, 1), integers in [0, 10), bools 0 or 1\n"
    "  -h, --help           print this help\n";

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

/* splitmix64: a small, well-known generator; the same seed gives the same inputs everywhere. */
static uint64_t rng_next(uint64_t *s) {
  uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

/* Fills plain data of type t with seeded random values. */
static void fill_random(const TensorType *t, void *data, uint64_t *seed) {
  int64_t n = ir_type_numel(t);
  for (int64_t i = 0; i < n; i++) {
    uint64_t r = rng_next(seed);
    double u = (double)(r >> 11) / 9007199254740992.0; /* [0, 1) */
    switch (t->dtype) {
    case DT_F32: ((float *)data)[i] = (float)(2 * u - 1); break;
    case DT_F16: ((uint16_t *)data)[i] = ir_f32_to_f16((float)(2 * u - 1)); break;
    case DT_BF16: ((uint16_t *)data)[i] = ir_f32_to_bf16((float)(2 * u - 1)); break;
    case DT_I8: ((int8_t *)data)[i] = (int8_t)(r % 10); break;
    case DT_U8: ((uint8_t *)data)[i] = (uint8_t)(r % 10); break;
    case DT_I32: ((int32_t *)data)[i] = (int32_t)(r % 10); break;
    case DT_I64: ((int64_t *)data)[i] = (int64_t)(r % 10); break;
    case DT_BOOL: ((uint8_t *)data)[i] = (uint8_t)(r & 1); break;
    default: break;
    }
  }
}

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

/* Binds one --in NAME=FILE: reads the file into inputs[i] (physical form). */
static IrStatus bind_input(const Graph *g, const char *spec, void **inputs, DiagSink *d) {
  const char *eq = strchr(spec, '=');
  if (!eq) return IR_ERR_USAGE;
  size_t len = (size_t)(eq - spec);
  if (len && spec[0] == '%') { spec++; len--; }
  for (int i = 0; i < g->body->nparams; i++) {
    const Value *v = &g->values[g->body->params[i]];
    if (strlen(v->name) != len || memcmp(v->name, spec, len) != 0) continue;
    Tensor t;
    IrBuffer *buf;
    IrStatus st = npy_read(eq + 1, &t, &buf, d);
    if (st != IR_OK) return st;
    TensorType want = ir_type_plain(&v->type, v->type.dtype);
    if (!ir_type_equal(&t.type, &want)) {
      char a[256], b[256];
      diag_error(d, loc_file(eq + 1), "input %%%s needs %s but the file holds %s", v->name,
                 ir_type_str(&want, a, sizeof a), ir_type_str(&t.type, b, sizeof b));
      ir_buffer_unref(buf);
      return IR_ERR_INPUT;
    }
    ir_tensor_pack(&v->type, t.data, t.type.dtype, inputs[i]);
    ir_buffer_unref(buf);
    return IR_OK;
  }
  diag_error(d, loc_none(), "--in %.*s: the model has no input named %%%.*s", (int)len, spec, (int)len, spec);
  return IR_ERR_INPUT;
}

static int cmd_run(int argc, char **argv) {
  static const struct option opts[] = {
      {"help", no_argument, 0, 'h'},          {"interp", no_argument, 0, 'I'},
      {"in", required_argument, 0, 'i'},      {"out-dir", required_argument, 0, 'O'},
      {"seed", required_argument, 0, 'S'},    {0, 0, 0, 0}};
  bool interp = false;
  const char *out_dir = NULL;
  uint64_t seed = 0;
  const char **ins = calloc((size_t)argc + 1, sizeof *ins);
  int nins = 0, c;
  if (!ins) { fputs("lathe: out of memory\n", stderr); return EXIT_INPUT; }
  while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
    char *end;
    switch (c) {
    case 'h': fputs(run_usage, stdout); free(ins); return EXIT_OK;
    case 'I': interp = true; break;
    case 'i':
      if (!strchr(optarg, '=')) { free(ins); return usage_error("run", "--in needs NAME=FILE.npy, not '%s'", optarg); }
      ins[nins++] = optarg;
      break;
    case 'O': out_dir = optarg; break;
    case 'S':
      seed = strtoull(optarg, &end, 0);
      if (*end || !*optarg) { free(ins); return usage_error("run", "--seed needs a number, not '%s'", optarg); }
      break;
    default: free(ins); return usage_error("run", "%s", "unknown option");
    }
  }
  if (optind != argc - 1) { free(ins); return usage_error("run", "%s", "expected one FILE"); }
  if (!interp) {
    free(ins);
    return usage_error("run", "%s", "this version runs models only on the interpreter: add --interp");
  }
  DiagSink d;
  diag_init(&d, stderr);
  Graph *g = NULL;
  IrStatus st = ir_load(&d, argv[optind], LOAD_VERIFY | LOAD_WEIGHTS, &g);
  int nin = g ? g->body->nparams : 0, nout = g ? g->body->nresults : 0;
  void **inputs = calloc((size_t)nin + 1, sizeof *inputs), **outputs = calloc((size_t)nout + 1, sizeof *outputs);
  if (st == IR_OK && (!inputs || !outputs)) st = diag_oom(&d, loc_none());
  /* Inputs: seeded random first, then the files given (so a file replaces its input). */
  for (int i = 0; st == IR_OK && i < nin; i++) {
    const TensorType *t = &g->values[g->body->params[i]].type;
    TensorType plain = ir_type_plain(t, t->dtype);
    void *tmp = malloc((size_t)ir_type_bytes(&plain) + 1);
    inputs[i] = calloc(1, (size_t)ir_type_bytes(t) + 1);
    if (!tmp || !inputs[i]) { free(tmp); st = diag_oom(&d, loc_none()); break; }
    fill_random(&plain, tmp, &seed);
    ir_tensor_pack(t, tmp, plain.dtype, inputs[i]);
    free(tmp);
  }
  for (int k = 0; st == IR_OK && k < nins; k++) st = bind_input(g, ins[k], inputs, &d);
  for (int i = 0; st == IR_OK && i < nout; i++) {
    outputs[i] = calloc(1, (size_t)ir_type_bytes(&g->output_types[i]) + 1);
    if (!outputs[i]) st = diag_oom(&d, loc_none());
  }
  if (st == IR_OK) st = ir_interp_run(g, (const void *const *)inputs, outputs, &d);
  if (st == IR_OK && out_dir && mkdir(out_dir, 0777) != 0 && errno != EEXIST) {
    diag_error(&d, loc_file(out_dir), "cannot create the output directory: %s", strerror(errno));
    st = IR_ERR_INPUT;
  }
  for (int i = 0; st == IR_OK && i < nout; i++) {
    const TensorType *t = &g->output_types[i];
    TensorType plain = ir_type_plain(t, t->dtype);
    void *tmp = malloc((size_t)ir_type_bytes(&plain) + 1);
    if (!tmp) { st = diag_oom(&d, loc_none()); break; }
    ir_tensor_unpack(t, outputs[i], plain.dtype, tmp);
    summarize(g->output_names[i], &plain, tmp);
    if (out_dir) {
      char path[4096];
      output_file_name(path, sizeof path, out_dir, g->output_names[i]);
      Tensor tensor = {plain, tmp};
      st = npy_write(path, &tensor, &d);
    }
    free(tmp);
  }
  for (int i = 0; inputs && i < nin; i++) free(inputs[i]);
  for (int i = 0; outputs && i < nout; i++) free(outputs[i]);
  free(inputs);
  free(outputs);
  free(ins);
  ir_graph_free(g);
  diag_free(&d);
  return exit_code(st);
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
  if (!strcmp(cmd, "asm")) return cmd_asm(argc - 1, argv + 1);
  if (!strcmp(cmd, "disasm")) return cmd_disasm(argc - 1, argv + 1);
  if (!strcmp(cmd, "sim")) return cmd_sim(argc - 1, argv + 1);
  fprintf(stderr, "lathe: unknown command '%s'\n\n%s", cmd, main_usage);
  return EXIT_USAGE;
}

/* conformance.c — the ONNX backend node tests, run on lathe. Each test folder holds
 * model.onnx and test_data_set_N folders with input_N.pb and output_N.pb (serialized TensorProtos).
 * The model is imported (frontend/onnx), run on the reference interpreter with each data
 * set's inputs, then optimized with the -O2 passes and run again (a failure there says
 * "after -O2"), and each output compared with the expected one: floats within
 * |got - want| <= ATOL + RTOL * |want| (NaN matches NaN), other types exactly.
 *
 * With --compiled, every test that passes on the interpreter is also compiled as `lathe compile`
 * compiles (the -O2 graph lowered, cg_llvm_compile for the native target, a .so linked by
 * ld.lld-16), opened with liblathe_rt and run on every data set through lathe_model_run, its
 * outputs compared with the expected ones within the same tolerances. A graph the compiled
 * backends refuse (an op without a lowering, f16/bf16, a construct the LLVM backend cannot
 * compile yet) is skipped in compiled mode, its reason counted.
 *
 * Each test runs in a child process, so a crash or a hang (TEST_TIMEOUT_S) is one failed test,
 * not the end of the run. One line per test:
 *   pass NAME
 *   fail NAME: reason          (imports, but runs wrongly, crashes or fails to import for a
 *                               reason other than something lathe does not support)
 *   unsupported NAME: reason   (lathe cannot import it: op, type, opset, ...; skipped)
 * and, with --compiled, after each passing test one more:
 *   compiled pass NAME | compiled fail NAME: reason | compiled skip NAME: reason
 * The closing line is "N passed, N failed, N skipped"; with --compiled it is followed by
 * "compiled: N passed, N failed, N skipped" and one line per reason for skipping. The exit
 * status is 1 when any test failed (in either mode) that is not a known failure.
 *
 * Inputs that a model needs constant (a Reshape's shape, a Slice's starts, ... fed as graph
 * inputs by the test) are frozen to the test's values and the model imported again: lathe
 * has static shapes, and the test then checks the op's numbers with exactly the operands the
 * test gives. Such a pass says so ("pass NAME (frozen: shape)").
 *
 * Known failures (tests/onnx/known_failures.txt, given with --known): a failing test listed
 * there is still printed and counted as failed, but does not make the exit status 1; a listed
 * test that passes does (the list must be kept true).
 *
 * Known failures in compiled mode are listed apart (--compiled=FILE, the same form).
 *
 * usage: onnx_conformance [--known FILE] [--compiled[=KNOWN_FILE]] DIR [FILTER]
 *        (FILTER: only tests whose name has it) */
#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "codegen/artifact.h"
#include "codegen/llvm/nest.h"
#include "codegen/lower.h"
#include "frontend/onnx/onnx.h"
#include "ir/interp.h"
#include "ir/op.h"
#include "lathe/runtime.h"
#include "passes/pass.h"

#define RTOL 1e-3
#define ATOL 1e-5
enum { TEST_TIMEOUT_S = 120, MAX_TENSORS = 64, REASON = 1024 };
enum { RESULT_PASS = 0, RESULT_FAIL = 1, RESULT_UNSUPPORTED = 2 };

/* The tensors of one test_data_set: inputs or outputs, in file order. */
typedef struct TensorSet {
  int count;                       /* tensors read */
  Tensor t[MAX_TENSORS];           /* each tensor (data inside buf[i]) */
  IrBuffer *buf[MAX_TENSORS];      /* their data */
  char *name[MAX_TENSORS];         /* their names (empty when the file has none) */
} TensorSet;

/* Frees the tensors of s. */
static void set_free(TensorSet *s) {
  for (int i = 0; i < s->count; i++) {
    ir_buffer_unref(s->buf[i]);
    ir_free(s->name[i]);
  }
  s->count = 0;
}

/* Reads dir/PREFIX_0.pb, dir/PREFIX_1.pb, ... until one is missing; false (why filled) on a
 * file that cannot be read. */
static bool set_read(const char *dir, const char *prefix, TensorSet *s, char *why, size_t n) {
  s->count = 0;
  for (int i = 0; i < MAX_TENSORS; i++) {
    char path[4096];
    snprintf(path, sizeof path, "%s/%s_%d.pb", dir, prefix, i);
    if (access(path, F_OK) != 0) return true;
    DiagSink d;
    diag_init(&d, NULL);
    /* UINT16 holds BFLOAT16 bits in onnx 1.12's data (numpy has float16 but no bfloat16) */
    IrStatus st = onnx_read_tensor_file_bits16(path, DT_BF16, &s->t[i], &s->buf[i], &s->name[i], &d);
    diag_free(&d);
    if (st != IR_OK) {
      snprintf(why, n, "cannot read %s_%d.pb (an element type or form lathe does not read)", prefix, i);
      return false;
    }
    s->count = i + 1;
  }
  return true;
}

/* Text of a tensor type for messages. */
static const char *type_text(const TensorType *t, char *buf, size_t n) {
  char shape[OP_SHAPE_BUF];
  snprintf(buf, n, "%s%s", ir_dtype_name(t->dtype), op_shape_str(t, shape, sizeof shape));
  return buf;
}

/* Compares output `which` of the run with the expected tensor; false with why filled. */
static bool compare(int which, const Tensor *got, const Tensor *want, char *why, size_t n) {
  char a[256], b[256];
  TensorType gt = got->type;
  if (gt.dtype != want->type.dtype || gt.rank != want->type.rank ||
      memcmp(gt.dims, want->type.dims, sizeof(int64_t) * (size_t)gt.rank) != 0) {
    snprintf(why, n, "output %d is %s but the test expects %s", which, type_text(&gt, a, sizeof a),
             type_text(&want->type, b, sizeof b));
    return false;
  }
  int64_t numel = ir_type_numel(&gt), bad = 0, first = -1;
  double worst = 0;
  bool is_float = ir_dtype_is_float(gt.dtype);
  for (int64_t i = 0; i < numel; i++) {
    bool ok;
    if (is_float) {
      double g = op_get(got, i), w = op_get(want, i);
      ok = (g != g && w != w) || g == w || fabs(g - w) <= ATOL + RTOL * fabs(w);
      if (!ok && fabs(g - w) > worst) worst = fabs(g - w);
    } else {
      ok = op_get_int(got, i) == op_get_int(want, i);
    }
    if (!ok && bad++ == 0) first = i;
  }
  if (!bad) return true;
  if (is_float)
    snprintf(why, n, "output %d: %lld of %lld elements differ (first at %lld: got %.9g, expected %.9g; largest "
             "difference %.3g)", which, (long long)bad, (long long)numel, (long long)first, op_get(got, first),
             op_get(want, first), worst);
  else
    snprintf(why, n, "output %d: %lld of %lld elements differ (first at %lld: got %lld, expected %lld)", which,
             (long long)bad, (long long)numel, (long long)first, (long long)op_get_int(got, first),
             (long long)op_get_int(want, first));
  return false;
}

/* Runs g on the interpreter; false with why filled. */
static bool run_interp(const Graph *g, const void *const *inputs, void *const *outputs, char *why, size_t n) {
  char *msg = NULL;
  size_t msg_len = 0;
  FILE *mem = open_memstream(&msg, &msg_len);
  if (!mem) {
    snprintf(why, n, "out of memory");
    return false;
  }
  DiagSink d;
  diag_init(&d, mem);
  IrStatus st = ir_interp_run(g, inputs, outputs, &d);
  diag_free(&d);
  fclose(mem);
  if (st != IR_OK) {
    char *nl = msg ? strchr(msg, '\n') : NULL;
    if (nl) *nl = 0;
    snprintf(why, n, "the interpreter failed: %s", msg ? msg : "?");
  }
  free(msg);
  return st == IR_OK;
}

/* Runs the compiled model m on inputs and outputs in the order of g's signature (the
 * descriptor's); false with why filled. */
static bool run_compiled(lathe_model *m, const Graph *g, const void *const *inputs, void *const *outputs, char *why,
                         size_t n) {
  const Region *r = g->body;
  size_t in_sizes[MAX_TENSORS], out_sizes[MAX_TENSORS];
  if (lathe_model_ninputs(m) != r->nparams || lathe_model_noutputs(m) != r->nresults) {
    snprintf(why, n, "the compiled model has %d inputs and %d outputs, the graph %d and %d", lathe_model_ninputs(m),
             lathe_model_noutputs(m), r->nparams, r->nresults);
    return false;
  }
  for (int i = 0; i < r->nparams; i++) in_sizes[i] = (size_t)ir_type_bytes(&g->values[r->params[i]].type);
  for (int i = 0; i < r->nresults; i++) out_sizes[i] = (size_t)ir_type_bytes(&g->output_types[i]);
  lathe_error err;
  void *ws = lathe_model_alloc_workspace(m, &err);
  int st = ws ? lathe_model_run(m, NULL, inputs, in_sizes, outputs, out_sizes, ws, &err) : err.status;
  lathe_model_free_workspace(ws);
  if (st != LATHE_OK) snprintf(why, n, "the compiled model failed: %s", err.message);
  return st == LATHE_OK;
}

/* Runs g on one data set's inputs, on the interpreter or (m not NULL) as the compiled model m,
 * and compares its outputs; false with why filled. */
static bool run_set(const Graph *g, lathe_model *m, const TensorSet *in, const TensorSet *out, char *why, size_t n) {
  const Region *r = g->body;
  const void *inputs[MAX_TENSORS + 1] = {0};
  void *outputs[MAX_TENSORS + 1] = {0};
  char a[256], b[256];
  if (r->nparams > MAX_TENSORS || r->nresults > MAX_TENSORS) {
    snprintf(why, n, "the model has more than %d inputs or outputs", MAX_TENSORS);
    return false;
  }
  for (int k = 0; k < in->count; k++) {
    int idx = -1;
    for (int i = 0; i < r->nparams && in->name[k][0]; i++)
      if (!strcmp(g->values[r->params[i]].name, in->name[k])) idx = i;
    if (!in->name[k][0] && k < r->nparams) idx = k;
    if (idx < 0) continue; /* a frozen input: its value is in the model */
    const TensorType *t = &g->values[r->params[idx]].type;
    if (!ir_type_equal(t, &in->t[k].type)) {
      snprintf(why, n, "input '%s' is %s in the test data but %s in the imported model", in->name[k],
               type_text(&in->t[k].type, a, sizeof a), type_text(t, b, sizeof b));
      return false;
    }
    inputs[idx] = in->t[k].data;
  }
  for (int i = 0; i < r->nparams; i++)
    if (!inputs[i]) {
      snprintf(why, n, "the test data gives no value for input '%s'", g->values[r->params[i]].name);
      return false;
    }
  if (out->count != r->nresults) {
    snprintf(why, n, "the model has %d outputs but the test expects %d", r->nresults, out->count);
    return false;
  }
  bool ok = true;
  for (int i = 0; ok && i < r->nresults; i++) {
    outputs[i] = calloc(1, (size_t)ir_type_bytes(&g->output_types[i]) + 1);
    if (!outputs[i]) { snprintf(why, n, "out of memory"); ok = false; }
  }
  if (ok) ok = m ? run_compiled(m, g, inputs, outputs, why, n) : run_interp(g, inputs, outputs, why, n);
  for (int i = 0; ok && i < r->nresults; i++) {
    Tensor got = {g->output_types[i], outputs[i]};
    ok = compare(i, &got, &out->t[i], why, n);
  }
  for (int i = 0; i < r->nresults; i++) free(outputs[i]);
  return ok;
}

/* Turns the importer's messages into a one-line reason: for an unsupported model the report's
 * items joined by "; ", otherwise the first message without its "file: error: " prefix. */
static void reason_from(const char *msg, bool unsupported, char *why, size_t n) {
  why[0] = 0;
  if (!msg) return;
  size_t len = 0;
  for (const char *line = msg; *line;) {
    const char *nl = strchr(line, '\n');
    size_t l = nl ? (size_t)(nl - line) : strlen(line);
    if (unsupported && l > 4 && !strncmp(line, "  - ", 4) && len + 4 < n) {
      len += (size_t)snprintf(why + len, n - len, "%s%.*s", len ? "; " : "", (int)(l - 4), line + 4);
      if (len >= n) len = n - 1;
    } else if (!unsupported) {
      const char *e = strstr(line, "error: ");
      if (e && e < line + l) {
        snprintf(why, n, "%.*s", (int)(line + l - (e + 7)), e + 7);
        return;
      }
    }
    line = nl ? nl + 1 : line + l;
  }
}

/* Imports dir/model.onnx freezing the given inputs; returns the graph or NULL with the
 * result kind and reason filled. */
static Graph *import(const char *dir, const OnnxImportOpts *o, OnnxImportInfo *info, int *kind, char *why,
                     size_t n) {
  char path[4096];
  snprintf(path, sizeof path, "%s/model.onnx", dir);
  char *msg = NULL;
  size_t len = 0;
  FILE *mem = open_memstream(&msg, &len);
  if (!mem) { snprintf(why, n, "out of memory"); *kind = RESULT_FAIL; return NULL; }
  DiagSink d;
  diag_init(&d, mem);
  d.max_errors = 0;
  Graph *g;
  IrStatus st = onnx_import_file(path, o, &g, info, &d);
  int errors = d.errors;
  diag_free(&d);
  fclose(mem);
  if (st != IR_OK) {
    bool unsupported = info->unsupported > 0 && errors == 1 && st == IR_ERR_INPUT;
    *kind = unsupported ? RESULT_UNSUPPORTED : RESULT_FAIL;
    reason_from(msg, unsupported, why, n);
    if (!unsupported) {
      char tmp[REASON];
      snprintf(tmp, sizeof tmp, "import failed: %s", why);
      snprintf(why, n, "%s", tmp);
    }
    g = NULL;
  }
  free(msg);
  return g;
}

/* Runs the -O2 passes on g; false (why filled) when one fails. */
static bool optimize(Graph *g, char *why, size_t n) {
  DiagSink d;
  diag_init(&d, NULL);
  int count;
  const Pass *const *passes = pass_level(2, &count);
  PassCtx c = {&d, false, NULL};
  IrStatus st = pass_run_pipeline(g, passes, count, NULL, &c);
  pass_plan_free(c.plan);
  if (st != IR_OK) snprintf(why, n, "the -O2 passes failed (%d errors)", d.errors);
  diag_free(&d);
  return st == IR_OK;
}

/* Runs every data set of the test in dir on graph g (on the interpreter, or as the compiled
 * model m when not NULL); a failure's reason starts with stage. Returns a RESULT_. */
static int run_sets(const char *dir, const Graph *g, lathe_model *m, const char *stage, char *why, size_t n) {
  struct dirent **sets = NULL;
  int nsets = scandir(dir, &sets, NULL, alphasort), datasets = 0, kind = RESULT_PASS;
  for (int s = 0; s < nsets; s++) datasets += !strncmp(sets[s]->d_name, "test_data_set_", 14);
  for (int s = 0; s < nsets && kind == RESULT_PASS; s++) {
    if (strncmp(sets[s]->d_name, "test_data_set_", 14)) continue;
    char set_dir[4096 + 512];
    snprintf(set_dir, sizeof set_dir, "%s/%s", dir, sets[s]->d_name);
    TensorSet in = {0}, out = {0};
    bool ok = set_read(set_dir, "input", &in, why, n) && set_read(set_dir, "output", &out, why, n) &&
              run_set(g, m, &in, &out, why, n);
    set_free(&in);
    set_free(&out);
    if (!ok) {
      kind = RESULT_FAIL;
      char tmp[REASON];
      snprintf(tmp, sizeof tmp, "%s%s%s%s", stage, datasets > 1 ? sets[s]->d_name : "", datasets > 1 ? ": " : "", why);
      snprintf(why, n, "%s", tmp);
    }
  }
  for (int s = 0; s < nsets; s++) free(sets[s]);
  free(sets);
  if (kind == RESULT_PASS && datasets == 0) {
    kind = RESULT_FAIL;
    snprintf(why, n, "the test has no test_data_set");
  }
  return kind;
}

/* Runs the test in dir: import, then every data set at -O0 and at -O2. Returns a RESULT_ with
 * why filled; on a pass *graph is the -O2 graph (the caller frees it). */
static int run_test(const char *dir, Graph **graph, char *why, size_t n, char *note, size_t note_n) {
  *graph = NULL;
  OnnxImportOpts o = {0};
  OnnxImportInfo info;
  int kind = RESULT_PASS;
  note[0] = 0;
  Graph *g = import(dir, &o, &info, &kind, why, n);
  struct dirent **sets = NULL;
  int nsets = scandir(dir, &sets, NULL, alphasort);
  TensorSet in = {0};
  /* Inputs the model needs constant: freeze them to the first data set's values, and import
   * again, until no more are asked for (one import may stop at the first one it meets). */
  OnnxConstInput frozen[MAX_TENSORS];
  int nf = 0, first = 0;
  while (first < nsets && strncmp(sets[first]->d_name, "test_data_set_", 14)) first++;
  char first_dir[4096 + 512], why2[REASON];
  if (first < nsets) snprintf(first_dir, sizeof first_dir, "%s/%s", dir, sets[first]->d_name);
  bool have_inputs = first < nsets && set_read(first_dir, "input", &in, why2, sizeof why2);
  while (!g && kind == RESULT_UNSUPPORTED && info.nfreeze > 0 && have_inputs) {
    int added = 0;
    for (int k = 0; k < in.count; k++)
      for (int f = 0; f < info.nfreeze; f++) {
        bool done = false;
        for (int j = 0; j < nf; j++) done |= !strcmp(frozen[j].name, in.name[k]);
        if (done || !in.name[k][0] || strcmp(in.name[k], info.freeze[f]) || nf == MAX_TENSORS) continue;
        frozen[nf].name = in.name[k];
        frozen[nf++].value = in.t[k];
        size_t l = strlen(note);
        snprintf(note + l, note_n - l, "%s%s", l ? ", " : "", in.name[k]);
        added++;
      }
    if (!added) break;
    o.consts = frozen;
    o.nconsts = nf;
    onnx_import_info_free(&info);
    kind = RESULT_PASS;
    g = import(dir, &o, &info, &kind, why, n);
  }
  set_free(&in);
  onnx_import_info_free(&info);
  for (int s = 0; s < nsets; s++) free(sets[s]);
  free(sets);
  /* Every data set at -O0 (the graph as imported), then again after the -O2 passes. */
  if (g && kind == RESULT_PASS) kind = run_sets(dir, g, NULL, "", why, n);
  if (g && kind == RESULT_PASS && !optimize(g, why, n)) kind = RESULT_FAIL;
  if (g && kind == RESULT_PASS) kind = run_sets(dir, g, NULL, "after -O2: ", why, n);
  if (kind == RESULT_PASS) *graph = g;
  else ir_graph_free(g);
  return kind;
}

/* Where compiled tests put their shared objects: DIR/NAME.so, removed when done. */
typedef struct Compiled {
  const char *dir; /* the folder for the shared objects (NULL: no compiled mode) */
} Compiled;

/* The path of test name's shared object. */
static void so_path(const Compiled *cm, const char *name, char *buf, size_t n) {
  snprintf(buf, n, "%s/%s.so", cm->dir, name);
}

/* The skip reason of a refusal from the lowering or the LLVM backend (their messages all say
 * "... yet"), without the node's location and value names: "op lstm has no lowering yet",
 * "type bf16", ...; false for any other error (a compiled failure). */
static bool refusal_reason(const char *msg, char *key, size_t n) {
  const char *e = msg ? strstr(msg, "error: ") : NULL;
  if (!e || !strstr(e, " yet")) return false;
  e += 7;
  const char *node = strstr(e, "': "); /* an imported graph's location: node 'NAME': */
  if (!strncmp(e, "node '", 6) && node) e = node + 3;
  const char *t = strstr(e, " has type ");
  if (t && strstr(e, "do not handle")) {
    t += 10;
    snprintf(key, n, "type %.*s (the compiled backends do not handle it yet)", (int)strcspn(t, "[ "), t);
    return true;
  }
  snprintf(key, n, "%.*s", (int)(strstr(e, " yet") + 4 - e), e);
  return true;
}

/* Compiles the -O2 graph g of the test in dir as `lathe compile` does (lowering, then the LLVM
 * backend for the native target, linked into a .so), opens it with liblathe_rt and runs every
 * data set. Returns a RESULT_ (RESULT_UNSUPPORTED: refused, why holds the reason's key). */
static int compiled_test(const char *dir, const char *name, const Graph *g, const Compiled *cm, char *why, size_t n) {
  char so[8192];
  so_path(cm, name, so, sizeof so);
  char *msg = NULL;
  size_t len = 0;
  FILE *mem = open_memstream(&msg, &len);
  if (!mem) { snprintf(why, n, "out of memory"); return RESULT_FAIL; }
  DiagSink d;
  diag_init(&d, mem);
  NestProgram *p = NULL;
  CgArtifact a;
  memset(&a, 0, sizeof a);
  LlvmEmitPaths paths = {.so = so};
  IrStatus st = cg_lower(g, &d, &p);
  if (st == IR_OK) st = cg_artifact_init(&a, g, p, NULL, dir, "c", false, &d);
  if (st == IR_OK) st = cg_llvm_compile(p, &a, NULL, &paths, &d);
  cg_artifact_free(&a);
  cg_nest_free(p);
  diag_free(&d);
  fclose(mem);
  int kind = RESULT_PASS;
  if (st != IR_OK) {
    if (refusal_reason(msg, why, n)) {
      kind = RESULT_UNSUPPORTED;
    } else {
      reason_from(msg, false, why, n);
      char tmp[REASON];
      snprintf(tmp, sizeof tmp, "compiling failed: %s", why);
      snprintf(why, n, "%s", tmp);
      kind = RESULT_FAIL;
    }
  }
  free(msg);
  if (kind != RESULT_PASS) return kind;
  lathe_model *m = NULL;
  lathe_error err;
  if (lathe_model_open(so, &m, &err) != LATHE_OK) {
    snprintf(why, n, "liblathe_rt cannot open the .so: %s", err.message);
    kind = RESULT_FAIL;
  } else {
    kind = run_sets(dir, g, m, "", why, n);
  }
  lathe_model_close(m);
  remove(so);
  return kind;
}

/* The known failures: names read from a file of lines "NAME reason" ('#' starts a comment). */
typedef struct Known {
  char **names; /* count names, malloc'd */
  int count;
} Known;

/* Reads the known-failures file at path; false when it cannot be read. */
static bool known_read(const char *path, Known *k) {
  FILE *f = fopen(path, "r");
  if (!f) return false;
  char line[2048];
  while (fgets(line, sizeof line, f)) {
    char name[1024];
    if (line[0] == '#' || sscanf(line, "%1023s", name) != 1) continue;
    char **p = realloc(k->names, sizeof *p * (size_t)(k->count + 1));
    if (!p) break;
    k->names = p;
    k->names[k->count++] = strdup(name);
  }
  fclose(f);
  return true;
}

/* True when name is a known failure. */
static bool known_has(const Known *k, const char *name) {
  for (int i = 0; i < k->count; i++)
    if (k->names[i] && !strcmp(k->names[i], name)) return true;
  return false;
}

/* The results of one mode (interpreted or compiled): counts per RESULT_, and how the known
 * failures turned out. */
typedef struct Tally {
  const char *label;      /* "" or "compiled: " before the closing line */
  const char *known_path; /* its known-failures file, or NULL */
  Known known;
  int counts[3];
  int known_failed;       /* listed tests that failed */
  int known_passed;       /* listed tests that did not fail (the list must be kept true) */
} Tally;

/* Counts test name's result kind in t. */
static void tally_add(Tally *t, const char *name, int kind) {
  t->counts[kind]++;
  if (!known_has(&t->known, name)) return;
  if (kind == RESULT_FAIL) {
    t->known_failed++;
  } else {
    printf("  (%s is listed in %s but did not fail: remove it from the list)\n", name, t->known_path);
    t->known_passed++;
  }
}

/* Prints t's closing line; true when t makes the run fail. */
static bool tally_finish(Tally *t) {
  if (t->known_path) printf("%s%d of the failures are known (%s)\n", t->label, t->known_failed, t->known_path);
  printf("%s%d passed, %d failed, %d skipped\n", t->label, t->counts[RESULT_PASS], t->counts[RESULT_FAIL],
         t->counts[RESULT_UNSUPPORTED]);
  for (int i = 0; i < t->known.count; i++) free(t->known.names[i]);
  free(t->known.names);
  return t->counts[RESULT_FAIL] > t->known_failed || t->known_passed;
}

/* The reasons compiled tests were skipped for, each with its count. */
typedef struct Reasons {
  char *key[128];
  int count[128];
  int n;
} Reasons;

static void reasons_add(Reasons *r, const char *key, size_t len) {
  for (int i = 0; i < r->n; i++)
    if (strlen(r->key[i]) == len && !strncmp(r->key[i], key, len)) {
      r->count[i]++;
      return;
    }
  if (r->n < 128 && (r->key[r->n] = strndup(key, len))) r->count[r->n++] = 1;
}

/* Runs the test in dir in a child process (name: its folder's name) and counts its results. */
static void run_child(const char *dir, const char *name, const Compiled *cm, Tally *interp, Tally *compiled,
                      Reasons *reasons) {
  int fds[2];
  if (pipe(fds) != 0) { perror("pipe"); exit(1); }
  fflush(stdout);
  pid_t pid = fork();
  if (pid < 0) { perror("fork"); exit(1); }
  static const char *const words[] = {"pass", "fail", "unsupported"}, *const cwords[] = {"pass", "fail", "skip"};
  if (pid == 0) {
    close(fds[0]);
    alarm(TEST_TIMEOUT_S);
    char why[REASON] = "", note[REASON] = "", line[3 * REASON];
    Graph *g;
    int kind = run_test(dir, &g, why, sizeof why, note, sizeof note);
    if (kind == RESULT_PASS && note[0]) snprintf(line, sizeof line, "pass %s (frozen: %s)\n", name, note);
    else if (kind == RESULT_PASS) snprintf(line, sizeof line, "pass %s\n", name);
    else snprintf(line, sizeof line, "%s %s: %s\n", words[kind], name, why);
    /* written before compiling: a crash there is then the compiled code's */
    ssize_t w = write(fds[1], line, strlen(line));
    if (kind == RESULT_PASS && cm->dir) {
      int ck = compiled_test(dir, name, g, cm, why, sizeof why);
      snprintf(line, sizeof line, "compiled %s %s%s%s\n", cwords[ck], name, ck ? ": " : "", ck ? why : "");
      w = write(fds[1], line, strlen(line));
    }
    (void)w;
    close(fds[1]);
    ir_graph_free(g);
    exit(kind);
  }
  close(fds[1]);
  char buf[8 * REASON];
  size_t got = 0;
  ssize_t r;
  while ((r = read(fds[0], buf + got, sizeof buf - 1 - got)) > 0 || (r < 0 && errno == EINTR))
    if (r > 0) got += (size_t)r;
  buf[got] = 0;
  close(fds[0]);
  int status;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {}
  if (cm->dir) { /* left behind when the child died */
    char so[8192];
    so_path(cm, name, so, sizeof so);
    remove(so);
  }
  char died[256] = "";
  if (WIFSIGNALED(status) && WTERMSIG(status) == SIGALRM)
    snprintf(died, sizeof died, "timed out after %d s", TEST_TIMEOUT_S);
  else if (WIFSIGNALED(status))
    snprintf(died, sizeof died, "crashed (signal %d, %s)", WTERMSIG(status), strsignal(WTERMSIG(status)));
  else if (WEXITSTATUS(status) > RESULT_UNSUPPORTED || !got)
    snprintf(died, sizeof died, "exited with status %d (a sanitizer report?)", WEXITSTATUS(status));
  const char *cline = strstr(buf, "\ncompiled ");
  /* The interpreted run passed when its line says so and the child lived on past it. */
  bool interp_passed = !strncmp(buf, "pass ", 5) && strchr(buf, '\n');
  int kind;
  if (died[0] && !(interp_passed && cm->dir)) {
    printf("fail %s: %s%s%s", name, died, got ? "; it said: " : "\n", buf);
    kind = RESULT_FAIL;
  } else {
    fputs(buf, stdout);
    kind = died[0] ? RESULT_PASS : WEXITSTATUS(status);
  }
  tally_add(interp, name, kind);
  if (kind != RESULT_PASS || !cm->dir) return;
  int ck = RESULT_FAIL;
  if (died[0] || !cline) {
    printf("compiled fail %s: %s\n", name, died[0] ? died : "the child printed no compiled result");
  } else if (!strncmp(cline + 10, "pass ", 5)) {
    ck = RESULT_PASS;
  } else if (!strncmp(cline + 10, "skip ", 5)) {
    ck = RESULT_UNSUPPORTED;
    const char *key = cline + 15 + strlen(name) + 2;
    reasons_add(reasons, key, strcspn(key, "\n"));
  }
  tally_add(compiled, name, ck);
}

/* Reads the known-failures file of t; false (reported) when it cannot be read. */
static bool tally_known(Tally *t, const char *path) {
  t->known_path = path;
  if (known_read(path, &t->known)) return true;
  fprintf(stderr, "onnx_conformance: cannot read %s: %s\n", path, strerror(errno));
  return false;
}

int main(int argc, char **argv) {
  Tally interp = {.label = ""}, compiled = {.label = "compiled: "};
  Compiled cm = {NULL};
  bool compiled_mode = false;
  for (; argc > 1 && !strncmp(argv[1], "--", 2); argc--, argv++) {
    if (!strcmp(argv[1], "--known") && argc > 2) {
      if (!tally_known(&interp, argv[2])) return 2;
      argc--, argv++;
    } else if (!strcmp(argv[1], "--compiled")) {
      compiled_mode = true;
    } else if (!strncmp(argv[1], "--compiled=", 11)) {
      compiled_mode = true;
      if (!tally_known(&compiled, argv[1] + 11)) return 2;
    } else {
      break;
    }
  }
  if (argc < 2 || argc > 3 || argv[1][0] == '-') {
    fprintf(stderr, "usage: onnx_conformance [--known FILE] [--compiled[=KNOWN_FILE]] DIR [FILTER]\n");
    return 2;
  }
  const char *root = argv[1], *filter = argc > 2 ? argv[2] : NULL;
  char so_dir[4096];
  if (compiled_mode) {
    const char *tmp = getenv("TMPDIR");
    snprintf(so_dir, sizeof so_dir, "%s/lathe-conformance-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (!mkdtemp(so_dir)) {
      fprintf(stderr, "onnx_conformance: cannot make a folder %s: %s\n", so_dir, strerror(errno));
      return 2;
    }
    cm.dir = so_dir;
  }
  struct dirent **tests;
  int ntests = scandir(root, &tests, NULL, alphasort);
  if (ntests < 0) {
    fprintf(stderr, "onnx_conformance: cannot list %s: %s\n", root, strerror(errno));
    return 1;
  }
  Reasons reasons = {.n = 0};
  for (int t = 0; t < ntests; t++) {
    const char *name = tests[t]->d_name;
    char dir[4096];
    snprintf(dir, sizeof dir, "%s/%s", root, name);
    if (name[0] == '.' || (filter && !strstr(name, filter)) || access(dir, X_OK) != 0) continue;
    char model[4200];
    snprintf(model, sizeof model, "%s/model.onnx", dir);
    if (access(model, F_OK) == 0) run_child(dir, name, &cm, &interp, &compiled, &reasons);
  }
  for (int t = 0; t < ntests; t++) free(tests[t]);
  free(tests);
  bool bad = tally_finish(&interp);
  if (compiled_mode) {
    bad |= tally_finish(&compiled);
    for (int i = 0; i < reasons.n; i++) {
      printf("compiled: %d skipped: %s\n", reasons.count[i], reasons.key[i]);
      free(reasons.key[i]);
    }
    if (rmdir(so_dir) != 0) fprintf(stderr, "onnx_conformance: cannot remove %s: %s\n", so_dir, strerror(errno));
  }
  return bad ? 1 : 0;
}

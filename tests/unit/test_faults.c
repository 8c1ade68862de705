/* test_faults.c — out-of-memory fault injection, as SQLite and Lua test it: for each test
 * model, allocation number N is made to fail (ir_alloc_fail_after, which protobuf-c's reader
 * goes through too) for N = 1, 2, ... until the operation no longer reaches an N-th
 * allocation. Every injected failure must end in an error status (never IR_OK, never an
 * internal error) with a diagnostic, no crash, and (under make test-asan) no leak.
 * Operations: parse + verify + load weights + interpret the text IR test models (and a few
 * invalid ones); import every small ONNX model of the fuzz seeds from memory; parse every
 * safetensors and .npy file of the fuzz seeds from memory; import a net and write it
 * (`lathe import`), where a failure must also leave no file behind; compile the text IR test
 * models as `lathe compile` does (-O2 passes, lowering to loop nests, the C backend, the
 * header, the LLVM backend's own allocations), and the digits model to a .so, where a failure
 * must leave no file behind either; there every arena allocation counts as one too
 * (ir_alloc_fault_arena), so every place that builds loop nests fails once. Prints the number
 * of fault points swept (docs/reliability.md). LATHE_FAULT_STRIDE=K sweeps only every K-th
 * compilation point (the default, 1, sweeps them all). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <dirent.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "codegen/c/emit.h"
#include "codegen/llvm/nest.h"
#include "codegen/lower.h"
#include "codegen/tile.h"
#include "diag_capture.h"
#include "frontend/npy.h"
#include "frontend/onnx/onnx.h"
#include "frontend/parser.h"
#include "frontend/safetensors.h"
#include "ir/fs.h"
#include "ir/interp.h"
#include "passes/pass.h"

/* The result of one run of an operation with allocation number fail_at failing (0: none). */
typedef struct Attempt {
  IrStatus status;  /* what the operation returned */
  uint64_t allocs;  /* allocations it made (the failing one included) */
} Attempt;

/* An operation swept by sweep(): runs on arg, reporting through d. */
typedef IrStatus (*Operation)(const void *arg, DiagSink *d);

static uint64_t points_swept; /* fault points swept by every test of this program */
static bool cold_tiles;       /* attempts forget tile.c's kept ISL ASTs (sweep_compile) */

/* Runs op with allocation fail_at failing (0: none) and checks the promises of a failure. */
static Attempt attempt(Operation op, const void *arg, uint64_t fail_at, const char *what) {
  DiagSink d;
  diag_start(&d);
  if (cold_tiles) cg_tile_forget(); /* each run schedules its tiled nests anew (see sweep_compile) */
  ir_alloc_fail_after(fail_at);
  Attempt a;
  a.status = op(arg, &d);
  a.allocs = ir_alloc_fail_after(0);
  if (fail_at != 0 && a.allocs >= fail_at) {
    if (a.status == IR_OK || a.status == IR_ERR_INTERNAL || d.errors == 0)
      fail_msg("%s: allocation %llu failed, yet status %d with %d errors:\n%s", what,
               (unsigned long long)fail_at, (int)a.status, d.errors, diag_text(&d));
    assert_diag_has(&d, "error: ");
  }
  diag_end(&d);
  return a;
}

/* Sweeps allocation failures over op from allocation `first` on, every `stride`-th one;
 * clean is the run without failures. Returns the fault points swept. */
static uint64_t sweep_from(Operation op, const void *arg, Attempt clean, const char *what, uint64_t first,
                           uint64_t stride) {
  uint64_t n = first, swept = 0;
  for (;; n += stride) {
    assert_true(n <= 2 * clean.allocs + 1000); /* a failure path that allocates without end */
    Attempt a = attempt(op, arg, n, what);
    if (a.allocs < n) break; /* the operation made fewer than n allocations: nothing left to fail */
    swept++;
  }
  assert_true(n + stride > clean.allocs + 1); /* the sweep reached the clean run's last allocation */
  points_swept += swept;
  return swept;
}

/* Sweeps every allocation failure over op (see sweep_from); want is the status of the run
 * without failures. */
static uint64_t sweep(Operation op, const void *arg, IrStatus want, const char *what) {
  Attempt clean = attempt(op, arg, 0, what);
  if (clean.status != want) fail_msg("%s: status %d without faults, expected %d", what, (int)clean.status, (int)want);
  return sweep_from(op, arg, clean, what, 1, 1);
}

/* ---- the text IR: parse, verify, load weights, interpret on zero inputs ----------------- */

static IrStatus load_and_run(const void *arg, DiagSink *d) {
  Graph *g;
  IrStatus st = ir_load(d, arg, LOAD_VERIFY | LOAD_WEIGHTS, &g);
  if (st != IR_OK) return st;
  /* the inputs and outputs are the caller's memory: plain calloc, outside the sweep */
  int nin = g->body->nparams, nout = g->body->nresults;
  void **in = calloc((size_t)nin + 1, sizeof *in), **out = calloc((size_t)nout + 1, sizeof *out);
  assert_non_null(in);
  assert_non_null(out);
  for (int i = 0; i < nin; i++) in[i] = calloc(1, (size_t)ir_type_bytes(&g->values[g->body->params[i]].type) + 1);
  for (int i = 0; i < nout; i++) out[i] = calloc(1, (size_t)ir_type_bytes(&g->output_types[i]) + 1);
  st = ir_interp_run(g, (const void *const *)in, out, d);
  for (int i = 0; i < nin; i++) free(in[i]);
  for (int i = 0; i < nout; i++) free(out[i]);
  free(in);
  free(out);
  ir_graph_free(g);
  return st;
}

static void test_text_models(void **state) {
  (void)state;
  static const char *const models[] = {
      LATHE_SOURCE_DIR "/tests/models/mlp.lathe",
      LATHE_SOURCE_DIR "/tests/models/cnn.lathe",
      LATHE_SOURCE_DIR "/tests/models/types.lathe",
      LATHE_SOURCE_DIR "/tests/golden/ok/fused-layout.lathe",
      LATHE_SOURCE_DIR "/tests/golden/ok/quant-extern.lathe",
      LATHE_SOURCE_DIR "/tests/golden/ok/weights.lathe",
      LATHE_SOURCE_DIR "/examples/digits/digits.lathe",
  };
  for (size_t i = 0; i < sizeof models / sizeof *models; i++) {
    uint64_t n = sweep(load_and_run, models[i], IR_OK, models[i]);
    printf("  %s: %llu fault points\n", strrchr(models[i], '/') + 1, (unsigned long long)n);
  }
}

/* An invalid model fails cleanly at every allocation too (its diagnostics allocate). */
static void test_text_errors(void **state) {
  (void)state;
  static const char *const models[] = {
      LATHE_SOURCE_DIR "/tests/golden/errors/name-undefined.lathe",
      LATHE_SOURCE_DIR "/tests/golden/errors/fused-result-type.lathe",
      LATHE_SOURCE_DIR "/tests/golden/errors/lex-invalid-utf8.lathe",
  };
  for (size_t i = 0; i < sizeof models / sizeof *models; i++) {
    uint64_t n = sweep(load_and_run, models[i], IR_ERR_INPUT, models[i]);
    printf("  %s: %llu fault points\n", strrchr(models[i], '/') + 1, (unsigned long long)n);
  }
}

/* ---- ONNX import, safetensors and .npy parsing from memory -------------------------------- */

/* The bytes of one file, read before the sweep. */
typedef struct FileBytes {
  IrBuffer *file;
  const char *name;
} FileBytes;

/* Reads the file at path (outside any sweep) into a FileBytes named name. */
static FileBytes read_bytes(const char *path, const char *name) {
  DiagSink d;
  diag_init(&d, stderr);
  FileBytes m = {NULL, name};
  assert_int_equal(ir_read_file(path, 1 << 20, &m.file, &d), IR_OK);
  diag_free(&d);
  return m;
}

static IrStatus import_onnx(const void *arg, DiagSink *d) {
  const FileBytes *m = arg;
  Graph *g = NULL;
  OnnxImportInfo info;
  IrStatus st = onnx_import_bytes(m->file->data, (size_t)m->file->size, m->name, NULL, &g, &info, d);
  if (st == IR_OK) assert_non_null(g); else assert_null(g);
  onnx_import_info_free(&info);
  ir_graph_free(g);
  return st;
}

static IrStatus parse_safetensors(const void *arg, DiagSink *d) {
  const FileBytes *m = arg;
  SafeTensors st;
  IrStatus status = st_parse(m->file, m->name, &st, d);
  for (int i = 0; status == IR_OK && i < st.count; i++) {
    IrBuffer *b = st_data(&st, &st.entries[i]);
    if (!b) status = diag_oom(d, loc_file(m->name));
    ir_buffer_unref(b);
  }
  st_free(&st);
  return status;
}

static IrStatus parse_npy(const void *arg, DiagSink *d) {
  const FileBytes *m = arg;
  Tensor t;
  IrBuffer *data;
  IrStatus st = npy_parse(m->file, m->name, &t, &data, d);
  ir_buffer_unref(data);
  return st;
}

/* Sweeps op over every file of the fuzz seed corpus tests/fuzz/corpus/NAME (made by
 * make_seeds.py: for ONNX, the small backend node tests and a few nets), the files lathe
 * reads and those it refuses alike. Returns how many the clean run accepted. */
static int sweep_corpus(const char *name, Operation op) {
  char dir[512];
  snprintf(dir, sizeof dir, "%s/tests/fuzz/corpus/%s", LATHE_SOURCE_DIR, name);
  struct dirent **list;
  int n = scandir(dir, &list, NULL, alphasort);
  assert_true(n > 2);
  int files = 0, accepted = 0;
  uint64_t points = 0;
  for (int i = 0; i < n; i++) {
    if (list[i]->d_name[0] != '.') {
      char path[1024];
      snprintf(path, sizeof path, "%s/%s", dir, list[i]->d_name);
      FileBytes m = read_bytes(path, list[i]->d_name);
      IrStatus want = attempt(op, &m, 0, m.name).status;
      assert_true(want == IR_OK || want == IR_ERR_INPUT);
      points += sweep(op, &m, want, m.name);
      files++;
      accepted += want == IR_OK;
      ir_buffer_unref(m.file);
    }
    free(list[i]);
  }
  free(list);
  printf("  %s: %d files (%d accepted, %d refused): %llu fault points\n", name, files, accepted,
         files - accepted, (unsigned long long)points);
  return accepted;
}

static void test_onnx_models(void **state) {
  (void)state;
  assert_true(sweep_corpus("onnx", import_onnx) >= 20); /* lathe imports 27 of them now */
}

static void test_safetensors_files(void **state) {
  (void)state;
  assert_true(sweep_corpus("safetensors", parse_safetensors) >= 10);
}

static void test_npy_files(void **state) {
  (void)state;
  assert_true(sweep_corpus("npy", parse_npy) >= 10);
}

/* ---- `lathe import` whole: import, then write the text IR and its safetensors sidecar ------ */

#define SAVE_DIR LATHE_TEST_TMP "/faults"

/* Counts the entries of folder dir (temporary files included). */
static int dir_entries(const char *dir) {
  struct dirent **list;
  int n = scandir(dir, &list, NULL, NULL);
  assert_true(n >= 2);
  for (int i = 0; i < n; i++) free(list[i]);
  free(list);
  return n - 2; /* . and .. */
}

/* Imports and saves to SAVE_DIR/m.lathe; a failure must leave SAVE_DIR empty (nothing
 * half-written, no temporary file), a success must write both files. */
static IrStatus import_and_save(const void *arg, DiagSink *d) {
  const FileBytes *m = arg;
  remove(SAVE_DIR "/m.lathe");
  remove(SAVE_DIR "/m.safetensors");
  assert_int_equal(dir_entries(SAVE_DIR), 0);
  Graph *g = NULL;
  OnnxImportInfo info;
  IrStatus st = onnx_import_bytes(m->file->data, (size_t)m->file->size, m->name, NULL, &g, &info, d);
  if (st == IR_OK) st = onnx_save(g, SAVE_DIR "/m.lathe", d);
  onnx_import_info_free(&info);
  ir_graph_free(g);
  assert_int_equal(dir_entries(SAVE_DIR), st == IR_OK ? 2 : 0);
  return st;
}

static void test_import_and_save(void **state) {
  (void)state;
  mkdir(SAVE_DIR, 0777);
  /* a net with initializers: a sidecar is written */
  FileBytes m = read_bytes(LATHE_SOURCE_DIR "/tests/fuzz/corpus/onnx/net-conv-gemm.onnx", "net-conv-gemm.onnx");
  uint64_t n = sweep(import_and_save, &m, IR_OK, m.name);
  printf("  import and save %s: %llu fault points\n", m.name, (unsigned long long)n);
  ir_buffer_unref(m.file);
}

/* ---- `lathe compile`: -O2, lowering, the C backend and header, the LLVM backend ---------- */

/* One compilation: the model, and the .so to write through the LLVM backend (NULL: the LLVM
 * module is built and optimized, no file is written). */
typedef struct CompileCase {
  const char *model;
  const char *so;
} CompileCase;

/* Allocations made by the clean run up to the end of each phase, when marking. */
enum { PHASE_LOAD, PHASE_PASSES, PHASE_LOWER, PHASE_C, PHASE_LLVM, NPHASES };
static bool marking;
static uint64_t marks[NPHASES];

/* Records the end of phase `ph` of a clean run (reading the count restarts it: summed here). */
static void mark(int ph) {
  if (!marking) return;
  uint64_t before = ph ? marks[ph - 1] : 0;
  marks[ph] = before + ir_alloc_fail_after(0);
}

#define COMPILE_DIR LATHE_TEST_TMP "/faults-compile"

/* Compiles as `lathe compile` does: load, the -O2 pipeline, lowering, the C source, the
 * header and the loop nests (to /dev/null), then the LLVM backend for the generic target. */
static IrStatus compile_model(const void *arg, DiagSink *d) {
  const CompileCase *cc = arg;
  FILE *null = fopen("/dev/null", "w");
  assert_non_null(null);
  Graph *g = NULL;
  NestProgram *p = NULL;
  CgArtifact a;
  memset(&a, 0, sizeof a);
  IrStatus st = ir_load(d, cc->model, LOAD_VERIFY | LOAD_WEIGHTS, &g);
  mark(PHASE_LOAD);
  int npasses;
  const Pass *const *o2 = pass_level(2, &npasses);
  PassCtx pc = {d, false, NULL};
  if (st == IR_OK) st = pass_run_pipeline(g, o2, npasses, NULL, &pc);
  pass_plan_free(pc.plan);
  mark(PHASE_PASSES);
  if (st == IR_OK) st = cg_lower(g, d, &p);
  mark(PHASE_LOWER);
  if (st == IR_OK) st = cg_artifact_init(&a, g, p, NULL, cc->model, "c", false, d);
  if (st == IR_OK) st = cg_emit_c(null, p, &a, d);
  if (st == IR_OK) {
    cg_emit_header(null, &a);
    cg_nest_print(null, p);
  }
  mark(PHASE_C);
  LlvmEmitPaths lp = {.so = cc->so};
  if (st == IR_OK) st = cg_llvm_compile(p, &a, "generic", &lp, d);
  mark(PHASE_LLVM);
  cg_artifact_free(&a);
  cg_nest_free(p);
  ir_graph_free(g);
  fclose(null);
  if (cc->so) { /* a failure leaves nothing in COMPILE_DIR, not even a temporary file */
    assert_int_equal(dir_entries(COMPILE_DIR), st == IR_OK ? 1 : 0);
    remove(cc->so);
  }
  return st;
}

/* The stride of the compilation sweeps: LATHE_FAULT_STRIDE, or 1. */
static uint64_t compile_stride(void) {
  const char *s = getenv("LATHE_FAULT_STRIDE");
  long k = s ? strtol(s, NULL, 10) : 1;
  return k > 0 ? (uint64_t)k : 1;
}

/* Sweeps compile_model over cc from its first allocation after loading (loading is swept by
 * test_text_models), or, when cc writes a .so, after the C backend (test_compile_models
 * sweeps what comes before); prints the points per phase of the clean run. tile.c keeps each
 * tiling problem's ISL AST for the process, so a run that meets a problem again allocates
 * less than the first: warm, every run (the clean one too) follows one unswept run and finds
 * every problem kept; cold, every run forgets them first and schedules them anew (slower:
 * ISL each time), so the failures while building a problem's ISL text are swept too. */
static uint64_t sweep_compile(const CompileCase *cc, bool cold) {
  ir_alloc_fault_arena(true);
  DiagSink d;
  diag_start(&d);
  cold_tiles = cold;
  if (!cold) (void)compile_model(cc, &d); /* keeps the model's tiling problems */
  if (cold) cg_tile_forget();
  marking = true;
  ir_alloc_fail_after(0);
  Attempt clean = {compile_model(cc, &d), 0}; /* a model the backends refuse is swept too */
  marking = false;
  clean.allocs = marks[PHASE_LLVM];
  diag_end(&d);
  IrStatus want = clean.status;
  assert_true(want == IR_OK || want == IR_ERR_INPUT);
  uint64_t stride = compile_stride();
  uint64_t n = sweep_from(compile_model, cc, clean, cc->model, marks[cc->so ? PHASE_C : PHASE_LOAD] + 1, stride);
  printf("  compile %s%s%s%s: %llu fault points (stride %llu%s; allocations: passes %llu, lowering %llu, "
         "C and header %llu, LLVM side %llu)\n",
         strrchr(cc->model, '/') + 1, cc->so ? " to .so" : "", want == IR_OK ? "" : " (refused)",
         cold ? ", tiles scheduled anew each run" : "",
         (unsigned long long)n, (unsigned long long)stride, cc->so ? ", from the LLVM side on" : "",
         (unsigned long long)(marks[PHASE_PASSES] - marks[PHASE_LOAD]),
         (unsigned long long)(marks[PHASE_LOWER] - marks[PHASE_PASSES]),
         (unsigned long long)(marks[PHASE_C] - marks[PHASE_LOWER]),
         (unsigned long long)(marks[PHASE_LLVM] - marks[PHASE_C]));
  ir_alloc_fault_arena(false);
  cold_tiles = false;
  return n;
}

static void test_compile_models(void **state) {
  (void)state;
  static const char *const models[] = {
      LATHE_SOURCE_DIR "/tests/models/mlp.lathe",     LATHE_SOURCE_DIR "/tests/models/cnn.lathe",
      LATHE_SOURCE_DIR "/tests/models/math.lathe",    LATHE_SOURCE_DIR "/tests/models/shape2.lathe",
      LATHE_SOURCE_DIR "/tests/models/types.lathe",   LATHE_SOURCE_DIR "/examples/digits/digits.lathe",
      LATHE_SOURCE_DIR "/tests/golden/ok/fused-layout.lathe", /* blocked layouts: unpack and pack */
      LATHE_SOURCE_DIR "/tests/golden/ok/weights.lathe",
  };
  for (size_t i = 0; i < sizeof models / sizeof *models; i++) {
    CompileCase cc = {models[i], NULL};
    sweep_compile(&cc, false);
  }
  CompileCase cold = {LATHE_SOURCE_DIR "/tests/models/cnn.lathe", NULL}; /* conv2d and gemm tiled */
  sweep_compile(&cold, true);
}

/* The digits model to a .so: the files the backend writes, the linker run and the seal. */
static void test_compile_so(void **state) {
  (void)state;
  mkdir(COMPILE_DIR, 0777);
  CompileCase cc = {LATHE_SOURCE_DIR "/examples/digits/digits.lathe", COMPILE_DIR "/digits.so"};
  sweep_compile(&cc, false);
}

static int report(void **state) {
  (void)state;
  printf("fault injection: %llu fault points swept\n", (unsigned long long)points_swept);
  return 0;
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_text_models),
      cmocka_unit_test(test_text_errors),
      cmocka_unit_test(test_onnx_models),
      cmocka_unit_test(test_safetensors_files),
      cmocka_unit_test(test_npy_files),
      cmocka_unit_test(test_import_and_save),
      cmocka_unit_test(test_compile_models),
      cmocka_unit_test(test_compile_so),
  };
  return cmocka_run_group_tests(tests, NULL, report);
}

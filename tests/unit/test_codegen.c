/* test_codegen.c — every op lowered to loop nests, emitted as C, built by the system C
 * compiler and run, against the reference interpreter on the same seeded inputs. All cases go
 * into one shared object (one compiler run) that this process loads; each case runs twice:
 * serially (exec NULL) and through a parallel_for that splits loops into uneven pieces.
 * Tolerances per case: integers exact; floats |compiled - interp| <= tol * (1 + |interp|),
 * the interpreter computing in double and the compiled code in float. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dlfcn.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <lathe/lathe.h>
#include <lathe/model.h>

#include "codegen_cases.h"
#include "diag_capture.h"

#include "codegen/c/emit.h"
#include "codegen/lower.h"
#include "frontend/parser.h"
#include "ir/interp.h"
#include "ir/verify.h"

/* One model: its text and the tolerance of its float results. */
typedef struct Case {
  const char *what;
  double tol;
  const char *text;
} Case;

#define F32_TOL 1e-6 /* one rounding of f32 (2^-24 is 6e-8) with room for libm */
#define SUM_TOL 1e-5 /* sums of up to a few hundred products in f32 */

static const Case cases[] = {
    {"add broadcast", F32_TOL, "graph @m(%a: f32[2,3,4], %b: f32[3,1]) -> (%y: f32[2,3,4]) {\n"
                               "  %r = add(%a, %b) : f32[2,3,4]\n  return %r\n}\n"},
    {"sub i32", 0, "graph @m(%a: i32[5], %b: i32[5]) -> (%y: i32[5]) {\n  %r = sub(%a, %b) : i32[5]\n  return %r\n}\n"},
    {"mul i64 broadcast", 0, "graph @m(%a: i64[4,1], %b: i64[3]) -> (%y: i64[4,3]) {\n"
                             "  %r = mul(%a, %b) : i64[4,3]\n  return %r\n}\n"},
    {"div f32", F32_TOL, "graph @m(%a: f32[6], %b: f32[6]) -> (%y: f32[6]) {\n  %r = div(%a, %b) : f32[6]\n  return %r\n}\n"},
    {"div i32", 0, "graph @m(%a: i32[2,3], %b: i32[3]) -> (%y: i32[2,3]) {\n  %r = div(%a, %b) : i32[2,3]\n  return %r\n}\n"},
    {"div u8", 0, "graph @m(%a: u8[7], %b: u8[7]) -> (%y: u8[7]) {\n  %r = div(%a, %b) : u8[7]\n  return %r\n}\n"},
    {"relu f32", 0, "graph @m(%a: f32[3,5]) -> (%y: f32[3,5]) {\n  %r = relu(%a) : f32[3,5]\n  return %r\n}\n"},
    {"relu i8", 0, "graph @m(%a: i8[9]) -> (%y: i8[9]) {\n  %r = relu(%a) : i8[9]\n  return %r\n}\n"},
    {"sigmoid", F32_TOL, "graph @m(%a: f32[10]) -> (%y: f32[10]) {\n  %r = sigmoid(%a) : f32[10]\n  return %r\n}\n"},
    {"tanh", F32_TOL, "graph @m(%a: f32[10]) -> (%y: f32[10]) {\n  %r = tanh(%a) : f32[10]\n  return %r\n}\n"},
    {"clip", 0, "graph @m(%a: f32[12]) -> (%y: f32[12]) {\n  %r = clip(%a) {min = -0.25, max = 0.5} : f32[12]\n  return %r\n}\n"},
    {"clip max only", 0, "graph @m(%a: f32[12]) -> (%y: f32[12]) {\n  %r = clip(%a) {max = 0.1} : f32[12]\n  return %r\n}\n"},
    {"gemm transposed, alpha, beta, C [N]", SUM_TOL,
     "graph @m(%a: f32[4,3], %b: f32[5,4], %c: f32[5]) -> (%y: f32[3,5]) {\n"
     "  %r = gemm(%a, %b, %c) {transA = 1, transB = 1, alpha = 0.5, beta = 2.0} : f32[3,5]\n  return %r\n}\n"},
    {"gemm plain, C [M,1]", SUM_TOL, "graph @m(%a: f32[3,7], %b: f32[7,2], %c: f32[3,1]) -> (%y: f32[3,2]) {\n"
                                     "  %r = gemm(%a, %b, %c) : f32[3,2]\n  return %r\n}\n"},
    {"matmul batched broadcast", SUM_TOL, "graph @m(%a: f32[2,1,3,4], %b: f32[3,4,5]) -> (%y: f32[2,3,3,5]) {\n"
                                          "  %r = matmul(%a, %b) : f32[2,3,3,5]\n  return %r\n}\n"},
    {"matmul rank 1", SUM_TOL, "graph @m(%a: f32[4], %b: f32[2,4,5]) -> (%y: f32[2,5]) {\n"
                               "  %r = matmul(%a, %b) : f32[2,5]\n  return %r\n}\n"},
    {"conv2d strides, dilations, pads, groups, bias", SUM_TOL,
     "graph @m(%x: f32[2,4,9,8], %w: f32[6,2,3,2], %b: f32[6]) -> (%y: f32[2,6,4,5]) {\n"
     "  %r = conv2d(%x, %w, %b) {strides = [2, 2], dilations = [2, 1], pads = [1, 2, 2, 1], group = 2} : f32[2,6,4,5]\n"
     "  return %r\n}\n"},
    {"conv2d large (parallel loop)", SUM_TOL,
     "graph @m(%x: f32[2,3,20,20], %w: f32[8,3,3,3]) -> (%y: f32[2,8,20,20]) {\n"
     "  %r = conv2d(%x, %w) {pads = [1, 1, 1, 1]} : f32[2,8,20,20]\n  return %r\n}\n"},
    {"maxpool pads, ceil_mode, indices", 0,
     "graph @m(%x: f32[1,2,7,6]) -> (%y: f32[1,2,4,3], %i: i64[1,2,4,3]) {\n"
     "  %r, %ix = maxpool(%x) {kernel = [3, 2], strides = [2, 2], pads = [1, 0, 1, 1], ceil_mode = 1} : f32[1,2,4,3], i64[1,2,4,3]\n"
     "  return %r, %ix\n}\n"},
    {"maxpool u8 dilated", 0, "graph @m(%x: u8[1,1,6,6]) -> (%y: u8[1,1,2,2]) {\n"
                              "  %r = maxpool(%x) {kernel = [2, 2], strides = [2, 2], dilations = [2, 2]} : u8[1,1,2,2]\n"
                              "  return %r\n}\n"},
    {"averagepool pads excluded", F32_TOL, "graph @m(%x: f32[1,2,5,5]) -> (%y: f32[1,2,3,3]) {\n"
                                           "  %r = averagepool(%x) {kernel = [3, 3], strides = [2, 2], pads = [1, 1, 1, 1]} : f32[1,2,3,3]\n"
                                           "  return %r\n}\n"},
    {"averagepool pads included", F32_TOL,
     "graph @m(%x: f32[1,2,5,5]) -> (%y: f32[1,2,3,3]) {\n"
     "  %r = averagepool(%x) {kernel = [3, 3], strides = [2, 2], pads = [1, 1, 1, 1], count_include_pad = 1} : f32[1,2,3,3]\n"
     "  return %r\n}\n"},
    {"global_average_pool rank 5", F32_TOL, "graph @m(%x: f32[2,3,2,3,4]) -> (%y: f32[2,3,1,1,1]) {\n"
                                            "  %r = global_average_pool(%x) : f32[2,3,1,1,1]\n  return %r\n}\n"},
    {"batch_norm", F32_TOL * 4,
     "graph @m(%x: f32[2,3,2,2], %s: f32[3], %b: f32[3], %mu: f32[3]) -> (%y: f32[2,3,2,2]) {\n"
     "  %v = const dense<[0.5, 1.0, 2.0]> : f32[3]\n"
     "  %r = batch_norm(%x, %s, %b, %mu, %v) {epsilon = 0.001} : f32[2,3,2,2]\n  return %r\n}\n"},
    {"softmax middle axis", F32_TOL * 4, "graph @m(%x: f32[2,5,3]) -> (%y: f32[2,5,3]) {\n"
                                         "  %r = softmax(%x) {axis = 1} : f32[2,5,3]\n  return %r\n}\n"},
    {"reshape and flatten (aliases, outputs copied)", 0,
     "graph @m(%x: f32[2,3,4]) -> (%y: f32[4,6], %z: f32[2,12]) {\n"
     "  %t = relu(%x) : f32[2,3,4]\n  %r = reshape(%t) {shape = [4, -1]} : f32[4,6]\n"
     "  %f = flatten(%t) {axis = 1} : f32[2,12]\n  return %r, %f\n}\n"},
    {"transpose", 0, "graph @m(%x: i32[2,3,4]) -> (%y: i32[4,2,3]) {\n"
                     "  %r = transpose(%x) {perm = [2, 0, 1]} : i32[4,2,3]\n  return %r\n}\n"},
    {"concat", 0, "graph @m(%a: f32[2,1,3], %b: f32[2,2,3], %c: f32[2,3,3]) -> (%y: f32[2,6,3]) {\n"
                  "  %r = concat(%a, %b, %c) {axis = -2} : f32[2,6,3]\n  return %r\n}\n"},
    {"fused conv+add+relu", SUM_TOL,
     "graph @m(%x: f32[1,2,5,5], %w: f32[3,2,3,3], %b: f32[1,3,1,1]) -> (%y: f32[1,3,3,3]) {\n"
     "  %o = fused \"conv_bias_relu\" (%x, %w, %b) : f32[1,3,3,3] {\n"
      "    ^(%xx, %ww, %bb):\n"
     "      %t0 = conv2d(%xx, %ww) : f32[1,3,3,3]\n      %t1 = add(%t0, %bb) : f32[1,3,3,3]\n"
     "      %t2 = relu(%t1) : f32[1,3,3,3]\n      yield %t2\n  }\n  return %o\n}\n"},
    {"outputs: an input, a constant, one value twice", 0,
     "graph @m(%x: f32[3]) -> (%a: f32[3], %b: f32[2], %c: f32[3], %d: f32[3]) {\n"
     "  %k = const dense<[1.5, -2.0]> : f32[2]\n  %s = sigmoid(%x) : f32[3]\n  return %x, %k, %s, %s\n}\n"},
    {"blocked layouts: reorder, relu and maxpool on nChw8c (10 channels: padded)", 0,
     "graph @m(%x: f32[1,10,4,4]) -> (%y: f32[1,10,2,2], %i: i64[1,10,2,2]) {\n"
     "  %b = reorder(%x) : f32[1,10,4,4] layout(nChw8c)\n  %r = relu(%b) : f32[1,10,4,4] layout(nChw8c)\n"
     "  %p, %ix = maxpool(%r) {kernel = [2, 2], strides = [2, 2]} : f32[1,10,2,2], i64[1,10,2,2]\n  return %p, %ix\n}\n"},
    {"transposed layouts: a const and an input of matmul", SUM_TOL,
     "graph @m(%a: f32[3,2], %b: f32[2,4]) -> (%y: f32[3,4]) {\n"
     "  %k = const dense<[1.0, -2.0, 0.5, 4.0, 3.0, -1.0]> : f32[3,2] layout(ba)\n"
     "  %s = add(%a, %k) : f32[3,2]\n  %t = reorder(%b) : f32[2,4] layout(ba)\n"
     "  %r = matmul(%s, %t) : f32[3,4]\n  return %r\n}\n"},
    CODEGEN_NEW_OP_CASES
};
enum { NCASES = sizeof cases / sizeof cases[0] };

/* ---- inputs ---------------------------------------------------------------------------------- */

/* splitmix64, seeded per case: the same inputs for the interpreter and the compiled code. */
static uint64_t next(uint64_t *s) {
  uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

/* Fills data (plain, of type t) with floats in [-2, 2) or integers in [-9, 9] without 0 (so
 * integer division has no zero divisor); u8 in [1, 200]. */
static void fill(const TensorType *t, void *data, uint64_t *seed) {
  int64_t n = ir_type_numel(t);
  for (int64_t i = 0; i < n; i++) {
    uint64_t r = next(seed);
    int64_t v = (int64_t)(r % 9) + 1;
    if (r & (1ull << 40)) v = -v;
    switch (t->dtype) {
    case DT_F32: ((float *)data)[i] = (float)((double)(r >> 11) / 9007199254740992.0 * 4 - 2); break;
    case DT_I8: ((int8_t *)data)[i] = (int8_t)v; break;
    case DT_U8: ((uint8_t *)data)[i] = (uint8_t)(1 + r % 200); break;
    case DT_I32: ((int32_t *)data)[i] = (int32_t)v; break;
    case DT_I64: ((int64_t *)data)[i] = v; break;
    default: ((uint8_t *)data)[i] = (uint8_t)(r & 1); break;
    }
  }
}

/* ---- building the shared object -------------------------------------------------------------- */

/* Runs argv (a NULL-terminated list) and returns its exit status (-1 if it did not exit). */
static int spawn(char *const *argv) {
  pid_t pid = fork();
  if (pid == 0) {
    execvp(argv[0], argv);
    _exit(127);
  }
  int status;
  if (pid < 0 || waitpid(pid, &status, 0) != pid || !WIFEXITED(status)) return -1;
  return WEXITSTATUS(status);
}

/* The case also compiled with --weights (the blob passed in lathe_exec.weights). */
enum { SIDECAR_CASE = 23 };
static uint8_t *sidecar_weights;
static uint64_t sidecar_size;

static Graph *graphs[NCASES];
static DiagSink sink; /* the cases' sink: it holds the texts their locations point into */
static void *so;      /* the shared object holding case0 ... caseN */

/* Parses, verifies, lowers and emits every case into LATHE_TEST_TMP/codegen/caseI.c, then
 * builds them into one shared object and loads it. */
static int setup(void **state) {
  (void)state;
  static char dir[] = LATHE_TEST_TMP "/codegen";
  static char paths[NCASES + 1][512];
  static char *argv[NCASES + 16];
  char so_path[600];
  mkdir(dir, 0777);
  int argc = 0;
  argv[argc++] = LATHE_CC;
  argv[argc++] = "-std=c99";
  argv[argc++] = "-O1";
  argv[argc++] = "-Wall";
  argv[argc++] = "-Werror";
  argv[argc++] = "-fPIC";
  argv[argc++] = "-shared";
  argv[argc++] = "-I" LATHE_SOURCE_DIR "/include";
  argv[argc++] = "-o";
  snprintf(so_path, sizeof so_path, "%s/cases.so", dir);
  argv[argc++] = so_path;
  diag_init(&sink, stderr);
  if (strcmp(cases[SIDECAR_CASE].what, "batch_norm") != 0) return -1; /* the case with a constant */
  for (int i = 0; i <= NCASES; i++) {
    DiagSink *d = &sink;
    bool side = i == NCASES; /* the last round: SIDECAR_CASE again, with its weights apart */
    int ci = side ? SIDECAR_CASE : i;
    char text[4096];
    snprintf(text, sizeof text, "lathe 1\n%s", cases[ci].text);
    Graph *g = side ? graphs[ci] : ir_parse_text(d, cases[ci].what, text, strlen(text));
    if (!g || (!side && ir_verify(g, d) != IR_OK)) {
      fprintf(stderr, "case '%s' does not verify\n", cases[ci].what);
      return -1;
    }
    NestProgram *p;
    if (cg_lower(g, d, &p) != IR_OK) return -1;
    CgArtifact a;
    char name[32];
    snprintf(name, sizeof name, side ? "sidecar" : "case%d", i);
    if (cg_artifact_init(&a, g, p, name, cases[ci].what, "c", side, d) != IR_OK) return -1;
    if (side) {
      sidecar_size = (uint64_t)p->weights_size;
      sidecar_weights = malloc(sidecar_size + 1);
      memcpy(sidecar_weights, p->weights, sidecar_size);
    }
    snprintf(paths[i], sizeof paths[i], "%s/case%d.c", dir, i);
    FILE *f = fopen(paths[i], "w");
    if (!f) return -1;
    IrStatus st = cg_emit_c(f, p, &a, d);
    fclose(f);
    if (st != IR_OK) return -1;
    argv[argc++] = paths[i];
    cg_artifact_free(&a);
    cg_nest_free(p);
    graphs[ci] = g;
  }
  argv[argc++] = "-lm";
  argv[argc] = NULL;
  if (spawn(argv) != 0) {
    fprintf(stderr, "%s could not build the cases\n", LATHE_CC);
    return -1;
  }
  so = dlopen(so_path, RTLD_NOW | RTLD_LOCAL);
  if (!so) fprintf(stderr, "dlopen: %s\n", dlerror());
  return so ? 0 : -1;
}

static int teardown(void **state) {
  (void)state;
  for (int i = 0; i < NCASES; i++) ir_graph_free(graphs[i]);
  free(sidecar_weights);
  diag_free(&sink);
  if (so) dlclose(so);
  return 0;
}

/* ---- running and comparing -------------------------------------------------------------------- */

/* Runs case i through the interpreter and the compiled code `prefix` (serially and with the
 * parallel exec; sidecar weights, when not NULL, passed in the exec) on the same inputs, and
 * compares every output element. */
static void check_case(int i, const char *prefix, const void *weights, uint64_t weights_size) {
  const Graph *g = graphs[i];
  char sym[32];
  snprintf(sym, sizeof sym, "%s_desc", prefix);
  const lathe_model_desc *desc = dlsym(so, sym);
  assert_non_null(desc);
  int nin = g->body->nparams, nout = g->body->nresults;
  void *in[16] = {0}, *want[16] = {0}, *got[16] = {0};
  uint64_t seed = 1234 + (uint64_t)i;
  for (int k = 0; k < nin; k++) {
    const TensorType *t = &g->values[g->body->params[k]].type;
    in[k] = calloc(1, (size_t)ir_type_bytes(t) + 1);
    fill(t, in[k], &seed);
  }
  for (int k = 0; k < nout; k++) {
    want[k] = calloc(1, (size_t)ir_type_bytes(&g->output_types[k]) + 1);
    got[k] = calloc(1, (size_t)ir_type_bytes(&g->output_types[k]) + 1);
  }
  DiagSink d;
  diag_init(&d, stderr);
  assert_int_equal(ir_interp_run(g, (const void *const *)in, want, &d), IR_OK);
  void *ws = NULL;
  assert_int_equal(posix_memalign(&ws, 64, (size_t)desc->record->workspace_size + 64), 0);
  lathe_exec ex = {LATHE_ABI_VERSION, sizeof(lathe_exec), uneven_parallel_for, NULL, weights, weights_size};
  lathe_exec serial = {LATHE_ABI_VERSION, sizeof(lathe_exec), NULL, NULL, weights, weights_size};
  if (weights) assert_int_equal(desc->run(NULL, (const void *const *)in, got, ws), LATHE_ERR_INPUT);
  for (int pass = 0; pass < 2; pass++) {
    for (int k = 0; k < nout; k++) memset(got[k], 0xab, (size_t)ir_type_bytes(&g->output_types[k]));
    assert_int_equal(desc->run(pass ? &ex : weights ? &serial : NULL, (const void *const *)in, got, ws), LATHE_OK);
    for (int k = 0; k < nout; k++) {
      Tensor tw = {g->output_types[k], want[k]}, tg = {g->output_types[k], got[k]};
      for (int64_t e = 0; e < ir_type_numel(&tw.type); e++) {
        double w = op_get(&tw, e), v = op_get(&tg, e);
        if (!(fabs(v - w) <= cases[i].tol * (1 + fabs(w))) && !(isnan(v) && isnan(w)))
          fail_msg("%s (%s): output %d element %lld: compiled %.9g, interpreter %.9g", cases[i].what,
                   pass ? "parallel" : "serial", k, (long long)e, v, w);
      }
    }
  }
  free(ws);
  diag_free(&d);
  for (int k = 0; k < nin; k++) free(in[k]);
  for (int k = 0; k < nout; k++) {
    free(want[k]);
    free(got[k]);
  }
}

static void test_every_case(void **state) {
  (void)state;
  for (int i = 0; i < NCASES; i++) {
    char prefix[32];
    snprintf(prefix, sizeof prefix, "case%d", i);
    check_case(i, prefix, NULL, 0);
  }
  check_case(SIDECAR_CASE, "sidecar", sidecar_weights, sidecar_size);
  /* The large convolution's nest is parallel: the exec's parallel_for ran. */
  assert_true(uneven_calls > 0);
}

/* Every op of ops.def has a lowering (what is still refused is one case of an op, as the
 * next test shows). */
static void test_ops_lowered(void **state) {
  (void)state;
  for (int op = 0; op < OP_COUNT; op++)
    if (!cg_lower_has(op)) fail_msg("op %s has no lowering", ir_ops[op].name);
  assert_false(cg_lower_has(OP_COUNT));
  assert_false(cg_lower_has(-1));
}

/* What the backends cannot compile yet is one error at the node, and no program. */
static void test_refusals(void **state) {
  (void)state;
  static const struct {
    const char *text, *want;
  } bad[] = {
      {"graph @m(%x: f32[4], %q: u8[4] quant(scale = 0.5, zero_point = 0)) -> (%y: f32[4]) {\n  return %x\n}\n",
       "refusal:2:22: error: input %q has type u8[4] quant(scale = 0x1p-1, zero_point = 0), which the compiled backends "
       "do not handle yet"},
      {"graph @m(%x: bf16[4]) -> (%y: bf16[4]) {\n  %r = relu(%x) : bf16[4]\n  return %r\n}\n",
       "refusal:2:10: error: input %x has type bf16[4], which the compiled backends do not handle yet"},
      {"graph @m(%x: f32[5]) -> (%y: f32[3]) {\n  %r = resize(%x) {mode = \"linear\", coordinate_transformation_mode = "
       "\"tf_crop_and_resize\", roi = [0.5, 1.5], sizes = [3]} : f32[3]\n  return %r\n}\n",
       "refusal:3:8: error: op resize: tf_crop_and_resize reaching outside the input has no lowering yet (the compiled "
       "backends cannot run it)"},
  };
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    DiagSink d;
    diag_start(&d);
    char text[1024];
    snprintf(text, sizeof text, "lathe 1\n%s", bad[i].text);
    Graph *g = ir_parse_text(&d, "refusal", text, strlen(text));
    assert_non_null(g);
    assert_int_equal(ir_verify(g, &d), IR_OK);
    NestProgram *p = (NestProgram *)1;
    assert_int_equal(cg_lower(g, &d, &p), IR_ERR_INPUT);
    assert_null(p);
    assert_diag_has(&d, bad[i].want);
    assert_int_equal(d.errors, 1);
    ir_graph_free(g);
    diag_end(&d);
  }
}

/* The entry point refuses a misaligned workspace and a NULL buffer (docs/abi.md). */
static void test_misaligned_and_null(void **state) {
  (void)state;
  const lathe_model_desc *desc = dlsym(so, "case0_desc");
  assert_non_null(desc);
  static float a[24], b[3], y[24];
  const void *in[2] = {a, b};
  void *out[1] = {y};
  void *ws = NULL;
  assert_int_equal(posix_memalign(&ws, 64, 128), 0);
  assert_int_equal(desc->run(NULL, in, out, (char *)ws + 4), LATHE_ERR_ALIGN);
  in[1] = NULL;
  assert_int_equal(desc->run(NULL, in, out, ws), LATHE_ERR_INPUT);
  free(ws);
}

/* A program built by hand through the API prints as docs/codegen.md describes: buffers with
 * kind, dtype, elements and position or offset; kernels as indented loops. */
static void test_nest_print(void **state) {
  (void)state;
  NestProgram *p = cg_nest_new("tiny");
  assert_non_null(p);
  static const float w[3] = {1, 2, 3};
  int x = cg_nest_add_buf(p, NEST_BUF_INPUT, "x", DT_F32, 4, 0, NULL);
  int k3 = cg_nest_add_buf(p, NEST_BUF_WEIGHT, "w", DT_F32, 3, 0, w);
  int t = cg_nest_add_buf(p, NEST_BUF_WORKSPACE, "t", DT_F32, 20, 0, NULL);
  int t2 = cg_nest_add_buf(p, NEST_BUF_WORKSPACE, "t2", DT_I64, 1, 0, NULL);
  int y = cg_nest_add_buf(p, NEST_BUF_OUTPUT, "y", DT_F32, 4, 0, NULL);
  NestKernel *k = cg_nest_kernel(p, "relu", "relu", loc_none());
  int i = cg_nest_var(p, k, "i"), acc = cg_nest_local(p, k, DT_F32);
  NestStmt *loop = cg_loop(p, &k->body, i, cg_idx(p, 0), cg_idx(p, 4));
  loop->u.loop.parallel = true;
  NestExpr *xi = cg_load(p, x, cg_var(p, i));
  cg_decl(p, &loop->u.loop.body, acc, cg_bin(p, NEST_MAX, xi, cg_const_f(p, DT_F32, 0)));
  cg_store(p, &loop->u.loop.body, y, cg_var(p, i), cg_un(p, NEST_EXP, cg_local(p, k, acc)));
  assert_false(p->arena.failed);
  /* Offsets by hand: w is 12 bytes at 0 (the blob rounds to 64); t is 80 bytes at 0 and t2
   * starts at the next multiple of 64, 128; the workspace ends at 192. */
  assert_int_equal(p->weights_size, 64);
  assert_int_equal(p->bufs[t2].offset, 128);
  assert_int_equal(p->workspace_size, 192);
  assert_int_equal(p->input_bufs[0], x);
  assert_int_equal(p->output_bufs[0], y);
  (void)k3, (void)t;
  char buf[1024] = {0};
  FILE *f = fmemopen(buf, sizeof buf - 1, "w");
  cg_nest_print(f, p);
  fclose(f);
  assert_string_equal(buf, "nest tiny  # weights 64 bytes, workspace 192 bytes\n"
                           "  input x: f32[4] #0\n"
                           "  weight w: f32[3] @0\n"
                           "  workspace t: f32[20] @0\n"
                           "  workspace t2: i64[1] @128\n"
                           "  output y: f32[4] #0\n"
                           "kernel k0_relu  # relu\n"
                           "  parallel for i0 in [0, 4):\n"
                           "    f32 $0 = max(x[i0], 0:f32)\n"
                           "    y[i0] = exp($0)\n");
  cg_nest_free(p);
}

/* Lowers and emits graph g with allocation number n failing (0: none); returns the status
 * and sets *made to the number of allocations tried. */
static IrStatus lower_and_emit(const Graph *g, uint64_t n, uint64_t *made) {
  DiagSink d;
  diag_init(&d, NULL);
  FILE *f = fopen("/dev/null", "w");
  assert_non_null(f);
  NestProgram *p = NULL;
  CgArtifact a;
  memset(&a, 0, sizeof a);
  ir_alloc_fail_after(n);
  IrStatus st = cg_lower(g, &d, &p);
  if (st == IR_OK) st = cg_artifact_init(&a, g, p, "m", NULL, "c", false, &d);
  if (st == IR_OK) st = cg_emit_c(f, p, &a, &d);
  *made = ir_alloc_fail_after(0);
  if (st != IR_OK) assert_true(d.errors > 0);
  cg_artifact_free(&a);
  cg_nest_free(p);
  fclose(f);
  diag_free(&d);
  return st;
}

/* Every allocation of lowering and emitting, made to fail in turn, gives a reported error
 * (never a crash, a leak or a silently broken program). */
static void test_alloc_failures(void **state) {
  (void)state;
  uint64_t total = 0;
  for (int i = 0; i < NCASES; i++) {
    uint64_t count, made;
    assert_int_equal(lower_and_emit(graphs[i], 0, &count), IR_OK);
    assert_true(count > 0);
    for (uint64_t n = 1; n <= count; n++) {
      IrStatus st = lower_and_emit(graphs[i], n, &made);
      if (st != IR_ERR_INPUT) fail_msg("%s: allocation %llu of %llu failing gave status %d", cases[i].what,
                                       (unsigned long long)n, (unsigned long long)count, (int)st);
    }
    total += count;
  }
  assert_true(total > 100);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_every_case),
      cmocka_unit_test(test_nest_print),
      cmocka_unit_test(test_ops_lowered),
      cmocka_unit_test(test_refusals),
      cmocka_unit_test(test_alloc_failures),
      cmocka_unit_test(test_misaligned_and_null),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}

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

#include "codegen_check.h"
#include "diag_capture.h"

#include "codegen/c/emit.h"
#include "codegen/lower.h"
#include "frontend/parser.h"
#include "ir/interp.h"
#include "ir/verify.h"

static const Case cases[] = {CODEGEN_FIRST_OP_CASES CODEGEN_NEW_OP_CASES};
enum { NCASES = sizeof cases / sizeof cases[0] };

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

/* The case also compiled with --weights (the blob passed in lathe_exec.weights): the one
 * named "batch_norm" (it has a constant), found by setup. */
static int sidecar_case = -1;
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
  for (int i = 0; i < NCASES; i++)
    if (!strcmp(cases[i].what, "batch_norm")) sidecar_case = i;
  if (sidecar_case < 0) return -1;
  for (int i = 0; i <= NCASES; i++) {
    DiagSink *d = &sink;
    bool side = i == NCASES; /* the last round: sidecar_case again, with its weights apart */
    int ci = side ? sidecar_case : i;
    Graph *g = side ? graphs[ci] : case_parse(&cases[ci], d);
    if (!g) {
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

/* Runs case i compiled as `prefix` (codegen_check.h); sidecar weights, when not NULL, in the exec. */
static void check_case(int i, const char *prefix, const void *weights, uint64_t weights_size) {
  char sym[32];
  snprintf(sym, sizeof sym, "%s_desc", prefix);
  const lathe_model_desc *desc = dlsym(so, sym);
  assert_non_null(desc);
  case_check(&cases[i], graphs[i], desc, weights ? "C, weights apart" : "C", 1234 + (uint64_t)i, weights,
             weights_size);
}

static void test_every_case(void **state) {
  (void)state;
  for (int i = 0; i < NCASES; i++) {
    char prefix[32];
    snprintf(prefix, sizeof prefix, "case%d", i);
    check_case(i, prefix, NULL, 0);
  }
  check_case(sidecar_case, "sidecar", sidecar_weights, sidecar_size);
  /* The large convolution's nest is parallel: the exec's parallel_for ran. */
  assert_true(uneven_calls > 0);
}

/* Every op of ops.def has a lowering (what is still refused is a type: quantized tensors, f16
 * and bf16, as the next test shows). */
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
      {"graph @m(%x: f32[4]) -> (%y: f32[4]) {\n  %h = cast(%x) {to = \"f16\"} : f16[4]\n"
       "  %r = cast(%h) {to = \"f32\"} : f32[4]\n  return %r\n}\n",
       "refusal:3:8: error: op cast: %h has type f16[4]; the compiled backends do not handle f16 and bf16 yet"},
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

/* Appends kernel `for v in [0, 8): dst[v] = src[v] + c` to p. */
static NestKernel *add_one_kernel(NestProgram *p, int dst, int src, double c) {
  NestKernel *k = cg_nest_kernel(p, "add", "add", loc_none());
  int v = cg_nest_var(p, k, "v");
  NestStmt *loop = cg_loop(p, &k->body, v, cg_idx(p, 0), cg_idx(p, 8));
  cg_store(p, &loop->u.loop.body, dst, cg_var(p, v),
           cg_bin(p, NEST_ADD, cg_load(p, src, cg_var(p, v)), cg_const_f(p, DT_F32, c)));
  return k;
}

/* Kernels equal up to their buffers (codegen/nest_same.c): the same statements on other
 * buffers are the same, with equal hashes, whatever memory the buffers lie in; another
 * constant (-0 against 0 included), a buffer read where the other kernel reads its own
 * result, or another dtype are not. */
static void test_kernels_same(void **state) {
  (void)state;
  NestProgram *p = cg_nest_new("same");
  assert_non_null(p);
  int a = cg_nest_add_buf(p, NEST_BUF_WORKSPACE, "a", DT_F32, 8, 0, NULL);
  int b = cg_nest_add_buf(p, NEST_BUF_WORKSPACE, "b", DT_F32, 8, 0, NULL);
  int c = cg_nest_add_buf(p, NEST_BUF_WORKSPACE, "c", DT_F32, 8, 0, NULL);
  int y = cg_nest_add_buf(p, NEST_BUF_OUTPUT, "y", DT_F32, 8, 0, NULL);
  int n = cg_nest_add_buf(p, NEST_BUF_WORKSPACE, "n", DT_I32, 8, 0, NULL);
  NestKernel *k[7] = {
      add_one_kernel(p, b, a, 1.0),  /* 0: b = a + 1 */
      add_one_kernel(p, c, b, 1.0),  /* 1: c = b + 1, the same up to buffers */
      add_one_kernel(p, y, a, 1.0),  /* 2: y = a + 1, the same (an output buffer) */
      add_one_kernel(p, c, b, 2.0),  /* 3: another constant */
      add_one_kernel(p, b, b, 1.0),  /* 4: reads the buffer it writes (one buffer, not two) */
      add_one_kernel(p, c, b, -0.0), /* 5: -0 ... */
      add_one_kernel(p, c, b, 0.0),  /* 6: ... against 0 */
  };
  /* 7: n = n + 1 in i32: the shape of 4 on another dtype. */
  NestKernel *ki = cg_nest_kernel(p, "add", "add", loc_none());
  int v = cg_nest_var(p, ki, "v");
  NestStmt *loop = cg_loop(p, &ki->body, v, cg_idx(p, 0), cg_idx(p, 8));
  cg_store(p, &loop->u.loop.body, n, cg_var(p, v), cg_bin(p, NEST_ADD, cg_load(p, n, cg_var(p, v)), cg_const_i(p, DT_I32, 1)));
  assert_false(p->arena.failed);
  NestBufOrder o[8];
  uint64_t h[8];
  for (int i = 0; i < 8; i++) assert_true(cg_nest_buf_order(p, i < 7 ? k[i] : ki, &o[i], &h[i]));
  /* First use: the store's buffer, then the load's. */
  assert_int_equal(o[1].n, 2);
  assert_int_equal(o[1].bufs[0], c);
  assert_int_equal(o[1].bufs[1], b);
  assert_int_equal(o[1].local[a], -1);
  assert_int_equal(o[4].n, 1);
  static const bool want[8] = {true, true, true, false, false, false, false, false};
  for (int i = 0; i < 8; i++) {
    bool same = cg_nest_kernel_same(p, k[0], &o[0], i < 7 ? k[i] : ki, &o[i]);
    if (same != want[i]) fail_msg("kernel %d: same %d, expected %d", i, same, want[i]);
    if (want[i]) assert_true(h[i] == h[0]);
  }
  assert_false(cg_nest_kernel_same(p, k[5], &o[5], k[6], &o[6]));
  assert_false(cg_nest_kernel_same(p, k[4], &o[4], ki, &o[7]));
  /* b = a + a against b = a + b: two buffers each, numbered alike, but the second load is
   * of the first kernel's second buffer and of the other's first. */
  NestKernel *k2[2];
  NestBufOrder o2[2];
  uint64_t h2[2];
  for (int i = 0; i < 2; i++) {
    k2[i] = cg_nest_kernel(p, "add", "add", loc_none());
    int u = cg_nest_var(p, k2[i], "v");
    NestStmt *l = cg_loop(p, &k2[i]->body, u, cg_idx(p, 0), cg_idx(p, 8));
    cg_store(p, &l->u.loop.body, b, cg_var(p, u),
             cg_bin(p, NEST_ADD, cg_load(p, a, cg_var(p, u)), cg_load(p, i ? b : a, cg_var(p, u))));
    assert_false(p->arena.failed);
    assert_true(cg_nest_buf_order(p, k2[i], &o2[i], &h2[i]));
    assert_int_equal(o2[i].n, 2);
  }
  assert_false(cg_nest_kernel_same(p, k2[0], &o2[0], k2[1], &o2[1]));
  for (int i = 0; i < 2; i++) cg_nest_buf_order_free(&o2[i]);
  for (int i = 0; i < 8; i++) cg_nest_buf_order_free(&o[i]);
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
      cmocka_unit_test(test_kernels_same),
      cmocka_unit_test(test_ops_lowered),
      cmocka_unit_test(test_refusals),
      cmocka_unit_test(test_alloc_failures),
      cmocka_unit_test(test_misaligned_and_null),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}

/* test_llvm_nest.c — the LLVM backend on loop nests from the lowering (codegen/lower.c):
 * the digits model compiled to a .so for every target this machine runs, against the
 * probabilities torch computed (examples/digits/test_probs.npy); and models of the ops whose
 * translation differs most (vector bodies and tails, vector exp/tanh, i64 moves) and every
 * case of codegen_cases.h, against the reference interpreter (codegen_check.h), serially and
 * through an uneven parallel_for, on every target: native, x86-64-v3 and generic run where
 * the CPU has their features; x86-64-v4 is always compiled and its assembly checked for zmm
 * registers, but run only on a CPU with AVX-512 (skipped otherwise, never counted passed): it
 * is a ctest entry of its own, unit.test_llvm_nest.x86-64-v4 (`test_llvm_nest x86-64-v4`). */
#define _GNU_SOURCE /* memmem */
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
#include <time.h>

#include "codegen/artifact.h"
#include "codegen/llvm/nest.h"
#include "codegen/lower.h"
#include "frontend/npy.h"
#include "frontend/parser.h"
#include "ir/fs.h"
#include "ir/interp.h"
#include "ir/op.h"
#include "ir/verify.h"
#include "codegen_check.h"
#include "llvm_harness.h"

#define DIGITS LATHE_SOURCE_DIR "/examples/digits/"

/* Lowers g and compiles it with the LLVM backend for target into LLVM_DIR/base.so (and .s,
 * and .ll when with_ir); returns the dlopened object. */
static void *compile_graph(const Graph *g, const char *target, const char *base, bool with_ir) {
  DiagSink d;
  diag_init(&d, stderr);
  NestProgram *p;
  assert_int_equal(cg_lower(g, &d, &p), IR_OK);
  CgArtifact a;
  assert_int_equal(cg_artifact_init(&a, g, p, "m", base, target, false, &d), IR_OK);
  char so[512], as[512], ll[512];
  snprintf(so, sizeof so, LLVM_DIR "%s.so", base);
  snprintf(as, sizeof as, LLVM_DIR "%s.s", base);
  snprintf(ll, sizeof ll, LLVM_DIR "%s.ll", base);
  LlvmEmitPaths paths = {.so = so, .asm_ = as, .ir = with_ir ? ll : NULL};
  assert_int_equal(cg_llvm_compile(p, &a, target, &paths, &d), IR_OK);
  cg_artifact_free(&a);
  cg_nest_free(p);
  diag_free(&d);
  void *h = dlopen(so, RTLD_NOW | RTLD_LOCAL);
  if (!h) fprintf(stderr, "dlopen: %s\n", dlerror());
  assert_non_null(h);
  return h;
}

static double seconds(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* The digits model: accuracy above 90 % and every probability within 1e-5 of torch's, on
 * each target; the time per image against the interpreter's is printed (a figure). */
static void test_digits(void **state) {
  (void)state;
  DiagSink d;
  diag_init(&d, stderr);
  Graph *g;
  assert_int_equal(ir_load(&d, DIGITS "digits.lathe", LOAD_VERIFY | LOAD_WEIGHTS, &g), IR_OK);
  Tensor images, labels, probs;
  IrBuffer *ib, *lb, *pb;
  assert_int_equal(npy_read(DIGITS "test_images.npy", &images, &ib, &d), IR_OK);
  assert_int_equal(npy_read(DIGITS "test_labels.npy", &labels, &lb, &d), IR_OK);
  assert_int_equal(npy_read(DIGITS "test_probs.npy", &probs, &pb, &d), IR_OK);
  int64_t count = labels.type.dims[0];
  float out[10];
  double t0 = seconds();
  for (int64_t k = 0; k < count; k++) {
    const void *in[1] = {(const float *)images.data + k * 64};
    void *o[1] = {out};
    assert_int_equal(ir_interp_run(g, in, o, &d), IR_OK);
  }
  double interp = (seconds() - t0) / (double)count;
  static const char *const targets[] = {"generic", "x86-64-v3", "x86-64-v4", "native"};
  for (size_t t = 0; t < sizeof targets / sizeof targets[0]; t++) {
    char base[64];
    snprintf(base, sizeof base, "digits_%s", targets[t]);
    void *h = compile_graph(g, targets[t], base, false);
    const lathe_model_desc *desc = model_sym(h, "m", "desc");
    if (strcmp(targets[t], "x86-64-v4") == 0) {
      /* The vectorizer used 512-bit registers for the convolutions and the dense layer. */
      char path[512];
      snprintf(path, sizeof path, LLVM_DIR "%s.s", base);
      IrBuffer *text = NULL;
      assert_int_equal(ir_read_file(path, IR_MAX_FILE_BYTES, &text, &d), IR_OK);
      assert_non_null(memmem(text->data, (size_t)text->size, "zmm", 3));
      ir_buffer_unref(text);
    }
    if (!cpu_runs(desc->record->cpu_features)) {
      printf("digits %s: not run (this CPU lacks its features)\n", targets[t]);
      dlclose(h);
      continue;
    }
    void *ws = aligned_alloc(64, (size_t)desc->record->workspace_size + 64);
    assert_non_null(ws);
    int correct = 0;
    double worst = 0;
    int reps = 20;
    t0 = seconds();
    for (int r = 0; r < reps; r++)
      for (int64_t k = 0; k < count; k++) {
        const void *in[1] = {(const float *)images.data + k * 64};
        void *o[1] = {out};
        assert_int_equal(desc->run(NULL, in, o, ws), LATHE_OK);
        if (r) continue;
        int best = 0;
        for (int c = 0; c < 10; c++) {
          double diff = fabs((double)out[c] - ((const float *)probs.data)[k * 10 + c]);
          if (diff > worst) worst = diff;
          if (out[c] > out[best]) best = c;
        }
        correct += best == ((const int64_t *)labels.data)[k];
      }
    double compiled = (seconds() - t0) / (double)(count * reps);
    printf("digits %-9s accuracy %d/%lld, largest difference from torch %.3g; %.2f us per image "
           "(interpreter %.1f us, %.0fx)\n", targets[t], correct, (long long)count, worst,
           compiled * 1e6, interp * 1e6, interp / compiled);
    assert_true(correct > 0.9 * (double)count);
    assert_true(worst < 1e-5);
    free(ws);
    dlclose(h);
  }
  ir_buffer_unref(ib);
  ir_buffer_unref(lb);
  ir_buffer_unref(pb);
  ir_graph_free(g);
  diag_free(&d);
}

/* ---- ops against the interpreter ------------------------------------------------------------ */

/* Every case of codegen_cases.h, and cases for what the LLVM translation does apart: vector
 * bodies with scalar tails, vector exp/tanh, a vectorized inner product, i64 moves. */
static const Case cases[] = {
    CODEGEN_FIRST_OP_CASES
    {"div u8 (37: vector body and tail)", 0,
     "graph @m(%a: u8[37], %b: u8[37]) -> (%y: u8[37]) {\n  %r = div(%a, %b) : u8[37]\n  return %r\n}\n"},
    {"relu i8 (19)", 0, "graph @m(%a: i8[19]) -> (%y: i8[19]) {\n  %r = relu(%a) : i8[19]\n  return %r\n}\n"},
    {"sigmoid, tanh (300: vmath)", 1e-6, "graph @m(%a: f32[300]) -> (%y: f32[300], %z: f32[300]) {\n"
                                         "  %s = sigmoid(%a) : f32[300]\n  %t = tanh(%a) : f32[300]\n  return %s, %t\n}\n"},
    {"matmul batched (vectorized inner loop)", 1e-5,
     "graph @m(%a: f32[2,1,3,40], %b: f32[3,40,33]) -> (%y: f32[2,3,3,33]) {\n"
     "  %r = matmul(%a, %b) : f32[2,3,3,33]\n  return %r\n}\n"},
    {"transpose i64", 0, "graph @m(%x: i64[2,3,4]) -> (%y: i64[4,2,3]) {\n"
                         "  %r = transpose(%x) {perm = [2, 0, 1]} : i64[4,2,3]\n  return %r\n}\n"},
    {"concat, clip", 0, "graph @m(%a: f32[2,1,3], %b: f32[2,2,3]) -> (%y: f32[2,3,3]) {\n"
                        "  %c = concat(%a, %b) {axis = 1} : f32[2,3,3]\n"
                        "  %r = clip(%c) {min = -0.25, max = 0.5} : f32[2,3,3]\n  return %r\n}\n"},
    CODEGEN_NEW_OP_CASES
};
enum { NCASES = sizeof cases / sizeof cases[0] };

static bool target_skipped; /* a target's cases were compiled but not run */

/* Compiles every case for target, keeping each one's assembly; when this CPU runs the code,
 * runs each against the interpreter (codegen_check.h), serially and in parallel. For
 * x86-64-v4 the assembly of the cases together must use 512-bit (zmm) registers. A target
 * this CPU cannot run is reported skipped (cmocka's skip), never passed. */
static void check_target(const char *target) {
  DiagSink d;
  diag_init(&d, stderr);
  LlvmTarget t;
  assert_int_equal(cg_llvm_target_init(&t, target, &d), IR_OK);
  bool runs = cpu_runs(t.cpu_features);
  cg_llvm_target_free(&t);
  int zmm = 0;
  uneven_calls = 0;
  for (int i = 0; i < NCASES; i++) {
    Graph *g = case_parse(&cases[i], &d);
    assert_non_null(g);
    char base[64];
    snprintf(base, sizeof base, "case%d_%s", i, target);
    void *h = compile_graph(g, target, base, false);
    char path[512];
    snprintf(path, sizeof path, LLVM_DIR "%s.s", base);
    IrBuffer *text = NULL;
    assert_int_equal(ir_read_file(path, IR_MAX_FILE_BYTES, &text, &d), IR_OK);
    zmm += memmem(text->data, (size_t)text->size, "zmm", 3) != NULL;
    ir_buffer_unref(text);
    if (runs) case_check(&cases[i], g, model_sym(h, "m", "desc"), target, 99u + (uint64_t)i, NULL, 0);
    dlclose(h);
    ir_graph_free(g);
  }
  diag_free(&d);
  if (!strcmp(target, "x86-64-v4")) {
    printf("x86-64-v4: %d of %d cases use zmm registers\n", zmm, NCASES);
    assert_true(zmm > 0);
  }
  if (!runs) {
    printf("%s: %d cases compiled, not run: this CPU lacks the target's features (skipped)\n", target, NCASES);
    target_skipped = true;
    skip();
  }
  printf("%s: %d cases compiled and run against the interpreter\n", target, NCASES);
  assert_true(uneven_calls > 0); /* the large convolution went through parallel_for */
}

/* ---- kernels that share a function ------------------------------------------------------- */

/* Three convolutions of one shape, one strided, and three relus, each of 6400 results, so
 * each has a parallel loop, outlined into a noinline function (the kernels themselves may
 * be inlined into the body): the second and third convolutions read and write only the
 * workspace and their weights, so they are the same function; the first reads the input %x,
 * which may be the same memory as its weight %w1 (two inputs), so its alias facts differ and
 * it keeps its own; the strided one is other code. The first two relus work in place (one
 * buffer each) and share a function; the third writes the output %r3 (two buffers) and has
 * its own. */
static const Case shared_case = {
    /* Four chained sums of 36 products of values in [-2, 2) reach partial sums in the
     * hundreds: reordered rounding there shows as 2e-4 on a result near 1 (compiled with
     * or without sharing); a kernel given another's buffers is off by whole units. */
    "shared kernels", 1e-3,
    "graph @m(%x: f32[1,4,40,40], %w1: f32[4,4,3,3], %w2: f32[4,4,3,3], %w3: f32[4,4,3,3],\n"
    "         %w4: f32[16,4,3,3]) -> (%y: f32[1,4,40,40], %z: f32[1,16,20,20]) {\n"
    "  %a = conv2d(%x, %w1) {pads = [1, 1, 1, 1]} : f32[1,4,40,40]\n"
    "  %r1 = relu(%a) : f32[1,4,40,40]\n"
    "  %b = conv2d(%r1, %w2) {pads = [1, 1, 1, 1]} : f32[1,4,40,40]\n"
    "  %r2 = relu(%b) : f32[1,4,40,40]\n"
    "  %c = conv2d(%r2, %w3) {pads = [1, 1, 1, 1]} : f32[1,4,40,40]\n"
    "  %r3 = relu(%c) : f32[1,4,40,40]\n"
    "  %s = conv2d(%r3, %w4) {strides = [2, 2], pads = [1, 1, 1, 1]} : f32[1,16,20,20]\n"
    "  return %r3, %s\n}\n"};

/* Counts the lines of text that contain both a and b. */
static int count_lines(const IrBuffer *text, const char *a, const char *b) {
  int n = 0;
  const char *s = (const char *)text->data, *end = s + text->size;
  while (s < end) {
    const char *nl = memchr(s, '\n', (size_t)(end - s));
    size_t len = nl ? (size_t)(nl - s) : (size_t)(end - s);
    if (memmem(s, len, a, strlen(a)) && memmem(s, len, b, strlen(b))) n++;
    s += len + 1;
  }
  return n;
}

/* The LLVM IR defines one outlined loop for each group of kernels equal up to their buffers
 * (codegen/nest_same.c), and the results (each kernel given its own buffers) match the
 * interpreter, serially and in parallel. */
static void test_shared_kernels(void **state) {
  (void)state;
  DiagSink d;
  diag_init(&d, stderr);
  Graph *g = case_parse(&shared_case, &d);
  assert_non_null(g);
  void *h = compile_graph(g, "native", "shared", true);
  IrBuffer *ll = NULL;
  assert_int_equal(ir_read_file(LLVM_DIR "shared.ll", IR_MAX_FILE_BYTES, &ll, &d), IR_OK);
  int conv_fns = count_lines(ll, "define internal ", "_conv2d_p0(");
  int relu_fns = count_lines(ll, "define internal ", "_relu_p0(");
  printf("shared kernels: %d conv2d loop functions for 4 kernels, %d relu loop functions for 3\n", conv_fns, relu_fns);
  ir_buffer_unref(ll);
  case_check(&shared_case, g, model_sym(h, "m", "desc"), "native", 7, NULL, 0);
  assert_int_equal(conv_fns, 3);
  assert_int_equal(relu_fns, 2);
  dlclose(h);
  ir_graph_free(g);
  diag_free(&d);
}

static void test_cases_native(void **state) { (void)state; check_target("native"); }
static void test_cases_x86_64_v3(void **state) { (void)state; check_target("x86-64-v3"); }
static void test_cases_generic(void **state) { (void)state; check_target("generic"); }

/* `test_llvm_nest TARGET` runs only the cases of TARGET (ctest's unit.test_llvm_nest.x86-64-v4):
 * exit 77, which ctest reports as skipped, when the CPU cannot run its code. Without an
 * argument: the digits model, then the cases on native, x86-64-v3 and generic. */
static const char *only_target;
static void test_cases_only(void **state) { (void)state; check_target(only_target); }

int main(int argc, char **argv) {
  if (argc > 1) {
    only_target = argv[1];
    const struct CMUnitTest one[] = {cmocka_unit_test(test_cases_only)};
    int failed = cmocka_run_group_tests(one, llvm_dir_setup, NULL);
    return failed ? failed : target_skipped ? 77 : 0;
  }
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_digits),
      cmocka_unit_test(test_shared_kernels),
      cmocka_unit_test(test_cases_native),
      cmocka_unit_test(test_cases_x86_64_v3),
      cmocka_unit_test(test_cases_generic),
  };
  return cmocka_run_group_tests(tests, llvm_dir_setup, NULL);
}

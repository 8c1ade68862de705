/* test_llvm_nest.c — the LLVM backend on loop nests from the lowering (codegen/lower.c):
 * the digits model compiled to a .so for every target this machine runs, against the
 * probabilities torch computed (examples/digits/test_probs.npy); and models of the ops whose
 * translation differs most (parallel loops, reductions, select, integer division, u8, i64
 * indices) and every op lowered since (codegen_cases.h) against the reference interpreter,
 * serially and through an uneven parallel_for. */
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
#include "codegen_cases.h"
#include "llvm_harness.h"

#define DIGITS LATHE_SOURCE_DIR "/examples/digits/"

/* Lowers g and compiles it with the LLVM backend for target into LLVM_DIR/base.so (and .s);
 * returns the dlopened object. */
static void *compile_graph(const Graph *g, const char *target, const char *base) {
  DiagSink d;
  diag_init(&d, stderr);
  NestProgram *p;
  assert_int_equal(cg_lower(g, &d, &p), IR_OK);
  CgArtifact a;
  assert_int_equal(cg_artifact_init(&a, g, p, "m", base, target, false, &d), IR_OK);
  char so[512], as[512];
  snprintf(so, sizeof so, LLVM_DIR "%s.so", base);
  snprintf(as, sizeof as, LLVM_DIR "%s.s", base);
  LlvmEmitPaths paths = {.so = so, .asm_ = as};
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
    void *h = compile_graph(g, targets[t], base);
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

typedef struct Case {
  const char *what;
  double tol; /* floats: |compiled - interpreter| <= tol * (1 + |interpreter|); integers exact */
  const char *text;
} Case;

static const Case cases[] = {
    {"conv2d large (parallel loop)", 1e-5,
     "graph @m(%x: f32[2,3,20,20], %w: f32[8,3,3,3]) -> (%y: f32[2,8,20,20]) {\n"
     "  %r = conv2d(%x, %w) {pads = [1, 1, 1, 1]} : f32[2,8,20,20]\n  return %r\n}\n"},
    {"maxpool pads, ceil_mode, indices", 0,
     "graph @m(%x: f32[1,2,7,6]) -> (%y: f32[1,2,4,3], %i: i64[1,2,4,3]) {\n"
     "  %r, %ix = maxpool(%x) {kernel = [3, 2], strides = [2, 2], pads = [1, 0, 1, 1], ceil_mode = 1} : f32[1,2,4,3], i64[1,2,4,3]\n"
     "  return %r, %ix\n}\n"},
    {"div i32 broadcast", 0, "graph @m(%a: i32[2,3], %b: i32[3]) -> (%y: i32[2,3]) {\n  %r = div(%a, %b) : i32[2,3]\n  return %r\n}\n"},
    {"div u8", 0, "graph @m(%a: u8[37], %b: u8[37]) -> (%y: u8[37]) {\n  %r = div(%a, %b) : u8[37]\n  return %r\n}\n"},
    {"relu i8", 0, "graph @m(%a: i8[19]) -> (%y: i8[19]) {\n  %r = relu(%a) : i8[19]\n  return %r\n}\n"},
    {"sigmoid, tanh", 1e-6, "graph @m(%a: f32[300]) -> (%y: f32[300], %z: f32[300]) {\n"
                            "  %s = sigmoid(%a) : f32[300]\n  %t = tanh(%a) : f32[300]\n  return %s, %t\n}\n"},
    {"softmax middle axis", 4e-6, "graph @m(%x: f32[2,5,3]) -> (%y: f32[2,5,3]) {\n"
                                  "  %r = softmax(%x) {axis = 1} : f32[2,5,3]\n  return %r\n}\n"},
    {"gemm transposed, alpha, beta", 1e-5,
     "graph @m(%a: f32[4,3], %b: f32[5,4], %c: f32[5]) -> (%y: f32[3,5]) {\n"
     "  %r = gemm(%a, %b, %c) {transA = 1, transB = 1, alpha = 0.5, beta = 2.0} : f32[3,5]\n  return %r\n}\n"},
    {"matmul batched", 1e-5, "graph @m(%a: f32[2,1,3,40], %b: f32[3,40,33]) -> (%y: f32[2,3,3,33]) {\n"
                             "  %r = matmul(%a, %b) : f32[2,3,3,33]\n  return %r\n}\n"},
    {"averagepool pads", 1e-6, "graph @m(%x: f32[1,2,5,5]) -> (%y: f32[1,2,3,3]) {\n"
                               "  %r = averagepool(%x) {kernel = [3, 3], strides = [2, 2], pads = [1, 1, 1, 1]} : f32[1,2,3,3]\n"
                               "  return %r\n}\n"},
    {"transpose i64", 0, "graph @m(%x: i64[2,3,4]) -> (%y: i64[4,2,3]) {\n"
                         "  %r = transpose(%x) {perm = [2, 0, 1]} : i64[4,2,3]\n  return %r\n}\n"},
    {"concat, clip", 0, "graph @m(%a: f32[2,1,3], %b: f32[2,2,3]) -> (%y: f32[2,3,3]) {\n"
                        "  %c = concat(%a, %b) {axis = 1} : f32[2,3,3]\n"
                        "  %r = clip(%c) {min = -0.25, max = 0.5} : f32[2,3,3]\n  return %r\n}\n"},
    CODEGEN_NEW_OP_CASES
};
enum { NCASES = sizeof cases / sizeof cases[0] };

/* Fills data of type t from the generator state s: floats in [-2, 2), integers in [1, 9]
 * with random sign (no zero divisors: the interpreter refuses division by zero), u8 in
 * [1, 250]. */
static void fill(const TensorType *t, void *data, uint32_t *s) {
  for (int64_t i = 0; i < ir_type_numel(t); i++) {
    *s = *s * 1664525u + 1013904223u;
    uint32_t r = *s >> 8;
    int v = (int)(r % 9) + 1;
    if (r & 0x8000) v = -v;
    switch (t->dtype) {
    case DT_F32: ((float *)data)[i] = (float)r / 16777216.0f * 4.0f - 2.0f; break;
    case DT_I8: ((int8_t *)data)[i] = (int8_t)v; break;
    case DT_U8: ((uint8_t *)data)[i] = (uint8_t)(1 + r % 250); break;
    case DT_I32: ((int32_t *)data)[i] = v; break;
    case DT_I64: ((int64_t *)data)[i] = v; break;
    default: ((uint8_t *)data)[i] = (uint8_t)(r & 1); break;
    }
  }
}

/* Compiles case c for target (the digits test covers the other targets), runs it serially and in parallel, compares with the interpreter. */
static void check_case(const Case *c, int index, const char *target) {
  DiagSink d;
  diag_init(&d, stderr);
  char text[4096];
  snprintf(text, sizeof text, "lathe 1\n%s", c->text);
  Graph *g = ir_parse_text(&d, c->what, text, strlen(text));
  assert_non_null(g);
  assert_int_equal(ir_verify(g, &d), IR_OK);
  char base[64];
  snprintf(base, sizeof base, "case%d_%s", index, target);
  void *h = compile_graph(g, target, base);
  const lathe_model_desc *desc = model_sym(h, "m", "desc");
  int nin = g->body->nparams, nout = g->body->nresults;
  void *in[16] = {0}, *want[16] = {0}, *got[16] = {0};
  uint32_t seed = 99u + (uint32_t)index;
  for (int k = 0; k < nin; k++) {
    const TensorType *t = &g->values[g->body->params[k]].type;
    in[k] = calloc(1, (size_t)ir_type_bytes(t) + 8);
    fill(t, in[k], &seed);
  }
  for (int k = 0; k < nout; k++) {
    want[k] = calloc(1, (size_t)ir_type_bytes(&g->output_types[k]) + 8);
    got[k] = calloc(1, (size_t)ir_type_bytes(&g->output_types[k]) + 8);
  }
  assert_int_equal(ir_interp_run(g, (const void *const *)in, want, &d), IR_OK);
  void *ws = aligned_alloc(64, (size_t)desc->record->workspace_size + 64);
  lathe_exec ex = {LATHE_ABI_VERSION, sizeof(lathe_exec), uneven_parallel_for, NULL, NULL, 0};
  for (int pass = 0; pass < 2; pass++) {
    for (int k = 0; k < nout; k++) memset(got[k], 0xab, (size_t)ir_type_bytes(&g->output_types[k]));
    assert_int_equal(desc->run(pass ? &ex : NULL, (const void *const *)in, got, ws), LATHE_OK);
    for (int k = 0; k < nout; k++) {
      Tensor tw = {g->output_types[k], want[k]}, tg = {g->output_types[k], got[k]};
      for (int64_t e = 0; e < ir_type_numel(&tw.type); e++) {
        double w = op_get(&tw, e), v = op_get(&tg, e);
        if (!(fabs(v - w) <= c->tol * (1 + fabs(w))) && !(isnan(v) && isnan(w)))
          fail_msg("%s on %s (%s): output %d element %lld: compiled %.9g, interpreter %.9g", c->what,
                   target, pass ? "parallel" : "serial", k, (long long)e, v, w);
      }
    }
  }
  free(ws);
  for (int k = 0; k < nin; k++) free(in[k]);
  for (int k = 0; k < nout; k++) {
    free(want[k]);
    free(got[k]);
  }
  dlclose(h);
  ir_graph_free(g);
  diag_free(&d);
}

static void test_ops_against_interpreter(void **state) {
  (void)state;
  for (int i = 0; i < NCASES; i++) check_case(&cases[i], i, "native");
  assert_true(uneven_calls > 0); /* the large convolution went through parallel_for */
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_digits),
      cmocka_unit_test(test_ops_against_interpreter),
  };
  return cmocka_run_group_tests(tests, llvm_dir_setup, NULL);
}

/* test_digits.c — the bundled digits model on the interpreter, as written (-O0) and after the
 * -O2 pipeline (batch-norm folded, epilogues fused): held-out accuracy above 90 % and every
 * output probability within 1e-5 of what torch computed when the model was trained
 * (examples/digits/test_probs.npy, written by train.py: an independent reference). */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "frontend/npy.h"
#include "frontend/parser.h"
#include "ir/interp.h"
#include "passes/pass.h"

#define DIR LATHE_SOURCE_DIR "/examples/digits/"

/* Runs the passes of optimization level `level` on g. */
static void optimize(Graph *g, int level, DiagSink *d) {
  int n;
  const Pass *const *passes = pass_level(level, &n);
  PassCtx c = {d, false, NULL};
  assert_int_equal(pass_run_pipeline(g, passes, n, NULL, &c), IR_OK);
  pass_plan_free(c.plan);
}

/* Top-level nodes of g with op. */
static int count_op(const Graph *g, int op) {
  int n = 0;
  for (int i = 0; i < g->body->nnodes; i++) n += g->nodes[g->body->nodes[i]].op == op;
  return n;
}

static void check_level(int level) {
  DiagSink d;
  diag_init(&d, stderr);
  Graph *g;
  assert_int_equal(ir_load(&d, DIR "digits.lathe", LOAD_VERIFY | LOAD_WEIGHTS, &g), IR_OK);
  optimize(g, level, &d);
  if (level == 2) { /* bn folded, relus fused */
    assert_int_equal(count_op(g, OP_BATCH_NORM) + count_op(g, OP_RELU), 0);
    assert_int_equal(count_op(g, OP_FUSED), 3);
  }
  Tensor images, labels, probs;
  IrBuffer *ib, *lb, *pb;
  assert_int_equal(npy_read(DIR "test_images.npy", &images, &ib, &d), IR_OK);
  assert_int_equal(npy_read(DIR "test_labels.npy", &labels, &lb, &d), IR_OK);
  assert_int_equal(npy_read(DIR "test_probs.npy", &probs, &pb, &d), IR_OK);
  int64_t count = labels.type.dims[0];
  assert_int_equal(count, 360);
  assert_int_equal(ir_type_numel(&images.type), count * 64);
  int correct = 0;
  double worst = 0;
  for (int64_t k = 0; k < count; k++) {
    float out[10];
    const void *in[1] = {(const float *)images.data + k * 64};
    void *o[1] = {out};
    assert_int_equal(ir_interp_run(g, in, o, &d), IR_OK);
    int best = 0;
    for (int c = 0; c < 10; c++) {
      double diff = fabs((double)out[c] - ((const float *)probs.data)[k * 10 + c]);
      if (diff > worst) worst = diff;
      if (out[c] > out[best]) best = c;
    }
    correct += best == ((const int64_t *)labels.data)[k];
  }
  print_message("-O%d: accuracy %d/%lld, largest difference from torch %.3g\n", level, correct, (long long)count, worst);
  assert_true(correct > 0.9 * (double)count);
  assert_true(worst < 1e-5);
  ir_buffer_unref(ib);
  ir_buffer_unref(lb);
  ir_buffer_unref(pb);
  ir_graph_free(g);
  diag_free(&d);
}

static void test_digits_O0(void **state) {
  (void)state;
  check_level(0);
}

static void test_digits_O2(void **state) {
  (void)state;
  check_level(2);
}

int main(void) {
  const struct CMUnitTest tests[] = {cmocka_unit_test(test_digits_O0), cmocka_unit_test(test_digits_O2)};
  return cmocka_run_group_tests(tests, NULL, NULL);
}

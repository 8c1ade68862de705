/* test_digits.c — the bundled digits model on the interpreter: held-out accuracy above 90 %
 * and every output probability within 1e-5 of what torch computed when the model was
 * trained (examples/digits/test_probs.npy, written by train.py: an independent reference). */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "frontend/npy.h"
#include "frontend/parser.h"
#include "ir/interp.h"

#define DIR LATHE_SOURCE_DIR "/examples/digits/"

static void test_digits_accuracy_and_agreement(void **state) {
  (void)state;
  DiagSink d;
  diag_init(&d, stderr);
  Graph *g;
  assert_int_equal(ir_load(&d, DIR "digits.lathe", LOAD_VERIFY | LOAD_WEIGHTS, &g), IR_OK);
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
  print_message("accuracy %d/%lld, largest difference from torch %.3g\n", correct, (long long)count, worst);
  assert_true(correct > 0.9 * (double)count);
  assert_true(worst < 1e-5);
  ir_buffer_unref(ib);
  ir_buffer_unref(lb);
  ir_buffer_unref(pb);
  ir_graph_free(g);
  diag_free(&d);
}

int main(void) {
  const struct CMUnitTest tests[] = {cmocka_unit_test(test_digits_accuracy_and_agreement)};
  return cmocka_run_group_tests(tests, NULL, NULL);
}

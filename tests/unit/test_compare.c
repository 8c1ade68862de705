/* test_compare.c — ir_compare (ir/compare.c), the comparison of --verify-each, --bisect and
 * --compare, on values whose differences are worked out by hand. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "ir/compare.h"

/* ir_compare of two vectors of n elements of dtype dt. */
static IrDiff compare(DType dt, int64_t n, const void *got, const void *want, double rtol, double atol) {
  TensorType t = {dt, 1, {n}, NULL, NULL};
  IrTolerance tol = {rtol, atol};
  IrDiff x;
  assert_true(ir_compare(&t, got, want, &tol, &x));
  return x;
}

/* Within |got - want| <= atol + rtol |want|; the largest differences over all elements. */
static void test_f32_tolerance(void **state) {
  (void)state;
  /* element 1: |2.001 - 2| ~ 0.001 <= 1e-4 + 2e-3; element 4: 1e-5 <= 1e-4 (relative 1);
   * element 5: 1 > 1e-4 + 4e-3 (relative 0.25). NaN against NaN and inf against inf agree. */
  const float got[] = {1.0f, 2.001f, NAN, INFINITY, 0.0f, 5.0f};
  const float want[] = {1.0f, 2.0f, NAN, INFINITY, 1e-5f, 4.0f};
  IrDiff x = compare(DT_F32, 6, got, want, 1e-3, 1e-4);
  assert_int_equal(x.numel, 6);
  assert_int_equal(x.bad, 1);
  assert_int_equal(x.first_bad, 5);
  assert_true(x.got == 5.0 && x.want == 4.0);
  assert_true(x.max_abs == 1.0);
  assert_true(fabs(x.max_rel - 1.0) < 1e-12);
  /* A tolerance of 0: only equal values agree (elements 1, 4 and 5 differ). */
  x = compare(DT_F32, 6, got, want, 0, 0);
  assert_int_equal(x.bad, 3);
  assert_int_equal(x.first_bad, 1);
}

/* A NaN against a number, and opposite infinities, never agree. */
static void test_nan_and_infinities(void **state) {
  (void)state;
  const float got[] = {NAN, 1.0f, -INFINITY};
  const float want[] = {1.0f, NAN, INFINITY};
  IrDiff x = compare(DT_F32, 3, got, want, 1e9, 1e9);
  assert_int_equal(x.bad, 3);
  assert_int_equal(x.first_bad, 0);
  assert_true(isinf(x.max_abs));
}

/* Integers are compared exactly, whatever the tolerance. */
static void test_integers_exact(void **state) {
  (void)state;
  const int32_t got[] = {3, 4, -7}, want[] = {3, 5, -7};
  IrDiff x = compare(DT_I32, 3, got, want, 10, 10);
  assert_int_equal(x.bad, 1);
  assert_int_equal(x.first_bad, 1);
  assert_true(x.max_abs == 1.0);
}

/* f16 is widened: 1 against 1 + 2^-10 (the next f16) is a relative difference of ~9.76e-4. */
static void test_f16_widened(void **state) {
  (void)state;
  const uint16_t got[] = {0x3c00}, want[] = {0x3c01}; /* 1.0, 1.0009765625 */
  IrDiff x = compare(DT_F16, 1, got, want, 1e-3, 0);
  assert_int_equal(x.bad, 0);
  assert_true(x.max_abs == 0.0009765625);
  assert_int_equal(compare(DT_F16, 1, got, want, 1e-4, 0).bad, 1);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_f32_tolerance),
      cmocka_unit_test(test_nan_and_infinities),
      cmocka_unit_test(test_integers_exact),
      cmocka_unit_test(test_f16_widened),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}

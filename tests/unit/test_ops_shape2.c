/* test_ops_shape2.c — the shape rules and reference kernels of split, slice, gather,
 * squeeze, unsqueeze, pad, expand, conv_transpose, resize, lstm and gru. The expected values
 * of the rearranging ops were worked out by hand (the reasoning is in the comments); those of
 * conv_transpose, resize, lstm and gru were computed with numpy (and torch for
 * conv_transpose) by tests/unit/rnn_reference.py, which prints them. */
#include "op_harness.h"

/* 0, 1, 2, ... as f32: the input most tests rearrange, so each result names its source. */
static const float iota[64] = {0,  1,  2,  3,  4,  5,  6,  7,  8,  9,  10, 11, 12, 13, 14, 15,
                               16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31,
                               32, 33, 34, 35, 36, 37, 38, 39, 40, 41, 42, 43, 44, 45, 46, 47,
                               48, 49, 50, 51, 52, 53, 54, 55, 56, 57, 58, 59, 60, 61, 62, 63};

/* ---- split ---------------------------------------------------------------------------------- */

/* [2,5] split along axis -1 into [2, 3]: rows 0..4 and 5..9 dealt out per row. */
static void test_split_sizes_negative_axis(void **state) {
  (void)state;
  Run r;
  run_init(&r, OP_SPLIT);
  run_in(&r, ty(DT_F32, 2, 2, 5), iota);
  run_out(&r, 1, ty(DT_F32, 2, 2, 3));
  attr_int(&r, "axis", -1);
  attr_ints(&r, "split", 2, 2, 3);
  run_ok(&r);
  check_type(&r.out_t[0], DT_F32, 2, 2, 2);
  check_type(&r.out_t[1], DT_F32, 2, 2, 3);
  check_f32(&r.out[0], (const float[]){0, 1, 5, 6}, 4);
  check_f32(&r.out[1], (const float[]){2, 3, 4, 7, 8, 9}, 6);
  run_free(&r);
}

/* Without split, [6] into 3 equal parts of 2; a part may be empty when split says so. */
static void test_split_equal_and_empty(void **state) {
  (void)state;
  Run r;
  run_init(&r, OP_SPLIT);
  run_in(&r, ty(DT_I64, 1, 6), (const int64_t[]){10, 11, 12, 13, 14, 15});
  run_out(&r, 2, ty(DT_I64, 1, 2));
  run_ok(&r);
  check_i64(&r.out[0], (const int64_t[]){10, 11}, 2);
  check_i64(&r.out[1], (const int64_t[]){12, 13}, 2);
  check_i64(&r.out[2], (const int64_t[]){14, 15}, 2);
  run_free(&r);
  run_init(&r, OP_SPLIT);
  run_in(&r, ty(DT_F32, 1, 3), iota);
  run_out(&r, 1, ty(DT_F32, 1, 3));
  attr_ints(&r, "split", 2, 0, 3);
  run_ok(&r);
  check_type(&r.out_t[0], DT_F32, 1, 0);
  check_f32(&r.out[1], (const float[]){0, 1, 2}, 3);
  run_free(&r);
}

/* Parts that do not add up, an uneven default split, a count mismatch, a bad axis. */
static void test_split_errors(void **state) {
  (void)state;
  static const struct { int nout, nsplit, s0, s1, axis; } cases[] = {
      {2, 2, 2, 2, 0}, /* 4 != 5 */
      {2, 0, 0, 0, 0}, /* 5 does not divide by 2 */
      {2, 1, 5, 0, 0}, /* one entry for two results */
      {2, 2, 6, -1, 0}, /* negative part */
      {2, 2, 2, 3, 1}, /* axis 1 of a rank-1 input */
  };
  for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
    Run r;
    run_init(&r, OP_SPLIT);
    run_in(&r, ty(DT_F32, 1, 5), NULL);
    run_out(&r, cases[i].nout - 1, ty(DT_F32, 1, 1));
    if (cases[i].nsplit == 2) attr_ints(&r, "split", 2, cases[i].s0, cases[i].s1);
    if (cases[i].nsplit == 1) attr_ints(&r, "split", 1, cases[i].s0);
    attr_int(&r, "axis", cases[i].axis);
    run_bad(&r);
    run_free(&r);
  }
}

/* ---- slice ---------------------------------------------------------------------------------- */

/* [3,4] = rows 0..2 of 0..11. starts [1, 0] ends [100, -1]: rows 1..2 (end clamped to 3),
 * columns 0..2 (end -1 = 3). */
static void test_slice_clamp(void **state) {
  (void)state;
  Run r;
  run_init(&r, OP_SLICE);
  run_in(&r, ty(DT_F32, 2, 3, 4), iota);
  attr_ints(&r, "starts", 2, 1, 0);
  attr_ints(&r, "ends", 2, 100, -1);
  run_ok(&r);
  check_type(&r.out_t[0], DT_F32, 2, 2, 3);
  check_f32(&r.out[0], (const float[]){4, 5, 6, 8, 9, 10}, 6);
  run_free(&r);
}

/* Negative steps on axes [-1, 0] of [3,4]: columns from 100 (clamped to 3) down to -100
 * (clamped to -1, so column 0 may be reached) by -2: 3, 1; rows from -1 (= 2) down to 0,
 * excluded, by -1: 2, 1. */
static void test_slice_negative_steps(void **state) {
  (void)state;
  Run r;
  run_init(&r, OP_SLICE);
  run_in(&r, ty(DT_F32, 2, 3, 4), iota);
  attr_ints(&r, "starts", 2, 100, -1);
  attr_ints(&r, "ends", 2, -100, 0);
  attr_ints(&r, "axes", 2, -1, 0);
  attr_ints(&r, "steps", 2, -2, -1);
  run_ok(&r);
  check_type(&r.out_t[0], DT_F32, 2, 2, 2);
  /* rows 2, 1; columns 3, 1: 11, 9, 7, 5 */
  check_f32(&r.out[0], (const float[]){11, 9, 7, 5}, 4);
  run_free(&r);
}

/* A start past an end gives an empty result; step 3 over 0..9 from 1 takes 1, 4, 7. */
static void test_slice_empty_and_stride(void **state) {
  (void)state;
  Run r;
  run_init(&r, OP_SLICE);
  run_in(&r, ty(DT_F32, 1, 10), iota);
  attr_ints(&r, "starts", 1, 5);
  attr_ints(&r, "ends", 1, 2);
  run_ok(&r);
  check_type(&r.out_t[0], DT_F32, 1, 0);
  run_free(&r);
  run_init(&r, OP_SLICE);
  run_in(&r, ty(DT_F32, 1, 10), iota);
  attr_ints(&r, "starts", 1, 1);
  attr_ints(&r, "ends", 1, 9);
  attr_ints(&r, "steps", 1, 3);
  run_ok(&r);
  check_f32(&r.out[0], (const float[]){1, 4, 7}, 3);
  run_free(&r);
}

/* A zero step, a repeated axis, an axis out of range, starts and ends of unequal length. */
static void test_slice_errors(void **state) {
  (void)state;
  for (int k = 0; k < 4; k++) {
    Run r;
    run_init(&r, OP_SLICE);
    run_in(&r, ty(DT_F32, 2, 3, 4), NULL);
    if (k == 3) {
      attr_ints(&r, "starts", 2, 0, 0);
      attr_ints(&r, "ends", 1, 1);
    } else {
      attr_ints(&r, "starts", 2, 0, 0);
      attr_ints(&r, "ends", 2, 1, 1);
    }
    if (k == 0) attr_ints(&r, "steps", 2, 1, 0);
    if (k == 1) attr_ints(&r, "axes", 2, 1, -1);
    if (k == 2) attr_ints(&r, "axes", 2, 0, 2);
    run_bad(&r);
    run_free(&r);
  }
}

/* ---- gather --------------------------------------------------------------------------------- */

/* [3,4] gather axis 1 with i32 indices [[-1, 0], [2, 2]]: result [3,2,2]; row r takes
 * columns 3, 0, 2, 2 of row r. */
static void test_gather_negative_indices(void **state) {
  (void)state;
  Run r;
  run_init(&r, OP_GATHER);
  run_in(&r, ty(DT_F32, 2, 3, 4), iota);
  run_in(&r, ty(DT_I32, 2, 2, 2), (const int32_t[]){-1, 0, 2, 2});
  attr_int(&r, "axis", -1);
  run_ok(&r);
  check_type(&r.out_t[0], DT_F32, 3, 3, 2, 2);
  check_f32(&r.out[0], (const float[]){3, 0, 2, 2, 7, 4, 6, 6, 11, 8, 10, 10}, 12);
  run_free(&r);
}

/* Axis 0 with a scalar i64 index -3 picks row 0 and drops the axis: [4]. An index out of
 * range fails at run time; float indices fail the shape rule. */
static void test_gather_scalar_and_errors(void **state) {
  (void)state;
  Run r;
  run_init(&r, OP_GATHER);
  run_in(&r, ty(DT_F32, 2, 3, 4), iota);
  run_in(&r, ty(DT_I64, 0), (const int64_t[]){-3});
  run_ok(&r);
  check_type(&r.out_t[0], DT_F32, 1, 4);
  check_f32(&r.out[0], (const float[]){0, 1, 2, 3}, 4);
  run_free(&r);
  run_init(&r, OP_GATHER);
  run_in(&r, ty(DT_F32, 2, 3, 4), iota);
  run_in(&r, ty(DT_I64, 1, 1), (const int64_t[]){3});
  assert_true(run_infer(&r));
  assert_int_equal(run_eval(&r), IR_ERR_INPUT);
  run_free(&r);
  run_init(&r, OP_GATHER);
  run_in(&r, ty(DT_F32, 2, 3, 4), NULL);
  run_in(&r, ty(DT_F32, 1, 1), NULL);
  run_bad(&r);
  run_free(&r);
}

/* ---- squeeze / unsqueeze -------------------------------------------------------------------- */

/* [1,3,1,2]: axes [-2] gives [1,3,2]; no axes gives [3,2]; axes [] (present, empty) keeps
 * [1,3,1,2]; axes [1] (size 3) is an error. */
static void test_squeeze(void **state) {
  (void)state;
  for (int k = 0; k < 4; k++) {
    Run r;
    run_init(&r, OP_SQUEEZE);
    run_in(&r, ty(DT_F32, 4, 1, 3, 1, 2), iota);
    if (k == 0) attr_ints(&r, "axes", 1, -2);
    if (k == 2) attr_ints(&r, "axes", 0);
    if (k == 3) {
      attr_ints(&r, "axes", 1, 1);
      run_bad(&r);
      run_free(&r);
      continue;
    }
    run_ok(&r);
    if (k == 0) check_type(&r.out_t[0], DT_F32, 3, 1, 3, 2);
    if (k == 1) check_type(&r.out_t[0], DT_F32, 2, 3, 2);
    if (k == 2) check_type(&r.out_t[0], DT_F32, 4, 1, 3, 1, 2);
    check_f32(&r.out[0], iota, 6);
    run_free(&r);
  }
}

/* [3,2] unsqueeze axes [-1, 0]: result rank 4, ones at 3 and 0: [1,3,2,1]. A repeated axis
 * (1 and -3 of rank 4) is an error. */
static void test_unsqueeze(void **state) {
  (void)state;
  Run r;
  run_init(&r, OP_UNSQUEEZE);
  run_in(&r, ty(DT_F32, 2, 3, 2), iota);
  attr_ints(&r, "axes", 2, -1, 0);
  run_ok(&r);
  check_type(&r.out_t[0], DT_F32, 4, 1, 3, 2, 1);
  check_f32(&r.out[0], iota, 6);
  run_free(&r);
  run_init(&r, OP_UNSQUEEZE);
  run_in(&r, ty(DT_F32, 2, 3, 2), NULL);
  attr_ints(&r, "axes", 2, 1, -3);
  run_bad(&r);
  run_free(&r);
}

/* ---- pad ------------------------------------------------------------------------------------ */

/* [2,3] = [[0,1,2],[3,4,5]], pads [0,2,1,1] (begin rows 0, cols 2; end rows 1, cols 1). */
static void test_pad_modes(void **state) {
  (void)state;
  /* constant 9: [[9,9,0,1,2,9],[9,9,3,4,5,9],[9,9,9,9,9,9]] */
  static const float constant[] = {9, 9, 0, 1, 2, 9, 9, 9, 3, 4, 5, 9, 9, 9, 9, 9, 9, 9};
  /* reflect: columns -2,-1 read 2,1; column 3 reads 1; row 2 reads row 0:
   * [[2,1,0,1,2,1],[5,4,3,4,5,4],[2,1,0,1,2,1]] */
  static const float reflect[] = {2, 1, 0, 1, 2, 1, 5, 4, 3, 4, 5, 4, 2, 1, 0, 1, 2, 1};
  /* edge: [[0,0,0,1,2,2],[3,3,3,4,5,5],[3,3,3,4,5,5]] */
  static const float edge[] = {0, 0, 0, 1, 2, 2, 3, 3, 3, 4, 5, 5, 3, 3, 3, 4, 5, 5};
  static const char *const modes[] = {"constant", "reflect", "edge"};
  static const float *const want[] = {constant, reflect, edge};
  for (int k = 0; k < 3; k++) {
    Run r;
    run_init(&r, OP_PAD);
    run_in(&r, ty(DT_F32, 2, 2, 3), iota);
    attr_ints(&r, "pads", 4, 0, 2, 1, 1);
    attr_str(&r, "mode", modes[k]);
    if (k == 0) attr_float(&r, "value", 9);
    run_ok(&r);
    check_type(&r.out_t[0], DT_F32, 2, 3, 6);
    check_f32(&r.out[0], want[k], 18);
    run_free(&r);
  }
}

/* Reflect wider than the input mirrors again (numpy): [0,1,2] padded 4 left: indices -4..-1
 * read 0, 1, 2, 1 (period 4). Negative pads crop: [0..5] with pads [-2, 1] gives 2..5, 0
 * (constant 0). i32 keeps its dtype. */
static void test_pad_wide_reflect_and_crop(void **state) {
  (void)state;
  Run r;
  run_init(&r, OP_PAD);
  run_in(&r, ty(DT_F32, 1, 3), iota);
  attr_ints(&r, "pads", 2, 4, 0);
  attr_str(&r, "mode", "reflect");
  run_ok(&r);
  check_f32(&r.out[0], (const float[]){0, 1, 2, 1, 0, 1, 2}, 7);
  run_free(&r);
  run_init(&r, OP_PAD);
  run_in(&r, ty(DT_I32, 1, 6), (const int32_t[]){0, 1, 2, 3, 4, 5});
  attr_ints(&r, "pads", 2, -2, 1);
  run_ok(&r);
  check_type(&r.out_t[0], DT_I32, 1, 5);
  check_i32(&r.out[0], (const int32_t[]){2, 3, 4, 5, 0}, 5);
  run_free(&r);
}

/* A pads list of the wrong length, an unknown mode, a crop below zero, edge on an empty
 * dimension; pads [] is right for a rank-0 input. */
static void test_pad_errors(void **state) {
  (void)state;
  for (int k = 0; k < 4; k++) {
    Run r;
    run_init(&r, OP_PAD);
    run_in(&r, k == 3 ? ty(DT_F32, 1, 0) : ty(DT_F32, 1, 3), NULL);
    if (k == 0) attr_ints(&r, "pads", 1, 1);
    if (k == 1) {
      attr_ints(&r, "pads", 2, 1, 1);
      attr_str(&r, "mode", "wrap");
    }
    if (k == 2) attr_ints(&r, "pads", 2, -2, -2);
    if (k == 3) {
      attr_ints(&r, "pads", 2, 1, 0);
      attr_str(&r, "mode", "edge");
    }
    run_bad(&r);
    run_free(&r);
  }
  Run r;
  run_init(&r, OP_PAD);
  run_in(&r, ty(DT_F32, 0), (const float[]){7});
  attr_ints(&r, "pads", 0);
  run_ok(&r);
  check_type(&r.out_t[0], DT_F32, 0);
  check_f32(&r.out[0], (const float[]){7}, 1);
  run_free(&r);
}

/* ---- expand --------------------------------------------------------------------------------- */

/* [3,1] expanded to [2,1,4]: broadcast both ways gives [2,3,4]; each row r is 4 copies of r. */
static void test_expand(void **state) {
  (void)state;
  Run r;
  run_init(&r, OP_EXPAND);
  run_in(&r, ty(DT_F32, 2, 3, 1), iota);
  attr_ints(&r, "shape", 3, 2, 1, 4);
  run_ok(&r);
  check_type(&r.out_t[0], DT_F32, 3, 2, 3, 4);
  float want[24];
  for (int i = 0; i < 24; i++) want[i] = (float)((i / 4) % 3);
  check_f32(&r.out[0], want, 24);
  run_free(&r);
  run_init(&r, OP_EXPAND);
  run_in(&r, ty(DT_F32, 2, 3, 2), NULL);
  attr_ints(&r, "shape", 1, 3);
  run_bad(&r);
  run_free(&r);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_split_sizes_negative_axis),
      cmocka_unit_test(test_split_equal_and_empty),
      cmocka_unit_test(test_split_errors),
      cmocka_unit_test(test_slice_clamp),
      cmocka_unit_test(test_slice_negative_steps),
      cmocka_unit_test(test_slice_empty_and_stride),
      cmocka_unit_test(test_slice_errors),
      cmocka_unit_test(test_gather_negative_indices),
      cmocka_unit_test(test_gather_scalar_and_errors),
      cmocka_unit_test(test_squeeze),
      cmocka_unit_test(test_unsqueeze),
      cmocka_unit_test(test_pad_modes),
      cmocka_unit_test(test_pad_wide_reflect_and_crop),
      cmocka_unit_test(test_pad_errors),
      cmocka_unit_test(test_expand),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}

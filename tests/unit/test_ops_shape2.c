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

/* ---- values computed by tests/unit/rnn_reference.py (numpy and torch) ------------------------- */

static const float rnn_x[] = {0.250190943, 0.794427574, 0.551371396, -0.54958564, -0.399667442, 0.74710691, -0.989469409, 0.64245683, 0.594138861, -0.0641300976, -0.393935144, -0.443148762};
static const float lstm_w[] = {-0.490260839, -0.109847389, 0.00909651816, 0.106994703, 0.991000593, 0.585323811, 0.244358465, 0.977920294, -0.569382608, -0.67957592, 0.225079209, -0.912115991, -0.928639472, 0.0297776405, -0.0675879493, 0.834335566, 0.258452505, 0.0282352939, -0.00625312934, -0.504970133, -0.976411939, -0.615195692, 0.384064227, -0.598786533, -0.260927379, -0.992531538, 0.660095453, -0.691077828, -0.464801401, 0.760664284, 0.0195816197, 0.694300473};
static const float lstm_r[] = {0.279434323, 0.483541906, -0.817008793, 0.0822876394, 0.0155444723, 0.742678761, -0.27747187, 0.196368128, -0.881496727, -0.224736392, -0.353927314, -0.699600518, 0.632676184, -0.241107658, 0.957495749, 0.179983392, 0.210112512, 0.275993168, 0.352900475, -0.698423982, -0.119373068, -0.520872056, -0.195003405, -0.806591809, 0.93565613, -0.569991946, 0.343530327, -0.399159849, 0.748154044, 0.324429482, -0.736768365, 0.690148652};
static const float lstm_b[] = {0.444948167, 0.403916776, 0.0697191507, -0.35454005, -0.307536513, 0.427905679, 0.0523264892, -0.319447488, 0.384056896, 0.141571701, 0.0696942732, -0.123712167, -0.0890447199, -0.260510772, -0.461942703, 0.376218796, -0.0322697833, 0.0476351976, -0.177836686, 0.251324922, -0.47480312, -0.127814725, -0.469649702, -0.377107888, 0.467148244, 0.157760724, -0.0717797503, 0.0237401072, 0.372809201, -0.155789331, 0.090290986, 0.183684379};
static const float lstm_h0[] = {-0.289172441, 0.0381969735, 0.53049475, 0.8183586, -0.69787544, 0.866838813, -0.989642262, 0.505954981};
static const float lstm_c0[] = {0.621053636, -0.726471901, -0.162192702, 0.630512536, -0.971457601, 0.256923884, 0.586047292, 0.0260071661};
static const float lstm_y[] = {-0.164653714, 0.000161024669, -0.36382199, 0.12075161, 0.022938953, 0.120532781, -0.155594686, -0.0910788427, -0.0932965114, 0.180323211, -0.0308658161, 0.18571166, -0.00259370811, 0.109952702, 0.0472557044, 0.0867457639, -0.357679041, 0.0546122774, 0, 0, -0.143030347, 0.166219971, 0, 0};
static const float lstm_yh[] = {-0.357679041, 0.0546122774, -0.0308658161, 0.18571166, 0.022938953, 0.120532781, -0.155594686, -0.0910788427};
static const float lstm_yc[] = {-0.569127549, 0.131673541, -0.0761963988, 0.383119485, 0.0880387666, 0.273290388, -0.43838825, -0.135499456};
static const float gru_w[] = {0.45169884, -0.547153056, -0.602957726, -0.273746103, -0.641187966, -0.307877123, 0.896248102, 0.146665439, -0.319863856, -0.456950754, 0.90407896, -0.11104358, 0.960789502, 0.0310453381, 0.0423322581, 0.793081045, 0.485534847, 0.161305726, -0.146700993, 0.75637573, -0.1767077, 0.845519125, -0.862569273, -0.140006274};
static const float gru_r[] = {0.0390296392, 0.90187639, -0.498001516, 0.612078309, 0.352942407, 0.434171796, 0.259244353, 0.943121433, -0.334637076, -0.203448877, -0.594176471, -0.898591876, -0.574183583, 0.830928802, 0.680337608, -0.775188506, 0.207558051, -0.0416070111, 0.189369738, 0.31855002, -0.38668102, 0.922701716, -0.0683199316, 0.256201714};
static const float gru_b[] = {0.13522619, -0.316110611, -0.438134581, -0.0884831771, 0.264030099, 0.315221786, 0.229989246, -0.386795044, 0.413354874, 0.302036583, 0.377691358, 0.0233041532, 0.415635437, -0.453347772, -0.469711155, -0.479784429, -0.24723132, -0.251430213, -0.312496662, 0.0670558214, -0.461014152, 0.0903878659, -0.333988845, 0.177873716};
static const float gru_h0[] = {-0.957849264, -0.378859609, 0.87668258, 0.0767927617, 0.623174787, 0.316052169, 0.221501574, -0.617494643};
static const float gru0_y[] = {-0.21529349, 0.347713932, 0.776641926, 0.419978629, 0.0579396481, -0.17840931, -0.381365095, -0.379323021, 0.080841975, 0.0205624005, 0.592305126, -0.323132208, 0.0865088456, -0.0303200495, -0.103021203, -0.23619586, 0.199350054, 0.52008397, 0, 0, 0.180363959, -0.143107547, 0, 0};
static const float gru0_yh[] = {0.199350054, 0.52008397, 0.592305126, -0.323132208, 0.0579396481, -0.17840931, -0.381365095, -0.379323021};
static const float gru1_y[] = {-0.376030706, 0.385440727, 0.739257621, 0.358478663, 0.231305448, -0.23377709, -0.201134393, -0.437310021, -0.0749712375, 0.0670789976, 0.518908674, -0.323066467, 0.262657951, -0.0942359956, 0.239044278, -0.258100657, 0.0326856049, 0.524448231, 0, 0, 0.229730055, -0.184228236, 0, 0};
static const float gru1_yh[] = {0.0326856049, 0.524448231, 0.518908674, -0.323066467, 0.231305448, -0.23377709, -0.201134393, -0.437310021};
static const float ct_x[] = {-2, -1.75, -1.5, -1.25, -1, -0.75, -0.5, -0.25, 0, 0.25, 0.5, 0.75, 1, 1.25, 1.5, 1.75, 2, 2.25};
static const float ct_w[] = {-0.875, -0.75, -0.625, -0.5, -0.375, -0.25, -0.125, 0, 0.125, 0.25, 0.375, 0.5, 0.625, 0.75, 0.875, 1};
static const float ct_b[] = {0.5, -1, 0.25, 2};
static const float ct_y_groups[] = {1.5, 1.59375, 1.375, 1.4375, 1.25, 1.4375, 1.375, 1.25, 1.15625, 1.0625, 1.125, 1.125, 1, 0.96875, 0.875, 0.875, 0.71875, 0.6875, 0.5, 0.5, 0.75, 0.65625, 0.625, 0.5, 0.5, -1, -0.78125, -1, -0.8125, -1, -0.6875, -0.625, -0.75, -0.71875, -0.8125, -1, -0.875, -1, -0.90625, -1, -0.875, -0.90625, -0.9375, -1, -1, -1, -0.96875, -1, -1, -1, 0.375, 0.4375, 0.5, 0.53125, 0.625, 0.5, 0.40625, 0.5625, 0.4375, 0.625, 0.75, 0.71875, 0.875, 0.8125, 1, 0.6875, 0.5, 0.75, 0.53125, 0.8125, 1.125, 1, 1.25, 1.09375, 1.375, 2.25, 2.4375, 2.5, 2.65625, 2.75, 2.75, 2.78125, 2.9375, 2.9375, 3.125, 3, 3.09375, 3.25, 3.3125, 3.5, 3.3125, 3.25, 3.5, 3.40625, 3.6875, 3.75, 3.75, 4, 3.96875, 4.25};
static const float ct_y_shape[] = {0.9375, 0, 0.875, 0.75, 0, 0.65625, 0.5625, 1.375, 0, 1.3125, 1.0625, 0, 0.9375, 0.75, 0.625, 0, 0.625, 0.5, 0, 0.46875, 0.375, 0.25, 0, 0.15625, 0.125, 0, 0, 0, 0.3125, 0, 0.375, 0.25, 0, 0.28125, 0.1875, 0.125, 0, 0.3125, 0.0625, 0, 0.1875, 0, 0, 0, 0.125, 0, 0, 0.09375, 0, 0, 0, 0.03125, 0, 0, 0, 0};
static const float rs_linear_half_pixel[] = {1, 1.25, 1.75, 2, 1.5, 1.75, 2.25, 2.5, 2.5, 2.75, 3.25, 3.5, 3, 3.25, 3.75, 4};
static const float rs_linear_align_corners[] = {0, 0.5, 1, 1.5, 2, 2, 3.25, 4.5, 6.75, 9, 4, 6, 8, 12, 16};
static const float rs_cubic_in[] = {0, 0.100000001, 0.400000006, 0.899999976, 1.60000002, 2.5, 3.5999999, 4.9000001, 6.4000001, 8.10000038, 10, 12.1000004, 14.3999996, 16.8999996, 19.6000004, 22.5};
static const float rs_cubic_half_pixel[] = {0.128854558, 0.209172145, 0.41177091, 0.64193207, 1.08619773, 1.40123749, 3.28715372, 3.90937567, 4.99861193, 5.85972309, 7.19062567, 8.04757118, 13.126935, 14.2910604, 16.2669334, 17.758997, 19.9765358, 21.3753834};

/* ---- conv_transpose ------------------------------------------------------------------------- */

/* Groups 2, strides 2, pads 1, output_padding 1, bias: (3 - 1) * 2 + 1 + 2 - 2 = 5 per side
 * (torch.nn.functional.conv_transpose2d). */
static void test_conv_transpose_groups(void **state) {
  (void)state;
  Run r;
  run_init(&r, OP_CONV_TRANSPOSE);
  run_in(&r, ty(DT_F32, 4, 1, 2, 3, 3), ct_x);
  run_in(&r, ty(DT_F32, 4, 2, 2, 2, 2), ct_w);
  run_in(&r, ty(DT_F32, 1, 4), ct_b);
  attr_ints(&r, "strides", 2, 2, 2);
  attr_ints(&r, "pads", 4, 1, 1, 1, 1);
  attr_ints(&r, "output_padding", 2, 1, 1);
  attr_int(&r, "group", 2);
  run_ok(&r);
  check_type(&r.out_t[0], DT_F32, 4, 1, 4, 5, 5);
  check_f32(&r.out[0], ct_y_groups, 100);
  /* every input element meets every tap of its group's 2 kernels: 18 * 2 * 4 */
  assert_int_equal(run_macs(&r), 144);
  run_free(&r);
}

/* output_shape [4, 7] with strides [1, 3] and dilations [2, 1]: the full result is [5, 8];
 * the total padding 1 per dimension goes to the start, as ONNX splits it. */
static void test_conv_transpose_output_shape(void **state) {
  (void)state;
  Run r;
  run_init(&r, OP_CONV_TRANSPOSE);
  run_in(&r, ty(DT_F32, 4, 1, 1, 3, 3), ct_x);
  run_in(&r, ty(DT_F32, 4, 1, 2, 2, 2), ct_w);
  attr_ints(&r, "strides", 2, 1, 3);
  attr_ints(&r, "dilations", 2, 2, 1);
  attr_ints(&r, "output_shape", 2, 4, 7);
  run_ok(&r);
  check_type(&r.out_t[0], DT_F32, 4, 1, 2, 4, 7);
  check_f32(&r.out[0], ct_y_shape, 56);
  run_free(&r);
}

/* Weight channels that do not match, output_padding not below the stride, pads cropping
 * more than the output. */
static void test_conv_transpose_errors(void **state) {
  (void)state;
  for (int k = 0; k < 3; k++) {
    Run r;
    run_init(&r, OP_CONV_TRANSPOSE);
    run_in(&r, ty(DT_F32, 4, 1, 2, 3, 3), NULL);
    run_in(&r, k == 0 ? ty(DT_F32, 4, 3, 1, 2, 2) : ty(DT_F32, 4, 2, 1, 2, 2), NULL);
    if (k == 1) attr_ints(&r, "output_padding", 2, 1, 0);
    if (k == 2) attr_ints(&r, "pads", 4, 3, 0, 3, 0);
    run_bad(&r);
    run_free(&r);
  }
}

/* ---- resize --------------------------------------------------------------------------------- */

/* Linear, half_pixel, [2,2] to sizes [4,4] (torch bilinear, align_corners = False). */
static void test_resize_linear_half_pixel(void **state) {
  (void)state;
  Run r;
  run_init(&r, OP_RESIZE);
  run_in(&r, ty(DT_F32, 4, 1, 1, 2, 2), (const float[]){1, 2, 3, 4});
  attr_str(&r, "mode", "linear");
  attr_ints(&r, "sizes", 4, 1, 1, 4, 4);
  run_ok(&r);
  check_type(&r.out_t[0], DT_F32, 4, 1, 1, 4, 4);
  check_f32(&r.out[0], rs_linear_half_pixel, 16);
  run_free(&r);
}

/* Linear, align_corners, [2,3] to [3,5] (torch bilinear, align_corners = True). */
static void test_resize_linear_align_corners(void **state) {
  (void)state;
  Run r;
  run_init(&r, OP_RESIZE);
  run_in(&r, ty(DT_F32, 4, 1, 1, 2, 3), (const float[]){0, 1, 2, 4, 8, 16});
  attr_str(&r, "mode", "linear");
  attr_str(&r, "coordinate_transformation_mode", "align_corners");
  attr_ints(&r, "sizes", 4, 1, 1, 3, 5);
  run_ok(&r);
  check_f32(&r.out[0], rs_linear_align_corners, 15);
  run_free(&r);
}

/* Cubic (a = -0.75), half_pixel, [4,4] to [3,6] (torch bicubic, align_corners = False). */
static void test_resize_cubic(void **state) {
  (void)state;
  Run r;
  run_init(&r, OP_RESIZE);
  run_in(&r, ty(DT_F32, 4, 1, 1, 4, 4), rs_cubic_in);
  attr_str(&r, "mode", "cubic");
  attr_ints(&r, "sizes", 4, 1, 1, 3, 6);
  run_ok(&r);
  check_f32(&r.out[0], rs_cubic_half_pixel, 18);
  run_free(&r);
}

/* Nearest on [10, 20, 30, 40] with scales [0.75] (3 results), by hand. asymmetric maps
 * x to x / 0.75 = 0, 1.33, 2.67: floor 0, 1, 2; ceil 0, 2, 3; round_prefer_ceil 0, 1, 3.
 * half_pixel maps x to (x + 0.5) / 0.75 - 0.5 = 0.17, 1.5, 2.83: round_prefer_floor 0, 1,
 * 3 and round_prefer_ceil 0, 2, 3. */
static void test_resize_nearest_modes(void **state) {
  (void)state;
  static const struct { const char *coord, *nearest; float want[3]; } cases[] = {
      {"asymmetric", "floor", {10, 20, 30}},
      {"asymmetric", "ceil", {10, 30, 40}},
      {"asymmetric", "round_prefer_ceil", {10, 20, 40}},
      {"half_pixel", "round_prefer_floor", {10, 20, 40}},
      {"half_pixel", "round_prefer_ceil", {10, 30, 40}},
  };
  for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
    Run r;
    run_init(&r, OP_RESIZE);
    run_in(&r, ty(DT_F32, 1, 4), (const float[]){10, 20, 30, 40});
    attr_str(&r, "coordinate_transformation_mode", cases[i].coord);
    attr_str(&r, "nearest_mode", cases[i].nearest);
    attr_floats(&r, "scales", 1, 0.75);
    run_ok(&r);
    check_type(&r.out_t[0], DT_F32, 1, 3);
    check_f32(&r.out[0], cases[i].want, 3);
    run_free(&r);
  }
}

/* One result from [10, 20, 30, 40], linear: pytorch_half_pixel maps it to -0.5, halfway
 * between the edge copy and element 0: 10; half_pixel maps it to 0.5 / 0.25 - 0.5 = 1.5:
 * 25. tf_crop_and_resize on [0..4] with roi [0.25, 0.75] and sizes [3] reads 1 + x: 1, 2,
 * 3; with roi [0.5, 1.5] it reads 2, 4, 6, and 6 lies outside: the extrapolation value. */
static void test_resize_coordinate_modes(void **state) {
  (void)state;
  static const char *const coords[] = {"pytorch_half_pixel", "half_pixel"};
  static const float one[] = {10, 25};
  for (int k = 0; k < 2; k++) {
    Run r;
    run_init(&r, OP_RESIZE);
    run_in(&r, ty(DT_F32, 1, 4), (const float[]){10, 20, 30, 40});
    attr_str(&r, "mode", "linear");
    attr_str(&r, "coordinate_transformation_mode", coords[k]);
    attr_ints(&r, "sizes", 1, 1);
    run_ok(&r);
    check_f32(&r.out[0], &one[k], 1);
    run_free(&r);
  }
  static const float roi_lo[2] = {0.25, 0.5}, roi_hi[2] = {0.75, 1.5}, want[2][3] = {{1, 2, 3}, {2, 4, -1}};
  for (int k = 0; k < 2; k++) {
    Run r;
    run_init(&r, OP_RESIZE);
    run_in(&r, ty(DT_F32, 1, 5), iota);
    attr_str(&r, "mode", "linear");
    attr_str(&r, "coordinate_transformation_mode", "tf_crop_and_resize");
    attr_floats(&r, "roi", 2, (double)roi_lo[k], (double)roi_hi[k]);
    attr_float(&r, "extrapolation_value", -1);
    attr_ints(&r, "sizes", 1, 3);
    run_ok(&r);
    check_f32(&r.out[0], want[k], 3);
    run_free(&r);
  }
}

/* Both scales and sizes, neither, a wrong count, an unknown mode, linear on integers. */
static void test_resize_errors(void **state) {
  (void)state;
  for (int k = 0; k < 5; k++) {
    Run r;
    run_init(&r, OP_RESIZE);
    run_in(&r, ty(k == 4 ? DT_I32 : DT_F32, 2, 2, 2), NULL);
    if (k == 0) attr_floats(&r, "scales", 2, 1.0, 2.0);
    if (k == 0 || k == 3 || k == 4) attr_ints(&r, "sizes", 2, 2, 4);
    if (k == 2) attr_ints(&r, "sizes", 1, 4);
    if (k == 3) attr_str(&r, "mode", "area");
    if (k == 4) attr_str(&r, "mode", "linear");
    run_bad(&r);
    run_free(&r);
  }
}

/* ---- lstm and gru --------------------------------------------------------------------------- */

/* A bidirectional lstm over T = 3 steps, batch 2 (lengths 3 and 2), input 2, hidden 2, with
 * biases and initial states: Y [3,2,2,2] (zero past a sequence's length), Y_h, Y_c. */
static void test_lstm_bidirectional(void **state) {
  (void)state;
  Run r;
  run_init(&r, OP_LSTM);
  run_in(&r, ty(DT_F32, 3, 3, 2, 2), rnn_x);
  run_in(&r, ty(DT_F32, 3, 2, 8, 2), lstm_w);
  run_in(&r, ty(DT_F32, 3, 2, 8, 2), lstm_r);
  run_in(&r, ty(DT_F32, 2, 2, 16), lstm_b);
  run_in(&r, ty(DT_I32, 1, 2), (const int32_t[]){3, 2});
  run_in(&r, ty(DT_F32, 3, 2, 2, 2), lstm_h0);
  run_in(&r, ty(DT_F32, 3, 2, 2, 2), lstm_c0);
  run_out(&r, 0, ty(DT_F32, 4, 3, 2, 2, 2));
  run_out(&r, 2, ty(DT_F32, 3, 2, 2, 2));
  run_out(&r, 1, ty(DT_F32, 3, 2, 2, 2));
  attr_int(&r, "hidden_size", 2);
  attr_str(&r, "direction", "bidirectional");
  run_ok(&r);
  check_type(&r.out_t[0], DT_F32, 4, 3, 2, 2, 2);
  check_f32(&r.out[0], lstm_y, 24);
  check_f32(&r.out[1], lstm_yh, 8);
  check_f32(&r.out[2], lstm_yc, 8);
  /* T * D * Bt * 4 gates * H * (I + H) = 3 * 2 * 2 * 4 * 2 * 4 = 384 */
  assert_int_equal(run_macs(&r), 384);
  run_free(&r);
}

/* The same shapes through gru, with linear_before_reset 0 and 1. */
static void test_gru_bidirectional(void **state) {
  (void)state;
  static const float *const want_y[2] = {gru0_y, gru1_y}, *const want_yh[2] = {gru0_yh, gru1_yh};
  for (int lbr = 0; lbr < 2; lbr++) {
    Run r;
    run_init(&r, OP_GRU);
    run_in(&r, ty(DT_F32, 3, 3, 2, 2), rnn_x);
    run_in(&r, ty(DT_F32, 3, 2, 6, 2), gru_w);
    run_in(&r, ty(DT_F32, 3, 2, 6, 2), gru_r);
    run_in(&r, ty(DT_F32, 2, 2, 12), gru_b);
    run_in(&r, ty(DT_I64, 1, 2), (const int64_t[]){3, 2});
    run_in(&r, ty(DT_F32, 3, 2, 2, 2), gru_h0);
    run_out(&r, 0, ty(DT_F32, 4, 3, 2, 2, 2));
    run_out(&r, 1, ty(DT_F32, 3, 2, 2, 2));
    attr_int(&r, "hidden_size", 2);
    attr_str(&r, "direction", "bidirectional");
    attr_int(&r, "linear_before_reset", lbr);
    run_ok(&r);
    check_f32(&r.out[0], want_y[lbr], 24);
    check_f32(&r.out[1], want_yh[lbr], 8);
    run_free(&r);
  }
}

/* gru with layout 1 (batch-first) on the same data, transposed here: X [Bt, T, I], initial_h
 * [Bt, D, H], and the expected Y [Bt, T, D, H] and Y_h [Bt, D, H] from gru1_y / gru1_yh. */
static void test_gru_batch_first(void **state) {
  (void)state;
  enum { T = 3, B = 2, I = 2, D = 2, H = 2 };
  float x[T * B * I], h0[D * B * H], y[T * D * B * H], yh[D * B * H];
  for (int t = 0; t < T; t++)
    for (int b = 0; b < B; b++)
      for (int i = 0; i < I; i++) x[(b * T + t) * I + i] = rnn_x[(t * B + b) * I + i];
  for (int d = 0; d < D; d++)
    for (int b = 0; b < B; b++)
      for (int j = 0; j < H; j++) {
        h0[(b * D + d) * H + j] = gru_h0[(d * B + b) * H + j];
        yh[(b * D + d) * H + j] = gru1_yh[(d * B + b) * H + j];
        for (int t = 0; t < T; t++) y[((b * T + t) * D + d) * H + j] = gru1_y[((t * D + d) * B + b) * H + j];
      }
  Run r;
  run_init(&r, OP_GRU);
  run_in(&r, ty(DT_F32, 3, B, T, I), x);
  run_in(&r, ty(DT_F32, 3, D, 3 * H, I), gru_w);
  run_in(&r, ty(DT_F32, 3, D, 3 * H, H), gru_r);
  run_in(&r, ty(DT_F32, 2, D, 6 * H), gru_b);
  run_in(&r, ty(DT_I32, 1, B), (const int32_t[]){3, 2});
  run_in(&r, ty(DT_F32, 3, B, D, H), h0);
  run_out(&r, 0, ty(DT_F32, 4, B, T, D, H));
  run_out(&r, 1, ty(DT_F32, 3, B, D, H));
  attr_int(&r, "hidden_size", H);
  attr_str(&r, "direction", "bidirectional");
  attr_int(&r, "linear_before_reset", 1);
  attr_int(&r, "layout", 1);
  run_ok(&r);
  check_type(&r.out_t[0], DT_F32, 4, B, T, D, H);
  check_f32(&r.out[0], y, T * D * B * H);
  check_f32(&r.out[1], yh, D * B * H);
  run_free(&r);
}

/* A W of the wrong shape, an unknown direction, a sequence longer than X (a run-time
 * error), a hidden_size that disagrees with R. */
static void test_rnn_errors(void **state) {
  (void)state;
  for (int k = 0; k < 4; k++) {
    Run r;
    run_init(&r, OP_GRU);
    run_in(&r, ty(DT_F32, 3, 3, 1, 2), rnn_x);
    run_in(&r, k == 0 ? ty(DT_F32, 3, 1, 6, 3) : ty(DT_F32, 3, 1, 6, 2), gru_w);
    run_in(&r, ty(DT_F32, 3, 1, 6, 2), gru_r);
    attr_int(&r, "hidden_size", k == 3 ? 3 : 2);
    if (k == 1) attr_str(&r, "direction", "sideways");
    if (k == 2) {
      run_in(&r, ty(DT_F32, 2, 1, 12), gru_b);
      run_in(&r, ty(DT_I32, 1, 1), (const int32_t[]){4});
      run_out(&r, 0, ty(DT_F32, 4, 3, 1, 1, 2));
      assert_true(run_infer(&r));
      assert_int_equal(run_eval(&r), IR_ERR_INPUT);
    } else {
      run_bad(&r);
    }
    run_free(&r);
  }
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
      cmocka_unit_test(test_conv_transpose_groups),
      cmocka_unit_test(test_conv_transpose_output_shape),
      cmocka_unit_test(test_conv_transpose_errors),
      cmocka_unit_test(test_resize_linear_half_pixel),
      cmocka_unit_test(test_resize_linear_align_corners),
      cmocka_unit_test(test_resize_cubic),
      cmocka_unit_test(test_resize_nearest_modes),
      cmocka_unit_test(test_resize_coordinate_modes),
      cmocka_unit_test(test_resize_errors),
      cmocka_unit_test(test_lstm_bidirectional),
      cmocka_unit_test(test_gru_bidirectional),
      cmocka_unit_test(test_gru_batch_first),
      cmocka_unit_test(test_rnn_errors),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}

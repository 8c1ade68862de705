/* test_ops.c — the shape rules and reference kernels of every computing op, against small
 * tensors whose expected results were computed by hand (the arithmetic is in the comments).
 * Nodes are built directly on a Graph (tests/unit/op_harness.h). */
#include "op_harness.h"

/* ---- common helpers ---------------------------------------------------------------------------- */

/* op_get / op_set convert through every dtype: 16-bit floats, saturating ints, bool 0/1. */
static void test_element_access(void **state) {
  (void)state;
  uint16_t h[1] = {0};
  int8_t i8[1] = {0};
  uint8_t u8[1] = {0};
  Tensor t = {ty(DT_F16, 1, 1), h};
  op_set(&t, 0, 1.5);
  assert_true(op_get(&t, 0) == 1.5);
  t.type.dtype = DT_BF16;
  op_set(&t, 0, -2.0);
  assert_true(op_get(&t, 0) == -2.0);
  t = (Tensor){ty(DT_I8, 1, 1), i8};
  op_set(&t, 0, -200.0); /* saturates */
  assert_int_equal(i8[0], -128);
  op_set_int(&t, 0, 200); /* wraps: 200 - 256 = -56 */
  assert_int_equal(i8[0], -56);
  t = (Tensor){ty(DT_U8, 1, 1), u8};
  op_set(&t, 0, 300.0);
  assert_int_equal(u8[0], 255);
  t.type.dtype = DT_BOOL;
  op_set(&t, 0, 0.25);
  assert_int_equal(u8[0], 1);
  assert_true(op_get(&t, 0) == 1.0);
}

/* op_fail reports at the attribute's location when the attribute is present. */
static void test_fail_location(void **state) {
  (void)state;
  char *text = NULL;
  size_t len = 0;
  FILE *mem = open_memstream(&text, &len);
  assert_non_null(mem);
  Run r;
  run_init(&r, OP_CONV2D);
  r.diag.out = mem;
  run_in(&r, ty(DT_F32, 4, 1, 1, 3, 3), NULL);
  run_in(&r, ty(DT_F32, 4, 1, 1, 2, 2), NULL);
  attr_ints(&r, "strides", 2, 0, 1);
  r.attrs[0].loc = (Loc){"model.lathe", 3, 14, NULL};
  run_bad(&r);
  fclose(mem);
  assert_non_null(strstr(text, "model.lathe:3:14: error: conv2d: strides[0] = 0"));
  free(text);
  run_free(&r);
}

/* ---- element-wise ------------------------------------------------------------------------------- */

/* add [2,3] + [3]: each row plus [10,20,30]. */
static void test_add_broadcast_row(void **state) {
  (void)state;
  static const float a[] = {1, 2, 3, 4, 5, 6}, b[] = {10, 20, 30};
  static const float want[] = {11, 22, 33, 14, 25, 36};
  Run r;
  run_init(&r, OP_ADD);
  run_in(&r, ty(DT_F32, 2, 2, 3), a);
  run_in(&r, ty(DT_F32, 1, 3), b);
  run_ok(&r);
  check_type(&r.out_t[0], DT_F32, 2, 2, 3);
  check_f32(&r.out[0], want, 6);
  run_free(&r);
}

/* sub [2,3] - [2,1]: row 0 minus 1, row 1 minus 2. */
static void test_sub_broadcast_column(void **state) {
  (void)state;
  static const float a[] = {1, 2, 3, 4, 5, 6}, b[] = {1, 2};
  static const float want[] = {0, 1, 2, 2, 3, 4};
  Run r;
  run_init(&r, OP_SUB);
  run_in(&r, ty(DT_F32, 2, 2, 3), a);
  run_in(&r, ty(DT_F32, 2, 2, 1), b);
  run_ok(&r);
  check_type(&r.out_t[0], DT_F32, 2, 2, 3);
  check_f32(&r.out[0], want, 6);
  run_free(&r);
}

/* mul [2,1] * [1,3] broadcasts both ways: outer product [2,3]x[1,2,3] = [2,4,6; 3,6,9]. */
static void test_mul_outer(void **state) {
  (void)state;
  static const float a[] = {2, 3}, b[] = {1, 2, 3};
  static const float want[] = {2, 4, 6, 3, 6, 9};
  Run r;
  run_init(&r, OP_MUL);
  run_in(&r, ty(DT_F32, 2, 2, 1), a);
  run_in(&r, ty(DT_F32, 2, 1, 3), b);
  run_ok(&r);
  check_type(&r.out_t[0], DT_F32, 2, 2, 3);
  check_f32(&r.out[0], want, 6);
  run_free(&r);
}

/* div f32 [3] / [1]: [1,2,3] / 2 = [0.5, 1, 1.5]. */
static void test_div_float(void **state) {
  (void)state;
  static const float a[] = {1, 2, 3}, b[] = {2};
  static const float want[] = {0.5f, 1, 1.5f};
  Run r;
  run_init(&r, OP_DIV);
  run_in(&r, ty(DT_F32, 1, 3), a);
  run_in(&r, ty(DT_F32, 1, 1), b);
  run_ok(&r);
  check_f32(&r.out[0], want, 3);
  run_free(&r);
}

/* div i32 truncates toward zero: 7/2 = 3, -7/2 = -3, 7/-2 = -3, -7/-2 = 3, 5/5 = 1. */
static void test_div_int_truncates(void **state) {
  (void)state;
  static const int32_t a[] = {7, -7, 7, -7, 5}, b[] = {2, 2, -2, -2, 5};
  static const int32_t want[] = {3, -3, -3, 3, 1};
  Run r;
  run_init(&r, OP_DIV);
  run_in(&r, ty(DT_I32, 1, 5), a);
  run_in(&r, ty(DT_I32, 1, 5), b);
  run_ok(&r);
  check_type(&r.out_t[0], DT_I32, 1, 5);
  check_i32(&r.out[0], want, 5);
  run_free(&r);
}

/* Integer division by zero is a kernel error, reported once. */
static void test_div_int_by_zero(void **state) {
  (void)state;
  static const int64_t a[] = {1, 2}, b[] = {1, 0};
  Run r;
  run_init(&r, OP_DIV);
  run_in(&r, ty(DT_I64, 1, 2), a);
  run_in(&r, ty(DT_I64, 1, 2), b);
  assert_true(run_infer(&r));
  assert_int_equal(run_eval(&r), IR_ERR_INPUT);
  assert_int_equal(r.diag.errors, 1);
  run_free(&r);
}

/* i64 [2,2] + scalar (rank 0) 100 = [101,102,103,104]; i32 overflow wraps: INT32_MAX + 1 =
 * INT32_MIN; i64 INT64_MIN / -1 wraps to INT64_MIN. */
static void test_int_scalar_and_wrap(void **state) {
  (void)state;
  static const int64_t a[] = {1, 2, 3, 4}, s[] = {100};
  static const int64_t want[] = {101, 102, 103, 104};
  Run r;
  run_init(&r, OP_ADD);
  run_in(&r, ty(DT_I64, 2, 2, 2), a);
  run_in(&r, ty(DT_I64, 0), s);
  run_ok(&r);
  check_type(&r.out_t[0], DT_I64, 2, 2, 2);
  check_i64(&r.out[0], want, 4);
  run_free(&r);

  static const int32_t big[] = {INT32_MAX}, one[] = {1}, wrapped[] = {INT32_MIN};
  run_init(&r, OP_ADD);
  run_in(&r, ty(DT_I32, 1, 1), big);
  run_in(&r, ty(DT_I32, 1, 1), one);
  run_ok(&r);
  check_i32(&r.out[0], wrapped, 1);
  run_free(&r);

  static const int64_t lo[] = {INT64_MIN}, m1[] = {-1}, lo_want[] = {INT64_MIN};
  run_init(&r, OP_DIV);
  run_in(&r, ty(DT_I64, 1, 1), lo);
  run_in(&r, ty(DT_I64, 1, 1), m1);
  run_ok(&r);
  check_i64(&r.out[0], lo_want, 1);
  run_free(&r);
}

/* Shape-rule errors: shapes that do not broadcast; operands of different dtypes. */
static void test_binary_errors(void **state) {
  (void)state;
  Run r;
  run_init(&r, OP_ADD); /* [2,3] vs [4]: 3 vs 4 */
  run_in(&r, ty(DT_F32, 2, 2, 3), NULL);
  run_in(&r, ty(DT_F32, 1, 4), NULL);
  run_bad(&r);
  run_free(&r);
  run_init(&r, OP_MUL);
  run_in(&r, ty(DT_F32, 1, 3), NULL);
  run_in(&r, ty(DT_I32, 1, 3), NULL);
  run_bad(&r);
  run_free(&r);
}

/* relu [-1, 0, 2.5] = [0, 0, 2.5]; relu i32 [-3, 4] = [0, 4]. */
static void test_relu(void **state) {
  (void)state;
  static const float x[] = {-1, 0, 2.5f}, want[] = {0, 0, 2.5f};
  Run r;
  run_init(&r, OP_RELU);
  run_in(&r, ty(DT_F32, 1, 3), x);
  run_ok(&r);
  check_f32(&r.out[0], want, 3);
  run_free(&r);
  static const int32_t xi[] = {-3, 4}, wanti[] = {0, 4};
  run_init(&r, OP_RELU);
  run_in(&r, ty(DT_I32, 1, 2), xi);
  run_ok(&r);
  check_type(&r.out_t[0], DT_I32, 1, 2);
  check_i32(&r.out[0], wanti, 2);
  run_free(&r);
}

/* sigmoid: 1/(1+e^0) = 0.5; 1/(1+e^-ln3) = 1/(1+1/3) = 0.75; 1/(1+3) = 0.25. */
static void test_sigmoid(void **state) {
  (void)state;
  const float x[] = {0, logf(3), -logf(3)};
  static const float want[] = {0.5f, 0.75f, 0.25f};
  Run r;
  run_init(&r, OP_SIGMOID);
  run_in(&r, ty(DT_F32, 1, 3), x);
  run_ok(&r);
  check_f32(&r.out[0], want, 3);
  run_free(&r);
}

/* tanh(ln 2) = (e^(2 ln 2) - 1) / (e^(2 ln 2) + 1) = (4 - 1) / (4 + 1) = 0.6; odd function. */
static void test_tanh(void **state) {
  (void)state;
  const float x[] = {0, logf(2), -logf(2)};
  static const float want[] = {0, 0.6f, -0.6f};
  Run r;
  run_init(&r, OP_TANH);
  run_in(&r, ty(DT_F32, 1, 3), x);
  run_ok(&r);
  check_f32(&r.out[0], want, 3);
  run_free(&r);
}

/* Unary errors: sigmoid of integers. */
static void test_unary_errors(void **state) {
  (void)state;
  Run r;
  run_init(&r, OP_SIGMOID);
  run_in(&r, ty(DT_I32, 1, 3), NULL);
  run_bad(&r);
  run_free(&r);
}

/* clip to [-1, 1]: [-2, -0.5, 0.5, 3] -> [-1, -0.5, 0.5, 1]; min only 0: [0, 0, 0.5, 3];
 * min 2 > max 1: min(max(x, 2), 1) = 1 everywhere. */
static void test_clip(void **state) {
  (void)state;
  static const float x[] = {-2, -0.5f, 0.5f, 3};
  static const float w1[] = {-1, -0.5f, 0.5f, 1}, w2[] = {0, 0, 0.5f, 3}, w3[] = {1, 1, 1, 1};
  Run r;
  run_init(&r, OP_CLIP);
  run_in(&r, ty(DT_F32, 1, 4), x);
  attr_float(&r, "min", -1);
  attr_float(&r, "max", 1);
  run_ok(&r);
  check_f32(&r.out[0], w1, 4);
  run_free(&r);
  run_init(&r, OP_CLIP);
  run_in(&r, ty(DT_F32, 1, 4), x);
  attr_float(&r, "min", 0);
  run_ok(&r);
  check_f32(&r.out[0], w2, 4);
  run_free(&r);
  run_init(&r, OP_CLIP);
  run_in(&r, ty(DT_F32, 1, 4), x);
  attr_float(&r, "min", 2);
  attr_float(&r, "max", 1);
  run_ok(&r);
  check_f32(&r.out[0], w3, 4);
  run_free(&r);
  run_init(&r, OP_CLIP); /* error: bool */
  run_in(&r, ty(DT_BOOL, 1, 4), NULL);
  run_bad(&r);
  run_free(&r);
}

/* ---- linear algebra ----------------------------------------------------------------------------- */

/* A = [1 2 3; 4 5 6], B = [1 0; 0 1; 1 1]:
 * A B = [1+0+3, 0+2+3; 4+0+6, 0+5+6] = [4 5; 10 11]. */
static const float gemm_a[] = {1, 2, 3, 4, 5, 6}, gemm_b[] = {1, 0, 0, 1, 1, 1};

/* Plain A B with no C; macs = M N K = 2 * 2 * 3 = 12. */
static void test_gemm_plain(void **state) {
  (void)state;
  static const float want[] = {4, 5, 10, 11};
  Run r;
  run_init(&r, OP_GEMM);
  run_in(&r, ty(DT_F32, 2, 2, 3), gemm_a);
  run_in(&r, ty(DT_F32, 2, 3, 2), gemm_b);
  run_ok(&r);
  check_type(&r.out_t[0], DT_F32, 2, 2, 2);
  check_f32(&r.out[0], want, 4);
  assert_int_equal(run_macs(&r), 12);
  run_free(&r);
}

/* transA, transB with A^T = [1 4; 2 5; 3 6], B^T = [1 0 1; 0 1 1], alpha 2, beta 0.5,
 * C = [10, 20] broadcast over rows: 2 [4 5; 10 11] + 0.5 [10 20; 10 20] = [13 20; 25 32]. */
static void test_gemm_trans_alpha_beta(void **state) {
  (void)state;
  static const float at[] = {1, 4, 2, 5, 3, 6}, bt[] = {1, 0, 1, 0, 1, 1}, cv[] = {10, 20};
  static const float want[] = {13, 20, 25, 32};
  Run r;
  run_init(&r, OP_GEMM);
  run_in(&r, ty(DT_F32, 2, 3, 2), at);
  run_in(&r, ty(DT_F32, 2, 2, 3), bt);
  run_in(&r, ty(DT_F32, 1, 2), cv);
  attr_int(&r, "transA", 1);
  attr_int(&r, "transB", 1);
  attr_float(&r, "alpha", 2);
  attr_float(&r, "beta", 0.5);
  run_ok(&r);
  check_type(&r.out_t[0], DT_F32, 2, 2, 2);
  check_f32(&r.out[0], want, 4);
  assert_int_equal(run_macs(&r), 12);
  run_free(&r);
}

/* C = [1; 2] ([2,1]) broadcast over columns, beta 1: [4+1 5+1; 10+2 11+2] = [5 6; 12 13]. */
static void test_gemm_column_c(void **state) {
  (void)state;
  static const float cv[] = {1, 2}, want[] = {5, 6, 12, 13};
  Run r;
  run_init(&r, OP_GEMM);
  run_in(&r, ty(DT_F32, 2, 2, 3), gemm_a);
  run_in(&r, ty(DT_F32, 2, 3, 2), gemm_b);
  run_in(&r, ty(DT_F32, 2, 2, 1), cv);
  run_ok(&r);
  check_f32(&r.out[0], want, 4);
  run_free(&r);
}

/* gemm errors: K mismatch (3 vs 4), transA = 2, C [3] not broadcastable to [2,2]. */
static void test_gemm_errors(void **state) {
  (void)state;
  Run r;
  run_init(&r, OP_GEMM);
  run_in(&r, ty(DT_F32, 2, 2, 3), NULL);
  run_in(&r, ty(DT_F32, 2, 4, 2), NULL);
  run_bad(&r);
  run_free(&r);
  run_init(&r, OP_GEMM);
  run_in(&r, ty(DT_F32, 2, 2, 3), NULL);
  run_in(&r, ty(DT_F32, 2, 3, 2), NULL);
  attr_int(&r, "transA", 2);
  run_bad(&r);
  run_free(&r);
  run_init(&r, OP_GEMM);
  run_in(&r, ty(DT_F32, 2, 2, 3), NULL);
  run_in(&r, ty(DT_F32, 2, 3, 2), NULL);
  run_in(&r, ty(DT_F32, 1, 3), NULL);
  run_bad(&r);
  run_free(&r);
}

/* Batched A [2,2,2] times B [2,2] broadcast over the batch, B = [1 1; 0 2]:
 * [1 2; 3 4] B = [1 1+4; 3 3+8] = [1 5; 3 11]; [0 1; 1 0] B = [0 2; 1 1].
 * macs = batch 2 * M 2 * N 2 * K 2 = 16. */
static void test_matmul_batched(void **state) {
  (void)state;
  static const float a[] = {1, 2, 3, 4, 0, 1, 1, 0}, b[] = {1, 1, 0, 2};
  static const float want[] = {1, 5, 3, 11, 0, 2, 1, 1};
  Run r;
  run_init(&r, OP_MATMUL);
  run_in(&r, ty(DT_F32, 3, 2, 2, 2), a);
  run_in(&r, ty(DT_F32, 2, 2, 2), b);
  run_ok(&r);
  check_type(&r.out_t[0], DT_F32, 3, 2, 2, 2);
  check_f32(&r.out[0], want, 8);
  assert_int_equal(run_macs(&r), 16);
  run_free(&r);
}

/* Batch dims broadcast both ways: A [2,1,1,2] (rows a0 = [1 2], a1 = [3 4]) and B [3,2,1]
 * (columns b0 = [1 0], b1 = [0 1], b2 = [1 1]) give [2,3,1,1] of a_i . b_j:
 * a0: 1, 2, 3; a1: 3, 4, 7. */
static void test_matmul_batch_broadcast(void **state) {
  (void)state;
  static const float a[] = {1, 2, 3, 4}, b[] = {1, 0, 0, 1, 1, 1};
  static const float want[] = {1, 2, 3, 3, 4, 7};
  Run r;
  run_init(&r, OP_MATMUL);
  run_in(&r, ty(DT_F32, 4, 2, 1, 1, 2), a);
  run_in(&r, ty(DT_F32, 3, 3, 2, 1), b);
  run_ok(&r);
  check_type(&r.out_t[0], DT_F32, 4, 2, 3, 1, 1);
  check_f32(&r.out[0], want, 6);
  run_free(&r);
}

/* Rank-1 operands (B = [1 0; 0 1; 1 1]): [1 2 3] B = [1+0+3, 0+2+3] = [4 5] (shape [2]); A [1 1 1]^T = [6 15]
 * (shape [2]); [1 2 3] . [4 5 6] = 4 + 10 + 18 = 32 (shape []); [1 1] times each batch of
 * [2,2,2]: [1+3, 2+4] = [4 6], [0+1, 1+0] = [1 1] (shape [2,2]). */
static void test_matmul_rank1(void **state) {
  (void)state;
  static const float v3[] = {1, 2, 3}, ones[] = {1, 1, 1}, w[] = {4, 5, 6};
  static const float batched[] = {1, 2, 3, 4, 0, 1, 1, 0};
  Run r;
  run_init(&r, OP_MATMUL);
  run_in(&r, ty(DT_F32, 1, 3), v3);
  run_in(&r, ty(DT_F32, 2, 3, 2), gemm_b);
  run_ok(&r);
  check_type(&r.out_t[0], DT_F32, 1, 2);
  check_f32(&r.out[0], (const float[]){4, 5}, 2);
  run_free(&r);

  run_init(&r, OP_MATMUL);
  run_in(&r, ty(DT_F32, 2, 2, 3), gemm_a);
  run_in(&r, ty(DT_F32, 1, 3), ones);
  run_ok(&r);
  check_type(&r.out_t[0], DT_F32, 1, 2);
  check_f32(&r.out[0], (const float[]){6, 15}, 2);
  run_free(&r);

  run_init(&r, OP_MATMUL);
  run_in(&r, ty(DT_F32, 1, 3), v3);
  run_in(&r, ty(DT_F32, 1, 3), w);
  run_ok(&r);
  check_type(&r.out_t[0], DT_F32, 0);
  check_f32(&r.out[0], (const float[]){32}, 1);
  run_free(&r);

  run_init(&r, OP_MATMUL);
  run_in(&r, ty(DT_F32, 1, 2), ones);
  run_in(&r, ty(DT_F32, 3, 2, 2, 2), batched);
  run_ok(&r);
  check_type(&r.out_t[0], DT_F32, 2, 2, 2);
  check_f32(&r.out[0], (const float[]){4, 6, 1, 1}, 4);
  run_free(&r);
}

/* matmul errors: K 3 vs 2; batch 2 vs 3. */
static void test_matmul_errors(void **state) {
  (void)state;
  Run r;
  run_init(&r, OP_MATMUL);
  run_in(&r, ty(DT_F32, 2, 2, 3), NULL);
  run_in(&r, ty(DT_F32, 2, 2, 3), NULL);
  run_bad(&r);
  run_free(&r);
  run_init(&r, OP_MATMUL);
  run_in(&r, ty(DT_F32, 3, 2, 2, 2), NULL);
  run_in(&r, ty(DT_F32, 3, 3, 2, 2), NULL);
  run_bad(&r);
  run_free(&r);
}

/* ---- convolution -------------------------------------------------------------------------------- */

/* X = [1 2 3; 4 5 6; 7 8 9] padded by 1 on every side (P, 5x5), W = [1 0; 0 1], bias 10:
 * OH = (3 + 1 + 1 - 2) / 1 + 1 = 4; y[i][j] = P[i][j] + P[i+1][j+1] + 10:
 *   row 0: 0+1, 0+2, 0+3, 0+0      -> 11 12 13 10
 *   row 1: 0+4, 1+5, 2+6, 3+0      -> 14 16 18 13
 *   row 2: 0+7, 4+8, 5+9, 6+0      -> 17 22 24 16
 *   row 3: 0+0, 7+0, 8+0, 9+0      -> 10 17 18 19
 * macs = N1 M1 OH4 OW4 C1 kH2 kW2 = 64. */
static void test_conv2d_pads_bias(void **state) {
  (void)state;
  static const float x[] = {1, 2, 3, 4, 5, 6, 7, 8, 9}, w[] = {1, 0, 0, 1}, b[] = {10};
  static const float want[] = {11, 12, 13, 10, 14, 16, 18, 13, 17, 22, 24, 16, 10, 17, 18, 19};
  Run r;
  run_init(&r, OP_CONV2D);
  run_in(&r, ty(DT_F32, 4, 1, 1, 3, 3), x);
  run_in(&r, ty(DT_F32, 4, 1, 1, 2, 2), w);
  run_in(&r, ty(DT_F32, 1, 1), b);
  attr_ints(&r, "pads", 4, 1, 1, 1, 1);
  run_ok(&r);
  check_type(&r.out_t[0], DT_F32, 4, 1, 1, 4, 4);
  check_f32(&r.out[0], want, 16);
  assert_int_equal(run_macs(&r), 64);
  run_free(&r);
}

/* X[i][j] = 5i + j (5x5), W = ones 2x2, dilations 2 (effective 3), strides 2:
 * OH = (5 - 3) / 2 + 1 = 2; y[a][b] = X[2a][2b] + X[2a][2b+2] + X[2a+2][2b] + X[2a+2][2b+2]:
 *   y00 = 0+2+10+12 = 24, y01 = 2+4+12+14 = 32, y10 = 10+12+20+22 = 64, y11 = 12+14+22+24 = 72. */
static void test_conv2d_stride_dilation(void **state) {
  (void)state;
  float x[25];
  for (int i = 0; i < 25; i++) x[i] = (float)i;
  static const float w[] = {1, 1, 1, 1}, want[] = {24, 32, 64, 72};
  Run r;
  run_init(&r, OP_CONV2D);
  run_in(&r, ty(DT_F32, 4, 1, 1, 5, 5), x);
  run_in(&r, ty(DT_F32, 4, 1, 1, 2, 2), w);
  attr_ints(&r, "strides", 2, 2, 2);
  attr_ints(&r, "dilations", 2, 2, 2);
  run_ok(&r);
  check_type(&r.out_t[0], DT_F32, 4, 1, 1, 2, 2);
  check_f32(&r.out[0], want, 4);
  run_free(&r);
}

/* Asymmetric pads [top 0, left 1, bottom 0, right 0], strides [1, 2], X = [1 2 3; 4 5 6],
 * W = [1 10]: padded rows [0 1 2 3], [0 4 5 6]; OW = (4 - 2) / 2 + 1 = 2;
 * y[r][c] = P[r][2c] + 10 P[r][2c+1]: row 0: 0+10, 2+30; row 1: 0+40, 5+60. */
static void test_conv2d_asymmetric_pads(void **state) {
  (void)state;
  static const float x[] = {1, 2, 3, 4, 5, 6}, w[] = {1, 10}, want[] = {10, 32, 40, 65};
  Run r;
  run_init(&r, OP_CONV2D);
  run_in(&r, ty(DT_F32, 4, 1, 1, 2, 3), x);
  run_in(&r, ty(DT_F32, 4, 1, 1, 1, 2), w);
  attr_ints(&r, "pads", 4, 0, 1, 0, 0);
  attr_ints(&r, "strides", 2, 1, 2);
  run_ok(&r);
  check_type(&r.out_t[0], DT_F32, 4, 1, 1, 2, 2);
  check_f32(&r.out[0], want, 4);
  run_free(&r);
}

/* group 2, N 2: X[n] channels [1 2 3 4] and [0 0 0 1]; W[0] = [1 10] on channels 0,1,
 * W[1] = [100 1000] on channels 2,3; bias [1 2]:
 *   n0: 1*1 + 2*10 + 1 = 22,  3*100 + 4*1000 + 2 = 4302;
 *   n1: 0*1 + 0*10 + 1 = 1,   0*100 + 1*1000 + 2 = 1002. */
static void test_conv2d_groups(void **state) {
  (void)state;
  static const float x[] = {1, 2, 3, 4, 0, 0, 0, 1}, w[] = {1, 10, 100, 1000}, b[] = {1, 2};
  static const float want[] = {22, 4302, 1, 1002};
  Run r;
  run_init(&r, OP_CONV2D);
  run_in(&r, ty(DT_F32, 4, 2, 4, 1, 1), x);
  run_in(&r, ty(DT_F32, 4, 2, 2, 1, 1), w);
  run_in(&r, ty(DT_F32, 1, 2), b);
  attr_int(&r, "group", 2);
  run_ok(&r);
  check_type(&r.out_t[0], DT_F32, 4, 2, 2, 1, 1);
  check_f32(&r.out[0], want, 4);
  assert_int_equal(run_macs(&r), 8); /* N2 M2 OH1 OW1 Cg2 kH1 kW1 */
  run_free(&r);
}

/* conv2d errors: 3 channels vs weight's 4; kernel larger than input; stride 0; 3 output
 * channels with group 2; bias of the wrong length. */
static void test_conv2d_errors(void **state) {
  (void)state;
  Run r;
  run_init(&r, OP_CONV2D);
  run_in(&r, ty(DT_F32, 4, 1, 3, 4, 4), NULL);
  run_in(&r, ty(DT_F32, 4, 2, 4, 3, 3), NULL);
  run_bad(&r);
  run_free(&r);
  run_init(&r, OP_CONV2D);
  run_in(&r, ty(DT_F32, 4, 1, 1, 2, 2), NULL);
  run_in(&r, ty(DT_F32, 4, 1, 1, 3, 3), NULL);
  run_bad(&r);
  run_free(&r);
  run_init(&r, OP_CONV2D);
  run_in(&r, ty(DT_F32, 4, 1, 1, 4, 4), NULL);
  run_in(&r, ty(DT_F32, 4, 1, 1, 3, 3), NULL);
  attr_ints(&r, "strides", 2, 0, 1);
  run_bad(&r);
  run_free(&r);
  run_init(&r, OP_CONV2D);
  run_in(&r, ty(DT_F32, 4, 1, 4, 4, 4), NULL);
  run_in(&r, ty(DT_F32, 4, 3, 2, 3, 3), NULL);
  attr_int(&r, "group", 2);
  run_bad(&r);
  run_free(&r);
  run_init(&r, OP_CONV2D);
  run_in(&r, ty(DT_F32, 4, 1, 1, 4, 4), NULL);
  run_in(&r, ty(DT_F32, 4, 2, 1, 3, 3), NULL);
  run_in(&r, ty(DT_F32, 1, 3), NULL);
  run_bad(&r);
  run_free(&r);
}

/* ---- pooling ---------------------------------------------------------------------------------- */

/* X = [-1 -2 -3; -4 -5 -6; -7 -8 -9], kernel 2, strides 2, pads 1: OH = (3+2-2)/2 + 1 = 2.
 * Windows (input rows x cols) and their real taps (padding would be 0 > all, but never wins):
 *   (-1..0, -1..0): x00 = -1 @0       (-1..0, 1..2): x01, x02 -> -2 @1
 *   (1..2, -1..0): x10, x20 -> -4 @3  (1..2, 1..2): -5 -6 -8 -9 -> -5 @4
 * With ceil_mode 1 the result is the same: ceil((5-2)/2) + 1 = 3, but the third window
 * would start at 2*2 - 1 = 3 >= H = 3, in the right padding, so it is dropped. */
static void test_maxpool_pads_indices(void **state) {
  (void)state;
  static const float x[] = {-1, -2, -3, -4, -5, -6, -7, -8, -9}, want[] = {-1, -2, -4, -5};
  static const int64_t want_idx[] = {0, 1, 3, 4};
  for (int ceil_mode = 0; ceil_mode <= 1; ceil_mode++) {
    Run r;
    run_init(&r, OP_MAXPOOL);
    run_in(&r, ty(DT_F32, 4, 1, 1, 3, 3), x);
    run_out(&r, 1, ty(DT_I64, 4, 1, 1, 2, 2));
    attr_ints(&r, "kernel", 2, 2, 2);
    attr_ints(&r, "strides", 2, 2, 2);
    attr_ints(&r, "pads", 4, 1, 1, 1, 1);
    attr_int(&r, "ceil_mode", ceil_mode);
    run_ok(&r);
    check_type(&r.out_t[0], DT_F32, 4, 1, 1, 2, 2);
    check_type(&r.out_t[1], DT_I64, 4, 1, 1, 2, 2);
    check_f32(&r.out[0], want, 4);
    check_i64(&r.out[1], want_idx, 4);
    run_free(&r);
  }
}

/* ceil_mode without pads: X = [1..9] 3x3, kernel 2, strides 2: floor gives (3-2)/2+1 = 1,
 * ceil gives 2 (the second window starts at 2 < 3, inside the input). Windows:
 *   rows 0-1 cols 0-1: 1 2 4 5 -> 5 @4;  rows 0-1 col 2: 3 6 -> 6 @5;
 *   row 2 cols 0-1: 7 8 -> 8 @7;         row 2 col 2: 9 @8.
 * N = 2, C = 1: the second image is the first plus 10 and its indices are offset by 9. */
static void test_maxpool_ceil(void **state) {
  (void)state;
  static const float x[] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 11, 12, 13, 14, 15, 16, 17, 18, 19};
  static const float want[] = {5, 6, 8, 9, 15, 16, 18, 19};
  static const int64_t want_idx[] = {4, 5, 7, 8, 13, 14, 16, 17};
  Run r;
  run_init(&r, OP_MAXPOOL);
  run_in(&r, ty(DT_F32, 4, 2, 1, 3, 3), x);
  run_out(&r, 1, ty(DT_I64, 4, 2, 1, 2, 2));
  attr_ints(&r, "kernel", 2, 2, 2);
  attr_ints(&r, "strides", 2, 2, 2);
  attr_int(&r, "ceil_mode", 1);
  run_ok(&r);
  check_type(&r.out_t[0], DT_F32, 4, 2, 1, 2, 2);
  check_f32(&r.out[0], want, 8);
  check_i64(&r.out[1], want_idx, 8);
  run_free(&r);
}

/* Dilation 2 with kernel 2 on 3x3 [1..9] taps the corners 1 3 7 9 -> 9 @8, output 1x1
 * ((3 - 3) / 1 + 1 = 1). */
static void test_maxpool_dilation(void **state) {
  (void)state;
  static const float x[] = {1, 2, 3, 4, 5, 6, 7, 8, 9}, want[] = {9};
  Run r;
  run_init(&r, OP_MAXPOOL);
  run_in(&r, ty(DT_F32, 4, 1, 1, 3, 3), x);
  attr_ints(&r, "kernel", 2, 2, 2);
  attr_ints(&r, "dilations", 2, 2, 2);
  run_ok(&r);
  check_type(&r.out_t[0], DT_F32, 4, 1, 1, 1, 1);
  check_f32(&r.out[0], want, 1);
  run_free(&r);
  /* Width 1, kernel 2, dilation 2, pads 1 and 1: one window whose taps sit at -1 and 1, both
   * padding: the lowest value and index -1. */
  static const float one[] = {5};
  run_init(&r, OP_MAXPOOL);
  run_in(&r, ty(DT_F32, 4, 1, 1, 1, 1), one);
  run_out(&r, 1, ty(DT_I64, 4, 1, 1, 1, 1));
  attr_ints(&r, "kernel", 2, 1, 2);
  attr_ints(&r, "dilations", 2, 1, 2);
  attr_ints(&r, "pads", 4, 0, 1, 0, 1);
  run_ok(&r);
  check_type(&r.out_t[0], DT_F32, 4, 1, 1, 1, 1);
  assert_true(isinf(((const float *)r.out[0].data)[0]) && ((const float *)r.out[0].data)[0] < 0);
  assert_int_equal(((const int64_t *)r.out[1].data)[0], -1);
  run_free(&r);
}

/* maxpool errors: indices declared f32; kernel with one entry; rank-3 input. */
static void test_maxpool_errors(void **state) {
  (void)state;
  Run r;
  run_init(&r, OP_MAXPOOL);
  run_in(&r, ty(DT_F32, 4, 1, 1, 4, 4), NULL);
  run_out(&r, 1, ty(DT_F32, 4, 1, 1, 2, 2));
  attr_ints(&r, "kernel", 2, 2, 2);
  run_bad(&r);
  run_free(&r);
  run_init(&r, OP_MAXPOOL);
  run_in(&r, ty(DT_F32, 4, 1, 1, 4, 4), NULL);
  attr_ints(&r, "kernel", 1, 2);
  run_bad(&r);
  run_free(&r);
  run_init(&r, OP_MAXPOOL);
  run_in(&r, ty(DT_F32, 3, 1, 4, 4), NULL);
  attr_ints(&r, "kernel", 2, 2, 2);
  run_bad(&r);
  run_free(&r);
}

/* X = [1..9] 3x3, kernel 2, strides 2, pads 1 (windows as in the maxpool test):
 *   real taps: {1}, {2,3}, {4,7}, {5,6,8,9}: sums 1, 5, 11, 28.
 *   count_include_pad 0 divides by 1, 2, 2, 4: 1, 2.5, 5.5, 7.
 *   count_include_pad 1 divides by the whole 2x2 window (inside the padded input): 0.25,
 *   1.25, 2.75, 7. */
static void test_averagepool_pads(void **state) {
  (void)state;
  static const float x[] = {1, 2, 3, 4, 5, 6, 7, 8, 9};
  static const float want0[] = {1, 2.5f, 5.5f, 7}, want1[] = {0.25f, 1.25f, 2.75f, 7};
  for (int cip = 0; cip <= 1; cip++) {
    Run r;
    run_init(&r, OP_AVERAGEPOOL);
    run_in(&r, ty(DT_F32, 4, 1, 1, 3, 3), x);
    attr_ints(&r, "kernel", 2, 2, 2);
    attr_ints(&r, "strides", 2, 2, 2);
    attr_ints(&r, "pads", 4, 1, 1, 1, 1);
    attr_int(&r, "count_include_pad", cip);
    run_ok(&r);
    check_type(&r.out_t[0], DT_F32, 4, 1, 1, 2, 2);
    check_f32(&r.out[0], cip ? want1 : want0, 4);
    run_free(&r);
  }
}

/* X [1,1,1,4] = [1 2 3 4], kernel [1,3], strides [1,2], pads left 1 right 1, ceil_mode:
 * padded width 6, (6-3)/2 = 1.5 -> ceil 2, + 1 = 3 windows starting at -1, 1, 3 (3 < 4 + 1,
 * kept). Window columns and real taps: {-1,0,1}: 1+2 = 3; {1,2,3}: 2+3+4 = 9; {3,4,5}: 4.
 *   count_include_pad 0: 3/2, 9/3, 4/1 = 1.5, 3, 4.
 *   count_include_pad 1: the window clipped to the padded input [-1, 5): 3 cols, 3 cols, and
 *   {3,4} = 2 cols: 3/3, 9/3, 4/2 = 1, 3, 2. */
static void test_averagepool_ceil(void **state) {
  (void)state;
  static const float x[] = {1, 2, 3, 4};
  static const float want0[] = {1.5f, 3, 4}, want1[] = {1, 3, 2};
  for (int cip = 0; cip <= 1; cip++) {
    Run r;
    run_init(&r, OP_AVERAGEPOOL);
    run_in(&r, ty(DT_F32, 4, 1, 1, 1, 4), x);
    attr_ints(&r, "kernel", 2, 1, 3);
    attr_ints(&r, "strides", 2, 1, 2);
    attr_ints(&r, "pads", 4, 0, 1, 0, 1);
    attr_int(&r, "ceil_mode", 1);
    attr_int(&r, "count_include_pad", cip);
    run_ok(&r);
    check_type(&r.out_t[0], DT_F32, 4, 1, 1, 1, 3);
    check_f32(&r.out[0], cip ? want1 : want0, 3);
    run_free(&r);
  }
}

/* averagepool errors: count_include_pad 2; pads[2] = 2 not smaller than kernel 2. */
static void test_averagepool_errors(void **state) {
  (void)state;
  Run r;
  run_init(&r, OP_AVERAGEPOOL);
  run_in(&r, ty(DT_F32, 4, 1, 1, 4, 4), NULL);
  attr_ints(&r, "kernel", 2, 2, 2);
  attr_int(&r, "count_include_pad", 2);
  run_bad(&r);
  run_free(&r);
  run_init(&r, OP_AVERAGEPOOL);
  run_in(&r, ty(DT_F32, 4, 1, 1, 4, 4), NULL);
  attr_ints(&r, "kernel", 2, 2, 2);
  attr_ints(&r, "pads", 4, 0, 0, 2, 0);
  run_bad(&r);
  run_free(&r);
}

/* Channel 0 [1 2 3 4] -> 10/4 = 2.5; channel 1 [10 20 30 41] -> 101/4 = 25.25. Rank 5 gives
 * [N, C, 1, 1, 1]; rank 2 is an error. */
static void test_global_average_pool(void **state) {
  (void)state;
  static const float x[] = {1, 2, 3, 4, 10, 20, 30, 41}, want[] = {2.5f, 25.25f};
  Run r;
  run_init(&r, OP_GLOBAL_AVERAGE_POOL);
  run_in(&r, ty(DT_F32, 4, 1, 2, 2, 2), x);
  run_ok(&r);
  check_type(&r.out_t[0], DT_F32, 4, 1, 2, 1, 1);
  check_f32(&r.out[0], want, 2);
  run_free(&r);
  run_init(&r, OP_GLOBAL_AVERAGE_POOL);
  run_in(&r, ty(DT_F32, 5, 3, 2, 4, 5, 6), NULL);
  assert_true(run_infer(&r));
  check_type(&r.out_t[0], DT_F32, 5, 3, 2, 1, 1, 1);
  run_free(&r);
  run_init(&r, OP_GLOBAL_AVERAGE_POOL);
  run_in(&r, ty(DT_F32, 2, 3, 2), NULL);
  run_bad(&r);
  run_free(&r);
}

/* ---- normalization ------------------------------------------------------------------------------ */

/* X [2,2,1]: image 0 channels (1, 10), image 1 channels (3, 20); scale [2 1], bias [1 -1],
 * mean [2 15], var [0.25 3.25], epsilon 0.75 -> sqrt(1) = 1, sqrt(4) = 2:
 *   c0: 2 (1-2)/1 + 1 = -1, 2 (3-2)/1 + 1 = 3;  c1: (10-15)/2 - 1 = -3.5, (20-15)/2 - 1 = 1.5.
 * Output order (n, c): -1, -3.5, 3, 1.5. */
static void test_batch_norm(void **state) {
  (void)state;
  static const float x[] = {1, 10, 3, 20}, s[] = {2, 1}, b[] = {1, -1}, m[] = {2, 15}, v[] = {0.25f, 3.25f};
  static const float want[] = {-1, -3.5f, 3, 1.5f};
  Run r;
  run_init(&r, OP_BATCH_NORM);
  run_in(&r, ty(DT_F32, 3, 2, 2, 1), x);
  run_in(&r, ty(DT_F32, 1, 2), s);
  run_in(&r, ty(DT_F32, 1, 2), b);
  run_in(&r, ty(DT_F32, 1, 2), m);
  run_in(&r, ty(DT_F32, 1, 2), v);
  attr_float(&r, "epsilon", 0.75);
  run_ok(&r);
  check_type(&r.out_t[0], DT_F32, 3, 2, 2, 1);
  check_f32(&r.out[0], want, 4);
  run_free(&r);
}

/* batch_norm errors: scale of 3 entries for 2 channels; epsilon -1. */
static void test_batch_norm_errors(void **state) {
  (void)state;
  Run r;
  run_init(&r, OP_BATCH_NORM);
  run_in(&r, ty(DT_F32, 4, 1, 2, 2, 2), NULL);
  run_in(&r, ty(DT_F32, 1, 3), NULL);
  for (int i = 0; i < 3; i++) run_in(&r, ty(DT_F32, 1, 2), NULL);
  run_bad(&r);
  run_free(&r);
  run_init(&r, OP_BATCH_NORM);
  run_in(&r, ty(DT_F32, 4, 1, 2, 2, 2), NULL);
  for (int i = 0; i < 4; i++) run_in(&r, ty(DT_F32, 1, 2), NULL);
  attr_float(&r, "epsilon", -1);
  run_bad(&r);
  run_free(&r);
}

/* Last axis: softmax([0, ln 2]) = [1, 2] / 3; softmax([0, 0]) = [0.5, 0.5];
 * softmax([1000, 1000]) = [0.5, 0.5] (exp(1000) would overflow without the max). */
static void test_softmax_last_axis(void **state) {
  (void)state;
  const float x[] = {0, logf(2), 0, 0, 1000, 1000};
  static const float want[] = {1.0f / 3, 2.0f / 3, 0.5f, 0.5f, 0.5f, 0.5f};
  Run r;
  run_init(&r, OP_SOFTMAX);
  run_in(&r, ty(DT_F32, 2, 3, 2), x);
  run_ok(&r);
  check_type(&r.out_t[0], DT_F32, 2, 3, 2);
  check_f32(&r.out[0], want, 6);
  run_free(&r);
}

/* Axis 0 on [0 5; ln2 5]: column 0 is softmax([0, ln 2]) = [1/3, 2/3], column 1 [0.5, 0.5]. */
static void test_softmax_axis0(void **state) {
  (void)state;
  const float x[] = {0, 5, logf(2), 5};
  static const float want[] = {1.0f / 3, 0.5f, 2.0f / 3, 0.5f};
  Run r;
  run_init(&r, OP_SOFTMAX);
  run_in(&r, ty(DT_F32, 2, 2, 2), x);
  attr_int(&r, "axis", 0);
  run_ok(&r);
  check_f32(&r.out[0], want, 4);
  run_free(&r);
}

/* Each row of softmax over [1 2 3; -1 0 7] sums to 1; axis 2 on rank 2 is an error. */
static void test_softmax_sums_and_errors(void **state) {
  (void)state;
  static const float x[] = {1, 2, 3, -1, 0, 7};
  Run r;
  run_init(&r, OP_SOFTMAX);
  run_in(&r, ty(DT_F32, 2, 2, 3), x);
  attr_int(&r, "axis", -1);
  run_ok(&r);
  const float *y = r.out[0].data;
  for (int row = 0; row < 2; row++) assert_true(fabs(y[3 * row] + y[3 * row + 1] + y[3 * row + 2] - 1.0) < 1e-6);
  assert_true(y[0] < y[1] && y[1] < y[2]);
  run_free(&r);
  run_init(&r, OP_SOFTMAX);
  run_in(&r, ty(DT_F32, 2, 2, 3), NULL);
  attr_int(&r, "axis", 2);
  run_bad(&r);
  run_free(&r);
}

/* ---- shape ---------------------------------------------------------------------------------------- */

/* [2,3,4] with shape [0, -1]: 0 copies 2, -1 = 24 / 2 = 12; with [4, 0, -1]: 0 copies 3,
 * -1 = 24 / 12 = 2. i64 [2,3] = 1..6 reshaped to [3, -1] = [3, 2] keeps the data. */
static void test_reshape(void **state) {
  (void)state;
  Run r;
  run_init(&r, OP_RESHAPE);
  run_in(&r, ty(DT_F32, 3, 2, 3, 4), NULL);
  attr_ints(&r, "shape", 2, 0, -1);
  assert_true(run_infer(&r));
  check_type(&r.out_t[0], DT_F32, 2, 2, 12);
  run_free(&r);
  run_init(&r, OP_RESHAPE);
  run_in(&r, ty(DT_F32, 3, 2, 3, 4), NULL);
  attr_ints(&r, "shape", 3, 4, 0, -1);
  assert_true(run_infer(&r));
  check_type(&r.out_t[0], DT_F32, 3, 4, 3, 2);
  run_free(&r);
  static const int64_t x[] = {1, 2, 3, 4, 5, 6};
  run_init(&r, OP_RESHAPE);
  run_in(&r, ty(DT_I64, 2, 2, 3), x);
  attr_ints(&r, "shape", 2, 3, -1);
  run_ok(&r);
  check_type(&r.out_t[0], DT_I64, 2, 3, 2);
  check_i64(&r.out[0], x, 6);
  run_free(&r);
}

/* reshape errors: 24 elements into [5, 5] = 25; two -1 entries. */
static void test_reshape_errors(void **state) {
  (void)state;
  Run r;
  run_init(&r, OP_RESHAPE);
  run_in(&r, ty(DT_F32, 3, 2, 3, 4), NULL);
  attr_ints(&r, "shape", 2, 5, 5);
  run_bad(&r);
  run_free(&r);
  run_init(&r, OP_RESHAPE);
  run_in(&r, ty(DT_F32, 3, 2, 3, 4), NULL);
  attr_ints(&r, "shape", 2, -1, -1);
  run_bad(&r);
  run_free(&r);
}

/* [2,3,2]: axis 1 -> [2, 6] (data unchanged); -1 -> [6, 2]; 0 -> [1, 12]; 3 -> [12, 1];
 * axis 4 is out of range. */
static void test_flatten(void **state) {
  (void)state;
  static const float x[] = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11};
  static const int axes[] = {1, -1, 0, 3}, rows[] = {2, 6, 1, 12};
  for (int i = 0; i < 4; i++) {
    Run r;
    run_init(&r, OP_FLATTEN);
    run_in(&r, ty(DT_F32, 3, 2, 3, 2), x);
    if (axes[i] != 1) attr_int(&r, "axis", axes[i]);
    run_ok(&r);
    check_type(&r.out_t[0], DT_F32, 2, rows[i], 12 / rows[i]);
    check_f32(&r.out[0], x, 12);
    run_free(&r);
  }
  Run r;
  run_init(&r, OP_FLATTEN);
  run_in(&r, ty(DT_F32, 3, 2, 3, 2), NULL);
  attr_int(&r, "axis", 4);
  run_bad(&r);
  run_free(&r);
}

/* Default perm reverses: [1 2 3; 4 5 6] -> [1 4; 2 5; 3 6]. perm [1,2,0] on X[a][b][c] =
 * 6a + 2b + c ([2,3,2]) gives Y [3,2,2] with Y[i][j][k] = X[k][i][j] = 6k + 2i + j:
 * (i,j) = 00: 0 6, 01: 1 7, 10: 2 8, 11: 3 9, 20: 4 10, 21: 5 11. */
static void test_transpose(void **state) {
  (void)state;
  static const int32_t x2[] = {1, 2, 3, 4, 5, 6}, want2[] = {1, 4, 2, 5, 3, 6};
  Run r;
  run_init(&r, OP_TRANSPOSE);
  run_in(&r, ty(DT_I32, 2, 2, 3), x2);
  run_ok(&r);
  check_type(&r.out_t[0], DT_I32, 2, 3, 2);
  check_i32(&r.out[0], want2, 6);
  run_free(&r);
  static const float x3[] = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11};
  static const float want3[] = {0, 6, 1, 7, 2, 8, 3, 9, 4, 10, 5, 11};
  run_init(&r, OP_TRANSPOSE);
  run_in(&r, ty(DT_F32, 3, 2, 3, 2), x3);
  attr_ints(&r, "perm", 3, 1, 2, 0);
  run_ok(&r);
  check_type(&r.out_t[0], DT_F32, 3, 3, 2, 2);
  check_f32(&r.out[0], want3, 12);
  run_free(&r);
}

/* transpose errors: perm [0, 0] repeats; perm of 3 entries for rank 2. */
static void test_transpose_errors(void **state) {
  (void)state;
  Run r;
  run_init(&r, OP_TRANSPOSE);
  run_in(&r, ty(DT_F32, 2, 2, 3), NULL);
  attr_ints(&r, "perm", 2, 0, 0);
  run_bad(&r);
  run_free(&r);
  run_init(&r, OP_TRANSPOSE);
  run_in(&r, ty(DT_F32, 2, 2, 3), NULL);
  attr_ints(&r, "perm", 3, 0, 1, 2);
  run_bad(&r);
  run_free(&r);
}

/* Axis -1: [1; 2] ([2,1]) with [3 4; 5 6] and [7; 8] -> [1 3 4 7; 2 5 6 8] ([2,4]);
 * axis -2: [1 2] with [3 4; 5 6] -> [1 2; 3 4; 5 6] ([3,2]). */
static void test_concat(void **state) {
  (void)state;
  static const float a[] = {1, 2}, b[] = {3, 4, 5, 6}, c3[] = {7, 8};
  static const float want[] = {1, 3, 4, 7, 2, 5, 6, 8}, want_rows[] = {1, 2, 3, 4, 5, 6};
  Run r;
  run_init(&r, OP_CONCAT);
  run_in(&r, ty(DT_F32, 2, 2, 1), a);
  run_in(&r, ty(DT_F32, 2, 2, 2), b);
  run_in(&r, ty(DT_F32, 2, 2, 1), c3);
  attr_int(&r, "axis", -1);
  run_ok(&r);
  check_type(&r.out_t[0], DT_F32, 2, 2, 4);
  check_f32(&r.out[0], want, 8);
  run_free(&r);
  run_init(&r, OP_CONCAT);
  run_in(&r, ty(DT_F32, 2, 1, 2), a);
  run_in(&r, ty(DT_F32, 2, 2, 2), b);
  attr_int(&r, "axis", -2);
  run_ok(&r);
  check_type(&r.out_t[0], DT_F32, 2, 3, 2);
  check_f32(&r.out[0], want_rows, 6);
  run_free(&r);
}

/* concat errors: [2,1] and [3,2] on axis 1 differ on dim 0; f32 with i32; axis 2 on rank 2. */
static void test_concat_errors(void **state) {
  (void)state;
  Run r;
  run_init(&r, OP_CONCAT);
  run_in(&r, ty(DT_F32, 2, 2, 1), NULL);
  run_in(&r, ty(DT_F32, 2, 3, 2), NULL);
  attr_int(&r, "axis", 1);
  run_bad(&r);
  run_free(&r);
  run_init(&r, OP_CONCAT);
  run_in(&r, ty(DT_F32, 2, 2, 1), NULL);
  run_in(&r, ty(DT_I32, 2, 2, 1), NULL);
  attr_int(&r, "axis", 1);
  run_bad(&r);
  run_free(&r);
  run_init(&r, OP_CONCAT);
  run_in(&r, ty(DT_F32, 2, 2, 1), NULL);
  attr_int(&r, "axis", 2);
  run_bad(&r);
  run_free(&r);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_element_access),
      cmocka_unit_test(test_fail_location),
      cmocka_unit_test(test_add_broadcast_row),
      cmocka_unit_test(test_sub_broadcast_column),
      cmocka_unit_test(test_mul_outer),
      cmocka_unit_test(test_div_float),
      cmocka_unit_test(test_div_int_truncates),
      cmocka_unit_test(test_div_int_by_zero),
      cmocka_unit_test(test_int_scalar_and_wrap),
      cmocka_unit_test(test_binary_errors),
      cmocka_unit_test(test_relu),
      cmocka_unit_test(test_sigmoid),
      cmocka_unit_test(test_tanh),
      cmocka_unit_test(test_unary_errors),
      cmocka_unit_test(test_clip),
      cmocka_unit_test(test_gemm_plain),
      cmocka_unit_test(test_gemm_trans_alpha_beta),
      cmocka_unit_test(test_gemm_column_c),
      cmocka_unit_test(test_gemm_errors),
      cmocka_unit_test(test_matmul_batched),
      cmocka_unit_test(test_matmul_batch_broadcast),
      cmocka_unit_test(test_matmul_rank1),
      cmocka_unit_test(test_matmul_errors),
      cmocka_unit_test(test_conv2d_pads_bias),
      cmocka_unit_test(test_conv2d_stride_dilation),
      cmocka_unit_test(test_conv2d_asymmetric_pads),
      cmocka_unit_test(test_conv2d_groups),
      cmocka_unit_test(test_conv2d_errors),
      cmocka_unit_test(test_maxpool_pads_indices),
      cmocka_unit_test(test_maxpool_ceil),
      cmocka_unit_test(test_maxpool_dilation),
      cmocka_unit_test(test_maxpool_errors),
      cmocka_unit_test(test_averagepool_pads),
      cmocka_unit_test(test_averagepool_ceil),
      cmocka_unit_test(test_averagepool_errors),
      cmocka_unit_test(test_global_average_pool),
      cmocka_unit_test(test_batch_norm),
      cmocka_unit_test(test_batch_norm_errors),
      cmocka_unit_test(test_softmax_last_axis),
      cmocka_unit_test(test_softmax_axis0),
      cmocka_unit_test(test_softmax_sums_and_errors),
      cmocka_unit_test(test_reshape),
      cmocka_unit_test(test_reshape_errors),
      cmocka_unit_test(test_flatten),
      cmocka_unit_test(test_transpose),
      cmocka_unit_test(test_transpose_errors),
      cmocka_unit_test(test_concat),
      cmocka_unit_test(test_concat_errors),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}

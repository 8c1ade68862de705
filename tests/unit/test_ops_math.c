/* test_ops_math.c — the math, comparison, selection, cast, reduction and normalization ops
 * (abs .. layer_norm), each run as a small text-IR graph through the parser, the verifier and
 * the interpreter. Expected values are worked out by hand in the comments, or (where marked
 * "numpy") computed offline with Python's math module / numpy 1.24 in double precision:
 *   gelu (erf)  0.5*x*(1+math.erf(x/math.sqrt(2)))       x = -1, 1, 2: -0.158655254, 0.841344746, 1.954499736
 *   gelu (tanh) 0.5*x*(1+math.tanh(math.sqrt(2/math.pi)*(x+0.044715*x**3)))
 *                                                          x = -1, 1, 2: -0.158808009, 0.841191991, 1.954597694
 *   erf         math.erf(1) = 0.842700793, math.erf(2) = 0.995322265
 *   logsumexp   3 + math.log(1 + math.exp(-1) + math.exp(-2)) = 3.407605964 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "frontend/parser.h"
#include "ir/interp.h"
#include "ir/verify.h"

/* ---- harness --------------------------------------------------------------------------------- */

/* A graph with no inputs: the results `sig` (as in a signature) computed by `body`. */
#define GRAPH(sig, body) "lathe 1\ngraph @t() -> (" sig ") {\n" body "}\n"

/* Parses and verifies text; diagnostics go to out (stderr when NULL). Returns the graph, or
 * NULL when verification failed (parsing must succeed). */
static Graph *load(const char *text, DiagSink *d, FILE *out) {
  diag_init(d, out ? out : stderr);
  Graph *g = ir_parse_text(d, "t.lathe", text, strlen(text));
  assert_non_null(g);
  if (ir_verify(g, d) == IR_OK) return g;
  ir_graph_free(g);
  return NULL;
}

/* Runs text's graph on the interpreter into outs[i] (buffers of the outputs' sizes); fails
 * the test on any diagnostic. */
static void run_text(const char *text, void *const *outs) {
  DiagSink d;
  Graph *g = load(text, &d, NULL);
  assert_non_null(g);
  assert_int_equal(ir_interp_run(g, NULL, outs, &d), IR_OK);
  assert_int_equal(d.errors, 0);
  ir_graph_free(g);
  diag_free(&d);
}

/* Runs text's graph with one output into out. */
static void run1(const char *text, void *out) {
  void *outs[1] = {out};
  run_text(text, outs);
}

/* Expects exactly one error, containing want, from verifying text (run = false) or from
 * running it (run = true). */
static void expect_error(const char *text, bool run, const char *want) {
  char *msg = NULL;
  size_t len = 0;
  FILE *mem = open_memstream(&msg, &len);
  assert_non_null(mem);
  DiagSink d;
  Graph *g = load(text, &d, mem);
  if (run) {
    assert_non_null(g);
    char out[256];
    void *outs[1] = {out};
    assert_int_not_equal(ir_interp_run(g, NULL, outs, &d), IR_OK);
  } else {
    assert_null(g);
  }
  int errors = d.errors;
  diag_free(&d);
  fclose(mem);
  if (errors != 1 || !strstr(msg, want)) fail_msg("expected one error with '%s', got %d:\n%s", want, errors, msg);
  free(msg);
  ir_graph_free(g);
}

/* Checks n floats: NaN matches NaN, infinities and signed zeros match exactly, others to
 * 1e-6 relative. */
static void check_f32(const float *got, const float *want, int n) {
  for (int i = 0; i < n; i++) {
    bool ok = isnan(want[i]) ? isnan(got[i])
              : isinf(want[i]) || want[i] == 0 ? got[i] == want[i] && signbit(got[i]) == signbit(want[i])
                                               : fabs(got[i] - want[i]) <= 1e-6 * fabs(want[i]);
    if (!ok) fail_msg("element %d: got %.9g, want %.9g", i, got[i], want[i]);
  }
}

/* ---- unary ----------------------------------------------------------------------------------- */

/* abs and neg on floats (inf, NaN, -0) and integers, which wrap: i8 |-128| = -128 and
 * i32 -(-2^31) = -2^31. */
static void test_abs_neg(void **state) {
  (void)state;
  float f[5], g[5];
  int8_t i8[3];
  int32_t i32[3];
  void *outs[4] = {f, g, i8, i32};
  run_text(GRAPH("%a: f32[5], %n: f32[5], %b: i8[3], %m: i32[3]",
                 "  %x = const dense<[-1.5, -0.0, 2.0, -inf, nan]> : f32[5]\n"
                 "  %a = abs(%x) : f32[5]\n"
                 "  %n = neg(%x) : f32[5]\n"
                 "  %k = const dense<[-128, -5, 7]> : i8[3]\n"
                 "  %b = abs(%k) : i8[3]\n"
                 "  %j = const dense<[5, -2147483648, 0]> : i32[3]\n"
                 "  %m = neg(%j) : i32[3]\n"
                 "  return %a, %n, %b, %m\n"),
           outs);
  check_f32(f, (const float[]){1.5f, 0.0f, 2.0f, INFINITY, NAN}, 5);
  check_f32(g, (const float[]){1.5f, 0.0f, -2.0f, INFINITY, NAN}, 5);
  assert_int_equal(i8[0], -128);
  assert_int_equal(i8[1], 5);
  assert_int_equal(i8[2], 7);
  assert_int_equal(i32[0], -5);
  assert_int_equal(i32[1], INT32_MIN);
  assert_int_equal(i32[2], 0);
  expect_error(GRAPH("%n: u8[1]", "  %x = const dense<[1]> : u8[1]\n  %n = neg(%x) : u8[1]\n  return %n\n"), false,
               "neg: input 0 has dtype u8");
}

/* exp, log, sqrt, reciprocal at exact points and at their edges: exp(-inf) = 0, log(0) =
 * -inf, log(-1) and sqrt(-1) NaN, 1/0 = inf, 1/-0 = -inf. */
static void test_exp_log_sqrt_reciprocal(void **state) {
  (void)state;
  float e[3], l[4], s[3], r[4];
  void *outs[4] = {e, l, s, r};
  run_text(GRAPH("%e: f32[3], %l: f32[4], %s: f32[3], %r: f32[4]",
                 "  %x = const dense<[0.0, 1.0, -inf]> : f32[3]\n"
                 "  %e = exp(%x) : f32[3]\n"
                 "  %y = const dense<[1.0, 2.71828183, 0.0, -1.0]> : f32[4]\n"
                 "  %l = log(%y) : f32[4]\n"
                 "  %z = const dense<[4.0, 2.0, -1.0]> : f32[3]\n"
                 "  %s = sqrt(%z) : f32[3]\n"
                 "  %w = const dense<[4.0, 0.0, -0.0, -0.5]> : f32[4]\n"
                 "  %r = reciprocal(%w) : f32[4]\n"
                 "  return %e, %l, %s, %r\n"),
           outs);
  check_f32(e, (const float[]){1.0f, 2.71828183f, 0.0f}, 3);
  check_f32(l, (const float[]){0.0f, 1.0f, -INFINITY, NAN}, 4);
  check_f32(s, (const float[]){2.0f, 1.41421356f, NAN}, 3);
  check_f32(r, (const float[]){0.25f, INFINITY, -INFINITY, -2.0f}, 4);
  expect_error(GRAPH("%l: i32[1]", "  %x = const dense<[1]> : i32[1]\n  %l = log(%x) : i32[1]\n  return %l\n"), false,
               "log: input 0 has dtype i32");
}

/* erf and both forms of gelu (numpy values in the header); an unknown approximate is an
 * error at the attribute. */
static void test_erf_gelu(void **state) {
  (void)state;
  float e[4], g[4], t[4];
  void *outs[3] = {e, g, t};
  run_text(GRAPH("%e: f32[4], %g: f32[4], %t: f32[4]",
                 "  %x = const dense<[-1.0, 0.0, 1.0, 2.0]> : f32[4]\n"
                 "  %e = erf(%x) : f32[4]\n"
                 "  %g = gelu(%x) {approximate = \"none\"} : f32[4]\n"
                 "  %t = gelu(%x) {approximate = \"tanh\"} : f32[4]\n"
                 "  return %e, %g, %t\n"),
           outs);
  check_f32(e, (const float[]){-0.842700793f, 0.0f, 0.842700793f, 0.995322265f}, 4);
  check_f32(g, (const float[]){-0.158655254f, 0.0f, 0.841344746f, 1.954499736f}, 4);
  check_f32(t, (const float[]){-0.158808009f, 0.0f, 0.841191991f, 1.954597694f}, 4);
  float d[1];
  run1(GRAPH("%g: f32[1]", "  %x = const dense<[1.0]> : f32[1]\n  %g = gelu(%x) : f32[1]\n  return %g\n"), d);
  check_f32(d, (const float[]){0.841344746f}, 1); /* the default is the erf form */
  expect_error(GRAPH("%g: f32[1]",
                     "  %x = const dense<[1.0]> : f32[1]\n  %g = gelu(%x) {approximate = \"fast\"} : f32[1]\n"
                     "  return %g\n"),
               false, "t.lathe:4:18: error: gelu: approximate = \"fast\" must be \"none\" or \"tanh\"");
}

/* hard_swish x * clamp(x / 6 + 1/2, 0, 1): -4 -> -4 * 0 = -0, -3 -> -0, 1 -> 1 * 2/3, 3 -> 3,
 * 4 -> 4, NaN -> NaN. leaky_relu (default alpha 0.01, and 0.1): -2 -> -0.02 / -0.2. hard_sigmoid
 * (defaults alpha 0.2, beta 0.5): -3 -> 0, 0 -> 0.5, 1 -> 0.7, 3 -> 1, NaN -> NaN; with alpha
 * 1, beta 0: the identity clamped to [0, 1]. */
static void test_hard_swish_leaky_relu_hard_sigmoid(void **state) {
  (void)state;
  float hw[6], lr[3], lr1[3], hs[5], hs1[5];
  void *outs[5] = {hw, lr, lr1, hs, hs1};
  run_text(GRAPH("%hw: f32[6], %lr: f32[3], %lr1: f32[3], %hs: f32[5], %hs1: f32[5]",
                 "  %x = const dense<[-4.0, -3.0, 1.0, 3.0, 4.0, nan]> : f32[6]\n"
                 "  %hw = hard_swish(%x) : f32[6]\n"
                 "  %y = const dense<[-2.0, 0.0, 3.0]> : f32[3]\n"
                 "  %lr = leaky_relu(%y) : f32[3]\n"
                 "  %lr1 = leaky_relu(%y) {alpha = 0.1} : f32[3]\n"
                 "  %z = const dense<[-3.0, 0.0, 1.0, 3.0, nan]> : f32[5]\n"
                 "  %hs = hard_sigmoid(%z) : f32[5]\n"
                 "  %hs1 = hard_sigmoid(%z) {alpha = 1, beta = 0} : f32[5]\n"
                 "  return %hw, %lr, %lr1, %hs, %hs1\n"),
           outs);
  check_f32(hw, (const float[]){-0.0f, -0.0f, 0.666666667f, 3.0f, 4.0f, NAN}, 6);
  check_f32(lr, (const float[]){-0.02f, 0.0f, 3.0f}, 3);
  check_f32(lr1, (const float[]){-0.2f, 0.0f, 3.0f}, 3);
  check_f32(hs, (const float[]){0.0f, 0.5f, 0.7f, 1.0f, NAN}, 5);
  check_f32(hs1, (const float[]){0.0f, 0.0f, 1.0f, 1.0f, NAN}, 5);
  expect_error(GRAPH("%l: f32[1]",
                     "  %x = const dense<[1.0]> : f32[1]\n  %l = leaky_relu(%x) {beta = 1.0} : f32[1]\n  return %l\n"),
               false, "leaky_relu has no attribute 'beta'");
}

/* clip on integers (ONNX Clip-12+): i8 [-128, -5, 0, 5, 127] clipped to [-3, 4] -> [-3, -3, 0,
 * 4, 4]; fractional bounds round inward: [-2.5, 2.5] on i32 [-9, 9] -> [-2, 2]; u8 with min
 * only: [0, 7, 200] -> [7, 7, 200]. */
static void test_clip_integers(void **state) {
  (void)state;
  int8_t a[5];
  int32_t b[2];
  uint8_t c[3];
  void *outs[3] = {a, b, c};
  run_text(GRAPH("%a: i8[5], %b: i32[2], %c: u8[3]",
                 "  %x = const dense<[-128, -5, 0, 5, 127]> : i8[5]\n"
                 "  %a = clip(%x) {max = 4, min = -3} : i8[5]\n"
                 "  %y = const dense<[-9, 9]> : i32[2]\n"
                 "  %b = clip(%y) {max = 2.5, min = -2.5} : i32[2]\n"
                 "  %z = const dense<[0, 7, 200]> : u8[3]\n"
                 "  %c = clip(%z) {min = 7} : u8[3]\n"
                 "  return %a, %b, %c\n"),
           outs);
  const int8_t wa[] = {-3, -3, 0, 4, 4};
  const uint8_t wc[] = {7, 7, 200};
  for (int n = 0; n < 5; n++) assert_int_equal(a[n], wa[n]);
  assert_int_equal(b[0], -2);
  assert_int_equal(b[1], 2);
  for (int n = 0; n < 3; n++) assert_int_equal(c[n], wc[n]);
}

/* ---- binary ---------------------------------------------------------------------------------- */

/* pow: f32 [2,2] ^ f32 [2] broadcast per column: [[1^2, 2^0.5], [3^2, 4^0.5]] = [[1, 1.41421356],
 * [9, 2]]; the exponent may have another dtype (i32 exponent 3 on f32: 0.5^3 = 0.125); an
 * integer base stays integer: i32 [2, 3, -2] ^ 3 = [8, 27, -8], 2^31 wraps to -2^31; an
 * i64 base with a float exponent truncates: 2^0.5 = 1.41 -> 1, 10^0.5 = 3.16 -> 3; negative
 * integer exponents give 1 / a^|b| truncated: 1, -1, (-1)^-2 = 1, 2^-1 = 0. */
static void test_pow(void **state) {
  (void)state;
  float f[4], h[1];
  int32_t i[4];
  int64_t j[2], k[4];
  void *outs[5] = {f, h, i, j, k};
  run_text(GRAPH("%f: f32[2,2], %h: f32[1], %i: i32[4], %j: i64[2], %k: i64[4]",
                 "  %a = const dense<[1.0, 2.0, 3.0, 4.0]> : f32[2,2]\n"
                 "  %b = const dense<[2.0, 0.5]> : f32[2]\n"
                 "  %f = pow(%a, %b) : f32[2,2]\n"
                 "  %half = const dense<[0.5]> : f32[1]\n"
                 "  %three = const dense<3> : i32[]\n"
                 "  %h = pow(%half, %three) : f32[1]\n"
                 "  %ib = const dense<[2, 3, -2, 2]> : i32[4]\n"
                 "  %ie = const dense<[3, 3, 3, 31]> : i32[4]\n"
                 "  %i = pow(%ib, %ie) : i32[4]\n"
                 "  %jb = const dense<[2, 10]> : i64[2]\n"
                 "  %j = pow(%jb, %half) : i64[2]\n"
                 "  %kb = const dense<[1, -1, -1, 2]> : i64[4]\n"
                 "  %ke = const dense<[-5, -1, -2, -1]> : i64[4]\n"
                 "  %k = pow(%kb, %ke) : i64[4]\n"
                 "  return %f, %h, %i, %j, %k\n"),
           outs);
  check_f32(f, (const float[]){1.0f, 1.41421356f, 9.0f, 2.0f}, 4);
  check_f32(h, (const float[]){0.125f}, 1);
  const int32_t wi[] = {8, 27, -8, INT32_MIN};
  const int64_t wj[] = {1, 3}, wk[] = {1, -1, 1, 0};
  for (int n = 0; n < 4; n++) assert_int_equal(i[n], wi[n]);
  for (int n = 0; n < 2; n++) assert_int_equal(j[n], wj[n]);
  for (int n = 0; n < 4; n++) assert_int_equal(k[n], wk[n]);
  expect_error(GRAPH("%p: i32[1]",
                     "  %a = const dense<[0]> : i32[1]\n  %b = const dense<[-1]> : i32[1]\n"
                     "  %p = pow(%a, %b) : i32[1]\n  return %p\n"),
               true, "pow: integer zero to a negative power (element 0)");
}

/* min and max propagate NaN from either side (numpy minimum / maximum); integers broadcast:
 * max([[1, 5], [7, -3]], [4]) = [[4, 5], [7, 4]], min = [[1, 4], [4, -3]]. */
static void test_min_max(void **state) {
  (void)state;
  float mn[4], mx[4];
  int32_t imn[4], imx[4];
  void *outs[4] = {mn, mx, imn, imx};
  run_text(GRAPH("%mn: f32[4], %mx: f32[4], %imn: i32[2,2], %imx: i32[2,2]",
                 "  %a = const dense<[1.0, nan, 3.0, -0.5]> : f32[4]\n"
                 "  %b = const dense<[2.0, 2.0, nan, -inf]> : f32[4]\n"
                 "  %mn = min(%a, %b) : f32[4]\n"
                 "  %mx = max(%a, %b) : f32[4]\n"
                 "  %c = const dense<[1, 5, 7, -3]> : i32[2,2]\n"
                 "  %d = const dense<[4]> : i32[1]\n"
                 "  %imn = min(%c, %d) : i32[2,2]\n"
                 "  %imx = max(%c, %d) : i32[2,2]\n"
                 "  return %mn, %mx, %imn, %imx\n"),
           outs);
  check_f32(mn, (const float[]){1.0f, NAN, NAN, -INFINITY}, 4);
  check_f32(mx, (const float[]){2.0f, NAN, NAN, -0.5f}, 4);
  const int32_t wmn[] = {1, 4, 4, -3}, wmx[] = {4, 5, 7, 4};
  for (int n = 0; n < 4; n++) {
    assert_int_equal(imn[n], wmn[n]);
    assert_int_equal(imx[n], wmx[n]);
  }
  expect_error(GRAPH("%m: f32[2]",
                     "  %a = const dense<[1.0, 2.0]> : f32[2]\n  %b = const dense<[1, 2]> : i32[2]\n"
                     "  %m = max(%a, %b) : f32[2]\n  return %m\n"),
               false, "max: input 1 has dtype i32 but input 0 has f32");
}

/* equal: NaN equals nothing, -0 equals 0; bool operands; i64 [2,1] == [3] broadcasts to
 * [[1 == 1, 1 == 2, 1 == 3], [2 == 1, 2 == 2, 2 == 3]]. */
static void test_equal(void **state) {
  (void)state;
  uint8_t f[4], b[3], i[6];
  void *outs[3] = {f, b, i};
  run_text(GRAPH("%f: bool[4], %b: bool[3], %i: bool[2,3]",
                 "  %x = const dense<[1.0, nan, 0.0, 2.0]> : f32[4]\n"
                 "  %y = const dense<[1.0, nan, -0.0, 3.0]> : f32[4]\n"
                 "  %f = equal(%x, %y) : bool[4]\n"
                 "  %p = const dense<[true, false, true]> : bool[3]\n"
                 "  %q = const dense<[true, false, false]> : bool[3]\n"
                 "  %b = equal(%p, %q) : bool[3]\n"
                 "  %c = const dense<[1, 2]> : i64[2,1]\n"
                 "  %d = const dense<[1, 2, 3]> : i64[3]\n"
                 "  %i = equal(%c, %d) : bool[2,3]\n"
                 "  return %f, %b, %i\n"),
           outs);
  const uint8_t wf[] = {1, 0, 1, 0}, wb[] = {1, 1, 0}, wi[] = {1, 0, 0, 0, 1, 0};
  for (int n = 0; n < 4; n++) assert_int_equal(f[n], wf[n]);
  for (int n = 0; n < 3; n++) assert_int_equal(b[n], wb[n]);
  for (int n = 0; n < 6; n++) assert_int_equal(i[n], wi[n]);
}

/* where broadcasts all three: cond [2,1] = [[true], [false]], a [3] = [1, 2, 3], b a scalar 9
 * -> [[1, 2, 3], [9, 9, 9]]; on i8 the same. cond must be bool; a and b one dtype. */
static void test_where(void **state) {
  (void)state;
  float f[6];
  int8_t i[6];
  void *outs[2] = {f, i};
  run_text(GRAPH("%f: f32[2,3], %i: i8[2,3]",
                 "  %c = const dense<[true, false]> : bool[2,1]\n"
                 "  %a = const dense<[1.0, 2.0, 3.0]> : f32[3]\n"
                 "  %b = const dense<9.0> : f32[]\n"
                 "  %f = where(%c, %a, %b) : f32[2,3]\n"
                 "  %ia = const dense<[1, 2, 3]> : i8[3]\n"
                 "  %ib = const dense<[9]> : i8[1]\n"
                 "  %i = where(%c, %ia, %ib) : i8[2,3]\n"
                 "  return %f, %i\n"),
           outs);
  check_f32(f, (const float[]){1, 2, 3, 9, 9, 9}, 6);
  const int8_t wi[] = {1, 2, 3, 9, 9, 9};
  for (int n = 0; n < 6; n++) assert_int_equal(i[n], wi[n]);
  expect_error(GRAPH("%w: f32[2]",
                     "  %c = const dense<[1.0, 0.0]> : f32[2]\n  %w = where(%c, %c, %c) : f32[2]\n  return %w\n"),
               false, "where: input 0 has dtype f32; allowed: bool");
  expect_error(GRAPH("%w: f32[2]",
                     "  %c = const dense<[true, false]> : bool[2]\n  %a = const dense<[1.0, 0.0]> : f32[2]\n"
                     "  %b = const dense<[1, 0]> : i32[2]\n  %w = where(%c, %a, %b) : f32[2]\n  return %w\n"),
               false, "where: input 2 has dtype i32 but input 1 has f32");
  expect_error(GRAPH("%w: f32[3]",
                     "  %c = const dense<[true, false]> : bool[2]\n  %a = const dense<[1.0, 0.0, 2.0]> : f32[3]\n"
                     "  %w = where(%c, %a, %a) : f32[3]\n  return %w\n"),
               false, "do not broadcast");
}

/* ---- cast ------------------------------------------------------------------------------------ */

/* f32 to integers truncates toward zero and saturates, NaN gives 0: i8 [1.9, -1.9, 200, -200,
 * nan, inf] -> [1, -1, 127, -128, 0, 127]; u8 [-1, 255.9, 300, -inf] -> [0, 255, 255, 0]; i64
 * [1e19, -1e19] -> [INT64_MAX, INT64_MIN]. Integers to integers wrap: i32 [200, -129] -> i8
 * [-56, 127]. To bool: x != 0, so NaN is true and -0 false. From bool: 0 / 1. */
static void test_cast_to_integers_and_bool(void **state) {
  (void)state;
  int8_t a[6], c[2];
  uint8_t b[4], t[4];
  int64_t d[2];
  float f[2];
  void *outs[6] = {a, b, d, c, t, f};
  run_text(GRAPH("%a: i8[6], %b: u8[4], %d: i64[2], %c: i8[2], %t: bool[4], %f: f32[2]",
                 "  %x = const dense<[1.9, -1.9, 200.0, -200.0, nan, inf]> : f32[6]\n"
                 "  %a = cast(%x) {to = \"i8\"} : i8[6]\n"
                 "  %y = const dense<[-1.0, 255.9, 300.0, -inf]> : f32[4]\n"
                 "  %b = cast(%y) {to = \"u8\"} : u8[4]\n"
                 "  %big = const dense<[1e19, -1e19]> : f32[2]\n"
                 "  %d = cast(%big) {to = \"i64\"} : i64[2]\n"
                 "  %w = const dense<[200, -129]> : i32[2]\n"
                 "  %c = cast(%w) {to = \"i8\"} : i8[2]\n"
                 "  %z = const dense<[0.0, -0.0, 0.5, nan]> : f32[4]\n"
                 "  %t = cast(%z) {to = \"bool\"} : bool[4]\n"
                 "  %p = const dense<[true, false]> : bool[2]\n"
                 "  %f = cast(%p) {to = \"f32\"} : f32[2]\n"
                 "  return %a, %b, %d, %c, %t, %f\n"),
           outs);
  const int8_t wa[] = {1, -1, 127, -128, 0, 127}, wc[] = {-56, 127};
  const uint8_t wb[] = {0, 255, 255, 0}, wt[] = {0, 0, 1, 1};
  for (int n = 0; n < 6; n++) assert_int_equal(a[n], wa[n]);
  for (int n = 0; n < 4; n++) assert_int_equal(b[n], wb[n]);
  assert_true(d[0] == INT64_MAX && d[1] == INT64_MIN);
  for (int n = 0; n < 2; n++) assert_int_equal(c[n], wc[n]);
  for (int n = 0; n < 4; n++) assert_int_equal(t[n], wt[n]);
  check_f32(f, (const float[]){1.0f, 0.0f}, 2);
}

/* Casts between floats round to nearest even: f32 65520 -> f16 is halfway between 65504
 * (the largest f16) and 65536, so it rounds to even: inf (0x7c00); 1 + 2^-8 -> bf16 is
 * halfway between 1 (0x3f80) and 1 + 2^-7 (0x3f81): 0x3f80; 1 + 3 * 2^-8 -> 0x3f82 (to even
 * again). i64 16777217 (2^24 + 1) -> f32 16777216. An unknown dtype is an error. */
static void test_cast_floats(void **state) {
  (void)state;
  uint16_t h[2], b[2];
  float f[1];
  void *outs[3] = {h, b, f};
  run_text(GRAPH("%h: f16[2], %b: bf16[2], %f: f32[1]",
                 "  %x = const dense<[65520.0, 1.0]> : f32[2]\n"
                 "  %h = cast(%x) {to = \"f16\"} : f16[2]\n"
                 "  %y = const dense<[1.00390625, 1.01171875]> : f32[2]\n"
                 "  %b = cast(%y) {to = \"bf16\"} : bf16[2]\n"
                 "  %i = const dense<[16777217]> : i64[1]\n"
                 "  %f = cast(%i) {to = \"f32\"} : f32[1]\n"
                 "  return %h, %b, %f\n"),
           outs);
  assert_int_equal(h[0], 0x7c00);
  assert_int_equal(h[1], 0x3c00);
  assert_int_equal(b[0], 0x3f80);
  assert_int_equal(b[1], 0x3f82);
  assert_true(f[0] == 16777216.0f);
  expect_error(GRAPH("%c: f32[1]",
                     "  %x = const dense<[1.0]> : f32[1]\n  %c = cast(%x) {to = \"f64\"} : f32[1]\n  return %c\n"),
               false, "cast: to = \"f64\" is not a dtype");
  expect_error(GRAPH("%c: f32[1]", "  %x = const dense<[1.0]> : f32[1]\n  %c = cast(%x) : f32[1]\n  return %c\n"),
               false, "cast needs attribute 'to'");
}

/* ---- reductions ------------------------------------------------------------------------------ */

/* x = [[1, 2, 3], [4, 5, 6]]: sum over all (axes absent) = 21 as [1, 1]; axes = [] is all
 * too; mean over axis 0 without keepdims = [2.5, 3.5, 4.5]; max over axis -1 kept = [[3],
 * [6]]; min over [0, 1] without keepdims = 1 as a scalar; sum over axis 1 = [6, 15]. */
static void test_reduce_axes_keepdims(void **state) {
  (void)state;
  float all[1], empty[1], mean[3], mx[2], mn[1], sum[2];
  void *outs[6] = {all, empty, mean, mx, mn, sum};
  run_text(GRAPH("%all: f32[1,1], %empty: f32[1,1], %mean: f32[3], %mx: f32[2,1], %mn: f32[], %sum: f32[2]",
                 "  %x = const dense<[1.0, 2.0, 3.0, 4.0, 5.0, 6.0]> : f32[2,3]\n"
                 "  %all = reduce_sum(%x) : f32[1,1]\n"
                 "  %empty = reduce_sum(%x) {axes = []} : f32[1,1]\n"
                 "  %mean = reduce_mean(%x) {axes = [0], keepdims = 0} : f32[3]\n"
                 "  %mx = reduce_max(%x) {axes = [-1], keepdims = 1} : f32[2,1]\n"
                 "  %mn = reduce_min(%x) {axes = [1, 0], keepdims = 0} : f32[]\n"
                 "  %sum = reduce_sum(%x) {axes = [1], keepdims = 0} : f32[2]\n"
                 "  return %all, %empty, %mean, %mx, %mn, %sum\n"),
           outs);
  check_f32(all, (const float[]){21}, 1);
  check_f32(empty, (const float[]){21}, 1);
  check_f32(mean, (const float[]){2.5f, 3.5f, 4.5f}, 3);
  check_f32(mx, (const float[]){3, 6}, 2);
  check_f32(mn, (const float[]){1}, 1);
  check_f32(sum, (const float[]){6, 15}, 2);
}

/* NaN propagates through max and min wherever it stands ([nan, 1] and [1, nan]); integer
 * sums wrap (i8 100 + 100 = 200 - 256 = -56); integer means truncate toward zero ([1, 2] ->
 * 1, [-1, -2] -> -1); over no elements (a [0, 2] tensor along axis 0) sum is 0, mean NaN,
 * max -inf, and an integer max the dtype's lowest value. */
static void test_reduce_nan_ints_empty(void **state) {
  (void)state;
  float mx[2], mn[2], s0[2], m0[2], x0[2];
  int8_t isum[1];
  int32_t imean[2], imax[2];
  void *outs[8] = {mx, mn, isum, imean, s0, m0, x0, imax};
  run_text(GRAPH("%mx: f32[2], %mn: f32[2], %isum: i8[], %imean: i32[2], %s0: f32[2], %m0: f32[2], %x0: f32[2], "
                 "%imax: i32[2]",
                 "  %x = const dense<[nan, 1.0, 1.0, nan]> : f32[2,2]\n"
                 "  %mx = reduce_max(%x) {axes = [1], keepdims = 0} : f32[2]\n"
                 "  %mn = reduce_min(%x) {axes = [1], keepdims = 0} : f32[2]\n"
                 "  %b = const dense<[100, 100]> : i8[2]\n"
                 "  %isum = reduce_sum(%b) {keepdims = 0} : i8[]\n"
                 "  %i = const dense<[1, 2, -1, -2]> : i32[2,2]\n"
                 "  %imean = reduce_mean(%i) {axes = [1], keepdims = 0} : i32[2]\n"
                 "  %e = const dense<0.0> : f32[0,2]\n"
                 "  %s0 = reduce_sum(%e) {axes = [0], keepdims = 0} : f32[2]\n"
                 "  %m0 = reduce_mean(%e) {axes = [0], keepdims = 0} : f32[2]\n"
                 "  %x0 = reduce_max(%e) {axes = [0], keepdims = 0} : f32[2]\n"
                 "  %ie = const dense<0> : i32[0,2]\n"
                 "  %imax = reduce_max(%ie) {axes = [0], keepdims = 0} : i32[2]\n"
                 "  return %mx, %mn, %isum, %imean, %s0, %m0, %x0, %imax\n"),
           outs);
  check_f32(mx, (const float[]){NAN, NAN}, 2);
  check_f32(mn, (const float[]){NAN, NAN}, 2);
  assert_int_equal(isum[0], -56);
  assert_int_equal(imean[0], 1);
  assert_int_equal(imean[1], -1);
  check_f32(s0, (const float[]){0, 0}, 2);
  check_f32(m0, (const float[]){NAN, NAN}, 2);
  check_f32(x0, (const float[]){-INFINITY, -INFINITY}, 2);
  assert_int_equal(imax[0], INT32_MIN);
  assert_int_equal(imax[1], INT32_MIN);
}

/* Axes out of range or named twice (1 and -1 of a rank-2 operand), keepdims outside 0..1, a
 * bool operand. */
static void test_reduce_errors(void **state) {
  (void)state;
  expect_error(GRAPH("%s: f32[2]",
                     "  %x = const dense<0.0> : f32[2,2]\n  %s = reduce_sum(%x) {axes = [2], keepdims = 0} : f32[2]\n"
                     "  return %s\n"),
               false, "reduce_sum: axis 2 is out of range for rank 2");
  expect_error(GRAPH("%s: f32[2]",
                     "  %x = const dense<0.0> : f32[2,2]\n"
                     "  %s = reduce_max(%x) {axes = [1, -1], keepdims = 0} : f32[2]\n"
                     "  return %s\n"),
               false, "reduce_max: axis 1 is named twice in axes");
  expect_error(GRAPH("%s: f32[1,1]",
                     "  %x = const dense<0.0> : f32[2,2]\n  %s = reduce_min(%x) {keepdims = 2} : f32[1,1]\n"
                     "  return %s\n"),
               false, "reduce_min: keepdims = 2 is out of range (allowed 0..1)");
  expect_error(GRAPH("%s: bool[1]",
                     "  %x = const dense<true> : bool[2]\n  %s = reduce_sum(%x) : bool[1]\n  return %s\n"),
               false, "reduce_sum: input 0 has dtype bool");
}

/* ---- normalization --------------------------------------------------------------------------- */

/* log_softmax of [1, 2, 3] is x - 3.407605964 (numpy, header); large inputs do not overflow:
 * [1000, 1000] -> [-ln 2, -ln 2]; along axis 0 of [[0, 5], [0, 5]] every column is
 * [-ln 2, -ln 2]. */
static void test_log_softmax(void **state) {
  (void)state;
  float a[3], b[2], c[4];
  void *outs[3] = {a, b, c};
  run_text(GRAPH("%a: f32[3], %b: f32[2], %c: f32[2,2]",
                 "  %x = const dense<[1.0, 2.0, 3.0]> : f32[3]\n"
                 "  %a = log_softmax(%x) : f32[3]\n"
                 "  %y = const dense<[1000.0, 1000.0]> : f32[2]\n"
                 "  %b = log_softmax(%y) {axis = -1} : f32[2]\n"
                 "  %z = const dense<[0.0, 5.0, 0.0, 5.0]> : f32[2,2]\n"
                 "  %c = log_softmax(%z) {axis = 0} : f32[2,2]\n"
                 "  return %a, %b, %c\n"),
           outs);
  check_f32(a, (const float[]){-2.407605964f, -1.407605964f, -0.407605964f}, 3);
  check_f32(b, (const float[]){-0.693147181f, -0.693147181f}, 2);
  check_f32(c, (const float[]){-0.693147181f, -0.693147181f, -0.693147181f, -0.693147181f}, 4);
}

/* layer_norm over the last axis of x = [[1, 2, 3, 4], [2, 2, 2, 2]] with epsilon 0.75:
 * row 0: mean 2.5, var (2.25 + 0.25 + 0.25 + 2.25) / 4 = 1.25, inv = 1 / sqrt(2) =
 * 0.707106781, normalized [-1.5, -0.5, 0.5, 1.5] * inv; row 1: mean 2, var 0, inv = 1 /
 * sqrt(0.75) = 1.154700538, normalized 0. With scale [1, 2, 1, 2] and bias [0.5] (broadcast):
 * row 0 = [-1.060660172 + 0.5, -0.707106781 + 0.5, 0.353553391 + 0.5, 2.121320344 + 0.5],
 * row 1 = 0.5. Without bias, over axis 0 (all 8 elements) of the same x with scale 1: mean 18/8
 * = 2.25, var = (1.5625 + 0.0625 + 0.5625 + 3.0625 + 4 * 0.0625) / 8 = 0.6875, epsilon 0.3125
 * makes inv = 1, so y = x - 2.25. */
static void test_layer_norm(void **state) {
  (void)state;
  float y[8], mean[2], inv[2], z[8], zm[1];
  void *outs[5] = {y, mean, inv, z, zm};
  run_text(GRAPH("%y: f32[2,4], %mean: f32[2,1], %inv: f32[2,1], %z: f32[2,4], %zm: f32[1,1]",
                 "  %x = const dense<[1.0, 2.0, 3.0, 4.0, 2.0, 2.0, 2.0, 2.0]> : f32[2,4]\n"
                 "  %s = const dense<[1.0, 2.0, 1.0, 2.0]> : f32[4]\n"
                 "  %b = const dense<[0.5]> : f32[1]\n"
                 "  %y, %mean, %inv = layer_norm(%x, %s, %b) {epsilon = 0.75} : f32[2,4], f32[2,1], f32[2,1]\n"
                 "  %one = const dense<1.0> : f32[2,4]\n"
                 "  %z, %zm = layer_norm(%x, %one) {axis = 0, epsilon = 0.3125} : f32[2,4], f32[1,1]\n"
                 "  return %y, %mean, %inv, %z, %zm\n"),
           outs);
  check_f32(y, (const float[]){-0.560660172f, -0.207106781f, 0.853553391f, 2.621320344f, 0.5f, 0.5f, 0.5f, 0.5f}, 8);
  check_f32(mean, (const float[]){2.5f, 2.0f}, 2);
  check_f32(inv, (const float[]){0.707106781f, 1.154700538f}, 2);
  check_f32(z, (const float[]){-1.25f, -0.25f, 0.75f, 1.75f, -0.25f, -0.25f, -0.25f, -0.25f}, 8);
  check_f32(zm, (const float[]){2.25f}, 1);
}

/* An f16 input keeps its dtype in y, while mean and inv_std_dev are f32; a scale that does not
 * broadcast to the normalized dims, or of another dtype, is an error. */
static void test_layer_norm_types_and_errors(void **state) {
  (void)state;
  uint16_t y[2];
  float mean[1];
  void *outs[2] = {y, mean};
  run_text(GRAPH("%y: f16[1,2], %mean: f32[1,1]",
                 "  %x = const dense<[1.0, 3.0]> : f16[1,2]\n"
                 "  %s = const dense<[1.0]> : f16[1]\n"
                 "  %y, %mean = layer_norm(%x, %s) {epsilon = 0.0} : f16[1,2], f32[1,1]\n"
                 "  return %y, %mean\n"),
           outs);
  assert_int_equal(y[0], 0xbc00); /* -1.0: (1 - 2) / sqrt(1) */
  assert_int_equal(y[1], 0x3c00); /* 1.0 */
  check_f32(mean, (const float[]){2.0f}, 1);
  expect_error(GRAPH("%y: f32[2,4]",
                     "  %x = const dense<0.0> : f32[2,4]\n  %s = const dense<1.0> : f32[3]\n"
                     "  %y = layer_norm(%x, %s) : f32[2,4]\n  return %y\n"),
               false, "layer_norm: scale has shape [3], which does not broadcast to the normalized shape [4]");
  expect_error(GRAPH("%y: f32[2,4]",
                     "  %x = const dense<0.0> : f32[2,4]\n  %s = const dense<1.0> : f16[4]\n"
                     "  %y = layer_norm(%x, %s) : f32[2,4]\n  return %y\n"),
               false, "layer_norm: input 1 has dtype f16 but input 0 has f32");
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_abs_neg),
      cmocka_unit_test(test_exp_log_sqrt_reciprocal),
      cmocka_unit_test(test_erf_gelu),
      cmocka_unit_test(test_hard_swish_leaky_relu_hard_sigmoid),
      cmocka_unit_test(test_clip_integers),
      cmocka_unit_test(test_pow),
      cmocka_unit_test(test_min_max),
      cmocka_unit_test(test_equal),
      cmocka_unit_test(test_where),
      cmocka_unit_test(test_cast_to_integers_and_bool),
      cmocka_unit_test(test_cast_floats),
      cmocka_unit_test(test_reduce_axes_keepdims),
      cmocka_unit_test(test_reduce_nan_ints_empty),
      cmocka_unit_test(test_reduce_errors),
      cmocka_unit_test(test_log_softmax),
      cmocka_unit_test(test_layer_norm),
      cmocka_unit_test(test_layer_norm_types_and_errors),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}

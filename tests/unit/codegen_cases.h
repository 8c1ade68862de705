/* codegen_cases.h — models of every lowered op: CODEGEN_FIRST_OP_CASES those of the backends'
 * first version, CODEGEN_NEW_OP_CASES those lowered after (element-wise,
 * reductions, log_softmax, layer_norm, shape ops), each with the tolerance of its float results
 * (|compiled - interpreter| <= tol * (1 + |interpreter|), the interpreter in double, compiled
 * code in f32; integers and bools exact). Shared by the C backend's test (test_codegen.c) and
 * the LLVM backend's (test_llvm_nest.c), which run them with codegen_check.h: both macros
 * expand to initializers of their {what, tol, text} case tables. Edge values (NaN, saturation, wrapping, negative axes and
 * indices, keepdims, broadcasting) come from constants, since the tests fill inputs at random. */
#ifndef LATHE_TESTS_CODEGEN_CASES_H
#define LATHE_TESTS_CODEGEN_CASES_H

#include <stdint.h>

#include "lathe/model.h"

/* A parallel_for that covers [0, n) with pieces of uneven sizes (1, then 2, then the rest), so
 * outlined loops see begin > 0 and end < n; counts its calls in uneven_calls. */
static int uneven_calls;
static void uneven_parallel_for(void *pool, int64_t n, lathe_task_fn fn, void *ctx) {
  (void)pool;
  int64_t a = n > 1 ? 1 : n, b = n > 3 ? 3 : n;
  fn(ctx, 0, a);
  if (b > a) fn(ctx, a, b);
  if (n > b) fn(ctx, b, n);
  uneven_calls++;
}

/* Tolerances of the first version's cases. */
#define F32_TOL 1e-6 /* one rounding of f32 (2^-24 is 6e-8) with room for libm */
#define SUM_TOL 1e-5 /* sums of up to a few hundred products in f32 */

/* The ops of ops.def as of the backends' first version, with blocked and transposed layouts,
 * a fused body, and outputs that are inputs, constants or repeated. */
#define CODEGEN_FIRST_OP_CASES \
    {"add broadcast", F32_TOL, "graph @m(%a: f32[2,3,4], %b: f32[3,1]) -> (%y: f32[2,3,4]) {\n" \
                               "  %r = add(%a, %b) : f32[2,3,4]\n  return %r\n}\n"}, \
    {"sub i32", 0, "graph @m(%a: i32[5], %b: i32[5]) -> (%y: i32[5]) {\n  %r = sub(%a, %b) : i32[5]\n  return %r\n}\n"}, \
    {"mul i64 broadcast", 0, "graph @m(%a: i64[4,1], %b: i64[3]) -> (%y: i64[4,3]) {\n" \
                             "  %r = mul(%a, %b) : i64[4,3]\n  return %r\n}\n"}, \
    {"div f32", F32_TOL, "graph @m(%a: f32[6], %b: f32[6]) -> (%y: f32[6]) {\n  %r = div(%a, %b) : f32[6]\n  return %r\n}\n"}, \
    {"div i32", 0, "graph @m(%a: i32[2,3], %b: i32[3]) -> (%y: i32[2,3]) {\n  %r = div(%a, %b) : i32[2,3]\n  return %r\n}\n"}, \
    {"div u8", 0, "graph @m(%a: u8[7], %b: u8[7]) -> (%y: u8[7]) {\n  %r = div(%a, %b) : u8[7]\n  return %r\n}\n"}, \
    {"relu f32", 0, "graph @m(%a: f32[3,5]) -> (%y: f32[3,5]) {\n  %r = relu(%a) : f32[3,5]\n  return %r\n}\n"}, \
    {"relu i8", 0, "graph @m(%a: i8[9]) -> (%y: i8[9]) {\n  %r = relu(%a) : i8[9]\n  return %r\n}\n"}, \
    {"sigmoid", F32_TOL, "graph @m(%a: f32[10]) -> (%y: f32[10]) {\n  %r = sigmoid(%a) : f32[10]\n  return %r\n}\n"}, \
    {"tanh", F32_TOL, "graph @m(%a: f32[10]) -> (%y: f32[10]) {\n  %r = tanh(%a) : f32[10]\n  return %r\n}\n"}, \
    {"clip", 0, "graph @m(%a: f32[12]) -> (%y: f32[12]) {\n  %r = clip(%a) {min = -0.25, max = 0.5} : f32[12]\n  return %r\n}\n"}, \
    {"clip max only", 0, "graph @m(%a: f32[12]) -> (%y: f32[12]) {\n  %r = clip(%a) {max = 0.1} : f32[12]\n  return %r\n}\n"}, \
    {"gemm transposed, alpha, beta, C [N]", SUM_TOL, \
     "graph @m(%a: f32[4,3], %b: f32[5,4], %c: f32[5]) -> (%y: f32[3,5]) {\n" \
     "  %r = gemm(%a, %b, %c) {transA = 1, transB = 1, alpha = 0.5, beta = 2.0} : f32[3,5]\n  return %r\n}\n"}, \
    {"gemm plain, C [M,1]", SUM_TOL, "graph @m(%a: f32[3,7], %b: f32[7,2], %c: f32[3,1]) -> (%y: f32[3,2]) {\n" \
                                     "  %r = gemm(%a, %b, %c) : f32[3,2]\n  return %r\n}\n"}, \
    {"matmul batched broadcast", SUM_TOL, "graph @m(%a: f32[2,1,3,4], %b: f32[3,4,5]) -> (%y: f32[2,3,3,5]) {\n" \
                                          "  %r = matmul(%a, %b) : f32[2,3,3,5]\n  return %r\n}\n"}, \
    {"matmul rank 1", SUM_TOL, "graph @m(%a: f32[4], %b: f32[2,4,5]) -> (%y: f32[2,5]) {\n" \
                               "  %r = matmul(%a, %b) : f32[2,5]\n  return %r\n}\n"}, \
    {"conv2d strides, dilations, pads, groups, bias", SUM_TOL, \
     "graph @m(%x: f32[2,4,9,8], %w: f32[6,2,3,2], %b: f32[6]) -> (%y: f32[2,6,4,5]) {\n" \
     "  %r = conv2d(%x, %w, %b) {strides = [2, 2], dilations = [2, 1], pads = [1, 2, 2, 1], group = 2} : f32[2,6,4,5]\n" \
     "  return %r\n}\n"}, \
    {"conv2d large (parallel loop)", SUM_TOL, \
     "graph @m(%x: f32[2,3,20,20], %w: f32[8,3,3,3]) -> (%y: f32[2,8,20,20]) {\n" \
     "  %r = conv2d(%x, %w) {pads = [1, 1, 1, 1]} : f32[2,8,20,20]\n  return %r\n}\n"}, \
    {"maxpool pads, ceil_mode, indices", 0, \
     "graph @m(%x: f32[1,2,7,6]) -> (%y: f32[1,2,4,3], %i: i64[1,2,4,3]) {\n" \
     "  %r, %ix = maxpool(%x) {kernel = [3, 2], strides = [2, 2], pads = [1, 0, 1, 1], ceil_mode = 1} : f32[1,2,4,3], i64[1,2,4,3]\n" \
     "  return %r, %ix\n}\n"}, \
    {"maxpool u8 dilated", 0, "graph @m(%x: u8[1,1,6,6]) -> (%y: u8[1,1,2,2]) {\n" \
                              "  %r = maxpool(%x) {kernel = [2, 2], strides = [2, 2], dilations = [2, 2]} : u8[1,1,2,2]\n" \
                              "  return %r\n}\n"}, \
    {"averagepool pads excluded", F32_TOL, "graph @m(%x: f32[1,2,5,5]) -> (%y: f32[1,2,3,3]) {\n" \
                                           "  %r = averagepool(%x) {kernel = [3, 3], strides = [2, 2], pads = [1, 1, 1, 1]} : f32[1,2,3,3]\n" \
                                           "  return %r\n}\n"}, \
    {"averagepool pads included", F32_TOL, \
     "graph @m(%x: f32[1,2,5,5]) -> (%y: f32[1,2,3,3]) {\n" \
     "  %r = averagepool(%x) {kernel = [3, 3], strides = [2, 2], pads = [1, 1, 1, 1], count_include_pad = 1} : f32[1,2,3,3]\n" \
     "  return %r\n}\n"}, \
    {"global_average_pool rank 5", F32_TOL, "graph @m(%x: f32[2,3,2,3,4]) -> (%y: f32[2,3,1,1,1]) {\n" \
                                            "  %r = global_average_pool(%x) : f32[2,3,1,1,1]\n  return %r\n}\n"}, \
    {"batch_norm", F32_TOL * 4, \
     "graph @m(%x: f32[2,3,2,2], %s: f32[3], %b: f32[3], %mu: f32[3]) -> (%y: f32[2,3,2,2]) {\n" \
     "  %v = const dense<[0.5, 1.0, 2.0]> : f32[3]\n" \
     "  %r = batch_norm(%x, %s, %b, %mu, %v) {epsilon = 0.001} : f32[2,3,2,2]\n  return %r\n}\n"}, \
    {"softmax middle axis", F32_TOL * 4, "graph @m(%x: f32[2,5,3]) -> (%y: f32[2,5,3]) {\n" \
                                         "  %r = softmax(%x) {axis = 1} : f32[2,5,3]\n  return %r\n}\n"}, \
    {"reshape and flatten (aliases, outputs copied)", 0, \
     "graph @m(%x: f32[2,3,4]) -> (%y: f32[4,6], %z: f32[2,12]) {\n" \
     "  %t = relu(%x) : f32[2,3,4]\n  %r = reshape(%t) {shape = [4, -1]} : f32[4,6]\n" \
     "  %f = flatten(%t) {axis = 1} : f32[2,12]\n  return %r, %f\n}\n"}, \
    {"transpose", 0, "graph @m(%x: i32[2,3,4]) -> (%y: i32[4,2,3]) {\n" \
                     "  %r = transpose(%x) {perm = [2, 0, 1]} : i32[4,2,3]\n  return %r\n}\n"}, \
    {"concat", 0, "graph @m(%a: f32[2,1,3], %b: f32[2,2,3], %c: f32[2,3,3]) -> (%y: f32[2,6,3]) {\n" \
                  "  %r = concat(%a, %b, %c) {axis = -2} : f32[2,6,3]\n  return %r\n}\n"}, \
    {"fused conv+add+relu", SUM_TOL, \
     "graph @m(%x: f32[1,2,5,5], %w: f32[3,2,3,3], %b: f32[1,3,1,1]) -> (%y: f32[1,3,3,3]) {\n" \
     "  %o = fused \"conv_bias_relu\" (%x, %w, %b) : f32[1,3,3,3] {\n" \
      "    ^(%xx, %ww, %bb):\n" \
     "      %t0 = conv2d(%xx, %ww) : f32[1,3,3,3]\n      %t1 = add(%t0, %bb) : f32[1,3,3,3]\n" \
     "      %t2 = relu(%t1) : f32[1,3,3,3]\n      yield %t2\n  }\n  return %o\n}\n"}, \
    {"outputs: an input, a constant, one value twice", 0, \
     "graph @m(%x: f32[3]) -> (%a: f32[3], %b: f32[2], %c: f32[3], %d: f32[3]) {\n" \
     "  %k = const dense<[1.5, -2.0]> : f32[2]\n  %s = sigmoid(%x) : f32[3]\n  return %x, %k, %s, %s\n}\n"}, \
    {"blocked layouts: reorder, relu and maxpool on nChw8c (10 channels: padded)", 0, \
     "graph @m(%x: f32[1,10,4,4]) -> (%y: f32[1,10,2,2], %i: i64[1,10,2,2]) {\n" \
     "  %b = reorder(%x) : f32[1,10,4,4] layout(nChw8c)\n  %r = relu(%b) : f32[1,10,4,4] layout(nChw8c)\n" \
     "  %p, %ix = maxpool(%r) {kernel = [2, 2], strides = [2, 2]} : f32[1,10,2,2], i64[1,10,2,2]\n  return %p, %ix\n}\n"}, \
    {"transposed layouts: a const and an input of matmul", SUM_TOL, \
     "graph @m(%a: f32[3,2], %b: f32[2,4]) -> (%y: f32[3,4]) {\n" \
     "  %k = const dense<[1.0, -2.0, 0.5, 4.0, 3.0, -1.0]> : f32[3,2] layout(ba)\n" \
     "  %s = add(%a, %k) : f32[3,2]\n  %t = reorder(%b) : f32[2,4] layout(ba)\n" \
     "  %r = matmul(%s, %t) : f32[3,4]\n  return %r\n}\n"}, \

#define CODEGEN_NEW_OP_CASES \
    /* The element-wise ops added with ops.def's second version. */ \
    {"abs, neg: f32, i8 (|-128| wraps), i32", 0, \
     "graph @m(%a: f32[7], %b: i8[9], %c: i32[5]) -> (%y: f32[7], %z: i8[10], %w: i32[5], %v: f32[7]) {\n" \
     "  %k = const dense<[-128]> : i8[1]\n  %bb = concat(%b, %k) {axis = 0} : i8[10]\n" \
     "  %r = abs(%a) : f32[7]\n  %s = abs(%bb) : i8[10]\n  %t = neg(%c) : i32[5]\n  %u = neg(%a) : f32[7]\n" \
     "  return %r, %s, %t, %u\n}\n"}, \
    {"exp, log (NaN below 0), sqrt (NaN below 0), reciprocal, erf", 4e-6, \
     "graph @m(%a: f32[3,5]) -> (%e: f32[3,5], %l: f32[3,5], %s: f32[3,5], %r: f32[3,5], %f: f32[3,5]) {\n" \
     "  %e1 = exp(%a) : f32[3,5]\n  %l1 = log(%a) : f32[3,5]\n  %s1 = sqrt(%a) : f32[3,5]\n" \
     "  %r1 = reciprocal(%a) : f32[3,5]\n  %f1 = erf(%a) : f32[3,5]\n  return %e1, %l1, %s1, %r1, %f1\n}\n"}, \
    {"gelu (erf and tanh), hard_swish, leaky_relu, hard_sigmoid", 4e-6, \
     "graph @m(%a: f32[4,6]) -> (%g: f32[4,6], %t: f32[4,6], %h: f32[4,6], %l: f32[4,6], %s: f32[4,6]) {\n" \
     "  %k = const dense<[2.5]> : f32[1]\n  %x = mul(%a, %k) : f32[4,6]\n" \
     "  %g1 = gelu(%x) : f32[4,6]\n  %t1 = gelu(%x) {approximate = \"tanh\"} : f32[4,6]\n" \
     "  %h1 = hard_swish(%x) : f32[4,6]\n  %l1 = leaky_relu(%x) {alpha = 0.1} : f32[4,6]\n" \
     "  %s1 = hard_sigmoid(%x) {alpha = 0.3, beta = 0.6} : f32[4,6]\n  return %g1, %t1, %h1, %l1, %s1\n}\n"}, \
    {"pow: f32 exponents (NaN for negative bases), i32 exponents, broadcasting", 8e-6, \
     "graph @m(%a: f32[2,3], %b: f32[3], %c: i32[2,1]) -> (%y: f32[2,3], %z: f32[2,3]) {\n" \
     "  %r = pow(%a, %b) : f32[2,3]\n  %s = pow(%a, %c) : f32[2,3]\n  return %r, %s\n}\n"}, \
    {"pow with integer bases: i32 (wrapping, broadcast), i8, u8, i64; negative exponents; f32 exponents", 0, \
     "graph @m(%a: i32[3,4], %b: i32[4], %c: i8[6], %d: i8[6], %e: u8[6], %g: i64[2,3], %h: f32[3,4]) -> (%y: i32[3,4],\n" \
     "    %z: i8[6], %w: u8[6], %v: i64[2,3], %u: i32[3,4], %t: i32[8]) {\n" \
     "  %k = const dense<[1, -1, -1, 2, 0, 3, 7, 3]> : i32[8]\n  %j = const dense<[-5, -3, -4, -1, 3, 0, 11, 25]> : i64[8]\n" \
     "  %y1 = pow(%a, %b) : i32[3,4]\n  %z1 = pow(%c, %d) : i8[6]\n  %w1 = pow(%e, %c) : u8[6]\n" \
     "  %v1 = pow(%g, %g) : i64[2,3]\n  %u1 = pow(%a, %h) : i32[3,4]\n  %t1 = pow(%k, %j) : i32[8]\n" \
     "  return %y1, %z1, %w1, %v1, %u1, %t1\n}\n"}, \
    {"min, max: NaN propagates either side, broadcasting, i32", 0, \
     "graph @m(%a: f32[2,4], %c: i32[3,1], %d: i32[4]) -> (%y: f32[2,4], %z: f32[2,4], %u: i32[3,4], %v: i32[3,4]) {\n" \
     "  %k = const dense<[nan, 1.0, -1.0, 0.5]> : f32[4]\n" \
     "  %r = min(%a, %k) : f32[2,4]\n  %s = max(%k, %a) : f32[2,4]\n" \
     "  %t = min(%c, %d) : i32[3,4]\n  %w = max(%c, %d) : i32[3,4]\n  return %r, %s, %t, %w\n}\n"}, \
    {"equal: i32 broadcast, f32 with NaN (never equal), bool", 0, \
     "graph @m(%a: i32[4,1], %b: i32[5], %p: bool[6], %q: bool[6]) -> (%y: bool[4,5], %z: bool[3], %w: bool[6]) {\n" \
     "  %k = const dense<[nan, 1.0, -0.0]> : f32[3]\n  %j = const dense<[nan, 1.0, 0.0]> : f32[3]\n" \
     "  %r = equal(%a, %b) : bool[4,5]\n  %s = equal(%k, %j) : bool[3]\n  %t = equal(%p, %q) : bool[6]\n" \
     "  return %r, %s, %t\n}\n"}, \
    {"where: all three broadcast, i64 and bool arms", 0, \
     "graph @m(%c: bool[3,1], %a: f32[4], %b: f32[2,1,1], %i: i64[3,4], %j: i64[1]) -> (%y: f32[2,3,4], %z: i64[3,4]) {\n" \
     "  %r = where(%c, %a, %b) : f32[2,3,4]\n  %s = where(%c, %i, %j) : i64[3,4]\n  return %r, %s\n}\n"}, \
    {"cast: f32 to integers saturating (NaN gives 0), to bool, integers to f32 and between", 0, \
     "graph @m(%a: f32[12], %b: i32[5], %c: i8[5], %d: bool[4]) -> (%y: i8[16], %z: u8[16], %w: i32[16], %v: i64[16],\n" \
     "    %u: bool[16], %t: f32[5], %s: i64[5], %r: u8[5], %q: f32[4]) {\n" \
     "  %k = const dense<[100.0]> : f32[1]\n  %m = mul(%a, %k) : f32[12]\n" \
     "  %e = const dense<[nan, 3.0e9, -3.0e9, 1.0e20]> : f32[4]\n  %x = concat(%m, %e) {axis = 0} : f32[16]\n" \
     "  %y1 = cast(%x) {to = \"i8\"} : i8[16]\n  %z1 = cast(%x) {to = \"u8\"} : u8[16]\n" \
     "  %w1 = cast(%x) {to = \"i32\"} : i32[16]\n  %v1 = cast(%x) {to = \"i64\"} : i64[16]\n" \
     "  %u1 = cast(%x) {to = \"bool\"} : bool[16]\n  %t1 = cast(%b) {to = \"f32\"} : f32[5]\n" \
     "  %s1 = cast(%c) {to = \"i64\"} : i64[5]\n  %r1 = cast(%b) {to = \"u8\"} : u8[5]\n" \
     "  %q1 = cast(%d) {to = \"f32\"} : f32[4]\n  return %y1, %z1, %w1, %v1, %u1, %t1, %s1, %r1, %q1\n}\n"}, \
    {"reduce_sum, reduce_mean: negative axes, keepdims 0 and 1, every axis", 1e-5, \
     "graph @m(%x: f32[2,3,4,5]) -> (%a: f32[2,1,4,1], %b: f32[3,4], %c: f32[1,1,1,1], %d: f32[2,3,5]) {\n" \
     "  %a1 = reduce_sum(%x) {axes = [-1, 1]} : f32[2,1,4,1]\n  %b1 = reduce_mean(%x) {axes = [0, 3], keepdims = 0} : f32[3,4]\n" \
     "  %c1 = reduce_mean(%x) : f32[1,1,1,1]\n  %d1 = reduce_sum(%x) {axes = [-2], keepdims = 0} : f32[2,3,5]\n" \
     "  return %a1, %b1, %c1, %d1\n}\n"}, \
    {"reduce_max, reduce_min: NaN propagates; integers (sum wraps, mean truncates)", 0, \
     "graph @m(%x: f32[3,4], %i: i8[3,5], %j: i32[2,3]) -> (%a: f32[3], %b: f32[1,4], %c: i8[3,1], %d: i8[5], %e: i8[3],\n" \
     "    %f: i32[2], %g: i32[1,1]) {\n" \
     "  %k = const dense<[1.0, nan, 0.0, 2.0]> : f32[1,4]\n  %z = mul(%x, %k) : f32[3,4]\n" \
     "  %a1 = reduce_max(%z) {axes = [1], keepdims = 0} : f32[3]\n  %b1 = reduce_min(%z) {axes = [0]} : f32[1,4]\n" \
     "  %c1 = reduce_max(%i) {axes = [-1]} : i8[3,1]\n  %d1 = reduce_min(%i) {axes = [0], keepdims = 0} : i8[5]\n" \
     "  %e1 = reduce_sum(%i) {axes = [1], keepdims = 0} : i8[3]\n  %f1 = reduce_mean(%j) {axes = [1], keepdims = 0} : i32[2]\n" \
     "  %g1 = reduce_sum(%j) {axes = []} : i32[1,1]\n  return %a1, %b1, %c1, %d1, %e1, %f1, %g1\n}\n"}, \
    {"log_softmax first and last axes", 4e-6, \
     "graph @m(%x: f32[4,3,5]) -> (%y: f32[4,3,5], %z: f32[4,3,5]) {\n" \
     "  %r = log_softmax(%x) {axis = 0} : f32[4,3,5]\n  %s = log_softmax(%x) : f32[4,3,5]\n  return %r, %s\n}\n"}, \
    {"layer_norm: every result, scale and bias broadcast; without bias", 4e-5, \
     "graph @m(%x: f32[2,3,4,6], %s: f32[4,1], %b: f32[6], %t: f32[6]) -> (%y: f32[2,3,4,6], %m: f32[2,3,1,1],\n" \
     "    %v: f32[2,3,1,1], %z: f32[2,3,4,6]) {\n" \
     "  %y1, %m1, %v1 = layer_norm(%x, %s, %b) {axis = -2, epsilon = 0.01} : f32[2,3,4,6], f32[2,3,1,1], f32[2,3,1,1]\n" \
     "  %z1 = layer_norm(%x, %t) : f32[2,3,4,6]\n  return %y1, %m1, %v1, %z1\n}\n"}, \
    {"squeeze, unsqueeze (aliases), expand (broadcast copy)", 0, \
     "graph @m(%x: f32[3,1,4]) -> (%a: f32[1,3,4,1], %b: f32[2,3,5,4], %c: f32[2,3,1,4]) {\n" \
     "  %s = squeeze(%x) {axes = [-2]} : f32[3,4]\n  %u = unsqueeze(%s) {axes = [0, -1]} : f32[1,3,4,1]\n" \
     "  %e = expand(%x) {shape = [2, 3, 5, 4]} : f32[2,3,5,4]\n  %f = expand(%x) {shape = [2, 1, 1, 1]} : f32[2,3,1,4]\n" \
     "  return %u, %e, %f\n}\n"}, \
    {"slice: negative starts, ends and steps, clamping, default axes", 0, \
     "graph @m(%x: f32[5,6,7], %i: i64[9]) -> (%y: f32[2,3,3], %z: i64[4]) {\n" \
     "  %r = slice(%x) {starts = [1, -1, 0], ends = [4, -7, 100], axes = [0, -2, 2], steps = [2, -2, 3]} : f32[2,3,3]\n" \
     "  %s = slice(%i) {starts = [-2], ends = [-100], steps = [-2]} : i64[4]\n  return %r, %s\n}\n"}, \
    {"gather: negative indices, i64 and i32 indices, axis 1 and 0", 0, \
     "graph @m(%x: f32[3,4,5], %w: i32[6]) -> (%y: f32[3,2,2,5], %z: i32[3]) {\n" \
     "  %k = const dense<[-1, 0, 2, -3]> : i64[2,2]\n  %j = const dense<[5, -6, 0]> : i32[3]\n" \
     "  %r = gather(%x, %k) {axis = 1} : f32[3,2,2,5]\n  %s = gather(%w, %j) : i32[3]\n  return %r, %s\n}\n"}, \
    {"split: given sizes on a negative axis, equal parts", 0, \
     "graph @m(%x: i32[2,7,3], %f: f32[6,4]) -> (%a: i32[2,2,3], %b: i32[2,4,3], %c: i32[2,1,3], %d: f32[3,4], %e: f32[3,4]) {\n" \
     "  %a1, %b1, %c1 = split(%x) {axis = -2, split = [2, 4, 1]} : i32[2,2,3], i32[2,4,3], i32[2,1,3]\n" \
     "  %d1, %e1 = split(%f) : f32[3,4], f32[3,4]\n  return %a1, %b1, %c1, %d1, %e1\n}\n"}, \
    {"pad: constant (cropping one side), reflect (wider than the input, size 1), edge, i8", 0, \
     "graph @m(%x: f32[3,4], %o: f32[1,3], %i: i8[2,3]) -> (%a: f32[6,5], %b: f32[9,12], %c: f32[4,6], %d: f32[3,4],\n" \
     "    %e: i8[4,3]) {\n" \
     "  %a1 = pad(%x) {pads = [1, 2, 2, -1], value = 1.5} : f32[6,5]\n" \
     "  %b1 = pad(%x) {pads = [4, 5, 2, 3], mode = \"reflect\"} : f32[9,12]\n" \
     "  %c1 = pad(%x) {pads = [1, 0, 0, 2], mode = \"edge\"} : f32[4,6]\n" \
     "  %d1 = pad(%o) {pads = [2, 1, 0, 0], mode = \"reflect\"} : f32[3,4]\n" \
     "  %e1 = pad(%i) {pads = [1, 0, 1, 0], value = -7.0} : i8[4,3]\n  return %a1, %b1, %c1, %d1, %e1\n}\n"}, \
    {"conv_transpose: strides, dilations, pads, output_padding, groups, bias; output_shape", 1e-5, \
     "graph @m(%x: f32[2,4,3,4], %w: f32[4,3,3,2], %b: f32[6], %v: f32[1,2,3,3], %u: f32[2,1,2,2]) -> (%y: f32[2,6,9,9],\n" \
     "    %z: f32[1,1,7,8]) {\n" \
     "  %r = conv_transpose(%x, %w, %b) {strides = [3, 2], dilations = [1, 2], pads = [1, 0, 0, 1], output_padding = [1, 1],\n" \
     "    group = 2} : f32[2,6,9,9]\n" \
     "  %s = conv_transpose(%v, %u) {strides = [2, 3], output_shape = [7, 8]} : f32[1,1,7,8]\n  return %r, %s\n}\n"}, \
    /* Tiled nests (codegen/tile.c): sizes that are not multiples of the register tiles (4 rows or \
     * channels by 16 columns), so full and partial tiles both run. */ \
    {"tiled matmul, gemm: partial tiles, batch broadcast, transposes, alpha without C", 1e-5, \
     "graph @m(%a: f32[2,9,37], %b: f32[37,35], %c: f32[13,6], %d: f32[20,13], %e: f32[20], %f: f32[3,1,5,7],\n" \
     "    %g: f32[2,7,18]) -> (%y: f32[2,9,35], %z: f32[6,20], %w: f32[6,20], %v: f32[3,2,5,18]) {\n" \
     "  %y1 = matmul(%a, %b) : f32[2,9,35]\n" \
     "  %z1 = gemm(%c, %d, %e) {transA = 1, transB = 1, beta = 0.5} : f32[6,20]\n" \
     "  %w1 = gemm(%c, %d) {transA = 1, transB = 1, alpha = -1.5} : f32[6,20]\n" \
     "  %v1 = matmul(%f, %g) : f32[3,2,5,18]\n  return %y1, %z1, %w1, %v1\n}\n"}, \
    /* Cache tiles: matmul's 70 x 270 by k 300 (row blocks of 64, column blocks of 256 and k \
     * blocks of 256, each with a partial last one); gemm's three statements with k blocked; \
     * conv2d's input channels in blocks of 64 (72: one partial), its columns in shifted tiles \
     * (a 14-wide padded map: a full tile of 12 and one-column tiles at the edges; 7 wide: 5; \
     * 28 wide with a 5 x 5 kernel: 2 of 12; stride 2: 13), output channels in blocks of 16; \
     * a 1 x 1 conv2d's 14 x 14 map as one dimension of 196 columns (12 tiles of 16 and 4). \
     * Sums of up to 648 products in f32 against the interpreter's double: tolerance 1e-4. */ \
    {"cache tiles: matmul and gemm with k blocks and partial blocks; conv2d channel blocks, shifted column tiles", 1e-4, \
     "graph @m(%a: f32[70,300], %b: f32[300,270], %c: f32[260,9], %d: f32[260,33], %e: f32[33], %x: f32[1,72,14,14],\n" \
     "    %w: f32[18,72,3,3], %s: f32[1,8,7,7], %t: f32[4,8,3,3], %u: f32[1,3,28,28], %v: f32[6,3,5,5], %q: f32[6,3,3,3],\n" \
     "    %j: f32[5,72,1,1]) -> (%y: f32[70,270], %z: f32[9,33], %r: f32[1,18,14,14], %o: f32[1,4,7,7], %p: f32[1,6,28,28],\n" \
     "    %n: f32[1,6,14,14], %i: f32[1,5,14,14]) {\n" \
     "  %y1 = matmul(%a, %b) : f32[70,270]\n" \
     "  %z1 = gemm(%c, %d, %e) {transA = 1, alpha = 0.5, beta = 2.0} : f32[9,33]\n" \
     "  %r1 = conv2d(%x, %w) {pads = [1, 1, 1, 1]} : f32[1,18,14,14]\n" \
     "  %o1 = conv2d(%s, %t) {pads = [1, 1, 1, 1]} : f32[1,4,7,7]\n" \
     "  %p1 = conv2d(%u, %v) {pads = [2, 2, 2, 2]} : f32[1,6,28,28]\n" \
     "  %n1 = conv2d(%u, %q) {strides = [2, 2], pads = [1, 1, 1, 1]} : f32[1,6,14,14]\n" \
     "  %i1 = conv2d(%x, %j) : f32[1,5,14,14]\n" \
     "  return %y1, %z1, %r1, %o1, %p1, %n1, %i1\n}\n"}, \
    {"tiled conv2d: full and partial tiles, groups, uneven pads, bias; strides and dilations", 1e-5, \
     "graph @m(%x: f32[1,8,12,37], %w: f32[8,2,3,3], %b: f32[8], %u: f32[2,3,15,40], %v: f32[5,3,3,2]) ->\n" \
     "    (%y: f32[1,8,11,38], %z: f32[2,5,7,14]) {\n" \
     "  %y1 = conv2d(%x, %w, %b) {group = 4, pads = [1, 2, 0, 1]} : f32[1,8,11,38]\n" \
     "  %z1 = conv2d(%u, %v) {strides = [2, 3], dilations = [2, 2], pads = [2, 1, 1, 3]} : f32[2,5,7,14]\n" \
     "  return %y1, %z1\n}\n"}, \
    /* conv_transpose (one tiled kernel per phase of the strides): M 10 and 6 channels (tiles of \
     * 4 and a partial one), widths 20, 24 and 19 (a full tile of 16 and a partial one); %r1's odd \
     * columns are reached by no tap (stride 2, dilation 2, pad 2): the bias alone. %q1's 20 \
     * phases are more than CONVT_MAX_PHASES: the plain nest. */ \
    {"tiled conv_transpose: stride 1 asymmetric pads, bias; stride 2 4x4; strides 3, 2, dilations, groups, output_padding;" \
     " strides 5, 4 (plain)", \
     1e-5, \
     "graph @m(%x: f32[1,6,5,19], %w: f32[6,10,3,3], %b: f32[10], %u: f32[2,4,5,12], %v: f32[4,6,4,4], %s: f32[1,4,3,10],\n" \
     "    %t: f32[4,3,3,2], %c: f32[6], %e: f32[1,2,2,3], %f: f32[2,2,3,3]) -> (%y: f32[1,10,4,20], %z: f32[2,6,10,24],\n" \
     "    %r: f32[1,6,11,19], %q: f32[1,2,7,9]) {\n" \
     "  %y1 = conv_transpose(%x, %w, %b) {pads = [1, 0, 2, 1]} : f32[1,10,4,20]\n" \
     "  %z1 = conv_transpose(%u, %v) {strides = [2, 2], pads = [1, 1, 1, 1]} : f32[2,6,10,24]\n" \
     "  %r1 = conv_transpose(%s, %t, %c) {strides = [3, 2], dilations = [2, 2], pads = [1, 2, 0, 1], output_padding = [1, 1],\n" \
     "    group = 2} : f32[1,6,11,19]\n" \
     "  %q1 = conv_transpose(%e, %f) {strides = [5, 4], pads = [1, 0, 0, 2]} : f32[1,2,7,9]\n" \
     "  return %y1, %z1, %r1, %q1\n}\n"}, \
    {"resize: nearest (asymmetric, floor; half_pixel, round_prefer_ceil), linear (half_pixel, align_corners), cubic", \
     1e-5, \
     "graph @m(%x: f32[1,2,3,4]) -> (%a: f32[1,2,6,6], %b: f32[1,2,5,7], %c: f32[1,2,5,3], %d: f32[1,2,4,6],\n" \
     "    %e: f32[1,2,2,9]) {\n" \
     "  %a1 = resize(%x) {mode = \"nearest\", coordinate_transformation_mode = \"asymmetric\", nearest_mode = \"floor\",\n" \
     "    scales = [1.0, 1.0, 2.0, 1.5]} : f32[1,2,6,6]\n" \
     "  %b1 = resize(%x) {mode = \"nearest\", nearest_mode = \"round_prefer_ceil\", sizes = [1, 2, 5, 7]} : f32[1,2,5,7]\n" \
     "  %c1 = resize(%x) {mode = \"linear\", sizes = [1, 2, 5, 3]} : f32[1,2,5,3]\n" \
     "  %d1 = resize(%x) {mode = \"linear\", coordinate_transformation_mode = \"align_corners\", sizes = [1, 2, 4, 6]} : f32[1,2,4,6]\n" \
     "  %e1 = resize(%x) {mode = \"cubic\", exclude_outside = 1, sizes = [1, 2, 2, 9]} : f32[1,2,2,9]\n" \
     "  return %a1, %b1, %c1, %d1, %e1\n}\n"}, \
    /* crops partly outside the input: positions mapping below 0 or above in - 1 in some dimension \
     * are extrapolation_value (integers saturated: 1e10 in i32, -3.7 in i8 truncated); %g is \
     * outside everywhere. */ \
    {"resize tf_crop_and_resize reaching outside the input: nearest (f32, i32, i8), linear, cubic", 1e-5, \
     "graph @m(%x: f32[1,2,3,4], %i: i32[2,3,4], %j: i8[3,4]) -> (%a: f32[1,2,5,6], %b: f32[1,3,4,5], %c: f32[1,2,4,7],\n" \
     "    %d: i32[2,4,5], %e: i8[5,3], %f: f32[1,2,3,6], %g: f32[1,2,2,3]) {\n" \
     "  %a1 = resize(%x) {mode = \"nearest\", coordinate_transformation_mode = \"tf_crop_and_resize\",\n" \
     "    roi = [0.0, 0.0, -0.2, 0.3, 1.0, 1.0, 0.9, 1.4], extrapolation_value = -7.5, sizes = [1, 2, 5, 6]} : f32[1,2,5,6]\n" \
     "  %b1 = resize(%x) {mode = \"linear\", coordinate_transformation_mode = \"tf_crop_and_resize\",\n" \
     "    roi = [0.0, 0.5, -0.3, 0.1, 1.0, 1.5, 0.8, 1.2], extrapolation_value = 2.25, sizes = [1, 3, 4, 5]} : f32[1,3,4,5]\n" \
     "  %c1 = resize(%x) {mode = \"cubic\", coordinate_transformation_mode = \"tf_crop_and_resize\",\n" \
     "    roi = [0.0, 0.0, 0.1, -0.4, 1.0, 1.0, 1.25, 0.95], sizes = [1, 2, 4, 7]} : f32[1,2,4,7]\n" \
     "  %d1 = resize(%i) {mode = \"nearest\", coordinate_transformation_mode = \"tf_crop_and_resize\",\n" \
     "    roi = [0.0, -0.5, 0.2, 1.0, 1.0, 1.1], extrapolation_value = 1e10, sizes = [2, 4, 5]} : i32[2,4,5]\n" \
     "  %e1 = resize(%j) {mode = \"nearest\", coordinate_transformation_mode = \"tf_crop_and_resize\",\n" \
     "    roi = [-0.4, 0.0, 1.3, 1.0], extrapolation_value = -3.7, scales = [1.0, 0.75]} : i8[5,3]\n" \
     "  %f1 = resize(%x) {mode = \"linear\", coordinate_transformation_mode = \"tf_crop_and_resize\",\n" \
     "    roi = [0.0, 0.0, 0.0, 0.0, 1.0, 1.0, 1.0, 1.5], scales = [1.0, 1.0, 1.0, 1.0]} : f32[1,2,3,6]\n" \
     "  %g1 = resize(%x) {mode = \"cubic\", coordinate_transformation_mode = \"tf_crop_and_resize\",\n" \
     "    roi = [0.0, 0.0, 1.2, 0.0, 1.0, 1.0, 1.6, 1.0], extrapolation_value = 9.0, sizes = [1, 2, 2, 3]} : f32[1,2,2,3]\n" \
     "  return %a1, %b1, %c1, %d1, %e1, %f1, %g1\n}\n"}, \
    /* lstm and gru: weights scaled down so the gates do not saturate; lengths from constants. */ \
    {"lstm forward (biases, full lengths, initial h and c; Y, Y_h, Y_c) and reverse (no bias; Y alone)", 2e-6, \
     "graph @m(%x: f32[5,3,4], %w: f32[1,12,4], %r: f32[1,12,3], %b: f32[1,24], %h0: f32[1,3,3], %c0: f32[1,3,3]) ->\n" \
     "    (%y: f32[5,1,3,3], %yh: f32[1,3,3], %yc: f32[1,3,3], %z: f32[5,1,3,3]) {\n" \
     "  %q = const dense<[0.4]> : f32[1]\n  %ws = mul(%w, %q) : f32[1,12,4]\n  %rs = mul(%r, %q) : f32[1,12,3]\n" \
     "  %l = const dense<[5, 5, 5]> : i64[3]\n" \
     "  %y1, %h1, %c1 = lstm(%x, %ws, %rs, %b, %l, %h0, %c0) {hidden_size = 3} : f32[5,1,3,3], f32[1,3,3], f32[1,3,3]\n" \
     "  %z1 = lstm(%x, %ws, %rs) {hidden_size = 3, direction = \"reverse\"} : f32[5,1,3,3]\n" \
     "  return %y1, %h1, %c1, %z1\n}\n"}, \
    {"lstm bidirectional: peepholes, sequence_lens 4, 0, 2 (i32), initial states, clip", 2e-6, \
     "graph @m(%x: f32[4,3,2], %w: f32[2,16,2], %r: f32[2,16,4], %b: f32[2,32], %h0: f32[2,3,4], %c0: f32[2,3,4],\n" \
     "    %pp: f32[2,12]) -> (%y: f32[4,2,3,4], %yh: f32[2,3,4], %yc: f32[2,3,4]) {\n" \
     "  %q = const dense<[0.4]> : f32[1]\n  %rs = mul(%r, %q) : f32[2,16,4]\n  %l = const dense<[4, 0, 2]> : i32[3]\n" \
     "  %y1, %h1, %c1 = lstm(%x, %w, %rs, %b, %l, %h0, %c0, %pp) {hidden_size = 4, direction = \"bidirectional\",\n" \
     "    clip = 1.5} : f32[4,2,3,4], f32[2,3,4], f32[2,3,4]\n" \
     "  return %y1, %h1, %c1\n}\n"}, \
    {"lstm layout 1, bidirectional, initial states, sequence_lens; 16 sequences in parallel", 2e-6, \
     "graph @m(%x: f32[8,6,3], %w: f32[2,16,3], %r: f32[2,16,4], %b: f32[2,32], %h0: f32[8,2,4], %c0: f32[8,2,4]) ->\n" \
     "    (%y: f32[8,6,2,4], %yh: f32[8,2,4], %yc: f32[8,2,4]) {\n" \
     "  %q = const dense<[0.4]> : f32[1]\n  %ws = mul(%w, %q) : f32[2,16,3]\n  %rs = mul(%r, %q) : f32[2,16,4]\n" \
     "  %l = const dense<[6, 1, 3, 6, 0, 5, 2, 6]> : i64[8]\n" \
     "  %y1, %h1, %c1 = lstm(%x, %ws, %rs, %b, %l, %h0, %c0) {hidden_size = 4, direction = \"bidirectional\",\n" \
     "    layout = 1} : f32[8,6,2,4], f32[8,2,4], f32[8,2,4]\n" \
     "  return %y1, %h1, %c1\n}\n"}, \
    {"gru linear_before_reset 0 (forward) and 1 (reverse): biases, sequence_lens, initial h", 2e-6, \
     "graph @m(%x: f32[5,2,3], %w: f32[1,12,3], %r: f32[1,12,4], %b: f32[1,24], %h0: f32[1,2,4]) ->\n" \
     "    (%y: f32[5,1,2,4], %yh: f32[1,2,4], %z: f32[5,1,2,4], %zh: f32[1,2,4]) {\n" \
     "  %q = const dense<[0.4]> : f32[1]\n  %ws = mul(%w, %q) : f32[1,12,3]\n  %rs = mul(%r, %q) : f32[1,12,4]\n" \
     "  %l = const dense<[5, 3]> : i64[2]\n" \
     "  %y1, %h1 = gru(%x, %ws, %rs, %b, %l, %h0) {hidden_size = 4} : f32[5,1,2,4], f32[1,2,4]\n" \
     "  %z1, %g1 = gru(%x, %ws, %rs, %b, %l, %h0) {hidden_size = 4, direction = \"reverse\", linear_before_reset = 1} :\n" \
     "    f32[5,1,2,4], f32[1,2,4]\n" \
     "  return %y1, %h1, %z1, %g1\n}\n"}, \
    {"gru bidirectional: layout 1 with sequence_lens and initial h (both resets); no bias, clip", 2e-6, \
     "graph @m(%x: f32[3,4,2], %w: f32[2,9,2], %r: f32[2,9,3], %b: f32[2,18], %h0: f32[3,2,3], %s: f32[4,3,2]) ->\n" \
     "    (%y: f32[3,4,2,3], %yh: f32[3,2,3], %z: f32[3,4,2,3], %zh: f32[3,2,3], %u: f32[4,2,3,3]) {\n" \
     "  %q = const dense<[0.4]> : f32[1]\n  %rs = mul(%r, %q) : f32[2,9,3]\n  %l = const dense<[4, 1, 3]> : i32[3]\n" \
     "  %y1, %h1 = gru(%x, %w, %rs, %b, %l, %h0) {hidden_size = 3, direction = \"bidirectional\", layout = 1} :\n" \
     "    f32[3,4,2,3], f32[3,2,3]\n" \
     "  %z1, %g1 = gru(%x, %w, %rs, %b, %l, %h0) {hidden_size = 3, direction = \"bidirectional\", layout = 1,\n" \
     "    linear_before_reset = 1} : f32[3,4,2,3], f32[3,2,3]\n" \
     "  %u1 = gru(%s, %w, %rs) {hidden_size = 3, direction = \"bidirectional\", clip = 0.8} : f32[4,2,3,3]\n" \
     "  return %y1, %h1, %z1, %g1, %u1\n}\n"},

#endif

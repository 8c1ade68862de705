/* elementwise.c — element-wise ops: the binary arithmetic ops add, sub, mul, div, min, max
 * and pow, the comparison equal and the selection where (numpy broadcasting); the unary
 * functions relu, sigmoid, tanh, abs, neg, exp, log, sqrt, reciprocal, erf, gelu,
 * hard_swish, leaky_relu, hard_sigmoid and clip; and cast. */
#include "ir/op.h"

#include <math.h>
#include <string.h>

static const AttrSpec no_attrs[] = {{0}};

static const DType float_dtypes[] = {DT_F32, DT_F16, DT_BF16, DT_INVALID};
static const DType numeric_dtypes[] = {DT_F32, DT_F16, DT_BF16, DT_I8, DT_U8, DT_I32, DT_I64, DT_INVALID};
static const DType signed_dtypes[] = {DT_F32, DT_F16, DT_BF16, DT_I8, DT_I32, DT_I64, DT_INVALID};
static const DType any_dtypes[] = {DT_F32, DT_F16, DT_BF16, DT_I8, DT_U8, DT_I32, DT_I64, DT_BOOL, DT_INVALID};

/* ---- binary: add, sub, mul, div, min, max, pow, equal ------------------------------------------ */

/* Both operands of one numeric dtype; the result has their broadcast shape. */
static bool binary_infer(InferCtx *c) {
  if (!op_check_dtype(c, 0, numeric_dtypes) || !op_check_same_dtype(c, 1, 0)) return false;
  TensorType t;
  if (!op_broadcast(c, c->in[0], c->in[1], &t)) return false;
  op_out(c, 0, t.dtype, t.rank, t.dims);
  return true;
}

/* pow: base and exponent numeric, of any two dtypes; the result has the base's dtype. */
static bool pow_infer(InferCtx *c) {
  if (!op_check_dtype(c, 0, numeric_dtypes) || !op_check_dtype(c, 1, numeric_dtypes)) return false;
  TensorType t;
  if (!op_broadcast(c, c->in[0], c->in[1], &t)) return false;
  op_out(c, 0, t.dtype, t.rank, t.dims);
  return true;
}

/* equal: both operands of one dtype (bool included); the result is bool. */
static bool equal_infer(InferCtx *c) {
  if (!op_check_dtype(c, 0, any_dtypes) || !op_check_same_dtype(c, 1, 0)) return false;
  TensorType t;
  if (!op_broadcast(c, c->in[0], c->in[1], &t)) return false;
  op_out(c, 0, DT_BOOL, t.rank, t.dims);
  return true;
}

/* a op b on floats, computed in double and rounded by the caller. min and max return NaN
 * when either operand is NaN (numpy's minimum / maximum, as ONNX Min / Max). */
static double binary_float(int op, double a, double b) {
  switch (op) {
  case OP_ADD: return a + b;
  case OP_SUB: return a - b;
  case OP_MUL: return a * b;
  case OP_MIN: return isnan(a) || isnan(b) ? a + b : a < b ? a : b;
  case OP_MAX: return isnan(a) || isnan(b) ? a + b : a > b ? a : b;
  case OP_POW: return pow(a, b);
  default: return a / b;
  }
}

/* a ^ b on integers, b >= 0, wrapping on overflow (square and multiply in unsigned). */
static int64_t int_pow(int64_t a, int64_t b) {
  uint64_t base = (uint64_t)a, r = 1;
  for (uint64_t e = (uint64_t)b; e; e >>= 1) {
    if (e & 1) r *= base;
    base *= base;
  }
  return (int64_t)r;
}

/* a op b on integers, wrapping on overflow (unsigned arithmetic); division truncates toward
 * zero and the caller has excluded b == 0. pow with b < 0 is 1 / a^|b| truncated: 0 unless
 * |a| = 1 (a = 0 is left to the caller). */
static int64_t binary_int(int op, int64_t a, int64_t b) {
  uint64_t ua = (uint64_t)a, ub = (uint64_t)b;
  switch (op) {
  case OP_ADD: return (int64_t)(ua + ub);
  case OP_SUB: return (int64_t)(ua - ub);
  case OP_MUL: return (int64_t)(ua * ub);
  case OP_MIN: return a < b ? a : b;
  case OP_MAX: return a > b ? a : b;
  case OP_POW:
    if (b >= 0) return int_pow(a, b);
    return a == 1 ? 1 : a == -1 ? (b % 2 ? -1 : 1) : 0;
  default: return b == -1 ? (int64_t)(0 - ua) : a / b; /* INT64_MIN / -1 wraps */
  }
}

/* Computes element i of y from element ia of a and ib of b. */
static IrStatus binary_elem(EvalCtx *c, int64_t i, int64_t ia, int64_t ib) {
  const Tensor *a = &c->in[0], *b = &c->in[1];
  Tensor *y = &c->out[0];
  int op = c->node->op;
  if (op == OP_EQUAL) {
    bool is_float = ir_dtype_is_float(a->type.dtype);
    op_set_int(y, i, is_float ? op_get(a, ia) == op_get(b, ib) : op_get_int(a, ia) == op_get_int(b, ib));
  } else if (ir_dtype_is_float(y->type.dtype)) {
    op_set(y, i, binary_float(op, op_get(a, ia), op_get(b, ib)));
  } else if (op == OP_POW && ir_dtype_is_float(b->type.dtype)) { /* integer base, float exponent */
    op_set(y, i, pow((double)op_get_int(a, ia), op_get(b, ib)));
  } else {
    int64_t va = op_get_int(a, ia), vb = op_get_int(b, ib);
    if (op == OP_DIV && vb == 0) return op_eval_fail(c, "div: integer division by zero (element %lld)", (long long)i);
    if (op == OP_POW && va == 0 && vb < 0)
      return op_eval_fail(c, "pow: integer zero to a negative power (element %lld)", (long long)i);
    op_set_int(y, i, binary_int(op, va, vb));
  }
  return IR_OK;
}

/* Walks the output, reading each operand at its broadcast position. */
static IrStatus binary_eval(EvalCtx *c) {
  const Tensor *a = &c->in[0], *b = &c->in[1];
  Tensor *y = &c->out[0];
  if (ir_type_numel(&y->type) == 0) return IR_OK;
  int64_t idx[IR_MAX_RANK] = {0}, i = 0;
  do {
    IrStatus st = binary_elem(c, i++, op_broadcast_offset(&a->type, &y->type, idx),
                              op_broadcast_offset(&b->type, &y->type, idx));
    if (st != IR_OK) return st;
  } while (op_next_index(&y->type, idx));
  return IR_OK;
}

const OpImpl ir_impl_binary = {no_attrs, binary_infer, binary_eval, NULL};
const OpImpl ir_impl_pow = {no_attrs, pow_infer, binary_eval, NULL};
const OpImpl ir_impl_equal = {no_attrs, equal_infer, binary_eval, NULL};

/* ---- where ----------------------------------------------------------------------------------- */

/* cond bool, a and b of one dtype; the result has a's dtype and the broadcast of the three
 * shapes. */
static bool where_infer(InferCtx *c) {
  static const DType bool_only[] = {DT_BOOL, DT_INVALID};
  if (!op_check_dtype(c, 0, bool_only) || !op_check_dtype(c, 1, any_dtypes) || !op_check_same_dtype(c, 2, 1))
    return false;
  TensorType ab, t;
  if (!op_broadcast(c, c->in[1], c->in[2], &ab) || !op_broadcast(c, &ab, c->in[0], &t)) return false;
  op_out(c, 0, t.dtype, t.rank, t.dims);
  return true;
}

/* y[i] = cond[i'] ? a[i''] : b[i'''], each read at its broadcast position. */
static IrStatus where_eval(EvalCtx *c) {
  const Tensor *cond = &c->in[0], *a = &c->in[1], *b = &c->in[2];
  Tensor *y = &c->out[0];
  if (ir_type_numel(&y->type) == 0) return IR_OK;
  int64_t idx[IR_MAX_RANK] = {0}, i = 0;
  do {
    const Tensor *pick = op_get_int(cond, op_broadcast_offset(&cond->type, &y->type, idx)) ? a : b;
    op_copy_elem(y, i++, pick, op_broadcast_offset(&pick->type, &y->type, idx));
  } while (op_next_index(&y->type, idx));
  return IR_OK;
}

const OpImpl ir_impl_where = {no_attrs, where_infer, where_eval, NULL};

/* ---- unary: relu, sigmoid, tanh, abs, neg, exp, log, sqrt, reciprocal, erf, gelu, ...--------- */

static const AttrSpec gelu_attrs[] = {{"approximate", ATTR_STR, false}, {0}};
static const AttrSpec leaky_relu_attrs[] = {{"alpha", ATTR_FLOAT, false}, {0}};
static const AttrSpec hard_sigmoid_attrs[] = {{"alpha", ATTR_FLOAT, false}, {"beta", ATTR_FLOAT, false}, {0}};

/* The result has the operand's dtype and shape; relu and abs also take integers, neg
 * signed integers; gelu's approximate is "none" or "tanh". */
static bool unary_infer(InferCtx *c) {
  int op = c->node->op;
  const DType *allowed = op == OP_RELU || op == OP_ABS ? numeric_dtypes : op == OP_NEG ? signed_dtypes : float_dtypes;
  if (!op_check_dtype(c, 0, allowed)) return false;
  if (op == OP_GELU) {
    const char *mode = ir_attr_str(c->node, "approximate", "none");
    if (strcmp(mode, "none") != 0 && strcmp(mode, "tanh") != 0)
      return op_fail(c, "approximate", "gelu: approximate = \"%.40s\" must be \"none\" or \"tanh\"", mode);
  }
  op_out(c, 0, c->in[0]->dtype, c->in[0]->rank, c->in[0]->dims);
  return true;
}

/* sqrt(2 / pi), gelu's tanh form (M_PI is not C11). */
#define SQRT_2_OVER_PI 0.79788456080286535588

/* The attributes of a unary op, with their defaults (ONNX's). */
typedef struct UnaryParams {
  double alpha, beta; /* leaky_relu: alpha; hard_sigmoid: alpha, beta */
  bool tanh_gelu;     /* gelu: the tanh approximation */
} UnaryParams;

/* v clamped to [0, 1]; NaN stays NaN. */
static double unit_clamp(double v) { return v < 0 ? 0.0 : v > 1 ? 1.0 : v; }

/* f(x) for one float element, in double. */
static double unary_float(int op, const UnaryParams *p, double x) {
  switch (op) {
  case OP_RELU: return x < 0 ? 0.0 : x; /* NaN stays NaN */
  case OP_SIGMOID: return 1.0 / (1.0 + exp(-x));
  case OP_TANH: return tanh(x);
  case OP_ABS: return fabs(x);
  case OP_NEG: return -x;
  case OP_EXP: return exp(x);
  case OP_LOG: return log(x);
  case OP_SQRT: return sqrt(x);
  case OP_RECIPROCAL: return 1.0 / x;
  case OP_ERF: return erf(x);
  case OP_GELU:
    if (p->tanh_gelu) return 0.5 * x * (1.0 + tanh(SQRT_2_OVER_PI * (x + 0.044715 * x * x * x)));
    return 0.5 * x * (1.0 + erf(x / sqrt(2.0)));
  case OP_HARD_SWISH: return x * unit_clamp(x / 6.0 + 0.5);
  case OP_LEAKY_RELU: return x < 0 ? p->alpha * x : x;
  default: return unit_clamp(p->alpha * x + p->beta); /* OP_HARD_SIGMOID */
  }
}

/* f(x) for one integer element (relu, abs, neg), wrapping to the result's width. */
static int64_t unary_int(int op, int64_t v) {
  switch (op) {
  case OP_RELU: return v < 0 ? 0 : v;
  case OP_ABS: return v < 0 ? (int64_t)(0 - (uint64_t)v) : v;
  default: return (int64_t)(0 - (uint64_t)v); /* OP_NEG */
  }
}

/* Applies the function to every element. */
static IrStatus unary_eval(EvalCtx *c) {
  const Tensor *x = &c->in[0];
  Tensor *y = &c->out[0];
  int op = c->node->op;
  UnaryParams p = {ir_attr_float(c->node, "alpha", op == OP_LEAKY_RELU ? 0.01 : 0.2),
                   ir_attr_float(c->node, "beta", 0.5),
                   strcmp(ir_attr_str(c->node, "approximate", "none"), "tanh") == 0};
  int64_t n = ir_type_numel(&y->type);
  bool is_float = ir_dtype_is_float(y->type.dtype);
  for (int64_t i = 0; i < n; i++) {
    if (is_float) op_set(y, i, unary_float(op, &p, op_get(x, i)));
    else op_set_int(y, i, unary_int(op, op_get_int(x, i)));
  }
  return IR_OK;
}

const OpImpl ir_impl_unary = {no_attrs, unary_infer, unary_eval, NULL};
const OpImpl ir_impl_gelu = {gelu_attrs, unary_infer, unary_eval, NULL};
const OpImpl ir_impl_leaky_relu = {leaky_relu_attrs, unary_infer, unary_eval, NULL};
const OpImpl ir_impl_hard_sigmoid = {hard_sigmoid_attrs, unary_infer, unary_eval, NULL};

/* ---- clip ------------------------------------------------------------------------------------ */

static const AttrSpec clip_attrs[] = {{"min", ATTR_FLOAT, false}, {"max", ATTR_FLOAT, false}, {0}};

/* Numeric operand; min and max must not be NaN (min > max is allowed: the result is max). */
static bool clip_infer(InferCtx *c) {
  if (!op_check_dtype(c, 0, numeric_dtypes)) return false;
  if (isnan(ir_attr_float(c->node, "min", -INFINITY))) return op_fail(c, "min", "clip: min is NaN");
  if (isnan(ir_attr_float(c->node, "max", INFINITY))) return op_fail(c, "max", "clip: max is NaN");
  op_out(c, 0, c->in[0]->dtype, c->in[0]->rank, c->in[0]->dims);
  return true;
}

/* An integer v clamped by the bounds lo, hi (not NaN, possibly infinite or fractional): the
 * smallest integer >= lo, then the largest integer <= hi. */
static int64_t clip_int(int64_t v, double lo, double hi) {
  if (lo > (double)v) v = lo >= 9223372036854775807.0 ? INT64_MAX : (int64_t)ceil(lo);
  if (hi < (double)v) v = hi < -9223372036854775808.0 ? INT64_MIN : (int64_t)floor(hi);
  return v;
}

/* y = min(max(x, min), max); NaN stays NaN. */
static IrStatus clip_eval(EvalCtx *c) {
  double lo = ir_attr_float(c->node, "min", -INFINITY);
  double hi = ir_attr_float(c->node, "max", INFINITY);
  const Tensor *x = &c->in[0];
  Tensor *y = &c->out[0];
  int64_t n = ir_type_numel(&y->type);
  bool is_float = ir_dtype_is_float(y->type.dtype);
  for (int64_t i = 0; i < n; i++) {
    if (!is_float) {
      op_set_int(y, i, clip_int(op_get_int(x, i), lo, hi));
      continue;
    }
    double v = op_get(x, i);
    if (v < lo) v = lo;
    if (v > hi) v = hi;
    op_set(y, i, v);
  }
  return IR_OK;
}

const OpImpl ir_impl_clip = {clip_attrs, clip_infer, clip_eval, NULL};

/* ---- cast ------------------------------------------------------------------------------------ */

static const AttrSpec cast_attrs[] = {{"to", ATTR_STR, true}, {0}};

/* Any operand dtype; `to` names a dtype of lathe, which the result has. */
static bool cast_infer(InferCtx *c) {
  if (!op_check_dtype(c, 0, any_dtypes)) return false;
  const char *to = ir_attr_str(c->node, "to", "");
  DType dt = ir_dtype_parse(to, strlen(to));
  if (dt == DT_INVALID)
    return op_fail(c, "to", "cast: to = \"%.40s\" is not a dtype (f32 f16 bf16 i8 u8 i32 i64 bool)", to);
  op_out(c, 0, dt, c->in[0]->rank, c->in[0]->dims);
  return true;
}

/* Converts every element: floats to integers truncate toward zero and saturate (NaN gives
 * 0), integers to integers wrap, anything to bool is x != 0 (NaN gives true). */
static IrStatus cast_eval(EvalCtx *c) {
  int64_t n = ir_type_numel(&c->out[0].type);
  for (int64_t i = 0; i < n; i++) op_copy_elem(&c->out[0], i, &c->in[0], i);
  return IR_OK;
}

const OpImpl ir_impl_cast = {cast_attrs, cast_infer, cast_eval, NULL};

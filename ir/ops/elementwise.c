/* elementwise.c — element-wise ops: add, sub, mul, div (numpy broadcasting), relu, sigmoid,
 * tanh and clip. */
#include "ir/op.h"

#include <math.h>

static const AttrSpec no_attrs[] = {{0}};

/* ---- binary: add, sub, mul, div ------------------------------------------------------------ */

static const DType binary_dtypes[] = {DT_F32, DT_F16, DT_BF16, DT_I8, DT_U8, DT_I32, DT_I64, DT_INVALID};

/* Both operands of one allowed dtype; the result has their broadcast shape. */
static bool binary_infer(InferCtx *c) {
  if (!op_check_dtype(c, 0, binary_dtypes) || !op_check_same_dtype(c, 1, 0)) return false;
  TensorType t;
  if (!op_broadcast(c, c->in[0], c->in[1], &t)) return false;
  op_out(c, 0, t.dtype, t.rank, t.dims);
  return true;
}

/* a op b on floats, computed in double and rounded by the caller. */
static double binary_float(int op, double a, double b) {
  switch (op) {
  case OP_ADD: return a + b;
  case OP_SUB: return a - b;
  case OP_MUL: return a * b;
  default: return a / b;
  }
}

/* a op b on integers, wrapping on overflow (unsigned arithmetic); division truncates toward
 * zero and the caller has excluded b == 0. */
static int64_t binary_int(int op, int64_t a, int64_t b) {
  uint64_t ua = (uint64_t)a, ub = (uint64_t)b;
  switch (op) {
  case OP_ADD: return (int64_t)(ua + ub);
  case OP_SUB: return (int64_t)(ua - ub);
  case OP_MUL: return (int64_t)(ua * ub);
  default: return b == -1 ? (int64_t)(0 - ua) : a / b; /* INT64_MIN / -1 wraps */
  }
}

/* Walks the output, reading each operand at its broadcast position. */
static IrStatus binary_eval(EvalCtx *c) {
  const Tensor *a = &c->in[0], *b = &c->in[1];
  Tensor *y = &c->out[0];
  int op = c->node->op;
  bool is_float = ir_dtype_is_float(y->type.dtype);
  if (ir_type_numel(&y->type) == 0) return IR_OK;
  int64_t idx[IR_MAX_RANK] = {0}, i = 0;
  do {
    int64_t ia = op_broadcast_offset(&a->type, &y->type, idx);
    int64_t ib = op_broadcast_offset(&b->type, &y->type, idx);
    if (is_float) {
      op_set(y, i, binary_float(op, op_get(a, ia), op_get(b, ib)));
    } else {
      int64_t vb = op_get_int(b, ib);
      if (op == OP_DIV && vb == 0) return op_eval_fail(c, "div: integer division by zero (element %lld)", (long long)i);
      op_set_int(y, i, binary_int(op, op_get_int(a, ia), vb));
    }
    i++;
  } while (op_next_index(&y->type, idx));
  return IR_OK;
}

const OpImpl ir_impl_binary = {no_attrs, binary_infer, binary_eval, NULL};

/* ---- unary: relu, sigmoid, tanh --------------------------------------------------------------- */

static const DType float_dtypes[] = {DT_F32, DT_F16, DT_BF16, DT_INVALID};
static const DType relu_dtypes[] = {DT_F32, DT_F16, DT_BF16, DT_I8, DT_U8, DT_I32, DT_I64, DT_INVALID};

/* The result has the operand's dtype and shape; relu also takes integers. */
static bool unary_infer(InferCtx *c) {
  if (!op_check_dtype(c, 0, c->node->op == OP_RELU ? relu_dtypes : float_dtypes)) return false;
  op_out(c, 0, c->in[0]->dtype, c->in[0]->rank, c->in[0]->dims);
  return true;
}

/* f(x) for one float element, in double. */
static double unary_float(int op, double x) {
  switch (op) {
  case OP_RELU: return x < 0 ? 0.0 : x; /* NaN stays NaN */
  case OP_SIGMOID: return 1.0 / (1.0 + exp(-x));
  default: return tanh(x);
  }
}

/* Applies the function to every element. */
static IrStatus unary_eval(EvalCtx *c) {
  const Tensor *x = &c->in[0];
  Tensor *y = &c->out[0];
  int64_t n = ir_type_numel(&y->type);
  for (int64_t i = 0; i < n; i++) {
    if (ir_dtype_is_float(y->type.dtype)) {
      op_set(y, i, unary_float(c->node->op, op_get(x, i)));
    } else {
      int64_t v = op_get_int(x, i); /* only relu accepts integers */
      op_set_int(y, i, v < 0 ? 0 : v);
    }
  }
  return IR_OK;
}

const OpImpl ir_impl_unary = {no_attrs, unary_infer, unary_eval, NULL};

/* ---- clip ------------------------------------------------------------------------------------ */

static const AttrSpec clip_attrs[] = {{"min", ATTR_FLOAT, false}, {"max", ATTR_FLOAT, false}, {0}};

/* Float operand; min and max must not be NaN (min > max is allowed: the result is max). */
static bool clip_infer(InferCtx *c) {
  if (!op_check_dtype(c, 0, float_dtypes)) return false;
  if (isnan(ir_attr_float(c->node, "min", -INFINITY))) return op_fail(c, "min", "clip: min is NaN");
  if (isnan(ir_attr_float(c->node, "max", INFINITY))) return op_fail(c, "max", "clip: max is NaN");
  op_out(c, 0, c->in[0]->dtype, c->in[0]->rank, c->in[0]->dims);
  return true;
}

/* y = min(max(x, min), max); NaN stays NaN. */
static IrStatus clip_eval(EvalCtx *c) {
  double lo = ir_attr_float(c->node, "min", -INFINITY);
  double hi = ir_attr_float(c->node, "max", INFINITY);
  const Tensor *x = &c->in[0];
  Tensor *y = &c->out[0];
  int64_t n = ir_type_numel(&y->type);
  for (int64_t i = 0; i < n; i++) {
    double v = op_get(x, i);
    if (v < lo) v = lo;
    if (v > hi) v = hi;
    op_set(y, i, v);
  }
  return IR_OK;
}

const OpImpl ir_impl_clip = {clip_attrs, clip_infer, clip_eval, NULL};

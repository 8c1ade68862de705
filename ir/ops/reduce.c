/* reduce.c — reductions over a set of axes: reduce_sum, reduce_mean, reduce_max and
 * reduce_min (ONNX ReduceSum / ReduceMean / ReduceMax / ReduceMin with noop_with_empty_axes
 * = 0: no axes means every axis). */
#include "ir/op.h"

#include <math.h>

static const AttrSpec reduce_attrs[] = {{"axes", ATTR_INTS, false}, {"keepdims", ATTR_INT, false}, {0}};

static const DType reduce_dtypes[] = {DT_F32, DT_F16, DT_BF16, DT_I8, DT_U8, DT_I32, DT_I64, DT_INVALID};

/* Checks the axes attribute against rank: each axis in [-rank, rank), none named twice
 * (negative ones count from the end). False (reported) otherwise. */
static bool check_axes(InferCtx *c, int rank) {
  int n = 0;
  const int64_t *axes = ir_attr_ints(c->node, "axes", &n);
  bool seen[IR_MAX_RANK] = {false};
  for (int i = 0; i < n; i++) {
    int d;
    if (!op_axis(c, "axes", axes[i], rank, &d)) return false;
    if (seen[d]) return op_fail(c, "axes", "%s: axis %d is named twice in axes", op_name(c->node), d);
    seen[d] = true;
  }
  return true;
}

/* Marks in reduced[0..rank) the axes node reduces (axes already checked): those of `axes`,
 * or every axis when it is absent or empty. */
static void reduced_axes(const Node *node, int rank, bool *reduced) {
  int n = 0;
  const int64_t *axes = ir_attr_ints(node, "axes", &n);
  for (int d = 0; d < rank; d++) reduced[d] = n == 0;
  for (int i = 0; i < n; i++) reduced[axes[i] < 0 ? axes[i] + rank : axes[i]] = true;
}

/* Numeric operand; keepdims 0 or 1. The result has the operand's dtype and its shape with the
 * reduced axes set to 1 (keepdims = 1, the default) or removed (keepdims = 0). */
static bool reduce_infer(InferCtx *c) {
  const TensorType *x = c->in[0];
  bool reduced[IR_MAX_RANK];
  int64_t keepdims, dims[IR_MAX_RANK];
  int rank = 0;
  if (!op_check_dtype(c, 0, reduce_dtypes) || !check_axes(c, x->rank) ||
      !op_int_attr(c, "keepdims", 1, 0, 1, &keepdims))
    return false;
  reduced_axes(c->node, x->rank, reduced);
  for (int d = 0; d < x->rank; d++) {
    if (!reduced[d]) dims[rank++] = x->dims[d];
    else if (keepdims) dims[rank++] = 1;
  }
  op_out(c, 0, x->dtype, rank, dims);
  return true;
}

/* The value of the reduction over no elements: sum 0, mean NaN (0 / 0), max -inf, min +inf
 * (op_set saturates the infinities to an integer dtype's limits and NaN to 0). */
static double reduce_empty(int op) {
  switch (op) {
  case OP_REDUCE_SUM: return 0.0;
  case OP_REDUCE_MEAN: return NAN;
  case OP_REDUCE_MAX: return -INFINITY;
  default: return INFINITY;
  }
}

/* Folds v into the float accumulator acc; max and min propagate NaN. */
static double fold_float(int op, double acc, double v) {
  if (op == OP_REDUCE_SUM || op == OP_REDUCE_MEAN) return acc + v;
  if (isnan(acc) || isnan(v)) return acc + v;
  return (op == OP_REDUCE_MAX ? v > acc : v < acc) ? v : acc;
}

/* Folds v into the integer accumulator acc; sums wrap. */
static int64_t fold_int(int op, int64_t acc, int64_t v) {
  switch (op) {
  case OP_REDUCE_MAX: return v > acc ? v : acc;
  case OP_REDUCE_MIN: return v < acc ? v : acc;
  default: return (int64_t)((uint64_t)acc + (uint64_t)v);
  }
}

/* For each result element (a position over the kept axes), folds the operand's elements over
 * the reduced axes: floats in double, integers in int64; mean divides the sum by the count
 * (integers: truncated toward zero). */
static IrStatus reduce_eval(EvalCtx *c) {
  const Tensor *x = &c->in[0];
  Tensor *y = &c->out[0];
  int op = c->node->op, rank = x->type.rank;
  bool reduced[IR_MAX_RANK];
  reduced_axes(c->node, rank, reduced);
  TensorType kept = x->type, red = x->type; /* dims over the kept axes / over the reduced axes */
  for (int d = 0; d < rank; d++) {
    if (reduced[d]) kept.dims[d] = 1;
    else red.dims[d] = 1;
  }
  int64_t count = ir_type_numel(&red), nout = ir_type_numel(&kept);
  bool is_float = ir_dtype_is_float(x->type.dtype);
  int64_t ko[IR_MAX_RANK] = {0};
  for (int64_t o = 0; o < nout; o++, op_next_index(&kept, ko)) {
    if (count == 0) {
      op_set(y, o, reduce_empty(op));
      continue;
    }
    int64_t ri[IR_MAX_RANK] = {0};
    double facc = 0;
    int64_t iacc = 0;
    for (int64_t k = 0; k < count; k++, op_next_index(&red, ri)) {
      int64_t at = 0; /* row-major offset of the index ko + ri in x */
      for (int d = 0; d < rank; d++) at = at * x->type.dims[d] + ko[d] + ri[d];
      if (is_float) facc = k == 0 ? op_get(x, at) : fold_float(op, facc, op_get(x, at));
      else iacc = k == 0 ? op_get_int(x, at) : fold_int(op, iacc, op_get_int(x, at));
    }
    if (op == OP_REDUCE_MEAN) op_set(y, o, (is_float ? facc : (double)iacc) / (double)count);
    else if (is_float) op_set(y, o, facc);
    else op_set_int(y, o, iacc);
  }
  return IR_OK;
}

const OpImpl ir_impl_reduce = {reduce_attrs, reduce_infer, reduce_eval, NULL};

/* norm.c — normalization: inference batch_norm and softmax (ONNX opset 13). */
#include "ir/op.h"

#include <math.h>

static const DType float_dtypes[] = {DT_F32, DT_F16, DT_BF16, DT_INVALID};

/* ---- batch_norm ------------------------------------------------------------------------------ */

static const AttrSpec batch_norm_attrs[] = {{"epsilon", ATTR_FLOAT, false}, {0}};

/* X [N, C, ...] float; scale, bias, mean, var each [C] of X's dtype; epsilon >= 0. */
static bool batch_norm_infer(InferCtx *c) {
  static const char *const names[] = {"X", "scale", "bias", "mean", "var"};
  const TensorType *x = c->in[0];
  if (!op_check_dtype(c, 0, float_dtypes)) return false;
  for (int i = 1; i < 5; i++)
    if (!op_check_same_dtype(c, i, 0)) return false;
  if (x->rank < 2)
    return op_fail(c, NULL, "batch_norm: input must have rank >= 2 (N, C, ...), not %d", x->rank);
  for (int i = 1; i < 5; i++) {
    const TensorType *t = c->in[i];
    if (t->rank != 1 || t->dims[0] != x->dims[1]) {
      char s[OP_SHAPE_BUF];
      return op_fail(c, NULL, "batch_norm: %s has shape %s but the input has %lld channels (expected [%lld])",
                     names[i], op_shape_str(t, s, sizeof s), (long long)x->dims[1], (long long)x->dims[1]);
    }
  }
  double eps = ir_attr_float(c->node, "epsilon", 1e-5);
  if (!(eps >= 0)) return op_fail(c, "epsilon", "batch_norm: epsilon = %g must be >= 0", eps);
  op_out(c, 0, x->dtype, x->rank, x->dims);
  return true;
}

/* y = scale[c] * (x - mean[c]) / sqrt(var[c] + epsilon) + bias[c] in double, c = dim 1. */
static IrStatus batch_norm_eval(EvalCtx *c) {
  const Tensor *x = &c->in[0], *scale = &c->in[1], *bias = &c->in[2], *mean = &c->in[3], *var = &c->in[4];
  Tensor *y = &c->out[0];
  double eps = ir_attr_float(c->node, "epsilon", 1e-5);
  int64_t N = x->type.dims[0], C = x->type.dims[1], inner = 1;
  for (int i = 2; i < x->type.rank; i++) inner *= x->type.dims[i];
  for (int64_t n = 0; n < N; n++)
    for (int64_t ch = 0; ch < C; ch++) {
      double s = op_get(scale, ch), b = op_get(bias, ch), m = op_get(mean, ch), v = op_get(var, ch);
      for (int64_t i = 0; i < inner; i++) {
        int64_t at = (n * C + ch) * inner + i;
        op_set(y, at, s * (op_get(x, at) - m) / sqrt(v + eps) + b);
      }
    }
  return IR_OK;
}

const OpImpl ir_impl_batch_norm = {batch_norm_attrs, batch_norm_infer, batch_norm_eval, NULL};

/* ---- softmax --------------------------------------------------------------------------------- */

static const AttrSpec softmax_attrs[] = {{"axis", ATTR_INT, false}, {0}};

/* Float input of rank >= 1; axis in [-rank, rank). */
static bool softmax_infer(InferCtx *c) {
  const TensorType *x = c->in[0];
  int axis;
  if (!op_check_dtype(c, 0, float_dtypes)) return false;
  if (x->rank < 1) return op_fail(c, NULL, "softmax: input must have rank >= 1");
  if (!op_axis(c, "axis", ir_attr_int(c->node, "axis", -1), x->rank, &axis)) return false;
  op_out(c, 0, x->dtype, x->rank, x->dims);
  return true;
}

/* Along axis: y = exp(x - max) / sum(exp(x - max)), in double. */
static IrStatus softmax_eval(EvalCtx *c) {
  const Tensor *x = &c->in[0];
  Tensor *y = &c->out[0];
  int rank = x->type.rank;
  int64_t axis = ir_attr_int(c->node, "axis", -1);
  if (axis < 0) axis += rank;
  int64_t outer = 1, len = x->type.dims[axis], inner = 1;
  for (int i = 0; i < axis; i++) outer *= x->type.dims[i];
  for (int i = (int)axis + 1; i < rank; i++) inner *= x->type.dims[i];
  for (int64_t o = 0; o < outer; o++)
    for (int64_t in = 0; in < inner; in++) {
      int64_t base = o * len * inner + in;
      double mx = -INFINITY, sum = 0;
      for (int64_t k = 0; k < len; k++) mx = fmax(mx, op_get(x, base + k * inner));
      for (int64_t k = 0; k < len; k++) sum += exp(op_get(x, base + k * inner) - mx);
      for (int64_t k = 0; k < len; k++) op_set(y, base + k * inner, exp(op_get(x, base + k * inner) - mx) / sum);
    }
  return IR_OK;
}

const OpImpl ir_impl_softmax = {softmax_attrs, softmax_infer, softmax_eval, NULL};

/* norm.c — normalization: inference batch_norm, softmax and log_softmax (ONNX opset 13),
 * layer_norm (ONNX LayerNormalization, opset 17). */
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

/* ---- softmax, log_softmax ------------------------------------------------------------------------ */

static const AttrSpec softmax_attrs[] = {{"axis", ATTR_INT, false}, {0}};

/* Float input of rank >= 1; axis in [-rank, rank). */
static bool softmax_infer(InferCtx *c) {
  const TensorType *x = c->in[0];
  int axis;
  if (!op_check_dtype(c, 0, float_dtypes)) return false;
  if (x->rank < 1) return op_fail(c, NULL, "%s: input must have rank >= 1", op_name(c->node));
  if (!op_axis(c, "axis", ir_attr_int(c->node, "axis", -1), x->rank, &axis)) return false;
  op_out(c, 0, x->dtype, x->rank, x->dims);
  return true;
}

/* Along axis, in double: softmax y = exp(x - max) / sum(exp(x - max)); log_softmax
 * y = x - max - log(sum(exp(x - max))). */
static IrStatus softmax_eval(EvalCtx *c) {
  const Tensor *x = &c->in[0];
  Tensor *y = &c->out[0];
  bool is_log = c->node->op == OP_LOG_SOFTMAX;
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
      double log_sum = log(sum);
      for (int64_t k = 0; k < len; k++) {
        double d = op_get(x, base + k * inner) - mx;
        op_set(y, base + k * inner, is_log ? d - log_sum : exp(d) / sum);
      }
    }
  return IR_OK;
}

const OpImpl ir_impl_softmax = {softmax_attrs, softmax_infer, softmax_eval, NULL};

/* ---- layer_norm ------------------------------------------------------------------------------ */

static const AttrSpec layer_norm_attrs[] = {{"axis", ATTR_INT, false}, {"epsilon", ATTR_FLOAT, false}, {0}};

/* Checks that input i (scale or bias) broadcasts one way to the normalized shape norm: rank at
 * most norm's, each dimension (right-aligned) equal to norm's or 1. */
static bool layer_norm_param(InferCtx *c, int i, const char *what, const TensorType *norm) {
  const TensorType *t = c->in[i];
  bool ok = t->rank <= norm->rank;
  for (int d = 0; ok && d < t->rank; d++) {
    int64_t want = norm->dims[norm->rank - t->rank + d];
    ok = t->dims[d] == want || t->dims[d] == 1;
  }
  if (ok) return op_check_same_dtype(c, i, 0);
  char s[OP_SHAPE_BUF], n[OP_SHAPE_BUF];
  return op_fail(c, NULL, "layer_norm: %s has shape %s, which does not broadcast to the normalized shape %s", what,
                 op_shape_str(t, s, sizeof s), op_shape_str(norm, n, sizeof n));
}

/* The dimensions from axis on of x, as a type of their own. */
static TensorType trailing_dims(const TensorType *x, int axis) {
  TensorType t = ir_type_plain(x, x->dtype);
  t.rank = x->rank - axis;
  for (int d = 0; d < t.rank; d++) t.dims[d] = x->dims[axis + d];
  return t;
}

/* X float of rank >= 1; scale (and bias) of X's dtype, broadcasting to X's dims from axis on;
 * axis in [-rank, rank); epsilon >= 0. Y has X's type; mean and inv_std_dev are f32 of X's
 * shape with the normalized dims set to 1. */
static bool layer_norm_infer(InferCtx *c) {
  const TensorType *x = c->in[0];
  int axis;
  if (!op_check_dtype(c, 0, float_dtypes)) return false;
  if (x->rank < 1) return op_fail(c, NULL, "layer_norm: input must have rank >= 1");
  if (!op_axis(c, "axis", ir_attr_int(c->node, "axis", -1), x->rank, &axis)) return false;
  TensorType norm = trailing_dims(x, axis);
  if (!layer_norm_param(c, 1, "scale", &norm) || (c->nin > 2 && !layer_norm_param(c, 2, "bias", &norm)))
    return false;
  double eps = ir_attr_float(c->node, "epsilon", 1e-5);
  if (!(eps >= 0)) return op_fail(c, "epsilon", "layer_norm: epsilon = %g must be >= 0", eps);
  op_out(c, 0, x->dtype, x->rank, x->dims);
  int64_t stat[IR_MAX_RANK];
  for (int d = 0; d < x->rank; d++) stat[d] = d < axis ? x->dims[d] : 1;
  for (int i = 1; i < c->nout; i++) op_out(c, i, DT_F32, x->rank, stat);
  return true;
}

/* For each slice of the dims from axis on, in double: mean, var = mean((x - mean)^2),
 * inv = 1 / sqrt(var + epsilon), y = (x - mean) * inv * scale + bias. */
static IrStatus layer_norm_eval(EvalCtx *c) {
  const Tensor *x = &c->in[0], *scale = &c->in[1], *bias = c->nin > 2 ? &c->in[2] : NULL;
  Tensor *y = &c->out[0];
  int axis = (int)ir_attr_int(c->node, "axis", -1);
  if (axis < 0) axis += x->type.rank;
  double eps = ir_attr_float(c->node, "epsilon", 1e-5);
  TensorType norm = trailing_dims(&x->type, axis);
  int64_t len = ir_type_numel(&norm), outer = 1;
  for (int d = 0; d < axis; d++) outer *= x->type.dims[d];
  for (int64_t o = 0; o < outer; o++) {
    int64_t base = o * len;
    double mean = 0, var = 0;
    for (int64_t k = 0; k < len; k++) mean += op_get(x, base + k);
    mean /= (double)len;
    for (int64_t k = 0; k < len; k++) var += (op_get(x, base + k) - mean) * (op_get(x, base + k) - mean);
    double inv = 1.0 / sqrt(var / (double)len + eps);
    int64_t idx[IR_MAX_RANK] = {0}; /* k's index in the normalized dims */
    for (int64_t k = 0; k < len; k++, op_next_index(&norm, idx)) {
      double v = (op_get(x, base + k) - mean) * inv * op_get(scale, op_broadcast_offset(&scale->type, &norm, idx));
      if (bias) v += op_get(bias, op_broadcast_offset(&bias->type, &norm, idx));
      op_set(y, base + k, v);
    }
    if (c->nout > 1) op_set(&c->out[1], o, mean);
    if (c->nout > 2) op_set(&c->out[2], o, inv);
  }
  return IR_OK;
}

const OpImpl ir_impl_layer_norm = {layer_norm_attrs, layer_norm_infer, layer_norm_eval, NULL};

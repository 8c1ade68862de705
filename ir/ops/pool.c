/* pool.c — pooling on NCHW: maxpool (with optional indices), averagepool and
 * global_average_pool (any rank >= 3). */
#include "ir/op.h"

#include <math.h>

static const DType float_dtypes[] = {DT_F32, DT_F16, DT_BF16, DT_INVALID};
static const DType maxpool_dtypes[] = {DT_F32, DT_F16, DT_BF16, DT_I8, DT_U8, DT_INVALID};

static const AttrSpec maxpool_attrs[] = {
    {"kernel", ATTR_INTS, true}, {"strides", ATTR_INTS, false}, {"pads", ATTR_INTS, false},
    {"dilations", ATTR_INTS, false}, {"ceil_mode", ATTR_INT, false}, {0}};

static const AttrSpec averagepool_attrs[] = {
    {"kernel", ATTR_INTS, true}, {"strides", ATTR_INTS, false}, {"pads", ATTR_INTS, false},
    {"ceil_mode", ATTR_INT, false}, {"count_include_pad", ATTR_INT, false}, {0}};

/* The geometry of a 2-D pooling: input and output sizes and the attributes. */
typedef struct PoolGeom {
  int64_t N, C, H, W, OH, OW;
  int64_t k[2], stride[2], pads[4], dil[2];
} PoolGeom;

/* Reads the sizes of x and y and the (validated) attributes of node n. */
static void pool_geom(const Node *n, const TensorType *x, const TensorType *y, PoolGeom *g) {
  g->N = x->dims[0]; g->C = x->dims[1]; g->H = x->dims[2]; g->W = x->dims[3];
  g->OH = y->dims[2]; g->OW = y->dims[3];
  op_ints_or(n, "kernel", 2, 1, g->k);
  op_ints_or(n, "strides", 2, 1, g->stride);
  op_ints_or(n, "pads", 4, 0, g->pads);
  op_ints_or(n, "dilations", 2, 1, g->dil);
}

/* Checks a rank-4 input and the window attributes (pads must be smaller than the kernel, as
 * onnxruntime requires) and sets output 0 to [N, C, OH, OW]. */
static bool pool_infer_common(InferCtx *c, const DType *dtypes) {
  int64_t k[2], s[2], p[4], d[2], ceil_mode;
  const char *name = op_name(c->node);
  if (!op_check_dtype(c, 0, dtypes) || !op_check_rank(c, 0, 4)) return false;
  if (!ir_attr(c->node, "kernel")) return op_fail(c, NULL, "%s: the kernel attribute is required", name);
  if (!op_ints_attr(c, "kernel", 2, 1, 1, IR_MAX_ELEMENTS, k) ||
      !op_ints_attr(c, "strides", 2, 1, 1, IR_MAX_ELEMENTS, s) ||
      !op_ints_attr(c, "pads", 4, 0, 0, IR_MAX_ELEMENTS, p) ||
      !op_ints_attr(c, "dilations", 2, 1, 1, IR_MAX_ELEMENTS, d) ||
      !op_int_attr(c, "ceil_mode", 0, 0, 1, &ceil_mode))
    return false;
  for (int i = 0; i < 4; i++)
    if (p[i] >= k[i % 2])
      return op_fail(c, "pads", "%s: pads[%d] = %lld must be smaller than the kernel size %lld", name, i,
                     (long long)p[i], (long long)k[i % 2]);
  const TensorType *x = c->in[0];
  int64_t dims[4] = {x->dims[0], x->dims[1], 0, 0};
  if (!op_window_out(c, "height", x->dims[2], k[0], s[0], d[0], p[0], p[2], ceil_mode, &dims[2]) ||
      !op_window_out(c, "width", x->dims[3], k[1], s[1], d[1], p[1], p[3], ceil_mode, &dims[3]))
    return false;
  op_out(c, 0, x->dtype, 4, dims);
  return true;
}

/* ---- maxpool --------------------------------------------------------------------------------- */

/* As pool_infer_common; the optional second result (indices) is i64 of the same shape. */
static bool maxpool_infer(InferCtx *c) {
  if (c->nout > 1 && c->out[1].dtype != DT_I64)
    return op_fail(c, NULL, "maxpool: the indices result must have dtype i64, not %s",
                   ir_dtype_name(c->out[1].dtype));
  if (!pool_infer_common(c, maxpool_dtypes)) return false;
  if (c->nout > 1) op_out(c, 1, DT_I64, 4, c->out[0].dims);
  return true;
}

/* Y = the maximum over each window's taps inside the input (padding never wins; the first
 * maximum wins ties); indices = its flat offset in X (NCHW). A window with no tap inside the
 * input gives the lowest value and index -1. */
static IrStatus maxpool_eval(EvalCtx *c) {
  const Tensor *x = &c->in[0];
  Tensor *y = &c->out[0], *ind = c->nout > 1 ? &c->out[1] : NULL;
  PoolGeom g;
  pool_geom(c->node, &x->type, &y->type, &g);
  for (int64_t nc = 0; nc < g.N * g.C; nc++)
    for (int64_t oh = 0; oh < g.OH; oh++)
      for (int64_t ow = 0; ow < g.OW; ow++) {
        double best = -INFINITY;
        int64_t best_at = -1;
        int64_t h0 = oh * g.stride[0] - g.pads[0], w0 = ow * g.stride[1] - g.pads[1];
        int64_t kh0, kh1, kw0, kw1; /* the taps inside the input */
        op_taps(h0, g.k[0], g.dil[0], g.H, &kh0, &kh1);
        op_taps(w0, g.k[1], g.dil[1], g.W, &kw0, &kw1);
        for (int64_t kh = kh0; kh < kh1; kh++)
          for (int64_t kw = kw0; kw < kw1; kw++) {
            int64_t ih = h0 + kh * g.dil[0], iw = w0 + kw * g.dil[1];
            int64_t at = (nc * g.H + ih) * g.W + iw;
            double v = op_get(x, at);
            if (best_at < 0 || v > best) {
              best = v;
              best_at = at;
            }
          }
        int64_t o = (nc * g.OH + oh) * g.OW + ow;
        op_set(y, o, best);
        if (ind) op_set_int(ind, o, best_at);
      }
  return IR_OK;
}

const OpImpl ir_impl_maxpool = {maxpool_attrs, maxpool_infer, maxpool_eval, NULL};

/* ---- averagepool ----------------------------------------------------------------------------- */

/* Float input of rank 4; count_include_pad is 0 or 1. */
static bool averagepool_infer(InferCtx *c) {
  int64_t cip;
  if (!op_int_attr(c, "count_include_pad", 0, 0, 1, &cip)) return false;
  return pool_infer_common(c, float_dtypes);
}

/* The mean of each window: the sum of its taps inside the input divided by their number
 * (count_include_pad 0) or by the window's extent clipped to the padded input
 * (count_include_pad 1), as ONNX. */
static IrStatus averagepool_eval(EvalCtx *c) {
  const Tensor *x = &c->in[0];
  Tensor *y = &c->out[0];
  PoolGeom g;
  pool_geom(c->node, &x->type, &y->type, &g);
  bool include_pad = ir_attr_int(c->node, "count_include_pad", 0) != 0;
  for (int64_t nc = 0; nc < g.N * g.C; nc++)
    for (int64_t oh = 0; oh < g.OH; oh++)
      for (int64_t ow = 0; ow < g.OW; ow++) {
        int64_t h0 = oh * g.stride[0] - g.pads[0], w0 = ow * g.stride[1] - g.pads[1];
        double sum = 0;
        int64_t real = 0, kh0, kh1, kw0, kw1; /* the taps inside the input */
        op_taps(h0, g.k[0], 1, g.H, &kh0, &kh1);
        op_taps(w0, g.k[1], 1, g.W, &kw0, &kw1);
        for (int64_t ih = h0 + kh0; ih < h0 + kh1; ih++)
          for (int64_t iw = w0 + kw0; iw < w0 + kw1; iw++) {
            sum += op_get(x, (nc * g.H + ih) * g.W + iw);
            real++;
          }
        int64_t h1 = h0 + g.k[0] < g.H + g.pads[2] ? h0 + g.k[0] : g.H + g.pads[2];
        int64_t w1 = w0 + g.k[1] < g.W + g.pads[3] ? w0 + g.k[1] : g.W + g.pads[3];
        int64_t count = include_pad ? (h1 - h0) * (w1 - w0) : real;
        op_set(y, (nc * g.OH + oh) * g.OW + ow, sum / (double)count);
      }
  return IR_OK;
}

const OpImpl ir_impl_averagepool = {averagepool_attrs, averagepool_infer, averagepool_eval, NULL};

/* ---- global_average_pool --------------------------------------------------------------------- */

static const AttrSpec no_attrs[] = {{0}};

/* Float input of rank >= 3; the result keeps N and C and has size 1 in every other dim. */
static bool global_average_pool_infer(InferCtx *c) {
  const TensorType *x = c->in[0];
  if (!op_check_dtype(c, 0, float_dtypes)) return false;
  if (x->rank < 3)
    return op_fail(c, NULL, "global_average_pool: input must have rank >= 3 (N, C, spatial...), not %d", x->rank);
  int64_t dims[IR_MAX_RANK];
  for (int i = 0; i < x->rank; i++) dims[i] = i < 2 ? x->dims[i] : 1;
  op_out(c, 0, x->dtype, x->rank, dims);
  return true;
}

/* Y[n, c] = the mean over all spatial positions of X[n, c], in double. */
static IrStatus global_average_pool_eval(EvalCtx *c) {
  const Tensor *x = &c->in[0];
  Tensor *y = &c->out[0];
  int64_t planes = x->type.dims[0] * x->type.dims[1];
  int64_t spatial = 1;
  for (int i = 2; i < x->type.rank; i++) spatial *= x->type.dims[i];
  for (int64_t p = 0; p < planes; p++) {
    double sum = 0;
    for (int64_t s = 0; s < spatial; s++) sum += op_get(x, p * spatial + s);
    op_set(y, p, sum / (double)spatial);
  }
  return IR_OK;
}

const OpImpl ir_impl_global_average_pool = {no_attrs, global_average_pool_infer, global_average_pool_eval, NULL};

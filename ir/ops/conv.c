/* conv.c — 2-D convolution (ONNX Conv on NCHW, cross-correlation) and its transpose (ONNX
 * ConvTranspose), with groups, strides, dilations, pads and an optional bias. */
#include "ir/op.h"

static const AttrSpec conv2d_attrs[] = {
    {"strides", ATTR_INTS, false}, {"pads", ATTR_INTS, false}, {"dilations", ATTR_INTS, false},
    {"group", ATTR_INT, false},    {0}};

static const DType float_dtypes[] = {DT_F32, DT_F16, DT_BF16, DT_INVALID};

/* The geometry of a conv2d: sizes of X, W and Y, and the attributes. */
typedef struct ConvGeom {
  int64_t N, C, H, W;       /* input */
  int64_t M, Cg, kH, kW;    /* weight: M output channels, Cg = C / group input channels each */
  int64_t OH, OW;           /* output */
  int64_t stride[2], pads[4], dil[2], group;
} ConvGeom;

/* Reads the sizes and attributes (already validated) of a conv2d node from its types. */
static void conv_geom(const Node *n, const TensorType *x, const TensorType *w, const TensorType *y, ConvGeom *g) {
  g->N = x->dims[0]; g->C = x->dims[1]; g->H = x->dims[2]; g->W = x->dims[3];
  g->M = w->dims[0]; g->Cg = w->dims[1]; g->kH = w->dims[2]; g->kW = w->dims[3];
  g->OH = y ? y->dims[2] : 0;
  g->OW = y ? y->dims[3] : 0;
  op_ints_or(n, "strides", 2, 1, g->stride);
  op_ints_or(n, "pads", 4, 0, g->pads);
  op_ints_or(n, "dilations", 2, 1, g->dil);
  g->group = ir_attr_int(n, "group", 1);
}

/* What conv2d and conv_transpose check alike: float operands of one type, X and W of rank 4,
 * a bias of rank 1, and the strides, pads and dilations attributes (read into s, p, d). */
static bool conv_common(InferCtx *c, int64_t s[2], int64_t p[4], int64_t d[2]) {
  if (!op_check_dtype(c, 0, float_dtypes)) return false;
  for (int i = 1; i < c->nin; i++)
    if (!op_check_same_dtype(c, i, 0)) return false;
  if (!op_check_rank(c, 0, 4) || !op_check_rank(c, 1, 4)) return false;
  if (c->nin > 2 && !op_check_rank(c, 2, 1)) return false;
  return op_ints_attr(c, "strides", 2, 1, 1, IR_MAX_ELEMENTS, s) && op_ints_attr(c, "pads", 4, 0, 0, IR_MAX_ELEMENTS, p) &&
         op_ints_attr(c, "dilations", 2, 1, 1, IR_MAX_ELEMENTS, d);
}

/* X [N,C,H,W], W [M,C/group,kH,kW], B [M]; the result is [N, M, OH, OW]. */
static bool conv2d_infer(InferCtx *c) {
  int64_t s[2], p[4], d[2], group;
  if (!conv_common(c, s, p, d) ||
      !op_int_attr(c, "group", 1, 1, IR_MAX_ELEMENTS, &group))
    return false;
  ConvGeom g;
  conv_geom(c->node, c->in[0], c->in[1], NULL, &g);
  if (g.C % group != 0)
    return op_fail(c, "group", "conv2d: input channels %lld are not divisible by group %lld", (long long)g.C,
                   (long long)group);
  if (g.M % group != 0)
    return op_fail(c, "group", "conv2d: output channels %lld are not divisible by group %lld", (long long)g.M,
                   (long long)group);
  if (g.Cg != g.C / group)
    return op_fail(c, NULL, "conv2d: input has %lld channels (%lld per group, group %lld) but weight expects %lld per group",
                   (long long)g.C, (long long)(g.C / group), (long long)group, (long long)g.Cg);
  if (g.kH < 1 || g.kW < 1)
    return op_fail(c, NULL, "conv2d: kernel %lldx%lld is empty", (long long)g.kH, (long long)g.kW);
  if (c->nin > 2 && c->in[2]->dims[0] != g.M)
    return op_fail(c, NULL, "conv2d: bias has %lld entries but there are %lld output channels",
                   (long long)c->in[2]->dims[0], (long long)g.M);
  int64_t dims[4] = {g.N, g.M, 0, 0};
  if (!op_window_out(c, "height", g.H, g.kH, s[0], d[0], p[0], p[2], false, &dims[2]) ||
      !op_window_out(c, "width", g.W, g.kW, s[1], d[1], p[1], p[3], false, &dims[3]))
    return false;
  op_out(c, 0, c->in[0]->dtype, 4, dims);
  return true;
}

/* Y[n,m,oh,ow] = B[m] + sum over the group's channels and the kernel of X * W, in double;
 * taps in the padding contribute zero. */
static IrStatus conv2d_eval(EvalCtx *c) {
  const Tensor *x = &c->in[0], *w = &c->in[1], *b = c->nin > 2 ? &c->in[2] : NULL;
  Tensor *y = &c->out[0];
  ConvGeom g;
  conv_geom(c->node, &x->type, &w->type, &y->type, &g);
  int64_t m_per_group = g.M / g.group;
  for (int64_t n = 0; n < g.N; n++)
    for (int64_t m = 0; m < g.M; m++) {
      int64_t c0 = (m / m_per_group) * g.Cg; /* first input channel of m's group */
      for (int64_t oh = 0; oh < g.OH; oh++)
        for (int64_t ow = 0; ow < g.OW; ow++) {
          double acc = b ? op_get(b, m) : 0.0;
          int64_t h0 = oh * g.stride[0] - g.pads[0], w0 = ow * g.stride[1] - g.pads[1];
          int64_t kh0, kh1, kw0, kw1; /* the taps inside the input; the rest read padding (0) */
          op_taps(h0, g.kH, g.dil[0], g.H, &kh0, &kh1);
          op_taps(w0, g.kW, g.dil[1], g.W, &kw0, &kw1);
          for (int64_t ci = 0; ci < g.Cg; ci++)
            for (int64_t kh = kh0; kh < kh1; kh++)
              for (int64_t kw = kw0; kw < kw1; kw++) {
                int64_t ih = h0 + kh * g.dil[0], iw = w0 + kw * g.dil[1];
                double xv = op_get(x, ((n * g.C + c0 + ci) * g.H + ih) * g.W + iw);
                double wv = op_get(w, ((m * g.Cg + ci) * g.kH + kh) * g.kW + kw);
                acc += xv * wv;
              }
          op_set(y, ((n * g.M + m) * g.OH + oh) * g.OW + ow, acc);
        }
    }
  return IR_OK;
}

/* N * M * OH * OW * (C / group) * kH * kW, saturating at INT64_MAX. */
static int64_t conv2d_macs(const Graph *gr, const Node *n) {
  ConvGeom g;
  conv_geom(n, &gr->values[n->inputs[0]].type, &gr->values[n->inputs[1]].type, &gr->values[n->outputs[0]].type, &g);
  int64_t f[7] = {g.N, g.M, g.OH, g.OW, g.Cg, g.kH, g.kW}, r = 1;
  for (int i = 0; i < 7; i++)
    if (!ir_mul_ok(r, f[i], &r)) return INT64_MAX;
  return r;
}

const OpImpl ir_impl_conv2d = {conv2d_attrs, conv2d_infer, conv2d_eval, conv2d_macs};

/* ---- conv_transpose ---------------------------------------------------------------------------- */

static const AttrSpec conv_transpose_attrs[] = {
    {"strides", ATTR_INTS, false},        {"pads", ATTR_INTS, false},         {"dilations", ATTR_INTS, false},
    {"group", ATTR_INT, false},           {"output_padding", ATTR_INTS, false}, {"output_shape", ATTR_INTS, false},
    {0}};


/* Floor division by 2 (also of negative numbers). */
static int64_t half_floor(int64_t v) { return v >= 0 ? v / 2 : -((-v + 1) / 2); }

/* op_convt_geom (ir/op.h): the full extent of each output
 * dimension is stride * (in - 1) + output_padding + (k - 1) * dilation + 1; with
 * output_shape, the total padding full - output_shape is split as ONNX does (the larger
 * half first; either may be negative), else pads is cropped from it. Returns NULL, or what
 * is wrong and *attr, the attribute to blame. */
const char *op_convt_geom(const Node *n, const TensorType *x, const TensorType *w, ConvTGeom *g, const char **attr) {
  g->N = x->dims[0]; g->C = x->dims[1]; g->H = x->dims[2]; g->W = x->dims[3];
  g->Mg = w->dims[1]; g->kH = w->dims[2]; g->kW = w->dims[3];
  g->group = ir_attr_int(n, "group", 1);
  op_ints_or(n, "strides", 2, 1, g->stride);
  op_ints_or(n, "dilations", 2, 1, g->dil);
  op_ints_or(n, "pads", 4, 0, g->pads);
  op_ints_or(n, "output_padding", 2, 0, g->outpad);
  int nshape = 0;
  const int64_t *shape = ir_attr_ints(n, "output_shape", &nshape);
  *attr = "output_shape";
  if (shape && nshape != 2) return "output_shape must have 2 entries";
  int64_t in[2] = {g->H, g->W}, k[2] = {g->kH, g->kW}, out[2];
  for (int i = 0; i < 2; i++) {
    int64_t full, span;
    *attr = "output_padding";
    if (g->outpad[i] >= g->stride[i] && g->outpad[i] >= g->dil[i])
      return "output_padding must be smaller than the stride or the dilation";
    *attr = NULL;
    if (!ir_mul_ok(in[i] > 0 ? in[i] - 1 : 0, g->stride[i], &full) || !ir_mul_ok(k[i] - 1, g->dil[i], &span) ||
        !ir_add_ok(full, span + 1 + g->outpad[i], &full) || full > IR_MAX_ELEMENTS)
      return "the output is too large";
    if (shape) {
      *attr = "output_shape";
      if (shape[i] < 0 || shape[i] > IR_MAX_ELEMENTS) return "an output_shape entry is out of range";
      int64_t total = full - shape[i];
      g->pads[i] = total - half_floor(total);
      g->pads[i + 2] = half_floor(total);
      out[i] = shape[i];
    } else {
      *attr = "pads";
      out[i] = full - g->pads[i] - g->pads[i + 2];
      if (out[i] < 0) return "the pads crop more than the whole output";
    }
  }
  g->OH = out[0];
  g->OW = out[1];
  return NULL;
}

/* X [N,C,H,W], W [C, M/group, kH, kW], B [M]: the result is [N, M, OH, OW]. */
static bool conv_transpose_infer(InferCtx *c) {
  int64_t s[2], p[4], d[2], op[2], group;
  if (!conv_common(c, s, p, d) ||
      !op_ints_attr(c, "output_padding", 2, 0, 0, IR_MAX_ELEMENTS, op) ||
      !op_int_attr(c, "group", 1, 1, IR_MAX_ELEMENTS, &group))
    return false;
  const TensorType *x = c->in[0], *w = c->in[1];
  if (x->dims[1] % group != 0)
    return op_fail(c, "group", "conv_transpose: input channels %lld are not divisible by group %lld",
                   (long long)x->dims[1], (long long)group);
  if (w->dims[0] != x->dims[1])
    return op_fail(c, NULL, "conv_transpose: the weight has %lld input channels (dimension 0) but the input has %lld",
                   (long long)w->dims[0], (long long)x->dims[1]);
  if (w->dims[2] < 1 || w->dims[3] < 1)
    return op_fail(c, NULL, "conv_transpose: kernel %lldx%lld is empty", (long long)w->dims[2], (long long)w->dims[3]);
  ConvTGeom g;
  const char *attr, *why = op_convt_geom(c->node, x, w, &g, &attr);
  if (why) return op_fail(c, attr, "conv_transpose: %s", why);
  int64_t m;
  if (!ir_mul_ok(g.Mg, group, &m) || m > IR_MAX_ELEMENTS)
    return op_fail(c, NULL, "conv_transpose: too many output channels");
  if (c->nin > 2 && c->in[2]->dims[0] != m)
    return op_fail(c, NULL, "conv_transpose: bias has %lld entries but there are %lld output channels",
                   (long long)c->in[2]->dims[0], (long long)m);
  int64_t dims[4] = {g.N, m, g.OH, g.OW};
  return op_out_checked(c, 0, x->dtype, 4, dims);
}

/* Whether tap k carries some input position i in [0, in) to output position o, that is
 * i * stride + k * dil - pad = o; stores that i. */
static bool convt_source(int64_t o, int64_t k, int64_t stride, int64_t dil, int64_t pad, int64_t in, int64_t *i) {
  int64_t t = o + pad - k * dil;
  if (t < 0 || t % stride != 0) return false;
  *i = t / stride;
  return *i < in;
}

/* Y[n, m, oh, ow] = B[m] + sum over the group's input channels c and the taps (kh, kw) with
 * ih * sH + kh * dH - padT = oh (and the same across) of X[n, c, ih, iw] * W[c, m % Mg, kh,
 * kw], in double: every input element scattered through the kernel, computed as a gather. */
static IrStatus conv_transpose_eval(EvalCtx *c) {
  const Tensor *x = &c->in[0], *w = &c->in[1], *b = c->nin > 2 ? &c->in[2] : NULL;
  Tensor *y = &c->out[0];
  ConvTGeom g;
  const char *attr;
  op_convt_geom(c->node, &x->type, &w->type, &g, &attr);
  int64_t M = g.Mg * g.group, Cg = g.C / g.group;
  for (int64_t n = 0; n < g.N; n++)
    for (int64_t m = 0; m < M; m++) {
      int64_t c0 = (m / g.Mg) * Cg, mo = m % g.Mg;
      for (int64_t oh = 0; oh < g.OH; oh++)
        for (int64_t ow = 0; ow < g.OW; ow++) {
          double acc = b ? op_get(b, m) : 0.0;
          for (int64_t kh = 0; kh < g.kH; kh++) {
            int64_t ih, iw;
            if (!convt_source(oh, kh, g.stride[0], g.dil[0], g.pads[0], g.H, &ih)) continue;
            for (int64_t kw = 0; kw < g.kW; kw++) {
              if (!convt_source(ow, kw, g.stride[1], g.dil[1], g.pads[1], g.W, &iw)) continue;
              for (int64_t ci = c0; ci < c0 + Cg; ci++)
                acc += op_get(x, ((n * g.C + ci) * g.H + ih) * g.W + iw) *
                       op_get(w, ((ci * g.Mg + mo) * g.kH + kh) * g.kW + kw);
            }
          }
          op_set(y, ((n * M + m) * g.OH + oh) * g.OW + ow, acc);
        }
    }
  return IR_OK;
}

/* N * C * H * W * (M / group) * kH * kW: every input element meets every tap of its group's
 * kernels; saturating at INT64_MAX. */
static int64_t conv_transpose_macs(const Graph *gr, const Node *n) {
  ConvTGeom g;
  const char *attr;
  op_convt_geom(n, &gr->values[n->inputs[0]].type, &gr->values[n->inputs[1]].type, &g, &attr);
  int64_t f[7] = {g.N, g.C, g.H, g.W, g.Mg, g.kH, g.kW}, r = 1;
  for (int i = 0; i < 7; i++)
    if (!ir_mul_ok(r, f[i], &r)) return INT64_MAX;
  return r;
}

const OpImpl ir_impl_conv_transpose = {conv_transpose_attrs, conv_transpose_infer, conv_transpose_eval,
                                       conv_transpose_macs};

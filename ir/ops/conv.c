/* conv.c — 2-D convolution (ONNX Conv on NCHW, cross-correlation) with groups, strides,
 * dilations, pads and an optional bias. */
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

/* X [N,C,H,W], W [M,C/group,kH,kW], B [M]; the result is [N, M, OH, OW]. */
static bool conv2d_infer(InferCtx *c) {
  int64_t s[2], p[4], d[2], group;
  if (!op_check_dtype(c, 0, float_dtypes)) return false;
  for (int i = 1; i < c->nin; i++)
    if (!op_check_same_dtype(c, i, 0)) return false;
  if (!op_check_rank(c, 0, 4) || !op_check_rank(c, 1, 4)) return false;
  if (c->nin > 2 && !op_check_rank(c, 2, 1)) return false;
  if (!op_ints_attr(c, "strides", 2, 1, 1, IR_MAX_ELEMENTS, s) || !op_ints_attr(c, "pads", 4, 0, 0, IR_MAX_ELEMENTS, p) ||
      !op_ints_attr(c, "dilations", 2, 1, 1, IR_MAX_ELEMENTS, d) ||
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

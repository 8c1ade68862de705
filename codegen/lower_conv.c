/* lower_conv.c — the loop nests of conv2d (NCHW x OIHW, groups, strides, dilations, pads,
 * optional bias: taps in the padding are skipped by the bounds of the kernel loops) and
 * conv_transpose (NCHW x IOHW: every tap visited, the ones that carry no input selected
 * away). */
#include "codegen/lower.h"

/* Y[n,m,oh,ow] = B[m] + sum over ci < C/group, kh, kw of X[n, g*C/group + ci, ih, iw] W[m,ci,kh,kw]. */
IrStatus cg_lower_conv2d(LowerCtx *c, const Node *n) {
  NestProgram *p = c->p;
  const TensorType *tx = cg_type(c, n->inputs[0]), *tw = cg_type(c, n->inputs[1]), *ty = cg_type(c, n->outputs[0]);
  int64_t C = tx->dims[1], H = tx->dims[2], W = tx->dims[3];
  int64_t M = tw->dims[0], Cg = tw->dims[1], kH = tw->dims[2], kW = tw->dims[3];
  int64_t s[2], pads[4], dil[2], group = ir_attr_int(n, "group", 1);
  op_ints_or(n, "strides", 2, 1, s);
  op_ints_or(n, "pads", 4, 0, pads);
  op_ints_or(n, "dilations", 2, 1, dil);
  int x = cg_in(c, n->inputs[0]), w = cg_in(c, n->inputs[1]), y = cg_out(c, n->outputs[0]);
  NestKernel *k = cg_kernel_for(c, n);
  if (!k || y < 0) return cg_checked(c, n->loc);
  int v[4];
  NestBlock *body = cg_loops(c, k, &k->body, ty, v);
  if (!body) return cg_checked(c, n->loc);
  NestExpr *nn = cg_v(c, v[0]), *m = cg_v(c, v[1]);
  int acc = cg_nest_local(p, k, ty->dtype);
  cg_decl(p, body, acc, n->ninputs > 2 ? cg_load(p, cg_in(c, n->inputs[2]), m) : cg_const_f(p, ty->dtype, 0));
  /* The group's first input channel: (m / (M / group)) * Cg. */
  NestExpr *c0 = group == 1 ? cg_idx(p, 0) : cg_mulc(p, cg_bin(p, NEST_FLOORDIV, m, cg_idx(p, M / group)), Cg);
  int ci = cg_nest_var(p, k, "ci"), kh = cg_nest_var(p, k, "kh"), kw = cg_nest_var(p, k, "kw");
  NestExpr *h0 = cg_add(p, cg_mulc(p, cg_v(c, v[2]), s[0]), cg_idx(p, -pads[0]));
  NestExpr *w0 = cg_add(p, cg_mulc(p, cg_v(c, v[3]), s[1]), cg_idx(p, -pads[1]));
  NestExpr *lo_h, *hi_h, *lo_w, *hi_w;
  cg_taps(c, h0, kH, dil[0], H, &lo_h, &hi_h);
  cg_taps(c, w0, kW, dil[1], W, &lo_w, &hi_w);
  NestStmt *lci = cg_loop(p, body, ci, cg_idx(p, 0), cg_idx(p, Cg));
  NestStmt *lkh = lci ? cg_loop(p, &lci->u.loop.body, kh, lo_h, hi_h) : NULL;
  NestStmt *lkw = lkh ? cg_loop(p, &lkh->u.loop.body, kw, lo_w, hi_w) : NULL;
  if (!lkw) return cg_checked(c, n->loc);
  NestExpr *ih = cg_add(p, h0, cg_mulc(p, cg_var(p, kh), dil[0]));
  NestExpr *iw = cg_add(p, w0, cg_mulc(p, cg_var(p, kw), dil[1]));
  NestExpr *chan = cg_add(p, cg_add(p, cg_mulc(p, nn, C), c0), cg_var(p, ci));
  NestExpr *xi = cg_add(p, cg_mulc(p, cg_add(p, cg_mulc(p, chan, H), ih), W), iw);
  NestExpr *wi = cg_add(p, cg_mulc(p, cg_add(p, cg_mulc(p, cg_add(p, cg_mulc(p, m, Cg), cg_var(p, ci)), kH),
                                              cg_var(p, kh)), kW), cg_var(p, kw));
  NestExpr *prod = cg_bin(p, NEST_MUL, cg_load(p, x, xi), cg_load(p, w, wi));
  cg_assign(p, &lkw->u.loop.body, acc, cg_bin(p, NEST_ADD, cg_local(p, k, acc), prod));
  cg_store(p, body, y, cg_index(c, ty, v), cg_local(p, k, acc));
  return cg_checked(c, n->loc);
}

/* The input position of output position o through tap k (the variable k): t = o + pad -
 * k * dil, carried when t >= 0, t mod stride = 0 and t / stride < in. Adds that condition to
 * *ok and returns the position clamped into [0, in) (so the load stays in bounds either way). */
static NestExpr *convt_source(LowerCtx *c, NestExpr *o, int k, int64_t stride, int64_t dil, int64_t pad, int64_t in,
                              NestExpr **ok) {
  NestProgram *p = c->p;
  NestExpr *t = cg_add(p, cg_add(p, o, cg_idx(p, pad)), cg_mulc(p, cg_var(p, k), -dil));
  NestExpr *i = stride == 1 ? t : cg_bin(p, NEST_FLOORDIV, t, cg_idx(p, stride));
  NestExpr *cond = cg_bin(p, NEST_AND, cg_bin(p, NEST_GE, t, cg_idx(p, 0)), cg_bin(p, NEST_LT, i, cg_idx(p, in)));
  if (stride != 1) cond = cg_bin(p, NEST_AND, cond, cg_bin(p, NEST_EQ, cg_bin(p, NEST_MOD, t, cg_idx(p, stride)), cg_idx(p, 0)));
  *ok = *ok ? cg_bin(p, NEST_AND, *ok, cond) : cond;
  return cg_bin(p, NEST_MIN, cg_bin(p, NEST_MAX, i, cg_idx(p, 0)), cg_idx(p, in - 1));
}

/* Y[n,m,oh,ow] = B[m] + sum over the group's input channels ci and every tap (kh, kw) that
 * carries an input position (convt_source) of X[n, ci, ih, iw] W[ci, m mod Mg, kh, kw]
 * (op_convt_geom, as the interpreter). */
IrStatus cg_lower_conv_transpose(LowerCtx *c, const Node *n) {
  NestProgram *p = c->p;
  const TensorType *ty = cg_type(c, n->outputs[0]);
  ConvTGeom g;
  const char *attr;
  op_convt_geom(n, cg_type(c, n->inputs[0]), cg_type(c, n->inputs[1]), &g, &attr);
  int64_t Cg = g.C / g.group;
  int x = cg_in(c, n->inputs[0]), w = cg_in(c, n->inputs[1]), y = cg_out(c, n->outputs[0]);
  NestKernel *k = cg_kernel_for(c, n);
  if (!k || y < 0) return cg_checked(c, n->loc);
  int v[4];
  NestBlock *body = cg_loops(c, k, &k->body, ty, v);
  if (!body) return cg_checked(c, n->loc);
  NestExpr *nn = cg_v(c, v[0]), *m = cg_v(c, v[1]);
  int acc = cg_nest_local(p, k, ty->dtype);
  cg_decl(p, body, acc, n->ninputs > 2 ? cg_load(p, cg_in(c, n->inputs[2]), m) : cg_const_f(p, ty->dtype, 0));
  NestExpr *grp = g.group == 1 ? cg_idx(p, 0) : cg_bin(p, NEST_FLOORDIV, m, cg_idx(p, g.Mg));
  NestExpr *mo = g.group == 1 ? m : cg_bin(p, NEST_MOD, m, cg_idx(p, g.Mg));
  int ci = cg_nest_var(p, k, "ci"), kh = cg_nest_var(p, k, "kh"), kw = cg_nest_var(p, k, "kw");
  NestStmt *lci = cg_loop(p, body, ci, cg_idx(p, 0), cg_idx(p, Cg));
  NestStmt *lkh = lci ? cg_loop(p, &lci->u.loop.body, kh, cg_idx(p, 0), cg_idx(p, g.kH)) : NULL;
  NestStmt *lkw = lkh ? cg_loop(p, &lkh->u.loop.body, kw, cg_idx(p, 0), cg_idx(p, g.kW)) : NULL;
  if (!lkw) return cg_checked(c, n->loc);
  NestExpr *ok = NULL;
  NestExpr *ih = convt_source(c, cg_v(c, v[2]), kh, g.stride[0], g.dil[0], g.pads[0], g.H, &ok);
  NestExpr *iw = convt_source(c, cg_v(c, v[3]), kw, g.stride[1], g.dil[1], g.pads[1], g.W, &ok);
  NestExpr *chan = cg_add(p, cg_mulc(p, grp, Cg), cg_var(p, ci)); /* the input channel */
  NestExpr *xi = cg_add(p, cg_mulc(p, cg_add(p, cg_mulc(p, cg_add(p, cg_mulc(p, nn, g.C), chan), g.H), ih), g.W), iw);
  NestExpr *wi = cg_add(p, cg_mulc(p, cg_add(p, cg_mulc(p, cg_add(p, cg_mulc(p, chan, g.Mg), mo), g.kH),
                                              cg_var(p, kh)), g.kW), cg_var(p, kw));
  NestExpr *prod = cg_bin(p, NEST_MUL, cg_load(p, x, xi), cg_load(p, w, wi));
  NestExpr *term = cg_select(p, ok, prod, cg_const_f(p, ty->dtype, 0));
  cg_assign(p, &lkw->u.loop.body, acc, cg_bin(p, NEST_ADD, cg_local(p, k, acc), term));
  cg_store(p, body, y, cg_index(c, ty, v), cg_local(p, k, acc));
  return cg_checked(c, n->loc);
}

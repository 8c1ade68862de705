/* lower_conv.c — the loop nest of conv2d (NCHW x OIHW, groups, strides, dilations, pads,
 * optional bias): taps in the padding are skipped by the bounds of the kernel loops. */
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

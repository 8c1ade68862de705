/* lower_pool.c — loop nests for maxpool (with its optional indices), averagepool and
 * global_average_pool. Taps in the padding are skipped by the bounds of the window loops. */
#include <math.h>

#include "codegen/lower.h"

/* The window of one 2-D pooling output element: loops over the taps inside the input. */
typedef struct Window {
  NestExpr *h0, *w0;     /* the window's first position (may be negative) */
  NestExpr *ih, *iw;     /* the tap's position inside the input */
  NestExpr *lo_h, *hi_h, *lo_w, *hi_w; /* tap bounds */
  NestExpr *at;          /* the tap's flat NCHW offset in X */
  NestBlock *inner;      /* the body of the innermost tap loop */
} Window;

/* Builds in block b the two tap loops of the window for output (vars: n, c, oh, ow) of node n
 * over input tx; NULL inner on out-of-memory. */
static void window(LowerCtx *c, NestKernel *k, NestBlock *b, const Node *n, const TensorType *tx, const int *v,
                   Window *win) {
  NestProgram *p = c->p;
  int64_t kern[2], s[2], pads[4], dil[2], H = tx->dims[2], W = tx->dims[3];
  op_ints_or(n, "kernel", 2, 1, kern);
  op_ints_or(n, "strides", 2, 1, s);
  op_ints_or(n, "pads", 4, 0, pads);
  op_ints_or(n, "dilations", 2, 1, dil);
  win->h0 = cg_add(p, cg_mulc(p, cg_v(c, v[2]), s[0]), cg_idx(p, -pads[0]));
  win->w0 = cg_add(p, cg_mulc(p, cg_v(c, v[3]), s[1]), cg_idx(p, -pads[1]));
  cg_taps(c, win->h0, kern[0], dil[0], H, &win->lo_h, &win->hi_h);
  cg_taps(c, win->w0, kern[1], dil[1], W, &win->lo_w, &win->hi_w);
  int kh = cg_nest_var(p, k, "kh"), kw = cg_nest_var(p, k, "kw");
  NestStmt *lh = cg_loop(p, b, kh, win->lo_h, win->hi_h);
  NestStmt *lw = lh ? cg_loop(p, &lh->u.loop.body, kw, win->lo_w, win->hi_w) : NULL;
  win->inner = lw ? &lw->u.loop.body : NULL;
  win->ih = cg_add(p, win->h0, cg_mulc(p, cg_var(p, kh), dil[0]));
  win->iw = cg_add(p, win->w0, cg_mulc(p, cg_var(p, kw), dil[1]));
  NestExpr *plane = cg_add(p, cg_mulc(p, cg_v(c, v[0]), tx->dims[1]), cg_v(c, v[1]));
  win->at = cg_add(p, cg_mulc(p, cg_add(p, cg_mulc(p, plane, H), win->ih), W), win->iw);
}

/* The lowest value of dtype t: maxima start there. */
static NestExpr *lowest(LowerCtx *c, DType t) {
  if (ir_dtype_is_float(t)) return cg_const_f(c->p, t, -INFINITY);
  return cg_const_i(c->p, t, t == DT_U8 ? 0 : t == DT_I8 ? -128 : t == DT_I32 ? INT32_MIN : INT64_MIN);
}

/* Y = the first maximum over the window's taps inside X; indices = its flat offset (-1 and
 * the lowest value for a window with no tap inside). */
IrStatus cg_lower_maxpool(LowerCtx *c, const Node *n) {
  NestProgram *p = c->p;
  const TensorType *tx = cg_type(c, n->inputs[0]), *ty = cg_type(c, n->outputs[0]);
  int x = cg_in(c, n->inputs[0]), y = cg_out(c, n->outputs[0]);
  int ind = n->noutputs > 1 ? cg_out(c, n->outputs[1]) : -2;
  NestKernel *k = cg_kernel_for(c, n);
  if (!k || y < 0 || ind == -1) return cg_checked(c, n->loc);
  int v[4];
  NestBlock *body = cg_loops(c, k, &k->body, ty, v);
  if (!body) return cg_checked(c, n->loc);
  int best = cg_nest_local(p, k, ty->dtype), at = cg_nest_local(p, k, DT_I64);
  cg_decl(p, body, best, lowest(c, ty->dtype));
  cg_decl(p, body, at, cg_idx(p, -1));
  Window win;
  window(c, k, body, n, tx, v, &win);
  if (!win.inner) return cg_checked(c, n->loc);
  /* take = at < 0 || x > best, decided once per tap before either local changes. */
  NestExpr *val = cg_load(p, x, win.at);
  int take = cg_nest_local(p, k, DT_BOOL);
  cg_decl(p, win.inner, take, cg_bin(p, NEST_OR, cg_bin(p, NEST_LT, cg_local(p, k, at), cg_idx(p, 0)),
                                     cg_bin(p, NEST_GT, val, cg_local(p, k, best))));
  cg_assign(p, win.inner, best, cg_select(p, cg_local(p, k, take), val, cg_local(p, k, best)));
  cg_assign(p, win.inner, at, cg_select(p, cg_local(p, k, take), win.at, cg_local(p, k, at)));
  NestExpr *o = cg_index(c, ty, v);
  cg_store(p, body, y, o, cg_local(p, k, best));
  if (ind >= 0) cg_store(p, body, ind, o, cg_local(p, k, at));
  return cg_checked(c, n->loc);
}

/* Y = the sum of the taps inside X divided by their number (count_include_pad 0) or by the
 * window's extent clipped to the padded input (count_include_pad 1). */
IrStatus cg_lower_averagepool(LowerCtx *c, const Node *n) {
  NestProgram *p = c->p;
  const TensorType *tx = cg_type(c, n->inputs[0]), *ty = cg_type(c, n->outputs[0]);
  int x = cg_in(c, n->inputs[0]), y = cg_out(c, n->outputs[0]);
  NestKernel *k = cg_kernel_for(c, n);
  if (!k || y < 0) return cg_checked(c, n->loc);
  int v[4];
  NestBlock *body = cg_loops(c, k, &k->body, ty, v);
  if (!body) return cg_checked(c, n->loc);
  int sum = cg_nest_local(p, k, ty->dtype);
  cg_decl(p, body, sum, cg_const_f(p, ty->dtype, 0));
  Window win;
  window(c, k, body, n, tx, v, &win);
  if (!win.inner) return cg_checked(c, n->loc);
  cg_assign(p, win.inner, sum, cg_bin(p, NEST_ADD, cg_local(p, k, sum), cg_load(p, x, win.at)));
  NestExpr *count;
  if (ir_attr_int(n, "count_include_pad", 0)) {
    int64_t kern[2], pads[4];
    op_ints_or(n, "kernel", 2, 1, kern);
    op_ints_or(n, "pads", 4, 0, pads);
    NestExpr *h1 = cg_bin(p, NEST_MIN, cg_add(p, win.h0, cg_idx(p, kern[0])), cg_idx(p, tx->dims[2] + pads[2]));
    NestExpr *w1 = cg_bin(p, NEST_MIN, cg_add(p, win.w0, cg_idx(p, kern[1])), cg_idx(p, tx->dims[3] + pads[3]));
    count = cg_bin(p, NEST_MUL, cg_bin(p, NEST_SUB, h1, win.h0), cg_bin(p, NEST_SUB, w1, win.w0));
  } else {
    /* Taps inside: the loops' trip counts (never negative). */
    NestExpr *th = cg_bin(p, NEST_MAX, cg_idx(p, 0), cg_bin(p, NEST_SUB, win.hi_h, win.lo_h));
    NestExpr *tw = cg_bin(p, NEST_MAX, cg_idx(p, 0), cg_bin(p, NEST_SUB, win.hi_w, win.lo_w));
    count = cg_bin(p, NEST_MUL, th, tw);
  }
  cg_store(p, body, y, cg_index(c, ty, v), cg_bin(p, NEST_DIV, cg_local(p, k, sum), cg_cast(p, ty->dtype, count)));
  return cg_checked(c, n->loc);
}

/* Y[n, c] = the mean of X[n, c] over every spatial position. */
IrStatus cg_lower_global_average_pool(LowerCtx *c, const Node *n) {
  NestProgram *p = c->p;
  const TensorType *tx = cg_type(c, n->inputs[0]), *ty = cg_type(c, n->outputs[0]);
  int64_t spatial = ir_type_numel(tx) / (tx->dims[0] * tx->dims[1]);
  int x = cg_in(c, n->inputs[0]), y = cg_out(c, n->outputs[0]);
  NestKernel *k = cg_kernel_for(c, n);
  if (!k || y < 0) return cg_checked(c, n->loc);
  TensorType planes = {.dtype = ty->dtype, .rank = 1, .dims = {tx->dims[0] * tx->dims[1]}};
  int v;
  NestBlock *body = cg_loops(c, k, &k->body, &planes, &v);
  if (!body) return cg_checked(c, n->loc);
  int sum = cg_nest_local(p, k, ty->dtype), sv = cg_nest_var(p, k, "s");
  cg_decl(p, body, sum, cg_const_f(p, ty->dtype, 0));
  NestStmt *loop = cg_loop(p, body, sv, cg_idx(p, 0), cg_idx(p, spatial));
  if (!loop) return cg_checked(c, n->loc);
  NestExpr *xi = cg_add(p, cg_mulc(p, cg_v(c, v), spatial), cg_var(p, sv));
  cg_assign(p, &loop->u.loop.body, sum, cg_bin(p, NEST_ADD, cg_local(p, k, sum), cg_load(p, x, xi)));
  cg_store(p, body, y, cg_v(c, v),
           cg_bin(p, NEST_DIV, cg_local(p, k, sum), cg_const_f(p, ty->dtype, (double)spatial)));
  return cg_checked(c, n->loc);
}

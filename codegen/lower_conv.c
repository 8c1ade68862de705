/* lower_conv.c — the loop nests of conv2d (NCHW x OIHW, groups, strides, dilations, pads,
 * optional bias: taps in the padding are skipped by the bounds of the kernel loops) and
 * conv_transpose (NCHW x IOHW: every tap visited, the ones that carry no input selected
 * away). */
#include "codegen/lower.h"
#include "codegen/tile.h"

/* The register tile of conv2d: output channels by output columns (of one output row). When
 * one register tile's weights (CONV_TILE_M channels by all input channels and taps) would
 * fill more than CONV_CACHE_W_BYTES (half the L1 cache), the input channels are cut into
 * blocks of a power of 2 that fit (a 3 x 3 kernel over 256 channels: 64), and the output into
 * cache tiles of CONV_CACHE_M channels by CONV_CACHE_H rows (all columns), so one block's
 * weights stay in L1 while the register tile moves along the rows, and its input rows in L2.
 * Smaller convolutions are not blocked: their weights and input rows stay in cache as they
 * are (blocking a 3 x 3 conv over 64 channels on a 56 x 56 map made it 1.46 times slower). */
enum { CONV_TILE_M = 4, CONV_TILE_W = 16, CONV_CACHE_M = 16, CONV_CACHE_H = 8, CONV_CACHE_W_BYTES = 16384 };

/* The plain nest of a convolution node n in kernel k (conv2d when tiling fails, and
 * conv_transpose): loops over Y's elements, an accumulator set to the bias (or 0), and the
 * loops over the group's input channels ci and the taps (kh, kw). */
typedef struct ConvNest {
  int v[4];          /* the loop variables of Y's dimensions (-1: a dimension of size 1) */
  NestBlock *body;   /* the body of Y's loops */
  int acc;           /* the accumulator */
  int ci, kh, kw;    /* the loop variables of the channel and tap loops */
} ConvNest;

/* Opens the plain nest of n in k up to the accumulator; false when out of memory. */
static bool conv_open(LowerCtx *c, const Node *n, NestKernel *k, ConvNest *cn) {
  NestProgram *p = c->p;
  const TensorType *ty = cg_type(c, n->outputs[0]);
  cn->body = cg_loops(c, k, &k->body, ty, cn->v);
  if (!cn->body) return false;
  NestExpr *m = cg_v(c, cn->v[1]);
  cn->acc = cg_nest_local(p, k, ty->dtype);
  cg_decl(p, cn->body, cn->acc, n->ninputs > 2 ? cg_load(p, cg_in(c, n->inputs[2]), m) : cg_const_f(p, ty->dtype, 0));
  cn->ci = cg_nest_var(p, k, "ci");
  cn->kh = cg_nest_var(p, k, "kh");
  cn->kw = cg_nest_var(p, k, "kw");
  return true;
}

/* Appends the loops ci in [0, Cg), kh in [lo_h, hi_h), kw in [lo_w, hi_w) to the nest's
 * body, adds `term` (an expression of them, built by term_of) to the accumulator in the
 * innermost one and stores the accumulator into Y (buffer y) after them. */
static void conv_close(LowerCtx *c, const Node *n, NestKernel *k, const ConvNest *cn, int64_t Cg, NestExpr *lo_h,
                       NestExpr *hi_h, NestExpr *lo_w, NestExpr *hi_w, NestExpr *term, int y) {
  NestProgram *p = c->p;
  NestStmt *lci = cg_loop(p, cn->body, cn->ci, cg_idx(p, 0), cg_idx(p, Cg));
  NestStmt *lkh = lci ? cg_loop(p, &lci->u.loop.body, cn->kh, lo_h, hi_h) : NULL;
  NestStmt *lkw = lkh ? cg_loop(p, &lkh->u.loop.body, cn->kw, lo_w, hi_w) : NULL;
  if (!lkw) return;
  cg_assign(p, &lkw->u.loop.body, cn->acc, cg_bin(p, NEST_ADD, cg_local(p, k, cn->acc), term));
  cg_store(p, cn->body, y, cg_index(c, cg_type(c, n->outputs[0]), cn->v), cg_local(p, k, cn->acc));
}

/* The geometry of a conv2d node: Y[n,m,oh,ow] = B[m] + sum over ci < Cg, kh, kw of
 * X[n, c0(m) + ci, oh*s0 - p0 + kh*d0, ow*s1 - p1 + kw*d1] W[m,ci,kh,kw], the group's first
 * input channel c0(m) = (m / (M / group)) * Cg. */
typedef struct Conv2d {
  LowerCtx *c;
  int x, w, y, bias;                 /* buffers (bias -1: none) */
  DType t;
  int64_t C, H, W, M, Cg, kH, kW, OH, OW, group;
  int64_t s[2], pads[4], dil[2];
} Conv2d;

/* X's element index for image nn, output channel m, channel ci and input position (ih, iw). */
static NestExpr *conv_x_index(const Conv2d *g, NestExpr *nn, NestExpr *m, NestExpr *ci, NestExpr *ih, NestExpr *iw) {
  NestProgram *p = g->c->p;
  NestExpr *c0 = g->group == 1 ? cg_idx(p, 0) : cg_mulc(p, cg_bin(p, NEST_FLOORDIV, m, cg_idx(p, g->M / g->group)), g->Cg);
  NestExpr *chan = cg_add(p, cg_add(p, cg_mulc(p, nn, g->C), c0), ci);
  return cg_add(p, cg_mulc(p, cg_add(p, cg_mulc(p, chan, g->H), ih), g->W), iw);
}

/* W's element index for output channel m, channel ci and tap (kh, kw). */
static NestExpr *conv_w_index(const Conv2d *g, NestExpr *m, NestExpr *ci, NestExpr *kh, NestExpr *kw) {
  NestProgram *p = g->c->p;
  return cg_add(p, cg_mulc(p, cg_add(p, cg_mulc(p, cg_add(p, cg_mulc(p, m, g->Cg), ci), g->kH), kh), g->kW), kw);
}

/* Emits statement stmt of the tiled conv2d: S0[n, m, oh, ow] sets Y to the bias (or 0),
 * S1[n, m, oh, ow, ci, kh, kw] adds one product (its domain leaves out the taps in the
 * padding). */
static bool conv2d_stmt(void *user, NestBlock *blk, int stmt, NestExpr *const *it) {
  const Conv2d *g = user;
  NestProgram *p = g->c->p;
  NestExpr *yi = cg_add(p, cg_mulc(p, cg_add(p, cg_mulc(p, cg_add(p, cg_mulc(p, it[0], g->M), it[1]), g->OH), it[2]), g->OW),
                        it[3]);
  if (stmt == 0)
    return cg_store(p, blk, g->y, yi, g->bias >= 0 ? cg_load(p, g->bias, it[1]) : cg_const_f(p, g->t, 0)) != NULL;
  NestExpr *ih = cg_add(p, cg_add(p, cg_mulc(p, it[2], g->s[0]), cg_idx(p, -g->pads[0])), cg_mulc(p, it[5], g->dil[0]));
  NestExpr *iw = cg_add(p, cg_add(p, cg_mulc(p, it[3], g->s[1]), cg_idx(p, -g->pads[1])), cg_mulc(p, it[6], g->dil[1]));
  NestExpr *xv = cg_load(p, g->x, conv_x_index(g, it[0], it[1], it[4], ih, iw));
  NestExpr *wv = cg_load(p, g->w, conv_w_index(g, it[1], it[4], it[5], it[6]));
  return cg_store(p, blk, g->y, yi, cg_bin(p, NEST_ADD, cg_load(p, g->y, yi), cg_bin(p, NEST_MUL, xv, wv))) != NULL;
}

/* The column tiles of conv2d g: the interior columns [lo, hi) (every tap inside the input)
 * are cut into tiles of width *width starting at *shift = lo, so each is a full tile; the
 * columns before and after (taps in the padding) form partial tiles of their own. The width is
 * CONV_TILE_W, or, when the interior divides into n tiles of at most CONV_TILE_W columns, the
 * interior's width over n (a 14-column map padded by 1: one full tile of 12). */
static void conv2d_columns(const Conv2d *g, int64_t *width, int64_t *shift) {
  int64_t lo = (g->pads[1] + g->s[1] - 1) / g->s[1];
  int64_t last = g->W - 1 + g->pads[1] - (g->kW - 1) * g->dil[1]; /* the last input start inside */
  int64_t hi = last < 0 ? 0 : last / g->s[1] + 1;
  if (hi > g->OW) hi = g->OW;
  int64_t interior = hi - lo, n = (interior + CONV_TILE_W - 1) / CONV_TILE_W;
  *width = interior > 0 && interior % n == 0 ? interior / n : CONV_TILE_W;
  if (*width > g->OW) *width = g->OW;
  *shift = lo > 0 && lo < *width ? lo : 0;
}

/* Builds the tiled nest of conv2d g in kernel k (register tile: CONV_TILE_M output channels
 * by the columns conv2d_columns chooses, of one row); false when ISL could not (nothing built). */
static bool conv2d_tiled(const Conv2d *g, NestKernel *k, int64_t batch) {
  int64_t extent[7] = {batch, g->M, g->OH, g->OW, g->Cg, g->kH, g->kW};
  int64_t tile[4] = {1, CONV_TILE_M, 1, CONV_TILE_W}, shift[4] = {0, 0, 0, 0};
  conv2d_columns(g, &tile[3], &shift[3]);
  char where[256];
  snprintf(where, sizeof where,
           "0 <= %lld*d2 + %lld*d5 - %lld <= %lld and 0 <= %lld*d3 + %lld*d6 - %lld <= %lld", (long long)g->s[0],
           (long long)g->dil[0], (long long)g->pads[0], (long long)g->H - 1, (long long)g->s[1], (long long)g->dil[1],
           (long long)g->pads[1], (long long)g->W - 1);
  int64_t taps = g->kH * g->kW, block = 1, bytes = CONV_TILE_M * taps * (int64_t)sizeof(float);
  while (block * 2 * bytes <= CONV_CACHE_W_BYTES) block *= 2;
  bool blocked = block < g->Cg;
  CgTileStmt stmts[2] = {{.ndims = 4, .extent = extent},
                         {.ndims = 7, .extent = extent, .where = where, .block = blocked ? block : 0}};
  int64_t cache[4] = {1, CONV_CACHE_M, CONV_CACHE_H, g->OW};
  CgTileNest t = {.nout = 4, .extent = extent, .tile = tile, .cache = blocked ? cache : NULL, .shift = shift, .nstmts = 2, .stmts = stmts,
                  .parallel = batch * g->M * g->OH * g->OW >= CG_PARALLEL_MIN, .emit = conv2d_stmt,
                  .user = (void *)g};
  return cg_tile_build(g->c->p, k, &k->body, &t);
}

/* Y[n,m,oh,ow] = B[m] + sum over ci < C/group, kh, kw of X[n, g*C/group + ci, ih, iw] W[m,ci,kh,kw]. */
IrStatus cg_lower_conv2d(LowerCtx *c, const Node *n) {
  NestProgram *p = c->p;
  const TensorType *tx = cg_type(c, n->inputs[0]), *tw = cg_type(c, n->inputs[1]), *ty = cg_type(c, n->outputs[0]);
  Conv2d g = {.c = c, .t = ty->dtype, .C = tx->dims[1], .H = tx->dims[2], .W = tx->dims[3], .M = tw->dims[0],
              .Cg = tw->dims[1], .kH = tw->dims[2], .kW = tw->dims[3], .OH = ty->dims[2], .OW = ty->dims[3],
              .group = ir_attr_int(n, "group", 1), .bias = n->ninputs > 2 ? cg_in(c, n->inputs[2]) : -1};
  op_ints_or(n, "strides", 2, 1, g.s);
  op_ints_or(n, "pads", 4, 0, g.pads);
  op_ints_or(n, "dilations", 2, 1, g.dil);
  g.x = cg_in(c, n->inputs[0]);
  g.w = cg_in(c, n->inputs[1]);
  g.y = cg_out(c, n->outputs[0]);
  NestKernel *k = cg_kernel_for(c, n);
  if (!k || g.y < 0) return cg_checked(c, n->loc);
  /* A 1 x 1 convolution with stride 1 and no padding reads each input row as its output row
   * is laid out: its rows and columns are tiled as one dimension of H * W columns (a 56 x 56
   * map: 196 full tiles of 16, rather than tiles of 14 along each row). */
  Conv2d tiled = g;
  if (g.kH == 1 && g.kW == 1 && g.s[0] == 1 && g.s[1] == 1 && !g.pads[0] && !g.pads[1] && !g.pads[2] && !g.pads[3]) {
    tiled.W = tiled.OW = g.H * g.W;
    tiled.H = tiled.OH = 1;
  }
  if (conv2d_tiled(&tiled, k, ty->dims[0])) return cg_checked(c, n->loc);
  ConvNest cn;
  if (!conv_open(c, n, k, &cn)) return cg_checked(c, n->loc);
  NestExpr *nn = cg_v(c, cn.v[0]), *m = cg_v(c, cn.v[1]);
  NestExpr *h0 = cg_add(p, cg_mulc(p, cg_v(c, cn.v[2]), g.s[0]), cg_idx(p, -g.pads[0]));
  NestExpr *w0 = cg_add(p, cg_mulc(p, cg_v(c, cn.v[3]), g.s[1]), cg_idx(p, -g.pads[1]));
  NestExpr *lo_h, *hi_h, *lo_w, *hi_w;
  cg_taps(c, h0, g.kH, g.dil[0], g.H, &lo_h, &hi_h);
  cg_taps(c, w0, g.kW, g.dil[1], g.W, &lo_w, &hi_w);
  NestExpr *ih = cg_add(p, h0, cg_mulc(p, cg_var(p, cn.kh), g.dil[0]));
  NestExpr *iw = cg_add(p, w0, cg_mulc(p, cg_var(p, cn.kw), g.dil[1]));
  NestExpr *ci = cg_var(p, cn.ci), *kh = cg_var(p, cn.kh), *kw = cg_var(p, cn.kw);
  NestExpr *prod = cg_bin(p, NEST_MUL, cg_load(p, g.x, conv_x_index(&g, nn, m, ci, ih, iw)),
                          cg_load(p, g.w, conv_w_index(&g, m, ci, kh, kw)));
  conv_close(c, n, k, &cn, g.Cg, lo_h, hi_h, lo_w, hi_w, prod, g.y);
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
  ConvNest cn;
  if (!conv_open(c, n, k, &cn)) return cg_checked(c, n->loc);
  NestExpr *nn = cg_v(c, cn.v[0]), *m = cg_v(c, cn.v[1]);
  NestExpr *grp = g.group == 1 ? cg_idx(p, 0) : cg_bin(p, NEST_FLOORDIV, m, cg_idx(p, g.Mg));
  NestExpr *mo = g.group == 1 ? m : cg_bin(p, NEST_MOD, m, cg_idx(p, g.Mg));
  NestExpr *ok = NULL;
  NestExpr *ih = convt_source(c, cg_v(c, cn.v[2]), cn.kh, g.stride[0], g.dil[0], g.pads[0], g.H, &ok);
  NestExpr *iw = convt_source(c, cg_v(c, cn.v[3]), cn.kw, g.stride[1], g.dil[1], g.pads[1], g.W, &ok);
  NestExpr *chan = cg_add(p, cg_mulc(p, grp, Cg), cg_var(p, cn.ci)); /* the input channel */
  NestExpr *xi = cg_add(p, cg_mulc(p, cg_add(p, cg_mulc(p, cg_add(p, cg_mulc(p, nn, g.C), chan), g.H), ih), g.W), iw);
  NestExpr *wi = cg_add(p, cg_mulc(p, cg_add(p, cg_mulc(p, cg_add(p, cg_mulc(p, chan, g.Mg), mo), g.kH),
                                              cg_var(p, cn.kh)), g.kW), cg_var(p, cn.kw));
  NestExpr *prod = cg_bin(p, NEST_MUL, cg_load(p, x, xi), cg_load(p, w, wi));
  NestExpr *term = cg_select(p, ok, prod, cg_const_f(p, ty->dtype, 0));
  conv_close(c, n, k, &cn, Cg, cg_idx(p, 0), cg_idx(p, g.kH), cg_idx(p, 0), cg_idx(p, g.kW), term, y);
  return cg_checked(c, n->loc);
}

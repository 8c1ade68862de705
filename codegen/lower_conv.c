/* lower_conv.c — the loop nests of conv2d (NCHW x OIHW, groups, strides, dilations, pads,
 * optional bias) and conv_transpose (NCHW x IOHW), both tiled by ISL (codegen/tile.h, one
 * shared ConvTile): conv2d's domain leaves out the taps in the padding; conv_transpose is
 * split into the phases of its strides (output positions of one remainder mod the stride,
 * reached by the same taps), each a tiled kernel computing its outputs contiguously (into a
 * scratch stored into Y by one more kernel). When ISL cannot tile them, plain nests: conv2d's
 * taps in the padding skipped by the bounds of the kernel loops, conv_transpose's every tap
 * visited and the ones that carry no input selected away. docs/codegen.md, "Tiling". */
#include "codegen/lower.h"
#include "codegen/tile.h"

/* The register tile of the convolutions: output channels by output columns (of one output
 * row). When one register tile's weights (CONV_TILE_M channels by all input channels and taps)
 * would fill more than CONV_CACHE_W_BYTES (half the L1 cache), the input channels are cut into
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

/* A tiled convolution (conv2d, conv_transpose): S0[n, m, oh, ow] sets element base +
 * ((n * M + m) * OH + oh) * OW + ow of buffer y (Y, or a conv_transpose phase's part of its
 * scratch: M, OH and OW the extents) to the bias (or 0), S1[n, m, oh, ow, ci, jh, jw] adds
 * product(op, it) to it (its domain: the box `extent` and the caller's constraints; no S1
 * when a reduction extent is 0). The register tile: CONV_TILE_M output channels by up to
 * CONV_TILE_W columns of one row. */
typedef struct ConvTile {
  LowerCtx *c;
  int y, bias;                  /* buffers (bias -1: none) */
  DType t;
  int64_t base;                 /* y's element of the first output */
  int64_t extent[7];            /* n, m, oh, ow, ci, jh, jw */
  NestExpr *(*product)(const void *op, NestExpr *const *it); /* X * W for S1's iteration it */
  const void *op;               /* the geometry product reads */
} ConvTile;

/* Emits statement stmt of the tiled convolution ct (see ConvTile). */
static bool conv_tile_stmt(void *user, NestBlock *blk, int stmt, NestExpr *const *it) {
  const ConvTile *ct = user;
  NestProgram *p = ct->c->p;
  const int64_t *e = ct->extent;
  NestExpr *yi = cg_add(p, cg_mulc(p, cg_add(p, cg_mulc(p, cg_add(p, cg_mulc(p, it[0], e[1]), it[1]), e[2]), it[2]), e[3]),
                        cg_add(p, it[3], cg_idx(p, ct->base)));
  if (stmt == 0)
    return cg_store(p, blk, ct->y, yi, ct->bias >= 0 ? cg_load(p, ct->bias, it[1]) : cg_const_f(p, ct->t, 0)) != NULL;
  NestExpr *prod = ct->product(ct->op, it);
  return prod && cg_store(p, blk, ct->y, yi, cg_bin(p, NEST_ADD, cg_load(p, ct->y, yi), prod)) != NULL;
}

/* The column tiles of a convolution whose column q reads input a q + b j + c through tap j
 * (a > 0, j in [0, taps)) of an input of width in: the interior columns (every tap inside
 * the input) are cut into tiles of width *width starting at *shift, the interior's first
 * column, so each is a full tile; the columns before and after (taps in the padding) form
 * tiles of their own. The width is CONV_TILE_W, or, when the interior divides into n tiles of
 * at most CONV_TILE_W columns, the interior's width over n (a 14-column map padded by 1: one
 * full tile of 12). */
static void conv_columns(int64_t a, int64_t b, int64_t c, int64_t in, int64_t taps, int64_t out, int64_t *width,
                         int64_t *shift) {
  int64_t bmin = b < 0 ? b * (taps - 1) : 0, bmax = b > 0 ? b * (taps - 1) : 0;
  int64_t need = -c - bmin, last = in - 1 - c - bmax; /* a q >= need and a q <= last */
  int64_t lo = need <= 0 ? 0 : (need + a - 1) / a, hi = last < 0 ? 0 : last / a + 1;
  if (hi > out) hi = out;
  int64_t interior = hi - lo, n = interior > 0 ? (interior + CONV_TILE_W - 1) / CONV_TILE_W : 1;
  *width = interior > 0 && interior % n == 0 ? interior / n : CONV_TILE_W;
  if (*width > out) *width = out;
  *shift = lo > 0 && lo < *width ? lo : 0;
}

/* Builds the tiled nest of ct in kernel k, S1's domain keeping the taps whose input position
 * lies in the input: 0 <= a[i]*q + b[i]*j + c[i] < in[i] for the rows (i = 0: q = d2, j = d5)
 * and the columns (i = 1: d3, d6); the column tiles as conv_columns says, the cache tiles and
 * channel blocks as CONV_CACHE_W_BYTES says. False when ISL could not (nothing built). */
static bool conv_tiled(const ConvTile *ct, NestKernel *k, const int64_t a[2], const int64_t b[2], const int64_t c[2],
                       const int64_t in[2]) {
  const int64_t *e = ct->extent;
  int64_t tile[4] = {1, CONV_TILE_M, 1, CONV_TILE_W}, shift[4] = {0, 0, 0, 0};
  conv_columns(a[1], b[1], c[1], in[1], e[6], e[3], &tile[3], &shift[3]);
  char where[320]; /* 8 numbers of at most 20 characters and 60 of text */
  snprintf(where, sizeof where, "0 <= %lld*d2 %+lld*d5 %+lld < %lld and 0 <= %lld*d3 %+lld*d6 %+lld < %lld",
           (long long)a[0], (long long)b[0], (long long)c[0], (long long)in[0], (long long)a[1], (long long)b[1],
           (long long)c[1], (long long)in[1]);
  int64_t block = 1, bytes = CONV_TILE_M * e[5] * e[6] * (int64_t)sizeof(float); /* 0: no taps, no S1 */
  while (bytes > 0 && block < e[4] && block * 2 * bytes <= CONV_CACHE_W_BYTES) block *= 2;
  bool blocked = bytes > 0 && block < e[4];
  int64_t cache[4] = {1, CONV_CACHE_M, CONV_CACHE_H, e[3]};
  CgTileStmt stmts[2] = {{.ndims = 4, .extent = e}, {.ndims = 7, .extent = e, .where = where, .block = blocked ? block : 0}};
  CgTileNest t = {.nout = 4, .extent = e, .tile = tile, .cache = blocked ? cache : NULL, .shift = shift,
                  .nstmts = e[4] && e[5] && e[6] ? 2 : 1, .stmts = stmts,
                  .parallel = e[0] * e[1] * e[2] * e[3] >= CG_PARALLEL_MIN, .emit = conv_tile_stmt, .user = (void *)ct};
  return cg_tile_build(ct->c->p, k, &k->body, &t);
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

/* The product X * W of conv2d g (a Conv2d) for S1's iteration it (n, m, oh, ow, ci, kh, kw). */
static NestExpr *conv2d_product(const void *op, NestExpr *const *it) {
  const Conv2d *g = op;
  NestProgram *p = g->c->p;
  NestExpr *ih = cg_add(p, cg_add(p, cg_mulc(p, it[2], g->s[0]), cg_idx(p, -g->pads[0])), cg_mulc(p, it[5], g->dil[0]));
  NestExpr *iw = cg_add(p, cg_add(p, cg_mulc(p, it[3], g->s[1]), cg_idx(p, -g->pads[1])), cg_mulc(p, it[6], g->dil[1]));
  NestExpr *xv = cg_load(p, g->x, conv_x_index(g, it[0], it[1], it[4], ih, iw));
  NestExpr *wv = cg_load(p, g->w, conv_w_index(g, it[1], it[4], it[5], it[6]));
  return cg_bin(p, NEST_MUL, xv, wv);
}

/* Builds the tiled nest of conv2d g in kernel k, S1's domain leaving out the taps in the
 * padding; false when ISL could not (nothing built). */
static bool conv2d_tiled(const Conv2d *g, NestKernel *k, int64_t batch) {
  ConvTile ct = {.c = g->c, .y = g->y, .bias = g->bias, .t = g->t,
                 .extent = {batch, g->M, g->OH, g->OW, g->Cg, g->kH, g->kW}, .product = conv2d_product, .op = g};
  return conv_tiled(&ct, k, g->s, g->dil, (const int64_t[2]){-g->pads[0], -g->pads[1]}, (const int64_t[2]){g->H, g->W});
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

/* A conv_transpose node: its geometry (op_convt_geom) and buffers. */
typedef struct ConvT {
  LowerCtx *c;
  ConvTGeom g;
  int x, w;
  int64_t Cg;                        /* input channels per group */
} ConvT;

/* X[n, chan, ih, iw] * W[chan, m mod Mg, kh, kw] of conv_transpose t, chan the input
 * channel ci of output channel m's group. */
static NestExpr *convt_mul(const ConvT *t, NestExpr *nn, NestExpr *m, NestExpr *ci, NestExpr *kh, NestExpr *kw,
                           NestExpr *ih, NestExpr *iw) {
  NestProgram *p = t->c->p;
  const ConvTGeom *g = &t->g;
  NestExpr *grp = g->group == 1 ? cg_idx(p, 0) : cg_bin(p, NEST_FLOORDIV, m, cg_idx(p, g->Mg));
  NestExpr *mo = g->group == 1 ? m : cg_bin(p, NEST_MOD, m, cg_idx(p, g->Mg));
  NestExpr *chan = cg_add(p, cg_mulc(p, grp, t->Cg), ci);
  NestExpr *xi = cg_add(p, cg_mulc(p, cg_add(p, cg_mulc(p, cg_add(p, cg_mulc(p, nn, g->C), chan), g->H), ih), g->W), iw);
  NestExpr *wi = cg_add(p, cg_mulc(p, cg_add(p, cg_mulc(p, cg_add(p, cg_mulc(p, chan, g->Mg), mo), g->kH), kh), g->kW), kw);
  return cg_bin(p, NEST_MUL, cg_load(p, t->x, xi), cg_load(p, t->w, wi));
}

/* One phase of one dimension of a conv_transpose (sub-pixel decomposition): the output
 * positions o = stride*q + r, q in [0, n), are reached by the same taps k0 + kstep*j, j in
 * [0, nk) (the taps with dil*k = o + pad mod stride), each from input position
 * (o + pad - dil*k) / stride = q + c - istep*j when that lies in [0, in). */
typedef struct ConvTPhase {
  int64_t r, n;              /* output positions stride*q + r, q in [0, n) */
  int64_t k0, kstep, nk;     /* taps k0 + kstep*j, j in [0, nk) (nk 0: none) */
  int64_t c, istep;          /* input position q + c - istep*j */
} ConvTPhase;

static int64_t gcd(int64_t a, int64_t b) { return b ? gcd(b, a % b) : a; }

/* Phase r of a dimension of `out` output positions: stride s, dilation d, pad, k taps. */
static ConvTPhase convt_phase(int64_t r, int64_t s, int64_t d, int64_t pad, int64_t k, int64_t out) {
  int64_t g = gcd(d, s);
  ConvTPhase ph = {.r = r, .n = out > r ? (out - r + s - 1) / s : 0, .kstep = s / g, .istep = d / g};
  /* The taps of the phase are kstep apart: the first one lies below kstep. */
  for (int64_t kk = 0; kk < k && kk < ph.kstep; kk++)
    if ((r + pad - d * kk) % s == 0) {
      ph.k0 = kk;
      ph.nk = (k - kk + ph.kstep - 1) / ph.kstep;
      ph.c = (r + pad - d * kk) / s; /* exact */
      break;
    }
  return ph;
}

/* A phase (rows and columns) of conv_transpose t: what its S1 reads. */
typedef struct ConvTPart {
  const ConvT *t;
  ConvTPhase h, w;
} ConvTPart;

/* The product of a phase of conv_transpose (a ConvTPart) for S1's iteration it (n, m, qh,
 * qw, ci, jh, jw). */
static NestExpr *convt_product(const void *op, NestExpr *const *it) {
  const ConvTPart *q = op;
  NestProgram *p = q->t->c->p;
  NestExpr *kh = cg_add(p, cg_mulc(p, it[5], q->h.kstep), cg_idx(p, q->h.k0));
  NestExpr *kw = cg_add(p, cg_mulc(p, it[6], q->w.kstep), cg_idx(p, q->w.k0));
  NestExpr *ih = cg_add(p, cg_add(p, it[2], cg_idx(p, q->h.c)), cg_mulc(p, it[5], -q->h.istep));
  NestExpr *iw = cg_add(p, cg_add(p, it[3], cg_idx(p, q->w.c)), cg_mulc(p, it[6], -q->w.istep));
  return convt_mul(q->t, it[0], it[1], it[4], kh, kw, ih, iw);
}

/* At most this many phases (stride[0] x stride[1]) get tiled kernels: each is a kernel of
 * its own (LLVM's time grows with them), and a larger stride (FCN's upsampling by 32) takes
 * the plain nest. */
enum { CONVT_MAX_PHASES = 16 };

/* Appends the kernel storing the phases' results (parts[0..nparts), at `base` in scratch
 * buffer `from`, each [N, M, h.n, w.n]) into their places in Y (buffer y). */
static void convt_interleave(const ConvT *t, const Node *n, const ConvTPart *parts, const int64_t *base, int nparts,
                             int from, int y) {
  NestProgram *p = t->c->p;
  const ConvTGeom *g = &t->g;
  int64_t NM = g->N * g->Mg * g->group;
  NestKernel *k = cg_kernel_for(t->c, n);
  int nm = k ? cg_nest_var(p, k, "nm") : 0;
  NestStmt *outer = k ? cg_loop(p, &k->body, nm, cg_idx(p, 0), cg_idx(p, NM)) : NULL;
  if (!outer) return;
  outer->u.loop.parallel = NM > 1 && NM * g->OH * g->OW >= CG_PARALLEL_MIN;
  for (int i = 0; i < nparts; i++) {
    const ConvTPart *q = &parts[i];
    int qh = cg_nest_var(p, k, "qh"), qw = cg_nest_var(p, k, "qw");
    NestStmt *lh = cg_loop(p, &outer->u.loop.body, qh, cg_idx(p, 0), cg_idx(p, q->h.n));
    NestStmt *lw = lh ? cg_loop(p, &lh->u.loop.body, qw, cg_idx(p, 0), cg_idx(p, q->w.n)) : NULL;
    if (!lw) return;
    NestExpr *src = cg_add(p, cg_mulc(p, cg_add(p, cg_mulc(p, cg_var(p, nm), q->h.n), cg_var(p, qh)), q->w.n),
                           cg_add(p, cg_var(p, qw), cg_idx(p, base[i])));
    NestExpr *oh = cg_add(p, cg_mulc(p, cg_var(p, qh), g->stride[0]), cg_idx(p, q->h.r));
    NestExpr *ow = cg_add(p, cg_mulc(p, cg_var(p, qw), g->stride[1]), cg_idx(p, q->w.r));
    NestExpr *dst = cg_add(p, cg_mulc(p, cg_add(p, cg_mulc(p, cg_var(p, nm), g->OH), oh), g->OW), ow);
    cg_store(p, &lw->u.loop.body, y, dst, cg_load(p, from, src));
  }
}

/* Appends the tiled nests of conv_transpose t (result buffer y, bias buffer or -1): one
 * kernel per phase (stride[0] x stride[1] of them, the empty ones left out) computing its
 * outputs contiguously, into Y itself for stride 1, else into a scratch the size of Y from
 * which one more kernel stores them into their places (so the tiles' columns are contiguous:
 * vectorized). False when the phases are too many or ISL could not build one (the kernels
 * built stay: the caller drops them). */
static bool convt_tiled(const ConvT *t, const Node *n, int y, int bias, DType dt) {
  const ConvTGeom *g = &t->g;
  int64_t M = g->Mg * g->group;
  if (g->stride[0] * g->stride[1] > CONVT_MAX_PHASES) return false;
  ConvTPart parts[CONVT_MAX_PHASES];
  int64_t base[CONVT_MAX_PHASES], size = 0;
  int nparts = 0;
  for (int64_t rh = 0; rh < g->stride[0]; rh++)
    for (int64_t rw = 0; rw < g->stride[1]; rw++) {
      ConvTPart q = {.t = t, .h = convt_phase(rh, g->stride[0], g->dil[0], g->pads[0], g->kH, g->OH),
                     .w = convt_phase(rw, g->stride[1], g->dil[1], g->pads[1], g->kW, g->OW)};
      if (!q.h.n || !q.w.n) continue;
      base[nparts] = size;
      size += g->N * M * q.h.n * q.w.n;
      parts[nparts++] = q;
    }
  int out = nparts == 1 ? y : cg_scratch(t->c, n, "phases", dt, size);
  if (out < 0) return false;
  for (int i = 0; i < nparts; i++) {
    const ConvTPart *q = &parts[i];
    ConvTile ct = {.c = t->c, .y = out, .bias = bias, .t = dt, .base = base[i],
                   .extent = {g->N, M, q->h.n, q->w.n, t->Cg, q->h.nk, q->w.nk}, .product = convt_product, .op = q};
    NestKernel *k = cg_kernel_for(t->c, n);
    if (!k || !conv_tiled(&ct, k, (const int64_t[2]){1, 1}, (const int64_t[2]){-q->h.istep, -q->w.istep},
                          (const int64_t[2]){q->h.c, q->w.c}, (const int64_t[2]){g->H, g->W}))
      return false;
  }
  if (nparts > 1) convt_interleave(t, n, parts, base, nparts, out, y);
  return true;
}

/* The input position of output position o through tap k (the variable k) in the plain nest,
 * carried when t = o + pad - k * dil >= 0, t mod stride = 0 and t / stride < in. Adds that
 * condition to *ok and returns the position clamped into [0, in) (so the load stays in
 * bounds either way). */
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
 * carries an input position of X[n, ci, ih, iw] W[ci, m mod Mg, kh, kw] (op_convt_geom, as
 * the interpreter): the tiled nest (convt_tiled), or when ISL cannot build it the plain one,
 * every tap visited and the ones that carry none selected away (convt_source). */
IrStatus cg_lower_conv_transpose(LowerCtx *c, const Node *n) {
  NestProgram *p = c->p;
  const TensorType *ty = cg_type(c, n->outputs[0]);
  ConvT t = {.c = c, .x = cg_in(c, n->inputs[0]), .w = cg_in(c, n->inputs[1])};
  const char *attr;
  op_convt_geom(n, cg_type(c, n->inputs[0]), cg_type(c, n->inputs[1]), &t.g, &attr);
  const ConvTGeom *g = &t.g;
  t.Cg = g->C / g->group;
  int y = cg_out(c, n->outputs[0]);
  if (y < 0) return cg_checked(c, n->loc);
  int first = p->nkernels;
  if (convt_tiled(&t, n, y, n->ninputs > 2 ? cg_in(c, n->inputs[2]) : -1, ty->dtype)) return cg_checked(c, n->loc);
  p->nkernels = first; /* the phases' kernels dropped: the plain nest computes every element */
  NestKernel *k = cg_kernel_for(c, n);
  if (!k) return cg_checked(c, n->loc);
  ConvNest cn;
  if (!conv_open(c, n, k, &cn)) return cg_checked(c, n->loc);
  NestExpr *ok = NULL;
  NestExpr *ih = convt_source(c, cg_v(c, cn.v[2]), cn.kh, g->stride[0], g->dil[0], g->pads[0], g->H, &ok);
  NestExpr *iw = convt_source(c, cg_v(c, cn.v[3]), cn.kw, g->stride[1], g->dil[1], g->pads[1], g->W, &ok);
  NestExpr *prod = convt_mul(&t, cg_v(c, cn.v[0]), cg_v(c, cn.v[1]), cg_var(p, cn.ci), cg_var(p, cn.kh),
                             cg_var(p, cn.kw), ih, iw);
  NestExpr *term = cg_select(p, ok, prod, cg_const_f(p, ty->dtype, 0));
  conv_close(c, n, k, &cn, t.Cg, cg_idx(p, 0), cg_idx(p, g->kH), cg_idx(p, 0), cg_idx(p, g->kW), term, y);
  return cg_checked(c, n->loc);
}

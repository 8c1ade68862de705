/* lower_linalg.c — loop nests for the matrix products gemm and matmul, summed in the element
 * type (f32) in the order of k. The nest is tiled by ISL (codegen/tile.h): a register tile of
 * TILE_ROWS rows by TILE_COLS columns of Y is set, then updated for every k with the columns
 * innermost (B's rows contiguous: vectorized), then finished (gemm's alpha and C). When ISL
 * cannot tile it, a plain nest (one accumulator per output element) is built instead. */
#include "codegen/lower.h"
#include "codegen/tile.h"

/* The register tile of the product: rows of Y by columns (a multiple of the vector width);
 * its cache tile: CACHE_ROWS by CACHE_COLS of Y, and k in blocks of CACHE_K (B's block of
 * CACHE_K rows by CACHE_COLS columns, 256 KiB, stays in the L2 cache while the tile rows of
 * Y's block pass over it; A's block of one tile row, 4 KiB, in L1). */
enum { TILE_ROWS = 4, TILE_COLS = 16, CACHE_ROWS = 64, CACHE_COLS = 256, CACHE_K = 256 };

/* A matrix product Y[batch..., m, j] = sum_k A[batch..., m, k] B[batch..., k, j] (batch
 * dimensions broadcast, A or B transposed for gemm), then gemm's Y = alpha * Y + beta * C.
 * The tiled nest's statements: S0[batch..., m, j] sets Y to 0, S1[batch..., m, j, k] adds
 * one product, S2[batch..., m, j] (gemm only) applies alpha and C. */
typedef struct Product {
  LowerCtx *c;
  DType t;
  int a, b, y, cbuf;             /* buffers: operands, result, gemm's C (-1: none or beta 0) */
  TensorType abatch, bbatch, obatch; /* batch shapes of A, B and Y */
  const TensorType *tc, *ty;     /* gemm: C's and Y's types */
  int64_t M, N, K;
  bool tra, trb;                 /* A is [K, M], B is [N, K] */
  double alpha, beta;
} Product;

/* The row-major index of the batch iteration idx in shape t. */
static NestExpr *batch_index(NestProgram *p, const TensorType *t, NestExpr *const *idx) {
  NestExpr *e = cg_idx(p, 0);
  for (int d = 0; d < t->rank; d++) e = cg_add(p, cg_mulc(p, e, t->dims[d]), idx[d]);
  return e;
}

/* Emits statement stmt of the product (see Product) for iteration it. */
static bool product_stmt(void *user, NestBlock *blk, int stmt, NestExpr *const *it) {
  const Product *q = user;
  LowerCtx *c = q->c;
  NestProgram *p = c->p;
  int nb = q->obatch.rank;
  NestExpr *m = it[nb], *j = it[nb + 1];
  NestExpr *yi = cg_add(p, cg_mulc(p, cg_add(p, cg_mulc(p, batch_index(p, &q->obatch, it), q->M), m), q->N), j);
  if (stmt == 0) return cg_store(p, blk, q->y, yi, cg_const_f(p, q->t, 0)) != NULL;
  if (stmt == 2) {
    NestExpr *v = cg_load(p, q->y, yi);
    if (q->alpha != 1.0) v = cg_bin(p, NEST_MUL, cg_const_f(p, q->t, q->alpha), v);
    if (q->cbuf >= 0) {
      NestExpr *cv = cg_load(p, q->cbuf, cg_bcast_at(c, q->tc, q->ty, it));
      if (q->beta != 1.0) cv = cg_bin(p, NEST_MUL, cg_const_f(p, q->t, q->beta), cv);
      v = cg_bin(p, NEST_ADD, v, cv);
    }
    return cg_store(p, blk, q->y, yi, v) != NULL;
  }
  NestExpr *k = it[nb + 2];
  NestExpr *ai = cg_add(p, cg_mulc(p, cg_bcast_at(c, &q->abatch, &q->obatch, it), q->M * q->K),
                        q->tra ? cg_add(p, cg_mulc(p, k, q->M), m) : cg_add(p, cg_mulc(p, m, q->K), k));
  NestExpr *bi = cg_add(p, cg_mulc(p, cg_bcast_at(c, &q->bbatch, &q->obatch, it), q->K * q->N),
                        q->trb ? cg_add(p, cg_mulc(p, j, q->K), k) : cg_add(p, cg_mulc(p, k, q->N), j));
  NestExpr *prod = cg_bin(p, NEST_MUL, cg_load(p, q->a, ai), cg_load(p, q->b, bi));
  return cg_store(p, blk, q->y, yi, cg_bin(p, NEST_ADD, cg_load(p, q->y, yi), prod)) != NULL;
}

/* Builds the tiled nest of product q in kernel k; false when ISL could not (nothing built). */
static bool product_tiled(const Product *q, NestKernel *k) {
  int nb = q->obatch.rank, nout = nb + 2;
  if (nout + 1 > CG_TILE_MAX_DIMS) return false;
  int64_t extent[CG_TILE_MAX_DIMS + 1], tile[CG_TILE_MAX_DIMS], cache[CG_TILE_MAX_DIMS];
  for (int d = 0; d < nb; d++) {
    extent[d] = q->obatch.dims[d];
    tile[d] = cache[d] = 1;
  }
  extent[nb] = q->M;
  extent[nb + 1] = q->N;
  extent[nb + 2] = q->K;
  tile[nb] = TILE_ROWS;
  tile[nb + 1] = TILE_COLS;
  cache[nb] = CACHE_ROWS;
  cache[nb + 1] = CACHE_COLS;
  bool finish = q->alpha != 1.0 || q->cbuf >= 0;
  CgTileStmt stmts[3] = {{.ndims = nout, .extent = extent},
                         {.ndims = nout + 1, .extent = extent, .block = CACHE_K},
                         {.ndims = nout, .extent = extent}};
  int64_t numel = q->M * q->N;
  for (int d = 0; d < nb; d++) numel *= extent[d];
  CgTileNest t = {.nout = nout, .extent = extent, .tile = tile, .cache = cache, .nstmts = finish ? 3 : 2, .stmts = stmts,
                  .parallel = numel >= CG_PARALLEL_MIN, .emit = product_stmt, .user = (void *)q};
  return cg_tile_build(q->c->p, k, &k->body, &t);
}

/* Appends, in block b, `acc = 0; for k in [0, K): acc += A[ia + k*sa] * B[ib + k*sb]` and
 * returns the accumulator's value after the loop. */
static NestExpr *dot(LowerCtx *c, NestKernel *k, NestBlock *b, DType t, int a, NestExpr *ia, int64_t sa, int bb,
                     NestExpr *ib, int64_t sb, int64_t K) {
  NestProgram *p = c->p;
  int acc = cg_nest_local(p, k, t), kv = cg_nest_var(p, k, "k");
  cg_decl(p, b, acc, cg_const_f(p, t, 0));
  NestStmt *loop = cg_loop(p, b, kv, cg_idx(p, 0), cg_idx(p, K));
  if (!loop) return NULL;
  NestExpr *x = cg_load(p, a, cg_add(p, ia, cg_mulc(p, cg_var(p, kv), sa)));
  NestExpr *w = cg_load(p, bb, cg_add(p, ib, cg_mulc(p, cg_var(p, kv), sb)));
  cg_assign(p, &loop->u.loop.body, acc, cg_bin(p, NEST_ADD, cg_local(p, k, acc), cg_bin(p, NEST_MUL, x, w)));
  return cg_local(p, k, acc);
}

/* Y[m, j] = alpha * sum_k op(A)[m, k] op(B)[k, j] + beta * C[m, j] (C broadcast). */
IrStatus cg_lower_gemm(LowerCtx *c, const Node *n) {
  NestProgram *p = c->p;
  const TensorType *ta = cg_type(c, n->inputs[0]), *ty = cg_type(c, n->outputs[0]);
  bool tra = ir_attr_int(n, "transA", 0), trb = ir_attr_int(n, "transB", 0);
  double alpha = ir_attr_float(n, "alpha", 1.0), beta = ir_attr_float(n, "beta", 1.0);
  int64_t M = ty->dims[0], N = ty->dims[1], K = tra ? ta->dims[0] : ta->dims[1];
  int a = cg_in(c, n->inputs[0]), b = cg_in(c, n->inputs[1]), y = cg_out(c, n->outputs[0]);
  NestKernel *k = cg_kernel_for(c, n);
  if (!k || y < 0) return cg_checked(c, n->loc);
  Product q = {.c = c, .t = ty->dtype, .a = a, .b = b, .y = y, .cbuf = -1, .ty = ty, .M = M, .N = N, .K = K,
               .tra = tra, .trb = trb, .alpha = alpha, .beta = beta};
  if (n->ninputs > 2 && beta != 0.0) {
    q.cbuf = cg_in(c, n->inputs[2]);
    q.tc = cg_type(c, n->inputs[2]);
  }
  if (product_tiled(&q, k)) return cg_checked(c, n->loc);
  int vars[2];
  NestBlock *body = cg_loops(c, k, &k->body, ty, vars);
  if (!body) return cg_checked(c, n->loc);
  NestExpr *m = cg_v(c, vars[0]), *j = cg_v(c, vars[1]);
  NestExpr *ia = tra ? m : cg_mulc(p, m, K), *ib = trb ? cg_mulc(p, j, K) : j;
  NestExpr *v = dot(c, k, body, ty->dtype, a, ia, tra ? M : 1, b, ib, trb ? 1 : N, K);
  if (alpha != 1.0) v = cg_bin(p, NEST_MUL, cg_const_f(p, ty->dtype, alpha), v);
  if (n->ninputs > 2 && beta != 0.0) {
    NestExpr *cv = cg_load(p, cg_in(c, n->inputs[2]), cg_bcast_index(c, cg_type(c, n->inputs[2]), ty, vars));
    if (beta != 1.0) cv = cg_bin(p, NEST_MUL, cg_const_f(p, ty->dtype, beta), cv);
    v = cg_bin(p, NEST_ADD, v, cv);
  }
  cg_store(p, body, y, cg_index(c, ty, vars), v);
  return cg_checked(c, n->loc);
}

/* Batched numpy matmul: the batch dimensions broadcast; a rank-1 A is [1, K], a rank-1 B
 * is [K, 1] (and those dimensions are absent from Y). */
IrStatus cg_lower_matmul(LowerCtx *c, const Node *n) {
  NestProgram *p = c->p;
  const TensorType *ta = cg_type(c, n->inputs[0]), *tb = cg_type(c, n->inputs[1]), *ty = cg_type(c, n->outputs[0]);
  int64_t M = ta->rank >= 2 ? ta->dims[ta->rank - 2] : 1, K = ta->dims[ta->rank - 1];
  int64_t N = tb->rank >= 2 ? tb->dims[tb->rank - 1] : 1;
  TensorType abatch = {.rank = ta->rank > 2 ? ta->rank - 2 : 0}, bbatch = {.rank = tb->rank > 2 ? tb->rank - 2 : 0};
  for (int i = 0; i < abatch.rank; i++) abatch.dims[i] = ta->dims[i];
  for (int i = 0; i < bbatch.rank; i++) bbatch.dims[i] = tb->dims[i];
  int nbatch = ty->rank - (ta->rank >= 2) - (tb->rank >= 2);
  TensorType obatch = {.rank = nbatch};
  for (int i = 0; i < nbatch; i++) obatch.dims[i] = ty->dims[i];
  int a = cg_in(c, n->inputs[0]), b = cg_in(c, n->inputs[1]), y = cg_out(c, n->outputs[0]);
  NestKernel *k = cg_kernel_for(c, n);
  if (!k || y < 0) return cg_checked(c, n->loc);
  Product q = {.c = c, .t = ty->dtype, .a = a, .b = b, .y = y, .cbuf = -1, .abatch = abatch, .bbatch = bbatch,
               .obatch = obatch, .M = M, .N = N, .K = K, .alpha = 1.0};
  if (product_tiled(&q, k)) return cg_checked(c, n->loc);
  int vars[IR_MAX_RANK];
  NestBlock *body = cg_loops(c, k, &k->body, ty, vars);
  if (!body) return cg_checked(c, n->loc);
  NestExpr *m = ta->rank >= 2 ? cg_v(c, vars[nbatch]) : cg_idx(p, 0);
  NestExpr *j = tb->rank >= 2 ? cg_v(c, vars[ty->rank - 1]) : cg_idx(p, 0);
  NestExpr *ia = cg_add(p, cg_mulc(p, cg_bcast_index(c, &abatch, &obatch, vars), M * K), cg_mulc(p, m, K));
  NestExpr *ib = cg_add(p, cg_mulc(p, cg_bcast_index(c, &bbatch, &obatch, vars), K * N), j);
  NestExpr *v = dot(c, k, body, ty->dtype, a, ia, 1, b, ib, N, K);
  cg_store(p, body, y, cg_index(c, ty, vars), v);
  return cg_checked(c, n->loc);
}

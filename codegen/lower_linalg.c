/* lower_linalg.c — loop nests for the matrix products gemm and matmul: one accumulator per
 * output element, summed in the element type (f32). */
#include "codegen/lower.h"

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

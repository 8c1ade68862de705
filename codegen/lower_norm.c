/* lower_norm.c — loop nests for inference batch_norm, softmax, log_softmax and layer_norm. */
#include <math.h>

#include "codegen/lower.h"

/* y = scale[c] * (x - mean[c]) / sqrt(var[c] + epsilon) + bias[c], c = dim 1. */
IrStatus cg_lower_batch_norm(LowerCtx *c, const Node *n) {
  NestProgram *p = c->p;
  const TensorType *ty = cg_type(c, n->outputs[0]);
  DType t = ty->dtype;
  double eps = ir_attr_float(n, "epsilon", 1e-5);
  int x = cg_in(c, n->inputs[0]), y = cg_out(c, n->outputs[0]);
  NestKernel *k = cg_kernel_for(c, n);
  if (!k || y < 0) return cg_checked(c, n->loc);
  int v[IR_MAX_RANK];
  NestBlock *body = cg_loops(c, k, &k->body, ty, v);
  if (!body) return cg_checked(c, n->loc);
  NestExpr *ch = cg_v(c, v[1]), *at = cg_index(c, ty, v);
  NestExpr *param[5];
  for (int i = 1; i < 5; i++) param[i] = cg_load(p, cg_in(c, n->inputs[i]), ch);
  NestExpr *centred = cg_bin(p, NEST_SUB, cg_load(p, x, at), param[3]);
  NestExpr *dev = cg_un(p, NEST_SQRT, cg_bin(p, NEST_ADD, param[4], cg_const_f(p, t, eps)));
  NestExpr *val = cg_bin(p, NEST_DIV, cg_bin(p, NEST_MUL, param[1], centred), dev);
  cg_store(p, body, y, at, cg_bin(p, NEST_ADD, val, param[2]));
  return cg_checked(c, n->loc);
}

/* Along axis: m = max(x); s = sum(exp(x - m)); softmax y = exp(x - m) / s, log_softmax
 * y = x - m - log(s). */
IrStatus cg_lower_softmax(LowerCtx *c, const Node *n) {
  NestProgram *p = c->p;
  const TensorType *ty = cg_type(c, n->outputs[0]);
  DType t = ty->dtype;
  int64_t axis = ir_attr_int(n, "axis", -1);
  if (axis < 0) axis += ty->rank;
  int64_t outer = 1, len = ty->dims[axis], inner = 1;
  for (int i = 0; i < axis; i++) outer *= ty->dims[i];
  for (int i = (int)axis + 1; i < ty->rank; i++) inner *= ty->dims[i];
  int x = cg_in(c, n->inputs[0]), y = cg_out(c, n->outputs[0]);
  NestKernel *k = cg_kernel_for(c, n);
  if (!k || y < 0) return cg_checked(c, n->loc);
  TensorType rows = {.dtype = t, .rank = 2, .dims = {outer, inner}};
  int v[2];
  NestBlock *body = cg_loops(c, k, &k->body, &rows, v);
  if (!body) return cg_checked(c, n->loc);
  NestExpr *base = cg_add(p, cg_mulc(p, cg_v(c, v[0]), len * inner), cg_v(c, v[1]));
  int mx = cg_nest_local(p, k, t), sum = cg_nest_local(p, k, t);
  cg_decl(p, body, mx, cg_const_f(p, t, -INFINITY));
  cg_decl(p, body, sum, cg_const_f(p, t, 0));
  NestStmt *loops[3];
  NestExpr *e[3];
  for (int i = 0; i < 3; i++) {
    int kv = cg_nest_var(p, k, "a");
    loops[i] = cg_loop(p, body, kv, cg_idx(p, 0), cg_idx(p, len));
    if (!loops[i]) return cg_checked(c, n->loc);
    NestExpr *at = cg_add(p, base, cg_mulc(p, cg_var(p, kv), inner));
    e[i] = cg_load(p, x, at);
    if (i == 2 && n->op == OP_LOG_SOFTMAX) {
      NestExpr *log_sum = cg_un(p, NEST_LOG, cg_local(p, k, sum));
      cg_store(p, &loops[i]->u.loop.body, y, at, cg_bin(p, NEST_SUB, cg_bin(p, NEST_SUB, e[i], cg_local(p, k, mx)), log_sum));
      continue;
    }
    if (i > 0) e[i] = cg_un(p, NEST_EXP, cg_bin(p, NEST_SUB, e[i], cg_local(p, k, mx)));
    if (i == 2) cg_store(p, &loops[i]->u.loop.body, y, at, cg_bin(p, NEST_DIV, e[i], cg_local(p, k, sum)));
  }
  /* max ignoring NaN, as fmax: a NaN never replaces the running maximum. */
  NestExpr *cur = cg_local(p, k, mx);
  cg_assign(p, &loops[0]->u.loop.body, mx, cg_select(p, cg_bin(p, NEST_GT, e[0], cur), e[0], cur));
  cg_assign(p, &loops[1]->u.loop.body, sum, cg_bin(p, NEST_ADD, cg_local(p, k, sum), e[1]));
  return cg_checked(c, n->loc);
}

/* Appends to b a loop over [0, len) that adds term(x[base + i]) to local acc. */
static void sum_loop(LowerCtx *c, NestKernel *k, NestBlock *b, int acc, int x, NestExpr *base, int64_t len,
                     int mean) {
  NestProgram *p = c->p;
  int i = cg_nest_var(p, k, "a");
  NestStmt *s = cg_loop(p, b, i, cg_idx(p, 0), cg_idx(p, len));
  if (!s) return;
  NestExpr *v = cg_load(p, x, cg_add(p, base, cg_var(p, i)));
  if (mean >= 0) {
    v = cg_bin(p, NEST_SUB, v, cg_local(p, k, mean));
    v = cg_bin(p, NEST_MUL, v, v);
  }
  cg_assign(p, &s->u.loop.body, acc, cg_bin(p, NEST_ADD, cg_local(p, k, acc), v));
}

/* For each slice of the dims from axis on: mean = sum(x) / len, var = sum((x - mean)^2) / len,
 * inv = 1 / sqrt(var + epsilon), y = (x - mean) * inv * scale + bias (scale and bias
 * broadcast to the slice); results 1 and 2, when present, take mean and inv per slice. */
IrStatus cg_lower_layer_norm(LowerCtx *c, const Node *n) {
  NestProgram *p = c->p;
  const TensorType *tx = cg_type(c, n->inputs[0]);
  DType t = tx->dtype;
  int64_t axis = ir_attr_int(n, "axis", -1);
  if (axis < 0) axis += tx->rank;
  TensorType norm = {.dtype = t, .rank = tx->rank - (int)axis};
  for (int d = 0; d < norm.rank; d++) norm.dims[d] = tx->dims[axis + d];
  int64_t len = ir_type_numel(&norm), outer = ir_type_numel(tx) / (len ? len : 1);
  int x = cg_in(c, n->inputs[0]), out[3];
  for (int i = 0; i < n->noutputs; i++) out[i] = cg_out(c, n->outputs[i]);
  NestKernel *k = cg_kernel_for(c, n);
  if (!k || p->arena.failed) return cg_checked(c, n->loc);
  TensorType rows = {.dtype = t, .rank = 1, .dims = {outer}};
  int o;
  NestBlock *body = cg_loops(c, k, &k->body, &rows, &o);
  if (!body) return cg_checked(c, n->loc);
  NestExpr *base = cg_mulc(p, cg_v(c, o), len);
  int mean = cg_nest_local(p, k, t), var = cg_nest_local(p, k, t), inv = cg_nest_local(p, k, t);
  NestExpr *count = cg_const_f(p, t, (double)len);
  cg_decl(p, body, mean, cg_const_f(p, t, 0));
  sum_loop(c, k, body, mean, x, base, len, -1);
  cg_assign(p, body, mean, cg_bin(p, NEST_DIV, cg_local(p, k, mean), count));
  cg_decl(p, body, var, cg_const_f(p, t, 0));
  sum_loop(c, k, body, var, x, base, len, mean);
  NestExpr *dev = cg_un(p, NEST_SQRT, cg_bin(p, NEST_ADD, cg_bin(p, NEST_DIV, cg_local(p, k, var), count),
                                           cg_const_f(p, t, ir_attr_float(n, "epsilon", 1e-5))));
  cg_decl(p, body, inv, cg_bin(p, NEST_DIV, cg_const_f(p, t, 1), dev));
  int v[IR_MAX_RANK];
  NestBlock *inner = cg_loops(c, k, body, &norm, v);
  if (!inner) return cg_checked(c, n->loc);
  NestExpr *at = cg_add(p, base, cg_index(c, &norm, v));
  NestExpr *val = cg_bin(p, NEST_MUL, cg_bin(p, NEST_SUB, cg_load(p, x, at), cg_local(p, k, mean)), cg_local(p, k, inv));
  val = cg_bin(p, NEST_MUL, val, cg_load(p, cg_in(c, n->inputs[1]), cg_bcast_index(c, cg_type(c, n->inputs[1]), &norm, v)));
  if (n->ninputs > 2)
    val = cg_bin(p, NEST_ADD, val, cg_load(p, cg_in(c, n->inputs[2]), cg_bcast_index(c, cg_type(c, n->inputs[2]), &norm, v)));
  cg_store(p, inner, out[0], at, val);
  if (n->noutputs > 1) cg_store(p, body, out[1], cg_v(c, o), cg_local(p, k, mean));
  if (n->noutputs > 2) cg_store(p, body, out[2], cg_v(c, o), cg_local(p, k, inv));
  return cg_checked(c, n->loc);
}

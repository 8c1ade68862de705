/* lower_reduce.c — loop nests for reduce_sum, reduce_mean, reduce_max and reduce_min: for each
 * result element, one accumulator folded over the reduced axes. */
#include <math.h>

#include "codegen/lower.h"

/* The accumulator's start: sum and mean 0; max the lowest value, min the highest (-inf and
 * +inf for floats, the limits of int64 for integers, which accumulate in int64). */
static NestExpr *start(LowerCtx *c, int op, DType acc) {
  bool fl = ir_dtype_is_float(acc);
  if (op == OP_REDUCE_SUM || op == OP_REDUCE_MEAN) return cg_const(c, acc, 0);
  if (op == OP_REDUCE_MAX) return fl ? cg_const_f(c->p, acc, -INFINITY) : cg_const_i(c->p, acc, INT64_MIN);
  return fl ? cg_const_f(c->p, acc, INFINITY) : cg_const_i(c->p, acc, INT64_MAX);
}

/* The result of reducing no elements, as the interpreter gives it: sum 0, mean NaN (0 for
 * integers), max -inf and min +inf (the dtype's limits for integers). */
static NestExpr *empty_result(LowerCtx *c, int op, DType t) {
  if (ir_dtype_is_float(t)) {
    double v = op == OP_REDUCE_SUM ? 0 : op == OP_REDUCE_MEAN ? NAN : op == OP_REDUCE_MAX ? -INFINITY : INFINITY;
    return cg_const_f(c->p, t, v);
  }
  int bits = 8 * ir_dtype_size(t);
  int64_t hi = t == DT_U8 ? 255 : t == DT_I64 ? INT64_MAX : ((int64_t)1 << (bits - 1)) - 1, lo = t == DT_U8 ? 0 : -hi - 1;
  return cg_const_i(c->p, t, op == OP_REDUCE_MAX ? lo : op == OP_REDUCE_MIN ? hi : 0);
}

/* Floats accumulate in the dtype (max and min propagate NaN, as NEST_MAX / NEST_MIN do), integers
 * in int64 (sums wrap); mean divides the sum by the count (integers truncate toward zero). */
IrStatus cg_lower_reduce(LowerCtx *c, const Node *n) {
  NestProgram *p = c->p;
  const TensorType *tx = cg_type(c, n->inputs[0]);
  DType t = tx->dtype, acc_t = ir_dtype_is_float(t) ? t : DT_I64;
  int nax = 0;
  const int64_t *axes = ir_attr_ints(n, "axes", &nax);
  bool reduced[IR_MAX_RANK];
  for (int d = 0; d < tx->rank; d++) reduced[d] = nax == 0;
  for (int i = 0; i < nax; i++) reduced[axes[i] < 0 ? axes[i] + tx->rank : axes[i]] = true;
  TensorType kept = *tx, red = *tx; /* dims over the kept axes / over the reduced axes */
  for (int d = 0; d < tx->rank; d++) {
    if (reduced[d]) kept.dims[d] = 1;
    else red.dims[d] = 1;
  }
  int64_t count = ir_type_numel(&red);
  int x = cg_in(c, n->inputs[0]), y = cg_out(c, n->outputs[0]);
  NestKernel *k = cg_kernel_for(c, n);
  if (!k || y < 0) return cg_checked(c, n->loc);
  int kv[IR_MAX_RANK], rv[IR_MAX_RANK], xv[IR_MAX_RANK];
  NestBlock *body = cg_loops(c, k, &k->body, &kept, kv);
  if (!body) return cg_checked(c, n->loc);
  NestExpr *yat = cg_index(c, &kept, kv); /* the result's order is the kept axes' order */
  if (count == 0) {
    cg_store(p, body, y, yat, empty_result(c, n->op, t));
    return cg_checked(c, n->loc);
  }
  int acc = cg_nest_local(p, k, acc_t);
  cg_decl(p, body, acc, start(c, n->op, acc_t));
  NestBlock *inner = cg_loops(c, k, body, &red, rv);
  if (!inner) return cg_checked(c, n->loc);
  for (int d = 0; d < tx->rank; d++) xv[d] = reduced[d] ? rv[d] : kv[d];
  NestExpr *v = cg_cast(p, acc_t, cg_load(p, x, cg_index(c, tx, xv))), *cur = cg_local(p, k, acc);
  NestBinOp op = n->op == OP_REDUCE_MAX ? NEST_MAX : n->op == OP_REDUCE_MIN ? NEST_MIN : NEST_ADD;
  cg_assign(p, inner, acc, cg_bin(p, op, cur, v));
  NestExpr *r = cg_local(p, k, acc);
  if (n->op == OP_REDUCE_MEAN) r = cg_bin(p, NEST_DIV, r, cg_const(c, acc_t, (double)count));
  cg_store(p, body, y, yat, cg_cast(p, t, r));
  return cg_checked(c, n->loc);
}

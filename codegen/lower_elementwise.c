/* lower_elementwise.c — loop nests for the element-wise ops: add, sub, mul, div (numpy
 * broadcasting), relu, sigmoid, tanh and clip. */
#include <math.h>

#include "codegen/lower.h"

/* a / b on integers as the interpreter defines it where C does not: b == 0 gives 0 (the
 * interpreter reports an error; compiled code cannot) and b == -1 negates (INT64_MIN wraps). */
static NestExpr *int_div(LowerCtx *c, NestExpr *a, NestExpr *b) {
  NestProgram *p = c->p;
  DType t = a->dtype;
  NestExpr *neg = cg_bin(p, NEST_SUB, cg_const_i(p, t, 0), a);
  NestExpr *q = cg_select(p, cg_bin(p, NEST_EQ, b, cg_const_i(p, t, -1)), neg, cg_bin(p, NEST_DIV, a, b));
  return cg_select(p, cg_bin(p, NEST_EQ, b, cg_const_i(p, t, 0)), cg_const_i(p, t, 0), q);
}

/* y = a op b; one flat loop when no operand broadcasts, else one loop per dimension. */
IrStatus cg_lower_binary(LowerCtx *c, const Node *n) {
  static const NestBinOp ops[OP_COUNT] = {[OP_ADD] = NEST_ADD, [OP_SUB] = NEST_SUB, [OP_MUL] = NEST_MUL,
                                          [OP_DIV] = NEST_DIV};
  const TensorType *ta = cg_type(c, n->inputs[0]), *tb = cg_type(c, n->inputs[1]), *ty = cg_type(c, n->outputs[0]);
  int a = cg_in(c, n->inputs[0]), b = cg_in(c, n->inputs[1]), y = cg_out(c, n->outputs[0]);
  NestKernel *k = cg_kernel_for(c, n);
  if (!k || y < 0) return cg_checked(c, n->loc);
  bool flat = ir_type_numel(ta) == ir_type_numel(ty) && ir_type_numel(tb) == ir_type_numel(ty);
  TensorType shape = flat ? (TensorType){.dtype = ty->dtype, .rank = 1, .dims = {ir_type_numel(ty)}} : *ty;
  int vars[IR_MAX_RANK];
  NestBlock *body = cg_loops(c, k, &k->body, &shape, vars);
  if (!body) return cg_checked(c, n->loc);
  NestExpr *ia = flat ? cg_index(c, &shape, vars) : cg_bcast_index(c, ta, ty, vars);
  NestExpr *ib = flat ? cg_index(c, &shape, vars) : cg_bcast_index(c, tb, ty, vars);
  NestExpr *va = cg_load(c->p, a, ia), *vb = cg_load(c->p, b, ib), *v;
  if (n->op == OP_DIV && !ir_dtype_is_float(ty->dtype)) v = va && vb ? int_div(c, va, vb) : NULL;
  else v = cg_bin(c->p, ops[n->op], va, vb);
  cg_store(c->p, body, y, cg_index(c, &shape, vars), v);
  return cg_checked(c, n->loc);
}

/* Appends the flat loop y[i] = f(x[i]) for the element-wise op n, f given by fn. */
static IrStatus lower_map(LowerCtx *c, const Node *n, NestExpr *(*fn)(LowerCtx *, const Node *, NestExpr *)) {
  const TensorType *ty = cg_type(c, n->outputs[0]);
  int x = cg_in(c, n->inputs[0]), y = cg_out(c, n->outputs[0]);
  NestKernel *k = cg_kernel_for(c, n);
  if (!k || y < 0) return cg_checked(c, n->loc);
  TensorType flat = {.dtype = ty->dtype, .rank = 1, .dims = {ir_type_numel(ty)}};
  int var;
  NestBlock *body = cg_loops(c, k, &k->body, &flat, &var);
  if (body) cg_store(c->p, body, y, cg_v(c, var), fn(c, n, cg_load(c->p, x, cg_v(c, var))));
  return cg_checked(c, n->loc);
}

/* relu: x < 0 ? 0 : x (NaN stays NaN); sigmoid and tanh: the math calls. */
static NestExpr *unary_fn(LowerCtx *c, const Node *n, NestExpr *x) {
  if (!x) return NULL;
  switch (n->op) {
  case OP_SIGMOID: return cg_un(c->p, NEST_SIGMOID, x);
  case OP_TANH: return cg_un(c->p, NEST_TANH, x);
  default: {
    NestExpr *zero = cg_const(c, x->dtype, 0);
    return cg_select(c->p, cg_bin(c->p, NEST_LT, x, zero), zero, x);
  }
  }
}

IrStatus cg_lower_unary(LowerCtx *c, const Node *n) { return lower_map(c, n, unary_fn); }

/* min(max(x, lo), hi) as the interpreter orders it: x < lo ? lo : x, then > hi ? hi; an
 * infinite bound is left out. */
static NestExpr *clip_fn(LowerCtx *c, const Node *n, NestExpr *x) {
  double lo = ir_attr_float(n, "min", -INFINITY), hi = ir_attr_float(n, "max", INFINITY);
  if (!x) return NULL;
  if (isfinite(lo)) {
    NestExpr *l = cg_const_f(c->p, x->dtype, lo);
    x = cg_select(c->p, cg_bin(c->p, NEST_LT, x, l), l, x);
  }
  if (isfinite(hi)) {
    NestExpr *h = cg_const_f(c->p, x ? x->dtype : DT_F32, hi);
    x = cg_select(c->p, cg_bin(c->p, NEST_GT, x, h), h, x);
  }
  return x;
}

IrStatus cg_lower_clip(LowerCtx *c, const Node *n) { return lower_map(c, n, clip_fn); }

/* lower_elementwise.c — loop nests for the element-wise ops: add, sub, mul, div, min, max,
 * pow, equal and where (numpy broadcasting), the unary functions (relu, sigmoid, tanh, abs,
 * neg, exp, log, sqrt, reciprocal, erf, gelu, hard_swish, leaky_relu, hard_sigmoid), clip and
 * cast. */
#include <math.h>
#include <string.h>

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

/* The loop nest over the result of the element-wise node n, whose operands broadcast to it:
 * one flat loop when every operand has the result's element count, else one loop per
 * dimension. Sets *y to the result's buffer and at[i] to the index operand i is read at;
 * returns the innermost body, NULL when out of memory. */
static NestBlock *bcast_nest(LowerCtx *c, const Node *n, int *y, NestExpr **at, NestExpr **yat) {
  const TensorType *ty = cg_type(c, n->outputs[0]);
  *y = cg_out(c, n->outputs[0]);
  NestKernel *k = cg_kernel_for(c, n);
  if (!k || *y < 0) return NULL;
  bool flat = true;
  for (int i = 0; i < n->ninputs; i++) flat = flat && ir_type_numel(cg_type(c, n->inputs[i])) == ir_type_numel(ty);
  TensorType shape = flat ? (TensorType){.dtype = ty->dtype, .rank = 1, .dims = {ir_type_numel(ty)}} : *ty;
  int vars[IR_MAX_RANK];
  NestBlock *body = cg_loops(c, k, &k->body, &shape, vars);
  if (!body) return NULL;
  for (int i = 0; i < n->ninputs; i++)
    at[i] = flat ? cg_index(c, &shape, vars) : cg_bcast_index(c, cg_type(c, n->inputs[i]), ty, vars);
  *yat = cg_index(c, &shape, vars);
  return body;
}

static NestExpr *cast_fn(LowerCtx *c, const Node *n, NestExpr *x);

/* a ^ b for an integer base a and an integer exponent b, as the interpreter computes it:
 * b >= 0 by squaring and multiplying (one step per bit b's dtype can hold, so the loop bound
 * is a constant; wrapping in a's dtype, the base squared only while bits remain); b < 0
 * gives 1 / a^|b| truncated: 1 for a = 1, +-1 for a = -1, else 0 (a = 0 too, where the
 * interpreter reports an error). Appends the locals and the loop to body. */
static NestExpr *int_pow(LowerCtx *c, NestBlock *body, NestExpr *a, NestExpr *b) {
  NestProgram *p = c->p;
  NestKernel *k = p->kernels[p->nkernels - 1];
  DType t = a ? a->dtype : DT_I64, te = b ? b->dtype : DT_I64;
  int bits = te == DT_U8 ? 8 : 8 * (int)ir_dtype_size(te) - 1;
  NestExpr *e64 = cg_cast(p, DT_I64, b), *zero = cg_idx(p, 0), *one = cg_const_i(p, t, 1);
  int base = cg_nest_local(p, k, t), e = cg_nest_local(p, k, DT_I64), acc = cg_nest_local(p, k, t);
  cg_decl(p, body, base, a);
  cg_decl(p, body, e, cg_bin(p, NEST_MAX, e64, zero));
  cg_decl(p, body, acc, one);
  int bit = cg_nest_var(p, k, "bit");
  NestStmt *loop = cg_loop(p, body, bit, zero, cg_idx(p, bits));
  if (!loop) return NULL;
  NestBlock *lb = &loop->u.loop.body;
  NestExpr *vb = cg_local(p, k, base), *ve = cg_local(p, k, e), *va = cg_local(p, k, acc);
  NestExpr *odd = cg_bin(p, NEST_EQ, cg_bin(p, NEST_MOD, ve, cg_idx(p, 2)), cg_idx(p, 1));
  cg_assign(p, lb, acc, cg_select(p, odd, cg_bin(p, NEST_MUL, va, vb), va));
  cg_assign(p, lb, base, cg_select(p, cg_bin(p, NEST_GT, ve, cg_idx(p, 1)), cg_bin(p, NEST_MUL, vb, vb), vb));
  cg_assign(p, lb, e, cg_bin(p, NEST_FLOORDIV, ve, cg_idx(p, 2)));
  NestExpr *neg = cg_select(p, cg_bin(p, NEST_EQ, a, one), one, cg_const_i(p, t, 0));
  if (t != DT_U8) {
    NestExpr *odd_b = cg_bin(p, NEST_EQ, cg_bin(p, NEST_MOD, e64, cg_idx(p, 2)), cg_idx(p, 1));
    NestExpr *minus = cg_select(p, odd_b, cg_const_i(p, t, -1), one);
    neg = cg_select(p, cg_bin(p, NEST_EQ, a, cg_const_i(p, t, -1)), minus, neg);
  }
  return cg_select(p, cg_bin(p, NEST_LT, e64, zero), neg, va);
}

/* y = a op b (numpy broadcasting). pow: a float base, the exponent converted to its dtype;
 * an integer base with an integer exponent by int_pow, with a float exponent computed in f32
 * and converted as cast converts (the interpreter computes in double: results beyond f32's
 * 24 bits may differ); equal: a bool result. */
IrStatus cg_lower_binary(LowerCtx *c, const Node *n) {
  static const NestBinOp ops[OP_COUNT] = {[OP_ADD] = NEST_ADD, [OP_SUB] = NEST_SUB, [OP_MUL] = NEST_MUL,
                                          [OP_DIV] = NEST_DIV, [OP_MIN] = NEST_MIN, [OP_MAX] = NEST_MAX,
                                          [OP_POW] = NEST_POW, [OP_EQUAL] = NEST_EQ};
  DType ta = cg_type(c, n->inputs[0])->dtype, tb = cg_type(c, n->inputs[1])->dtype;
  int a = cg_in(c, n->inputs[0]), b = cg_in(c, n->inputs[1]), y;
  NestExpr *at[2], *yat;
  NestBlock *body = bcast_nest(c, n, &y, at, &yat);
  if (!body) return cg_checked(c, n->loc);
  NestExpr *va = cg_load(c->p, a, at[0]), *vb = cg_load(c->p, b, at[1]), *v;
  bool int_base = !ir_dtype_is_float(ta);
  if (n->op == OP_POW && int_base && !ir_dtype_is_float(tb)) v = int_pow(c, body, va, vb);
  else if (n->op == OP_POW && int_base) v = cast_fn(c, n, cg_bin(c->p, NEST_POW, cg_cast(c->p, tb, va), vb));
  else if (n->op == OP_POW) v = cg_bin(c->p, NEST_POW, va, cg_cast(c->p, ta, vb));
  else if (n->op == OP_DIV && int_base) v = va && vb ? int_div(c, va, vb) : NULL;
  else v = cg_bin(c->p, ops[n->op], va, vb);
  cg_store(c->p, body, y, yat, v);
  return cg_checked(c, n->loc);
}

/* y = cond ? a : b, each read at its broadcast position. */
IrStatus cg_lower_where(LowerCtx *c, const Node *n) {
  int y;
  NestExpr *at[3], *yat;
  NestBlock *body = bcast_nest(c, n, &y, at, &yat);
  if (!body) return cg_checked(c, n->loc);
  NestProgram *p = c->p;
  NestExpr *v = cg_select(p, cg_load(p, cg_in(c, n->inputs[0]), at[0]), cg_load(p, cg_in(c, n->inputs[1]), at[1]),
                          cg_load(p, cg_in(c, n->inputs[2]), at[2]));
  cg_store(p, body, y, yat, v);
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

/* v clamped to [0, 1] as the interpreter does it: v < 0 ? 0 : v > 1 ? 1 : v (NaN stays). */
static NestExpr *unit_clamp(LowerCtx *c, NestExpr *v) {
  if (!v) return NULL;
  NestExpr *zero = cg_const(c, v->dtype, 0), *one = cg_const(c, v->dtype, 1);
  return cg_select(c->p, cg_bin(c->p, NEST_LT, v, zero), zero,
                   cg_select(c->p, cg_bin(c->p, NEST_GT, v, one), one, v));
}

/* The unary functions, as the interpreter defines them (ir/ops/elementwise.c), in the
 * operand's dtype: relu x < 0 ? 0 : x (NaN stays NaN); the math calls; reciprocal 1 / x;
 * gelu 0.5 x (1 + erf(x / sqrt 2)) or its tanh form; hard_swish x clamp(x / 6 + 0.5);
 * leaky_relu x < 0 ? alpha x : x; hard_sigmoid clamp(alpha x + beta). */
static NestExpr *unary_fn(LowerCtx *c, const Node *n, NestExpr *x) {
  static const NestUnOp calls[OP_COUNT] = {[OP_SIGMOID] = NEST_SIGMOID, [OP_TANH] = NEST_TANH, [OP_ABS] = NEST_ABS,
                                           [OP_NEG] = NEST_NEG,         [OP_EXP] = NEST_EXP,   [OP_LOG] = NEST_LOG,
                                           [OP_SQRT] = NEST_SQRT,       [OP_ERF] = NEST_ERF};
  if (!x) return NULL;
  NestProgram *p = c->p;
  DType t = x->dtype;
  NestExpr *zero = cg_const(c, t, 0);
  switch (n->op) {
  case OP_RELU: return cg_select(p, cg_bin(p, NEST_LT, x, zero), zero, x);
  case OP_RECIPROCAL: return cg_bin(p, NEST_DIV, cg_const(c, t, 1), x);
  case OP_GELU: {
    NestExpr *half_x = cg_bin(p, NEST_MUL, cg_const(c, t, 0.5), x), *phi;
    if (strcmp(ir_attr_str(n, "approximate", "none"), "tanh") == 0) {
      NestExpr *cube = cg_bin(p, NEST_MUL, cg_const(c, t, 0.044715), cg_bin(p, NEST_MUL, x, cg_bin(p, NEST_MUL, x, x)));
      phi = cg_un(p, NEST_TANH, cg_bin(p, NEST_MUL, cg_const(c, t, 0.79788456080286535588), cg_bin(p, NEST_ADD, x, cube)));
    } else {
      phi = cg_un(p, NEST_ERF, cg_bin(p, NEST_MUL, x, cg_const(c, t, 0.70710678118654752440)));
    }
    return cg_bin(p, NEST_MUL, half_x, cg_bin(p, NEST_ADD, cg_const(c, t, 1), phi));
  }
  case OP_HARD_SWISH:
    return cg_bin(p, NEST_MUL, x,
                  unit_clamp(c, cg_bin(p, NEST_ADD, cg_bin(p, NEST_DIV, x, cg_const(c, t, 6)), cg_const(c, t, 0.5))));
  case OP_LEAKY_RELU:
    return cg_select(p, cg_bin(p, NEST_LT, x, zero), cg_bin(p, NEST_MUL, cg_const(c, t, ir_attr_float(n, "alpha", 0.01)), x),
                     x);
  case OP_HARD_SIGMOID: {
    NestExpr *ax = cg_bin(p, NEST_MUL, cg_const(c, t, ir_attr_float(n, "alpha", 0.2)), x);
    return unit_clamp(c, cg_bin(p, NEST_ADD, ax, cg_const(c, t, ir_attr_float(n, "beta", 0.5))));
  }
  default: return cg_un(p, calls[n->op], x);
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

/* x converted to the result's dtype as the interpreter converts (op_copy_elem): floats to
 * integers truncate toward zero and saturate, NaN giving 0; the rest as NEST_CAST (integers
 * wrap, anything to bool is x != 0). */
static NestExpr *cast_fn(LowerCtx *c, const Node *n, NestExpr *x) {
  DType to = cg_type(c, n->outputs[0])->dtype;
  if (!x || !ir_dtype_is_float(x->dtype) || ir_dtype_is_float(to) || to == DT_BOOL) return cg_cast(c->p, to, x);
  NestProgram *p = c->p;
  /* The integers of `to` lie in (lo - 1, hi + 1), both bounds exact in f32. */
  double bits = 8.0 * ir_dtype_size(to), hi = to == DT_U8 ? 256 : ldexp(1, (int)bits - 1), lo = to == DT_U8 ? -1 : -hi - 1;
  int64_t imax = to == DT_U8 ? 255 : to == DT_I64 ? INT64_MAX : (int64_t)hi - 1, imin = to == DT_U8 ? 0 : -imax - 1;
  NestExpr *v = cg_cast(p, to, x);
  v = cg_select(p, cg_bin(p, NEST_GE, x, cg_const_f(p, x->dtype, hi)), cg_const_i(p, to, imax), v);
  v = cg_select(p, cg_bin(p, NEST_LE, x, cg_const_f(p, x->dtype, lo)), cg_const_i(p, to, imin), v);
  return cg_select(p, cg_bin(p, NEST_NE, x, x), cg_const_i(p, to, 0), v);
}

IrStatus cg_lower_cast(LowerCtx *c, const Node *n) { return lower_map(c, n, cast_fn); }

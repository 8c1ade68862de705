/* lower_resize.c — the loop nest of resize (nearest, linear, cubic; every coordinate
 * transformation): the taps of each dimension depend only on the output position along it,
 * so they are computed here (op_resize_taps, as the interpreter) into weight tables; the nest
 * sums the products of the tap weights times the input. Under tf_crop_and_resize a position
 * that maps outside the input is flagged in a bool table of its dimension, and the nest
 * stores extrapolation_value where any dimension's flag is set. */
#include <string.h>

#include "codegen/lower.h"

/* The tables of dimension d: out * k tap indices (i64) and weights (f32), k the most taps of
 * any position (missing taps get weight 0 and the first tap's index), and, when some position
 * maps outside the input (tf_crop_and_resize), out flags (bool) marking those positions, whose
 * taps are index 0 with weight 0 (loads stay in bounds; the result is the extrapolation
 * value). *out_buf is -1 when no position is outside. Out of memory sets arena.failed. */
static void tap_tables(LowerCtx *c, const ResizePlan *plan, int d, int *idx_buf, int *w_buf, int *out_buf,
                       int64_t *k) {
  int64_t out = plan->out[d];
  bool any_outside = false;
  *k = 1;
  for (int64_t x = 0; x < out; x++) {
    Taps t;
    if (!op_resize_taps(plan, d, x, &t)) any_outside = true;
    else if (t.n > *k) *k = t.n;
  }
  int64_t *idx = ir_malloc(sizeof(int64_t) * (size_t)(out * *k + 1));
  float *w = ir_malloc(sizeof(float) * (size_t)(out * *k + 1));
  uint8_t *outside = ir_malloc((size_t)out + 1);
  bool ok = idx && w && outside;
  if (ok)
    for (int64_t x = 0; x < out; x++) {
      Taps t;
      outside[x] = !op_resize_taps(plan, d, x, &t);
      if (outside[x]) t.n = 0;
      for (int64_t i = 0; i < *k; i++) {
        idx[x * *k + i] = i < t.n ? t.idx[i] : t.n ? t.idx[0] : 0;
        w[x * *k + i] = i < t.n ? (float)t.w[i] : 0.0f;
      }
    }
  *idx_buf = ok ? cg_nest_add_buf(c->p, NEST_BUF_WEIGHT, "resize_taps", DT_I64, out * *k, 0, idx) : -1;
  *w_buf = ok ? cg_nest_add_buf(c->p, NEST_BUF_WEIGHT, "resize_weights", DT_F32, out * *k, 0, w) : -1;
  *out_buf = ok && any_outside ? cg_nest_add_buf(c->p, NEST_BUF_WEIGHT, "resize_outside", DT_BOOL, out, 0, outside) : -1;
  if (!ok) c->p->arena.failed = true;
  ir_free(idx);
  ir_free(w);
  ir_free(outside);
}

/* extrapolation_value in dtype t, converted as the interpreter stores it (op_set: saturated
 * for integers, v != 0 for bool). */
static NestExpr *extrapolation(LowerCtx *c, DType t, double v) {
  if (ir_dtype_is_float(t)) return cg_const_f(c->p, t, v);
  int64_t word = 0; /* room for one element of any integer dtype */
  Tensor one = {.type = {.dtype = t, .rank = 0}, .data = &word};
  op_set(&one, 0, v);
  return cg_const_i(c->p, t, op_get_int(&one, 0));
}

/* Y[v] = X[idx_0[v_0], ...] (nearest) or sum over the tap combinations t of
 * prod_d w_d[v_d, t_d] * X[idx_0[v_0, t_0], ...]; the extrapolation value where
 * outside_d[v_d] for some d. Weights of 0 still multiply their element (the interpreter skips
 * them): an infinite input next to a position can give NaN here. */
IrStatus cg_lower_resize(LowerCtx *c, const Node *n) {
  NestProgram *p = c->p;
  const TensorType *tx = cg_type(c, n->inputs[0]), *ty = cg_type(c, n->outputs[0]);
  ResizePlan plan;
  const char *attr;
  op_resize_plan(n, tx, &plan, &attr);
  bool nearest = strcmp(ir_attr_str(n, "mode", "nearest"), "nearest") == 0;
  int idx[IR_MAX_RANK], wt[IR_MAX_RANK], outside[IR_MAX_RANK];
  int64_t ntaps[IR_MAX_RANK];
  for (int d = 0; d < tx->rank; d++) tap_tables(c, &plan, d, &idx[d], &wt[d], &outside[d], &ntaps[d]);
  int x = cg_in(c, n->inputs[0]), y = cg_out(c, n->outputs[0]);
  NestKernel *k = cg_kernel_for(c, n);
  if (!k || y < 0 || p->arena.failed) return cg_checked(c, n->loc);
  int v[IR_MAX_RANK];
  NestBlock *body = cg_loops(c, k, &k->body, ty, v), *inner = body;
  if (!body) return cg_checked(c, n->loc);
  int acc = cg_nest_local(p, k, ty->dtype);
  if (!nearest) cg_decl(p, body, acc, cg_const_f(p, ty->dtype, 0));
  NestExpr *from = cg_idx(p, 0), *w = NULL;
  for (int d = 0; d < tx->rank; d++) {
    NestExpr *at = cg_mulc(p, cg_v(c, v[d]), ntaps[d]);
    if (ntaps[d] > 1 && !nearest) {
      int t = cg_nest_var(p, k, "t");
      NestStmt *s = cg_loop(p, inner, t, cg_idx(p, 0), cg_idx(p, ntaps[d]));
      if (!s) return cg_checked(c, n->loc);
      inner = &s->u.loop.body;
      at = cg_add(p, at, cg_var(p, t));
    }
    from = cg_add(p, cg_mulc(p, from, tx->dims[d]), cg_load(p, idx[d], at));
    if (!nearest) w = w ? cg_bin(p, NEST_MUL, w, cg_load(p, wt[d], at)) : cg_load(p, wt[d], at);
  }
  NestExpr *off = NULL; /* some dimension's position is outside the input */
  for (int d = 0; d < tx->rank; d++)
    if (outside[d] >= 0) {
      NestExpr *o = cg_load(p, outside[d], cg_v(c, v[d]));
      off = off ? cg_bin(p, NEST_OR, off, o) : o;
    }
  NestExpr *val = cg_load(p, x, from);
  if (!nearest) {
    cg_assign(p, inner, acc, cg_bin(p, NEST_ADD, cg_local(p, k, acc), cg_bin(p, NEST_MUL, w, val)));
    val = cg_local(p, k, acc);
  }
  if (off) val = cg_select(p, off, extrapolation(c, ty->dtype, plan.extrapolation), val);
  cg_store(p, body, y, cg_index(c, ty, v), val);
  return cg_checked(c, n->loc);
}

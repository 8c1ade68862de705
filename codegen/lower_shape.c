/* lower_shape.c — ops that only move elements: reshape, flatten, squeeze, unsqueeze and
 * reorder (between plain layouts) alias their operand's buffer; transpose, concat, split,
 * expand, slice, pad and gather copy. */
#include <string.h>

#include "codegen/lower.h"

/* The result is the operand's buffer itself, unless the result already has a buffer of its
 * own (a graph output, a fused result): then the elements are copied there. */
IrStatus cg_lower_alias(LowerCtx *c, const Node *n) {
  int x = cg_in(c, n->inputs[0]);
  if (c->buf_of[n->outputs[0]] < 0) {
    c->buf_of[n->outputs[0]] = x;
    return IR_OK;
  }
  int y = cg_out(c, n->outputs[0]);
  return cg_copy(c, n->loc, y, x, ir_type_numel(cg_type(c, n->outputs[0])));
}

/* Y[i0, i1, ...] = X[j] where j[perm[k]] = i[k]. */
IrStatus cg_lower_transpose(LowerCtx *c, const Node *n) {
  NestProgram *p = c->p;
  const TensorType *tx = cg_type(c, n->inputs[0]), *ty = cg_type(c, n->outputs[0]);
  int rank = tx->rank, cnt = 0;
  const int64_t *perm = ir_attr_ints(n, "perm", &cnt);
  int64_t stride[IR_MAX_RANK], s = 1;
  for (int i = rank - 1; i >= 0; i--) {
    stride[i] = s;
    s *= tx->dims[i];
  }
  int x = cg_in(c, n->inputs[0]), y = cg_out(c, n->outputs[0]);
  NestKernel *k = cg_kernel_for(c, n);
  if (!k || y < 0) return cg_checked(c, n->loc);
  int v[IR_MAX_RANK];
  NestBlock *body = cg_loops(c, k, &k->body, ty, v);
  if (!body) return cg_checked(c, n->loc);
  NestExpr *from = cg_idx(p, 0);
  for (int i = 0; i < rank; i++) {
    int64_t d = perm && i < cnt ? perm[i] : rank - 1 - i;
    from = cg_add(p, from, cg_mulc(p, cg_v(c, v[i]), stride[d]));
  }
  cg_store(p, body, y, cg_index(c, ty, v), cg_load(p, x, from));
  return cg_checked(c, n->loc);
}

/* The row-major index in shape t of the position vars, moved by offset along axis. */
static NestExpr *offset_index(LowerCtx *c, const TensorType *t, const int *vars, int64_t axis, int64_t offset) {
  NestExpr *e = cg_idx(c->p, 0);
  int64_t stride = 1;
  for (int d = t->rank - 1; d >= 0; d--) {
    NestExpr *at = cg_v(c, vars[d]);
    if (d == axis) at = cg_add(c->p, at, cg_idx(c->p, offset));
    e = cg_add(c->p, e, cg_mulc(c->p, at, stride));
    stride *= t->dims[d];
  }
  return e;
}

/* Each input's elements go to the result at its offset along axis: one nest per input. */
IrStatus cg_lower_concat(LowerCtx *c, const Node *n) {
  NestProgram *p = c->p;
  const TensorType *ty = cg_type(c, n->outputs[0]);
  int64_t axis = ir_attr_int(n, "axis", 0);
  if (axis < 0) axis += ty->rank;
  int y = cg_out(c, n->outputs[0]);
  NestKernel *k = cg_kernel_for(c, n);
  if (!k || y < 0) return cg_checked(c, n->loc);
  int64_t offset = 0;
  for (int i = 0; i < n->ninputs; i++) {
    const TensorType *ti = cg_type(c, n->inputs[i]);
    int v[IR_MAX_RANK];
    NestBlock *body = cg_loops(c, k, &k->body, ti, v);
    if (!body) return cg_checked(c, n->loc);
    cg_store(p, body, y, offset_index(c, ty, v, axis, offset), cg_load(p, cg_in(c, n->inputs[i]), cg_index(c, ti, v)));
    offset += ti->dims[axis];
  }
  return cg_checked(c, n->loc);
}

/* Concat backwards: each result takes the operand's elements from its offset along axis. */
IrStatus cg_lower_split(LowerCtx *c, const Node *n) {
  NestProgram *p = c->p;
  const TensorType *tx = cg_type(c, n->inputs[0]);
  int64_t axis = ir_attr_int(n, "axis", 0);
  if (axis < 0) axis += tx->rank;
  int x = cg_in(c, n->inputs[0]);
  NestKernel *k = cg_kernel_for(c, n);
  if (!k) return cg_checked(c, n->loc);
  int64_t offset = 0;
  for (int i = 0; i < n->noutputs; i++) {
    const TensorType *ti = cg_type(c, n->outputs[i]);
    int y = cg_out(c, n->outputs[i]), v[IR_MAX_RANK];
    NestBlock *body = y < 0 ? NULL : cg_loops(c, k, &k->body, ti, v);
    if (!body) return cg_checked(c, n->loc);
    cg_store(p, body, y, cg_index(c, ti, v), cg_load(p, x, offset_index(c, tx, v, axis, offset)));
    offset += ti->dims[axis];
  }
  return cg_checked(c, n->loc);
}

/* The index of the operand read for result position v (vars of the result's shape). */
typedef NestExpr *(*SourceFn)(LowerCtx *c, const Node *n, const int *v, NestExpr **keep);

/* One nest over the result: y[v] = x[src(v)], or, where src sets *keep (a DT_BOOL condition)
 * and it is false, the node's "value" attribute instead (pad's constant mode). */
static IrStatus lower_gather_like(LowerCtx *c, const Node *n, SourceFn src) {
  NestProgram *p = c->p;
  const TensorType *ty = cg_type(c, n->outputs[0]);
  int x = cg_in(c, n->inputs[0]), y = cg_out(c, n->outputs[0]);
  NestKernel *k = cg_kernel_for(c, n);
  if (!k || y < 0) return cg_checked(c, n->loc);
  int v[IR_MAX_RANK];
  NestBlock *body = cg_loops(c, k, &k->body, ty, v);
  if (!body) return cg_checked(c, n->loc);
  NestExpr *keep = NULL, *val = cg_load(p, x, src(c, n, v, &keep));
  if (keep) val = cg_select(p, keep, val, cg_const(c, ty->dtype, ir_attr_float(n, "value", 0.0)));
  cg_store(p, body, y, cg_index(c, ty, v), val);
  return cg_checked(c, n->loc);
}

/* expand: the result position broadcast into the operand's shape. */
static NestExpr *expand_src(LowerCtx *c, const Node *n, const int *v, NestExpr **keep) {
  (void)keep;
  return cg_bcast_index(c, cg_type(c, n->inputs[0]), cg_type(c, n->outputs[0]), v);
}

/* slice: start + v * step in every dimension (op_slice_plan, as the interpreter). */
static NestExpr *slice_src(LowerCtx *c, const Node *n, const int *v, NestExpr **keep) {
  (void)keep;
  const TensorType *tx = cg_type(c, n->inputs[0]);
  SlicePlan plan;
  const char *bad_attr;
  op_slice_plan(n, tx, &plan, &bad_attr);
  NestExpr *e = cg_idx(c->p, 0);
  int64_t stride = 1;
  for (int d = tx->rank - 1; d >= 0; d--) {
    NestExpr *at = cg_add(c->p, cg_idx(c->p, plan.start[d]), cg_mulc(c->p, cg_v(c, v[d]), plan.step[d]));
    e = cg_add(c->p, e, cg_mulc(c->p, at, stride));
    stride *= tx->dims[d];
  }
  return e;
}

/* pad: i = v - begin in each dimension; outside [0, d): edge clamps, reflect mirrors
 * (j = i mod 2(d - 1), then min(j, 2(d - 1) - j)), constant reads the clamped element and
 * *keep says whether every i was inside. */
static NestExpr *pad_src(LowerCtx *c, const Node *n, const int *v, NestExpr **keep) {
  NestProgram *p = c->p;
  const TensorType *tx = cg_type(c, n->inputs[0]);
  const char *mode = ir_attr_str(n, "mode", "constant");
  int cnt = 0;
  const int64_t *pads = ir_attr_ints(n, "pads", &cnt);
  NestExpr *e = cg_idx(p, 0);
  int64_t stride = 1;
  for (int d = tx->rank - 1; d >= 0; d--) {
    int64_t dim = tx->dims[d], begin = pads[d], end = pads[d + tx->rank];
    NestExpr *i = cg_add(p, cg_v(c, v[d]), cg_idx(p, -begin));
    if (begin > 0 || end > 0) {
      if (!strcmp(mode, "reflect") && dim > 1) {
        NestExpr *j = cg_bin(p, NEST_MOD, i, cg_idx(p, 2 * (dim - 1)));
        i = cg_bin(p, NEST_MIN, j, cg_add(p, cg_idx(p, 2 * (dim - 1)), cg_mulc(p, j, -1)));
      } else {
        if (!strcmp(mode, "constant")) {
          NestExpr *in = cg_bin(p, NEST_AND, cg_bin(p, NEST_GE, i, cg_idx(p, 0)), cg_bin(p, NEST_LT, i, cg_idx(p, dim)));
          *keep = *keep ? cg_bin(p, NEST_AND, *keep, in) : in;
        }
        i = cg_bin(p, NEST_MIN, cg_bin(p, NEST_MAX, i, cg_idx(p, 0)), cg_idx(p, dim - 1));
      }
    }
    e = cg_add(p, e, cg_mulc(p, i, stride));
    stride *= dim;
  }
  return e;
}

/* gather: the dims before axis, then indices[q] mod d (in range for every index, so an
 * index outside [-d, d), an error in the interpreter, reads some element), then the rest. */
static NestExpr *gather_src(LowerCtx *c, const Node *n, const int *v, NestExpr **keep) {
  (void)keep;
  NestProgram *p = c->p;
  const TensorType *tx = cg_type(c, n->inputs[0]), *tq = cg_type(c, n->inputs[1]);
  int64_t axis = ir_attr_int(n, "axis", 0);
  if (axis < 0) axis += tx->rank;
  NestExpr *k = cg_load(p, cg_in(c, n->inputs[1]), cg_index(c, tq, v + axis));
  k = cg_bin(p, NEST_MOD, cg_cast(p, DT_I64, k), cg_idx(p, tx->dims[axis]));
  NestExpr *e = cg_idx(p, 0);
  int64_t stride = 1;
  for (int d = tx->rank - 1; d >= 0; d--) {
    NestExpr *at = d < axis ? cg_v(c, v[d]) : d == axis ? k : cg_v(c, v[d - 1 + tq->rank]);
    e = cg_add(p, e, cg_mulc(p, at, stride));
    stride *= tx->dims[d];
  }
  return e;
}

IrStatus cg_lower_expand(LowerCtx *c, const Node *n) { return lower_gather_like(c, n, expand_src); }
IrStatus cg_lower_slice(LowerCtx *c, const Node *n) { return lower_gather_like(c, n, slice_src); }
IrStatus cg_lower_pad(LowerCtx *c, const Node *n) { return lower_gather_like(c, n, pad_src); }
IrStatus cg_lower_gather(LowerCtx *c, const Node *n) { return lower_gather_like(c, n, gather_src); }

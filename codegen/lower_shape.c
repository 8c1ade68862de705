/* lower_shape.c — ops that only move elements: reshape, flatten and reorder (between plain
 * layouts) alias their operand's buffer; transpose and concat copy. */
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
    /* The result index: the input's index with offset added along axis. */
    NestExpr *to = cg_idx(p, 0);
    int64_t stride = 1;
    for (int d = ty->rank - 1; d >= 0; d--) {
      NestExpr *at = cg_v(c, v[d]);
      if (d == axis) at = cg_add(p, at, cg_idx(p, offset));
      to = cg_add(p, to, cg_mulc(p, at, stride));
      stride *= ty->dims[d];
    }
    cg_store(p, body, y, to, cg_load(p, cg_in(c, n->inputs[i]), cg_index(c, ti, v)));
    offset += ti->dims[axis];
  }
  return cg_checked(c, n->loc);
}

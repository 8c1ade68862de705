/* simplify.c — algebraic simplification on the graph's body:
 *   x + 0, 0 + x, x - 0, x * 1, 1 * x, x / 1      -> x   (when the result has x's type)
 *   transpose(transpose(x, p), q)                  -> transpose(x, p∘q), or x when that is the identity
 *   transpose(x) with the identity permutation    -> x
 *   reshape / flatten of a reshape / flatten       -> one reshape of the first operand
 *   reshape / flatten to the operand's own shape   -> x
 * The IR has no identity or dropout op (the ONNX importer drops them), so there is none to
 * remove here. x + 0 -> x differs only for x = -0.0 (which gives +0.0 before), as compilers
 * that do this under fast-math accept.
 *
 * Requires: a verified graph.
 * Invalidates: nothing (bypassed nodes become dead: dce removes them). */
#include <string.h>

#include "passes/pass.h"

/* The operand v of n when n's result can be replaced by it: same type. */
static bool same_type(const Graph *g, const Node *n, ValueId v) {
  return ir_type_equal(&g->values[n->outputs[0]].type, &g->values[v].type);
}

/* The operand that node n merely passes through (x + 0, x * 1, ...), or -1. */
static ValueId passthrough(const Graph *g, const Node *n) {
  if (n->ninputs != 2) return -1;
  ValueId a = n->inputs[0], b = n->inputs[1];
  switch (n->op) {
  case OP_ADD:
    if (pass_const_is_splat(g, b, 0) && same_type(g, n, a)) return a;
    if (pass_const_is_splat(g, a, 0) && same_type(g, n, b)) return b;
    return -1;
  case OP_SUB: return pass_const_is_splat(g, b, 0) && same_type(g, n, a) ? a : -1;
  case OP_MUL:
    if (pass_const_is_splat(g, b, 1) && same_type(g, n, a)) return a;
    if (pass_const_is_splat(g, a, 1) && same_type(g, n, b)) return b;
    return -1;
  case OP_DIV: return pass_const_is_splat(g, b, 1) && same_type(g, n, a) ? a : -1;
  default: return -1;
  }
}

/* The permutation of transpose node n (default: reversed dimensions) into perm; its rank. */
static int transpose_perm(const Graph *g, const Node *n, int64_t *perm) {
  int rank = g->values[n->inputs[0]].type.rank, count;
  const int64_t *p = ir_attr_ints(n, "perm", &count);
  for (int i = 0; i < rank; i++) perm[i] = p && count == rank ? p[i] : rank - 1 - i;
  return rank;
}

/* The node defining v when it is a result of op (one of ops[0..nops)), or NULL. */
static const Node *def_of(const Graph *g, ValueId v, const int *ops, int nops) {
  if (g->values[v].kind != VAL_RESULT) return NULL;
  const Node *n = &g->nodes[g->values[v].def];
  for (int i = 0; i < nops; i++)
    if (n->op == ops[i]) return n;
  return NULL;
}

/* Gives n one attribute, name = ints[0..count). */
static IrStatus set_ints_attr(Graph *g, Node *n, const char *name, const int64_t *ints, int count, DiagSink *d) {
  Attr *a = ir_arena_alloc(&g->arena, sizeof *a);
  int64_t *copy = ir_arena_memdup(&g->arena, ints, sizeof(int64_t) * (size_t)(count + 1));
  if (!a || !copy) return diag_oom(d, n->loc);
  a->name = name;
  a->kind = ATTR_INTS;
  a->n = count;
  a->u.ints = copy;
  a->loc = n->loc;
  n->attrs = a;
  n->nattrs = 1;
  return IR_OK;
}

/* Simplifies node id; *bypass receives the value that replaces its result, or -1. */
static IrStatus simplify_node(Graph *g, NodeId id, ValueId *bypass, PassCtx *c) {
  Node *n = &g->nodes[id];
  *bypass = -1;
  if (n->body || n->noutputs != 1) return IR_OK;
  if (g->values[n->outputs[0]].type.layout) return IR_OK;
  static const int transposes[] = {OP_TRANSPOSE};
  static const int reshapes[] = {OP_RESHAPE, OP_FLATTEN};
  switch (n->op) {
  case OP_ADD: case OP_SUB: case OP_MUL: case OP_DIV:
    *bypass = passthrough(g, n);
    return IR_OK;
  case OP_TRANSPOSE: {
    int64_t q[IR_MAX_RANK], p[IR_MAX_RANK], pq[IR_MAX_RANK];
    int rank = transpose_perm(g, n, q);
    const Node *inner = def_of(g, n->inputs[0], transposes, 1);
    ValueId x = inner ? inner->inputs[0] : n->inputs[0];
    if (inner) transpose_perm(g, inner, p);
    bool identity = true;
    for (int i = 0; i < rank; i++) {
      pq[i] = inner ? p[q[i]] : q[i];
      identity &= pq[i] == i;
    }
    if (identity && same_type(g, n, x)) { *bypass = x; return IR_OK; }
    if (!inner || g->values[x].type.layout) return IR_OK;
    n->inputs[0] = x;
    c->changed = true;
    return set_ints_attr(g, n, "perm", pq, rank, c->diag);
  }
  case OP_RESHAPE: case OP_FLATTEN: {
    const Node *inner = def_of(g, n->inputs[0], reshapes, 2);
    ValueId x = inner ? inner->inputs[0] : n->inputs[0];
    if (same_type(g, n, x)) { *bypass = x; return IR_OK; }
    if (!inner || g->values[x].type.layout) return IR_OK;
    const TensorType *t = &g->values[n->outputs[0]].type;
    for (int i = 0; i < t->rank; i++)
      if (t->dims[i] == 0) return IR_OK; /* a 0 in "shape" would copy a dimension */
    n->op = OP_RESHAPE;
    n->inputs[0] = x;
    c->changed = true;
    return set_ints_attr(g, n, "shape", t->dims, t->rank, c->diag);
  }
  default: return IR_OK;
  }
}

static IrStatus run_simplify(Graph *g, PassCtx *c) {
  Region *r = g->body;
  bool *dead = ir_calloc((size_t)g->nnodes + 1, sizeof *dead);
  if (!dead) return diag_oom(c->diag, g->loc);
  IrStatus st = IR_OK;
  for (int i = 0; i < r->nnodes && st == IR_OK; i++) {
    NodeId id = r->nodes[i];
    ValueId bypass;
    st = simplify_node(g, id, &bypass, c);
    if (st != IR_OK || bypass < 0) continue;
    pass_replace_uses(g, r, g->nodes[id].outputs[0], bypass);
    dead[id] = true;
    c->changed = true;
  }
  pass_remove_nodes(r, dead);
  ir_free(dead);
  return st;
}

const Pass pass_simplify = {
    "simplify",
    "removes x+0, x*1, x/1, identity transposes and reshapes; merges transpose and reshape chains",
    "a verified graph",
    "nothing (bypassed nodes may leave their operands dead)",
    run_simplify,
};

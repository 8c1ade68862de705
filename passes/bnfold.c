/* bnfold.c — batch-norm folding. A batch_norm y = s (x - m) / sqrt(v + eps) + b, that is
 * y = k x + (b - k m) with k = s / sqrt(v + eps) per channel (dim 1), whose operand x is the
 * only use of a conv2d, gemm or rank-2 matmul result with constant weights, is folded into
 * those weights:
 *   conv2d  W'[o,...] = k[o] W[o,...],  bias'[o] = k[o] bias[o] + b[o] - k[o] m[o]
 *   gemm    B' = B scaled by k along N,  C'[n] = k[n] beta C[n] + b[n] - k[n] m[n], beta = 1
 *   matmul  B'[:, n] = k[n] B[:, n], and the batch_norm becomes add(matmul, b - k m)
 * The new weights are new const nodes (weight references, data attached); the old ones are
 * left to dce. Everything is f32 without layout or quantization; the factors are computed in
 * double and rounded once.
 *
 * Requires: a verified graph whose const nodes carry data.
 * Invalidates: nothing (the old weights and the batch_norm become dead: dce removes them). */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "passes/pass.h"

/* The f32 data of constant v (plain f32), or NULL. */
static const float *f32_const(const Graph *g, ValueId v) {
  const Node *n = pass_const_def(g, v);
  const TensorType *t = &g->values[v].type;
  return n && t->dtype == DT_F32 && !t->layout && !t->quant ? n->data->data : NULL;
}

/* A new f32 const of type like t with room for its data; *data receives the floats. */
static NodeId new_f32(Graph *g, const char *base, const TensorType *t, float **data, Loc loc, DiagSink *d) {
  IrBuffer *b = ir_buffer_new(ir_type_bytes(t));
  if (!b) return diag_oom(d, loc), -1;
  *data = b->data;
  return pass_new_const(g, base, t, b, loc, d);
}

/* Inserts the new const nodes ids[0..n) before node `before` of the body. */
static IrStatus insert_before(Graph *g, NodeId before, const NodeId *ids, int n, DiagSink *d) {
  Region *r = g->body;
  int pos = 0;
  while (pos < r->nnodes && r->nodes[pos] != before) pos++;
  for (int i = 0; i < n; i++)
    if (!pass_insert_node(g, r, pos + i, ids[i])) return diag_oom(d, g->nodes[before].loc);
  return IR_OK;
}

/* Copies n's attributes but `drop` into a new array (*count entries). */
static Attr *attrs_without(Graph *g, const Node *n, const char *drop, int *count) {
  Attr *a = ir_arena_alloc(&g->arena, sizeof(Attr) * (size_t)(n->nattrs + 1));
  *count = 0;
  if (!a) return NULL;
  for (int i = 0; i < n->nattrs; i++)
    if (strcmp(n->attrs[i].name, drop) != 0) a[(*count)++] = n->attrs[i];
  return a;
}

/* Folds batch_norm node bn into the producer p of its operand. */
static IrStatus fold_into(Graph *g, NodeId bn_id, NodeId p_id, const double *k, const double *shift, int64_t C,
                          PassCtx *c) {
  Node *p = &g->nodes[p_id];
  DiagSink *d = c->diag;
  Loc loc = p->loc;
  const TensorType wtype = g->values[p->inputs[1]].type, *wt = &wtype; /* adding values moves g->values */
  const float *w = f32_const(g, p->inputs[1]);
  char wname[256], bname[256];
  snprintf(wname, sizeof wname, "%s_bn", g->values[p->inputs[1]].name ? g->values[p->inputs[1]].name : "w");
  snprintf(bname, sizeof bname, "%s_bias", g->values[p->outputs[0]].name ? g->values[p->outputs[0]].name : "b");
  float *nw, *nb;
  NodeId ids[2];
  ids[0] = new_f32(g, wname, wt, &nw, loc, d);
  if (ids[0] < 0) return IR_ERR_INPUT;
  p = &g->nodes[p_id];
  int64_t numel = ir_type_numel(wt);
  bool trans_b = p->op == OP_GEMM && ir_attr_int(p, "transB", 0);
  for (int64_t i = 0; i < numel; i++) {
    /* The output channel of weight element i. */
    int64_t o = p->op == OP_CONV2D || trans_b ? i / (numel / C) : i % C;
    nw[i] = (float)(k[o] * w[i]);
  }
  TensorType bt = {DT_F32, 1, {C}, NULL, NULL};
  ids[1] = new_f32(g, bname, &bt, &nb, loc, d);
  if (ids[1] < 0) return IR_ERR_INPUT;
  p = &g->nodes[p_id];
  const float *old = p->ninputs > 2 ? f32_const(g, p->inputs[2]) : NULL;
  int64_t old_n = p->ninputs > 2 ? ir_type_numel(&g->values[p->inputs[2]].type) : 0;
  double beta = p->op == OP_GEMM ? ir_attr_float(p, "beta", 1.0) : 1.0;
  for (int64_t o = 0; o < C; o++) nb[o] = (float)(k[o] * beta * (old ? old[old_n == 1 ? 0 : o] : 0.0) + shift[o]);
  IrStatus st = insert_before(g, p_id, ids, 2, d);
  if (st != IR_OK) return st;
  p = &g->nodes[p_id];
  Node *bn = &g->nodes[bn_id];
  ValueId wv = g->nodes[ids[0]].outputs[0], bv = g->nodes[ids[1]].outputs[0];
  if (p->op == OP_MATMUL) {
    /* The shift stays as an add where the batch_norm was. */
    p->inputs[1] = wv;
    bn->op = OP_ADD;
    bn->inputs[0] = p->outputs[0];
    bn->inputs[1] = bv;
    bn->ninputs = 2;
    bn->attrs = NULL;
    bn->nattrs = 0;
    c->changed = true;
    return IR_OK;
  }
  ValueId *in = ir_arena_alloc(&g->arena, sizeof(ValueId) * 4);
  if (!in) return diag_oom(d, loc);
  in[0] = p->inputs[0];
  in[1] = wv;
  in[2] = bv;
  p->inputs = in;
  p->ninputs = 3;
  if (p->op == OP_GEMM) {
    int count;
    Attr *attrs = attrs_without(g, p, "beta", &count);
    if (!attrs) return diag_oom(d, loc);
    p->attrs = attrs;
    p->nattrs = count;
  }
  pass_replace_uses(g, g->body, bn->outputs[0], p->outputs[0]);
  c->changed = true;
  return IR_OK;
}

/* Folds batch_norm node id when its operand comes from a foldable producer. */
static IrStatus fold_bn(Graph *g, NodeId id, const int *uses, PassCtx *c) {
  const Node *bn = &g->nodes[id];
  ValueId x = bn->inputs[0];
  const TensorType *xt = &g->values[x].type;
  if (xt->dtype != DT_F32 || xt->layout || xt->rank < 2 || g->values[x].kind != VAL_RESULT || uses[x] != 1) return IR_OK;
  int64_t C = xt->dims[1];
  const float *prm[4];
  for (int i = 0; i < 4; i++)
    if (!(prm[i] = f32_const(g, bn->inputs[1 + i]))) return IR_OK;
  NodeId p_id = g->values[x].def;
  const Node *p = &g->nodes[p_id];
  if (p->noutputs != 1 || !f32_const(g, p->inputs[1])) return IR_OK;
  if (p->ninputs > 2 && !f32_const(g, p->inputs[2])) return IR_OK;
  const TensorType *wt = &g->values[p->inputs[1]].type;
  switch (p->op) {
  case OP_CONV2D: break;
  case OP_GEMM:
    if (xt->rank != 2) return IR_OK;
    if (p->ninputs > 2) { /* C must be per column: a scalar, [N] or [1, N] */
      const TensorType *ct = &g->values[p->inputs[2]].type;
      int64_t cn = ir_type_numel(ct);
      if (!(cn == 1 || (cn == C && ct->dims[ct->rank - 1] == C))) return IR_OK;
    }
    break;
  case OP_MATMUL:
    if (xt->rank != 2 || wt->rank != 2) return IR_OK;
    break;
  default: return IR_OK;
  }
  double eps = ir_attr_float(bn, "epsilon", 1e-5);
  double *k = ir_malloc(sizeof(double) * (size_t)(2 * C + 1));
  if (!k) return diag_oom(c->diag, bn->loc);
  double *shift = k + C;
  for (int64_t o = 0; o < C; o++) {
    k[o] = (double)prm[0][o] / sqrt((double)prm[3][o] + eps);
    shift[o] = (double)prm[1][o] - k[o] * (double)prm[2][o];
  }
  IrStatus st = fold_into(g, id, p_id, k, shift, C, c);
  ir_free(k);
  return st;
}

static IrStatus run_bnfold(Graph *g, PassCtx *c) {
  int *uses = pass_use_counts(g, g->body);
  if (!uses) return diag_oom(c->diag, g->loc);
  IrStatus st = IR_OK;
  /* The list grows as weights are inserted: walk it by node, not by position. */
  int count = 0;
  for (int i = 0; i < g->body->nnodes; i++) count += g->nodes[g->body->nodes[i]].op == OP_BATCH_NORM;
  NodeId *bns = ir_malloc(sizeof(NodeId) * (size_t)(count + 1));
  if (!bns) { ir_free(uses); return diag_oom(c->diag, g->loc); }
  count = 0;
  for (int i = 0; i < g->body->nnodes; i++)
    if (g->nodes[g->body->nodes[i]].op == OP_BATCH_NORM) bns[count++] = g->body->nodes[i];
  for (int i = 0; i < count && st == IR_OK; i++) st = fold_bn(g, bns[i], uses, c);
  ir_free(bns);
  ir_free(uses);
  return st;
}

const Pass pass_bnfold = {
    "bnfold",
    "folds batch_norm into the weights of the conv2d, gemm or matmul before it",
    "a verified graph whose const nodes carry data",
    "nothing (old weights and folded batch_norms become dead)",
    run_bnfold,
};

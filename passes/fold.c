/* fold.c — constant folding: every node of the graph's body whose operands are all constants
 * is evaluated by the reference kernels (through ir/consteval.c, as the ONNX importer folds)
 * and becomes a const node. Results of more than PASS_INLINE_MAX_ELEMENTS elements become weight references with
 * their data attached, so dumps elide them and `lathe opt -o` writes them to the sidecar.
 *
 * Requires: a verified graph whose const nodes carry data.
 * Invalidates: nothing (the folded nodes' operands may become dead: dce removes them). */
#include "ir/consteval.h"
#include "passes/pass.h"

/* Folds node id; a result whose type has a layout or quantization stays as it is. */
static IrStatus fold_node(Graph *g, NodeId id, PassCtx *c) {
  Node *n = &g->nodes[id];
  if (n->op == OP_CONST || n->body || n->noutputs != 1 || !ir_node_inputs_const(g, id)) return IR_OK;
  ValueId out = n->outputs[0];
  if (g->values[out].type.layout || g->values[out].type.quant) return IR_OK;
  IrStatus st = ir_const_eval_node(g, id, c->diag);
  if (st != IR_OK) return st;
  c->changed = true;
  n = &g->nodes[id];
  if (ir_type_numel(&g->values[out].type) <= 16) return IR_OK;
  if (ir_type_numel(&g->values[out].type) <= PASS_INLINE_MAX_ELEMENTS) return IR_OK;
  const char *w = pass_fresh_weight(g, g->values[out].name ? g->values[out].name : "folded");
  if (!w) return diag_oom(c->diag, n->loc);
  n->const_kind = CONST_WEIGHT;
  n->weight = w;
  return IR_OK;
}

static IrStatus run_fold(Graph *g, PassCtx *c) {
  for (int i = 0; i < g->body->nnodes; i++) {
    IrStatus st = fold_node(g, g->body->nodes[i], c);
    if (st != IR_OK) return st;
  }
  return IR_OK;
}

const Pass pass_fold = {
    "fold",
    "evaluates every node whose operands are all constants into a const node",
    "a verified graph whose const nodes carry data",
    "nothing (operands of folded nodes may become dead)",
    run_fold,
};

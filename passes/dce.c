/* dce.c — dead-code elimination: drops every node of a region none of whose results is used
 * by a later node or returned, walking backwards so chains of dead nodes go in one pass;
 * fused bodies are cleaned the same way.
 *
 * Requires: a verified graph.
 * Invalidates: nothing. */
#include "passes/pass.h"

/* Removes the dead nodes of region r (and of the bodies it holds). */
static IrStatus dce_region(Graph *g, Region *r, PassCtx *c) {
  int *uses = pass_use_counts(g, r);
  bool *dead = ir_calloc((size_t)g->nnodes + 1, sizeof *dead);
  if (!uses || !dead) {
    ir_free(uses);
    ir_free(dead);
    return diag_oom(c->diag, g->loc);
  }
  IrStatus st = IR_OK;
  for (int i = r->nnodes - 1; i >= 0; i--) {
    NodeId id = r->nodes[i];
    const Node *n = &g->nodes[id];
    bool used = false;
    for (int k = 0; k < n->noutputs; k++) used |= uses[n->outputs[k]] > 0;
    if (!used) {
      dead[id] = true;
      c->changed = true;
      for (int k = 0; k < n->ninputs; k++) uses[n->inputs[k]]--;
    } else if (n->body && st == IR_OK) {
      st = dce_region(g, n->body, c);
    }
  }
  pass_remove_nodes(r, dead);
  ir_free(uses);
  ir_free(dead);
  return st;
}

static IrStatus run_dce(Graph *g, PassCtx *c) { return dce_region(g, g->body, c); }

const Pass pass_dce = {
    "dce",
    "removes nodes whose results are never used",
    "a verified graph",
    "nothing",
    run_dce,
};

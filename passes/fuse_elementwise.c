/* fuse_elementwise.c — element-wise fusion: a chain of element-wise ops (add, sub, mul, div,
 * relu, sigmoid, tanh, clip) of one result type, each the only user of the one before, becomes
 * one `fused` op (labelled "ew_" and its ops) that a backend runs as one loop nest; operands
 * may broadcast into the chain's shape.
 *
 * Requires: a verified graph (after fuse-epilogue, which takes the epilogues of matrix products).
 * Invalidates: nothing. */
#include <string.h>

#include "passes/pass.h"

/* True when node n can be part of an element-wise chain. */
static bool fusible(const Graph *g, const Node *n) {
  return (ir_ops[n->op].flags & OPF_ELEMENTWISE) && n->noutputs == 1 && !n->body &&
         !g->values[n->outputs[0]].type.layout && !g->values[n->outputs[0]].type.quant;
}

static IrStatus run_fuse_elementwise(Graph *g, PassCtx *c) {
  Region *r = g->body;
  IrStatus st = IR_OK;
  NodeId chain[64];
  /* One chain at a time: the region changes under each fusion, so the walk restarts after it. */
  for (bool again = true; again && st == IR_OK;) {
    again = false;
    int *uses = pass_use_counts(g, r);
    NodeId *user = ir_malloc(sizeof(NodeId) * (size_t)(g->nvalues + 1));
    if (!uses || !user) { ir_free(uses); ir_free(user); return diag_oom(c->diag, g->loc); }
    for (int v = 0; v < g->nvalues; v++) user[v] = -1;
    for (int i = 0; i < r->nnodes; i++) {
      const Node *n = &g->nodes[r->nodes[i]];
      for (int k = 0; k < n->ninputs; k++) user[n->inputs[k]] = r->nodes[i];
    }
    for (int i = 0; i < r->nnodes && !again; i++) {
      NodeId id = r->nodes[i];
      const Node *n = &g->nodes[id];
      if (!fusible(g, n)) continue;
      /* Only chain heads: a node whose element-wise producer would take it is not one. */
      bool head = true;
      for (int k = 0; k < n->ninputs && head; k++) {
        ValueId v = n->inputs[k];
        head = !(g->values[v].kind == VAL_RESULT && uses[v] == 1 && fusible(g, &g->nodes[g->values[v].def]) &&
                 ir_type_equal(&g->values[v].type, &g->values[n->outputs[0]].type));
      }
      if (!head) continue;
      int len = 0;
      chain[len++] = id;
      ValueId v = n->outputs[0];
      while (len < 64 && uses[v] == 1 && user[v] >= 0 && fusible(g, &g->nodes[user[v]]) &&
             ir_type_equal(&g->values[g->nodes[user[v]].outputs[0]].type, &g->values[v].type)) {
        chain[len++] = user[v];
        v = g->nodes[user[v]].outputs[0];
      }
      if (len < 2) continue;
      if (pass_fuse_chain(g, r, chain, len, "ew", c->diag) < 0) st = IR_ERR_INPUT;
      c->changed = true;
      again = true;
    }
    ir_free(uses);
    ir_free(user);
  }
  return st;
}

const Pass pass_fuse_elementwise = {
    "fuse-elementwise",
    "fuses chains of element-wise ops of one shape into one fused op",
    "a verified graph (after fuse-epilogue)",
    "nothing",
    run_fuse_elementwise,
};

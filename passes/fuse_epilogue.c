/* fuse_epilogue.c — producer-consumer fusion of a conv2d, matmul or gemm with its epilogue:
 * the chain of nodes after it, each the only user of the one before, that are
 *   add / sub / mul / div with the chain's value and another operand (a bias, the shift and
 *   scale of a folded batch-norm, a residual), keeping the chain's type;
 *   relu, clip, sigmoid, tanh.
 * The chain becomes one `fused` op (labelled by its ops, "conv2d_add_relu") whose body is the
 * chain itself, so the interpreter runs exactly what ran before.
 *
 * Requires: a verified graph (best after bnfold, so batch-norms are biases by then).
 * Invalidates: nothing; later passes see the fused op as one node. */
#include <string.h>

#include "passes/pass.h"

/* True when op may end a matrix product's epilogue. */
static bool is_epilogue_op(int op) {
  switch (op) {
  case OP_ADD: case OP_SUB: case OP_MUL: case OP_DIV:
  case OP_RELU: case OP_CLIP: case OP_SIGMOID: case OP_TANH: return true;
  default: return false;
  }
}

/* The node of region r that uses v (used once, uses[v] == 1) when it extends the epilogue:
 * an epilogue op whose result has v's type; -1 otherwise. users[v] is that node. */
static NodeId next_in_chain(const Graph *g, ValueId v, const int *uses, const NodeId *users) {
  if (uses[v] != 1 || users[v] < 0) return -1;
  const Node *n = &g->nodes[users[v]];
  if (!is_epilogue_op(n->op) || n->noutputs != 1) return -1;
  if (!ir_type_equal(&g->values[n->outputs[0]].type, &g->values[v].type)) return -1;
  return users[v];
}

/* Fills users[v] with the (last) node of r that reads v. */
static void find_users(const Graph *g, const Region *r, NodeId *users) {
  for (int v = 0; v < g->nvalues; v++) users[v] = -1;
  for (int i = 0; i < r->nnodes; i++) {
    const Node *n = &g->nodes[r->nodes[i]];
    for (int k = 0; k < n->ninputs; k++) users[n->inputs[k]] = r->nodes[i];
  }
}

static IrStatus run_fuse_epilogue(Graph *g, PassCtx *c) {
  Region *r = g->body;
  int *uses = pass_use_counts(g, r);
  NodeId *users = ir_malloc(sizeof(NodeId) * (size_t)(g->nvalues + 1));
  NodeId *anchors = ir_malloc(sizeof(NodeId) * (size_t)(r->nnodes + 1));
  NodeId chain[64];
  IrStatus st = uses && users && anchors ? IR_OK : diag_oom(c->diag, g->loc);
  int nanchors = 0;
  if (st == IR_OK) {
    find_users(g, r, users);
    for (int i = 0; i < r->nnodes; i++) {
      int op = g->nodes[r->nodes[i]].op;
      if (op == OP_CONV2D || op == OP_MATMUL || op == OP_GEMM) anchors[nanchors++] = r->nodes[i];
    }
  }
  for (int a = 0; a < nanchors && st == IR_OK; a++) {
    int n = 0;
    chain[n++] = anchors[a];
    ValueId v = g->nodes[anchors[a]].outputs[0];
    NodeId next;
    while (n < 64 && (next = next_in_chain(g, v, uses, users)) >= 0) {
      chain[n++] = next;
      v = g->nodes[next].outputs[0];
    }
    if (n < 2) continue;
    if (pass_fuse_chain(g, r, chain, n, NULL, c->diag) < 0) st = IR_ERR_INPUT;
    c->changed = true;
    /* The chain's nodes now read parameters: recount for the chains still to come. */
    ir_free(uses);
    ir_free(users);
    uses = pass_use_counts(g, r);
    users = ir_malloc(sizeof(NodeId) * (size_t)(g->nvalues + 1));
    if (!uses || !users) st = diag_oom(c->diag, g->loc);
    else find_users(g, r, users);
  }
  ir_free(uses);
  ir_free(users);
  ir_free(anchors);
  return st;
}

const Pass pass_fuse_epilogue = {
    "fuse-epilogue",
    "fuses conv2d, matmul or gemm with the bias, scale, residual add and activation after it",
    "a verified graph (after bnfold)",
    "nothing",
    run_fuse_epilogue,
};

/* test_perturb.c — a test-only pass that makes one result wrong on purpose: the f32 value
 * named by the environment variable LATHE_TEST_PERTURB becomes x + 1 wherever it is used (a
 * new add node right after x's definition; graph outputs included). It is in the pipeline
 * only when LATHE_TEST_PASSES=1 (passes/pipeline.c), and does nothing when LATHE_TEST_PERTURB
 * is unset: it gives the tests of `lathe opt --bisect` and `lathe run --compare` a known
 * difference to find. Never part of a real compilation.
 *
 * Requires: a verified graph.
 * Invalidates: nothing. */
#include <stdlib.h>
#include <string.h>

#include "passes/pass.h"

/* The position in the graph's body of the node defining the value named name, or -1. */
static int find_definition(const Graph *g, const char *name, ValueId *v) {
  for (int i = 0; i < g->body->nnodes; i++) {
    const Node *n = &g->nodes[g->body->nodes[i]];
    for (int k = 0; k < n->noutputs; k++) {
      const char *vn = g->values[n->outputs[k]].name;
      if (vn && strcmp(vn, name) == 0) {
        *v = n->outputs[k];
        return i;
      }
    }
  }
  return -1;
}

static IrStatus run_test_perturb(Graph *g, PassCtx *c) {
  const char *name = getenv("LATHE_TEST_PERTURB");
  if (!name || !*name) return IR_OK;
  ValueId x;
  int pos = find_definition(g, name, &x);
  if (pos < 0) {
    diag_error(c->diag, g->loc, "LATHE_TEST_PERTURB: no node of the graph's body defines %%%s", name);
    return IR_ERR_INPUT;
  }
  const TensorType t = g->values[x].type; /* adding values moves g->values */
  Loc loc = g->nodes[g->body->nodes[pos]].loc;
  if (t.dtype != DT_F32 || t.layout || t.quant) {
    diag_error(c->diag, loc, "LATHE_TEST_PERTURB: %%%s is not a plain f32 tensor", name);
    return IR_ERR_INPUT;
  }
  IrBuffer *one = ir_buffer_new(sizeof(float));
  if (!one) return diag_oom(c->diag, loc);
  *(float *)one->data = 1.0f;
  const TensorType scalar = {DT_F32, 0, {0}, NULL, NULL};
  NodeId k = pass_new_const(g, "perturb_one", &scalar, one, loc, c->diag);
  if (k < 0) return IR_ERR_INPUT;
  const char *yname = pass_fresh_name(g, "perturbed");
  NodeId add = yname ? ir_graph_add_node(g, OP_ADD, 2, 1, loc) : -1;
  ValueId y = add >= 0 ? ir_graph_add_value(g, yname, &t, VAL_RESULT, loc) : -1;
  if (y < 0) return diag_oom(c->diag, loc);
  pass_replace_uses(g, g->body, x, y); /* before the add reads x */
  Node *n = &g->nodes[add];
  n->inputs[0] = x;
  n->inputs[1] = g->nodes[k].outputs[0];
  n->outputs[0] = y;
  g->values[y].def = add;
  g->values[y].index = 0;
  if (!pass_insert_node(g, g->body, pos + 1, k) || !pass_insert_node(g, g->body, pos + 2, add))
    return diag_oom(c->diag, loc);
  c->changed = true;
  return IR_OK;
}

const Pass pass_test_perturb = {
    "test-perturb",
    "test-only (LATHE_TEST_PASSES=1): adds 1 to the value named by LATHE_TEST_PERTURB",
    "a verified graph",
    "nothing",
    run_test_perturb,
};

/* fuse_patterns.c — the layer-norm and GELU patterns, as exported at ONNX opset 13 (which has
 * no LayerNormalization or Gelu op), each into one `fused` op whose body is the matched nodes:
 *
 *   layer_norm  m = reduce_mean(x) over the last axis (keepdims); d = x - m;
 *               v = reduce_mean(pow(d, 2)) over it; y = d / sqrt(v + eps)
 *               [* gamma] [+ beta]                       (gamma, beta, eps constants)
 *   gelu        y = x * (erf(x / sqrt(2)) + 1) [* 0.5]   (x / sqrt(2) also as x * (1 / sqrt(2)),
 *               x * 0.5 also before the other mul is not matched)
 *
 * Every intermediate result must be used only inside the pattern. Softmax needs no pattern:
 * opset 13 exports it as one Softmax node.
 *
 * Requires: a verified graph, canonicalized (-O1), before the other fusions.
 * Invalidates: nothing. */
#include <math.h>
#include <string.h>

#include "passes/pass.h"

/* Everything a match needs to look at the region: use counts and the nodes reading a value. */
typedef struct Matcher {
  Graph *g;
  Region *r;
  const int *uses;
} Matcher;

/* The one node of the region reading v when v has exactly one use, of op `op`; else NULL. */
static Node *only_user(const Matcher *m, ValueId v, int op, NodeId *id) {
  if (m->uses[v] != 1) return NULL;
  for (int i = 0; i < m->r->nnodes; i++) {
    Node *n = &m->g->nodes[m->r->nodes[i]];
    for (int k = 0; k < n->ninputs; k++)
      if (n->inputs[k] == v) {
        *id = m->r->nodes[i];
        return n->op == op && n->noutputs == 1 ? n : NULL;
      }
  }
  return NULL;
}

/* True when n has operand a and a constant splat within 1e-4 (relative) of x as its other. */
static bool with_const(const Graph *g, const Node *n, ValueId a, double x) {
  if (n->ninputs != 2) return false;
  ValueId other = n->inputs[0] == a ? n->inputs[1] : n->inputs[1] == a ? n->inputs[0] : -1;
  if (other < 0 || !pass_const_def(g, other) || ir_type_numel(&g->values[other].type) != 1) return false;
  const Node *c = pass_const_def(g, other);
  float f;
  if (g->values[other].type.dtype != DT_F32) return false;
  memcpy(&f, c->data->data, 4);
  return fabs((double)f - x) <= 1e-4 * fabs(x);
}

/* True when n (of op), reading a, has any constant as its other operand. */
static bool with_any_const(const Graph *g, const Node *n, int op, ValueId a) {
  if (n->op != op || n->ninputs != 2) return false;
  ValueId other = n->inputs[0] == a ? n->inputs[1] : n->inputs[1] == a ? n->inputs[0] : -1;
  return other >= 0 && pass_const_def(g, other);
}

/* True when reduce_mean node n reduces exactly the last axis, keeping it. */
static bool over_last_axis(const Graph *g, const Node *n) {
  int count, rank = g->values[n->inputs[0]].type.rank;
  const int64_t *axes = ir_attr_ints(n, "axes", &count);
  return axes && count == 1 && (axes[0] == -1 || axes[0] == rank - 1) && ir_attr_int(n, "keepdims", 1) == 1;
}

/* Matches layer_norm from its first reduce_mean (node id); fills nodes (in order) and *n. */
static bool match_layer_norm(const Matcher *m, NodeId id, NodeId *nodes, int *n) {
  const Graph *g = m->g;
  const Node *mean = &g->nodes[id];
  if (mean->op != OP_REDUCE_MEAN || !over_last_axis(g, mean)) return false;
  ValueId x = mean->inputs[0];
  NodeId sub_id, pow_id, var_id, add_id, sqrt_id, div_id, more;
  const Node *sub = only_user(m, mean->outputs[0], OP_SUB, &sub_id);
  if (!sub || sub->inputs[0] != x || sub->inputs[1] != mean->outputs[0]) return false;
  ValueId d = sub->outputs[0];
  if (m->uses[d] != 2) return false;
  /* d's two users: pow(d, 2) and div(d, sqrt(...)), in either order in the region. */
  const Node *pw = NULL;
  pow_id = -1;
  for (int i = 0; i < m->r->nnodes && !pw; i++) {
    const Node *u = &g->nodes[m->r->nodes[i]];
    if (u->op == OP_POW && u->inputs[0] == d && with_const(g, u, d, 2.0)) { pw = u; pow_id = m->r->nodes[i]; }
  }
  if (!pw) return false;
  const Node *var = only_user(m, pw->outputs[0], OP_REDUCE_MEAN, &var_id);
  if (!var || !over_last_axis(g, var)) return false;
  const Node *add = only_user(m, var->outputs[0], OP_ADD, &add_id);
  if (!add || !with_any_const(g, add, OP_ADD, var->outputs[0])) return false;
  const Node *sq = only_user(m, add->outputs[0], OP_SQRT, &sqrt_id);
  if (!sq) return false;
  const Node *div = only_user(m, sq->outputs[0], OP_DIV, &div_id);
  if (!div || div->inputs[0] != d) return false;
  NodeId list[] = {id, sub_id, pow_id, var_id, add_id, sqrt_id, div_id};
  *n = 0;
  for (int i = 0; i < 7; i++) nodes[(*n)++] = list[i];
  ValueId y = div->outputs[0];
  const Node *scale = only_user(m, y, OP_MUL, &more);
  if (scale && with_any_const(g, scale, OP_MUL, y)) {
    nodes[(*n)++] = more;
    y = scale->outputs[0];
    const Node *shift = only_user(m, y, OP_ADD, &more);
    if (shift && with_any_const(g, shift, OP_ADD, y)) nodes[(*n)++] = more;
  }
  return true;
}

/* Matches gelu from its erf (node id); fills nodes (in order) and *n. */
static bool match_gelu(const Matcher *m, NodeId id, NodeId *nodes, int *n) {
  const Graph *g = m->g;
  const Node *erf = &g->nodes[id];
  if (erf->op != OP_ERF) return false;
  ValueId s = erf->inputs[0];
  if (g->values[s].kind != VAL_RESULT || m->uses[s] != 1) return false;
  NodeId scale_id = g->values[s].def, add_id, mul_id, half_id;
  const Node *scale = &g->nodes[scale_id];
  if (scale->ninputs != 2) return false;
  /* x / sqrt(2), or x * (1 / sqrt(2)) with the constant on either side */
  ValueId x = scale->inputs[0];
  if (scale->op == OP_MUL && pass_const_def(g, x)) x = scale->inputs[1];
  bool scaled = (scale->op == OP_DIV && scale->inputs[0] == x && with_const(g, scale, x, sqrt(2.0))) ||
                (scale->op == OP_MUL && with_const(g, scale, x, 1 / sqrt(2.0)));
  if (!scaled) return false;
  const Node *add = only_user(m, erf->outputs[0], OP_ADD, &add_id);
  if (!add || !with_const(g, add, erf->outputs[0], 1.0)) return false;
  const Node *mul = only_user(m, add->outputs[0], OP_MUL, &mul_id);
  if (!mul || !((mul->inputs[0] == x && mul->inputs[1] == add->outputs[0]) ||
                (mul->inputs[1] == x && mul->inputs[0] == add->outputs[0])))
    return false;
  if (!ir_type_equal(&g->values[mul->outputs[0]].type, &g->values[x].type)) return false;
  NodeId list[] = {scale_id, id, add_id, mul_id};
  *n = 0;
  for (int i = 0; i < 4; i++) nodes[(*n)++] = list[i];
  const Node *half = only_user(m, mul->outputs[0], OP_MUL, &half_id);
  if (half && with_const(g, half, mul->outputs[0], 0.5)) nodes[(*n)++] = half_id;
  return true;
}

static IrStatus run_fuse_patterns(Graph *g, PassCtx *c) {
  Matcher m = {g, g->body, NULL};
  IrStatus st = IR_OK;
  /* One match at a time: the region changes under each fusion, so the walk restarts after it. */
  for (bool again = true; again && st == IR_OK;) {
    again = false;
    int *uses = pass_use_counts(g, g->body);
    if (!uses) return diag_oom(c->diag, g->loc);
    m.uses = uses;
    for (int i = 0; i < g->body->nnodes && !again; i++) {
      NodeId nodes[16];
      int n = 0;
      const char *label = NULL;
      if (match_layer_norm(&m, g->body->nodes[i], nodes, &n)) label = "layer_norm";
      else if (match_gelu(&m, g->body->nodes[i], nodes, &n)) label = "gelu";
      if (!label) continue;
      /* The match lists its nodes in an order that runs (each after what it reads). */
      if (pass_fuse_nodes(g, g->body, nodes, n, label, c->diag) < 0) st = IR_ERR_INPUT;
      c->changed = true;
      again = true;
    }
    ir_free(uses);
  }
  return st;
}

const Pass pass_fuse_patterns = {
    "fuse-patterns",
    "fuses the opset-13 layer-norm and GELU chains into fused ops labelled layer_norm and gelu",
    "a verified graph, canonicalized, before the other fusions",
    "nothing",
    run_fuse_patterns,
};

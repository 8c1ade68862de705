/* rewrite.c — what the passes share to edit a graph: use counts, replacing uses, fresh names,
 * new constants, inserting and dropping nodes, and moving a chain of nodes into a fused op. */
#include <stdio.h>
#include <string.h>

#include "passes/pass.h"

int *pass_use_counts(const Graph *g, const Region *r) {
  int *uses = ir_calloc((size_t)g->nvalues + 1, sizeof *uses);
  if (!uses) return NULL;
  for (int i = 0; i < r->nnodes; i++) {
    const Node *n = &g->nodes[r->nodes[i]];
    for (int k = 0; k < n->ninputs; k++)
      if (n->inputs[k] >= 0) uses[n->inputs[k]]++;
  }
  for (int i = 0; i < r->nresults; i++)
    if (r->results[i] >= 0) uses[r->results[i]]++;
  return uses;
}

void pass_replace_uses(Graph *g, Region *r, ValueId from, ValueId to) {
  for (int i = 0; i < r->nnodes; i++) {
    Node *n = &g->nodes[r->nodes[i]];
    for (int k = 0; k < n->ninputs; k++)
      if (n->inputs[k] == from) n->inputs[k] = to;
  }
  for (int i = 0; i < r->nresults; i++)
    if (r->results[i] == from) r->results[i] = to;
}

const Node *pass_const_def(const Graph *g, ValueId v) {
  if (v < 0 || g->values[v].kind != VAL_RESULT) return NULL;
  const Node *n = &g->nodes[g->values[v].def];
  return n->op == OP_CONST && n->data && n->data->size == ir_type_bytes(&g->values[v].type) ? n : NULL;
}

bool pass_const_is_splat(const Graph *g, ValueId v, double x) {
  const Node *n = pass_const_def(g, v);
  const TensorType *t = &g->values[v].type;
  if (!n || t->layout || t->quant) return false;
  DType plain = ir_dtype_is_float(t->dtype) ? DT_F32 : t->dtype;
  int64_t numel = ir_type_numel(t);
  void *tmp = ir_malloc((size_t)(numel * ir_dtype_size(plain)) + 1);
  if (!tmp) return false;
  ir_tensor_unpack(t, n->data->data, plain, tmp);
  Tensor view = {ir_type_plain(t, plain), tmp};
  bool all = true;
  for (int64_t i = 0; all && i < numel; i++) all = op_get(&view, i) == x;
  ir_free(tmp);
  return all;
}

/* True when some value of g is named name. */
static bool name_taken(const Graph *g, const char *name) {
  for (int i = 0; i < g->nvalues; i++)
    if (g->values[i].name && strcmp(g->values[i].name, name) == 0) return true;
  return false;
}

const char *pass_fresh_name(Graph *g, const char *base) {
  if (!base || !*base) base = "t";
  if (!name_taken(g, base)) return ir_arena_strdup(&g->arena, base);
  size_t n = strlen(base) + 24;
  char *buf = ir_arena_alloc(&g->arena, n);
  if (!buf) return NULL;
  for (int k = 1;; k++) {
    snprintf(buf, n, "%s_%d", base, k);
    if (!name_taken(g, buf)) return buf;
  }
}

/* True when a const node of g names weight w. */
static bool weight_taken(const Graph *g, const char *w) {
  for (int i = 0; i < g->nnodes; i++)
    if (g->nodes[i].const_kind == CONST_WEIGHT && strcmp(g->nodes[i].weight, w) == 0) return true;
  return false;
}

const char *pass_fresh_weight(Graph *g, const char *base) {
  if (!weight_taken(g, base)) return ir_arena_strdup(&g->arena, base);
  size_t len = strlen(base) + 24;
  char *buf = ir_arena_alloc(&g->arena, len);
  if (!buf) return NULL;
  for (int k = 1;; k++) {
    snprintf(buf, len, "%s_%d", base, k);
    if (!weight_taken(g, buf)) return buf;
  }
}

NodeId pass_new_const(Graph *g, const char *base, const TensorType *type, IrBuffer *data, Loc loc, DiagSink *d) {
  const TensorType t = *type; /* type may point into g->values, which adding a value moves */
  const char *name = pass_fresh_name(g, base);
  const char *w = name && ir_type_numel(&t) > PASS_INLINE_MAX_ELEMENTS ? pass_fresh_weight(g, name) : NULL;
  NodeId id = name ? ir_graph_add_node(g, OP_CONST, 0, 1, loc) : -1;
  ValueId v = id >= 0 ? ir_graph_add_value(g, name, &t, VAL_RESULT, loc) : -1;
  if (ir_type_numel(&t) > PASS_INLINE_MAX_ELEMENTS && !w) v = -1;
  if (v < 0) {
    ir_buffer_unref(data);
    return diag_oom(d, loc), -1;
  }
  Node *n = &g->nodes[id];
  n->outputs[0] = v;
  g->values[v].def = id;
  n->data = data;
  n->const_kind = w ? CONST_WEIGHT : CONST_DENSE;
  n->weight = w;
  return id;
}

bool pass_insert_node(Graph *g, Region *r, int pos, NodeId id) {
  NodeId *nodes = ir_arena_alloc(&g->arena, sizeof(NodeId) * (size_t)(r->nnodes + 1));
  if (!nodes) return false;
  memcpy(nodes, r->nodes, sizeof(NodeId) * (size_t)pos);
  nodes[pos] = id;
  memcpy(nodes + pos + 1, r->nodes + pos, sizeof(NodeId) * (size_t)(r->nnodes - pos));
  r->nodes = nodes;
  r->nnodes++;
  return true;
}

void pass_remove_nodes(Region *r, const bool *dead) {
  int k = 0;
  for (int i = 0; i < r->nnodes; i++)
    if (!dead[r->nodes[i]]) r->nodes[k++] = r->nodes[i];
  r->nnodes = k;
}

/* Index of v in vals[0..n), or -1. */
static int find_value(const ValueId *vals, int n, ValueId v) {
  for (int i = 0; i < n; i++)
    if (vals[i] == v) return i;
  return -1;
}

/* A name for a value of the body: base unless a chain value already has it. */
static const char *body_name(Graph *g, const NodeId *nodes, int n, const char *base) {
  char buf[64];
  snprintf(buf, sizeof buf, "%s", base);
  for (int k = 1;; k++) {
    bool taken = false;
    for (int i = 0; i < n && !taken; i++) {
      const Node *node = &g->nodes[nodes[i]];
      for (int j = 0; j < node->noutputs && !taken; j++) {
        const char *s = g->values[node->outputs[j]].name;
        taken = s && strcmp(s, buf) == 0;
      }
    }
    if (!taken) return ir_arena_strdup(&g->arena, buf);
    snprintf(buf, sizeof buf, "%s_%d", base, k);
  }
}

NodeId pass_fuse_chain(Graph *g, Region *r, const NodeId *nodes, int n, const char *prefix, DiagSink *d) {
  char label[256];
  size_t at = (size_t)snprintf(label, sizeof label, "%s", prefix ? prefix : "");
  for (int i = 0; i < n && at + 1 < sizeof label; i++)
    at += (size_t)snprintf(label + at, sizeof label - at, "%s%s", at ? "_" : "", ir_ops[g->nodes[nodes[i]].op].name);
  return pass_fuse_nodes(g, r, nodes, n, label, d);
}

NodeId pass_fuse_nodes(Graph *g, Region *r, const NodeId *nodes, int n, const char *label, DiagSink *d) {
  IrArena *a = &g->arena;
  Loc loc = g->nodes[nodes[0]].loc;
  /* The operands: values read by the chain and defined outside it, in order of first use. */
  int cap = 0;
  for (int i = 0; i < n; i++) cap += g->nodes[nodes[i]].ninputs;
  ValueId *ext = ir_arena_alloc(a, sizeof(ValueId) * (size_t)(cap + 1));
  if (!ext) return diag_oom(d, loc), -1;
  int next = 0;
  for (int i = 0; i < n; i++) {
    const Node *node = &g->nodes[nodes[i]];
    for (int k = 0; k < node->ninputs; k++) {
      ValueId v = node->inputs[k];
      bool inside = g->values[v].kind == VAL_RESULT && find_value(nodes, i, g->values[v].def) >= 0;
      if (!inside && find_value(ext, next, v) < 0) ext[next++] = v;
    }
  }
  NodeId last = nodes[n - 1];
  ValueId result = g->nodes[last].outputs[0];
  NodeId fid = ir_graph_add_node(g, OP_FUSED, next, 1, loc);
  Region *body = ir_arena_alloc(a, sizeof *body);
  const char *label_copy = ir_arena_strdup(a, label);
  const char *inner_name = body_name(g, nodes, n, "y");
  TensorType rt = g->values[result].type; /* adding values moves g->values */
  ValueId inner = inner_name ? ir_graph_add_value(g, inner_name, &rt, VAL_RESULT, loc) : -1;
  if (fid < 0 || !body || !label_copy || inner < 0) return diag_oom(d, loc), -1;
  body->params = ir_arena_alloc(a, sizeof(ValueId) * (size_t)(next + 1));
  body->nodes = ir_arena_memdup(a, nodes, sizeof(NodeId) * (size_t)n);
  body->results = ir_arena_alloc(a, sizeof(ValueId));
  if (!body->params || !body->nodes || !body->results) return diag_oom(d, loc), -1;
  for (int i = 0; i < next; i++) {
    char base[32];
    snprintf(base, sizeof base, "p%d", i);
    const char *pname = body_name(g, nodes, n, base);
    TensorType pt = g->values[ext[i]].type;
    ValueId p = pname ? ir_graph_add_value(g, pname, &pt, VAL_PARAM, loc) : -1;
    if (p < 0) return diag_oom(d, loc), -1;
    g->values[p].index = i;
    body->params[i] = p;
    g->nodes[fid].inputs[i] = ext[i];
  }
  /* Inside the body, outer values are read through the parameters. */
  for (int i = 0; i < n; i++) {
    Node *node = &g->nodes[nodes[i]];
    for (int k = 0; k < node->ninputs; k++) {
      int e = find_value(ext, next, node->inputs[k]);
      if (e >= 0) node->inputs[k] = body->params[e];
    }
  }
  g->nodes[last].outputs[0] = inner;
  g->values[inner].def = last;
  body->nparams = next;
  body->nnodes = n;
  body->results[0] = inner;
  body->nresults = 1;
  body->result_loc = loc;
  body->parent = r;
  Node *f = &g->nodes[fid];
  f->body = body;
  f->label = label_copy;
  f->outputs[0] = result;
  g->values[result].def = fid;
  g->values[result].index = 0;
  /* The fused op takes the last node's place; the others leave the region. */
  for (int i = 0; i < r->nnodes; i++)
    if (r->nodes[i] == last) r->nodes[i] = fid;
  int k = 0;
  for (int i = 0; i < r->nnodes; i++)
    if (find_value(nodes, n - 1, r->nodes[i]) < 0) r->nodes[k++] = r->nodes[i];
  r->nnodes = k;
  return fid;
}

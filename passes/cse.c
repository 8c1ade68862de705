/* cse.c — common-subexpression elimination: of two nodes of the graph's body with the same
 * op, attributes, operands and result types (const nodes: the same weight, or the same dense
 * bytes), the later one's results are replaced by the earlier one's. Nodes are hashed on op,
 * attributes and operands and looked up in an open-addressing table; the walk is in program
 * order, so the first of equal nodes is always the one kept.
 *
 * Requires: a verified graph.
 * Invalidates: nothing (the replaced nodes become dead: dce removes them). */
#include <string.h>

#include "passes/pass.h"

/* FNV-1a over n bytes, continuing from h. */
static uint64_t hash_bytes(uint64_t h, const void *p, size_t n) {
  const unsigned char *b = p;
  for (size_t i = 0; i < n; i++) h = (h ^ b[i]) * 0x100000001b3ull;
  return h;
}

/* True when two attributes have the same name, kind and value (floats bit for bit). */
static bool attr_equal(const Attr *a, const Attr *b) {
  if (a->kind != b->kind || strcmp(a->name, b->name) != 0) return false;
  switch (a->kind) {
  case ATTR_INT: return a->u.i == b->u.i;
  case ATTR_FLOAT: return memcmp(&a->u.f, &b->u.f, sizeof a->u.f) == 0;
  case ATTR_STR: return strcmp(a->u.s, b->u.s) == 0;
  case ATTR_INTS: return a->n == b->n && memcmp(a->u.ints, b->u.ints, sizeof(int64_t) * (size_t)a->n) == 0;
  case ATTR_FLOATS: return a->n == b->n && memcmp(a->u.floats, b->u.floats, sizeof(double) * (size_t)a->n) == 0;
  }
  return false;
}

/* True when nodes a and b compute the same results. */
static bool same_node(const Graph *g, const Node *a, const Node *b) {
  if (a->op != b->op || a->ninputs != b->ninputs || a->noutputs != b->noutputs || a->nattrs != b->nattrs)
    return false;
  if (a->body || b->body) return false;
  for (int i = 0; i < a->ninputs; i++)
    if (a->inputs[i] != b->inputs[i]) return false;
  for (int i = 0; i < a->noutputs; i++)
    if (!ir_type_equal(&g->values[a->outputs[i]].type, &g->values[b->outputs[i]].type)) return false;
  for (int i = 0; i < a->nattrs; i++) {
    const Attr *other = ir_attr(b, a->attrs[i].name);
    if (!other || !attr_equal(&a->attrs[i], other)) return false;
  }
  if (a->op == OP_CONST) {
    if (a->const_kind == CONST_WEIGHT && b->const_kind == CONST_WEIGHT) return strcmp(a->weight, b->weight) == 0;
    return a->data && b->data && a->data->size == b->data->size &&
           memcmp(a->data->data, b->data->data, (size_t)a->data->size) == 0;
  }
  return true;
}

/* A hash of what same_node compares (attributes by name and kind only, order-free). */
static uint64_t hash_node(const Graph *g, const Node *n) {
  uint64_t h = hash_bytes(0xcbf29ce484222325ull, &n->op, sizeof n->op);
  h = hash_bytes(h, n->inputs, sizeof(ValueId) * (size_t)n->ninputs);
  uint64_t attrs = 0;
  for (int i = 0; i < n->nattrs; i++) attrs += hash_bytes(0xcbf29ce484222325ull, n->attrs[i].name, strlen(n->attrs[i].name));
  h = hash_bytes(h, &attrs, sizeof attrs);
  if (n->op == OP_CONST && n->const_kind == CONST_WEIGHT) h = hash_bytes(h, n->weight, strlen(n->weight));
  else if (n->op == OP_CONST && n->data) h = hash_bytes(h, n->data->data, (size_t)(n->data->size < 256 ? n->data->size : 256));
  (void)g;
  return h;
}

static IrStatus run_cse(Graph *g, PassCtx *c) {
  Region *r = g->body;
  int cap = 16;
  while (cap < 2 * r->nnodes) cap *= 2;
  NodeId *table = ir_malloc(sizeof(NodeId) * (size_t)cap);
  bool *dead = ir_calloc((size_t)g->nnodes + 1, sizeof *dead);
  if (!table || !dead) {
    ir_free(table);
    ir_free(dead);
    return diag_oom(c->diag, g->loc);
  }
  for (int i = 0; i < cap; i++) table[i] = -1;
  for (int i = 0; i < r->nnodes; i++) {
    NodeId id = r->nodes[i];
    const Node *n = &g->nodes[id];
    if (n->body) continue;
    size_t slot = (size_t)hash_node(g, n) & (size_t)(cap - 1);
    while (table[slot] >= 0 && !same_node(g, &g->nodes[table[slot]], n)) slot = (slot + 1) & (size_t)(cap - 1);
    if (table[slot] < 0) {
      table[slot] = id;
      continue;
    }
    const Node *keep = &g->nodes[table[slot]];
    /* A result the kept node leaves unnamed ("_") cannot take over a used one. */
    bool named = true;
    for (int k = 0; k < n->noutputs; k++)
      named &= !g->values[n->outputs[k]].name || g->values[keep->outputs[k]].name;
    if (!named) continue;
    for (int k = 0; k < n->noutputs; k++) pass_replace_uses(g, r, n->outputs[k], keep->outputs[k]);
    dead[id] = true;
    c->changed = true;
  }
  pass_remove_nodes(r, dead);
  ir_free(table);
  ir_free(dead);
  return IR_OK;
}

const Pass pass_cse = {
    "cse",
    "merges nodes with the same op, attributes, operands and result types",
    "a verified graph",
    "nothing",
    run_cse,
};

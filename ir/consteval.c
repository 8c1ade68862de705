/* consteval.c — constant evaluation through the reference interpreter. A node is evaluated by
 * copying it into a one-node graph whose inputs are its operands' types, verifying that graph
 * and running it with the constants' data as inputs: the interpreter stays the one place that
 * knows how ops run, and the verifier the one place that checks a node. */
#include "ir/consteval.h"

#include <string.h>

#include "ir/interp.h"
#include "ir/verify.h"

bool ir_node_inputs_const(const Graph *g, NodeId id) {
  const Node *n = &g->nodes[id];
  for (int i = 0; i < n->ninputs; i++) {
    ValueId v = n->inputs[i];
    if (v < 0 || v >= g->nvalues || g->values[v].kind != VAL_RESULT) return false;
    const Node *def = &g->nodes[g->values[v].def];
    if (def->op != OP_CONST || !def->data || def->data->size != ir_type_bytes(&g->values[v].type)) return false;
  }
  return true;
}

IrStatus ir_infer_node(Graph *g, NodeId id, DiagSink *d) {
  Node *n = &g->nodes[id];
  const OpInfo *info = &ir_ops[n->op];
  if (n->ninputs > IR_MAX_OPERANDS || n->noutputs > IR_MAX_RESULTS)
    return IR_INTERNAL(d, "ir_infer_node: too many operands or results");
  const TensorType *in[IR_MAX_OPERANDS];
  TensorType out[IR_MAX_RESULTS];
  for (int i = 0; i < n->ninputs; i++) in[i] = &g->values[n->inputs[i]].type;
  for (int i = 0; i < n->noutputs; i++) out[i] = g->values[n->outputs[i]].type;
  InferCtx c = {g, n, in, n->ninputs, out, n->noutputs, d};
  int errors = d->errors;
  if (!info->impl->infer(&c)) {
    if (d->errors == errors) diag_error(d, n->loc, "%s: invalid operands", info->name);
    return IR_ERR_INPUT;
  }
  for (int i = 0; i < n->noutputs; i++) g->values[n->outputs[i]].type = out[i];
  return IR_OK;
}

/* Builds a graph holding a copy of node n alone: one input per operand (typed as the
 * operand), one output per result. Attributes are copied (the verifier may convert them);
 * their arrays are borrowed from g. Returns NULL when out of memory. */
static Graph *one_node_graph(const Graph *g, const Node *n) {
  Graph *t = ir_graph_new();
  if (!t) return NULL;
  IrArena *a = &t->arena;
  t->name = "const_eval";
  t->loc = n->loc;
  NodeId m = ir_graph_add_node(t, n->op, n->ninputs, n->noutputs, n->loc);
  Region *r = t->body;
  r->params = ir_arena_alloc(a, sizeof(ValueId) * (size_t)(n->ninputs + 1));
  r->results = ir_arena_alloc(a, sizeof(ValueId) * (size_t)(n->noutputs + 1));
  r->nodes = ir_arena_alloc(a, sizeof(NodeId));
  t->output_names = ir_arena_alloc(a, sizeof(char *) * (size_t)(n->noutputs + 1));
  t->output_locs = ir_arena_alloc(a, sizeof(Loc) * (size_t)(n->noutputs + 1));
  t->output_types = ir_arena_alloc(a, sizeof(TensorType) * (size_t)(n->noutputs + 1));
  Attr *attrs = n->nattrs ? ir_arena_memdup(a, n->attrs, sizeof(Attr) * (size_t)n->nattrs) : NULL;
  if (m < 0 || !r->params || !r->results || !r->nodes || !t->output_names || !t->output_locs || !t->output_types ||
      (n->nattrs && !attrs)) {
    ir_graph_free(t);
    return NULL;
  }
  for (int i = 0; i < n->ninputs; i++) {
    ValueId v = ir_graph_add_value(t, NULL, &g->values[n->inputs[i]].type, VAL_INPUT, n->loc);
    if (v < 0) { ir_graph_free(t); return NULL; }
    t->values[v].index = i;
    r->params[i] = v;
    t->nodes[m].inputs[i] = v;
  }
  for (int i = 0; i < n->noutputs; i++) {
    const Value *src = &g->values[n->outputs[i]];
    ValueId v = ir_graph_add_value(t, src->name, &src->type, VAL_RESULT, src->loc);
    if (v < 0) { ir_graph_free(t); return NULL; }
    t->values[v].def = m;
    t->values[v].index = i;
    t->nodes[m].outputs[i] = v;
    r->results[i] = v;
    t->output_names[i] = src->name ? src->name : "result";
    t->output_locs[i] = src->loc;
    t->output_types[i] = src->type;
  }
  t->nodes[m].attrs = attrs;
  t->nodes[m].nattrs = n->nattrs;
  t->nodes[m].label = n->label;
  r->nparams = n->ninputs;
  r->nresults = n->noutputs;
  r->nodes[0] = m;
  r->nnodes = 1;
  return t;
}

IrStatus ir_const_eval(const Graph *g, NodeId id, IrBuffer **results, DiagSink *d) {
  const Node *n = &g->nodes[id];
  for (int i = 0; i < n->noutputs; i++) results[i] = NULL;
  if (n->op == OP_CONST || n->body || !ir_node_inputs_const(g, id)) {
    diag_error(d, n->loc, "%s cannot be evaluated as a constant", ir_ops[n->op].name);
    return IR_ERR_USAGE;
  }
  if (n->ninputs > IR_MAX_OPERANDS || n->noutputs > IR_MAX_RESULTS)
    return IR_INTERNAL(d, "ir_const_eval: too many operands or results");
  Graph *t = one_node_graph(g, n);
  if (!t) return diag_oom(d, n->loc);
  IrStatus st = ir_verify(t, d);
  const void *ins[IR_MAX_OPERANDS + 1];
  void *outs[IR_MAX_RESULTS + 1];
  for (int i = 0; st == IR_OK && i < n->ninputs; i++) ins[i] = g->nodes[g->values[n->inputs[i]].def].data->data;
  for (int i = 0; st == IR_OK && i < n->noutputs; i++) {
    results[i] = ir_buffer_new(ir_type_bytes(&g->values[n->outputs[i]].type));
    if (!results[i]) st = diag_oom(d, n->loc);
    else outs[i] = results[i]->data;
  }
  if (st == IR_OK) st = ir_interp_run(t, ins, outs, d);
  ir_graph_free(t);
  if (st != IR_OK)
    for (int i = 0; i < n->noutputs; i++) {
      ir_buffer_unref(results[i]);
      results[i] = NULL;
    }
  return st;
}

IrStatus ir_const_eval_node(Graph *g, NodeId id, DiagSink *d) {
  Node *n = &g->nodes[id];
  if (n->noutputs != 1) {
    diag_error(d, n->loc, "%s has %d results: evaluate it with ir_const_eval", ir_ops[n->op].name, n->noutputs);
    return IR_ERR_USAGE;
  }
  IrBuffer *data;
  IrStatus st = ir_const_eval(g, id, &data, d);
  if (st != IR_OK) return st;
  n = &g->nodes[id];
  n->op = OP_CONST;
  n->ninputs = 0;
  n->attrs = NULL;
  n->nattrs = 0;
  n->label = NULL;
  n->const_kind = CONST_DENSE;
  n->weight = NULL;
  n->data = data;
  return IR_OK;
}

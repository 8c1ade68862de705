/* interp.c — the reference interpreter. Each node's inputs are unpacked into plain row-major
 * form (16-bit floats widened to f32), its reference kernel runs, and its results are packed
 * back into their declared physical form. Slow and obviously correct by design. */
#include "ir/interp.h"

#include <string.h>

typedef struct Interp {
  const Graph *g;
  DiagSink *d;
  void **store;   /* per ValueId: the value's bytes in physical form, or NULL */
  bool *owned;    /* per ValueId: store[v] was allocated here */
} Interp;

/* The element type a kernel sees for dtype t: floats compute in f32. */
static DType plain_dtype(DType t) { return ir_dtype_is_float(t) ? DT_F32 : t; }

/* True when the physical form of t is already the plain form a kernel reads. */
static bool is_plain(const TensorType *t) { return !t->layout && plain_dtype(t->dtype) == t->dtype; }

/* Bytes of the plain form of t. */
static int64_t plain_bytes(const TensorType *t) {
  return ir_type_numel(t) * ir_dtype_size(plain_dtype(t->dtype));
}

/* Makes a plain view of value v: its storage itself when already plain, else a new copy
 * (*tmp set to it, to be freed). */
static IrStatus plain_view(Interp *it, ValueId v, Tensor *out, void **tmp) {
  const TensorType *t = &it->g->values[v].type;
  *tmp = NULL;
  out->type = ir_type_plain(t, plain_dtype(t->dtype));
  if (is_plain(t)) { out->data = it->store[v]; return IR_OK; }
  *tmp = ir_malloc((size_t)plain_bytes(t) + 1);
  if (!*tmp) return diag_oom(it->d, it->g->values[v].loc);
  ir_tensor_unpack(t, it->store[v], out->type.dtype, *tmp);
  out->data = *tmp;
  return IR_OK;
}

/* Allocates zeroed physical storage for value v. */
static IrStatus alloc_value(Interp *it, ValueId v) {
  const TensorType *t = &it->g->values[v].type;
  if (it->owned[v]) ir_free(it->store[v]);
  it->store[v] = ir_calloc(1, (size_t)ir_type_bytes(t) + 1);
  it->owned[v] = it->store[v] != NULL;
  return it->store[v] ? IR_OK : diag_oom(it->d, it->g->values[v].loc);
}

/* Runs one node: unpack operands, run the kernel, pack results. */
static IrStatus run_node(Interp *it, const Node *n) {
  const Graph *g = it->g;
  Tensor *in = ir_calloc((size_t)n->ninputs + 1, sizeof *in);
  Tensor *out = ir_calloc((size_t)n->noutputs + 1, sizeof *out);
  void **in_tmp = ir_calloc((size_t)n->ninputs + 1, sizeof *in_tmp);
  IrStatus st = IR_OK;
  int nin = 0, nout = 0;
  if (!in || !out || !in_tmp) {
    ir_free(in); ir_free(out); ir_free(in_tmp);
    return diag_oom(it->d, n->loc);
  }
  for (; nin < n->ninputs && st == IR_OK; nin++) st = plain_view(it, n->inputs[nin], &in[nin], &in_tmp[nin]);
  for (; nout < n->noutputs && st == IR_OK; nout++) {
    const TensorType *t = &g->values[n->outputs[nout]].type;
    out[nout].type = ir_type_plain(t, plain_dtype(t->dtype));
    out[nout].data = ir_calloc(1, (size_t)plain_bytes(t) + 1);
    if (!out[nout].data) st = diag_oom(it->d, n->loc);
  }
  if (st == IR_OK) {
    EvalCtx c = {g, n, in, n->ninputs, out, n->noutputs, it->d, it};
    st = ir_ops[n->op].impl->eval(&c);
  }
  for (int i = 0; i < nout && st == IR_OK; i++) {
    ValueId v = n->outputs[i];
    st = alloc_value(it, v);
    if (st == IR_OK) ir_tensor_pack(&g->values[v].type, out[i].data, out[i].type.dtype, it->store[v]);
  }
  for (int i = 0; i < nin; i++) ir_free(in_tmp[i]);
  for (int i = 0; i < nout; i++) ir_free(out[i].data);
  ir_free(in); ir_free(out); ir_free(in_tmp);
  return st;
}

/* Runs the nodes of region r in order. */
static IrStatus run_region_nodes(Interp *it, const Region *r) {
  for (int i = 0; i < r->nnodes; i++) {
    IrStatus st = run_node(it, &it->g->nodes[r->nodes[i]]);
    if (st != IR_OK) return st;
  }
  return IR_OK;
}

IrStatus ir_interp_region(Interp *it, const Region *r, const Tensor *in, Tensor *out) {
  for (int i = 0; i < r->nparams; i++) {
    ValueId v = r->params[i];
    IrStatus st = alloc_value(it, v);
    if (st != IR_OK) return st;
    ir_tensor_pack(&it->g->values[v].type, in[i].data, in[i].type.dtype, it->store[v]);
  }
  IrStatus st = run_region_nodes(it, r);
  for (int i = 0; i < r->nresults && st == IR_OK; i++) {
    ValueId v = r->results[i];
    ir_tensor_unpack(&it->g->values[v].type, it->store[v], out[i].type.dtype, out[i].data);
  }
  return st;
}

IrStatus ir_interp_run(const Graph *g, const void *const *inputs, void *const *outputs, DiagSink *d) {
  Interp it = {g, d, NULL, NULL};
  it.store = ir_calloc((size_t)g->nvalues + 1, sizeof *it.store);
  it.owned = ir_calloc((size_t)g->nvalues + 1, sizeof *it.owned);
  IrStatus st = IR_OK;
  if (!it.store || !it.owned) st = diag_oom(d, g->loc);
  for (int i = 0; st == IR_OK && i < g->body->nparams; i++)
    it.store[g->body->params[i]] = (void *)inputs[i];
  if (st == IR_OK) st = run_region_nodes(&it, g->body);
  for (int i = 0; st == IR_OK && i < g->body->nresults; i++) {
    ValueId v = g->body->results[i];
    memcpy(outputs[i], it.store[v], (size_t)ir_type_bytes(&g->values[v].type));
  }
  for (int v = 0; it.owned && v < g->nvalues; v++)
    if (it.owned[v]) ir_free(it.store[v]);
  ir_free(it.store);
  ir_free(it.owned);
  return st;
}

/* lower.c — lowering a graph to loop nests: the table of LowerFns indexed by op, the driver
 * that places buffers (inputs, outputs, weights; workspace offsets come from lower_place.c)
 * and walks the nodes, the
 * structural ops (const, fused) and the helpers the family files share. */
#include "codegen/lower.h"
#include "ir/printer.h"

#include <string.h>

static IrStatus lower_const(LowerCtx *c, const Node *n);
static IrStatus lower_fused(LowerCtx *c, const Node *n);

/* One row per op that has a lowering; a missing row means "not lowered yet". */
static const LowerFn lower_table[OP_COUNT] = {
    [OP_CONST] = lower_const,
    [OP_FUSED] = lower_fused,
    [OP_REORDER] = cg_lower_alias,
    [OP_ADD] = cg_lower_binary,
    [OP_SUB] = cg_lower_binary,
    [OP_MUL] = cg_lower_binary,
    [OP_DIV] = cg_lower_binary,
    [OP_RELU] = cg_lower_unary,
    [OP_SIGMOID] = cg_lower_unary,
    [OP_TANH] = cg_lower_unary,
    [OP_CLIP] = cg_lower_clip,
    [OP_ABS] = cg_lower_unary,
    [OP_NEG] = cg_lower_unary,
    [OP_EXP] = cg_lower_unary,
    [OP_LOG] = cg_lower_unary,
    [OP_SQRT] = cg_lower_unary,
    [OP_RECIPROCAL] = cg_lower_unary,
    [OP_ERF] = cg_lower_unary,
    [OP_GELU] = cg_lower_unary,
    [OP_HARD_SWISH] = cg_lower_unary,
    [OP_LEAKY_RELU] = cg_lower_unary,
    [OP_HARD_SIGMOID] = cg_lower_unary,
    [OP_POW] = cg_lower_binary,
    [OP_MIN] = cg_lower_binary,
    [OP_MAX] = cg_lower_binary,
    [OP_EQUAL] = cg_lower_binary,
    [OP_WHERE] = cg_lower_where,
    [OP_CAST] = cg_lower_cast,
    [OP_GEMM] = cg_lower_gemm,
    [OP_MATMUL] = cg_lower_matmul,
    [OP_CONV2D] = cg_lower_conv2d,
    [OP_CONV_TRANSPOSE] = cg_lower_conv_transpose,
    [OP_MAXPOOL] = cg_lower_maxpool,
    [OP_AVERAGEPOOL] = cg_lower_averagepool,
    [OP_GLOBAL_AVERAGE_POOL] = cg_lower_global_average_pool,
    [OP_BATCH_NORM] = cg_lower_batch_norm,
    [OP_SOFTMAX] = cg_lower_softmax,
    [OP_LOG_SOFTMAX] = cg_lower_softmax,
    [OP_LAYER_NORM] = cg_lower_layer_norm,
    [OP_REDUCE_SUM] = cg_lower_reduce,
    [OP_REDUCE_MEAN] = cg_lower_reduce,
    [OP_REDUCE_MAX] = cg_lower_reduce,
    [OP_REDUCE_MIN] = cg_lower_reduce,
    [OP_RESHAPE] = cg_lower_alias,
    [OP_FLATTEN] = cg_lower_alias,
    [OP_TRANSPOSE] = cg_lower_transpose,
    [OP_CONCAT] = cg_lower_concat,
    [OP_SQUEEZE] = cg_lower_alias,
    [OP_UNSQUEEZE] = cg_lower_alias,
    [OP_EXPAND] = cg_lower_expand,
    [OP_SLICE] = cg_lower_slice,
    [OP_SPLIT] = cg_lower_split,
    [OP_PAD] = cg_lower_pad,
    [OP_GATHER] = cg_lower_gather,
    [OP_RESIZE] = cg_lower_resize,
    [OP_LSTM] = cg_lower_lstm,
    [OP_GRU] = cg_lower_gru,
};

bool cg_lower_has(int op) { return op >= 0 && op < OP_COUNT && lower_table[op] != NULL; }

/* ---- helpers for the family files ------------------------------------------------------------- */

int cg_in(LowerCtx *c, ValueId v) { return c->buf_of[v]; }

int cg_out(LowerCtx *c, ValueId v) {
  if (c->buf_of[v] < 0) c->buf_of[v] = cg_place_shared(c, v);
  if (c->buf_of[v] < 0) {
    const Value *val = &c->g->values[v];
    c->buf_of[v] = cg_nest_add_buf(c->p, NEST_BUF_WORKSPACE, val->name, val->type.dtype, cg_phys_numel(&val->type),
                                   0, NULL);
  }
  return c->buf_of[v];
}

int cg_scratch(LowerCtx *c, const Node *n, const char *what, DType t, int64_t numel) {
  const char *name = c->g->values[n->outputs[0]].name;
  char buf[160];
  snprintf(buf, sizeof buf, "%.120s.%s", name ? name : "_", what);
  return cg_nest_add_buf(c->p, NEST_BUF_WORKSPACE, buf, t, numel, 0, NULL);
}

NestKernel *cg_kernel_for(LowerCtx *c, const Node *n) {
  char op[160];
  if (n->op == OP_FUSED) snprintf(op, sizeof op, "fused %.100s", n->label ? n->label : "");
  else snprintf(op, sizeof op, "%s", ir_ops[n->op].name);
  return cg_nest_kernel(c->p, ir_ops[n->op].name, op, n->loc);
}

NestExpr *cg_v(LowerCtx *c, int var) { return var < 0 ? cg_idx(c->p, 0) : cg_var(c->p, var); }

NestBlock *cg_loops(LowerCtx *c, NestKernel *k, NestBlock *b, const TensorType *t, int *vars) {
  static const char *const names[] = {"i", "j", "k", "l", "m", "n", "o", "p"};
  bool outer = b == &k->body && ir_type_numel(t) >= CG_PARALLEL_MIN;
  for (int d = 0; d < t->rank; d++) {
    vars[d] = -1;
    if (t->dims[d] == 1) continue;
    vars[d] = cg_nest_var(c->p, k, names[d]);
    NestStmt *s = cg_loop(c->p, b, vars[d], cg_idx(c->p, 0), cg_idx(c->p, t->dims[d]));
    if (!s) return NULL;
    s->u.loop.parallel = outer;
    outer = false;
    b = &s->u.loop.body;
  }
  return b;
}

NestExpr *cg_index(LowerCtx *c, const TensorType *t, const int *vars) {
  NestExpr *e = cg_idx(c->p, 0);
  int64_t stride = 1;
  for (int d = t->rank - 1; d >= 0; d--) {
    if (vars[d] >= 0) e = cg_add(c->p, e, cg_mulc(c->p, cg_var(c->p, vars[d]), stride));
    stride *= t->dims[d];
  }
  return e;
}

NestExpr *cg_bcast_index(LowerCtx *c, const TensorType *from, const TensorType *to, const int *vars) {
  NestExpr *idx[IR_MAX_RANK];
  for (int d = 0; d < to->rank; d++) idx[d] = cg_v(c, vars[d]);
  return cg_bcast_at(c, from, to, idx);
}

NestExpr *cg_bcast_at(LowerCtx *c, const TensorType *from, const TensorType *to, NestExpr *const *idx) {
  NestExpr *e = cg_idx(c->p, 0);
  int64_t stride = 1;
  for (int d = from->rank - 1; d >= 0; d--) {
    int od = d + to->rank - from->rank;
    if (from->dims[d] != 1) e = cg_add(c->p, e, cg_mulc(c->p, idx[od], stride));
    stride *= from->dims[d];
  }
  return e;
}

IrStatus cg_copy(LowerCtx *c, Loc loc, int dst, int src, int64_t numel) {
  NestKernel *k = cg_nest_kernel(c->p, "copy", "copy", loc);
  if (!k) return cg_checked(c, loc);
  TensorType flat = {.dtype = c->p->bufs[dst].dtype, .rank = 1, .dims = {numel}};
  int var;
  NestBlock *b = cg_loops(c, k, &k->body, &flat, &var);
  if (b) cg_store(c->p, b, dst, cg_v(c, var), cg_load(c->p, src, cg_v(c, var)));
  return cg_checked(c, loc);
}

IrStatus cg_checked(LowerCtx *c, Loc loc) {
  return c->p->arena.failed ? diag_oom(c->d, loc) : IR_OK;
}

NestExpr *cg_const(LowerCtx *c, DType t, double v) {
  return ir_dtype_is_float(t) ? cg_const_f(c->p, t, v) : cg_const_i(c->p, t, (int64_t)v);
}

void cg_taps(LowerCtx *c, NestExpr *start, int64_t k, int64_t dil, int64_t in, NestExpr **lo, NestExpr **hi) {
  NestProgram *p = c->p;
  /* t >= ceil(-start / dil) and t < ceil((in - start) / dil), within [0, k). */
  NestExpr *neg = cg_mulc(p, start, -1), *a = cg_add(p, neg, cg_idx(p, dil - 1)), *b = cg_add(p, neg, cg_idx(p, in + dil - 1));
  if (dil != 1) {
    a = cg_bin(p, NEST_FLOORDIV, a, cg_idx(p, dil));
    b = cg_bin(p, NEST_FLOORDIV, b, cg_idx(p, dil));
  }
  *lo = cg_bin(p, NEST_MAX, cg_idx(p, 0), a);
  *hi = cg_bin(p, NEST_MIN, cg_idx(p, k), b);
}

/* ---- structural ops ---------------------------------------------------------------------------- */

/* A weight: its bytes go into the blob. */
static IrStatus lower_const(LowerCtx *c, const Node *n) {
  const Value *v = &c->g->values[n->outputs[0]];
  if (!n->data || n->data->size != ir_type_bytes(&v->type)) {
    diag_error(c->d, n->loc, "const %%%s has no data loaded (were the weights attached?)", v->name);
    return IR_ERR_INPUT;
  }
  c->buf_of[n->outputs[0]] =
      cg_nest_add_buf(c->p, NEST_BUF_WEIGHT, v->name, v->type.dtype, cg_phys_numel(&v->type), 0, n->data->data);
  return c->buf_of[n->outputs[0]] < 0 ? diag_oom(c->d, n->loc) : IR_OK;
}

static IrStatus lower_region(LowerCtx *c, const Region *r);

/* Result i of the region is written straight into the fused node's result buffer when it is
 * a result of a body node that has no buffer yet; otherwise it is copied there afterwards. */
static IrStatus lower_fused(LowerCtx *c, const Node *n) {
  const Region *r = n->body;
  for (int i = 0; i < r->nparams; i++) c->buf_of[r->params[i]] = cg_in(c, n->inputs[i]);
  for (int i = 0; i < r->nresults; i++) {
    ValueId v = r->results[i];
    const Value *val = &c->g->values[v];
    if (val->kind == VAL_RESULT && c->buf_of[v] < 0 && c->g->nodes[val->def].op != OP_CONST)
      c->buf_of[v] = cg_out(c, n->outputs[i]);
  }
  cg_place_body(c, n);
  IrStatus st = lower_region(c, r);
  for (int i = 0; st == IR_OK && i < r->nresults; i++) {
    int dst = cg_out(c, n->outputs[i]), src = cg_in(c, r->results[i]);
    if (dst < 0) return diag_oom(c->d, n->loc);
    if (dst != src) st = cg_copy(c, n->loc, dst, src, c->p->bufs[dst].numel);
  }
  return st;
}

/* ---- the driver --------------------------------------------------------------------------------- */

/* True when the compiled backends handle values of type t inside the graph: not quantized,
 * not a 16-bit float (blocked layouts are packed and unpacked around each node). */
static bool type_lowerable(const TensorType *t) {
  return !t->quant && t->dtype != DT_F16 && t->dtype != DT_BF16;
}

/* True for types the signature may have: lowerable and plain row-major (docs/abi.md). */
static bool signature_lowerable(const TensorType *t) { return type_lowerable(t) && !t->layout; }

/* Checks that node n's op has a lowering and its values have lowerable types. */
static IrStatus check_node(LowerCtx *c, const Node *n) {
  if (!cg_lower_has(n->op)) {
    diag_error(c->d, n->loc, "op %s has no lowering yet (the compiled backends cannot run it)", ir_ops[n->op].name);
    return IR_ERR_INPUT;
  }
  for (int i = 0; i < n->ninputs + n->noutputs; i++) {
    ValueId v = i < n->ninputs ? n->inputs[i] : n->outputs[i - n->ninputs];
    const TensorType *t = cg_type(c, v);
    if (type_lowerable(t)) continue;
    char buf[256];
    diag_error(c->d, n->loc, "op %s: %%%s has type %s; the compiled backends do not handle %s yet",
               ir_ops[n->op].name, c->g->values[v].name ? c->g->values[v].name : "_", ir_type_str(t, buf, sizeof buf),
               t->quant ? "quantized tensors" : "f16 and bf16");
    return IR_ERR_INPUT;
  }
  return IR_OK;
}

/* Lowers the nodes of region r in order (the graph's body one step of the plan at a time). */
static IrStatus lower_region(LowerCtx *c, const Region *r) {
  for (int i = 0; i < r->nnodes; i++) {
    const Node *n = &c->g->nodes[r->nodes[i]];
    if (r == c->g->body) cg_place_step_begin(c, i);
    IrStatus st = check_node(c, n);
    /* const and fused move physical data as it is; fused bodies unpack and pack their own. */
    if (st == IR_OK) st = n->op == OP_CONST || n->op == OP_FUSED ? lower_table[n->op](c, n)
                                                                 : cg_lower_blocked(c, n, lower_table[n->op]);
    if (st == IR_OK) st = cg_checked(c, n->loc);
    if (st == IR_OK && r == c->g->body) st = cg_place_step_end(c, n);
    if (st != IR_OK) return st;
  }
  return IR_OK;
}

/* Places the graph's inputs and outputs; an output that is a result of a computing node is
 * written in place, the others are copied at the end (lower_graph_outputs). */
static IrStatus place_signature(LowerCtx *c) {
  const Graph *g = c->g;
  for (int i = 0; i < g->body->nparams; i++) {
    const Value *v = &g->values[g->body->params[i]];
    if (!signature_lowerable(&v->type)) {
      char buf[256];
      diag_error(c->d, v->loc, "input %%%s has type %s, which the compiled backends do not handle yet", v->name,
                 ir_type_str(&v->type, buf, sizeof buf));
      return IR_ERR_INPUT;
    }
    c->buf_of[g->body->params[i]] =
        cg_nest_add_buf(c->p, NEST_BUF_INPUT, v->name, v->type.dtype, ir_type_numel(&v->type), i, NULL);
  }
  for (int i = 0; i < g->body->nresults; i++) {
    ValueId v = g->body->results[i];
    const TensorType *t = &g->output_types[i];
    if (!signature_lowerable(t)) {
      char buf[256];
      diag_error(c->d, g->output_locs[i], "output %%%s has type %s, which the compiled backends do not handle yet",
                 g->output_names[i], ir_type_str(t, buf, sizeof buf));
      return IR_ERR_INPUT;
    }
    int b = cg_nest_add_buf(c->p, NEST_BUF_OUTPUT, g->output_names[i], t->dtype, ir_type_numel(t), i, NULL);
    const Value *val = &g->values[v];
    if (b >= 0 && val->kind == VAL_RESULT && c->buf_of[v] < 0 && g->nodes[val->def].op != OP_CONST) c->buf_of[v] = b;
  }
  return c->p->arena.failed ? diag_oom(c->d, g->loc) : IR_OK;
}

/* Copies each output not written in place into its output buffer. */
static IrStatus lower_graph_outputs(LowerCtx *c) {
  for (int i = 0; i < c->g->body->nresults; i++) {
    int dst = c->p->output_bufs[i], src = cg_in(c, c->g->body->results[i]);
    IrStatus st = dst == src ? IR_OK : cg_copy(c, c->g->output_locs[i], dst, src, c->p->bufs[dst].numel);
    if (st != IR_OK) return st;
  }
  return IR_OK;
}

IrStatus cg_lower(const Graph *g, DiagSink *d, NestProgram **out) {
  *out = NULL;
  LowerCtx c = {g, cg_nest_new(g->name), d, ir_malloc(((size_t)g->nvalues + 1) * sizeof(int)), NULL};
  if (!c.p || !c.buf_of) {
    cg_nest_free(c.p);
    ir_free(c.buf_of);
    return diag_oom(d, g->loc);
  }
  for (int i = 0; i < g->nvalues; i++) c.buf_of[i] = -1;
  IrStatus st = cg_place_begin(&c);
  if (st == IR_OK) st = place_signature(&c);
  if (st == IR_OK) st = lower_region(&c, g->body);
  if (st == IR_OK) st = lower_graph_outputs(&c);
  if (st == IR_OK) cg_place_end(&c);
  cg_place_free(&c);
  ir_free(c.buf_of);
  if (st != IR_OK) {
    cg_nest_free(c.p);
    return st;
  }
  *out = c.p;
  return IR_OK;
}

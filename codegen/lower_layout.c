/* lower_layout.c — tensors in blocked layouts (nChw16c, ba, ...): a kernel reads the plain
 * row-major form, as the interpreter's do, so a node's blocked operands are unpacked into
 * plain workspace first and its blocked results packed after (padding zeroed), by loop nests
 * over the logical shape whose physical index comes from ir_geometry. */
#include "codegen/lower.h"

/* Adds the plain workspace buffer for value v ("NAME.plain"); -1 on OOM. */
static int plain_buf(LowerCtx *c, ValueId v) {
  const Value *val = &c->g->values[v];
  char name[160];
  snprintf(name, sizeof name, "%.140s.plain", val->name ? val->name : "_");
  return cg_nest_add_buf(c->p, NEST_BUF_WORKSPACE, name, val->type.dtype, ir_type_numel(&val->type), 0, NULL);
}

/* Elements of the physical form of t (blocks padded). */
int64_t cg_phys_numel(const TensorType *t) { return ir_type_bytes(t) / ir_dtype_size(t->dtype); }

/* The physical element index of the logical index vars (cg_loops over t's logical shape). */
static NestExpr *phys_index(LowerCtx *c, const TensorType *t, const int *vars) {
  NestProgram *p = c->p;
  IrGeometry geo;
  ir_geometry(t, &geo);
  NestExpr *e = cg_idx(p, 0);
  for (int q = 0; q < geo.n; q++) {
    NestExpr *coord = cg_v(c, vars[geo.dim[q]]);
    if (geo.inner[q] > 1) coord = cg_bin(p, NEST_FLOORDIV, coord, cg_idx(p, geo.inner[q]));
    if (t->layout->block[q] > 0) coord = cg_bin(p, NEST_MOD, coord, cg_idx(p, geo.extent[q]));
    e = cg_add(p, e, cg_mulc(p, coord, geo.stride[q]));
  }
  return e;
}

/* Appends the kernel copying between the plain buffer `plain` and the physical buffer `phys`
 * of type t: unpack (to_plain) or pack (zeroing the padding first). */
static IrStatus transfer(LowerCtx *c, Loc loc, const TensorType *t, int plain, int phys, bool to_plain) {
  NestProgram *p = c->p;
  NestKernel *k = cg_nest_kernel(p, to_plain ? "unpack" : "pack", t->layout->text, loc);
  if (!k) return cg_checked(c, loc);
  if (!to_plain) {
    TensorType flat = {.dtype = t->dtype, .rank = 1, .dims = {cg_phys_numel(t)}};
    int v;
    NestBlock *b = cg_loops(c, k, &k->body, &flat, &v);
    if (b) cg_store(p, b, phys, cg_v(c, v), cg_const(c, t->dtype, 0));
  }
  int vars[IR_MAX_RANK];
  NestBlock *b = cg_loops(c, k, &k->body, t, vars);
  if (!b) return cg_checked(c, loc);
  NestExpr *pi = phys_index(c, t, vars), *li = cg_index(c, t, vars);
  if (to_plain) cg_store(p, b, plain, li, cg_load(p, phys, pi));
  else cg_store(p, b, phys, pi, cg_load(p, plain, li));
  return cg_checked(c, loc);
}

IrStatus cg_lower_blocked(LowerCtx *c, const Node *n, LowerFn fn) {
  int saved[IR_MAX_OPERANDS > 64 ? 64 : IR_MAX_OPERANDS];
  int nin = n->ninputs < 64 ? n->ninputs : 64;
  IrStatus st = IR_OK;
  for (int i = 0; i < nin && st == IR_OK; i++) {
    ValueId v = n->inputs[i];
    const TensorType *t = cg_type(c, v);
    saved[i] = c->buf_of[v];
    if (!t->layout || saved[i] < 0) continue;
    int plain = plain_buf(c, v);
    st = plain < 0 ? cg_checked(c, n->loc) : transfer(c, n->loc, t, plain, saved[i], true);
    c->buf_of[v] = plain;
  }
  /* Blocked results: computed into plain workspace, packed into their own buffer after. */
  int phys[IR_MAX_RESULTS];
  for (int i = 0; i < n->noutputs && st == IR_OK; i++) {
    ValueId v = n->outputs[i];
    const TensorType *t = cg_type(c, v);
    phys[i] = c->buf_of[v];
    if (!t->layout) continue;
    c->buf_of[v] = plain_buf(c, v);
    if (c->buf_of[v] < 0) st = cg_checked(c, n->loc);
  }
  if (st == IR_OK) st = fn(c, n);
  for (int i = 0; i < n->noutputs && st == IR_OK; i++) {
    ValueId v = n->outputs[i];
    const TensorType *t = cg_type(c, v);
    if (!t->layout) continue;
    int plain = c->buf_of[v];
    c->buf_of[v] = phys[i];
    int dst = cg_out(c, v);
    st = dst < 0 ? cg_checked(c, n->loc) : transfer(c, n->loc, t, plain, dst, false);
  }
  /* Later nodes read the physical form again. */
  for (int i = nin - 1; i >= 0; i--) c->buf_of[n->inputs[i]] = saved[i];
  return st;
}

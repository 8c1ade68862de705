/* op_harness.h — the harness the op unit tests share: build one node of an op on a Graph
 * with given operands and attributes, run its shape rule and reference kernel, and check the
 * results. Included by test_ops.c and test_ops_shape2.c (each a cmocka program of its own);
 * set TEST_OPS_VERBOSE=1 to see the diagnostics. */
#ifndef LATHE_TESTS_OP_HARNESS_H
#define LATHE_TESTS_OP_HARNESS_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ir/op.h"

enum { MAX_IO = 8, MAX_ATTRS = 12 };

/* One node under test: its operands, attributes, inferred types and computed results. */
typedef struct Run {
  Graph *g;
  int op;
  TensorType in_t[MAX_IO];
  const void *in_data[MAX_IO];
  int nin;
  TensorType out_decl[MAX_IO]; /* declared result types (default: the first operand's) */
  bool out_declared[MAX_IO];
  int nout;
  Attr attrs[MAX_ATTRS];
  int nattrs;
  NodeId node;
  DiagSink diag;
  TensorType out_t[MAX_IO]; /* what infer filled */
  Tensor out[MAX_IO];       /* what eval computed */
} Run;

/* A plain type of the given dtype and rank; the dims follow as ints. */
static inline TensorType ty(DType dt, int rank, ...) {
  TensorType t;
  memset(&t, 0, sizeof t);
  t.dtype = dt;
  t.rank = rank;
  va_list ap;
  va_start(ap, rank);
  for (int i = 0; i < rank; i++) t.dims[i] = va_arg(ap, int);
  va_end(ap);
  return t;
}

/* Starts a run of op with one result. */
static inline void run_init(Run *r, int op) {
  memset(r, 0, sizeof *r);
  r->op = op;
  r->g = ir_graph_new();
  assert_non_null(r->g);
  diag_init(&r->diag, getenv("TEST_OPS_VERBOSE") ? stderr : NULL);
  r->nout = 1;
  r->node = -1;
}

/* Adds an operand of type t with row-major data (NULL for shape-only tests). */
static inline void run_in(Run *r, TensorType t, const void *data) {
  assert_true(r->nin < MAX_IO);
  r->in_t[r->nin] = t;
  r->in_data[r->nin++] = data;
}

/* Declares result i's type (and makes the node have i + 1 results). */
static inline void run_out(Run *r, int i, TensorType t) {
  assert_true(i < MAX_IO);
  r->out_decl[i] = t;
  r->out_declared[i] = true;
  if (r->nout < i + 1) r->nout = i + 1;
}

/* Appends an attribute slot named name of kind k. */
static inline Attr *run_attr(Run *r, const char *name, AttrKind k) {
  assert_true(r->nattrs < MAX_ATTRS);
  Attr *a = &r->attrs[r->nattrs++];
  memset(a, 0, sizeof *a);
  a->name = name;
  a->kind = k;
  return a;
}

static inline void attr_int(Run *r, const char *name, int64_t v) { run_attr(r, name, ATTR_INT)->u.i = v; }
static inline void attr_float(Run *r, const char *name, double v) { run_attr(r, name, ATTR_FLOAT)->u.f = v; }

/* An ATTR_INTS attribute; the n entries follow as ints. */
static inline void attr_ints(Run *r, const char *name, int n, ...) {
  Attr *a = run_attr(r, name, ATTR_INTS);
  a->n = n;
  a->u.ints = ir_arena_alloc(&r->g->arena, sizeof(int64_t) * (size_t)(n + 1));
  assert_non_null(a->u.ints);
  va_list ap;
  va_start(ap, n);
  for (int i = 0; i < n; i++) a->u.ints[i] = va_arg(ap, int);
  va_end(ap);
}

/* An ATTR_STR attribute. */
static inline void attr_str(Run *r, const char *name, const char *v) { run_attr(r, name, ATTR_STR)->u.s = v; }

/* An ATTR_FLOATS attribute; the n entries follow as doubles. */
static inline void attr_floats(Run *r, const char *name, int n, ...) {
  Attr *a = run_attr(r, name, ATTR_FLOATS);
  a->n = n;
  a->u.floats = ir_arena_alloc(&r->g->arena, sizeof(double) * (size_t)(n + 1));
  assert_non_null(a->u.floats);
  va_list ap;
  va_start(ap, n);
  for (int i = 0; i < n; i++) a->u.floats[i] = va_arg(ap, double);
  va_end(ap);
}

/* Builds the node from the operands, attributes and declared results. */
static inline void run_build(Run *r) {
  Graph *g = r->g;
  ValueId ins[MAX_IO];
  for (int i = 0; i < r->nin; i++) {
    ins[i] = ir_graph_add_value(g, "in", &r->in_t[i], VAL_INPUT, loc_none());
    assert_true(ins[i] >= 0);
  }
  r->node = ir_graph_add_node(g, r->op, r->nin, r->nout, loc_file("test.lathe"));
  assert_true(r->node >= 0);
  Node *n = ir_node(g, r->node);
  for (int i = 0; i < r->nin; i++) n->inputs[i] = ins[i];
  n->nattrs = r->nattrs;
  n->attrs = ir_arena_memdup(&g->arena, r->attrs, sizeof(Attr) * (size_t)(r->nattrs + 1));
  assert_non_null(n->attrs);
  for (int i = 0; i < r->nout; i++) {
    TensorType decl = r->out_declared[i] ? r->out_decl[i] : r->in_t[0];
    ValueId v = ir_graph_add_value(g, "out", &decl, VAL_RESULT, loc_none());
    assert_true(v >= 0);
    n = ir_node(g, r->node); /* values may have moved, nodes not; refetch anyway */
    n->outputs[i] = v;
    ir_value(g, v)->def = r->node;
    ir_value(g, v)->index = i;
  }
}

/* Runs the shape rule; returns its verdict (out_t holds the inferred types). */
static inline bool run_infer(Run *r) {
  if (r->node < 0) run_build(r);
  const Node *n = ir_node(r->g, r->node);
  const TensorType *in[MAX_IO];
  for (int i = 0; i < r->nin; i++) in[i] = &ir_value(r->g, n->inputs[i])->type;
  for (int i = 0; i < r->nout; i++) r->out_t[i] = ir_value(r->g, n->outputs[i])->type;
  InferCtx c = {r->g, n, in, r->nin, r->out_t, r->nout, &r->diag};
  bool ok = ir_ops[r->op].impl->infer(&c);
  /* As after verification: the declared result types are the inferred ones. */
  for (int i = 0; ok && i < r->nout; i++) ir_value(r->g, n->outputs[i])->type = r->out_t[i];
  return ok;
}

/* Runs the kernel on the operands into zeroed results of the inferred types. */
static inline IrStatus run_eval(Run *r) {
  Tensor in[MAX_IO];
  for (int i = 0; i < r->nin; i++) {
    in[i].type = r->in_t[i];
    in[i].data = (void *)r->in_data[i];
  }
  for (int i = 0; i < r->nout; i++) {
    r->out[i].type = r->out_t[i];
    int64_t n = ir_type_numel(&r->out_t[i]);
    r->out[i].data = ir_calloc((size_t)n + 1, (size_t)ir_dtype_size(r->out_t[i].dtype));
    assert_non_null(r->out[i].data);
  }
  EvalCtx c = {r->g, ir_node(r->g, r->node), in, r->nin, r->out, r->nout, &r->diag, NULL};
  return ir_ops[r->op].impl->eval(&c);
}

/* Infers and evaluates, expecting both to succeed without diagnostics. */
static inline void run_ok(Run *r) {
  assert_true(run_infer(r));
  assert_int_equal(run_eval(r), IR_OK);
  assert_int_equal(r->diag.errors, 0);
}

/* Expects the shape rule to fail with exactly one error. */
static inline void run_bad(Run *r) {
  assert_false(run_infer(r));
  assert_int_equal(r->diag.errors, 1);
}

/* Frees everything the run allocated. */
static inline void run_free(Run *r) {
  for (int i = 0; i < MAX_IO; i++) ir_free(r->out[i].data);
  ir_graph_free(r->g);
  diag_free(&r->diag);
}

/* The multiply-accumulates of the run's node. */
static inline int64_t run_macs(Run *r) { return ir_ops[r->op].impl->macs(r->g, ir_node(r->g, r->node)); }

/* Checks a type: dtype, rank, dims (as ints), and no layout or quantization. */
static inline void check_type(const TensorType *t, DType dt, int rank, ...) {
  assert_int_equal(t->dtype, dt);
  assert_int_equal(t->rank, rank);
  va_list ap;
  va_start(ap, rank);
  for (int i = 0; i < rank; i++) assert_int_equal(t->dims[i], va_arg(ap, int));
  va_end(ap);
  assert_null(t->layout);
  assert_null(t->quant);
}

/* Checks n f32 results against want (to 1e-5 relative). */
static inline void check_f32(const Tensor *t, const float *want, int n) {
  assert_int_equal(ir_type_numel(&t->type), n);
  const float *got = t->data;
  for (int i = 0; i < n; i++) {
    double tol = 1e-5 * fmax(1.0, fabs(want[i]));
    if (!(fabs(got[i] - want[i]) <= tol)) fail_msg("element %d: got %.9g, want %.9g", i, got[i], want[i]);
  }
}

/* Checks n i64 results against want. */
static inline void check_i64(const Tensor *t, const int64_t *want, int n) {
  assert_int_equal(ir_type_numel(&t->type), n);
  for (int i = 0; i < n; i++) assert_int_equal(((const int64_t *)t->data)[i], want[i]);
}

/* Checks n i32 results against want. */
static inline void check_i32(const Tensor *t, const int32_t *want, int n) {
  assert_int_equal(ir_type_numel(&t->type), n);
  for (int i = 0; i < n; i++) assert_int_equal(((const int32_t *)t->data)[i], want[i]);
}

#endif

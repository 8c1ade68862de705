/* test_passes.c — each graph pass on small graphs: the structure it leaves (op counts, what a
 * fused body holds, the numbers it writes, worked out by hand) and, every time, the
 * interpreter's outputs before and after on the same seeded inputs; the memory plan's
 * offsets and A, N, L worked out by hand; --verify-each catching a pass that breaks a graph. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "frontend/parser.h"
#include "ir/interp.h"
#include "ir/verify.h"
#include "passes/pass.h"

#include "diag_capture.h"

static DiagSink sink; /* outlives the graphs, whose Locs point at names it interned */

/* Parses and verifies text. */
static Graph *load(const char *text) {
  Graph *g = ir_parse_text(&sink, "t.lathe", text, strlen(text));
  assert_non_null(g);
  assert_int_equal(ir_verify(g, &sink), IR_OK);
  return g;
}

/* Top-level nodes of g with op (fused bodies not counted). */
static int count_op(const Graph *g, int op) {
  int n = 0;
  for (int i = 0; i < g->body->nnodes; i++) n += g->nodes[g->body->nodes[i]].op == op;
  return n;
}

/* Outputs of g on inputs from seed 7, as float arrays (all outputs here are f32): *out holds
 * them one after the other. Returns how many floats. */
static int run(const Graph *g, float *out, int cap) {
  void *in[8], *res[8];
  uint64_t seed = 7;
  for (int i = 0; i < g->body->nparams; i++) {
    const TensorType *t = &g->values[g->body->params[i]].type;
    in[i] = test_malloc((size_t)ir_type_bytes(t));
    ir_fill_random(t, in[i], &seed);
  }
  int at = 0;
  for (int i = 0; i < g->body->nresults; i++) {
    res[i] = out + at;
    at += (int)ir_type_numel(&g->output_types[i]);
    assert_true(at <= cap);
  }
  assert_int_equal(ir_interp_run(g, (const void *const *)in, res, &sink), IR_OK);
  for (int i = 0; i < g->body->nparams; i++) test_free(in[i]);
  return at;
}

/* Runs the named passes on g, checking after them that g verifies and computes what it did
 * before (floats within 1e-5 + 1e-5 |want|). Returns whether any pass changed g. */
static bool apply(Graph *g, const char *const *names, int n) {
  static float before[4096], after[4096];
  int count = run(g, before, 4096);
  PassCtx c = {&sink, false, NULL};
  bool changed = false;
  for (int i = 0; i < n; i++) {
    const Pass *p = pass_lookup(names[i]);
    assert_non_null(p);
    c.changed = false;
    assert_int_equal(p->run(g, &c), IR_OK);
    changed |= c.changed;
    assert_int_equal(ir_verify(g, &sink), IR_OK);
  }
  pass_plan_free(c.plan);
  assert_int_equal(run(g, after, 4096), count);
  for (int i = 0; i < count; i++) assert_true(fabsf(after[i] - before[i]) <= 1e-5f + 1e-5f * fabsf(before[i]));
  return changed;
}
#define APPLY(g, ...) apply((g), (const char *const[]){__VA_ARGS__}, sizeof((const char *const[]){__VA_ARGS__}) / sizeof(char *))

/* The node that computes output i of g. */
static const Node *output_def(const Graph *g, int i) { return &g->nodes[g->values[g->body->results[i]].def]; }

/* The body of the only fused op of g. */
static const Node *only_fused(const Graph *g) {
  const Node *f = NULL;
  for (int i = 0; i < g->body->nnodes; i++)
    if (g->nodes[g->body->nodes[i]].op == OP_FUSED) {
      assert_null(f);
      f = &g->nodes[g->body->nodes[i]];
    }
  assert_non_null(f);
  return f;
}

/* fold evaluates add(const, const) and then the transpose of it; dce drops the operands. */
static void test_fold(void **state) {
  (void)state;
  Graph *g = load("lathe 1\n"
                  "graph @g(%x: f32[3,2]) -> (%y: f32[3,2]) {\n"
                  "  %a = const dense<[1.0, 2.0, 3.0, 4.0, 5.0, 6.0]> : f32[2,3]\n"
                  "  %b = const dense<[10.0, 20.0, 30.0]> : f32[3]\n"
                  "  %s = add(%a, %b) : f32[2,3]\n"
                  "  %t = transpose(%s) : f32[3,2]\n"
                  "  %y = mul(%x, %t) : f32[3,2]\n"
                  "  return %y\n"
                  "}\n");
  assert_true(APPLY(g, "fold", "dce"));
  assert_int_equal(g->body->nnodes, 2);
  assert_int_equal(count_op(g, OP_CONST), 1);
  const Node *t = &g->nodes[g->body->nodes[0]];
  static const float want[6] = {11, 14, 22, 25, 33, 36}; /* transpose of [[11,22,33],[14,25,36]] */
  assert_memory_equal(t->data->data, want, sizeof want);
  assert_false(APPLY(g, "fold", "dce")); /* nothing left to do */
  ir_graph_free(g);
}

/* dce removes a dead chain and the dead second use, keeps what the output needs. */
static void test_dce(void **state) {
  (void)state;
  Graph *g = load("lathe 1\n"
                  "graph @g(%x: f32[4]) -> (%y: f32[4]) {\n"
                  "  %a = relu(%x) : f32[4]\n"
                  "  %b = sigmoid(%a) : f32[4]\n"
                  "  %c = tanh(%b) : f32[4]\n"
                  "  %y = relu(%a) : f32[4]\n"
                  "  return %y\n"
                  "}\n");
  assert_true(APPLY(g, "dce"));
  assert_int_equal(g->body->nnodes, 2);
  assert_int_equal(count_op(g, OP_RELU), 2);
  ir_graph_free(g);
}

/* cse merges equal nodes (attributes in another order too), not ones that differ. */
static void test_cse(void **state) {
  (void)state;
  Graph *g = load("lathe 1\n"
                  "graph @g(%x: f32[4]) -> (%y: f32[4], %z: f32[4]) {\n"
                  "  %a = clip(%x) {min = 0.0, max = 6.0} : f32[4]\n"
                  "  %b = clip(%x) {max = 6.0, min = 0.0} : f32[4]\n"
                  "  %c = clip(%x) {max = 5.0, min = 0.0} : f32[4]\n"
                  "  %k1 = const dense<[1.0, 2.0, 3.0, 4.0]> : f32[4]\n"
                  "  %k2 = const dense<[1.0, 2.0, 3.0, 4.0]> : f32[4]\n"
                  "  %s = add(%a, %k1) : f32[4]\n"
                  "  %t = add(%b, %k2) : f32[4]\n"
                  "  %y = mul(%s, %t) : f32[4]\n"
                  "  %z = add(%c, %k2) : f32[4]\n"
                  "  return %y, %z\n"
                  "}\n");
  assert_true(APPLY(g, "cse", "dce"));
  assert_int_equal(count_op(g, OP_CLIP), 2);
  assert_int_equal(count_op(g, OP_CONST), 1);
  assert_int_equal(count_op(g, OP_ADD), 2);
  const Node *y = output_def(g, 0);
  assert_int_equal(y->inputs[0], y->inputs[1]); /* mul(%s, %s) */
  ir_graph_free(g);
}

/* simplify: x*1, 0+x, x/1 and x-0 go; a transpose pair that cancels goes; two transposes
 * compose; a reshape chain becomes one reshape; x+1 and a broadcasting x*1 stay. */
static void test_simplify(void **state) {
  (void)state;
  Graph *g = load("lathe 1\n"
                  "graph @g(%x: f32[2,3,4], %v: f32[4]) -> (%a: f32[2,3,4], %b: f32[4,2,3], %c: f32[6,4], %d: f32[2,3,4]) {\n"
                  "  %one = const dense<1.0> : f32[4]\n"
                  "  %zero = const dense<0.0> : f32[1]\n"
                  "  %m = mul(%x, %one) : f32[2,3,4]\n"
                  "  %p = add(%zero, %m) : f32[2,3,4]\n"
                  "  %q = div(%p, %one) : f32[2,3,4]\n"
                  "  %a_v = sub(%q, %zero) : f32[2,3,4]\n"
                  "  %t1 = transpose(%x) {perm = [1, 2, 0]} : f32[3,4,2]\n"
                  "  %t2 = transpose(%t1) {perm = [2, 0, 1]} : f32[2,3,4]\n"
                  "  %t3 = transpose(%t2) {perm = [2, 0, 1]} : f32[4,2,3]\n"
                  "  %r1 = reshape(%t2) {shape = [6, 4]} : f32[6,4]\n"
                  "  %r2 = flatten(%r1) {axis = 1} : f32[6,4]\n"
                  "  %r3 = reshape(%r2) {shape = [24]} : f32[24]\n"
                  "  %r4 = reshape(%r3) {shape = [6, 4]} : f32[6,4]\n"
                  "  %o = mul(%one, %v) : f32[4]\n"
                  "  %bc = mul(%o, %one) : f32[4]\n"
                  "  %d1 = add(%bc, %one) : f32[4]\n"
                  "  %d_v = mul(%x, %d1) : f32[2,3,4]\n"
                  "  return %a_v, %t3, %r4, %d_v\n"
                  "}\n");
  assert_true(APPLY(g, "simplify", "dce"));
  assert_int_equal(g->body->results[0], g->body->params[0]); /* %a is %x itself */
  assert_int_equal(count_op(g, OP_SUB) + count_op(g, OP_DIV), 0);
  assert_int_equal(count_op(g, OP_TRANSPOSE), 1);
  const Node *t3 = output_def(g, 1);
  assert_int_equal(t3->inputs[0], g->body->params[0]);
  int n;
  const int64_t *perm = ir_attr_ints(t3, "perm", &n);
  assert_int_equal(n, 3); /* x[2,3,4] -> [4,2,3]: dims (2, 0, 1) of x */
  assert_true(perm[0] == 2 && perm[1] == 0 && perm[2] == 1);
  assert_int_equal(count_op(g, OP_RESHAPE) + count_op(g, OP_FLATTEN), 1);
  const Node *r4 = output_def(g, 2);
  assert_int_equal(r4->inputs[0], g->body->params[0]);
  assert_int_equal(count_op(g, OP_ADD), 1); /* x + 1 stays */
  assert_int_equal(count_op(g, OP_MUL), 1); /* v*1*1 gone; x * d1 stays */
  ir_graph_free(g);
}

/* bnfold into a 1x1 conv: k = 3 / sqrt(3 + 1) = 1.5, W' = 1.5 * 2 = 3, bias' = 1.5 * 0.5 +
 * (1 - 1.5 * 0.5) = 1; and into a gemm with transB and beta, and a matmul (which keeps an
 * add for the shift). */
static void test_bnfold(void **state) {
  (void)state;
  Graph *g = load("lathe 1\n"
                  "graph @g(%x: f32[1,1,2,2], %u: f32[2,3]) -> (%y: f32[1,1,2,2], %z: f32[2,2], %w: f32[2,2]) {\n"
                  "  %k = const dense<2.0> : f32[1,1,1,1]\n"
                  "  %kb = const dense<0.5> : f32[1]\n"
                  "  %c = conv2d(%x, %k, %kb) : f32[1,1,2,2]\n"
                  "  %s = const dense<3.0> : f32[1]\n"
                  "  %b = const dense<1.0> : f32[1]\n"
                  "  %m = const dense<0.5> : f32[1]\n"
                  "  %v = const dense<3.0> : f32[1]\n"
                  "  %y_v = batch_norm(%c, %s, %b, %m, %v) {epsilon = 1.0} : f32[1,1,2,2]\n"
                  "  %B = const dense<[1.0, -2.0, 0.5, 3.0, 0.25, -1.0]> : f32[2,3]\n"
                  "  %C = const dense<[0.5, -0.5]> : f32[2]\n"
                  "  %gm = gemm(%u, %B, %C) {transB = 1, alpha = 2.0, beta = 3.0} : f32[2,2]\n"
                  "  %s2 = const dense<[2.0, 0.5]> : f32[2]\n"
                  "  %b2 = const dense<[0.1, -0.1]> : f32[2]\n"
                  "  %m2 = const dense<[1.0, -1.0]> : f32[2]\n"
                  "  %v2 = const dense<[0.25, 4.0]> : f32[2]\n"
                  "  %z_v = batch_norm(%gm, %s2, %b2, %m2, %v2) : f32[2,2]\n"
                  "  %B2 = const dense<[1.0, 2.0, 3.0, 4.0, 5.0, 6.0]> : f32[3,2]\n"
                  "  %mm = matmul(%u, %B2) : f32[2,2]\n"
                  "  %w_v = batch_norm(%mm, %s2, %b2, %m2, %v2) : f32[2,2]\n"
                  "  return %y_v, %z_v, %w_v\n"
                  "}\n");
  /* Outputs change by float rounding only: APPLY's tolerance covers it. */
  assert_true(APPLY(g, "bnfold", "dce"));
  assert_int_equal(count_op(g, OP_BATCH_NORM), 0);
  assert_int_equal(count_op(g, OP_ADD), 1);
  const Node *conv = output_def(g, 0);
  assert_int_equal(conv->op, OP_CONV2D);
  assert_int_equal(conv->ninputs, 3);
  const Node *w = &g->nodes[g->values[conv->inputs[1]].def], *bias = &g->nodes[g->values[conv->inputs[2]].def];
  assert_float_equal(((const float *)w->data->data)[0], 3.0f, 1e-6);
  assert_float_equal(((const float *)bias->data->data)[0], 1.0f, 1e-6);
  const Node *gm = output_def(g, 1);
  assert_int_equal(gm->op, OP_GEMM);
  assert_null(ir_attr(gm, "beta"));
  ir_graph_free(g);
}

/* fuse-epilogue takes conv + bias add + residual add + relu into one fused op whose body is
 * that chain; a conv whose result has two users keeps them outside. */
static void test_fuse_epilogue(void **state) {
  (void)state;
  Graph *g = load("lathe 1\n"
                  "graph @g(%x: f32[1,2,3,3]) -> (%y: f32[1,2,3,3], %z: f32[1,2,3,3]) {\n"
                  "  %w = const dense<[0.5, -1.0, 0.25, 2.0, 1.0, 0.5, -0.5, 1.5, 0.75, -0.25, 1.0, 0.5, 2.0, -1.0, 0.5, 0.25, 1.0, -2.0]> : f32[2,1,3,3]\n"
                  "  %b = const dense<[0.5, -0.5]> : f32[1,2,1,1]\n"
                  "  %c = conv2d(%x, %w) {group = 2, pads = [1, 1, 1, 1]} : f32[1,2,3,3]\n"
                  "  %cb = add(%c, %b) : f32[1,2,3,3]\n"
                  "  %r = add(%x, %cb) : f32[1,2,3,3]\n"
                  "  %y = relu(%r) : f32[1,2,3,3]\n"
                  "  %c2 = conv2d(%y, %w) {group = 2, pads = [1, 1, 1, 1]} : f32[1,2,3,3]\n"
                  "  %s = sigmoid(%c2) : f32[1,2,3,3]\n"
                  "  %z = mul(%s, %c2) : f32[1,2,3,3]\n"
                  "  return %y, %z\n"
                  "}\n");
  assert_true(APPLY(g, "fuse-epilogue"));
  const Node *f = only_fused(g);
  assert_string_equal(f->label, "conv2d_add_add_relu");
  assert_int_equal(f->body->nnodes, 4);
  assert_int_equal(f->ninputs, 3); /* %x, %w, %b */
  assert_int_equal(count_op(g, OP_CONV2D), 1);
  assert_int_equal(count_op(g, OP_SIGMOID), 1);
  ir_graph_free(g);
}

/* fuse-elementwise takes a chain of one shape (broadcast operands allowed) and stops where a
 * result has two users or the shape changes. */
static void test_fuse_elementwise(void **state) {
  (void)state;
  Graph *g = load("lathe 1\n"
                  "graph @g(%x: f32[2,4], %v: f32[4], %s: f32[4]) -> (%y: f32[2,4], %z: f32[4]) {\n"
                  "  %a = add(%x, %v) : f32[2,4]\n"
                  "  %m = mul(%a, %a) : f32[2,4]\n"
                  "  %t = tanh(%m) : f32[2,4]\n"
                  "  %y = clip(%t) {min = -0.5, max = 0.5} : f32[2,4]\n"
                  "  %e = sigmoid(%s) : f32[4]\n"
                  "  %z = relu(%e) : f32[4]\n"
                  "  return %y, %z\n"
                  "}\n");
  assert_true(APPLY(g, "fuse-elementwise"));
  assert_int_equal(count_op(g, OP_FUSED), 2);
  assert_int_equal(count_op(g, OP_ADD), 1); /* %a has two uses: it stays outside */
  const Node *y = output_def(g, 0);
  assert_string_equal(y->label, "ew_mul_tanh_clip");
  const Node *z = output_def(g, 1);
  assert_string_equal(z->label, "ew_sigmoid_relu");
  ir_graph_free(g);
}

/* fuse-patterns: the opset-13 layer-norm chain (with scale and shift) and the GELU chain become
 * fused ops labelled layer_norm and gelu; a reduce_mean over another axis is not a layer norm. */
static void test_fuse_patterns(void **state) {
  (void)state;
  Graph *g = load("lathe 1\n"
                  "graph @g(%x: f32[2,4]) -> (%y: f32[2,4], %z: f32[2,4], %w: f32[1,4]) {\n"
                  "  %m = reduce_mean(%x) {axes = [-1]} : f32[2,1]\n"
                  "  %d = sub(%x, %m) : f32[2,4]\n"
                  "  %two = const dense<2.0> : f32[]\n"
                  "  %p = pow(%d, %two) : f32[2,4]\n"
                  "  %v = reduce_mean(%p) {axes = [-1]} : f32[2,1]\n"
                  "  %eps = const dense<1e-05> : f32[]\n"
                  "  %ve = add(%v, %eps) : f32[2,1]\n"
                  "  %s = sqrt(%ve) : f32[2,1]\n"
                  "  %n = div(%d, %s) : f32[2,4]\n"
                  "  %gamma = const dense<[1.5, 0.5, 1.0, 2.0]> : f32[4]\n"
                  "  %ng = mul(%n, %gamma) : f32[2,4]\n"
                  "  %beta = const dense<[0.25, -0.25, 0.0, 1.0]> : f32[4]\n"
                  "  %y_v = add(%ng, %beta) : f32[2,4]\n"
                  "  %r2 = const dense<1.4142135> : f32[]\n"
                  "  %q = div(%x, %r2) : f32[2,4]\n"
                  "  %e = erf(%q) : f32[2,4]\n"
                  "  %one = const dense<1.0> : f32[]\n"
                  "  %e1 = add(%e, %one) : f32[2,4]\n"
                  "  %xe = mul(%x, %e1) : f32[2,4]\n"
                  "  %half = const dense<0.5> : f32[]\n"
                  "  %z_v = mul(%xe, %half) : f32[2,4]\n"
                  "  %w_v = reduce_mean(%x) {axes = [0]} : f32[1,4]\n"
                  "  return %y_v, %z_v, %w_v\n"
                  "}\n");
  assert_true(APPLY(g, "fuse-patterns"));
  assert_int_equal(count_op(g, OP_FUSED), 2);
  const Node *y = output_def(g, 0);
  assert_string_equal(y->label, "layer_norm");
  assert_int_equal(y->body->nnodes, 9);
  const Node *z = output_def(g, 1);
  assert_string_equal(z->label, "gelu");
  assert_int_equal(z->body->nnodes, 5);
  assert_int_equal(count_op(g, OP_REDUCE_MEAN), 1); /* over axis 0: no layer norm */
  ir_graph_free(g);
}

/* The plan of a small chain, worked out by hand. Steps: 0 %w, 1 %a = matmul (128 B),
 * 2 %b = relu(%a) in place of %a, 3 %w2, 4 %c = matmul(%b) (64 B), 5 %e = sigmoid (an output).
 * Buffers: {a, b} 128 B live 1..4, {c} 64 B live 4..5. L = 192 (step 4), N = 320, A = 192. */
static void test_plan(void **state) {
  (void)state;
  Graph *g = load("lathe 1\n"
                  "graph @g(%x: f32[1,4]) -> (%e: f32[1,16]) {\n"
                  "  %w = const dense<0.5> : f32[4,32]\n"
                  "  %a = matmul(%x, %w) : f32[1,32]\n"
                  "  %b = relu(%a) : f32[1,32]\n"
                  "  %w2 = const dense<0.25> : f32[32,16]\n"
                  "  %c = matmul(%b, %w2) : f32[1,16]\n"
                  "  %e_v = sigmoid(%c) : f32[1,16]\n"
                  "  return %e_v\n"
                  "}\n");
  MemPlan *p;
  assert_int_equal(pass_plan_compute(g, &p, &sink), IR_OK);
  assert_int_equal(p->nslots, 3);
  assert_int_equal(p->naive, 320);
  assert_int_equal(p->lower, 192);
  assert_int_equal(p->arena, 192);
  assert_int_equal(p->slots[1].shares, p->slots[0].value);
  assert_int_equal(p->slots[1].offset, p->slots[0].offset);
  assert_int_equal(p->slots[0].first, 1);
  assert_int_equal(p->slots[1].last, 4);
  assert_int_equal(p->slots[2].offset % 64, 0);
  assert_true(p->slots[2].offset >= 128 || p->slots[0].offset >= 64);
  /* More buffers for one step, around the tensors live then. Best fit puts {a, b} at 0 and
   * c at 128 (asserted first). Step 5: only c is live, so 100 bytes (128 rounded up) take
   * the gap [0, 128), and 64 more go above c, at 192 (end 256). Step 2: a and b are live at
   * [0, 128); 64 bytes go above them, at 128. */
  assert_int_equal(p->slots[0].offset, 0);
  assert_int_equal(p->slots[2].offset, 128);
  int64_t sizes[] = {64, 100}, offsets[2], end;
  assert_int_equal(pass_plan_place_extra(p, 5, 2, sizes, offsets, &end, &sink), IR_OK);
  assert_int_equal(offsets[1], 0);
  assert_int_equal(offsets[0], 192);
  assert_int_equal(end, 256);
  assert_int_equal(pass_plan_place_extra(p, 2, 1, sizes, offsets, &end, &sink), IR_OK);
  assert_int_equal(offsets[0], 128);
  assert_int_equal(end, 192);
  pass_plan_free(p);
  ir_graph_free(g);
}

/* A plan that largest-first best fit alone does not make tight, worked out by hand. Steps
 * 0..3 the weights, 4 %a (192 B), 5 %b = matmul(%a) (64 B), 6 %c = matmul(%b) (128 B),
 * 7 %d = matmul(%c) (192 B), 8 %e = concat(%c, %d) (an output). Lives: a 4..5, b 5..6,
 * c 6..8, d 7..8; L = 320 (steps 7 and 8: c + d). Largest first, best fit: a at 0, d at 0
 * (a is dead by then), c above d at 192, and b, live beside a [0, 192) and c [192, 320), at
 * 320: 384 bytes. Longest life first, best fit: c at 0, a at 0, d above c at 128, b above a
 * at 192: 320 = L, the arena kept. */
static void test_plan_orders(void **state) {
  (void)state;
  Graph *g = load("lathe 1\n"
                  "graph @g(%x: f32[1,4]) -> (%e: f32[1,80]) {\n"
                  "  %w1 = const dense<0.5> : f32[4,48]\n"
                  "  %w2 = const dense<0.5> : f32[48,16]\n"
                  "  %w3 = const dense<0.5> : f32[16,32]\n"
                  "  %w4 = const dense<0.5> : f32[32,48]\n"
                  "  %a = matmul(%x, %w1) : f32[1,48]\n"
                  "  %b = matmul(%a, %w2) : f32[1,16]\n"
                  "  %c = matmul(%b, %w3) : f32[1,32]\n"
                  "  %d = matmul(%c, %w4) : f32[1,48]\n"
                  "  %e_v = concat(%c, %d) {axis = 1} : f32[1,80]\n"
                  "  return %e_v\n"
                  "}\n");
  MemPlan *p;
  assert_int_equal(pass_plan_compute(g, &p, &sink), IR_OK);
  assert_int_equal(p->nslots, 4); /* a, b, c, d */
  assert_int_equal(p->naive, 576);
  assert_int_equal(p->lower, 320);
  assert_int_equal(p->arena, 320);
  const MemSlot *a = &p->slots[0], *b = &p->slots[1], *c = &p->slots[2], *d = &p->slots[3];
  assert_int_equal(a->first, 4);
  assert_int_equal(c->last, 8);
  assert_int_equal(c->offset, 0);
  assert_int_equal(a->offset, 0);
  assert_int_equal(d->offset, 128);
  assert_int_equal(b->offset, 192);
  pass_plan_free(p);
  ir_graph_free(g);
}

/* Views in the plan, worked out by hand. Steps: 0 %w, 1 %v = reshape(%x) (a view of an input:
 * no slot), 2 %a = matmul(%v, %w) (128 B), 3 %r = reshape(%a) (a view: %a's buffer, 2..5),
 * 4 %b = relu(%r): not in place (%r still reads the buffer at step 5), 5 %c = add(%r, %b) in
 * place of %r, its first operand whose buffer ends there (the buffer of %a and %r), 6 %e an
 * output. Buffers: {a, r, c} 128 B 2..6, {b} 128 B 4..5. N = 384 (a, b, c), L = A = 256. */
static void test_plan_views(void **state) {
  (void)state;
  Graph *g = load("lathe 1\n"
                  "graph @g(%x: f32[4]) -> (%e: f32[32]) {\n"
                  "  %w = const dense<0.5> : f32[4,32]\n"
                  "  %v = reshape(%x) {shape = [1, 4]} : f32[1,4]\n"
                  "  %a = matmul(%v, %w) : f32[1,32]\n"
                  "  %r = reshape(%a) {shape = [32]} : f32[32]\n"
                  "  %b = relu(%r) : f32[32]\n"
                  "  %c = add(%r, %b) : f32[32]\n"
                  "  %e_v = sigmoid(%c) : f32[32]\n"
                  "  return %e_v\n"
                  "}\n");
  MemPlan *p;
  assert_int_equal(pass_plan_compute(g, &p, &sink), IR_OK);
  assert_int_equal(p->nslots, 4); /* a, r, b, c */
  assert_int_equal(p->naive, 384);
  assert_int_equal(p->lower, 256);
  assert_int_equal(p->arena, 256);
  const MemSlot *a = &p->slots[0], *r = &p->slots[1], *b = &p->slots[2], *c = &p->slots[3];
  assert_true(r->view);
  assert_int_equal(r->shares, a->value);
  assert_int_equal(r->offset, a->offset);
  assert_int_equal(r->last, 5);
  assert_int_equal(b->shares, -1);
  assert_int_equal(b->last, 5);
  assert_true(b->offset != a->offset);
  assert_false(c->view);
  assert_int_equal(c->shares, r->value);
  assert_int_equal(c->offset, a->offset);
  assert_int_equal(c->last, 6);
  pass_plan_free(p);
  ir_graph_free(g);
}

/* A pass that breaks the graph: it doubles the first constant. */
static IrStatus run_break(Graph *g, PassCtx *c) {
  for (int i = 0; i < g->body->nnodes; i++) {
    Node *n = &g->nodes[g->body->nodes[i]];
    if (n->op != OP_CONST) continue;
    ((float *)n->data->data)[0] *= 2;
    c->changed = true;
    return IR_OK;
  }
  return IR_OK;
}

/* --verify-each passes a good pipeline and names the pass that changed the results. */
static void test_verify_each(void **state) {
  (void)state;
  static const Pass broken = {"broken", "doubles a constant", "", "", run_break};
  Graph *g = load("lathe 1\n"
                  "graph @g(%x: f32[4]) -> (%y: f32[4]) {\n"
                  "  %k = const dense<[1.0, 2.0, 3.0, 4.0]> : f32[4]\n"
                  "  %one = const dense<1.0> : f32[4]\n"
                  "  %a = mul(%x, %one) : f32[4]\n"
                  "  %y = add(%a, %k) : f32[4]\n"
                  "  return %y\n"
                  "}\n");
  DiagSink d;
  diag_start(&d);
  PassCtx c = {&d, false, NULL};
  PipelineOpts o = {.verify_each = true, .seed = 3};
  int n;
  const Pass *const *o2 = pass_level(2, &n);
  assert_int_equal(pass_run_pipeline(g, o2, n, &o, &c), IR_OK);
  assert_int_equal(count_op(g, OP_MUL), 0);
  pass_plan_free(c.plan);
  c.plan = NULL;
  const Pass *list[] = {&pass_dce, &broken};
  assert_int_equal(pass_run_pipeline(g, list, 2, &o, &c), IR_ERR_INTERNAL);
  assert_diag_has(&d, "after pass broken, output %y differs");
  diag_end(&d);
  ir_graph_free(g);
}

/* Out of memory at every allocation of the -O2 pipeline on a residual block: each run ends
 * with IR_OK or a reported error (never a crash, an internal error or, under ASan, a leak). */
static void test_out_of_memory(void **state) {
  (void)state;
  static const char *const text =
      "lathe 1\n"
      "graph @g(%x: f32[1,2,3,3]) -> (%y: f32[1,2,3,3]) {\n"
      "  %w = const dense<[0.5, -1.0, 0.25, 2.0, 1.0, 0.5, -0.5, 1.5, 0.75, -0.25, 1.0, 0.5, 2.0, -1.0, 0.5, 0.25, 1.0, -2.0]> : f32[2,1,3,3]\n"
      "  %s = const dense<[1.5, 0.5]> : f32[2]\n"
      "  %b = const dense<[0.25, -0.25]> : f32[2]\n"
      "  %one = const dense<1.0> : f32[2,1,1]\n"
      "  %c = conv2d(%x, %w) {group = 2, pads = [1, 1, 1, 1]} : f32[1,2,3,3]\n"
      "  %n = batch_norm(%c, %s, %b, %b, %s) : f32[1,2,3,3]\n"
      "  %m = mul(%n, %one) : f32[1,2,3,3]\n"
      "  %r = add(%m, %x) : f32[1,2,3,3]\n"
      "  %t = tanh(%r) : f32[1,2,3,3]\n"
      "  %y = sigmoid(%t) : f32[1,2,3,3]\n"
      "  return %y\n"
      "}\n";
  DiagSink d;
  diag_init(&d, NULL);
  int n;
  const Pass *const *o2 = pass_level(2, &n);
  bool completed = false;
  for (uint64_t fail = 1; !completed && fail < 5000; fail++) {
    Graph *g = load(text);
    PassCtx c = {&d, false, NULL};
    ir_alloc_fail_after(fail);
    IrStatus st = pass_run_pipeline(g, o2, n, NULL, &c);
    uint64_t made = ir_alloc_fail_after(0);
    assert_true(st == IR_OK || st == IR_ERR_INPUT);
    completed = st == IR_OK && made < fail;
    pass_plan_free(c.plan);
    ir_graph_free(g);
  }
  assert_true(completed);
  diag_free(&d);
}

/* The levels: -O0 runs nothing, -O1 no fusion, -O2 ends with plan; names are unique. */
static void test_levels(void **state) {
  (void)state;
  int n0, n1, n2, nall;
  assert_non_null(pass_level(0, &n0));
  const Pass *const *l1 = pass_level(1, &n1);
  const Pass *const *l2 = pass_level(2, &n2);
  assert_null(pass_level(3, &nall));
  assert_int_equal(n0, 0);
  for (int i = 0; i < n1; i++) assert_true(l1[i] != &pass_fuse_epilogue && l1[i] != &pass_plan);
  assert_ptr_equal(l2[n2 - 1], &pass_plan);
  const Pass *const *all = pass_all(&nall);
  assert_int_equal(nall, 9);
  for (int i = 0; i < nall; i++) assert_ptr_equal(pass_lookup(all[i]->name), all[i]);
  assert_null(pass_lookup("nope"));
}

int main(void) {
  diag_init(&sink, stderr);
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_fold),          cmocka_unit_test(test_dce),
      cmocka_unit_test(test_cse),           cmocka_unit_test(test_simplify),
      cmocka_unit_test(test_bnfold),        cmocka_unit_test(test_fuse_epilogue),
      cmocka_unit_test(test_fuse_elementwise), cmocka_unit_test(test_fuse_patterns),
      cmocka_unit_test(test_plan),
      cmocka_unit_test(test_plan_views),
      cmocka_unit_test(test_plan_orders),
      cmocka_unit_test(test_verify_each),   cmocka_unit_test(test_out_of_memory),
      cmocka_unit_test(test_levels),
  };
  int failed = cmocka_run_group_tests(tests, NULL, NULL);
  diag_free(&sink);
  return failed;
}

/* test_consteval.c — constant evaluation (ir/consteval.h): nodes whose operands are constants
 * evaluated on the reference kernels and turned into constants; refusals; shape rules run one
 * node at a time. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "frontend/parser.h"
#include "ir/consteval.h"
#include "ir/verify.h"

#include "diag_capture.h"

static const char *const text =
    "lathe 1\n"
    "graph @g(%x: f32[2,3]) -> (%y: f32[2,3], %z: f32[3,2]) {\n"
    "  %a = const dense<[1.0, 2.0, 3.0, 4.0, 5.0, 6.0]> : f32[2,3]\n"
    "  %b = const dense<[10.0, 20.0, 30.0]> : f32[3]\n"
    "  %s = add(%a, %b) : f32[2,3]\n"
    "  %t = transpose(%s) : f32[3,2]\n"
    "  %y = mul(%x, %s) : f32[2,3]\n"
    "  return %y, %t\n"
    "}\n";

/* Parses and verifies text. */
static Graph *load(DiagSink *d) {
  Graph *g = ir_parse_text(d, "g.lathe", text, strlen(text));
  assert_non_null(g);
  assert_int_equal(ir_verify(g, d), IR_OK);
  return g;
}

/* Folding add and then transpose (whose operand has just become a constant); the graph still
 * verifies and the values are the ones computed by hand. */
static void test_fold_chain(void **state) {
  (void)state;
  DiagSink d;
  diag_start(&d);
  Graph *g = load(&d);
  NodeId add = g->body->nodes[2], tr = g->body->nodes[3], mul = g->body->nodes[4];
  assert_true(ir_node_inputs_const(g, add));
  assert_false(ir_node_inputs_const(g, tr));
  assert_false(ir_node_inputs_const(g, mul));
  assert_int_equal(ir_const_eval_node(g, add, &d), IR_OK);
  assert_int_equal(g->nodes[add].op, OP_CONST);
  assert_int_equal(g->nodes[add].const_kind, CONST_DENSE);
  assert_true(ir_node_inputs_const(g, tr));
  assert_int_equal(ir_const_eval_node(g, tr, &d), IR_OK);
  static const float want[6] = {11, 14, 22, 25, 33, 36};
  assert_memory_equal(g->nodes[tr].data->data, want, sizeof want);
  assert_int_equal(ir_verify(g, &d), IR_OK);
  ir_graph_free(g);
  diag_end(&d);
}

/* A node with a non-constant operand, and a const node itself, are refused. */
static void test_refusals(void **state) {
  (void)state;
  DiagSink d;
  diag_start(&d);
  Graph *g = load(&d);
  IrBuffer *out[1];
  assert_int_equal(ir_const_eval(g, g->body->nodes[4], out, &d), IR_ERR_USAGE);
  assert_null(out[0]);
  assert_int_equal(ir_const_eval_node(g, g->body->nodes[0], &d), IR_ERR_USAGE);
  assert_diag_has(&d, "cannot be evaluated as a constant");
  ir_graph_free(g);
  diag_end(&d);
}

/* The shape rule of one node sets its result type; a bad operand is reported at the node. */
static void test_infer_node(void **state) {
  (void)state;
  DiagSink d;
  diag_start(&d);
  Graph *g = load(&d);
  NodeId tr = g->body->nodes[3];
  Value *t = &g->values[g->nodes[tr].outputs[0]];
  memset(&t->type, 0, sizeof t->type);
  assert_int_equal(ir_infer_node(g, tr, &d), IR_OK);
  assert_int_equal(t->type.rank, 2);
  assert_int_equal(t->type.dims[0], 3);
  assert_int_equal(t->type.dims[1], 2);
  NodeId add = g->body->nodes[2];
  g->values[g->nodes[add].inputs[1]].type.dims[0] = 4; /* [2,3] + [4] does not broadcast */
  assert_int_equal(ir_infer_node(g, add, &d), IR_ERR_INPUT);
  assert_int_equal(d.errors, 1);
  ir_graph_free(g);
  diag_end(&d);
}

/* Allocation failures during evaluation: an error each time, never a crash or a leak, and the
 * node stays as it was until evaluation succeeds. */
static void test_alloc_failures(void **state) {
  (void)state;
  DiagSink d;
  diag_init(&d, NULL);
  bool done = false;
  for (uint64_t n = 1; n < 2000 && !done; n++) {
    Graph *g = load(&d);
    NodeId add = g->body->nodes[2];
    ir_alloc_fail_after(n);
    IrStatus st = ir_const_eval_node(g, add, &d);
    ir_alloc_fail_after(0);
    if (st == IR_OK) done = true;
    else assert_int_equal(g->nodes[add].op, OP_ADD);
    ir_graph_free(g);
  }
  assert_true(done);
  diag_free(&d);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_fold_chain),
      cmocka_unit_test(test_refusals),
      cmocka_unit_test(test_infer_node),
      cmocka_unit_test(test_alloc_failures),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}

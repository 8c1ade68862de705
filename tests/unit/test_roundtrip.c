/* test_roundtrip.c — print(parse(print(g))) is byte-identical to print(g) for every model in
 * tests/models/ and examples/, and every inline constant survives the trip bit for bit. */
#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "frontend/parser.h"
#include "ir/op.h"
#include "ir/printer.h"
#include "ir/verify.h"

/* Parses and verifies text; fails the test on any diagnostic. */
static Graph *parse_ok(const char *name, const char *text) {
  DiagSink d;
  diag_init(&d, stderr);
  Graph *g = ir_parse_text(&d, name, text, strlen(text));
  assert_non_null(g);
  assert_int_equal(ir_verify(g, &d), IR_OK);
  diag_free(&d);
  return g;
}

/* Asserts that the const nodes of a and b (in order) hold the same bytes. */
static void assert_same_constants(const Graph *a, const Graph *b) {
  assert_int_equal(a->nnodes, b->nnodes);
  for (int i = 0; i < a->nnodes; i++) {
    const Node *x = &a->nodes[i], *y = &b->nodes[i];
    assert_int_equal(x->op, y->op);
    if (x->const_kind != CONST_DENSE) continue;
    assert_non_null(x->data);
    assert_non_null(y->data);
    assert_int_equal(x->data->size, y->data->size);
    assert_memory_equal(x->data->data, y->data->data, (size_t)x->data->size);
  }
}

/* Round-trips one file. */
static void roundtrip_file(const char *path) {
  DiagSink d;
  diag_init(&d, stderr);
  Graph *g0 = ir_parse_file(&d, path);
  assert_non_null(g0);
  assert_int_equal(ir_verify(g0, &d), IR_OK);
  char *s1 = ir_print_to_string(g0);
  assert_non_null(s1);
  Graph *g1 = parse_ok(path, s1);
  char *s2 = ir_print_to_string(g1);
  assert_non_null(s2);
  if (strcmp(s1, s2) != 0) fail_msg("%s: the printout does not print back the same:\n%s\n----\n%s", path, s1, s2);
  assert_same_constants(g0, g1);
  print_message("%s: %zu bytes round-trip\n", path, strlen(s1));
  ir_free(s1);
  ir_free(s2);
  ir_graph_free(g0);
  ir_graph_free(g1);
  diag_free(&d);
}

/* Round-trips every .lathe file in dir; returns how many. */
static int roundtrip_dir(const char *dir) {
  DIR *dp = opendir(dir);
  assert_non_null(dp);
  int count = 0;
  struct dirent *e;
  while ((e = readdir(dp))) {
    size_t n = strlen(e->d_name);
    if (n < 7 || strcmp(e->d_name + n - 6, ".lathe") != 0) continue;
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
    roundtrip_file(path);
    count++;
  }
  closedir(dp);
  return count;
}

static void test_models_roundtrip(void **state) {
  (void)state;
  assert_true(roundtrip_dir(LATHE_SOURCE_DIR "/tests/models") >= 3);
  assert_true(roundtrip_dir(LATHE_SOURCE_DIR "/examples/digits") >= 1);
}

/* Every op of the table appears in some test model, so the round trip covers every op. */
static void test_models_cover_every_op(void **state) {
  (void)state;
  bool seen[OP_COUNT] = {0};
  const char *files[] = {"mlp", "cnn", "types", "shape2"};
  for (size_t f = 0; f < sizeof files / sizeof files[0]; f++) {
    char path[4096];
    snprintf(path, sizeof path, "%s/tests/models/%s.lathe", LATHE_SOURCE_DIR, files[f]);
    DiagSink d;
    diag_init(&d, stderr);
    Graph *g = ir_parse_file(&d, path);
    assert_non_null(g);
    for (int i = 0; i < g->nnodes; i++) seen[g->nodes[i].op] = true;
    ir_graph_free(g);
    diag_free(&d);
  }
  for (int op = 0; op < OP_COUNT; op++)
    if (!seen[op]) fail_msg("op %s appears in no test model", ir_ops[op].name);
}

/* Floats that are hard to print: every one must come back with the same bits. */
static void test_float_literals_bit_exact(void **state) {
  (void)state;
  const uint32_t bits[] = {0x00000000u, 0x80000000u, 0x00000001u, 0x007fffffu, 0x00800000u, 0x7f7fffffu,
                           0x7f800000u, 0xff800000u, 0x7fc00000u, 0x7fc00001u, 0xffc00000u, 0x3dcccccdu,
                           0x3eaaaaabu, 0x4b800001u, 0x33d6bf95u, 0xc0490fdbu, 0x3f800001u, 0x4effffffu};
  size_t n = sizeof bits / sizeof bits[0];
  char text[4096];
  int len = snprintf(text, sizeof text, "lathe 1\ngraph @f() -> (%%o: f32[%zu]) {\n  %%c = const dense<[", n);
  for (size_t i = 0; i < n; i++) {
    float f;
    memcpy(&f, &bits[i], 4);
    FILE *m = fmemopen(text + len, sizeof text - (size_t)len, "w");
    setvbuf(m, NULL, _IONBF, 0);
    if (i) fputs(", ", m);
    ir_print_f32(m, f);
    len += (int)ftell(m);
    fclose(m);
  }
  snprintf(text + len, sizeof text - (size_t)len, "]> : f32[%zu]\n  return %%c\n}\n", n);
  Graph *g = parse_ok("floats", text);
  const Node *c = &g->nodes[0];
  assert_int_equal(c->data->size, (int64_t)(4 * n));
  assert_memory_equal(c->data->data, bits, 4 * n);
  ir_graph_free(g);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_models_roundtrip),
      cmocka_unit_test(test_models_cover_every_op),
      cmocka_unit_test(test_float_literals_bit_exact),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}

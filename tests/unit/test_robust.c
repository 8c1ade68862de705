/* test_robust.c — hostile text: every prefix of every test model, and thousands of seeded
 * random byte mutations, must give diagnostics (or a valid graph), never a crash, a hang or
 * a huge allocation; mutated graphs that still verify must also run on the interpreter. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "frontend/parser.h"
#include "ir/fs.h"
#include "ir/interp.h"
#include "ir/verify.h"

static const char *const models[] = {
    LATHE_SOURCE_DIR "/tests/models/mlp.lathe",
    LATHE_SOURCE_DIR "/tests/models/cnn.lathe",
    LATHE_SOURCE_DIR "/tests/models/types.lathe",
    LATHE_SOURCE_DIR "/tests/models/math.lathe",
    LATHE_SOURCE_DIR "/examples/digits/digits.lathe",
};

/* Bytes of every value of g: the interpreter runs only graphs that are small. */
static int64_t graph_bytes(const Graph *g) {
  int64_t total = 0;
  for (int v = 0; v < g->nvalues; v++) total += ir_type_bytes(&g->values[v].type);
  return total;
}

/* Parses and verifies text; when it verifies (and has no sidecar weights), runs it on zero
 * inputs. Returns 1 if the text was valid, 0 otherwise; errors must come with diagnostics. */
static int exercise(const char *text, size_t len) {
  DiagSink d;
  diag_init(&d, NULL);
  int valid = 0;
  Graph *g = ir_parse_text(&d, "mutant.lathe", text, len);
  if (!g) {
    assert_true(d.errors > 0);
  } else if (ir_verify(g, &d) != IR_OK) {
    assert_true(d.errors > 0);
    assert_false(d.internal);
  } else {
    valid = 1;
    if (!g->weights_path && graph_bytes(g) < (64 << 20)) {
      int nin = g->body->nparams, nout = g->body->nresults;
      void **in = calloc((size_t)nin + 1, sizeof *in), **out = calloc((size_t)nout + 1, sizeof *out);
      for (int i = 0; i < nin; i++) in[i] = calloc(1, (size_t)ir_type_bytes(&g->values[g->body->params[i]].type) + 1);
      for (int i = 0; i < nout; i++) out[i] = calloc(1, (size_t)ir_type_bytes(&g->output_types[i]) + 1);
      IrStatus st = ir_interp_run(g, (const void *const *)in, out, &d);
      assert_true(st == IR_OK || (st == IR_ERR_INPUT && d.errors > 0)); /* e.g. integer division by zero */
      for (int i = 0; i < nin; i++) free(in[i]);
      for (int i = 0; i < nout; i++) free(out[i]);
      free(in);
      free(out);
    }
  }
  ir_graph_free(g);
  diag_free(&d);
  return valid;
}

static IrBuffer *read_model(const char *path) {
  DiagSink d;
  diag_init(&d, stderr);
  IrBuffer *b;
  assert_int_equal(ir_read_file(path, 1 << 20, &b, &d), IR_OK);
  diag_free(&d);
  return b;
}

static void test_every_prefix(void **state) {
  (void)state;
  for (size_t m = 0; m < sizeof models / sizeof models[0]; m++) {
    IrBuffer *b = read_model(models[m]);
    int valid = 0;
    for (int64_t len = 0; len < b->size; len++) valid += exercise(b->data, (size_t)len);
    /* Only prefixes that drop nothing but trailing white space can be valid. */
    assert_true(valid <= 2);
    assert_int_equal(exercise(b->data, (size_t)b->size), 1);
    ir_buffer_unref(b);
  }
}

/* xorshift64: the test's own seeded generator, so every run mutates the same way. */
static uint64_t rnd(uint64_t *s) {
  *s ^= *s << 13;
  *s ^= *s >> 7;
  *s ^= *s << 17;
  return *s;
}

static void test_random_mutations(void **state) {
  (void)state;
  uint64_t seed = 0x1a7e5eedull;
  static const char interesting[] = "0123456789,[]{}()<>%@\"=:-_ ^*\n\\x.e#";
  int valid = 0, total = 0;
  for (size_t m = 0; m < sizeof models / sizeof models[0]; m++) {
    IrBuffer *b = read_model(models[m]);
    char *copy = malloc((size_t)b->size);
    for (int iter = 0; iter < 5000; iter++) {
      memcpy(copy, b->data, (size_t)b->size);
      int edits = 1 + (int)(rnd(&seed) % 3);
      for (int e = 0; e < edits; e++) {
        size_t at = (size_t)(rnd(&seed) % (uint64_t)b->size);
        uint64_t r = rnd(&seed);
        copy[at] = r % 4 == 0 ? (char)(r >> 8) : interesting[(r >> 8) % (sizeof interesting - 1)];
      }
      valid += exercise(copy, (size_t)b->size);
      total++;
    }
    free(copy);
    ir_buffer_unref(b);
  }
  print_message("%d of %d mutants still verify\n", valid, total);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_every_prefix),
      cmocka_unit_test(test_random_mutations),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}

/* fuzz_ir.c — the text IR parser and verifier on arbitrary bytes. Every input must either
 * give a verified graph or be refused with at least one diagnostic and no internal error; a
 * verified graph must print as text that parses and verifies again and prints the same
 * (print(parse(print(g))) == print(g), docs/ir.md). */
#include <string.h>

#include "frontend/parser.h"
#include "ir/printer.h"
#include "ir/verify.h"
#include "tests/fuzz/fuzz.h"

/* Parses and verifies text; returns the graph, or NULL after checking that diagnostics say why. */
static Graph *parse_verified(DiagSink *d, const char *text, size_t len) {
  int errors = d->errors;
  Graph *g = ir_parse_text(d, "fuzz.lathe", text, len);
  if (g && ir_verify(g, d) != IR_OK) {
    ir_graph_free(g);
    g = NULL;
  }
  FUZZ_REQUIRE(g || d->errors > errors);
  FUZZ_REQUIRE(!d->internal);
  return g;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  DiagSink d;
  diag_init(&d, NULL);
  Graph *g = parse_verified(&d, (const char *)data, size);
  char *first = g ? ir_print_to_string(g) : NULL;
  if (first) {
    Graph *again = parse_verified(&d, first, strlen(first));
    FUZZ_REQUIRE(again != NULL);
    char *second = ir_print_to_string(again);
    FUZZ_REQUIRE(second && strcmp(first, second) == 0);
    ir_free(second);
    ir_graph_free(again);
  }
  ir_free(first);
  ir_graph_free(g);
  diag_free(&d);
  return 0;
}

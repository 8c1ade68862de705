/* roundtrip.c — print ∘ parse ∘ print = print, for the fuzz targets (roundtrip.h). */
#include "tests/fuzz/roundtrip.h"

#include <string.h>

#include "frontend/parser.h"
#include "ir/printer.h"
#include "ir/verify.h"
#include "tests/fuzz/fuzz.h"

Graph *fuzz_parse_verified(DiagSink *d, const char *name, const char *text, size_t len) {
  int errors = d->errors;
  Graph *g = ir_parse_text(d, name, text, len);
  if (g && ir_verify(g, d) != IR_OK) {
    ir_graph_free(g);
    g = NULL;
  }
  FUZZ_REQUIRE(g || d->errors > errors);
  FUZZ_REQUIRE(!d->internal);
  return g;
}

void fuzz_check_roundtrip(const Graph *g) {
  char *first = ir_print_to_string(g);
  if (!first) return; /* out of memory: nothing to compare */
  DiagSink d;
  diag_init(&d, stderr); /* a printed graph that does not parse back says why */
  Graph *again = fuzz_parse_verified(&d, "printed.lathe", first, strlen(first));
  if (!again) fprintf(stderr, "printed text:\n%s", first);
  FUZZ_REQUIRE(again != NULL);
  char *second = ir_print_to_string(again);
  FUZZ_REQUIRE(second && strcmp(first, second) == 0);
  ir_free(second);
  ir_graph_free(again);
  ir_free(first);
  diag_free(&d);
}

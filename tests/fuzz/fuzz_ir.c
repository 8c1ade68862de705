/* fuzz_ir.c — the text IR parser and verifier on arbitrary bytes. Every input must either
 * give a verified graph or be refused with at least one diagnostic and no internal error; a
 * verified graph must print as text that parses and verifies again and prints the same
 * (print(parse(print(g))) == print(g), docs/ir.md). */
#include "tests/fuzz/fuzz.h"
#include "tests/fuzz/roundtrip.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  DiagSink d;
  diag_init(&d, NULL);
  Graph *g = fuzz_parse_verified(&d, "fuzz.lathe", (const char *)data, size);
  if (g) fuzz_check_roundtrip(g);
  ir_graph_free(g);
  diag_free(&d);
  return 0;
}

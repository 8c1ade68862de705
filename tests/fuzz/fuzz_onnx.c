/* fuzz_onnx.c — the ONNX importer on arbitrary bytes, from memory (no file is read or
 * written). Every input must give a verified graph or be refused with at least one
 * diagnostic and no internal error; an imported graph must print as text IR that parses
 * back to the same text (what `lathe import` writes, its constants inline). */
#include "frontend/onnx/onnx.h"
#include "tests/fuzz/fuzz.h"
#include "tests/fuzz/roundtrip.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  DiagSink d;
  diag_init(&d, NULL);
  Graph *g = NULL;
  OnnxImportInfo info;
  IrStatus st = onnx_import_bytes(data, size, "fuzz.onnx", NULL, &g, &info, &d);
  FUZZ_REQUIRE(st == IR_OK ? g != NULL : g == NULL && d.errors > 0);
  FUZZ_REQUIRE(!d.internal);
  if (g) fuzz_check_roundtrip(g);
  onnx_import_info_free(&info);
  ir_graph_free(g);
  diag_free(&d);
  return 0;
}

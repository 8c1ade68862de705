/* save.c — writing an imported graph: ir_save with the importer's choice of what goes to the
 * sidecar. */
#include "frontend/onnx/onnx.h"
#include "frontend/save.h"
#include "ir/op.h"

/* True when the const node n goes to the sidecar: an initializer (a constant no node made:
 * its Loc has no origin), or a constant of more than ONNX_INLINE_MAX_ELEMENTS elements. */
static bool to_sidecar(const Graph *g, const Node *n) {
  if (n->op != OP_CONST || !n->data) return false;
  return !n->loc.origin || ir_type_numel(&g->values[n->outputs[0]].type) > ONNX_INLINE_MAX_ELEMENTS;
}

IrStatus onnx_save(Graph *g, const char *lathe_path, DiagSink *d) { return ir_save(g, lathe_path, to_sidecar, d); }

/* weights.h — attaching a model's sidecar weights (safetensors) to its const nodes. */
#ifndef LATHE_FRONTEND_WEIGHTS_H
#define LATHE_FRONTEND_WEIGHTS_H

#include "ir/ir.h"

/* Opens the sidecar the graph's weights line names (relative to g->dir), checks its size
 * and SHA-256 against that line, and gives every weight("name") const node its data,
 * checking element type and size. Reports every missing or mismatched weight. */
IrStatus ir_attach_weights(Graph *g, DiagSink *d);

#endif

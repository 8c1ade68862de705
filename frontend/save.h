/* save.h — writing a graph as text IR with its weights in a safetensors sidecar. */
#ifndef LATHE_FRONTEND_SAVE_H
#define LATHE_FRONTEND_SAVE_H

#include "ir/ir.h"

/* Which const nodes (carrying data) of the graph's body ir_save writes to the sidecar. */
typedef bool (*IrSaveFilter)(const Graph *g, const Node *n);

/* Dense constants of more than this many elements go to the sidecar with the default filter. */
enum { IR_SAVE_INLINE_MAX_ELEMENTS = 16 };

/* The default filter: every weight("name") const, and every dense const of more than
 * IR_SAVE_INLINE_MAX_ELEMENTS elements without a layout (safetensors holds row-major data). */
bool ir_save_weights_filter(const Graph *g, const Node *n);

/* Writes g as text IR to lathe_path and the constants to_sidecar picks to a safetensors
 * sidecar beside it (lathe_path with ".lathe" replaced by ".safetensors"), each under its
 * weight's name (a weight const) or its value's name (a dense one, which becomes a weight
 * reference). Both are written to temporary names and renamed into place only when both are
 * complete; on failure neither existing file is touched and g is left as it was. The sidecar's
 * size and SHA-256 go into the weights line. A graph with no such constant gets no sidecar
 * and no weights line. Every picked const node must carry its data. */
IrStatus ir_save(Graph *g, const char *lathe_path, IrSaveFilter to_sidecar, DiagSink *d);

#endif

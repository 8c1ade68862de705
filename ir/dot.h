/* dot.h — drawing a graph with Graphviz. */
#ifndef LATHE_IR_DOT_H
#define LATHE_IR_DOT_H

#include "ir/ir.h"

/* Writes g as a Graphviz digraph: inputs and outputs as ellipses, each node as a box naming
 * its op and result type, constants as notes, each fused op as a cluster holding its body;
 * edges follow values (into a fused body, to the nodes that read the parameter). Returns
 * IR_OK, or reports running out of memory. */
IrStatus ir_print_dot(FILE *out, const Graph *g, DiagSink *d);

#endif

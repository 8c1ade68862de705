/* consteval.h — evaluating nodes whose operands are all constants, on the reference kernels,
 * and running one node's shape rule: what the ONNX importer uses to fold shape computations
 * and what graph passes (constant folding) use too. */
#ifndef LATHE_IR_CONSTEVAL_H
#define LATHE_IR_CONSTEVAL_H

#include "ir/op.h"

/* True when every operand of node n is the result of a const node that carries its data. */
bool ir_node_inputs_const(const Graph *g, NodeId n);

/* Runs the op's shape rule on node n (whose attributes have the kinds its schema names) and
 * sets the types of its results (plain row-major, as the rule gives them). Reports at the
 * node and returns IR_ERR_INPUT when the rule refuses the operands. */
IrStatus ir_infer_node(Graph *g, NodeId n, DiagSink *d);

/* Evaluates node n of g, whose operands are all const nodes with data (ir_node_inputs_const)
 * and whose result types are set, on the reference interpreter: the node is first checked as
 * the verifier checks it (attributes, shape rule, result types), then run. results[i]
 * receives a new buffer (one reference, the caller's) holding result i in the physical form
 * of its type. Regions (fused) and const nodes themselves are refused (IR_ERR_USAGE). On
 * failure every results[i] is NULL and the problem is reported at the node. */
IrStatus ir_const_eval(const Graph *g, NodeId n, IrBuffer **results, DiagSink *d);

/* Turns node n (one result, operands as for ir_const_eval) into a const node carrying its
 * value inline (CONST_DENSE): same result value, same Loc, no operands, no attributes. The
 * nodes that defined its operands stay (dead code elimination removes them if unused). A
 * node with several results is refused (IR_ERR_USAGE): evaluate it with ir_const_eval. */
IrStatus ir_const_eval_node(Graph *g, NodeId n, DiagSink *d);

#endif

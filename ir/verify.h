/* verify.h — the verifier, run after parsing and (in debug builds) after every pass. */
#ifndef LATHE_IR_VERIFY_H
#define LATHE_IR_VERIFY_H

#include "ir/op.h"

/* Checks g: operand and result counts, attributes against each op's schema (converting
 * integers written for numbers), definition before use, unique names per region, valid
 * types, and every declared result type against the op's shape rule. Reports each problem
 * with its location; returns IR_OK, IR_ERR_INPUT or IR_ERR_INTERNAL. */
IrStatus ir_verify(Graph *g, DiagSink *d);

#endif

/* ops.c — the op table, built from ir/ops.def. */
#include "ir/op.h"

#include <string.h>

#define OP(e, name, impl, min_in, max_in, min_out, max_out, flags, doc) extern const OpImpl ir_impl_##impl;
#include "ir/ops.def"
#undef OP

const OpInfo ir_ops[OP_COUNT] = {
#define OP(e, name, impl, min_in, max_in, min_out, max_out, flags, doc) \
  [OP_##e] = {name, &ir_impl_##impl, min_in, max_in, min_out, max_out, flags, doc},
#include "ir/ops.def"
#undef OP
};

int ir_op_lookup(const char *s, size_t len) {
  for (int op = 0; op < OP_COUNT; op++)
    if (strlen(ir_ops[op].name) == len && memcmp(ir_ops[op].name, s, len) == 0) return op;
  return -1;
}

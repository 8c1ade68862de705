/* alias.h — scoped alias metadata for one kernel: which of its buffers LLVM may assume never
 * overlap (docs/llvm.md "Alias scopes"). */
#ifndef LATHE_CODEGEN_LLVM_ALIAS_H
#define LATHE_CODEGEN_LLVM_ALIAS_H

#include "codegen/llvm/llvm.h"
#include "codegen/nest.h"

/* For kernel k of p whose buffers are o (cg_nest_buf_order), sets scope[i] and noalias[i]
 * (metadata as values, o->n each) for its i-th buffer: !alias.scope {its scope} and !noalias
 * {the scopes of the kernel's other buffers whose memory is disjoint from it}; NULL for a
 * noalias list that would be empty. Returns false when out of memory. */
bool cg_llvm_alias_kernel(LLVMContextRef ctx, const NestProgram *p, const NestKernel *k, const NestBufOrder *o,
                          LLVMValueRef *scope, LLVMValueRef *noalias);

/* True when no byte of buffer a can be a byte of buffer b (the rule at the head of alias.c):
 * two kernels that share one function must agree on it for every pair of their buffers. */
bool cg_llvm_alias_disjoint(const NestBuf *a, const NestBuf *b);

/* Attaches buffer b's metadata (from cg_llvm_alias_kernel) to load or store inst. */
void cg_llvm_alias_set(LLVMContextRef ctx, LLVMValueRef inst, LLVMValueRef scope, LLVMValueRef noalias);

#endif

/* alias.h — scoped alias metadata for one kernel: which of its buffers LLVM may assume never
 * overlap (docs/llvm.md "Alias scopes"). */
#ifndef LATHE_CODEGEN_LLVM_ALIAS_H
#define LATHE_CODEGEN_LLVM_ALIAS_H

#include "codegen/llvm/llvm.h"
#include "codegen/nest.h"

/* For kernel k of p, sets scope[b] and noalias[b] (metadata as values, p->nbufs each) for
 * every buffer b the kernel loads or stores: !alias.scope {b's scope} and !noalias {the
 * scopes of the kernel's other buffers whose memory is disjoint from b's}; NULL for the
 * buffers it does not use and for a noalias list that would be empty. Returns false when
 * out of memory. */
bool cg_llvm_alias_kernel(LLVMContextRef ctx, const NestProgram *p, const NestKernel *k,
                          LLVMValueRef *scope, LLVMValueRef *noalias);

/* Attaches buffer b's metadata (from cg_llvm_alias_kernel) to load or store inst. */
void cg_llvm_alias_set(LLVMContextRef ctx, LLVMValueRef inst, LLVMValueRef scope, LLVMValueRef noalias);

#endif

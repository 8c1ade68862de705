/* vmath.h — exp, tanh, erf, sigmoid and log as LLVM IR functions on float or <N x float>
 * (docs/llvm.md states how each is computed and its measured error in ULP). LLVM does not
 * vectorize calls into libm; these are plain arithmetic, always inlined, so the loop
 * vectorizer widens the scalar forms and explicit vector code calls the vector forms. */
#ifndef LATHE_CODEGEN_LLVM_VMATH_H
#define LATHE_CODEGEN_LLVM_VMATH_H

#include "codegen/llvm/llvm.h"

typedef enum { VM_EXP, VM_TANH, VM_ERF, VM_SIGMOID, VM_LOG, VM_NOPS } VmathOp;

/* The op's name: "exp", "tanh", "erf", "sigmoid", "log". */
const char *cg_vmath_name(VmathOp op);
/* Returns `T lathe.vmath.OP.TYPE(T)`, T = float for lanes 1, else <lanes x float>, defined
 * in mod on first request: internal, alwaysinline, with t's function attributes. */
LLVMValueRef cg_vmath_fn(LLVMModuleRef mod, const LlvmTarget *t, VmathOp op, unsigned lanes);
/* Emits op(x) at b for x of type float or <N x float>; returns the result. */
LLVMValueRef cg_vmath_call(LLVMBuilderRef b, LLVMModuleRef mod, const LlvmTarget *t, VmathOp op,
                           LLVMValueRef x);

#endif

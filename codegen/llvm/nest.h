/* nest.h — the LLVM backend's reading of the loop-nest IR (codegen/nest.h): the body emitter
 * that plugs into the model shell, and the one call `lathe compile` makes for .so, .o, .s
 * and .ll outputs. */
#ifndef LATHE_CODEGEN_LLVM_NEST_H
#define LATHE_CODEGEN_LLVM_NEST_H

#include "codegen/artifact.h"
#include "codegen/llvm/llvm.h"

/* An LlvmBodyFn: user is the const NestProgram * to translate. Reports (at the kernel's
 * location) a construct the backend cannot compile and returns IR_ERR_INPUT. */
IrStatus cg_llvm_nest_body(const LlvmBodyCtx *c, void *user, DiagSink *d);

/* Compiles program p (described by a) for target (NULL: native) and writes the files of
 * paths (NULL members are skipped) safely. */
IrStatus cg_llvm_compile(const NestProgram *p, const CgArtifact *a, const char *target,
                         const LlvmEmitPaths *paths, DiagSink *d);

#endif

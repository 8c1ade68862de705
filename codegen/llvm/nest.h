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

/* Checks that spec names a target (cg_llvm_target_init's names); reports it when not. */
IrStatus cg_llvm_check_target(const char *spec, DiagSink *d);

/* What the lathe command reaches of this backend, which it loads only when it compiles
 * (tools/backend.c): the backend is built twice, into the compiler library that tests and
 * programs link, and into the module liblathe_llvm.so, so that the commands that do not
 * compile (import, check, run of an artifact, ...) never map libLLVM (~55 MB resident). The
 * module's other references (lowering, diagnostics, allocation) resolve to the lathe
 * executable's own symbols. */
typedef struct CgLlvmBackend {
  IrStatus (*compile)(const NestProgram *p, const CgArtifact *a, const char *target,
                      const LlvmEmitPaths *paths, DiagSink *d);
  IrStatus (*check_target)(const char *spec, DiagSink *d);
} CgLlvmBackend;
#define CG_LLVM_BACKEND_SYMBOL "cg_llvm_backend"
extern const CgLlvmBackend cg_llvm_backend;

#endif

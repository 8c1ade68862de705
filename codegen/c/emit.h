/* emit.h — the portable C backend: C99 source from the loop nests (docs/codegen.md). */
#ifndef LATHE_CODEGEN_C_EMIT_H
#define LATHE_CODEGEN_C_EMIT_H

#include "codegen/artifact.h"

/* Writes the C source of program p (kernels, entry point NAME_run, typed wrapper, record and
 * descriptor; the weight blob as string literals unless a->sidecar) to f. Returns IR_OK, or
 * reports running out of memory through d (the output is then incomplete). */
IrStatus cg_emit_c(FILE *f, const NestProgram *p, const CgArtifact *a, DiagSink *d);

#endif

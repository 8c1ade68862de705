/* llvm.h — the LLVM backend (docs/llvm.md): target machines (target.c), the module shell of
 * one compiled model (shell.c: weight blob, record, descriptor, entry point with its checks)
 * and emission of .o, .s, .ll and .so files (emit.c). A kernel body is plugged into the shell
 * through LlvmBodyFn; codegen/llvm/vmath.h supplies vector exp, tanh, erf, sigmoid and log.
 * Everything here runs at compile time: the runtime links none of it. */
#ifndef LATHE_CODEGEN_LLVM_LLVM_H
#define LATHE_CODEGEN_LLVM_LLVM_H

#include <llvm-c/Core.h>
#include <llvm-c/TargetMachine.h>

#include "lathe/model.h"
#include "ir/base.h"

/* ---- targets (target.c) ------------------------------------------------------------------ */

/* A code-generation target: what `--target=` names. */
typedef struct LlvmTarget {
  char name[32];          /* recorded in the artifact: "x86-64-v3", "x86-64-v4", "generic",
                             or "native:CPU" (CPU as LLVM names the host) */
  char *triple;           /* LLVM triple (owned, LLVMDisposeMessage) */
  char *cpu;              /* LLVM CPU name (owned) */
  char *features;         /* LLVM feature string, "+avx2,..." (owned) */
  uint64_t cpu_features;  /* LATHE_CPU_* bits the generated code needs */
  unsigned lanes;         /* f32 lanes of the widest vectors the code prefers: 4, 8 or 16 */
  LLVMTargetMachineRef tm;/* PIC, optimization level aggressive (owned) */
} LlvmTarget;

/* Makes the target named by spec: "native" (or NULL: the host), "x86-64-v3", "x86-64-v4"
 * or "generic" (x86-64 baseline, SSE2). An unknown name is one diagnostic and IR_ERR_USAGE;
 * *t is then empty (safe to free). */
IrStatus cg_llvm_target_init(LlvmTarget *t, const char *spec, DiagSink *d);
void cg_llvm_target_free(LlvmTarget *t);
/* Puts the target's function attributes on fn: target-cpu, target-features, nounwind and,
 * for AVX-512 targets, a 512-bit preferred (and minimum legal) vector width. */
void cg_llvm_target_attrs(const LlvmTarget *t, LLVMValueRef fn);
/* Puts attributes on fn that confine it to baseline x86-64 (SSE2) whatever the target: for
 * the code that runs before the CPU check has passed. */
void cg_llvm_baseline_attrs(const LlvmTarget *t, LLVMValueRef fn);
/* The LATHE_CPU_* bits of an LLVM feature string ("+avx2,-avx512f,..."). */
uint64_t cg_llvm_cpu_bits(const char *features);

/* ---- the module shell (shell.c) ---------------------------------------------------------- */

/* What a body sees: a builder positioned in the (empty, entry) block of the model's internal
 * body function, and that function's arguments. The body emits the computation and leaves
 * the builder at the end of an unterminated block; the shell adds the return. */
typedef struct LlvmBodyCtx {
  LLVMContextRef ctx;
  LLVMModuleRef mod;
  LLVMBuilderRef b;
  LLVMValueRef fn;             /* the body function: void (ex, weights, ws, in..., out...) */
  LLVMValueRef exec;           /* const lathe_exec * (may be null: serial) */
  LLVMValueRef weights;        /* the weight blob, 64-byte aligned */
  LLVMValueRef workspace;      /* the workspace, 64-byte aligned, noalias */
  const LLVMValueRef *inputs;  /* ninputs pointers to the input buffers (read only) */
  const LLVMValueRef *outputs; /* noutputs pointers to the output buffers (noalias) */
  uint32_t ninputs, noutputs;
  const LlvmTarget *target;
} LlvmBodyCtx;

/* Emits the computation of a model into ctx; returns IR_OK or reports why not. */
typedef IrStatus (*LlvmBodyFn)(const LlvmBodyCtx *ctx, void *user, DiagSink *d);

/* Everything the shell needs to know of a model. */
typedef struct LlvmModelSpec {
  const char *name;                  /* symbol prefix: a C identifier of at most 63 bytes */
  const lathe_tensor_desc *inputs;   /* ninputs descriptions (copied into the module) */
  const lathe_tensor_desc *outputs;
  uint32_t ninputs, noutputs;
  uint64_t workspace_size;           /* bytes the body uses from the workspace */
  const void *weights;               /* the weight blob (may be NULL when weights_size is 0) */
  uint64_t weights_size;
  bool weights_sidecar;              /* not embedded: the run takes ex->weights, checked */
  const char *wrapper;               /* NULL, or SUFFIX: also define the typed convenience
                                        int NAME_run_SUFFIX(in..., out..., workspace) */
  LlvmBodyFn body;
  void *user;                        /* passed to body */
} LlvmModelSpec;

/* One compiled model's module. */
typedef struct LlvmShell {
  LLVMContextRef ctx;      /* owned */
  LLVMModuleRef mod;       /* owned by ctx's lifetime; disposed by cg_llvm_shell_free */
  const LlvmTarget *target;/* borrowed */
  char blob_name[128];     /* the embedded weight global's symbol ("" for a sidecar model); kept
                            * by name because the optimizer deletes the global when unused */
  lathe_artifact_record record; /* as embedded (content_sha256 zero) */
} LlvmShell;

/* Builds the module of model m for target t: NAME_weights (one private constant blob,
 * 64-aligned), NAME_record (section ".lathe"), NAME_desc, NAME_run (and NAME_run_SUFFIX)
 * and the body. On failure
 * reports, returns the status and leaves *s empty (safe to free). */
IrStatus cg_llvm_shell_build(LlvmShell *s, const LlvmTarget *t, const LlvmModelSpec *m,
                             DiagSink *d);
void cg_llvm_shell_free(LlvmShell *s);

/* ---- emission (emit.c) ------------------------------------------------------------------- */

/* The files to write; NULL members are not written. */
typedef struct LlvmEmitPaths {
  const char *obj;  /* relocatable object (.o), weights included */
  const char *so;   /* shared object linked by ld.lld-16, content hash patched into the record */
  const char *asm_; /* assembly (.s) without the weight bytes */
  const char *ir;   /* LLVM IR (.ll) without the weight bytes */
  FILE *times;      /* not NULL: the time of each phase (llvm-ir, llvm-o3, llvm-text,
                       llvm-codegen, link) is printed here (`lathe compile --time-passes`) */
} LlvmEmitPaths;

/* Verifies the module and runs the `default<O3>` pipeline with the target machine. */
IrStatus cg_llvm_optimize(LlvmShell *s, DiagSink *d);
/* Writes the requested files safely (nothing half-written on failure); prints the time of
 * each phase to p->times when set. */
IrStatus cg_llvm_emit(LlvmShell *s, const LlvmEmitPaths *p, DiagSink *d);

#endif

/* emit.c — optimization (the `default<O3>` pipeline) and the files of a model's module:
 * .o, .s and .ll from LLVM, .so linked by ld.lld-16, each written safely (temporary file,
 * renamed into place only when complete). */
#define _GNU_SOURCE /* memmem */
#include "codegen/llvm/llvm.h"

#include <errno.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <llvm-c/Analysis.h>
#include <llvm-c/Transforms/PassBuilder.h>

#include "ir/fs.h"
#include "lathe/runtime.h"

extern char **environ;

/* The linker, looked up on PATH. */
#define LLD "ld.lld-16"

IrStatus cg_llvm_optimize(LlvmShell *s, DiagSink *d) {
  char *msg = NULL;
  if (LLVMVerifyModule(s->mod, LLVMReturnStatusAction, &msg)) {
    IrStatus st = IR_INTERNAL(d, msg ? msg : "LLVM module does not verify");
    LLVMDisposeMessage(msg);
    return st;
  }
  LLVMDisposeMessage(msg);
  LLVMPassBuilderOptionsRef opts = LLVMCreatePassBuilderOptions();
  LLVMPassBuilderOptionsSetLoopVectorization(opts, 1);
  LLVMPassBuilderOptionsSetSLPVectorization(opts, 1);
  LLVMErrorRef err = LLVMRunPasses(s->mod, "default<O3>", s->target->tm, opts);
  LLVMDisposePassBuilderOptions(opts);
  if (err) {
    char *text = LLVMGetErrorMessage(err);
    IrStatus st = IR_INTERNAL(d, text);
    LLVMDisposeErrorMessage(text);
    return st;
  }
  return IR_OK;
}

/* Runs LLVM code generation of mod to a memory buffer of the given kind. */
static IrStatus codegen(LlvmShell *s, LLVMModuleRef mod, LLVMCodeGenFileType kind,
                        LLVMMemoryBufferRef *out, DiagSink *d) {
  char *err = NULL;
  if (LLVMTargetMachineEmitToMemoryBuffer(s->target->tm, mod, kind, &err, out)) {
    diag_error(d, loc_none(), "LLVM code generation failed: %s", err ? err : "(no message)");
    LLVMDisposeMessage(err);
    *out = NULL;
    return IR_ERR_INPUT;
  }
  return IR_OK;
}

/* Writes a memory buffer to path safely. */
static IrStatus write_buffer(const char *path, LLVMMemoryBufferRef buf, DiagSink *d) {
  return ir_write_file(path, LLVMGetBufferStart(buf), LLVMGetBufferSize(buf), d);
}

/* Writes .ll and .s from a copy of the module whose weight blob is an external declaration,
 * so neither file carries the weight bytes. */
static IrStatus emit_text(LlvmShell *s, const LlvmEmitPaths *p, DiagSink *d) {
  LLVMModuleRef clone = LLVMCloneModule(s->mod);
  if (s->blob_name[0]) {
    LLVMValueRef g = LLVMGetNamedGlobal(clone, s->blob_name);
    if (g) {
      LLVMSetInitializer(g, NULL); /* a declaration: the bytes stay in the .o and .so only */
      LLVMSetLinkage(g, LLVMExternalLinkage);
      LLVMSetVisibility(g, LLVMHiddenVisibility);
    }
  }
  IrStatus st = IR_OK;
  if (p->ir) {
    char *text = LLVMPrintModuleToString(clone);
    st = ir_write_file(p->ir, text, strlen(text), d);
    LLVMDisposeMessage(text);
  }
  if (st == IR_OK && p->asm_) {
    LLVMMemoryBufferRef buf;
    st = codegen(s, clone, LLVMAssemblyFile, &buf, d);
    if (st == IR_OK) st = write_buffer(p->asm_, buf, d);
    if (buf) LLVMDisposeMemoryBuffer(buf);
  }
  LLVMDisposeModule(clone);
  return st;
}

/* Writes buf to the temporary file at path: no sync or rename, since it is the linker's
 * input and removed after, never an output. */
static IrStatus write_temp(const char *path, LLVMMemoryBufferRef buf, DiagSink *d) {
  FILE *f = fopen(path, "wb");
  size_t n = LLVMGetBufferSize(buf);
  bool ok = f && fwrite(LLVMGetBufferStart(buf), 1, n, f) == n;
  if (f && fclose(f) != 0) ok = false;
  if (!ok) {
    diag_error(d, loc_file(path), "cannot write the object file for the linker: %s", strerror(errno));
    return IR_ERR_INPUT;
  }
  return IR_OK;
}

/* Runs `ld.lld-16 -shared -o so obj`; IR_OK when it exits 0. */
static IrStatus run_lld(const char *obj, const char *so, DiagSink *d) {
  char *argv[] = {LLD, "-shared", "--build-id=none", "-z", "noexecstack", "-z", "now",
                  "--hash-style=gnu", "-o", (char *)so, (char *)obj, NULL};
  pid_t pid;
  int rc = posix_spawnp(&pid, LLD, NULL, NULL, argv, environ);
  if (rc != 0) {
    diag_error(d, loc_none(), "cannot run %s: %s (install lld-16)", LLD, strerror(rc));
    return IR_ERR_INPUT;
  }
  int status;
  while (waitpid(pid, &status, 0) < 0)
    if (errno != EINTR) {
      diag_error(d, loc_none(), "waiting for %s: %s", LLD, strerror(errno));
      return IR_ERR_INPUT;
    }
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    diag_error(d, loc_file(so), "error: %s failed (status %d)", LLD, status);
    return IR_ERR_INPUT;
  }
  return IR_OK;
}

/* Seals the linked file image: the runtime's own rule (lathe_artifact_seal_image) writes the
 * content hash into the record it finds through the ELF section table. */
static IrStatus seal_image(uint8_t *image, size_t n, const char *path, DiagSink *d) {
  lathe_error err;
  if (lathe_artifact_seal_image(image, n, path, &err) == LATHE_OK) return IR_OK;
  diag_error(d, loc_file(path), "cannot seal the linked shared object: %s", err.message);
  return IR_ERR_INTERNAL;
}

/* Links the object code obj into the shared object at path. */
static IrStatus emit_so(const LlvmShell *s, LLVMMemoryBufferRef obj, const char *path, DiagSink *d) {
  char *tobj = NULL, *tso = NULL;
  IrStatus st = IR_OK;
  int fo = ir_temp_beside(path, ".o.XXXXXX", &tobj, d);
  int fs = fo < 0 ? -1 : ir_temp_beside(path, ".so.XXXXXX", &tso, d);
  if (fo >= 0) close(fo);
  if (fs >= 0) close(fs);
  if (fo < 0 || fs < 0) {
    if (tobj) unlink(tobj);
    st = IR_ERR_INPUT;
  }
  if (st == IR_OK) {
    IrBuffer *image = NULL;
    st = write_temp(tobj, obj, d);
    if (st == IR_OK) st = run_lld(tobj, tso, d);
    if (st == IR_OK) st = ir_read_file(tso, IR_MAX_FILE_BYTES, &image, d);
    if (st == IR_OK) st = seal_image(image->data, (size_t)image->size, path, d);
    if (st == IR_OK) st = ir_write_file(path, image->data, (size_t)image->size, d);
    if (image) ir_buffer_unref(image);
    unlink(tobj);
    unlink(tso);
  }
  ir_free(tobj);
  ir_free(tso);
  return st;
}

IrStatus cg_llvm_emit(LlvmShell *s, const LlvmEmitPaths *p, DiagSink *d) {
  IrStatus st = IR_OK;
  double since = ir_now_ms();
  /* Text first: code generation changes the module it runs on. */
  if (p->ir || p->asm_) {
    st = emit_text(s, p, d);
    ir_time_phase(p->times, "llvm-text", &since);
  }
  if (st != IR_OK || (!p->obj && !p->so)) return st;
  LLVMMemoryBufferRef obj;
  st = codegen(s, s->mod, LLVMObjectFile, &obj, d);
  ir_time_phase(p->times, "llvm-codegen", &since);
  if (st != IR_OK) return st;
  if (p->obj) st = write_buffer(p->obj, obj, d);
  if (st == IR_OK && p->so) st = emit_so(s, obj, p->so, d);
  ir_time_phase(p->times, p->so ? "link" : "write", &since);
  LLVMDisposeMemoryBuffer(obj);
  return st;
}

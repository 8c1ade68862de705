/* llvm_harness.h — for the LLVM backend's tests: hand-written model bodies (element-wise maps
 * through vmath, optionally scaled by the weights and staged through the workspace) and a
 * helper that compiles a model to files and dlopens the shared object. Include after
 * <cmocka.h>. The helpers are static inline so that a test using only some of them builds
 * without unused-function warnings. */
#ifndef LATHE_TESTS_LLVM_HARNESS_H
#define LATHE_TESTS_LLVM_HARNESS_H

#include <dlfcn.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "codegen/llvm/llvm.h"
#include "codegen/llvm/vmath.h"
#include "lathe/lathe.h"

#define LLVM_DIR LATHE_TEST_TMP "/llvm/"

/* A body: output k = ops[k](input 0) element-wise over n floats, times the weights (read as
 * n floats) when weights is set; staged through the workspace when workspace is set. */
typedef struct MapBody {
  int ops[VM_NOPS]; /* a VmathOp, or -1 for the identity */
  int nops;         /* = the model's outputs */
  unsigned lanes;   /* vector width of the emitted loop; 1 leaves vectorizing to LLVM */
  int64_t n;
  bool weights;
  bool workspace;
} MapBody;

/* Emits `for (i = lo; i < hi; i += lanes) dst[i] = op(src[i]) (* w[i])`. */
static inline void emit_map_loop(const LlvmBodyCtx *c, int op, bool weights, LLVMValueRef src,
                          LLVMValueRef dst, int64_t lo, int64_t hi, unsigned lanes) {
  if (lo >= hi) return;
  LLVMTypeRef i64 = LLVMInt64TypeInContext(c->ctx), f32 = LLVMFloatTypeInContext(c->ctx);
  LLVMTypeRef ty = lanes == 1 ? f32 : LLVMVectorType(f32, lanes);
  LLVMBasicBlockRef pre = LLVMGetInsertBlock(c->b);
  LLVMBasicBlockRef body = LLVMAppendBasicBlockInContext(c->ctx, c->fn, "map");
  LLVMBasicBlockRef done = LLVMAppendBasicBlockInContext(c->ctx, c->fn, "map.done");
  LLVMBuildBr(c->b, body);
  LLVMPositionBuilderAtEnd(c->b, body);
  LLVMValueRef i = LLVMBuildPhi(c->b, i64, "i");
  LLVMValueRef ps = LLVMBuildGEP2(c->b, f32, src, &i, 1, "");
  LLVMValueRef x = LLVMBuildLoad2(c->b, ty, ps, "x");
  LLVMSetAlignment(x, 4);
  LLVMValueRef y = op < 0 ? x : cg_vmath_call(c->b, c->mod, c->target, (VmathOp)op, x);
  if (weights) {
    LLVMValueRef w = LLVMBuildLoad2(c->b, ty, LLVMBuildGEP2(c->b, f32, c->weights, &i, 1, ""), "w");
    LLVMSetAlignment(w, 4);
    y = LLVMBuildFMul(c->b, y, w, "");
  }
  LLVMValueRef st = LLVMBuildStore(c->b, y, LLVMBuildGEP2(c->b, f32, dst, &i, 1, ""));
  LLVMSetAlignment(st, 4);
  LLVMValueRef next = LLVMBuildAdd(c->b, i, LLVMConstInt(i64, lanes, 0), "");
  LLVMValueRef more = LLVMBuildICmp(c->b, LLVMIntSLT, next, LLVMConstInt(i64, (uint64_t)hi, 0), "");
  LLVMBuildCondBr(c->b, more, body, done);
  LLVMValueRef vals[] = {LLVMConstInt(i64, (uint64_t)lo, 0), next};
  LLVMBasicBlockRef from[] = {pre, body};
  LLVMAddIncoming(i, vals, from, 2);
  LLVMPositionBuilderAtEnd(c->b, done);
}

/* The LlvmBodyFn of a MapBody: full vectors, then a scalar tail. */
static inline IrStatus map_body(const LlvmBodyCtx *c, void *user, DiagSink *d) {
  const MapBody *mb = user;
  int64_t full = mb->n / mb->lanes * mb->lanes;
  LLVMValueRef src = c->inputs[0];
  if (mb->workspace) {
    emit_map_loop(c, -1, false, src, c->workspace, 0, mb->n, 1);
    src = c->workspace;
  }
  for (int k = 0; k < mb->nops; k++) {
    emit_map_loop(c, mb->ops[k], mb->weights, src, c->outputs[k], 0, full, mb->lanes);
    emit_map_loop(c, mb->ops[k], mb->weights, src, c->outputs[k], full, mb->n, 1);
  }
  return IR_OK;
}

/* A rank-1 f32 tensor description of n elements. */
static inline lathe_tensor_desc vec_desc(const char *name, int64_t n) {
  lathe_tensor_desc t = {.name = name, .dtype = LATHE_F32, .rank = 1, .dims = {n},
                         .size = (uint64_t)n * 4};
  return t;
}

/* Compiles m for target into LLVM_DIR/<base>.{so,o,s,ll} (those selected in emit, a string
 * of the letters s o a l) and returns the dlopened .so (or NULL when "s" is not in emit). */
static inline void *build_model(const char *target, const LlvmModelSpec *m, const char *base,
                         const char *emit) {
  char so[512], obj[512], as[512], ll[512];
  snprintf(so, sizeof so, LLVM_DIR "%s.so", base);
  snprintf(obj, sizeof obj, LLVM_DIR "%s.o", base);
  snprintf(as, sizeof as, LLVM_DIR "%s.s", base);
  snprintf(ll, sizeof ll, LLVM_DIR "%s.ll", base);
  LlvmEmitPaths p = {.so = strchr(emit, 's') ? so : NULL, .obj = strchr(emit, 'o') ? obj : NULL,
                     .asm_ = strchr(emit, 'a') ? as : NULL, .ir = strchr(emit, 'l') ? ll : NULL};
  DiagSink d;
  diag_init(&d, stderr);
  LlvmTarget t;
  assert_int_equal(cg_llvm_target_init(&t, target, &d), IR_OK);
  LlvmShell s;
  assert_int_equal(cg_llvm_shell_build(&s, &t, m, &d), IR_OK);
  assert_int_equal(cg_llvm_optimize(&s, &d), IR_OK);
  assert_int_equal(cg_llvm_emit(&s, &p, &d), IR_OK);
  cg_llvm_shell_free(&s);
  cg_llvm_target_free(&t);
  diag_free(&d);
  if (!p.so) return NULL;
  void *h = dlopen(so, RTLD_NOW | RTLD_LOCAL);
  if (!h) fprintf(stderr, "dlopen: %s\n", dlerror());
  assert_non_null(h);
  return h;
}

/* Returns the symbol NAME_suffix of handle h. */
static inline void *model_sym(void *h, const char *name, const char *suffix) {
  char s[128];
  snprintf(s, sizeof s, "%s_%s", name, suffix);
  void *p = dlsym(h, s);
  assert_non_null(p);
  return p;
}

/* True when this CPU runs code built for the LATHE_CPU_* bits (GCC's own cpuid reading). */
static inline bool cpu_runs(uint64_t bits) {
  __builtin_cpu_init();
  if ((bits & LATHE_CPU_AVX2) && !__builtin_cpu_supports("avx2")) return false;
  if ((bits & LATHE_CPU_FMA) && !__builtin_cpu_supports("fma")) return false;
  if ((bits & LATHE_CPU_AVX512F) && !__builtin_cpu_supports("avx512f")) return false;
  if ((bits & LATHE_CPU_AVX512BW) && !__builtin_cpu_supports("avx512bw")) return false;
  if ((bits & LATHE_CPU_AVX512DQ) && !__builtin_cpu_supports("avx512dq")) return false;
  if ((bits & LATHE_CPU_AVX512VL) && !__builtin_cpu_supports("avx512vl")) return false;
  return true;
}

/* Makes LLVM_DIR. */
static inline int llvm_dir_setup(void **state) {
  (void)state;
  if (mkdir(LLVM_DIR, 0777) != 0 && errno != EEXIST) return -1;
  return 0;
}

#endif

/* shell.c — the module of one compiled model around its body: the weight blob (one
 * read-only string constant), the artifact record in section ".lathe", the descriptor and
 * the entry point NAME_run with its checks (exec version, CPU features once, workspace
 * alignment, null buffers, sidecar weights) before it calls the body. */
#include "codegen/llvm/llvm.h"

#include <ctype.h>
#include <string.h>

#include "ir/fs.h"
#include "runtime/io.h"
#include "lathe/lathe.h"

/* The pieces of one build, passed between the helpers below. */
typedef struct ShellBuild {
  LlvmShell *s;
  const LlvmModelSpec *m;
  LLVMContextRef ctx;
  LLVMModuleRef mod;
  LLVMBuilderRef b;
  LLVMTypeRef i8, i32, i64, ptr;
  char sym[128]; /* scratch for symbol names */
} ShellBuild;

/* Returns "NAME_suffix" in sb->sym. */
static const char *sym(ShellBuild *sb, const char *suffix) {
  snprintf(sb->sym, sizeof sb->sym, "%s_%s", sb->m->name, suffix);
  return sb->sym;
}

/* A constant global of the given initializer; private unless name is exported. */
static LLVMValueRef add_const_global(ShellBuild *sb, const char *name, LLVMValueRef init,
                                     bool exported, unsigned align) {
  LLVMValueRef g = LLVMAddGlobal(sb->mod, LLVMTypeOf(init), name);
  LLVMSetInitializer(g, init);
  LLVMSetGlobalConstant(g, 1);
  LLVMSetLinkage(g, exported ? LLVMExternalLinkage : LLVMPrivateLinkage);
  if (!exported) LLVMSetUnnamedAddress(g, LLVMGlobalUnnamedAddr);
  LLVMSetAlignment(g, align);
  return g;
}

/* A private NUL-terminated string constant. */
static LLVMValueRef add_cstring(ShellBuild *sb, const char *text) {
  LLVMValueRef init = LLVMConstStringInContext(sb->ctx, text, (unsigned)strlen(text), 0);
  return add_const_global(sb, "", init, false, 1);
}

/* True when name is a C identifier that fits the record. */
static bool valid_name(const char *name) {
  size_t n = name ? strlen(name) : 0;
  if (n == 0 || n >= sizeof(((lathe_artifact_record *)0)->name)) return false;
  if (!isalpha((unsigned char)name[0]) && name[0] != '_') return false;
  for (size_t i = 0; i < n; i++)
    if (!isalnum((unsigned char)name[i]) && name[i] != '_') return false;
  return true;
}

/* Fills s->record from the spec (content_sha256 stays zero: emit.c patches it in a .so). */
static IrStatus fill_record(ShellBuild *sb, DiagSink *d) {
  lathe_artifact_record *r = &sb->s->record;
  memset(r, 0, sizeof *r);
  memcpy(r->magic, LATHE_RECORD_MAGIC, sizeof r->magic);
  r->abi_version = LATHE_ABI_VERSION;
  r->record_size = sizeof *r;
  r->cpu_features = sb->s->target->cpu_features;
  r->workspace_size = sb->m->workspace_size;
  r->weights_size = sb->m->weights_size;
  r->ninputs = sb->m->ninputs;
  r->noutputs = sb->m->noutputs;
  snprintf(r->name, sizeof r->name, "%s", sb->m->name);
  snprintf(r->target, sizeof r->target, "%s", sb->s->target->name);
  if (!rt_sha256(sb->m->weights, sb->m->weights_size, r->weights_sha256))
    return diag_oom(d, loc_none());
  return IR_OK;
}

/* The LLVM struct type of lathe_tensor_desc. */
static LLVMTypeRef tensor_desc_type(ShellBuild *sb) {
  LLVMTypeRef f[] = {sb->ptr, sb->i32, sb->i32, LLVMArrayType(sb->i64, LATHE_MAX_RANK), sb->i64};
  return LLVMStructTypeInContext(sb->ctx, f, 5, 0);
}

/* A private array of lathe_tensor_desc for n tensors (a null pointer when n is 0). */
static LLVMValueRef add_tensor_descs(ShellBuild *sb, const lathe_tensor_desc *t, uint32_t n,
                                     LLVMValueRef *elems) {
  if (n == 0) return LLVMConstPointerNull(sb->ptr);
  LLVMTypeRef ty = tensor_desc_type(sb);
  for (uint32_t i = 0; i < n; i++) {
    LLVMValueRef dims[LATHE_MAX_RANK];
    for (int k = 0; k < LATHE_MAX_RANK; k++)
      dims[k] = LLVMConstInt(sb->i64, k < t[i].rank ? (uint64_t)t[i].dims[k] : 0, 0);
    LLVMValueRef f[] = {add_cstring(sb, t[i].name ? t[i].name : ""),
                        LLVMConstInt(sb->i32, (uint64_t)t[i].dtype, 0),
                        LLVMConstInt(sb->i32, (uint64_t)t[i].rank, 0),
                        LLVMConstArray(sb->i64, dims, LATHE_MAX_RANK),
                        LLVMConstInt(sb->i64, t[i].size, 0)};
    elems[i] = LLVMConstNamedStruct(ty, f, 5);
  }
  return add_const_global(sb, "", LLVMConstArray(ty, elems, n), false, 8);
}

/* ---- the CPU check ------------------------------------------------------------------------ */

/* Calls cpuid(leaf, subleaf); returns the {eax, ebx, ecx, edx} struct. */
static LLVMValueRef build_cpuid(ShellBuild *sb, unsigned leaf, unsigned subleaf) {
  LLVMTypeRef regs[] = {sb->i32, sb->i32, sb->i32, sb->i32};
  LLVMTypeRef ret = LLVMStructTypeInContext(sb->ctx, regs, 4, 0);
  LLVMTypeRef params[] = {sb->i32, sb->i32};
  LLVMTypeRef fty = LLVMFunctionType(ret, params, 2, 0);
  static const char cons[] = "={ax},={bx},={cx},={dx},{ax},{cx},~{dirflag},~{fpsr},~{flags}";
  LLVMValueRef asm_ = LLVMGetInlineAsm(fty, "cpuid", 5, (char *)cons, sizeof cons - 1, 1, 0,
                                       LLVMInlineAsmDialectATT, 0);
  LLVMValueRef args[] = {LLVMConstInt(sb->i32, leaf, 0), LLVMConstInt(sb->i32, subleaf, 0)};
  return LLVMBuildCall2(sb->b, fty, asm_, args, 2, "cpuid");
}

/* Returns bit (as i64) when reg has bit number pos set, else 0. */
static LLVMValueRef bit_if(ShellBuild *sb, LLVMValueRef reg, unsigned pos, uint64_t bit) {
  LLVMValueRef set = LLVMBuildAnd(sb->b, reg, LLVMConstInt(sb->i32, 1u << pos, 0), "");
  LLVMValueRef on = LLVMBuildICmp(sb->b, LLVMIntNE, set, LLVMConstInt(sb->i32, 0, 0), "");
  return LLVMBuildSelect(sb->b, on, LLVMConstInt(sb->i64, bit, 0), LLVMConstInt(sb->i64, 0, 0), "");
}

/* Defines `i64 NAME_cpu_probe()`: the LATHE_CPU_* bits this CPU and OS support, from cpuid
 * and, where the OS enables XSAVE, the register state it saves (xgetbv). */
static LLVMValueRef build_cpu_probe(ShellBuild *sb) {
  LLVMTypeRef fty = LLVMFunctionType(sb->i64, NULL, 0, 0);
  LLVMValueRef fn = LLVMAddFunction(sb->mod, sym(sb, "cpu_probe"), fty);
  LLVMSetLinkage(fn, LLVMInternalLinkage);
  cg_llvm_baseline_attrs(sb->s->target, fn);
  LLVMAttributeRef noinline = LLVMCreateEnumAttribute(sb->ctx, LLVMGetEnumAttributeKindForName("noinline", 8), 0);
  LLVMAddAttributeAtIndex(fn, LLVMAttributeFunctionIndex, noinline);
  LLVMBasicBlockRef entry = LLVMAppendBasicBlockInContext(sb->ctx, fn, "entry");
  LLVMBasicBlockRef xsave = LLVMAppendBasicBlockInContext(sb->ctx, fn, "xgetbv");
  LLVMBasicBlockRef join = LLVMAppendBasicBlockInContext(sb->ctx, fn, "join");
  LLVMPositionBuilderAtEnd(sb->b, entry);
  LLVMValueRef zero32 = LLVMConstInt(sb->i32, 0, 0);
  LLVMValueRef l0 = build_cpuid(sb, 0, 0), l1 = build_cpuid(sb, 1, 0);
  LLVMValueRef l7 = build_cpuid(sb, 7, 0), l71 = build_cpuid(sb, 7, 1);
  LLVMValueRef max = LLVMBuildExtractValue(sb->b, l0, 0, "max_leaf");
  LLVMValueRef has7 = LLVMBuildICmp(sb->b, LLVMIntUGE, max, LLVMConstInt(sb->i32, 7, 0), "");
  LLVMValueRef ecx1 = LLVMBuildExtractValue(sb->b, l1, 2, "");
  /* A leaf past the maximum returns another leaf's data: read leaf 7 only when it exists. */
  LLVMValueRef ebx7 = LLVMBuildSelect(sb->b, has7, LLVMBuildExtractValue(sb->b, l7, 1, ""), zero32, "");
  LLVMValueRef ecx7 = LLVMBuildSelect(sb->b, has7, LLVMBuildExtractValue(sb->b, l7, 2, ""), zero32, "");
  LLVMValueRef sub1 = LLVMBuildICmp(sb->b, LLVMIntUGE, LLVMBuildExtractValue(sb->b, l7, 0, ""),
                                    LLVMConstInt(sb->i32, 1, 0), "");
  LLVMValueRef eax71 = LLVMBuildSelect(sb->b, LLVMBuildAnd(sb->b, has7, sub1, ""),
                                       LLVMBuildExtractValue(sb->b, l71, 0, ""), zero32, "");
  LLVMValueRef osxsave = bit_if(sb, ecx1, 27, 1);
  LLVMBuildCondBr(sb->b, LLVMBuildICmp(sb->b, LLVMIntNE, osxsave, LLVMConstInt(sb->i64, 0, 0), ""),
                  xsave, join);

  LLVMPositionBuilderAtEnd(sb->b, xsave);
  LLVMTypeRef regs[] = {sb->i32, sb->i32};
  LLVMTypeRef xty = LLVMFunctionType(LLVMStructTypeInContext(sb->ctx, regs, 2, 0), &sb->i32, 1, 0);
  static const char xcons[] = "={ax},={dx},{cx},~{dirflag},~{fpsr},~{flags}";
  LLVMValueRef xasm = LLVMGetInlineAsm(xty, "xgetbv", 6, (char *)xcons, sizeof xcons - 1, 1, 0,
                                       LLVMInlineAsmDialectATT, 0);
  LLVMValueRef xcr = LLVMBuildCall2(sb->b, xty, xasm, &zero32, 1, "xcr0");
  LLVMValueRef xcr0_lo = LLVMBuildExtractValue(sb->b, xcr, 0, "");
  LLVMBuildBr(sb->b, join);

  LLVMPositionBuilderAtEnd(sb->b, join);
  LLVMValueRef xcr0 = LLVMBuildPhi(sb->b, sb->i32, "xcr0");
  LLVMValueRef in_vals[] = {zero32, xcr0_lo};
  LLVMBasicBlockRef in_blocks[] = {entry, xsave};
  LLVMAddIncoming(xcr0, in_vals, in_blocks, 2);
  /* Intel SDM vol. 2A, CPUID: leaf 1 ecx, leaf 7 ebx/ecx, leaf 7 subleaf 1 eax. */
  LLVMValueRef sse = bit_if(sb, ecx1, 20, LATHE_CPU_SSE42);
  LLVMValueRef avx[] = {
      bit_if(sb, ebx7, 5, LATHE_CPU_AVX2), bit_if(sb, ecx1, 12, LATHE_CPU_FMA),
      bit_if(sb, ecx1, 29, LATHE_CPU_F16C)};
  LLVMValueRef avx512[] = {
      bit_if(sb, ebx7, 16, LATHE_CPU_AVX512F), bit_if(sb, ebx7, 30, LATHE_CPU_AVX512BW),
      bit_if(sb, ebx7, 17, LATHE_CPU_AVX512DQ), bit_if(sb, ebx7, 31, LATHE_CPU_AVX512VL),
      bit_if(sb, ecx7, 11, LATHE_CPU_AVX512VNNI), bit_if(sb, eax71, 5, LATHE_CPU_AVX512BF16)};
  LLVMValueRef avx_bits = avx[0], avx512_bits = avx512[0];
  for (int i = 1; i < 3; i++) avx_bits = LLVMBuildOr(sb->b, avx_bits, avx[i], "");
  for (int i = 1; i < 6; i++) avx512_bits = LLVMBuildOr(sb->b, avx512_bits, avx512[i], "");
  /* The OS must save the registers: XCR0 bits 1-2 (SSE, AVX) and 5-7 (opmask, ZMM). */
  LLVMValueRef zero64 = LLVMConstInt(sb->i64, 0, 0);
  LLVMValueRef ymm_ok = LLVMBuildICmp(sb->b, LLVMIntEQ,
                                      LLVMBuildAnd(sb->b, xcr0, LLVMConstInt(sb->i32, 0x6, 0), ""),
                                      LLVMConstInt(sb->i32, 0x6, 0), "");
  LLVMValueRef zmm_ok = LLVMBuildICmp(sb->b, LLVMIntEQ,
                                      LLVMBuildAnd(sb->b, xcr0, LLVMConstInt(sb->i32, 0xe6, 0), ""),
                                      LLVMConstInt(sb->i32, 0xe6, 0), "");
  avx_bits = LLVMBuildSelect(sb->b, ymm_ok, avx_bits, zero64, "");
  avx512_bits = LLVMBuildSelect(sb->b, zmm_ok, avx512_bits, zero64, "");
  LLVMBuildRet(sb->b, LLVMBuildOr(sb->b, sse, LLVMBuildOr(sb->b, avx_bits, avx512_bits, ""), ""));
  return fn;
}

/* ---- the entry point ---------------------------------------------------------------------- */

/* Ends the current block with: if fail, return status; continues in a new block. */
static void guard(ShellBuild *sb, LLVMValueRef fn, LLVMValueRef fail, int status) {
  LLVMBasicBlockRef bad = LLVMAppendBasicBlockInContext(sb->ctx, fn, "fail");
  LLVMBasicBlockRef ok = LLVMAppendBasicBlockInContext(sb->ctx, fn, "ok");
  LLVMBuildCondBr(sb->b, fail, bad, ok);
  LLVMPositionBuilderAtEnd(sb->b, bad);
  LLVMBuildRet(sb->b, LLVMConstInt(sb->i32, (uint64_t)status, 0));
  LLVMPositionBuilderAtEnd(sb->b, ok);
}

/* Guards against a null pointer p. */
static void guard_null(ShellBuild *sb, LLVMValueRef fn, LLVMValueRef p, int status) {
  guard(sb, fn, LLVMBuildIsNull(sb->b, p, ""), status);
}

/* Guards against p not aligned to LATHE_WORKSPACE_ALIGN. */
static void guard_align(ShellBuild *sb, LLVMValueRef fn, LLVMValueRef p) {
  LLVMValueRef low = LLVMBuildAnd(sb->b, LLVMBuildPtrToInt(sb->b, p, sb->i64, ""),
                                  LLVMConstInt(sb->i64, LATHE_WORKSPACE_ALIGN - 1, 0), "");
  guard(sb, fn, LLVMBuildICmp(sb->b, LLVMIntNE, low, LLVMConstInt(sb->i64, 0, 0), ""),
        LATHE_ERR_ALIGN);
}

/* The LLVM struct type of lathe_exec. */
static LLVMTypeRef exec_type(ShellBuild *sb) {
  LLVMTypeRef f[] = {sb->i32, sb->i32, sb->ptr, sb->ptr, sb->ptr, sb->i64};
  return LLVMStructTypeInContext(sb->ctx, f, 6, 0);
}

/* Loads field i of the lathe_exec at ex. */
static LLVMValueRef load_exec_field(ShellBuild *sb, LLVMValueRef ex, unsigned i, LLVMTypeRef ty) {
  LLVMValueRef p = LLVMBuildStructGEP2(sb->b, exec_type(sb), ex, i, "");
  return LLVMBuildLoad2(sb->b, ty, p, "");
}

/* Emits the one-time CPU check into run: a cached verdict (0 unknown, 1 yes, 2 no) in the
 * global NAME_cpu_state, computed by NAME_cpu_probe on the first call. */
static void build_cpu_check(ShellBuild *sb, LLVMValueRef run) {
  uint64_t need = sb->s->target->cpu_features;
  if (need == 0) return; /* baseline x86-64: nothing to check */
  LLVMBasicBlockRef here = LLVMGetInsertBlock(sb->b);
  LLVMValueRef probe = build_cpu_probe(sb);
  LLVMPositionBuilderAtEnd(sb->b, here);
  LLVMValueRef state = LLVMAddGlobal(sb->mod, sb->i32, sym(sb, "cpu_state"));
  LLVMSetInitializer(state, LLVMConstInt(sb->i32, 0, 0));
  LLVMSetLinkage(state, LLVMInternalLinkage);
  LLVMSetAlignment(state, 4);
  LLVMBasicBlockRef probe_bb = LLVMAppendBasicBlockInContext(sb->ctx, run, "cpu_probe");
  LLVMBasicBlockRef known_bb = LLVMAppendBasicBlockInContext(sb->ctx, run, "cpu_known");
  /* Concurrent first runs may both probe; they store the same verdict (atomically). */
  LLVMValueRef cached = LLVMBuildLoad2(sb->b, sb->i32, state, "cpu_state");
  LLVMSetOrdering(cached, LLVMAtomicOrderingMonotonic);
  LLVMSetAlignment(cached, 4);
  LLVMBuildCondBr(sb->b, LLVMBuildICmp(sb->b, LLVMIntEQ, cached, LLVMConstInt(sb->i32, 0, 0), ""),
                  probe_bb, known_bb);
  LLVMPositionBuilderAtEnd(sb->b, probe_bb);
  LLVMValueRef have = LLVMBuildCall2(sb->b, LLVMGlobalGetValueType(probe), probe, NULL, 0, "have");
  LLVMValueRef missing = LLVMBuildAnd(sb->b, LLVMBuildNot(sb->b, have, ""),
                                      LLVMConstInt(sb->i64, need, 0), "");
  LLVMValueRef verdict =
      LLVMBuildSelect(sb->b, LLVMBuildICmp(sb->b, LLVMIntEQ, missing, LLVMConstInt(sb->i64, 0, 0), ""),
                      LLVMConstInt(sb->i32, 1, 0), LLVMConstInt(sb->i32, 2, 0), "verdict");
  LLVMValueRef store = LLVMBuildStore(sb->b, verdict, state);
  LLVMSetOrdering(store, LLVMAtomicOrderingMonotonic);
  LLVMSetAlignment(store, 4);
  LLVMBuildBr(sb->b, known_bb);
  LLVMPositionBuilderAtEnd(sb->b, known_bb);
  LLVMValueRef st = LLVMBuildPhi(sb->b, sb->i32, "cpu");
  LLVMValueRef vals[] = {cached, verdict};
  LLVMBasicBlockRef blocks[] = {here, probe_bb};
  LLVMAddIncoming(st, vals, blocks, 2);
  guard(sb, run, LLVMBuildICmp(sb->b, LLVMIntNE, st, LLVMConstInt(sb->i32, 1, 0), ""), LATHE_ERR_CPU);
}

/* Adds the enum attribute name (with value v) to parameter i (from 0) of fn. */
static void param_attr(ShellBuild *sb, LLVMValueRef fn, unsigned i, const char *name, uint64_t v) {
  unsigned kind = LLVMGetEnumAttributeKindForName(name, strlen(name));
  LLVMAddAttributeAtIndex(fn, i + 1, LLVMCreateEnumAttribute(sb->ctx, kind, v));
}

/* Declares the body function `void NAME_body(ex, weights, ws, in..., out...)` and runs the
 * model's body emitter in it. */
static IrStatus build_body(ShellBuild *sb, LLVMValueRef *out_fn, DiagSink *d) {
  const LlvmModelSpec *m = sb->m;
  unsigned n = 3 + m->ninputs + m->noutputs;
  LLVMTypeRef *params = ir_calloc(n, sizeof *params);
  LLVMValueRef *args = ir_calloc(n, sizeof *args);
  if (!params || !args) {
    ir_free(params);
    ir_free(args);
    return diag_oom(d, loc_none());
  }
  for (unsigned i = 0; i < n; i++) params[i] = sb->ptr;
  LLVMValueRef fn = LLVMAddFunction(sb->mod, sym(sb, "body"), LLVMFunctionType(LLVMVoidTypeInContext(sb->ctx), params, n, 0));
  LLVMSetLinkage(fn, LLVMInternalLinkage);
  cg_llvm_target_attrs(sb->s->target, fn);
  param_attr(sb, fn, 1, "align", 64);
  param_attr(sb, fn, 2, "align", 64);
  param_attr(sb, fn, 2, "noalias", 0);
  for (unsigned i = 0; i < n; i++) {
    args[i] = LLVMGetParam(fn, i);
    param_attr(sb, fn, i, "nocapture", 0);
    if (i >= 3 + m->ninputs) param_attr(sb, fn, i, "noalias", 0);
    if (i == 1 || (i >= 3 && i < 3 + m->ninputs)) param_attr(sb, fn, i, "readonly", 0);
  }
  LLVMPositionBuilderAtEnd(sb->b, LLVMAppendBasicBlockInContext(sb->ctx, fn, "entry"));
  LlvmBodyCtx c = {.ctx = sb->ctx, .mod = sb->mod, .b = sb->b, .fn = fn, .exec = args[0],
                   .weights = args[1], .workspace = args[2], .inputs = args + 3,
                   .outputs = args + 3 + m->ninputs, .ninputs = m->ninputs,
                   .noutputs = m->noutputs, .target = sb->s->target};
  IrStatus st = m->body ? m->body(&c, m->user, d) : IR_OK;
  if (st == IR_OK) LLVMBuildRetVoid(sb->b);
  ir_free(params);
  ir_free(args);
  *out_fn = fn;
  return st;
}

/* Loads pointer i of the array at arr. */
static LLVMValueRef load_ptr_at(ShellBuild *sb, LLVMValueRef arr, unsigned i) {
  LLVMValueRef idx = LLVMConstInt(sb->i64, i, 0);
  return LLVMBuildLoad2(sb->b, sb->ptr, LLVMBuildGEP2(sb->b, sb->ptr, arr, &idx, 1, ""), "");
}

/* Defines NAME_run: the checks in the order docs/llvm.md gives, then the body call. */
static IrStatus build_run(ShellBuild *sb, LLVMValueRef blob, DiagSink *d) {
  const LlvmModelSpec *m = sb->m;
  LLVMValueRef body = NULL;
  IrStatus st = build_body(sb, &body, d);
  if (st != IR_OK) return st;
  LLVMTypeRef params[] = {sb->ptr, sb->ptr, sb->ptr, sb->ptr};
  LLVMValueRef run = LLVMAddFunction(sb->mod, sym(sb, "run"), LLVMFunctionType(sb->i32, params, 4, 0));
  /* The checks run before the CPU is known to have the target's features. */
  cg_llvm_baseline_attrs(sb->s->target, run);
  LLVMValueRef ex = LLVMGetParam(run, 0), in = LLVMGetParam(run, 1);
  LLVMValueRef out = LLVMGetParam(run, 2), ws = LLVMGetParam(run, 3);
  LLVMBasicBlockRef entry = LLVMAppendBasicBlockInContext(sb->ctx, run, "entry");
  LLVMBasicBlockRef exchk = LLVMAppendBasicBlockInContext(sb->ctx, run, "exec");
  LLVMBasicBlockRef next = LLVMAppendBasicBlockInContext(sb->ctx, run, "cpu");
  LLVMPositionBuilderAtEnd(sb->b, entry);
  LLVMBuildCondBr(sb->b, LLVMBuildIsNull(sb->b, ex, ""), next, exchk);
  LLVMPositionBuilderAtEnd(sb->b, exchk);
  LLVMValueRef ver = load_exec_field(sb, ex, 0, sb->i32);
  guard(sb, run, LLVMBuildICmp(sb->b, LLVMIntNE, ver, LLVMConstInt(sb->i32, LATHE_ABI_VERSION, 0), ""),
        LATHE_ERR_ABI);
  LLVMBuildBr(sb->b, next);
  LLVMPositionBuilderAtEnd(sb->b, next);
  build_cpu_check(sb, run);
  guard_align(sb, run, ws);
  if (m->workspace_size) guard_null(sb, run, ws, LATHE_ERR_INPUT);
  LLVMValueRef *args = ir_calloc(3 + m->ninputs + m->noutputs, sizeof *args);
  if (!args) return diag_oom(d, loc_none());
  if (m->ninputs) guard_null(sb, run, in, LATHE_ERR_INPUT);
  if (m->noutputs) guard_null(sb, run, out, LATHE_ERR_INPUT);
  for (uint32_t i = 0; i < m->ninputs; i++) {
    args[3 + i] = load_ptr_at(sb, in, i);
    guard_null(sb, run, args[3 + i], LATHE_ERR_INPUT);
  }
  for (uint32_t i = 0; i < m->noutputs; i++) {
    args[3 + m->ninputs + i] = load_ptr_at(sb, out, i);
    guard_null(sb, run, args[3 + m->ninputs + i], LATHE_ERR_INPUT);
  }
  LLVMValueRef weights = blob;
  if (m->weights_sidecar) {
    /* Sidecar weights come through the exec: present, of the recorded size, 64-aligned. */
    guard_null(sb, run, ex, LATHE_ERR_INPUT);
    LLVMValueRef size = load_exec_field(sb, ex, 1, sb->i32);
    LLVMValueRef full = LLVMConstInt(sb->i32, sizeof(lathe_exec), 0);
    guard(sb, run, LLVMBuildICmp(sb->b, LLVMIntULT, size, full, ""), LATHE_ERR_ABI);
    weights = load_exec_field(sb, ex, 4, sb->ptr);
    guard_null(sb, run, weights, LATHE_ERR_INPUT);
    LLVMValueRef wsize = load_exec_field(sb, ex, 5, sb->i64);
    guard(sb, run, LLVMBuildICmp(sb->b, LLVMIntNE, wsize, LLVMConstInt(sb->i64, m->weights_size, 0), ""),
          LATHE_ERR_SIZE);
    guard_align(sb, run, weights);
  }
  args[0] = ex;
  args[1] = weights;
  args[2] = ws;
  LLVMBuildCall2(sb->b, LLVMGlobalGetValueType(body), body, args, 3 + m->ninputs + m->noutputs, "");
  LLVMBuildRet(sb->b, LLVMConstInt(sb->i32, LATHE_OK, 0));
  ir_free(args);
  return IR_OK;
}

/* Defines `int NAME_run_SUFFIX(in..., out..., workspace)`: NAME_run(NULL, in, out, ws). */
static IrStatus build_wrapper(ShellBuild *sb, LLVMValueRef run, DiagSink *d) {
  const LlvmModelSpec *m = sb->m;
  unsigned n = m->ninputs + m->noutputs + 1;
  LLVMTypeRef *params = ir_calloc(n, sizeof *params);
  if (!params) return diag_oom(d, loc_none());
  for (unsigned i = 0; i < n; i++) params[i] = sb->ptr;
  char suffix[80];
  snprintf(suffix, sizeof suffix, "run_%s", m->wrapper);
  LLVMValueRef fn = LLVMAddFunction(sb->mod, sym(sb, suffix), LLVMFunctionType(sb->i32, params, n, 0));
  ir_free(params);
  cg_llvm_baseline_attrs(sb->s->target, fn);
  LLVMPositionBuilderAtEnd(sb->b, LLVMAppendBasicBlockInContext(sb->ctx, fn, "entry"));
  LLVMValueRef ins = LLVMBuildArrayAlloca(sb->b, sb->ptr, LLVMConstInt(sb->i64, m->ninputs + 1, 0), "in");
  LLVMValueRef outs = LLVMBuildArrayAlloca(sb->b, sb->ptr, LLVMConstInt(sb->i64, m->noutputs + 1, 0), "out");
  for (unsigned i = 0; i + 1 < n; i++) {
    bool in = i < m->ninputs;
    LLVMValueRef idx = LLVMConstInt(sb->i64, in ? i : i - m->ninputs, 0);
    LLVMBuildStore(sb->b, LLVMGetParam(fn, i), LLVMBuildGEP2(sb->b, sb->ptr, in ? ins : outs, &idx, 1, ""));
  }
  LLVMValueRef args[] = {LLVMConstPointerNull(sb->ptr), ins, outs, LLVMGetParam(fn, n - 1)};
  LLVMBuildRet(sb->b, LLVMBuildCall2(sb->b, LLVMGlobalGetValueType(run), run, args, 4, ""));
  return IR_OK;
}

/* Defines NAME_record and NAME_desc. */
static IrStatus build_descriptor(ShellBuild *sb, LLVMValueRef run, DiagSink *d) {
  lathe_artifact_record *r = &sb->s->record;
  LLVMValueRef rec = add_const_global(
      sb, sym(sb, "record"), LLVMConstStringInContext(sb->ctx, (const char *)r, sizeof *r, 1), true, 8);
  LLVMSetSection(rec, LATHE_RECORD_SECTION);
  uint32_t most = sb->m->ninputs > sb->m->noutputs ? sb->m->ninputs : sb->m->noutputs;
  LLVMValueRef *elems = ir_calloc(most ? most : 1, sizeof *elems);
  LLVMValueRef ins = elems ? add_tensor_descs(sb, sb->m->inputs, sb->m->ninputs, elems) : NULL;
  LLVMValueRef outs = elems ? add_tensor_descs(sb, sb->m->outputs, sb->m->noutputs, elems) : NULL;
  ir_free(elems);
  if (!ins || !outs) return diag_oom(d, loc_none());
  LLVMValueRef f[] = {rec, ins, outs, run};
  add_const_global(sb, sym(sb, "desc"), LLVMConstStructInContext(sb->ctx, f, 4, 0), true, 8);
  return IR_OK;
}

/* LLVM's diagnostics during optimization and code generation: remarks and warnings (a loop
 * the vectorizer was asked to but could not vectorize) are dropped; errors surface as the
 * failure of the call that met them. */
static void drop_diagnostic(LLVMDiagnosticInfoRef info, void *unused) {
  (void)info;
  (void)unused;
}

IrStatus cg_llvm_shell_build(LlvmShell *s, const LlvmTarget *t, const LlvmModelSpec *m, DiagSink *d) {
  memset(s, 0, sizeof *s);
  if (!valid_name(m->name)) {
    diag_error(d, loc_none(), "model name '%s' is not a C identifier of at most 63 bytes",
               m->name ? m->name : "");
    return IR_ERR_INPUT;
  }
  if (m->weights_size > UINT32_MAX) {
    diag_error(d, loc_none(), "%llu bytes of weights: embedding takes at most 4 GiB; use a sidecar",
               (unsigned long long)m->weights_size);
    return IR_ERR_INPUT;
  }
  s->target = t;
  s->ctx = LLVMContextCreate();
  LLVMContextSetDiagnosticHandler(s->ctx, drop_diagnostic, NULL);
  ShellBuild sb = {.s = s, .m = m, .ctx = s->ctx};
  sb.mod = s->mod = LLVMModuleCreateWithNameInContext(m->name, s->ctx);
  LLVMSetTarget(sb.mod, t->triple);
  LLVMTargetDataRef layout = LLVMCreateTargetDataLayout(t->tm);
  char *dl = LLVMCopyStringRepOfTargetData(layout);
  LLVMSetDataLayout(sb.mod, dl);
  LLVMDisposeMessage(dl);
  LLVMDisposeTargetData(layout);
  sb.b = LLVMCreateBuilderInContext(s->ctx);
  sb.i8 = LLVMInt8TypeInContext(s->ctx);
  sb.i32 = LLVMInt32TypeInContext(s->ctx);
  sb.i64 = LLVMInt64TypeInContext(s->ctx);
  sb.ptr = LLVMPointerTypeInContext(s->ctx, 0);
  IrStatus st = fill_record(&sb, d);
  LLVMValueRef blob = LLVMConstPointerNull(sb.ptr);
  if (st == IR_OK && !m->weights_sidecar) {
    /* One string constant of the raw bytes: LLVM keeps it as a single ConstantDataArray. */
    LLVMValueRef init = LLVMConstStringInContext(s->ctx, m->weights ? m->weights : "",
                                                 (unsigned)m->weights_size, 1);
    blob = add_const_global(&sb, sym(&sb, "weights"), init, false, 64);
    snprintf(s->blob_name, sizeof s->blob_name, "%s", sb.sym);
    /* Not unnamed_addr: a blob that happens to look like a C string must not land in a
     * mergeable string section, where the linker may split or share it. */
    LLVMSetUnnamedAddress(blob, LLVMNoUnnamedAddr);
  }
  if (st == IR_OK) st = build_run(&sb, blob, d);
  LLVMValueRef run = st == IR_OK ? LLVMGetNamedFunction(sb.mod, sym(&sb, "run")) : NULL;
  if (st == IR_OK) st = build_descriptor(&sb, run, d);
  if (st == IR_OK && m->wrapper) st = build_wrapper(&sb, run, d);
  LLVMDisposeBuilder(sb.b);
  if (st != IR_OK) cg_llvm_shell_free(s);
  return st;
}

void cg_llvm_shell_free(LlvmShell *s) {
  if (s->mod) LLVMDisposeModule(s->mod);
  if (s->ctx) LLVMContextDispose(s->ctx);
  memset(s, 0, sizeof *s);
}

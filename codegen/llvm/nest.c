/* nest.c — the loop-nest IR (codegen/nest.h) translated to LLVM IR inside the model shell.
 * Each kernel becomes an internal function of (buffer table, exec), the table holding the
 * pointers of its own buffers in first-use order, so kernels equal up to their buffers
 * (codegen/nest_same.c) share one function (docs/llvm.md); each loop a header-less
 * counted loop of basic blocks with a phi (innermost loops carry llvm.loop.vectorize.enable,
 * which also lets the vectorizer reorder float reductions); locals are allocas that SROA
 * turns into registers; each parallel loop is outlined into a function of (table, begin,
 * end), noinline, run through lathe_exec.parallel_for, or called once over [0, n) without
 * one. */
#include "codegen/llvm/nest.h"

#include <string.h>

#include <llvm-c/DebugInfo.h>

#include "codegen/llvm/alias.h"
#include "codegen/llvm/vmath.h"

/* The translator's state for one function being emitted. */
typedef struct Tr {
  const LlvmBodyCtx *c;
  const NestProgram *p;
  const NestKernel *k;
  const NestBufOrder *order; /* k's buffers by first use: bases, scope and noalias follow it */
  LLVMBuilderRef b;
  LLVMValueRef fn;
  LLVMValueRef *bases;   /* the kernel's base pointers, loaded from its table at function entry */
  LLVMValueRef *vars;    /* nvars loop variables (phis) */
  LLVMValueRef *locals;  /* nlocals allocas */
  LLVMValueRef *saved_bases, *saved_locals; /* the kernel's, while a parallel loop is outlined */
  LLVMValueRef *scope, *noalias; /* per kernel buffer: its alias metadata (alias.c) */
  LLVMTypeRef i1, i8, i32, i64, f32, ptr;
  DiagSink *d;
  IrStatus st;           /* first failure */
} Tr;

/* The register type of a value of dtype t (bool is i1; memory holds it as a byte). */
static LLVMTypeRef reg_type(const Tr *t, DType dt) {
  switch (dt) {
  case DT_F32: return t->f32;
  case DT_I8:
  case DT_U8: return t->i8;
  case DT_I32: return t->i32;
  case DT_I64: return t->i64;
  case DT_BOOL: return t->i1;
  default: return NULL;
  }
}
static LLVMTypeRef mem_type(const Tr *t, DType dt) { return dt == DT_BOOL ? t->i8 : reg_type(t, dt); }

/* Records an unsupported construct (the first one) and returns a placeholder value. */
static LLVMValueRef unsupported(Tr *t, const char *what, DType dt) {
  if (t->st == IR_OK) {
    diag_error(t->d, t->k ? t->k->loc : loc_none(), "the LLVM backend cannot compile %s yet", what);
    t->st = IR_ERR_INPUT;
  }
  LLVMTypeRef ty = reg_type(t, dt);
  return LLVMGetUndef(ty ? ty : t->i64);
}

static LLVMValueRef expr(Tr *t, const NestExpr *x);

/* Calls the overloaded intrinsic name on type ty. */
static LLVMValueRef intrinsic(Tr *t, const char *name, LLVMTypeRef ty, LLVMValueRef *args, unsigned n) {
  unsigned id = LLVMLookupIntrinsicID(name, strlen(name));
  LLVMValueRef fn = LLVMGetIntrinsicDeclaration(t->c->mod, id, &ty, 1);
  return LLVMBuildCall2(t->b, LLVMIntrinsicGetType(t->c->ctx, id, &ty, 1), fn, args, n, "");
}

/* True when evaluating x may fault where it is not meant to run (a load). */
static bool may_fault(const NestExpr *x) {
  switch (x->kind) {
  case NEST_LOAD: return true;
  case NEST_BINARY: return may_fault(x->u.bin.a) || may_fault(x->u.bin.b);
  case NEST_UNARY: return may_fault(x->u.un.a);
  case NEST_SELECT: return may_fault(x->u.sel.cond) || may_fault(x->u.sel.a) || may_fault(x->u.sel.b);
  case NEST_CAST: return may_fault(x->u.cast.a);
  default: return false;
  }
}

/* floor(x) (ceil: ceil) without a libm call or SSE4.1: truncate through i32 where |x| < 2^23
 * (larger floats are integers already), then step by one where truncation went the wrong way. */
static LLVMValueRef floor_ceil(Tr *t, LLVMValueRef x, bool ceil) {
  LLVMValueRef ax = intrinsic(t, "llvm.fabs", t->f32, &x, 1);
  LLVMValueRef small = LLVMBuildFCmp(t->b, LLVMRealOLT, ax, LLVMConstReal(t->f32, 8388608.0), "");
  LLVMValueRef safe = LLVMBuildSelect(t->b, small, x, LLVMConstReal(t->f32, 0.0), "");
  LLVMValueRef tr = LLVMBuildSIToFP(t->b, LLVMBuildFPToSI(t->b, safe, t->i32, ""), t->f32, "");
  LLVMValueRef off = ceil ? LLVMBuildFCmp(t->b, LLVMRealOLT, tr, x, "") : LLVMBuildFCmp(t->b, LLVMRealOGT, tr, x, "");
  LLVMValueRef step = LLVMConstReal(t->f32, ceil ? 1.0 : -1.0);
  LLVMValueRef r = LLVMBuildSelect(t->b, off, LLVMBuildFAdd(t->b, tr, step, ""), tr, "");
  r = intrinsic(t, "llvm.copysign", t->f32, (LLVMValueRef[]){r, x}, 2); /* floor(-0.5) ... -0 */
  return LLVMBuildSelect(t->b, small, r, x, "");
}

/* pow(a, b) = e^(b log|a|), negative for a < 0 and odd integer b, NaN for a < 0 and any other
 * b; pow(a, 0) = 1. Accuracy as exp and log compose (docs/llvm.md). */
static LLVMValueRef powf_(Tr *t, LLVMValueRef a, LLVMValueRef b) {
  const LlvmBodyCtx *c = t->c;
  LLVMValueRef aa = intrinsic(t, "llvm.fabs", t->f32, &a, 1);
  LLVMValueRef r = cg_vmath_call(t->b, c->mod, c->target, VM_EXP,
                                 LLVMBuildFMul(t->b, b, cg_vmath_call(t->b, c->mod, c->target, VM_LOG, aa), ""));
  LLVMValueRef bi = floor_ceil(t, b, false);
  LLVMValueRef is_int = LLVMBuildFCmp(t->b, LLVMRealOEQ, bi, b, "");
  LLVMValueRef half = LLVMBuildFMul(t->b, b, LLVMConstReal(t->f32, 0.5), "");
  LLVMValueRef odd = LLVMBuildAnd(t->b, is_int, LLVMBuildFCmp(t->b, LLVMRealONE, floor_ceil(t, half, false), half, ""), "");
  LLVMValueRef neg = LLVMBuildFCmp(t->b, LLVMRealOLT, a, LLVMConstReal(t->f32, 0.0), "");
  LLVMValueRef signed_r = LLVMBuildSelect(t->b, odd, LLVMBuildFNeg(t->b, r, ""), r, "");
  LLVMValueRef nan = LLVMConstReal(t->f32, __builtin_nan(""));
  r = LLVMBuildSelect(t->b, neg, LLVMBuildSelect(t->b, is_int, signed_r, nan, ""), r, "");
  return LLVMBuildSelect(t->b, LLVMBuildFCmp(t->b, LLVMRealOEQ, b, LLVMConstReal(t->f32, 0.0), ""),
                         LLVMConstReal(t->f32, 1.0), r, "");
}

/* Integer a / b (C: truncating; unsigned for u8) that gives 0 for b = 0 and wraps for
 * MIN / -1 instead of LLVM's undefined behaviour; rem selects the remainder. */
static LLVMValueRef int_div(Tr *t, LLVMValueRef a, LLVMValueRef b, bool is_unsigned, bool rem) {
  LLVMTypeRef ty = LLVMTypeOf(a);
  LLVMValueRef zero = LLVMConstInt(ty, 0, 0), one = LLVMConstInt(ty, 1, 0);
  LLVMValueRef bz = LLVMBuildICmp(t->b, LLVMIntEQ, b, zero, "");
  LLVMValueRef bm1 = is_unsigned ? LLVMConstInt(t->i1, 0, 0) : LLVMBuildICmp(t->b, LLVMIntEQ, b, LLVMConstAllOnes(ty), "");
  LLVMValueRef safe = LLVMBuildSelect(t->b, LLVMBuildOr(t->b, bz, bm1, ""), one, b, "");
  LLVMValueRef q = rem ? (is_unsigned ? LLVMBuildURem(t->b, a, safe, "") : LLVMBuildSRem(t->b, a, safe, ""))
                       : (is_unsigned ? LLVMBuildUDiv(t->b, a, safe, "") : LLVMBuildSDiv(t->b, a, safe, ""));
  LLVMValueRef by_m1 = rem ? zero : LLVMBuildSub(t->b, zero, a, "");
  q = LLVMBuildSelect(t->b, bm1, by_m1, q, "");
  return LLVMBuildSelect(t->b, bz, zero, q, "");
}

static LLVMValueRef binary(Tr *t, const NestExpr *x) {
  LLVMValueRef a = expr(t, x->u.bin.a), b = expr(t, x->u.bin.b);
  DType dt = x->u.bin.a->dtype;
  bool fl = dt == DT_F32, un = dt == DT_U8 || dt == DT_BOOL;
  LLVMBuilderRef B = t->b;
  switch (x->u.bin.op) {
  case NEST_ADD: return fl ? LLVMBuildFAdd(B, a, b, "") : LLVMBuildAdd(B, a, b, "");
  case NEST_SUB: return fl ? LLVMBuildFSub(B, a, b, "") : LLVMBuildSub(B, a, b, "");
  case NEST_MUL: return fl ? LLVMBuildFMul(B, a, b, "") : LLVMBuildMul(B, a, b, "");
  case NEST_DIV: return fl ? LLVMBuildFDiv(B, a, b, "") : int_div(t, a, b, un, false);
  case NEST_FLOORDIV:
  case NEST_MOD: {
    /* Index arithmetic, divisor > 0: correct the truncating quotient toward -inf. */
    LLVMValueRef q = int_div(t, a, b, un, false), r = int_div(t, a, b, un, true);
    LLVMValueRef zero = LLVMConstInt(LLVMTypeOf(a), 0, 0);
    LLVMValueRef neg = LLVMBuildICmp(B, LLVMIntSLT, r, zero, "");
    if (x->u.bin.op == NEST_MOD) return LLVMBuildSelect(B, neg, LLVMBuildAdd(B, r, b, ""), r, "");
    return LLVMBuildSelect(B, neg, LLVMBuildSub(B, q, LLVMConstInt(LLVMTypeOf(a), 1, 0), ""), q, "");
  }
  case NEST_MIN:
  case NEST_MAX: {
    bool mn = x->u.bin.op == NEST_MIN;
    LLVMValueRef pick_a;
    if (fl) /* NaN if either is NaN, as the C backend's lt_min_f/lt_max_f */
      pick_a = LLVMBuildOr(B, LLVMBuildFCmp(B, mn ? LLVMRealOLT : LLVMRealOGT, a, b, ""),
                           LLVMBuildFCmp(B, LLVMRealUNO, a, a, ""), "");
    else
      pick_a = LLVMBuildICmp(B, mn ? (un ? LLVMIntULT : LLVMIntSLT) : (un ? LLVMIntUGT : LLVMIntSGT), a, b, "");
    return LLVMBuildSelect(B, pick_a, a, b, "");
  }
  case NEST_POW: return fl ? powf_(t, a, b) : unsupported(t, "pow of integers", x->dtype);
  case NEST_LT: return fl ? LLVMBuildFCmp(B, LLVMRealOLT, a, b, "") : LLVMBuildICmp(B, un ? LLVMIntULT : LLVMIntSLT, a, b, "");
  case NEST_LE: return fl ? LLVMBuildFCmp(B, LLVMRealOLE, a, b, "") : LLVMBuildICmp(B, un ? LLVMIntULE : LLVMIntSLE, a, b, "");
  case NEST_GT: return fl ? LLVMBuildFCmp(B, LLVMRealOGT, a, b, "") : LLVMBuildICmp(B, un ? LLVMIntUGT : LLVMIntSGT, a, b, "");
  case NEST_GE: return fl ? LLVMBuildFCmp(B, LLVMRealOGE, a, b, "") : LLVMBuildICmp(B, un ? LLVMIntUGE : LLVMIntSGE, a, b, "");
  case NEST_EQ: return fl ? LLVMBuildFCmp(B, LLVMRealOEQ, a, b, "") : LLVMBuildICmp(B, LLVMIntEQ, a, b, "");
  case NEST_NE: return fl ? LLVMBuildFCmp(B, LLVMRealUNE, a, b, "") : LLVMBuildICmp(B, LLVMIntNE, a, b, "");
  case NEST_AND: return LLVMBuildAnd(B, a, b, "");
  case NEST_OR: return LLVMBuildOr(B, a, b, "");
  case NEST_BINOP_COUNT: break;
  }
  return unsupported(t, "this binary operator", x->dtype);
}

static LLVMValueRef unary(Tr *t, const NestExpr *x) {
  LLVMValueRef a = expr(t, x->u.un.a);
  bool fl = x->dtype == DT_F32;
  const LlvmBodyCtx *c = t->c;
  switch (x->u.un.op) {
  case NEST_NEG: return fl ? LLVMBuildFNeg(t->b, a, "") : LLVMBuildNeg(t->b, a, "");
  case NEST_ABS:
    if (fl) return intrinsic(t, "llvm.fabs", t->f32, &a, 1);
    if (x->dtype == DT_U8) return a;
    return LLVMBuildSelect(t->b, LLVMBuildICmp(t->b, LLVMIntSLT, a, LLVMConstInt(LLVMTypeOf(a), 0, 0), ""),
                           LLVMBuildNeg(t->b, a, ""), a, "");
  case NEST_NOT: return LLVMBuildNot(t->b, a, "");
  case NEST_EXP: return cg_vmath_call(t->b, c->mod, c->target, VM_EXP, a);
  case NEST_LOG: return cg_vmath_call(t->b, c->mod, c->target, VM_LOG, a);
  case NEST_TANH: return cg_vmath_call(t->b, c->mod, c->target, VM_TANH, a);
  case NEST_ERF: return cg_vmath_call(t->b, c->mod, c->target, VM_ERF, a);
  case NEST_SIGMOID: return cg_vmath_call(t->b, c->mod, c->target, VM_SIGMOID, a);
  case NEST_SQRT: return intrinsic(t, "llvm.sqrt", t->f32, &a, 1); /* sqrtss/sqrtps */
  case NEST_FLOOR: return floor_ceil(t, a, false);
  case NEST_CEIL: return floor_ceil(t, a, true);
  case NEST_UNOP_COUNT: break;
  }
  return unsupported(t, "this unary operator", x->dtype);
}

/* cond ? a : b evaluating only the chosen arm when an arm may fault; a select otherwise. */
static LLVMValueRef select_(Tr *t, const NestExpr *x) {
  LLVMValueRef cond = expr(t, x->u.sel.cond);
  if (!may_fault(x->u.sel.a) && !may_fault(x->u.sel.b))
    return LLVMBuildSelect(t->b, cond, expr(t, x->u.sel.a), expr(t, x->u.sel.b), "");
  LLVMBasicBlockRef ba = LLVMAppendBasicBlockInContext(t->c->ctx, t->fn, "sel.a");
  LLVMBasicBlockRef bb = LLVMAppendBasicBlockInContext(t->c->ctx, t->fn, "sel.b");
  LLVMBasicBlockRef join = LLVMAppendBasicBlockInContext(t->c->ctx, t->fn, "sel");
  LLVMBuildCondBr(t->b, cond, ba, bb);
  LLVMPositionBuilderAtEnd(t->b, ba);
  LLVMValueRef va = expr(t, x->u.sel.a);
  LLVMBasicBlockRef ea = LLVMGetInsertBlock(t->b);
  LLVMBuildBr(t->b, join);
  LLVMPositionBuilderAtEnd(t->b, bb);
  LLVMValueRef vb = expr(t, x->u.sel.b);
  LLVMBasicBlockRef eb = LLVMGetInsertBlock(t->b);
  LLVMBuildBr(t->b, join);
  LLVMPositionBuilderAtEnd(t->b, join);
  LLVMValueRef phi = LLVMBuildPhi(t->b, LLVMTypeOf(va), "");
  LLVMAddIncoming(phi, (LLVMValueRef[]){va, vb}, (LLVMBasicBlockRef[]){ea, eb}, 2);
  return phi;
}

/* a (of dtype from) converted to dtype to with C's rules. */
static LLVMValueRef cast(Tr *t, LLVMValueRef a, DType from, DType to) {
  if (from == to) return a;
  LLVMTypeRef ty = reg_type(t, to);
  bool from_f = from == DT_F32, from_un = from == DT_U8 || from == DT_BOOL;
  if (!ty) return unsupported(t, "a cast to this dtype", to);
  if (to == DT_BOOL)
    return from_f ? LLVMBuildFCmp(t->b, LLVMRealUNE, a, LLVMConstReal(t->f32, 0.0), "")
                  : LLVMBuildICmp(t->b, LLVMIntNE, a, LLVMConstInt(LLVMTypeOf(a), 0, 0), "");
  if (to == DT_F32)
    return from_un ? LLVMBuildUIToFP(t->b, a, ty, "") : LLVMBuildSIToFP(t->b, a, ty, "");
  if (from_f) return to == DT_U8 ? LLVMBuildFPToUI(t->b, a, ty, "") : LLVMBuildFPToSI(t->b, a, ty, "");
  return LLVMBuildIntCast2(t->b, a, ty, !from_un, "");
}

/* The address of element index of buffer buf. */
static LLVMValueRef element(Tr *t, int buf, const NestExpr *index) {
  LLVMValueRef i = expr(t, index);
  return LLVMBuildGEP2(t->b, mem_type(t, t->p->bufs[buf].dtype), t->bases[t->order->local[buf]], &i, 1, "");
}

static LLVMValueRef expr(Tr *t, const NestExpr *x) {
  switch (x->kind) {
  case NEST_CONST:
    if (x->dtype == DT_F32) return LLVMConstReal(t->f32, (float)x->u.c.f);
    if (!reg_type(t, x->dtype)) return unsupported(t, "a constant of this dtype", x->dtype);
    return LLVMConstInt(reg_type(t, x->dtype), (uint64_t)x->u.c.i, 1);
  case NEST_VAR: return t->vars[x->u.var];
  case NEST_LOCAL: return LLVMBuildLoad2(t->b, reg_type(t, x->dtype), t->locals[x->u.local], "");
  case NEST_LOAD: {
    DType dt = t->p->bufs[x->u.load.buf].dtype;
    if (!reg_type(t, dt)) return unsupported(t, "a buffer of this dtype", dt);
    LLVMValueRef v = LLVMBuildLoad2(t->b, mem_type(t, dt), element(t, x->u.load.buf, x->u.load.index), "");
    LLVMSetAlignment(v, (unsigned)ir_dtype_size(dt));
    int at = t->order->local[x->u.load.buf];
    cg_llvm_alias_set(t->c->ctx, v, t->scope[at], t->noalias[at]);
    return dt == DT_BOOL ? LLVMBuildICmp(t->b, LLVMIntNE, v, LLVMConstInt(t->i8, 0, 0), "") : v;
  }
  case NEST_BINARY: return binary(t, x);
  case NEST_UNARY: return unary(t, x);
  case NEST_SELECT: return select_(t, x);
  case NEST_CAST: return cast(t, expr(t, x->u.cast.a), x->u.cast.a->dtype, x->dtype);
  }
  return unsupported(t, "this expression", x->dtype);
}

/* ---- statements ---------------------------------------------------------------------------- */

static void block(Tr *t, const NestBlock *b);

/* The loop id of a loop: distinct !{self, !{HINT}} with the hint "llvm.loop.unroll.full" or
 * "llvm.loop.unroll.disable" (NestUnroll), or for the other innermost loops
 * !{"llvm.loop.vectorize.enable", true}. */
static LLVMValueRef loop_md(Tr *t, NestUnroll unroll) {
  LLVMContextRef ctx = t->c->ctx;
  const char *name = unroll == NEST_UNROLL_FULL    ? "llvm.loop.unroll.full"
                     : unroll == NEST_UNROLL_NEVER ? "llvm.loop.unroll.disable"
                                                   : "llvm.loop.vectorize.enable";
  LLVMMetadataRef hint[] = {LLVMMDStringInContext2(ctx, name, strlen(name)), LLVMValueAsMetadata(LLVMConstInt(t->i1, 1, 0))};
  LLVMMetadataRef tmp = LLVMTemporaryMDNode(ctx, NULL, 0);
  LLVMMetadataRef ops[] = {tmp, LLVMMDNodeInContext2(ctx, hint, unroll == NEST_UNROLL_AUTO ? 2 : 1)};
  LLVMMetadataRef id = LLVMMDNodeInContext2(ctx, ops, 2);
  LLVMMetadataReplaceAllUsesWith(tmp, id); /* the loop id refers to itself */
  return LLVMMetadataAsValue(ctx, id);
}

/* True when b holds no loop. */
static bool innermost(const NestBlock *b) {
  for (int i = 0; i < b->n; i++)
    if (b->stmts[i]->kind == NEST_LOOP) return false;
  return true;
}

/* for (var = lo; var < hi; var += step) body, with lo and hi given as values. */
static void loop_range(Tr *t, const NestStmt *s, LLVMValueRef lo, LLVMValueRef hi, int64_t step) {
  LLVMContextRef ctx = t->c->ctx;
  LLVMBasicBlockRef pre = LLVMGetInsertBlock(t->b);
  LLVMBasicBlockRef body = LLVMAppendBasicBlockInContext(ctx, t->fn, "loop");
  LLVMBasicBlockRef done = LLVMAppendBasicBlockInContext(ctx, t->fn, "loop.end");
  LLVMBuildCondBr(t->b, LLVMBuildICmp(t->b, LLVMIntSLT, lo, hi, ""), body, done);
  LLVMPositionBuilderAtEnd(t->b, body);
  LLVMValueRef i = LLVMBuildPhi(t->b, t->i64, t->k->var_names[s->u.loop.var]);
  t->vars[s->u.loop.var] = i;
  block(t, &s->u.loop.body);
  LLVMValueRef next = LLVMBuildAdd(t->b, i, LLVMConstInt(t->i64, (uint64_t)step, 0), "");
  LLVMValueRef br = LLVMBuildCondBr(t->b, LLVMBuildICmp(t->b, LLVMIntSLT, next, hi, ""), body, done);
  if (s->u.loop.unroll != NEST_UNROLL_AUTO || innermost(&s->u.loop.body))
    LLVMSetMetadata(br, LLVMGetMDKindIDInContext(ctx, "llvm.loop", 9), loop_md(t, s->u.loop.unroll));
  LLVMAddIncoming(i, (LLVMValueRef[]){lo, next}, (LLVMBasicBlockRef[]){pre, LLVMGetInsertBlock(t->b)}, 2);
  LLVMPositionBuilderAtEnd(t->b, done);
}

/* A loop to unroll whole, with constant bounds: its body emitted once per iteration, the loop
 * variable a constant in each (cheaper for LLVM than its loop unroller, whose bookkeeping
 * dominated the compile time of models with many register tiles). */
static void unrolled(Tr *t, const NestStmt *s) {
  for (int64_t i = s->u.loop.lo->u.c.i; i < s->u.loop.hi->u.c.i && t->st == IR_OK; i += s->u.loop.step) {
    t->vars[s->u.loop.var] = LLVMConstInt(t->i64, (uint64_t)i, 1);
    block(t, &s->u.loop.body);
  }
}

static void store(Tr *t, int buf, const NestExpr *index, const NestExpr *value) {
  DType dt = t->p->bufs[buf].dtype;
  if (!reg_type(t, dt)) {
    unsupported(t, "a buffer of this dtype", dt);
    return;
  }
  LLVMValueRef v = expr(t, value);
  if (dt == DT_BOOL) v = LLVMBuildZExt(t->b, v, t->i8, "");
  LLVMValueRef st = LLVMBuildStore(t->b, v, element(t, buf, index));
  LLVMSetAlignment(st, (unsigned)ir_dtype_size(dt));
  cg_llvm_alias_set(t->c->ctx, st, t->scope[t->order->local[buf]], t->noalias[t->order->local[buf]]);
}

static void block(Tr *t, const NestBlock *b) {
  for (int i = 0; i < b->n && t->st == IR_OK; i++) {
    const NestStmt *s = b->stmts[i];
    switch (s->kind) {
    case NEST_LOOP:
      if (s->u.loop.unroll == NEST_UNROLL_FULL && s->u.loop.lo->kind == NEST_CONST && s->u.loop.hi->kind == NEST_CONST)
        unrolled(t, s);
      else
        loop_range(t, s, expr(t, s->u.loop.lo), expr(t, s->u.loop.hi), s->u.loop.step);
      break;
    case NEST_STORE: store(t, s->u.store.buf, s->u.store.index, s->u.store.value); break;
    case NEST_DECL:
      LLVMBuildStore(t->b, expr(t, s->u.decl.init), t->locals[s->u.decl.local]);
      break;
    case NEST_ASSIGN:
      LLVMBuildStore(t->b, expr(t, s->u.assign.value), t->locals[s->u.assign.local]);
      break;
    }
  }
}

/* ---- functions ----------------------------------------------------------------------------- */

/* Begins function fn of kernel k: entry block, allocas for the locals, the bases of the
 * kernel's buffers loaded from its table (the first parameter: their pointers in the order
 * of t->order). */
static void begin_function(Tr *t, LLVMValueRef fn) {
  t->fn = fn;
  LLVMPositionBuilderAtEnd(t->b, LLVMAppendBasicBlockInContext(t->c->ctx, fn, "entry"));
  for (int i = 0; i < t->k->nlocals; i++)
    t->locals[i] = LLVMBuildAlloca(t->b, reg_type(t, t->k->local_dtypes[i]) ? reg_type(t, t->k->local_dtypes[i]) : t->i64, "");
  LLVMValueRef table = LLVMGetParam(fn, 0);
  for (int i = 0; i < t->order->n; i++) {
    LLVMValueRef idx = LLVMConstInt(t->i64, (uint64_t)i, 0);
    t->bases[i] = LLVMBuildLoad2(t->b, t->ptr, LLVMBuildGEP2(t->b, t->ptr, table, &idx, 1, ""), "");
  }
}

/* A new internal function name(params) returning void, with the target's attributes. */
static LLVMValueRef new_function(Tr *t, const char *name, LLVMTypeRef *params, unsigned n) {
  LLVMValueRef fn = LLVMAddFunction(t->c->mod, name, LLVMFunctionType(LLVMVoidTypeInContext(t->c->ctx), params, n, 0));
  LLVMSetLinkage(fn, LLVMInternalLinkage);
  cg_llvm_target_attrs(t->c->target, fn);
  return fn;
}

/* Outlines parallel loop s (statement n of the kernel) into KERNEL_pN(table, begin, end)
 * and calls it through parallel_for from the current function. */
static void outlined_call(Tr *t, const NestStmt *s, int n) {
  char name[256];
  snprintf(name, sizeof name, "%s_p%d", t->k->name, n);
  LLVMTypeRef params[] = {t->ptr, t->i64, t->i64};
  LLVMValueRef fn = new_function(t, name, params, 3);
  /* Not inlined into the serial path of lathe.parallel: the loop is compiled once, not once
   * more inside the body (docs/llvm.md, "Shared kernels"). */
  unsigned noinline = LLVMGetEnumAttributeKindForName("noinline", 8);
  LLVMAddAttributeAtIndex(fn, LLVMAttributeFunctionIndex, LLVMCreateEnumAttribute(t->c->ctx, noinline, 0));
  LLVMBasicBlockRef back = LLVMGetInsertBlock(t->b);
  LLVMValueRef caller = t->fn, table = LLVMGetParam(caller, 0), ex = LLVMGetParam(caller, 1);
  LLVMValueRef hi = expr(t, s->u.loop.hi); /* a constant: parallel loops have constant bounds */
  /* The outlined function has its own bases and locals; the kernel's come back after. */
  memcpy(t->saved_bases, t->bases, (size_t)t->order->n * sizeof *t->bases);
  memcpy(t->saved_locals, t->locals, (size_t)t->k->nlocals * sizeof *t->locals);
  begin_function(t, fn);
  loop_range(t, s, LLVMGetParam(fn, 1), LLVMGetParam(fn, 2), 1);
  LLVMBuildRetVoid(t->b);
  memcpy(t->bases, t->saved_bases, (size_t)t->order->n * sizeof *t->bases);
  memcpy(t->locals, t->saved_locals, (size_t)t->k->nlocals * sizeof *t->locals);
  t->fn = caller;
  LLVMPositionBuilderAtEnd(t->b, back);
  LLVMValueRef helper = LLVMGetNamedFunction(t->c->mod, "lathe.parallel");
  LLVMValueRef args[] = {ex, hi, fn, table};
  LLVMBuildCall2(t->b, LLVMGlobalGetValueType(helper), helper, args, 4, "");
}

/* Defines `void lathe.parallel(ex, n, fn, ctx)`: ex->parallel_for(ex->pool, n, fn, ctx) when
 * ex has one and n > 1, else fn(ctx, 0, n). */
static void define_parallel_helper(Tr *t) {
  LLVMTypeRef params[] = {t->ptr, t->i64, t->ptr, t->ptr};
  LLVMValueRef fn = LLVMAddFunction(t->c->mod, "lathe.parallel",
                                    LLVMFunctionType(LLVMVoidTypeInContext(t->c->ctx), params, 4, 0));
  LLVMSetLinkage(fn, LLVMInternalLinkage);
  cg_llvm_target_attrs(t->c->target, fn);
  LLVMContextRef ctx = t->c->ctx;
  LLVMBasicBlockRef entry = LLVMAppendBasicBlockInContext(ctx, fn, "entry");
  LLVMBasicBlockRef has_ex = LLVMAppendBasicBlockInContext(ctx, fn, "exec");
  LLVMBasicBlockRef pool = LLVMAppendBasicBlockInContext(ctx, fn, "pool");
  LLVMBasicBlockRef serial = LLVMAppendBasicBlockInContext(ctx, fn, "serial");
  LLVMValueRef ex = LLVMGetParam(fn, 0), n = LLVMGetParam(fn, 1), task = LLVMGetParam(fn, 2), c = LLVMGetParam(fn, 3);
  LLVMPositionBuilderAtEnd(t->b, entry);
  LLVMValueRef many = LLVMBuildICmp(t->b, LLVMIntSGT, n, LLVMConstInt(t->i64, 1, 0), "");
  LLVMBuildCondBr(t->b, LLVMBuildAnd(t->b, many, LLVMBuildIsNotNull(t->b, ex, ""), ""), has_ex, serial);
  LLVMPositionBuilderAtEnd(t->b, has_ex);
  /* lathe_exec: {u32 abi_version, u32 size, parallel_for, pool, ...}: pointers at 8 and 16. */
  LLVMValueRef i8 = LLVMConstInt(t->i64, 8, 0), i16 = LLVMConstInt(t->i64, 16, 0);
  LLVMValueRef pf = LLVMBuildLoad2(t->b, t->ptr, LLVMBuildGEP2(t->b, t->i8, ex, &i8, 1, ""), "parallel_for");
  LLVMValueRef pl = LLVMBuildLoad2(t->b, t->ptr, LLVMBuildGEP2(t->b, t->i8, ex, &i16, 1, ""), "pool");
  LLVMBuildCondBr(t->b, LLVMBuildIsNotNull(t->b, pf, ""), pool, serial);
  LLVMPositionBuilderAtEnd(t->b, pool);
  LLVMTypeRef pf_params[] = {t->ptr, t->i64, t->ptr, t->ptr};
  LLVMTypeRef pf_ty = LLVMFunctionType(LLVMVoidTypeInContext(ctx), pf_params, 4, 0);
  LLVMBuildCall2(t->b, pf_ty, pf, (LLVMValueRef[]){pl, n, task, c}, 4, "");
  LLVMBuildRetVoid(t->b);
  LLVMPositionBuilderAtEnd(t->b, serial);
  LLVMTypeRef task_params[] = {t->ptr, t->i64, t->i64};
  LLVMTypeRef task_ty = LLVMFunctionType(LLVMVoidTypeInContext(ctx), task_params, 3, 0);
  LLVMBuildCall2(t->b, task_ty, task, (LLVMValueRef[]){c, LLVMConstInt(t->i64, 0, 0), n}, 3, "");
  LLVMBuildRetVoid(t->b);
}

/* Defines kernel k, whose buffers are o, as `void NAME(table, ex)` and returns it. */
static LLVMValueRef kernel(Tr *t, const NestKernel *k, const NestBufOrder *o) {
  t->k = k;
  t->order = o;
  LLVMTypeRef params[] = {t->ptr, t->ptr};
  LLVMValueRef fn = new_function(t, k->name, params, 2);
  if (!cg_llvm_alias_kernel(t->c->ctx, t->p, k, o, t->scope, t->noalias)) t->st = diag_oom(t->d, k->loc);
  begin_function(t, fn);
  for (int i = 0; i < k->body.n && t->st == IR_OK; i++) {
    const NestStmt *s = k->body.stmts[i];
    if (s->kind == NEST_LOOP && s->u.loop.parallel) {
      outlined_call(t, s, i);
    } else {
      NestBlock one = {(NestStmt **)&k->body.stmts[i], 1, 1};
      block(t, &one);
    }
  }
  LLVMBuildRetVoid(t->b);
  return fn;
}

/* True when kernels a and b of p (buffer orders o, hashes h) may share one function: the
 * same code up to their buffers (codegen/nest_same.c) and the same alias facts between each
 * pair of their buffers, so that the one function's metadata is true of both. */
static bool can_share(const NestProgram *p, int a, int b, const NestBufOrder *o, const uint64_t *h) {
  if (h[a] != h[b] || !cg_nest_kernel_same(p, p->kernels[a], &o[a], p->kernels[b], &o[b])) return false;
  for (int i = 0; i < o[a].n; i++)
    for (int j = i + 1; j < o[a].n; j++)
      if (cg_llvm_alias_disjoint(&p->bufs[o[a].bufs[i]], &p->bufs[o[a].bufs[j]]) !=
          cg_llvm_alias_disjoint(&p->bufs[o[b].bufs[i]], &p->bufs[o[b].bufs[j]]))
        return false;
  return true;
}

/* Numbers each kernel's buffers (o) and sets fn_of[i] to the first kernel whose function
 * kernel i calls: itself, or an earlier kernel it can share with. False when out of memory. */
static bool share_kernels(const NestProgram *p, NestBufOrder *o, int *fn_of) {
  uint64_t *h = ir_calloc((size_t)p->nkernels + 1, sizeof *h);
  bool ok = h != NULL;
  for (int i = 0; ok && i < p->nkernels; i++) {
    ok = cg_nest_buf_order(p, p->kernels[i], &o[i], &h[i]);
    fn_of[i] = i;
    for (int j = 0; ok && j < i && fn_of[i] == i; j++)
      if (fn_of[j] == j && can_share(p, j, i, o, h)) fn_of[i] = j;
  }
  ir_free(h);
  return ok;
}

IrStatus cg_llvm_nest_body(const LlvmBodyCtx *c, void *user, DiagSink *d) {
  const NestProgram *p = user;
  Tr t = {.c = c, .p = p, .b = c->b, .d = d};
  t.i1 = LLVMInt1TypeInContext(c->ctx);
  t.i8 = LLVMInt8TypeInContext(c->ctx);
  t.i32 = LLVMInt32TypeInContext(c->ctx);
  t.i64 = LLVMInt64TypeInContext(c->ctx);
  t.f32 = LLVMFloatTypeInContext(c->ctx);
  t.ptr = LLVMPointerTypeInContext(c->ctx, 0);
  int most_vars = 1, most_locals = 1;
  for (int i = 0; i < p->nkernels; i++) {
    if (p->kernels[i]->nvars > most_vars) most_vars = p->kernels[i]->nvars;
    if (p->kernels[i]->nlocals > most_locals) most_locals = p->kernels[i]->nlocals;
  }
  t.bases = ir_calloc((size_t)p->nbufs + 1, sizeof *t.bases);
  t.vars = ir_calloc((size_t)most_vars, sizeof *t.vars);
  t.locals = ir_calloc((size_t)most_locals, sizeof *t.locals);
  t.saved_bases = ir_calloc((size_t)p->nbufs + 1, sizeof *t.bases);
  t.saved_locals = ir_calloc((size_t)most_locals, sizeof *t.locals);
  t.scope = ir_calloc((size_t)p->nbufs + 1, sizeof *t.scope);
  t.noalias = ir_calloc((size_t)p->nbufs + 1, sizeof *t.noalias);
  LLVMValueRef *kfns = ir_calloc((size_t)p->nkernels + 1, sizeof *kfns);
  LLVMValueRef *base = ir_calloc((size_t)p->nbufs + 1, sizeof *base);
  NestBufOrder *orders = ir_calloc((size_t)p->nkernels + 1, sizeof *orders);
  int *fn_of = ir_calloc((size_t)p->nkernels + 1, sizeof *fn_of);
  if (!t.bases || !t.vars || !t.locals || !t.saved_bases || !t.saved_locals || !t.scope || !t.noalias || !kfns ||
      !base || !orders || !fn_of || !share_kernels(p, orders, fn_of))
    t.st = diag_oom(d, loc_none());
  /* Every buffer's base pointer, in the body's frame, and one table that each kernel call
   * fills with the pointers of that kernel's buffers. */
  LLVMBasicBlockRef body_bb = LLVMGetInsertBlock(c->b);
  LLVMValueRef table = NULL;
  if (t.st == IR_OK) {
    int most_bufs = 1;
    for (int i = 0; i < p->nkernels; i++)
      if (orders[i].n > most_bufs) most_bufs = orders[i].n;
    table = LLVMBuildArrayAlloca(c->b, t.ptr, LLVMConstInt(t.i64, (uint64_t)most_bufs, 0), "buffers");
    for (int i = 0; i < p->nbufs; i++) {
      const NestBuf *nb = &p->bufs[i];
      LLVMValueRef off = LLVMConstInt(t.i64, (uint64_t)nb->offset, 0);
      switch (nb->kind) {
      case NEST_BUF_INPUT: base[i] = c->inputs[nb->index]; break;
      case NEST_BUF_OUTPUT: base[i] = c->outputs[nb->index]; break;
      case NEST_BUF_WEIGHT: base[i] = LLVMBuildGEP2(c->b, t.i8, c->weights, &off, 1, ""); break;
      case NEST_BUF_WORKSPACE: base[i] = LLVMBuildGEP2(c->b, t.i8, c->workspace, &off, 1, ""); break;
      }
    }
    define_parallel_helper(&t);
  }
  for (int i = 0; i < p->nkernels && t.st == IR_OK; i++)
    if (fn_of[i] == i) kfns[i] = kernel(&t, p->kernels[i], &orders[i]);
  if (t.st == IR_OK) {
    LLVMPositionBuilderAtEnd(c->b, body_bb);
    for (int i = 0; i < p->nkernels; i++) {
      for (int j = 0; j < orders[i].n; j++) {
        LLVMValueRef idx = LLVMConstInt(t.i64, (uint64_t)j, 0);
        LLVMBuildStore(c->b, base[orders[i].bufs[j]], LLVMBuildGEP2(c->b, t.ptr, table, &idx, 1, ""));
      }
      LLVMValueRef fn = kfns[fn_of[i]];
      LLVMBuildCall2(c->b, LLVMGlobalGetValueType(fn), fn, (LLVMValueRef[]){table, c->exec}, 2, "");
    }
  }
  for (int i = 0; orders && i < p->nkernels; i++) cg_nest_buf_order_free(&orders[i]);
  ir_free(t.bases);
  ir_free(t.vars);
  ir_free(t.locals);
  ir_free(t.saved_bases);
  ir_free(t.saved_locals);
  ir_free(t.scope);
  ir_free(t.noalias);
  ir_free(kfns);
  ir_free(base);
  ir_free(orders);
  ir_free(fn_of);
  return t.st;
}

IrStatus cg_llvm_compile(const NestProgram *p, const CgArtifact *a, const char *target,
                         const LlvmEmitPaths *paths, DiagSink *d) {
  lathe_tensor_desc *descs = ir_calloc((size_t)(a->ninputs + a->noutputs) + 1, sizeof *descs);
  if (!descs) return diag_oom(d, loc_none());
  for (int i = 0; i < a->ninputs + a->noutputs; i++) {
    const CgTensor *ct = i < a->ninputs ? &a->inputs[i] : &a->outputs[i - a->ninputs];
    descs[i].name = ct->name;
    descs[i].dtype = (int32_t)ct->dtype; /* lathe_dtype numbers the dtypes as DType does */
    descs[i].rank = ct->rank;
    for (int k = 0; k < ct->rank && k < LATHE_MAX_RANK; k++) descs[i].dims[k] = ct->dims[k];
    descs[i].size = (uint64_t)ct->bytes;
  }
  LlvmModelSpec spec = {.name = a->name, .inputs = descs, .outputs = descs + a->ninputs,
                        .ninputs = (uint32_t)a->ninputs, .noutputs = (uint32_t)a->noutputs,
                        .workspace_size = (uint64_t)p->workspace_size, .weights = p->weights,
                        .weights_size = (uint64_t)p->weights_size, .weights_sidecar = a->sidecar,
                        .wrapper = cg_wrapper_suffix(a), .body = cg_llvm_nest_body, .user = (void *)p};
  LlvmTarget t;
  LlvmShell s = {0};
  IrStatus st = cg_llvm_target_init(&t, target, d);
  double since = ir_now_ms();
  if (st == IR_OK) st = cg_llvm_shell_build(&s, &t, &spec, d);
  ir_time_phase(paths->times, "llvm-ir", &since);
  if (st == IR_OK) st = cg_llvm_optimize(&s, d);
  ir_time_phase(paths->times, "llvm-o3", &since);
  if (st == IR_OK) st = cg_llvm_emit(&s, paths, d);
  cg_llvm_shell_free(&s);
  cg_llvm_target_free(&t);
  ir_free(descs);
  return st;
}

IrStatus cg_llvm_check_target(const char *spec, DiagSink *d) {
  LlvmTarget t;
  IrStatus st = cg_llvm_target_init(&t, spec, d);
  cg_llvm_target_free(&t);
  return st;
}

const CgLlvmBackend cg_llvm_backend = {.compile = cg_llvm_compile, .check_target = cg_llvm_check_target};

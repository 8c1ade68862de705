/* vmath.c — exp, tanh, erf, sigmoid and log emitted as LLVM IR on float or <N x float>.
 * Only arithmetic, compares, selects and bit casts: no libm call, no rounding intrinsic that
 * SSE2 would turn into one, so every target vectorizes them. Multiply-adds are
 * llvm.fmuladd: fused where the target has FMA. Polynomials: exp, log and the small-argument
 * tanh are Cephes' (S. Moshier) single-precision minimax coefficients; erf's were fitted for
 * lathe by weighted least squares on Chebyshev nodes (erf(x)/x in x^2 on [0,1]; erfcx(x) in
 * 1/x on [1,4]). docs/llvm.md gives each function's measured error. */
#include "codegen/llvm/vmath.h"

#include <string.h>

/* The emitter's state while one function is built. */
typedef struct Vm {
  LLVMBuilderRef b;
  LLVMModuleRef mod;
  LLVMTypeRef f;   /* float or <lanes x float> */
  LLVMTypeRef i;   /* i32 or <lanes x i32> */
  unsigned lanes;  /* 1: scalar */
} Vm;

static const char *const op_names[VM_NOPS] = {"exp", "tanh", "erf", "sigmoid", "log"};

const char *cg_vmath_name(VmathOp op) { return op < VM_NOPS ? op_names[op] : "?"; }

/* Splats a scalar constant to the emitter's width. */
static LLVMValueRef splat(const Vm *v, LLVMValueRef c) {
  if (v->lanes == 1) return c;
  LLVMValueRef elems[64];
  for (unsigned k = 0; k < v->lanes; k++) elems[k] = c;
  return LLVMConstVector(elems, v->lanes);
}

static LLVMValueRef kf(const Vm *v, double x) {
  return splat(v, LLVMConstReal(LLVMFloatTypeInContext(LLVMGetModuleContext(v->mod)), x));
}
static LLVMValueRef ki(const Vm *v, int32_t x) {
  return splat(v, LLVMConstInt(LLVMInt32TypeInContext(LLVMGetModuleContext(v->mod)), (uint64_t)(uint32_t)x, 1));
}

static LLVMValueRef add(const Vm *v, LLVMValueRef a, LLVMValueRef b) { return LLVMBuildFAdd(v->b, a, b, ""); }
static LLVMValueRef sub(const Vm *v, LLVMValueRef a, LLVMValueRef b) { return LLVMBuildFSub(v->b, a, b, ""); }
static LLVMValueRef mul(const Vm *v, LLVMValueRef a, LLVMValueRef b) { return LLVMBuildFMul(v->b, a, b, ""); }
static LLVMValueRef fdiv(const Vm *v, LLVMValueRef a, LLVMValueRef b) { return LLVMBuildFDiv(v->b, a, b, ""); }
static LLVMValueRef cmp(const Vm *v, LLVMRealPredicate p, LLVMValueRef a, LLVMValueRef b) {
  return LLVMBuildFCmp(v->b, p, a, b, "");
}
static LLVMValueRef sel(const Vm *v, LLVMValueRef c, LLVMValueRef a, LLVMValueRef b) {
  return LLVMBuildSelect(v->b, c, a, b, "");
}
static LLVMValueRef as_int(const Vm *v, LLVMValueRef x) { return LLVMBuildBitCast(v->b, x, v->i, ""); }
static LLVMValueRef as_float(const Vm *v, LLVMValueRef x) { return LLVMBuildBitCast(v->b, x, v->f, ""); }

/* Calls the overloaded intrinsic name on the emitter's float type. */
static LLVMValueRef intrinsic(const Vm *v, const char *name, LLVMValueRef *args, unsigned n) {
  unsigned id = LLVMLookupIntrinsicID(name, strlen(name));
  LLVMValueRef fn = LLVMGetIntrinsicDeclaration(v->mod, id, (LLVMTypeRef *)&v->f, 1);
  LLVMTypeRef ty = LLVMIntrinsicGetType(LLVMGetModuleContext(v->mod), id, (LLVMTypeRef *)&v->f, 1);
  return LLVMBuildCall2(v->b, ty, fn, args, n, "");
}

/* a * b + c, fused where the target has FMA. */
static LLVMValueRef madd(const Vm *v, LLVMValueRef a, LLVMValueRef b, LLVMValueRef c) {
  LLVMValueRef args[] = {a, b, c};
  return intrinsic(v, "llvm.fmuladd", args, 3);
}
static LLVMValueRef fabs_(const Vm *v, LLVMValueRef x) { return intrinsic(v, "llvm.fabs", &x, 1); }
static LLVMValueRef copysign_(const Vm *v, LLVMValueRef mag, LLVMValueRef sgn) {
  LLVMValueRef args[] = {mag, sgn};
  return intrinsic(v, "llvm.copysign", args, 2);
}

/* c[0] * x^(n-1) + ... + c[n-1] by Horner's rule. */
static LLVMValueRef horner(const Vm *v, LLVMValueRef x, const double *c, int n) {
  LLVMValueRef p = kf(v, c[0]);
  for (int k = 1; k < n; k++) p = madd(v, p, x, kf(v, c[k]));
  return p;
}

/* x where x < lo is false (NaN stays NaN), else lo; likewise for hi. */
static LLVMValueRef clamp(const Vm *v, LLVMValueRef x, double lo, double hi) {
  x = sel(v, cmp(v, LLVMRealOLT, x, kf(v, lo)), kf(v, lo), x);
  return sel(v, cmp(v, LLVMRealOGT, x, kf(v, hi)), kf(v, hi), x);
}

/* 2^n for integer n in [-126, 127] (an i32 or vector of them), as float. */
static LLVMValueRef pow2(const Vm *v, LLVMValueRef n) {
  return as_float(v, LLVMBuildShl(v->b, LLVMBuildAdd(v->b, n, ki(v, 127), ""), ki(v, 23), ""));
}

/* exp(x) = 2^n * e^r with n = round(x / ln 2) and |r| <= ln 2 / 2. The scale 2^n is applied
 * as two factors so that results in the subnormal range and overflow to inf come out right. */
static LLVMValueRef emit_exp(const Vm *v, LLVMValueRef x) {
  static const double p[] = {1.9875691500e-4, 1.3981999507e-3, 8.3334519073e-3,
                             4.1665795894e-2, 1.6666665459e-1, 5.0000001201e-1};
  LLVMValueRef xc = clamp(v, x, -104.0, 89.0); /* e^-104 rounds to 0; e^89 overflows */
  /* Adding 1.5 * 2^23 rounds to an integer (round to nearest) without a rounding instruction. */
  LLVMValueRef shift = kf(v, 12582912.0);
  LLVMValueRef n = sub(v, madd(v, xc, kf(v, 1.44269504088896341), shift), shift);
  /* ln 2 in two parts (Cody-Waite): n * 0.693359375 is exact for |n| < 2^15. */
  LLVMValueRef r = madd(v, n, kf(v, -0.693359375), xc);
  r = madd(v, n, kf(v, 2.12194440e-4), r);
  LLVMValueRef y = mul(v, horner(v, r, p, 6), mul(v, r, r));
  y = add(v, add(v, y, r), kf(v, 1.0));
  LLVMValueRef ni = LLVMBuildFPToSI(v->b, n, v->i, "");
  LLVMValueRef n1 = LLVMBuildAShr(v->b, ni, ki(v, 1), "");
  LLVMValueRef n2 = LLVMBuildSub(v->b, ni, n1, "");
  y = mul(v, mul(v, y, pow2(v, n1)), pow2(v, n2));
  return sel(v, cmp(v, LLVMRealUNO, x, x), x, y);
}

/* sigmoid(x) = 1 / (1 + e^-x) for x >= 0 and e^x / (1 + e^x) below, from e = e^-|x|, so
 * that no intermediate overflows and tiny results keep their precision. */
static LLVMValueRef emit_sigmoid(const Vm *v, LLVMValueRef x) {
  LLVMValueRef e = emit_exp(v, LLVMBuildFNeg(v->b, fabs_(v, x), ""));
  LLVMValueRef num = sel(v, cmp(v, LLVMRealOLT, x, kf(v, 0.0)), e, kf(v, 1.0));
  return fdiv(v, num, add(v, kf(v, 1.0), e));
}

/* tanh: an odd polynomial below 0.625, else 1 - 2 / (e^2|x| + 1) with the sign of x. */
static LLVMValueRef emit_tanh(const Vm *v, LLVMValueRef x) {
  static const double p[] = {-5.70498872745e-3, 2.06390887954e-2, -5.37397155531e-2,
                             1.33314422036e-1, -3.33332819422e-1};
  LLVMValueRef a = fabs_(v, x);
  LLVMValueRef z = mul(v, x, x);
  LLVMValueRef small = madd(v, mul(v, horner(v, z, p, 5), z), x, x);
  LLVMValueRef e = emit_exp(v, add(v, a, a));
  LLVMValueRef large = sub(v, kf(v, 1.0), fdiv(v, kf(v, 2.0), add(v, e, kf(v, 1.0))));
  return sel(v, cmp(v, LLVMRealOLT, a, kf(v, 0.625)), small, copysign_(v, large, x));
}

/* erf: x * P(x^2) below 1; else 1 - e^-x^2 * Q(1/x) (Q approximates erfcx) with the sign of
 * x, |x| clamped to 4 where erf rounds to 1. */
static LLVMValueRef emit_erf(const Vm *v, LLVMValueRef x) {
  static const double p[] = {7.89813954061314e-05, -0.0008024335440344754, 0.005190051779014548,
                             -0.026854807781533957, 0.11283612415648564, -0.3761262884291643,
                             1.1283791665102927};
  static const double q[] = {-0.03821575039871132, 0.2646519724315234, -0.8105772732920862,
                             1.4239657073511889,  -1.5240175788506967, 0.899463487660808,
                             -0.06925915826732311, -0.2851888869343227, 0.003015908690845129,
                             0.5637191833162578,  2.596328855095087e-05};
  LLVMValueRef a = fabs_(v, x);
  LLVMValueRef small = mul(v, x, horner(v, mul(v, x, x), p, 7));
  LLVMValueRef ac = clamp(v, a, 1.0, 4.0);
  LLVMValueRef g = horner(v, fdiv(v, kf(v, 1.0), ac), q, 11);
  /* x^2 = hi + lo exactly (with FMA), and e^-(hi+lo) ~ e^-hi * (1 - lo). */
  LLVMValueRef hi = mul(v, ac, ac);
  LLVMValueRef lo = madd(v, ac, ac, LLVMBuildFNeg(v->b, hi, ""));
  LLVMValueRef e = emit_exp(v, LLVMBuildFNeg(v->b, hi, ""));
  e = madd(v, LLVMBuildFNeg(v->b, e, ""), lo, e);
  LLVMValueRef large = madd(v, LLVMBuildFNeg(v->b, e, ""), g, kf(v, 1.0));
  LLVMValueRef r = sel(v, cmp(v, LLVMRealOLT, a, kf(v, 1.0)), small, copysign_(v, large, x));
  return sel(v, cmp(v, LLVMRealUNO, x, x), x, r);
}

/* log(x) = e ln 2 + log(m), x = m 2^e with m in [sqrt(1/2), sqrt(2)); subnormals are scaled
 * by 2^23 first; log of a negative is NaN, of 0 is -inf, of inf is inf. */
static LLVMValueRef emit_log(const Vm *v, LLVMValueRef x) {
  static const double p[] = {7.0376836292e-2, -1.1514610310e-1, 1.1676998740e-1,
                             -1.2420140846e-1, 1.4249322787e-1, -1.6668057665e-1,
                             2.0000714765e-1, -2.4999993993e-1, 3.3333331174e-1};
  LLVMValueRef tiny = cmp(v, LLVMRealOLT, x, kf(v, 1.17549435e-38));
  LLVMValueRef xs = sel(v, tiny, mul(v, x, kf(v, 8388608.0)), x);
  LLVMValueRef bits = as_int(v, xs);
  LLVMValueRef ei = LLVMBuildSub(v->b, LLVMBuildLShr(v->b, bits, ki(v, 23), ""), ki(v, 126), "");
  ei = LLVMBuildSub(v->b, ei, LLVMBuildSelect(v->b, tiny, ki(v, 23), ki(v, 0), ""), "");
  LLVMValueRef m = as_float(v, LLVMBuildOr(v->b, LLVMBuildAnd(v->b, bits, ki(v, 0x007fffff), ""),
                                           ki(v, 0x3f000000), "")); /* [0.5, 1) */
  LLVMValueRef lowm = cmp(v, LLVMRealOLT, m, kf(v, 0.707106781186547524));
  ei = LLVMBuildSub(v->b, ei, LLVMBuildSelect(v->b, lowm, ki(v, 1), ki(v, 0), ""), "");
  m = sub(v, sel(v, lowm, add(v, m, m), m), kf(v, 1.0));
  LLVMValueRef e = LLVMBuildSIToFP(v->b, ei, v->f, "");
  LLVMValueRef z = mul(v, m, m);
  LLVMValueRef y = mul(v, mul(v, horner(v, m, p, 9), m), z);
  y = madd(v, e, kf(v, -2.12194440e-4), y);
  y = madd(v, z, kf(v, -0.5), y);
  LLVMValueRef r = madd(v, e, kf(v, 0.693359375), add(v, m, y));
  LLVMValueRef inf = kf(v, __builtin_inff());
  r = sel(v, cmp(v, LLVMRealOEQ, x, inf), inf, r);
  r = sel(v, cmp(v, LLVMRealOEQ, x, kf(v, 0.0)), kf(v, -__builtin_inff()), r);
  r = sel(v, cmp(v, LLVMRealOLT, x, kf(v, 0.0)), kf(v, __builtin_nanf("")), r);
  return sel(v, cmp(v, LLVMRealUNO, x, x), x, r);
}

LLVMValueRef cg_vmath_fn(LLVMModuleRef mod, const LlvmTarget *t, VmathOp op, unsigned lanes) {
  char name[64];
  if (op >= VM_NOPS || lanes == 0 || lanes > 64) return NULL;
  if (lanes == 1) snprintf(name, sizeof name, "lathe.vmath.%s.f32", op_names[op]);
  else snprintf(name, sizeof name, "lathe.vmath.%s.v%uf32", op_names[op], lanes);
  LLVMValueRef fn = LLVMGetNamedFunction(mod, name);
  if (fn) return fn;
  LLVMContextRef ctx = LLVMGetModuleContext(mod);
  Vm v = {.mod = mod, .lanes = lanes, .f = LLVMFloatTypeInContext(ctx), .i = LLVMInt32TypeInContext(ctx)};
  if (lanes > 1) {
    v.f = LLVMVectorType(v.f, lanes);
    v.i = LLVMVectorType(v.i, lanes);
  }
  fn = LLVMAddFunction(mod, name, LLVMFunctionType(v.f, &v.f, 1, 0));
  LLVMSetLinkage(fn, LLVMInternalLinkage);
  cg_llvm_target_attrs(t, fn);
  unsigned inl = LLVMGetEnumAttributeKindForName("alwaysinline", 12);
  LLVMAddAttributeAtIndex(fn, LLVMAttributeFunctionIndex, LLVMCreateEnumAttribute(ctx, inl, 0));
  v.b = LLVMCreateBuilderInContext(ctx);
  LLVMPositionBuilderAtEnd(v.b, LLVMAppendBasicBlockInContext(ctx, fn, "entry"));
  LLVMValueRef x = LLVMGetParam(fn, 0), y = NULL;
  switch (op) {
  case VM_EXP: y = emit_exp(&v, x); break;
  case VM_TANH: y = emit_tanh(&v, x); break;
  case VM_ERF: y = emit_erf(&v, x); break;
  case VM_SIGMOID: y = emit_sigmoid(&v, x); break;
  case VM_LOG: y = emit_log(&v, x); break;
  case VM_NOPS: break;
  }
  LLVMBuildRet(v.b, y);
  LLVMDisposeBuilder(v.b);
  return fn;
}

LLVMValueRef cg_vmath_call(LLVMBuilderRef b, LLVMModuleRef mod, const LlvmTarget *t, VmathOp op,
                           LLVMValueRef x) {
  LLVMTypeRef ty = LLVMTypeOf(x);
  unsigned lanes = LLVMGetTypeKind(ty) == LLVMVectorTypeKind ? LLVMGetVectorSize(ty) : 1;
  LLVMValueRef fn = cg_vmath_fn(mod, t, op, lanes);
  return LLVMBuildCall2(b, LLVMGlobalGetValueType(fn), fn, &x, 1, "");
}

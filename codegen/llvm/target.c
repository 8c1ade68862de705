/* target.c — target machines for --target=native, x86-64-v3, x86-64-v4 and generic, the CPU
 * features each needs and the function attributes that go with them. */
#include "codegen/llvm/llvm.h"

#include <string.h>

#include <llvm-c/Target.h>

/* The LATHE_CPU_* bit of each LLVM feature the generated code may depend on. */
static const struct {
  const char *feature;
  uint64_t bit;
} cpu_feature_bits[] = {
    {"sse4.2", LATHE_CPU_SSE42},         {"avx2", LATHE_CPU_AVX2},
    {"fma", LATHE_CPU_FMA},              {"f16c", LATHE_CPU_F16C},
    {"avx512f", LATHE_CPU_AVX512F},      {"avx512bw", LATHE_CPU_AVX512BW},
    {"avx512dq", LATHE_CPU_AVX512DQ},    {"avx512vl", LATHE_CPU_AVX512VL},
    {"avx512vnni", LATHE_CPU_AVX512VNNI}, {"avx512bf16", LATHE_CPU_AVX512BF16},
};

/* The named targets: LLVM CPU and what the x86-64 micro-architecture level guarantees. */
static const struct {
  const char *name;
  const char *cpu;
  uint64_t bits;
} named_targets[] = {
    {"generic", "x86-64", 0},
    {"x86-64-v3", "x86-64-v3", LATHE_CPU_SSE42 | LATHE_CPU_AVX2 | LATHE_CPU_FMA | LATHE_CPU_F16C},
    {"x86-64-v4", "x86-64-v4",
     LATHE_CPU_SSE42 | LATHE_CPU_AVX2 | LATHE_CPU_FMA | LATHE_CPU_F16C | LATHE_CPU_AVX512F |
         LATHE_CPU_AVX512BW | LATHE_CPU_AVX512DQ | LATHE_CPU_AVX512VL},
};

uint64_t cg_llvm_cpu_bits(const char *features) {
  uint64_t bits = 0;
  for (const char *p = features; p && *p;) {
    const char *end = strchr(p, ',');
    size_t n = end ? (size_t)(end - p) : strlen(p);
    if (n > 1 && p[0] == '+')
      for (size_t i = 0; i < sizeof cpu_feature_bits / sizeof cpu_feature_bits[0]; i++)
        if (strlen(cpu_feature_bits[i].feature) == n - 1 &&
            memcmp(cpu_feature_bits[i].feature, p + 1, n - 1) == 0)
          bits |= cpu_feature_bits[i].bit;
    p = end ? end + 1 : p + n;
  }
  return bits;
}

/* Returns a copy of s that LLVMDisposeMessage frees. */
static char *llvm_strdup(const char *s) { return LLVMCreateMessage(s); }

/* Initializes LLVM's x86 back end once (the LLVM calls themselves are idempotent). */
static void init_x86(void) {
  LLVMInitializeX86TargetInfo();
  LLVMInitializeX86Target();
  LLVMInitializeX86TargetMC();
  LLVMInitializeX86AsmPrinter();
  LLVMInitializeX86AsmParser(); /* the CPU check's inline assembly is parsed when emitting */
}

IrStatus cg_llvm_target_init(LlvmTarget *t, const char *spec, DiagSink *d) {
  memset(t, 0, sizeof *t);
  init_x86();
  if (!spec || strcmp(spec, "native") == 0) {
    t->triple = LLVMGetDefaultTargetTriple();
    t->cpu = LLVMGetHostCPUName();
    t->features = LLVMGetHostCPUFeatures();
    t->cpu_features = cg_llvm_cpu_bits(t->features);
    snprintf(t->name, sizeof t->name, "native:%s", t->cpu);
  } else {
    size_t i, n = sizeof named_targets / sizeof named_targets[0];
    for (i = 0; i < n && strcmp(named_targets[i].name, spec) != 0; i++) {}
    if (i == n) {
      diag_error(d, loc_none(),
                 "unknown target '%s' (expected native, x86-64-v3, x86-64-v4 or generic)", spec);
      return IR_ERR_USAGE;
    }
    t->triple = llvm_strdup("x86_64-pc-linux-gnu");
    t->cpu = llvm_strdup(named_targets[i].cpu);
    t->features = llvm_strdup("");
    t->cpu_features = named_targets[i].bits;
    snprintf(t->name, sizeof t->name, "%s", spec);
  }
  t->lanes = (t->cpu_features & LATHE_CPU_AVX512F) ? 16 : (t->cpu_features & LATHE_CPU_AVX2) ? 8 : 4;
  LLVMTargetRef target;
  char *err = NULL;
  if (LLVMGetTargetFromTriple(t->triple, &target, &err)) {
    diag_error(d, loc_none(), "target '%s': %s", t->triple, err ? err : "unknown triple");
    LLVMDisposeMessage(err);
    cg_llvm_target_free(t);
    return IR_ERR_USAGE;
  }
  t->tm = LLVMCreateTargetMachine(target, t->triple, t->cpu, t->features,
                                  LLVMCodeGenLevelAggressive, LLVMRelocPIC, LLVMCodeModelDefault);
  if (!t->tm) {
    cg_llvm_target_free(t);
    return IR_INTERNAL(d, "LLVMCreateTargetMachine failed");
  }
  return IR_OK;
}

void cg_llvm_target_free(LlvmTarget *t) {
  if (t->tm) LLVMDisposeTargetMachine(t->tm);
  LLVMDisposeMessage(t->triple);
  LLVMDisposeMessage(t->cpu);
  LLVMDisposeMessage(t->features);
  memset(t, 0, sizeof *t);
}

/* Adds the string attribute key=value to fn. */
static void add_string_attr(LLVMValueRef fn, const char *key, const char *value) {
  LLVMContextRef ctx = LLVMGetTypeContext(LLVMTypeOf(fn));
  LLVMAttributeRef a =
      LLVMCreateStringAttribute(ctx, key, (unsigned)strlen(key), value, (unsigned)strlen(value));
  LLVMAddAttributeAtIndex(fn, LLVMAttributeFunctionIndex, a);
}

void cg_llvm_target_attrs(const LlvmTarget *t, LLVMValueRef fn) {
  LLVMContextRef ctx = LLVMGetTypeContext(LLVMTypeOf(fn));
  add_string_attr(fn, "target-cpu", t->cpu);
  if (t->features[0]) add_string_attr(fn, "target-features", t->features);
  unsigned nounwind = LLVMGetEnumAttributeKindForName("nounwind", 8);
  LLVMAddAttributeAtIndex(fn, LLVMAttributeFunctionIndex, LLVMCreateEnumAttribute(ctx, nounwind, 0));
  if (t->lanes == 16) {
    /* Without these the vectorizer picks 256-bit vectors on AVX-512 CPUs. */
    add_string_attr(fn, "prefer-vector-width", "512");
    add_string_attr(fn, "min-legal-vector-width", "512");
  }
}

void cg_llvm_baseline_attrs(const LlvmTarget *t, LLVMValueRef fn) {
  (void)t;
  LLVMContextRef ctx = LLVMGetTypeContext(LLVMTypeOf(fn));
  /* A function's target-features replace the target machine's, so this also holds on a
   * native target machine that has every feature of the host. */
  add_string_attr(fn, "target-cpu", "x86-64");
  add_string_attr(fn, "target-features", "+cx8,+fxsr,+mmx,+sse,+sse2,+x87");
  unsigned nounwind = LLVMGetEnumAttributeKindForName("nounwind", 8);
  LLVMAddAttributeAtIndex(fn, LLVMAttributeFunctionIndex, LLVMCreateEnumAttribute(ctx, nounwind, 0));
}

/* test_llvm.c — the LLVM backend: targets, the module shell (record, descriptor, entry-point
 * checks), emission of .o/.so/.s/.ll, and compiled code run through dlopen. Expected values
 * come from libm (expf) and GCC's own CPU detection, never from the code under test. */
#define _GNU_SOURCE /* memmem */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "diag_capture.h"
#include "ir/fs.h"
#include "runtime/io.h"
#include "llvm_harness.h"

enum { N = 1003 }; /* not a multiple of any vector width: the tail runs too */

/* Reads the file at path (asserting it exists). */
static IrBuffer *slurp(const char *path) {
  DiagSink d;
  diag_init(&d, stderr);
  IrBuffer *b = NULL;
  assert_int_equal(ir_read_file(path, IR_MAX_FILE_BYTES, &b, &d), IR_OK);
  diag_free(&d);
  return b;
}

/* True when needle[0..n) occurs in the file at path. */
static bool file_contains(const char *path, const void *needle, size_t n) {
  IrBuffer *b = slurp(path);
  bool found = memmem(b->data, (size_t)b->size, needle, n) != NULL;
  ir_buffer_unref(b);
  return found;
}

/* The weights of the tests: n floats 1 + i/1024 (exact in binary), 64-byte aligned. */
static float *make_weights(int64_t n) {
  float *w = aligned_alloc(64, ((size_t)n * sizeof *w + 63) / 64 * 64);
  assert_non_null(w);
  for (int64_t i = 0; i < n; i++) w[i] = 1.0f + (float)i / 1024.0f;
  return w;
}

/* y = exp(x) * w, staged through the workspace: a model of one input and one output. */
static LlvmModelSpec exp_model(const char *name, MapBody *mb, lathe_tensor_desc io[2], float *w) {
  *mb = (MapBody){.ops = {VM_EXP}, .nops = 1, .lanes = 8, .n = N, .weights = true, .workspace = true};
  io[0] = vec_desc("x", N);
  io[1] = vec_desc("y", N);
  LlvmModelSpec m = {.name = name, .inputs = &io[0], .outputs = &io[1], .ninputs = 1,
                     .noutputs = 1, .workspace_size = N * 4, .weights = w,
                     .weights_size = N * 4, .body = map_body, .user = mb};
  return m;
}

/* Runs the model's entry point on x in 0.01 steps around 0 and checks y against expf * w. */
static void check_exp_run(lathe_run_fn run, const float *w) {
  static float x[N], y[N];
  static _Alignas(64) unsigned char ws[N * 4];
  for (int i = 0; i < N; i++) x[i] = (float)(i - N / 2) * 0.01f;
  const void *in[] = {x};
  void *out[] = {y};
  assert_int_equal(run(NULL, in, out, ws), LATHE_OK);
  for (int i = 0; i < N; i++) {
    float want = expf(x[i]) * w[i];
    if (fabsf(y[i] - want) > 4e-7f * want) fail_msg("y[%d] = %.9g, want %.9g", i, y[i], want);
  }
}

/* native, x86-64-v3 and generic report the CPU features they need; an unknown name fails. */
static void test_targets(void **state) {
  (void)state;
  DiagSink d;
  diag_start(&d);
  LlvmTarget t;
  assert_int_equal(cg_llvm_target_init(&t, "generic", &d), IR_OK);
  assert_int_equal(t.cpu_features, 0);
  assert_int_equal(t.lanes, 4);
  cg_llvm_target_free(&t);
  assert_int_equal(cg_llvm_target_init(&t, "x86-64-v4", &d), IR_OK);
  assert_true(t.cpu_features & LATHE_CPU_AVX512F);
  assert_int_equal(t.lanes, 16);
  cg_llvm_target_free(&t);
  assert_int_equal(cg_llvm_target_init(&t, "native", &d), IR_OK);
  __builtin_cpu_init();
  assert_int_equal(!!(t.cpu_features & LATHE_CPU_AVX2), !!__builtin_cpu_supports("avx2"));
  assert_int_equal(!!(t.cpu_features & LATHE_CPU_AVX512F), !!__builtin_cpu_supports("avx512f"));
  assert_int_equal(strncmp(t.name, "native:", 7), 0);
  cg_llvm_target_free(&t);
  assert_int_equal(cg_llvm_target_init(&t, "pentium", &d), IR_ERR_USAGE);
  assert_diag_has(&d, "unknown target 'pentium'");
  cg_llvm_target_free(&t);
  assert_int_equal(cg_llvm_cpu_bits("+avx2,-avx512f,+fma,+avx512vnni"),
                   LATHE_CPU_AVX2 | LATHE_CPU_FMA | LATHE_CPU_AVX512VNNI);
  diag_end(&d);
}

/* Each target the machine runs: .so and .o built, loaded and run; record and descriptor
 * as given; the .so's content hash checks; the .s and .ll leave the weights out. */
static void test_run_each_target(void **state) {
  (void)state;
  static const char *const targets[] = {"generic", "x86-64-v3", "native"};
  float *w = make_weights(N);
  for (size_t k = 0; k < sizeof targets / sizeof targets[0]; k++) {
    MapBody mb;
    lathe_tensor_desc io[2];
    LlvmModelSpec m = exp_model("expw", &mb, io, w);
    char base[64];
    snprintf(base, sizeof base, "expw_%zu", k);
    void *h = build_model(targets[k], &m, base, "soal");
    const lathe_artifact_record *rec = model_sym(h, "expw", "record");
    const lathe_model_desc *desc = model_sym(h, "expw", "desc");
    lathe_run_fn run = (lathe_run_fn)model_sym(h, "expw", "run");
    if (!cpu_runs(rec->cpu_features)) {
      /* Never executed: checked by the CPU test. */
      dlclose(h);
      continue;
    }
    assert_memory_equal(rec->magic, LATHE_RECORD_MAGIC, 8);
    assert_int_equal(rec->abi_version, LATHE_ABI_VERSION);
    assert_int_equal(rec->record_size, sizeof *rec);
    assert_int_equal(rec->workspace_size, N * 4);
    assert_int_equal(rec->weights_size, N * 4);
    assert_string_equal(rec->name, "expw");
    if (k < 2) assert_string_equal(rec->target, targets[k]);
    uint8_t md[32];
    assert_true(rt_sha256(w, N * 4, md));
    assert_memory_equal(rec->weights_sha256, md, 32);
    assert_ptr_equal(desc->record, rec);
    assert_ptr_equal((void *)desc->run, (void *)run);
    assert_string_equal(desc->inputs[0].name, "x");
    assert_string_equal(desc->outputs[0].name, "y");
    assert_int_equal(desc->outputs[0].dims[0], N);
    assert_int_equal(desc->outputs[0].size, N * 4);
    check_exp_run(run, w);

    /* The content hash: SHA-256 of the file with the hash bytes zero. */
    char path[256];
    snprintf(path, sizeof path, LLVM_DIR "%s.so", base);
    IrBuffer *so = slurp(path);
    uint8_t *at = memmem(so->data, (size_t)so->size, rec, offsetof(lathe_artifact_record, content_sha256));
    assert_non_null(at);
    uint8_t stored[32];
    memcpy(stored, at + offsetof(lathe_artifact_record, content_sha256), 32);
    memset(at + offsetof(lathe_artifact_record, content_sha256), 0, 32);
    assert_true(rt_sha256(so->data, (size_t)so->size, md));
    assert_memory_equal(stored, md, 32);
    ir_buffer_unref(so);
    dlclose(h);

    /* The weights (1 KiB of distinctive floats) are in the .o, not in the .s or .ll. */
    const size_t probe = 256 * sizeof(float);
    snprintf(path, sizeof path, LLVM_DIR "%s.o", base);
    assert_true(file_contains(path, w + 512, probe));
    snprintf(path, sizeof path, LLVM_DIR "%s.s", base);
    assert_false(file_contains(path, w + 512, probe));
    assert_false(file_contains(path, ".ascii", 6) && file_contains(path, "expw_weights:", 13));
    snprintf(path, sizeof path, LLVM_DIR "%s.ll", base);
    assert_false(file_contains(path, w + 512, probe));
    assert_true(file_contains(path, "@expw_weights = external hidden", 31));

    /* A user links the .o into a program of their own (here a shared object, with cc). */
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "cc -shared -o " LLVM_DIR "%s_cc.so " LLVM_DIR "%s.o", base, base);
    assert_int_equal(system(cmd), 0);
    snprintf(path, sizeof path, LLVM_DIR "%s_cc.so", base);
    h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    assert_non_null(h);
    check_exp_run((lathe_run_fn)model_sym(h, "expw", "run"), w);
    dlclose(h);
  }
  free(w);
}

/* An x86-64-v4 artifact returns LATHE_ERR_CPU on a CPU without AVX-512 (and runs where it
 * has it); its assembly of a scalar loop vectorized by LLVM uses zmm registers. */
static void test_cpu_check_and_zmm(void **state) {
  (void)state;
  float *w = make_weights(N);
  MapBody mb;
  lathe_tensor_desc io[2];
  LlvmModelSpec m = exp_model("v4", &mb, io, w);
  mb.lanes = 1; /* the loop vectorizer's job */
  void *h = build_model("x86-64-v4", &m, "v4", "sa");
  const lathe_artifact_record *rec = model_sym(h, "v4", "record");
  assert_true(rec->cpu_features & LATHE_CPU_AVX512F);
  lathe_run_fn run = (lathe_run_fn)model_sym(h, "v4", "run");
  if (cpu_runs(rec->cpu_features)) {
    check_exp_run(run, w);
  } else {
    static float x[N], y[N];
    static _Alignas(64) unsigned char ws[N * 4];
    const void *in[] = {x};
    void *out[] = {y};
    for (int i = 0; i < N; i++) y[i] = -1.0f;
    assert_int_equal(run(NULL, in, out, ws), LATHE_ERR_CPU);
    assert_int_equal(run(NULL, in, out, ws), LATHE_ERR_CPU); /* the cached verdict */
    for (int i = 0; i < N; i++) assert_true(y[i] == -1.0f);
  }
  dlclose(h);
  assert_true(file_contains(LLVM_DIR "v4.s", "zmm", 3));
  assert_true(file_contains(LLVM_DIR "v4.s", "vfmadd", 6));
  free(w);
}

/* The entry point's checks: misaligned or missing workspace, null buffers, another ABI
 * version in the exec; sidecar weights through the exec, of the recorded size. */
static void test_entry_checks(void **state) {
  (void)state;
  float *w = make_weights(N);
  MapBody mb;
  lathe_tensor_desc io[2];
  LlvmModelSpec m = exp_model("chk", &mb, io, w);
  m.weights_sidecar = true;
  void *h = build_model("generic", &m, "chk", "s");
  lathe_run_fn run = (lathe_run_fn)model_sym(h, "chk", "run");
  static float x[N], y[N];
  static _Alignas(64) unsigned char ws[N * 4 + 64];
  for (int i = 0; i < N; i++) x[i] = (float)(i - N / 2) * 0.01f;
  const void *in[] = {x};
  void *out[] = {y};
  lathe_exec ex = {.abi_version = LATHE_ABI_VERSION, .size = sizeof ex, .weights = w,
                   .weights_size = N * 4};
  assert_int_equal(run(&ex, in, out, ws + 8), LATHE_ERR_ALIGN);
  assert_int_equal(run(&ex, in, out, ws + 32), LATHE_ERR_ALIGN);
  assert_int_equal(run(&ex, in, out, NULL), LATHE_ERR_INPUT);
  assert_int_equal(run(&ex, NULL, out, ws), LATHE_ERR_INPUT);
  const void *in_null[] = {NULL};
  assert_int_equal(run(&ex, in_null, out, ws), LATHE_ERR_INPUT);
  void *out_null[] = {NULL};
  assert_int_equal(run(&ex, in, out_null, ws), LATHE_ERR_INPUT);
  assert_int_equal(run(NULL, in, out, ws), LATHE_ERR_INPUT); /* sidecar weights missing */
  lathe_exec bad = ex;
  bad.abi_version = 99;
  assert_int_equal(run(&bad, in, out, ws), LATHE_ERR_ABI);
  bad = ex;
  bad.weights_size = 4;
  assert_int_equal(run(&bad, in, out, ws), LATHE_ERR_SIZE);
  bad = ex;
  bad.weights = (const char *)w + 4;
  assert_int_equal(run(&bad, in, out, ws), LATHE_ERR_ALIGN);
  assert_int_equal(run(&ex, in, out, ws), LATHE_OK);
  for (int i = 0; i < N; i++) assert_float_equal(y[i], expf(x[i]) * w[i], 4e-7 * expf(x[i]) * w[i]);
  dlclose(h);
  free(w);
}

/* Bad model names are one diagnostic each. */
static void test_bad_name(void **state) {
  (void)state;
  DiagSink d;
  diag_start(&d);
  LlvmTarget t;
  assert_int_equal(cg_llvm_target_init(&t, "generic", &d), IR_OK);
  static const char *const bad[] = {"", "9lives", "has space", "a-b",
                                    "an_identifier_that_is_far_too_long_for_the_record_which_holds_64_bytes"};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    LlvmModelSpec m = {.name = bad[i]};
    LlvmShell s;
    assert_int_equal(cg_llvm_shell_build(&s, &t, &m, &d), IR_ERR_INPUT);
    cg_llvm_shell_free(&s);
  }
  assert_int_equal(d.errors, 5);
  assert_diag_has(&d, "model name '9lives' is not a C identifier");
  cg_llvm_target_free(&t);
  diag_end(&d);
}

/* Files that cannot be written are one diagnostic each and IR_ERR_INPUT; nothing is left
 * behind, and an existing file at the path is kept as it was. */
static void test_emit_failures(void **state) {
  (void)state;
  float *w = make_weights(N);
  MapBody mb;
  lathe_tensor_desc io[2];
  LlvmModelSpec m = exp_model("fails", &mb, io, w);
  DiagSink d;
  diag_start(&d);
  LlvmTarget t;
  assert_int_equal(cg_llvm_target_init(&t, "generic", &d), IR_OK);
  LlvmShell s;
  assert_int_equal(cg_llvm_shell_build(&s, &t, &m, &d), IR_OK);
  assert_int_equal(cg_llvm_optimize(&s, &d), IR_OK);
  LlvmEmitPaths so = {.so = LLVM_DIR "missing/fails.so"};
  assert_int_equal(cg_llvm_emit(&s, &so, &d), IR_ERR_INPUT);
  assert_diag_has(&d, LLVM_DIR "missing/fails.so");
  LlvmEmitPaths ll = {.ir = LLVM_DIR "missing/fails.ll"};
  assert_int_equal(cg_llvm_emit(&s, &ll, &d), IR_ERR_INPUT);
  assert_diag_has(&d, LLVM_DIR "missing/fails.ll");
  assert_int_equal(d.errors, 2);
  struct stat st;
  assert_int_not_equal(stat(LLVM_DIR "missing", &st), 0);
  cg_llvm_shell_free(&s);
  cg_llvm_target_free(&t);
  diag_end(&d);
  free(w);
}

/* A large weight blob (LATHE_BIG_WEIGHTS_MB, default 16) embeds as one constant: the time to
 * build, optimize and write the .so is printed (a figure, not a timed test), the .so holds
 * the bytes and the .s does not. */
static void test_big_weights(void **state) {
  (void)state;
  const char *env = getenv("LATHE_BIG_WEIGHTS_MB");
  int64_t mb_count = env ? atoll(env) : 16;
  int64_t n = mb_count * (1 << 20) / 4;
  float *w = make_weights(n);
  MapBody mb = {.ops = {VM_EXP}, .nops = 1, .lanes = 8, .n = N, .weights = true};
  lathe_tensor_desc io[2] = {vec_desc("x", N), vec_desc("y", N)};
  LlvmModelSpec m = {.name = "big", .inputs = &io[0], .outputs = &io[1], .ninputs = 1,
                     .noutputs = 1, .weights = w, .weights_size = (uint64_t)n * 4,
                     .body = map_body, .user = &mb};
  struct timespec t0, t1;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  void *h = build_model("native", &m, "big", "sa");
  clock_gettime(CLOCK_MONOTONIC, &t1);
  printf("big weights: %lld MB compiled to .so and .s in %.2f s\n", (long long)mb_count,
         (double)(t1.tv_sec - t0.tv_sec) + 1e-9 * (double)(t1.tv_nsec - t0.tv_nsec));
  check_exp_run((lathe_run_fn)model_sym(h, "big", "run"), w);
  dlclose(h);
  assert_true(file_contains(LLVM_DIR "big.so", w + n - 1024, 4096));
  assert_false(file_contains(LLVM_DIR "big.s", w + n - 1024, 4096));
  free(w);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_targets),
      cmocka_unit_test(test_run_each_target),
      cmocka_unit_test(test_cpu_check_and_zmm),
      cmocka_unit_test(test_entry_checks),
      cmocka_unit_test(test_bad_name),
      cmocka_unit_test(test_emit_failures),
      cmocka_unit_test(test_big_weights),
  };
  return cmocka_run_group_tests(tests, llvm_dir_setup, NULL);
}

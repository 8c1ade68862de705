/* test_runtime.c — liblathe_rt on fixture artifacts built here by the system C compiler from
 * tests/unit/fixtures/runtime_model.c: opening, listing and running a good one; and artifacts
 * of another ABI version or CPU, truncated or altered files, a missing descriptor, a
 * descriptor that disagrees with its record, wrong sizes, a misaligned workspace and bad
 * sidecar weights, each refused with its own status and message and never loaded. */
#define _GNU_SOURCE /* memmem */
#include <errno.h>
#include <openssl/evp.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <cmocka.h>

#include "ir/base.h" /* ir_alloc_fail_after: the runtime allocates through lathe's hook */
#include "lathe/runtime.h"

/* The scratch directory of this program (its own, so test programs can run in parallel). */
#define RT_DIR LATHE_TEST_TMP "/runtime/"

/* x, y, w as the fixture reads them, and z = x * y (+ w) and s = sum(z), worked by hand. */
static const float fx_x[6] = {1, 2, 3, 4, 5, 6}, fx_y[3] = {10, 20, 30};
static const float fx_w[6] = {0.5f, 0.25f, 0.125f, -1, -2, -4};
static const float fx_z[6] = {10, 40, 90, 40, 100, 180}; /* sum 460 */

/* ---- counting allocations ------------------------------------------------------------------------ */

/* In the plain build this program's malloc family counts calls made while armed (and hands
 * them to glibc), so a test can show that lathe_model_run allocates nothing. The sanitizer
 * build keeps its own allocator and counts nothing. */
static volatile int alloc_armed, alloc_calls; /* volatile: GCC assumes malloc touches no globals */
#ifndef __SANITIZE_ADDRESS__
extern void *__libc_malloc(size_t n);
extern void *__libc_calloc(size_t count, size_t n);
extern void *__libc_realloc(void *p, size_t n);
extern void *__libc_memalign(size_t align, size_t n);
void *malloc(size_t n) { alloc_calls += alloc_armed; return __libc_malloc(n); }
void *calloc(size_t count, size_t n) { alloc_calls += alloc_armed; return __libc_calloc(count, n); }
void *realloc(void *p, size_t n) { alloc_calls += alloc_armed; return __libc_realloc(p, n); }
void *aligned_alloc(size_t align, size_t n) { alloc_calls += alloc_armed; return __libc_memalign(align, n); }
int posix_memalign(void **p, size_t align, size_t n) {
  alloc_calls += alloc_armed;
  *p = __libc_memalign(align, n);
  return *p ? 0 : ENOMEM;
}
#define COUNTS_ALLOCATIONS 1
#else
#define COUNTS_ALLOCATIONS 0
#endif

/* ---- building fixtures -------------------------------------------------------------------- */

/* Reads the whole file at path into a new buffer (free it); *n gets its size. */
static unsigned char *slurp(const char *path, size_t *n) {
  FILE *f = fopen(path, "rb");
  assert_non_null(f);
  assert_int_equal(fseek(f, 0, SEEK_END), 0);
  long size = ftell(f);
  assert_true(size > 0);
  rewind(f);
  unsigned char *p = malloc((size_t)size);
  assert_non_null(p);
  assert_int_equal(fread(p, 1, (size_t)size, f), (size_t)size);
  fclose(f);
  *n = (size_t)size;
  return p;
}

static void spill(const char *path, const void *data, size_t n) {
  FILE *f = fopen(path, "wb");
  assert_non_null(f);
  assert_int_equal(fwrite(data, 1, n, f), n);
  assert_int_equal(fclose(f), 0);
}

/* Builds the fixture with the given -D options into RT_DIR/name.so, sealed when seal; returns
 * the path (static storage, valid until the next call). */
static const char *build(const char *name, const char *defines, int seal) {
  static char path[512];
  char cmd[2048];
  snprintf(path, sizeof path, RT_DIR "%s.so", name);
  snprintf(cmd, sizeof cmd,
           "cc -std=gnu11 -shared -fPIC -O1 -I'" LATHE_SOURCE_DIR "/include' %s -o '%s' '" LATHE_SOURCE_DIR
           "/tests/unit/fixtures/runtime_model.c'",
           defines, path);
  assert_int_equal(system(cmd), 0);
  if (seal) {
    lathe_error err;
    assert_int_equal(lathe_artifact_seal(path, &err), LATHE_OK);
    assert_int_equal(err.status, LATHE_OK);
  }
  return path;
}

/* Asserts that opening path fails with status want and a message containing what, and that
 * the artifact's code never ran (when it was refused by the checks before loading). */
static void assert_refused_after(const char *path, int want, const char *what, int loaded) {
  lathe_error err;
  static int sentinel;
  lathe_model *m = (lathe_model *)&sentinel; /* not NULL: the call must set it to NULL */
  unsetenv("LATHE_FIXTURE_LOADED");
  int st = lathe_model_open(path, &m, &err);
  if (st != want || !strstr(err.message, what))
    fail_msg("%s: got status %d '%s', want %d with '%s'", path, st, err.message, want, what);
  assert_int_equal(err.status, want);
  assert_null(m);
  assert_true((getenv("LATHE_FIXTURE_LOADED") != NULL) == loaded);
}

static void assert_refused(const char *path, int want, const char *what) { assert_refused_after(path, want, what, 0); }

static int setup(void **state) {
  mkdir(LATHE_TEST_TMP, 0777);
  mkdir(RT_DIR, 0777);
  return 0;
}

/* ---- a good artifact ------------------------------------------------------------------------- */

/* Runs m on the fixture inputs into z and s with the given workspace; returns the status. */
static int run_fixture(lathe_model *m, const lathe_exec *ex, float z[6], float *s, void *ws, lathe_error *err) {
  const void *in[2] = {fx_x, fx_y};
  void *out[2] = {z, s};
  size_t in_sizes[2] = {24, 12}, out_sizes[2] = {24, 4};
  return lathe_model_run(m, ex, in, in_sizes, out, out_sizes, ws, err);
}

static void test_open_list_run(void **state) {
  const char *path = build("good", "", 1);
  lathe_error err;
  lathe_artifact_record rec;
  assert_int_equal(lathe_artifact_check(path, &rec, &err), LATHE_OK);
  assert_string_equal(rec.name, "fx");
  lathe_model *m = NULL;
  unsetenv("LATHE_FIXTURE_LOADED");
  assert_int_equal(lathe_model_open(path, &m, &err), LATHE_OK);
  assert_non_null(getenv("LATHE_FIXTURE_LOADED"));
  assert_int_equal(lathe_model_ninputs(m), 2);
  assert_int_equal(lathe_model_noutputs(m), 2);
  const lathe_tensor_desc *x = lathe_model_input(m, 0), *y = lathe_model_input(m, 1), *s = lathe_model_output(m, 1);
  assert_string_equal(x->name, "x");
  assert_int_equal(x->dtype, LATHE_F32);
  assert_int_equal(x->rank, 2);
  assert_int_equal(x->dims[0], 2);
  assert_int_equal(x->dims[1], 3);
  assert_int_equal(x->size, 24);
  assert_string_equal(y->name, "y");
  assert_int_equal(y->size, 12);
  assert_string_equal(lathe_model_output(m, 0)->name, "z");
  assert_int_equal(s->rank, 0);
  assert_int_equal(s->size, 4);
  assert_null(lathe_model_input(m, 2));
  assert_null(lathe_model_output(m, -1));
  assert_int_equal(lathe_model_workspace_size(m), 64);
  assert_string_equal(lathe_model_record(m)->target, "generic");

  void *ws = lathe_model_alloc_workspace(m, &err);
  assert_non_null(ws);
  assert_int_equal((uintptr_t)ws % 64, 0);
  float z[6] = {0}, sum = 0;
  assert_int_equal(run_fixture(m, NULL, z, &sum, ws, &err), LATHE_OK);
  for (int i = 0; i < 6; i++) assert_true(z[i] == fx_z[i]);
  assert_true(sum == 460);
  /* A caller's exec of this ABI version runs too. */
  lathe_exec ex = {LATHE_ABI_VERSION, sizeof ex, NULL, NULL, NULL, 0};
  memset(z, 0, sizeof z);
  assert_int_equal(run_fixture(m, &ex, z, &sum, ws, &err), LATHE_OK);
  assert_true(z[5] == 180);
  lathe_model_free_workspace(ws);
  lathe_model_close(m);
}

/* Runs, and refused runs, allocate nothing. */
static void test_run_allocates_nothing(void **state) {
  lathe_model *m;
  lathe_error err;
  assert_int_equal(lathe_model_open(build("noalloc", "", 1), &m, &err), LATHE_OK);
  void *ws = lathe_model_alloc_workspace(m, &err);
  float z[6], s;
  int st[3];
  alloc_calls = 0;
  if (COUNTS_ALLOCATIONS) { /* the counter must see an allocation when one happens */
    alloc_armed = 1;
    void *volatile probe = malloc(16); /* volatile: the pair must not be optimized away */
    free(probe);
    alloc_armed = 0;
    assert_int_equal(alloc_calls, 1);
    alloc_calls = 0;
  }
  alloc_armed = 1;
  st[0] = run_fixture(m, NULL, z, &s, ws, &err);
  st[1] = run_fixture(m, NULL, z, &s, (char *)ws + 8, &err);
  st[2] = run_fixture(m, NULL, z, &s, NULL, &err);
  alloc_armed = 0;
  assert_int_equal(st[0], LATHE_OK);
  assert_int_equal(st[1], LATHE_ERR_ALIGN);
  assert_int_equal(st[2], LATHE_ERR_INPUT);
  assert_int_equal(alloc_calls, 0);
  lathe_model_free_workspace(ws);
  lathe_model_close(m);
}

/* Sealing in memory and in a file give the same bytes: the hash of the whole file with the
 * 32 hash bytes zero, here computed with OpenSSL directly over a zeroed copy. */
static void test_seal(void **state) {
  size_t n, m;
  unsigned char *raw = slurp(build("seal_raw", "", 0), &n);
  unsigned char *sealed = slurp(build("seal_file", "", 1), &m);
  assert_int_equal(n, m);
  lathe_error err;
  assert_int_equal(lathe_artifact_check_image(raw, n, "raw", NULL, &err), LATHE_ERR_CORRUPT);
  assert_string_equal(err.message, "raw: the artifact was never sealed (its content hash is zero)");
  unsigned char *at = memmem(raw, n, LATHE_RECORD_MAGIC, 8) + offsetof(lathe_artifact_record, content_sha256);
  unsigned char md[32];
  unsigned int len = 0;
  assert_true(EVP_Digest(raw, n, md, &len, EVP_sha256(), NULL)); /* the hash bytes are still zero */
  assert_int_equal(lathe_artifact_seal_image(raw, n, "raw", &err), LATHE_OK);
  assert_memory_equal(at, md, 32);
  assert_memory_equal(raw, sealed, n);
  assert_int_equal(lathe_artifact_check_image(raw, n, "raw", NULL, &err), LATHE_OK);
  /* Sealing again changes nothing. */
  assert_int_equal(lathe_artifact_seal_image(raw, n, "raw", &err), LATHE_OK);
  assert_memory_equal(raw, sealed, n);
  free(raw);
  free(sealed);
}

/* A file never sealed (content hash zero) is refused before loading. */
static void test_unsealed(void **state) {
  assert_refused(build("unsealed", "", 0), LATHE_ERR_CORRUPT, "never sealed");
}

static void test_missing_files(void **state) {
  assert_refused(RT_DIR "nosuch.so", LATHE_ERR_IO, "No such file");
  assert_refused(RT_DIR, LATHE_ERR_IO, "not a regular file");
  spill(RT_DIR "text.so", "hello\n", 6);
  assert_refused(RT_DIR "text.so", LATHE_ERR_CORRUPT, "not an ELF file");
  lathe_error err;
  assert_int_equal(lathe_artifact_seal(RT_DIR "nosuch.so", &err), LATHE_ERR_IO);
  assert_int_equal(lathe_model_open(NULL, NULL, &err), LATHE_ERR_USAGE);
}

/* ---- records of another ABI or CPU ----------------------------------------------------------------- */

static void test_other_abi(void **state) {
  const char *path = build("abi2", "-DABI=2", 0);
  lathe_error err;
  /* The record's layout is unknown in another version, so it cannot be sealed either. */
  assert_int_equal(lathe_artifact_seal(path, &err), LATHE_ERR_ABI);
  assert_refused(path, LATHE_ERR_ABI, "built for ABI version 2; this runtime reads version 1");
}

/* The flags /proc/cpuinfo lists, as LATHE_CPU_* bits: an account of the CPU independent of
 * the runtime's cpuid code. */
static uint64_t cpuinfo_features(void) {
  static const struct { const char *flag; uint64_t bit; } flags[] = {
      {"sse4_2", LATHE_CPU_SSE42},       {"avx2", LATHE_CPU_AVX2},         {"fma", LATHE_CPU_FMA},
      {"f16c", LATHE_CPU_F16C},          {"avx512f", LATHE_CPU_AVX512F},   {"avx512bw", LATHE_CPU_AVX512BW},
      {"avx512dq", LATHE_CPU_AVX512DQ},  {"avx512vl", LATHE_CPU_AVX512VL}, {"avx512_vnni", LATHE_CPU_AVX512VNNI},
      {"avx512_bf16", LATHE_CPU_AVX512BF16}};
  FILE *f = fopen("/proc/cpuinfo", "r");
  assert_non_null(f);
  static char line[8192];
  uint64_t bits = 0;
  while (fgets(line, sizeof line, f)) {
    if (strncmp(line, "flags", 5) != 0) continue;
    for (char *tok = strtok(strchr(line, ':') + 1, " \n"); tok; tok = strtok(NULL, " \n"))
      for (size_t i = 0; i < sizeof flags / sizeof flags[0]; i++)
        if (!strcmp(tok, flags[i].flag)) bits |= flags[i].bit;
    break;
  }
  fclose(f);
  return bits;
}

static void test_cpu_features(void **state) {
  uint64_t have = lathe_cpu_features();
  assert_int_equal(have, cpuinfo_features());
  /* A bit no runtime knows is always missing. */
  assert_refused(build("cpu_unknown", "-DCPU=0x10000000000ull", 1), LATHE_ERR_CPU,
                 "needs bit 40 (unknown to this runtime), which this CPU lacks");
  /* A known feature this CPU lacks (AVX-512 on an AVX2 machine), when there is one. */
  static const char *const names[] = {"sse4.2", "avx2", "fma", "f16c", "avx512f", "avx512bw", "avx512dq",
                                      "avx512vl", "avx512vnni", "avx512bf16"};
  for (int b = 0; b < 10; b++) {
    if (have >> b & 1) continue;
    char defines[64], want[64];
    snprintf(defines, sizeof defines, "-DCPU=%lluull", 1ull << b);
    snprintf(want, sizeof want, "compiled for generic and needs %s, which", names[b]);
    assert_refused(build("cpu_missing", defines, 1), LATHE_ERR_CPU, want);
    break;
  }
  /* What the CPU has is accepted. */
  char defines[64];
  snprintf(defines, sizeof defines, "-DCPU=%lluull", (unsigned long long)have);
  lathe_model *m;
  lathe_error err;
  assert_int_equal(lathe_model_open(build("cpu_have", defines, 1), &m, &err), LATHE_OK);
  lathe_model_close(m);
}

/* ---- damaged files ------------------------------------------------------------------------------- */

/* Every truncation of a sealed artifact is refused as corrupt (a stride through the file,
 * and every length in its last 320 bytes, where the section table lies). */
static void test_truncated(void **state) {
  size_t n;
  unsigned char *good = slurp(build("trunc_src", "", 1), &n);
  int tried = 0;
  for (size_t len = 0; len < n; len += len + 320 < n ? 53 : 1) {
    spill(RT_DIR "trunc.so", good, len);
    assert_refused(RT_DIR "trunc.so", LATHE_ERR_CORRUPT, "");
    tried++;
  }
  assert_true(tried > 400);
  /* In memory, every length. */
  for (size_t len = 0; len < n; len++) {
    lathe_error err;
    int st = lathe_artifact_check_image(good, len, "image", NULL, &err);
    if (st != LATHE_ERR_CORRUPT) fail_msg("truncated to %zu bytes: status %d '%s'", len, st, err.message);
  }
  free(good);
}

/* Every altered byte of a sealed artifact is refused (every byte of the record, a stride
 * through the rest): most as corrupt, the ELF machine and the ABI version for what they say. */
static void test_flipped(void **state) {
  size_t n;
  unsigned char *data = slurp(build("flip_src", "", 1), &n);
  unsigned char *rec = memmem(data, n, LATHE_RECORD_MAGIC, 8);
  assert_non_null(rec);
  size_t rec_off = (size_t)(rec - data);
  int tried = 0, corrupt = 0;
  size_t rec_end = rec_off + sizeof(lathe_artifact_record);
  for (size_t i = 0; i < n; i = i >= rec_off && i < rec_end ? i + 1 : i < rec_off && i + 29 > rec_off ? rec_off : i + 29) {
    data[i] ^= 0xff;
    spill(RT_DIR "flip.so", data, n);
    data[i] ^= 0xff;
    lathe_error err;
    lathe_model *m;
    unsetenv("LATHE_FIXTURE_LOADED");
    int st = lathe_model_open(RT_DIR "flip.so", &m, &err);
    if (st != LATHE_ERR_CORRUPT && st != LATHE_ERR_ABI && st != LATHE_ERR_CPU)
      fail_msg("byte %zu flipped: status %d '%s'", i, st, err.message);
    assert_null(getenv("LATHE_FIXTURE_LOADED"));
    assert_true(strlen(err.message) > 0);
    corrupt += st == LATHE_ERR_CORRUPT;
    tried++;
  }
  assert_true(tried > 500);
  assert_true(corrupt >= tried - 6); /* e_machine (2 bytes) and abi_version (4) aside */
  /* In memory, every byte, each flipped three ways. */
  static const unsigned char flips[] = {0x01, 0x80, 0xff};
  for (size_t i = 0; i < n; i++)
    for (int f = 0; f < 3; f++) {
      lathe_error err;
      data[i] ^= flips[f];
      int st = lathe_artifact_check_image(data, n, "image", NULL, &err);
      data[i] ^= flips[f];
      if (st != LATHE_ERR_CORRUPT && st != LATHE_ERR_ABI && st != LATHE_ERR_CPU)
        fail_msg("byte %zu ^ 0x%02x: status %d '%s'", i, flips[f], st, err.message);
    }
  free(data);
}

/* ---- descriptors ------------------------------------------------------------------------------- */

static void test_missing_descriptor(void **state) {
  assert_refused_after(build("nodesc", "-DNO_DESC", 1), LATHE_ERR_SYMBOL, "no symbol fx_desc", 1);
}

/* A sealed artifact that the dynamic loader refuses (an undefined symbol under RTLD_NOW). */
static void test_loader_refuses(void **state) {
  assert_refused(build("undefined", "-DUNDEFINED", 1), LATHE_ERR_CORRUPT, "undefined symbol: lathe_fixture_nowhere");
}

static void test_descriptor_disagrees(void **state) {
  assert_refused_after(build("otherrec", "-DOTHER_RECORD", 1), LATHE_ERR_CORRUPT,
                       "fx_desc does not point at the record checked in the file", 1);
}

/* ---- running with bad buffers ------------------------------------------------------------------- */

static void test_bad_buffers(void **state) {
  lathe_model *m;
  lathe_error err;
  assert_int_equal(lathe_model_open(build("buffers", "", 1), &m, &err), LATHE_OK);
  void *ws = lathe_model_alloc_workspace(m, &err);
  float z[6], s;
  const void *in[2] = {fx_x, fx_y};
  void *out[2] = {z, &s};
  size_t in_sizes[2] = {24, 12}, out_sizes[2] = {24, 4};

  in_sizes[0] = 20;
  assert_int_equal(lathe_model_run(m, NULL, in, in_sizes, out, out_sizes, ws, &err), LATHE_ERR_SIZE);
  assert_string_equal(err.message, "input 'x' is 20 bytes but the model needs 24 (f32[2,3])");
  in_sizes[0] = 24;
  out_sizes[1] = 8;
  assert_int_equal(lathe_model_run(m, NULL, in, in_sizes, out, out_sizes, ws, &err), LATHE_ERR_SIZE);
  assert_string_equal(err.message, "output 's' is 8 bytes but the model needs 4 (f32[])");
  out_sizes[1] = 4;
  in[1] = NULL;
  assert_int_equal(lathe_model_run(m, NULL, in, in_sizes, out, out_sizes, ws, &err), LATHE_ERR_INPUT);
  assert_string_equal(err.message, "input 'y' (1) is NULL");
  in[1] = fx_y;
  assert_int_equal(lathe_model_run(m, NULL, in, NULL, out, out_sizes, ws, &err), LATHE_ERR_USAGE);
  assert_int_equal(lathe_model_run(NULL, NULL, in, in_sizes, out, out_sizes, ws, &err), LATHE_ERR_USAGE);

  /* Workspaces: none, or misaligned by every amount short of 64. */
  assert_int_equal(lathe_model_run(m, NULL, in, in_sizes, out, out_sizes, NULL, &err), LATHE_ERR_INPUT);
  assert_non_null(strstr(err.message, "needs a workspace of 64 bytes"));
  static _Alignas(64) unsigned char mine[128];
  for (int k = 1; k < 64; k++) {
    assert_int_equal(lathe_model_run(m, NULL, in, in_sizes, out, out_sizes, mine + k, &err), LATHE_ERR_ALIGN);
    assert_non_null(strstr(err.message, "is not 64-byte aligned"));
  }
  assert_int_equal(lathe_model_run(m, NULL, in, in_sizes, out, out_sizes, mine, &err), LATHE_OK);
  assert_true(s == 460);

  /* An exec of another ABI version. */
  lathe_exec ex = {2, sizeof ex, NULL, NULL, NULL, 0};
  assert_int_equal(lathe_model_run(m, &ex, in, in_sizes, out, out_sizes, ws, &err), LATHE_ERR_ABI);
  assert_non_null(strstr(err.message, "ABI version 2"));
  lathe_model_free_workspace(ws);
  lathe_model_close(m);
}

/* ---- sidecar weights ---------------------------------------------------------------------------- */

static void test_sidecar_weights(void **state) {
  unsigned char md[32];
  unsigned int len = 0;
  assert_true(EVP_Digest(fx_w, sizeof fx_w, md, &len, EVP_sha256(), NULL));
  char defines[512] = "-DSIDECAR '-DWEIGHTS_SHA=";
  for (int i = 0; i < 32; i++) snprintf(defines + strlen(defines), 8, "%s%u", i ? "," : "", md[i]);
  strcat(defines, "'");
  lathe_model *m;
  lathe_error err;
  assert_int_equal(lathe_model_open(build("sidecar", defines, 1), &m, &err), LATHE_OK);
  void *ws = lathe_model_alloc_workspace(m, &err);
  float z[6], s;
  /* Without its weights the model itself refuses to run. */
  assert_int_equal(run_fixture(m, NULL, z, &s, ws, &err), LATHE_ERR_INPUT);
  assert_string_equal(err.message, "model 'fx' returned status 1 (bad input)");
  /* Weights of the wrong size or content are refused. */
  spill(RT_DIR "w_short.bin", fx_w, 20);
  assert_int_equal(lathe_model_load_weights(m, RT_DIR "w_short.bin", &err), LATHE_ERR_CORRUPT);
  assert_non_null(strstr(err.message, "the weights are 20 bytes but model 'fx' needs 24"));
  float altered[6];
  memcpy(altered, fx_w, sizeof altered);
  altered[3] = 7;
  spill(RT_DIR "w_altered.bin", altered, sizeof altered);
  assert_int_equal(lathe_model_load_weights(m, RT_DIR "w_altered.bin", &err), LATHE_ERR_CORRUPT);
  assert_non_null(strstr(err.message, "SHA-256"));
  assert_int_equal(lathe_model_load_weights(m, RT_DIR "nosuch.bin", &err), LATHE_ERR_IO);
  /* The right ones are passed to every run. */
  spill(RT_DIR "w.bin", fx_w, sizeof fx_w);
  assert_int_equal(lathe_model_load_weights(m, RT_DIR "w.bin", &err), LATHE_OK);
  assert_int_equal(run_fixture(m, NULL, z, &s, ws, &err), LATHE_OK);
  for (int i = 0; i < 6; i++) assert_true(z[i] == fx_z[i] + fx_w[i]);
  assert_true(s == 460 + 0.5f + 0.25f + 0.125f - 1 - 2 - 4);
  lathe_model_free_workspace(ws);
  lathe_model_close(m);
}

/* Every allocation lathe_model_open makes may fail: each failure is LATHE_ERR_NOMEM and
 * leaks nothing (the ASan build checks), until one run with no failure opens the model. */
static void test_open_out_of_memory(void **state) {
  const char *path = build("oom", "", 1);
  lathe_error err;
  int failures = 0;
  for (uint64_t n = 1;; n++) {
    lathe_model *m;
    ir_alloc_fail_after(n);
    int st = lathe_model_open(path, &m, &err);
    ir_alloc_fail_after(0);
    if (st == LATHE_OK) {
      lathe_model_close(m);
      break;
    }
    assert_int_equal(st, LATHE_ERR_NOMEM);
    assert_non_null(strstr(err.message, "out of memory"));
    assert_null(m);
    failures++;
  }
  assert_int_equal(failures, 3); /* the model, the file's bytes, the path given to dlopen */
}

static void test_status_strings(void **state) {
  static const int all[] = {LATHE_OK, LATHE_ERR_INPUT, LATHE_ERR_USAGE, LATHE_ERR_ABI, LATHE_ERR_CPU,
                            LATHE_ERR_CORRUPT, LATHE_ERR_ALIGN, LATHE_ERR_IO, LATHE_ERR_SYMBOL, LATHE_ERR_NOMEM,
                            LATHE_ERR_SIZE, LATHE_ERR_INTERNAL};
  const int n = (int)(sizeof all / sizeof all[0]);
  for (int i = 0; i < n; i++) {
    assert_string_not_equal(lathe_status_string(all[i]), lathe_status_string(-1));
    for (int j = 0; j < i; j++) assert_string_not_equal(lathe_status_string(all[i]), lathe_status_string(all[j]));
  }
  assert_string_equal(lathe_dtype_name(LATHE_BF16), "bf16");
  assert_string_equal(lathe_dtype_name(99), "?");
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_open_list_run),      cmocka_unit_test(test_run_allocates_nothing),
      cmocka_unit_test(test_seal),               cmocka_unit_test(test_unsealed),
      cmocka_unit_test(test_missing_files),      cmocka_unit_test(test_other_abi),
      cmocka_unit_test(test_cpu_features),       cmocka_unit_test(test_truncated),
      cmocka_unit_test(test_flipped),            cmocka_unit_test(test_missing_descriptor),
      cmocka_unit_test(test_descriptor_disagrees), cmocka_unit_test(test_loader_refuses),
      cmocka_unit_test(test_bad_buffers),
      cmocka_unit_test(test_sidecar_weights),    cmocka_unit_test(test_open_out_of_memory),
      cmocka_unit_test(test_status_strings),
  };
  return cmocka_run_group_tests(tests, setup, NULL);
}

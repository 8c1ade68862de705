/* test_systolic_gen.c — generated programs for convolution and GEMM tiles on 4x4, 16x16, 8x32
 * and 128x128 arrays, run on the simulator and compared bit for bit with a plain C reference:
 * padding, strides, sizes that are not multiples of the array, int8 requantized with
 * saturation and relu, raw int32, and bf16 (bit-exact against the same summation order, and
 * within the stated bound of an exact sum). Several layers in one program, separated by SYNC,
 * check that the generator leaves no token behind. LATHE_SYSTOLIC_SWEEP=N runs N random layers
 * per array instead of the few fixed ones (the check-all sweep). */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "codegen/systolic/gen.h"
#include "runtime/requant.h"

/* splitmix64: the test's data, the same everywhere. */
static uint64_t rnd(uint64_t *s) {
  uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

/* A machine with an R x C array and memories in rows. */
static SysParams machine(int64_t r, int64_t c, int64_t spad_rows, int64_t acc_rows) {
  SysParams p;
  sys_params_default(&p);
  p.rows = r;
  p.cols = c;
  p.spad_rows = spad_rows;
  p.acc_rows = acc_rows;
  p.dram_bytes = 8 << 20;
  p.dram_latency = 20;
  return p;
}

/* Widens bf16 bits to f32. */
static float bf(uint16_t h) {
  uint32_t b = (uint32_t)h << 16;
  float f;
  memcpy(&f, &b, 4);
  return f;
}

/* Input element (iy, ix, ci) of cv in DRAM, or 0 outside the image (padding). */
static float in_at(const SysConv *cv, const uint8_t *dram, int64_t iy, int64_t ix, int64_t ci, int32_t *as_int) {
  *as_int = 0;
  if (iy < 0 || iy >= cv->h || ix < 0 || ix >= cv->w) return 0.0f;
  int64_t idx = (iy * cv->w + ix) * cv->c + ci;
  if (cv->type == SYS_T_I8) {
    *as_int = (int8_t)dram[cv->in_addr + idx];
    return (float)*as_int;
  }
  return bf((uint16_t)(dram[cv->in_addr + 2 * idx] | dram[cv->in_addr + 2 * idx + 1] << 8));
}

/* Weight (k = (kh, kw, ci) flattened, co) of cv in DRAM. */
static float w_at(const SysConv *cv, const uint8_t *dram, int64_t k, int64_t co, int32_t *as_int) {
  int64_t idx = k * cv->n + co;
  if (cv->type == SYS_T_I8) {
    *as_int = (int8_t)dram[cv->w_addr + idx];
    return (float)*as_int;
  }
  *as_int = 0;
  return bf((uint16_t)(dram[cv->w_addr + 2 * idx] | dram[cv->w_addr + 2 * idx + 1] << 8));
}

/* The input value for reduction index k of output pixel (oy, ox). */
static float x_at(const SysConv *cv, const uint8_t *dram, int64_t oy, int64_t ox, int64_t k, int32_t *as_int) {
  int64_t kh = k / (cv->fw * cv->c), kw = k / cv->c % cv->fw, ci = k % cv->c;
  return in_at(cv, dram, oy * cv->sh - cv->pt + kh, ox * cv->sw - cv->pl + kw, ci, as_int);
}

/* The reference output element (p, co) as the store writes it (its bits, zero-extended). */
static uint32_t ref_out(const SysConv *cv, const uint8_t *dram, int64_t R, int64_t p, int64_t co, double *exact,
                        double *mag) {
  int64_t ow = sys_conv_ow(cv), oy = p / ow, ox = p % ow, ktotal = cv->fh * cv->fw * cv->c;
  int32_t xi, wi;
  if (cv->type == SYS_T_I8) {
    int64_t acc = 0;
    for (int64_t k = 0; k < ktotal; k++) {
      x_at(cv, dram, oy, ox, k, &xi);
      w_at(cv, dram, k, co, &wi);
      acc += (int64_t)xi * wi;
    }
    if (cv->out_type == SYS_T_I32) return (uint32_t)(cv->relu && acc < 0 ? 0 : acc);
    int32_t lo = cv->relu ? (cv->zp > -128 ? cv->zp : -128) : -128;
    return (uint32_t)(uint8_t)(int8_t)rt_requant((int32_t)acc, cv->mult, cv->shift, cv->zp, lo, 127);
  }
  /* bf16: per chunk of R, a partial sum in row order over all R rows, then added to the accumulator. */
  float acc = 0;
  *exact = *mag = 0;
  for (int64_t k0 = 0; k0 < ktotal; k0 += R) {
    float ps = 0.0f;
    for (int64_t r = 0; r < R; r++) {
      float x = 0.0f, w = 0.0f;
      if (k0 + r < ktotal) {
        x = x_at(cv, dram, oy, ox, k0 + r, &xi);
        w = w_at(cv, dram, k0 + r, co, &wi);
      }
      ps = ps + x * w;
      *exact += (double)x * w;
      *mag += fabs((double)x * w);
    }
    acc = k0 == 0 ? ps : acc + ps;
  }
  if (cv->relu && acc < 0) acc = 0;
  uint32_t bits;
  memcpy(&bits, &acc, 4);
  return bits;
}

/* Places cv's tensors in DRAM, filling input and weights with random values of its type. */
static void place(SysConv *cv, uint8_t *dram, uint64_t *seed) {
  cv->in_addr = 64;
  cv->w_addr = (uint32_t)((cv->in_addr + sys_conv_in_bytes(cv) + 63) / 64 * 64);
  cv->out_addr = (uint32_t)((cv->w_addr + sys_conv_w_bytes(cv) + 63) / 64 * 64);
  int64_t ni = sys_conv_in_bytes(cv), nw = sys_conv_w_bytes(cv);
  for (int64_t k = 0; k < ni + nw; k++) {
    uint64_t r = rnd(seed);
    uint8_t v = (uint8_t)r;
    if (cv->type == SYS_T_BF16 && k % 2 == 1) v = (uint8_t)(0x3c + (r >> 8) % 8) | (uint8_t)(r & 0x80);
    dram[(k < ni ? cv->in_addr + k : cv->w_addr + (k - ni))] = v;
  }
  memset(dram + cv->out_addr, 0xa5, (size_t)sys_conv_out_bytes(cv));
}

/* Checks every output of cv in dram against the reference. */
static void check_outputs(const SysConv *cv, const uint8_t *dram, int64_t R, const char *what) {
  int64_t npx = sys_conv_oh(cv) * sys_conv_ow(cv), es = sys_type_size(cv->out_type);
  for (int64_t p = 0; p < npx; p++)
    for (int64_t co = 0; co < cv->n; co++) {
      double exact = 0, mag = 0;
      uint32_t want = ref_out(cv, dram, R, p, co, &exact, &mag), got = 0;
      const uint8_t *q = dram + cv->out_addr + (p * cv->n + co) * es;
      for (int64_t b = 0; b < es; b++) got |= (uint32_t)q[b] << (8 * b);
      if (got != want) fail_msg("%s: output pixel %lld channel %lld: got 0x%x, want 0x%x", what, (long long)p, (long long)co, got, want);
      if (cv->type == SYS_T_BF16 && !cv->relu) {
        /* Bound: n additions in f32 of exactly computed products: |err| <= n * 2^-24 * sum |x w| (to first order). */
        float f;
        memcpy(&f, &got, 4);
        double n = (double)(cv->fh * cv->fw * cv->c + R);
        if (fabs((double)f - exact) > n * ldexp(1.0, -24) * mag * 1.01 + 1e-30)
          fail_msg("%s: bf16 output %lld/%lld = %.9g, exact %.9g: outside the bound", what, (long long)p, (long long)co, f, exact);
      }
    }
}

/* Generates, runs and checks the layers cv[0..n) as one program (SYNC between layers). */
static void run_layers(SysParams p, SysConv *cv, int n, uint64_t seed, const char *what) {
  SysMachine *m;
  char err[256];
  assert_int_equal(sys_create(&p, &m, err, sizeof err), IR_OK);
  uint8_t *dram = sys_dram(m);
  SysProgram prog;
  sys_prog_init(&prog);
  int64_t base = 0;
  for (int k = 0; k < n; k++) {
    place(&cv[k], dram + base, &seed);
    cv[k].in_addr += (uint32_t)base;
    cv[k].w_addr += (uint32_t)base;
    cv[k].out_addr += (uint32_t)base;
    base = (cv[k].out_addr + sys_conv_out_bytes(&cv[k]) + 63) / 64 * 64;
    assert_true(base < p.dram_bytes);
    if (sys_gen_conv(&p, &cv[k], &prog, err, sizeof err) != IR_OK) fail_msg("%s: %s", what, err);
    SysInsn sync = {.op = k + 1 < n ? SYS_OP_SYNC : SYS_OP_HALT};
    assert_int_equal(sys_prog_emit(&prog, &sync, err, sizeof err), IR_OK);
  }
  SysStats st;
  if (sys_run(m, prog.words, prog.n, &st) != IR_OK) fail_msg("%s: %s", what, sys_error(m));
  int64_t sum = 0;
  for (int c = 0; c < SYS_C_COUNT; c++) sum += st.by_cause[c];
  assert_int_equal(sum, st.cycles);
  for (int k = 0; k < n; k++) check_outputs(&cv[k], dram, p.rows, what);
  sys_prog_free(&prog);
  sys_destroy(m);
}

/* A convolution with the given shape and int8 requantized output. */
static SysConv conv(int64_t h, int64_t w, int64_t c, int64_t fh, int64_t fw, int64_t n, int64_t s, int64_t pad) {
  SysConv cv;
  memset(&cv, 0, sizeof cv);
  cv.h = h, cv.w = w, cv.c = c, cv.fh = fh, cv.fw = fw, cv.n = n, cv.sh = cv.sw = s;
  cv.pt = cv.pl = cv.pb = cv.pr = pad;
  cv.type = SYS_T_I8;
  cv.out_type = SYS_T_I8;
  cv.mult = 1518500250; /* ~ 0.7071 * 2^31 */
  cv.shift = 38;        /* scale ~ 2^-7: large sums saturate, small ones do not */
  cv.zp = 3;
  return cv;
}

/* A matrix product m x k x n as a layer. */
static SysConv gemm(int64_t m, int64_t k, int64_t n, int type, int out_type) {
  SysConv cv = conv(1, 1, 1, 1, 1, 1, 1, 0);
  sys_conv_gemm(&cv, m, k, n);
  cv.type = type;
  cv.out_type = out_type;
  return cv;
}

static void test_4x4(void **state) {
  (void)state;
  SysConv cv[4] = {conv(7, 6, 3, 3, 3, 5, 1, 1), conv(9, 9, 2, 3, 2, 6, 2, 0), gemm(10, 9, 7, SYS_T_I8, SYS_T_I32),
                   gemm(5, 3, 4, SYS_T_I8, SYS_T_I8)};
  cv[1].relu = 1;
  cv[1].pl = 1;
  cv[1].pb = 2;
  run_layers(machine(4, 4, 64, 16), cv, 4, 1, "4x4");
}

static void test_16x16(void **state) {
  (void)state;
  SysConv cv[3] = {conv(12, 11, 19, 3, 3, 20, 1, 1), conv(14, 14, 3, 7, 7, 17, 2, 3), gemm(33, 40, 35, SYS_T_I8, SYS_T_I32)};
  cv[0].relu = 1;
  run_layers(machine(16, 16, 1024, 256), cv, 3, 2, "16x16");
}

static void test_8x32(void **state) {
  (void)state;
  SysConv cv[3] = {conv(10, 9, 13, 3, 3, 40, 1, 1), conv(8, 8, 5, 1, 1, 70, 1, 0), gemm(20, 17, 33, SYS_T_I8, SYS_T_I8)};
  cv[1].relu = 1;
  run_layers(machine(8, 32, 512, 128), cv, 3, 3, "8x32");
}

static void test_128x128(void **state) {
  (void)state;
  SysConv cv[2] = {conv(6, 6, 150, 3, 3, 130, 1, 1), gemm(130, 200, 129, SYS_T_I8, SYS_T_I32)};
  run_layers(machine(128, 128, 2048, 512), cv, 2, 4, "128x128");
}

static void test_bf16(void **state) {
  (void)state;
  SysConv a[2] = {conv(6, 5, 7, 3, 3, 6, 1, 1), gemm(9, 13, 6, SYS_T_BF16, SYS_T_F32)};
  a[0].type = SYS_T_BF16;
  a[0].out_type = SYS_T_F32;
  run_layers(machine(4, 4, 64, 32), a, 2, 5, "bf16 4x4");
  SysConv b = gemm(40, 50, 20, SYS_T_BF16, SYS_T_F32);
  b.relu = 1;
  run_layers(machine(16, 16, 256, 64), &b, 1, 6, "bf16 16x16 relu");
}

/* Tiny memories force many pixel blocks and the minimum of two scratchpad buffers. */
static void test_small_memories(void **state) {
  (void)state;
  SysConv cv = conv(9, 10, 6, 3, 3, 9, 1, 1);
  run_layers(machine(4, 4, 2 * (4 + 3), 6), &cv, 1, 7, "small memories");
}

/* A machine too small to double-buffer is refused with a message, not a crash. */
static void test_does_not_fit(void **state) {
  (void)state;
  SysParams p = machine(16, 16, 32, 256);
  SysConv cv = conv(8, 8, 4, 3, 3, 4, 1, 1);
  SysProgram prog;
  sys_prog_init(&prog);
  char err[256];
  assert_int_equal(sys_gen_conv(&p, &cv, &prog, err, sizeof err), IR_ERR_INPUT);
  assert_non_null(strstr(err, "too small"));
  SysConv bad = conv(2, 2, 1, 3, 3, 1, 1, 0);
  assert_int_equal(sys_gen_conv(&p, &bad, &prog, err, sizeof err), IR_ERR_INPUT);
  sys_prog_free(&prog);
}

/* The check-all sweep: N random layers on each array size (LATHE_SYSTOLIC_SWEEP=N). */
static void test_sweep(void **state) {
  (void)state;
  const char *env = getenv("LATHE_SYSTOLIC_SWEEP");
  int n = env ? atoi(env) : 0;
  if (n <= 0) skip();
  static const int64_t arrays[][2] = {{4, 4}, {16, 16}, {8, 32}, {32, 8}, {128, 128}};
  uint64_t seed = 99;
  for (int a = 0; a < 5; a++)
    for (int k = 0; k < n; k++) {
      int64_t fh = 1 + (int64_t)(rnd(&seed) % 4), fw = 1 + (int64_t)(rnd(&seed) % 4), s = 1 + (int64_t)(rnd(&seed) % 2);
      int64_t pad = (int64_t)(rnd(&seed) % 2), h = fh + (int64_t)(rnd(&seed) % 12), w = fw + (int64_t)(rnd(&seed) % 12);
      SysConv cv = conv(h, w, 1 + (int64_t)(rnd(&seed) % 40), fh, fw, 1 + (int64_t)(rnd(&seed) % 150), s, pad);
      cv.relu = (int)(rnd(&seed) % 2);
      cv.out_type = rnd(&seed) % 2 ? SYS_T_I8 : SYS_T_I32;
      char what[64];
      snprintf(what, sizeof what, "sweep %lldx%lld #%d", (long long)arrays[a][0], (long long)arrays[a][1], k);
      run_layers(machine(arrays[a][0], arrays[a][1], 4096, 512), &cv, 1, seed, what);
    }
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_4x4),          cmocka_unit_test(test_16x16),         cmocka_unit_test(test_8x32),
      cmocka_unit_test(test_128x128),      cmocka_unit_test(test_bf16),          cmocka_unit_test(test_small_memories),
      cmocka_unit_test(test_does_not_fit), cmocka_unit_test(test_sweep),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}

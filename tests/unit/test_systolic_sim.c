/* test_systolic_sim.c — hand-written programs on the simulator: exact results (accumulate and
 * overwrite, requantization with rounding and saturation, every ALU operation, loads into the
 * accumulator, padding and column placement, bf16) and exact cycle counts worked out by hand
 * from the timing rules of docs/isa.md; malformed programs (bad opcode, reserved bits,
 * addresses out of range, token underflow and overflow, missing HALT, cycle limit) stopped with
 * a clear error; and random programs that must never crash or hang. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "codegen/systolic/asm.h"
#include "runtime/requant.h"
#include "runtime/systolic/sys.h"

/* A 4x4 machine: 64 scratchpad rows, 16 accumulator rows, 4 KiB DRAM, 4 bytes per cycle,
 * latency 10. */
static SysParams small(void) {
  SysParams p;
  sys_params_default(&p);
  p.rows = p.cols = 4;
  p.spad_rows = 64;
  p.acc_rows = 16;
  p.dram_bytes = 4096;
  p.dram_bw = 4;
  p.dram_latency = 10;
  return p;
}

/* Assembles text, failing the test on any error; *n gets the word count. */
static SysWord *assemble(const char *text, int64_t *n) {
  DiagSink d;
  diag_init(&d, stderr);
  diag_add_source(&d, "t.s", text, strlen(text));
  SysWord *w = NULL;
  IrStatus st = sys_asm("t.s", text, strlen(text), &w, n, NULL, &d);
  diag_free(&d);
  if (st != IR_OK) fail_msg("the test listing does not assemble");
  return w;
}

/* A machine and the last run on it. */
typedef struct Run {
  SysMachine *m; /* the machine */
  SysStats st;   /* the run's counts */
  IrStatus rc;   /* the run's status */
} Run;

/* Creates a machine with p, lets setup fill its DRAM (may be NULL), and runs text on it. */
static Run run_text(SysParams p, const char *text, void (*setup)(uint8_t *)) {
  Run r;
  char err[128];
  assert_int_equal(sys_create(&p, &r.m, err, sizeof err), IR_OK);
  if (setup) setup(sys_dram(r.m));
  int64_t n;
  SysWord *w = assemble(text, &n);
  r.rc = sys_run(r.m, w, n, &r.st);
  ir_free(w);
  return r;
}

/* Asserts that the run failed with a message containing want, about instruction pc. */
static void assert_fails(Run *r, const char *want, int64_t pc) {
  assert_int_equal(r->rc, IR_ERR_INPUT);
  if (!strstr(sys_error(r->m), want)) fail_msg("error \"%s\" lacks \"%s\"", sys_error(r->m), want);
  assert_int_equal(sys_error_pc(r->m), pc);
  sys_destroy(r->m);
}

/* Reads the little-endian int32 at DRAM byte a. */
static int32_t rd32(const uint8_t *d, int64_t a) {
  return (int32_t)((uint32_t)d[a] | (uint32_t)d[a + 1] << 8 | (uint32_t)d[a + 2] << 16 | (uint32_t)d[a + 3] << 24);
}

/* Writes the little-endian int32 v at DRAM byte a. */
static void wr32(uint8_t *d, int64_t a, int32_t v) {
  for (int k = 0; k < 4; k++) d[a + k] = (uint8_t)((uint32_t)v >> (8 * k));
}

/* ---- a matrix product, its results and its cycles ------------------------------------------------ */

/* A = [[1..4], [5..8], ..., [21..24]] (6 x 4 int8) at 0; B (4 x 4 int8) at 0x100: B[k][c] = k - c. */
static void gemm_setup(uint8_t *d) {
  for (int k = 0; k < 24; k++) d[k] = (uint8_t)(k + 1);
  for (int k = 0; k < 4; k++)
    for (int c = 0; c < 4; c++) d[0x100 + 4 * k + c] = (uint8_t)(int8_t)(k - c);
}

static const char gemm_text[] =
    "config.compute type=i8\n"
    "config.load stride=4 limit=16\n"
    "load to=sp row=0 dram=0x100 rows=4 cols=4 type=i8 signal=compute   # B, the weights\n"
    "config.load stride=4 limit=24\n"
    "load to=sp row=8 dram=0x0 rows=6 cols=4 type=i8 signal=compute     # A, the inputs\n"
    "loadw row=0 rows=4 cols=4 wait=load\n"
    "matmul in=8 acc=0 rows=6 mode=set weights=new wait=load signal=store\n"
    "config.store stride=4 type=i32\n"
    "store acc=0 dram=0x200 rows=6 cols=4 wait=compute\n"
    "halt\n";

static void test_gemm_result_and_cycles(void **state) {
  (void)state;
  Run r = run_text(small(), gemm_text, gemm_setup);
  assert_int_equal(r.rc, IR_OK);
  const uint8_t *d = sys_dram(r.m);
  for (int i = 0; i < 6; i++)
    for (int c = 0; c < 4; c++) {
      int32_t want = 0;
      for (int k = 0; k < 4; k++) want += (4 * i + k + 1) * (k - c);
      assert_int_equal(rd32(d, 0x200 + 16 * i + 4 * c), want);
    }
  /* By hand, from the rules in docs/isa.md (R = C = 4, 4 bytes/cycle, latency 10):
   * load unit: config.load [0,1); load B: bus [1,5), data in place at 5 + 10 = 15 (token 15);
   *   config.load [5,6); load A: 24 bytes, bus [6,12), in place at 22 (token 22).
   * compute: config.compute [0,1) non-matrix; loadw waits for token 15: [1,15) weight; shifts [15,19);
   *   matmul waits for token 22 (weights ready at 19): [15,22) input; streams [22,28) busy;
   *   last result in the accumulator at 22 + 6 + 4 + 4 - 1 = 35 (token to store at 35).
   * store: config.store [0,1); store waits for 35; 96 bytes on the bus [35,59); written at 69.
   * total 69 = 6 busy + 14 weight + 7 input + 0 dependency + 42 non-matrix (1 + [28,69)). */
  assert_int_equal(r.st.cycles, 69);
  assert_int_equal(r.st.by_cause[SYS_C_BUSY], 6);
  assert_int_equal(r.st.by_cause[SYS_C_WEIGHT], 14);
  assert_int_equal(r.st.by_cause[SYS_C_INPUT], 7);
  assert_int_equal(r.st.by_cause[SYS_C_DEP], 0);
  assert_int_equal(r.st.by_cause[SYS_C_NONMATRIX], 42);
  assert_int_equal(r.st.useful_macs, 6 * 4 * 4);
  assert_int_equal(r.st.dram_read, 40);
  assert_int_equal(r.st.dram_write, 96);
  assert_int_equal(r.st.insns[SYS_OP_CONFIG], 4);
  assert_int_equal(r.st.insns[SYS_OP_MATMUL], 1);
  sys_destroy(r.m);

  /* Time only: the same counts, and the DRAM untouched. */
  SysParams p = small();
  p.functional = false;
  Run t = run_text(p, gemm_text, gemm_setup);
  assert_int_equal(t.rc, IR_OK);
  assert_memory_equal(&t.st, &r.st, sizeof r.st);
  assert_int_equal(rd32(sys_dram(t.m), 0x200), 0);
  sys_destroy(t.m);
}

/* A hand-written matrix product on a non-square 8 x 32 array: A (5 x 8) times B (8 x 20). */
static void test_gemm_8x32(void **state) {
  (void)state;
  static const char text[] =
      "config.compute type=i8\n"
      "config.load stride=20 limit=160\n"
      "load to=sp row=0 dram=0x40 rows=8 cols=20 type=i8 signal=compute\n"
      "config.load stride=8 limit=40\n"
      "load to=sp row=8 dram=0x0 rows=5 cols=8 type=i8 signal=compute\n"
      "loadw row=0 rows=8 cols=20 wait=load\n"
      "matmul in=8 acc=0 rows=5 mode=set weights=new wait=load signal=store\n"
      "config.store stride=20 type=i32\n"
      "store acc=0 dram=0x200 rows=5 cols=20 wait=compute\n"
      "halt\n";
  SysParams p = small();
  p.rows = 8;
  p.cols = 32;
  SysMachine *m;
  char err[64];
  assert_int_equal(sys_create(&p, &m, err, sizeof err), IR_OK);
  uint8_t *d = sys_dram(m);
  for (int k = 0; k < 40; k++) d[k] = (uint8_t)(int8_t)(k % 7 - 3);
  for (int k = 0; k < 160; k++) d[0x40 + k] = (uint8_t)(int8_t)(k % 11 - 5);
  int64_t n;
  SysWord *w = assemble(text, &n);
  SysStats st;
  assert_int_equal(sys_run(m, w, n, &st), IR_OK);
  ir_free(w);
  for (int i = 0; i < 5; i++)
    for (int c = 0; c < 20; c++) {
      int32_t want = 0;
      for (int k = 0; k < 8; k++) want += (int8_t)d[8 * i + k] * (int8_t)d[0x40 + 20 * k + c];
      assert_int_equal(rd32(d, 0x200 + 80 * i + 4 * c), want);
    }
  /* By hand (4 bytes/cycle, latency 10): B's 160 bytes on the bus [1,41), in place at 51; A's 40
   * bytes [42,52), at 62. loadw waits [1,51) (weight), shifts [51,59); matmul waits for A:
   * [51,62) input; streams [62,67); results complete at 62 + 5 + 8 + 32 - 1 = 106; the store's
   * 400 bytes take the bus [106,206) and are written at 216. Non-matrix: 1 + [67,216) = 150. */
  assert_int_equal(st.cycles, 216);
  assert_int_equal(st.by_cause[SYS_C_BUSY], 5);
  assert_int_equal(st.by_cause[SYS_C_WEIGHT], 50);
  assert_int_equal(st.by_cause[SYS_C_INPUT], 11);
  assert_int_equal(st.by_cause[SYS_C_NONMATRIX], 150);
  sys_destroy(m);
}

/* A hand-written convolution tile on 16 x 16: a 4 x 4 image (1 channel), a 3 x 3 filter with 2
 * outputs, padding 1. Each output row's 4 pixels get their 9 inputs from three loads, one per
 * filter row kh, into columns 3 kh .. 3 kh + 2; rows above or below the image load zeros. */
static const char conv_text[] =
    "config.compute type=i8\n"
    "config.load stride=2 limit=18\n"
    "load to=sp row=0 dram=0x40 rows=9 cols=2 type=i8\n"
    "# output row 0: kh 0 is above the image, kh 1 reads image row 0, kh 2 row 1\n"
    "config.load stride=0 limit=0 dcol=0\n"
    "load to=sp row=16 dram=0x0 rows=4 cols=3 type=i8\n"
    "config.load stride=1 limit=4 dcol=3\n"
    "load to=sp row=16 dram=0x0 col0=-1 rows=4 cols=3 type=i8\n"
    "config.load stride=1 limit=4 dcol=6\n"
    "load to=sp row=16 dram=0x4 col0=-1 rows=4 cols=3 type=i8\n"
    "# output row 1: image rows 0, 1, 2\n"
    "config.load stride=1 limit=4 dcol=0\n"
    "load to=sp row=20 dram=0x0 col0=-1 rows=4 cols=3 type=i8\n"
    "config.load stride=1 limit=4 dcol=3\n"
    "load to=sp row=20 dram=0x4 col0=-1 rows=4 cols=3 type=i8\n"
    "config.load stride=1 limit=4 dcol=6\n"
    "load to=sp row=20 dram=0x8 col0=-1 rows=4 cols=3 type=i8\n"
    "# output row 2: image rows 1, 2, 3\n"
    "config.load stride=1 limit=4 dcol=0\n"
    "load to=sp row=24 dram=0x4 col0=-1 rows=4 cols=3 type=i8\n"
    "config.load stride=1 limit=4 dcol=3\n"
    "load to=sp row=24 dram=0x8 col0=-1 rows=4 cols=3 type=i8\n"
    "config.load stride=1 limit=4 dcol=6\n"
    "load to=sp row=24 dram=0xc col0=-1 rows=4 cols=3 type=i8\n"
    "# output row 3: image rows 2, 3, and below the image\n"
    "config.load stride=1 limit=4 dcol=0\n"
    "load to=sp row=28 dram=0x8 col0=-1 rows=4 cols=3 type=i8\n"
    "config.load stride=1 limit=4 dcol=3\n"
    "load to=sp row=28 dram=0xc col0=-1 rows=4 cols=3 type=i8\n"
    "config.load stride=0 limit=0 dcol=6\n"
    "load to=sp row=28 dram=0x0 rows=4 cols=3 type=i8\n"
    "sync\n"
    "loadw row=0 rows=9 cols=2\n"
    "matmul in=16 acc=0 rows=16 mode=set weights=new signal=store\n"
    "config.requant mult=1 shift=2 zp=0 lo=-128 hi=127\n"
    "config.store stride=2 type=i8 act=relu\n"
    "store acc=0 dram=0x100 rows=16 cols=2 wait=compute\n"
    "halt\n";

static void test_conv_16x16(void **state) {
  (void)state;
  SysParams p = small();
  p.rows = p.cols = 16;
  SysMachine *m;
  char err[64];
  assert_int_equal(sys_create(&p, &m, err, sizeof err), IR_OK);
  uint8_t *d = sys_dram(m);
  for (int k = 0; k < 16; k++) d[k] = (uint8_t)(int8_t)(5 * k % 23 - 11);
  for (int k = 0; k < 18; k++) d[0x40 + k] = (uint8_t)(int8_t)(7 * k % 19 - 9);
  int64_t n;
  SysWord *w = assemble(conv_text, &n);
  SysStats st;
  assert_int_equal(sys_run(m, w, n, &st), IR_OK);
  ir_free(w);
  for (int oy = 0; oy < 4; oy++)
    for (int ox = 0; ox < 4; ox++)
      for (int co = 0; co < 2; co++) {
        int32_t acc = 0;
        for (int kh = 0; kh < 3; kh++)
          for (int kw = 0; kw < 3; kw++) {
            int iy = oy + kh - 1, ix = ox + kw - 1;
            if (iy >= 0 && iy < 4 && ix >= 0 && ix < 4) acc += (int8_t)d[4 * iy + ix] * (int8_t)d[0x40 + 2 * (3 * kh + kw) + co];
          }
        int8_t want = (int8_t)rt_requant(acc, 1, 2, 0, 0, 127); /* relu: the floor is the zero point */
        assert_int_equal((int8_t)d[0x100 + 2 * (4 * oy + ox) + co], want);
      }
  assert_int_equal(st.useful_macs, 16 * 9 * 2);
  sys_destroy(m);
}

/* Back-to-back matmuls on double-buffered weights: the second tile shifts in while the first
 * streams, so the array never waits for it. */
static void test_weight_double_buffering(void **state) {
  (void)state;
  static const char text[] =
      "config.compute type=i8\n"
      "loadw row=0 rows=4 cols=4\n"
      "matmul in=8 acc=0 rows=8 mode=set weights=new\n"
      "loadw row=4 rows=4 cols=4\n"
      "matmul in=8 acc=8 rows=8 mode=set weights=new\n"
      "halt\n";
  Run r = run_text(small(), text, NULL);
  assert_int_equal(r.rc, IR_OK);
  /* config [0,1); loadw [1,5); matmul 1 waits for the shift: [1,5) weight, streams [5,13);
   * loadw 2 issues at 6, shifts [6,10) while matmul 1 streams; matmul 2 streams [13,21);
   * its last result lands at 21 + 4 + 4 - 1 = 28. 28 = 16 busy + 4 weight + 8 non-matrix. */
  assert_int_equal(r.st.cycles, 28);
  assert_int_equal(r.st.by_cause[SYS_C_BUSY], 16);
  assert_int_equal(r.st.by_cause[SYS_C_WEIGHT], 4);
  assert_int_equal(r.st.by_cause[SYS_C_NONMATRIX], 8);
  sys_destroy(r.m);
}

/* mode=add adds to the accumulator, mode=set overwrites it. */
static void test_accumulate_vs_overwrite(void **state) {
  (void)state;
  static const char text[] =
      "config.compute type=i8\n"
      "config.load stride=4 limit=16\n"
      "load to=sp row=0 dram=0x100 rows=4 cols=4 type=i8\n" /* B */
      "load to=sp row=8 dram=0x0 rows=4 cols=4 type=i8 signal=compute\n" /* first 4 rows of A */
      "loadw row=0 rows=4 cols=4 wait=load\n"
      "matmul in=8 acc=0 rows=2 mode=set weights=new\n"  /* acc0..1 = A0..1 B */
      "matmul in=10 acc=0 rows=2 mode=add\n"             /* acc0..1 += A2..3 B */
      "matmul in=8 acc=2 rows=1 mode=add\n"              /* acc2 += A0 B (acc2 starts 7, from the setup load) */
      "matmul in=9 acc=3 rows=1 mode=set\n"              /* acc3 = A1 B: the 9s there are gone */
      "matmul in=8 acc=4 rows=1 mode=set signal=store\n" /* acc4 = A0 B, overwritten after... */
      "config.store stride=4 type=i32\n"
      "store acc=0 dram=0x200 rows=5 cols=4 wait=compute\n"
      "halt\n";
  SysParams p = small();
  SysMachine *m;
  char err[64];
  assert_int_equal(sys_create(&p, &m, err, sizeof err), IR_OK);
  uint8_t *d = sys_dram(m);
  gemm_setup(d);
  /* Fill acc rows 2 and 3 first with a program of their own: 7s and 9s. */
  for (int c = 0; c < 4; c++) wr32(d, 0x400 + 4 * c, 7), wr32(d, 0x410 + 4 * c, 9);
  int64_t n;
  SysWord *pre = assemble("config.load stride=4 limit=8\nload to=acc row=2 dram=0x400 rows=2 cols=4 type=i32\nhalt\n", &n);
  SysStats st;
  assert_int_equal(sys_run(m, pre, n, &st), IR_OK);
  ir_free(pre);
  SysWord *w = assemble(text, &n);
  assert_int_equal(sys_run(m, w, n, &st), IR_OK);
  ir_free(w);
  for (int c = 0; c < 4; c++) {
    int32_t row[4];
    for (int i = 0; i < 4; i++) {
      row[i] = 0;
      for (int k = 0; k < 4; k++) row[i] += (4 * i + k + 1) * (k - c);
    }
    assert_int_equal(rd32(d, 0x200 + 4 * c), row[0] + row[2]);
    assert_int_equal(rd32(d, 0x210 + 4 * c), row[1] + row[3]);
    assert_int_equal(rd32(d, 0x220 + 4 * c), 7 + row[0]);
    assert_int_equal(rd32(d, 0x230 + 4 * c), row[1]);
    assert_int_equal(rd32(d, 0x240 + 4 * c), row[0]);
  }
  sys_destroy(m);
}

/* ---- the store path: requantization, saturation, relu, types ------------------------------------ */

/* Accumulator rows 0..3 (4 values each) loaded from DRAM 0x300. */
static const int32_t requant_in[16] = {3, -3, 5, -5, 1, -1, 0, 2, 1000, -1000, 254, 255, -257, -256, 7, -7};

/* Puts requant_in at 0x300. */
static void requant_setup(uint8_t *d) {
  for (int k = 0; k < 16; k++) wr32(d, 0x300 + 4 * k, requant_in[k]);
}

static void test_requant_rounding_saturation(void **state) {
  (void)state;
  /* mult 1, shift 1: y = round_half_away(acc / 2) + zp, saturated to [lo, hi] and int8. */
  static const char text[] =
      "config.load stride=4 limit=16\n"
      "load to=acc row=0 dram=0x300 rows=4 cols=4 type=i32\n"
      "sync\n"
      "config.requant mult=1 shift=1 zp=0 lo=-128 hi=127\n"
      "config.store stride=4 type=i8\n"
      "store acc=0 dram=0x400 rows=4 cols=4\n"
      "config.requant mult=1 shift=1 zp=-5 lo=-100 hi=20\n"
      "config.store stride=4 type=i8 act=relu\n"
      "store acc=0 dram=0x500 rows=4 cols=4\n"
      "halt\n";
  Run r = run_text(small(), text, requant_setup);
  assert_int_equal(r.rc, IR_OK);
  const uint8_t *d = sys_dram(r.m);
  /* 1.5 -> 2, -1.5 -> -2, 2.5 -> 3, -2.5 -> -3, 0.5 -> 1, -0.5 -> -1, 0, 1, 500 -> 127,
   * -500 -> -128, 127, 127.5 -> 128 -> 127, -128.5 -> -129 -> -128, -128, 3.5 -> 4, -4. */
  static const int8_t want[16] = {2, -2, 3, -3, 1, -1, 0, 1, 127, -128, 127, 127, -128, -128, 4, -4};
  for (int k = 0; k < 16; k++) assert_int_equal((int8_t)d[0x400 + k], want[k]);
  /* zp -5, clamp [-100, 20], and relu raises the floor to the zero point: clamp(round(acc / 2) - 5, -5, 20). */
  static const int8_t want2[16] = {-3, -5, -2, -5, -4, -5, -5, -4, 20, -5, 20, 20, -5, -5, -1, -5};
  for (int k = 0; k < 16; k++) assert_int_equal((int8_t)d[0x500 + k], want2[k]);
  sys_destroy(r.m);
}

static void test_alu_int(void **state) {
  (void)state;
  static const char text[] =
      "config.compute type=i8\n"
      "config.load stride=4 limit=16\n"
      "load to=acc row=0 dram=0x300 rows=4 cols=4 type=i32\n"
      "sync\n"
      "alu.add dst=4 src=0 src2=1 rows=1\n"
      "alu.max dst=5 src=0 src2=1 rows=1\n"
      "alu.addi dst=6 src=2 rows=1 imm=-10\n"
      "alu.maxi dst=7 src=3 rows=1 imm=0\n"
      "alu.mini dst=8 src=2 rows=1 imm=254\n"
      "alu.shr dst=9 src=0 rows=1 imm=1\n"
      "alu.muli dst=10 src=2 rows=1 imm=3000000\n"
      "alu.mov dst=11 src=3 rows=1 signal=store\n"
      "config.store stride=4 type=i32\n"
      "store acc=4 dram=0x400 rows=8 cols=4 wait=compute\n"
      "halt\n";
  Run r = run_text(small(), text, requant_setup);
  assert_int_equal(r.rc, IR_OK);
  const uint8_t *d = sys_dram(r.m);
  static const int32_t want[8][4] = {
      {4, -4, 5, -3},                             /* row0 + row1 */
      {3, -1, 5, 2},                              /* max(row0, row1) */
      {990, -1010, 244, 245},                     /* row2 - 10 */
      {0, 0, 7, 0},                               /* max(row3, 0) */
      {254, -1000, 254, 254},                     /* min(row2, 254) */
      {2, -2, 3, -3},                             /* row0 / 2, rounded half away from zero */
      {INT32_MAX, INT32_MIN, 762000000, 765000000}, /* row2 * 3000000, saturated */
      {-257, -256, 7, -7},                        /* row3 */
  };
  for (int i = 0; i < 8; i++)
    for (int c = 0; c < 4; c++) assert_int_equal(rd32(d, 0x400 + 16 * i + 4 * c), want[i][c]);
  /* Each ALU waits for nothing and takes one cycle per row: 8 non-matrix cycles among others. */
  assert_int_equal(r.st.insns[SYS_OP_ALU], 8);
  sys_destroy(r.m);
}

/* bf16 inputs and weights, f32 accumulation, f32 and bf16 stores, float ALU. */
static void test_bf16(void **state) {
  (void)state;
  static const char text[] =
      "config.compute type=bf16\n"
      "config.load stride=4 limit=16\n"
      "load to=sp row=0 dram=0x100 rows=4 cols=4 type=bf16 signal=compute\n"
      "config.load stride=4 limit=8\n"
      "load to=sp row=8 dram=0x0 rows=2 cols=4 type=bf16 signal=compute\n"
      "loadw row=0 rows=4 cols=4 wait=load\n"
      "matmul in=8 acc=0 rows=2 mode=set weights=new wait=load\n"
      "alu.muli dst=2 src=0 rows=2 imm=0.5\n"
      "alu.shr dst=4 src=0 rows=2 imm=2 signal=store\n"
      "config.store stride=4 type=f32\n"
      "store acc=0 dram=0x200 rows=6 cols=4 wait=compute\n"
      "config.store stride=4 type=bf16 act=relu\n"
      "store acc=0 dram=0x300 rows=2 cols=4\n"
      "halt\n";
  Run r = run_text(small(), text, NULL);
  assert_int_equal(r.rc, IR_OK);
  sys_destroy(r.m);
  /* Inputs 1.5, -2, 0.25, 3 (rows) and weights identity times 1.0078125 (bf16 exact). */
  SysParams p = small();
  SysMachine *m;
  char err[64];
  assert_int_equal(sys_create(&p, &m, err, sizeof err), IR_OK);
  uint8_t *d = sys_dram(m);
  const uint16_t x[8] = {0x3fc0, 0xc000, 0x3e80, 0x4040, 0x4040, 0x3e80, 0xc000, 0x3fc0};
  for (int k = 0; k < 8; k++) d[2 * k] = (uint8_t)x[k], d[2 * k + 1] = (uint8_t)(x[k] >> 8);
  for (int k = 0; k < 4; k++) d[0x100 + 2 * (4 * k + k)] = 0x81, d[0x100 + 2 * (4 * k + k) + 1] = 0x3f;
  int64_t n;
  SysWord *w = assemble(text, &n);
  SysStats st;
  assert_int_equal(sys_run(m, w, n, &st), IR_OK);
  ir_free(w);
  const float xs[8] = {1.5f, -2, 0.25f, 3, 3, 0.25f, -2, 1.5f};
  for (int i = 0; i < 2; i++)
    for (int c = 0; c < 4; c++) {
      float want = xs[4 * i + c] * 1.0078125f, got, half, quarter;
      uint32_t b = (uint32_t)rd32(d, 0x200 + 16 * i + 4 * c);
      memcpy(&got, &b, 4);
      assert_true(got == want);
      b = (uint32_t)rd32(d, 0x220 + 16 * i + 4 * c);
      memcpy(&half, &b, 4);
      assert_true(half == want * 0.5f);
      b = (uint32_t)rd32(d, 0x240 + 16 * i + 4 * c);
      memcpy(&quarter, &b, 4);
      assert_true(quarter == want * 0.25f);
      /* bf16 of want, with relu: round to nearest even of the f32 bits. */
      uint32_t wb;
      memcpy(&wb, &want, 4);
      uint16_t h = want < 0 ? 0 : (uint16_t)((wb + 0x7fff + ((wb >> 16) & 1)) >> 16);
      assert_int_equal(d[0x300 + 2 * (4 * i + c)] | d[0x300 + 2 * (4 * i + c) + 1] << 8, h);
    }
  sys_destroy(m);
}

/* Loads: the valid range zero-fills padding, dcol places columns, stride 0 broadcasts. */
static void test_load_shapes(void **state) {
  (void)state;
  static const char text[] =
      "config.compute type=i8\n"
      "config.load stride=2 limit=6\n"   /* a 6-element row; windows of 4 moving by 2 */
      "load to=sp row=0 dram=0x10 col0=-2 rows=4 cols=4 type=i8\n"
      "config.load stride=0 limit=2 dcol=2\n" /* two more values into columns 2..3 of row 4 */
      "load to=sp row=4 dram=0x20 rows=1 cols=2 type=i8\n"
      "config.load stride=0 limit=4 dcol=0\n" /* one bias row into four accumulator rows */
      "load to=acc row=0 dram=0x40 rows=4 cols=3 type=i32 signal=compute\n"
      "config.load stride=4 limit=16\n"
      "load to=sp row=8 dram=0x100 rows=4 cols=4 type=i8 signal=compute\n"
      "loadw row=8 rows=4 cols=4 wait=load\n"
      "matmul in=0 acc=0 rows=5 mode=add weights=new wait=load signal=store\n"
      "config.store stride=4 type=i32\n"
      "store acc=0 dram=0x200 rows=5 cols=4 wait=compute\n"
      "halt\n";
  SysParams p = small();
  SysMachine *m;
  char err[64];
  assert_int_equal(sys_create(&p, &m, err, sizeof err), IR_OK);
  uint8_t *d = sys_dram(m);
  for (int k = 0; k < 6; k++) d[0x10 + k] = (uint8_t)(10 + k);
  d[0x20] = 100, d[0x21] = 101;
  for (int c = 0; c < 4; c++) wr32(d, 0x40 + 4 * c, 1000 * (c + 1));
  for (int k = 0; k < 4; k++) d[0x100 + 4 * k + k] = 1; /* identity weights */
  /* Scratchpad row 4 held garbage before: a previous program leaves 55s there. */
  int64_t n;
  SysWord *pre = assemble("config.load stride=0 limit=4\nload to=sp row=4 dram=0x30 rows=1 cols=4 type=i8\nhalt\n", &n);
  memset(d + 0x30, 55, 4);
  SysStats st;
  assert_int_equal(sys_run(m, pre, n, &st), IR_OK);
  ir_free(pre);
  SysWord *w = assemble(text, &n);
  assert_int_equal(sys_run(m, w, n, &st), IR_OK);
  ir_free(w);
  /* Row r of the first load holds elements col0 + 2r .. + 3 of [10..15], 0 outside. */
  static const int32_t want[5][4] = {{0, 0, 10, 11}, {10, 11, 12, 13}, {12, 13, 14, 15}, {14, 15, 0, 0}, {55, 55, 100, 101}};
  for (int i = 0; i < 5; i++)
    for (int c = 0; c < 4; c++) {
      int32_t bias = i < 4 && c < 3 ? 1000 * (c + 1) : 0;
      assert_int_equal(rd32(d, 0x200 + 16 * i + 4 * c), want[i][c] + bias);
    }
  /* Padding is not read: the first load reads 2 + 4 + 4 + 2 bytes, the second 2, the bias
   * 4 rows of 3 int32 and the weights 16: 78. */
  assert_int_equal(st.dram_read, 78);
  sys_destroy(m);
}

/* SYNC: every unit finishes, then all go on from the same cycle. */
static void test_sync_timing(void **state) {
  (void)state;
  static const char text[] =
      "config.load stride=4 limit=16\n"
      "load to=sp row=0 dram=0x0 rows=4 cols=4 type=i8\n"
      "sync\n"
      "config.compute type=i8\n"
      "halt\n";
  Run r = run_text(small(), text, NULL);
  assert_int_equal(r.rc, IR_OK);
  /* config [0,1); load: bus [1,5), data at 15; sync releases at 15 (dependency stall [0,15) for
   * the array); config.compute [15,16). */
  assert_int_equal(r.st.cycles, 16);
  assert_int_equal(r.st.by_cause[SYS_C_DEP], 15);
  assert_int_equal(r.st.by_cause[SYS_C_NONMATRIX], 1);
  assert_int_equal(r.st.insns[SYS_OP_SYNC], 1);
  sys_destroy(r.m);
}

/* ---- malformed programs ------------------------------------------------------------------------ */

static void test_bad_words(void **state) {
  (void)state;
  SysParams p = small();
  SysMachine *m;
  char err[64];
  assert_int_equal(sys_create(&p, &m, err, sizeof err), IR_OK);
  SysWord prog[3] = {{SYS_OP_SYNC, 0}, {31, 0}, {SYS_OP_HALT, 0}};
  SysStats st;
  assert_int_equal(sys_run(m, prog, 3, &st), IR_ERR_INPUT);
  assert_non_null(strstr(sys_error(m), "instruction 1: invalid opcode"));
  assert_int_equal(sys_error_pc(m), 1);
  prog[1].lo = 0; /* opcode 0 */
  assert_int_equal(sys_run(m, prog, 3, &st), IR_ERR_INPUT);
  assert_non_null(strstr(sys_error(m), "invalid opcode"));
  prog[1].lo = SYS_OP_SYNC | (UINT64_C(1) << 40); /* a sync with a reserved bit */
  assert_int_equal(sys_run(m, prog, 3, &st), IR_ERR_INPUT);
  assert_non_null(strstr(sys_error(m), "reserved bits"));
  prog[1].lo = SYS_OP_CONFIG | (UINT64_C(9) << SYS_SUB_LO);
  assert_int_equal(sys_run(m, prog, 3, &st), IR_ERR_INPUT);
  assert_non_null(strstr(sys_error(m), "invalid config kind"));
  prog[1].lo = SYS_OP_HALT | SYS_DEP_SIGNAL_NEXT << 5;
  assert_int_equal(sys_run(m, prog, 3, &st), IR_ERR_INPUT);
  assert_non_null(strstr(sys_error(m), "dependency flag"));
  /* After the first halt nothing is looked at. */
  SysWord tail[3] = {{SYS_OP_HALT, 0}, {31, 0}, {0, ~UINT64_C(0)}};
  assert_int_equal(sys_run(m, tail, 3, &st), IR_OK);
  /* No halt at all, and no instruction at all. */
  assert_int_equal(sys_run(m, prog, 1, &st), IR_ERR_INPUT);
  assert_non_null(strstr(sys_error(m), "without halt"));
  assert_int_equal(sys_run(m, prog, 0, &st), IR_ERR_INPUT);
  assert_non_null(strstr(sys_error(m), "without halt"));
  sys_destroy(m);
}

static void test_out_of_range(void **state) {
  (void)state;
  Run r = run_text(small(), "load to=sp row=62 dram=0 rows=4 cols=4 type=i8\nhalt\n", NULL);
  assert_fails(&r, "scratchpad rows out of range", 0);
  r = run_text(small(), "load to=sp row=0 dram=0 rows=1 cols=5 type=i8\nhalt\n", NULL);
  assert_fails(&r, "more columns", 0);
  r = run_text(small(), "load to=acc row=0 dram=0 rows=1 cols=4 type=i8\nhalt\n", NULL);
  assert_fails(&r, "i32 or f32", 0);
  r = run_text(small(), "config.load stride=4 limit=100\nload to=sp row=0 dram=4090 rows=2 cols=4 type=i8\nhalt\n", NULL);
  assert_fails(&r, "row 1 reads DRAM bytes [4094, 4098)", 1);
  r = run_text(small(), "config.load stride=4 limit=100\nload to=sp row=0 dram=4093 rows=2 cols=4 type=i8\nhalt\n", NULL);
  assert_fails(&r, "row 0 reads DRAM bytes [4093, 4097)", 1);
  /* The valid range keeps reads inside: only [4088, 4096) is touched. */
  r = run_text(small(), "config.load stride=4 limit=8\nload to=sp row=0 dram=4088 rows=3 cols=4 type=i8\nhalt\n", NULL);
  assert_int_equal(r.rc, IR_OK);
  assert_int_equal(r.st.dram_read, 8);
  sys_destroy(r.m);
  r = run_text(small(), "config.store stride=1100 type=i8\nstore acc=0 dram=0 rows=5 cols=4\nhalt\n", NULL);
  assert_fails(&r, "outside the 4096-byte DRAM", 1);
  r = run_text(small(), "matmul in=0 acc=14 rows=3 mode=set\nhalt\n", NULL);
  assert_fails(&r, "accumulator rows out of range", 0);
  r = run_text(small(), "loadw row=0 rows=5 cols=4\nhalt\n", NULL);
  assert_fails(&r, "at most R rows", 0);
  r = run_text(small(), "alu.shr dst=0 src=0 rows=1 imm=32\nhalt\n", NULL);
  assert_fails(&r, "0 to 31", 0);
  r = run_text(small(), "alu.add dst=0 src=0 src2=15 rows=2\nhalt\n", NULL);
  assert_fails(&r, "accumulator rows out of range", 0);
  r = run_text(small(), "config.requant mult=1 shift=0 zp=0 lo=5 hi=4\nhalt\n", NULL);
  assert_fails(&r, "lo <= hi", 0);
  r = run_text(small(), "config.load stride=0 limit=4 dcol=3\nload to=sp row=0 dram=0 rows=1 cols=2 type=i8\nhalt\n", NULL);
  assert_fails(&r, "columns [3, 5) do not fit", 1);
}

static void test_tokens(void **state) {
  (void)state;
  Run r = run_text(small(), "config.compute type=i8\nmatmul in=0 acc=0 rows=1 mode=set wait=load\nhalt\n", NULL);
  assert_fails(&r, "token underflow", 1);
  r = run_text(small(), "store acc=0 dram=0 rows=1 cols=1 wait=compute\nhalt\n", NULL);
  assert_fails(&r, "compute->store queue", 0);
  /* Two units each waiting for the other: the earlier instruction is named. */
  r = run_text(small(),
               "config.load stride=0 limit=0 wait=compute\n"
               "loadw row=0 rows=1 cols=1 wait=load signal=load\n"
               "halt\n",
               NULL);
  assert_fails(&r, "instruction 0 (config.load): token underflow", 0);
  /* A queue of depth 1 overflows on the second token nobody has taken. */
  SysParams p = small();
  p.token_depth = 1;
  r = run_text(p, "config.load stride=0 limit=0 signal=compute\nconfig.load stride=0 limit=0 signal=compute\nhalt\n", NULL);
  assert_fails(&r, "token overflow", 1);
  /* Units waiting at a sync while another waits for a token that would come after it. */
  r = run_text(small(), "loadw row=0 rows=1 cols=1 wait=load\nsync\nconfig.load stride=0 limit=0 signal=compute\nhalt\n", NULL);
  assert_fails(&r, "token underflow", 0);
}

static void test_semantic_errors(void **state) {
  (void)state;
  Run r = run_text(small(), "matmul in=0 acc=0 rows=1 mode=set weights=new\nhalt\n", NULL);
  assert_fails(&r, "no loadw has filled the shadow", 0);
  r = run_text(small(), "loadw row=0 rows=4 cols=4\nconfig.compute type=bf16\nmatmul in=0 acc=0 rows=1 mode=set weights=new\nhalt\n", NULL);
  assert_fails(&r, "another compute type", 2);
}

static void test_cycle_limit(void **state) {
  (void)state;
  SysParams p = small();
  p.max_cycles = 1000;
  Run r = run_text(p, "matmul in=0 acc=0 rows=600 mode=set\nmatmul in=0 acc=0 rows=600 mode=set\nhalt\n", NULL);
  assert_int_equal(r.rc, IR_ERR_INPUT);
  sys_destroy(r.m);
  p.spad_rows = 1 << 20;
  p.acc_rows = 1 << 16;
  r = run_text(p, "matmul in=0 acc=0 rows=600 mode=set\nmatmul in=0 acc=0 rows=600 mode=set\nhalt\n", NULL);
  assert_fails(&r, "cycle limit", 1);
}

/* Bad machine parameters are refused at creation. */
static void test_bad_params(void **state) {
  (void)state;
  SysParams p = small();
  SysMachine *m;
  char err[128];
  p.rows = 0;
  assert_int_equal(sys_create(&p, &m, err, sizeof err), IR_ERR_USAGE);
  assert_null(m);
  assert_non_null(strstr(err, "rows and columns"));
  p = small();
  p.dram_bw = 0;
  assert_int_equal(sys_create(&p, &m, err, sizeof err), IR_ERR_USAGE);
  p = small();
  p.dram_bytes = (int64_t)1 << 40;
  assert_int_equal(sys_create(&p, &m, err, sizeof err), IR_ERR_USAGE);
}

/* Out of memory while creating a machine: a status, no leak (checked under ASan). */
static void test_create_oom(void **state) {
  (void)state;
  SysParams p = small();
  for (uint64_t k = 1; k < 16; k++) {
    SysMachine *m;
    char err[128];
    ir_alloc_fail_after(k);
    IrStatus st = sys_create(&p, &m, err, sizeof err);
    ir_alloc_fail_after(0);
    if (st == IR_OK) { sys_destroy(m); break; }
    assert_int_equal(st, IR_ERR_INPUT);
    assert_null(m);
  }
}

/* Random programs of valid forms with random fields: never a crash or a hang. */
static void test_random_programs(void **state) {
  (void)state;
  SysParams p = small();
  p.max_cycles = 1 << 20;
  p.token_depth = 4;
  SysMachine *m;
  char err[64];
  assert_int_equal(sys_create(&p, &m, err, sizeof err), IR_OK);
  uint64_t s = 12345;
  SysWord prog[24];
  int ok = 0;
  for (int t = 0; t < 3000; t++) {
    for (int k = 0; k < 23; k++) {
      s = s * 6364136223846793005ull + 1442695040888963407ull;
      const SysForm *f = &sys_forms[(s >> 33) % (uint64_t)sys_nforms];
      SysInsn i;
      memset(&i, 0, sizeof i);
      i.op = f->op;
      i.sub = f->sub;
      for (int j = 0; j < f->nfields; j++) {
        s = s * 6364136223846793005ull + 1442695040888963407ull;
        int64_t v = (int64_t)((s >> 20) % (f->fields[j].kind == SYS_F_ENUM ? 2 : 18));
        if (f->fields[j].kind == SYS_F_SINT && (s >> 60) & 1) v = -v;
        *(int64_t *)(void *)((char *)&i + f->fields[j].offset) = v;
      }
      s = s * 6364136223846793005ull + 1442695040888963407ull;
      i.deps = f->unit == SYS_UNIT_ALL ? 0 : (unsigned)(s >> 59) & (f->unit == SYS_UNIT_LOAD ? 10u : f->unit == SYS_UNIT_STORE ? 5u : 15u);
      const char *why;
      if (!sys_encode(&i, &prog[k], &why)) prog[k] = (SysWord){SYS_OP_SYNC, 0};
    }
    prog[23] = (SysWord){SYS_OP_HALT, 0};
    SysStats st;
    IrStatus rc = sys_run(m, prog, 24, &st);
    if (rc == IR_OK) ok++;
    else assert_true(rc == IR_ERR_INPUT && sys_error(m)[0]);
  }
  assert_true(ok > 100);
  sys_destroy(m);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_gemm_result_and_cycles), cmocka_unit_test(test_gemm_8x32),
      cmocka_unit_test(test_conv_16x16),             cmocka_unit_test(test_weight_double_buffering),
      cmocka_unit_test(test_accumulate_vs_overwrite), cmocka_unit_test(test_requant_rounding_saturation),
      cmocka_unit_test(test_alu_int),                cmocka_unit_test(test_bf16),
      cmocka_unit_test(test_load_shapes),            cmocka_unit_test(test_sync_timing),
      cmocka_unit_test(test_bad_words),              cmocka_unit_test(test_out_of_range),
      cmocka_unit_test(test_tokens),                 cmocka_unit_test(test_semantic_errors),
      cmocka_unit_test(test_cycle_limit),            cmocka_unit_test(test_bad_params),
      cmocka_unit_test(test_create_oom),             cmocka_unit_test(test_random_programs),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}

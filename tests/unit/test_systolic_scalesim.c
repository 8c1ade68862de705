/* test_systolic_scalesim.c — SCALE-Sim v2 compatibility: the published golden case, counts
 * worked out by hand, an independent re-derivation from the shapes of SCALE-Sim's demand
 * matrices compared bit for bit on random layers, arrays and dataflows, and the readers of its
 * topology and config files (including their errors). Whole topologies are compared with the
 * output of tests/systolic/scalesim_ref.py by tests/systolic/run.sh. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <cmocka.h>

#include "codegen/systolic/scalesim.h"

#define DIR LATHE_TEST_TMP "/systolic_scalesim/"

#include "diag_capture.h"

/* A layer with the given SCALE-Sim fields. */
static SysLayer layer(int64_t ih, int64_t iw, int64_t fh, int64_t fw, int64_t c, int64_t n, int64_t s) {
  SysLayer l = {"l", ih, iw, fh, fw, c, n, s, s, false};
  return l;
}

/* Formats one report row as SCALE-Sim writes it. */
static void row_text(const SysReportRow *r, char *buf, size_t size) {
  FILE *f = fmemopen(buf, size, "w");
  sys_report_row(f, 0, r);
  fclose(f);
}

static void test_golden(void **state) {
  (void)state;
  /* scale-sim-v2 test/golden_trace/COMPUTE_REPORT.csv: configs/scale.cfg (32 x 32) with
   * Dataflow ws, topologies/conv_nets/alexnet_part.csv (224, 224, 11, 11, 3, 96, stride 4). */
  SysLayer l = layer(224, 224, 11, 11, 3, 96, 4);
  SysReportRow r;
  sys_scalesim_compat(&l, 32, 32, SYS_DF_WS, &r);
  char buf[256];
  row_text(&r, buf, sizeof buf);
  assert_string_equal(buf, "0, 112283, 0, 91.68309650614964, 94.53125, 90.78000992063485,\n");
}

static void test_by_hand(void **state) {
  (void)state;
  /* The golden layer: ofmap ceil((224 - 11 + 4) / 4) = 55, so M = 3025 pixels, K = 11 * 11 * 3
   * = 363, N = 96, on 32 x 32.
   * ws: rows K, cols N, time M: 12 * 3 = 36 folds of 2*32 + 32 + 3025 - 2 = 3119: 112283.
   * os: rows M, cols N, time K: 95 * 3 = 285 folds of 32 + 32 + 363 - 2 = 425: 121124.
   * is: rows K, cols M, time N: 12 * 95 = 1140 folds of 2*32 + 32 + 96 - 2 = 190: 216599. */
  SysLayer l = layer(224, 224, 11, 11, 3, 96, 4);
  SysReportRow r;
  sys_scalesim_compat(&l, 32, 32, SYS_DF_WS, &r);
  assert_int_equal(r.total, 112283);
  sys_scalesim_compat(&l, 32, 32, SYS_DF_OS, &r);
  assert_int_equal(r.total, 121124);
  /* os mapping: 94 row folds of 32 rows and one of 3025 - 94 * 32 = 17, all columns used. */
  assert_true(fabs(r.mapping - (94 + 17.0 / 32) / 95 * 100) < 1e-12);
  sys_scalesim_compat(&l, 32, 32, SYS_DF_IS, &r);
  assert_int_equal(r.total, 216599);
  /* A GEMM row (M 256, N 128, K 256) on 16 x 8, ws: 16 * 16 = 256 folds of 2*16 + 8 + 256 - 2 = 294. */
  SysLayer g = layer(256, 256, 1, 256, 1, 128, 1);
  sys_scalesim_compat(&g, 16, 8, SYS_DF_WS, &r);
  assert_int_equal(r.total, 256 * 294 - 1);
  assert_true(r.mapping == 100.0);
  /* A 1 x 1 x 1 layer on 4 x 4 os: one fold of 4 + 4 + 1 - 2 = 7 lines: 6. */
  SysLayer t = layer(1, 1, 1, 1, 1, 1, 1);
  sys_scalesim_compat(&t, 4, 4, SYS_DF_OS, &r);
  assert_int_equal(r.total, 6);
  assert_true(r.mapping == 100.0 / 16);
}

/* ---- an independent derivation ----------------------------------------------------------------- */

/* Height of a demand matrix after the systolic skew over width columns. */
static int64_t skewed(int64_t height, int64_t width) { return height + width - 1; }

/* SCALE-Sim's fold, rebuilt from the pieces systolic_compute_{os,ws,is}.py concatenates: the
 * heights of the IFMAP, filter and OFMAP demand matrices must agree (SCALE-Sim asserts it);
 * *util_cycles is the height + width - 1 of the operand matrix its compute utilization uses. */
static int64_t fold_lines(SysDataflow df, int64_t R, int64_t C, int64_t T, int64_t *util_cycles) {
  int64_t ifmap, filt, ofmap;
  if (df == SYS_DF_WS) {
    ifmap = skewed(R + T + (C - 1), R);
    filt = R + (R + C + T - 2);
    ofmap = skewed((2 * R - 1) + T, C);
    *util_cycles = filt + C - 1;
  } else if (df == SYS_DF_IS) {
    ifmap = R + (R + C + T - 2);
    filt = skewed(R + T + (C - 1), R);
    ofmap = skewed((2 * R - 1) + T, C);
    *util_cycles = ifmap + C - 1;
  } else {
    ifmap = skewed(T + (C - 1), R);
    filt = skewed(T + (R - 1), C);
    ofmap = skewed((T - 1) + R, C);
    *util_cycles = (T - 1) + R + C - 1;
  }
  assert_int_equal(ifmap, filt);
  assert_int_equal(filt, ofmap);
  return ofmap;
}

/* The report row, derived fold by fold from the demand matrices' shapes. */
static SysReportRow derive(const SysLayer *l, int64_t R, int64_t C, SysDataflow df) {
  int64_t eh = (int64_t)ceil((double)(l->ih - l->fh + l->sh) / (double)l->sh);
  int64_t ew = (int64_t)ceil((double)(l->iw - l->fw + l->sw) / (double)l->sw);
  int64_t M = eh * ew, K = l->fh * l->fw * l->c, N = l->n;
  int64_t Sr = df == SYS_DF_OS ? M : K, Sc = df == SYS_DF_IS ? M : N, T = df == SYS_DF_OS ? K : df == SYS_DF_WS ? M : N;
  int64_t lines = 0, folds = 0;
  double map = 0, util = 0;
  for (int64_t c0 = 0; c0 < Sc; c0 += C)
    for (int64_t r0 = 0; r0 < Sr; r0 += R) {
      int64_t used_r = Sr - r0 < R ? Sr - r0 : R, used_c = Sc - c0 < C ? Sc - c0 : C, uc;
      lines += fold_lines(df, R, C, T, &uc);
      map += (double)(used_r * used_c) / (double)(R * C);
      util += (double)(used_r * used_c * T) / (double)(R * C * uc);
      folds++;
    }
  SysReportRow r = {lines - 1, 0, 0, 0, 0};
  r.overall = (double)(M * N * K * 100) / (double)((lines - 1) * R * C);
  r.mapping = map / (double)folds * 100;
  r.compute = util / (double)folds * 100;
  return r;
}

static void test_independent_derivation(void **state) {
  (void)state;
  uint64_t s = 3;
  for (int t = 0; t < 3000; t++) {
    s = s * 6364136223846793005ull + 1442695040888963407ull;
    int64_t fh = 1 + (int64_t)(s >> 60), fw = 1 + (int64_t)(s >> 56 & 7), st = 1 + (int64_t)(s >> 54 & 3);
    SysLayer l = layer(fh + (int64_t)(s >> 40 & 63), fw + (int64_t)(s >> 30 & 63), fh, fw, 1 + (int64_t)(s >> 20 & 127),
                       1 + (int64_t)(s >> 8 & 511), st);
    l.sw = 1 + (int64_t)(s & 3);
    int64_t R = 1 + (int64_t)(s >> 2 & 63), C = 1 + (int64_t)(s >> 12 & 63);
    for (int df = 0; df < 3; df++) {
      SysReportRow a, b = derive(&l, R, C, (SysDataflow)df);
      sys_scalesim_compat(&l, R, C, (SysDataflow)df, &a);
      assert_int_equal(a.total, b.total);
      assert_int_equal(a.stall, 0);
      assert_true(a.overall == b.overall);
      assert_true(a.mapping == b.mapping);
      assert_true(a.compute == b.compute);
    }
  }
}

/* ---- the readers ---------------------------------------------------------------------------- */

/* Writes text to DIR/name and returns the path (static buffer). */
static const char *put(const char *name, const char *text) {
  static char path[512];
  mkdir(LATHE_TEST_TMP, 0777);
  mkdir(DIR, 0777);
  snprintf(path, sizeof path, DIR "%s", name);
  FILE *f = fopen(path, "w");
  assert_non_null(f);
  fputs(text, f);
  fclose(f);
  return path;
}

static void test_topology_conv(void **state) {
  (void)state;
  DiagSink d;
  diag_start(&d);
  SysTopology t;
  const char *p = put("conv.csv",
                      "Layer name, IFMAP Height, IFMAP Width, Filter Height, Filter Width, Channels, Num Filter, Strides,\n"
                      "Conv1,  224, 224,    11, 11,    3,      96,     4,\n"
                      "\n"
                      "DP1 x, 10, 12, 3, 3, 3, 1, 1,\r\n"
                      "Rect, 10, 40, 3, 5, 7, 33, 1, 3,\n"
                      "NoTrailingComma, 5, 5, 1, 1, 1, 1, 2\n");
  assert_int_equal(sys_topology_read(p, SYS_TOPO_AUTO, &t, &d), IR_OK);
  assert_int_equal(t.n, 6);
  assert_string_equal(t.layers[0].name, "Conv1");
  assert_int_equal(t.layers[0].ih, 224);
  assert_int_equal(t.layers[0].sw, 4);
  assert_string_equal(t.layers[1].name, "DP1 xChannel_0");
  assert_string_equal(t.layers[3].name, "DP1 xChannel_2");
  assert_int_equal(t.layers[3].c, 1);
  assert_int_equal(t.layers[3].n, 1);
  assert_int_equal(t.layers[4].sh, 1);
  assert_int_equal(t.layers[4].sw, 3);
  assert_int_equal(t.layers[5].sh, 2);
  assert_false(t.layers[0].gemm);
  sys_topology_free(&t);
  diag_end(&d);
}

static void test_topology_gemm(void **state) {
  (void)state;
  DiagSink d;
  diag_start(&d);
  SysTopology t;
  const char *p = put("gemm.csv", "Layer, M, N, K,\nqkv, 128, 768, 256,\n");
  assert_int_equal(sys_topology_read(p, SYS_TOPO_AUTO, &t, &d), IR_OK);
  assert_int_equal(t.n, 1);
  /* SCALE-Sim's conversion: ifmap M x K, filter 1 x K, 1 channel, N filters, stride 1. */
  SysLayer want = {NULL, 128, 256, 1, 256, 1, 768, 1, 1, true};
  assert_int_equal(t.layers[0].ih, want.ih);
  assert_int_equal(t.layers[0].iw, want.iw);
  assert_int_equal(t.layers[0].fh, want.fh);
  assert_int_equal(t.layers[0].fw, want.fw);
  assert_int_equal(t.layers[0].c, want.c);
  assert_int_equal(t.layers[0].n, want.n);
  assert_true(t.layers[0].gemm);
  sys_topology_free(&t);
  /* Forced: the same file read as convolutions has too few fields. */
  assert_int_equal(sys_topology_read(p, SYS_TOPO_CONV, &t, &d), IR_ERR_INPUT);
  assert_diag_has(&d, "gemm.csv:2:1: error: a convolution layer has 8 fields");
  diag_end(&d);
}

static void test_topology_errors(void **state) {
  (void)state;
  static const struct {
    const char *text; /* the file */
    const char *want; /* the message */
  } cases[] = {
      {"h\nC, 224, x24, 11, 11, 3, 96, 4,\n", "bad.csv:2:9: error: IFMAP width must be a positive integer, not 'x24'"},
      {"h\nC, 224, 224, 11, 11, 0, 96, 4,\n", "channels must be a positive integer, not '0'"},
      {"h\nC, 10, 10, 11, 3, 3, 96, 4,\n", "bad.csv:2:12: error: the filter is larger than the IFMAP"},
      {"h\n\n\n", "bad.csv: error: the topology has no layers"},
      {"Layer, M, N, K,\nx, 1, -2, 3,\n", "bad.csv:2:7: error: N must be a positive integer"},
      {"Layer, M, N, K,\nx, 1, 2,\n", "a GEMM layer has 4 fields"},
  };
  for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
    DiagSink d;
    diag_start(&d);
    SysTopology t;
    assert_int_equal(sys_topology_read(put("bad.csv", cases[k].text), SYS_TOPO_AUTO, &t, &d), IR_ERR_INPUT);
    assert_null(t.layers);
    assert_diag_has(&d, cases[k].want);
    diag_end(&d);
  }
  DiagSink d;
  diag_start(&d);
  SysTopology t;
  assert_int_equal(sys_topology_read(DIR "nosuch.csv", SYS_TOPO_AUTO, &t, &d), IR_ERR_INPUT);
  assert_diag_has(&d, "nosuch.csv: error:");
  diag_end(&d);
}

static const char good_cfg[] =
    "[general]\nrun_name = r\n\n[architecture_presets]\n# comment\nArrayHeight:    8\narraywidth = 32\n"
    "IfmapSramSzkB: 64\nFilterSramSzkB: 32\nOfmapSramSzkB: 16\nIfmapOffset: 0\nFilterOffset: 10000000\n"
    "OfmapOffset: 20000000\nBandwidth : 10,20\nDataflow : is\nMemoryBanks: 1\n\n[run_presets]\nInterfaceBandwidth: USER \n";

static void test_config(void **state) {
  (void)state;
  DiagSink d;
  diag_start(&d);
  SysScaleCfg c;
  assert_int_equal(sys_scalecfg_read(put("good.cfg", good_cfg), &c, &d), IR_OK);
  assert_string_equal(c.run_name, "r");
  assert_int_equal(c.array_h, 8);
  assert_int_equal(c.array_w, 32);
  assert_int_equal(c.filter_kb, 32);
  assert_int_equal(c.df, SYS_DF_IS);
  assert_true(c.user_bw);
  assert_int_equal(c.bandwidth, 10);
  diag_end(&d);
  static const struct {
    const char *from; /* text of good_cfg to replace */
    const char *to;   /* its replacement */
    const char *want; /* the message */
  } cases[] = {
      {"Dataflow : is", "Dataflow : xs", "bad.cfg:15:12: error: Dataflow must be os, ws or is, not 'xs'"},
      {"ArrayHeight:    8", "ArrayHeight:    0", "ArrayHeight must be an integer of at least 1, not '0'"},
      {"ArrayHeight:    8", "Height: 8", "bad.cfg: error: [architecture_presets] has no ArrayHeight"},
      {"USER", "SOMETIMES", "InterfaceBandwidth must be USER or CALC, not 'SOMETIMES'"},
      {"Bandwidth : 10,20", "Bandwidth_ : 1", "[architecture_presets] has no Bandwidth"},
      {"[run_presets]", "[run_presets", "a section header needs ']'"},
      {"MemoryBanks: 1", "MemoryBanks 1", "bad.cfg:16:1: error: expected 'key: value' or 'key = value'"},
  };
  for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
    char text[1024];
    const char *at = strstr(good_cfg, cases[k].from);
    assert_non_null(at);
    snprintf(text, sizeof text, "%.*s%s%s", (int)(at - good_cfg), good_cfg, cases[k].to, at + strlen(cases[k].from));
    diag_start(&d);
    assert_int_equal(sys_scalecfg_read(put("bad.cfg", text), &c, &d), IR_ERR_INPUT);
    assert_diag_has(&d, cases[k].want);
    diag_end(&d);
  }
}

/* A layer on lathe's own machine: the report comes from the timing model's counts. */
static void test_layer_run(void **state) {
  (void)state;
  SysParams p;
  sys_params_default(&p);
  p.rows = 8;
  p.cols = 8;
  p.spad_rows = 1024;
  p.acc_rows = 256;
  p.dram_bytes = 1 << 20;
  SysMachine *m;
  char err[256];
  assert_int_equal(sys_create(&p, &m, err, sizeof err), IR_OK);
  SysLayer l = layer(12, 12, 3, 3, 5, 20, 1);
  SysStats st;
  SysReportRow r;
  assert_int_equal(sys_layer_run(m, &l, 1, &st, &r, err, sizeof err), IR_OK);
  /* Real convolution: 10 x 10 pixels, K = 45, N = 20. */
  assert_int_equal(st.useful_macs, 100 * 45 * 20);
  assert_int_equal(r.total, st.cycles);
  assert_true(fabs(r.overall - 100.0 * 90000 / ((double)st.cycles * 64)) < 1e-9);
  assert_int_equal(r.stall, st.by_cause[SYS_C_WEIGHT] + st.by_cause[SYS_C_INPUT] + st.by_cause[SYS_C_DEP]);
  /* Too little DRAM is a message, not a crash. */
  SysLayer big = layer(400, 400, 3, 3, 64, 64, 1);
  assert_int_equal(sys_layer_run(m, &big, 1, &st, &r, err, sizeof err), IR_ERR_INPUT);
  assert_non_null(strstr(err, "needs"));
  sys_destroy(m);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_golden),          cmocka_unit_test(test_by_hand),       cmocka_unit_test(test_independent_derivation),
      cmocka_unit_test(test_topology_conv),   cmocka_unit_test(test_topology_gemm), cmocka_unit_test(test_topology_errors),
      cmocka_unit_test(test_config),          cmocka_unit_test(test_layer_run),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}

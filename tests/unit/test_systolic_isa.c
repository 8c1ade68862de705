/* test_systolic_isa.c — the 128-bit encoding (every form, every field at its extremes), the
 * listing (assemble -> disassemble -> assemble gives the same bytes; a printed listing prints
 * back the same), the assembler's diagnostics (file:line:col and a caret), the program file
 * header, the requantizer's rounding and saturation, and Python-style float printing. */
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
#include "codegen/systolic/scalesim.h"
#include "runtime/requant.h"

#include "diag_capture.h"

/* Sets field f of i to v. */
static void set_field(SysInsn *i, const SysField *f, int64_t v) { *(int64_t *)(void *)((char *)i + f->offset) = v; }

/* The largest and smallest values field f holds. */
static int64_t field_max(const SysField *f) {
  if (f->kind == SYS_F_ENUM) {
    int64_t n = 0;
    while (f->names[n]) n++;
    return n - 1;
  }
  return f->kind == SYS_F_SINT ? ((int64_t)1 << (f->width - 1)) - 1 : (int64_t)((UINT64_C(1) << f->width) - 1);
}
static int64_t field_min(const SysField *f) { return f->kind == SYS_F_SINT ? -((int64_t)1 << (f->width - 1)) : 0; }

/* The dependency flags unit u may carry. */
static unsigned deps_of(SysUnit u) {
  return u == SYS_UNIT_ALL ? 0 : u == SYS_UNIT_LOAD ? 10u : u == SYS_UNIT_STORE ? 5u : 15u;
}

static void test_encode_decode_every_form(void **state) {
  (void)state;
  uint64_t s = 7;
  for (int k = 0; k < sys_nforms; k++) {
    const SysForm *f = &sys_forms[k];
    for (int pass = 0; pass < 40; pass++) {
      SysInsn in, out;
      memset(&in, 0, sizeof in);
      in.op = f->op;
      in.sub = f->sub;
      in.deps = deps_of(f->unit) & (unsigned)pass;
      for (int j = 0; j < f->nfields; j++) {
        const SysField *fd = &f->fields[j];
        s = s * 6364136223846793005ull + 1442695040888963407ull;
        int64_t lo = field_min(fd), hi = field_max(fd);
        int64_t v = pass == 0 ? lo : pass == 1 ? hi : lo + (int64_t)((s >> 11) % (uint64_t)(hi - lo + 1));
        set_field(&in, fd, v);
      }
      SysWord w;
      const char *why;
      assert_true(sys_encode(&in, &w, &why));
      assert_true(sys_decode(&w, &out, &why));
      assert_memory_equal(&in, &out, sizeof in);
      assert_int_equal(sys_insn_unit(&out), f->unit);
    }
  }
}

static void test_encode_refuses(void **state) {
  (void)state;
  SysInsn i;
  SysWord w;
  const char *why;
  memset(&i, 0, sizeof i);
  i.op = SYS_OP_LOADW;
  i.rows = 70000; /* 16 bits */
  assert_false(sys_encode(&i, &w, &why));
  i.rows = 1;
  i.row = -1;
  assert_false(sys_encode(&i, &w, &why));
  i.row = 0;
  i.op = SYS_OP_LOAD;
  i.deps = SYS_DEP_WAIT_PREV; /* the load unit has no previous unit */
  assert_false(sys_encode(&i, &w, &why));
  assert_non_null(strstr(why, "dependency"));
  i.deps = 0;
  i.type = 4;
  assert_false(sys_encode(&i, &w, &why));
  i.op = SYS_OP_CONFIG;
  i.type = 0;
  i.sub = 7;
  assert_false(sys_encode(&i, &w, &why));
  i.op = SYS_OP_INVALID;
  i.sub = 0;
  assert_false(sys_encode(&i, &w, &why));
}

/* Every form, with dependencies, as the disassembler prints it. */
static const char canonical[] =
    "config.load stride=4294967295 limit=1099511627775 dcol=4095 wait=compute\n"
    "config.store stride=12 type=bf16 act=relu signal=compute\n"
    "config.requant mult=-2147483648 shift=63 zp=-32768 lo=-128 hi=32767 wait=compute signal=compute\n"
    "config.compute type=bf16 wait=load,store signal=load,store\n"
    "load to=acc row=1048575 dram=0xffffffff col0=-2147483648 rows=65535 cols=4095 type=f32 signal=compute\n"
    "loadw row=3 rows=16 cols=16 wait=load\n"
    "matmul in=10 acc=20 rows=30 mode=add weights=new signal=store\n"
    "alu.add dst=1 src=2 src2=3 rows=4\n"
    "alu.max dst=1 src=2 src2=3 rows=4\n"
    "alu.addi dst=1 src=2 rows=4 imm=-5\n"
    "alu.maxi dst=1 src=2 rows=4 imm=0\n"
    "alu.mini dst=1 src=2 rows=4 imm=127\n"
    "alu.shr dst=1 src=2 rows=4 imm=3\n"
    "alu.muli dst=1 src=2 rows=4 imm=1065353216\n"
    "alu.mov dst=1 src=2 rows=4 signal=load\n"
    "store acc=5 dram=0x1000 rows=6 cols=7 wait=compute signal=compute\n"
    "sync\n"
    "halt\n";

/* Assembles text with a sink capturing messages; returns the status. */
static IrStatus asm_text(DiagSink *d, const char *text, SysWord **w, int64_t *n) {
  const char *name = diag_add_source(d, "t.s", text, strlen(text));
  return sys_asm(name, text, strlen(text), w, n, NULL, d);
}

/* Disassembles n words into a new string (free it). */
static char *disasm_text(const SysWord *w, int64_t n) {
  char *buf = NULL;
  size_t len = 0;
  FILE *f = open_memstream(&buf, &len);
  DiagSink d;
  diag_init(&d, stderr);
  assert_int_equal(sys_disasm(f, "t.bin", w, n, &d), IR_OK);
  fclose(f);
  diag_free(&d);
  return buf;
}

static void test_listing_round_trip(void **state) {
  (void)state;
  DiagSink d;
  diag_start(&d);
  SysWord *w1, *w2;
  int64_t n1, n2;
  assert_int_equal(asm_text(&d, canonical, &w1, &n1), IR_OK);
  assert_int_equal(n1, 18);
  char *text = disasm_text(w1, n1);
  assert_string_equal(text, canonical);
  assert_int_equal(asm_text(&d, text, &w2, &n2), IR_OK);
  assert_int_equal(n2, n1);
  assert_memory_equal(w1, w2, (size_t)n1 * sizeof *w1);
  free(text);
  ir_free(w1);
  ir_free(w2);
  /* A free-form listing: comments, blank lines, any order of fields, defaults, floats, hex. */
  static const char loose[] =
      "; a comment\n\n  matmul   mode=set rows=0x10 acc=2 in=1   # trailing comment\n"
      "config.load limit=5 stride=1\n"
      "alu.muli imm=0.5 rows=1 src=0 dst=0\n"
      "load cols=4 rows=1 type=i8 dram=16 row=0 to=sp col0=-3 signal=compute\n"
      "halt\n";
  assert_int_equal(asm_text(&d, loose, &w1, &n1), IR_OK);
  text = disasm_text(w1, n1);
  assert_string_equal(text,
                      "matmul in=1 acc=2 rows=16 mode=set weights=keep\n"
                      "config.load stride=1 limit=5 dcol=0\n"
                      "alu.muli dst=0 src=0 rows=1 imm=1056964608\n"
                      "load to=sp row=0 dram=0x10 col0=-3 rows=1 cols=4 type=i8 signal=compute\n"
                      "halt\n");
  free(text);
  ir_free(w1);
  diag_end(&d);
}

/* Each bad line gives one error at its line and column. */
static void test_asm_errors(void **state) {
  (void)state;
  static const struct {
    const char *text; /* the listing */
    const char *want; /* the message's text */
  } cases[] = {
      {"lod row=0\n", "t.s:1:1: error: unknown instruction 'lod'"},
      {"halt\n  loadw row=0 rows=1 cols=1 bogus=3\n", "t.s:2:29: error: loadw has no field 'bogus'"},
      {"loadw row=0 rows=70000 cols=1\n", "t.s:1:18: error: '70000' is not a value of rows (0 to 65535)"},
      {"loadw row=0 rows=-1 cols=1\n", "t.s:1:18: error: '-1' is not a value of rows"},
      {"loadw row=0 cols=1\n", "t.s:1:1: error: loadw needs rows="},
      {"loadw row=0 rows=1 rows=2 cols=1\n", "t.s:1:20: error: rows is given twice"},
      {"matmul in=0 acc=0 rows=1 mode=sub\n", "t.s:1:31: error: 'sub' is not a value of mode (set, add)"},
      {"load to=sp row=0 dram=0 rows=1 cols=1 type=i8 wait=compute,store\n", "t.s:1:60: error: a load-unit instruction cannot wait for 'store'"},
      {"store acc=0 dram=0 rows=1 cols=1 signal=load\n", "t.s:1:41: error: a store-unit instruction cannot signal 'load'"},
      {"halt wait=load\n", "t.s:1:6: error: halt has no field 'wait'"},
      {"loadw row=0 rows cols=1\n", "t.s:1:13: error: expected key=value, not 'rows'"},
      {"loadw row=0 rows= cols=1\n", "t.s:1:18: error: rows needs a value"},
      {"loadw row=0x rows=1 cols=1\n", "t.s:1:11: error: '0x' is not a value of row"},
      {"alu.addi dst=0 src=0 rows=1 imm=1.5.2\n", "is not a value of imm"},
      {"loadw row=99999999999999999999 rows=1 cols=1\n", "is not a value of row"},
  };
  for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
    DiagSink d;
    diag_start(&d);
    SysWord *w = (SysWord *)1;
    int64_t n = 5;
    assert_int_equal(asm_text(&d, cases[k].text, &w, &n), IR_ERR_INPUT);
    assert_null(w);
    assert_int_equal(n, 0);
    assert_diag_has(&d, cases[k].want);
    diag_end(&d);
  }
  /* The caret sits under the column; every bad line is reported, not just the first. */
  DiagSink d;
  diag_start(&d);
  SysWord *w;
  int64_t n;
  assert_int_equal(asm_text(&d, "halt\nloadw row=0 rows=1 cols=x\nfoo\n", &w, &n), IR_ERR_INPUT);
  assert_diag_has(&d, "t.s:2:25: error: 'x' is not a value of cols (0 to 65535)\n  loadw row=0 rows=1 cols=x\n                          ^\n");
  assert_diag_has(&d, "t.s:3:1: error: unknown instruction 'foo'");
  assert_int_equal(d.errors, 2);
  diag_end(&d);
}

static void test_disasm_errors(void **state) {
  (void)state;
  DiagSink d;
  diag_start(&d);
  SysWord w[3] = {{SYS_OP_HALT, 0}, {30, 0}, {SYS_OP_SYNC, 1}};
  char *buf = NULL;
  size_t len = 0;
  FILE *f = open_memstream(&buf, &len);
  assert_int_equal(sys_disasm(f, "p.bin", w, 3, &d), IR_ERR_INPUT);
  fclose(f);
  assert_int_equal(len, 0);
  free(buf);
  assert_diag_has(&d, "p.bin: error: instruction 1 (byte 32): invalid opcode (opcode 30)");
  assert_diag_has(&d, "p.bin: error: instruction 2 (byte 48): reserved bits set");
  diag_end(&d);
}

static void test_file_header(void **state) {
  (void)state;
  unsigned char buf[3 * SYS_WORD_BYTES];
  sys_file_header(2, buf);
  SysWord w = {0x0123456789abcdefull, 0xfedcba9876543210ull};
  sys_word_write(&w, buf + 16);
  sys_word_write(&w, buf + 32);
  const unsigned char *words;
  uint32_t n;
  const char *why;
  assert_true(sys_file_parse(buf, sizeof buf, &words, &n, &why));
  assert_int_equal(n, 2);
  SysWord r = sys_word_read(words + 16);
  assert_memory_equal(&r, &w, sizeof w);
  assert_int_equal(buf[16], 0xef);
  assert_false(sys_file_parse(buf, sizeof buf - 1, &words, &n, &why));
  assert_non_null(strstr(why, "length"));
  assert_false(sys_file_parse(buf, 7, &words, &n, &why));
  buf[8] = 2;
  assert_false(sys_file_parse(buf, sizeof buf, &words, &n, &why));
  assert_non_null(strstr(why, "version"));
}

static void test_requant(void **state) {
  (void)state;
  /* Halves round away from zero. */
  assert_int_equal(rt_requant(5, 1, 1, 0, -128, 127), 3);
  assert_int_equal(rt_requant(-5, 1, 1, 0, -128, 127), -3);
  assert_int_equal(rt_requant(3, 1, 1, 0, -128, 127), 2);
  assert_int_equal(rt_requant(7, 1, 2, 0, -128, 127), 2);   /* 1.75 */
  assert_int_equal(rt_requant(-6, 1, 2, 0, -128, 127), -2); /* -1.5 */
  assert_int_equal(rt_requant(-5, 1, 2, 0, -128, 127), -1); /* -1.25 */
  /* Saturation, zero point, clamps, extreme operands. */
  assert_int_equal(rt_requant(1000, 1, 0, 0, -128, 127), 127);
  assert_int_equal(rt_requant(-1000, 1, 0, 0, -128, 127), -128);
  assert_int_equal(rt_requant(10, 1, 0, 120, -128, 127), 127);
  assert_int_equal(rt_requant(INT32_MIN, INT32_MIN, 62, 0, INT32_MIN, INT32_MAX), 1);
  assert_int_equal(rt_requant(INT32_MIN, INT32_MIN, 63, 0, INT32_MIN, INT32_MAX), 1); /* 0.5 -> 1 */
  assert_int_equal(rt_requant(INT32_MAX, INT32_MIN, 0, 0, INT32_MIN, INT32_MAX), INT32_MIN);
  assert_int_equal(rt_requant(1 << 20, 1518500250, 50, -3, -128, 127), -2); /* 2^20 * 1518500250 / 2^50 = 1.414 -> 1, plus the zero point -3 */
  assert_int_equal(rt_round_shift(-((int64_t)1 << 62), 63), -1);
}

static void test_pyfloat(void **state) {
  (void)state;
  static const struct {
    double v;
    const char *want; /* what Python's repr(v) prints */
  } cases[] = {
      {91.68309650614964, "91.68309650614964"}, {94.53125, "94.53125"}, {100.0, "100.0"}, {0.5, "0.5"},
      {12.0, "12.0"}, {0.0001, "0.0001"}, {0.00001, "1e-05"}, {1.5e-7, "1.5e-07"}, {1e16, "1e+16"},
      {1e15, "1000000000000000.0"}, {123456789012345678.0, "1.2345678901234568e+17"}, {-2.5, "-2.5"},
      {0.1, "0.1"}, {1.0 / 3, "0.3333333333333333"}, {0.0, "0.0"}, {-0.0, "-0.0"}, {5e-324, "5e-324"},
      {1.7976931348623157e308, "1.7976931348623157e+308"}, {0.000123, "0.000123"},
  };
  for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
    char buf[40];
    sys_format_pyfloat(cases[k].v, buf, sizeof buf);
    assert_string_equal(buf, cases[k].want);
  }
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_encode_decode_every_form), cmocka_unit_test(test_encode_refuses),
      cmocka_unit_test(test_listing_round_trip),       cmocka_unit_test(test_asm_errors),
      cmocka_unit_test(test_disasm_errors),            cmocka_unit_test(test_file_header),
      cmocka_unit_test(test_requant),                  cmocka_unit_test(test_pyfloat),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}

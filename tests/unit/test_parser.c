/* test_parser.c — units of the lexer and the parser: tokens, types, attributes, names,
 * regions, and recovery (several errors from one run). */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "frontend/lexer.h"
#include "frontend/parser.h"
#include "ir/op.h"
#include "ir/verify.h"

/* Lexes text and returns the kinds of its tokens (up to n) ending with TOK_EOF. */
static int lex_all(const char *text, TokKind *kinds, Token *toks, int n, DiagSink *d, IrArena *a) {
  Lexer lx;
  lex_init(&lx, "t", text, strlen(text), a, d);
  int k = 0;
  for (; k < n; k++) {
    toks[k] = lex_next(&lx);
    kinds[k] = toks[k].kind;
    if (kinds[k] == TOK_EOF) return k + 1;
  }
  return k;
}

static void test_lexer_tokens(void **state) {
  (void)state;
  DiagSink d;
  diag_init(&d, NULL);
  IrArena a;
  ir_arena_init(&a);
  TokKind k[32];
  Token t[32];
  int n = lex_all("%x %\"a.b\\\"c\" @g -12 0x1F 1.5e-3 -inf 0x1.8p-6 \"s\\x41\" # comment\n -> ( ) [ ] { } < > , : = ^ *", k, t, 32, &d, &a);
  TokKind want[] = {TOK_VALUE, TOK_VALUE, TOK_GLOBAL, TOK_INT, TOK_INT, TOK_FLOAT, TOK_FLOAT, TOK_FLOAT,
                    TOK_STRING, TOK_ARROW, TOK_LPAREN, TOK_RPAREN, TOK_LBRACKET, TOK_RBRACKET, TOK_LBRACE,
                    TOK_RBRACE, TOK_LANGLE, TOK_RANGLE, TOK_COMMA, TOK_COLON, TOK_EQUAL, TOK_CARET, TOK_STAR, TOK_EOF};
  assert_int_equal(n, (int)(sizeof want / sizeof want[0]));
  for (int i = 0; i < n; i++) assert_int_equal(k[i], want[i]);
  assert_string_equal(t[0].text, "x");
  assert_string_equal(t[1].text, "a.b\"c");
  assert_string_equal(t[2].text, "g");
  assert_int_equal(t[3].i, -12);
  assert_int_equal(t[4].i, 31);
  assert_true(t[5].f == 1.5e-3);
  assert_true(isinf(t[6].f) && t[6].f < 0);
  assert_true(t[7].f == 0.0234375); /* 1.5 * 2^-6 */
  assert_string_equal(t[8].text, "sA");
  assert_int_equal(t[9].loc.line, 2); /* '->' is on the second line */
  assert_int_equal(t[9].loc.col, 2);
  assert_int_equal(d.errors, 0);
  ir_arena_free(&a);
  diag_free(&d);
}

static void test_lexer_errors(void **state) {
  (void)state;
  const char *bad[] = {"$", "\"unterminated", "\"bad \\q escape\"", "12ab", "99999999999999999999", "%",
                       "x \xff y", "caf\xc3\xa9", "\"\xc3\x28\"", "%\"\"", "\"a\\x00b\"", "1e999"};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    DiagSink d;
    diag_init(&d, NULL);
    IrArena a;
    ir_arena_init(&a);
    TokKind k[16];
    Token t[16];
    lex_all(bad[i], k, t, 16, &d, &a);
    if (d.errors != 1) fail_msg("'%s': %d errors, expected 1", bad[i], d.errors);
    ir_arena_free(&a);
    diag_free(&d);
  }
}

/* Parses text, expecting success. */
static Graph *parse(const char *text) {
  DiagSink d;
  diag_init(&d, stderr);
  Graph *g = ir_parse_text(&d, "t.lathe", text, strlen(text));
  assert_non_null(g);
  assert_int_equal(ir_verify(g, &d), IR_OK);
  diag_free(&d);
  return g;
}

/* Parses (and verifies) text, expecting failure with exactly `errors` errors. */
static void parse_fails(const char *text, int errors) {
  DiagSink d;
  diag_init(&d, NULL);
  Graph *g = ir_parse_text(&d, "t.lathe", text, strlen(text));
  if (g) {
    ir_verify(g, &d);
    ir_graph_free(g);
  }
  if (d.errors != errors) fail_msg("expected %d errors, got %d for:\n%s", errors, d.errors, text);
  diag_free(&d);
}

static void test_parse_values(void **state) {
  (void)state;
  Graph *g = parse("lathe 1\n"
                   "graph @m(%x: f32[2,3], %\"y.1\": i64[]) -> (%a: f32[2,3], %b: f32[3,2]) {\n"
                   "  %t = transpose(%x) {perm = [1, 0]} : f32[3,2]\n"
                   "  %c = clip(%x) {max = 6, min = 0} : f32[2,3]\n"
                   "  %u = reshape(%c) {shape = [1, 1, 2, 3]} : f32[1,1,2,3]\n"
                   "  %p, _ = maxpool(%u) {kernel = [1, 1]} : f32[1,1,2,3], i64[1,1,2,3]\n"
                   "  return %c, %t\n"
                   "}\n");
  assert_string_equal(g->name, "m");
  assert_int_equal(g->body->nparams, 2);
  assert_string_equal(g->values[g->body->params[1]].name, "y.1");
  assert_int_equal(g->values[g->body->params[1]].type.rank, 0);
  assert_int_equal(g->body->nnodes, 4);
  const Node *clip = &g->nodes[g->body->nodes[1]];
  assert_int_equal(clip->op, OP_CLIP);
  /* integers written for float attributes are converted by the verifier */
  assert_int_equal(ir_attr(clip, "max")->kind, ATTR_FLOAT);
  assert_true(ir_attr_float(clip, "max", 0) == 6.0);
  const Node *pool = &g->nodes[g->body->nodes[3]];
  assert_int_equal(pool->noutputs, 2);
  assert_null(g->values[pool->outputs[1]].name);
  assert_int_equal(g->values[pool->outputs[1]].type.dtype, DT_I64);
  assert_string_equal(g->output_names[1], "b");
  assert_int_equal(g->body->results[1], g->nodes[g->body->nodes[0]].outputs[0]);
  /* locations point at the op name */
  assert_int_equal(clip->loc.line, 4);
  assert_int_equal(clip->loc.col, 8);
  ir_graph_free(g);
}

static void test_parse_types(void **state) {
  (void)state;
  Graph *g = parse("lathe 1\n"
                   "graph @m(%x: u8[2,3] quant(scale = 0.5, zero_point = 3), %w: i8[4,2] quant(axis = 0, scales = [1.0, 2.0, 0.25, 0x1p-4], zero_points = [0, 1, -1, 0]), %b: f32[1,20,2,2] layout(nChw16c)) -> (%o: f32[1,20,2,2]) {\n"
                   "  %o2 = reorder(%b) : f32[1,20,2,2]\n"
                   "  return %o2\n"
                   "}\n");
  const TensorType *x = &g->values[g->body->params[0]].type;
  assert_non_null(x->quant);
  assert_int_equal(x->quant->axis, -1);
  assert_true(x->quant->scales[0] == 0.5);
  assert_int_equal(x->quant->zero_points[0], 3);
  const TensorType *w = &g->values[g->body->params[1]].type;
  assert_int_equal(w->quant->axis, 0);
  assert_int_equal(w->quant->count, 4);
  assert_true(w->quant->scales[3] == 0.0625);
  assert_int_equal(w->quant->zero_points[2], -1);
  const TensorType *b = &g->values[g->body->params[2]].type;
  assert_non_null(b->layout);
  assert_string_equal(b->layout->text, "nChw16c");
  /* 20 channels in blocks of 16: two blocks, padded */
  assert_int_equal(ir_type_bytes(b), 1 * 2 * 2 * 2 * 16 * 4);
  ir_graph_free(g);
}

static void test_layout_pack_roundtrip(void **state) {
  (void)state;
  IrArena a;
  ir_arena_init(&a);
  const char *why;
  TensorType t = {DT_F32, 4, {1, 20, 2, 3}, NULL, NULL};
  t.layout = ir_layout_parse(&a, "nChw8c", 4, &why);
  assert_non_null(t.layout);
  float plain[120], phys[1 * 3 * 2 * 3 * 8], back[120];
  for (int i = 0; i < 120; i++) plain[i] = (float)i;
  assert_int_equal(ir_type_bytes(&t), (int64_t)sizeof phys);
  ir_tensor_pack(&t, plain, DT_F32, phys);
  /* element (n=0, c=9, h=1, w=2) sits in block 1, lane 1: ((1*2 + 1)*3 + 2)*8 + 1 */
  assert_true(phys[((1 * 2 + 1) * 3 + 2) * 8 + 1] == plain[(9 * 2 + 1) * 3 + 2]);
  /* the padding lanes of the last block (channels 20..23) are zero */
  assert_true(phys[((2 * 2 + 0) * 3 + 0) * 8 + 4] == 0.0f);
  ir_tensor_unpack(&t, phys, DT_F32, back);
  assert_memory_equal(plain, back, sizeof plain);
  /* bad layouts */
  assert_null(ir_layout_parse(&a, "nChw", 4, &why));
  assert_null(ir_layout_parse(&a, "nchwx", 4, &why));
  assert_null(ir_layout_parse(&a, "nchw", 3, &why));
  assert_null(ir_layout_parse(&a, "16c", 4, &why));
  ir_arena_free(&a);
}

static void test_f16_bf16_conversions(void **state) {
  (void)state;
  assert_int_equal(ir_f32_to_f16(1.0f), 0x3c00);
  assert_int_equal(ir_f32_to_f16(65504.0f), 0x7bff);
  assert_int_equal(ir_f32_to_f16(65520.0f), 0x7c00);  /* rounds to infinity */
  assert_int_equal(ir_f32_to_f16(5.9604645e-08f), 0x0001); /* smallest subnormal */
  assert_int_equal(ir_f32_to_f16(-2.0f), 0xc000);
  assert_int_equal(ir_f32_to_f16(0.1f), 0x2e66);
  assert_true(ir_f16_to_f32(0x3555) == 0.333251953125f);
  assert_true(ir_f16_to_f32(0x0001) == 5.9604645e-08f);
  assert_int_equal(ir_f32_to_bf16(1.0f), 0x3f80);
  assert_int_equal(ir_f32_to_bf16(3.14159265f), 0x4049);
  assert_int_equal(ir_f32_to_bf16(1.00390625f), 0x3f80); /* a tie rounds to even */
  assert_int_equal(ir_f32_to_bf16(1.01171875f), 0x3f82); /* a tie rounds to even (up) */
  assert_true(ir_bf16_to_f32(0xc0a0) == -5.0f);
  /* every f16 bit pattern converts to f32 and back unchanged (NaNs stay NaN) */
  for (uint32_t h = 0; h < 65536; h++) {
    float f = ir_f16_to_f32((uint16_t)h);
    if (isnan(f)) assert_true((ir_f32_to_f16(f) & 0x7c00) == 0x7c00 && (ir_f32_to_f16(f) & 0x3ff));
    else assert_int_equal(ir_f32_to_f16(f), h);
  }
}

static void test_recovery_reports_several_errors(void **state) {
  (void)state;
  parse_fails("lathe 1\n"
              "graph @m(%x: f32[2]) -> (%o: f32[2]) {\n"
              "  %a = relu(%x) : f33[2]\n"
              "  %b = relu(%x) $ : f32[2]\n"
              "  %c = frobnicate(%x) : f32[2]\n"
              "  %d = relu(%x) : f32[2]\n"
              "  return %d\n"
              "}\n",
              3);
}

static void test_names(void **state) {
  (void)state;
  parse_fails("lathe 1\ngraph @m(%x: f32[2]) -> (%o: f32[2]) {\n  %x = relu(%x) : f32[2]\n  return %x\n}\n", 1);
  parse_fails("lathe 1\ngraph @m(%x: f32[2]) -> (%o: f32[2]) {\n  %a = relu(%nope) : f32[2]\n  return %a\n}\n", 1);
  parse_fails("lathe 1\ngraph @m(%x: f32[2]) -> (%o: f32[2]) {\n  %a = relu(%b) : f32[2]\n  %b = relu(%x) : f32[2]\n  return %a\n}\n", 1);
  parse_fails("lathe 1\ngraph @m(%x: f32[2]) -> (%o: f32[2], %o: f32[2]) {\n  return %x, %x\n}\n", 1);
  parse_fails("lathe 1\ngraph @m(%x: f32[2]) -> (%o: f32[2]) {\n  return %x, %x\n}\n", 1);
  /* regions are isolated: a body cannot see %x */
  parse_fails("lathe 1\ngraph @m(%x: f32[2]) -> (%o: f32[2]) {\n"
              "  %f = fused \"f\" (%x) : f32[2] {\n    ^(%p):\n      %q = add(%p, %x) : f32[2]\n      yield %q\n  }\n"
              "  return %f\n}\n",
              1);
}

static void test_limits(void **state) {
  (void)state;
  /* rank 9 */
  parse_fails("lathe 1\ngraph @m(%x: f32[1,1,1,1,1,1,1,1,1]) -> (%o: f32[1]) {\n  return %x\n}\n", 1);
  /* element count overflows int64 */
  parse_fails("lathe 1\ngraph @m(%x: f32[4294967296,4294967296,4294967296]) -> (%o: f32[1]) {\n  return %x\n}\n", 1);
  /* over the element limit without overflowing */
  parse_fails("lathe 1\ngraph @m(%x: f32[1000000,1000000]) -> (%o: f32[1]) {\n  return %x\n}\n", 1);
  /* a name longer than the limit */
  char *text = malloc(4000);
  int n = snprintf(text, 4000, "lathe 1\ngraph @m(%%");
  memset(text + n, 'a', 1100);
  snprintf(text + n + 1100, 4000 - (size_t)n - 1100, ": f32[1]) -> (%%o: f32[1]) {\n  return %%a\n}\n");
  parse_fails(text, 1); /* the long name; nothing follows from it */
  free(text);
  /* a dense literal far larger than its type */
  parse_fails("lathe 1\ngraph @m() -> (%o: f32[2]) {\n  %c = const dense<[1.0, 2.0, 3.0]> : f32[2]\n  return %c\n}\n", 1);
  parse_fails("lathe 1\ngraph @m() -> (%o: i8[2]) {\n  %c = const dense<[1, 200]> : i8[2]\n  return %c\n}\n", 1);
  /* inline data over 256 MiB: refused before anything is allocated */
  parse_fails("lathe 1\ngraph @m() -> (%o: f32[1]) {\n  %c = const dense<0.0> : f32[68719476736]\n  return %c\n}\n", 1);
  /* a finite literal that overflows f16 */
  parse_fails("lathe 1\ngraph @m() -> (%o: f16[1]) {\n  %c = const dense<[70000.0]> : f16[1]\n  return %c\n}\n", 1);
  /* explicit NaN bits must be a NaN */
  parse_fails("lathe 1\ngraph @m() -> (%o: f32[1]) {\n  %c = const dense<[nan(0x3f800000)]> : f32[1]\n  return %c\n}\n", 1);
  /* a zero block size in a layout */
  parse_fails("lathe 1\ngraph @m(%x: f32[1,2,3,4] layout(n0chw)) -> (%o: f32[1]) {\n  return %x\n}\n", 1);
  /* .5 is a number */
  Graph *g = parse("lathe 1\ngraph @m() -> (%o: f32[2]) {\n  %c = const dense<[.5, -.25]> : f32[2]\n  return %c\n}\n");
  float want[2] = {0.5f, -0.25f};
  assert_memory_equal(g->nodes[0].data->data, want, sizeof want);
  ir_graph_free(g);
}

static void test_version_and_trailing(void **state) {
  (void)state;
  parse_fails("lathe 2\ngraph @m(%x: f32[2]) -> (%o: f32[2]) {\n  return %x\n}\n", 1);
  parse_fails("graph @m(%x: f32[2]) -> (%o: f32[2]) {\n  return %x\n}\n", 1);
  parse_fails("lathe 1\ngraph @m(%x: f32[2]) -> (%o: f32[2]) {\n  return %x\n}\nextra\n", 1);
  parse_fails("", 1);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_lexer_tokens),
      cmocka_unit_test(test_lexer_errors),
      cmocka_unit_test(test_parse_values),
      cmocka_unit_test(test_parse_types),
      cmocka_unit_test(test_layout_pack_roundtrip),
      cmocka_unit_test(test_f16_bf16_conversions),
      cmocka_unit_test(test_recovery_reports_several_errors),
      cmocka_unit_test(test_names),
      cmocka_unit_test(test_limits),
      cmocka_unit_test(test_version_and_trailing),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}

/* test_safetensors.c — the safetensors reader on good and hostile bytes, and the writer. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <cmocka.h>

#include "frontend/safetensors.h"
#include "ir/fs.h"

/* The scratch directory of this program. */
#define ST_DIR LATHE_TEST_TMP "/safetensors/"
/* The name diagnostics give parsed byte strings. */
#define NAME "t.safetensors"

#include "diag_capture.h"

/* Builds a safetensors file: the 8-byte length, json (with every ' turned into ", for
 * readability here; header_len < 0: its real length), then data_len bytes 0, 1, 2, ... */
static IrBuffer *mk_raw(const char *json, int64_t header_len, size_t data_len) {
  size_t jl = strlen(json);
  IrBuffer *b = ir_buffer_new((int64_t)(8 + jl + data_len));
  assert_non_null(b);
  unsigned char *p = b->data;
  uint64_t n = header_len < 0 ? (uint64_t)jl : (uint64_t)header_len;
  for (int i = 0; i < 8; i++) p[i] = (unsigned char)(n >> (8 * i));
  for (size_t i = 0; i < jl; i++) p[8 + i] = json[i] == '\'' ? '"' : (unsigned char)json[i];
  for (size_t i = 0; i < data_len; i++) p[8 + jl + i] = (unsigned char)i;
  return b;
}

/* mk_raw with the true header length. */
static IrBuffer *mk(const char *json, size_t data_len) { return mk_raw(json, -1, data_len); }

static int setup(void **state) {
  (void)state;
  if (mkdir(ST_DIR, 0777) != 0 && errno != EEXIST) return -1;
  return 0;
}

/* ---- reading good files ------------------------------------------------------------------------- */

static void test_parse_good(void **state) {
  (void)state;
  DiagSink d;
  diag_start(&d);
  const char *json = "{'a':{'dtype':'F32','shape':[2],'data_offsets':[0,8]},"
                     "'__metadata__':{'format':'pt'},"
                     "'b.c':{'shape':[1,3],'dtype':'I8','data_offsets':[8,11]},"
                     "'s':{'dtype':'BF16','shape':[],'data_offsets':[12,14]},"
                     "'z':{'dtype':'I64','shape':[0,5],'data_offsets':[4,4]}}    ";
  IrBuffer *file = mk(json, 14);
  int64_t base = 8 + (int64_t)strlen(json);
  SafeTensors st;
  assert_int_equal(st_parse(file, NAME, &st, &d), IR_OK);
  assert_int_equal(d.errors, 0);
  assert_int_equal(st.count, 4);
  assert_ptr_equal(st.file, file);
  assert_int_equal(file->refs, 2);
  /* header order is kept */
  assert_string_equal(st.entries[0].name, "a");
  assert_string_equal(st.entries[1].name, "b.c");
  assert_string_equal(st.entries[2].name, "s");
  assert_string_equal(st.entries[3].name, "z");
  const StEntry *a = st_find(&st, "a");
  assert_ptr_equal(a, &st.entries[0]);
  assert_int_equal(a->type.dtype, DT_F32);
  assert_int_equal(a->type.rank, 1);
  assert_int_equal(a->type.dims[0], 2);
  assert_null(a->type.layout);
  assert_null(a->type.quant);
  assert_int_equal(a->begin, base);
  assert_int_equal(a->end, base + 8);
  const StEntry *bc = st_find(&st, "b.c");
  assert_int_equal(bc->type.dtype, DT_I8);
  assert_int_equal(bc->type.rank, 2);
  assert_int_equal(bc->type.dims[0], 1);
  assert_int_equal(bc->type.dims[1], 3);
  const StEntry *s = st_find(&st, "s");
  assert_int_equal(s->type.dtype, DT_BF16);
  assert_int_equal(s->type.rank, 0);
  const StEntry *z = st_find(&st, "z");
  assert_int_equal(z->type.dtype, DT_I64);
  assert_int_equal(z->end - z->begin, 0);
  assert_null(st_find(&st, "missing"));
  assert_null(st_find(&st, "__metadata__"));
  IrBuffer *data = st_data(&st, bc);
  assert_non_null(data);
  assert_int_equal(data->size, 3);
  assert_memory_equal(data->data, "\x08\x09\x0a", 3);
  assert_int_equal(file->refs, 3);
  ir_buffer_unref(data);
  st_free(&st);
  assert_int_equal(st.count, 0);
  assert_null(st.file);
  assert_null(st.entries);
  st_free(&st); /* harmless twice */
  assert_int_equal(file->refs, 1);
  ir_buffer_unref(file);
  diag_end(&d);
}

static void test_parse_empty_and_gaps(void **state) {
  (void)state;
  DiagSink d;
  diag_start(&d);
  SafeTensors st;
  IrBuffer *f = mk("{}", 0);
  assert_int_equal(st_parse(f, NAME, &st, &d), IR_OK);
  assert_int_equal(st.count, 0);
  st_free(&st);
  ir_buffer_unref(f);
  /* holes in the data section are allowed, and so are empty tensors inside another's bytes */
  f = mk("{'a':{'dtype':'U8','shape':[2],'data_offsets':[4,6]},"
         "'e':{'dtype':'F32','shape':[0],'data_offsets':[5,5]},"
         "'b':{'dtype':'BOOL','shape':[1],'data_offsets':[9,10]}}", 12);
  assert_int_equal(st_parse(f, NAME, &st, &d), IR_OK);
  assert_int_equal(st.count, 3);
  st_free(&st);
  ir_buffer_unref(f);
  assert_int_equal(d.errors, 0);
  diag_end(&d);
}

static void test_read_example_file(void **state) {
  (void)state;
  DiagSink d;
  diag_start(&d);
  SafeTensors st;
  assert_int_equal(st_read(LATHE_SOURCE_DIR "/examples/digits/digits.safetensors", &st, &d), IR_OK);
  assert_true(st.count > 0);
  const StEntry *e = st_find(&st, "bn1.bias");
  assert_non_null(e);
  assert_int_equal(e->type.dtype, DT_F32);
  assert_int_equal(e->type.rank, 1);
  assert_int_equal(e->type.dims[0], 8);
  assert_int_equal(e->end - e->begin, 32);
  assert_int_equal(st.file->refs, 1); /* st_read gave its own reference away */
  st_free(&st);
  /* a missing file is an open error */
  assert_int_equal(st_read(ST_DIR "missing.safetensors", &st, &d), IR_ERR_INPUT);
  assert_int_equal(st.count, 0);
  assert_int_equal(d.errors, 1);
  assert_diag_has(&d, "missing.safetensors: error: cannot open");
  diag_end(&d);
}

/* ---- reading bad files --------------------------------------------------------------------------- */

/* One hostile input: its header (' for "), data bytes and the phrase its error must carry. */
typedef struct BadCase {
  const char *json;
  size_t data_len;
  const char *phrase;
} BadCase;

static const BadCase bad_cases[] = {
    {"{'a':", 0, "header is not valid JSON"},
    {"", 0, "header is not valid JSON"},
    {"{} x", 0, "header is not valid JSON"},
    {"{'a':{'dtype':'F32','shape':[99999999999999999999],'data_offsets':[0,0]}}", 0, "header is not valid JSON"},
    {"{'a\\u0000b':{'dtype':'F32','shape':[0],'data_offsets':[0,0]}}", 0, "header is not valid JSON"},
    {"{'\xff':{}}", 0, "header is not valid JSON"},
    {"[1,2]", 0, "header: the JSON is not an object"},
    {"{'a':5}", 0, "tensor 'a': the entry is not a JSON object"},
    {"{'a':{'shape':[1],'data_offsets':[0,4]}}", 4, "tensor 'a': \"dtype\" is missing"},
    {"{'a':{'dtype':7,'shape':[1],'data_offsets':[0,4]}}", 4, "tensor 'a': \"dtype\" is not a string"},
    {"{'a':{'dtype':'Q7','shape':[1],'data_offsets':[0,4]}}", 4, "tensor 'a': unknown dtype 'Q7'"},
    {"{'a':{'dtype':'f32','shape':[1],'data_offsets':[0,4]}}", 4, "tensor 'a': unknown dtype 'f32'"},
    {"{'a':{'dtype':'F64','shape':[1],'data_offsets':[0,8]}}", 8, "tensor 'a': dtype 'F64' is not supported"},
    {"{'a':{'dtype':'F32','data_offsets':[0,4]}}", 4, "tensor 'a': \"shape\" is missing"},
    {"{'a':{'dtype':'F32','shape':4,'data_offsets':[0,4]}}", 4, "tensor 'a': \"shape\" is not a list"},
    {"{'a':{'dtype':'F32','shape':[-1],'data_offsets':[0,4]}}", 4, "\"shape\" must be a list of non-negative integers"},
    {"{'a':{'dtype':'F32','shape':[1.0],'data_offsets':[0,4]}}", 4, "\"shape\" must be a list of non-negative integers"},
    {"{'a':{'dtype':'F32','shape':['1'],'data_offsets':[0,4]}}", 4, "\"shape\" must be a list of non-negative integers"},
    {"{'a':{'dtype':'F32','shape':[1,1,1,1,1,1,1,1,1],'data_offsets':[0,4]}}", 4, "tensor 'a': rank 9 is over the limit of 8"},
    {"{'a':{'dtype':'F32','shape':[4294967296,4294967296],'data_offsets':[0,4]}}", 4,
     "tensor 'a': bad shape: the element count is over the limit"},
    {"{'a':{'dtype':'F32','shape':[9223372036854775807,2],'data_offsets':[0,4]}}", 4,
     "tensor 'a': bad shape: the element count is over the limit"},
    {"{'a':{'dtype':'I64','shape':[68719476736],'data_offsets':[0,4]}}", 4,
     "tensor 'a': bad shape: the size in bytes is over the limit"},
    {"{'a':{'dtype':'F32','shape':[1]}}", 4, "tensor 'a': \"data_offsets\" is missing"},
    {"{'a':{'dtype':'F32','shape':[1],'data_offsets':[0]}}", 4, "\"data_offsets\" is not a list of two integers"},
    {"{'a':{'dtype':'F32','shape':[1],'data_offsets':[0,'4']}}", 4, "\"data_offsets\" is not a list of two integers"},
    {"{'a':{'dtype':'F32','shape':[1],'data_offsets':[0,4,8]}}", 8, "\"data_offsets\" is not a list of two integers"},
    {"{'a':{'dtype':'F32','shape':[25],'data_offsets':[0,100]}}", 8,
     "tensor 'a': data_offsets [0, 100] are out of range: the data section is 8 bytes"},
    {"{'a':{'dtype':'F32','shape':[2],'data_offsets':[-4,4]}}", 8, "tensor 'a': data_offsets [-4, 4] are out of range"},
    {"{'a':{'dtype':'F32','shape':[1],'data_offsets':[8,4]}}", 8, "tensor 'a': data_offsets [8, 4] are reversed"},
    {"{'a':{'dtype':'F32','shape':[3],'data_offsets':[0,8]}}", 8,
     "tensor 'a': data size mismatch: data_offsets [0, 8] hold 8 bytes but F32 [3] needs 12"},
    {"{'a':{'dtype':'F16','shape':[2,2],'data_offsets':[0,4]}}", 8, "but F16 [2, 2] needs 8"},
    {"{'a':{'dtype':'F32','shape':[2],'data_offsets':[0,8]},'b':{'dtype':'F32','shape':[2],'data_offsets':[4,12]}}", 12,
     "tensors 'a' and 'b' overlap: data_offsets [0, 8] and [4, 12]"},
    {"{'b':{'dtype':'U8','shape':[2],'data_offsets':[2,4]},'a':{'dtype':'U8','shape':[8],'data_offsets':[0,8]}}", 8,
     "tensors 'a' and 'b' overlap"},
    {"{'a':{'dtype':'F32','shape':[1],'data_offsets':[0,4]},'a':{'dtype':'F32','shape':[1],'data_offsets':[4,8]}}", 8,
     "tensor 'a': the name appears twice in the header"},
    {"{'a':{'dtype':'F32','dtype':'F32','shape':[1],'data_offsets':[0,4]}}", 4,
     "field 'dtype' appears twice in one tensor's entry"},
    {"{'__metadata__':[1]}", 0, "\"__metadata__\" is not a JSON object"},
    {"{'__metadata__':{'k':1}}", 0, "\"__metadata__\" entry 'k' is not a string"},
    {"{'a\\nb':{'dtype':'X','shape':[1],'data_offsets':[0,4]}}", 4, "tensor 'a\\x0ab': unknown dtype 'X'"},
};

static void test_bad_inputs(void **state) {
  (void)state;
  for (size_t i = 0; i < sizeof bad_cases / sizeof bad_cases[0]; i++) {
    const BadCase *c = &bad_cases[i];
    DiagSink d;
    diag_start(&d);
    IrBuffer *f = mk(c->json, c->data_len);
    SafeTensors st;
    IrStatus s = st_parse(f, NAME, &st, &d);
    if (s != IR_ERR_INPUT || d.errors != 1)
      fail_msg("case %zu (%s): status %d, %d errors:\n%s", i, c->json, s, d.errors, diag_text(&d));
    assert_int_equal(st.count, 0);
    assert_null(st.file);
    assert_null(st.entries);
    assert_int_equal(f->refs, 1);
    assert_diag_has(&d, NAME ": error: ");
    assert_diag_has(&d, c->phrase);
    ir_buffer_unref(f);
    diag_end(&d);
  }
}

static void test_bad_lengths(void **state) {
  (void)state;
  DiagSink d;
  diag_start(&d);
  SafeTensors st;
  /* shorter than the length field */
  IrBuffer *f = ir_buffer_new(5);
  assert_int_equal(st_parse(f, NAME, &st, &d), IR_ERR_INPUT);
  assert_int_equal(d.errors, 1);
  assert_diag_has(&d, "truncated: the file is 5 bytes, too short for the 8-byte header length");
  ir_buffer_unref(f);
  /* a header length past the end of the file (every file prefix of a good file, too) */
  f = mk_raw("{}", 1000, 0);
  assert_int_equal(st_parse(f, NAME, &st, &d), IR_ERR_INPUT);
  assert_int_equal(d.errors, 2);
  assert_diag_has(&d, "truncated: the header length 1000 is beyond the end of the file (10 bytes)");
  ir_buffer_unref(f);
  f = mk_raw("{}", -1, 0);
  ((unsigned char *)f->data)[7] = 0x80; /* 2^63 + 2 */
  assert_int_equal(st_parse(f, NAME, &st, &d), IR_ERR_INPUT);
  assert_int_equal(d.errors, 3);
  assert_diag_has(&d, "header length 9223372036854775810 is beyond the end of the file");
  ir_buffer_unref(f);
  /* a header over the limit, in a (pretended) 200 MB file: only the first 8 bytes are read */
  unsigned char head[8];
  uint64_t n = 150 * 1000 * 1000;
  for (int i = 0; i < 8; i++) head[i] = (unsigned char)(n >> (8 * i));
  IrBuffer fake = {1, head, 200 * 1000 * 1000, NULL, NULL};
  assert_int_equal(st_parse(&fake, NAME, &st, &d), IR_ERR_INPUT);
  assert_int_equal(d.errors, 4);
  assert_diag_has(&d, "the header length 150000000 is over the limit of 100000000 bytes");
  assert_int_equal(fake.refs, 1);
  /* an over-long name */
  char json[1200];
  char name[IR_MAX_NAME + 2];
  memset(name, 'n', sizeof name - 1);
  name[sizeof name - 1] = 0;
  snprintf(json, sizeof json, "{'%s':{'dtype':'U8','shape':[1],'data_offsets':[0,1]}}", name);
  f = mk(json, 1);
  assert_int_equal(st_parse(f, NAME, &st, &d), IR_ERR_INPUT);
  assert_int_equal(d.errors, 5);
  assert_diag_has(&d, "the name is 1025 bytes, over the limit of 1024");
  assert_diag_has(&d, "tensor 'nnnnnnnnnn"); /* named, cut short */
  assert_diag_has(&d, "n...'");
  ir_buffer_unref(f);
  /* every proper prefix of a good file is refused cleanly */
  IrBuffer *good = mk("{'a':{'dtype':'F32','shape':[2],'data_offsets':[0,8]}}", 8);
  for (int64_t len = 0; len < good->size; len++) {
    DiagSink q;
    diag_init(&q, NULL);
    IrBuffer *cut = ir_buffer_slice(good, 0, len);
    assert_int_equal(st_parse(cut, NAME, &st, &q), IR_ERR_INPUT);
    assert_int_equal(q.errors, 1);
    ir_buffer_unref(cut);
    diag_free(&q);
  }
  ir_buffer_unref(good);
  diag_end(&d);
}

/* ---- writing --------------------------------------------------------------------------------------- */

static void test_write_exact_bytes(void **state) {
  (void)state;
  DiagSink d;
  diag_start(&d);
  float w[4] = {1, 2, 3, 4};
  Tensor t = {.type = {.dtype = DT_F32, .rank = 2, .dims = {2, 2}}, .data = w};
  const char *names[] = {"w"};
  assert_int_equal(st_write(ST_DIR "one.safetensors", 1, names, &t, &d), IR_OK);
  IrBuffer *b;
  assert_int_equal(ir_read_file(ST_DIR "one.safetensors", 1 << 20, &b, &d), IR_OK);
  const char *json = "{\"w\":{\"dtype\":\"F32\",\"shape\":[2,2],\"data_offsets\":[0,16]}}"; /* 57 bytes */
  size_t jl = strlen(json);
  assert_int_equal(jl, 57);
  assert_int_equal(b->size, 8 + 64 + 16);
  const unsigned char *p = b->data;
  assert_memory_equal(p, "\x40\0\0\0\0\0\0\0", 8); /* padded to 64 */
  assert_memory_equal(p + 8, json, jl);
  for (size_t i = jl; i < 64; i++) assert_int_equal(p[8 + i], ' ');
  assert_memory_equal(p + 72, w, 16);
  ir_buffer_unref(b);
  /* no tensors at all: "{}" padded to 8 */
  assert_int_equal(st_write(ST_DIR "none.safetensors", 0, NULL, NULL, &d), IR_OK);
  assert_int_equal(ir_read_file(ST_DIR "none.safetensors", 1 << 20, &b, &d), IR_OK);
  assert_int_equal(b->size, 16);
  assert_memory_equal(b->data, "\x08\0\0\0\0\0\0\0{}      ", 16);
  ir_buffer_unref(b);
  assert_int_equal(d.errors, 0);
  diag_end(&d);
}

static void test_write_read_roundtrip(void **state) {
  (void)state;
  DiagSink d;
  diag_start(&d);
  enum { N = 9 };
  static unsigned char bytes[N][64];
  for (int i = 0; i < N; i++)
    for (int k = 0; k < 64; k++) bytes[i][k] = (unsigned char)(i * 31 + k);
  Tensor ts[N] = {
      {.type = {.dtype = DT_F32, .rank = 2, .dims = {2, 3}}, .data = bytes[0]},
      {.type = {.dtype = DT_F16, .rank = 1, .dims = {5}}, .data = bytes[1]},
      {.type = {.dtype = DT_BF16, .rank = 3, .dims = {1, 2, 3}}, .data = bytes[2]},
      {.type = {.dtype = DT_I8, .rank = 1, .dims = {7}}, .data = bytes[3]},
      {.type = {.dtype = DT_U8, .rank = 0}, .data = bytes[4]},
      {.type = {.dtype = DT_I32, .rank = 2, .dims = {3, 1}}, .data = bytes[5]},
      {.type = {.dtype = DT_I64, .rank = 1, .dims = {2}}, .data = bytes[6]},
      {.type = {.dtype = DT_BOOL, .rank = 1, .dims = {3}}, .data = bytes[7]},
      {.type = {.dtype = DT_F32, .rank = 2, .dims = {0, 4}}, .data = NULL},
  };
  const char *names[N] = {"conv.weight", "f16", "bf16 \xc3\xa9t\xc3\xa9", "i8", "scalar", "i32", "i64", "mask", "empty"};
  assert_int_equal(st_write(ST_DIR "rt.safetensors", N, names, ts, &d), IR_OK);
  SafeTensors st;
  assert_int_equal(st_read(ST_DIR "rt.safetensors", &st, &d), IR_OK);
  assert_int_equal(d.errors, 0);
  assert_int_equal(st.count, N);
  int64_t header = 0;
  for (int i = 7; i >= 0; i--) header = header * 256 + ((unsigned char *)st.file->data)[i];
  assert_int_equal(header % 8, 0);
  int64_t at = 8 + header; /* tensors follow each other in the order given */
  for (int i = 0; i < N; i++) {
    const StEntry *e = &st.entries[i];
    assert_string_equal(e->name, names[i]);
    assert_ptr_equal(st_find(&st, names[i]), e);
    assert_true(ir_type_equal(&e->type, &ts[i].type));
    int64_t n = ir_type_bytes(&ts[i].type);
    assert_int_equal(e->begin, at);
    assert_int_equal(e->end - e->begin, n);
    at += n;
    IrBuffer *b = st_data(&st, e);
    assert_non_null(b);
    assert_int_equal(b->size, n);
    if (n) assert_memory_equal(b->data, ts[i].data, (size_t)n);
    ir_buffer_unref(b);
  }
  assert_int_equal(at, st.file->size);
  st_free(&st);
  diag_end(&d);
}

static void test_write_bad_arguments(void **state) {
  (void)state;
  DiagSink d;
  diag_start(&d);
  const char *path = ST_DIR "keep.safetensors";
  float w[2] = {1, 2};
  Tensor t = {.type = {.dtype = DT_F32, .rank = 1, .dims = {2}}, .data = w};
  const char *one[] = {"x"};
  assert_int_equal(st_write(path, 1, one, &t, &d), IR_OK);
  IrBuffer *before;
  assert_int_equal(ir_read_file(path, 1 << 20, &before, &d), IR_OK);

  Tensor two[2] = {t, t};
  const char *dup[] = {"x", "x"};
  assert_int_equal(st_write(path, 2, dup, two, &d), IR_ERR_USAGE);
  assert_int_equal(d.errors, 1);
  assert_diag_has(&d, "keep.safetensors: error: tensor 'x': the name is given twice");

  const char *meta[] = {"__metadata__"};
  assert_int_equal(st_write(path, 1, meta, &t, &d), IR_ERR_USAGE);
  assert_diag_has(&d, "the name is reserved");
  const char *bad_utf8[] = {"bad\xff"};
  assert_int_equal(st_write(path, 1, bad_utf8, &t, &d), IR_ERR_USAGE);
  assert_diag_has(&d, "tensor 'bad\xff': the name is not valid UTF-8");
  const char *null_name[] = {NULL};
  assert_int_equal(st_write(path, 1, null_name, &t, &d), IR_ERR_USAGE);
  assert_diag_has(&d, "tensor 0 has no name");

  Layout layout = {.text = "ba", .ndims = 1, .dim = {0}, .block = {0}};
  Tensor laid = t;
  laid.type.layout = &layout;
  assert_int_equal(st_write(path, 1, one, &laid, &d), IR_ERR_USAGE);
  assert_diag_has(&d, "has layout ba; safetensors holds only row-major tensors");
  Tensor neg = t;
  neg.type.dims[0] = -2;
  assert_int_equal(st_write(path, 1, one, &neg, &d), IR_ERR_USAGE);
  assert_diag_has(&d, "tensor 'x': bad type: a dimension is negative");
  Tensor nodata = t;
  nodata.data = NULL;
  assert_int_equal(st_write(path, 1, one, &nodata, &d), IR_ERR_USAGE);
  assert_diag_has(&d, "tensor 'x': has no data");
  assert_int_equal(d.errors, 7);

  /* none of the failures touched the file or left a temporary one */
  IrBuffer *after;
  assert_int_equal(ir_read_file(path, 1 << 20, &after, &d), IR_OK);
  assert_int_equal(after->size, before->size);
  assert_memory_equal(after->data, before->data, (size_t)before->size);
  ir_buffer_unref(before);
  ir_buffer_unref(after);
  struct stat sb;
  char tmpl[256];
  snprintf(tmpl, sizeof tmpl, "%s.tmp.", path);
  assert_int_not_equal(stat(tmpl, &sb), 0);
  diag_end(&d);
}

static void test_alloc_failures(void **state) {
  (void)state;
  DiagSink d;
  diag_init(&d, NULL);
  IrBuffer *f = mk("{'__metadata__':{'a':'b'},'a':{'dtype':'F32','shape':[2],'data_offsets':[0,8]},"
                   "'b':{'dtype':'U8','shape':[3],'data_offsets':[8,11]}}", 11);
  bool done = false;
  for (uint64_t n = 1; n < 500 && !done; n++) {
    SafeTensors st;
    ir_alloc_fail_after(n);
    IrStatus s = st_parse(f, NAME, &st, &d);
    ir_alloc_fail_after(0);
    if (s == IR_OK) {
      assert_int_equal(st.count, 2);
      st_free(&st);
      done = true;
    } else {
      assert_int_equal(s, IR_ERR_INPUT);
      assert_null(st.file);
    }
    assert_int_equal(f->refs, 1);
  }
  assert_true(done);
  ir_buffer_unref(f);
  uint8_t bytes[6] = {1, 2, 3, 4, 5, 6};
  Tensor ts[2] = {{.type = {.dtype = DT_U8, .rank = 1, .dims = {6}}, .data = bytes},
                  {.type = {.dtype = DT_I8, .rank = 2, .dims = {2, 3}}, .data = bytes}};
  const char *names[2] = {"p", "q"};
  done = false;
  for (uint64_t n = 1; n < 500 && !done; n++) {
    ir_alloc_fail_after(n);
    IrStatus s = st_write(ST_DIR "oom.safetensors", 2, names, ts, &d);
    ir_alloc_fail_after(0);
    done = s == IR_OK;
    if (!done) assert_int_equal(s, IR_ERR_INPUT);
  }
  assert_true(done);
  SafeTensors st;
  assert_int_equal(st_read(ST_DIR "oom.safetensors", &st, &d), IR_OK);
  assert_int_equal(st.count, 2);
  st_free(&st);
  diag_free(&d);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_parse_good),
      cmocka_unit_test(test_parse_empty_and_gaps),
      cmocka_unit_test(test_read_example_file),
      cmocka_unit_test(test_bad_inputs),
      cmocka_unit_test(test_bad_lengths),
      cmocka_unit_test(test_write_exact_bytes),
      cmocka_unit_test(test_write_read_roundtrip),
      cmocka_unit_test(test_write_bad_arguments),
      cmocka_unit_test(test_alloc_failures),
  };
  return cmocka_run_group_tests(tests, setup, NULL);
}

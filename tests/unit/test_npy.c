/* test_npy.c — the .npy reader on bytes laid out as NumPy writes them and on hostile bytes,
 * and the writer (exact bytes and round trips). No Python needed. */
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

#include "frontend/npy.h"
#include "ir/fs.h"

/* The scratch directory of this program. */
#define NPY_DIR LATHE_TEST_TMP "/npy/"
/* The name diagnostics give parsed byte strings. */
#define NAME "t.npy"

#include "diag_capture.h"

/* Returns a buffer holding the n bytes at p. */
static IrBuffer *buf_of(const void *p, size_t n) {
  IrBuffer *b = ir_buffer_new((int64_t)n);
  assert_non_null(b);
  if (n) memcpy(b->data, p, n);
  return b;
}

/* Builds a .npy file of format version major.0 as NumPy lays it out: magic, version, header
 * length, dict, spaces and '\n' up to a multiple of 64 bytes (align = 0: no padding, just
 * the '\n'), then data_len bytes 0, 1, 2, ... */
static IrBuffer *mk_npy(int major, const char *dict, int align, size_t data_len) {
  size_t pre = major == 1 ? 10 : 12, dl = strlen(dict), hl = dl + 1;
  if (align)
    while ((pre + hl) % (size_t)align) hl++;
  IrBuffer *b = ir_buffer_new((int64_t)(pre + hl + data_len));
  assert_non_null(b);
  unsigned char *p = b->data;
  memcpy(p, "\x93NUMPY", 6);
  p[6] = (unsigned char)major;
  p[7] = 0;
  for (size_t i = 0; i < pre - 8; i++) p[8 + i] = (unsigned char)(hl >> (8 * i));
  memcpy(p + pre, dict, dl);
  memset(p + pre + dl, ' ', hl - dl - 1);
  p[pre + hl - 1] = '\n';
  for (size_t i = 0; i < data_len; i++) p[pre + hl + i] = (unsigned char)i;
  return b;
}

/* np.arange(6, dtype='<f4').reshape(2, 3), as np.save writes it (format 1.0). */
static const char arange_npy[] =
    "\x93NUMPY\x01\x00\x76\x00"
    "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }"
    "                                                          \n"
    "\x00\x00\x00\x00\x00\x00\x80\x3f\x00\x00\x00\x40\x00\x00\x40\x40\x00\x00\x80\x40\x00\x00\xa0\x40";
enum { ARANGE_LEN = sizeof arange_npy - 1 };

static int setup(void **state) {
  (void)state;
  if (mkdir(NPY_DIR, 0777) != 0 && errno != EEXIST) return -1;
  return 0;
}

/* ---- reading good files --------------------------------------------------------------------------- */

static void test_read_numpy_bytes(void **state) {
  (void)state;
  DiagSink d;
  diag_start(&d);
  assert_int_equal(ARANGE_LEN, 128 + 24);
  IrBuffer *f = buf_of(arange_npy, ARANGE_LEN);
  Tensor t;
  IrBuffer *data;
  assert_int_equal(npy_parse(f, NAME, &t, &data, &d), IR_OK);
  assert_int_equal(d.errors, 0);
  assert_int_equal(t.type.dtype, DT_F32);
  assert_int_equal(t.type.rank, 2);
  assert_int_equal(t.type.dims[0], 2);
  assert_int_equal(t.type.dims[1], 3);
  assert_null(t.type.layout);
  assert_null(t.type.quant);
  assert_ptr_equal(t.data, data->data);
  assert_int_equal(data->size, 24);
  assert_int_equal((uintptr_t)t.data % 64, 0);
  assert_ptr_equal(data->parent, f); /* aligned: a slice, not a copy */
  const float want[6] = {0, 1, 2, 3, 4, 5};
  assert_memory_equal(t.data, want, sizeof want);
  ir_buffer_unref(f);
  assert_memory_equal(t.data, want, sizeof want); /* the slice keeps the file alive */
  ir_buffer_unref(data);

  /* the same bytes from a file, through npy_read */
  assert_int_equal(ir_write_file(NPY_DIR "arange.npy", arange_npy, ARANGE_LEN, &d), IR_OK);
  assert_int_equal(npy_read(NPY_DIR "arange.npy", &t, &data, &d), IR_OK);
  assert_int_equal(t.type.rank, 2);
  assert_memory_equal(t.data, want, sizeof want);
  ir_buffer_unref(data);
  assert_int_equal(d.errors, 0);
  diag_end(&d);
}

static void test_read_example_file(void **state) {
  (void)state;
  DiagSink d;
  diag_start(&d);
  Tensor t;
  IrBuffer *data;
  assert_int_equal(npy_read(LATHE_SOURCE_DIR "/examples/digits/test_labels.npy", &t, &data, &d), IR_OK);
  assert_int_equal(t.type.dtype, DT_I64);
  assert_int_equal(t.type.rank, 1);
  assert_int_equal(t.type.dims[0], 360);
  assert_int_equal(data->size, 360 * 8);
  const int64_t *labels = t.data;
  for (int i = 0; i < 360; i++) assert_true(labels[i] >= 0 && labels[i] <= 9);
  ir_buffer_unref(data);
  assert_int_equal(npy_read(NPY_DIR "missing.npy", &t, &data, &d), IR_ERR_INPUT);
  assert_null(data);
  assert_null(t.data);
  assert_int_equal(d.errors, 1);
  assert_diag_has(&d, "missing.npy: error: cannot open");
  diag_end(&d);
}

/* A header NumPy (or an older NumPy, or a person) might write, and the type it means. */
typedef struct GoodCase {
  int major;        /* format version */
  int align;        /* header padding (0: none) */
  const char *dict; /* the header dict */
  DType dtype;
  int rank;
  int64_t dims[3];
} GoodCase;

static const GoodCase good_cases[] = {
    {1, 64, "{'descr': '|u1', 'fortran_order': False, 'shape': (), }", DT_U8, 0, {0}},
    {1, 64, "{'descr': '<u1', 'fortran_order': False, 'shape': (3,), }", DT_U8, 1, {3}},
    {1, 16, "{'descr': '|i1', 'fortran_order': False, 'shape': (7,), }", DT_I8, 1, {7}},
    {1, 0, "{'descr': '<i1', 'fortran_order': False, 'shape': (2, 2), }", DT_I8, 2, {2, 2}},
    {1, 64, "{'descr': '|b1', 'fortran_order': False, 'shape': (0,), }", DT_BOOL, 1, {0}},
    {1, 64, "{'descr': '<f2', 'fortran_order': False, 'shape': (1, 2, 3), }", DT_F16, 3, {1, 2, 3}},
    {1, 64, "{'descr': '<i4', 'fortran_order': False, 'shape': (4,), }", DT_I32, 1, {4}},
    {2, 64, "{'descr': '<i8', 'fortran_order': False, 'shape': (5,), }", DT_I64, 1, {5}},
    {3, 64, "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }", DT_F32, 2, {2, 3}},
    {2, 0, "{\"shape\":(2,3),\"descr\":\"<f4\",\"fortran_order\":False}", DT_F32, 2, {2, 3}},
    {1, 64, " { 'fortran_order' : False ,\t'shape' : ( 2 , 3 , ) , 'descr' : '<f4' } ", DT_F32, 2, {2, 3}},
    {1, 64, "{'descr': '<f4', 'fortran_order': False, 'shape': (2L, 3L), }", DT_F32, 2, {2, 3}},
    {1, 64, "{'descr': '<f4', 'fortran_order': True, 'shape': (6,), }", DT_F32, 1, {6}},
    {1, 64, "{'descr': '<f4', 'fortran_order': True, 'shape': (1, 6, 1), }", DT_F32, 3, {1, 6, 1}},
};

static void test_read_header_variants(void **state) {
  (void)state;
  for (size_t i = 0; i < sizeof good_cases / sizeof good_cases[0]; i++) {
    const GoodCase *c = &good_cases[i];
    DiagSink d;
    diag_start(&d);
    TensorType want = {.dtype = c->dtype, .rank = c->rank};
    memcpy(want.dims, c->dims, sizeof c->dims);
    int64_t bytes = ir_type_bytes(&want);
    IrBuffer *f = mk_npy(c->major, c->dict, c->align, (size_t)bytes);
    Tensor t;
    IrBuffer *data;
    IrStatus s = npy_parse(f, NAME, &t, &data, &d);
    if (s != IR_OK) fail_msg("case %zu (%s): %s", i, c->dict, diag_text(&d));
    assert_true(ir_type_equal(&t.type, &want));
    assert_int_equal(data->size, bytes);
    assert_int_equal((uintptr_t)t.data % 64, 0); /* copied when the file placed it badly */
    for (int64_t k = 0; k < bytes; k++) assert_int_equal(((unsigned char *)t.data)[k], (unsigned char)k);
    ir_buffer_unref(data);
    ir_buffer_unref(f);
    assert_int_equal(d.errors, 0);
    diag_end(&d);
  }
}

/* ---- reading bad files ---------------------------------------------------------------------------- */

/* A hostile header (version 1.0, padded to 64), data bytes, and the phrase its error carries. */
typedef struct BadCase {
  const char *dict;
  size_t data_len;
  const char *phrase;
} BadCase;

static const BadCase bad_cases[] = {
    {"{'descr': '>f4', 'fortran_order': False, 'shape': (2,), }", 8,
     "big-endian dtype '>f4' is not supported; save the array as little-endian (arr.astype('<f4'))"},
    {"{'descr': '>i8', 'fortran_order': False, 'shape': (2,), }", 16, "big-endian dtype '>i8' is not supported"},
    {"{'descr': '|f4', 'fortran_order': False, 'shape': (2,), }", 8, "dtype '|f4' has a bad byte order"},
    {"{'descr': '<f8', 'fortran_order': False, 'shape': (2,), }", 16, "unsupported dtype '<f8'"},
    {"{'descr': '<u2', 'fortran_order': False, 'shape': (2,), }", 4, "unsupported dtype '<u2'"},
    {"{'descr': '|O', 'fortran_order': False, 'shape': (2,), }", 16, "unsupported dtype '|O'"},
    {"{'descr': '<U5', 'fortran_order': False, 'shape': (2,), }", 40, "unsupported dtype '<U5'"},
    {"{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (2,), }", 8, "structured dtypes"},
    {"{'descr': '<f4', 'fortran_order': True, 'shape': (2, 3), }", 24, "Fortran-order (column-major) arrays are not supported"},
    {"{'descr': '<f4', 'fortran_order': False, }", 4, "'shape' is missing"},
    {"{'fortran_order': False, 'shape': (1,), }", 4, "'descr' is missing"},
    {"{'descr': '<f4', 'shape': (1,), }", 4, "'fortran_order' is missing"},
    {"{'descr': '<f4', 'fortran_order': False, 'shape': (1,), 'extra': 1, }", 4, "unknown key"},
    {"{'descr': '<f4', 'fortran_order': False, 'shape': (1,), 'shape': (1,), }", 4, "a key appears twice"},
    {"{'descr': '<f4', 'fortran_order': False, 'shape': (5), }", 20, "a one-element shape needs a trailing comma"},
    {"{'descr': '<f4', 'fortran_order': False, 'shape': (-1,), }", 4, "a dimension is negative"},
    {"{'descr': '<f4', 'fortran_order': False, 'shape': (99999999999999999999,), }", 4, "a dimension is too large"},
    {"{'descr': '<f4', 'fortran_order': False, 'shape': (4294967296, 4294967296), }", 4,
     "bad shape: the element count is over the limit"},
    {"{'descr': '<f4', 'fortran_order': False, 'shape': (9223372036854775807, 2), }", 4,
     "bad shape: the element count is over the limit"},
    {"{'descr': '<f4', 'fortran_order': False, 'shape': (1, 1, 1, 1, 1, 1, 1, 1, 1), }", 4,
     "the rank is over the limit of 8"},
    {"{'descr': '<f4', 'fortran_order': False, 'shape': [2, 3], }", 24, "the shape must be a tuple"},
    {"{'descr': '<f4', 'fortran_order': False, 'shape': (2 3), }", 24, "expected ',' or ')' in the shape"},
    {"{'descr': '<f4', 'fortran_order': false, 'shape': (1,), }", 4, "fortran_order must be True or False"},
    {"{'descr': '<f4, 'fortran_order': False, 'shape': (1,), }", 4, "bad header"},
    {"{'descr': '<f4', 'fortran_order': False, 'shape': (1,), } x", 4, "unexpected text after the dict"},
    {"{'descr': '<f4' 'fortran_order': False, 'shape': (1,), }", 4, "expected ',' or '}'"},
    {"{'descr' '<f4', 'fortran_order': False, 'shape': (1,), }", 4, "expected ':'"},
    {"('descr', '<f4')", 4, "expected '{'"},
    {"{'descr': '<f4', 'fortran_order': False, 'shape': (1,)", 4, "bad header"},
    {"{'descr': '<f4', 'fortran_order': False, 'shape': (1,), 'd\xc3\xa9scr': 1}", 4,
     "the header has a non-ASCII byte 0xc3 at byte 58; it must be ASCII text"},
    {"{'descr': '<f4', 'fortran_order': False, 'shape': (1,), \x01}", 4, "the header has a control byte 0x01"},
    {"{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }", 20,
     "truncated: the data is 20 bytes but dtype <f4 and the shape need 24"},
    {"{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }", 28,
     "4 trailing bytes after the array data (dtype <f4 and the shape need 24 bytes)"},
    {"{'descr': '<f4', 'fortran_order': False, 'shape': (), }", 0, "truncated: the data is 0 bytes"},
};

static void test_bad_headers(void **state) {
  (void)state;
  for (size_t i = 0; i < sizeof bad_cases / sizeof bad_cases[0]; i++) {
    const BadCase *c = &bad_cases[i];
    DiagSink d;
    diag_start(&d);
    IrBuffer *f = mk_npy(1, c->dict, 64, c->data_len);
    Tensor t;
    IrBuffer *data = (IrBuffer *)&d;
    IrStatus s = npy_parse(f, NAME, &t, &data, &d);
    if (s != IR_ERR_INPUT || d.errors != 1)
      fail_msg("case %zu (%s): status %d, %d errors:\n%s", i, c->dict, s, d.errors, diag_text(&d));
    assert_null(data);
    assert_null(t.data);
    assert_int_equal(f->refs, 1);
    assert_diag_has(&d, NAME ": error: ");
    assert_diag_has(&d, c->phrase);
    ir_buffer_unref(f);
    diag_end(&d);
  }
}

/* Parses n bytes at p, expecting one error containing phrase. */
static void expect_bad_bytes(const void *p, size_t n, const char *phrase) {
  DiagSink d;
  diag_start(&d);
  IrBuffer *f = buf_of(p, n);
  Tensor t;
  IrBuffer *data;
  assert_int_equal(npy_parse(f, NAME, &t, &data, &d), IR_ERR_INPUT);
  assert_null(data);
  assert_int_equal(d.errors, 1);
  assert_diag_has(&d, phrase);
  ir_buffer_unref(f);
  diag_end(&d);
}

static void test_bad_prefix(void **state) {
  (void)state;
  expect_bad_bytes("", 0, "truncated: the file is 0 bytes, too short for a .npy header");
  expect_bad_bytes("\x93NUM", 4, "truncated: the file is 4 bytes");
  expect_bad_bytes("\x93NUMPY\x01\x00\x10", 9, "truncated: the file is 9 bytes");
  expect_bad_bytes("\x93NUMPY\x02\x00\x10\x00\x00", 11, "truncated: the file is 11 bytes");
  expect_bad_bytes("GIF89a\x01\x00\x00\x00", 10, "not a .npy file");
  expect_bad_bytes("PK", 2, "not a .npy file");
  expect_bad_bytes("\x93NUMPY\x04\x00\x00\x00", 10, "unsupported .npy format version 4.0 (lathe reads 1.0, 2.0 and 3.0)");
  expect_bad_bytes("\x93NUMPY\x01\x01\x00\x00", 10, "unsupported .npy format version 1.1");
  expect_bad_bytes("\x93NUMPY\x00\x00\x00\x00", 10, "unsupported .npy format version 0.0");
  expect_bad_bytes("\x93NUMPY\x01\x00\x76\x00{'descr'", 17,
                   "truncated: the header length 118 is beyond the end of the file (17 bytes)");
  expect_bad_bytes("\x93NUMPY\x02\x00\xff\xff\xff\xff{}", 14, "truncated: the header length 4294967295 is beyond");
  expect_bad_bytes("\x93NUMPY\x01\x00\x00\x00", 10, "expected '{'");
  /* a header over the limit */
  size_t big = 12 + 70000;
  unsigned char *p = calloc(1, big);
  assert_non_null(p);
  memcpy(p, "\x93NUMPY\x02\x00\x70\x11\x01\x00", 12); /* 70000 */
  memset(p + 12, ' ', 70000);
  expect_bad_bytes(p, big, "the header length 70000 is over the limit of 65536 bytes");
  free(p);
  /* every proper prefix of a good file */
  for (size_t n = 0; n < ARANGE_LEN; n++) {
    DiagSink d;
    diag_init(&d, NULL);
    IrBuffer *f = buf_of(arange_npy, n);
    Tensor t;
    IrBuffer *data;
    assert_int_equal(npy_parse(f, NAME, &t, &data, &d), IR_ERR_INPUT);
    assert_int_equal(d.errors, 1);
    ir_buffer_unref(f);
    diag_free(&d);
  }
}

/* ---- writing ---------------------------------------------------------------------------------------- */

static void test_write_exact_bytes(void **state) {
  (void)state;
  DiagSink d;
  diag_start(&d);
  float v[6] = {0, 1, 2, 3, 4, 5};
  Tensor t = {.type = {.dtype = DT_F32, .rank = 2, .dims = {2, 3}}, .data = v};
  assert_int_equal(npy_write(NPY_DIR "w.npy", &t, &d), IR_OK);
  IrBuffer *b;
  assert_int_equal(ir_read_file(NPY_DIR "w.npy", 1 << 20, &b, &d), IR_OK);
  assert_int_equal(b->size, ARANGE_LEN);
  assert_memory_equal(b->data, arange_npy, ARANGE_LEN);
  ir_buffer_unref(b);
  assert_int_equal(d.errors, 0);
  diag_end(&d);
}

static void test_write_read_roundtrip(void **state) {
  (void)state;
  DiagSink d;
  diag_start(&d);
  static unsigned char bytes[512];
  for (int i = 0; i < 512; i++) bytes[i] = (unsigned char)(i * 13 + 1);
  for (int i = 0; i < 512; i++) bytes[i] &= 1; /* valid for bool too */
  const TensorType types[] = {
      {.dtype = DT_F32, .rank = 0},
      {.dtype = DT_F32, .rank = 1, .dims = {1}},
      {.dtype = DT_F16, .rank = 3, .dims = {2, 3, 4}},
      {.dtype = DT_I8, .rank = 2, .dims = {5, 7}},
      {.dtype = DT_U8, .rank = 4, .dims = {1, 2, 2, 3}},
      {.dtype = DT_I32, .rank = 1, .dims = {9}},
      {.dtype = DT_I64, .rank = 2, .dims = {3, 3}},
      {.dtype = DT_BOOL, .rank = 1, .dims = {10}},
      {.dtype = DT_F32, .rank = 2, .dims = {0, 3}},
      {.dtype = DT_U8, .rank = 8, .dims = {1, 2, 1, 2, 1, 2, 1, 2}},
  };
  for (size_t i = 0; i < sizeof types / sizeof types[0]; i++) {
    Tensor t = {.type = types[i], .data = bytes};
    assert_int_equal(npy_write(NPY_DIR "rt.npy", &t, &d), IR_OK);
    IrBuffer *raw;
    assert_int_equal(ir_read_file(NPY_DIR "rt.npy", 1 << 20, &raw, &d), IR_OK);
    const unsigned char *p = raw->data;
    int64_t hlen = p[8] | p[9] << 8;
    assert_int_equal((10 + hlen) % 64, 0);
    assert_int_equal(p[6], 1);
    assert_int_equal(p[9 + hlen], '\n');
    ir_buffer_unref(raw);
    Tensor back;
    IrBuffer *data;
    assert_int_equal(npy_read(NPY_DIR "rt.npy", &back, &data, &d), IR_OK);
    assert_true(ir_type_equal(&back.type, &t.type));
    int64_t n = ir_type_bytes(&t.type);
    assert_int_equal(data->size, n);
    if (n) assert_memory_equal(back.data, bytes, (size_t)n);
    ir_buffer_unref(data);
  }
  assert_int_equal(d.errors, 0);
  diag_end(&d);
}

static void test_write_refusals(void **state) {
  (void)state;
  DiagSink d;
  diag_start(&d);
  const char *path = NPY_DIR "keep.npy";
  assert_int_equal(ir_write_file(path, arange_npy, ARANGE_LEN, &d), IR_OK);
  uint16_t h[2] = {0x3f80, 0x4000};
  Tensor bf = {.type = {.dtype = DT_BF16, .rank = 1, .dims = {2}}, .data = h};
  assert_int_equal(npy_write(path, &bf, &d), IR_ERR_USAGE);
  assert_int_equal(d.errors, 1);
  assert_diag_has(&d, "keep.npy: error: bf16 has no NumPy dtype; convert the tensor to f32");
  Layout layout = {.text = "ba", .ndims = 2, .dim = {1, 0}, .block = {0, 0}};
  float v[6] = {0};
  Tensor laid = {.type = {.dtype = DT_F32, .rank = 2, .dims = {2, 3}, .layout = &layout}, .data = v};
  assert_int_equal(npy_write(path, &laid, &d), IR_ERR_USAGE);
  assert_diag_has(&d, "the tensor has layout ba; .npy holds only row-major arrays");
  Tensor neg = {.type = {.dtype = DT_F32, .rank = 1, .dims = {-3}}, .data = v};
  assert_int_equal(npy_write(path, &neg, &d), IR_ERR_USAGE);
  assert_diag_has(&d, "cannot write the tensor: a dimension is negative");
  Tensor nodata = {.type = {.dtype = DT_F32, .rank = 1, .dims = {3}}, .data = NULL};
  assert_int_equal(npy_write(path, &nodata, &d), IR_ERR_USAGE);
  assert_diag_has(&d, "it has no data");
  Tensor ok = {.type = {.dtype = DT_F32, .rank = 1, .dims = {3}}, .data = v};
  assert_int_equal(npy_write(NPY_DIR "no/such/dir.npy", &ok, &d), IR_ERR_INPUT);
  assert_diag_has(&d, "cannot create a temporary file");
  assert_int_equal(d.errors, 5);
  /* the existing file is untouched */
  IrBuffer *b;
  assert_int_equal(ir_read_file(path, 1 << 20, &b, &d), IR_OK);
  assert_int_equal(b->size, ARANGE_LEN);
  assert_memory_equal(b->data, arange_npy, ARANGE_LEN);
  ir_buffer_unref(b);
  diag_end(&d);
}

static void test_alloc_failures(void **state) {
  (void)state;
  DiagSink d;
  diag_init(&d, NULL);
  /* an unaligned header, so the data is copied (one more allocation to fail) */
  IrBuffer *f = mk_npy(1, "{'descr': '<i4', 'fortran_order': False, 'shape': (3,), }", 16, 12);
  bool done = false;
  for (uint64_t n = 1; n < 100 && !done; n++) {
    Tensor t;
    IrBuffer *data;
    ir_alloc_fail_after(n);
    IrStatus s = npy_parse(f, NAME, &t, &data, &d);
    ir_alloc_fail_after(0);
    if (s == IR_OK) {
      assert_int_equal(t.type.dims[0], 3);
      ir_buffer_unref(data);
      done = true;
    } else {
      assert_int_equal(s, IR_ERR_INPUT);
      assert_null(data);
    }
    assert_int_equal(f->refs, 1);
  }
  assert_true(done);
  ir_buffer_unref(f);
  int32_t v[3] = {7, 8, 9};
  Tensor t = {.type = {.dtype = DT_I32, .rank = 1, .dims = {3}}, .data = v};
  done = false;
  for (uint64_t n = 1; n < 100 && !done; n++) {
    ir_alloc_fail_after(n);
    IrStatus s = npy_write(NPY_DIR "oom.npy", &t, &d);
    ir_alloc_fail_after(0);
    done = s == IR_OK;
    if (!done) assert_int_equal(s, IR_ERR_INPUT);
  }
  assert_true(done);
  Tensor back;
  IrBuffer *data;
  assert_int_equal(npy_read(NPY_DIR "oom.npy", &back, &data, &d), IR_OK);
  assert_memory_equal(back.data, v, sizeof v);
  ir_buffer_unref(data);
  diag_free(&d);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_read_numpy_bytes),
      cmocka_unit_test(test_read_example_file),
      cmocka_unit_test(test_read_header_variants),
      cmocka_unit_test(test_bad_headers),
      cmocka_unit_test(test_bad_prefix),
      cmocka_unit_test(test_write_exact_bytes),
      cmocka_unit_test(test_write_read_roundtrip),
      cmocka_unit_test(test_write_refusals),
      cmocka_unit_test(test_alloc_failures),
  };
  return cmocka_run_group_tests(tests, setup, NULL);
}

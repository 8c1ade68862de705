/* npy.c — reading and writing NumPy .npy files, with a small parser for the header's Python
 * dict literal: {'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), } */
#include "frontend/npy.h"

#include <errno.h>
#include <string.h>

#include "ir/fs.h"

/* The six bytes every .npy file starts with. */
static const char npy_magic[6] = {'\x93', 'N', 'U', 'M', 'P', 'Y'};

/* The dtypes lathe reads and writes: the descr without its byte-order character. */
static const struct {
  const char *code; /* kind and size, as in "f4" */
  DType dtype;      /* the lathe element type */
  char order;       /* the byte order written ('<' or '|' for single bytes) */
} npy_types[] = {
    {"f4", DT_F32, '<'}, {"f2", DT_F16, '<'}, {"i1", DT_I8, '|'}, {"u1", DT_U8, '|'},
    {"i4", DT_I32, '<'}, {"i8", DT_I64, '<'}, {"b1", DT_BOOL, '|'},
};
enum { NPY_NTYPES = sizeof npy_types / sizeof npy_types[0] };

/* ---- the header parser ------------------------------------------------------------------------- */

/* A cursor over the header text and the first error met. */
typedef struct NpyParser {
  const char *p;   /* next character */
  const char *end; /* one past the last */
  const char *start; /* the first (for error offsets) */
  char err[200];   /* the error, once one is set */
} NpyParser;

/* The fields of a header. */
typedef struct NpyHeader {
  char descr[40];         /* the dtype string, as written */
  bool fortran_order;     /* fortran_order: True */
  int rank;               /* entries of dims */
  int64_t dims[IR_MAX_RANK]; /* the shape */
} NpyHeader;

/* Records an error (only the first sticks); returns false for use in returns. */
static bool npy_fail(NpyParser *ps, const char *what) {
  if (!ps->err[0])
    snprintf(ps->err, sizeof ps->err, "bad header at byte %d: %s", (int)(ps->p - ps->start), what);
  return false;
}

/* Skips spaces, tabs and line ends. */
static void npy_ws(NpyParser *ps) {
  while (ps->p < ps->end && (*ps->p == ' ' || *ps->p == '\t' || *ps->p == '\n' || *ps->p == '\r')) ps->p++;
}

/* Returns the next character, or 0 at the end. */
static char npy_peek(const NpyParser *ps) { return ps->p < ps->end ? *ps->p : 0; }

/* Parses a quoted string without escapes into out (cap bytes, NUL-terminated). */
static bool npy_string(NpyParser *ps, char *out, size_t cap) {
  char q = npy_peek(ps);
  if (q != '\'' && q != '"') return npy_fail(ps, "expected a quoted string");
  ps->p++;
  size_t n = 0;
  while (ps->p < ps->end && *ps->p != q) {
    if (*ps->p == '\\' || *ps->p == '\n') return npy_fail(ps, "unsupported character in a string");
    if (n + 1 >= cap) return npy_fail(ps, "string too long");
    out[n++] = *ps->p++;
  }
  if (ps->p >= ps->end) return npy_fail(ps, "unterminated string");
  ps->p++;
  out[n] = 0;
  return true;
}

/* Parses True or False. */
static bool npy_bool(NpyParser *ps, bool *out) {
  size_t left = (size_t)(ps->end - ps->p);
  if (left >= 4 && memcmp(ps->p, "True", 4) == 0) { ps->p += 4; *out = true; return true; }
  if (left >= 5 && memcmp(ps->p, "False", 5) == 0) { ps->p += 5; *out = false; return true; }
  return npy_fail(ps, "fortran_order must be True or False");
}

/* Parses a non-negative decimal integer (an old Python 2 'L' suffix allowed). */
static bool npy_int(NpyParser *ps, int64_t *out) {
  if (npy_peek(ps) == '-') return npy_fail(ps, "a dimension is negative");
  if (npy_peek(ps) < '0' || npy_peek(ps) > '9') return npy_fail(ps, "expected a dimension");
  int64_t v = 0;
  while (npy_peek(ps) >= '0' && npy_peek(ps) <= '9') {
    if (!ir_mul_ok(v, 10, &v) || !ir_add_ok(v, *ps->p - '0', &v)) return npy_fail(ps, "a dimension is too large");
    ps->p++;
  }
  if (npy_peek(ps) == 'L' || npy_peek(ps) == 'l') ps->p++;
  *out = v;
  return true;
}

/* Parses a shape tuple: (), (5,), (2, 3) or (2, 3,). */
static bool npy_shape(NpyParser *ps, NpyHeader *h) {
  if (npy_peek(ps) != '(') return npy_fail(ps, "the shape must be a tuple");
  ps->p++;
  npy_ws(ps);
  h->rank = 0;
  if (npy_peek(ps) == ')') { ps->p++; return true; }
  for (;;) {
    if (h->rank == IR_MAX_RANK) return npy_fail(ps, "the rank is over the limit of 8");
    if (!npy_int(ps, &h->dims[h->rank])) return false;
    h->rank++;
    npy_ws(ps);
    if (npy_peek(ps) == ',') {
      ps->p++;
      npy_ws(ps);
      if (npy_peek(ps) == ')') { ps->p++; return true; }
    } else if (npy_peek(ps) == ')') {
      if (h->rank == 1) return npy_fail(ps, "a one-element shape needs a trailing comma, as in (5,)");
      ps->p++;
      return true;
    } else {
      return npy_fail(ps, "expected ',' or ')' in the shape");
    }
  }
}

/* Parses the whole header dict into h. */
static bool npy_dict(NpyParser *ps, NpyHeader *h) {
  bool seen_descr = false, seen_fortran = false, seen_shape = false;
  npy_ws(ps);
  if (npy_peek(ps) != '{') return npy_fail(ps, "expected '{'");
  ps->p++;
  for (;;) {
    npy_ws(ps);
    if (npy_peek(ps) == '}') break;
    char key[32];
    if (!npy_string(ps, key, sizeof key)) return false;
    npy_ws(ps);
    if (npy_peek(ps) != ':') return npy_fail(ps, "expected ':'");
    ps->p++;
    npy_ws(ps);
    bool *seen;
    if (strcmp(key, "descr") == 0) {
      seen = &seen_descr;
      if (npy_peek(ps) == '[') return npy_fail(ps, "structured dtypes (a list descr) are not supported");
      if (!npy_string(ps, h->descr, sizeof h->descr)) return false;
    } else if (strcmp(key, "fortran_order") == 0) {
      seen = &seen_fortran;
      if (!npy_bool(ps, &h->fortran_order)) return false;
    } else if (strcmp(key, "shape") == 0) {
      seen = &seen_shape;
      if (!npy_shape(ps, h)) return false;
    } else {
      return npy_fail(ps, "unknown key (expected 'descr', 'fortran_order' and 'shape')");
    }
    if (*seen) return npy_fail(ps, "a key appears twice");
    *seen = true;
    npy_ws(ps);
    if (npy_peek(ps) == ',') { ps->p++; continue; }
    if (npy_peek(ps) != '}') return npy_fail(ps, "expected ',' or '}'");
  }
  ps->p++;
  npy_ws(ps);
  if (ps->p != ps->end) return npy_fail(ps, "unexpected text after the dict");
  if (!seen_descr || !seen_fortran || !seen_shape)
    return npy_fail(ps, !seen_descr ? "'descr' is missing" : !seen_fortran ? "'fortran_order' is missing"
                                                                         : "'shape' is missing");
  return true;
}

/* Maps descr to a dtype; on failure writes the reason to why (cap bytes). */
static DType npy_dtype(const char *descr, char *why, size_t cap) {
  size_t len = strlen(descr);
  for (int i = 0; len == 3 && i < NPY_NTYPES; i++) {
    if (strcmp(descr + 1, npy_types[i].code) != 0) continue;
    char order = descr[0];
    bool single = ir_dtype_size(npy_types[i].dtype) == 1;
    if (order == '<' || (single && (order == '|' || order == '>'))) return npy_types[i].dtype;
    if (order == '>')
      snprintf(why, cap, "big-endian dtype '%s' is not supported; save the array as little-endian "
                         "(arr.astype('<%s'))", descr, npy_types[i].code);
    else
      snprintf(why, cap, "dtype '%s' has a bad byte order (expected '<')", descr);
    return DT_INVALID;
  }
  snprintf(why, cap, "unsupported dtype '%s' (lathe reads <f4 <f2 |i1 |u1 <i4 <i8 |b1)", descr);
  return DT_INVALID;
}

/* ---- reading -------------------------------------------------------------------------------------- */

/* Reads a little-endian unsigned integer of n bytes at p. */
static uint32_t npy_le(const unsigned char *p, int n) {
  uint32_t v = 0;
  for (int i = n - 1; i >= 0; i--) v = (v << 8) | p[i];
  return v;
}

IrStatus npy_parse(IrBuffer *file, const char *name_for_diag, Tensor *out, IrBuffer **data, DiagSink *d) {
  Loc loc = name_for_diag ? loc_file(name_for_diag) : loc_none();
  *data = NULL;
  memset(out, 0, sizeof *out);
  const unsigned char *p = file->data;
  int64_t size = file->size;
  size_t head = size < 6 ? (size_t)size : 6;
  if (memcmp(p, npy_magic, head) != 0) {
    diag_error(d, loc, "not a .npy file (it does not start with \\x93NUMPY)");
    return IR_ERR_INPUT;
  }
  if (size < 8) {
    diag_error(d, loc, "truncated: the file is %lld bytes, too short for a .npy header", (long long)size);
    return IR_ERR_INPUT;
  }
  int major = p[6], minor = p[7];
  if (minor != 0 || major < 1 || major > 3) {
    diag_error(d, loc, "unsupported .npy format version %d.%d (lathe reads 1.0, 2.0 and 3.0)", major, minor);
    return IR_ERR_INPUT;
  }
  int len_bytes = major == 1 ? 2 : 4;
  int64_t hstart = 8 + len_bytes;
  if (size < hstart) {
    diag_error(d, loc, "truncated: the file is %lld bytes, too short for a .npy header", (long long)size);
    return IR_ERR_INPUT;
  }
  int64_t hlen = npy_le(p + 8, len_bytes);
  if (hlen > size - hstart) {
    diag_error(d, loc, "truncated: the header length %lld is beyond the end of the file (%lld bytes)",
               (long long)hlen, (long long)size);
    return IR_ERR_INPUT;
  }
  if (hlen > NPY_MAX_HEADER_BYTES) {
    diag_error(d, loc, "the header length %lld is over the limit of %d bytes", (long long)hlen, NPY_MAX_HEADER_BYTES);
    return IR_ERR_INPUT;
  }
  const char *htext = (const char *)p + hstart;
  for (int64_t i = 0; i < hlen; i++) {
    unsigned char c = (unsigned char)htext[i];
    if (c >= 0x80 || (c < 32 && c != '\n' && c != '\r' && c != '\t') || c == 127) {
      diag_error(d, loc, "the header has a %s byte 0x%02x at byte %lld; it must be ASCII text",
                 c >= 0x80 ? "non-ASCII" : "control", c, (long long)i);
      return IR_ERR_INPUT;
    }
  }
  NpyParser ps = {htext, htext + hlen, htext, {0}};
  NpyHeader h;
  memset(&h, 0, sizeof h);
  if (!npy_dict(&ps, &h)) {
    diag_error(d, loc, "%s", ps.err);
    return IR_ERR_INPUT;
  }
  char why[200];
  DType dt = npy_dtype(h.descr, why, sizeof why);
  if (dt == DT_INVALID) {
    diag_error(d, loc, "%s", why);
    return IR_ERR_INPUT;
  }
  TensorType t;
  memset(&t, 0, sizeof t);
  t.dtype = dt;
  t.rank = h.rank;
  memcpy(t.dims, h.dims, sizeof t.dims);
  int big = 0; /* dimensions with extent > 1: Fortran and C order agree when at most one */
  for (int i = 0; i < t.rank; i++) big += t.dims[i] > 1;
  if (h.fortran_order && big > 1) {
    diag_error(d, loc, "Fortran-order (column-major) arrays are not supported; save a C-order array "
                       "(np.ascontiguousarray)");
    return IR_ERR_INPUT;
  }
  const char *bad = NULL;
  if (!ir_type_valid(&t, &bad)) {
    diag_error(d, loc, "bad shape: %s", bad);
    return IR_ERR_INPUT;
  }
  int64_t need = ir_type_bytes(&t);
  int64_t off = hstart + hlen, have = size - off;
  if (have < need) {
    diag_error(d, loc, "truncated: the data is %lld bytes but dtype %s and the shape need %lld", (long long)have,
               h.descr, (long long)need);
    return IR_ERR_INPUT;
  }
  if (have > need) {
    diag_error(d, loc, "%lld trailing bytes after the array data (dtype %s and the shape need %lld bytes)",
               (long long)(have - need), h.descr, (long long)need);
    return IR_ERR_INPUT;
  }
  IrBuffer *b;
  if (((uintptr_t)file->data + (uintptr_t)off) % 64 == 0) {
    b = ir_buffer_slice(file, off, need);
  } else {
    b = ir_buffer_new(need);
    if (b && need > 0) memcpy(b->data, (const char *)file->data + off, (size_t)need);
  }
  if (!b) return diag_oom(d, loc);
  out->type = t;
  out->data = b->data;
  *data = b;
  return IR_OK;
}

IrStatus npy_read(const char *path, Tensor *out, IrBuffer **data, DiagSink *d) {
  *data = NULL;
  memset(out, 0, sizeof *out);
  IrBuffer *file;
  IrStatus s = ir_read_file(path, IR_MAX_FILE_BYTES, &file, d);
  if (s != IR_OK) return s;
  s = npy_parse(file, path, out, data, d);
  ir_buffer_unref(file);
  return s;
}

/* ---- writing ------------------------------------------------------------------------------------- */

IrStatus npy_can_write(const char *path, const TensorType *t, DiagSink *d) {
  Loc loc = loc_file(path);
  const char *why = NULL;
  bool known = false;
  for (int i = 0; i < NPY_NTYPES; i++) known |= npy_types[i].dtype == t->dtype;
  if (t->dtype == DT_BF16) {
    diag_error(d, loc, "bf16 has no NumPy dtype; convert the tensor to f32 before writing it as .npy");
    return IR_ERR_USAGE;
  }
  if (t->layout) {
    diag_error(d, loc, "the tensor has layout %s; .npy holds only row-major arrays",
               t->layout->text ? t->layout->text : "?");
    return IR_ERR_USAGE;
  }
  if (!ir_type_valid(t, &why) || !known) {
    diag_error(d, loc, "cannot write the tensor: %s", why ? why : "unknown element type");
    return IR_ERR_USAGE;
  }
  return IR_OK;
}

IrStatus npy_write(const char *path, const Tensor *t, DiagSink *d) {
  Loc loc = loc_file(path);
  const char *descr_code = NULL;
  char order = 0;
  for (int i = 0; i < NPY_NTYPES; i++)
    if (npy_types[i].dtype == t->type.dtype) {
      descr_code = npy_types[i].code;
      order = npy_types[i].order;
    }
  IrStatus can = npy_can_write(path, &t->type, d);
  if (can != IR_OK) return can;
  int64_t bytes = ir_type_bytes(&t->type);
  if (bytes > 0 && !t->data) {
    diag_error(d, loc, "cannot write the tensor: it has no data");
    return IR_ERR_USAGE;
  }
  /* the dict as numpy writes it, then padding so that magic + version + length + header is
   * a multiple of 64 bytes, the last byte '\n' */
  char shape[IR_MAX_RANK * 24 + 4];
  size_t o = 0;
  for (int i = 0; i < t->type.rank; i++)
    o += (size_t)snprintf(shape + o, sizeof shape - o, "%s%lld", i ? ", " : "", (long long)t->type.dims[i]);
  if (t->type.rank == 1) snprintf(shape + o, sizeof shape - o, ",");
  if (t->type.rank == 0) shape[0] = 0;
  char header[512];
  int len = snprintf(header, sizeof header, "{'descr': '%c%s', 'fortran_order': False, 'shape': (%s), }", order,
                     descr_code, shape);
  if (len < 0 || (size_t)len + 64 >= sizeof header) return IR_INTERNAL(d, "npy header does not fit");
  while ((10 + len + 1) % 64 != 0) header[len++] = ' ';
  header[len++] = '\n';
  unsigned char pre[10];
  memcpy(pre, npy_magic, 6);
  pre[6] = 1;
  pre[7] = 0;
  pre[8] = (unsigned char)(len & 0xff);
  pre[9] = (unsigned char)(len >> 8);
  IrOutFile out;
  IrStatus s = ir_out_open(&out, path, d);
  if (s != IR_OK) return s;
  bool ok = fwrite(pre, 1, sizeof pre, out.f) == sizeof pre && fwrite(header, 1, (size_t)len, out.f) == (size_t)len &&
            (bytes == 0 || fwrite(t->data, 1, (size_t)bytes, out.f) == (size_t)bytes);
  if (!ok) {
    diag_error(d, loc, "cannot write: %s", strerror(errno));
    ir_out_abort(&out);
    return IR_ERR_INPUT;
  }
  return ir_out_commit(&out, d);
}

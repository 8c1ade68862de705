/* safetensors.c — reading (with full validation) and writing safetensors files. */
#include "frontend/safetensors.h"

#include <errno.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "ir/fs.h"

/* ---- helpers ------------------------------------------------------------------------------------- */

/* The dtype names of the format, indexed by DType. */
static const char *const st_dtype_names[DT_COUNT] = {
    [DT_F32] = "F32", [DT_F16] = "F16", [DT_BF16] = "BF16", [DT_I8] = "I8",
    [DT_U8] = "U8",   [DT_I32] = "I32", [DT_I64] = "I64",   [DT_BOOL] = "BOOL",
};

/* Dtypes the format defines that lathe does not support (for a clearer message). */
static const char *const st_unsupported[] = {"F64", "I16", "U16", "U32", "U64", "F8_E4M3", "F8_E5M2",
                                             "F8_E8M0", "F6_E2M3", "F6_E3M2", "F4", "C64", NULL};

/* Room for a name shown in a diagnostic (longer names are cut, with "..."). */
enum { ST_SHOW = 100 };

/* Makes jansson allocate through the lathe allocator hook (idempotent). */
static void st_json_init(void) { json_set_alloc_funcs(ir_malloc, ir_free); }

/* Copies s into buf (ST_SHOW bytes) for printing: control bytes become \xNN, and a name too
 * long is cut at a character boundary and ends in "...". Returns buf. */
static const char *st_show(const char *s, char buf[ST_SHOW]) {
  static const char hex[] = "0123456789abcdef";
  size_t o = 0;
  for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
    if (o + 8 >= ST_SHOW) {
      while (o > 0 && ((unsigned char)buf[o - 1] & 0xc0) == 0x80) o--; /* continuation bytes */
      if (o > 0 && ((unsigned char)buf[o - 1] & 0xc0) == 0xc0) o--;     /* their lead byte */
      memcpy(buf + o, "...", 4);
      return buf;
    }
    if (*p < 32 || *p == 127 || *p == '\\' || *p == '\'') {
      buf[o++] = '\\';
      buf[o++] = 'x';
      buf[o++] = hex[*p >> 4];
      buf[o++] = hex[*p & 15];
    } else {
      buf[o++] = (char)*p;
    }
  }
  buf[o] = 0;
  return buf;
}

/* Writes the shape of t as "[2, 3]" into buf (cap bytes; always enough for IR_MAX_RANK dims). */
static const char *st_shape_text(const TensorType *t, char *buf, size_t cap) {
  size_t o = (size_t)snprintf(buf, cap, "[");
  for (int i = 0; i < t->rank && o < cap; i++)
    o += (size_t)snprintf(buf + o, cap - o, "%s%lld", i ? ", " : "", (long long)t->dims[i]);
  if (o < cap) snprintf(buf + o, cap - o, "]");
  return buf;
}

/* True when s is well-formed UTF-8 (no overlong forms, surrogates or code points > U+10FFFF). */
static bool st_utf8_valid(const char *s) {
  const unsigned char *p = (const unsigned char *)s;
  while (*p) {
    unsigned c = *p;
    int n;
    unsigned cp;
    if (c < 0x80) { p++; continue; }
    if (c >= 0xc2 && c <= 0xdf) { n = 1; cp = c & 0x1f; }
    else if (c >= 0xe0 && c <= 0xef) { n = 2; cp = c & 0x0f; }
    else if (c >= 0xf0 && c <= 0xf4) { n = 3; cp = c & 0x07; }
    else return false;
    for (int i = 1; i <= n; i++) {
      if ((p[i] & 0xc0) != 0x80) return false;
      cp = (cp << 6) | (p[i] & 0x3f);
    }
    if ((n == 2 && cp < 0x800) || (n == 3 && cp < 0x10000) || cp > 0x10ffff ||
        (cp >= 0xd800 && cp <= 0xdfff))
      return false;
    p += n + 1;
  }
  return true;
}

/* The JSON nesting depth (1: inside the top-level object) at byte pos of text, for telling a
 * duplicate tensor name from a duplicate field inside one entry. */
static int st_json_depth(const char *text, size_t len, size_t pos) {
  int depth = 0;
  bool in_string = false, escaped = false;
  for (size_t i = 0; i < pos && i < len; i++) {
    char c = text[i];
    if (in_string) {
      if (escaped) escaped = false;
      else if (c == '\\') escaped = true;
      else if (c == '"') in_string = false;
    } else if (c == '"') {
      in_string = true;
    } else if (c == '{' || c == '[') {
      depth++;
    } else if (c == '}' || c == ']') {
      depth--;
    }
  }
  return depth;
}

/* Reports a header that jansson could not load. */
static IrStatus st_json_error(const json_error_t *je, const char *text, size_t len, Loc loc, DiagSink *d) {
  enum json_error_code code = json_error_code(je);
  /* jansson leaves the error empty when it runs out of memory before it starts parsing */
  if (code == json_error_out_of_memory || !je->text[0]) return diag_oom(d, loc);
  if (code == json_error_duplicate_key) {
    /* je->text is "duplicate object key near '<the key as written>'" */
    const char *near = strstr(je->text, "near '");
    const char *key = near ? near + 6 : "?";
    int keylen = near ? (int)strlen(key) - 1 : 1;
    if (keylen < 0) keylen = 0;
    if (keylen >= 2 && key[0] == '"' && key[keylen - 1] == '"') { /* show 'a' rather than "a" */
      key++;
      keylen -= 2;
    }
    if (st_json_depth(text, len, (size_t)(je->position > 0 ? je->position : 0)) <= 1)
      diag_error(d, loc, "tensor '%.*s': the name appears twice in the header", keylen, key);
    else
      diag_error(d, loc, "header: field '%.*s' appears twice in one tensor's entry (near byte %d of the header)",
                 keylen, key, je->position);
    return IR_ERR_INPUT;
  }
  diag_error(d, loc, "header is not valid JSON: %s (at byte %d of the header)", je->text, je->position);
  return IR_ERR_INPUT;
}

/* ---- reading ------------------------------------------------------------------------------------- */

/* Checks the "__metadata__" value: an object whose values are strings. */
static bool st_check_metadata(json_t *v, Loc loc, DiagSink *d) {
  char shown[ST_SHOW];
  if (!json_is_object(v)) {
    diag_error(d, loc, "header: \"__metadata__\" is not a JSON object");
    return false;
  }
  const char *key;
  json_t *val;
  json_object_foreach(v, key, val) {
    if (!json_is_string(val)) {
      diag_error(d, loc, "header: \"__metadata__\" entry '%s' is not a string", st_show(key, shown));
      return false;
    }
  }
  return true;
}

/* Parses and checks the entry of tensor name (v) into e; reports the problem and returns false
 * when it is bad. data_start and data_size locate the data section in the file. */
static bool st_parse_entry(const char *name, json_t *v, int64_t data_start, int64_t data_size, StEntry *e,
                           Loc loc, DiagSink *d) {
  char nm[ST_SHOW], shown[ST_SHOW];
  st_show(name, nm);
  size_t name_len = strlen(name);
  if (name_len > IR_MAX_NAME) {
    diag_error(d, loc, "tensor '%s': the name is %zu bytes, over the limit of %d", nm, name_len, IR_MAX_NAME);
    return false;
  }
  if (!json_is_object(v)) {
    diag_error(d, loc, "tensor '%s': the entry is not a JSON object", nm);
    return false;
  }
  /* dtype */
  json_t *jd = json_object_get(v, "dtype");
  if (!json_is_string(jd)) {
    diag_error(d, loc, "tensor '%s': \"dtype\" is %s", nm, jd ? "not a string" : "missing");
    return false;
  }
  const char *ds = json_string_value(jd);
  DType dt = DT_INVALID;
  for (int i = 0; i < DT_COUNT; i++)
    if (strcmp(ds, st_dtype_names[i]) == 0) dt = (DType)i;
  if (dt == DT_INVALID) {
    bool known = false;
    for (int i = 0; st_unsupported[i]; i++) known = known || strcmp(ds, st_unsupported[i]) == 0;
    if (known)
      diag_error(d, loc, "tensor '%s': dtype '%s' is not supported (lathe reads F32, F16, BF16, I8, U8, I32, I64, BOOL)",
                 nm, ds);
    else
      diag_error(d, loc, "tensor '%s': unknown dtype '%s'", nm, st_show(ds, shown));
    return false;
  }
  /* shape */
  json_t *js = json_object_get(v, "shape");
  if (!json_is_array(js)) {
    diag_error(d, loc, "tensor '%s': \"shape\" is %s", nm, js ? "not a list" : "missing");
    return false;
  }
  size_t rank = json_array_size(js);
  if (rank > IR_MAX_RANK) {
    diag_error(d, loc, "tensor '%s': rank %zu is over the limit of %d", nm, rank, IR_MAX_RANK);
    return false;
  }
  memset(&e->type, 0, sizeof e->type);
  e->type.dtype = dt;
  e->type.rank = (int)rank;
  for (size_t i = 0; i < rank; i++) {
    json_t *x = json_array_get(js, i);
    if (!json_is_integer(x) || json_integer_value(x) < 0) {
      diag_error(d, loc, "tensor '%s': \"shape\" must be a list of non-negative integers", nm);
      return false;
    }
    e->type.dims[i] = (int64_t)json_integer_value(x);
  }
  const char *why = NULL;
  if (!ir_type_valid(&e->type, &why)) {
    diag_error(d, loc, "tensor '%s': bad shape: %s", nm, why);
    return false;
  }
  int64_t bytes = ir_type_bytes(&e->type);
  /* data_offsets */
  json_t *jo = json_object_get(v, "data_offsets");
  if (!json_is_array(jo) || json_array_size(jo) != 2 || !json_is_integer(json_array_get(jo, 0)) ||
      !json_is_integer(json_array_get(jo, 1))) {
    diag_error(d, loc, "tensor '%s': \"data_offsets\" is %s", nm,
               jo ? "not a list of two integers" : "missing");
    return false;
  }
  long long begin = json_integer_value(json_array_get(jo, 0));
  long long end = json_integer_value(json_array_get(jo, 1));
  if (begin > end) {
    diag_error(d, loc, "tensor '%s': data_offsets [%lld, %lld] are reversed (begin after end)", nm, begin, end);
    return false;
  }
  if (begin < 0 || end > data_size) {
    diag_error(d, loc, "tensor '%s': data_offsets [%lld, %lld] are out of range: the data section is %lld bytes",
               nm, begin, end, (long long)data_size);
    return false;
  }
  if (end - begin != bytes) {
    char shape[IR_MAX_RANK * 24 + 4];
    diag_error(d, loc, "tensor '%s': data size mismatch: data_offsets [%lld, %lld] hold %lld bytes but %s %s needs %lld",
               nm, begin, end, end - begin, st_dtype_names[dt], st_shape_text(&e->type, shape, sizeof shape),
               (long long)bytes);
    return false;
  }
  e->begin = data_start + begin;
  e->end = data_start + end;
  e->name = ir_strdup(name);
  if (!e->name) {
    diag_oom(d, loc);
    return false;
  }
  return true;
}

/* Orders entries by begin, then end. */
static int st_cmp_offset(const void *a, const void *b) {
  const StEntry *x = *(const StEntry *const *)a, *y = *(const StEntry *const *)b;
  if (x->begin != y->begin) return x->begin < y->begin ? -1 : 1;
  if (x->end != y->end) return x->end < y->end ? -1 : 1;
  return 0;
}

/* Reports every pair of tensors whose (non-empty) byte ranges overlap; returns false if any. */
static bool st_check_overlap(const SafeTensors *st, int64_t data_start, Loc loc, DiagSink *d) {
  if (st->count < 2) return true;
  const StEntry **idx = ir_malloc((size_t)st->count * sizeof *idx);
  if (!idx) {
    diag_oom(d, loc);
    return false;
  }
  for (int i = 0; i < st->count; i++) idx[i] = &st->entries[i];
  qsort(idx, (size_t)st->count, sizeof *idx, st_cmp_offset);
  bool ok = true;
  const StEntry *prev = NULL; /* the non-empty entry reaching furthest so far */
  for (int i = 0; i < st->count; i++) {
    const StEntry *e = idx[i];
    if (e->begin == e->end) continue; /* an empty range overlaps nothing */
    if (prev && prev->end > e->begin) {
      char a[ST_SHOW], b[ST_SHOW];
      diag_error(d, loc, "tensors '%s' and '%s' overlap: data_offsets [%lld, %lld] and [%lld, %lld]",
                 st_show(prev->name, a), st_show(e->name, b), (long long)(prev->begin - data_start),
                 (long long)(prev->end - data_start), (long long)(e->begin - data_start),
                 (long long)(e->end - data_start));
      ok = false;
    }
    if (!prev || e->end > prev->end) prev = e;
  }
  ir_free(idx);
  return ok;
}

void st_free(SafeTensors *st) {
  for (int i = 0; i < st->count; i++) ir_free(st->entries[i].name);
  ir_free(st->entries);
  ir_buffer_unref(st->file);
  st->file = NULL;
  st->entries = NULL;
  st->count = 0;
}

IrStatus st_parse(IrBuffer *file, const char *name_for_diag, SafeTensors *st, DiagSink *d) {
  memset(st, 0, sizeof *st);
  Loc loc = name_for_diag ? loc_file(name_for_diag) : loc_none();
  st_json_init();
  const unsigned char *p = file->data;
  int64_t size = file->size;
  if (size < 8) {
    diag_error(d, loc, "truncated: the file is %lld bytes, too short for the 8-byte header length",
               (long long)size);
    return IR_ERR_INPUT;
  }
  uint64_t n = 0;
  for (int i = 7; i >= 0; i--) n = (n << 8) | p[i];
  if (n > (uint64_t)(size - 8)) {
    diag_error(d, loc, "truncated: the header length %llu is beyond the end of the file (%lld bytes)",
               (unsigned long long)n, (long long)size);
    return IR_ERR_INPUT;
  }
  if (n > (uint64_t)ST_MAX_HEADER_BYTES) {
    diag_error(d, loc, "the header length %llu is over the limit of %lld bytes", (unsigned long long)n,
               (long long)ST_MAX_HEADER_BYTES);
    return IR_ERR_INPUT;
  }
  const char *text = (const char *)p + 8;
  json_error_t je;
  memset(&je, 0, sizeof je);
  json_t *root = json_loadb(text, (size_t)n, JSON_REJECT_DUPLICATES, &je);
  if (!root) return st_json_error(&je, text, (size_t)n, loc, d);
  if (!json_is_object(root)) {
    diag_error(d, loc, "header: the JSON is not an object");
    json_decref(root);
    return IR_ERR_INPUT;
  }
  int64_t data_start = 8 + (int64_t)n, data_size = size - data_start;
  size_t cap = json_object_size(root);
  st->entries = ir_calloc(cap ? cap : 1, sizeof *st->entries);
  if (!st->entries) {
    json_decref(root);
    return diag_oom(d, loc);
  }
  bool ok = true;
  const char *key;
  json_t *val;
  json_object_foreach(root, key, val) {
    if (strcmp(key, "__metadata__") == 0) {
      ok = st_check_metadata(val, loc, d) && ok;
      continue;
    }
    if (st_parse_entry(key, val, data_start, data_size, &st->entries[st->count], loc, d))
      st->count++;
    else
      ok = false;
  }
  json_decref(root);
  if (ok) ok = st_check_overlap(st, data_start, loc, d);
  if (!ok) {
    st_free(st);
    return IR_ERR_INPUT;
  }
  st->file = ir_buffer_ref(file);
  return IR_OK;
}

IrStatus st_read(const char *path, SafeTensors *st, DiagSink *d) {
  memset(st, 0, sizeof *st);
  IrBuffer *file;
  IrStatus s = ir_read_file(path, IR_MAX_FILE_BYTES, &file, d);
  if (s != IR_OK) return s;
  s = st_parse(file, path, st, d);
  ir_buffer_unref(file);
  return s;
}

const StEntry *st_find(const SafeTensors *st, const char *name) {
  for (int i = 0; i < st->count; i++)
    if (strcmp(st->entries[i].name, name) == 0) return &st->entries[i];
  return NULL;
}

IrBuffer *st_data(const SafeTensors *st, const StEntry *e) {
  return ir_buffer_slice(st->file, e->begin, e->end - e->begin);
}

/* ---- writing ------------------------------------------------------------------------------------- */

/* Builds the JSON header for st_write into *out (a new object); reports bad arguments. */
static IrStatus st_build_header(int count, const char *const *names, const Tensor *tensors, json_t **out,
                                Loc loc, DiagSink *d) {
  *out = NULL;
  json_t *root = json_object();
  if (!root) return diag_oom(d, loc);
  int64_t offset = 0;
  for (int i = 0; i < count; i++) {
    char nm[ST_SHOW];
    const char *name = names[i];
    const TensorType *t = &tensors[i].type;
    const char *why = NULL;
    IrStatus bad = IR_ERR_USAGE;
    if (!name) {
      diag_error(d, loc, "tensor %d has no name", i);
    } else if (strlen(name) > IR_MAX_NAME) {
      diag_error(d, loc, "tensor '%s': the name is %zu bytes, over the limit of %d", st_show(name, nm),
                 strlen(name), IR_MAX_NAME);
    } else if (!st_utf8_valid(name)) {
      diag_error(d, loc, "tensor '%s': the name is not valid UTF-8", st_show(name, nm));
    } else if (strcmp(name, "__metadata__") == 0) {
      diag_error(d, loc, "tensor '__metadata__': the name is reserved by the format");
    } else if (json_object_get(root, name)) {
      diag_error(d, loc, "tensor '%s': the name is given twice", st_show(name, nm));
    } else if (t->layout) {
      diag_error(d, loc, "tensor '%s': has layout %s; safetensors holds only row-major tensors",
                 st_show(name, nm), t->layout->text ? t->layout->text : "?");
    } else if (!ir_type_valid(t, &why)) {
      diag_error(d, loc, "tensor '%s': bad type: %s", st_show(name, nm), why);
    } else {
      int64_t bytes = ir_type_bytes(t), end;
      if (!ir_add_ok(offset, bytes, &end) || end > IR_MAX_FILE_BYTES) {
        diag_error(d, loc, "the tensors add up to more than the limit of %lld bytes", (long long)IR_MAX_FILE_BYTES);
      } else if (bytes > 0 && !tensors[i].data) {
        diag_error(d, loc, "tensor '%s': has no data", st_show(name, nm));
      } else {
        json_t *e = json_object(), *shape = json_array(), *offs = json_array();
        bool ok = e && shape && offs;
        for (int k = 0; ok && k < t->rank; k++) ok = json_array_append_new(shape, json_integer(t->dims[k])) == 0;
        ok = ok && json_array_append_new(offs, json_integer(offset)) == 0;
        ok = ok && json_array_append_new(offs, json_integer(end)) == 0;
        ok = ok && json_object_set_new(e, "dtype", json_string(st_dtype_names[t->dtype])) == 0;
        ok = ok && json_object_set(e, "shape", shape) == 0;
        ok = ok && json_object_set(e, "data_offsets", offs) == 0;
        ok = ok && json_object_set(root, name, e) == 0;
        json_decref(e);
        json_decref(shape);
        json_decref(offs);
        if (ok) {
          offset = end;
          continue;
        }
        bad = diag_oom(d, loc);
      }
    }
    json_decref(root);
    return bad;
  }
  *out = root;
  return IR_OK;
}

IrStatus st_write(const char *path, int count, const char *const *names, const Tensor *tensors, DiagSink *d) {
  Loc loc = loc_file(path);
  if (count < 0 || (count > 0 && (!names || !tensors))) {
    diag_error(d, loc, "st_write: bad tensor list (count %d)", count);
    return IR_ERR_USAGE;
  }
  st_json_init();
  json_t *root;
  IrStatus s = st_build_header(count, names, tensors, &root, loc, d);
  if (s != IR_OK) return s;
  char *text = json_dumps(root, JSON_COMPACT | JSON_PRESERVE_ORDER);
  json_decref(root);
  if (!text) return diag_oom(d, loc);
  size_t len = strlen(text), padded = (len + 7) & ~(size_t)7;
  unsigned char lenbytes[8];
  for (int i = 0; i < 8; i++) lenbytes[i] = (unsigned char)((uint64_t)padded >> (8 * i));
  IrOutFile o;
  s = ir_out_open(&o, path, d);
  if (s != IR_OK) {
    ir_free(text);
    return s;
  }
  bool ok = fwrite(lenbytes, 1, 8, o.f) == 8 && fwrite(text, 1, len, o.f) == len;
  for (size_t i = len; ok && i < padded; i++) ok = fputc(' ', o.f) != EOF;
  for (int i = 0; ok && i < count; i++) {
    size_t bytes = (size_t)ir_type_bytes(&tensors[i].type);
    ok = bytes == 0 || fwrite(tensors[i].data, 1, bytes, o.f) == bytes;
  }
  ir_free(text);
  if (!ok) {
    diag_error(d, loc, "cannot write: %s", strerror(errno));
    ir_out_abort(&o);
    return IR_ERR_INPUT;
  }
  return ir_out_commit(&o, d);
}

/* proto.c — the protobuf side of the ONNX importer: protobuf-c's allocator hook, a nesting
 * check run before unpacking, element types, and TensorProto → lathe tensor conversion. */
#include <string.h>

#include "frontend/onnx/internal.h"
#include "ir/fs.h"

#if !defined(__BYTE_ORDER__) || __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "ONNX raw_data is little-endian; lathe copies it as is and so needs a little-endian host"
#endif

/* ---- allocation --------------------------------------------------------------------------------- */

/* protobuf-c's allocation callback: ir_malloc, so fault injection reaches the reader too. */
static void *onnx_alloc(void *data, size_t size) {
  (void)data;
  return ir_malloc(size);
}

/* protobuf-c's release callback. */
static void onnx_release(void *data, void *p) {
  (void)data;
  ir_free(p);
}

ProtobufCAllocator onnx_allocator = {onnx_alloc, onnx_release, NULL};

/* ---- the nesting check ---------------------------------------------------------------------------- */

/* Reads a base-128 varint at *pos (before end) into *v; false when truncated or longer than
 * ten bytes. */
static bool wire_varint(const uint8_t *data, size_t end, size_t *pos, uint64_t *v) {
  uint64_t r = 0;
  for (int shift = 0; shift < 70; shift += 7) {
    if (*pos >= end) return false;
    uint8_t b = data[(*pos)++];
    r |= (uint64_t)(b & 0x7f) << shift;
    if (!(b & 0x80)) { *v = r; return true; }
  }
  return false;
}

bool onnx_wire_check(const ProtobufCMessageDescriptor *desc, const uint8_t *data, size_t len, const char **why) {
  /* One entry per open message: its type and where its bytes end. */
  struct {
    const ProtobufCMessageDescriptor *desc;
    size_t end;
  } stack[ONNX_MAX_NESTING + 1];
  int depth = 0;
  size_t pos = 0;
  stack[0].desc = desc;
  stack[0].end = len;
  for (;;) {
    while (depth > 0 && pos == stack[depth].end) depth--;
    size_t end = stack[depth].end;
    if (pos == end) return true;
    uint64_t key, n;
    if (!wire_varint(data, end, &pos, &key)) { *why = "a field tag is cut short"; return false; }
    if ((key >> 3) == 0 || (key >> 3) > 0x1fffffff) { *why = "a field number is invalid"; return false; }
    switch (key & 7) {
    case 0: /* varint */
      if (!wire_varint(data, end, &pos, &n)) { *why = "a number is cut short"; return false; }
      break;
    case 1: /* 64-bit */
      if (end - pos < 8) { *why = "a 64-bit field is cut short"; return false; }
      pos += 8;
      break;
    case 5: /* 32-bit */
      if (end - pos < 4) { *why = "a 32-bit field is cut short"; return false; }
      pos += 4;
      break;
    case 2: { /* length-delimited: bytes, strings, packed arrays or a nested message */
      if (!wire_varint(data, end, &pos, &n)) { *why = "a length is cut short"; return false; }
      if (n > end - pos) { *why = "a field runs past the end of its message (the file is truncated?)"; return false; }
      const ProtobufCFieldDescriptor *f =
          stack[depth].desc ? protobuf_c_message_descriptor_get_field(stack[depth].desc, (unsigned)(key >> 3)) : NULL;
      if (f && f->type == PROTOBUF_C_TYPE_MESSAGE) {
        if (depth == ONNX_MAX_NESTING) { *why = "messages are nested too deeply"; return false; }
        depth++;
        stack[depth].desc = f->descriptor;
        stack[depth].end = pos + (size_t)n;
      } else {
        pos += (size_t)n;
      }
      break;
    }
    default: *why = "a field has an invalid wire type"; return false;
    }
  }
}

/* ---- element types ---------------------------------------------------------------------------------- */

DType onnx_dtype(int32_t t) {
  switch (t) {
  case ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT: return DT_F32;
  case ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT16: return DT_F16;
  case ONNX__TENSOR_PROTO__DATA_TYPE__BFLOAT16: return DT_BF16;
  case ONNX__TENSOR_PROTO__DATA_TYPE__INT8: return DT_I8;
  case ONNX__TENSOR_PROTO__DATA_TYPE__UINT8: return DT_U8;
  case ONNX__TENSOR_PROTO__DATA_TYPE__INT32: return DT_I32;
  case ONNX__TENSOR_PROTO__DATA_TYPE__INT64: return DT_I64;
  case ONNX__TENSOR_PROTO__DATA_TYPE__BOOL: return DT_BOOL;
  default: return DT_INVALID;
  }
}

const char *onnx_dtype_name(int32_t t) {
  static const char *const names[] = {"UNDEFINED", "FLOAT",  "UINT8",     "INT8",       "UINT16", "INT16",
                                      "INT32",     "INT64",  "STRING",    "BOOL",       "FLOAT16", "DOUBLE",
                                      "UINT32",    "UINT64", "COMPLEX64", "COMPLEX128", "BFLOAT16"};
  if (t >= 0 && t < (int32_t)(sizeof names / sizeof *names)) return names[t];
  return "an unknown element type";
}

/* ---- tensors ------------------------------------------------------------------------------------------ */

/* Copies n values of the int32_data field into data of dtype t, checking each fits; false
 * (reported) on the first that does not. */
static bool copy_int32_field(const Onnx__TensorProto *t, DType dt, void *data, const char *what, Loc loc,
                             DiagSink *d) {
  for (size_t i = 0; i < t->n_int32_data; i++) {
    int32_t v = t->int32_data[i];
    bool ok = true;
    switch (dt) {
    case DT_I32: ((int32_t *)data)[i] = v; break;
    case DT_I8: ok = v >= -128 && v <= 127; ((int8_t *)data)[i] = (int8_t)v; break;
    case DT_U8: ok = v >= 0 && v <= 255; ((uint8_t *)data)[i] = (uint8_t)v; break;
    case DT_BOOL: ok = v == 0 || v == 1; ((uint8_t *)data)[i] = (uint8_t)v; break;
    case DT_F16: case DT_BF16: ok = v >= 0 && v <= 0xffff; ((uint16_t *)data)[i] = (uint16_t)v; break;
    default: ok = false; break;
    }
    if (!ok) {
      diag_error(d, loc, "%s: element %zu (%d) is out of range for %s", what, i, (int)v, ir_dtype_name(dt));
      return false;
    }
  }
  return true;
}

/* The number of values stored in the typed field that dtype dt uses, and whether any other
 * typed field holds values. */
static size_t typed_count(const Onnx__TensorProto *t, DType dt, bool *other) {
  size_t n = 0;
  size_t all = t->n_float_data + t->n_int32_data + t->n_int64_data + t->n_double_data + t->n_uint64_data +
               t->n_string_data;
  switch (dt) {
  case DT_F32: n = t->n_float_data; break;
  case DT_I64: n = t->n_int64_data; break;
  default: n = t->n_int32_data; break;
  }
  *other = all != n;
  return n;
}

OnnxTensorStatus onnx_tensor_convert(const Onnx__TensorProto *t, const char *what, Loc loc, TensorType *type,
                                     IrBuffer **data, DiagSink *d) {
  *data = NULL;
  memset(type, 0, sizeof *type);
  if ((t->has_data_location && t->data_location == ONNX__TENSOR_PROTO__DATA_LOCATION__EXTERNAL) ||
      t->n_external_data) {
    const char *where = "?";
    for (size_t i = 0; i < t->n_external_data; i++)
      if (t->external_data[i]->key && !strcmp(t->external_data[i]->key, "location") && t->external_data[i]->value)
        where = t->external_data[i]->value;
    diag_error(d, loc, "%s keeps its data in an external file ('%.200s'): lathe imports only models whose "
               "weights are inside the .onnx file", what, where);
    return ONNX_TENSOR_BAD;
  }
  if (t->segment) {
    diag_error(d, loc, "%s is a segment of a larger tensor, which lathe does not import", what);
    return ONNX_TENSOR_BAD;
  }
  if (!t->has_data_type || t->data_type == ONNX__TENSOR_PROTO__DATA_TYPE__UNDEFINED) {
    diag_error(d, loc, "%s has no element type", what);
    return ONNX_TENSOR_BAD;
  }
  DType dt = onnx_dtype(t->data_type);
  if (dt == DT_INVALID) return ONNX_TENSOR_UNSUPPORTED;
  if (t->n_dims > IR_MAX_RANK) {
    diag_error(d, loc, "%s has rank %zu; lathe's limit is %d", what, t->n_dims, IR_MAX_RANK);
    return ONNX_TENSOR_BAD;
  }
  type->dtype = dt;
  type->rank = (int)t->n_dims;
  int64_t numel = 1;
  for (size_t i = 0; i < t->n_dims; i++) {
    if (t->dims[i] < 0) {
      diag_error(d, loc, "%s has a negative dimension (%lld)", what, (long long)t->dims[i]);
      return ONNX_TENSOR_BAD;
    }
    type->dims[i] = t->dims[i];
    if (!ir_mul_ok(numel, t->dims[i], &numel) || numel > IR_MAX_ELEMENTS) {
      diag_error(d, loc, "%s has more than %lld elements", what, (long long)IR_MAX_ELEMENTS);
      return ONNX_TENSOR_BAD;
    }
  }
  int64_t bytes = numel * ir_dtype_size(dt);
  bool other;
  size_t typed = typed_count(t, dt, &other);
  if (t->has_raw_data && (typed || other)) {
    diag_error(d, loc, "%s holds its data twice (raw_data and a typed field)", what);
    return ONNX_TENSOR_BAD;
  }
  if (!t->has_raw_data && other) {
    diag_error(d, loc, "%s of element type %s keeps values in a field of another type", what,
               onnx_dtype_name(t->data_type));
    return ONNX_TENSOR_BAD;
  }
  char shape[OP_SHAPE_BUF];
  if (t->has_raw_data && (int64_t)t->raw_data.len != bytes) {
    diag_error(d, loc, "%s: raw_data holds %zu bytes but %s%s needs %lld", what, t->raw_data.len,
               ir_dtype_name(dt), op_shape_str(type, shape, sizeof shape), (long long)bytes);
    return ONNX_TENSOR_BAD;
  }
  if (!t->has_raw_data && (int64_t)typed != numel) {
    diag_error(d, loc, "%s holds %zu values but %s%s has %lld elements", what, typed, ir_dtype_name(dt),
               op_shape_str(type, shape, sizeof shape), (long long)numel);
    return ONNX_TENSOR_BAD;
  }
  IrBuffer *b = ir_buffer_new(bytes);
  if (!b) {
    diag_oom(d, loc);
    return ONNX_TENSOR_BAD;
  }
  if (t->has_raw_data) {
    if (bytes) memcpy(b->data, t->raw_data.data, (size_t)bytes);
  } else if (dt == DT_F32) {
    if (bytes) memcpy(b->data, t->float_data, (size_t)bytes);
  } else if (dt == DT_I64) {
    if (bytes) memcpy(b->data, t->int64_data, (size_t)bytes);
  } else if (!copy_int32_field(t, dt, b->data, what, loc, d)) {
    ir_buffer_unref(b);
    return ONNX_TENSOR_BAD;
  }
  if (dt == DT_BOOL && t->has_raw_data)
    for (int64_t i = 0; i < numel; i++)
      if (((uint8_t *)b->data)[i] > 1) {
        diag_error(d, loc, "%s: element %lld of a BOOL tensor is %u, not 0 or 1", what, (long long)i,
                   ((uint8_t *)b->data)[i]);
        ir_buffer_unref(b);
        return ONNX_TENSOR_BAD;
      }
  *data = b;
  return ONNX_TENSOR_OK;
}

IrStatus onnx_read_tensor_file(const char *path, Tensor *t, IrBuffer **buf, char **name, DiagSink *d) {
  return onnx_read_tensor_file_bits16(path, DT_INVALID, t, buf, name, d);
}

IrStatus onnx_read_tensor_file_bits16(const char *path, DType bits16, Tensor *t, IrBuffer **buf, char **name,
                                      DiagSink *d) {
  Loc loc = loc_file(path);
  IrBuffer *file;
  *buf = NULL;
  if (name) *name = NULL;
  IrStatus st = ir_read_file(path, (int64_t)INT32_MAX, &file, d);
  if (st != IR_OK) return st;
  const char *why;
  if (!onnx_wire_check(&onnx__tensor_proto__descriptor, file->data, (size_t)file->size, &why)) {
    diag_error(d, loc, "not a valid TensorProto: %s", why);
    ir_buffer_unref(file);
    return IR_ERR_INPUT;
  }
  Onnx__TensorProto *tp = onnx__tensor_proto__unpack(&onnx_allocator, (size_t)file->size, file->data);
  ir_buffer_unref(file);
  if (!tp) {
    diag_error(d, loc, "not a valid TensorProto (truncated or corrupted, or out of memory)");
    return IR_ERR_INPUT;
  }
  if (tp->data_type == ONNX__TENSOR_PROTO__DATA_TYPE__UINT16 && (bits16 == DT_F16 || bits16 == DT_BF16))
    tp->data_type = bits16 == DT_F16 ? ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT16 : ONNX__TENSOR_PROTO__DATA_TYPE__BFLOAT16;
  OnnxTensorStatus ts = onnx_tensor_convert(tp, "the tensor", loc, &t->type, buf, d);
  if (ts == ONNX_TENSOR_UNSUPPORTED)
    diag_error(d, loc, "the tensor has element type %s, which lathe does not have", onnx_dtype_name(tp->data_type));
  if (ts == ONNX_TENSOR_OK && name) {
    *name = ir_strdup(tp->name ? tp->name : "");
    if (!*name) {
      ir_buffer_unref(*buf);
      *buf = NULL;
      ts = ONNX_TENSOR_BAD;
      diag_oom(d, loc);
    }
  }
  onnx__tensor_proto__free_unpacked(tp, &onnx_allocator);
  if (ts != ONNX_TENSOR_OK) return IR_ERR_INPUT;
  t->data = (*buf)->data;
  return IR_OK;
}

/* types.c — element types, 16-bit float conversions, tensor types and data buffers. */
#include "ir/ir.h"

#include <math.h>
#include <string.h>

/* ---- element types -------------------------------------------------------------------------- */

static const struct { const char *name; int size; } dtypes[DT_COUNT] = {
#define X(e, name, size) {name, size},
    IR_DTYPES(X)
#undef X
};

const char *ir_dtype_name(DType t) { return t >= 0 && t < DT_COUNT ? dtypes[t].name : "?"; }

int ir_dtype_size(DType t) { return t >= 0 && t < DT_COUNT ? dtypes[t].size : 0; }

DType ir_dtype_parse(const char *s, size_t len) {
  for (int t = 0; t < DT_COUNT; t++)
    if (strlen(dtypes[t].name) == len && memcmp(dtypes[t].name, s, len) == 0) return (DType)t;
  return DT_INVALID;
}

/* ---- 16-bit floats ----------------------------------------------------------------------------- */

static uint32_t f32_bits(float f) { uint32_t u; memcpy(&u, &f, 4); return u; }
static float bits_f32(uint32_t u) { float f; memcpy(&f, &u, 4); return f; }

uint16_t ir_f32_to_bf16(float f) {
  uint32_t u = f32_bits(f);
  if ((u & 0x7fffffffu) > 0x7f800000u) return (uint16_t)((u >> 16) | 0x40); /* quiet NaN */
  u += 0x7fffu + ((u >> 16) & 1u); /* round to nearest even */
  return (uint16_t)(u >> 16);
}

float ir_bf16_to_f32(uint16_t h) { return bits_f32((uint32_t)h << 16); }

uint16_t ir_f32_to_f16(float f) {
  uint32_t u = f32_bits(f);
  uint16_t sign = (uint16_t)((u >> 16) & 0x8000u);
  uint32_t a = u & 0x7fffffffu;
  if (a > 0x7f800000u) return sign | 0x7e00u | (uint16_t)((a >> 13) & 0x3ffu); /* NaN */
  if (a >= 0x477ff000u) return sign | 0x7c00u; /* rounds to infinity (or is) */
  if (a < 0x38800000u) { /* f16 subnormal or zero: scale into an integer and round */
    float m = bits_f32(a) * 16777216.0f; /* 2^24: one f16 subnormal ulp becomes 1 */
    return sign | (uint16_t)lrintf(m);
  }
  uint32_t r = a + 0xfffu + ((a >> 13) & 1u); /* round mantissa to 10 bits, nearest even */
  return sign | (uint16_t)((r - 0x38000000u) >> 13);
}

float ir_f16_to_f32(uint16_t h) {
  uint32_t sign = (uint32_t)(h & 0x8000u) << 16;
  uint32_t e = (h >> 10) & 0x1fu, m = h & 0x3ffu;
  if (e == 0) { /* zero or subnormal: m * 2^-24 is exact in f32 */
    float f = (float)m * (1.0f / 16777216.0f);
    return bits_f32(f32_bits(f) | sign);
  }
  if (e == 31) return bits_f32(sign | 0x7f800000u | (m << 13));
  return bits_f32(sign | ((e + 112) << 23) | (m << 13));
}

/* ---- tensor types ------------------------------------------------------------------------------ */

int64_t ir_type_numel(const TensorType *t) {
  int64_t n = 1;
  for (int i = 0; i < t->rank; i++)
    if (!ir_mul_ok(n, t->dims[i], &n)) return -1;
  return n;
}

/* Elements of the physical form: the layout's dims, each outer part rounded up to blocks. */
static int64_t physical_numel(const TensorType *t) {
  const Layout *l = t->layout;
  if (!l) return ir_type_numel(t);
  int64_t n = 1;
  for (int p = 0; p < l->ndims; p++) {
    int d = l->dim[p];
    int64_t extent;
    if (l->block[p] > 0) {
      extent = l->block[p];
    } else {
      int64_t inner = 1; /* product of this dimension's blocks (later physical dims) */
      for (int q = p + 1; q < l->ndims; q++)
        if (l->dim[q] == d && l->block[q] > 0) inner *= l->block[q];
      extent = (t->dims[d] + inner - 1) / inner;
    }
    if (!ir_mul_ok(n, extent, &n)) return -1;
  }
  return n;
}

int64_t ir_type_bytes(const TensorType *t) {
  int64_t n = physical_numel(t), b;
  if (n < 0 || !ir_mul_ok(n, ir_dtype_size(t->dtype), &b)) return -1;
  return b;
}

bool ir_type_valid(const TensorType *t, const char **why) {
  if (t->dtype < 0 || t->dtype >= DT_COUNT) { *why = "unknown element type"; return false; }
  if (t->rank < 0 || t->rank > IR_MAX_RANK) { *why = "rank is over the limit of 8"; return false; }
  for (int i = 0; i < t->rank; i++)
    if (t->dims[i] < 0) { *why = "a dimension is negative"; return false; }
  int64_t n = ir_type_numel(t);
  if (n < 0 || n > IR_MAX_ELEMENTS) { *why = "the element count is over the limit of 2^36"; return false; }
  int64_t b = ir_type_bytes(t);
  if (b < 0 || b > IR_MAX_TENSOR_BYTES) { *why = "the size in bytes is over the limit of 2^38"; return false; }
  if (t->quant) {
    const Quant *q = t->quant;
    if (t->dtype != DT_I8 && t->dtype != DT_U8 && t->dtype != DT_I32) {
      *why = "only i8, u8 and i32 tensors can be quantized";
      return false;
    }
    if (q->axis >= t->rank) { *why = "the quantization axis is out of range"; return false; }
    int64_t want = q->axis < 0 ? 1 : t->dims[q->axis];
    if (q->count != want) { *why = "the number of scales does not match the quantized axis"; return false; }
    for (int i = 0; i < q->count; i++) {
      if (!(q->scales[i] > 0) || isinf(q->scales[i])) { *why = "a scale is not a positive finite number"; return false; }
      int64_t lo = t->dtype == DT_I8 ? -128 : t->dtype == DT_U8 ? 0 : INT32_MIN;
      int64_t hi = t->dtype == DT_I8 ? 127 : t->dtype == DT_U8 ? 255 : INT32_MAX;
      if (q->zero_points[i] < lo || q->zero_points[i] > hi) {
        *why = "a zero point is outside the range of the element type";
        return false;
      }
    }
  }
  if (t->layout) {
    const Layout *l = t->layout;
    bool seen[IR_MAX_RANK] = {0};
    for (int p = 0; p < l->ndims; p++) {
      if (l->dim[p] < 0 || l->dim[p] >= t->rank) { *why = "the layout names a dimension the tensor lacks"; return false; }
      if (l->block[p] == 0) {
        if (seen[l->dim[p]]) { *why = "the layout names a dimension twice"; return false; }
        seen[l->dim[p]] = true;
      }
    }
    for (int d = 0; d < t->rank; d++)
      if (!seen[d]) { *why = "the layout does not name every dimension"; return false; }
  }
  return true;
}

/* True when the two quantizations are identical (either may be NULL). */
static bool quant_equal(const Quant *a, const Quant *b) {
  if (!a || !b) return a == b;
  if (a->axis != b->axis || a->count != b->count) return false;
  for (int i = 0; i < a->count; i++)
    if (memcmp(&a->scales[i], &b->scales[i], sizeof(double)) != 0 || a->zero_points[i] != b->zero_points[i])
      return false;
  return true;
}

bool ir_type_equal(const TensorType *a, const TensorType *b) {
  if (a->dtype != b->dtype || a->rank != b->rank) return false;
  for (int i = 0; i < a->rank; i++)
    if (a->dims[i] != b->dims[i]) return false;
  if (!a->layout != !b->layout) return false;
  if (a->layout && strcmp(a->layout->text, b->layout->text) != 0) return false;
  return quant_equal(a->quant, b->quant);
}

TensorType ir_type_plain(const TensorType *t, DType dtype) {
  TensorType p = *t;
  p.dtype = dtype;
  p.layout = NULL;
  p.quant = NULL;
  return p;
}

/* ---- buffers ------------------------------------------------------------------------------------ */

IrBuffer *ir_buffer_new(int64_t size) {
  if (size < 0 || size > IR_MAX_TENSOR_BYTES) return NULL;
  IrBuffer *b = ir_calloc(1, sizeof *b);
  if (!b) return NULL;
  /* over-allocate by 63 bytes and align by hand: aligned_alloc would bypass the hook */
  b->alloc = ir_calloc(1, (size_t)size + 64);
  if (!b->alloc) { ir_free(b); return NULL; }
  b->data = (void *)(((uintptr_t)b->alloc + 63) & ~(uintptr_t)63);
  b->size = size;
  b->refs = 1;
  return b;
}

IrBuffer *ir_buffer_slice(IrBuffer *parent, int64_t offset, int64_t size) {
  if (offset < 0 || size < 0 || offset > parent->size || size > parent->size - offset) return NULL;
  IrBuffer *b = ir_calloc(1, sizeof *b);
  if (!b) return NULL;
  b->data = (char *)parent->data + offset;
  b->size = size;
  b->parent = ir_buffer_ref(parent);
  b->refs = 1;
  return b;
}

IrBuffer *ir_buffer_ref(IrBuffer *b) {
  if (b) b->refs++;
  return b;
}

void ir_buffer_unref(IrBuffer *b) {
  while (b && --b->refs == 0) {
    IrBuffer *parent = b->parent;
    ir_free(b->alloc);
    ir_free(b);
    b = parent;
  }
}

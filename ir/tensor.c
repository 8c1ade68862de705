/* tensor.c — moving tensor data between its physical form (blocked layouts, 16-bit floats)
 * and the plain row-major form the reference kernels read. */
#include "ir/ir.h"

#include <string.h>

void ir_geometry(const TensorType *t, IrGeometry *g) {
  const Layout *l = t->layout;
  if (!l) {
    g->n = t->rank;
    for (int d = 0; d < t->rank; d++) { g->dim[d] = d; g->inner[d] = 1; g->extent[d] = t->dims[d]; }
  } else {
    g->n = l->ndims;
    for (int p = 0; p < l->ndims; p++) {
      int d = l->dim[p];
      int64_t inner = 1;
      for (int q = p + 1; q < l->ndims; q++)
        if (l->dim[q] == d && l->block[q] > 0) inner *= l->block[q];
      g->dim[p] = d;
      g->inner[p] = inner;
      g->extent[p] = l->block[p] > 0 ? l->block[p] : (t->dims[d] + inner - 1) / inner;
    }
  }
  int64_t s = 1;
  for (int p = g->n - 1; p >= 0; p--) { g->stride[p] = s; s *= g->extent[p]; }
}

/* Physical element offset of the logical multi-index idx. */
static int64_t physical_offset(const IrGeometry *g, const int64_t *idx) {
  int64_t off = 0;
  for (int p = 0; p < g->n; p++) {
    int64_t c = idx[g->dim[p]] / g->inner[p];
    if (c >= g->extent[p]) c %= g->extent[p]; /* a block: the remainder within it */
    off += c * g->stride[p];
  }
  return off;
}

/* Copies one element from (sdt, s) to (ddt, d), converting between float widths. */
static void convert(DType sdt, const void *s, DType ddt, void *d) {
  if (sdt == ddt) { memcpy(d, s, (size_t)ir_dtype_size(sdt)); return; }
  float f = 0;
  uint16_t h;
  switch (sdt) {
  case DT_F32: memcpy(&f, s, 4); break;
  case DT_F16: memcpy(&h, s, 2); f = ir_f16_to_f32(h); break;
  case DT_BF16: memcpy(&h, s, 2); f = ir_bf16_to_f32(h); break;
  default: memcpy(d, s, (size_t)ir_dtype_size(ddt)); return; /* verifier keeps this unreachable */
  }
  switch (ddt) {
  case DT_F32: memcpy(d, &f, 4); break;
  case DT_F16: h = ir_f32_to_f16(f); memcpy(d, &h, 2); break;
  case DT_BF16: h = ir_f32_to_bf16(f); memcpy(d, &h, 2); break;
  default: break;
  }
}

/* Walks every logical element of t, copying between the plain array (dtype pdt) and the
 * physical array (t's dtype) in the direction given. */
static void transfer(const TensorType *t, void *phys, DType pdt, void *plain, bool to_plain) {
  int64_t n = ir_type_numel(t);
  int psz = ir_dtype_size(pdt), tsz = ir_dtype_size(t->dtype);
  if (!t->layout) {
    for (int64_t i = 0; i < n; i++) {
      char *a = (char *)phys + i * tsz, *b = (char *)plain + i * psz;
      if (to_plain) convert(t->dtype, a, pdt, b); else convert(pdt, b, t->dtype, a);
    }
    return;
  }
  IrGeometry g;
  ir_geometry(t, &g);
  if (!to_plain) memset(phys, 0, (size_t)ir_type_bytes(t));
  int64_t idx[IR_MAX_RANK] = {0};
  for (int64_t i = 0; i < n; i++) {
    char *a = (char *)phys + physical_offset(&g, idx) * tsz, *b = (char *)plain + i * psz;
    if (to_plain) convert(t->dtype, a, pdt, b); else convert(pdt, b, t->dtype, a);
    for (int d = t->rank - 1; d >= 0; d--) { /* next row-major index */
      if (++idx[d] < t->dims[d]) break;
      idx[d] = 0;
    }
  }
}

void ir_tensor_unpack(const TensorType *t, const void *src, DType to, void *dst) {
  transfer(t, (void *)src, to, dst, true);
}

void ir_tensor_pack(const TensorType *t, const void *src, DType from, void *dst) {
  transfer(t, dst, from, (void *)src, false);
}

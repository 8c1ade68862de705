/* compare.c — a computed tensor against its reference, element by element, within a tolerance. */
#include "ir/compare.h"

#include <math.h>

#include "ir/op.h"

/* Widens the physical data of type t into doubles (a new ir_malloc'd array, or NULL). */
static double *as_doubles(const TensorType *t, const void *data) {
  int64_t n = ir_type_numel(t);
  DType plain = ir_dtype_is_float(t->dtype) ? DT_F32 : t->dtype;
  void *tmp = ir_malloc((size_t)(n * ir_dtype_size(plain)) + 1);
  double *out = ir_malloc(sizeof(double) * (size_t)(n + 1));
  if (tmp && out) {
    ir_tensor_unpack(t, data, plain, tmp);
    Tensor view = {ir_type_plain(t, plain), tmp};
    for (int64_t i = 0; i < n; i++) out[i] = op_get(&view, i);
  } else {
    ir_free(out);
    out = NULL;
  }
  ir_free(tmp);
  return out;
}

bool ir_compare(const TensorType *t, const void *got, const void *want, const IrTolerance *tol, IrDiff *out) {
  *out = (IrDiff){ir_type_numel(t), 0, -1, 0, 0, 0, 0};
  double *a = as_doubles(t, got), *b = as_doubles(t, want);
  bool ok = a && b;
  bool is_float = ir_dtype_is_float(t->dtype);
  for (int64_t k = 0; ok && k < out->numel; k++) {
    double diff = isnan(a[k]) || isnan(b[k]) ? (isnan(a[k]) && isnan(b[k]) ? 0 : INFINITY) : fabs(a[k] - b[k]);
    if (a[k] == b[k]) diff = 0; /* equal infinities */
    if (diff > out->max_abs) out->max_abs = diff;
    if (b[k] != 0 && !isnan(b[k]) && diff / fabs(b[k]) > out->max_rel) out->max_rel = diff / fabs(b[k]);
    /* isfinite: against an infinite want, rtol |want| would admit anything, -inf included. */
    bool same = diff == 0 || (is_float && isfinite(diff) && diff <= tol->atol + tol->rtol * fabs(b[k]));
    if (same) continue;
    if (out->bad++ == 0) {
      out->first_bad = k;
      out->got = a[k];
      out->want = b[k];
    }
  }
  ir_free(a);
  ir_free(b);
  return ok;
}

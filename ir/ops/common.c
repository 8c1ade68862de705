/* common.c — helpers shared by the op families: reporting, dtype/rank/attribute checks,
 * broadcasting, index iteration and element access of any dtype. */
#include "ir/op.h"

#include <math.h>
#include <string.h>

/* ---- reporting ------------------------------------------------------------------------------- */

bool op_fail(InferCtx *c, const char *attr, const char *fmt, ...) {
  const Attr *a = attr ? ir_attr(c->node, attr) : NULL;
  va_list ap;
  va_start(ap, fmt);
  diag_vreport(c->diag, DIAG_ERROR, a ? a->loc : c->node->loc, fmt, ap);
  va_end(ap);
  return false;
}

IrStatus op_eval_fail(EvalCtx *c, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  diag_vreport(c->diag, DIAG_ERROR, c->node->loc, fmt, ap);
  va_end(ap);
  return IR_ERR_INPUT;
}

const char *op_name(const Node *n) {
  return n->op >= 0 && n->op < OP_COUNT ? ir_ops[n->op].name : "?";
}

const char *op_shape_str(const TensorType *t, char *buf, size_t size) {
  size_t used = 0;
  if (size == 0) return buf;
  buf[0] = 0;
  for (int i = 0; i <= t->rank && used < size; i++) {
    const char *sep = i == 0 ? "[" : ", ";
    int w = i < t->rank ? snprintf(buf + used, size - used, "%s%lld", sep, (long long)t->dims[i])
                        : snprintf(buf + used, size - used, "%s]", i == 0 ? "[" : "");
    if (w < 0) break;
    used += (size_t)w;
  }
  return buf;
}

/* Reports that `what` = v lies outside [lo, hi] (a huge hi is left unsaid). */
static bool fail_range(InferCtx *c, const char *attr, const char *what, int64_t v, int64_t lo, int64_t hi) {
  if (hi >= IR_MAX_ELEMENTS)
    return op_fail(c, attr, "%s: %s = %lld must be >= %lld", op_name(c->node), what, (long long)v, (long long)lo);
  return op_fail(c, attr, "%s: %s = %lld is out of range (allowed %lld..%lld)", op_name(c->node), what,
                 (long long)v, (long long)lo, (long long)hi);
}

/* ---- checks ---------------------------------------------------------------------------------- */

bool op_check_dtype(InferCtx *c, int i, const DType *allowed) {
  DType dt = c->in[i]->dtype;
  for (const DType *p = allowed; *p != DT_INVALID; p++)
    if (*p == dt) return true;
  char list[160];
  size_t used = 0;
  list[0] = 0;
  for (const DType *p = allowed; *p != DT_INVALID && used < sizeof list; p++) {
    int w = snprintf(list + used, sizeof list - used, "%s%s", p == allowed ? "" : ", ", ir_dtype_name(*p));
    if (w < 0) break;
    used += (size_t)w;
  }
  return op_fail(c, NULL, "%s: input %d has dtype %s; allowed: %s", op_name(c->node), i,
                 ir_dtype_name(dt), list);
}

bool op_check_rank(InferCtx *c, int i, int rank) {
  if (c->in[i]->rank == rank) return true;
  return op_fail(c, NULL, "%s: input %d must have rank %d, not %d", op_name(c->node), i, rank,
                 c->in[i]->rank);
}

bool op_check_same_dtype(InferCtx *c, int i, int j) {
  if (c->in[i]->dtype == c->in[j]->dtype) return true;
  return op_fail(c, NULL, "%s: input %d has dtype %s but input %d has %s", op_name(c->node), i,
                 ir_dtype_name(c->in[i]->dtype), j, ir_dtype_name(c->in[j]->dtype));
}

bool op_axis(InferCtx *c, const char *attr, int64_t axis, int rank, int *out) {
  if (axis < -(int64_t)rank || axis >= rank)
    return op_fail(c, attr, "%s: axis %lld is out of range for rank %d (allowed %d..%d)",
                   op_name(c->node), (long long)axis, rank, -rank, rank - 1);
  *out = (int)(axis < 0 ? axis + rank : axis);
  return true;
}

bool op_int_attr(InferCtx *c, const char *name, int64_t def, int64_t lo, int64_t hi, int64_t *out) {
  int64_t v = ir_attr_int(c->node, name, def);
  if (v < lo || v > hi) return fail_range(c, name, name, v, lo, hi);
  *out = v;
  return true;
}

bool op_ints_attr(InferCtx *c, const char *name, int n, int64_t def, int64_t lo, int64_t hi, int64_t *out) {
  int count = 0;
  const int64_t *v = ir_attr_ints(c->node, name, &count);
  if (!v) {
    for (int i = 0; i < n; i++) out[i] = def;
    return true;
  }
  if (count != n)
    return op_fail(c, name, "%s: %s has %d entries; expected %d", op_name(c->node), name, count, n);
  for (int i = 0; i < n; i++) {
    if (v[i] < lo || v[i] > hi) {
      char what[64];
      snprintf(what, sizeof what, "%s[%d]", name, i);
      return fail_range(c, name, what, v[i], lo, hi);
    }
    out[i] = v[i];
  }
  return true;
}

void op_ints_or(const Node *node, const char *name, int n, int64_t def, int64_t *out) {
  int count = 0;
  const int64_t *v = ir_attr_ints(node, name, &count);
  for (int i = 0; i < n; i++) out[i] = v && i < count ? v[i] : def;
}

/* ---- outputs and windows --------------------------------------------------------------------- */

void op_out(InferCtx *c, int i, DType dtype, int rank, const int64_t *dims) {
  TensorType *t = &c->out[i];
  memset(t, 0, sizeof *t);
  t->dtype = dtype;
  t->rank = rank;
  for (int d = 0; d < rank; d++) t->dims[d] = dims[d];
  t->layout = NULL;
  t->quant = NULL;
}

bool op_out_checked(InferCtx *c, int i, DType dtype, int rank, const int64_t *dims) {
  const char *why;
  op_out(c, i, dtype, rank, dims);
  if (!ir_type_valid(&c->out[i], &why)) return op_fail(c, NULL, "%s: result %d: %s", op_name(c->node), i, why);
  return true;
}

bool op_window_out(InferCtx *c, const char *what, int64_t in, int64_t k, int64_t stride, int64_t dil,
                   int64_t pad_begin, int64_t pad_end, bool ceil_mode, int64_t *out) {
  int64_t span, padded, room;
  if (!ir_mul_ok(k - 1, dil, &span) || !ir_add_ok(span, 1, &span) || !ir_add_ok(in, pad_begin, &padded) ||
      !ir_add_ok(padded, pad_end, &padded))
    return op_fail(c, NULL, "%s: %s: window or padding too large", op_name(c->node), what);
  room = padded - span;
  if (room < 0)
    return op_fail(c, NULL, "%s: %s: padded input %lld is shorter than the (dilated) kernel %lld",
                   op_name(c->node), what, (long long)padded, (long long)span);
  int64_t n = room / stride + 1;
  if (ceil_mode && room % stride != 0) {
    n++;
    if ((n - 1) * stride >= in + pad_begin) n--; /* last window would start in the right padding */
  }
  *out = n;
  return true;
}

void op_taps(int64_t start, int64_t k, int64_t dil, int64_t in, int64_t *lo, int64_t *hi) {
  int64_t first = start >= 0 ? 0 : (-start + dil - 1) / dil; /* first tap at position >= 0 */
  int64_t end = start >= in ? 0 : (in - 1 - start) / dil + 1; /* taps at positions < in */
  *lo = first;
  *hi = end < k ? end : k;
  if (*hi < *lo) *hi = *lo;
}

/* ---- broadcasting and iteration ---------------------------------------------------------------- */

bool op_broadcast(InferCtx *c, const TensorType *a, const TensorType *b, TensorType *out) {
  int rank = a->rank > b->rank ? a->rank : b->rank;
  TensorType r;
  memset(&r, 0, sizeof r);
  r.dtype = a->dtype;
  r.rank = rank;
  for (int i = 0; i < rank; i++) {
    int ia = i - (rank - a->rank), ib = i - (rank - b->rank);
    int64_t da = ia >= 0 ? a->dims[ia] : 1, db = ib >= 0 ? b->dims[ib] : 1;
    if (da != db && da != 1 && db != 1) {
      char sa[OP_SHAPE_BUF], sb[OP_SHAPE_BUF];
      return op_fail(c, NULL, "%s: shapes %s and %s do not broadcast (dimension %d: %lld vs %lld)",
                     op_name(c->node), op_shape_str(a, sa, sizeof sa), op_shape_str(b, sb, sizeof sb), i,
                     (long long)da, (long long)db);
    }
    r.dims[i] = da == 1 ? db : da;
  }
  *out = r;
  return true;
}

int64_t op_broadcast_offset(const TensorType *from, const TensorType *to, const int64_t *idx) {
  int64_t off = 0;
  int lead = to->rank - from->rank;
  for (int k = 0; k < from->rank; k++) {
    int64_t coord = from->dims[k] == 1 ? 0 : idx[k + lead];
    off = off * from->dims[k] + coord;
  }
  return off;
}

bool op_next_index(const TensorType *t, int64_t *idx) {
  for (int d = t->rank - 1; d >= 0; d--) {
    if (++idx[d] < t->dims[d]) return true;
    idx[d] = 0;
  }
  return false;
}

/* ---- element access ---------------------------------------------------------------------------- */

double op_get(const Tensor *t, int64_t i) {
  const void *p = t->data;
  switch (t->type.dtype) {
  case DT_F32: return ((const float *)p)[i];
  case DT_F16: return ir_f16_to_f32(((const uint16_t *)p)[i]);
  case DT_BF16: return ir_bf16_to_f32(((const uint16_t *)p)[i]);
  case DT_I8: return ((const int8_t *)p)[i];
  case DT_U8: return ((const uint8_t *)p)[i];
  case DT_I32: return ((const int32_t *)p)[i];
  case DT_I64: return (double)((const int64_t *)p)[i];
  case DT_BOOL: return ((const uint8_t *)p)[i] != 0;
  default: return 0;
  }
}

/* Converts v to an integer in [lo, hi], saturating; NaN becomes 0. */
static int64_t saturate(double v, double lo, double hi) {
  if (isnan(v)) return 0;
  if (v <= lo) return (int64_t)lo;
  if (v >= hi) return hi >= 9223372036854775807.0 ? INT64_MAX : (int64_t)hi; /* 2^63 does not fit */
  return (int64_t)v;
}

void op_set(Tensor *t, int64_t i, double v) {
  void *p = t->data;
  switch (t->type.dtype) {
  case DT_F32: ((float *)p)[i] = (float)v; break;
  case DT_F16: ((uint16_t *)p)[i] = ir_f32_to_f16((float)v); break;
  case DT_BF16: ((uint16_t *)p)[i] = ir_f32_to_bf16((float)v); break;
  case DT_I8: ((int8_t *)p)[i] = (int8_t)saturate(v, INT8_MIN, INT8_MAX); break;
  case DT_U8: ((uint8_t *)p)[i] = (uint8_t)saturate(v, 0, UINT8_MAX); break;
  case DT_I32: ((int32_t *)p)[i] = (int32_t)saturate(v, INT32_MIN, INT32_MAX); break;
  case DT_I64: ((int64_t *)p)[i] = saturate(v, -9223372036854775808.0, 9223372036854775807.0); break;
  case DT_BOOL: ((uint8_t *)p)[i] = v != 0; break;
  default: break;
  }
}

int64_t op_get_int(const Tensor *t, int64_t i) {
  const void *p = t->data;
  switch (t->type.dtype) {
  case DT_I8: return ((const int8_t *)p)[i];
  case DT_U8: return ((const uint8_t *)p)[i];
  case DT_I32: return ((const int32_t *)p)[i];
  case DT_I64: return ((const int64_t *)p)[i];
  case DT_BOOL: return ((const uint8_t *)p)[i] != 0;
  default: return saturate(op_get(t, i), -9223372036854775808.0, 9223372036854775807.0);
  }
}

void op_set_int(Tensor *t, int64_t i, int64_t v) {
  void *p = t->data;
  uint64_t u = (uint64_t)v; /* wrap to the width below (conversion of unsigned is modular) */
  switch (t->type.dtype) {
  case DT_I8: ((int8_t *)p)[i] = (int8_t)(uint8_t)u; break;
  case DT_U8: ((uint8_t *)p)[i] = (uint8_t)u; break;
  case DT_I32: ((int32_t *)p)[i] = (int32_t)(uint32_t)u; break;
  case DT_I64: ((int64_t *)p)[i] = v; break;
  case DT_BOOL: ((uint8_t *)p)[i] = v != 0; break;
  default: op_set(t, i, (double)v); break;
  }
}

void op_copy_elem(Tensor *dst, int64_t di, const Tensor *src, int64_t si) {
  if (dst->type.dtype == src->type.dtype) {
    size_t sz = (size_t)ir_dtype_size(src->type.dtype);
    memcpy((char *)dst->data + (size_t)di * sz, (const char *)src->data + (size_t)si * sz, sz);
  } else if (ir_dtype_is_float(dst->type.dtype) || ir_dtype_is_float(src->type.dtype)) {
    op_set(dst, di, op_get(src, si));
  } else {
    op_set_int(dst, di, op_get_int(src, si));
  }
}

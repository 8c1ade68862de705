/* shape.c — ops that rearrange elements without computing: reshape, flatten, transpose and
 * concat. They accept every dtype. */
#include "ir/op.h"

/* Copies n elements from src starting at si into dst starting at di. */
static void copy_run(Tensor *dst, int64_t di, const Tensor *src, int64_t si, int64_t n) {
  for (int64_t k = 0; k < n; k++) op_copy_elem(dst, di + k, src, si + k);
}

/* The elements keep their row-major order: the result is a plain copy. */
static IrStatus copy_eval(EvalCtx *c) {
  copy_run(&c->out[0], 0, &c->in[0], 0, ir_type_numel(&c->out[0].type));
  return IR_OK;
}

/* ---- reshape ---------------------------------------------------------------------------------- */

static const AttrSpec reshape_attrs[] = {{"shape", ATTR_INTS, true}, {0}};

/* ONNX Reshape with allowzero = 0: 0 copies the input dimension at that position, one -1
 * is inferred, and the element count must not change. */
static bool reshape_infer(InferCtx *c) {
  const TensorType *x = c->in[0];
  int n = 0, infer_at = -1;
  const int64_t *shape = ir_attr_ints(c->node, "shape", &n);
  char sx[OP_SHAPE_BUF];
  if (!shape) return op_fail(c, NULL, "reshape: the shape attribute is required");
  if (n > IR_MAX_RANK) return op_fail(c, "shape", "reshape: shape has %d entries; at most %d", n, IR_MAX_RANK);
  int64_t dims[IR_MAX_RANK], known = 1;
  for (int i = 0; i < n; i++) {
    int64_t d = shape[i];
    if (d < -1) return op_fail(c, "shape", "reshape: shape[%d] = %lld is negative", i, (long long)d);
    if (d == -1 && infer_at >= 0)
      return op_fail(c, "shape", "reshape: shape has more than one -1 (entries %d and %d)", infer_at, i);
    if (d == 0 && i >= x->rank)
      return op_fail(c, "shape", "reshape: shape[%d] = 0 copies a dimension the input %s does not have", i,
                     op_shape_str(x, sx, sizeof sx));
    if (d == -1) infer_at = i;
    dims[i] = d == 0 ? x->dims[i] : d;
    if (d != -1 && (!ir_mul_ok(known, dims[i], &known) || known > IR_MAX_ELEMENTS))
      return op_fail(c, "shape", "reshape: shape has too many elements");
  }
  int64_t numel = ir_type_numel(x);
  if (infer_at >= 0) {
    if (known == 0 || numel % known != 0)
      return op_fail(c, "shape", "reshape: cannot infer the -1 in shape: input %s has %lld elements, the other "
                     "entries multiply to %lld", op_shape_str(x, sx, sizeof sx), (long long)numel, (long long)known);
    dims[infer_at] = numel / known;
  } else if (known != numel) {
    return op_fail(c, "shape", "reshape: input %s has %lld elements but the new shape has %lld",
                   op_shape_str(x, sx, sizeof sx), (long long)numel, (long long)known);
  }
  op_out(c, 0, x->dtype, n, dims);
  return true;
}

const OpImpl ir_impl_reshape = {reshape_attrs, reshape_infer, copy_eval, NULL};

/* ---- flatten ---------------------------------------------------------------------------------- */

static const AttrSpec flatten_attrs[] = {{"axis", ATTR_INT, false}, {0}};

/* axis in [-rank, rank]; the result is [prod(dims[:axis]), prod(dims[axis:])]. */
static bool flatten_infer(InferCtx *c) {
  const TensorType *x = c->in[0];
  int64_t axis = ir_attr_int(c->node, "axis", 1);
  if (axis < -(int64_t)x->rank || axis > x->rank)
    return op_fail(c, "axis", "flatten: axis %lld is out of range for rank %d (allowed %d..%d)", (long long)axis,
                   x->rank, -x->rank, x->rank);
  if (axis < 0) axis += x->rank;
  int64_t dims[2] = {1, 1};
  for (int i = 0; i < x->rank; i++) dims[i < axis ? 0 : 1] *= x->dims[i];
  op_out(c, 0, x->dtype, 2, dims);
  return true;
}

const OpImpl ir_impl_flatten = {flatten_attrs, flatten_infer, copy_eval, NULL};

/* ---- transpose -------------------------------------------------------------------------------- */

static const AttrSpec transpose_attrs[] = {{"perm", ATTR_INTS, false}, {0}};

/* Fills perm[0..rank) from the node's attribute, or the reversal when absent. */
static void transpose_perm(const Node *n, int rank, int64_t *perm) {
  int count = 0;
  const int64_t *p = ir_attr_ints(n, "perm", &count);
  for (int i = 0; i < rank; i++) perm[i] = p && i < count ? p[i] : rank - 1 - i;
}

/* perm must be a permutation of 0..rank-1; result dim i is input dim perm[i]. */
static bool transpose_infer(InferCtx *c) {
  const TensorType *x = c->in[0];
  int count = 0;
  ir_attr_ints(c->node, "perm", &count);
  if (ir_attr(c->node, "perm") && count != x->rank)
    return op_fail(c, "perm", "transpose: perm has %d entries but the input has rank %d", count, x->rank);
  int64_t perm[IR_MAX_RANK], dims[IR_MAX_RANK];
  bool seen[IR_MAX_RANK] = {false};
  transpose_perm(c->node, x->rank, perm);
  for (int i = 0; i < x->rank; i++) {
    if (perm[i] < 0 || perm[i] >= x->rank)
      return op_fail(c, "perm", "transpose: perm[%d] = %lld is out of range for rank %d", i, (long long)perm[i],
                     x->rank);
    if (seen[perm[i]])
      return op_fail(c, "perm", "transpose: perm is not a permutation (%lld appears twice)", (long long)perm[i]);
    seen[perm[i]] = true;
    dims[i] = x->dims[perm[i]];
  }
  op_out(c, 0, x->dtype, x->rank, dims);
  return true;
}

/* Y[i0, i1, ...] = X[j] where j[perm[k]] = i[k]. */
static IrStatus transpose_eval(EvalCtx *c) {
  const Tensor *x = &c->in[0];
  Tensor *y = &c->out[0];
  int rank = x->type.rank;
  int64_t perm[IR_MAX_RANK], stride[IR_MAX_RANK], idx[IR_MAX_RANK] = {0}, o = 0;
  transpose_perm(c->node, rank, perm);
  int64_t s = 1;
  for (int i = rank - 1; i >= 0; i--) {
    stride[i] = s;
    s *= x->type.dims[i];
  }
  if (ir_type_numel(&y->type) == 0) return IR_OK;
  do {
    int64_t from = 0;
    for (int k = 0; k < rank; k++) from += idx[k] * stride[perm[k]];
    op_copy_elem(y, o++, x, from);
  } while (op_next_index(&y->type, idx));
  return IR_OK;
}

const OpImpl ir_impl_transpose = {transpose_attrs, transpose_infer, transpose_eval, NULL};

/* ---- concat ----------------------------------------------------------------------------------- */

static const AttrSpec concat_attrs[] = {{"axis", ATTR_INT, true}, {0}};

/* All inputs of one dtype and rank (>= 1), equal except along axis; the result's axis is
 * the sum. */
static bool concat_infer(InferCtx *c) {
  const TensorType *x = c->in[0];
  char s0[OP_SHAPE_BUF], si[OP_SHAPE_BUF];
  int axis;
  if (!ir_attr(c->node, "axis")) return op_fail(c, NULL, "concat: the axis attribute is required");
  if (x->rank < 1) return op_fail(c, NULL, "concat: inputs must have rank >= 1");
  if (!op_axis(c, "axis", ir_attr_int(c->node, "axis", 0), x->rank, &axis)) return false;
  int64_t dims[IR_MAX_RANK];
  for (int d = 0; d < x->rank; d++) dims[d] = x->dims[d];
  for (int i = 1; i < c->nin; i++) {
    const TensorType *t = c->in[i];
    if (!op_check_same_dtype(c, i, 0)) return false;
    bool ok = t->rank == x->rank;
    for (int d = 0; ok && d < x->rank; d++) ok = d == axis || t->dims[d] == x->dims[d];
    if (!ok)
      return op_fail(c, NULL, "concat: input %d has shape %s but input 0 has %s; they must agree except on axis %d",
                     i, op_shape_str(t, si, sizeof si), op_shape_str(x, s0, sizeof s0), axis);
    dims[axis] += t->dims[axis];
  }
  op_out(c, 0, x->dtype, x->rank, dims);
  return true;
}

/* For each index before axis, the inputs' slabs one after another. */
static IrStatus concat_eval(EvalCtx *c) {
  Tensor *y = &c->out[0];
  int rank = y->type.rank;
  int64_t axis = ir_attr_int(c->node, "axis", 0);
  if (axis < 0) axis += rank;
  int64_t outer = 1, inner = 1, o = 0;
  for (int i = 0; i < axis; i++) outer *= y->type.dims[i];
  for (int i = (int)axis + 1; i < rank; i++) inner *= y->type.dims[i];
  for (int64_t b = 0; b < outer; b++)
    for (int i = 0; i < c->nin; i++) {
      int64_t slab = c->in[i].type.dims[axis] * inner;
      copy_run(y, o, &c->in[i], b * slab, slab);
      o += slab;
    }
  return IR_OK;
}

const OpImpl ir_impl_concat = {concat_attrs, concat_infer, concat_eval, NULL};

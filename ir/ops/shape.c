/* shape.c — ops that rearrange elements without computing: reshape, flatten, transpose,
 * concat, split, slice, gather, squeeze, unsqueeze, pad and expand. They accept every dtype
 * (gather's indices are i32 or i64). */
#include "ir/op.h"

#include <string.h>

/* Copies n elements from src starting at si into dst starting at di. */
static void copy_run(Tensor *dst, int64_t di, const Tensor *src, int64_t si, int64_t n) {
  for (int64_t k = 0; k < n; k++) op_copy_elem(dst, di + k, src, si + k);
}

/* Row-major strides of t into stride[0..rank). */
static void row_strides(const TensorType *t, int64_t *stride) {
  int64_t s = 1;
  for (int i = t->rank - 1; i >= 0; i--) {
    stride[i] = s;
    s *= t->dims[i];
  }
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
  row_strides(&x->type, stride);
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

/* Sizes of the dimensions before axis (outer) and after it (inner) of t. */
static void outer_inner(const TensorType *t, int axis, int64_t *outer, int64_t *inner) {
  *outer = 1;
  *inner = 1;
  for (int i = 0; i < axis; i++) *outer *= t->dims[i];
  for (int i = axis + 1; i < t->rank; i++) *inner *= t->dims[i];
}

/* ---- split ------------------------------------------------------------------------------------ */

static const AttrSpec split_attrs[] = {{"axis", ATTR_INT, false}, {"split", ATTR_INTS, false}, {0}};

/* Fills sizes[0..nout) with the part sizes along an axis of length d: the split attribute,
 * or d / nout each when it is absent. */
static void split_sizes(const Node *n, int nout, int64_t d, int64_t *sizes) {
  int count = 0;
  const int64_t *v = ir_attr_ints(n, "split", &count);
  for (int i = 0; i < nout; i++) sizes[i] = v && i < count ? v[i] : d / nout;
}

/* Result i is the input with dimension axis (default 0) replaced by split[i]; split must
 * have one entry >= 0 per result and sum to the dimension; without it the dimension must
 * divide evenly by the number of results. */
static bool split_infer(InferCtx *c) {
  const TensorType *x = c->in[0];
  int axis, count = 0;
  if (x->rank < 1) return op_fail(c, NULL, "split: the input must have rank >= 1");
  if (!op_axis(c, "axis", ir_attr_int(c->node, "axis", 0), x->rank, &axis)) return false;
  const int64_t *v = ir_attr_ints(c->node, "split", &count);
  int64_t d = x->dims[axis], sizes[IR_MAX_RESULTS], sum = 0;
  if (v && count != c->nout)
    return op_fail(c, "split", "split: split has %d entries but the node has %d results", count, c->nout);
  if (!v && d % c->nout != 0)
    return op_fail(c, NULL, "split: dimension %d (%lld) does not divide into %d equal parts", axis, (long long)d,
                   c->nout);
  split_sizes(c->node, c->nout, d, sizes);
  for (int i = 0; i < c->nout; i++) {
    if (sizes[i] < 0) return op_fail(c, "split", "split: split[%d] = %lld is negative", i, (long long)sizes[i]);
    if (!ir_add_ok(sum, sizes[i], &sum) || sum > d) break;
  }
  if (sum != d)
    return op_fail(c, "split", "split: the parts do not add up to dimension %d (%lld)", axis, (long long)d);
  for (int i = 0; i < c->nout; i++) {
    int64_t dims[IR_MAX_RANK];
    memcpy(dims, x->dims, sizeof(int64_t) * (size_t)x->rank);
    dims[axis] = sizes[i];
    op_out(c, i, x->dtype, x->rank, dims);
  }
  return true;
}

/* For each index before axis, the input's slab is dealt out to the results in order. */
static IrStatus split_eval(EvalCtx *c) {
  const Tensor *x = &c->in[0];
  int axis = (int)ir_attr_int(c->node, "axis", 0);
  if (axis < 0) axis += x->type.rank;
  int64_t outer, inner, i = 0;
  outer_inner(&x->type, axis, &outer, &inner);
  for (int64_t b = 0; b < outer; b++)
    for (int k = 0; k < c->nout; k++) {
      int64_t slab = c->out[k].type.dims[axis] * inner;
      copy_run(&c->out[k], b * slab, x, i, slab);
      i += slab;
    }
  return IR_OK;
}

const OpImpl ir_impl_split = {split_attrs, split_infer, split_eval, NULL};

/* ---- slice ------------------------------------------------------------------------------------ */

static const AttrSpec slice_attrs[] = {
    {"starts", ATTR_INTS, true}, {"ends", ATTR_INTS, true}, {"axes", ATTR_INTS, false}, {"steps", ATTR_INTS, false},
    {0}};

/* ONNX's rules for op_slice_plan (ir/op.h): a negative start or end counts from the end;
 * then for step > 0 both are clamped to [0, d], for step < 0 start to [0, d - 1] and end to
 * [-1, d - 1]; the count is ceil((end - start) / step), at least 0. */
const char *op_slice_plan(const Node *n, const TensorType *x, SlicePlan *p, const char **bad_attr) {
  int ns, ne, na = 0, nst = 0;
  const int64_t *starts = ir_attr_ints(n, "starts", &ns), *ends = ir_attr_ints(n, "ends", &ne);
  const int64_t *axes = ir_attr_ints(n, "axes", &na), *steps = ir_attr_ints(n, "steps", &nst);
  bool seen[IR_MAX_RANK] = {false};
  for (int d = 0; d < x->rank; d++) {
    p->start[d] = 0;
    p->step[d] = 1;
    p->count[d] = x->dims[d];
  }
  *bad_attr = "ends";
  if (!starts || !ends || ns != ne) return "starts and ends must have the same number of entries";
  *bad_attr = "axes";
  if (axes && na != ns) return "axes must have one entry per entry of starts";
  *bad_attr = "steps";
  if (steps && nst != ns) return "steps must have one entry per entry of starts";
  *bad_attr = "starts";
  if (ns > x->rank) return "starts has more entries than the input has dimensions";
  for (int i = 0; i < ns; i++) {
    int64_t a = axes ? axes[i] : i, step = steps ? steps[i] : 1;
    *bad_attr = "axes";
    if (a < -(int64_t)x->rank || a >= x->rank) return "an axis is out of range for the input's rank";
    if (a < 0) a += x->rank;
    if (seen[a]) return "an axis appears twice";
    seen[a] = true;
    *bad_attr = "steps";
    if (step == 0) return "a step is 0";
    int64_t d = x->dims[a], s = starts[i], e = ends[i];
    if (s < 0) s += d;
    if (e < 0) e += d;
    if (step > 0) {
      s = s < 0 ? 0 : s > d ? d : s;
      e = e < 0 ? 0 : e > d ? d : e;
    } else {
      s = s < 0 ? 0 : s > d - 1 ? d - 1 : s;
      e = e < -1 ? -1 : e > d - 1 ? d - 1 : e;
    }
    /* |e - s| <= d + 1; a step of INT64_MIN takes one element, as INT64_MAX does. */
    int64_t len = step > 0 ? e - s : s - e, by = step > 0 ? step : step == INT64_MIN ? INT64_MAX : -step;
    p->start[a] = s;
    p->step[a] = step;
    p->count[a] = len <= 0 ? 0 : (len - 1) / by + 1;
  }
  return NULL;
}

/* The result has count[d] elements in each dimension d (see slice_plan). */
static bool slice_infer(InferCtx *c) {
  SlicePlan p;
  const char *bad_attr, *why = op_slice_plan(c->node, c->in[0], &p, &bad_attr);
  if (why) return op_fail(c, bad_attr, "slice: %s", why);
  op_out(c, 0, c->in[0]->dtype, c->in[0]->rank, p.count);
  return true;
}

/* Y[i] = X[start + i * step] in every dimension. */
static IrStatus slice_eval(EvalCtx *c) {
  const Tensor *x = &c->in[0];
  Tensor *y = &c->out[0];
  SlicePlan p;
  const char *bad_attr;
  int64_t stride[IR_MAX_RANK], idx[IR_MAX_RANK] = {0}, o = 0;
  op_slice_plan(c->node, &x->type, &p, &bad_attr);
  row_strides(&x->type, stride);
  if (ir_type_numel(&y->type) == 0) return IR_OK;
  do {
    int64_t from = 0;
    for (int d = 0; d < x->type.rank; d++) from += (p.start[d] + idx[d] * p.step[d]) * stride[d];
    op_copy_elem(y, o++, x, from);
  } while (op_next_index(&y->type, idx));
  return IR_OK;
}

const OpImpl ir_impl_slice = {slice_attrs, slice_infer, slice_eval, NULL};

/* ---- gather ----------------------------------------------------------------------------------- */

static const AttrSpec gather_attrs[] = {{"axis", ATTR_INT, false}, {0}};
static const DType index_dtypes[] = {DT_I32, DT_I64, DT_INVALID};

/* data [d0..d(r-1)], indices of any shape q (i32 or i64): the result is
 * data.dims[:axis] + q + data.dims[axis+1:], in data's dtype. */
static bool gather_infer(InferCtx *c) {
  const TensorType *x = c->in[0], *ix = c->in[1];
  int axis;
  if (x->rank < 1) return op_fail(c, NULL, "gather: data must have rank >= 1");
  if (!op_check_dtype(c, 1, index_dtypes) || !op_axis(c, "axis", ir_attr_int(c->node, "axis", 0), x->rank, &axis))
    return false;
  if (x->rank - 1 + ix->rank > IR_MAX_RANK)
    return op_fail(c, NULL, "gather: the result would have rank %d; at most %d", x->rank - 1 + ix->rank, IR_MAX_RANK);
  int64_t dims[IR_MAX_RANK];
  int r = 0;
  for (int i = 0; i < axis; i++) dims[r++] = x->dims[i];
  for (int i = 0; i < ix->rank; i++) dims[r++] = ix->dims[i];
  for (int i = axis + 1; i < x->rank; i++) dims[r++] = x->dims[i];
  return op_out_checked(c, 0, x->dtype, r, dims);
}

/* Y[outer, j, inner] = X[outer, indices[j], inner]; a negative index counts from the end. An
 * index outside [-d, d) is a run-time error. */
static IrStatus gather_eval(EvalCtx *c) {
  const Tensor *x = &c->in[0], *ix = &c->in[1];
  int axis = (int)ir_attr_int(c->node, "axis", 0);
  if (axis < 0) axis += x->type.rank;
  int64_t outer, inner, d = x->type.dims[axis], nidx = ir_type_numel(&ix->type), o = 0;
  outer_inner(&x->type, axis, &outer, &inner);
  for (int64_t j = 0; j < nidx; j++) {
    int64_t k = op_get_int(ix, j);
    if (k < -d || k >= d)
      return op_eval_fail(c, "gather: index %lld (element %lld of the indices) is out of range for dimension %lld",
                          (long long)k, (long long)j, (long long)d);
  }
  for (int64_t b = 0; b < outer; b++)
    for (int64_t j = 0; j < nidx; j++) {
      int64_t k = op_get_int(ix, j);
      if (k < 0) k += d;
      copy_run(&c->out[0], o, x, (b * d + k) * inner, inner);
      o += inner;
    }
  return IR_OK;
}

const OpImpl ir_impl_gather = {gather_attrs, gather_infer, gather_eval, NULL};

/* ---- squeeze and unsqueeze -------------------------------------------------------------------- */

static const AttrSpec squeeze_attrs[] = {{"axes", ATTR_INTS, false}, {0}};
static const AttrSpec unsqueeze_attrs[] = {{"axes", ATTR_INTS, true}, {0}};

/* Marks the axes of the node (each normalized against rank) in mark[0..rank); false
 * (reported) when one is out of range or repeated. */
static bool mark_axes(InferCtx *c, int rank, bool *mark) {
  int n = 0;
  const int64_t *axes = ir_attr_ints(c->node, "axes", &n);
  for (int i = 0; i < rank; i++) mark[i] = false;
  for (int i = 0; i < n; i++) {
    int a;
    if (!op_axis(c, "axes", axes[i], rank, &a)) return false;
    if (mark[a]) return op_fail(c, "axes", "%s: axis %d appears twice in axes", op_name(c->node), a);
    mark[a] = true;
  }
  return true;
}

/* Removes the listed axes, each of size 1; without axes, every dimension of size 1. */
static bool squeeze_infer(InferCtx *c) {
  const TensorType *x = c->in[0];
  bool mark[IR_MAX_RANK];
  if (!mark_axes(c, x->rank, mark)) return false;
  bool all = !ir_attr(c->node, "axes");
  int64_t dims[IR_MAX_RANK];
  int r = 0;
  for (int i = 0; i < x->rank; i++) {
    if (mark[i] && x->dims[i] != 1)
      return op_fail(c, "axes", "squeeze: dimension %d has size %lld, not 1", i, (long long)x->dims[i]);
    if (!mark[i] && !(all && x->dims[i] == 1)) dims[r++] = x->dims[i];
  }
  op_out(c, 0, x->dtype, r, dims);
  return true;
}

const OpImpl ir_impl_squeeze = {squeeze_attrs, squeeze_infer, copy_eval, NULL};

/* Inserts a dimension of size 1 at each listed axis of the result (rank + number of axes;
 * a negative axis counts from the end of the result). */
static bool unsqueeze_infer(InferCtx *c) {
  const TensorType *x = c->in[0];
  int n = 0;
  ir_attr_ints(c->node, "axes", &n);
  if (x->rank + n > IR_MAX_RANK)
    return op_fail(c, "axes", "unsqueeze: the result would have rank %d; at most %d", x->rank + n, IR_MAX_RANK);
  bool mark[IR_MAX_RANK];
  if (!mark_axes(c, x->rank + n, mark)) return false;
  int64_t dims[IR_MAX_RANK];
  for (int i = 0, k = 0; i < x->rank + n; i++) dims[i] = mark[i] ? 1 : x->dims[k++];
  op_out(c, 0, x->dtype, x->rank + n, dims);
  return true;
}

const OpImpl ir_impl_unsqueeze = {unsqueeze_attrs, unsqueeze_infer, copy_eval, NULL};

/* ---- pad -------------------------------------------------------------------------------------- */

static const AttrSpec pad_attrs[] = {
    {"pads", ATTR_INTS, true}, {"mode", ATTR_STR, false}, {"value", ATTR_FLOAT, false}, {0}};

typedef enum { PAD_CONSTANT, PAD_REFLECT, PAD_EDGE } PadMode;

/* The node's mode, or -1 when it names none of constant, reflect, edge. */
static int pad_mode(const Node *n) {
  const char *m = ir_attr_str(n, "mode", "constant");
  return !strcmp(m, "constant") ? PAD_CONSTANT : !strcmp(m, "reflect") ? PAD_REFLECT : !strcmp(m, "edge") ? PAD_EDGE : -1;
}

/* pads = [x1_begin, x2_begin, ..., x1_end, x2_end, ...] (2 * rank entries, negative ones
 * crop); each result dimension is d + begin + end and must not be negative. reflect and
 * edge need a non-empty input dimension wherever they pad. */
static bool pad_infer(InferCtx *c) {
  const TensorType *x = c->in[0];
  int n = 0, mode = pad_mode(c->node);
  const int64_t *pads = ir_attr_ints(c->node, "pads", &n);
  if (mode < 0)
    return op_fail(c, "mode", "pad: mode \"%s\" is not one of constant, reflect, edge",
                   ir_attr_str(c->node, "mode", ""));
  if (!pads || n != 2 * x->rank)
    return op_fail(c, "pads", "pad: pads has %d entries; expected %d (2 * rank)", n, 2 * x->rank);
  int64_t dims[IR_MAX_RANK];
  for (int i = 0; i < x->rank; i++) {
    int64_t b = pads[i], e = pads[i + x->rank], d;
    if (!ir_add_ok(x->dims[i], b, &d) || !ir_add_ok(d, e, &d) || d < 0 || d > IR_MAX_ELEMENTS)
      return op_fail(c, "pads", "pad: dimension %d (%lld) padded by %lld and %lld has no valid size", i,
                     (long long)x->dims[i], (long long)b, (long long)e);
    if (mode != PAD_CONSTANT && x->dims[i] == 0 && d > 0)
      return op_fail(c, "mode", "pad: %s padding of dimension %d needs input elements but it is empty",
                     ir_attr_str(c->node, "mode", ""), i);
    dims[i] = d;
  }
  return op_out_checked(c, 0, x->dtype, x->rank, dims);
}

/* The input index that an out-of-range index i (of a dimension of size d > 0) reads in
 * reflect mode: mirrored at the ends without repeating the edge, as often as needed (numpy's
 * "reflect"); a dimension of size 1 reads its one element. */
static int64_t reflect_index(int64_t i, int64_t d) {
  if (d == 1) return 0;
  int64_t period = 2 * (d - 1);
  i %= period;
  if (i < 0) i += period;
  return i < d ? i : period - i;
}

/* Y[o] = X[o - begin] where that lies inside X; elsewhere the value (constant), the mirrored
 * element (reflect) or the nearest edge element (edge). */
static IrStatus pad_eval(EvalCtx *c) {
  const Tensor *x = &c->in[0];
  Tensor *y = &c->out[0];
  int n = 0, rank = x->type.rank, mode = pad_mode(c->node);
  const int64_t *pads = ir_attr_ints(c->node, "pads", &n);
  double value = ir_attr_float(c->node, "value", 0.0);
  int64_t stride[IR_MAX_RANK], idx[IR_MAX_RANK] = {0}, o = 0;
  row_strides(&x->type, stride);
  if (ir_type_numel(&y->type) == 0) return IR_OK;
  do {
    int64_t from = 0;
    bool inside = true;
    for (int d = 0; d < rank; d++) {
      int64_t i = idx[d] - pads[d], dim = x->type.dims[d];
      if (i < 0 || i >= dim) {
        if (mode == PAD_CONSTANT) inside = false;
        else i = mode == PAD_EDGE ? (i < 0 ? 0 : dim - 1) : reflect_index(i, dim);
      }
      from += i * stride[d];
    }
    if (inside) op_copy_elem(y, o, x, from);
    else op_set(y, o, value);
    o++;
  } while (op_next_index(&y->type, idx));
  return IR_OK;
}

const OpImpl ir_impl_pad = {pad_attrs, pad_infer, pad_eval, NULL};

/* ---- expand ----------------------------------------------------------------------------------- */

static const AttrSpec expand_attrs[] = {{"shape", ATTR_INTS, true}, {0}};

/* The result is the numpy broadcast of the input's shape and `shape` (ONNX Expand: a 1 in
 * shape keeps the input's dimension, and shape may have fewer dimensions than the input). */
static bool expand_infer(InferCtx *c) {
  const TensorType *x = c->in[0];
  int n = 0;
  const int64_t *shape = ir_attr_ints(c->node, "shape", &n);
  if (!shape || n > IR_MAX_RANK)
    return op_fail(c, "shape", "expand: shape has %d entries; at most %d", n, IR_MAX_RANK);
  TensorType s;
  memset(&s, 0, sizeof s);
  s.dtype = x->dtype;
  s.rank = n;
  for (int i = 0; i < n; i++) {
    if (shape[i] < 0) return op_fail(c, "shape", "expand: shape[%d] = %lld is negative", i, (long long)shape[i]);
    s.dims[i] = shape[i];
  }
  TensorType out;
  return op_broadcast(c, x, &s, &out) && op_out_checked(c, 0, x->dtype, out.rank, out.dims);
}

/* Y[i] = X[i broadcast into X's shape]. */
static IrStatus expand_eval(EvalCtx *c) {
  const Tensor *x = &c->in[0];
  Tensor *y = &c->out[0];
  int64_t idx[IR_MAX_RANK] = {0}, o = 0;
  if (ir_type_numel(&y->type) == 0) return IR_OK;
  do op_copy_elem(y, o++, x, op_broadcast_offset(&x->type, &y->type, idx));
  while (op_next_index(&y->type, idx));
  return IR_OK;
}

const OpImpl ir_impl_expand = {expand_attrs, expand_infer, expand_eval, NULL};

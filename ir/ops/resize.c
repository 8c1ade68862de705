/* resize.c — resampling of a tensor to another size (ONNX Resize, opsets 11 and 13):
 * nearest, (multi-)linear and cubic interpolation, separable over every dimension, with
 * ONNX's coordinate transformations. The sizes or scales are attributes. */
#include "ir/op.h"

#include <math.h>
#include <string.h>

static const AttrSpec resize_attrs[] = {
    {"mode", ATTR_STR, false},           {"coordinate_transformation_mode", ATTR_STR, false},
    {"nearest_mode", ATTR_STR, false},   {"cubic_coeff_a", ATTR_FLOAT, false},
    {"exclude_outside", ATTR_INT, false}, {"extrapolation_value", ATTR_FLOAT, false},
    {"scales", ATTR_FLOATS, false},      {"sizes", ATTR_INTS, false},
    {"roi", ATTR_FLOATS, false},         {0}};

static const DType float_dtypes[] = {DT_F32, DT_F16, DT_BF16, DT_INVALID};

typedef enum { RS_NEAREST, RS_LINEAR, RS_CUBIC } ResizeMode;
typedef enum { CT_HALF_PIXEL, CT_PYTORCH_HALF_PIXEL, CT_ALIGN_CORNERS, CT_ASYMMETRIC, CT_TF_HALF_PIXEL_FOR_NN,
               CT_TF_CROP_AND_RESIZE } CoordMode;
typedef enum { NR_ROUND_PREFER_FLOOR, NR_ROUND_PREFER_CEIL, NR_FLOOR, NR_CEIL } NearestMode;

static const char *const mode_names[] = {"nearest", "linear", "cubic", NULL};
static const char *const coord_names[] = {"half_pixel", "pytorch_half_pixel", "align_corners", "asymmetric",
                                          "tf_half_pixel_for_nn", "tf_crop_and_resize", NULL};
static const char *const nearest_names[] = {"round_prefer_floor", "round_prefer_ceil", "floor", "ceil", NULL};

/* The index of string attribute `name` (def when absent) in the NULL-terminated names, or -1. */
static int str_choice(const Node *n, const char *name, const char *def, const char *const *names) {
  const char *v = ir_attr_str(n, name, def);
  for (int i = 0; names[i]; i++)
    if (!strcmp(v, names[i])) return i;
  return -1;
}

/* Everything a resize node says, resolved against its input type. */

/* Resolves a resize node on input type x into p: exactly one of scales (each > 0) and sizes
 * (each >= 0) with one entry per dimension; the result is sizes, or floor(in * scale) (times
 * the roi's width for tf_crop_and_resize). Returns NULL, or what is wrong and *attr. */
const char *op_resize_plan(const Node *n, const TensorType *x, ResizePlan *p, const char **attr) {
  int ns = 0, nz = 0, nr = 0;
  const double *scales = ir_attr_floats(n, "scales", &ns), *roi = ir_attr_floats(n, "roi", &nr);
  const int64_t *sizes = ir_attr_ints(n, "sizes", &nz);
  memset(p, 0, sizeof *p);
  p->mode = str_choice(n, "mode", "nearest", mode_names);
  p->coord = str_choice(n, "coordinate_transformation_mode", "half_pixel", coord_names);
  p->nearest = str_choice(n, "nearest_mode", "round_prefer_floor", nearest_names);
  p->a = ir_attr_float(n, "cubic_coeff_a", -0.75);
  p->exclude_outside = ir_attr_int(n, "exclude_outside", 0) != 0;
  p->extrapolation = ir_attr_float(n, "extrapolation_value", 0.0);
  p->rank = x->rank;
  *attr = "mode";
  if (p->mode < 0) return "mode must be nearest, linear or cubic";
  *attr = "coordinate_transformation_mode";
  if (p->coord < 0)
    return "coordinate_transformation_mode must be half_pixel, pytorch_half_pixel, align_corners, asymmetric, "
           "tf_half_pixel_for_nn or tf_crop_and_resize";
  *attr = "nearest_mode";
  if (p->nearest < 0) return "nearest_mode must be round_prefer_floor, round_prefer_ceil, floor or ceil";
  *attr = "scales";
  if ((scales != NULL) == (sizes != NULL)) return "exactly one of scales and sizes must be given";
  if (scales && ns != x->rank) return "scales must have one entry per dimension";
  *attr = "sizes";
  if (sizes && nz != x->rank) return "sizes must have one entry per dimension";
  *attr = "roi";
  if (p->coord == CT_TF_CROP_AND_RESIZE && nr != 2 * x->rank)
    return "tf_crop_and_resize needs roi with 2 * rank entries (starts, then ends)";
  for (int d = 0; d < x->rank; d++) {
    p->in[d] = x->dims[d];
    p->roi[d] = roi && nr == 2 * x->rank ? roi[d] : 0.0;
    p->roi[d + x->rank] = roi && nr == 2 * x->rank ? roi[d + x->rank] : 1.0;
    if (scales) {
      *attr = "scales";
      if (!(scales[d] > 0) || !(scales[d] < 1e12)) return "every scale must be positive and finite";
      double width = p->coord == CT_TF_CROP_AND_RESIZE ? p->roi[d + x->rank] - p->roi[d] : 1.0;
      double o = floor((double)x->dims[d] * width * scales[d]);
      if (!(o >= 0) || o > (double)IR_MAX_ELEMENTS) return "a scaled dimension is out of range";
      p->out[d] = (int64_t)o;
      p->scale[d] = scales[d];
    } else {
      *attr = "sizes";
      if (sizes[d] < 0 || sizes[d] > IR_MAX_ELEMENTS) return "a size is out of range";
      p->out[d] = sizes[d];
      p->scale[d] = x->dims[d] > 0 ? (double)sizes[d] / (double)x->dims[d] : 1.0;
    }
    if (x->dims[d] == 0 && p->out[d] > 0) return "an empty dimension cannot be resized to a non-empty one";
  }
  return NULL;
}

/* Any dtype for nearest (elements are copied), float for linear and cubic. */
static bool resize_infer(InferCtx *c) {
  ResizePlan p;
  const char *attr, *why = op_resize_plan(c->node, c->in[0], &p, &attr);
  if (why) return op_fail(c, attr, "resize: %s", why);
  if (p.mode != RS_NEAREST && !op_check_dtype(c, 0, float_dtypes)) return false;
  return op_out_checked(c, 0, c->in[0]->dtype, p.rank, p.out);
}

/* The input coordinate of output index x along dimension d (ONNX's coordinate
 * transformations; the resized length is in * scale, which may be fractional). */
static double source_coord(const ResizePlan *p, int d, int64_t x) {
  double s = p->scale[d], in = (double)p->in[d], len = in * s, xr = (double)x;
  switch (p->coord) {
  case CT_HALF_PIXEL: return (xr + 0.5) / s - 0.5;
  case CT_PYTORCH_HALF_PIXEL: return len > 1 ? (xr + 0.5) / s - 0.5 : -0.5;
  case CT_ALIGN_CORNERS: return len == 1 ? 0.0 : xr * (in - 1) / (len - 1);
  case CT_ASYMMETRIC: return xr / s;
  case CT_TF_HALF_PIXEL_FOR_NN: return (xr + 0.5) / s;
  default: { /* tf_crop_and_resize */
    double start = p->roi[d], end = p->roi[d + p->rank];
    double o = (double)p->out[d];
    return o > 1 ? start * (in - 1) + xr * (end - start) * (in - 1) / (o - 1) : 0.5 * (start + end) * (in - 1);
  }
  }
}


/* The cubic convolution weights (Keys, with coefficient a) of the 4 taps floor(x) - 1 ..
 * floor(x) + 2 for the fraction r = x - floor(x). */
static void cubic_weights(double r, double a, double *w) {
  double t[4] = {r + 1, r, 1 - r, 2 - r};
  for (int i = 0; i < 4; i++) {
    double d = t[i];
    w[i] = d <= 1 ? ((a + 2) * d - (a + 3)) * d * d + 1 : ((a * d - 5 * a) * d + 8 * a) * d - 4 * a;
  }
}

/* The taps of output index x along dimension d; false when x maps outside the input under
 * tf_crop_and_resize (the element is then the extrapolation value). Indices outside the
 * input read the nearest edge element, or are dropped (weights renormalized) with
 * exclude_outside. */
bool op_resize_taps(const ResizePlan *p, int d, int64_t x, Taps *t) {
  double xo = source_coord(p, d, x);
  int64_t in = p->in[d];
  if (p->coord == CT_TF_CROP_AND_RESIZE && (xo < 0 || xo > (double)(in - 1))) return false;
  double base = floor(xo), r = xo - base;
  t->n = 0;
  if (r == 0) { /* on an input position: that element alone (every mode) */
    t->n = 1;
    t->idx[0] = (int64_t)base;
    t->w[0] = 1;
  } else if (p->mode == RS_NEAREST) {
    bool up = p->nearest == NR_ROUND_PREFER_FLOOR ? r > 0.5 : p->nearest == NR_ROUND_PREFER_CEIL ? r >= 0.5
              : p->nearest == NR_CEIL;
    t->n = 1;
    t->idx[0] = (int64_t)base + up;
    t->w[0] = 1;
  } else if (p->mode == RS_LINEAR) {
    t->n = 2;
    t->idx[0] = (int64_t)base;
    t->idx[1] = (int64_t)base + 1;
    t->w[0] = 1 - r;
    t->w[1] = r;
  } else {
    t->n = 4;
    for (int i = 0; i < 4; i++) t->idx[i] = (int64_t)base - 1 + i;
    cubic_weights(r, p->a, t->w);
  }
  double sum = 0;
  for (int i = 0; i < t->n; i++) {
    bool outside = t->idx[i] < 0 || t->idx[i] >= in;
    if (outside && p->exclude_outside && p->mode != RS_NEAREST) t->w[i] = 0;
    t->idx[i] = t->idx[i] < 0 ? 0 : t->idx[i] >= in ? in - 1 : t->idx[i];
    sum += t->w[i];
  }
  if (p->exclude_outside && p->mode != RS_NEAREST && sum != 0)
    for (int i = 0; i < t->n; i++) t->w[i] /= sum;
  return true;
}

/* Y[o] = sum over the taps' combinations of the product of their weights times X at their
 * indices, in double (separable interpolation); nearest copies the one element it picks. */
static IrStatus resize_eval(EvalCtx *c) {
  const Tensor *x = &c->in[0];
  Tensor *y = &c->out[0];
  ResizePlan p;
  const char *attr;
  op_resize_plan(c->node, &x->type, &p, &attr);
  int rank = p.rank;
  int64_t idx[IR_MAX_RANK] = {0}, o = 0;
  if (ir_type_numel(&y->type) == 0) return IR_OK;
  do {
    Taps t[IR_MAX_RANK];
    bool inside = true;
    for (int d = 0; d < rank && inside; d++) inside = op_resize_taps(&p, d, idx[d], &t[d]);
    if (!inside) {
      op_set(y, o++, p.extrapolation);
      continue;
    }
    int k[IR_MAX_RANK] = {0};
    double acc = 0;
    for (;;) { /* every combination k of one tap per dimension */
      double w = 1;
      int64_t from = 0;
      for (int d = 0; d < rank; d++) {
        w *= t[d].w[k[d]];
        from = from * p.in[d] + t[d].idx[k[d]];
      }
      if (p.mode == RS_NEAREST) op_copy_elem(y, o, x, from);
      else if (w != 0) acc += w * op_get(x, from);
      int d = rank - 1;
      while (d >= 0 && ++k[d] == t[d].n) k[d--] = 0;
      if (d < 0) break;
    }
    if (p.mode != RS_NEAREST) op_set(y, o, acc);
    o++;
  } while (op_next_index(&y->type, idx));
  return IR_OK;
}

const OpImpl ir_impl_resize = {resize_attrs, resize_infer, resize_eval, NULL};

/* ops.c — the ONNX op table: one row per (op type, since-version) saying which converter
 * turns a node of that op, at opsets from `since` until the op's next row, into lathe ops.
 * Lathe ops take their shape operands (Reshape's shape, Squeeze's axes, Clip's bounds, ...)
 * as attributes, so a converter reads those operands as constants (folded by the importer)
 * and turns them into attributes; the versions at which ONNX moved an attribute into an
 * input (Clip 11, Split 13, Squeeze 13, Unsqueeze 13, ReduceSum 13, Pad 11) are rows of
 * their own. Ops that only compute shapes or pass values through (Shape, Size,
 * ConstantOfShape, Range, Constant, Identity, Dropout) become constants or aliases here and
 * have no lathe op.
 *
 * A row names its lathe op by its ir/ops.def name and is looked up when used, so a row whose
 * op is not in the op set yet reports "lathe's op set has no op for it yet" rather than
 * failing to build. */
#include <math.h>
#include <string.h>

#include "frontend/onnx/internal.h"

/* ---- helpers --------------------------------------------------------------------------------------- */

/* The name of output i of the current node, or NULL when it is absent or not named. */
static const char *out_name(const Importer *im, int i) {
  const Onnx__NodeProto *n = im->node;
  return (size_t)i < n->n_output && n->output[i] && *n->output[i] ? n->output[i] : NULL;
}

/* How many outputs the current node names (trailing absent ones not counted). */
static int named_outputs(const Importer *im) {
  int k = 0;
  for (int i = 0; (size_t)i < im->node->n_output; i++)
    if (out_name(im, i)) k = i + 1;
  return k;
}

/* Collects the current node's inputs from first to `last` (inclusive; -1: all) into ins;
 * absent optional inputs may only trail. Returns the count, or -1 (reported). */
static int gather_inputs(Importer *im, int first, int last, ValueId *ins) {
  int n = 0, end = last < 0 ? (int)im->node->n_input - 1 : last;
  bool gap = false;
  for (int i = first; i <= end; i++) {
    ValueId v = onnx_input(im, i);
    if (v < 0) { gap = true; continue; }
    if (gap) return onnx_unsupported(im, "optional input %d is left out before input %d", i - 1, i), -1;
    ins[n++] = v;
  }
  return n;
}

/* Emits op on ins with attributes al; its nout results take the node's output names and are
 * first declared with element types dtypes (see onnx_emit). */
static IrStatus emit_typed(Importer *im, int op, const ValueId *ins, int nin, const OnnxAttrs *al, int nout,
                           const DType *dtypes) {
  const char *names[IR_MAX_RESULTS];
  ValueId outs[IR_MAX_RESULTS];
  for (int i = 0; i < nout; i++) names[i] = out_name(im, i);
  return onnx_emit(im, op, ins, nin, al, nout, dtypes, names, NULL, outs);
}

/* The same, each result first declared with the first operand's element type. */
static IrStatus emit_named(Importer *im, int op, const ValueId *ins, int nin, const OnnxAttrs *al, int nout) {
  return emit_typed(im, op, ins, nin, al, nout, NULL);
}

/* Reports outputs from `first` on that a converter does not produce, when they are named. */
static bool no_outputs_from(Importer *im, int first, const char *what) {
  for (int i = first; (size_t)i < im->node->n_output; i++)
    if (out_name(im, i)) return onnx_unsupported(im, "output %d (%s) is not supported", i, what), false;
  return true;
}

/* Copies an ints attribute into al when the node has it. */
static void pass_ints(Importer *im, OnnxAttrs *al, const char *onnx, const char *lathe, int max, bool *ok) {
  int n;
  const int64_t *v = onnx_attr_ints(im, onnx, max, &n, ok);
  if (v) onnx_put_ints(im, al, lathe, v, n);
}

/* Copies an int attribute into al when the node has it. */
static void pass_int(Importer *im, OnnxAttrs *al, const char *onnx, const char *lathe, bool *ok) {
  if (onnx_attr(im, onnx)) onnx_put_int(im, al, lathe, onnx_attr_i(im, onnx, 0, ok));
}

/* Copies a float attribute into al when the node has it. */
static void pass_float(Importer *im, OnnxAttrs *al, const char *onnx, const char *lathe, bool *ok) {
  if (onnx_attr(im, onnx)) onnx_put_float(im, al, lathe, onnx_attr_f(im, onnx, 0, ok));
}

/* Normalizes axis against rank (negative counts from the end); false (reported) outside
 * [-rank, rank - 1 + extra]. */
static bool norm_axis(Importer *im, int64_t axis, int rank, int extra, int *out) {
  if (axis < -(int64_t)rank || axis >= (int64_t)rank + extra)
    return onnx_error(im, "axis %lld is out of range for rank %d", (long long)axis, rank), false;
  *out = (int)(axis < 0 ? axis + rank : axis);
  return true;
}

/* ---- element-wise and plain ops --------------------------------------------------------------------- */

/* Every input in order, no attributes, one output. */
static IrStatus cv_plain(Importer *im, const OnnxRule *r, int op) {
  ValueId ins[IR_MAX_OPERANDS];
  int n = gather_inputs(im, 0, -1, ins);
  if (n < 0) return IR_ERR_INPUT;
  return emit_named(im, op, ins, n, NULL, 1);
}

/* Variadic Min, Max and Sum as a chain of the binary lathe op (one input: the input itself). */
static IrStatus cv_chain(Importer *im, const OnnxRule *r, int op) {
  ValueId ins[IR_MAX_OPERANDS];
  int n = gather_inputs(im, 0, -1, ins);
  if (n < 0) return IR_ERR_INPUT;
  if (n == 0) return onnx_error(im, "needs at least one input");
  if (n == 1) return onnx_bind(im, out_name(im, 0), ins[0]);
  ValueId acc = ins[0];
  for (int i = 1; i < n; i++) {
    ValueId pair[2] = {acc, ins[i]};
    const char *name = i == n - 1 ? out_name(im, 0) : NULL;
    IrStatus st = onnx_emit(im, op, pair, 2, NULL, 1, NULL, &name, "acc", &acc);
    if (st != IR_OK) return st;
  }
  return IR_OK;
}

/* Mean: the sum of the inputs (a chain of add), divided by their count. */
static IrStatus cv_mean(Importer *im, const OnnxRule *r, int op) {
  ValueId ins[IR_MAX_OPERANDS];
  int n = gather_inputs(im, 0, -1, ins);
  if (n < 0) return IR_ERR_INPUT;
  if (n == 0) return onnx_error(im, "needs at least one input");
  if (n == 1) return onnx_bind(im, out_name(im, 0), ins[0]);
  ValueId acc = ins[0];
  for (int i = 1; i < n; i++) {
    ValueId pair[2] = {acc, ins[i]};
    IrStatus st = onnx_emit(im, op, pair, 2, NULL, 1, NULL, NULL, "sum", &acc);
    if (st != IR_OK) return st;
  }
  TensorType t;
  memset(&t, 0, sizeof t);
  t.dtype = onnx_type(im, acc)->dtype;
  if (!ir_dtype_is_float(t.dtype)) return onnx_error(im, "Mean of %s (ONNX takes floats)", ir_dtype_name(t.dtype));
  IrBuffer *count = ir_buffer_new(ir_type_bytes(&t));
  if (!count) return onnx_oom(im);
  Tensor c = {t, count->data};
  op_set(&c, 0, n);
  ValueId k, pair[2] = {acc, -1};
  IrStatus st = onnx_emit_const(im, &t, count, NULL, "count", &k);
  if (st != IR_OK) return st;
  pair[1] = k;
  const char *name = out_name(im, 0);
  return onnx_emit(im, ir_op_lookup("div", 3), pair, 2, NULL, 1, NULL, &name, NULL, &acc);
}

/* PRelu: relu(x) + slope * (x - relu(x)). Exact: x - relu(x) is 0 or x, so the product is
 * 0 or slope * x rounded once, and the sum adds it to 0 or x to 0. */
static IrStatus cv_prelu(Importer *im, const OnnxRule *r, int op) {
  /* the ids are read (into a and b) before st says whether they were set: start them at 0 */
  ValueId x = onnx_input(im, 0), slope = onnx_input(im, 1), pos = 0, neg = 0, scaled = 0, y;
  int sub = ir_op_lookup("sub", 3), mul = ir_op_lookup("mul", 3), add = ir_op_lookup("add", 3);
  IrStatus st = onnx_emit(im, op, &x, 1, NULL, 1, NULL, NULL, "pos", &pos);
  ValueId a[2] = {x, pos};
  if (st == IR_OK) st = onnx_emit(im, sub, a, 2, NULL, 1, NULL, NULL, "neg", &neg);
  ValueId b[2] = {slope, neg};
  if (st == IR_OK) st = onnx_emit(im, mul, b, 2, NULL, 1, NULL, NULL, "scaled", &scaled);
  ValueId c[2] = {pos, scaled};
  const char *name = out_name(im, 0);
  if (st == IR_OK) st = onnx_emit(im, add, c, 2, NULL, 1, NULL, &name, NULL, &y);
  return st;
}

/* LeakyRelu (alpha 0.01), HardSigmoid (alpha 0.2, beta 0.5), Elu, Selu, ...: the float
 * attributes the row lists, with ONNX's defaults written out. */
static IrStatus cv_unary_attrs(Importer *im, const OnnxRule *r, int op) {
  OnnxAttrs al = {.n = 0};
  bool ok = true;
  ValueId x = onnx_input(im, 0);
  if (!strcmp(r->op_type, "LeakyRelu")) {
    onnx_put_float(im, &al, "alpha", onnx_attr_f(im, "alpha", 0.01, &ok));
  } else if (!strcmp(r->op_type, "HardSigmoid")) {
    onnx_put_float(im, &al, "alpha", onnx_attr_f(im, "alpha", 0.2, &ok));
    onnx_put_float(im, &al, "beta", onnx_attr_f(im, "beta", 0.5, &ok));
  }
  if (!ok) return IR_ERR_INPUT;
  return emit_named(im, op, &x, 1, &al, 1);
}

/* Clip before opset 11: bounds are the attributes min and max. */
static IrStatus cv_clip6(Importer *im, const OnnxRule *r, int op) {
  OnnxAttrs al = {.n = 0};
  bool ok = true;
  ValueId x = onnx_input(im, 0);
  pass_float(im, &al, "min", "min", &ok);
  pass_float(im, &al, "max", "max", &ok);
  return ok ? emit_named(im, op, &x, 1, &al, 1) : IR_ERR_INPUT;
}

/* Clip from opset 11: bounds are optional inputs 1 and 2, which must be constant scalars. */
static IrStatus cv_clip11(Importer *im, const OnnxRule *r, int op) {
  OnnxAttrs al = {.n = 0};
  ValueId x = onnx_input(im, 0);
  double v;
  if (onnx_input(im, 1) >= 0) {
    if (!onnx_const_scalar(im, 1, "the lower bound", &v)) return IR_ERR_INPUT;
    onnx_put_float(im, &al, "min", v);
  }
  if (onnx_input(im, 2) >= 0) {
    if (!onnx_const_scalar(im, 2, "the upper bound", &v)) return IR_ERR_INPUT;
    onnx_put_float(im, &al, "max", v);
  }
  return emit_named(im, op, &x, 1, &al, 1);
}

/* ---- linear algebra ------------------------------------------------------------------------------------ */

/* Gemm: alpha, beta, transA, transB carried over; C optional. */
static IrStatus cv_gemm(Importer *im, const OnnxRule *r, int op) {
  OnnxAttrs al = {.n = 0};
  bool ok = true;
  ValueId ins[3];
  int n = gather_inputs(im, 0, 2, ins);
  if (n < 0) return IR_ERR_INPUT;
  pass_float(im, &al, "alpha", "alpha", &ok);
  pass_float(im, &al, "beta", "beta", &ok);
  pass_int(im, &al, "transA", "transA", &ok);
  pass_int(im, &al, "transB", "transB", &ok);
  return ok ? emit_named(im, op, ins, n, &al, 1) : IR_ERR_INPUT;
}

/* ---- convolution and pooling ------------------------------------------------------------------------- */

/* lathe's conv2d and pools are 2-D. A 1-D window (input [N, C, W]) runs as a 2-D one over
 * [N, C, 1, W]: its attributes gain a leading 1 (kernel, strides, dilations) or 0 (pads), and
 * the result is reshaped back. nd is the window's dimensions: 1 or 2. */

/* Reads a window ints attribute of nd entries (each in [1, IR_MAX_ELEMENTS]) into out[2]
 * (a 1-D window's value in out[1], out[0] = 1); absent: def. */
static bool window_ints(Importer *im, const char *name, int nd, int64_t def, int64_t *out, bool *ok) {
  int n = 0;
  const int64_t *v = onnx_attr_ints(im, name, 8, &n, ok);
  out[0] = nd == 1 ? 1 : def;
  out[1] = def;
  if (!v) return *ok;
  if (n != nd) return onnx_error(im, "%s has %d entries; a %d-D window has %d", name, n, nd, nd), false;
  for (int i = 0; i < nd; i++) {
    if (v[i] < 1) return onnx_error(im, "%s[%d] = %lld must be positive", name, i, (long long)v[i]), false;
    if (v[i] > IR_MAX_ELEMENTS) return onnx_error(im, "%s[%d] = %lld is too large", name, i, (long long)v[i]), false;
    out[2 - nd + i] = v[i];
  }
  return true;
}

/* Explicit 2-D pads [top, left, bottom, right] for a window over the (lifted, rank-4) input
 * x: from auto_pad when it is SAME_UPPER, SAME_LOWER or VALID, else from the pads attribute
 * (2 * nd entries, default zeros). k, s, dil are the 2-D window's sizes, strides, dilations. */
static bool resolve_pads(Importer *im, int nd, const TensorType *x, const int64_t *k, const int64_t *s,
                         const int64_t *dil, int64_t *pads, bool *ok) {
  const char *mode = onnx_attr_s(im, "auto_pad", "NOTSET", ok);
  int n = 0;
  const int64_t *p = onnx_attr_ints(im, "pads", 8, &n, ok);
  if (!*ok) return false;
  for (int i = 0; i < 4; i++) pads[i] = 0;
  if (!strcmp(mode, "NOTSET")) {
    if (p && n != 2 * nd) return onnx_error(im, "pads has %d entries, not %d", n, 2 * nd), false;
    for (int i = 0; p && i < n; i++) {
      if (p[i] < 0) return onnx_error(im, "pads[%d] = %lld is negative", i, (long long)p[i]), false;
      pads[(i / nd) * 2 + 2 - nd + i % nd] = p[i];
    }
    return true;
  }
  if (p) return onnx_error(im, "has both auto_pad = %s and pads", mode), false;
  if (!strcmp(mode, "VALID")) return true;
  bool upper = !strcmp(mode, "SAME_UPPER");
  if (!upper && strcmp(mode, "SAME_LOWER") != 0)
    return onnx_error(im, "auto_pad '%.40s' is not an ONNX mode", mode), false;
  for (int i = 0; i < 2; i++) {
    /* total = (out - 1) * stride + (k - 1) * dilation + 1 - in, out = ceil(in / stride);
     * every factor is at most IR_MAX_ELEMENTS (window_ints), so only the products can overflow */
    int64_t in = x->dims[2 + i], out = (in + s[i] - 1) / s[i], span, reach, total;
    if (!ir_mul_ok(out > 0 ? out - 1 : 0, s[i], &reach) || !ir_mul_ok(k[i] - 1, dil[i], &span) ||
        !ir_add_ok(reach, span, &total) || total > IR_MAX_ELEMENTS)
      return onnx_error(im, "the window is too large to pad"), false;
    total = total + 1 - in;
    if (total < 0) total = 0;
    int64_t small = total / 2, big = total - small;
    pads[i] = upper ? small : big;
    pads[i + 2] = upper ? big : small;
  }
  return true;
}

/* The window dimensions of the current node's input x: 1 or 2 (rank 3 or 4); otherwise
 * reported as unsupported and 0. */
static int window_dims(Importer *im, ValueId x) {
  int rank = onnx_type(im, x)->rank;
  if (rank == 3 || rank == 4) return rank - 2;
  onnx_unsupported(im, "a %d-D window (lathe's %s is 1-D or 2-D: inputs of rank 3 or 4)", rank > 2 ? rank - 2 : 0,
                   strncmp(im->node->op_type, "Conv", 4) ? "pooling" : "convolution");
  return 0;
}

/* Reshapes v (rank 3: [A, B, W]) to [A, B, 1, W] into *out. */
static IrStatus lift_1d(Importer *im, ValueId v, const char *hint, ValueId *out) {
  const TensorType *t = onnx_type(im, v);
  int64_t dims[4] = {t->dims[0], t->dims[1], 1, t->dims[2]};
  OnnxAttrs al = {.n = 0};
  onnx_put_ints(im, &al, "shape", dims, 4);
  return onnx_emit(im, ir_op_lookup("reshape", 7), &v, 1, &al, 1, NULL, NULL, hint, out);
}

/* Emits the 2-D op on ins (input already lifted for a 1-D window) with its nout results; a
 * 1-D window's results are reshaped back to rank 3. Results take the node's output names. */
static IrStatus emit_window(Importer *im, int op, int nd, const ValueId *ins, int nin, const OnnxAttrs *al, int nout,
                            const DType *dtypes) {
  if (nd == 2) return emit_typed(im, op, ins, nin, al, nout, dtypes);
  ValueId y[2];
  IrStatus st = onnx_emit(im, op, ins, nin, al, nout, dtypes, NULL, "2d", y);
  for (int i = 0; st == IR_OK && i < nout; i++) {
    const TensorType *t = onnx_type(im, y[i]);
    int64_t dims[3] = {t->dims[0], t->dims[1], t->dims[3]};
    OnnxAttrs back = {.n = 0};
    onnx_put_ints(im, &back, "shape", dims, 3);
    const char *name = out_name(im, i);
    ValueId out;
    st = onnx_emit(im, ir_op_lookup("reshape", 7), &y[i], 1, &back, 1, NULL, &name, "1d", &out);
  }
  return st;
}

/* The inputs of a Conv or ConvTranspose node (X, W and an optional B) into ins, their count
 * into *n and the number of window dimensions into *nd; 1-D ones are lifted to 2-D. */
static IrStatus conv_inputs(Importer *im, ValueId ins[3], int *n, int *nd) {
  *n = gather_inputs(im, 0, 2, ins);
  if (*n < 0) return IR_ERR_INPUT;
  *nd = window_dims(im, ins[0]);
  if (!*nd) return IR_ERR_INPUT;
  if (onnx_type(im, ins[1])->rank != *nd + 2)
    return onnx_error(im, "the weights have rank %d, not %d", onnx_type(im, ins[1])->rank, *nd + 2);
  IrStatus st;
  if (*nd == 1 && ((st = lift_1d(im, ins[0], "2d", &ins[0])) != IR_OK ||
                   (st = lift_1d(im, ins[1], "w2d", &ins[1])) != IR_OK))
    return st;
  return IR_OK;
}

/* Conv, 1-D or 2-D: kernel_shape checked against the weights; auto_pad resolved into pads. */
static IrStatus cv_conv(Importer *im, const OnnxRule *r, int op) {
  ValueId ins[3];
  int n, nd;
  IrStatus st = conv_inputs(im, ins, &n, &nd);
  if (st != IR_OK) return st;
  const TensorType *w = onnx_type(im, ins[1]);
  bool ok = true;
  int64_t k[2] = {w->dims[2], w->dims[3]}, ks[2], s[2], dil[2], pads[4];
  if (!window_ints(im, "kernel_shape", nd, 0, ks, &ok) || !window_ints(im, "strides", nd, 1, s, &ok) ||
      !window_ints(im, "dilations", nd, 1, dil, &ok))
    return IR_ERR_INPUT;
  if (onnx_attr(im, "kernel_shape") && (ks[0] != k[0] || ks[1] != k[1]))
    return onnx_error(im, "kernel_shape differs from the weights' shape");
  if (!resolve_pads(im, nd, onnx_type(im, ins[0]), k, s, dil, pads, &ok)) return IR_ERR_INPUT;
  OnnxAttrs al = {.n = 0};
  onnx_put_ints(im, &al, "strides", s, 2);
  onnx_put_ints(im, &al, "pads", pads, 4);
  onnx_put_ints(im, &al, "dilations", dil, 2);
  onnx_put_int(im, &al, "group", onnx_attr_i(im, "group", 1, &ok));
  return ok ? emit_window(im, op, nd, ins, n, &al, 1, NULL) : IR_ERR_INPUT;
}

/* ConvTranspose, 1-D or 2-D, weights [C, M/group, k...]: strides, dilations, group,
 * output_padding and output_shape are passed on (lathe's conv_transpose derives the pads
 * from output_shape as ONNX does); auto_pad SAME_UPPER / SAME_LOWER asks for an output of
 * in * stride, its total padding split with the larger half at the end (UPPER) or the start
 * (LOWER). */
static IrStatus cv_conv_transpose(Importer *im, const OnnxRule *r, int op) {
  ValueId ins[3];
  int n, nd;
  IrStatus st = conv_inputs(im, ins, &n, &nd);
  if (st != IR_OK) return st;
  const TensorType *x = onnx_type(im, ins[0]), *w = onnx_type(im, ins[1]);
  bool ok = true;
  int64_t k[2] = {w->dims[2], w->dims[3]}, ks[2], s[2], dil[2], pads[4] = {0, 0, 0, 0}, outpad[2] = {0, 0};
  if (!window_ints(im, "kernel_shape", nd, 0, ks, &ok) || !window_ints(im, "strides", nd, 1, s, &ok) ||
      !window_ints(im, "dilations", nd, 1, dil, &ok))
    return IR_ERR_INPUT;
  if (onnx_attr(im, "kernel_shape") && (ks[0] != k[0] || ks[1] != k[1]))
    return onnx_error(im, "kernel_shape differs from the weights' shape");
  int nop = 0, nos = 0;
  const int64_t *op_v = onnx_attr_ints(im, "output_padding", 8, &nop, &ok);
  const int64_t *os_v = onnx_attr_ints(im, "output_shape", 8, &nos, &ok);
  const char *mode = onnx_attr_s(im, "auto_pad", "NOTSET", &ok);
  if (!ok) return IR_ERR_INPUT;
  if (op_v && nop != nd) return onnx_error(im, "output_padding has %d entries, not %d", nop, nd);
  for (int i = 0; op_v && i < nd; i++) outpad[2 - nd + i] = op_v[i];
  OnnxAttrs al = {.n = 0};
  int64_t oshape[2] = {1, 1};
  bool same = !strcmp(mode, "SAME_UPPER") || !strcmp(mode, "SAME_LOWER");
  if (os_v) { /* spatial sizes, or (as some exporters write) N, C and the spatial sizes */
    if (nos != nd && nos != nd + 2) return onnx_error(im, "output_shape has %d entries, not %d", nos, nd);
    for (int i = 0; i < nd; i++) oshape[2 - nd + i] = os_v[nos - nd + i];
  } else if (same) {
    for (int i = 0; i < 2; i++) {
      int64_t in = x->dims[2 + i], out, full;
      if (!ir_mul_ok(in, s[i], &out) || !ir_mul_ok(in > 0 ? in - 1 : 0, s[i], &full) ||
          !ir_add_ok(full, (k[i] - 1) * dil[i] + 1 + outpad[i], &full))
        return onnx_error(im, "the output is too large");
      int64_t total = full - out, small = total >= 0 ? total / 2 : -((-total + 1) / 2), big = total - small;
      bool upper = !strcmp(mode, "SAME_UPPER");
      pads[i] = upper ? small : big;
      pads[i + 2] = upper ? big : small;
      oshape[i] = out;
    }
    if (pads[0] < 0 || pads[1] < 0 || pads[2] < 0 || pads[3] < 0) { /* negative: as output_shape (LOWER split) */
      if (!strcmp(mode, "SAME_UPPER") && (pads[0] != pads[2] || pads[1] != pads[3]))
        return onnx_unsupported(im, "auto_pad SAME_UPPER with a negative, uneven total padding"), IR_ERR_INPUT;
      os_v = oshape;
      for (int i = 0; i < 4; i++) pads[i] = 0;
    }
  } else if (!resolve_pads(im, nd, x, k, s, dil, pads, &ok)) {
    return IR_ERR_INPUT;
  }
  onnx_put_ints(im, &al, "strides", s, 2);
  onnx_put_ints(im, &al, "pads", pads, 4);
  onnx_put_ints(im, &al, "dilations", dil, 2);
  onnx_put_int(im, &al, "group", onnx_attr_i(im, "group", 1, &ok));
  if (outpad[0] || outpad[1]) onnx_put_ints(im, &al, "output_padding", outpad, 2);
  if (os_v) onnx_put_ints(im, &al, "output_shape", oshape, 2);
  return ok ? emit_window(im, op, nd, ins, n, &al, 1, NULL) : IR_ERR_INPUT;
}

/* MaxPool and AveragePool, 1-D or 2-D: auto_pad resolved into pads; MaxPool's optional
 * Indices output (row-major storage order only; the flat indices of [N, C, 1, W] are those of
 * [N, C, W]). */
static IrStatus cv_pool(Importer *im, const OnnxRule *r, int op) {
  ValueId x = onnx_input(im, 0);
  int nd = window_dims(im, x);
  if (!nd) return IR_ERR_INPUT;
  bool ok = true, is_max = !strcmp(r->op_type, "MaxPool");
  int64_t k[2], s[2], dil[2], pads[4];
  if (!onnx_attr(im, "kernel_shape")) return onnx_error(im, "has no kernel_shape");
  if (!window_ints(im, "kernel_shape", nd, 1, k, &ok) || !window_ints(im, "strides", nd, 1, s, &ok) ||
      !window_ints(im, "dilations", nd, 1, dil, &ok))
    return IR_ERR_INPUT;
  int nout = is_max && named_outputs(im) > 1 ? 2 : 1;
  if (nout == 2 && onnx_attr_i(im, "storage_order", 0, &ok) != 0)
    return onnx_unsupported(im, "Indices in column-major storage order (storage_order = 1)"), IR_ERR_INPUT;
  IrStatus st;
  DType dtypes[2] = {onnx_type(im, x)->dtype, DT_I64};
  if (nd == 1 && (st = lift_1d(im, x, "2d", &x)) != IR_OK) return st;
  if (!resolve_pads(im, nd, onnx_type(im, x), k, s, dil, pads, &ok)) return IR_ERR_INPUT;
  OnnxAttrs al = {.n = 0};
  onnx_put_ints(im, &al, "kernel", k, 2);
  onnx_put_ints(im, &al, "strides", s, 2);
  onnx_put_ints(im, &al, "pads", pads, 4);
  int64_t ceil_mode = onnx_attr_i(im, "ceil_mode", 0, &ok);
  if (ceil_mode) onnx_put_int(im, &al, "ceil_mode", ceil_mode);
  if (is_max && (dil[0] != 1 || dil[1] != 1)) onnx_put_ints(im, &al, "dilations", dil, 2);
  int64_t cip = is_max ? 0 : onnx_attr_i(im, "count_include_pad", 0, &ok);
  if (cip) onnx_put_int(im, &al, "count_include_pad", cip);
  return ok ? emit_window(im, op, nd, &x, 1, &al, nout, dtypes) : IR_ERR_INPUT;
}

/* GlobalMaxPool on a 2-D image: maxpool with the whole image as its window. */
static IrStatus cv_global_max_pool(Importer *im, const OnnxRule *r, int op) {
  ValueId x = onnx_input(im, 0);
  const TensorType *t = onnx_type(im, x);
  if (t->rank != 4)
    return onnx_unsupported(im, "an input of rank %d (lathe's maxpool takes rank 4)", t->rank), IR_ERR_INPUT;
  int64_t k[2] = {t->dims[2], t->dims[3]};
  OnnxAttrs al = {.n = 0};
  onnx_put_ints(im, &al, "kernel", k, 2);
  return emit_named(im, op, &x, 1, &al, 1);
}

/* ---- resampling --------------------------------------------------------------------------------------- */

/* Resize: the scales or sizes (constant inputs) become attributes, and the roi for
 * tf_crop_and_resize; the other attributes are passed on. Resize-10 has only the scales
 * input and resizes with asymmetric coordinates (nearest: floor). */
static IrStatus cv_resize(Importer *im, const OnnxRule *r, int op) {
  bool ok = true;
  ValueId x = onnx_input(im, 0);
  double scales[IR_MAX_RANK], roi[2 * IR_MAX_RANK];
  int64_t sizes[IR_MAX_RANK];
  int ns = 0, nz = 0, nr = 0, si = r->since >= 11 ? 2 : 1;
  if (onnx_input(im, si) >= 0 && !onnx_const_floats(im, si, "the scales", scales, IR_MAX_RANK, &ns))
    return IR_ERR_INPUT;
  if (r->since >= 11 && onnx_input(im, 3) >= 0 && !onnx_const_ints(im, 3, "the sizes", sizes, IR_MAX_RANK, &nz))
    return IR_ERR_INPUT;
  OnnxAttrs al = {.n = 0};
  onnx_put_str(im, &al, "mode", onnx_attr_s(im, "mode", "nearest", &ok));
  if (r->since >= 11) {
    const char *ct = onnx_attr_s(im, "coordinate_transformation_mode", "half_pixel", &ok);
    onnx_put_str(im, &al, "coordinate_transformation_mode", ct);
    onnx_put_str(im, &al, "nearest_mode", onnx_attr_s(im, "nearest_mode", "round_prefer_floor", &ok));
    pass_float(im, &al, "cubic_coeff_a", "cubic_coeff_a", &ok);
    pass_int(im, &al, "exclude_outside", "exclude_outside", &ok);
    pass_float(im, &al, "extrapolation_value", "extrapolation_value", &ok);
    if (ok && !strcmp(ct, "tf_crop_and_resize")) {
      if (onnx_input(im, 1) < 0) return onnx_error(im, "tf_crop_and_resize needs the roi input");
      if (!onnx_const_floats(im, 1, "the roi", roi, 2 * IR_MAX_RANK, &nr)) return IR_ERR_INPUT;
      onnx_put_floats(im, &al, "roi", roi, nr);
    }
  } else {
    onnx_put_str(im, &al, "coordinate_transformation_mode", "asymmetric");
    onnx_put_str(im, &al, "nearest_mode", "floor");
  }
  if (nz > 0) onnx_put_ints(im, &al, "sizes", sizes, nz);
  else if (ns > 0) onnx_put_floats(im, &al, "scales", scales, ns);
  else return onnx_error(im, "has neither scales nor sizes");
  return ok ? emit_named(im, op, &x, 1, &al, 1) : IR_ERR_INPUT;
}

/* ---- normalization ------------------------------------------------------------------------------------- */

/* BatchNormalization in inference mode (training_mode = 0, only output Y). */
static IrStatus cv_batch_norm(Importer *im, const OnnxRule *r, int op) {
  bool ok = true;
  if (onnx_attr_i(im, "training_mode", 0, &ok) != 0)
    return onnx_unsupported(im, "training mode (training_mode = 1)"), IR_ERR_INPUT;
  if (!no_outputs_from(im, 1, "running statistics of training mode")) return IR_ERR_INPUT;
  ValueId ins[5];
  if (gather_inputs(im, 0, 4, ins) != 5) return onnx_error(im, "needs 5 inputs");
  OnnxAttrs al = {.n = 0};
  onnx_put_float(im, &al, "epsilon", onnx_attr_f(im, "epsilon", 1e-5, &ok));
  return ok ? emit_named(im, op, ins, 5, &al, 1) : IR_ERR_INPUT;
}

/* Softmax, LogSoftmax, Hardmax from opset 13: along one axis (default -1). */
static IrStatus cv_softmax13(Importer *im, const OnnxRule *r, int op) {
  bool ok = true;
  ValueId x = onnx_input(im, 0);
  OnnxAttrs al = {.n = 0};
  onnx_put_int(im, &al, "axis", onnx_attr_i(im, "axis", -1, &ok));
  return ok ? emit_named(im, op, &x, 1, &al, 1) : IR_ERR_INPUT;
}

/* Softmax, LogSoftmax, Hardmax before opset 13: the input is seen as 2-D, flattened at axis
 * (default 1), and normalized over the whole second dimension. That is the same as the
 * opset-13 op along the last axis when axis is the last one; otherwise it is flatten, the
 * op along axis 1, and a reshape back. */
static IrStatus cv_softmax1(Importer *im, const OnnxRule *r, int op) {
  bool ok = true;
  ValueId x = onnx_input(im, 0);
  const TensorType *t = onnx_type(im, x);
  int axis;
  int64_t a = onnx_attr_i(im, "axis", 1, &ok);
  if (!ok || !norm_axis(im, a, t->rank, 0, &axis)) return IR_ERR_INPUT;
  OnnxAttrs al = {.n = 0};
  if (axis >= t->rank - 1) {
    onnx_put_int(im, &al, "axis", -1);
    return emit_named(im, op, &x, 1, &al, 1);
  }
  int flatten = ir_op_lookup("flatten", 7), reshape = ir_op_lookup("reshape", 7);
  int64_t dims[IR_MAX_RANK];
  memcpy(dims, t->dims, sizeof(int64_t) * (size_t)t->rank);
  int rank = t->rank;
  ValueId flat, y;
  onnx_put_int(im, &al, "axis", axis);
  IrStatus st = onnx_emit(im, flatten, &x, 1, &al, 1, NULL, NULL, "flat", &flat);
  if (st != IR_OK) return st;
  al.n = 0;
  onnx_put_int(im, &al, "axis", 1);
  st = onnx_emit(im, op, &flat, 1, &al, 1, NULL, NULL, "2d", &y);
  if (st != IR_OK) return st;
  al.n = 0;
  onnx_put_ints(im, &al, "shape", dims, rank);
  return emit_named(im, reshape, &y, 1, &al, 1);
}

/* LayerNormalization (opset 17): Y over the axes from axis on, and the optional outputs Mean
 * and InvStdDev (f32, as stash_type 1 keeps them) when named. */
static IrStatus cv_layer_norm(Importer *im, const OnnxRule *r, int op) {
  bool ok = true;
  ValueId ins[3];
  int n = gather_inputs(im, 0, 2, ins);
  if (n < 0) return IR_ERR_INPUT;
  if (onnx_attr_i(im, "stash_type", 1, &ok) != 1)
    return onnx_unsupported(im, "stash_type other than 1 (float)"), IR_ERR_INPUT;
  OnnxAttrs al = {.n = 0};
  onnx_put_int(im, &al, "axis", onnx_attr_i(im, "axis", -1, &ok));
  onnx_put_float(im, &al, "epsilon", onnx_attr_f(im, "epsilon", 1e-5, &ok));
  int nout = named_outputs(im) > 1 ? named_outputs(im) : 1;
  DType dtypes[3] = {onnx_type(im, ins[0])->dtype, DT_F32, DT_F32};
  return ok ? emit_typed(im, op, ins, n, &al, nout, dtypes) : IR_ERR_INPUT;
}

/* Cast: `to` becomes the name of the lathe dtype; element types lathe lacks (DOUBLE, STRING,
 * the 16-bit and unsigned wide integers) are refused, and BFLOAT16 before opset 13, which
 * admitted it. */
static IrStatus cv_cast(Importer *im, const OnnxRule *r, int op) {
  bool ok = true;
  ValueId x = onnx_input(im, 0);
  int64_t to = onnx_attr_i(im, "to", 0, &ok);
  if (!ok) return IR_ERR_INPUT;
  if (!onnx_attr(im, "to")) return onnx_error(im, "has no attribute 'to'");
  DType dt = to >= INT32_MIN && to <= INT32_MAX ? onnx_dtype((int32_t)to) : DT_INVALID;
  if (dt == DT_INVALID)
    return onnx_unsupported(im, "a cast to %s", onnx_dtype_name(to >= 0 && to <= INT32_MAX ? (int32_t)to : -1)),
           IR_ERR_INPUT;
  if (dt == DT_BF16 && r->since < 13) return onnx_error(im, "casts to BFLOAT16, which Cast admits from opset 13");
  OnnxAttrs al = {.n = 0};
  onnx_put_str(im, &al, "to", ir_dtype_name(dt));
  return emit_typed(im, op, &x, 1, &al, 1, &dt);
}

/* CastLike (opset 15): cast to the element type of input 1, whose values are not read. */
static IrStatus cv_cast_like(Importer *im, const OnnxRule *r, int op) {
  ValueId x = onnx_input(im, 0); /* both inputs are present (the row's min_in) */
  DType dt = onnx_type(im, onnx_input(im, 1))->dtype;
  OnnxAttrs al = {.n = 0};
  onnx_put_str(im, &al, "to", ir_dtype_name(dt));
  return emit_typed(im, op, &x, 1, &al, 1, &dt);
}

/* ---- shape ops ------------------------------------------------------------------------------------------- */

/* Reshape from opset 5: the shape operand must be constant. It is resolved here (0 copies
 * the input's dimension unless allowzero = 1; -1 is inferred) so the lathe op gets the
 * final dimensions. */
static IrStatus cv_reshape(Importer *im, const OnnxRule *r, int op) {
  bool ok = true;
  ValueId x = onnx_input(im, 0);
  const TensorType *t = onnx_type(im, x);
  int64_t shape[IR_MAX_RANK];
  int n;
  if (onnx_input(im, 1) < 0) return onnx_error(im, "has no shape input");
  if (!onnx_const_ints(im, 1, "the shape", shape, IR_MAX_RANK, &n)) return IR_ERR_INPUT;
  bool allowzero = onnx_attr_i(im, "allowzero", 0, &ok) != 0;
  if (!ok) return IR_ERR_INPUT;
  int infer = -1;
  int64_t known = 1;
  for (int i = 0; i < n; i++) {
    if (shape[i] == -1) {
      if (infer >= 0) return onnx_error(im, "the shape has two -1 entries");
      infer = i;
      continue;
    }
    if (shape[i] < -1) return onnx_error(im, "shape[%d] = %lld is negative", i, (long long)shape[i]);
    if (shape[i] == 0 && !allowzero) {
      if (i >= t->rank) return onnx_error(im, "shape[%d] = 0 copies a dimension the input does not have", i);
      shape[i] = t->dims[i];
    }
    if (!ir_mul_ok(known, shape[i], &known) || known > IR_MAX_ELEMENTS)
      return onnx_error(im, "the shape has too many elements");
  }
  int64_t numel = ir_type_numel(t);
  if (infer >= 0) {
    if (known == 0 || numel % known != 0)
      return onnx_error(im, "cannot infer the -1 of the shape: %lld elements do not divide by %lld", (long long)numel,
                        (long long)known);
    shape[infer] = numel / known;
  }
  if (numel == 0) { /* no elements: the result is its shape alone (lathe's reshape reads 0 as "copy") */
    TensorType empty;
    memset(&empty, 0, sizeof empty);
    empty.dtype = t->dtype;
    empty.rank = n;
    memcpy(empty.dims, shape, sizeof(int64_t) * (size_t)n);
    IrBuffer *data = ir_buffer_new(0);
    ValueId v;
    return data ? onnx_emit_const(im, &empty, data, out_name(im, 0), NULL, &v) : onnx_oom(im);
  }
  OnnxAttrs al = {.n = 0};
  onnx_put_ints(im, &al, "shape", shape, n);
  return emit_named(im, op, &x, 1, &al, 1);
}

/* Flatten: axis (default 1). */
static IrStatus cv_flatten(Importer *im, const OnnxRule *r, int op) {
  bool ok = true;
  ValueId x = onnx_input(im, 0);
  OnnxAttrs al = {.n = 0};
  onnx_put_int(im, &al, "axis", onnx_attr_i(im, "axis", 1, &ok));
  return ok ? emit_named(im, op, &x, 1, &al, 1) : IR_ERR_INPUT;
}

/* Transpose: perm (default: reversed). */
static IrStatus cv_transpose(Importer *im, const OnnxRule *r, int op) {
  bool ok = true;
  ValueId x = onnx_input(im, 0);
  OnnxAttrs al = {.n = 0};
  pass_ints(im, &al, "perm", "perm", IR_MAX_RANK, &ok);
  return ok ? emit_named(im, op, &x, 1, &al, 1) : IR_ERR_INPUT;
}

/* Concat, Gather, log_softmax-like ops with a required or defaulted axis attribute. */
static IrStatus cv_axis(Importer *im, const OnnxRule *r, int op) {
  bool ok = true;
  ValueId ins[IR_MAX_OPERANDS];
  int n = gather_inputs(im, 0, -1, ins);
  if (n < 0) return IR_ERR_INPUT;
  bool concat = !strcmp(r->op_type, "Concat");
  if (concat && !onnx_attr(im, "axis")) return onnx_error(im, "has no axis");
  OnnxAttrs al = {.n = 0};
  onnx_put_int(im, &al, "axis", onnx_attr_i(im, "axis", 0, &ok));
  return ok ? emit_named(im, op, ins, n, &al, 1) : IR_ERR_INPUT;
}

/* Squeeze and Unsqueeze: axes from the attribute (before 13) or the constant input 1 (from
 * 13). Squeeze without axes (or with an empty axes input) removes every dimension of size 1:
 * those are listed here, since lathe's `axes = []` removes none. */
static IrStatus cv_squeeze(Importer *im, const OnnxRule *r, int op) {
  bool ok = true;
  ValueId x = onnx_input(im, 0);
  int64_t axes[IR_MAX_RANK * 2];
  int n = 0;
  bool have = false;
  if (r->since >= 13) {
    if (onnx_input(im, 1) >= 0) {
      if (!onnx_const_ints(im, 1, "axes", axes, IR_MAX_RANK * 2, &n)) return IR_ERR_INPUT;
      have = true;
    }
  } else {
    const int64_t *v = onnx_attr_ints(im, "axes", IR_MAX_RANK * 2, &n, &ok);
    if (!ok) return IR_ERR_INPUT;
    if (v) memcpy(axes, v, sizeof(int64_t) * (size_t)n);
    have = v != NULL;
  }
  bool unsqueeze = !strcmp(r->op_type, "Unsqueeze");
  if (unsqueeze && !have) return onnx_error(im, "has no axes");
  if (!have || (n == 0 && !unsqueeze)) { /* an empty axes input squeezes every 1, as onnxruntime does */
    const TensorType *t = onnx_type(im, x);
    for (int i = 0; i < t->rank; i++)
      if (t->dims[i] == 1) axes[n++] = i;
  }
  OnnxAttrs al = {.n = 0};
  onnx_put_ints(im, &al, "axes", axes, n);
  return emit_named(im, op, &x, 1, &al, 1);
}

/* Split: sizes from the attribute `split` (before 13) or the constant input 1 (from 13);
 * without them the axis is split evenly into one part per output. */
static IrStatus cv_split(Importer *im, const OnnxRule *r, int op) {
  bool ok = true;
  ValueId x = onnx_input(im, 0);
  const TensorType *t = onnx_type(im, x);
  int nout = (int)im->node->n_output, axis;
  if (nout < 1 || nout > IR_MAX_RESULTS) return onnx_error(im, "has %d outputs", nout);
  if (!norm_axis(im, onnx_attr_i(im, "axis", 0, &ok), t->rank, 0, &axis) || !ok) return IR_ERR_INPUT;
  int64_t sizes[IR_MAX_RESULTS];
  int n = 0;
  if (r->since >= 13 && onnx_input(im, 1) >= 0) {
    if (!onnx_const_ints(im, 1, "the split sizes", sizes, IR_MAX_RESULTS, &n)) return IR_ERR_INPUT;
  } else if (r->since < 13) {
    const int64_t *v = onnx_attr_ints(im, "split", IR_MAX_RESULTS, &n, &ok);
    if (!ok) return IR_ERR_INPUT;
    if (v) memcpy(sizes, v, sizeof(int64_t) * (size_t)n);
  }
  if (n == 0) {
    int64_t d = t->dims[axis];
    if (d % nout)
      return onnx_error(im, "dimension %d (%lld) does not split evenly into %d parts", axis, (long long)d, nout);
    for (int i = 0; i < nout; i++) sizes[i] = d / nout;
    n = nout;
  }
  if (n != nout) return onnx_error(im, "has %d split sizes but %d outputs", n, nout);
  OnnxAttrs al = {.n = 0};
  onnx_put_int(im, &al, "axis", axis);
  onnx_put_ints(im, &al, "split", sizes, n);
  return emit_named(im, op, &x, 1, &al, nout);
}

/* Slice from opset 10: starts, ends, axes and steps are constant inputs. */
static IrStatus cv_slice(Importer *im, const OnnxRule *r, int op) {
  ValueId x = onnx_input(im, 0);
  int64_t v[4][IR_MAX_RANK];
  int n[4] = {0, 0, 0, 0};
  static const char *const what[4] = {"starts", "ends", "axes", "steps"};
  for (int i = 0; i < 4; i++)
    if (onnx_input(im, i + 1) >= 0 && !onnx_const_ints(im, i + 1, what[i], v[i], IR_MAX_RANK, &n[i]))
      return IR_ERR_INPUT;
  if (onnx_input(im, 1) < 0 || onnx_input(im, 2) < 0) return onnx_error(im, "needs starts and ends");
  OnnxAttrs al = {.n = 0};
  for (int i = 0; i < 4; i++)
    if (onnx_input(im, i + 1) >= 0) onnx_put_ints(im, &al, what[i], v[i], n[i]);
  return emit_named(im, op, &x, 1, &al, 1);
}

/* Expand: the shape operand must be constant. */
static IrStatus cv_expand(Importer *im, const OnnxRule *r, int op) {
  ValueId x = onnx_input(im, 0);
  int64_t shape[IR_MAX_RANK];
  int n;
  if (!onnx_const_ints(im, 1, "the shape", shape, IR_MAX_RANK, &n)) return IR_ERR_INPUT;
  OnnxAttrs al = {.n = 0};
  onnx_put_ints(im, &al, "shape", shape, n);
  return emit_named(im, op, &x, 1, &al, 1);
}

/* Pad from opset 11: pads and the constant value are constant inputs; mode an attribute. */
static IrStatus cv_pad(Importer *im, const OnnxRule *r, int op) {
  bool ok = true;
  ValueId x = onnx_input(im, 0);
  int64_t pads[2 * IR_MAX_RANK];
  int n;
  double value = 0;
  if (!onnx_const_ints(im, 1, "the pads", pads, 2 * IR_MAX_RANK, &n)) return IR_ERR_INPUT;
  if (onnx_input(im, 2) >= 0 && !onnx_const_scalar(im, 2, "the constant value", &value)) return IR_ERR_INPUT;
  if (onnx_input(im, 3) >= 0) return onnx_unsupported(im, "the axes input (opset 18)"), IR_ERR_INPUT;
  const char *mode = onnx_attr_s(im, "mode", "constant", &ok);
  if (!ok) return IR_ERR_INPUT;
  OnnxAttrs al = {.n = 0};
  onnx_put_ints(im, &al, "pads", pads, n);
  onnx_put_str(im, &al, "mode", mode);
  if (value != 0) onnx_put_float(im, &al, "value", value);
  return emit_named(im, op, &x, 1, &al, 1);
}

/* ReduceMean, ReduceMax, ReduceMin (and ReduceSum before 13): axes and keepdims attributes. */
static IrStatus cv_reduce(Importer *im, const OnnxRule *r, int op) {
  bool ok = true;
  ValueId x = onnx_input(im, 0);
  int64_t axes[IR_MAX_RANK];
  int n = 0;
  bool have = false;
  if (!strcmp(r->op_type, "ReduceSum") && r->since >= 13) {
    if (onnx_input(im, 1) >= 0) {
      if (!onnx_const_ints(im, 1, "axes", axes, IR_MAX_RANK, &n)) return IR_ERR_INPUT;
      have = n > 0;
    }
    if (!have && onnx_attr_i(im, "noop_with_empty_axes", 0, &ok) != 0)
      return ok ? onnx_bind(im, out_name(im, 0), x) : IR_ERR_INPUT;
  } else {
    const int64_t *v = onnx_attr_ints(im, "axes", IR_MAX_RANK, &n, &ok);
    if (v) memcpy(axes, v, sizeof(int64_t) * (size_t)n);
    have = v != NULL;
  }
  if (!have) { /* every axis */
    n = onnx_type(im, x)->rank;
    for (int i = 0; i < n; i++) axes[i] = i;
  }
  OnnxAttrs al = {.n = 0};
  onnx_put_ints(im, &al, "axes", axes, n);
  onnx_put_int(im, &al, "keepdims", onnx_attr_i(im, "keepdims", 1, &ok));
  return ok ? emit_named(im, op, &x, 1, &al, 1) : IR_ERR_INPUT;
}

/* ---- handled in the importer: constants and aliases ------------------------------------------------ */

/* Identity (and Dropout's output in inference): the output is the input. */
static IrStatus cv_identity(Importer *im, const OnnxRule *r, int op) {
  return onnx_bind(im, out_name(im, 0), onnx_input(im, 0));
}

/* Makes a new constant of type t whose plain data is filled by the caller from *data. */
static IrStatus new_const(Importer *im, DType dt, int rank, const int64_t *dims, int out, IrBuffer **data,
                          TensorType *t) {
  memset(t, 0, sizeof *t);
  t->dtype = dt;
  t->rank = rank;
  for (int i = 0; i < rank; i++) t->dims[i] = dims[i];
  const char *why;
  if (!ir_type_valid(t, &why)) return onnx_error(im, "output %d: %s", out, why);
  *data = ir_buffer_new(ir_type_bytes(t));
  return *data ? IR_OK : onnx_oom(im);
}

/* Dropout in inference: the output is the input, the optional mask all true. */
static IrStatus cv_dropout(Importer *im, const OnnxRule *r, int op) {
  ValueId x = onnx_input(im, 0);
  double training = 0;
  if (onnx_input(im, 2) >= 0 && !onnx_const_scalar(im, 2, "training_mode", &training)) return IR_ERR_INPUT;
  if (training != 0) return onnx_unsupported(im, "training mode (training_mode is true)"), IR_ERR_INPUT;
  IrStatus st = onnx_bind(im, out_name(im, 0), x);
  if (st != IR_OK || !out_name(im, 1)) return st;
  const TensorType *xt = onnx_type(im, x);
  TensorType t;
  IrBuffer *data;
  int64_t dims[IR_MAX_RANK];
  memcpy(dims, xt->dims, sizeof dims);
  if ((st = new_const(im, DT_BOOL, xt->rank, dims, 1, &data, &t)) != IR_OK) return st;
  memset(data->data, 1, (size_t)data->size);
  ValueId v;
  return onnx_emit_const(im, &t, data, out_name(im, 1), NULL, &v);
}

/* Constant: one of the attributes value, value_float(s), value_int(s). */
static IrStatus cv_constant(Importer *im, const OnnxRule *r, int op) {
  const Onnx__NodeProto *n = im->node;
  if (n->n_attribute != 1) return onnx_error(im, "has %zu attributes; a Constant has exactly one", n->n_attribute);
  const Onnx__AttributeProto *a = n->attribute[0];
  const char *name = a->name;
  TensorType t;
  IrBuffer *data = NULL;
  IrStatus st = IR_OK;
  bool ok = true;
  if (!strcmp(name, "value")) {
    if (!a->t) return onnx_error(im, "attribute 'value' holds no tensor");
    OnnxTensorStatus ts = onnx_tensor_convert(a->t, "the constant", im->loc, &t, &data, im->d);
    if (ts == ONNX_TENSOR_UNSUPPORTED)
      return onnx_unsupported(im, "a tensor of element type %s", onnx_dtype_name(a->t->data_type)), IR_ERR_INPUT;
    if (ts != ONNX_TENSOR_OK) return IR_ERR_INPUT;
  } else if (!strcmp(name, "value_float")) {
    float f = (float)onnx_attr_f(im, name, 0, &ok);
    if (ok && (st = new_const(im, DT_F32, 0, NULL, 0, &data, &t)) == IR_OK) memcpy(data->data, &f, 4);
  } else if (!strcmp(name, "value_int")) {
    int64_t i = onnx_attr_i(im, name, 0, &ok);
    if (ok && (st = new_const(im, DT_I64, 0, NULL, 0, &data, &t)) == IR_OK) memcpy(data->data, &i, 8);
  } else if (!strcmp(name, "value_floats")) {
    int count;
    const float *f = onnx_attr_floats(im, name, IR_MAX_LIST, &count, &ok);
    int64_t dims[1] = {count};
    if (ok && (st = new_const(im, DT_F32, 1, dims, 0, &data, &t)) == IR_OK && count)
      memcpy(data->data, f, sizeof(float) * (size_t)count);
  } else if (!strcmp(name, "value_ints")) {
    int count;
    const int64_t *v = onnx_attr_ints(im, name, IR_MAX_LIST, &count, &ok);
    int64_t dims[1] = {count};
    if (ok && (st = new_const(im, DT_I64, 1, dims, 0, &data, &t)) == IR_OK && count)
      memcpy(data->data, v, sizeof(int64_t) * (size_t)count);
  } else {
    return onnx_unsupported(im, "a constant given by '%.60s'", name), IR_ERR_INPUT;
  }
  if (!ok || st != IR_OK) {
    ir_buffer_unref(data);
    return ok ? st : IR_ERR_INPUT;
  }
  ValueId v;
  return onnx_emit_const(im, &t, data, out_name(im, 0), NULL, &v);
}

/* Shape: the input's static shape as a constant (from opset 15, the part [start, end)). */
static IrStatus cv_shape(Importer *im, const OnnxRule *r, int op) {
  bool ok = true;
  const TensorType *xt = onnx_type(im, onnx_input(im, 0));
  int64_t start = onnx_attr_i(im, "start", 0, &ok), end = onnx_attr_i(im, "end", xt->rank, &ok);
  if (!ok) return IR_ERR_INPUT;
  if (start < 0) start += xt->rank;
  if (end < 0) end += xt->rank;
  start = start < 0 ? 0 : start > xt->rank ? xt->rank : start;
  end = end < 0 ? 0 : end > xt->rank ? xt->rank : end;
  int64_t count[1] = {end > start ? end - start : 0};
  TensorType t;
  IrBuffer *data;
  IrStatus st = new_const(im, DT_I64, 1, count, 0, &data, &t);
  if (st != IR_OK) return st;
  for (int64_t i = 0; i < count[0]; i++) ((int64_t *)data->data)[i] = xt->dims[start + i];
  ValueId v;
  return onnx_emit_const(im, &t, data, out_name(im, 0), NULL, &v);
}

/* Size: the input's element count as a constant scalar. */
static IrStatus cv_size(Importer *im, const OnnxRule *r, int op) {
  int64_t numel = ir_type_numel(onnx_type(im, onnx_input(im, 0)));
  TensorType t;
  IrBuffer *data;
  IrStatus st = new_const(im, DT_I64, 0, NULL, 0, &data, &t);
  if (st != IR_OK) return st;
  memcpy(data->data, &numel, 8);
  ValueId v;
  return onnx_emit_const(im, &t, data, out_name(im, 0), NULL, &v);
}

/* ConstantOfShape: a constant shape filled with the one element of `value` (default a float
 * zero). */
static IrStatus cv_constant_of_shape(Importer *im, const OnnxRule *r, int op) {
  int64_t dims[IR_MAX_RANK];
  int rank;
  if (!onnx_const_ints(im, 0, "the shape", dims, IR_MAX_RANK, &rank)) return IR_ERR_INPUT;
  for (int i = 0; i < rank; i++)
    if (dims[i] < 0) return onnx_error(im, "shape[%d] = %lld is negative", i, (long long)dims[i]);
  DType dt = DT_F32;
  IrBuffer *value = NULL;
  const Onnx__AttributeProto *a = onnx_attr(im, "value");
  if (a) {
    TensorType vt;
    if (!a->t) return onnx_error(im, "attribute 'value' holds no tensor");
    OnnxTensorStatus ts = onnx_tensor_convert(a->t, "the fill value", im->loc, &vt, &value, im->d);
    if (ts == ONNX_TENSOR_UNSUPPORTED)
      return onnx_unsupported(im, "a fill value of element type %s", onnx_dtype_name(a->t->data_type)), IR_ERR_INPUT;
    if (ts != ONNX_TENSOR_OK) return IR_ERR_INPUT;
    if (ir_type_numel(&vt) != 1) {
      ir_buffer_unref(value);
      return onnx_error(im, "attribute 'value' must hold one element");
    }
    dt = vt.dtype;
  }
  TensorType t;
  IrBuffer *data;
  IrStatus st = new_const(im, dt, rank, dims, 0, &data, &t);
  if (st == IR_OK && value) {
    int64_t numel = ir_type_numel(&t), size = ir_dtype_size(dt);
    for (int64_t i = 0; i < numel; i++) memcpy((char *)data->data + i * size, value->data, (size_t)size);
  }
  ir_buffer_unref(value);
  if (st != IR_OK) return st;
  ValueId v;
  return onnx_emit_const(im, &t, data, out_name(im, 0), NULL, &v);
}

/* The number of elements of the integer range [start, limit) by delta (ceil((limit - start) /
 * delta), at least 0), computed without overflow. */
static uint64_t range_count(int64_t start, int64_t limit, int64_t delta) {
  if (delta > 0 && limit > start) {
    uint64_t diff = (uint64_t)limit - (uint64_t)start, step = (uint64_t)delta;
    return diff / step + (diff % step != 0);
  }
  if (delta < 0 && limit < start) {
    uint64_t diff = (uint64_t)start - (uint64_t)limit, step = 0 - (uint64_t)delta;
    return diff / step + (diff % step != 0);
  }
  return 0;
}

/* Range of constants: start, start + delta, ... up to limit (exclusive). */
static IrStatus cv_range(Importer *im, const OnnxRule *r, int op) {
  DType dt = onnx_type(im, onnx_input(im, 0))->dtype;
  if (dt != DT_F32 && dt != DT_I32 && dt != DT_I64)
    return onnx_error(im, "Range of %s (ONNX allows float, double, int16, int32, int64)", ir_dtype_name(dt));
  double fv[3];
  int64_t iv[3];
  static const char *const what[3] = {"start", "limit", "delta"};
  for (int i = 0; i < 3; i++) {
    int n;
    if (dt == DT_F32 ? !onnx_const_scalar(im, i, what[i], &fv[i]) : !onnx_const_ints(im, i, what[i], &iv[i], 1, &n))
      return IR_ERR_INPUT;
    if (dt != DT_F32 && n != 1) return onnx_error(im, "%s must hold one element", what[i]);
  }
  uint64_t count;
  if (dt == DT_F32) {
    if (fv[2] == 0) return onnx_error(im, "delta is zero");
    double c = ceil((fv[1] - fv[0]) / fv[2]);
    count = c >= 0 && c <= (double)IR_MAX_ELEMENTS ? (uint64_t)c : c > 0 ? UINT64_MAX : 0;
  } else {
    if (iv[2] == 0) return onnx_error(im, "delta is zero");
    count = range_count(iv[0], iv[1], iv[2]);
  }
  if (count > (uint64_t)IR_MAX_ELEMENTS) return onnx_error(im, "the range has too many elements");
  int64_t dims[1] = {(int64_t)count};
  TensorType t;
  IrBuffer *data;
  IrStatus st = new_const(im, dt, 1, dims, 0, &data, &t);
  if (st != IR_OK) return st;
  Tensor out = {t, data->data};
  for (int64_t i = 0; i < dims[0]; i++) {
    if (dt == DT_F32) op_set(&out, i, (float)((float)fv[0] + (float)i * (float)fv[2]));
    else op_set_int(&out, i, (int64_t)((uint64_t)iv[0] + (uint64_t)i * (uint64_t)iv[2]));
  }
  ValueId v;
  return onnx_emit_const(im, &t, data, out_name(im, 0), NULL, &v);
}

/* ---- recurrent layers ------------------------------------------------------------------------------- */

/* Whether the node's activations (when given) are the defaults: per direction Sigmoid,
 * Tanh, Tanh (LSTM) or Sigmoid, Tanh (GRU). */
static bool default_activations(Importer *im, bool lstm, int dirs) {
  const Onnx__AttributeProto *a = onnx_attr(im, "activations");
  if (!a) return true;
  static const char *const want[3] = {"Sigmoid", "Tanh", "Tanh"};
  int per = lstm ? 3 : 2;
  if (a->n_strings != (size_t)(per * dirs)) return false;
  for (int i = 0; i < per * dirs; i++)
    if (a->strings[i].len != strlen(want[i % per]) || memcmp(a->strings[i].data, want[i % per], a->strings[i].len))
      return false;
  return true;
}

/* LSTM and GRU (default activations): hidden_size, direction, clip, layout and
 * linear_before_reset pass on. lathe's lstm and gru leave optional operands out only at the
 * end, so one ONNX leaves out before a present one becomes a constant that means the same:
 * zero biases, every sequence at full length, zero initial states, zero peepholes. */
static IrStatus cv_rnn(Importer *im, const OnnxRule *r, int op) {
  bool ok = true, lstm = !strcmp(r->op_type, "LSTM");
  int gates = lstm ? 4 : 3, max_in = lstm ? 8 : 6;
  const char *dir = onnx_attr_s(im, "direction", "forward", &ok);
  int64_t dirs = !strcmp(dir, "bidirectional") ? 2 : 1;
  int64_t layout = onnx_attr_i(im, "layout", 0, &ok);
  if (lstm && onnx_attr_i(im, "input_forget", 0, &ok) != 0)
    return onnx_unsupported(im, "input_forget = 1"), IR_ERR_INPUT;
  if (!default_activations(im, lstm, (int)dirs))
    return onnx_unsupported(im, "activations other than the defaults"), IR_ERR_INPUT;
  ValueId ins[8];
  int last = 2;
  for (int i = 0; i < max_in; i++)
    if ((ins[i] = onnx_input(im, i)) >= 0) last = i;
  for (int i = 0; i < 3; i++)
    if (ins[i] < 0) return onnx_error(im, "input %d (X, W, R) is missing", i);
  const TensorType *x = onnx_type(im, ins[0]), *rt = onnx_type(im, ins[2]);
  if (x->rank != 3 || rt->rank != 3) return onnx_error(im, "X and R must have rank 3");
  int64_t T = x->dims[layout ? 1 : 0], Bt = x->dims[layout ? 0 : 1];
  int64_t H = onnx_attr_i(im, "hidden_size", rt->dims[2], &ok);
  if (!ok) return IR_ERR_INPUT;
  for (int i = 3; i < last; i++) {
    if (ins[i] >= 0) continue;
    int64_t dims[3] = {dirs, 2 * gates * H, 0};
    int rank = 2;
    DType dt = x->dtype;
    if (i == 4) { /* sequence_lens */
      dims[0] = Bt;
      rank = 1;
      dt = DT_I32;
    } else if (i == 5 || i == 6) { /* initial_h, initial_c: [D, Bt, H], batch-first [Bt, D, H] */
      dims[0] = layout ? Bt : dirs;
      dims[1] = layout ? dirs : Bt;
      dims[2] = H;
      rank = 3;
    } else if (i == 7) { /* P */
      dims[1] = 3 * H;
    }
    TensorType t;
    IrBuffer *data;
    IrStatus st = new_const(im, dt, rank, dims, 0, &data, &t);
    if (st != IR_OK) return st;
    Tensor fill = {t, data->data};
    for (int64_t e = 0; i == 4 && e < dims[0]; e++) op_set_int(&fill, e, T);
    if ((st = onnx_emit_const(im, &t, data, NULL, "rnn_default", &ins[i])) != IR_OK) return st;
  }
  OnnxAttrs al = {.n = 0};
  onnx_put_int(im, &al, "hidden_size", H);
  onnx_put_str(im, &al, "direction", dir);
  pass_float(im, &al, "clip", "clip", &ok);
  if (layout) onnx_put_int(im, &al, "layout", layout);
  if (!lstm) pass_int(im, &al, "linear_before_reset", "linear_before_reset", &ok);
  int nout = named_outputs(im);
  return ok ? emit_named(im, op, ins, last + 1, &al, nout > 0 ? nout : 1) : IR_ERR_INPUT;
}

/* ---- the table ------------------------------------------------------------------------------------------ */

/* Sorted by op type (as strcmp orders them: "PRelu" before "Pad"), then since. Rows before
 * opset 11 give the form in force at opset 11. Columns: ONNX op type, since, lathe op, inputs
 * (fewest, most), most outputs, the ONNX attributes understood, the converter. N: no limit. */
#define N IR_MAX_OPERANDS
static const OnnxRule rules[] = {
    {"Abs", 6, "abs", 1, 1, 1, "", cv_plain},
    {"Add", 7, "add", 2, 2, 1, "", cv_plain},
    {"AveragePool", 11, "averagepool", 1, 1, 1, "auto_pad ceil_mode count_include_pad kernel_shape pads strides",
     cv_pool},
    {"BatchNormalization", 9, "batch_norm", 5, 5, 5, "epsilon momentum", cv_batch_norm},
    {"BatchNormalization", 14, "batch_norm", 5, 5, 3, "epsilon momentum training_mode", cv_batch_norm},
    {"Cast", 6, "cast", 1, 1, 1, "to", cv_cast},
    {"Cast", 13, "cast", 1, 1, 1, "to", cv_cast},
    {"CastLike", 15, "cast", 2, 2, 1, "", cv_cast_like},
    {"Clip", 6, "clip", 1, 1, 1, "min max", cv_clip6},
    {"Clip", 11, "clip", 1, 3, 1, "", cv_clip11},
    {"Concat", 4, "concat", 1, N, 1, "axis", cv_axis},
    {"Constant", 1, NULL, 0, 0, 1,
     "value value_float value_floats value_int value_ints value_string value_strings sparse_value", cv_constant},
    {"ConstantOfShape", 9, NULL, 1, 1, 1, "value", cv_constant_of_shape},
    {"Conv", 1, "conv2d", 2, 3, 1, "auto_pad dilations group kernel_shape pads strides", cv_conv},
    {"ConvTranspose", 1, "conv_transpose", 2, 3, 1,
     "auto_pad dilations group kernel_shape output_padding output_shape pads strides", cv_conv_transpose},
    {"Div", 7, "div", 2, 2, 1, "", cv_plain},
    {"Dropout", 7, NULL, 1, 1, 2, "ratio", cv_dropout},
    {"Dropout", 12, NULL, 1, 3, 2, "seed", cv_dropout},
    {"Equal", 7, "equal", 2, 2, 1, "", cv_plain},
    {"Erf", 9, "erf", 1, 1, 1, "", cv_plain},
    {"Exp", 6, "exp", 1, 1, 1, "", cv_plain},
    {"Expand", 8, "expand", 2, 2, 1, "", cv_expand},
    {"Flatten", 1, "flatten", 1, 1, 1, "axis", cv_flatten},
    {"GRU", 7, "gru", 3, 6, 2,
     "activation_alpha activation_beta activations clip direction hidden_size layout linear_before_reset", cv_rnn},
    {"Gather", 1, "gather", 2, 2, 1, "axis", cv_axis},
    {"Gemm", 7, "gemm", 2, 3, 1, "alpha beta transA transB", cv_gemm},
    {"GlobalAveragePool", 1, "global_average_pool", 1, 1, 1, "", cv_plain},
    {"GlobalMaxPool", 1, "maxpool", 1, 1, 1, "", cv_global_max_pool},
    {"HardSigmoid", 6, "hard_sigmoid", 1, 1, 1, "alpha beta", cv_unary_attrs},
    {"HardSwish", 14, "hard_swish", 1, 1, 1, "", cv_plain},
    {"Identity", 1, NULL, 1, 1, 1, "", cv_identity},
    {"LSTM", 7, "lstm", 3, 8, 3,
     "activation_alpha activation_beta activations clip direction hidden_size input_forget layout", cv_rnn},
    {"LayerNormalization", 17, "layer_norm", 2, 3, 3, "axis epsilon stash_type", cv_layer_norm},
    {"LeakyRelu", 6, "leaky_relu", 1, 1, 1, "alpha", cv_unary_attrs},
    {"Log", 6, "log", 1, 1, 1, "", cv_plain},
    {"LogSoftmax", 1, "log_softmax", 1, 1, 1, "axis", cv_softmax1},
    {"LogSoftmax", 13, "log_softmax", 1, 1, 1, "axis", cv_softmax13},
    {"MatMul", 1, "matmul", 2, 2, 1, "", cv_plain},
    {"Max", 8, "max", 1, N, 1, "", cv_chain},
    {"MaxPool", 11, "maxpool", 1, 1, 2, "auto_pad ceil_mode dilations kernel_shape pads storage_order strides",
     cv_pool},
    {"Mean", 8, "add", 1, N, 1, "", cv_mean},
    {"Min", 8, "min", 1, N, 1, "", cv_chain},
    {"Mul", 7, "mul", 2, 2, 1, "", cv_plain},
    {"Neg", 6, "neg", 1, 1, 1, "", cv_plain},
    {"PRelu", 9, "relu", 2, 2, 1, "", cv_prelu},
    {"Pad", 11, "pad", 2, 3, 1, "mode", cv_pad},
    {"Pow", 7, "pow", 2, 2, 1, "", cv_plain},
    {"Range", 11, NULL, 3, 3, 1, "", cv_range},
    {"Reciprocal", 6, "reciprocal", 1, 1, 1, "", cv_plain},
    {"ReduceMax", 1, "reduce_max", 1, 1, 1, "axes keepdims", cv_reduce},
    {"ReduceMean", 1, "reduce_mean", 1, 1, 1, "axes keepdims", cv_reduce},
    {"ReduceMin", 1, "reduce_min", 1, 1, 1, "axes keepdims", cv_reduce},
    {"ReduceSum", 1, "reduce_sum", 1, 1, 1, "axes keepdims", cv_reduce},
    {"ReduceSum", 13, "reduce_sum", 1, 2, 1, "keepdims noop_with_empty_axes", cv_reduce},
    {"Relu", 6, "relu", 1, 1, 1, "", cv_plain},
    {"Reshape", 5, "reshape", 2, 2, 1, "", cv_reshape},
    {"Reshape", 14, "reshape", 2, 2, 1, "allowzero", cv_reshape},
    {"Resize", 10, "resize", 2, 2, 1, "mode", cv_resize},
    {"Resize", 11, "resize", 1, 4, 1,
     "coordinate_transformation_mode cubic_coeff_a exclude_outside extrapolation_value mode nearest_mode", cv_resize},
    {"Resize", 13, "resize", 1, 4, 1,
     "coordinate_transformation_mode cubic_coeff_a exclude_outside extrapolation_value mode nearest_mode", cv_resize},
    {"Shape", 1, NULL, 1, 1, 1, "", cv_shape},
    {"Shape", 15, NULL, 1, 1, 1, "end start", cv_shape},
    {"Sigmoid", 6, "sigmoid", 1, 1, 1, "", cv_plain},
    {"Size", 1, NULL, 1, 1, 1, "", cv_size},
    {"Slice", 10, "slice", 3, 5, 1, "", cv_slice},
    {"Softmax", 1, "softmax", 1, 1, 1, "axis", cv_softmax1},
    {"Softmax", 13, "softmax", 1, 1, 1, "axis", cv_softmax13},
    {"Split", 2, "split", 1, 1, N, "axis split", cv_split},
    {"Split", 13, "split", 1, 2, N, "axis", cv_split},
    {"Sqrt", 6, "sqrt", 1, 1, 1, "", cv_plain},
    {"Squeeze", 1, "squeeze", 1, 1, 1, "axes", cv_squeeze},
    {"Squeeze", 13, "squeeze", 1, 2, 1, "", cv_squeeze},
    {"Sub", 7, "sub", 2, 2, 1, "", cv_plain},
    {"Sum", 8, "add", 1, N, 1, "", cv_chain},
    {"Tanh", 6, "tanh", 1, 1, 1, "", cv_plain},
    {"Transpose", 1, "transpose", 1, 1, 1, "perm", cv_transpose},
    {"Unsqueeze", 1, "unsqueeze", 1, 1, 1, "axes", cv_squeeze},
    {"Unsqueeze", 13, "unsqueeze", 2, 2, 1, "", cv_squeeze},
    {"Where", 9, "where", 3, 3, 1, "", cv_plain},
};
#undef N

enum { NRULES = (int)(sizeof rules / sizeof *rules) };

const OnnxRule *onnx_rule(const char *op_type, int opset, bool *exists_later) {
  const OnnxRule *best = NULL;
  *exists_later = false;
  for (int i = 0; i < NRULES; i++) {
    if (strcmp(rules[i].op_type, op_type) != 0) continue;
    if (rules[i].since <= opset) best = &rules[i];
    else *exists_later = true;
  }
  if (best) *exists_later = false;
  return best;
}

int onnx_rule_op(const OnnxRule *r) {
  return r->lathe_op ? ir_op_lookup(r->lathe_op, strlen(r->lathe_op)) : -1;
}

const OnnxRule *onnx_rule_at(int i) { return i >= 0 && i < NRULES ? &rules[i] : NULL; }

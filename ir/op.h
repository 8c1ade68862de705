/* op.h — the op table. Every op is one row of ir/ops.def; its attribute schema, shape rule
 * and reference kernel live in the op family's file under ir/ops/, gathered in an OpImpl. */
#ifndef LATHE_IR_OP_H
#define LATHE_IR_OP_H

#include "ir/ir.h"

typedef enum {
#define OP(e, name, impl, min_in, max_in, min_out, max_out, flags, doc) OP_##e,
#include "ir/ops.def"
#undef OP
  OP_COUNT
} Op;

/* Op flags. */
enum {
  OPF_NONE = 0,
  OPF_ELEMENTWISE = 1 << 0, /* output element i depends only on input elements i (after broadcast) */
  OPF_REGION = 1 << 1,      /* carries a body region (fused) */
  OPF_CONST = 1 << 2,       /* produces data carried by the node (const) */
  OPF_VARIADIC = 1 << 3,    /* any number of inputs from min_in (max_in is then ignored) */
};

/* What a shape rule sees: the node, its input types, and room for its output types. */
typedef struct InferCtx {
  const Graph *g;
  const Node *node;
  const TensorType *const *in; /* node->ninputs types */
  int nin;
  TensorType *out;             /* node->noutputs types to fill (start as the declared ones) */
  int nout;
  DiagSink *diag;
} InferCtx;

struct Interp;

/* What a reference kernel sees: inputs and outputs in logical row-major form. Inputs of
 * type f16 or bf16 arrive widened to f32, and f32 results are rounded into f16/bf16
 * outputs by the interpreter, so kernels compute floats in f32 only. Outputs are zeroed. */
typedef struct EvalCtx {
  const Graph *g;
  const Node *node;
  const Tensor *in;  /* nin inputs */
  int nin;
  Tensor *out;       /* nout outputs */
  int nout;
  DiagSink *diag;
  struct Interp *interp; /* for ops with a region */
} EvalCtx;

/* An attribute in a schema; schemas end with an entry whose name is NULL. */
typedef struct AttrSpec {
  const char *name;
  AttrKind kind;
  bool required;
} AttrSpec;

/* One op family's implementation of an op (several ops may share one). */
typedef struct OpImpl {
  const AttrSpec *attrs;                         /* the attributes it accepts */
  bool (*infer)(InferCtx *c);                    /* shape rule: fills c->out, or reports and returns false */
  IrStatus (*eval)(EvalCtx *c);                  /* reference kernel */
  int64_t (*macs)(const Graph *g, const Node *n);/* multiply-accumulates (NULL: none) */
} OpImpl;

typedef struct OpInfo {
  const char *name;     /* as written in the text IR */
  const OpImpl *impl;
  int min_in, max_in;   /* operand counts */
  int min_out, max_out; /* result counts */
  unsigned flags;
  const char *doc;      /* one-line meaning */
} OpInfo;

extern const OpInfo ir_ops[OP_COUNT];

/* Returns the op named s[0..len) or -1. */
int ir_op_lookup(const char *s, size_t len);
static inline const OpInfo *ir_op_info(int op) { return &ir_ops[op]; }

/* ---- helpers for op families ----------------------------------------------------------------- */

/* Reports an error at the node (or at its attribute `attr` when present) and returns false. */
bool op_fail(InferCtx *c, const char *attr, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* Same for kernels: returns IR_ERR_INPUT. */
IrStatus op_eval_fail(EvalCtx *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Checks that input i has one of the dtypes in the DT_INVALID-terminated list. */
bool op_check_dtype(InferCtx *c, int i, const DType *allowed);
/* Normalizes axis (negative counts from the end) against rank; false (reported) if out of range. */
bool op_axis(InferCtx *c, const char *attr, int64_t axis, int rank, int *out);
/* Multidirectional (numpy) broadcast of a and b into out (dtype of a); false (reported) if
 * the shapes do not broadcast. */
bool op_broadcast(InferCtx *c, const TensorType *a, const TensorType *b, TensorType *out);
/* Offset into a tensor of shape `from` (right-aligned, broadcast) for the row-major index
 * idx of a tensor of shape `to`. */
int64_t op_broadcast_offset(const TensorType *from, const TensorType *to, const int64_t *idx);
/* Advances a row-major multi-index over shape t; false after the last one. */
bool op_next_index(const TensorType *t, int64_t *idx);
/* Reads element i of a tensor as double / writes it from double (any dtype, no layout). */
double op_get(const Tensor *t, int64_t i);
void op_set(Tensor *t, int64_t i, double v);

/* Integer element access: reads element i as int64 (floats truncated, saturating); writes v
 * wrapping to the width of an integer dtype (bool: v != 0; floats: converted). */
int64_t op_get_int(const Tensor *t, int64_t i);
void op_set_int(Tensor *t, int64_t i, int64_t v);
/* Copies element si of src into element di of dst (bytes when the dtypes match). */
void op_copy_elem(Tensor *dst, int64_t di, const Tensor *src, int64_t si);

/* Room for op_shape_str's text of any shape. */
enum { OP_SHAPE_BUF = 200 };
/* Writes t's shape as "[2, 3]" into buf (size bytes) and returns buf. */
const char *op_shape_str(const TensorType *t, char *buf, size_t size);
/* The op's name as written (for messages). */
const char *op_name(const Node *n);
/* Sets output i to a plain row-major type (no layout, no quantization). */
void op_out(InferCtx *c, int i, DType dtype, int rank, const int64_t *dims);
/* The same for a shape computed from attributes: false (reported) when it is not a valid
 * type (a rank over 8, too many elements or bytes). */
bool op_out_checked(InferCtx *c, int i, DType dtype, int rank, const int64_t *dims);
/* Checks that input i has rank `rank`; false (reported) otherwise. */
bool op_check_rank(InferCtx *c, int i, int rank);
/* Checks that input i has the dtype of input j; false (reported) otherwise. */
bool op_check_same_dtype(InferCtx *c, int i, int j);
/* Reads ATTR_INT `name` (def when absent) into *out; false (reported) outside [lo, hi]. */
bool op_int_attr(InferCtx *c, const char *name, int64_t def, int64_t lo, int64_t hi, int64_t *out);
/* Reads ATTR_INTS `name` into out[0..n) (all def when absent); false (reported) when it has
 * not exactly n entries or one lies outside [lo, hi]. */
bool op_ints_attr(InferCtx *c, const char *name, int n, int64_t def, int64_t lo, int64_t hi, int64_t *out);
/* What a slice node takes from each input dimension: the first index, the step and the count. */
typedef struct SlicePlan {
  int64_t start[IR_MAX_RANK], step[IR_MAX_RANK], count[IR_MAX_RANK];
} SlicePlan;
/* Computes the plan of slice node n on input type x (ONNX's clamping, ir/ops/shape.c, shared
 * by the interpreter and the lowering). Returns NULL or what is wrong (and *bad_attr, the
 * attribute to blame). */
const char *op_slice_plan(const Node *n, const TensorType *x, SlicePlan *p, const char **bad_attr);
/* The geometry of a conv_transpose: X [N, C, H, W], W [C, Mg, kH, kW], Y [N, Mg * group, OH,
 * OW]; pads[0..1] are the effective top and left pads (from output_shape when it is given). */
typedef struct ConvTGeom {
  int64_t N, C, H, W, Mg, kH, kW, OH, OW, group;
  int64_t stride[2], dil[2], pads[4], outpad[2];
} ConvTGeom;
/* Fills g from conv_transpose node n and its operand types x and w (ir/ops/conv.c, shared by
 * the interpreter and the lowering). Returns NULL, or what is wrong and *attr, the attribute
 * to blame. */
const char *op_convt_geom(const Node *n, const TensorType *x, const TensorType *w, ConvTGeom *g, const char **attr);
/* A resize node resolved (ir/ops/resize.c, shared by the interpreter and the lowering): mode
 * and coordinate transformation as numbered there, sizes, scales and roi. */
typedef struct ResizePlan {
  int mode, coord, nearest;
  double a;                    /* cubic_coeff_a */
  bool exclude_outside;
  double extrapolation;
  int rank;
  int64_t in[IR_MAX_RANK], out[IR_MAX_RANK];
  double scale[IR_MAX_RANK];   /* out / in as ONNX uses it (the given scale, or sizes / in) */
  double roi[2 * IR_MAX_RANK]; /* tf_crop_and_resize: starts, then ends (normalized) */
} ResizePlan;
/* Resolves resize node n on input type x into p; NULL, or what is wrong and *attr. */
const char *op_resize_plan(const Node *n, const TensorType *x, ResizePlan *p, const char **attr);
/* Taps of one dimension: up to 4 input indices and their weights. */
typedef struct Taps {
  int n;
  int64_t idx[4];
  double w[4];
} Taps;
/* The taps of output index x along dimension d of plan p; false when x maps outside the input
 * (tf_crop_and_resize: the element is the extrapolation value). */
bool op_resize_taps(const ResizePlan *p, int d, int64_t x, Taps *t);
/* For kernels (attributes already checked): ATTR_INTS `name` into out[0..n), def when absent. */
void op_ints_or(const Node *node, const char *name, int n, int64_t def, int64_t *out);
/* Output length of a sliding window over `in` positions with kernel k, stride, dilation and
 * pads; ceil_mode rounds up but drops a last window that starts in the right padding (ONNX).
 * False (reported, naming the dimension `what`) when the padded input is shorter than the
 * dilated kernel or the sizes overflow. */
bool op_window_out(InferCtx *c, const char *what, int64_t in, int64_t k, int64_t stride, int64_t dil,
                   int64_t pad_begin, int64_t pad_end, bool ceil_mode, int64_t *out);
/* The taps t in [*lo, *hi) of a window of k taps, dilation dil, starting at position start
 * (may be negative), whose positions start + t * dil lie inside [0, in). */
void op_taps(int64_t start, int64_t k, int64_t dil, int64_t in, int64_t *lo, int64_t *hi);

#endif

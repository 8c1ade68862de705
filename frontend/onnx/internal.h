/* internal.h — what the files of the ONNX importer share: the protobuf reader (proto.c), the
 * importer's state and its node-building helpers (import.c), and the op table (ops.c). */
#ifndef LATHE_FRONTEND_ONNX_INTERNAL_H
#define LATHE_FRONTEND_ONNX_INTERNAL_H

#include "frontend/onnx/onnx.h"
#include "ir/op.h"
#include "ir/strmap.h"
#include "ir/text.h"
#include "onnx.pb-c.h"

/* ---- the protobuf reader (proto.c) --------------------------------------------------------- */

/* Routes protobuf-c's allocations through ir_malloc / ir_free. */
extern ProtobufCAllocator onnx_allocator;

/* The deepest nesting of messages accepted before unpacking (protobuf-c recurses without a
 * limit: a few hundred kilobytes of nesting would overflow the stack). */
enum { ONNX_MAX_NESTING = 64 };

/* Checks that data[0..len) is well-formed protobuf wire format for messages of type desc
 * (tags, wire types and lengths within bounds) nested at most ONNX_MAX_NESTING deep; false
 * with a static reason in *why otherwise. It reads only tags and lengths: protobuf-c does the
 * decoding. */
bool onnx_wire_check(const ProtobufCMessageDescriptor *desc, const uint8_t *data, size_t len, const char **why);

/* The lathe element type of an ONNX TensorProto.DataType, or DT_INVALID when lathe has none. */
DType onnx_dtype(int32_t t);
/* The ONNX spelling of a TensorProto.DataType ("FLOAT", "DOUBLE"), "type N" when unknown. */
const char *onnx_dtype_name(int32_t t);

/* The result of converting a TensorProto. */
typedef enum {
  ONNX_TENSOR_OK,          /* converted */
  ONNX_TENSOR_UNSUPPORTED, /* a valid tensor of an element type lathe does not have (reported) */
  ONNX_TENSOR_BAD,         /* a malformed tensor (reported) */
} OnnxTensorStatus;

/* Converts t into a row-major type and a new buffer of its data (raw_data or the typed
 * field, checked against the shape; external data and segments refused). what names the
 * tensor in messages ("initializer 'w'"), loc is where to report. Malformed tensors are
 * reported (out of memory too, as ONNX_TENSOR_BAD); an unsupported element type is left to
 * the caller to list. */
OnnxTensorStatus onnx_tensor_convert(const Onnx__TensorProto *t, const char *what, Loc loc, TensorType *type,
                                     IrBuffer **data, DiagSink *d);

/* ---- the importer (import.c) ----------------------------------------------------------------- */

/* The ValueId the value map holds for a value whose producer could not be converted: its
 * users are skipped without more messages (the cause is already reported). */
enum { ONNX_POISON = -2 };


/* One ONNX op type that lathe cannot import, with the nodes that use it. */
typedef struct OnnxOpGap {
  const char *op_type; /* "domain::Type" or "Type" (borrowed from the model) */
  const char *why;     /* static reason */
  int count;           /* nodes using it */
  IrText names;      /* the first few node names, quoted, comma-separated */
} OnnxOpGap;

/* The state of one import. */
typedef struct Importer {
  Graph *g;                      /* the graph being built */
  DiagSink *d;                   /* where problems go */
  const char *file;              /* the model's name, in the graph's arena (every Loc's file) */
  const Onnx__ModelProto *model; /* the unpacked model */
  const Onnx__GraphProto *graph; /* model->graph */
  const OnnxImportOpts *opts;    /* the caller's choices (never NULL) */
  int opset;                     /* the model's default-domain opset (0: none) */
  StrMap values;                 /* ONNX value name -> ValueId, or ONNX_POISON (keys borrowed) */
  StrMap names;                  /* every lathe value name taken (keys in the arena) */
  NodeId *order;                 /* norder nodes of the body, in execution order */
  int norder, cap_order;         /* entries and room of order */
  OnnxOpGap *gaps;               /* ngaps op types lathe cannot import */
  int ngaps, cap_gaps;           /* entries and room of gaps */
  IrText report;               /* other unsupported items, one "\n  - item" each */
  int unsupported;               /* items in gaps (nodes) and report */
  int report_items;              /* items in report (after ONNX_REPORT_MAX only counted) */
  const char **origins;          /* per ONNX node: its name, or a description (in the arena) */
  char **freeze;                 /* nfreeze graph inputs an op needs constant (ir_malloc'd) */
  int nfreeze, cap_freeze;       /* entries and room of freeze */
  const Onnx__NodeProto *node;   /* the node being converted (NULL between nodes) */
  Loc loc;                       /* its location (file, origin = its name) */
  bool oom;                      /* an allocation failed (reported once) */
} Importer;

/* The most items the report lists one by one; later ones are counted. */
enum { ONNX_REPORT_MAX = 40 };

/* Adds one unsupported item about the current node (or the model when none) to the report. */
void onnx_unsupported(Importer *im, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Reports a malformed-input error at the current node; returns IR_ERR_INPUT. */
IrStatus onnx_error(Importer *im, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Reports out of memory once; returns IR_ERR_INPUT. */
IrStatus onnx_oom(Importer *im);

/* Attributes being collected for a node: at most ONNX_MAX_ATTRS of them. */
enum { ONNX_MAX_ATTRS = 24 };
typedef struct OnnxAttrs {
  Attr a[ONNX_MAX_ATTRS]; /* n attributes; arrays live in the graph's arena */
  int n;                  /* entries used */
  bool failed;            /* too many, or out of memory */
} OnnxAttrs;

void onnx_put_int(Importer *im, OnnxAttrs *al, const char *name, int64_t v);
void onnx_put_float(Importer *im, OnnxAttrs *al, const char *name, double v);
void onnx_put_str(Importer *im, OnnxAttrs *al, const char *name, const char *v);
void onnx_put_ints(Importer *im, OnnxAttrs *al, const char *name, const int64_t *v, int n);
void onnx_put_floats(Importer *im, OnnxAttrs *al, const char *name, const double *v, int n);

/* Appends a node of lathe op `op` on ins[0..nin) with attributes al (may be NULL) and nout
 * results named after names[i] (an ONNX name, used as is) or, when names is NULL or names[i]
 * is NULL, a fresh name derived from the current node's first output and `hint`. Result i
 * is first declared with element type dtypes[i] (dtypes NULL: the first operand's; some
 * shape rules read the declared type, as maxpool's indices) and its type is then set by
 * the op's shape rule. When every operand is a constant and the result is not much larger
 * than them, the node is evaluated on the reference kernels into constants. Writes the
 * result ids to outs. Returns IR_OK, or reports (at the current node) and returns an error. */
IrStatus onnx_emit(Importer *im, int op, const ValueId *ins, int nin, const OnnxAttrs *al, int nout,
                   const DType *dtypes, const char *const *names, const char *hint, ValueId *outs);
/* Appends a const node holding data (one reference taken over) of type t, named as
 * onnx_emit names results. */
IrStatus onnx_emit_const(Importer *im, const TensorType *t, IrBuffer *data, const char *name, const char *hint,
                         ValueId *out);
/* Binds ONNX output name (non-empty) to an existing value (Identity and the like). */
IrStatus onnx_bind(Importer *im, const char *name, ValueId v);

/* The value of input i of the current node; -1 when absent (an empty name or past the end). */
ValueId onnx_input(Importer *im, int i);
/* The type of value v. */
static inline const TensorType *onnx_type(const Importer *im, ValueId v) { return &im->g->values[v].type; }
/* The const node defining v, or NULL when v is not a constant with data. */
const Node *onnx_const_node(const Importer *im, ValueId v);
/* Reads input i, which must be a constant integer tensor of at most max elements, into
 * out[0..*n); when it is not a constant, reports it as unsupported (naming `what`). */
bool onnx_const_ints(Importer *im, int i, const char *what, int64_t *out, int max, int *n);
/* The same for a constant tensor of any numeric type, read as doubles. */
bool onnx_const_floats(Importer *im, int i, const char *what, double *out, int max, int *n);
/* Reads input i, which must be a constant scalar (or one-element) tensor, as a double. */
bool onnx_const_scalar(Importer *im, int i, const char *what, double *out);

/* ONNX attribute access on the current node; NULL when absent. */
const Onnx__AttributeProto *onnx_attr(const Importer *im, const char *name);
/* Typed getters with a default; a present attribute of another type is reported (bad input)
 * and *ok cleared. */
int64_t onnx_attr_i(Importer *im, const char *name, int64_t def, bool *ok);
double onnx_attr_f(Importer *im, const char *name, double def, bool *ok);
/* A string attribute (NUL-terminated by protobuf-c), or def. */
const char *onnx_attr_s(Importer *im, const char *name, const char *def, bool *ok);
/* An ints attribute: returns the entries (count in *n, at most max, else reported), or NULL
 * with *n = 0 when absent. */
const int64_t *onnx_attr_ints(Importer *im, const char *name, int max, int *n, bool *ok);
/* A floats attribute, as onnx_attr_ints. */
const float *onnx_attr_floats(Importer *im, const char *name, int max, int *n, bool *ok);

/* ---- the op table (ops.c) --------------------------------------------------------------------- */

struct OnnxRule;
/* Converts the current node (im->node) under rule r into lathe nodes; op is the lathe op r
 * names (looked up in ir/ops.def), or -1 for rules the importer handles itself. */
typedef IrStatus (*OnnxConvert)(Importer *im, const struct OnnxRule *r, int op);

/* One row of the op table: from opset `since` on (until the next row of the same op type),
 * ONNX op_type converts through `convert` into the lathe op named lathe_op. */
typedef struct OnnxRule {
  const char *op_type;  /* ONNX op type of the default domain */
  int since;            /* the opset version this row starts at */
  const char *lathe_op; /* the lathe op (ir/ops.def name); NULL: handled in the importer */
  int min_in, max_in;   /* inputs: the first min_in must be present, at most max_in given */
  int max_out;          /* outputs the node may name */
  const char *attrs;    /* the ONNX attributes the converter understands, space-separated */
  OnnxConvert convert;  /* builds the lathe nodes */
} OnnxRule;

/* The row for op_type at the given opset (the row with the largest since <= opset), or NULL.
 * *exists_later is set when the op type has rows only for later opsets. */
const OnnxRule *onnx_rule(const char *op_type, int opset, bool *exists_later);
/* The lathe op of rule r, or -1 when r->lathe_op is NULL or not (yet) in ir/ops.def. */
int onnx_rule_op(const OnnxRule *r);
/* Iterates the table: the i-th row, or NULL past the end. */
const OnnxRule *onnx_rule_at(int i);

#endif

/* ir.h — the graph IR: element types, tensor types (shape, layout, quantization), data
 * buffers, attributes, nodes, values, regions and the graph that owns them.
 *
 * Ownership: a Graph owns an arena holding every Node, Value, Region, Attr and string of
 * the IR; they are never freed one by one. Tensor data lives apart, in reference-counted
 * IrBuffers, so passes can share weights without copying them. */
#ifndef LATHE_IR_IR_H
#define LATHE_IR_IR_H

#include "ir/base.h"

/* ---- element types -------------------------------------------------------------------------- */

#define IR_DTYPES(X)            \
  X(F32, "f32", 4)              \
  X(F16, "f16", 2)              \
  X(BF16, "bf16", 2)            \
  X(I8, "i8", 1)                \
  X(U8, "u8", 1)                \
  X(I32, "i32", 4)              \
  X(I64, "i64", 8)              \
  X(BOOL, "bool", 1)

typedef enum {
#define X(e, name, size) DT_##e,
  IR_DTYPES(X)
#undef X
  DT_COUNT,
  DT_INVALID = -1
} DType;

const char *ir_dtype_name(DType t);
int ir_dtype_size(DType t);
/* Returns the dtype named by s[0..len), or DT_INVALID. */
DType ir_dtype_parse(const char *s, size_t len);
static inline bool ir_dtype_is_float(DType t) { return t == DT_F32 || t == DT_F16 || t == DT_BF16; }
static inline bool ir_dtype_is_int(DType t) {
  return t == DT_I8 || t == DT_U8 || t == DT_I32 || t == DT_I64;
}

/* Conversions between f32 and the 16-bit floats (round to nearest even; NaN stays NaN). */
uint16_t ir_f32_to_f16(float f);
float ir_f16_to_f32(uint16_t h);
uint16_t ir_f32_to_bf16(float f);
float ir_bf16_to_f32(uint16_t h);

/* ---- layouts --------------------------------------------------------------------------------- */

/* A physical layout of a tensor whose logical form is row-major. Written as oneDNN does
 * ("nChw16c", "OIhw16i16o", "acdb"): each letter names a logical dimension; a lowercase
 * letter alone is the whole dimension, an uppercase letter is the outer (blocked) part of a
 * dimension whose inner block appears later as a size and the lowercase letter. Letters are
 * positional (a = dim 0, b = dim 1, ...), or, for rank-4 tensors, n c h w (activations) or
 * o i h w (weights). Outer parts are padded up to whole blocks with zeros. */
typedef struct Layout {
  const char *text;          /* as written, e.g. "nChw16c" */
  int ndims;                 /* physical dimensions (entries below) */
  int8_t dim[2 * IR_MAX_RANK];   /* logical dimension of each physical dimension */
  int32_t block[2 * IR_MAX_RANK];/* 0: whole (or outer part of a blocked) dimension; >0: inner block size */
} Layout;

/* Parses a layout for a tensor of the given rank; returns it (allocated in a) or NULL with a
 * static reason in *why. */
const Layout *ir_layout_parse(IrArena *a, const char *text, int rank, const char **why);

/* ---- quantization ---------------------------------------------------------------------------- */

/* real = scale * (q - zero_point), per tensor (axis = -1, count = 1) or per channel along axis. */
typedef struct Quant {
  int axis;            /* -1: per tensor */
  int count;           /* entries in scales and zero_points */
  double *scales;      /* count entries */
  int64_t *zero_points;/* count entries */
} Quant;

/* ---- tensor types ------------------------------------------------------------------------------ */

/* A tensor type: element type and static logical shape, plus (when not plain row-major) a
 * layout and (when quantized) quantization parameters. */
typedef struct TensorType {
  DType dtype;
  int rank;
  int64_t dims[IR_MAX_RANK];
  const Layout *layout; /* NULL: row-major */
  const Quant *quant;   /* NULL: not quantized */
} TensorType;

/* Elements of the logical shape (1 for rank 0). Shapes in a verified graph never overflow. */
int64_t ir_type_numel(const TensorType *t);
/* Bytes of the physical form (layout padding included). */
int64_t ir_type_bytes(const TensorType *t);
/* Checks that the shape, layout and quantization are valid and the sizes are within the
 * limits; on failure fills why (static text) and returns false. */
bool ir_type_valid(const TensorType *t, const char **why);
/* True when the two types are identical (layout and quantization included). */
bool ir_type_equal(const TensorType *a, const TensorType *b);
/* A row-major f32-like copy of t with another dtype, no layout, no quantization. */
TensorType ir_type_plain(const TensorType *t, DType dtype);

/* ---- data buffers ------------------------------------------------------------------------------- */

/* Reference-counted bytes: an allocation of its own, or a slice of another buffer (a tensor
 * inside a weights file). */
typedef struct IrBuffer {
  int refs;                /* references; freed at 0 */
  void *data;              /* the bytes (64-byte aligned when allocated here) */
  int64_t size;            /* bytes */
  struct IrBuffer *parent; /* non-NULL: data points into parent, which this holds a reference on */
  void *alloc;             /* what to free (NULL for a slice) */
} IrBuffer;

/* Returns a new zeroed buffer of size bytes (refs = 1) or NULL. */
IrBuffer *ir_buffer_new(int64_t size);
/* Returns a buffer for bytes [offset, offset + size) of parent (which must hold them). */
IrBuffer *ir_buffer_slice(IrBuffer *parent, int64_t offset, int64_t size);
IrBuffer *ir_buffer_ref(IrBuffer *b);
void ir_buffer_unref(IrBuffer *b);

/* A tensor: a type and its data (logical row-major unless type.layout says otherwise). */
typedef struct Tensor {
  TensorType type;
  void *data;
} Tensor;

/* The physical geometry of a tensor type: physical dimension p holds logical dimension
 * dim[p]; the element with logical index idx sits at sum over p of c_p * stride[p], where
 * c_p = idx[dim[p]] / inner[p], taken modulo extent[p] when p is an inner block. */
typedef struct IrGeometry {
  int n;                              /* physical dimensions */
  int dim[2 * IR_MAX_RANK];           /* logical dimension of each */
  int64_t inner[2 * IR_MAX_RANK];     /* product of the blocks of the same dimension after it */
  int64_t extent[2 * IR_MAX_RANK];    /* size of the physical dimension */
  int64_t stride[2 * IR_MAX_RANK];    /* elements between neighbours along it */
} IrGeometry;

/* Computes the physical geometry of t (row-major when it has no layout). */
void ir_geometry(const TensorType *t, IrGeometry *g);

/* Converts the physical data src of type t (any layout, any dtype) into the plain
 * row-major form of element type `to` in dst (numel elements). Float widths convert with
 * rounding; other dtypes must match. Padding of blocked layouts is dropped. */
void ir_tensor_unpack(const TensorType *t, const void *src, DType to, void *dst);
/* The reverse: plain row-major src of element type `from` into the physical form of t in
 * dst (padding of blocked layouts zeroed). */
void ir_tensor_pack(const TensorType *t, const void *src, DType from, void *dst);

/* ---- attributes -------------------------------------------------------------------------------- */

typedef enum { ATTR_INT, ATTR_FLOAT, ATTR_STR, ATTR_INTS, ATTR_FLOATS } AttrKind;

/* A named attribute of a node; the member that is valid depends on kind. */
typedef struct Attr {
  const char *name;
  AttrKind kind;
  int n;                 /* ATTR_INTS, ATTR_FLOATS: entries */
  union {
    int64_t i;           /* ATTR_INT */
    double f;            /* ATTR_FLOAT */
    const char *s;       /* ATTR_STR */
    int64_t *ints;       /* ATTR_INTS: n entries */
    double *floats;      /* ATTR_FLOATS: n entries */
  } u;
  Loc loc;               /* where the attribute was written */
} Attr;

/* ---- values, nodes, regions, graph ---------------------------------------------------------------- */

typedef int32_t ValueId; /* index into Graph.values; -1: none */
typedef int32_t NodeId;  /* index into Graph.nodes; -1: none */

typedef enum {
  VAL_INPUT,  /* an input of the graph */
  VAL_PARAM,  /* a parameter of a region (the ^(...) of a fused body) */
  VAL_RESULT, /* a result of a node */
} ValueKind;

typedef struct Value {
  const char *name;  /* without the '%'; NULL for an unused result ("_") */
  TensorType type;
  ValueKind kind;
  NodeId def;        /* VAL_RESULT: the defining node */
  int index;         /* VAL_RESULT: which result of def; VAL_INPUT/VAL_PARAM: position */
  Loc loc;           /* where it was named */
} Value;

typedef struct Region Region;

/* The kinds of data a const node can carry. */
typedef enum {
  CONST_NONE,   /* not a const node */
  CONST_WEIGHT, /* weight("name") in the sidecar */
  CONST_DENSE,  /* dense<[...]> written inline */
} ConstKind;

typedef struct Node {
  int op;                /* an Op (ir/op.h) */
  ValueId *inputs;       /* ninputs operands */
  int ninputs;
  ValueId *outputs;      /* noutputs results (Value.name NULL when written "_") */
  int noutputs;
  Attr *attrs;           /* nattrs attributes, in written order */
  int nattrs;
  Region *body;          /* op "fused": its region; otherwise NULL */
  const char *label;     /* op "fused": its name ("conv_bias_relu"); extern call: callee */
  ConstKind const_kind;  /* op "const": which data */
  const char *weight;    /* CONST_WEIGHT: the name in the sidecar */
  IrBuffer *data;        /* op "const": the bytes (once loaded), in the result's physical form */
  Loc loc;               /* the op name in the source */
} Node;

/* A sequence of nodes with parameters and results: the graph's body or a fused op's body. */
struct Region {
  ValueId *params;   /* nparams parameters (graph inputs, or ^(...) of a body) */
  int nparams;
  NodeId *nodes;     /* nnodes nodes, in order of execution */
  int nnodes;
  ValueId *results;  /* nresults values returned (return / yield) */
  int nresults;
  Loc result_loc;    /* where return / yield was written */
  Region *parent;    /* enclosing region; NULL for the graph's */
};

/* An `extern @name(types) -> type` declaration of a user C function. */
typedef struct ExternDecl {
  const char *name;    /* without '@' */
  int nparams;
  const char **params; /* C parameter types as written: "f32*", "i64", ... */
  const char *ret;     /* return type as written, or NULL for none */
  Loc loc;
} ExternDecl;

typedef struct Graph {
  IrArena arena;        /* owns everything below but IrBuffer data */
  const char *name;     /* without '@' */
  Loc loc;
  int version;          /* of the text format ("lathe 1") */
  /* Sidecar weights file, when the text names one. */
  const char *weights_path; /* as written (relative to the .lathe file's directory) */
  int64_t weights_size;     /* bytes, as written */
  const char *weights_sha256; /* 64 lowercase hex digits, as written */
  Loc weights_loc;
  const char *dir;          /* directory of the .lathe file ("." if none), for the sidecar */
  Value *values;        /* nvalues values; ValueId indexes this */
  int nvalues, cap_values;
  Node *nodes;          /* nnodes nodes; NodeId indexes this */
  int nnodes, cap_nodes;
  Region *body;         /* the graph's region: params = inputs, results = outputs */
  const char **output_names; /* body->nresults names of the outputs, from the signature */
  Loc *output_locs;
  TensorType *output_types;  /* declared output types (the signature) */
  ExternDecl *externs;  /* nexterns declarations */
  int nexterns;
} Graph;

/* Returns a new empty graph or NULL. */
Graph *ir_graph_new(void);
/* Frees the graph, its arena and its references on data buffers. */
void ir_graph_free(Graph *g);
/* Appends a value; returns its id or -1 when out of memory. */
ValueId ir_graph_add_value(Graph *g, const char *name, const TensorType *type, ValueKind kind, Loc loc);
/* Appends a node with room for the given operand counts; returns its id or -1. */
NodeId ir_graph_add_node(Graph *g, int op, int ninputs, int noutputs, Loc loc);

static inline Value *ir_value(const Graph *g, ValueId v) { return &g->values[v]; }
static inline Node *ir_node(const Graph *g, NodeId n) { return &g->nodes[n]; }

/* Attribute look-up on a node: the attribute named name, or NULL. */
const Attr *ir_attr(const Node *n, const char *name);
/* Typed getters with a default for an absent attribute. */
int64_t ir_attr_int(const Node *n, const char *name, int64_t def);
double ir_attr_float(const Node *n, const char *name, double def);
const char *ir_attr_str(const Node *n, const char *name, const char *def);
/* ATTR_INTS: fills *count and returns the entries, or NULL (count 0) when absent. */
const int64_t *ir_attr_ints(const Node *n, const char *name, int *count);
const double *ir_attr_floats(const Node *n, const char *name, int *count);

#endif

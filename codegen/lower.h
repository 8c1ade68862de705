/* lower.h — lowering a verified graph to the loop-nest IR (codegen/nest.h): one LowerFn per
 * op in a table indexed by op (codegen/lower.c), the functions themselves in family files
 * (lower_elementwise.c, lower_linalg.c, lower_conv.c, lower_pool.c, lower_norm.c,
 * lower_reduce.c, lower_resize.c, lower_shape.c, lower_recurrent.c), the helpers they share,
 * and where workspace buffers lie (lower_place.c, from the memory plan). docs/codegen.md
 * describes the result. */
#ifndef LATHE_CODEGEN_LOWER_H
#define LATHE_CODEGEN_LOWER_H

#include "codegen/nest.h"
#include "ir/op.h"

/* Lowers the verified graph g (its const nodes carrying data) into a new program (*out, NULL
 * on failure). An op without a lowering, a tensor with a layout, quantization or a 16-bit
 * float type is reported at its node ("op X has no lowering yet") with IR_ERR_INPUT. */
IrStatus cg_lower(const Graph *g, DiagSink *d, NestProgram **out);

/* True when op has a lowering in this build. */
bool cg_lower_has(int op);

/* ---- for the family files -------------------------------------------------------------------- */

/* Nests covering at least this many elements run their outermost loop in parallel. */
enum { CG_PARALLEL_MIN = 4096 };

typedef struct LowerPlace LowerPlace;

/* The state of one lowering. */
typedef struct LowerCtx {
  const Graph *g;
  NestProgram *p;
  DiagSink *d;
  int *buf_of;        /* per ValueId: its buffer in p, or -1 not yet placed */
  LowerPlace *place;  /* where workspace buffers go (lower_place.c) */
} LowerCtx;

/* Lowers node n of c->g into kernels appended to c->p; reads its inputs with cg_in, writes
 * its results into cg_out's buffers. */
typedef IrStatus (*LowerFn)(LowerCtx *c, const Node *n);

/* The buffer holding value v (an input, weight or result already lowered). */
int cg_in(LowerCtx *c, ValueId v);
/* The buffer value v (a result of the node being lowered) is written to: placed already
 * (a graph output or a fused result), the operand's buffer it reuses in place (the memory
 * plan), or new workspace. -1 when out of memory. */
int cg_out(LowerCtx *c, ValueId v);
/* The type of value v. */
static inline const TensorType *cg_type(const LowerCtx *c, ValueId v) { return &c->g->values[v].type; }

/* Adds workspace scratch "NAME.what" (NAME: n's first result) of numel elements of dtype t;
 * -1 when out of memory. */
int cg_scratch(LowerCtx *c, const Node *n, const char *what, DType t, int64_t numel);
/* Opens the kernel for node n (named after its op). NULL when out of memory. */
NestKernel *cg_kernel_for(LowerCtx *c, const Node *n);
/* Builds loops over every dimension of shape t (outermost first) in block b, filling vars
 * (t->rank entries, named from names when given) and returning the innermost body. The
 * dimensions of size 1 get no loop (their var is -1, read as 0 by cg_v). The outermost loop
 * is marked parallel when the nest covers CG_PARALLEL_MIN elements or more and b is the
 * kernel's body. Returns b itself when no loop is made, NULL when out of memory. */
NestBlock *cg_loops(LowerCtx *c, NestKernel *k, NestBlock *b, const TensorType *t, int *vars);
/* The value of loop variable var as an index; var -1 (a dimension of size 1 that got no
 * loop) is the constant 0. */
NestExpr *cg_v(LowerCtx *c, int var);
/* The row-major element index of vars (rank entries) in shape t. */
NestExpr *cg_index(LowerCtx *c, const TensorType *t, const int *vars);
/* The element of `from` read for output index vars of shape `to`, numpy broadcasting
 * (right-aligned; size-1 dimensions of `from` stay at 0). */
NestExpr *cg_bcast_index(LowerCtx *c, const TensorType *from, const TensorType *to, const int *vars);
/* The same for output indices given as expressions (idx: to->rank entries). */
NestExpr *cg_bcast_at(LowerCtx *c, const TensorType *from, const TensorType *to, NestExpr *const *idx);
/* Appends a kernel "copy" (at loc) copying buffer `src` into buffer `dst` (numel elements of
 * one dtype). */
IrStatus cg_copy(LowerCtx *c, Loc loc, int dst, int src, int64_t numel);
/* Reports the allocation failure of the program at loc (IR_ERR_INPUT), or IR_OK when none. */
IrStatus cg_checked(LowerCtx *c, Loc loc);
/* The constant v in dtype t (float or integer). */
NestExpr *cg_const(LowerCtx *c, DType t, double v);
/* The loop bounds [lo, hi) of the taps t of a window of k taps, dilation dil, starting at
 * `start` (an index expression), whose positions start + t * dil lie in [0, in). */
void cg_taps(LowerCtx *c, NestExpr *start, int64_t k, int64_t dil, int64_t in, NestExpr **lo, NestExpr **hi);

/* Elements of the physical form of t (blocked layouts padded to whole blocks). */
int64_t cg_phys_numel(const TensorType *t);
/* Lowers node n with fn where n's operands and results may be in blocked layouts: blocked
 * operands are unpacked into plain workspace for fn to read, blocked results computed into
 * plain workspace and packed into their buffers after (lower_layout.c). */
IrStatus cg_lower_blocked(LowerCtx *c, const Node *n, LowerFn fn);

/* Workspace placement from the memory plan (lower_place.c, docs/codegen.md): begin plans the
 * graph; step_begin and step_end bracket the lowering of each top-level node (step: its
 * position in the graph's body), giving its results their planned offsets and its other new
 * buffers room free at its step (in a gap of the arena, else above it); end sets the
 * workspace size (or, should a buffer not be where the plan says, falls back to one range per
 * buffer with a note); free releases the state. begin and step_end report running out of
 * memory. */
IrStatus cg_place_begin(LowerCtx *c);
void cg_place_step_begin(LowerCtx *c, int step);
IrStatus cg_place_step_end(LowerCtx *c, const Node *n);
void cg_place_end(LowerCtx *c);
void cg_place_free(LowerCtx *c);
/* The buffer of the operand value v's plan slot reuses in place (one NestBuf for both), or
 * -1 for a buffer of its own. */
int cg_place_shared(LowerCtx *c, ValueId v);
/* Inside fused node `fused`, whose results' buffers are set: the element-wise chain ending in
 * each result is computed into the result's buffer too, where no later node of the body reads
 * what the buffer held before (its inner tensors need no scratch then). */
void cg_place_body(LowerCtx *c, const Node *fused);

/* The family lowerings (one per op; shared by ops of one shape). */
IrStatus cg_lower_binary(LowerCtx *c, const Node *n);
IrStatus cg_lower_unary(LowerCtx *c, const Node *n);
IrStatus cg_lower_clip(LowerCtx *c, const Node *n);
IrStatus cg_lower_where(LowerCtx *c, const Node *n);
IrStatus cg_lower_cast(LowerCtx *c, const Node *n);
IrStatus cg_lower_gemm(LowerCtx *c, const Node *n);
IrStatus cg_lower_matmul(LowerCtx *c, const Node *n);
IrStatus cg_lower_conv2d(LowerCtx *c, const Node *n);
IrStatus cg_lower_conv_transpose(LowerCtx *c, const Node *n);
IrStatus cg_lower_maxpool(LowerCtx *c, const Node *n);
IrStatus cg_lower_averagepool(LowerCtx *c, const Node *n);
IrStatus cg_lower_global_average_pool(LowerCtx *c, const Node *n);
IrStatus cg_lower_batch_norm(LowerCtx *c, const Node *n);
IrStatus cg_lower_softmax(LowerCtx *c, const Node *n);
IrStatus cg_lower_layer_norm(LowerCtx *c, const Node *n);
IrStatus cg_lower_reduce(LowerCtx *c, const Node *n);
IrStatus cg_lower_alias(LowerCtx *c, const Node *n);
IrStatus cg_lower_transpose(LowerCtx *c, const Node *n);
IrStatus cg_lower_concat(LowerCtx *c, const Node *n);
IrStatus cg_lower_split(LowerCtx *c, const Node *n);
IrStatus cg_lower_expand(LowerCtx *c, const Node *n);
IrStatus cg_lower_slice(LowerCtx *c, const Node *n);
IrStatus cg_lower_pad(LowerCtx *c, const Node *n);
IrStatus cg_lower_gather(LowerCtx *c, const Node *n);
IrStatus cg_lower_resize(LowerCtx *c, const Node *n);
IrStatus cg_lower_lstm(LowerCtx *c, const Node *n);
IrStatus cg_lower_gru(LowerCtx *c, const Node *n);

#endif

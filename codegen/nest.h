/* nest.h — the loop-nest IR: what every kernel of a graph is lowered to (codegen/lower.c) and
 * what every backend reads (codegen/c/ for portable C, codegen/llvm/ for native code).
 *
 * A NestProgram is the whole compiled graph:
 *   - buffers (NestBuf): the graph's inputs and outputs (the caller's arrays), the weights (at
 *     offsets in one read-only blob the program owns) and intermediate tensors (at offsets in
 *     the caller's workspace). Every buffer is a dense array of one dtype, indexed by element.
 *   - kernels (NestKernel), run one after another in order; each is a block of statements.
 * Statements (NestStmt): counted loops, stores of an expression into a buffer element, and
 * local scalars (accumulators of reductions) declared, assigned and read inside a kernel.
 * Expressions (NestExpr): trees of constants, loop variables, locals, loads, arithmetic,
 * min/max, compares, select, unary math calls and casts. Every expression has a dtype.
 *
 * Rules the lowering keeps and backends may rely on (docs/codegen.md):
 *   - Index and bound expressions have dtype DT_I64 and are built from constants, loop
 *     variables, +, -, *, floor division and remainder by a positive constant, min and max
 *     (gather and resize also load an index: an element of the indices taken mod the
 *     dimension, or a tap index from a table; lstm and gru read i64 locals: a sequence
 *     length clamped to [0, T] as a time loop's bound, the time step below it). Loads and
 *     stores are always in bounds for every iteration a loop runs.
 *   - NEST_SELECT evaluates only the arm it chooses (like C's ?:): an arm may load out of
 *     bounds when it is not chosen. A backend that computes both arms (LLVM select) must
 *     branch instead, or clamp such loads.
 *   - Arithmetic happens in the dtype of the operands, which is the dtype of the result
 *     (compares: DT_BOOL result, operands of one dtype). Buffers of dtype f16/bf16 are not
 *     produced yet (the lowering refuses them).
 *   - A loop with `parallel` set is a top-level statement of its kernel, starts at 0 with step
 *     1 and has a constant upper bound; its iterations are independent. A backend outlines it
 *     into a function of (ctx, begin, end) run through lathe_exec.parallel_for (serially when
 *     there is none). Its body reads no local declared outside it.
 *   - Loop variables and locals are numbered per kernel (0, 1, ...); each loop variable is
 *     bound by exactly one loop; a local is declared once (NEST_DECL) before any use, in a
 *     block enclosing every use.
 *
 * Ownership: a NestProgram owns an arena holding every object below and the weight blob;
 * cg_nest_free releases all of it. Builders return NULL on out-of-memory and set
 * prog->arena.failed, so callers may build a whole kernel and check once. */
#ifndef LATHE_CODEGEN_NEST_H
#define LATHE_CODEGEN_NEST_H

#include <stdio.h>

#include "ir/ir.h"

/* ---- buffers ------------------------------------------------------------------------------------ */

typedef enum {
  NEST_BUF_INPUT,     /* inputs[index] of the entry point (read only) */
  NEST_BUF_OUTPUT,    /* outputs[index] of the entry point */
  NEST_BUF_WEIGHT,    /* bytes [offset, offset + bytes) of the weight blob (read only) */
  NEST_BUF_WORKSPACE, /* bytes [offset, offset + bytes) of the workspace */
} NestBufKind;

typedef struct NestBuf {
  const char *name;   /* the graph value's name (for comments and messages), never NULL */
  NestBufKind kind;
  DType dtype;        /* element type */
  int64_t numel;      /* elements */
  int64_t bytes;      /* numel * ir_dtype_size(dtype) */
  int index;          /* NEST_BUF_INPUT / NEST_BUF_OUTPUT: position in the entry's arrays */
  int64_t offset;     /* NEST_BUF_WEIGHT / NEST_BUF_WORKSPACE: byte offset, a multiple of 64 */
} NestBuf;

/* ---- expressions ---------------------------------------------------------------------------------- */

typedef enum {
  NEST_CONST,  /* u.c: a constant of the expression's dtype */
  NEST_VAR,    /* u.var: the value of a loop variable (DT_I64) */
  NEST_LOCAL,  /* u.local: the current value of a local */
  NEST_LOAD,   /* u.load: buffer element */
  NEST_BINARY, /* u.bin: a op b */
  NEST_UNARY,  /* u.un: op(a) */
  NEST_SELECT, /* u.sel: cond ? a : b (cond DT_BOOL; only the chosen arm is evaluated) */
  NEST_CAST,   /* u.cast: a converted to the expression's dtype (C conversion rules; bool: != 0) */
} NestExprKind;

/* Binary operators. Division of integers truncates toward zero (C), except NEST_FLOORDIV and
 * NEST_MOD (index arithmetic: floor division and its non-negative remainder, divisor > 0). */
#define NEST_BINOPS(X)                  \
  X(ADD, "+")                           \
  X(SUB, "-")                           \
  X(MUL, "*")                           \
  X(DIV, "/")                           \
  X(FLOORDIV, "floordiv")               \
  X(MOD, "mod")                         \
  X(MIN, "min")  /* floats: NaN if either is NaN */ \
  X(MAX, "max")  /* floats: NaN if either is NaN */ \
  X(POW, "pow")  /* floats only */      \
  X(LT, "<")                            \
  X(LE, "<=")                           \
  X(GT, ">")                            \
  X(GE, ">=")                           \
  X(EQ, "==")                           \
  X(NE, "!=")                           \
  X(AND, "and")  /* bool operands */    \
  X(OR, "or")    /* bool operands */

typedef enum {
#define X(e, s) NEST_##e,
  NEST_BINOPS(X)
#undef X
  NEST_BINOP_COUNT
} NestBinOp;

/* Unary operators; the math calls (exp ... sqrt) are on floats only. */
#define NEST_UNOPS(X)  \
  X(NEG, "neg")        \
  X(ABS, "abs")        \
  X(NOT, "not")  /* bool */ \
  X(EXP, "exp")        \
  X(LOG, "log")        \
  X(SQRT, "sqrt")      \
  X(TANH, "tanh")      \
  X(ERF, "erf")        \
  X(SIGMOID, "sigmoid") /* 1 / (1 + exp(-x)) */ \
  X(FLOOR, "floor")    \
  X(CEIL, "ceil")

typedef enum {
#define X(e, s) NEST_##e,
  NEST_UNOPS(X)
#undef X
  NEST_UNOP_COUNT
} NestUnOp;

typedef struct NestExpr NestExpr;
struct NestExpr {
  NestExprKind kind;
  DType dtype;                /* the value's type */
  union {
    union {                   /* NEST_CONST: f for float dtypes, i for the others */
      double f;
      int64_t i;
    } c;
    int var;                  /* NEST_VAR: loop variable number */
    int local;                /* NEST_LOCAL: local number */
    struct {                  /* NEST_LOAD */
      int buf;                /* index into NestProgram.bufs; dtype is the buffer's */
      NestExpr *index;        /* element index (DT_I64) */
    } load;
    struct {                  /* NEST_BINARY */
      NestBinOp op;
      NestExpr *a, *b;
    } bin;
    struct {                  /* NEST_UNARY */
      NestUnOp op;
      NestExpr *a;
    } un;
    struct {                  /* NEST_SELECT */
      NestExpr *cond, *a, *b;
    } sel;
    struct {                  /* NEST_CAST */
      NestExpr *a;
    } cast;
  } u;
};

/* ---- statements ------------------------------------------------------------------------------------ */

typedef struct NestStmt NestStmt;

/* What a loop asks of the LLVM backend's unroller. A register tile's point loops are unrolled
 * whole, so the tile's elements become scalars LLVM keeps in registers across the reduction
 * loops around them, and those reduction loops are not unrolled (unrolled, they would hold
 * too many of the tile's loads and stores for LLVM to promote them to registers). */
typedef enum {
  NEST_UNROLL_AUTO,  /* LLVM decides (innermost loops are marked for vectorization) */
  NEST_UNROLL_FULL,  /* constant bounds: unrolled whole */
  NEST_UNROLL_NEVER  /* kept a loop */
} NestUnroll;

/* A sequence of statements run in order. */
typedef struct NestBlock {
  NestStmt **stmts; /* n statements */
  int n, cap;
} NestBlock;

typedef enum {
  NEST_LOOP,   /* u.loop: for (var = lo; var < hi; var += step) body */
  NEST_STORE,  /* u.store: buf[index] = value */
  NEST_DECL,   /* u.decl: declares local with dtype and initial value */
  NEST_ASSIGN, /* u.assign: local = value */
} NestStmtKind;

struct NestStmt {
  NestStmtKind kind;
  union {
    struct {                 /* NEST_LOOP */
      int var;               /* the loop variable it binds */
      NestExpr *lo, *hi;     /* bounds (DT_I64), evaluated once before the first iteration */
      int64_t step;          /* > 0 */
      bool parallel;         /* iterations are independent and run through parallel_for */
      NestUnroll unroll;     /* what the backend asks of the loop unroller */
      NestBlock body;
    } loop;
    struct {                 /* NEST_STORE */
      int buf;
      NestExpr *index;       /* DT_I64 */
      NestExpr *value;       /* dtype of the buffer */
    } store;
    struct {                 /* NEST_DECL */
      int local;
      NestExpr *init;        /* its dtype is the local's */
    } decl;
    struct {                 /* NEST_ASSIGN */
      int local;
      NestExpr *value;       /* dtype of the local */
    } assign;
  } u;
};

/* ---- kernels and the program ------------------------------------------------------------------------- */

/* One lowered node (or fused group): run in program order. */
typedef struct NestKernel {
  const char *name;      /* a C identifier unique in the program: "k3_conv2d" */
  const char *op;        /* the op it came from ("conv2d", "fused conv_bias_relu") */
  Loc loc;               /* the node's location in the model */
  NestBlock body;
  int nvars;             /* loop variables 0 .. nvars-1 */
  const char **var_names;/* nvars hints for printing ("n", "c", "oh"), never NULL entries */
  int nlocals;           /* locals 0 .. nlocals-1 */
  DType *local_dtypes;   /* nlocals types */
} NestKernel;

typedef struct NestProgram {
  IrArena arena;         /* owns everything below except weights */
  const char *name;      /* the graph's name */
  NestBuf *bufs;         /* nbufs buffers */
  int nbufs, cap_bufs;
  NestKernel **kernels;  /* nkernels kernels, in execution order */
  int nkernels, cap_kernels;
  int ninputs, noutputs; /* counts of NEST_BUF_INPUT / NEST_BUF_OUTPUT positions */
  int *input_bufs;       /* ninputs: the buffer of input i */
  int *output_bufs;      /* noutputs: the buffer of output i */
  uint8_t *weights;      /* weights_size bytes (ir_malloc'd, owned), each weight 64-aligned */
  int64_t weights_size;
  int64_t workspace_size;/* bytes the workspace needs (a multiple of 64) */
} NestProgram;

/* Returns a new empty program named name (copied), or NULL when out of memory. */
NestProgram *cg_nest_new(const char *name);
/* Frees the program and everything it owns. NULL is fine. */
void cg_nest_free(NestProgram *p);

/* Adds a buffer; returns its number or -1 (out of memory; prog->arena.failed is set). For NEST_BUF_INPUT/OUTPUT the
 * position is `index` and input_bufs/output_bufs are filled; for NEST_BUF_WEIGHT `data`
 * (bytes, may be NULL for zeros) is appended to the blob; for NEST_BUF_WORKSPACE room is
 * taken at the end of the workspace. Offsets are 64-byte aligned. */
int cg_nest_add_buf(NestProgram *p, NestBufKind kind, const char *name, DType dtype, int64_t numel, int index,
                    const void *data);

/* Starts a new kernel at the end of the program (name made unique from hint); NULL on OOM. */
NestKernel *cg_nest_kernel(NestProgram *p, const char *hint, const char *op, Loc loc);
/* A new loop variable of k (hint names it in dumps); a new local of dtype t. */
int cg_nest_var(NestProgram *p, NestKernel *k, const char *hint);
int cg_nest_local(NestProgram *p, NestKernel *k, DType t);

/* Expression builders (allocated in p's arena; NULL only when out of memory; operands NULL
 * give NULL, so a failed allocation propagates to the statement that checks it). */
NestExpr *cg_const_f(NestProgram *p, DType t, double v); /* t a float dtype */
NestExpr *cg_const_i(NestProgram *p, DType t, int64_t v);/* t an integer or bool dtype */
NestExpr *cg_idx(NestProgram *p, int64_t v);             /* cg_const_i(p, DT_I64, v) */
NestExpr *cg_var(NestProgram *p, int var);
NestExpr *cg_local(NestProgram *p, const NestKernel *k, int local);
NestExpr *cg_load(NestProgram *p, int buf, NestExpr *index);
NestExpr *cg_bin(NestProgram *p, NestBinOp op, NestExpr *a, NestExpr *b);
NestExpr *cg_un(NestProgram *p, NestUnOp op, NestExpr *a);
NestExpr *cg_select(NestProgram *p, NestExpr *cond, NestExpr *a, NestExpr *b);
NestExpr *cg_cast(NestProgram *p, DType t, NestExpr *a); /* returns a itself when already t */
/* Index helpers: a + b, a * c with constants folded (0 and 1 vanish). */
NestExpr *cg_add(NestProgram *p, NestExpr *a, NestExpr *b);
NestExpr *cg_mulc(NestProgram *p, NestExpr *a, int64_t c);

/* Statement builders: append to block b and return the statement (NULL on OOM). */
NestStmt *cg_loop(NestProgram *p, NestBlock *b, int var, NestExpr *lo, NestExpr *hi);
NestStmt *cg_store(NestProgram *p, NestBlock *b, int buf, NestExpr *index, NestExpr *value);
NestStmt *cg_decl(NestProgram *p, NestBlock *b, int local, NestExpr *init);
NestStmt *cg_assign(NestProgram *p, NestBlock *b, int local, NestExpr *value);

/* Names of operators, as printed. */
const char *cg_binop_name(NestBinOp op);
const char *cg_unop_name(NestUnOp op);
/* True for the operators whose result is DT_BOOL (compares, and, or). */
bool cg_binop_is_compare(NestBinOp op);

/* Prints the program (buffers, then kernels as indented loops) in the form
 * `lathe compile --emit=nest` writes (docs/codegen.md). Weight data is left out. */
void cg_nest_print(FILE *f, const NestProgram *p);

/* Sets used[i] for every buffer i that block b reads or writes (what the C backend declares
 * in a function and the LLVM backend gives alias scopes); used has one entry per buffer. */
void cg_nest_mark_bufs(const NestBlock *b, bool *used);

/* ---- kernels equal up to their buffers (nest_same.c) ------------------------------------------- */

/* The buffers one kernel uses, numbered in the order its body first names them. */
typedef struct NestBufOrder {
  int n;      /* buffers the kernel uses */
  int *bufs;  /* n program buffer numbers, by first use (ir_calloc'd) */
  int *local; /* one entry per program buffer: its position in bufs, or -1 when unused */
} NestBufOrder;

/* Fills *o for kernel k of p and sets *hash to a hash of k with its buffers so numbered
 * (kernels cg_nest_kernel_same calls the same have the same hash). Returns false when out of
 * memory (*o is then empty). cg_nest_buf_order_free releases *o. */
bool cg_nest_buf_order(const NestProgram *p, const NestKernel *k, NestBufOrder *o, uint64_t *hash);
void cg_nest_buf_order_free(NestBufOrder *o);
/* True when kernels a and b of p, with their orders oa and ob, are the same statements and
 * expressions (loop variables and locals by number, constants by their bits) wherever a names
 * its i-th buffer b names its own i-th, of the same dtype: one function computes either when
 * given its buffers in order. Which memory the buffers lie in is not compared. */
bool cg_nest_kernel_same(const NestProgram *p, const NestKernel *a, const NestBufOrder *oa, const NestKernel *b,
                         const NestBufOrder *ob);

#endif

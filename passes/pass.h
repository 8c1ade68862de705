/* pass.h — graph passes: one shape for all of them, the helpers they share to edit a graph,
 * the memory plan, and the pipeline (passes/pipeline.c) that orders them.
 *
 * A pass takes a verified graph whose const nodes carry data and leaves a verified graph
 * computing the same outputs (up to float rounding where it reassociates: bnfold). It reports
 * problems through the context's sink and returns IR_OK or an error status; it never aborts.
 * It sets ctx->changed when it changed the graph. New IR objects go into the graph's arena;
 * new tensor data into reference-counted buffers held by the const nodes. */
#ifndef LATHE_PASSES_PASS_H
#define LATHE_PASSES_PASS_H

#include "ir/compare.h"
#include "ir/op.h"

struct MemPlan;

/* What a pass sees beside the graph. */
typedef struct PassCtx {
  DiagSink *diag;        /* where problems are reported */
  bool changed;          /* set by the pass when it changed the graph */
  struct MemPlan *plan;  /* pass "plan": its result (freed with pass_plan_free); NULL before */
} PassCtx;

/* One pass. requires / invalidates say what it needs of the graph and what it may undo of
 * what earlier passes established (docs/passes.md repeats them). */
typedef struct Pass {
  const char *name;        /* as given to --passes */
  const char *summary;     /* one line: what it does */
  const char *requires;    /* what must hold before it runs */
  const char *invalidates; /* what may no longer hold after it */
  IrStatus (*run)(Graph *g, PassCtx *c);
} Pass;

extern const Pass pass_fold, pass_dce, pass_cse, pass_simplify, pass_bnfold, pass_fuse_patterns,
    pass_fuse_epilogue, pass_fuse_elementwise, pass_plan;

/* Test-only (passes/test_perturb.c): adds 1 to the f32 value named by the environment variable
 * LATHE_TEST_PERTURB (every use of it, graph outputs included, then reads the sum); does nothing
 * when that is unset. It is in the pipeline only when pass_test_enabled(), so that the tests of
 * `lathe opt --bisect` and `lathe run --compare` have a known wrong result to find. */
extern const Pass pass_test_perturb;
/* True when the environment has LATHE_TEST_PASSES=1: the test-only passes are in the pipeline. */
bool pass_test_enabled(void);

/* ---- the pipeline (passes/pipeline.c) ---------------------------------------------------------- */

/* Every pass, in pipeline order; *count receives how many. */
const Pass *const *pass_all(int *count);
/* The pass named name, or NULL. */
const Pass *pass_lookup(const char *name);
/* The passes of optimization level 0, 1 or 2 (NULL for another level); *count receives how
 * many. -O0 runs nothing, -O1 canonicalizes, -O2 canonicalizes, fuses and plans memory. */
const Pass *const *pass_level(int level, int *count);

/* The tolerance of verify_each and bisect when none is given: rtol 1e-3, atol 1e-4. */
extern const IrTolerance pass_default_tol;

/* What a bisecting run (PipelineOpts.bisect) found. */
typedef struct PassBisect {
  int position;     /* of the first pass after which an output is beyond the tolerance, from 1; 0: none */
  const char *pass; /* its name; NULL: no pass changed the outputs */
  int output;       /* the first such output (an index into the graph's outputs) */
  IrDiff diff;      /* that output against the input graph's */
  int npasses;      /* how many passes the pipeline holds */
} PassBisect;

/* How pass_run_pipeline reports and checks as it goes. */
typedef struct PipelineOpts {
  FILE *dump;               /* where --print-after* dumps and --time-passes lines go (stderr when NULL) */
  bool print_after_all;     /* print the IR after every pass */
  const char *print_after;  /* print the IR after the pass of this name (NULL: none) */
  bool time_passes;         /* print each pass's time */
  bool verify_each;         /* after each pass: verifier, then the interpreter against the input graph */
  uint64_t seed;            /* verify_each, bisect: seed of the random inputs */
  const void *const *inputs;/* verify_each, bisect: the inputs (physical form); NULL: random from seed */
  const IrTolerance *tol;   /* verify_each, bisect: NULL: pass_default_tol */
  PassBisect *bisect;       /* non-NULL: compare after each pass as verify_each does, but record the
                               first difference here and stop there with IR_OK */
} PipelineOpts;

/* Runs passes[0..n) on g in order. After a failing pass it stops and returns its status.
 * With verify_each, the graph's outputs on seeded random inputs are computed before the
 * first pass and compared after each pass (ir_compare; floats by default within
 * 1e-4 + 1e-3 |want|, other dtypes exactly); a difference is an error naming the pass and
 * the output. With bisect, the same comparison after each pass records the first difference
 * instead (the verifier runs after each pass with either). */
IrStatus pass_run_pipeline(Graph *g, const Pass *const *passes, int n, const PipelineOpts *o, PassCtx *c);

/* ---- the memory plan (passes/plan.c) ------------------------------------------------------------- */

/* Where one workspace tensor (a result of a top-level node that is not a graph output nor a
 * view of an input, weight or output) lives. */
typedef struct MemSlot {
  ValueId value;   /* the tensor */
  int64_t offset;  /* bytes from the arena's base (a multiple of 64) */
  int64_t size;    /* bytes (ir_type_bytes) */
  int first, last; /* steps (positions in the graph's body) of its definition and last use */
  ValueId shares;  /* -1, or the operand whose buffer it reuses (in place, or as a view) */
  bool view;       /* a view of shares (reshape and the like): the same buffer, no bytes of its own */
} MemSlot;

typedef struct MemPlan {
  MemSlot *slots;  /* nslots workspace tensors, in order of definition */
  int nslots;
  int64_t arena;   /* A: bytes of the arena */
  int64_t naive;   /* N: sum of the workspace tensors' sizes */
  int64_t lower;   /* L: most bytes of workspace tensors live at one step (an in-place pair once) */
} MemPlan;

/* Plans g's workspace (what pass "plan" does); *out receives a new plan (pass_plan_free). */
IrStatus pass_plan_compute(const Graph *g, MemPlan **out, DiagSink *d);
void pass_plan_free(MemPlan *p);
/* Offsets for n more buffers (sizes[i] bytes) that live only during step `step` of p's
 * schedule: largest first, each in the smallest gap among p's tensors live at that step and
 * the ones placed before it, else above them (64-byte aligned), into offsets[]; *end receives
 * the end of the highest buffer live at that step. Reports only running out of memory. */
IrStatus pass_plan_place_extra(const MemPlan *p, int step, int n, const int64_t *sizes, int64_t *offsets,
                               int64_t *end, DiagSink *d);
/* Prints one line per slot, then `arena: A bytes, naive: N bytes, lower bound: L bytes`. */
void pass_plan_print(FILE *out, const Graph *g, const MemPlan *p);

/* ---- editing helpers shared by the passes (passes/rewrite.c) ------------------------------------------ */

/* For each value, how many times region r's nodes (their bodies not included: regions are
 * isolated) and results use it: a new ir_calloc'd array of g->nvalues ints, or NULL. */
int *pass_use_counts(const Graph *g, const Region *r);
/* Replaces every use of from by to in region r's nodes and results. */
void pass_replace_uses(Graph *g, Region *r, ValueId from, ValueId to);
/* The const node defining v carrying data, or NULL. */
const Node *pass_const_def(const Graph *g, ValueId v);
/* True when v is a const with data whose every element equals x (any dtype). */
bool pass_const_is_splat(const Graph *g, ValueId v, double x);
/* A name not yet used by any value of g: base, or base with a suffix "_N"; NULL when out
 * of memory. */
const char *pass_fresh_name(Graph *g, const char *base);
/* Constants of more than this many elements that passes make are weight references. */
enum { PASS_INLINE_MAX_ELEMENTS = 16 };
/* A weight name no const node of g uses yet: base, or base with a suffix "_N" (NULL: out of memory). */
const char *pass_fresh_weight(Graph *g, const char *base);
/* Makes a const node of type t (plain row-major) holding data (its reference is taken) whose
 * result is named after base; it is not yet in any region. Tensors of more than PASS_INLINE_MAX_ELEMENTS elements
 * become weight("NAME") references (their data attached), so dumps elide them; smaller ones
 * dense. Returns the node or -1 (reported). */
NodeId pass_new_const(Graph *g, const char *base, const TensorType *t, IrBuffer *data, Loc loc, DiagSink *d);
/* Inserts node id into region r before position pos; false when out of memory. */
bool pass_insert_node(Graph *g, Region *r, int pos, NodeId id);
/* Drops the nodes of region r for which dead[node id] is true (order of the others kept). */
void pass_remove_nodes(Region *r, const bool *dead);
/* Moves nodes[0..n) of region r (in an order that runs: each after the nodes it reads; every
 * result but the last node's used only by these nodes) into a new fused op labelled label,
 * placed where the last one was. The
 * fused op's operands are the values the chain reads from outside, in order of first use;
 * its result is the last node's (same ValueId). Returns the fused node or -1 (reported). */
NodeId pass_fuse_nodes(Graph *g, Region *r, const NodeId *nodes, int n, const char *label, DiagSink *d);
/* pass_fuse_nodes labelled by prefix (may be NULL) and the ops joined by '_' ("conv2d_add_relu"). */
NodeId pass_fuse_chain(Graph *g, Region *r, const NodeId *nodes, int n, const char *prefix, DiagSink *d);

#endif

/* pipeline.c — the one table that orders the passes, and the pass manager that runs them:
 * dumps after passes, timing, and the safety net (--verify-each) that checks the verifier and
 * the interpreter's results after every pass. */
#include <stdlib.h>
#include <string.h>

#include "ir/compare.h"
#include "ir/interp.h"
#include "ir/printer.h"
#include "ir/verify.h"
#include "passes/pass.h"

/* The pipeline: each row runs at the optimization levels from `level` up, in this order.
 *   -O0  nothing: the graph as written
 *   -O1  canonicalization
 *   -O2  canonicalization, fusion and memory planning
 * A test-only row exists only when the environment has LATHE_TEST_PASSES=1 (the tests of
 * `lathe opt --bisect` and `lathe run --compare`); then it runs at every level, -O0 too. */
enum { TEST_ONLY = -1 }; /* the level of a test-only row */
static const struct {
  const Pass *pass;
  int level;
} pipeline[] = {
    {&pass_fold, 1},          /* constants first: the other passes then see them as data */
    {&pass_simplify, 1},      /* x*1, x+0, transpose and reshape chains */
    {&pass_cse, 1},           /* after simplify: bypassed values make more nodes equal */
    {&pass_test_perturb, TEST_ONLY}, /* test-only: makes one value wrong (LATHE_TEST_PERTURB) */
    {&pass_bnfold, 1},        /* batch_norm into conv2d / gemm / matmul weights */
    {&pass_dce, 1},           /* what the passes above left unused */
    {&pass_fuse_patterns, 2}, /* layer-norm and GELU chains, before the fusions that would split them */
    {&pass_fuse_epilogue, 2}, /* conv / matmul / gemm with bias, activation, residual add */
    {&pass_fuse_elementwise, 2},
    {&pass_dce, 2},
    {&pass_plan, 2},          /* last: it plans the final schedule */
};
enum { PIPELINE_ROWS = sizeof pipeline / sizeof pipeline[0], MAX_LEVEL = 2 };

bool pass_test_enabled(void) {
  const char *e = getenv("LATHE_TEST_PASSES");
  return e && strcmp(e, "1") == 0;
}

/* True when row i of the pipeline exists in this process. */
static bool row_present(int i) { return pipeline[i].level != TEST_ONLY || pass_test_enabled(); }

const Pass *const *pass_all(int *count) {
  static const Pass *all[PIPELINE_ROWS];
  int n = 0;
  for (int i = 0; i < PIPELINE_ROWS; i++) {
    if (!row_present(i)) continue;
    bool seen = false;
    for (int k = 0; k < n; k++) seen |= all[k] == pipeline[i].pass;
    if (!seen) all[n++] = pipeline[i].pass;
  }
  *count = n;
  return all;
}

const Pass *pass_lookup(const char *name) {
  int n;
  const Pass *const *all = pass_all(&n);
  for (int i = 0; i < n; i++)
    if (strcmp(all[i]->name, name) == 0) return all[i];
  return NULL;
}

const Pass *const *pass_level(int level, int *count) {
  static const Pass *levels[MAX_LEVEL + 1][PIPELINE_ROWS];
  *count = 0;
  if (level < 0 || level > MAX_LEVEL) return NULL;
  for (int i = 0; i < PIPELINE_ROWS; i++)
    if (pipeline[i].level <= level && row_present(i)) levels[level][(*count)++] = pipeline[i].pass;
  return levels[level];
}

/* ---- the safety net ------------------------------------------------------------------------------- */

/* Inputs and reference outputs of a graph, each in the physical form of its type. */
typedef struct Sample {
  int nin, nout;
  void **in, **out;
} Sample;

static void sample_free(Sample *s) {
  for (int i = 0; s->in && i < s->nin; i++) ir_free(s->in[i]);
  for (int i = 0; s->out && i < s->nout; i++) ir_free(s->out[i]);
  ir_free(s->in);
  ir_free(s->out);
  memset(s, 0, sizeof *s);
}

/* Allocates room for g's outputs in *outs. */
static IrStatus alloc_outputs(const Graph *g, void ***outs, DiagSink *d) {
  int n = g->body->nresults;
  *outs = ir_calloc((size_t)n + 1, sizeof **outs);
  if (!*outs) return diag_oom(d, g->loc);
  for (int i = 0; i < n; i++)
    if (!((*outs)[i] = ir_calloc(1, (size_t)ir_type_bytes(&g->output_types[i]) + 1))) return diag_oom(d, g->loc);
  return IR_OK;
}

/* Makes g's inputs (a copy of those given, each in the physical form of its type, or seeded
 * random ones when inputs is NULL) and runs g on them on the interpreter. */
static IrStatus sample_make(const Graph *g, const void *const *inputs, uint64_t seed, Sample *s, DiagSink *d) {
  memset(s, 0, sizeof *s);
  s->nin = g->body->nparams;
  s->nout = g->body->nresults;
  s->in = ir_calloc((size_t)s->nin + 1, sizeof *s->in);
  if (!s->in) return diag_oom(d, g->loc);
  for (int i = 0; i < s->nin; i++) {
    const TensorType *t = &g->values[g->body->params[i]].type;
    TensorType plain = ir_type_plain(t, t->dtype);
    void *tmp = inputs ? NULL : ir_malloc((size_t)ir_type_bytes(&plain) + 1);
    s->in[i] = ir_calloc(1, (size_t)ir_type_bytes(t) + 1);
    if ((!inputs && !tmp) || !s->in[i]) { ir_free(tmp); return diag_oom(d, g->loc); }
    if (inputs) {
      memcpy(s->in[i], inputs[i], (size_t)ir_type_bytes(t));
      continue;
    }
    ir_fill_random(&plain, tmp, &seed);
    ir_tensor_pack(t, tmp, plain.dtype, s->in[i]);
    ir_free(tmp);
  }
  IrStatus st = alloc_outputs(g, &s->out, d);
  return st == IR_OK ? ir_interp_run(g, (const void *const *)s->in, s->out, d) : st;
}

/* Passes may reassociate float arithmetic (bnfold), so results may move by a few rounding errors. */
const IrTolerance pass_default_tol = {1e-3, 1e-4};

/* Runs g on the sample's inputs and compares each output with the sample's. The first output
 * beyond the tolerance is recorded in *b when b is given (and IR_OK returned), else reported
 * as an error naming the pass. */
static IrStatus sample_check(const Graph *g, const Sample *s, const IrTolerance *tol, int position, const char *pass,
                             PassBisect *b, DiagSink *d) {
  void **got = NULL;
  IrStatus st = alloc_outputs(g, &got, d);
  if (st == IR_OK) st = ir_interp_run(g, (const void *const *)s->in, got, d);
  for (int i = 0; st == IR_OK && i < s->nout; i++) {
    IrDiff diff;
    if (!ir_compare(&g->output_types[i], got[i], s->out[i], tol, &diff)) st = diag_oom(d, g->loc);
    if (st != IR_OK || diff.bad == 0) continue;
    if (b) {
      *b = (PassBisect){position, pass, i, diff, b->npasses};
      break;
    }
    diag_error(d, g->loc, "after pass %s, output %%%s differs from the input graph's at element %lld: %.9g, not %.9g",
               pass, g->output_names[i], (long long)diff.first_bad, diff.got, diff.want);
    st = IR_ERR_INTERNAL;
  }
  for (int i = 0; got && i < g->body->nresults; i++) ir_free(got[i]);
  ir_free(got);
  return st;
}

/* ---- the pass manager ------------------------------------------------------------------------------- */

IrStatus pass_run_pipeline(Graph *g, const Pass *const *passes, int n, const PipelineOpts *o, PassCtx *c) {
  static const PipelineOpts none = {0};
  if (!o) o = &none;
  FILE *dump = o->dump ? o->dump : stderr;
  Sample sample = {0};
  bool check = o->verify_each || o->bisect;
  const IrTolerance *tol = o->tol ? o->tol : &pass_default_tol;
  if (o->bisect) *o->bisect = (PassBisect){0, NULL, -1, {0}, n};
  IrStatus st = check ? sample_make(g, o->inputs, o->seed, &sample, c->diag) : IR_OK;
  double total = 0;
  for (int i = 0; i < n && st == IR_OK; i++) {
    const Pass *p = passes[i];
    c->changed = false;
    double t0 = ir_now_ms();
    st = p->run(g, c);
    double ms = ir_now_ms() - t0;
    total += ms;
    if (st != IR_OK) {
      diag_note(c->diag, g->loc, "in pass %s", p->name);
      break;
    }
    if (o->time_passes) fprintf(dump, "pass %-18s %9.3f ms  %s\n", p->name, ms, c->changed ? "changed" : "unchanged");
    if (o->print_after_all || (o->print_after && strcmp(o->print_after, p->name) == 0)) {
      fprintf(dump, "# IR after pass %s\n", p->name);
      ir_print_graph(dump, g);
    }
    if (check) {
      st = ir_verify(g, c->diag);
      if (st != IR_OK) {
        diag_error(c->diag, g->loc, "the graph fails verification after pass %s", p->name);
        st = IR_ERR_INTERNAL;
      }
      if (st == IR_OK) st = sample_check(g, &sample, tol, i + 1, p->name, o->bisect, c->diag);
      if (o->bisect && o->bisect->pass) break;
    }
  }
  if (o->time_passes && st == IR_OK) fprintf(dump, "pass %-18s %9.3f ms\n", "total", total);
  sample_free(&sample);
  return st;
}

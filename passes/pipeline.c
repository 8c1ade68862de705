/* pipeline.c — the one table that orders the passes, and the pass manager that runs them:
 * dumps after passes, timing, and the safety net (--verify-each) that checks the verifier and
 * the interpreter's results after every pass. */
#include <math.h>
#include <string.h>
#include <time.h>

#include "ir/interp.h"
#include "ir/printer.h"
#include "ir/verify.h"
#include "passes/pass.h"

/* The pipeline: each row runs at the optimization levels from `level` up, in this order.
 *   -O0  nothing: the graph as written
 *   -O1  canonicalization
 *   -O2  canonicalization, fusion and memory planning */
static const struct {
  const Pass *pass;
  int level;
} pipeline[] = {
    {&pass_fold, 1},          /* constants first: the other passes then see them as data */
    {&pass_simplify, 1},      /* x*1, x+0, transpose and reshape chains */
    {&pass_cse, 1},           /* after simplify: bypassed values make more nodes equal */
    {&pass_bnfold, 1},        /* batch_norm into conv2d / gemm / matmul weights */
    {&pass_dce, 1},           /* what the passes above left unused */
    {&pass_fuse_patterns, 2}, /* layer-norm and GELU chains, before the fusions that would split them */
    {&pass_fuse_epilogue, 2}, /* conv / matmul / gemm with bias, activation, residual add */
    {&pass_fuse_elementwise, 2},
    {&pass_dce, 2},
    {&pass_plan, 2},          /* last: it plans the final schedule */
};
enum { PIPELINE_ROWS = sizeof pipeline / sizeof pipeline[0], MAX_LEVEL = 2 };

const Pass *const *pass_all(int *count) {
  static const Pass *all[PIPELINE_ROWS];
  int n = 0;
  for (int i = 0; i < PIPELINE_ROWS; i++) {
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
    if (pipeline[i].level <= level) levels[level][(*count)++] = pipeline[i].pass;
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

/* Makes seeded random inputs for g and runs it on the interpreter. */
static IrStatus sample_make(const Graph *g, uint64_t seed, Sample *s, DiagSink *d) {
  memset(s, 0, sizeof *s);
  s->nin = g->body->nparams;
  s->nout = g->body->nresults;
  s->in = ir_calloc((size_t)s->nin + 1, sizeof *s->in);
  if (!s->in) return diag_oom(d, g->loc);
  for (int i = 0; i < s->nin; i++) {
    const TensorType *t = &g->values[g->body->params[i]].type;
    TensorType plain = ir_type_plain(t, t->dtype);
    void *tmp = ir_malloc((size_t)ir_type_bytes(&plain) + 1);
    s->in[i] = ir_calloc(1, (size_t)ir_type_bytes(t) + 1);
    if (!tmp || !s->in[i]) { ir_free(tmp); return diag_oom(d, g->loc); }
    ir_fill_random(&plain, tmp, &seed);
    ir_tensor_pack(t, tmp, plain.dtype, s->in[i]);
    ir_free(tmp);
  }
  IrStatus st = alloc_outputs(g, &s->out, d);
  return st == IR_OK ? ir_interp_run(g, (const void *const *)s->in, s->out, d) : st;
}

/* Widens the physical data of type t into doubles (a new ir_malloc'd array, or NULL). */
static double *as_doubles(const TensorType *t, const void *data) {
  int64_t n = ir_type_numel(t);
  DType plain = ir_dtype_is_float(t->dtype) ? DT_F32 : t->dtype;
  void *tmp = ir_malloc((size_t)(n * ir_dtype_size(plain)) + 1);
  double *out = ir_malloc(sizeof(double) * (size_t)(n + 1));
  if (tmp && out) {
    ir_tensor_unpack(t, data, plain, tmp);
    Tensor view = {ir_type_plain(t, plain), tmp};
    for (int64_t i = 0; i < n; i++) out[i] = op_get(&view, i);
  } else {
    ir_free(out);
    out = NULL;
  }
  ir_free(tmp);
  return out;
}

/* Runs g on the sample's inputs and compares with its outputs; reports the first difference. */
static IrStatus sample_check(const Graph *g, const Sample *s, const char *pass, DiagSink *d) {
  void **got = NULL;
  IrStatus st = alloc_outputs(g, &got, d);
  if (st == IR_OK) st = ir_interp_run(g, (const void *const *)s->in, got, d);
  for (int i = 0; st == IR_OK && i < s->nout; i++) {
    const TensorType *t = &g->output_types[i];
    double *a = as_doubles(t, got[i]), *b = as_doubles(t, s->out[i]);
    if (!a || !b) st = diag_oom(d, g->loc);
    int64_t n = ir_type_numel(t);
    for (int64_t k = 0; st == IR_OK && k < n; k++) {
      bool same = a[k] == b[k] || (ir_dtype_is_float(t->dtype) && (fabs(a[k] - b[k]) <= 1e-4 + 1e-3 * fabs(b[k]) ||
                                                                    (isnan(a[k]) && isnan(b[k]))));
      if (same) continue;
      diag_error(d, g->loc, "after pass %s, output %%%s differs from the input graph's at element %lld: %.9g, not %.9g",
                 pass, g->output_names[i], (long long)k, a[k], b[k]);
      st = IR_ERR_INTERNAL;
    }
    ir_free(a);
    ir_free(b);
  }
  for (int i = 0; got && i < g->body->nresults; i++) ir_free(got[i]);
  ir_free(got);
  return st;
}

/* ---- the pass manager ------------------------------------------------------------------------------- */

static double now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

IrStatus pass_run_pipeline(Graph *g, const Pass *const *passes, int n, const PipelineOpts *o, PassCtx *c) {
  static const PipelineOpts none = {0};
  if (!o) o = &none;
  FILE *dump = o->dump ? o->dump : stderr;
  Sample sample = {0};
  IrStatus st = o->verify_each ? sample_make(g, o->seed, &sample, c->diag) : IR_OK;
  double total = 0;
  for (int i = 0; i < n && st == IR_OK; i++) {
    const Pass *p = passes[i];
    c->changed = false;
    double t0 = now_ms();
    st = p->run(g, c);
    double ms = now_ms() - t0;
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
    if (o->verify_each) {
      st = ir_verify(g, c->diag);
      if (st != IR_OK) {
        diag_error(c->diag, g->loc, "the graph fails verification after pass %s", p->name);
        st = IR_ERR_INTERNAL;
      }
      if (st == IR_OK) st = sample_check(g, &sample, p->name, c->diag);
    }
  }
  if (o->time_passes && st == IR_OK) fprintf(dump, "pass %-18s %9.3f ms\n", "total", total);
  sample_free(&sample);
  return st;
}

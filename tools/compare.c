/* compare.c — `lathe run --compare`: the model compiled (-O0, so every node keeps its identity)
 * with every intermediate tensor made an output, run beside the reference interpreter on the
 * same inputs; the first node, in graph order, whose result differs beyond the tolerance is
 * named with its source location (docs/debugging.md). */
#include <stdlib.h>
#include <string.h>

#include "frontend/onnx/onnx.h"
#include "frontend/parser.h"
#include "ir/interp.h"
#include "ir/printer.h"
#include "lathe/runtime.h"
#include "passes/pass.h"
#include "tools/commands.h"

const IrTolerance compare_default_tol = {1e-5, 1e-6};

/* Loads a .lathe model (weights attached) or, for a path ending in .onnx, imports the ONNX
 * model in memory, so that every node's location keeps its ONNX node name. */
static IrStatus load_model(const char *path, Graph **g, DiagSink *d) {
  size_t n = strlen(path);
  if (n > 5 && !strcmp(path + n - 5, ".onnx")) return onnx_import_file(path, NULL, g, NULL, d);
  return ir_load(d, path, LOAD_VERIFY | LOAD_WEIGHTS, g);
}

/* Makes the results of g's top-level nodes, in graph order, g's outputs in place of its own:
 * every named result but those of const nodes. A result with a blocked layout (which a
 * signature cannot have) is tapped through a new reorder node to row-major placed right after
 * its definition. (*origin)[k] receives the value output k shows (arena memory). A value of a
 * type the compiled backends refuse is an error naming it. */
static IrStatus tap_every_value(Graph *g, ValueId **origin, DiagSink *d) {
  int cap = 0, n = 0;
  for (int i = 0; i < g->body->nnodes; i++) cap += g->nodes[g->body->nodes[i]].noutputs;
  ValueId *results = ir_arena_alloc(&g->arena, sizeof(ValueId) * (size_t)(cap + 1));
  const char **names = ir_arena_alloc(&g->arena, sizeof(char *) * (size_t)(cap + 1));
  Loc *locs = ir_arena_alloc(&g->arena, sizeof(Loc) * (size_t)(cap + 1));
  TensorType *types = ir_arena_alloc(&g->arena, sizeof(TensorType) * (size_t)(cap + 1));
  *origin = ir_arena_alloc(&g->arena, sizeof(ValueId) * (size_t)(cap + 1));
  if (!results || !names || !locs || !types || !*origin) return diag_oom(d, g->loc);
  for (int i = 0; i < g->body->nnodes; i++) {
    NodeId id = g->body->nodes[i];
    if (g->nodes[id].op == OP_CONST) continue;
    int nout = g->nodes[id].noutputs, at = i;
    for (int k = 0; k < nout; k++) {
      ValueId x = g->nodes[id].outputs[k];
      const Value v = g->values[x]; /* adding values moves g->values */
      Loc loc = g->nodes[id].loc;
      if (!v.name) continue; /* written "_": never used */
      if (v.type.quant || v.type.dtype == DT_F16 || v.type.dtype == DT_BF16) {
        char buf[256];
        diag_error(d, loc, "--compare: %%%s has type %s; the compiled backends do not handle %s, so it cannot be compared",
                   v.name, ir_type_str(&v.type, buf, sizeof buf), v.type.quant ? "quantized tensors" : "f16 and bf16");
        return IR_ERR_INPUT;
      }
      ValueId shown = x;
      if (v.type.layout) {
        TensorType plain = v.type;
        plain.layout = NULL;
        const char *name = pass_fresh_name(g, v.name);
        NodeId r = name ? ir_graph_add_node(g, OP_REORDER, 1, 1, loc) : -1;
        shown = r >= 0 ? ir_graph_add_value(g, name, &plain, VAL_RESULT, loc) : -1;
        if (shown < 0 || !pass_insert_node(g, g->body, ++at, r)) return diag_oom(d, loc);
        g->nodes[r].inputs[0] = x;
        g->nodes[r].outputs[0] = shown;
        g->values[shown].def = r;
      }
      (*origin)[n] = x;
      results[n] = shown;
      names[n] = g->values[shown].name;
      locs[n] = loc;
      types[n++] = g->values[shown].type;
    }
    i = at; /* past the reorders made */
  }
  if (n > IR_MAX_OPERANDS) {
    diag_error(d, g->loc, "--compare: the model has %d values to compare; an artifact has at most %d outputs", n,
               IR_MAX_OPERANDS);
    return IR_ERR_INPUT;
  }
  g->body->results = results;
  g->body->nresults = n;
  g->output_names = names;
  g->output_locs = locs;
  g->output_types = types;
  return IR_OK;
}

/* Runs the tapped graph g (origin[k]: the value output k shows) on the interpreter and the
 * artifact at so on the inputs ins, and compares every tap; reports the first beyond tol.
 * *nodes receives how many nodes were compared. */
static IrStatus compare_taps(const Graph *g, const ValueId *origin, const char *so, const RunPort *ins,
                             const IrTolerance *tol, int *nodes, DiagSink *d) {
  int nout = g->body->nresults;
  lathe_model *m = NULL;
  RunPort *outs = NULL;
  void **inputs = physical_inputs(g, ins), **want = physical_alloc(g, false);
  IrStatus st = inputs && want ? IR_OK : diag_oom(d, loc_none());
  if (st == IR_OK) st = ir_interp_run(g, (const void *const *)inputs, want, d);
  if (st == IR_OK) st = artifact_open(so, NULL, &m, d);
  if (st == IR_OK && (lathe_model_ninputs(m) != g->body->nparams || lathe_model_noutputs(m) != nout))
    st = IR_INTERNAL(d, "the compiled copy's signature is not the tapped graph's");
  if (st == IR_OK && !(outs = artifact_ports(m, false))) st = diag_oom(d, loc_none());
  if (st == IR_OK) st = artifact_run(m, ins, outs, 0, d);
  *nodes = 0;
  NodeId last = -1;
  for (int k = 0; st == IR_OK && k < nout; k++) {
    const Value *v = &g->values[origin[k]];
    const Node *node = &g->nodes[v->def];
    *nodes += v->def != last;
    last = v->def;
    IrDiff x;
    if (!ir_compare(&g->output_types[k], outs[k].data, want[k], tol, &x)) st = diag_oom(d, loc_none());
    if (st != IR_OK || !x.bad) continue;
    diag_error(d, node->loc,
               "compiled and interpreted results differ first at %%%s = %s: max abs diff %.9g, max rel diff %.9g; "
               "%lld of %lld elements beyond rtol %g, atol %g (first at element %lld: compiled %.9g, interpreter %.9g)",
               v->name, ir_ops[node->op].name, x.max_abs, x.max_rel, (long long)x.bad, (long long)x.numel, tol->rtol,
               tol->atol, (long long)x.first_bad, x.got, x.want);
    st = IR_ERR_INPUT;
  }
  ports_free(outs, nout);
  if (m) lathe_model_close(m);
  physical_free(inputs, g->body->nparams);
  physical_free(want, nout);
  return st;
}

IrStatus run_compare(const char *path, const char *const *specs, int nspecs, uint64_t seed, const IrTolerance *tol,
                     DiagSink *d) {
  Graph *ref = NULL, *compiled = NULL;
  RunPort *ins = NULL, *outs = NULL;
  char *so = NULL;
  ValueId *origin = NULL, *origin2 = NULL;
  int nodes = 0;
  IrStatus st = load_model(path, &ref, d);
  if (st == IR_OK) st = load_model(path, &compiled, d); /* the passes and the lowering change it */
  if (st == IR_OK) st = tap_every_value(ref, &origin, d);
  if (st == IR_OK) st = tap_every_value(compiled, &origin2, d);
  if (st == IR_OK) st = graph_ports(ref, &ins, &outs, d);
  if (st == IR_OK) st = fill_inputs(ins, ref->body->nparams, specs, nspecs, seed, d);
  if (st == IR_OK && ref->body->nresults > 0) {
    if (!(so = temp_so_path(d))) st = IR_ERR_INPUT;
    if (st == IR_OK) st = compile_graph_so(compiled, path, 0, so, d);
    if (st == IR_OK) st = compare_taps(ref, origin, so, ins, tol, &nodes, d);
  }
  if (st == IR_OK) {
    printf("%d node%s (%d value%s) compared, all within tolerance (rtol %g, atol %g)\n", nodes, nodes == 1 ? "" : "s",
           ref->body->nresults, ref->body->nresults == 1 ? "" : "s", tol->rtol, tol->atol);
  }
  if (so) remove(so);
  free(so);
  if (ref) {
    ports_free(ins, ref->body->nparams);
    ports_free(outs, ref->body->nresults);
  }
  ir_graph_free(ref);
  ir_graph_free(compiled);
  return st;
}

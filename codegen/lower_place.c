/* lower_place.c — where workspace buffers lie: the memory plan of passes/plan.c, computed on
 * the graph being lowered, gives every top-level workspace tensor its offset in the arena;
 * buffers the plan does not know (fused bodies' inner tensors, the plain copies of blocked
 * tensors, anything a lowering makes for one node) live only while that node's kernels run,
 * so they go into the gaps the plan leaves at that node's step, or above the arena when no
 * gap is large enough (pass_plan_place_extra). A result the plan puts in place of an operand
 * is written into the operand's own NestBuf (one pointer, so the backends' `restrict` and
 * `noalias` stay true); so is a fused body's element-wise chain ending in its result.
 *
 * Each node's buffers are checked against the plan when the node is lowered; should a
 * lowering not match it (a tensor stored where the plan did not put it), the program falls
 * back to one range per buffer, never reused, with a note (tests hold this never happens). */
#include "codegen/lower.h"
#include "passes/pass.h"

struct LowerPlace {
  MemPlan *plan;
  int *slot_of;    /* per ValueId: its slot in plan, or -1 */
  int *store;      /* per ValueId: the buffer holding a top-level value once lowered, or -1 */
  int step;        /* the node being lowered: its step in the plan's schedule */
  int step_first;  /* the first buffer it made */
  int64_t size;    /* bytes of the workspace: the arena and what lies above it */
  bool mismatch;   /* a buffer not where the plan says: no reuse at all */
};

static int64_t align64(int64_t n) { return (n + 63) / 64 * 64; }

IrStatus cg_place_begin(LowerCtx *c) {
  const Graph *g = c->g;
  LowerPlace *pl = ir_calloc(1, sizeof *pl);
  c->place = pl;
  if (!pl) return diag_oom(c->d, g->loc);
  pl->slot_of = ir_malloc(((size_t)g->nvalues + 1) * sizeof(int));
  pl->store = ir_malloc(((size_t)g->nvalues + 1) * sizeof(int));
  if (!pl->slot_of || !pl->store) return diag_oom(c->d, g->loc);
  IrStatus st = pass_plan_compute(g, &pl->plan, c->d);
  if (st != IR_OK) return st;
  for (int v = 0; v < g->nvalues; v++) pl->slot_of[v] = pl->store[v] = -1;
  for (int i = 0; i < pl->plan->nslots; i++) pl->slot_of[pl->plan->slots[i].value] = i;
  return IR_OK;
}

void cg_place_free(LowerCtx *c) {
  LowerPlace *pl = c->place;
  if (!pl) return;
  pass_plan_free(pl->plan);
  ir_free(pl->slot_of);
  ir_free(pl->store);
  ir_free(pl);
  c->place = NULL;
}

int cg_place_shared(LowerCtx *c, ValueId v) {
  const LowerPlace *pl = c->place;
  int sl = pl && pl->plan ? pl->slot_of[v] : -1;
  if (sl < 0 || pl->plan->slots[sl].shares < 0 || pl->plan->slots[sl].view) return -1;
  int b = pl->store[pl->plan->slots[sl].shares];
  const TensorType *t = cg_type(c, v);
  if (b < 0) return -1;
  const NestBuf *nb = &c->p->bufs[b];
  return nb->kind == NEST_BUF_WORKSPACE && nb->dtype == t->dtype && nb->numel == cg_phys_numel(t) ? b : -1;
}

void cg_place_step_begin(LowerCtx *c, int step) {
  if (!c->place) return;
  c->place->step = step;
  c->place->step_first = c->p->nbufs;
}

/* True when buffer b holds a result of node n. */
static bool holds_result(const LowerCtx *c, const Node *n, int b) {
  for (int j = 0; j < n->noutputs; j++)
    if (c->buf_of[n->outputs[j]] == b) return true;
  return false;
}

IrStatus cg_place_step_end(LowerCtx *c, const Node *n) {
  LowerPlace *pl = c->place;
  NestProgram *p = c->p;
  if (!pl || !pl->plan) return IR_OK;
  /* The results: at their slots' offsets (a buffer made earlier must be there already). */
  for (int j = 0; j < n->noutputs; j++) {
    ValueId v = n->outputs[j];
    int b = c->buf_of[v];
    pl->store[v] = b;
    if (b < 0 || p->bufs[b].kind != NEST_BUF_WORKSPACE) continue;
    int sl = pl->slot_of[v];
    if (sl < 0) pl->mismatch = true;
    else if (b >= pl->step_first) p->bufs[b].offset = pl->plan->slots[sl].offset;
    else if (p->bufs[b].offset != pl->plan->slots[sl].offset) pl->mismatch = true;
  }
  /* The node's own buffers: in the gaps the plan leaves at this step, else above the arena. */
  int cap = p->nbufs - pl->step_first, nt = 0;
  int *temps = ir_malloc(sizeof(int) * (size_t)(cap + 1));
  int64_t *sizes = ir_malloc(sizeof(int64_t) * (size_t)(cap + 1));
  int64_t *offsets = ir_malloc(sizeof(int64_t) * (size_t)(cap + 1));
  IrStatus st = !temps || !sizes || !offsets ? diag_oom(c->d, n->loc) : IR_OK;
  for (int b = pl->step_first; st == IR_OK && b < p->nbufs; b++) {
    if (p->bufs[b].kind != NEST_BUF_WORKSPACE || holds_result(c, n, b)) continue;
    temps[nt] = b;
    sizes[nt++] = p->bufs[b].bytes;
  }
  int64_t end = 0;
  if (st == IR_OK && nt > 0) st = pass_plan_place_extra(pl->plan, pl->step, nt, sizes, offsets, &end, c->d);
  for (int i = 0; st == IR_OK && i < nt; i++) p->bufs[temps[i]].offset = offsets[i];
  if (end > pl->size) pl->size = end;
  ir_free(temps);
  ir_free(sizes);
  ir_free(offsets);
  return st;
}

void cg_place_end(LowerCtx *c) {
  LowerPlace *pl = c->place;
  NestProgram *p = c->p;
  if (!pl || !pl->plan) return;
  if (!pl->mismatch) {
    p->workspace_size = pl->size > pl->plan->arena ? pl->size : pl->plan->arena;
    return;
  }
  diag_note(c->d, c->g->loc, "the memory plan does not match the lowering; the workspace is not reused");
  p->workspace_size = 0;
  for (int b = 0; b < p->nbufs; b++) {
    if (p->bufs[b].kind != NEST_BUF_WORKSPACE) continue;
    p->bufs[b].offset = p->workspace_size;
    p->workspace_size += align64(p->bufs[b].bytes);
  }
}

/* The position of value v's defining node in region r, or -1 (a parameter, or defined
 * elsewhere). */
static int def_index(const Graph *g, const Region *r, ValueId v) {
  if (g->values[v].kind != VAL_RESULT) return -1;
  for (int s = 0; s < r->nnodes; s++)
    if (r->nodes[s] == g->values[v].def) return s;
  return -1;
}

/* True when value v is read in region r by no node but node m and is not a result of r. */
static bool only_read_by(const Graph *g, const Region *r, ValueId v, NodeId m) {
  for (int i = 0; i < r->nresults; i++)
    if (r->results[i] == v) return false;
  for (int s = 0; s < r->nnodes; s++) {
    const Node *n = &g->nodes[r->nodes[s]];
    for (int k = 0; k < n->ninputs && r->nodes[s] != m; k++)
      if (n->inputs[k] == v) return false;
  }
  return true;
}

void cg_place_body(LowerCtx *c, const Node *fused) {
  const Graph *g = c->g;
  const Region *r = fused->body;
  for (int i = 0; i < r->nresults; i++) {
    ValueId v = r->results[i];
    int out = c->buf_of[v], s = def_index(g, r, v);
    if (out < 0 || s < 0) continue;
    /* The last node reading the old contents of `out` (an operand the result replaces). */
    int last_read = -1;
    for (int q = 0; q < r->nnodes; q++) {
      const Node *n = &g->nodes[r->nodes[q]];
      for (int k = 0; k < n->ninputs; k++)
        if (g->values[n->inputs[k]].kind == VAL_PARAM && c->buf_of[n->inputs[k]] == out) last_read = q;
    }
    /* Back along element-wise steps: operand t of the node computing v, of v's type and read by
     * it alone, can be computed into `out` as well, if no later node reads its old contents. */
    for (bool more = true; more;) {
      const Node *m = &g->nodes[r->nodes[s]];
      more = false;
      if (!(ir_ops[m->op].flags & OPF_ELEMENTWISE) || m->noutputs != 1) break;
      for (int k = 0; k < m->ninputs && !more; k++) {
        ValueId t = m->inputs[k];
        int st = def_index(g, r, t);
        if (st < 0 || st < last_read || c->buf_of[t] >= 0 || g->nodes[g->values[t].def].op == OP_CONST ||
            !ir_type_equal(cg_type(c, t), cg_type(c, v)) || !only_read_by(g, r, t, r->nodes[s]))
          continue;
        c->buf_of[t] = out;
        v = t;
        s = st;
        more = true;
      }
    }
  }
}

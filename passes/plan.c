/* plan.c — memory planning: every workspace tensor (a result of a node of the graph's body
 * that is not a graph output; inputs, outputs and constants live elsewhere) gets an offset in
 * one arena.
 *
 * The schedule is the body's order; a tensor lives from the step that defines it to the last
 * step that reads it. A view (reshape, flatten, squeeze, unsqueeze, reorder between plain
 * layouts: the same elements in the same order) is its operand's buffer: it joins the
 * operand's buffer, whose life then lasts as long as any of its tensors, or, when the operand
 * is no workspace tensor, takes no workspace at all. A result of an element-wise step reuses
 * in place the buffer of an operand of its type whose buffer's life ends at that step (for a
 * fused op: an operand that its body reads only with element-wise ops and not after the node
 * computing its result, and whose buffer holds no other operand, so every element is read
 * before the same element is written). Buffers are then placed one by one, each in a gap among
 * the placed buffers whose lives overlap its own, at offsets and sizes rounded up to 64 bytes:
 * in four orders (largest first, longest life first, largest size × life first, earliest
 * first), each with the smallest gap (best fit) and with the lowest one (first fit); the first
 * of these eight placements with the smallest arena is kept (the search stops at one whose
 * arena is the lower bound L). codegen/lower_place.c lays out the compiled workspace from this plan.
 *
 * The figures: A the arena's size; N the sum of the workspace tensors' sizes, views not
 * counted (no reuse at all); L the most bytes of buffers live at one step (an in-place pair
 * counted once), which no placement of this schedule can beat.
 *
 * Requires: a verified graph, in its final order (after fusion).
 * Invalidates: nothing (it does not change the graph); a later change makes the plan stale. */
#include <string.h>

#include "ir/printer.h"
#include "passes/pass.h"

enum { PLAN_ALIGN = 64 };

static int64_t align_up(int64_t n) { return (n + PLAN_ALIGN - 1) / PLAN_ALIGN * PLAN_ALIGN; }

/* True when body (of one result) reads parameter index p only with element-wise ops, none of
 * them after the node that computes the result. */
static bool param_read_elementwise(const Graph *g, const Region *body, int p) {
  ValueId v = body->params[p];
  bool result_made = false;
  for (int i = 0; i < body->nnodes; i++) {
    const Node *n = &g->nodes[body->nodes[i]];
    for (int k = 0; k < n->ninputs; k++)
      if (n->inputs[k] == v && (result_made || !(ir_ops[n->op].flags & OPF_ELEMENTWISE))) return false;
    for (int j = 0; j < n->noutputs; j++) result_made |= n->outputs[j] == body->results[0];
  }
  return true;
}

/* True when operand k of node n may share its buffer with n's (single) result. */
static bool may_share(const Graph *g, const Node *n, int k) {
  if (n->noutputs != 1) return false;
  if (!ir_type_equal(&g->values[n->inputs[k]].type, &g->values[n->outputs[0]].type)) return false;
  if (ir_ops[n->op].flags & OPF_ELEMENTWISE) return true;
  return n->body && n->body->nresults == 1 && param_read_elementwise(g, n->body, k);
}

/* True when node n's result is a view of its operand: the same elements in the same order,
 * which the lowering reads from the operand's buffer (codegen/lower_shape.c). */
static bool is_view(const Graph *g, const Node *n) {
  bool view_op = n->op == OP_RESHAPE || n->op == OP_FLATTEN || n->op == OP_SQUEEZE || n->op == OP_UNSQUEEZE ||
                 n->op == OP_REORDER;
  return view_op && n->ninputs >= 1 && n->noutputs == 1 && !g->values[n->inputs[0]].type.layout &&
         !g->values[n->outputs[0]].type.layout;
}

/* True when an operand of n other than operand k lies in operand k's buffer: a fused body
 * could read it at other elements than the one it writes (element-wise ops read every operand
 * of the result's type at the element they write). */
static bool buffer_read_twice(const Node *n, int k, const int *slot_of, const int *buf_of) {
  for (int i = 0; i < n->ninputs; i++) {
    int o = slot_of[n->inputs[i]];
    if (i != k && o >= 0 && buf_of[o] == buf_of[slot_of[n->inputs[k]]]) return true;
  }
  return false;
}

/* A buffer: one or more slots sharing storage (an in-place chain and views). */
typedef struct Buf {
  int64_t size;    /* bytes (the largest slot's) */
  int first, last; /* steps */
  int64_t offset;
  bool placed;
} Buf;

/* The orders tried (each breaks ties by the next criteria, then by index) and the two rules
 * for choosing a gap. */
typedef enum Order { BY_SIZE, BY_LIFE, BY_AREA, BY_START, NORDERS } Order;
typedef enum Fit { BEST_FIT, FIRST_FIT, NFITS } Fit;

static int64_t life(const Buf *b) { return b->last - b->first + 1; }

/* Compares buffers a and b on one key, larger first: <0 when a goes first, >0 when b does. */
static int cmp_desc(int64_t a, int64_t b) { return a > b ? -1 : a < b; }

/* True when buffer a goes before buffer b in order o. */
static bool placed_before(const Buf *bufs, Order o, int a, int b) {
  const Buf *x = &bufs[a], *y = &bufs[b];
  int c = 0;
  if (o == BY_LIFE) c = cmp_desc(life(x), life(y));
  if (o == BY_AREA) c = cmp_desc(x->size * life(x), y->size * life(y));
  if (o == BY_START) c = cmp_desc(y->first, x->first);
  if (!c) c = cmp_desc(x->size, y->size);
  if (!c) c = cmp_desc(y->first, x->first);
  return c ? c < 0 : a < b;
}

/* Places buffer b in a gap among the placed buffers whose lives overlap its own (the smallest
 * one, or the lowest one), else above them. */
static void place(Buf *bufs, const int *order, int nplaced, int b, Fit fit, int64_t *scratch_lo,
                  int64_t *scratch_hi) {
  int n = 0;
  for (int i = 0; i < nplaced; i++) {
    const Buf *o = &bufs[order[i]];
    if (o->last < bufs[b].first || o->first > bufs[b].last) continue;
    /* insertion by offset */
    int j = n++;
    while (j > 0 && scratch_lo[j - 1] > o->offset) {
      scratch_lo[j] = scratch_lo[j - 1];
      scratch_hi[j] = scratch_hi[j - 1];
      j--;
    }
    scratch_lo[j] = o->offset;
    scratch_hi[j] = o->offset + align_up(o->size);
  }
  int64_t need = align_up(bufs[b].size), best = -1, best_gap = 0, at = 0;
  for (int i = 0; i < n && !(fit == FIRST_FIT && best >= 0); i++) {
    int64_t gap = scratch_lo[i] - at;
    if (gap >= need && (best < 0 || gap < best_gap)) { best = at; best_gap = gap; }
    if (scratch_hi[i] > at) at = scratch_hi[i];
  }
  bufs[b].offset = best >= 0 ? best : at;
  bufs[b].placed = true;
}

/* Places buffers [nfixed, n) of bufs in order o by rule fit, around the buffers [0, nfixed)
 * placed already; order, lo and hi have room for n. Returns the end of the highest buffer. */
static int64_t place_all(Buf *bufs, int nfixed, int n, Order o, Fit fit, int *order, int64_t *lo, int64_t *hi) {
  for (int b = 0; b < n; b++) { /* insertion sort: a few thousand buffers at most */
    int j = b;
    while (j > nfixed && placed_before(bufs, o, b, order[j - 1])) { order[j] = order[j - 1]; j--; }
    order[j] = b;
  }
  int64_t top = 0;
  for (int i = 0; i < n; i++) {
    if (i >= nfixed) place(bufs, order, i, order[i], fit, lo, hi);
    int64_t end = bufs[order[i]].offset + align_up(bufs[order[i]].size);
    if (end > top) top = end;
  }
  return top;
}

/* Places all n buffers by every order and rule, keeping the first that gives the smallest
 * arena (it stops at one that reaches the lower bound). Returns the arena. */
static int64_t place_best(Buf *bufs, int n, int64_t lower, int *order, int64_t *lo, int64_t *hi) {
  int64_t arena = -1;
  int best = 0, t = 0;
  for (; t < NORDERS * NFITS && arena != lower; t++) {
    int64_t a = place_all(bufs, 0, n, (Order)(t / NFITS), (Fit)(t % NFITS), order, lo, hi);
    if (arena < 0 || a < arena) { arena = a; best = t; }
  }
  if (best == t - 1) return arena; /* the offsets are the last placement's */
  return place_all(bufs, 0, n, (Order)(best / NFITS), (Fit)(best % NFITS), order, lo, hi);
}

IrStatus pass_plan_compute(const Graph *g, MemPlan **out, DiagSink *d) {
  const Region *r = g->body;
  *out = NULL;
  MemPlan *p = ir_calloc(1, sizeof *p);
  int *slot_of = ir_malloc(sizeof(int) * (size_t)(g->nvalues + 1)); /* value -> slot, or -1 */
  int *buf_of = ir_malloc(sizeof(int) * (size_t)(g->nvalues + 1));  /* slot -> buffer */
  bool *is_output = ir_calloc((size_t)g->nvalues + 1, sizeof *is_output);
  int cap = 0;
  for (int i = 0; i < r->nnodes; i++) cap += g->nodes[r->nodes[i]].noutputs;
  if (p) p->slots = ir_calloc((size_t)cap + 1, sizeof *p->slots);
  Buf *bufs = ir_calloc((size_t)cap + 1, sizeof *bufs);
  int *order = ir_malloc(sizeof(int) * (size_t)(cap + 1));
  int64_t *lo = ir_malloc(sizeof(int64_t) * (size_t)(cap + 1)), *hi = ir_malloc(sizeof(int64_t) * (size_t)(cap + 1));
  IrStatus st = IR_OK;
  if (!p || !p->slots || !slot_of || !buf_of || !is_output || !bufs || !order || !lo || !hi) {
    st = diag_oom(d, g->loc);
    goto done;
  }
  for (int v = 0; v < g->nvalues; v++) slot_of[v] = -1;
  for (int i = 0; i < r->nresults; i++) is_output[r->results[i]] = true;
  int nbufs = 0;
  for (int s = 0; s < r->nnodes; s++) {
    const Node *n = &g->nodes[r->nodes[s]];
    /* Lives of operands extend to this step. */
    for (int k = 0; k < n->ninputs; k++) {
      int sl = slot_of[n->inputs[k]];
      if (sl >= 0) p->slots[sl].last = s;
    }
    if (n->op == OP_CONST) continue;
    bool view = is_view(g, n);
    if (view && slot_of[n->inputs[0]] < 0) continue; /* a view of an input, weight or output */
    for (int j = 0; j < n->noutputs; j++) {
      ValueId v = n->outputs[j];
      if (is_output[v]) continue;
      MemSlot *m = &p->slots[p->nslots];
      m->value = v;
      m->size = ir_type_bytes(&g->values[v].type);
      m->first = m->last = s;
      m->shares = view ? n->inputs[0] : -1;
      m->view = view;
      if (!view) p->naive += m->size;
      slot_of[v] = p->nslots;
      p->nslots++;
    }
  }
  /* Views and in place: second walk, now that every slot's last use is known. */
  for (int sl = 0; sl < p->nslots; sl++) {
    MemSlot *m = &p->slots[sl];
    const Node *n = &g->nodes[g->values[m->value].def];
    int b = m->view ? buf_of[slot_of[m->shares]] : -1;
    for (int k = 0; k < n->ninputs && b < 0; k++) {
      int o = slot_of[n->inputs[k]];
      if (o < 0 || bufs[buf_of[o]].last != m->first || !may_share(g, n, k)) continue;
      if (!(ir_ops[n->op].flags & OPF_ELEMENTWISE) && buffer_read_twice(n, k, slot_of, buf_of)) continue;
      b = buf_of[o];
      m->shares = n->inputs[k];
    }
    if (b < 0) {
      b = nbufs++;
      bufs[b].first = m->first;
      bufs[b].size = m->size;
      bufs[b].last = m->last;
    }
    buf_of[sl] = b;
    if (m->size > bufs[b].size) bufs[b].size = m->size;
    if (m->last > bufs[b].last) bufs[b].last = m->last;
  }
  /* L: the most bytes live at one step. */
  for (int s = 0; s < r->nnodes; s++) {
    int64_t live = 0;
    for (int b = 0; b < nbufs; b++)
      if (bufs[b].first <= s && s <= bufs[b].last) live += bufs[b].size;
    if (live > p->lower) p->lower = live;
  }
  p->arena = place_best(bufs, nbufs, p->lower, order, lo, hi);
  for (int sl = 0; sl < p->nslots; sl++) p->slots[sl].offset = bufs[buf_of[sl]].offset;
done:
  ir_free(slot_of);
  ir_free(buf_of);
  ir_free(is_output);
  ir_free(bufs);
  ir_free(order);
  ir_free(lo);
  ir_free(hi);
  if (st != IR_OK) pass_plan_free(p);
  else *out = p;
  return st;
}

IrStatus pass_plan_place_extra(const MemPlan *p, int step, int n, const int64_t *sizes, int64_t *offsets,
                               int64_t *end, DiagSink *d) {
  int cap = n;
  for (int i = 0; i < p->nslots; i++) cap += p->slots[i].first <= step && step <= p->slots[i].last;
  Buf *bufs = ir_calloc((size_t)cap + 1, sizeof *bufs);
  int *order = ir_malloc(sizeof(int) * (size_t)(cap + 1));
  int64_t *lo = ir_malloc(sizeof(int64_t) * (size_t)(cap + 1)), *hi = ir_malloc(sizeof(int64_t) * (size_t)(cap + 1));
  IrStatus st = IR_OK;
  if (!bufs || !order || !lo || !hi) {
    st = diag_oom(d, loc_none());
  } else {
    int nfixed = 0;
    for (int i = 0; i < p->nslots; i++) {
      const MemSlot *m = &p->slots[i];
      if (m->first > step || step > m->last) continue;
      bufs[nfixed++] = (Buf){.size = m->size, .first = step, .last = step, .offset = m->offset, .placed = true};
    }
    for (int i = 0; i < n; i++) bufs[nfixed + i] = (Buf){.size = sizes[i], .first = step, .last = step};
    *end = place_all(bufs, nfixed, nfixed + n, BY_SIZE, BEST_FIT, order, lo, hi);
    for (int i = 0; i < n; i++) offsets[i] = bufs[nfixed + i].offset;
  }
  ir_free(bufs);
  ir_free(order);
  ir_free(lo);
  ir_free(hi);
  return st;
}

void pass_plan_free(MemPlan *p) {
  if (!p) return;
  ir_free(p->slots);
  ir_free(p);
}

void pass_plan_print(FILE *out, const Graph *g, const MemPlan *p) {
  fprintf(out, "%-32s %12s %12s  %s\n", "tensor", "offset", "bytes", "steps");
  for (int i = 0; i < p->nslots; i++) {
    const MemSlot *m = &p->slots[i];
    const char *name = g->values[m->value].name ? g->values[m->value].name : "_";
    fprintf(out, "%-32s %12lld %12lld  %d..%d", name, (long long)m->offset, (long long)m->size, m->first, m->last);
    if (m->shares >= 0) {
      fputs(m->view ? "  view of " : "  in place of ", out);
      ir_print_name(out, '%', g->values[m->shares].name);
    }
    fputc('\n', out);
  }
  fprintf(out, "arena: %lld bytes, naive: %lld bytes, lower bound: %lld bytes\n", (long long)p->arena,
          (long long)p->naive, (long long)p->lower);
}

static IrStatus run_plan(Graph *g, PassCtx *c) {
  pass_plan_free(c->plan);
  c->plan = NULL;
  return pass_plan_compute(g, &c->plan, c->diag);
}

const Pass pass_plan = {
    "plan",
    "plans the workspace: lifetimes, in-place reuse, offsets in one 64-byte aligned arena (best of 8 placements)",
    "a verified graph in its final order",
    "nothing (the graph is unchanged)",
    run_plan,
};

/* lower_recurrent.c — loop nests for lstm and gru (ONNX LSTM and GRU with default
 * activations, as ir/ops/recurrent.c computes them): forward, reverse or bidirectional,
 * sequence-first or batch-first (layout), optional biases, sequence lengths, initial states
 * and (lstm) peepholes, clip, linear_before_reset (gru), results Y, Y_h and Y_c.
 *
 * Every sequence (direction d, batch entry b) runs its own time loop, one after the other or,
 * when the work is large enough, as the iterations of one parallel loop over the D * Bt
 * sequences: each keeps its hidden state h (and lstm's cell c) and its per-step gate sums in
 * its own slices of workspace scratch, and writes only its own part of Y, Y_h and Y_c. The
 * time loop runs [0, len) with len = sequence_lens[b] clamped to [0, T] (the interpreter
 * reports a length outside it; compiled code cannot); the step's time index, reversed for the
 * reverse direction, is a local. Steps past len leave Y zero. */
#include "codegen/lower.h"

#include <string.h>

/* The operand positions (ir/ops/recurrent.c); P only for lstm. */
enum { RNN_X, RNN_W, RNN_R, RNN_B, RNN_LENS, RNN_H0, RNN_C0, RNN_P, RNN_OPERANDS };

/* One recurrent node being lowered. */
typedef struct Rnn {
  LowerCtx *c;
  NestProgram *p;
  NestKernel *k;
  const Node *n;
  int64_t T, Bt, I, H, D, G; /* steps, batch, input, hidden, directions, gate rows per direction */
  bool batch_first;          /* layout = 1: X [Bt, T, I], states [Bt, D, H], Y [Bt, T, D, H] */
  int dir;                   /* 0 forward, 1 reverse, 2 bidirectional (direction 1 reversed) */
  double clip;               /* > 0: gate inputs are clipped to [-clip, clip] */
  int in[RNN_OPERANDS];      /* operand buffers, -1 when absent */
  int y, yh, yc;             /* result buffers, -1 when absent */
  int h, cell;               /* scratch: the state of every sequence, [D * Bt, H] */
  NestExpr *s, *d, *b;       /* the current sequence, its direction and batch entry */
  NestExpr *t;               /* the current step's time index */
} Rnn;

/* Adds workspace scratch "NODE.what" of numel f32 elements; -1 when out of memory. */
static int scratch(Rnn *r, const char *what, int64_t numel) { return cg_scratch(r->c, r->n, what, DT_F32, numel); }

/* Element offsets, in either layout: X[t, b, 0]; the state (d, b) in initial_h, initial_c,
 * Y_h and Y_c; Y[t, d, b, 0]. */
static NestExpr *x_at(Rnn *r) {
  NestProgram *p = r->p;
  NestExpr *row = r->batch_first ? cg_add(p, cg_mulc(p, r->b, r->T), r->t) : cg_add(p, cg_mulc(p, r->t, r->Bt), r->b);
  return cg_mulc(p, row, r->I);
}
static NestExpr *state_at(Rnn *r) {
  NestProgram *p = r->p;
  /* Sequence-first, the state's row d * Bt + b is the sequence number s itself. */
  NestExpr *row = r->batch_first ? cg_add(p, cg_mulc(p, r->b, r->D), r->d) : r->s;
  return cg_mulc(p, row, r->H);
}
static NestExpr *y_at(Rnn *r, NestExpr *t) {
  NestProgram *p = r->p;
  NestExpr *row = r->batch_first ? cg_add(p, cg_mulc(p, cg_add(p, cg_mulc(p, r->b, r->T), t), r->D), r->d)
                                 : cg_add(p, cg_mulc(p, cg_add(p, cg_mulc(p, t, r->D), r->d), r->Bt), r->b);
  return cg_mulc(p, row, r->H);
}

/* Appends `for VAR in [lo, hi):` to block b (VAR named after hint); returns its body (NULL
 * when out of memory) and sets *j to VAR. */
static NestBlock *loop_to(Rnn *r, NestBlock *b, const char *hint, NestExpr *lo, NestExpr *hi, NestExpr **j) {
  int v = cg_nest_var(r->p, r->k, hint);
  NestStmt *s = cg_loop(r->p, b, v, lo, hi);
  *j = cg_var(r->p, v);
  return s ? &s->u.loop.body : NULL;
}

/* Element e of buffer buf. */
static NestExpr *at(Rnn *r, int buf, NestExpr *e) { return cg_load(r->p, buf, e); }

/* Element j of the current sequence's row of width w in scratch buf. */
static NestExpr *seq_at(Rnn *r, int64_t w, int64_t off, NestExpr *j) {
  return cg_add(r->p, cg_mulc(r->p, r->s, w), cg_add(r->p, cg_idx(r->p, off), j));
}

/* v clipped as the interpreter clips (fmin(fmax(v, -clip), clip): NaN gives -clip). */
static NestExpr *clipped(Rnn *r, NestExpr *v) {
  if (!(r->clip > 0)) return v;
  NestProgram *p = r->p;
  NestExpr *lo = cg_const_f(p, DT_F32, -r->clip), *hi = cg_const_f(p, DT_F32, r->clip);
  v = cg_select(p, cg_bin(p, NEST_GE, v, lo), v, lo);
  return cg_select(p, cg_bin(p, NEST_LE, v, hi), v, hi);
}
static NestExpr *gate(Rnn *r, NestUnOp f, NestExpr *v) { return cg_un(r->p, f, clipped(r, v)); }

/* What one loop of gate sums adds up. */
typedef struct GateSum {
  int dst;          /* scratch [D * Bt, G]: row g of the sequence's slice is written */
  int64_t row0, rows; /* gate rows [row0, row0 + rows) of the direction's G */
  bool x;           /* adds W[d, g] . X[t, b] */
  int hvec;         /* >= 0: adds R[d, g] . hvec[s] (a scratch [D * Bt, H]) */
  int64_t bias[2];  /* >= 0: adds B[d, bias + g] (Wb at 0, Rb at G) */
} GateSum;

/* Appends `acc += M[row, i] * v[v0 + i]` for i in [0, n) to block b. */
static void dot(Rnn *r, NestBlock *b, int acc, int m, NestExpr *row, int v, NestExpr *v0, int64_t n) {
  NestProgram *p = r->p;
  NestExpr *i;
  NestBlock *body = loop_to(r, b, "i", cg_idx(p, 0), cg_idx(p, n), &i);
  if (!body) return;
  NestExpr *prod = cg_bin(p, NEST_MUL, at(r, m, cg_add(p, cg_mulc(p, row, n), i)), at(r, v, cg_add(p, v0, i)));
  cg_assign(p, body, acc, cg_bin(p, NEST_ADD, cg_local(p, r->k, acc), prod));
}

/* Appends `for g in [row0, row0 + rows): dst[s, g] = biases + W . x + R . hvec` to block b. */
static void gate_sums(Rnn *r, NestBlock *b, const GateSum *gs) {
  NestProgram *p = r->p;
  NestExpr *g;
  NestBlock *body = loop_to(r, b, "g", cg_idx(p, gs->row0), cg_idx(p, gs->row0 + gs->rows), &g);
  if (!body) return;
  NestExpr *init = NULL, *brow = cg_add(p, cg_mulc(p, r->d, 2 * r->G), g);
  for (int i = 0; i < 2; i++) {
    if (gs->bias[i] < 0 || r->in[RNN_B] < 0) continue;
    NestExpr *bias = at(r, r->in[RNN_B], cg_add(p, brow, cg_idx(p, gs->bias[i])));
    init = init ? cg_bin(p, NEST_ADD, init, bias) : bias;
  }
  if (!init) init = cg_const_f(p, DT_F32, 0);
  int acc = cg_nest_local(p, r->k, DT_F32);
  cg_decl(p, body, acc, init);
  NestExpr *row = cg_add(p, cg_mulc(p, r->d, r->G), g);
  if (gs->x) dot(r, body, acc, r->in[RNN_W], row, r->in[RNN_X], x_at(r), r->I);
  if (gs->hvec >= 0) dot(r, body, acc, r->in[RNN_R], row, gs->hvec, cg_mulc(p, r->s, r->H), r->H);
  cg_store(p, body, gs->dst, cg_add(p, cg_mulc(p, r->s, r->G), g), cg_local(p, r->k, acc));
}

/* Declares a local f32 in block b with value v and returns its use. */
static NestExpr *let(Rnn *r, NestBlock *b, NestExpr *v) {
  int l = cg_nest_local(r->p, r->k, DT_F32);
  cg_decl(r->p, b, l, v);
  return cg_local(r->p, r->k, l);
}

/* Stores the step's new hidden value hn of unit j into the state and into Y. */
static void store_h(Rnn *r, NestBlock *b, NestExpr *j, NestExpr *hn) {
  cg_store(r->p, b, r->h, seq_at(r, r->H, 0, j), hn);
  cg_store(r->p, b, r->y, cg_add(r->p, y_at(r, r->t), j), hn);
}

/* One lstm step: gates i, o, f, c (ONNX order) summed per row, then per unit
 * c' = f c + i g, h' = o tanh(c'), with the peepholes of i and f on c and of o on c'. */
static void lstm_step(Rnn *r, NestBlock *b) {
  NestProgram *p = r->p;
  int64_t H = r->H;
  int sums = scratch(r, "gates", r->D * r->Bt * r->G);
  GateSum gs = {sums, 0, r->G, true, r->h, {0, r->G}};
  gate_sums(r, b, &gs);
  NestExpr *j;
  NestBlock *body = loop_to(r, b, "j", cg_idx(p, 0), cg_idx(p, H), &j);
  if (!body || sums < 0) return;
  NestExpr *sum[4], *peep[3] = {NULL, NULL, NULL};
  for (int q = 0; q < 4; q++) sum[q] = at(r, sums, seq_at(r, r->G, q * H, j));
  for (int q = 0; q < 3 && r->in[RNN_P] >= 0; q++)
    peep[q] = at(r, r->in[RNN_P], cg_add(p, cg_mulc(p, r->d, 3 * H), cg_add(p, cg_idx(p, q * H), j)));
  NestExpr *cprev = let(r, body, at(r, r->cell, seq_at(r, H, 0, j)));
  NestExpr *in_sum = sum[0], *forget_sum = sum[2];
  if (peep[0]) {
    in_sum = cg_bin(p, NEST_ADD, in_sum, cg_bin(p, NEST_MUL, peep[0], cprev));
    forget_sum = cg_bin(p, NEST_ADD, forget_sum, cg_bin(p, NEST_MUL, peep[2], cprev));
  }
  NestExpr *gi = gate(r, NEST_SIGMOID, in_sum), *gf = gate(r, NEST_SIGMOID, forget_sum);
  NestExpr *gc = gate(r, NEST_TANH, sum[3]);
  NestExpr *cn = let(r, body, cg_bin(p, NEST_ADD, cg_bin(p, NEST_MUL, gf, cprev), cg_bin(p, NEST_MUL, gi, gc)));
  cg_store(p, body, r->cell, seq_at(r, H, 0, j), cn);
  NestExpr *out_sum = peep[1] ? cg_bin(p, NEST_ADD, sum[1], cg_bin(p, NEST_MUL, peep[1], cn)) : sum[1];
  store_h(r, body, j, let(r, body, cg_bin(p, NEST_MUL, gate(r, NEST_SIGMOID, out_sum), cg_un(p, NEST_TANH, cn))));
}

/* One gru step: gates z, r, h (ONNX order), the input parts xw and recurrent parts hr summed
 * per row with their biases; with linear_before_reset the candidate's recurrent part is
 * r * hr, else R_h . (r * h) + Rb_h (computed after r * h is known for every unit, into the
 * candidate rows of hr); h' = (1 - z) tanh(xw_h + that) + z h. */
static void gru_step(Rnn *r, NestBlock *b) {
  NestProgram *p = r->p;
  int64_t H = r->H, G = r->G;
  bool lbr = ir_attr_int(r->n, "linear_before_reset", 0) != 0;
  int xw = scratch(r, "xw", r->D * r->Bt * G), hr = scratch(r, "hr", r->D * r->Bt * G);
  GateSum gx = {xw, 0, G, true, -1, {0, -1}}, gh = {hr, 0, lbr ? G : 2 * H, false, r->h, {G, -1}};
  gate_sums(r, b, &gx);
  gate_sums(r, b, &gh);
  if (xw < 0 || hr < 0) return;
  NestExpr *j;
  if (!lbr) {
    int rh = scratch(r, "rh", r->D * r->Bt * H);
    NestBlock *body = loop_to(r, b, "j", cg_idx(p, 0), cg_idx(p, H), &j);
    if (!body || rh < 0) return;
    NestExpr *reset = gate(r, NEST_SIGMOID, cg_bin(p, NEST_ADD, at(r, xw, seq_at(r, G, H, j)), at(r, hr, seq_at(r, G, H, j))));
    cg_store(p, body, rh, seq_at(r, H, 0, j), cg_bin(p, NEST_MUL, reset, at(r, r->h, seq_at(r, H, 0, j))));
    GateSum cand = {hr, 2 * H, H, false, rh, {G, -1}};
    gate_sums(r, b, &cand);
  }
  NestBlock *body = loop_to(r, b, "j", cg_idx(p, 0), cg_idx(p, H), &j);
  if (!body) return;
  NestExpr *sx[3], *sh[3];
  for (int q = 0; q < 3; q++) {
    sx[q] = at(r, xw, seq_at(r, G, q * H, j));
    sh[q] = at(r, hr, seq_at(r, G, q * H, j));
  }
  NestExpr *z = let(r, body, gate(r, NEST_SIGMOID, cg_bin(p, NEST_ADD, sx[0], sh[0])));
  NestExpr *rec = lbr ? cg_bin(p, NEST_MUL, gate(r, NEST_SIGMOID, cg_bin(p, NEST_ADD, sx[1], sh[1])), sh[2]) : sh[2];
  NestExpr *cand = gate(r, NEST_TANH, cg_bin(p, NEST_ADD, sx[2], rec));
  NestExpr *one_minus_z = cg_bin(p, NEST_SUB, cg_const_f(p, DT_F32, 1), z);
  NestExpr *hn = cg_bin(p, NEST_ADD, cg_bin(p, NEST_MUL, one_minus_z, cand),
                        cg_bin(p, NEST_MUL, z, at(r, r->h, seq_at(r, H, 0, j))));
  store_h(r, body, j, let(r, body, hn));
}

/* The body of one sequence: initial states, Y zeroed past its length, the time loop, the
 * last states into Y_h and Y_c. */
static void sequence(Rnn *r, NestBlock *b, bool lstm) {
  NestProgram *p = r->p;
  int64_t H = r->H;
  NestExpr *len = cg_idx(p, r->T), *j;
  if (r->in[RNN_LENS] >= 0) {
    int l = cg_nest_local(p, r->k, DT_I64);
    NestExpr *given = cg_cast(p, DT_I64, at(r, r->in[RNN_LENS], r->b));
    cg_decl(p, b, l, cg_bin(p, NEST_MIN, cg_bin(p, NEST_MAX, given, cg_idx(p, 0)), cg_idx(p, r->T)));
    len = cg_local(p, r->k, l);
  }
  NestExpr *state = state_at(r);
  NestBlock *init = loop_to(r, b, "j", cg_idx(p, 0), cg_idx(p, H), &j);
  if (!init) return;
  NestExpr *zero = cg_const_f(p, DT_F32, 0);
  NestExpr *h0 = r->in[RNN_H0] >= 0 ? at(r, r->in[RNN_H0], cg_add(p, state, j)) : zero;
  cg_store(p, init, r->h, seq_at(r, H, 0, j), h0);
  if (lstm) {
    NestExpr *c0 = r->in[RNN_C0] >= 0 ? at(r, r->in[RNN_C0], cg_add(p, state, j)) : zero;
    cg_store(p, init, r->cell, seq_at(r, H, 0, j), c0);
  }
  if (r->in[RNN_LENS] >= 0) {
    NestExpr *t;
    NestBlock *past = loop_to(r, b, "t", len, cg_idx(p, r->T), &t);
    NestBlock *units = past ? loop_to(r, past, "j", cg_idx(p, 0), cg_idx(p, H), &j) : NULL;
    if (!units) return;
    cg_store(p, units, r->y, cg_add(p, y_at(r, t), j), zero);
  }
  NestExpr *step;
  NestBlock *body = loop_to(r, b, "k", cg_idx(p, 0), len, &step);
  if (!body) return;
  NestExpr *back = cg_bin(p, NEST_SUB, cg_add(p, len, cg_idx(p, -1)), step);
  NestExpr *t = r->dir == 0 ? step : r->dir == 1 ? back : cg_select(p, cg_bin(p, NEST_EQ, r->d, cg_idx(p, 1)), back, step);
  int tl = cg_nest_local(p, r->k, DT_I64);
  cg_decl(p, body, tl, t);
  r->t = cg_local(p, r->k, tl);
  if (lstm) lstm_step(r, body);
  else gru_step(r, body);
  NestBlock *last = loop_to(r, b, "j", cg_idx(p, 0), cg_idx(p, H), &j);
  if (!last) return;
  if (r->yh >= 0) cg_store(p, last, r->yh, cg_add(p, state, j), at(r, r->h, seq_at(r, H, 0, j)));
  if (r->yc >= 0) cg_store(p, last, r->yc, cg_add(p, state, j), at(r, r->cell, seq_at(r, H, 0, j)));
}

/* Lowers lstm (lstm true) or gru node n. */
static IrStatus lower_rnn(LowerCtx *c, const Node *n, bool lstm) {
  NestProgram *p = c->p;
  const TensorType *x = cg_type(c, n->inputs[RNN_X]);
  Rnn r = {.c = c, .p = p, .n = n, .y = -1, .yh = -1, .yc = -1, .cell = -1};
  r.batch_first = ir_attr_int(n, "layout", 0) == 1;
  r.T = x->dims[r.batch_first ? 1 : 0];
  r.Bt = x->dims[r.batch_first ? 0 : 1];
  r.I = x->dims[2];
  r.H = ir_attr_int(n, "hidden_size", 0);
  const char *dir = ir_attr_str(n, "direction", "forward");
  r.dir = !strcmp(dir, "reverse") ? 1 : !strcmp(dir, "bidirectional") ? 2 : 0;
  r.D = r.dir == 2 ? 2 : 1;
  r.G = (lstm ? 4 : 3) * r.H;
  r.clip = ir_attr_float(n, "clip", 0.0);
  for (int i = 0; i < RNN_OPERANDS; i++) r.in[i] = i < n->ninputs ? cg_in(c, n->inputs[i]) : -1;
  r.y = cg_out(c, n->outputs[0]);
  if (n->noutputs > 1) r.yh = cg_out(c, n->outputs[1]);
  if (n->noutputs > 2) r.yc = cg_out(c, n->outputs[2]);
  r.k = cg_kernel_for(c, n);
  r.h = scratch(&r, "h", r.D * r.Bt * r.H);
  if (lstm) r.cell = scratch(&r, "c", r.D * r.Bt * r.H);
  if (!r.k || p->arena.failed) return cg_checked(c, n->loc);
  /* One loop over the D * Bt sequences, parallel when their multiply-adds are many. */
  int64_t nseq = r.D * r.Bt;
  NestBlock *b = &r.k->body;
  r.s = cg_idx(p, 0);
  if (nseq > 1) {
    b = loop_to(&r, b, "s", cg_idx(p, 0), cg_idx(p, nseq), &r.s);
    if (!b) return cg_checked(c, n->loc);
    int64_t macs = ir_ops[n->op].impl->macs(c->g, n);
    r.k->body.stmts[r.k->body.n - 1]->u.loop.parallel = macs >= CG_PARALLEL_MIN;
  }
  r.d = r.D == 1 ? cg_idx(p, 0) : r.Bt == 1 ? r.s : cg_bin(p, NEST_FLOORDIV, r.s, cg_idx(p, r.Bt));
  r.b = r.Bt == 1 ? cg_idx(p, 0) : r.D == 1 ? r.s : cg_bin(p, NEST_MOD, r.s, cg_idx(p, r.Bt));
  sequence(&r, b, lstm);
  return cg_checked(c, n->loc);
}

IrStatus cg_lower_lstm(LowerCtx *c, const Node *n) { return lower_rnn(c, n, true); }
IrStatus cg_lower_gru(LowerCtx *c, const Node *n) { return lower_rnn(c, n, false); }

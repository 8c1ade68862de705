/* recurrent.c — recurrent layers with their time loop inside the kernel (ONNX LSTM and GRU,
 * default activations): forward, reverse or bidirectional, sequence-first or batch-first
 * (layout), with optional biases, sequence lengths, initial states and (LSTM) peepholes. The importer supplies the optional operands
 * ONNX leaves out in the middle (zeros, or full lengths), so here they may only be left out
 * at the end. */
#include "ir/op.h"

#include <math.h>
#include <string.h>

static const DType float_dtypes[] = {DT_F32, DT_F16, DT_BF16, DT_INVALID};
static const DType length_dtypes[] = {DT_I32, DT_I64, DT_INVALID};
static const char *const direction_names[] = {"forward", "reverse", "bidirectional", NULL};

/* The operand positions shared by lstm and gru (P only for lstm). */
enum { RNN_X, RNN_W, RNN_R, RNN_B, RNN_LENS, RNN_H0, RNN_C0, RNN_P };

/* The sizes of a recurrent node: T steps, batch Bt, input I, hidden H, D directions, and its
 * gates per direction (4 for lstm: i, o, f, c; 3 for gru: z, r, h). */
typedef struct RnnGeom {
  int64_t T, Bt, I, H, D;
  int gates;
  int direction; /* index into direction_names, or -1 */
  bool batch_first; /* layout = 1: X [Bt, T, I], states [Bt, D, H], Y [Bt, T, D, H] */
} RnnGeom;

/* Reads the geometry of a recurrent node with `gates` gates from its X and its attributes. */
static void rnn_geom(const Node *n, const TensorType *x, int gates, RnnGeom *g) {
  const char *dir = ir_attr_str(n, "direction", "forward");
  g->direction = -1;
  for (int i = 0; direction_names[i]; i++)
    if (!strcmp(dir, direction_names[i])) g->direction = i;
  g->batch_first = ir_attr_int(n, "layout", 0) == 1;
  g->T = x->dims[g->batch_first ? 1 : 0];
  g->Bt = x->dims[g->batch_first ? 0 : 1];
  g->I = x->dims[2];
  g->H = ir_attr_int(n, "hidden_size", 0);
  g->D = g->direction == 2 ? 2 : 1;
  g->gates = gates;
}

/* Offsets of X[t, b, 0], of the state (d, b) in initial_h / Y_h, and of Y[t, d, b, 0], in
 * either layout. */
static int64_t x_at(const RnnGeom *g, int64_t t, int64_t b) {
  return (g->batch_first ? b * g->T + t : t * g->Bt + b) * g->I;
}
static int64_t state_at(const RnnGeom *g, int64_t d, int64_t b) {
  return (g->batch_first ? b * g->D + d : d * g->Bt + b) * g->H;
}
static int64_t y_at(const RnnGeom *g, int64_t t, int64_t d, int64_t b) {
  return (g->batch_first ? (b * g->T + t) * g->D + d : (t * g->D + d) * g->Bt + b) * g->H;
}

/* Checks that operand i has shape [d0, d1] (rank 2) or [d0, d1, d2] (rank 3); false
 * (reported) otherwise. */
static bool check_dims(InferCtx *c, int i, const char *what, int rank, int64_t d0, int64_t d1, int64_t d2) {
  const TensorType *t = c->in[i];
  TensorType want = {.dtype = t->dtype, .rank = rank, .dims = {d0, d1, d2}};
  bool ok = t->rank == rank;
  for (int k = 0; ok && k < rank; k++) ok = t->dims[k] == want.dims[k];
  if (ok) return true;
  char got[OP_SHAPE_BUF], exp[OP_SHAPE_BUF];
  return op_fail(c, NULL, "%s: %s (operand %d) has shape %s; expected %s", op_name(c->node), what, i,
                 op_shape_str(t, got, sizeof got), op_shape_str(&want, exp, sizeof exp));
}

/* The shape rule of lstm (gates 4) and gru (gates 3): X [T, Bt, I], W [D, gates*H, I],
 * R [D, gates*H, H], B [D, 2*gates*H], sequence_lens [Bt] (i32/i64), initial_h and
 * initial_c [D, Bt, H], P [D, 3H]; results Y [T, D, Bt, H], Y_h and Y_c [D, Bt, H]. */
static bool rnn_infer(InferCtx *c, int gates) {
  const TensorType *x = c->in[RNN_X];
  if (!op_check_dtype(c, RNN_X, float_dtypes) || !op_check_rank(c, RNN_X, 3)) return false;
  for (int i = 1; i < c->nin; i++)
    if (i != RNN_LENS && !op_check_same_dtype(c, i, RNN_X)) return false;
  RnnGeom g;
  rnn_geom(c->node, x, gates, &g);
  if (g.direction < 0)
    return op_fail(c, "direction", "%s: direction must be forward, reverse or bidirectional", op_name(c->node));
  int64_t H;
  int64_t layout;
  if (!op_int_attr(c, "hidden_size", 0, 1, IR_MAX_ELEMENTS / 8, &H) || !op_int_attr(c, "layout", 0, 0, 1, &layout))
    return false;
  if (!ir_attr(c->node, "hidden_size")) return op_fail(c, NULL, "%s: the hidden_size attribute is required", op_name(c->node));
  if (ir_attr(c->node, "clip") && !(ir_attr_float(c->node, "clip", 0) > 0))
    return op_fail(c, "clip", "%s: clip must be positive", op_name(c->node));
  if (!check_dims(c, RNN_W, "W", 3, g.D, gates * H, g.I) || !check_dims(c, RNN_R, "R", 3, g.D, gates * H, H))
    return false;
  if (c->nin > RNN_B && !check_dims(c, RNN_B, "B", 2, g.D, 2 * gates * H, 0)) return false;
  if (c->nin > RNN_LENS && (!op_check_dtype(c, RNN_LENS, length_dtypes) || !op_check_rank(c, RNN_LENS, 1)))
    return false;
  if (c->nin > RNN_LENS && c->in[RNN_LENS]->dims[0] != g.Bt)
    return op_fail(c, NULL, "%s: sequence_lens has %lld entries but the batch is %lld", op_name(c->node),
                   (long long)c->in[RNN_LENS]->dims[0], (long long)g.Bt);
  int64_t s0 = layout ? g.Bt : g.D, s1 = layout ? g.D : g.Bt;
  if (c->nin > RNN_H0 && !check_dims(c, RNN_H0, "initial_h", 3, s0, s1, H)) return false;
  if (c->nin > RNN_C0 && !check_dims(c, RNN_C0, "initial_c", 3, s0, s1, H)) return false;
  if (c->nin > RNN_P && !check_dims(c, RNN_P, "P", 2, g.D, 3 * H, 0)) return false;
  int64_t ydims[4] = {g.T, g.D, g.Bt, H}, sdims[3] = {s0, s1, H};
  if (layout) {
    ydims[0] = g.Bt;
    ydims[1] = g.T;
    ydims[2] = g.D;
  }
  if (!op_out_checked(c, 0, x->dtype, 4, ydims)) return false;
  for (int i = 1; i < c->nout; i++) op_out(c, i, x->dtype, 3, sdims);
  return true;
}

static double sigmoid(double v) { return 1.0 / (1.0 + exp(-v)); }

/* The state and scratch of one sequence of one direction: the hidden state h, the cell c
 * (lstm), and per gate row the input part xw and the recurrent part hr. */
typedef struct RnnScratch {
  double *h, *c, *xw, *hr, *rh;
} RnnScratch;

/* sum_k M[row, k] * v[k] over k < n, M an operand (row-major, rows of n). */
static double row_dot_tensor(const Tensor *m, int64_t row, int64_t n, const Tensor *v, int64_t v0) {
  double acc = 0;
  for (int64_t k = 0; k < n; k++) acc += op_get(m, row * n + k) * op_get(v, v0 + k);
  return acc;
}

/* The same with v a vector of doubles. */
static double row_dot(const Tensor *m, int64_t row, int64_t n, const double *v) {
  double acc = 0;
  for (int64_t k = 0; k < n; k++) acc += op_get(m, row * n + k) * v[k];
  return acc;
}

/* Operand i's element e, or 0 when the node has no operand i. */
static double opt_get(const EvalCtx *c, int i, int64_t e) { return c->nin > i ? op_get(&c->in[i], e) : 0.0; }

/* Clips v to [-clip, clip] when clip > 0. */
static double clipped(double v, double clip) { return clip > 0 ? fmin(fmax(v, -clip), clip) : v; }

/* Advances one lstm direction d of batch entry b by the input at step t: gates i, o, f, c
 * (ONNX order) with peepholes, clip applied to the gates' inputs. */
static void lstm_step(const EvalCtx *c, const RnnGeom *g, int64_t d, int64_t b, int64_t t, double clip,
                      RnnScratch *s) {
  const Tensor *w = &c->in[RNN_W], *r = &c->in[RNN_R];
  int64_t H = g->H, G = 4 * H;
  for (int64_t j = 0; j < G; j++) {
    s->xw[j] = row_dot_tensor(w, d * G + j, g->I, &c->in[RNN_X], x_at(g, t, b)) + opt_get(c, RNN_B, d * 2 * G + j) +
               opt_get(c, RNN_B, d * 2 * G + G + j);
    s->hr[j] = row_dot(r, d * G + j, H, s->h);
  }
  for (int64_t j = 0; j < H; j++) {
    double pi = opt_get(c, RNN_P, d * 3 * H + j), po = opt_get(c, RNN_P, d * 3 * H + H + j),
           pf = opt_get(c, RNN_P, d * 3 * H + 2 * H + j);
    double gi = sigmoid(clipped(s->xw[j] + s->hr[j] + pi * s->c[j], clip));
    double gf = sigmoid(clipped(s->xw[2 * H + j] + s->hr[2 * H + j] + pf * s->c[j], clip));
    double gc = tanh(clipped(s->xw[3 * H + j] + s->hr[3 * H + j], clip));
    s->c[j] = gf * s->c[j] + gi * gc;
    double go = sigmoid(clipped(s->xw[H + j] + s->hr[H + j] + po * s->c[j], clip));
    s->h[j] = go * tanh(s->c[j]);
  }
}

/* Advances one gru direction: gates z, r, h (ONNX order); with linear_before_reset the
 * reset gate scales the recurrent part after its bias, else it scales h before R. */
static void gru_step(const EvalCtx *c, const RnnGeom *g, int64_t d, int64_t b, int64_t t, double clip,
                     RnnScratch *s) {
  const Tensor *w = &c->in[RNN_W], *r = &c->in[RNN_R];
  int64_t H = g->H, G = 3 * H;
  bool lbr = ir_attr_int(c->node, "linear_before_reset", 0) != 0;
  for (int64_t j = 0; j < G; j++) {
    s->xw[j] = row_dot_tensor(w, d * G + j, g->I, &c->in[RNN_X], x_at(g, t, b)) + opt_get(c, RNN_B, d * 2 * G + j);
    s->hr[j] = row_dot(r, d * G + j, H, s->h) + opt_get(c, RNN_B, d * 2 * G + G + j);
  }
  for (int64_t j = 0; j < H; j++) s->rh[j] = sigmoid(clipped(s->xw[H + j] + s->hr[H + j], clip)) * s->h[j];
  for (int64_t j = 0; j < H; j++) {
    double z = sigmoid(clipped(s->xw[j] + s->hr[j], clip));
    double rg = sigmoid(clipped(s->xw[H + j] + s->hr[H + j], clip));
    double rec = lbr ? rg * s->hr[2 * H + j]
                     : row_dot(r, d * G + 2 * H + j, H, s->rh) + opt_get(c, RNN_B, d * 2 * G + G + 2 * H + j);
    double hh = tanh(clipped(s->xw[2 * H + j] + rec, clip));
    s->c[j] = (1 - z) * hh + z * s->h[j]; /* the new h, kept apart until every j has read the old one */
  }
  memcpy(s->h, s->c, sizeof(double) * (size_t)H);
}

typedef void (*RnnStep)(const EvalCtx *c, const RnnGeom *g, int64_t d, int64_t b, int64_t t, double clip,
                        RnnScratch *s);

/* Runs every direction and batch entry through its sequence (sequence_lens[b] steps, in
 * reverse for the reverse direction), writing Y at each step and the last states to Y_h
 * (and Y_c for lstm); steps past a sequence's length leave Y zero. */
static IrStatus rnn_eval(EvalCtx *c, int gates, RnnStep step) {
  RnnGeom g;
  rnn_geom(c->node, &c->in[RNN_X].type, gates, &g);
  double clip = ir_attr_float(c->node, "clip", 0.0);
  int64_t H = g.H;
  for (int64_t b = 0; c->nin > RNN_LENS && b < g.Bt; b++) {
    int64_t len = op_get_int(&c->in[RNN_LENS], b);
    if (len < 0 || len > g.T)
      return op_eval_fail(c, "%s: sequence_lens[%lld] = %lld is outside [0, %lld]", op_name(c->node), (long long)b,
                          (long long)len, (long long)g.T);
  }
  double *buf = ir_calloc((size_t)(2 * H + 3 * gates * H), sizeof(double));
  if (!buf) return diag_oom(c->diag, c->node->loc);
  RnnScratch s = {buf, buf + H, buf + 2 * H, buf + 2 * H + gates * H, buf + 2 * H + 2 * gates * H};
  for (int64_t d = 0; d < g.D; d++) {
    bool reverse = g.direction == 1 || d == 1;
    for (int64_t b = 0; b < g.Bt; b++) {
      int64_t len = c->nin > RNN_LENS ? op_get_int(&c->in[RNN_LENS], b) : g.T, state = state_at(&g, d, b);
      for (int64_t j = 0; j < H; j++) {
        s.h[j] = opt_get(c, RNN_H0, state + j);
        s.c[j] = gates == 4 ? opt_get(c, RNN_C0, state + j) : 0.0;
      }
      for (int64_t k = 0; k < len; k++) {
        int64_t t = reverse ? len - 1 - k : k;
        step(c, &g, d, b, t, clip, &s);
        for (int64_t j = 0; j < H; j++) op_set(&c->out[0], y_at(&g, t, d, b) + j, s.h[j]);
      }
      for (int64_t j = 0; j < H; j++) {
        if (c->nout > 1) op_set(&c->out[1], state + j, s.h[j]);
        if (c->nout > 2) op_set(&c->out[2], state + j, s.c[j]);
      }
    }
  }
  ir_free(buf);
  return IR_OK;
}

/* T * D * Bt * gates * H * (I + H): the matrix-vector products of every step. */
static int64_t rnn_macs(const Graph *gr, const Node *n, int gates) {
  RnnGeom g;
  rnn_geom(n, &gr->values[n->inputs[RNN_X]].type, gates, &g);
  int64_t f[6] = {g.T, g.D, g.Bt, gates, g.H, g.I + g.H}, r = 1;
  for (int i = 0; i < 6; i++)
    if (!ir_mul_ok(r, f[i], &r)) return INT64_MAX;
  return r;
}

/* ---- lstm -------------------------------------------------------------------------------------- */

static const AttrSpec lstm_attrs[] = {
    {"hidden_size", ATTR_INT, true}, {"direction", ATTR_STR, false}, {"clip", ATTR_FLOAT, false},
    {"layout", ATTR_INT, false},     {0}};

static bool lstm_infer(InferCtx *c) { return rnn_infer(c, 4); }
static IrStatus lstm_eval(EvalCtx *c) { return rnn_eval(c, 4, lstm_step); }
static int64_t lstm_macs(const Graph *g, const Node *n) { return rnn_macs(g, n, 4); }

const OpImpl ir_impl_lstm = {lstm_attrs, lstm_infer, lstm_eval, lstm_macs};

/* ---- gru --------------------------------------------------------------------------------------- */

static const AttrSpec gru_attrs[] = {{"hidden_size", ATTR_INT, true},
                                     {"direction", ATTR_STR, false},
                                     {"clip", ATTR_FLOAT, false},
                                     {"linear_before_reset", ATTR_INT, false},
                                     {"layout", ATTR_INT, false},
                                     {0}};

static bool gru_infer(InferCtx *c) {
  int64_t lbr;
  return op_int_attr(c, "linear_before_reset", 0, 0, 1, &lbr) && rnn_infer(c, 3);
}
static IrStatus gru_eval(EvalCtx *c) { return rnn_eval(c, 3, gru_step); }
static int64_t gru_macs(const Graph *g, const Node *n) { return rnn_macs(g, n, 3); }

const OpImpl ir_impl_gru = {gru_attrs, gru_infer, gru_eval, gru_macs};

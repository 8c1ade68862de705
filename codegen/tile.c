/* tile.c — tiled loop nests through ISL (codegen/tile.h): the statements' domains and the
 * shared outer band become an ISL schedule tree, the band is tiled, the point loops sunk
 * below each statement's own loops, the full tiles isolated; the AST ISL generates from it is
 * converted to NestStmt loops. Every ISL object is freed before returning. */
#include <string.h>

#include <isl/aff.h>
#include <isl/ast.h>
#include <isl/ast_build.h>
#include <isl/ctx.h>
#include <isl/id.h>
#include <isl/map.h>
#include <isl/options.h>
#include <isl/schedule.h>
#include <isl/schedule_node.h>
#include <isl/set.h>
#include <isl/space.h>
#include <isl/union_set.h>
#include <isl/val.h>
#include <isl/union_map.h>

#include "codegen/tile.h"
#include "ir/text.h"

/* ---- the ISL text of the nest -------------------------------------------------------------- */

/* Appends the tuple "Si[d0, ..., d(n-1)]" (name empty: "[d0, ...]"). */
static void put_tuple(IrText *t, const char *name, int i, int n) {
  if (name) ir_text_add(t, "%s%d", name, i);
  ir_text_add(t, "[");
  for (int d = 0; d < n; d++) ir_text_add(t, "%sd%d", d ? ", " : "", d);
  ir_text_add(t, "]");
}

/* Appends the constraints "0 <= d0 < e0 and ..." of a box of n dimensions. */
static void put_box(IrText *t, int n, const int64_t *extent) {
  for (int d = 0; d < n; d++) ir_text_add(t, "%s0 <= d%d < %lld", d ? " and " : "", d, (long long)extent[d]);
}

/* The ISL union set of every statement's domain: "{ S0[d0, d1] : box and where; ... }". */
static isl_union_set *domains(isl_ctx *ctx, const CgTileNest *t) {
  IrText s = {0};
  ir_text_add(&s, "{ ");
  for (int i = 0; i < t->nstmts; i++) {
    const CgTileStmt *st = &t->stmts[i];
    ir_text_add(&s, "%s", i ? "; " : "");
    put_tuple(&s, "S", i, st->ndims);
    ir_text_add(&s, " : ");
    put_box(&s, st->ndims, st->extent);
    if (st->where) ir_text_add(&s, " and %s", st->where);
  }
  ir_text_add(&s, " }");
  isl_union_set *u = s.failed ? NULL : isl_union_set_read_from_str(ctx, s.s);
  ir_free(s.s);
  return u;
}

/* The partial schedule of dimensions [from, to) of every statement (each has them), as a
 * multi union piecewise affine "[{ S0[..] -> [(d_from)]; ... }, ...]". */
static isl_multi_union_pw_aff *band(isl_ctx *ctx, const CgTileNest *t, int only, int from, int to) {
  IrText s = {0};
  ir_text_add(&s, "[");
  for (int d = from; d < to; d++) {
    ir_text_add(&s, "%s{ ", d > from ? ", " : "");
    for (int i = 0; i < t->nstmts; i++) {
      if (only >= 0 && i != only) continue;
      ir_text_add(&s, "%s", i && only < 0 ? "; " : "");
      put_tuple(&s, "S", i, t->stmts[i].ndims);
      ir_text_add(&s, " -> [(d%d)]", d);
    }
    ir_text_add(&s, " }");
  }
  ir_text_add(&s, "]");
  isl_multi_union_pw_aff *m = s.failed ? NULL : isl_multi_union_pw_aff_read_from_str(ctx, s.s);
  ir_free(s.s);
  return m;
}

/* The set of tiles (tile coordinates t, tile d covering [T_d t_d, T_d t_d + T_d)) every point
 * of which is an output whose every statement instance lies in its domain (in the box of the
 * statement's own dimensions): the full tiles. */
static isl_set *full_tiles(isl_ctx *ctx, const CgTileNest *t, const int64_t *tile, isl_union_set *dom) {
  int n = t->nout;
  IrText s = {0};
  ir_text_add(&s, "{ ");
  put_tuple(&s, NULL, 0, n);
  ir_text_add(&s, " -> [");
  for (int d = 0; d < n; d++) ir_text_add(&s, "%st%d", d ? ", " : "", d);
  ir_text_add(&s, "] : ");
  for (int d = 0; d < n; d++)
    ir_text_add(&s, "%s%lld t%d <= d%d < %lld t%d + %lld", d ? " and " : "", (long long)tile[d], d, d,
                (long long)tile[d], d, (long long)tile[d]);
  ir_text_add(&s, " }");
  isl_map *tile_of = s.failed ? NULL : isl_map_read_from_str(ctx, s.s);
  s.len = 0;
  ir_text_add(&s, "{ ");
  put_tuple(&s, NULL, 0, n);
  ir_text_add(&s, " : ");
  put_box(&s, n, t->extent);
  ir_text_add(&s, " }");
  isl_set *outputs = s.failed ? NULL : isl_set_read_from_str(ctx, s.s);
  /* bad: the points that are no output, or that miss an instance of some statement. */
  isl_set *bad = isl_set_complement(isl_set_copy(outputs));
  for (int i = 0; i < t->nstmts && !s.failed; i++) {
    const CgTileStmt *st = &t->stmts[i];
    s.len = 0;
    ir_text_add(&s, "{ ");
    put_tuple(&s, "S", i, st->ndims);
    ir_text_add(&s, " : ");
    put_box(&s, st->ndims, st->extent);
    ir_text_add(&s, " }");
    isl_set *box = isl_set_read_from_str(ctx, s.s);
    isl_set *mine = isl_union_set_extract_set(dom, isl_set_get_space(box));
    isl_set *miss = isl_set_subtract(box, mine);
    miss = isl_set_project_out(miss, isl_dim_set, n, st->ndims - n);
    bad = isl_set_union(bad, isl_set_reset_tuple_id(miss));
  }
  ir_free(s.s);
  isl_set *tiles = isl_set_apply(outputs, isl_map_copy(tile_of));
  isl_set *bad_tiles = isl_set_apply(bad, tile_of);
  return isl_set_coalesce(isl_set_subtract(tiles, bad_tiles));
}

/* The schedule of t: the outer band over every statement, tiled (the full tiles isolated),
 * above a sequence of the statements, each with a band of its own loops, below which the
 * tile's point loops are sunk. NULL when ISL fails. */
static isl_schedule *schedule(isl_ctx *ctx, const CgTileNest *t, const int64_t *tile) {
  isl_union_set *dom = domains(ctx, t);
  if (!dom) return NULL;
  isl_schedule *empty = isl_schedule_from_domain(isl_union_set_copy(dom));
  isl_schedule_node *node = isl_schedule_get_root(empty);
  isl_schedule_free(empty);
  node = isl_schedule_node_child(node, 0);
  node = isl_schedule_node_insert_partial_schedule(node, band(ctx, t, -1, 0, t->nout));
  node = isl_schedule_node_child(node, 0);
  if (t->nstmts > 1) {
    isl_union_set_list *filters = isl_union_set_list_alloc(ctx, t->nstmts);
    for (int i = 0; i < t->nstmts; i++) {
      char name[16];
      snprintf(name, sizeof name, "S%d", i);
      isl_space *sp = isl_space_set_tuple_name(isl_space_set_alloc(ctx, 0, t->stmts[i].ndims), isl_dim_set, name);
      filters = isl_union_set_list_add(filters, isl_union_set_from_set(isl_union_set_extract_set(dom, sp)));
    }
    node = isl_schedule_node_insert_sequence(node, filters);
  }
  for (int i = 0; i < t->nstmts; i++) {
    if (t->stmts[i].ndims == t->nout) continue;
    if (t->nstmts > 1) node = isl_schedule_node_child(isl_schedule_node_child(node, i), 0);
    node = isl_schedule_node_insert_partial_schedule(node, band(ctx, t, i, t->nout, t->stmts[i].ndims));
    if (t->nstmts > 1) node = isl_schedule_node_parent(isl_schedule_node_parent(node));
  }
  node = isl_schedule_node_child(isl_schedule_node_root(node), 0);
  isl_multi_val *sizes = isl_multi_val_zero(isl_schedule_node_band_get_space(node));
  for (int d = 0; d < t->nout; d++) sizes = isl_multi_val_set_val(sizes, d, isl_val_int_from_si(ctx, tile[d]));
  node = isl_schedule_node_band_tile(node, sizes);
  isl_set *iso = isl_map_wrap(isl_map_from_range(full_tiles(ctx, t, tile, dom)));
  iso = isl_set_set_tuple_name(iso, "isolate");
  node = isl_schedule_node_band_set_ast_build_options(node, isl_union_set_from_set(iso));
  node = isl_schedule_node_band_sink(isl_schedule_node_child(node, 0));
  isl_union_set_free(dom);
  isl_schedule *sched = isl_schedule_node_get_schedule(node);
  isl_schedule_node_free(node);
  return sched;
}

/* ---- the AST as loop nests ------------------------------------------------------------------- */

/* The state of one conversion: the loop variables in scope (ISL iterator ids, innermost last). */
typedef struct Conv {
  NestProgram *p;
  NestKernel *k;
  const CgTileNest *t;
  isl_id *ids[4 * CG_TILE_MAX_DIMS + 8]; /* iterator ids of the enclosing loops */
  int vars[4 * CG_TILE_MAX_DIMS + 8];    /* their loop variables */
  int depth;
  NestBlock *top;                        /* the block the nest is built in */
  bool in_kernel_body;                   /* that block becomes the kernel's body */
  bool unsupported;                      /* a construct the nest IR cannot hold */
} Conv;

/* Marks the conversion unsupported and returns NULL. */
static NestExpr *refuse(Conv *c) {
  c->unsupported = true;
  return NULL;
}

/* The loop variable bound to iterator id (innermost first), or -1. */
static int var_of(const Conv *c, isl_id *id) {
  for (int i = c->depth - 1; i >= 0; i--)
    if (c->ids[i] == id) return c->vars[i];
  return -1;
}

static NestExpr *expr(Conv *c, isl_ast_expr *e);

/* Operand i of operation e, converted. */
static NestExpr *arg(Conv *c, isl_ast_expr *e, int i) {
  isl_ast_expr *a = isl_ast_expr_op_get_arg(e, i);
  NestExpr *x = expr(c, a);
  isl_ast_expr_free(a);
  return x;
}

/* The index expression of the ISL AST expression e (kept): integers, iterators, + - * and
 * division by positive constants, min and max. NULL when unsupported or out of memory. */
static NestExpr *expr(Conv *c, isl_ast_expr *e) {
  NestProgram *p = c->p;
  switch (isl_ast_expr_get_type(e)) {
  case isl_ast_expr_int: {
    isl_val *v = isl_ast_expr_get_val(e);
    NestExpr *x = isl_val_is_int(v) ? cg_idx(p, isl_val_get_num_si(v)) : refuse(c);
    isl_val_free(v);
    return x;
  }
  case isl_ast_expr_id: {
    isl_id *id = isl_ast_expr_get_id(e);
    int var = var_of(c, id);
    isl_id_free(id);
    return var >= 0 ? cg_var(p, var) : refuse(c);
  }
  case isl_ast_expr_op: break;
  default: return refuse(c);
  }
  int n = (int)isl_ast_expr_op_get_n_arg(e);
  enum isl_ast_expr_op_type op = isl_ast_expr_op_get_type(e);
  switch (op) {
  case isl_ast_expr_op_minus: return cg_mulc(p, arg(c, e, 0), -1);
  case isl_ast_expr_op_add:
  case isl_ast_expr_op_sub:
  case isl_ast_expr_op_mul: {
    NestExpr *a = arg(c, e, 0), *b = arg(c, e, 1);
    if (!a || !b) return NULL;
    if (op == isl_ast_expr_op_add) return cg_add(p, a, b);
    if (op == isl_ast_expr_op_sub) return cg_add(p, a, cg_mulc(p, b, -1));
    if (b->kind == NEST_CONST) return cg_mulc(p, a, b->u.c.i);
    if (a->kind == NEST_CONST) return cg_mulc(p, b, a->u.c.i);
    return cg_bin(p, NEST_MUL, a, b);
  }
  case isl_ast_expr_op_min:
  case isl_ast_expr_op_max: {
    NestExpr *x = arg(c, e, 0);
    for (int i = 1; i < n && x; i++) x = cg_bin(p, op == isl_ast_expr_op_min ? NEST_MIN : NEST_MAX, x, arg(c, e, i));
    return x;
  }
  case isl_ast_expr_op_div:
  case isl_ast_expr_op_fdiv_q:
  case isl_ast_expr_op_pdiv_q:
  case isl_ast_expr_op_pdiv_r:
  case isl_ast_expr_op_zdiv_r: {
    /* Floor division and the non-negative remainder by a positive constant (exact, nonnegative
     * or compared against zero only: floor semantics are right for all of them). */
    NestExpr *a = arg(c, e, 0), *b = arg(c, e, 1);
    if (!a || !b) return NULL;
    if (b->kind != NEST_CONST || b->u.c.i <= 0) return refuse(c);
    bool rem = op == isl_ast_expr_op_pdiv_r || op == isl_ast_expr_op_zdiv_r;
    return cg_bin(p, rem ? NEST_MOD : NEST_FLOORDIV, a, b);
  }
  default: return refuse(c);
  }
}

/* The guard of condition e (kept) as an index: 1 when it holds, else 0 (comparisons of
 * index expressions, and, or), so that a conditional becomes a loop of 0 or 1 iterations. */
static NestExpr *guard(Conv *c, isl_ast_expr *e) {
  NestProgram *p = c->p;
  if (isl_ast_expr_get_type(e) != isl_ast_expr_op) return refuse(c);
  enum isl_ast_expr_op_type op = isl_ast_expr_op_get_type(e);
  isl_ast_expr *ea = isl_ast_expr_op_get_arg(e, 0), *eb = isl_ast_expr_op_get_arg(e, 1);
  NestExpr *g = NULL;
  if (op == isl_ast_expr_op_and || op == isl_ast_expr_op_and_then || op == isl_ast_expr_op_or ||
      op == isl_ast_expr_op_or_else) {
    bool and = op == isl_ast_expr_op_and || op == isl_ast_expr_op_and_then;
    g = cg_bin(p, and ? NEST_MIN : NEST_MAX, guard(c, ea), guard(c, eb));
  } else {
    NestExpr *a = expr(c, ea), *b = expr(c, eb), *neg_a = cg_mulc(p, a, -1), *neg_b = cg_mulc(p, b, -1);
    NestExpr *d = NULL; /* holds exactly when d >= 1 */
    switch (op) {
    case isl_ast_expr_op_le: d = cg_add(p, cg_add(p, b, neg_a), cg_idx(p, 1)); break;
    case isl_ast_expr_op_lt: d = cg_add(p, b, neg_a); break;
    case isl_ast_expr_op_ge: d = cg_add(p, cg_add(p, a, neg_b), cg_idx(p, 1)); break;
    case isl_ast_expr_op_gt: d = cg_add(p, a, neg_b); break;
    case isl_ast_expr_op_eq:
      d = cg_bin(p, NEST_MIN, cg_add(p, cg_add(p, a, neg_b), cg_idx(p, 1)), cg_add(p, cg_add(p, b, neg_a), cg_idx(p, 1)));
      break;
    default: refuse(c); break;
    }
    g = cg_bin(p, NEST_MAX, cg_bin(p, NEST_MIN, d, cg_idx(p, 1)), cg_idx(p, 0));
  }
  isl_ast_expr_free(ea);
  isl_ast_expr_free(eb);
  return g;
}

static void node(Conv *c, isl_ast_node *n, NestBlock *b);

/* Converts the children of block node n into b. */
static void block(Conv *c, isl_ast_node *n, NestBlock *b) {
  isl_ast_node_list *list = isl_ast_node_block_get_children(n);
  isl_size count = isl_ast_node_list_n_ast_node(list);
  for (int i = 0; i < count && !c->unsupported; i++) {
    isl_ast_node *child = isl_ast_node_list_get_ast_node(list, i);
    node(c, child, b);
    isl_ast_node_free(child);
  }
  isl_ast_node_list_free(list);
}

/* The upper bound (exclusive) of a loop over iterator id whose condition is cond (kept):
 * `id <= e` or `id < e`. */
static NestExpr *upper(Conv *c, isl_ast_expr *cond, isl_id *id) {
  if (isl_ast_expr_get_type(cond) != isl_ast_expr_op) return refuse(c);
  enum isl_ast_expr_op_type op = isl_ast_expr_op_get_type(cond);
  if (op != isl_ast_expr_op_le && op != isl_ast_expr_op_lt) return refuse(c);
  isl_ast_expr *lhs = isl_ast_expr_op_get_arg(cond, 0);
  isl_id *lid = isl_ast_expr_get_type(lhs) == isl_ast_expr_id ? isl_ast_expr_get_id(lhs) : NULL;
  isl_ast_expr_free(lhs);
  bool ok = lid == id;
  isl_id_free(lid);
  if (!ok) return refuse(c);
  NestExpr *e = arg(c, cond, 1);
  return op == isl_ast_expr_op_le ? cg_add(c->p, e, cg_idx(c->p, 1)) : e;
}

/* Converts the for node n into a loop appended to b. */
static void for_loop(Conv *c, isl_ast_node *n, NestBlock *b) {
  if (c->depth == (int)(sizeof c->ids / sizeof *c->ids)) {
    refuse(c);
    return;
  }
  isl_ast_expr *it = isl_ast_node_for_get_iterator(n), *init = isl_ast_node_for_get_init(n);
  isl_ast_expr *cond = isl_ast_node_for_get_cond(n), *inc = isl_ast_node_for_get_inc(n);
  isl_id *id = isl_ast_expr_get_id(it);
  NestExpr *lo = expr(c, init), *hi = NULL, *step = expr(c, inc);
  bool top = b == c->top && c->in_kernel_body;
  if (isl_ast_node_for_is_degenerate(n) == isl_bool_true) hi = cg_add(c->p, lo, cg_idx(c->p, 1));
  else hi = upper(c, cond, id);
  if (step && (step->kind != NEST_CONST || step->u.c.i < 1)) refuse(c);
  int var = cg_nest_var(c->p, c->k, isl_id_get_name(id));
  NestStmt *s = c->unsupported ? NULL : cg_loop(c->p, b, var, lo, hi);
  if (s) {
    s->u.loop.step = step->u.c.i;
    /* The outermost loops are tile loops of the output band: independent iterations. */
    s->u.loop.parallel = top && c->t->parallel && s->u.loop.step == 1 && lo->kind == NEST_CONST &&
                         lo->u.c.i == 0 && hi->kind == NEST_CONST;
    c->ids[c->depth] = id;
    c->vars[c->depth++] = var;
    isl_ast_node *body = isl_ast_node_for_get_body(n);
    node(c, body, &s->u.loop.body);
    isl_ast_node_free(body);
    c->depth--;
  }
  isl_id_free(id);
  isl_ast_expr_free(it);
  isl_ast_expr_free(init);
  isl_ast_expr_free(cond);
  isl_ast_expr_free(inc);
}

/* Converts the user node n (a call "Si(e0, e1, ...)") through the caller's emit. */
static void user(Conv *c, isl_ast_node *n, NestBlock *b) {
  isl_ast_expr *call = isl_ast_node_user_get_expr(n);
  isl_ast_expr *name = isl_ast_expr_op_get_arg(call, 0);
  isl_id *id = isl_ast_expr_get_id(name);
  int stmt = -1, nargs = (int)isl_ast_expr_op_get_n_arg(call) - 1;
  if (id && sscanf(isl_id_get_name(id), "S%d", &stmt) != 1) stmt = -1;
  NestExpr *iters[CG_TILE_MAX_DIMS];
  if (stmt < 0 || stmt >= c->t->nstmts || nargs != c->t->stmts[stmt].ndims) refuse(c);
  for (int i = 0; i < nargs && !c->unsupported; i++) iters[i] = arg(c, call, i + 1);
  if (!c->unsupported && !c->p->arena.failed) c->t->emit(c->t->user, b, stmt, iters);
  isl_id_free(id);
  isl_ast_expr_free(name);
  isl_ast_expr_free(call);
}

/* Converts the AST node n into statements appended to b. */
static void node(Conv *c, isl_ast_node *n, NestBlock *b) {
  switch (isl_ast_node_get_type(n)) {
  case isl_ast_node_for: for_loop(c, n, b); return;
  case isl_ast_node_block: block(c, n, b); return;
  case isl_ast_node_user: user(c, n, b); return;
  case isl_ast_node_mark: {
    isl_ast_node *child = isl_ast_node_mark_get_node(n);
    node(c, child, b);
    isl_ast_node_free(child);
    return;
  }
  case isl_ast_node_if: {
    if (isl_ast_node_if_has_else_node(n) != isl_bool_false) {
      refuse(c);
      return;
    }
    isl_ast_expr *cond = isl_ast_node_if_get_cond(n);
    NestExpr *g = guard(c, cond);
    isl_ast_expr_free(cond);
    int var = cg_nest_var(c->p, c->k, "if");
    NestStmt *s = c->unsupported ? NULL : cg_loop(c->p, b, var, cg_idx(c->p, 0), g);
    if (!s) return;
    isl_ast_node *then = isl_ast_node_if_get_then_node(n);
    node(c, then, &s->u.loop.body);
    isl_ast_node_free(then);
    return;
  }
  default: refuse(c); return;
  }
}

bool cg_tile_build(NestProgram *p, NestKernel *k, NestBlock *b, const CgTileNest *t) {
  if (t->nout < 1 || t->nout > CG_TILE_MAX_DIMS || t->nstmts < 1 || t->nstmts > CG_TILE_MAX_STMTS) return false;
  int64_t tile[CG_TILE_MAX_DIMS];
  for (int d = 0; d < t->nout; d++) tile[d] = t->tile[d] < t->extent[d] ? t->tile[d] : t->extent[d];
  isl_ctx *ctx = isl_ctx_alloc();
  if (!ctx) return false;
  isl_options_set_on_error(ctx, ISL_ON_ERROR_CONTINUE);
  isl_options_set_tile_scale_tile_loops(ctx, 0);
  isl_options_set_tile_shift_point_loops(ctx, 0);
  isl_schedule *sched = schedule(ctx, t, tile);
  isl_ast_build *build = isl_ast_build_alloc(ctx);
  isl_ast_node *tree = sched ? isl_ast_build_node_from_schedule(build, sched) : NULL;
  int nvars = k->nvars;
  NestBlock out = {0};
  Conv c = {.p = p, .k = k, .t = t, .top = &out, .in_kernel_body = b == &k->body};
  if (tree) node(&c, tree, &out);
  bool ok = tree && !c.unsupported;
  if (ok) *b = out;
  else k->nvars = nvars;
  isl_ast_node_free(tree);
  isl_ast_build_free(build);
  isl_ctx_free(ctx);
  return ok;
}

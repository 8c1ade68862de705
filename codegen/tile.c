/* tile.c — tiled loop nests through ISL (codegen/tile.h): the statements' domains and the
 * shared outer band become an ISL schedule tree, the band is tiled, the point loops sunk
 * below each statement's own loops, the full tiles isolated; the AST ISL generates from it is
 * converted to NestStmt loops. Every ISL object is freed before returning. */
#include <stdlib.h>
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

/* Appends "[d_from, ..., d_(to-1)]". */
static void put_dims(IrText *t, int from, int to) {
  ir_text_add(t, "[");
  for (int d = from; d < to; d++) ir_text_add(t, "%sd%d", d > from ? ", " : "", d);
  ir_text_add(t, "]");
}

/* Appends the tuple "Si[d0, ..., d(n-1)]". */
static void put_tuple(IrText *t, const char *name, int i, int n) {
  ir_text_add(t, "%s%d", name, i);
  put_dims(t, 0, n);
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

/* The sizes and offsets of one level of tiles (or none: each point its own). */
typedef struct Level {
  const int64_t *size;   /* per dimension d (absolute index), or NULL: 1 */
  const int64_t *shift;  /* per dimension, or NULL: 0 */
} Level;

/* Appends the schedule expression of dimension d at level l: "(d3)", or "(floor((d3 - 1)/16))". */
static void put_member(IrText *s, int d, const Level *l) {
  int64_t size = l->size ? l->size[d] : 1, shift = l->shift ? l->shift[d] : 0;
  if (size == 1 && shift == 0) ir_text_add(s, "(d%d)", d);
  else ir_text_add(s, "(floor((d%d - %lld)/%lld))", d, (long long)shift, (long long)size);
}

/* The partial schedule of dimensions [from, to) of every statement (only >= 0: that one
 * alone) at level l, as a multi union piecewise affine "[{ S0[..] -> [(d_from)]; ... }, ...]". */
static isl_multi_union_pw_aff *band(isl_ctx *ctx, const CgTileNest *t, int only, int from, int to, const Level *l) {
  IrText s = {0};
  ir_text_add(&s, "[");
  for (int d = from; d < to; d++) {
    ir_text_add(&s, "%s{ ", d > from ? ", " : "");
    for (int i = 0; i < t->nstmts; i++) {
      if (only >= 0 && i != only) continue;
      ir_text_add(&s, "%s", i && only < 0 ? "; " : "");
      put_tuple(&s, "S", i, t->stmts[i].ndims);
      ir_text_add(&s, " -> [");
      put_member(&s, d, l);
      ir_text_add(&s, "]");
    }
    ir_text_add(&s, " }");
  }
  ir_text_add(&s, "]");
  isl_multi_union_pw_aff *m = s.failed ? NULL : isl_multi_union_pw_aff_read_from_str(ctx, s.s);
  ir_free(s.s);
  return m;
}

/* The register tiles (tile coordinates t; tile d covers [T_d t_d + o_d, T_d t_d + o_d + T_d))
 * that are full: every point of the tile is an output, and for each statement every point
 * has the same own (reduction) instances, so the point loops below the statement's own loops
 * have constant bounds. A convolution's tile on the first row, whose taps kh = 0 fall in the
 * padding for every point alike, is full; a tile whose columns differ in their taps is not. */
static isl_set *full_tiles(isl_ctx *ctx, const CgTileNest *t, const Level *reg) {
  int n = t->nout;
  IrText s = {0};
  ir_text_add(&s, "{ ");
  put_dims(&s, 0, n);
  ir_text_add(&s, " -> [");
  for (int d = 0; d < n; d++) ir_text_add(&s, "%st%d", d ? ", " : "", d);
  ir_text_add(&s, "] : ");
  for (int d = 0; d < n; d++) {
    long long size = (long long)reg->size[d], shift = (long long)reg->shift[d];
    ir_text_add(&s, "%s%lld t%d + %lld <= d%d < %lld t%d + %lld", d ? " and " : "", size, d, shift, d, size, d,
                size + shift);
  }
  ir_text_add(&s, " }");
  isl_map *tile_of = s.failed ? NULL : isl_map_read_from_str(ctx, s.s);
  s.len = 0;
  ir_text_add(&s, "{ ");
  put_dims(&s, 0, n);
  ir_text_add(&s, " : ");
  put_box(&s, n, t->extent);
  ir_text_add(&s, " }");
  isl_set *outputs = s.failed ? NULL : isl_set_read_from_str(ctx, s.s);
  /* The tiles holding a point that is no output. */
  isl_set *bad = isl_set_apply(isl_set_complement(isl_set_copy(outputs)), isl_map_copy(tile_of));
  isl_map *points_of = isl_map_reverse(isl_map_copy(tile_of)); /* t -> its points */
  for (int i = 0; i < t->nstmts; i++) {
    const CgTileStmt *st = &t->stmts[i];
    if (st->ndims == n) continue;
    s.len = 0;
    ir_text_add(&s, "{ ");
    put_dims(&s, 0, n);
    ir_text_add(&s, " -> ");
    put_dims(&s, n, st->ndims);
    ir_text_add(&s, " : ");
    put_box(&s, st->ndims, st->extent);
    if (st->where) ir_text_add(&s, " and %s", st->where);
    ir_text_add(&s, " }");
    isl_map *own = s.failed ? NULL : isl_map_read_from_str(ctx, s.s); /* point -> its own instances */
    /* t -> [p -> r]: every point p of tile t paired with every instance r some point of t has */
    isl_map *tile_own = isl_map_apply_range(isl_map_copy(points_of), isl_map_copy(own));
    isl_map *pairs = isl_map_range_product(isl_map_copy(points_of), tile_own);
    isl_map *present = isl_map_intersect_range(isl_map_copy(pairs), isl_map_wrap(own));
    bad = isl_set_union(bad, isl_map_domain(isl_map_subtract(pairs, present)));
  }
  ir_free(s.s);
  isl_map_free(points_of);
  isl_set *tiles = isl_set_apply(outputs, tile_of);
  return isl_set_coalesce(isl_set_subtract(tiles, bad));
}

/* Inserts the register tile band (statement only, or every one when only < 0) at node, its
 * full tiles isolated; nouter is the number of schedule dimensions above it. Returns the
 * band's child. */
static isl_schedule_node *register_band(isl_schedule_node *node, const CgTileNest *t, int only, const Level *reg,
                                        isl_set *full, int nouter) {
  isl_ctx *ctx = isl_schedule_node_get_ctx(node);
  node = isl_schedule_node_insert_partial_schedule(node, band(ctx, t, only, 0, t->nout, reg));
  isl_set *outer = isl_set_universe(isl_space_set_alloc(ctx, 0, (unsigned)nouter));
  isl_set *iso = isl_map_wrap(isl_map_from_domain_and_range(outer, isl_set_copy(full)));
  iso = isl_set_set_tuple_name(iso, "isolate");
  node = isl_schedule_node_band_set_ast_build_options(node, isl_union_set_from_set(iso));
  return isl_schedule_node_child(node, 0);
}

/* The statement's own dimensions' band and, below it, the point band of the output's. */
static isl_schedule_node *inner_bands(isl_schedule_node *node, const CgTileNest *t, int i) {
  isl_ctx *ctx = isl_schedule_node_get_ctx(node);
  const Level plain = {NULL, NULL};
  if (t->stmts[i].ndims > t->nout) {
    node = isl_schedule_node_insert_partial_schedule(node, band(ctx, t, i, t->nout, t->stmts[i].ndims, &plain));
    node = isl_schedule_node_insert_mark(node, isl_id_alloc(ctx, "reduction", NULL));
    node = isl_schedule_node_child(isl_schedule_node_child(node, 0), 0);
  }
  node = isl_schedule_node_insert_partial_schedule(node, band(ctx, t, i, 0, t->nout, &plain));
  /* Only a reduction's point loops are unrolled (to keep its tile in registers); the other
   * statements' are left to the vectorizer. */
  if (t->stmts[i].ndims == t->nout) return node;
  return isl_schedule_node_insert_mark(node, isl_id_alloc(ctx, "points", NULL));
}

/* True when statement i's first own dimension is cut into reduction blocks. */
static bool blocked(const CgTileNest *t, int i) {
  const CgTileStmt *st = &t->stmts[i];
  return st->ndims > t->nout && st->block > 0 && st->block < st->extent[t->nout];
}

/* The schedule of t, top down: the cache tile band over every statement (when t has cache
 * tiles); then, when no statement's reduction is blocked, the register tile band shared by
 * every statement; the sequence of the statements; for each statement, its reduction block
 * band (when blocked) and its own register tile band (when the band is not shared), its own
 * loops and the point loops. NULL when ISL fails. */
static isl_schedule *schedule(isl_ctx *ctx, const CgTileNest *t, const Level *cache, const Level *reg) {
  isl_union_set *dom = domains(ctx, t);
  if (!dom) return NULL;
  bool shared = true;
  for (int i = 0; i < t->nstmts; i++) shared = shared && !blocked(t, i);
  isl_set *full = full_tiles(ctx, t, reg);
  isl_schedule *empty = isl_schedule_from_domain(isl_union_set_copy(dom));
  isl_schedule_node *node = isl_schedule_node_child(isl_schedule_get_root(empty), 0);
  isl_schedule_free(empty);
  int nouter = 0;
  if (cache->size) {
    node = isl_schedule_node_child(isl_schedule_node_insert_partial_schedule(node, band(ctx, t, -1, 0, t->nout, cache)), 0);
    nouter = t->nout;
  }
  if (shared) node = register_band(node, t, -1, reg, full, nouter);
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
    if (t->nstmts > 1) node = isl_schedule_node_child(isl_schedule_node_child(node, i), 0);
    int depth = isl_schedule_node_get_tree_depth(node);
    if (blocked(t, i)) {
      int64_t size[CG_TILE_MAX_DIMS + 1] = {0};
      size[t->nout] = t->stmts[i].block;
      const Level kblock = {size, NULL};
      node = isl_schedule_node_insert_partial_schedule(node, band(ctx, t, i, t->nout, t->nout + 1, &kblock));
      node = isl_schedule_node_child(node, 0);
    }
    if (!shared) node = register_band(node, t, i, reg, full, nouter + blocked(t, i));
    node = inner_bands(node, t, i);
    node = isl_schedule_node_ancestor(node, isl_schedule_node_get_tree_depth(node) - depth);
    if (t->nstmts > 1) node = isl_schedule_node_parent(isl_schedule_node_parent(node));
  }
  isl_set_free(full);
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
  isl_ast_expr *base[4 * CG_TILE_MAX_DIMS + 8]; /* NULL, or the iterator's value is base + var
                                                 * (a loop of constant trip count from 0) */
  int depth;
  NestBlock *top;                        /* the block the nest is built in */
  bool in_kernel_body;                   /* that block becomes the kernel's body */
  bool unsupported;                      /* a construct the nest IR cannot hold */
  int points;                            /* > 0: inside the point loops of a register tile */
  int reduction;                         /* > 0: inside a statement's own (reduction) loops */
} Conv;

/* Marks the conversion unsupported and returns NULL. */
static NestExpr *refuse(Conv *c) {
  c->unsupported = true;
  return NULL;
}

static NestExpr *expr(Conv *c, isl_ast_expr *e);

/* The value of iterator id (its loop variable, plus the loop's base when the loop counts
 * from 0), or NULL (refused) when no enclosing loop has it. */
static NestExpr *iterator(Conv *c, isl_id *id) {
  for (int i = c->depth - 1; i >= 0; i--) {
    if (c->ids[i] != id) continue;
    NestExpr *v = cg_var(c->p, c->vars[i]);
    return c->base[i] ? cg_add(c->p, expr(c, c->base[i]), v) : v;
  }
  return refuse(c);
}

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
    NestExpr *x = iterator(c, id);
    isl_id_free(id);
    return x;
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

/* An index expression as c0 + sum of coef[i] * var[i] (loop variables), when it is one. */
typedef struct Linear {
  int64_t c0;
  int n;
  int var[16];
  int64_t coef[16];
} Linear;

/* Adds scale * e to l; false when e is not linear in the loop variables (or too long). */
static bool linear_add(Linear *l, const NestExpr *e, int64_t scale) {
  if (e->kind == NEST_CONST && e->dtype == DT_I64) {
    l->c0 += scale * e->u.c.i;
    return true;
  }
  if (e->kind == NEST_VAR) {
    for (int i = 0; i < l->n; i++)
      if (l->var[i] == e->u.var) {
        l->coef[i] += scale;
        return true;
      }
    if (l->n == 16) return false;
    l->var[l->n] = e->u.var;
    l->coef[l->n++] = scale;
    return true;
  }
  if (e->kind != NEST_BINARY) return false;
  const NestExpr *a = e->u.bin.a, *b = e->u.bin.b;
  if (e->u.bin.op == NEST_ADD) return linear_add(l, a, scale) && linear_add(l, b, scale);
  if (e->u.bin.op != NEST_MUL) return false;
  if (b->kind == NEST_CONST && b->dtype == DT_I64) return linear_add(l, a, scale * b->u.c.i);
  if (a->kind == NEST_CONST && a->dtype == DT_I64) return linear_add(l, b, scale * a->u.c.i);
  return false;
}

/* hi - lo, when it is a constant (the same loop variables cancel); else -1. */
static int64_t const_difference(const NestExpr *hi, const NestExpr *lo) {
  Linear l = {0};
  if (!linear_add(&l, hi, 1) || !linear_add(&l, lo, -1)) return -1;
  for (int i = 0; i < l.n; i++)
    if (l.coef[i]) return -1;
  return l.c0;
}

/* True when block b holds a loop unrolled whole (directly or inside its loops). */
static bool unrolls(const NestBlock *b) {
  for (int i = 0; i < b->n; i++) {
    const NestStmt *s = b->stmts[i];
    if (s->kind == NEST_LOOP && (s->u.loop.unroll == NEST_UNROLL_FULL || unrolls(&s->u.loop.body))) return true;
  }
  return false;
}

/* Converts the for node n into a loop appended to b. A loop whose bounds differ by a
 * constant but are not constants (a full tile's point loop: [4 t, 4 t + 4)) counts from 0 to
 * that constant, its iterator being the lower bound plus the loop variable, so the trip count
 * is plain to LLVM (which unrolls the loop and keeps the tile in registers). */
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
  int64_t trip = lo && hi && step && step->u.c.i == 1 ? const_difference(hi, lo) : -1;
  c->base[c->depth] = NULL;
  if (trip > 0 && lo->kind != NEST_CONST) {
    c->base[c->depth] = init;
    lo = cg_idx(c->p, 0);
    hi = cg_idx(c->p, trip);
  }
  int var = cg_nest_var(c->p, c->k, isl_id_get_name(id));
  NestStmt *s = c->unsupported ? NULL : cg_loop(c->p, b, var, lo, hi);
  if (s) {
    s->u.loop.step = step->u.c.i;
    s->u.loop.unroll = c->points > 0 && trip > 0 ? NEST_UNROLL_FULL : NEST_UNROLL_AUTO;
    /* The outermost loops are tile loops of the output band: independent iterations. */
    s->u.loop.parallel = top && c->t->parallel && s->u.loop.step == 1 && lo->kind == NEST_CONST &&
                         lo->u.c.i == 0 && hi->kind == NEST_CONST;
    c->ids[c->depth] = id;
    c->vars[c->depth++] = var;
    isl_ast_node *body = isl_ast_node_for_get_body(n);
    node(c, body, &s->u.loop.body);
    isl_ast_node_free(body);
    c->depth--;
    /* A reduction loop around a full tile's unrolled point loops stays a loop. */
    if (c->reduction > 0 && c->points == 0 && unrolls(&s->u.loop.body)) s->u.loop.unroll = NEST_UNROLL_NEVER;
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
    isl_id *mark = isl_ast_node_mark_get_id(n);
    bool points = mark && !strcmp(isl_id_get_name(mark), "points");
    bool reduction = mark && !strcmp(isl_id_get_name(mark), "reduction");
    isl_id_free(mark);
    isl_ast_node *child = isl_ast_node_mark_get_node(n);
    c->points += points;
    c->reduction += reduction;
    node(c, child, b);
    c->points -= points;
    c->reduction -= reduction;
    isl_ast_node_free(child);
    return;
  }
  case isl_ast_node_if: {
    /* if (g) A else B: a loop of g iterations (0 or 1) over A, then one of 1 - g over B */
    isl_ast_expr *cond = isl_ast_node_if_get_cond(n);
    bool has_else = isl_ast_node_if_has_else_node(n) == isl_bool_true;
    NestExpr *g = guard(c, cond), *not_g = has_else ? cg_add(c->p, cg_idx(c->p, 1), cg_mulc(c->p, guard(c, cond), -1)) : NULL;
    isl_ast_expr_free(cond);
    for (int arm = 0; arm < 1 + has_else && !c->unsupported; arm++) {
      NestExpr *trips = arm ? not_g : g;
      NestStmt *s = cg_loop(c->p, b, cg_nest_var(c->p, c->k, arm ? "else" : "if"), cg_idx(c->p, 0), trips);
      if (!s) return;
      isl_ast_node *body = arm ? isl_ast_node_if_get_else_node(n) : isl_ast_node_if_get_then_node(n);
      node(c, body, &s->u.loop.body);
      isl_ast_node_free(body);
    }
    return;
  }
  default: refuse(c); return;
  }
}

/* ---- the ASTs of the problems seen, kept for the process ------------------------------------ */

/* ISL's AST generation is most of the time lowering takes, and a model repeats its shapes
 * (ResNet-50's 53 convolutions have 19 problems; a fault-injection test lowers one model
 * thousands of times), so each problem's AST is built once and kept, in one isl_ctx that
 * lives until the process exits, keyed by the text of the problem. The compiler lowers on
 * one thread (this cache is not thread-safe). */
enum { TREE_CACHE_MAX = 256 };
static struct {
  isl_ctx *ctx;
  int n;
  char *key[TREE_CACHE_MAX];
  isl_ast_node *tree[TREE_CACHE_MAX];
} trees;

/* Frees the cached ASTs (when the cache is full: a new problem starts it again). */
static void trees_free_entries(void) {
  for (int i = 0; i < trees.n; i++) {
    free(trees.key[i]);
    isl_ast_node_free(trees.tree[i]);
  }
  trees.n = 0;
}

/* Frees the cached ASTs and their context (at exit). */
static void trees_free(void) {
  trees_free_entries();
  isl_ctx_free(trees.ctx);
  trees.ctx = NULL;
}

void cg_tile_forget(void) {
  trees_free_entries();
}

/* Appends the text of the problem: everything the AST depends on (the statements' domains,
 * the tile, cache and block sizes and offsets); not the callback or the parallel flag. */
static void problem_key(IrText *k, const CgTileNest *t, const Level *reg, const Level *cache) {
  ir_text_add(k, "%d", t->nout);
  for (int d = 0; d < t->nout; d++)
    ir_text_add(k, " %lld/%lld+%lld/%lld+%lld", (long long)t->extent[d], (long long)reg->size[d], (long long)reg->shift[d],
                cache->size ? (long long)cache->size[d] : 0LL, (long long)cache->shift[d]);
  for (int i = 0; i < t->nstmts; i++) {
    const CgTileStmt *st = &t->stmts[i];
    ir_text_add(k, "; S%d", st->ndims);
    for (int d = 0; d < st->ndims; d++) ir_text_add(k, " %lld", (long long)st->extent[d]);
    ir_text_add(k, " b%lld w %s", (long long)st->block, st->where ? st->where : "-");
  }
}

/* A copy of the AST of problem t (text key), built and kept when not seen before; NULL when
 * ISL fails on it or an allocation fails (then nothing is kept). */
static isl_ast_node *cached_tree(const char *key, const CgTileNest *t, const Level *reg, const Level *cache) {
  for (int i = 0; i < trees.n; i++)
    if (!strcmp(trees.key[i], key)) return isl_ast_node_copy(trees.tree[i]);
  if (!trees.ctx) {
    if (!(trees.ctx = isl_ctx_alloc())) return NULL;
    isl_options_set_on_error(trees.ctx, ISL_ON_ERROR_CONTINUE);
    atexit(trees_free);
  }
  isl_schedule *sched = schedule(trees.ctx, t, cache, reg);
  isl_ast_build *build = isl_ast_build_alloc(trees.ctx);
  isl_ast_node *tree = sched ? isl_ast_build_node_from_schedule(build, sched) : NULL;
  isl_ast_build_free(build);
  if (!tree) return NULL; /* not kept: the failure may be a failed allocation */
  if (trees.n == TREE_CACHE_MAX) trees_free_entries();
  char *copy = malloc(strlen(key) + 1);
  if (copy) {
    strcpy(copy, key);
    trees.key[trees.n] = copy;
    trees.tree[trees.n++] = isl_ast_node_copy(tree);
  }
  return tree;
}

bool cg_tile_build(NestProgram *p, NestKernel *k, NestBlock *b, const CgTileNest *t) {
  if (t->nout < 1 || t->nout > CG_TILE_MAX_DIMS || t->nstmts < 1 || t->nstmts > CG_TILE_MAX_STMTS) return false;
  /* Tile sizes larger than a dimension are cut to it, cache tiles rounded up to a multiple of
   * the register tile's; shifts must lie inside a tile. */
  int64_t tile[CG_TILE_MAX_DIMS], cache[CG_TILE_MAX_DIMS], shift[CG_TILE_MAX_DIMS];
  for (int d = 0; d < t->nout; d++) {
    tile[d] = t->tile[d] < t->extent[d] ? t->tile[d] : t->extent[d];
    shift[d] = t->shift ? t->shift[d] : 0;
    if (tile[d] < 1 || shift[d] < 0 || shift[d] >= tile[d]) return false;
    int64_t c = t->cache && t->cache[d] < t->extent[d] ? t->cache[d] : t->extent[d];
    cache[d] = (c + tile[d] - 1) / tile[d] * tile[d];
  }
  /* A cache tile that covers its dimension is no loop, whatever the register tiles' shift. */
  int64_t cache_shift[CG_TILE_MAX_DIMS];
  for (int d = 0; d < t->nout; d++) cache_shift[d] = cache[d] >= t->extent[d] ? 0 : shift[d];
  const Level reg = {tile, shift}, cache_level = {t->cache ? cache : NULL, cache_shift};
  IrText key = {0};
  problem_key(&key, t, &reg, &cache_level);
  isl_ast_node *tree = key.failed ? NULL : cached_tree(key.s, t, &reg, &cache_level);
  ir_free(key.s);
  int nvars = k->nvars;
  NestBlock out = {0};
  Conv c = {.p = p, .k = k, .t = t, .top = &out, .in_kernel_body = b == &k->body};
  if (tree) node(&c, tree, &out);
  bool ok = tree && !c.unsupported;
  if (ok) *b = out;
  else k->nvars = nvars;
  isl_ast_node_free(tree);
  return ok;
}

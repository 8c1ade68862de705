/* nest.c — building and printing the loop-nest IR (codegen/nest.h). */
#include <string.h>

#include "codegen/nest.h"

NestProgram *cg_nest_new(const char *name) {
  NestProgram *p = ir_calloc(1, sizeof *p);
  if (!p) return NULL;
  ir_arena_init(&p->arena);
  p->name = ir_arena_strdup(&p->arena, name ? name : "model");
  if (!p->name) { cg_nest_free(p); return NULL; }
  return p;
}

void cg_nest_free(NestProgram *p) {
  if (!p) return;
  ir_free(p->bufs);
  ir_free(p->kernels);
  ir_free(p->input_bufs);
  ir_free(p->output_bufs);
  ir_free(p->weights);
  ir_arena_free(&p->arena);
  ir_free(p);
}

/* Grows *arr (elements of size sz, *cap of them) to hold n; false when out of memory. */
static bool grow(void **arr, int *cap, int n, size_t sz) {
  if (n <= *cap) return true;
  int c = *cap ? *cap * 2 : 8;
  while (c < n) c *= 2;
  void *q = ir_realloc(*arr, (size_t)c * sz);
  if (!q) return false;
  *arr = q;
  *cap = c;
  return true;
}

/* Rounds n up to a multiple of 64. */
static int64_t align64(int64_t n) { return (n + 63) & ~(int64_t)63; }

/* Makes input_bufs / output_bufs long enough for position index; false on OOM. */
static bool set_position(int **arr, int *count, int index, int buf) {
  if (index >= *count) {
    int *q = ir_realloc(*arr, (size_t)(index + 1) * sizeof *q);
    if (!q) return false;
    for (int i = *count; i <= index; i++) q[i] = -1;
    *arr = q;
    *count = index + 1;
  }
  (*arr)[index] = buf;
  return true;
}

/* Marks p as failed (out of memory) and returns -1. */
static int failed(NestProgram *p) {
  p->arena.failed = true;
  return -1;
}

int cg_nest_add_buf(NestProgram *p, NestBufKind kind, const char *name, DType dtype, int64_t numel, int index,
                    const void *data) {
  if (!grow((void **)&p->bufs, &p->cap_bufs, p->nbufs + 1, sizeof *p->bufs)) return failed(p);
  NestBuf b = {0};
  b.name = ir_arena_strdup(&p->arena, name ? name : "t");
  b.kind = kind;
  b.dtype = dtype;
  b.numel = numel;
  b.bytes = numel * ir_dtype_size(dtype);
  b.index = index;
  if (!b.name) return failed(p);
  int id = p->nbufs;
  switch (kind) {
  case NEST_BUF_INPUT:
    if (!set_position(&p->input_bufs, &p->ninputs, index, id)) return failed(p);
    break;
  case NEST_BUF_OUTPUT:
    if (!set_position(&p->output_bufs, &p->noutputs, index, id)) return failed(p);
    break;
  case NEST_BUF_WEIGHT: {
    b.offset = p->weights_size;
    int64_t end = align64(b.offset + b.bytes);
    uint8_t *w = ir_realloc(p->weights, (size_t)(end ? end : 1));
    if (!w) return failed(p);
    memset(w + b.offset, 0, (size_t)(end - b.offset));
    if (data && b.bytes) memcpy(w + b.offset, data, (size_t)b.bytes);
    p->weights = w;
    p->weights_size = end;
    break;
  }
  case NEST_BUF_WORKSPACE:
    b.offset = p->workspace_size;
    p->workspace_size = align64(b.offset + b.bytes);
    break;
  }
  p->bufs[p->nbufs++] = b;
  return id;
}

NestKernel *cg_nest_kernel(NestProgram *p, const char *hint, const char *op, Loc loc) {
  if (!grow((void **)&p->kernels, &p->cap_kernels, p->nkernels + 1, sizeof *p->kernels)) {
    failed(p);
    return NULL;
  }
  NestKernel *k = ir_arena_alloc(&p->arena, sizeof *k);
  char name[96];
  snprintf(name, sizeof name, "k%d_%.64s", p->nkernels, hint ? hint : "kernel");
  for (char *c = name; *c; c++)
    if (!((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') || (*c >= '0' && *c <= '9'))) *c = '_';
  if (!k || !(k->name = ir_arena_strdup(&p->arena, name)) || !(k->op = ir_arena_strdup(&p->arena, op ? op : "")))
    return NULL;
  k->loc = loc;
  p->kernels[p->nkernels++] = k;
  return k;
}

int cg_nest_var(NestProgram *p, NestKernel *k, const char *hint) {
  const char **names = ir_arena_alloc(&p->arena, (size_t)(k->nvars + 1) * sizeof *names);
  if (!names) return 0;
  if (k->nvars) memcpy(names, k->var_names, (size_t)k->nvars * sizeof *names);
  names[k->nvars] = ir_arena_strdup(&p->arena, hint ? hint : "i");
  if (!names[k->nvars]) names[k->nvars] = "i";
  k->var_names = names;
  return k->nvars++;
}

int cg_nest_local(NestProgram *p, NestKernel *k, DType t) {
  DType *types = ir_arena_alloc(&p->arena, (size_t)(k->nlocals + 1) * sizeof *types);
  if (!types) return 0;
  if (k->nlocals) memcpy(types, k->local_dtypes, (size_t)k->nlocals * sizeof *types);
  types[k->nlocals] = t;
  k->local_dtypes = types;
  return k->nlocals++;
}

/* ---- expressions ---------------------------------------------------------------------------------- */

/* A new expression node of kind and dtype, or NULL. */
static NestExpr *node(NestProgram *p, NestExprKind kind, DType t) {
  NestExpr *e = ir_arena_alloc(&p->arena, sizeof *e);
  if (!e) return NULL;
  e->kind = kind;
  e->dtype = t;
  return e;
}

NestExpr *cg_const_f(NestProgram *p, DType t, double v) {
  NestExpr *e = node(p, NEST_CONST, t);
  if (e) e->u.c.f = v;
  return e;
}

NestExpr *cg_const_i(NestProgram *p, DType t, int64_t v) {
  NestExpr *e = node(p, NEST_CONST, t);
  if (e) e->u.c.i = v;
  return e;
}

NestExpr *cg_idx(NestProgram *p, int64_t v) { return cg_const_i(p, DT_I64, v); }

NestExpr *cg_var(NestProgram *p, int var) {
  NestExpr *e = node(p, NEST_VAR, DT_I64);
  if (e) e->u.var = var;
  return e;
}

NestExpr *cg_local(NestProgram *p, const NestKernel *k, int local) {
  NestExpr *e = node(p, NEST_LOCAL, k->local_dtypes ? k->local_dtypes[local] : DT_F32);
  if (e) e->u.local = local;
  return e;
}

NestExpr *cg_load(NestProgram *p, int buf, NestExpr *index) {
  if (!index || buf < 0) return NULL;
  NestExpr *e = node(p, NEST_LOAD, p->bufs[buf].dtype);
  if (!e) return NULL;
  e->u.load.buf = buf;
  e->u.load.index = index;
  return e;
}

bool cg_binop_is_compare(NestBinOp op) { return op >= NEST_LT && op <= NEST_OR; }

NestExpr *cg_bin(NestProgram *p, NestBinOp op, NestExpr *a, NestExpr *b) {
  if (!a || !b) return NULL;
  NestExpr *e = node(p, NEST_BINARY, cg_binop_is_compare(op) ? DT_BOOL : a->dtype);
  if (!e) return NULL;
  e->u.bin.op = op;
  e->u.bin.a = a;
  e->u.bin.b = b;
  return e;
}

NestExpr *cg_un(NestProgram *p, NestUnOp op, NestExpr *a) {
  if (!a) return NULL;
  NestExpr *e = node(p, NEST_UNARY, a->dtype);
  if (!e) return NULL;
  e->u.un.op = op;
  e->u.un.a = a;
  return e;
}

NestExpr *cg_select(NestProgram *p, NestExpr *cond, NestExpr *a, NestExpr *b) {
  if (!cond || !a || !b) return NULL;
  NestExpr *e = node(p, NEST_SELECT, a->dtype);
  if (!e) return NULL;
  e->u.sel.cond = cond;
  e->u.sel.a = a;
  e->u.sel.b = b;
  return e;
}

NestExpr *cg_cast(NestProgram *p, DType t, NestExpr *a) {
  if (!a || a->dtype == t) return a;
  NestExpr *e = node(p, NEST_CAST, t);
  if (e) e->u.cast.a = a;
  return e;
}

/* True when e is the DT_I64 constant v. */
static bool is_idx(const NestExpr *e, int64_t v) {
  return e && e->kind == NEST_CONST && e->dtype == DT_I64 && e->u.c.i == v;
}

NestExpr *cg_add(NestProgram *p, NestExpr *a, NestExpr *b) {
  if (!a || !b) return NULL;
  if (is_idx(a, 0)) return b;
  if (is_idx(b, 0)) return a;
  if (a->kind == NEST_CONST && b->kind == NEST_CONST && a->dtype == DT_I64 && b->dtype == DT_I64)
    return cg_idx(p, a->u.c.i + b->u.c.i);
  return cg_bin(p, NEST_ADD, a, b);
}

NestExpr *cg_mulc(NestProgram *p, NestExpr *a, int64_t c) {
  if (!a) return NULL;
  if (c == 0) return cg_idx(p, 0);
  if (c == 1) return a;
  if (a->kind == NEST_CONST && a->dtype == DT_I64) return cg_idx(p, a->u.c.i * c);
  return cg_bin(p, NEST_MUL, a, cg_idx(p, c));
}

/* ---- statements ------------------------------------------------------------------------------------ */

/* Appends a new statement of kind to b; NULL on OOM. */
static NestStmt *stmt(NestProgram *p, NestBlock *b, NestStmtKind kind) {
  NestStmt *s = ir_arena_alloc(&p->arena, sizeof *s);
  if (!s) return NULL;
  if (b->n == b->cap) {
    int cap = b->cap ? b->cap * 2 : 4;
    NestStmt **q = ir_arena_alloc(&p->arena, (size_t)cap * sizeof *q);
    if (!q) return NULL;
    if (b->n) memcpy(q, b->stmts, (size_t)b->n * sizeof *q);
    b->stmts = q;
    b->cap = cap;
  }
  s->kind = kind;
  b->stmts[b->n++] = s;
  return s;
}

NestStmt *cg_loop(NestProgram *p, NestBlock *b, int var, NestExpr *lo, NestExpr *hi) {
  if (!lo || !hi) return NULL;
  NestStmt *s = stmt(p, b, NEST_LOOP);
  if (!s) return NULL;
  s->u.loop.var = var;
  s->u.loop.lo = lo;
  s->u.loop.hi = hi;
  s->u.loop.step = 1;
  return s;
}

NestStmt *cg_store(NestProgram *p, NestBlock *b, int buf, NestExpr *index, NestExpr *value) {
  if (!index || !value) return NULL;
  NestStmt *s = stmt(p, b, NEST_STORE);
  if (!s) return NULL;
  s->u.store.buf = buf;
  s->u.store.index = index;
  s->u.store.value = value;
  return s;
}

NestStmt *cg_decl(NestProgram *p, NestBlock *b, int local, NestExpr *init) {
  if (!init) return NULL;
  NestStmt *s = stmt(p, b, NEST_DECL);
  if (!s) return NULL;
  s->u.decl.local = local;
  s->u.decl.init = init;
  return s;
}

NestStmt *cg_assign(NestProgram *p, NestBlock *b, int local, NestExpr *value) {
  if (!value) return NULL;
  NestStmt *s = stmt(p, b, NEST_ASSIGN);
  if (!s) return NULL;
  s->u.assign.local = local;
  s->u.assign.value = value;
  return s;
}

/* ---- printing ------------------------------------------------------------------------------------ */

const char *cg_binop_name(NestBinOp op) {
  static const char *const names[] = {
#define X(e, s) s,
      NEST_BINOPS(X)
#undef X
  };
  return op < NEST_BINOP_COUNT ? names[op] : "?";
}

const char *cg_unop_name(NestUnOp op) {
  static const char *const names[] = {
#define X(e, s) s,
      NEST_UNOPS(X)
#undef X
  };
  return op < NEST_UNOP_COUNT ? names[op] : "?";
}

static void print_expr(FILE *f, const NestProgram *p, const NestKernel *k, const NestExpr *e) {
  switch (e->kind) {
  case NEST_CONST:
    if (ir_dtype_is_float(e->dtype)) fprintf(f, "%.9g", e->u.c.f);
    else fprintf(f, "%lld", (long long)e->u.c.i);
    if (e->dtype != DT_I64) fprintf(f, ":%s", ir_dtype_name(e->dtype));
    break;
  case NEST_VAR: fprintf(f, "%s%d", k->var_names[e->u.var], e->u.var); break;
  case NEST_LOCAL: fprintf(f, "$%d", e->u.local); break;
  case NEST_LOAD:
    fprintf(f, "%s[", p->bufs[e->u.load.buf].name);
    print_expr(f, p, k, e->u.load.index);
    fputc(']', f);
    break;
  case NEST_BINARY: {
    NestBinOp op = e->u.bin.op;
    bool infix = op <= NEST_DIV || (op >= NEST_LT && op <= NEST_NE);
    if (infix) {
      fputc('(', f);
      print_expr(f, p, k, e->u.bin.a);
      fprintf(f, " %s ", cg_binop_name(op));
      print_expr(f, p, k, e->u.bin.b);
      fputc(')', f);
    } else {
      fprintf(f, "%s(", cg_binop_name(op));
      print_expr(f, p, k, e->u.bin.a);
      fputs(", ", f);
      print_expr(f, p, k, e->u.bin.b);
      fputc(')', f);
    }
    break;
  }
  case NEST_UNARY:
    fprintf(f, "%s(", cg_unop_name(e->u.un.op));
    print_expr(f, p, k, e->u.un.a);
    fputc(')', f);
    break;
  case NEST_SELECT:
    fputs("select(", f);
    print_expr(f, p, k, e->u.sel.cond);
    fputs(", ", f);
    print_expr(f, p, k, e->u.sel.a);
    fputs(", ", f);
    print_expr(f, p, k, e->u.sel.b);
    fputc(')', f);
    break;
  case NEST_CAST:
    fprintf(f, "%s(", ir_dtype_name(e->dtype));
    print_expr(f, p, k, e->u.cast.a);
    fputc(')', f);
    break;
  }
}

static void print_block(FILE *f, const NestProgram *p, const NestKernel *k, const NestBlock *b, int depth) {
  for (int i = 0; i < b->n; i++) {
    const NestStmt *s = b->stmts[i];
    fprintf(f, "%*s", 2 * depth, "");
    switch (s->kind) {
    case NEST_LOOP:
      fprintf(f, "%s %s%d in [", s->u.loop.parallel ? "parallel for" : "for", k->var_names[s->u.loop.var],
              s->u.loop.var);
      print_expr(f, p, k, s->u.loop.lo);
      fputs(", ", f);
      print_expr(f, p, k, s->u.loop.hi);
      fputc(')', f);
      if (s->u.loop.step != 1) fprintf(f, " step %lld", (long long)s->u.loop.step);
      fputs(s->u.loop.unroll == NEST_UNROLL_FULL ? " unrolled:\n" : s->u.loop.unroll == NEST_UNROLL_NEVER ? " kept:\n" : ":\n", f);
      print_block(f, p, k, &s->u.loop.body, depth + 1);
      break;
    case NEST_STORE:
      fprintf(f, "%s[", p->bufs[s->u.store.buf].name);
      print_expr(f, p, k, s->u.store.index);
      fputs("] = ", f);
      print_expr(f, p, k, s->u.store.value);
      fputc('\n', f);
      break;
    case NEST_DECL:
      fprintf(f, "%s $%d = ", ir_dtype_name(k->local_dtypes[s->u.decl.local]), s->u.decl.local);
      print_expr(f, p, k, s->u.decl.init);
      fputc('\n', f);
      break;
    case NEST_ASSIGN:
      fprintf(f, "$%d = ", s->u.assign.local);
      print_expr(f, p, k, s->u.assign.value);
      fputc('\n', f);
      break;
    }
  }
}

void cg_nest_print(FILE *f, const NestProgram *p) {
  static const char *const kinds[] = {"input", "output", "weight", "workspace"};
  fprintf(f, "nest %s  # weights %lld bytes, workspace %lld bytes\n", p->name, (long long)p->weights_size,
          (long long)p->workspace_size);
  for (int i = 0; i < p->nbufs; i++) {
    const NestBuf *b = &p->bufs[i];
    fprintf(f, "  %s %s: %s[%lld]", kinds[b->kind], b->name, ir_dtype_name(b->dtype), (long long)b->numel);
    if (b->kind == NEST_BUF_INPUT || b->kind == NEST_BUF_OUTPUT) fprintf(f, " #%d\n", b->index);
    else fprintf(f, " @%lld\n", (long long)b->offset);
  }
  for (int i = 0; i < p->nkernels; i++) {
    const NestKernel *k = p->kernels[i];
    fprintf(f, "kernel %s  # %s", k->name, k->op);
    if (k->loc.file && k->loc.line) fprintf(f, " at %s:%d:%d", k->loc.file, k->loc.line, k->loc.col);
    fputc('\n', f);
    print_block(f, p, k, &k->body, 1);
  }
}

/* Marks in used[] the buffers expression x reads. */
static void used_expr(const NestExpr *x, bool *used) {
  switch (x->kind) {
  case NEST_LOAD: used[x->u.load.buf] = true; used_expr(x->u.load.index, used); break;
  case NEST_BINARY: used_expr(x->u.bin.a, used); used_expr(x->u.bin.b, used); break;
  case NEST_UNARY: used_expr(x->u.un.a, used); break;
  case NEST_SELECT: used_expr(x->u.sel.cond, used); used_expr(x->u.sel.a, used); used_expr(x->u.sel.b, used); break;
  case NEST_CAST: used_expr(x->u.cast.a, used); break;
  default: break;
  }
}

/* Marks in used[] the buffers block b reads or writes. */
void cg_nest_mark_bufs(const NestBlock *b, bool *used) {
  for (int i = 0; i < b->n; i++) {
    const NestStmt *s = b->stmts[i];
    switch (s->kind) {
    case NEST_LOOP:
      used_expr(s->u.loop.lo, used);
      used_expr(s->u.loop.hi, used);
      cg_nest_mark_bufs(&s->u.loop.body, used);
      break;
    case NEST_STORE: used[s->u.store.buf] = true; used_expr(s->u.store.index, used); used_expr(s->u.store.value, used); break;
    case NEST_DECL: used_expr(s->u.decl.init, used); break;
    case NEST_ASSIGN: used_expr(s->u.assign.value, used); break;
    }
  }
}

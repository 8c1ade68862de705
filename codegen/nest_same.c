/* nest_same.c — kernels equal up to their buffers: ResNet-50's repeated blocks lower to
 * kernels that differ only in the tensors they read and write, and a backend that numbers
 * each kernel's buffers by first use can compile one function for all of them and call it
 * with each kernel's own buffers (docs/llvm.md, "Shared kernels").
 *
 * Both functions below walk a kernel in the same order (loop bounds before the loop's body, a
 * store's buffer before its index and value, a load's buffer before its index), so that the
 * numbering of one walk is the numbering the other compares. */
#include "codegen/nest.h"

#include <string.h>

/* FNV-1a, 64 bits, over the words of a walk. */
static void mix(uint64_t *h, uint64_t v) {
  for (int i = 0; i < 8; i++) {
    *h ^= (v >> (8 * i)) & 0xff;
    *h *= 0x100000001b3ull;
  }
}

/* The bits of a constant as the walk sees it: doubles by their bits (so -0 and 0 differ, as
 * the code they make does), integers as they are. */
static uint64_t const_bits(const NestExpr *x) {
  uint64_t v = (uint64_t)x->u.c.i;
  if (ir_dtype_is_float(x->dtype)) memcpy(&v, &x->u.c.f, sizeof v);
  return v;
}

/* Numbers buffer b at the end of o when it has no number yet; returns its number. */
static int take_buf(NestBufOrder *o, int b) {
  if (o->local[b] < 0) {
    o->local[b] = o->n;
    o->bufs[o->n++] = b;
  }
  return o->local[b];
}

static void order_expr(const NestExpr *x, NestBufOrder *o, uint64_t *h) {
  mix(h, (uint64_t)x->kind << 8 | (uint64_t)x->dtype);
  switch (x->kind) {
  case NEST_CONST: mix(h, const_bits(x)); break;
  case NEST_VAR: mix(h, (uint64_t)x->u.var); break;
  case NEST_LOCAL: mix(h, (uint64_t)x->u.local); break;
  case NEST_LOAD:
    mix(h, (uint64_t)take_buf(o, x->u.load.buf));
    order_expr(x->u.load.index, o, h);
    break;
  case NEST_BINARY:
    mix(h, (uint64_t)x->u.bin.op);
    order_expr(x->u.bin.a, o, h);
    order_expr(x->u.bin.b, o, h);
    break;
  case NEST_UNARY:
    mix(h, (uint64_t)x->u.un.op);
    order_expr(x->u.un.a, o, h);
    break;
  case NEST_SELECT:
    order_expr(x->u.sel.cond, o, h);
    order_expr(x->u.sel.a, o, h);
    order_expr(x->u.sel.b, o, h);
    break;
  case NEST_CAST: order_expr(x->u.cast.a, o, h); break;
  }
}

static void order_block(const NestBlock *b, NestBufOrder *o, uint64_t *h) {
  mix(h, (uint64_t)b->n);
  for (int i = 0; i < b->n; i++) {
    const NestStmt *s = b->stmts[i];
    mix(h, (uint64_t)s->kind);
    switch (s->kind) {
    case NEST_LOOP:
      mix(h, (uint64_t)s->u.loop.var);
      mix(h, (uint64_t)s->u.loop.step << 1 | s->u.loop.parallel);
      order_expr(s->u.loop.lo, o, h);
      order_expr(s->u.loop.hi, o, h);
      order_block(&s->u.loop.body, o, h);
      break;
    case NEST_STORE:
      mix(h, (uint64_t)take_buf(o, s->u.store.buf));
      order_expr(s->u.store.index, o, h);
      order_expr(s->u.store.value, o, h);
      break;
    case NEST_DECL:
      mix(h, (uint64_t)s->u.decl.local);
      order_expr(s->u.decl.init, o, h);
      break;
    case NEST_ASSIGN:
      mix(h, (uint64_t)s->u.assign.local);
      order_expr(s->u.assign.value, o, h);
      break;
    }
  }
}

bool cg_nest_buf_order(const NestProgram *p, const NestKernel *k, NestBufOrder *o, uint64_t *hash) {
  o->n = 0;
  o->bufs = ir_calloc((size_t)p->nbufs + 1, sizeof *o->bufs);
  o->local = ir_calloc((size_t)p->nbufs + 1, sizeof *o->local);
  if (!o->bufs || !o->local) {
    cg_nest_buf_order_free(o);
    return false;
  }
  for (int b = 0; b < p->nbufs; b++) o->local[b] = -1;
  uint64_t h = 0xcbf29ce484222325ull;
  mix(&h, (uint64_t)k->nvars);
  mix(&h, (uint64_t)k->nlocals);
  for (int i = 0; i < k->nlocals; i++) mix(&h, (uint64_t)k->local_dtypes[i]);
  order_block(&k->body, o, &h);
  for (int i = 0; i < o->n; i++) mix(&h, (uint64_t)p->bufs[o->bufs[i]].dtype);
  *hash = h;
  return true;
}

void cg_nest_buf_order_free(NestBufOrder *o) {
  ir_free(o->bufs);
  ir_free(o->local);
  memset(o, 0, sizeof *o);
}

/* The pair of kernels being compared, with their buffer orders. */
typedef struct Same {
  const NestProgram *p;
  const NestBufOrder *oa, *ob;
} Same;

/* True when buffer a of the first kernel and b of the second stand at the same position of
 * their orders and hold the same dtype. */
static bool same_buf(const Same *s, int a, int b) {
  return s->oa->local[a] == s->ob->local[b] && s->p->bufs[a].dtype == s->p->bufs[b].dtype;
}

static bool same_expr(const Same *s, const NestExpr *a, const NestExpr *b) {
  if (a->kind != b->kind || a->dtype != b->dtype) return false;
  switch (a->kind) {
  case NEST_CONST: return const_bits(a) == const_bits(b);
  case NEST_VAR: return a->u.var == b->u.var;
  case NEST_LOCAL: return a->u.local == b->u.local;
  case NEST_LOAD: return same_buf(s, a->u.load.buf, b->u.load.buf) && same_expr(s, a->u.load.index, b->u.load.index);
  case NEST_BINARY:
    return a->u.bin.op == b->u.bin.op && same_expr(s, a->u.bin.a, b->u.bin.a) && same_expr(s, a->u.bin.b, b->u.bin.b);
  case NEST_UNARY: return a->u.un.op == b->u.un.op && same_expr(s, a->u.un.a, b->u.un.a);
  case NEST_SELECT:
    return same_expr(s, a->u.sel.cond, b->u.sel.cond) && same_expr(s, a->u.sel.a, b->u.sel.a) &&
           same_expr(s, a->u.sel.b, b->u.sel.b);
  case NEST_CAST: return same_expr(s, a->u.cast.a, b->u.cast.a);
  }
  return false;
}

static bool same_block(const Same *s, const NestBlock *a, const NestBlock *b) {
  if (a->n != b->n) return false;
  for (int i = 0; i < a->n; i++) {
    const NestStmt *x = a->stmts[i], *y = b->stmts[i];
    if (x->kind != y->kind) return false;
    bool same = false;
    switch (x->kind) {
    case NEST_LOOP:
      same = x->u.loop.var == y->u.loop.var && x->u.loop.step == y->u.loop.step &&
             x->u.loop.parallel == y->u.loop.parallel && same_expr(s, x->u.loop.lo, y->u.loop.lo) &&
             same_expr(s, x->u.loop.hi, y->u.loop.hi) && same_block(s, &x->u.loop.body, &y->u.loop.body);
      break;
    case NEST_STORE:
      same = same_buf(s, x->u.store.buf, y->u.store.buf) && same_expr(s, x->u.store.index, y->u.store.index) &&
             same_expr(s, x->u.store.value, y->u.store.value);
      break;
    case NEST_DECL:
      same = x->u.decl.local == y->u.decl.local && same_expr(s, x->u.decl.init, y->u.decl.init);
      break;
    case NEST_ASSIGN:
      same = x->u.assign.local == y->u.assign.local && same_expr(s, x->u.assign.value, y->u.assign.value);
      break;
    }
    if (!same) return false;
  }
  return true;
}

bool cg_nest_kernel_same(const NestProgram *p, const NestKernel *a, const NestBufOrder *oa, const NestKernel *b,
                         const NestBufOrder *ob) {
  if (a->nvars != b->nvars || a->nlocals != b->nlocals || oa->n != ob->n) return false;
  for (int i = 0; i < a->nlocals; i++)
    if (a->local_dtypes[i] != b->local_dtypes[i]) return false;
  Same s = {p, oa, ob};
  return same_block(&s, &a->body, &b->body);
}

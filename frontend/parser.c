/* parser.c — a recursive-descent parser for the text IR, one function per grammar rule with
 * the rule as its comment. Errors are reported with their location; a bad statement is
 * skipped up to the next line that can start one, so one run reports several errors. */
#include "frontend/parser.h"

#include <math.h>
#include <string.h>

#include "frontend/lexer.h"
#include "ir/fs.h"
#include "ir/op.h"
#include "ir/strmap.h"

/* A name used before any definition in its scope: checked when the scope closes. */
typedef struct Pending {
  const char *name;
  Loc loc;
} Pending;

/* Value names visible in one region (regions are isolated: a fused body sees only its
 * parameters and its own results). */
typedef struct Scope {
  struct Scope *parent; /* the enclosing region's scope (for notes only: it is not searched) */
  StrMap names;      /* name -> ValueId */
  Pending *pending;  /* uses of names not defined (yet) */
  int npending, cap_pending;
} Scope;

typedef struct Parser {
  Lexer lx;
  Token tok;         /* the current token */
  int prev_line;     /* line of the token before it */
  int bad_line;      /* line of the last token the lexer refused (0: none) */
  bool lex_failed;   /* the lexer refused a token since the current statement began */
  Graph *g;
  DiagSink *d;
  Scope *scope;      /* the innermost scope */
  int depth;         /* region nesting */
  bool oom;          /* out of memory: stop */
} Parser;

/* Raw numbers of a dense<...> literal, kept until the type is known. */
typedef struct Literal {
  double *f;      /* value as a double */
  int64_t *i;     /* value as an integer (when is_int) */
  bool *is_int;   /* written as an integer */
  uint32_t *bits; /* explicit f32 NaN payloads (nan(0x...)), else 0 */
  Loc *locs;
  int n, cap;
  bool splat;     /* written without brackets */
} Literal;

/* ---- tokens ---------------------------------------------------------------------------------------- */

static void next(Parser *p) {
  p->prev_line = p->tok.loc.line;
  for (;;) {
    p->tok = lex_next(&p->lx);
    if (p->tok.kind != TOK_ERROR) return;
    p->bad_line = p->tok.loc.line; /* reported by the lexer: skip it */
    p->lex_failed = true;
  }
}

static bool at(const Parser *p, TokKind k) { return p->tok.kind == k; }

/* True when the current token is the identifier (keyword) kw. */
static bool at_kw(const Parser *p, const char *kw) {
  return p->tok.kind == TOK_IDENT && strlen(kw) == p->tok.len && memcmp(p->tok.text, kw, p->tok.len) == 0;
}

/* Reports "expected WHAT" at the current token; returns false. */
static bool fail_expected(Parser *p, const char *what) {
  /* After a lexical error on this line, or earlier in this statement (a bad string skips the
   * rest of its line, so the parse goes on with the next line's tokens), the parser's
   * complaint would only follow from it. */
  if (p->lex_failed || (p->bad_line && (p->tok.loc.line == p->bad_line || p->prev_line == p->bad_line))) return false;
  if (p->tok.kind == TOK_IDENT)
    diag_error(p->d, p->tok.loc, "expected %s, found '%.*s'", what, (int)(p->tok.len > 40 ? 40 : p->tok.len), p->tok.text);
  else
    diag_error(p->d, p->tok.loc, "expected %s, found %s", what, lex_kind_name(p->tok.kind));
  return false;
}

/* Consumes a token of kind k or reports; returns whether it was there. */
static bool expect(Parser *p, TokKind k, const char *what) {
  if (!at(p, k)) return fail_expected(p, what);
  next(p);
  return true;
}

static bool expect_kw(Parser *p, const char *kw) {
  if (!at_kw(p, kw)) {
    char what[64];
    snprintf(what, sizeof what, "'%s'", kw);
    return fail_expected(p, what);
  }
  next(p);
  return true;
}

/* Reports out of memory once and stops the parse. */
static bool fail_oom(Parser *p) {
  if (!p->oom) diag_oom(p->d, p->tok.loc);
  p->oom = true;
  return false;
}

/* Copies the current identifier into the arena. */
static const char *ident_copy(Parser *p) {
  const char *s = ir_arena_strndup(&p->g->arena, p->tok.text, p->tok.len);
  if (!s) fail_oom(p);
  return s;
}

/* Skips to the first token on a later line than the last one consumed that can start a
 * statement (or closes a region), so the parse resumes after an error. */
static void sync(Parser *p) {
  int line = p->prev_line;
  for (;;) {
    if (at(p, TOK_EOF)) return;
    if (p->tok.loc.line > line &&
        (at(p, TOK_VALUE) || at(p, TOK_RBRACE) || at_kw(p, "_") || at_kw(p, "return") ||
         at_kw(p, "yield") || at_kw(p, "graph") || at_kw(p, "extern"))) {
      p->lex_failed = false;
      return;
    }
    next(p);
  }
}

/* ---- scopes -------------------------------------------------------------------------------------- */

/* Defines name as v in the current scope; reports a redefinition. */
static bool define(Parser *p, const char *name, ValueId v, Loc loc) {
  int prev = strmap_get(&p->scope->names, name);
  if (prev >= 0) {
    diag_error(p->d, loc, "redefinition of value %%%s", name);
    diag_note(p->d, p->g->values[prev].loc, "previous definition is here");
    return false;
  }
  if (!strmap_put(&p->scope->names, name, v)) return fail_oom(p);
  return true;
}

/* Looks up name; an unknown one is remembered to be reported when the scope closes. */
static ValueId use(Parser *p, const char *name, Loc loc) {
  int v = strmap_get(&p->scope->names, name);
  if (v >= 0) return v;
  Scope *s = p->scope;
  if (s->npending == s->cap_pending) {
    int cap = s->cap_pending ? s->cap_pending * 2 : 16;
    Pending *np = ir_realloc(s->pending, (size_t)cap * sizeof *np);
    if (!np) { fail_oom(p); return -1; }
    s->pending = np;
    s->cap_pending = cap;
  }
  s->pending[s->npending].name = name;
  s->pending[s->npending].loc = loc;
  s->npending++;
  return -1;
}

static bool scope_open(Parser *p, Scope *s) {
  memset(s, 0, sizeof *s);
  strmap_init(&s->names);
  s->parent = p->scope;
  p->scope = s;
  return true;
}

/* Reports the names used but never defined in s (or defined only after their use). */
static void scope_close(Parser *p, Scope *s) {
  for (int i = 0; i < s->npending; i++) {
    int v = strmap_get(&s->names, s->pending[i].name);
    if (v >= 0) {
      diag_error(p->d, s->pending[i].loc, "value %%%s is used before its definition", s->pending[i].name);
      diag_note(p->d, p->g->values[v].loc, "it is defined here");
    } else {
      diag_error(p->d, s->pending[i].loc, "use of undefined value %%%s", s->pending[i].name);
      /* Defined in an enclosing region: say why it is not visible here. */
      for (const Scope *o = s->parent; o; o = o->parent) {
        int ov = strmap_get(&o->names, s->pending[i].name);
        if (ov < 0) continue;
        diag_note(p->d, p->g->values[ov].loc,
                  "%%%s is defined outside the fused op's body; a body sees only its parameters and "
                  "its own values (pass it as an operand)",
                  s->pending[i].name);
        break;
      }
    }
  }
  ir_free(s->pending);
  strmap_free(&s->names);
}

/* ---- numbers ------------------------------------------------------------------------------------ */

/* number := INT | FLOAT | 'inf' | 'nan' ['(' INT ')']
 * Parses a number into *f (and *i, *is_int, *bits); false (reported) if there is none. */
static bool parse_number(Parser *p, double *f, int64_t *i, bool *is_int, uint32_t *bits) {
  *bits = 0;
  *is_int = false;
  if (at(p, TOK_INT)) {
    *i = p->tok.i;
    *f = (double)p->tok.i;
    *is_int = true;
  } else if (at(p, TOK_FLOAT)) {
    *f = p->tok.f;
  } else if (at_kw(p, "inf")) {
    *f = HUGE_VAL;
  } else if (at_kw(p, "nan")) {
    *f = NAN;
    next(p);
    if (at(p, TOK_LPAREN)) {
      next(p);
      if (!at(p, TOK_INT) || p->tok.i < 0 || p->tok.i > 0xffffffffLL) return fail_expected(p, "the bits of a NaN (0x7fc00001)");
      *bits = (uint32_t)p->tok.i;
      if ((*bits & 0x7f800000u) != 0x7f800000u || (*bits & 0x007fffffu) == 0) {
        diag_error(p->d, p->tok.loc, "0x%08x is not the bit pattern of an f32 NaN", *bits);
        return false;
      }
      next(p);
      return expect(p, TOK_RPAREN, "')'");
    }
    return true;
  } else if (at_kw(p, "true") || at_kw(p, "false")) {
    *is_int = true;
    *i = at_kw(p, "true");
    *f = (double)*i;
  } else {
    return fail_expected(p, "a number");
  }
  next(p);
  return true;
}

/* int := INT, reported if missing. */
static bool parse_int(Parser *p, int64_t *v) {
  if (!at(p, TOK_INT)) return fail_expected(p, "an integer");
  *v = p->tok.i;
  next(p);
  return true;
}

/* ---- types -------------------------------------------------------------------------------------- */

/* Reports a quantization scale that is not positive and finite at loc; false if so. */
static bool check_scale(Parser *p, double v, Loc loc) {
  if (v > 0 && !isinf(v)) return true;
  diag_error(p->d, loc, "quantization scale %g is not a positive finite number", v);
  return false;
}

/* Reports a zero point outside the range of dtype (i8, u8 or i32) at loc; false if so. */
static bool check_zero_point(Parser *p, DType dt, int64_t v, Loc loc) {
  int64_t lo, hi;
  switch (dt) {
  case DT_I8: lo = INT8_MIN; hi = INT8_MAX; break;
  case DT_U8: lo = 0; hi = UINT8_MAX; break;
  case DT_I32: lo = INT32_MIN; hi = INT32_MAX; break;
  default: return true;
  }
  if (v >= lo && v <= hi) return true;
  diag_error(p->d, loc, "zero point %lld is out of range for %s (%lld..%lld)", (long long)v, ir_dtype_name(dt),
             (long long)lo, (long long)hi);
  return false;
}

/* quant := 'quant' '(' ( 'scale' '=' number ',' 'zero_point' '=' INT
 *                      | 'axis' '=' INT ',' 'scales' '=' '[' number* ']' ',' 'zero_points' '=' '[' INT* ']' ) ')'
 * t is the type being parsed (element type and shape known): scales, zero points and the axis
 * are checked against it where they are written. */
static bool parse_quant(Parser *p, const TensorType *t, Quant **out) {
  Quant *q = ir_arena_alloc(&p->g->arena, sizeof *q);
  if (!q) return fail_oom(p);
  if (t->dtype != DT_I8 && t->dtype != DT_U8 && t->dtype != DT_I32) {
    diag_error(p->d, p->tok.loc, "%s tensors cannot be quantized (only i8, u8 and i32)", ir_dtype_name(t->dtype));
    return false;
  }
  next(p); /* 'quant' */
  if (!expect(p, TOK_LPAREN, "'('")) return false;
  int64_t ival;
  double fval;
  bool is_int;
  uint32_t bits;
  Loc loc;
  if (at_kw(p, "scale")) {
    next(p);
    q->axis = -1;
    q->count = 1;
    q->scales = ir_arena_alloc(&p->g->arena, sizeof(double));
    q->zero_points = ir_arena_alloc(&p->g->arena, sizeof(int64_t));
    if (!q->scales || !q->zero_points) return fail_oom(p);
    if (!expect(p, TOK_EQUAL, "'='")) return false;
    loc = p->tok.loc;
    if (!parse_number(p, &q->scales[0], &ival, &is_int, &bits) || !check_scale(p, q->scales[0], loc)) return false;
    if (!expect(p, TOK_COMMA, "','") || !expect_kw(p, "zero_point") || !expect(p, TOK_EQUAL, "'='")) return false;
    loc = p->tok.loc;
    if (!parse_int(p, &q->zero_points[0]) || !check_zero_point(p, t->dtype, q->zero_points[0], loc)) return false;
  } else if (at_kw(p, "axis")) {
    next(p);
    if (!expect(p, TOK_EQUAL, "'='")) return false;
    loc = p->tok.loc;
    if (!parse_int(p, &ival)) return false;
    if (ival < 0 || ival >= t->rank) {
      diag_error(p->d, loc, "quantization axis %lld is out of range for rank %d", (long long)ival, t->rank);
      return false;
    }
    q->axis = (int)ival;
    if (!expect(p, TOK_COMMA, "','")) return false;
    Loc scales_loc = p->tok.loc;
    if (!expect_kw(p, "scales") || !expect(p, TOK_EQUAL, "'='") || !expect(p, TOK_LBRACKET, "'['")) return false;
    int cap = 0;
    while (!at(p, TOK_RBRACKET)) {
      if (q->count && !expect(p, TOK_COMMA, "',' or ']'")) return false;
      loc = p->tok.loc;
      if (!parse_number(p, &fval, &ival, &is_int, &bits) || !check_scale(p, fval, loc)) return false;
      if (q->count == cap) {
        if (cap >= IR_MAX_LIST) { diag_error(p->d, p->tok.loc, "too many scales"); return false; }
        cap = cap ? cap * 2 : 16;
        double *ns = ir_arena_alloc(&p->g->arena, (size_t)cap * sizeof *ns);
        if (!ns) return fail_oom(p);
        if (q->count) memcpy(ns, q->scales, (size_t)q->count * sizeof *ns);
        q->scales = ns;
      }
      q->scales[q->count++] = fval;
    }
    if (q->count != t->dims[q->axis]) {
      diag_error(p->d, scales_loc, "%d scale%s for quantization axis %d, which has size %lld", q->count,
                 q->count == 1 ? "" : "s", q->axis, (long long)t->dims[q->axis]);
      return false;
    }
    next(p);
    if (!expect(p, TOK_COMMA, "','") || !expect_kw(p, "zero_points") || !expect(p, TOK_EQUAL, "'='") ||
        !expect(p, TOK_LBRACKET, "'['"))
      return false;
    q->zero_points = ir_arena_alloc(&p->g->arena, (size_t)(q->count + 1) * sizeof(int64_t));
    if (!q->zero_points) return fail_oom(p);
    int n = 0;
    while (!at(p, TOK_RBRACKET)) {
      if (n && !expect(p, TOK_COMMA, "',' or ']'")) return false;
      if (n >= q->count) {
        diag_error(p->d, p->tok.loc, "more zero points than scales (%d)", q->count);
        return false;
      }
      loc = p->tok.loc;
      if (!parse_int(p, &q->zero_points[n]) || !check_zero_point(p, t->dtype, q->zero_points[n], loc)) return false;
      n++;
    }
    if (n != q->count) {
      diag_error(p->d, p->tok.loc, "%d zero points for %d scales", n, q->count);
      return false;
    }
    next(p);
  } else {
    return fail_expected(p, "'scale' or 'axis'");
  }
  *out = q;
  return expect(p, TOK_RPAREN, "')'");
}

/* type := DTYPE '[' [INT {',' INT}] ']' ['layout' '(' IDENT ')'] [quant] */
static bool parse_type(Parser *p, TensorType *t) {
  memset(t, 0, sizeof *t);
  Loc loc = p->tok.loc;
  if (!at(p, TOK_IDENT)) return fail_expected(p, "a tensor type (f32[1,3,224,224])");
  t->dtype = ir_dtype_parse(p->tok.text, p->tok.len);
  if (t->dtype == DT_INVALID) {
    diag_error(p->d, loc, "unknown element type '%.*s' (expected f32, f16, bf16, i8, u8, i32, i64 or bool)",
               (int)(p->tok.len > 40 ? 40 : p->tok.len), p->tok.text);
    return false;
  }
  next(p);
  if (!expect(p, TOK_LBRACKET, "'[' after the element type")) return false;
  while (!at(p, TOK_RBRACKET)) {
    if (t->rank && !expect(p, TOK_COMMA, "',' or ']'")) return false;
    Loc dloc = p->tok.loc;
    int64_t dim = 0;
    if (!parse_int(p, &dim)) return false;
    if (t->rank == IR_MAX_RANK) {
      diag_error(p->d, dloc, "tensor rank is over the limit of %d", IR_MAX_RANK);
      return false;
    }
    if (dim < 0) {
      diag_error(p->d, dloc, "dimension %lld is negative (shapes are static)", (long long)dim);
      return false;
    }
    t->dims[t->rank++] = dim;
  }
  next(p);
  if (at_kw(p, "layout")) {
    next(p);
    if (!expect(p, TOK_LPAREN, "'('")) return false;
    Loc lloc = p->tok.loc;
    if (!at(p, TOK_IDENT)) return fail_expected(p, "a layout (nChw16c)");
    char text[64];
    if (p->tok.len >= sizeof text) { diag_error(p->d, lloc, "layout name is too long"); return false; }
    memcpy(text, p->tok.text, p->tok.len);
    text[p->tok.len] = 0;
    const char *why;
    t->layout = ir_layout_parse(&p->g->arena, text, t->rank, &why);
    if (!t->layout) { diag_error(p->d, lloc, "bad layout '%s': %s", text, why); return false; }
    next(p);
    if (!expect(p, TOK_RPAREN, "')'")) return false;
  }
  if (at_kw(p, "quant")) {
    Quant *q = NULL;
    if (!parse_quant(p, t, &q)) return false;
    t->quant = q;
  }
  const char *why;
  if (!ir_type_valid(t, &why)) {
    diag_error(p->d, loc, "invalid type: %s", why);
    return false;
  }
  return true;
}

/* ---- attributes --------------------------------------------------------------------------------- */

/* attr-value := number | STRING | '[' [number {',' number}] ']' */
static bool parse_attr_value(Parser *p, Attr *a) {
  int64_t ival;
  double fval;
  bool is_int;
  uint32_t bits;
  if (at(p, TOK_STRING)) {
    a->kind = ATTR_STR;
    a->u.s = p->tok.text;
    next(p);
    return true;
  }
  if (!at(p, TOK_LBRACKET)) {
    if (!parse_number(p, &fval, &ival, &is_int, &bits)) return false;
    a->kind = is_int ? ATTR_INT : ATTR_FLOAT;
    if (is_int) a->u.i = ival; else a->u.f = fval;
    return true;
  }
  next(p);
  int n = 0, cap = 0;
  double *fs = NULL;
  int64_t *is = NULL;
  bool all_int = true;
  while (!at(p, TOK_RBRACKET)) {
    if (n && !expect(p, TOK_COMMA, "',' or ']'")) return false;
    if (!parse_number(p, &fval, &ival, &is_int, &bits)) return false;
    if (n == cap) {
      if (cap >= IR_MAX_LIST) { diag_error(p->d, p->tok.loc, "attribute list is too long"); return false; }
      cap = cap ? cap * 2 : 8;
      double *nf = ir_arena_alloc(&p->g->arena, (size_t)cap * sizeof *nf);
      int64_t *ni = ir_arena_alloc(&p->g->arena, (size_t)cap * sizeof *ni);
      if (!nf || !ni) return fail_oom(p);
      if (n) { memcpy(nf, fs, (size_t)n * sizeof *nf); memcpy(ni, is, (size_t)n * sizeof *ni); }
      fs = nf;
      is = ni;
    }
    fs[n] = fval;
    is[n] = is_int ? ival : 0;
    all_int &= is_int;
    n++;
  }
  next(p);
  a->n = n;
  a->kind = all_int ? ATTR_INTS : ATTR_FLOATS;
  if (all_int) a->u.ints = is; else a->u.floats = fs;
  return true;
}

/* attrs := '{' [IDENT '=' attr-value {',' IDENT '=' attr-value}] '}' */
static bool parse_attrs(Parser *p, Node *n) {
  next(p); /* '{' */
  int cap = 0;
  while (!at(p, TOK_RBRACE)) {
    if (n->nattrs && !expect(p, TOK_COMMA, "',' or '}'")) return false;
    if (!at(p, TOK_IDENT)) return fail_expected(p, "an attribute name");
    Loc loc = p->tok.loc;
    const char *name = ident_copy(p);
    if (!name) return false;
    if (ir_attr(n, name)) {
      diag_error(p->d, loc, "attribute '%s' is given twice", name);
      return false;
    }
    next(p);
    if (!expect(p, TOK_EQUAL, "'='")) return false;
    if (n->nattrs == cap) {
      if (cap >= 256) { diag_error(p->d, loc, "too many attributes"); return false; }
      cap = cap ? cap * 2 : 8;
      Attr *na = ir_arena_alloc(&p->g->arena, (size_t)cap * sizeof *na);
      if (!na) return fail_oom(p);
      if (n->nattrs) memcpy(na, n->attrs, (size_t)n->nattrs * sizeof *na);
      n->attrs = na;
    }
    Attr *a = &n->attrs[n->nattrs];
    memset(a, 0, sizeof *a);
    a->name = name;
    a->loc = loc;
    if (!parse_attr_value(p, a)) return false;
    n->nattrs++;
  }
  next(p);
  return true;
}

/* ---- dense literals ---------------------------------------------------------------------------- */

/* Appends one number to the literal. */
static bool literal_push(Parser *p, Literal *l) {
  if (l->n == l->cap) {
    if (l->cap >= (1 << 26)) {
      diag_error(p->d, p->tok.loc, "inline literal is too large (use a weights file)");
      return false;
    }
    int cap = l->cap ? l->cap * 2 : 64;
    double *f = ir_realloc(l->f, (size_t)cap * sizeof *f);
    if (f) l->f = f;
    int64_t *i = ir_realloc(l->i, (size_t)cap * sizeof *i);
    if (i) l->i = i;
    bool *b = ir_realloc(l->is_int, (size_t)cap * sizeof *b);
    if (b) l->is_int = b;
    uint32_t *bits = ir_realloc(l->bits, (size_t)cap * sizeof *bits);
    if (bits) l->bits = bits;
    Loc *locs = ir_realloc(l->locs, (size_t)cap * sizeof *locs);
    if (locs) l->locs = locs;
    if (!f || !i || !b || !bits || !locs) return fail_oom(p);
    l->cap = cap;
  }
  l->locs[l->n] = p->tok.loc;
  if (!parse_number(p, &l->f[l->n], &l->i[l->n], &l->is_int[l->n], &l->bits[l->n])) return false;
  l->n++;
  return true;
}

static void literal_free(Literal *l) {
  ir_free(l->f);
  ir_free(l->i);
  ir_free(l->is_int);
  ir_free(l->bits);
  ir_free(l->locs);
}

/* literal := number | '[' [number {',' number}] ']' */
static bool parse_literal(Parser *p, Literal *l) {
  if (!at(p, TOK_LBRACKET)) {
    l->splat = true;
    return literal_push(p, l);
  }
  next(p);
  while (!at(p, TOK_RBRACKET)) {
    if (l->n && !expect(p, TOK_COMMA, "',' or ']'")) return false;
    if (!literal_push(p, l)) return false;
  }
  next(p);
  return true;
}

/* Stores element k of the literal as dtype t at dst; false (reported) if it does not fit. */
static bool literal_store(Parser *p, const Literal *l, int k, DType t, void *dst) {
  double f = l->f[k];
  int64_t v = l->i[k];
  if (!ir_dtype_is_float(t) && !l->is_int[k]) {
    diag_error(p->d, l->locs[k], "%s element is not an integer", ir_dtype_name(t));
    return false;
  }
  int64_t lo = 0, hi = 0;
  switch (t) {
  case DT_F32: case DT_F16: case DT_BF16: {
    float x = (float)f; /* ir_tensor_pack rounds f16 and bf16 from it */
    if (l->bits[k]) memcpy(&x, &l->bits[k], 4);
    float stored = t == DT_F16 ? ir_f16_to_f32(ir_f32_to_f16(x)) : t == DT_BF16 ? ir_bf16_to_f32(ir_f32_to_bf16(x)) : x;
    if (isinf(stored) && !isinf(f)) {
      diag_error(p->d, l->locs[k], "%g is too large for %s", f, ir_dtype_name(t));
      return false;
    }
    memcpy(dst, &x, 4);
    return true;
  }
  case DT_I8: lo = INT8_MIN; hi = INT8_MAX; break;
  case DT_U8: lo = 0; hi = UINT8_MAX; break;
  case DT_I32: lo = INT32_MIN; hi = INT32_MAX; break;
  case DT_I64: lo = INT64_MIN; hi = INT64_MAX; break; /* every int64 fits */
  case DT_BOOL: lo = 0; hi = 1; break;
  default: return false;
  }
  if (t != DT_I64 && (v < lo || v > hi)) {
    diag_error(p->d, l->locs[k], "%lld does not fit in %s", (long long)v, ir_dtype_name(t));
    return false;
  }
  switch (t) {
  case DT_I8: { int8_t x = (int8_t)v; memcpy(dst, &x, 1); break; }
  case DT_U8: case DT_BOOL: { uint8_t x = (uint8_t)v; memcpy(dst, &x, 1); break; }
  case DT_I32: { int32_t x = (int32_t)v; memcpy(dst, &x, 4); break; }
  default: memcpy(dst, &v, 8); break;
  }
  return true;
}

/* Builds the const node's data from the literal for type t. */
static bool literal_to_buffer(Parser *p, const Literal *l, const TensorType *t, Loc loc, IrBuffer **out) {
  int64_t numel = ir_type_numel(t);
  if (ir_type_bytes(t) > IR_MAX_DENSE_BYTES) {
    diag_error(p->d, loc, "a dense constant of %lld bytes is over the %lld-byte limit for inline data (use a weights file)",
               (long long)ir_type_bytes(t), (long long)IR_MAX_DENSE_BYTES);
    return false;
  }
  if (!(l->splat ? l->n == 1 : l->n == numel)) {
    diag_error(p->d, loc, "dense literal has %d elements but the type has %lld", l->n, (long long)numel);
    return false;
  }
  DType plain = ir_dtype_is_float(t->dtype) ? DT_F32 : t->dtype;
  int esz = ir_dtype_size(plain);
  char *tmp = ir_malloc((size_t)(numel * esz) + 1);
  IrBuffer *b = ir_buffer_new(ir_type_bytes(t));
  bool ok = tmp && b;
  if (!ok) fail_oom(p);
  for (int64_t k = 0; ok && k < numel; k++) {
    if (l->splat && k > 0) memcpy(tmp + k * esz, tmp, (size_t)esz);
    else ok = literal_store(p, l, (int)k, t->dtype, tmp + k * esz);
  }
  if (ok) ir_tensor_pack(t, tmp, plain, b->data);
  ir_free(tmp);
  if (!ok) { ir_buffer_unref(b); return false; }
  *out = b;
  return true;
}

/* ---- statements -------------------------------------------------------------------------------- */

static bool parse_region_body(Parser *p, Region *r, const char *end_kw);

/* A result name being defined: NULL name for '_'. */
typedef struct ResultName {
  const char *name;
  Loc loc;
} ResultName;

/* operands := '(' [VALUE {',' VALUE}] ')' — resolved in the current scope. */
static bool parse_operands(Parser *p, ValueId **out, int *count, Loc **locs) {
  if (!expect(p, TOK_LPAREN, "'(' before the operands")) return false;
  int n = 0, cap = 0;
  ValueId *ids = NULL;
  Loc *ls = NULL;
  while (!at(p, TOK_RPAREN)) {
    if (n && !expect(p, TOK_COMMA, "',' or ')'")) return false;
    if (!at(p, TOK_VALUE)) return fail_expected(p, "an operand (%name)");
    if (n == cap) {
      if (cap >= IR_MAX_OPERANDS) { diag_error(p->d, p->tok.loc, "too many operands"); return false; }
      cap = cap ? cap * 2 : 8;
      ValueId *ni = ir_arena_alloc(&p->g->arena, (size_t)cap * sizeof *ni);
      Loc *nl = ir_arena_alloc(&p->g->arena, (size_t)cap * sizeof *nl);
      if (!ni || !nl) return fail_oom(p);
      if (n) { memcpy(ni, ids, (size_t)n * sizeof *ni); memcpy(nl, ls, (size_t)n * sizeof *nl); }
      ids = ni;
      ls = nl;
    }
    ls[n] = p->tok.loc;
    ids[n++] = use(p, p->tok.text, p->tok.loc);
    next(p);
  }
  next(p);
  *out = ids;
  *count = n;
  if (locs) *locs = ls;
  return true;
}

/* types := type {',' type} — exactly n of them. */
static bool parse_result_types(Parser *p, TensorType *types, int n) {
  for (int i = 0; i < n; i++) {
    if (i && !at(p, TOK_COMMA)) {
      diag_error(p->d, p->tok.loc, "%d results but only %d types", n, i);
      return false;
    }
    if (i) next(p);
    if (!parse_type(p, &types[i])) return false;
  }
  if (at(p, TOK_COMMA)) {
    diag_error(p->d, p->tok.loc, "more types than the %d results", n);
    return false;
  }
  return true;
}

/* Creates the node's result values and defines their names. */
static bool define_results(Parser *p, Node *node, NodeId id, const ResultName *rs, const TensorType *types) {
  for (int i = 0; i < node->noutputs; i++) {
    ValueId v = ir_graph_add_value(p->g, rs[i].name, &types[i], VAL_RESULT, rs[i].loc);
    if (v < 0) return fail_oom(p);
    node = &p->g->nodes[id]; /* the node array may have moved: re-fetch */
    p->g->values[v].def = id;
    p->g->values[v].index = i;
    node->outputs[i] = v;
    if (rs[i].name && !define(p, rs[i].name, v, rs[i].loc)) return false;
  }
  return true;
}

/* Appends node id to region r. */
static bool region_append(Parser *p, Region *r, NodeId id, int *cap) {
  if (r->nnodes == *cap) {
    int ncap = *cap ? *cap * 2 : 16;
    NodeId *nn = ir_arena_alloc(&p->g->arena, (size_t)ncap * sizeof *nn);
    if (!nn) return fail_oom(p);
    if (r->nnodes) memcpy(nn, r->nodes, (size_t)r->nnodes * sizeof *nn);
    r->nodes = nn;
    *cap = ncap;
  }
  r->nodes[r->nnodes++] = id;
  return true;
}

/* const-expr := 'const' ( 'weight' '(' STRING ')' | 'dense' '<' literal '>' ) ':' type */
static bool parse_const(Parser *p, Region *r, int *cap, const ResultName *rs, int nres, Loc oploc) {
  next(p); /* 'const' */
  if (nres != 1) {
    diag_error(p->d, oploc, "const has one result, not %d", nres);
    return false;
  }
  ConstKind kind;
  const char *weight = NULL;
  Literal lit;
  memset(&lit, 0, sizeof lit);
  Loc dloc = p->tok.loc;
  bool ok = true;
  if (at_kw(p, "weight")) {
    kind = CONST_WEIGHT;
    next(p);
    ok = expect(p, TOK_LPAREN, "'('");
    if (ok && !at(p, TOK_STRING)) ok = fail_expected(p, "the weight's name as a string");
    if (ok) {
      weight = p->tok.text;
      next(p);
      ok = expect(p, TOK_RPAREN, "')'");
    }
  } else if (at_kw(p, "dense")) {
    kind = CONST_DENSE;
    next(p);
    ok = expect(p, TOK_LANGLE, "'<'") && parse_literal(p, &lit) && expect(p, TOK_RANGLE, "'>'");
  } else {
    literal_free(&lit);
    return fail_expected(p, "'weight' or 'dense'");
  }
  TensorType type;
  ok = ok && expect(p, TOK_COLON, "':' and the type") && parse_type(p, &type);
  IrBuffer *data = NULL;
  if (ok && kind == CONST_DENSE) ok = literal_to_buffer(p, &lit, &type, dloc, &data);
  literal_free(&lit);
  if (!ok) return false;
  NodeId id = ir_graph_add_node(p->g, OP_CONST, 0, 1, oploc);
  if (id < 0) { ir_buffer_unref(data); return fail_oom(p); }
  Node *n = &p->g->nodes[id];
  n->const_kind = kind;
  n->weight = weight;
  n->data = data;
  return define_results(p, n, id, rs, &type) && region_append(p, r, id, cap);
}

/* fused-expr := 'fused' STRING operands ':' types '{' '^' '(' [VALUE {',' VALUE}] ')' ':'
 *               stmt* 'yield' VALUE {',' VALUE} '}' */
static bool parse_fused(Parser *p, Region *r, int *cap, const ResultName *rs, int nres, Loc oploc) {
  next(p); /* 'fused' */
  if (!at(p, TOK_STRING)) return fail_expected(p, "the fused op's name as a string");
  const char *label = p->tok.text;
  next(p);
  ValueId *ops;
  int nops;
  if (!parse_operands(p, &ops, &nops, NULL)) return false;
  TensorType *types = ir_arena_alloc(&p->g->arena, sizeof(TensorType) * (size_t)nres);
  if (!types) return fail_oom(p);
  if (!expect(p, TOK_COLON, "':' and the result types") || !parse_result_types(p, types, nres)) return false;
  if (!expect(p, TOK_LBRACE, "'{' and the body")) return false;
  if (p->depth >= IR_MAX_DEPTH) {
    diag_error(p->d, oploc, "regions are nested deeper than %d", IR_MAX_DEPTH);
    return false;
  }
  NodeId id = ir_graph_add_node(p->g, OP_FUSED, nops, nres, oploc);
  Region *body = ir_arena_alloc(&p->g->arena, sizeof *body);
  if (id < 0 || !body) return fail_oom(p);
  Node *n = &p->g->nodes[id];
  if (nops) memcpy(n->inputs, ops, (size_t)nops * sizeof *ops);
  n->label = label;
  n->body = body;
  body->parent = r;
  /* The body sees only its parameters: a new scope. */
  Scope *outer = p->scope, inner;
  scope_open(p, &inner);
  p->depth++;
  bool ok = expect(p, TOK_CARET, "'^' and the body's parameters") && expect(p, TOK_LPAREN, "'('");
  int np = 0, extra = 0;
  bool bad = false; /* a parameter error was reported: the body is still parsed, then the op fails */
  body->params = ir_arena_alloc(&p->g->arena, sizeof(ValueId) * (size_t)(nops + 1));
  if (!body->params) ok = fail_oom(p);
  while (ok && !at(p, TOK_RPAREN)) {
    if ((np || extra) && !expect(p, TOK_COMMA, "',' or ')'")) { ok = false; break; }
    if (!at(p, TOK_VALUE)) { ok = fail_expected(p, "a parameter (%name)"); break; }
    TensorType t;
    memset(&t, 0, sizeof t);
    if (np == nops) {
      /* More parameters than operands: reported once; the extra ones are still defined (with
       * no type) so that the body parses and its uses of them do not report again. */
      if (!extra)
        diag_error(p->d, p->tok.loc, "the body has more parameters than the op's %d operand%s", nops,
                   nops == 1 ? "" : "s");
      extra++;
      bad = true;
      ValueId v = ir_graph_add_value(p->g, p->tok.text, NULL, VAL_PARAM, p->tok.loc);
      if (v < 0) { ok = fail_oom(p); break; }
      if (strmap_get(&p->scope->names, p->tok.text) < 0 && !define(p, p->tok.text, v, p->tok.loc)) {
        ok = false; /* out of memory */
        break;
      }
      next(p);
      continue;
    }
    /* A parameter takes its operand's type. */
    ValueId operand = ops[np];
    if (operand >= 0) t = p->g->values[operand].type;
    ValueId v = ir_graph_add_value(p->g, p->tok.text, &t, VAL_PARAM, p->tok.loc);
    if (v < 0) { ok = fail_oom(p); break; }
    p->g->values[v].index = np;
    body->params[np++] = v;
    if (!define(p, p->tok.text, v, p->tok.loc)) {
      if (p->oom) { ok = false; break; }
      bad = true; /* a duplicate name, reported: go on */
    }
    next(p);
  }
  body->nparams = np;
  if (ok && !extra && np != nops) {
    diag_error(p->d, p->tok.loc, "the body has %d parameter%s but the op has %d operand%s", np, np == 1 ? "" : "s",
               nops, nops == 1 ? "" : "s");
    bad = true;
  }
  ok = ok && expect(p, TOK_RPAREN, "')'") && expect(p, TOK_COLON, "':'");
  if (ok) ok = parse_region_body(p, body, "yield");
  p->depth--;
  scope_close(p, &inner);
  p->scope = outer;
  if (!ok || bad) return false;
  n = &p->g->nodes[id];
  if (body->nresults != nres) {
    diag_error(p->d, body->result_loc, "the body yields %d value%s but the op has %d result%s", body->nresults,
               body->nresults == 1 ? "" : "s", nres, nres == 1 ? "" : "s");
    return false;
  }
  return define_results(p, n, id, rs, types) && region_append(p, r, id, cap);
}

/* op-expr := IDENT operands [attrs] ':' types */
static bool parse_op(Parser *p, Region *r, int *cap, const ResultName *rs, int nres, Loc oploc) {
  int op = ir_op_lookup(p->tok.text, p->tok.len);
  if (op < 0) {
    diag_error(p->d, oploc, "unknown op '%.*s'", (int)(p->tok.len > 60 ? 60 : p->tok.len), p->tok.text);
    return false;
  }
  next(p);
  ValueId *ops;
  int nops;
  if (!parse_operands(p, &ops, &nops, NULL)) return false;
  NodeId id = ir_graph_add_node(p->g, op, nops, nres, oploc);
  if (id < 0) return fail_oom(p);
  if (nops) memcpy(p->g->nodes[id].inputs, ops, (size_t)nops * sizeof *ops);
  if (at(p, TOK_LBRACE) && !parse_attrs(p, &p->g->nodes[id])) return false;
  TensorType *types = ir_arena_alloc(&p->g->arena, sizeof(TensorType) * (size_t)nres);
  if (!types) return fail_oom(p);
  if (!expect(p, TOK_COLON, "':' and the result types") || !parse_result_types(p, types, nres)) return false;
  return define_results(p, &p->g->nodes[id], id, rs, types) && region_append(p, r, id, cap);
}

/* After a bad statement, defines the names it would have defined (to placeholder values of
 * no type), so that their uses do not report again. */
static void define_placeholders(Parser *p, const ResultName *rs, int nres) {
  for (int i = 0; i < nres && !p->oom; i++) {
    if (!rs[i].name || strmap_get(&p->scope->names, rs[i].name) >= 0) continue;
    ValueId v = ir_graph_add_value(p->g, rs[i].name, NULL, VAL_RESULT, rs[i].loc);
    if (v < 0 || !strmap_put(&p->scope->names, rs[i].name, v)) fail_oom(p);
  }
}

/* stmt := result {',' result} '=' (const-expr | fused-expr | op-expr)
 * result := VALUE | '_' */
static bool parse_stmt(Parser *p, Region *r, int *cap) {
  ResultName rs[IR_MAX_RESULTS];
  int nres = 0;
  for (;;) {
    if (nres == IR_MAX_RESULTS) {
      diag_error(p->d, p->tok.loc, "more than %d results", nres);
      return false;
    }
    rs[nres].loc = p->tok.loc;
    if (at(p, TOK_VALUE)) rs[nres].name = p->tok.text;
    else if (at_kw(p, "_")) rs[nres].name = NULL;
    else return fail_expected(p, "a result (%name or _)");
    nres++;
    next(p);
    if (!at(p, TOK_COMMA)) break;
    next(p);
  }
  bool ok = expect(p, TOK_EQUAL, "'=' after the results");
  Loc oploc = p->tok.loc;
  if (ok && !at(p, TOK_IDENT)) ok = fail_expected(p, "an op name");
  if (ok && at_kw(p, "const")) ok = parse_const(p, r, cap, rs, nres, oploc);
  else if (ok && at_kw(p, "fused")) ok = parse_fused(p, r, cap, rs, nres, oploc);
  else if (ok) ok = parse_op(p, r, cap, rs, nres, oploc);
  if (!ok) define_placeholders(p, rs, nres);
  return ok;
}

/* region-body := stmt* END_KW VALUE {',' VALUE} '}'   (END_KW is 'return' or 'yield') */
static bool parse_region_body(Parser *p, Region *r, const char *end_kw) {
  int cap = 0;
  for (;;) {
    if (p->oom) return false;
    p->lex_failed = false; /* a new statement (a lexical error on this line is still known) */
    if (at_kw(p, end_kw)) break;
    char what[64];
    snprintf(what, sizeof what, "a statement or '%s'", end_kw);
    if (at(p, TOK_EOF) || at(p, TOK_RBRACE)) return fail_expected(p, what);
    Loc start = p->tok.loc;
    /* A statement starts with its first result; anything else (say, a stray word after the
     * previous statement) is reported as such, not as a bad result. */
    bool ok = at(p, TOK_VALUE) || at_kw(p, "_") ? parse_stmt(p, r, &cap) : fail_expected(p, what);
    if (!ok) {
      if (p->oom) return false;
      /* make progress even when the bad statement consumed nothing */
      if (p->tok.loc.line == start.line && p->tok.loc.col == start.col) next(p);
      sync(p);
    }
  }
  r->result_loc = p->tok.loc;
  next(p);
  int n = 0, rcap = 0;
  while (!at(p, TOK_RBRACE)) {
    if (n && !expect(p, TOK_COMMA, "',' or '}'")) return false;
    if (!at(p, TOK_VALUE)) return fail_expected(p, "a value (%name)");
    if (n == rcap) {
      if (rcap >= IR_MAX_OPERANDS) { diag_error(p->d, p->tok.loc, "too many results"); return false; }
      rcap = rcap ? rcap * 2 : 8;
      ValueId *nr = ir_arena_alloc(&p->g->arena, (size_t)rcap * sizeof *nr);
      if (!nr) return fail_oom(p);
      if (n) memcpy(nr, r->results, (size_t)n * sizeof *nr);
      r->results = nr;
    }
    r->results[n++] = use(p, p->tok.text, p->tok.loc);
    r->nresults = n;
    next(p);
  }
  next(p);
  return true;
}

/* ---- top level ----------------------------------------------------------------------------------- */

/* param := VALUE ':' type;  params := '(' [param {',' param}] ')'
 * Parses a signature list into names, locations and types (arena arrays). */
static bool parse_params(Parser *p, const char ***names, Loc **locs, TensorType **types, int *count) {
  if (!expect(p, TOK_LPAREN, "'('")) return false;
  int n = 0, cap = 0;
  while (!at(p, TOK_RPAREN)) {
    if (n && !expect(p, TOK_COMMA, "',' or ')'")) return false;
    if (!at(p, TOK_VALUE)) return fail_expected(p, "a parameter (%name: type)");
    if (n == cap) {
      if (cap >= IR_MAX_OPERANDS) { diag_error(p->d, p->tok.loc, "too many parameters"); return false; }
      cap = cap ? cap * 2 : 8;
      const char **nn = ir_arena_alloc(&p->g->arena, (size_t)cap * sizeof *nn);
      Loc *nl = ir_arena_alloc(&p->g->arena, (size_t)cap * sizeof *nl);
      TensorType *nt = ir_arena_alloc(&p->g->arena, (size_t)cap * sizeof *nt);
      if (!nn || !nl || !nt) return fail_oom(p);
      if (n) {
        memcpy(nn, *names, (size_t)n * sizeof *nn);
        memcpy(nl, *locs, (size_t)n * sizeof *nl);
        memcpy(nt, *types, (size_t)n * sizeof *nt);
      }
      *names = nn;
      *locs = nl;
      *types = nt;
    }
    (*names)[n] = p->tok.text;
    (*locs)[n] = p->tok.loc;
    next(p);
    if (!expect(p, TOK_COLON, "':' and the type") || !parse_type(p, &(*types)[n])) return false;
    n++;
  }
  next(p);
  *count = n;
  return true;
}

/* graph := 'graph' GLOBAL params '->' params '{' region-body('return') */
static bool parse_graph(Parser *p) {
  Graph *g = p->g;
  g->loc = p->tok.loc;
  next(p); /* 'graph' */
  if (!at(p, TOK_GLOBAL)) return fail_expected(p, "the graph's name (@name)");
  g->name = p->tok.text;
  next(p);
  const char **in_names = NULL, **out_names = NULL;
  Loc *in_locs = NULL, *out_locs = NULL;
  TensorType *in_types = NULL, *out_types = NULL;
  int nin = 0, nout = 0;
  if (!parse_params(p, &in_names, &in_locs, &in_types, &nin)) return false;
  if (!expect(p, TOK_ARROW, "'->' and the outputs") || !parse_params(p, &out_names, &out_locs, &out_types, &nout))
    return false;
  if (nout == 0) {
    diag_error(p->d, g->loc, "a graph needs at least one output");
    return false;
  }
  for (int i = 0; i < nout; i++)
    for (int j = 0; j < i; j++)
      if (strcmp(out_names[i], out_names[j]) == 0) {
        diag_error(p->d, out_locs[i], "output %%%s is named twice", out_names[i]);
        return false;
      }
  g->output_names = out_names;
  g->output_locs = out_locs;
  g->output_types = out_types;
  Region *body = g->body;
  body->params = ir_arena_alloc(&g->arena, sizeof(ValueId) * (size_t)(nin + 1));
  if (!body->params) return fail_oom(p);
  for (int i = 0; i < nin; i++) {
    ValueId v = ir_graph_add_value(g, in_names[i], &in_types[i], VAL_INPUT, in_locs[i]);
    if (v < 0) return fail_oom(p);
    g->values[v].index = i;
    body->params[body->nparams++] = v;
    if (!define(p, in_names[i], v, in_locs[i])) return false;
  }
  if (!expect(p, TOK_LBRACE, "'{' and the graph's body")) return false;
  if (!parse_region_body(p, body, "return")) return false;
  if (!p->oom && body->nresults != nout) {
    diag_error(p->d, body->result_loc, "the graph returns %d value%s but its signature names %d output%s",
               body->nresults, body->nresults == 1 ? "" : "s", nout, nout == 1 ? "" : "s");
    return false;
  }
  return true;
}

/* weights := 'weights' STRING 'size' INT 'sha256' STRING */
static bool parse_weights(Parser *p) {
  Graph *g = p->g;
  g->weights_loc = p->tok.loc;
  next(p);
  if (!at(p, TOK_STRING)) return fail_expected(p, "the weights file's name as a string");
  if (p->tok.len == 0) { diag_error(p->d, p->tok.loc, "empty weights file name"); return false; }
  g->weights_path = p->tok.text;
  next(p);
  if (!expect_kw(p, "size")) return false;
  Loc sloc = p->tok.loc;
  if (!parse_int(p, &g->weights_size)) return false;
  if (g->weights_size < 0) {
    diag_error(p->d, sloc, "the size of the weights file cannot be negative");
    return false;
  }
  if (!expect_kw(p, "sha256")) return false;
  if (!at(p, TOK_STRING)) return fail_expected(p, "the SHA-256 as a string of 64 hex digits");
  bool hex = p->tok.len == 64;
  for (size_t i = 0; hex && i < 64; i++)
    hex = (p->tok.text[i] >= '0' && p->tok.text[i] <= '9') || (p->tok.text[i] >= 'a' && p->tok.text[i] <= 'f');
  if (!hex) {
    diag_error(p->d, p->tok.loc, "the SHA-256 must be 64 lowercase hex digits");
    return false;
  }
  g->weights_sha256 = p->tok.text;
  next(p);
  return true;
}

/* c-type := IDENT ['*'] — a dtype, or 'void' as a return type. */
static bool parse_ctype(Parser *p, const char **out, bool is_ret) {
  if (!at(p, TOK_IDENT)) return fail_expected(p, "a C type (f32*, i64, ...)");
  bool known = ir_dtype_parse(p->tok.text, p->tok.len) != DT_INVALID || (is_ret && at_kw(p, "void"));
  if (!known) {
    diag_error(p->d, p->tok.loc, "unknown C type '%.*s' (an element type, with '*' for a pointer)",
               (int)(p->tok.len > 40 ? 40 : p->tok.len), p->tok.text);
    return false;
  }
  char buf[16];
  snprintf(buf, sizeof buf, "%.*s", (int)p->tok.len, p->tok.text);
  next(p);
  if (at(p, TOK_STAR)) {
    strcat(buf, "*");
    next(p);
  }
  *out = ir_arena_strdup(&p->g->arena, buf);
  return *out ? true : fail_oom(p);
}

/* extern := 'extern' GLOBAL '(' [c-type {',' c-type}] ')' ['->' c-type] */
static bool parse_extern(Parser *p, int *cap) {
  Graph *g = p->g;
  Loc loc = p->tok.loc;
  next(p);
  if (!at(p, TOK_GLOBAL)) return fail_expected(p, "the function's name (@name)");
  for (int i = 0; i < g->nexterns; i++)
    if (strcmp(g->externs[i].name, p->tok.text) == 0) {
      diag_error(p->d, p->tok.loc, "extern @%s is declared twice", p->tok.text);
      diag_note(p->d, g->externs[i].loc, "previous declaration is here");
      return false;
    }
  if (g->nexterns == *cap) {
    int ncap = *cap ? *cap * 2 : 8;
    ExternDecl *ne = ir_arena_alloc(&g->arena, (size_t)ncap * sizeof *ne);
    if (!ne) return fail_oom(p);
    if (g->nexterns) memcpy(ne, g->externs, (size_t)g->nexterns * sizeof *ne);
    g->externs = ne;
    *cap = ncap;
  }
  ExternDecl *e = &g->externs[g->nexterns];
  memset(e, 0, sizeof *e);
  e->name = p->tok.text;
  e->loc = loc;
  next(p);
  if (!expect(p, TOK_LPAREN, "'('")) return false;
  const char *params[64];
  while (!at(p, TOK_RPAREN)) {
    if (e->nparams && !expect(p, TOK_COMMA, "',' or ')'")) return false;
    if (e->nparams == 64) { diag_error(p->d, p->tok.loc, "more than 64 parameters"); return false; }
    if (!parse_ctype(p, &params[e->nparams], false)) return false;
    e->nparams++;
  }
  next(p);
  e->params = ir_arena_memdup(&g->arena, params, sizeof(const char *) * (size_t)(e->nparams + 1));
  if (!e->params) return fail_oom(p);
  if (at(p, TOK_ARROW)) {
    next(p);
    if (!parse_ctype(p, &e->ret, true)) return false;
  }
  g->nexterns++;
  return true;
}

/* file := 'lathe' INT [weights] {extern} graph EOF */
static bool parse_file(Parser *p) {
  if (!at_kw(p, "lathe")) {
    fail_expected(p, "'lathe 1' (the text IR's version line)");
    return false;
  }
  next(p);
  Loc vloc = p->tok.loc;
  int64_t version = 0;
  if (!parse_int(p, &version)) return false;
  if (version != 1) {
    diag_error(p->d, vloc, "unsupported text IR version %lld (this lathe reads version 1)", (long long)version);
    return false;
  }
  p->g->version = 1;
  if (at_kw(p, "weights") && !parse_weights(p)) sync(p);
  int cap = 0;
  while (at_kw(p, "extern"))
    if (!parse_extern(p, &cap)) sync(p);
  if (!at_kw(p, "graph")) return fail_expected(p, "'graph'");
  if (!parse_graph(p)) return false;
  if (!at(p, TOK_EOF)) return fail_expected(p, "the end of the file after the graph");
  return true;
}

Graph *ir_parse_text(DiagSink *d, const char *name, const char *text, size_t len) {
  const char *file = diag_add_source(d, name, text, len);
  if (!file) { diag_oom(d, loc_file(name)); return NULL; }
  Parser p;
  memset(&p, 0, sizeof p);
  p.d = d;
  p.g = ir_graph_new();
  if (!p.g) { diag_oom(d, loc_file(name)); return NULL; }
  int errors_before = d->errors;
  lex_init(&p.lx, file, text, len, &p.g->arena, d);
  Scope top;
  scope_open(&p, &top);
  next(&p);
  parse_file(&p);
  scope_close(&p, &top);
  if (p.g->arena.failed && !p.oom) diag_oom(d, loc_file(file));
  if (d->errors > errors_before) {
    ir_graph_free(p.g);
    return NULL;
  }
  return p.g;
}

Graph *ir_parse_file(DiagSink *d, const char *path) {
  IrBuffer *buf;
  if (ir_read_file(path, IR_MAX_STRING * (int64_t)16384, &buf, d) != IR_OK) return NULL;
  Graph *g = ir_parse_text(d, path, buf->data, (size_t)buf->size);
  ir_buffer_unref(buf);
  if (!g) return NULL;
  const char *slash = strrchr(path, '/');
  if (slash) {
    g->dir = ir_arena_strndup(&g->arena, path, slash == path ? 1 : (size_t)(slash - path));
    if (!g->dir) {
      diag_oom(d, loc_file(path));
      ir_graph_free(g);
      return NULL;
    }
  }
  return g;
}

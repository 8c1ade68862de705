/* emit.c — the portable C backend. Each kernel becomes a static function; each parallel loop
 * of a kernel is outlined into a function of (ctx, begin, end) run through
 * lathe_exec.parallel_for (serially without one); buffers are typed pointers into the inputs,
 * outputs, weight blob and workspace; the weight blob is one string literal, written in
 * chunks of lines (compilers take long strings well, long initializer lists badly). */
#include <math.h>
#include <string.h>

#include "codegen/c/emit.h"

/* What the emitter needs while writing one kernel. */
typedef struct Emit {
  FILE *f;
  const NestProgram *p;
  const NestKernel *k;
  const CgArtifact *a;
  bool oom;              /* an allocation failed: the output is incomplete */
} Emit;

/* The helpers generated code calls: floor division and remainder of indices, NaN-keeping
 * min/max, sigmoid, and the serial fallback of parallel_for. */
static const char *const prelude =
    "typedef struct lt_ctx {\n"
    "  const void *const *in;    /* the entry point's inputs */\n"
    "  void *const *out;         /* its outputs */\n"
    "  const unsigned char *w;   /* the weight blob */\n"
    "  unsigned char *ws;        /* the workspace */\n"
    "} lt_ctx;\n\n"
    "#if defined(__GNUC__)\n#define LT_UNUSED __attribute__((unused))\n#else\n#define LT_UNUSED\n#endif\n"
    "LT_UNUSED static int64_t lt_floordiv(int64_t a, int64_t b) { int64_t q = a / b; return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q; }\n"
    "LT_UNUSED static int64_t lt_mod(int64_t a, int64_t b) { int64_t r = a % b; return r < 0 ? r + b : r; }\n"
    "LT_UNUSED static int64_t lt_min_i(int64_t a, int64_t b) { return a < b ? a : b; }\n"
    "LT_UNUSED static int64_t lt_max_i(int64_t a, int64_t b) { return a > b ? a : b; }\n"
    "LT_UNUSED static float lt_min_f(float a, float b) { return (a < b || a != a) ? a : b; }\n"
    "LT_UNUSED static float lt_max_f(float a, float b) { return (a > b || a != a) ? a : b; }\n"
    "LT_UNUSED static float lt_sigmoid(float x) { return 1.0f / (1.0f + expf(-x)); }\n"
    "LT_UNUSED static void lt_parallel(const lathe_exec *ex, int64_t n, lathe_task_fn fn, void *ctx) {\n"
    "  if (ex && ex->parallel_for && n > 1) ex->parallel_for(ex->pool, n, fn, ctx);\n"
    "  else fn(ctx, 0, n);\n"
    "}\n\n";

static void expr(Emit *e, const NestExpr *x);

/* A constant of dtype t: floats as exact hexadecimal literals. */
static void constant(Emit *e, const NestExpr *x) {
  if (ir_dtype_is_float(x->dtype)) {
    double v = x->u.c.f;
    if (isnan(v)) fputs("NAN", e->f);
    else if (isinf(v)) fputs(v < 0 ? "(-INFINITY)" : "INFINITY", e->f);
    else fprintf(e->f, "%af", (double)(float)v);
  } else if (x->dtype == DT_I64) {
    if (x->u.c.i == INT64_MIN) fputs("INT64_MIN", e->f);
    else fprintf(e->f, "INT64_C(%lld)", (long long)x->u.c.i);
  } else {
    fprintf(e->f, "((%s)%lld)", cg_c_type(x->dtype), (long long)x->u.c.i);
  }
}

/* The C operator of a binary op written infix, or NULL for those written as calls. */
static const char *infix(NestBinOp op) {
  switch (op) {
  case NEST_ADD: return "+";
  case NEST_SUB: return "-";
  case NEST_MUL: return "*";
  case NEST_DIV: return "/";
  case NEST_LT: return "<";
  case NEST_LE: return "<=";
  case NEST_GT: return ">";
  case NEST_GE: return ">=";
  case NEST_EQ: return "==";
  case NEST_NE: return "!=";
  case NEST_AND: return "&&";
  case NEST_OR: return "||";
  default: return NULL;
  }
}

static void binary(Emit *e, const NestExpr *x) {
  NestBinOp op = x->u.bin.op;
  const NestExpr *a = x->u.bin.a, *b = x->u.bin.b;
  bool fl = ir_dtype_is_float(a->dtype);
  const char *sym = infix(op);
  if (sym && a->dtype == DT_I32 && (op == NEST_ADD || op == NEST_SUB || op == NEST_MUL)) {
    /* 32-bit integers wrap, as the interpreter's do: compute unsigned. */
    fprintf(e->f, "((int32_t)((uint32_t)");
    expr(e, a);
    fprintf(e->f, " %s (uint32_t)", sym);
    expr(e, b);
    fputs("))", e->f);
    return;
  }
  if (sym) {
    if (!cg_binop_is_compare(op) && x->dtype != DT_I64 && !fl) fprintf(e->f, "(%s)", cg_c_type(x->dtype));
    fputc('(', e->f);
    expr(e, a);
    fprintf(e->f, " %s ", sym);
    expr(e, b);
    fputc(')', e->f);
    return;
  }
  const char *fn = "lt_floordiv";
  switch (op) {
  case NEST_MOD: fn = "lt_mod"; break;
  case NEST_MIN: fn = fl ? "lt_min_f" : "lt_min_i"; break;
  case NEST_MAX: fn = fl ? "lt_max_f" : "lt_max_i"; break;
  case NEST_POW: fn = "powf"; break;
  default: break;
  }
  if (!fl && x->dtype != DT_I64) fprintf(e->f, "(%s)", cg_c_type(x->dtype));
  fprintf(e->f, "%s(", fn);
  expr(e, a);
  fputs(", ", e->f);
  expr(e, b);
  fputc(')', e->f);
}

static void unary(Emit *e, const NestExpr *x) {
  static const char *const fcalls[NEST_UNOP_COUNT] = {
      [NEST_ABS] = "fabsf", [NEST_EXP] = "expf",   [NEST_LOG] = "logf",          [NEST_SQRT] = "sqrtf",
      [NEST_TANH] = "tanhf", [NEST_ERF] = "erff",  [NEST_SIGMOID] = "lt_sigmoid", [NEST_FLOOR] = "floorf",
      [NEST_CEIL] = "ceilf"};
  NestUnOp op = x->u.un.op;
  if (op == NEST_NEG || op == NEST_NOT) {
    if (!ir_dtype_is_float(x->dtype) && x->dtype != DT_I64 && op == NEST_NEG) fprintf(e->f, "(%s)", cg_c_type(x->dtype));
    fputs(op == NEST_NEG ? "(-" : "(!", e->f);
  } else if (op == NEST_ABS && !ir_dtype_is_float(x->dtype)) {
    fprintf(e->f, "(%s)llabs((long long)", cg_c_type(x->dtype));
  } else {
    fprintf(e->f, "%s(", fcalls[op]);
  }
  expr(e, x->u.un.a);
  fputc(')', e->f);
}

/* Writes expression x as a C expression of its dtype's C type. */
static void expr(Emit *e, const NestExpr *x) {
  switch (x->kind) {
  case NEST_CONST: constant(e, x); break;
  case NEST_VAR: fprintf(e->f, "%s%d", e->k->var_names[x->u.var], x->u.var); break;
  case NEST_LOCAL: fprintf(e->f, "t%d", x->u.local); break;
  case NEST_LOAD:
    fprintf(e->f, "b%d[", x->u.load.buf);
    expr(e, x->u.load.index);
    fputc(']', e->f);
    break;
  case NEST_BINARY: binary(e, x); break;
  case NEST_UNARY: unary(e, x); break;
  case NEST_SELECT:
    fputc('(', e->f);
    expr(e, x->u.sel.cond);
    fputs(" ? ", e->f);
    expr(e, x->u.sel.a);
    fputs(" : ", e->f);
    expr(e, x->u.sel.b);
    fputc(')', e->f);
    break;
  case NEST_CAST:
    if (x->dtype == DT_BOOL) {
      fputs("(uint8_t)(", e->f);
      expr(e, x->u.cast.a);
      fputs(" != 0)", e->f);
    } else {
      fprintf(e->f, "((%s)", cg_c_type(x->dtype));
      expr(e, x->u.cast.a);
      fputc(')', e->f);
    }
    break;
  }
}

static void block(Emit *e, const NestBlock *b, int depth);

/* Writes loop s (not outlined). */
static void loop(Emit *e, const NestStmt *s, int depth) {
  const char *v = e->k->var_names[s->u.loop.var];
  int n = s->u.loop.var;
  fprintf(e->f, "%*sfor (int64_t %s%d = ", 2 * depth, "", v, n);
  expr(e, s->u.loop.lo);
  fprintf(e->f, ", %s%d_end = ", v, n);
  expr(e, s->u.loop.hi);
  fprintf(e->f, "; %s%d < %s%d_end; %s%d += %lld) {\n", v, n, v, n, v, n, (long long)s->u.loop.step);
  block(e, &s->u.loop.body, depth + 1);
  fprintf(e->f, "%*s}\n", 2 * depth, "");
}

static void block(Emit *e, const NestBlock *b, int depth) {
  for (int i = 0; i < b->n; i++) {
    const NestStmt *s = b->stmts[i];
    switch (s->kind) {
    case NEST_LOOP: loop(e, s, depth); break;
    case NEST_STORE:
      fprintf(e->f, "%*sb%d[", 2 * depth, "", s->u.store.buf);
      expr(e, s->u.store.index);
      fputs("] = ", e->f);
      expr(e, s->u.store.value);
      fputs(";\n", e->f);
      break;
    case NEST_DECL:
      fprintf(e->f, "%*s%s t%d = ", 2 * depth, "", cg_c_type(e->k->local_dtypes[s->u.decl.local]), s->u.decl.local);
      expr(e, s->u.decl.init);
      fputs(";\n", e->f);
      break;
    case NEST_ASSIGN:
      fprintf(e->f, "%*st%d = ", 2 * depth, "", s->u.assign.local);
      expr(e, s->u.assign.value);
      fputs(";\n", e->f);
      break;
    }
  }
}

/* Declares the typed pointers of the buffers block b uses, from lt_ctx *c. */
static void buffers(Emit *e, const NestBlock *b, int depth) {
  bool *used = ir_calloc((size_t)e->p->nbufs + 1, sizeof *used);
  if (!used) {
    e->oom = true;
    return;
  }
  cg_nest_mark_bufs(b, used);
  for (int i = 0; i < e->p->nbufs; i++) {
    if (!used[i]) continue;
    const NestBuf *nb = &e->p->bufs[i];
    const char *t = cg_c_type(nb->dtype);
    bool ro = nb->kind == NEST_BUF_INPUT || nb->kind == NEST_BUF_WEIGHT;
    /* restrict: distinct buffers never overlap (docs/abi.md: outputs may not overlap inputs). */
    fprintf(e->f, "%*s%s%s *restrict b%d = (%s%s *)", 2 * depth, "", ro ? "const " : "", t, i, ro ? "const " : "", t);
    switch (nb->kind) {
    case NEST_BUF_INPUT: fprintf(e->f, "c->in[%d];", nb->index); break;
    case NEST_BUF_OUTPUT: fprintf(e->f, "c->out[%d];", nb->index); break;
    case NEST_BUF_WEIGHT: fprintf(e->f, "(const void *)(c->w + %lld);", (long long)nb->offset); break;
    case NEST_BUF_WORKSPACE: fprintf(e->f, "(void *)(c->ws + %lld);", (long long)nb->offset); break;
    }
    fputs(" /* ", e->f);
    for (const char *s = nb->name; *s; s++) fputc(*s == '*' || *s == '/' || (unsigned char)*s < 32 ? '_' : *s, e->f);
    fputs(" */\n", e->f);
  }
  ir_free(used);
}

/* Writes kernel k: its outlined parallel loops, then the kernel function. */
static void kernel(Emit *e, const NestKernel *k) {
  e->k = k;
  fprintf(e->f, "/* %s", k->op);
  if (k->loc.file && k->loc.line) {
    fputs(" at ", e->f);
    for (const char *s = k->loc.file; *s; s++) fputc(*s == '*' || (unsigned char)*s < 32 ? '_' : *s, e->f);
    fprintf(e->f, ":%d:%d", k->loc.line, k->loc.col);
  }
  fputs(" */\n", e->f);
  for (int i = 0; i < k->body.n; i++) {
    const NestStmt *s = k->body.stmts[i];
    if (s->kind != NEST_LOOP || !s->u.loop.parallel) continue;
    const char *v = k->var_names[s->u.loop.var];
    fprintf(e->f, "static void %s_p%d(void *ctx, int64_t begin, int64_t end) {\n  const lt_ctx *c = ctx;\n", k->name, i);
    buffers(e, &s->u.loop.body, 1);
    fprintf(e->f, "  for (int64_t %s%d = begin; %s%d < end; %s%d++) {\n", v, s->u.loop.var, v, s->u.loop.var, v,
            s->u.loop.var);
    block(e, &s->u.loop.body, 2);
    fputs("  }\n}\n\n", e->f);
  }
  fprintf(e->f, "static void %s(const lt_ctx *c, const lathe_exec *ex) {\n  (void)ex;\n", k->name);
  /* The buffers of the statements that run here (not outlined). */
  NestBlock serial = {ir_calloc((size_t)k->body.n + 1, sizeof(NestStmt *)), 0, 0};
  for (int i = 0; serial.stmts && i < k->body.n; i++)
    if (k->body.stmts[i]->kind != NEST_LOOP || !k->body.stmts[i]->u.loop.parallel)
      serial.stmts[serial.n++] = k->body.stmts[i];
  buffers(e, &serial, 1);
  if (!serial.stmts) e->oom = true;
  ir_free(serial.stmts);
  for (int i = 0; i < k->body.n; i++) {
    const NestStmt *s = k->body.stmts[i];
    if (s->kind == NEST_LOOP && s->u.loop.parallel) {
      fputs("  lt_parallel(ex, ", e->f);
      expr(e, s->u.loop.hi);
      fprintf(e->f, ", %s_p%d, (void *)c);\n", k->name, i);
    } else {
      NestBlock one = {(NestStmt **)&k->body.stmts[i], 1, 1};
      block(e, &one, 1);
    }
  }
  fputs("}\n\n", e->f);
}

/* Bytes of one chunk of the weight blob: 63 lines of 64, under the 4095 characters C99
 * promises a string literal may hold. */
enum { CHUNK = 4032 };

/* Writes the weight blob as string literals, one per chunk of CHUNK bytes: members of one
 * struct of unsigned char arrays (no padding between them), in a union that aligns it. */
static void weights(Emit *e) {
  const NestProgram *p = e->p;
  int64_t n = p->weights_size ? p->weights_size : 1, nchunks = (n + CHUNK - 1) / CHUNK;
  fprintf(e->f, "/* The weight blob: %lld bytes, each tensor at a 64-byte offset. */\n", (long long)p->weights_size);
  fputs("static const union {\n  struct {\n", e->f);
  for (int64_t c = 0; c < nchunks; c++)
    fprintf(e->f, "    unsigned char c%lld[%lld];\n", (long long)c, (long long)(c + 1 < nchunks ? CHUNK : n - c * CHUNK));
  fputs("  } s;\n  double align;\n} lt_weights = {{\n", e->f);
  if (!p->weights_size) fputs("  {0}\n", e->f);
  for (int64_t i = 0; i < p->weights_size; i += 64) {
    if (i % CHUNK == 0 && i) fputs("  ,\n", e->f);
    fputs("  \"", e->f);
    for (int64_t j = i; j < i + 64 && j < p->weights_size; j++) {
      unsigned char ch = p->weights[j];
      if (ch >= 32 && ch < 127 && ch != '"' && ch != '\\' && ch != '?') fputc(ch, e->f);
      else fprintf(e->f, "\\%03o", ch);
    }
    fputs("\"\n", e->f);
  }
  fputs("}};\n\n", e->f);
}

/* Writes the descriptor of one tensor list. */
static void tensor_descs(Emit *e, const char *what, const CgTensor *t, int n) {
  fprintf(e->f, "static const lathe_tensor_desc lt_%s[%d] = {\n", what, n ? n : 1);
  for (int i = 0; i < n; i++) {
    fputs("  {", e->f);
    cg_c_string(e->f, t[i].name);
    fprintf(e->f, ", %d, %d, {", (int)t[i].dtype, t[i].rank);
    for (int d = 0; d < t[i].rank; d++) fprintf(e->f, "%s%lld", d ? ", " : "", (long long)t[i].dims[d]);
    fprintf(e->f, "%s}, %lldu},\n", t[i].rank ? "" : "0", (long long)t[i].bytes);
  }
  if (!n) fputs("  {0, 0, 0, {0}, 0},\n", e->f);
  fputs("};\n", e->f);
}

/* Writes the record, the descriptor, the entry point and the typed wrapper. */
static void entry(Emit *e) {
  const CgArtifact *a = e->a;
  const NestProgram *p = e->p;
  fputs("/* The record, in section .lathe where the compiler can place it (GCC, Clang on ELF). */\n"
        "#if defined(__GNUC__) && defined(__ELF__)\n__attribute__((section(\".lathe\"), used))\n#endif\n", e->f);
  fprintf(e->f, "const lathe_artifact_record %s_record = {\n  LATHE_RECORD_MAGIC, LATHE_ABI_VERSION, "
                "sizeof(lathe_artifact_record), %lluu,\n  %lldu, %lldu, %d, %d,\n  \"%s\", \"%s\",\n  {",
          a->name, (unsigned long long)a->cpu_features, (long long)a->workspace_size, (long long)a->weights_size,
          a->ninputs, a->noutputs, a->name, a->target);
  for (int i = 0; i < 32; i++) fprintf(e->f, "%s%u", i ? ", " : "", a->weights_sha256[i]);
  fputs("},\n  {0}\n};\n\n", e->f);
  tensor_descs(e, "inputs", a->inputs, a->ninputs);
  tensor_descs(e, "outputs", a->outputs, a->noutputs);
  fprintf(e->f, "\nconst lathe_model_desc %s_desc = {&%s_record, lt_inputs, lt_outputs, %s_run};\n\n", a->name, a->name,
          a->name);
  fprintf(e->f, "int %s_run(const lathe_exec *ex, const void *const *inputs, void *const *outputs, void *workspace) {\n",
          a->name);
  fputs("  lt_ctx c;\n  int i;\n  if (ex && ex->abi_version != LATHE_ABI_VERSION) return LATHE_ERR_ABI;\n", e->f);
  fprintf(e->f, "  if ((%d && !inputs) || (%d && !outputs)) return LATHE_ERR_INPUT;\n", a->ninputs, a->noutputs);
  fprintf(e->f, "  for (i = 0; i < %d; i++) if (!inputs[i]) return LATHE_ERR_INPUT;\n", a->ninputs);
  fprintf(e->f, "  for (i = 0; i < %d; i++) if (!outputs[i]) return LATHE_ERR_INPUT;\n", a->noutputs);
  fprintf(e->f, "  if (%lldu > 0 && !workspace) return LATHE_ERR_INPUT;\n", (long long)p->workspace_size);
  fputs("  if ((uintptr_t)workspace % LATHE_WORKSPACE_ALIGN != 0) return LATHE_ERR_ALIGN;\n", e->f);
  if (a->sidecar) {
    fprintf(e->f, "  if (!ex || !ex->weights || ex->weights_size != %lldu) return LATHE_ERR_INPUT;\n",
            (long long)p->weights_size);
    fputs("  c.w = (const unsigned char *)ex->weights;\n", e->f);
  } else {
    fputs("  c.w = (const unsigned char *)&lt_weights;\n", e->f);
  }
  fputs("  c.in = inputs;\n  c.out = outputs;\n  c.ws = (unsigned char *)workspace;\n", e->f);
  for (int i = 0; i < p->nkernels; i++) fprintf(e->f, "  %s(&c, ex);\n", p->kernels[i]->name);
  fputs("  return LATHE_OK;\n}\n\n", e->f);
  fprintf(e->f, "int %s_run_%s(", a->name, cg_wrapper_suffix(a));
  cg_emit_wrapper_params(e->f, a);
  fprintf(e->f, ") {\n  const void *in[%d];\n  void *out[%d];\n", a->ninputs ? a->ninputs : 1, a->noutputs ? a->noutputs : 1);
  for (int i = 0; i < a->ninputs; i++) fprintf(e->f, "  in[%d] = %s;\n", i, a->inputs[i].param);
  for (int i = 0; i < a->noutputs; i++) fprintf(e->f, "  out[%d] = %s;\n", i, a->outputs[i].param);
  fprintf(e->f, "  return %s_run(NULL, in, out, workspace);\n}\n", a->name);
}

IrStatus cg_emit_c(FILE *f, const NestProgram *p, const CgArtifact *a, DiagSink *d) {
  Emit e = {f, p, NULL, a, false};
  fprintf(f, "/* %s.c — generated by `lathe compile` from %s; portable C99, do not edit.\n"
             " * Build: cc -std=c99 -O2 -I<lathe>/include -c %s.c (link with -lm). docs/abi.md describes the ABI. */\n",
          a->name, a->source ? a->source : "a model", a->name);
  fputs("#include <math.h>\n#include <stdint.h>\n#include <stdlib.h>\n\n#include <lathe/lathe.h>\n#include <lathe/model.h>\n\n", f);
  fprintf(f, "int %s_run(const lathe_exec *ex, const void *const *inputs, void *const *outputs, void *workspace);\n", a->name);
  fprintf(f, "int %s_run_%s(", a->name, cg_wrapper_suffix(a));
  cg_emit_wrapper_params(f, a);
  fputs(");\n\n", f);
  fputs(prelude, f);
  if (!a->sidecar) weights(&e);
  for (int i = 0; i < p->nkernels; i++) kernel(&e, p->kernels[i]);
  entry(&e);
  return e.oom ? diag_oom(d, loc_none()) : IR_OK;
}

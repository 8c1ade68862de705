/* printer.c — the text IR's printer. Every choice here (attribute order, float formats,
 * spacing) is canonical, so printing a parsed printout gives the same bytes. */
#include "ir/printer.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ir/op.h"

/* ---- numbers and names ----------------------------------------------------------------------- */

/* Appends ".0" when s (a %g result) would read back as an integer. */
static void print_num(FILE *out, const char *s) {
  fputs(s, out);
  if (!strpbrk(s, ".eE") && !strstr(s, "inf") && !strstr(s, "nan")) fputs(".0", out);
}

void ir_print_f32(FILE *out, float f) {
  uint32_t bits;
  memcpy(&bits, &f, 4);
  if (isnan(f)) {
    if (bits == 0x7fc00000u) fputs("nan", out);
    else fprintf(out, "nan(0x%08x)", bits);
    return;
  }
  if (isinf(f)) { fputs(f < 0 ? "-inf" : "inf", out); return; }
  char buf[64];
  for (int prec = 1; prec <= 9; prec++) {
    snprintf(buf, sizeof buf, "%.*g", prec, (double)f);
    float back = strtof(buf, NULL);
    if (memcmp(&back, &f, 4) == 0) break;
  }
  print_num(out, buf);
}

void ir_print_f64(FILE *out, double f) {
  if (isnan(f)) { fputs("nan", out); return; }
  if (isinf(f)) { fputs(f < 0 ? "-inf" : "inf", out); return; }
  char buf[64];
  for (int prec = 1; prec <= 17; prec++) {
    snprintf(buf, sizeof buf, "%.*g", prec, f);
    double back = strtod(buf, NULL);
    if (memcmp(&back, &f, 8) == 0) break;
  }
  print_num(out, buf);
}

/* Writes s as a quoted string with escapes for quotes, backslashes and non-printing bytes. */
static void print_string(FILE *out, const char *s) {
  fputc('"', out);
  for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
    if (*p == '"' || *p == '\\') fprintf(out, "\\%c", *p);
    else if (*p == '\n') fputs("\\n", out);
    else if (*p == '\t') fputs("\\t", out);
    else if (*p < 32 || *p >= 127) fprintf(out, "\\x%02x", *p);
    else fputc(*p, out);
  }
  fputc('"', out);
}

void ir_print_name(FILE *out, char sigil, const char *name) {
  fputc(sigil, out);
  bool bare = *name != 0;
  for (const char *p = name; *p; p++)
    if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') || *p == '_'))
      bare = false;
  if (bare) fputs(name, out);
  else print_string(out, name);
}

/* ---- types -------------------------------------------------------------------------------------- */

void ir_print_type(FILE *out, const TensorType *t) {
  fprintf(out, "%s[", ir_dtype_name(t->dtype));
  for (int i = 0; i < t->rank; i++) fprintf(out, "%s%lld", i ? "," : "", (long long)t->dims[i]);
  fputc(']', out);
  if (t->layout) fprintf(out, " layout(%s)", t->layout->text);
  const Quant *q = t->quant;
  if (q && q->axis < 0) {
    fputs(" quant(scale = ", out);
    fprintf(out, "%a", q->scales[0]);
    fprintf(out, ", zero_point = %lld)", (long long)q->zero_points[0]);
  } else if (q) {
    fprintf(out, " quant(axis = %d, scales = [", q->axis);
    for (int i = 0; i < q->count; i++) fprintf(out, "%s%a", i ? ", " : "", q->scales[i]);
    fputs("], zero_points = [", out);
    for (int i = 0; i < q->count; i++) fprintf(out, "%s%lld", i ? ", " : "", (long long)q->zero_points[i]);
    fputs("])", out);
  }
}

char *ir_type_str(const TensorType *t, char *buf, size_t n) {
  FILE *f = fmemopen(buf, n, "w");
  if (!f) { snprintf(buf, n, "?"); return buf; }
  setvbuf(f, NULL, _IONBF, 0);
  ir_print_type(f, t);
  fclose(f);
  buf[n - 1] = 0;
  if (strlen(buf) == n - 1 && n > 4) strcpy(buf + n - 4, "...");
  return buf;
}

/* ---- graphs -------------------------------------------------------------------------------------- */

typedef struct Printer {
  FILE *out;
  const Graph *g;
  bool *used; /* per value: some node or region result reads it */
} Printer;

/* Writes a value reference: its name, or a generated one for unnamed used values. */
static void print_value(Printer *p, ValueId v) {
  const Value *val = &p->g->values[v];
  if (val->name) ir_print_name(p->out, '%', val->name);
  else fprintf(p->out, "%%_v%d", v);
}

/* Writes a result being defined: '_' when it has no name and nothing reads it. */
static void print_result(Printer *p, ValueId v) {
  if (!p->g->values[v].name && !p->used[v]) fputc('_', p->out);
  else print_value(p, v);
}

static int attr_cmp(const void *a, const void *b) {
  return strcmp((*(const Attr *const *)a)->name, (*(const Attr *const *)b)->name);
}

/* Writes " {a = 1, b = [1, 2]}" with attributes sorted by name (nothing when none). */
static void print_attrs(Printer *p, const Node *n) {
  if (!n->nattrs) return;
  const Attr *sorted[256];
  int count = n->nattrs < 256 ? n->nattrs : 256;
  for (int i = 0; i < count; i++) sorted[i] = &n->attrs[i];
  qsort(sorted, (size_t)count, sizeof sorted[0], attr_cmp);
  fputs(" {", p->out);
  for (int i = 0; i < count; i++) {
    const Attr *a = sorted[i];
    fprintf(p->out, "%s%s = ", i ? ", " : "", a->name);
    switch (a->kind) {
    case ATTR_INT: fprintf(p->out, "%lld", (long long)a->u.i); break;
    case ATTR_FLOAT: ir_print_f64(p->out, a->u.f); break;
    case ATTR_STR: print_string(p->out, a->u.s); break;
    case ATTR_INTS:
      fputc('[', p->out);
      for (int k = 0; k < a->n; k++) fprintf(p->out, "%s%lld", k ? ", " : "", (long long)a->u.ints[k]);
      fputc(']', p->out);
      break;
    case ATTR_FLOATS:
      fputc('[', p->out);
      for (int k = 0; k < a->n; k++) {
        if (k) fputs(", ", p->out);
        ir_print_f64(p->out, a->u.floats[k]);
      }
      fputc(']', p->out);
      break;
    }
  }
  fputc('}', p->out);
}

/* Writes element k of plain data of dtype t. */
static void print_element(FILE *out, DType t, const void *data, int64_t k) {
  switch (t) {
  case DT_F32: { float f; memcpy(&f, (const char *)data + 4 * k, 4); ir_print_f32(out, f); break; }
  case DT_I8: fprintf(out, "%d", ((const int8_t *)data)[k]); break;
  case DT_U8: fprintf(out, "%u", ((const uint8_t *)data)[k]); break;
  case DT_I32: { int32_t v; memcpy(&v, (const char *)data + 4 * k, 4); fprintf(out, "%d", v); break; }
  case DT_I64: { int64_t v; memcpy(&v, (const char *)data + 8 * k, 8); fprintf(out, "%lld", (long long)v); break; }
  case DT_BOOL: fputs(((const uint8_t *)data)[k] ? "true" : "false", out); break;
  default: fputc('?', out); break;
  }
}

/* Writes dense<...> for a const node: a splat when every element is the same. */
static void print_dense(Printer *p, const Node *n, const TensorType *t) {
  int64_t numel = ir_type_numel(t);
  DType plain = ir_dtype_is_float(t->dtype) ? DT_F32 : t->dtype;
  int esz = ir_dtype_size(plain);
  char *tmp = ir_malloc((size_t)(numel * esz) + 1);
  if (!tmp || !n->data) { fputs("dense<?>", p->out); ir_free(tmp); return; }
  ir_tensor_unpack(t, n->data->data, plain, tmp);
  bool splat = numel > 1;
  for (int64_t k = 1; splat && k < numel; k++) splat = memcmp(tmp, tmp + k * esz, (size_t)esz) == 0;
  fputs("dense<", p->out);
  if (splat) {
    print_element(p->out, plain, tmp, 0);
  } else {
    fputc('[', p->out);
    for (int64_t k = 0; k < numel; k++) {
      if (k) fputs(", ", p->out);
      print_element(p->out, plain, tmp, k);
    }
    fputc(']', p->out);
  }
  fputc('>', p->out);
  ir_free(tmp);
}

static void print_region_body(Printer *p, const Region *r, int indent, const char *end_kw);

/* Writes one statement at the given indent. */
static void print_node(Printer *p, const Node *n, int indent) {
  FILE *out = p->out;
  fprintf(out, "%*s", indent, "");
  for (int i = 0; i < n->noutputs; i++) {
    if (i) fputs(", ", out);
    print_result(p, n->outputs[i]);
  }
  fputs(" = ", out);
  const TensorType *t0 = &p->g->values[n->outputs[0]].type;
  if (n->op == OP_CONST) {
    fputs("const ", out);
    if (n->const_kind == CONST_WEIGHT) {
      fputs("weight(", out);
      print_string(out, n->weight);
      fputc(')', out);
    } else {
      print_dense(p, n, t0);
    }
    fputs(" : ", out);
    ir_print_type(out, t0);
    fputc('\n', out);
    return;
  }
  fputs(ir_ops[n->op].name, out);
  if (n->op == OP_FUSED) {
    fputc(' ', out);
    print_string(out, n->label ? n->label : "");
    fputc(' ', out);
  }
  fputc('(', out);
  for (int i = 0; i < n->ninputs; i++) {
    if (i) fputs(", ", out);
    print_value(p, n->inputs[i]);
  }
  fputc(')', out);
  print_attrs(p, n);
  fputs(" : ", out);
  for (int i = 0; i < n->noutputs; i++) {
    if (i) fputs(", ", out);
    ir_print_type(out, &p->g->values[n->outputs[i]].type);
  }
  if (n->op == OP_FUSED) {
    fprintf(out, " {\n%*s^(", indent + 2, "");
    for (int i = 0; i < n->body->nparams; i++) {
      if (i) fputs(", ", out);
      print_value(p, n->body->params[i]);
    }
    fputs("):\n", out);
    print_region_body(p, n->body, indent + 4, "yield");
    fprintf(out, "%*s}", indent, "");
  }
  fputc('\n', out);
}

/* Writes a region's statements and its return/yield line. */
static void print_region_body(Printer *p, const Region *r, int indent, const char *end_kw) {
  for (int i = 0; i < r->nnodes; i++) print_node(p, &p->g->nodes[r->nodes[i]], indent);
  fprintf(p->out, "%*s%s ", indent, "", end_kw);
  for (int i = 0; i < r->nresults; i++) {
    if (i) fputs(", ", p->out);
    print_value(p, r->results[i]);
  }
  fputc('\n', p->out);
}

/* Marks every value read by a node or returned by region r (and regions inside it). */
static void mark_used(const Graph *g, const Region *r, bool *used) {
  for (int i = 0; i < r->nresults; i++)
    if (r->results[i] >= 0) used[r->results[i]] = true;
  for (int i = 0; i < r->nnodes; i++) {
    const Node *n = &g->nodes[r->nodes[i]];
    for (int k = 0; k < n->ninputs; k++)
      if (n->inputs[k] >= 0) used[n->inputs[k]] = true;
    if (n->body) mark_used(g, n->body, used);
  }
}

void ir_print_graph(FILE *out, const Graph *g) {
  Printer p = {out, g, ir_calloc((size_t)g->nvalues + 1, sizeof(bool))};
  if (!p.used) { fputs("# out of memory\n", out); return; }
  mark_used(g, g->body, p.used);
  fprintf(out, "lathe %d\n", g->version);
  if (g->weights_path) {
    fputs("weights ", out);
    print_string(out, g->weights_path);
    fprintf(out, " size %lld sha256 ", (long long)g->weights_size);
    print_string(out, g->weights_sha256 ? g->weights_sha256 : "");
    fputc('\n', out);
  }
  fputc('\n', out);
  for (int i = 0; i < g->nexterns; i++) {
    const ExternDecl *e = &g->externs[i];
    fputs("extern ", out);
    ir_print_name(out, '@', e->name);
    fputc('(', out);
    for (int k = 0; k < e->nparams; k++) fprintf(out, "%s%s", k ? ", " : "", e->params[k]);
    fputc(')', out);
    if (e->ret) fprintf(out, " -> %s", e->ret);
    fputc('\n', out);
  }
  if (g->nexterns) fputc('\n', out);
  fputs("graph ", out);
  ir_print_name(out, '@', g->name ? g->name : "main");
  fputc('(', out);
  for (int i = 0; i < g->body->nparams; i++) {
    ValueId v = g->body->params[i];
    if (i) fputs(", ", out);
    print_value(&p, v);
    fputs(": ", out);
    ir_print_type(out, &g->values[v].type);
  }
  fputs(") -> (", out);
  for (int i = 0; i < g->body->nresults; i++) {
    if (i) fputs(", ", out);
    ir_print_name(out, '%', g->output_names[i]);
    fputs(": ", out);
    ir_print_type(out, &g->output_types[i]);
  }
  fputs(") {\n", out);
  print_region_body(&p, g->body, 2, "return");
  fputs("}\n", out);
  ir_free(p.used);
}

char *ir_print_to_string(const Graph *g) {
  char *buf = NULL;
  size_t len = 0;
  FILE *f = open_memstream(&buf, &len);
  if (!f) return NULL;
  ir_print_graph(f, g);
  if (fclose(f) != 0) { free(buf); return NULL; }
  /* open_memstream allocates with malloc: hand back an ir_malloc'd copy so callers free
   * with ir_free like every other lathe string */
  char *copy = ir_malloc(len + 1);
  if (copy) memcpy(copy, buf, len + 1);
  free(buf);
  return copy;
}

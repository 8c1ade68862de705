/* verify.c — the verifier: operand counts, attributes against each op's schema, use before
 * definition, duplicate names, and every result type against the op's shape rule. */
#include "ir/verify.h"

#include <string.h>

#include "ir/printer.h"
#include "ir/strmap.h"

typedef struct Verifier {
  Graph *g;
  DiagSink *d;
  bool *defined; /* per value: defined at this point of the walk */
} Verifier;

static const char *attr_kind_name(AttrKind k) {
  switch (k) {
  case ATTR_INT: return "an integer";
  case ATTR_FLOAT: return "a number";
  case ATTR_STR: return "a string";
  case ATTR_INTS: return "a list of integers";
  case ATTR_FLOATS: return "a list of numbers";
  }
  return "?";
}

/* Checks the node's attributes against the op's schema, converting integers written where
 * numbers are expected; reports unknown, mistyped and missing attributes. */
static bool check_attrs(Verifier *vf, Node *n) {
  const OpInfo *info = &ir_ops[n->op];
  bool ok = true;
  for (int i = 0; i < n->nattrs; i++) {
    Attr *a = &n->attrs[i];
    const AttrSpec *s = info->impl->attrs;
    while (s->name && strcmp(s->name, a->name) != 0) s++;
    if (!s->name) {
      diag_error(vf->d, a->loc, "%s has no attribute '%s'", info->name, a->name);
      ok = false;
      continue;
    }
    if (s->kind == ATTR_FLOAT && a->kind == ATTR_INT) {
      a->kind = ATTR_FLOAT;
      a->u.f = (double)a->u.i;
    } else if (s->kind == ATTR_FLOATS && a->kind == ATTR_INTS) {
      double *f = ir_arena_alloc(&vf->g->arena, sizeof(double) * (size_t)(a->n + 1));
      if (!f) return diag_oom(vf->d, a->loc), false;
      for (int k = 0; k < a->n; k++) f[k] = (double)a->u.ints[k];
      a->kind = ATTR_FLOATS;
      a->u.floats = f;
    } else if (s->kind != a->kind) {
      diag_error(vf->d, a->loc, "attribute '%s' of %s must be %s", a->name, info->name, attr_kind_name(s->kind));
      ok = false;
    }
  }
  for (const AttrSpec *s = info->impl->attrs; s->name; s++)
    if (s->required && !ir_attr(n, s->name)) {
      diag_error(vf->d, n->loc, "%s needs attribute '%s'", info->name, s->name);
      ok = false;
    }
  return ok;
}

/* A fused op's label as shown in messages: as written when it is short printable ASCII
 * without quotes or backslashes, else "?" (the source line quoted below shows it anyway). */
static const char *shown_label(const char *label) {
  size_t n = 0;
  for (const char *c = label ? label : ""; *c; c++, n++)
    if (*c < 32 || *c > 126 || *c == '"' || *c == '\\' || n >= 64) return "?";
  return label ? label : "";
}

/* Reports a result whose declared type differs from the one the op gives (for a fused op,
 * the one its body yields). */
static bool check_result_type(Verifier *vf, const Node *n, int i, const TensorType *want) {
  const Value *v = &vf->g->values[n->outputs[i]];
  if (ir_type_equal(&v->type, want)) return true;
  char a[256], b[256];
  ir_type_str(&v->type, a, sizeof a);
  ir_type_str(want, b, sizeof b);
  if (n->op == OP_FUSED && n->noutputs == 1)
    diag_error(vf->d, v->loc, "the result of fused \"%s\" is declared %s but its body yields %s",
               shown_label(n->label), a, b);
  else if (n->op == OP_FUSED)
    diag_error(vf->d, v->loc, "result %d of fused \"%s\" is declared %s but its body yields %s", i,
               shown_label(n->label), a, b);
  else if (n->noutputs == 1)
    diag_error(vf->d, v->loc, "the result of %s is declared %s but the op gives %s", ir_ops[n->op].name, a, b);
  else
    diag_error(vf->d, v->loc, "result %d of %s is declared %s but the op gives %s", i, ir_ops[n->op].name, a, b);
  return false;
}

static bool verify_region(Verifier *vf, Region *r, int depth);

/* Verifies one node: operands, attributes, body, result types. */
static bool verify_node(Verifier *vf, NodeId id, int depth) {
  Graph *g = vf->g;
  Node *n = &g->nodes[id];
  const OpInfo *info = &ir_ops[n->op];
  if (n->op < 0 || n->op >= OP_COUNT) return IR_INTERNAL(vf->d, "node with an invalid op"), false;
  bool variadic = info->flags & OPF_VARIADIC;
  if (n->ninputs < info->min_in || (!variadic && n->ninputs > info->max_in)) {
    if (info->min_in == info->max_in)
      diag_error(vf->d, n->loc, "%s takes %d operand%s, not %d", info->name, info->min_in, info->min_in == 1 ? "" : "s", n->ninputs);
    else if (variadic)
      diag_error(vf->d, n->loc, "%s takes at least %d operand%s, not %d", info->name, info->min_in, info->min_in == 1 ? "" : "s", n->ninputs);
    else
      diag_error(vf->d, n->loc, "%s takes %d to %d operands, not %d", info->name, info->min_in, info->max_in, n->ninputs);
    return false;
  }
  if (n->noutputs < info->min_out || n->noutputs > info->max_out) {
    if (info->min_out == info->max_out)
      diag_error(vf->d, n->loc, "%s has %d result%s, not %d", info->name, info->min_out, info->min_out == 1 ? "" : "s", n->noutputs);
    else
      diag_error(vf->d, n->loc, "%s has %d to %d results, not %d", info->name, info->min_out, info->max_out, n->noutputs);
    return false;
  }
  for (int i = 0; i < n->ninputs; i++) {
    ValueId v = n->inputs[i];
    if (v < 0 || v >= g->nvalues) return IR_INTERNAL(vf->d, "operand is not a value"), false;
    if (!vf->defined[v]) {
      diag_error(vf->d, n->loc, "operand %d of %s is not defined before it", i, info->name);
      return false;
    }
  }
  if (!check_attrs(vf, n)) return false;
  /* Quantized arithmetic is not defined yet: only data movement takes quantized operands. */
  if (n->op != OP_REORDER && n->op != OP_FUSED)
    for (int i = 0; i < n->ninputs; i++)
      if (g->values[n->inputs[i]].type.quant) {
        diag_error(vf->d, n->loc, "%s does not take quantized operands (operand %d is quantized)", info->name, i);
        return false;
      }
  for (int i = 0; i < n->noutputs; i++) {
    const char *why;
    if (!ir_type_valid(&g->values[n->outputs[i]].type, &why)) {
      diag_error(vf->d, g->values[n->outputs[i]].loc, "invalid type: %s", why);
      return false;
    }
  }
  /* A weight a pass made in memory carries its data until `lathe opt -o` writes a sidecar. */
  if (n->op == OP_CONST && n->const_kind == CONST_WEIGHT && !g->weights_path && !n->data) {
    diag_error(vf->d, n->loc, "weight(\"%s\") but the file names no weights file (add a 'weights' line)", n->weight);
    return false;
  }
  if (n->op == OP_FUSED) {
    Region *b = n->body;
    if (!b || b->nparams != n->ninputs || b->nresults != n->noutputs)
      return IR_INTERNAL(vf->d, "fused node and body disagree"), false;
    for (int i = 0; i < b->nparams; i++) {
      TensorType *pt = &g->values[b->params[i]].type;
      *pt = g->values[n->inputs[i]].type; /* a parameter has its operand's type */
    }
    if (!verify_region(vf, b, depth + 1)) return false;
    n = &g->nodes[id];
    bool ok = true;
    for (int i = 0; i < n->noutputs; i++) ok &= check_result_type(vf, n, i, &g->values[b->results[i]].type);
    return ok;
  }
  /* The shape rule fills the result types; they start as the declared ones. */
  const TensorType *in[IR_MAX_OPERANDS];
  TensorType out[16];
  if (n->noutputs > 16) return IR_INTERNAL(vf->d, "too many results for the shape rule"), false;
  for (int i = 0; i < n->ninputs; i++) in[i] = &g->values[n->inputs[i]].type;
  for (int i = 0; i < n->noutputs; i++) out[i] = g->values[n->outputs[i]].type;
  InferCtx c = {g, n, in, n->ninputs, out, n->noutputs, vf->d};
  int errors = vf->d->errors;
  if (!info->impl->infer(&c)) {
    if (vf->d->errors == errors) diag_error(vf->d, n->loc, "%s: invalid operands", info->name);
    return false;
  }
  bool ok = true;
  for (int i = 0; i < n->noutputs; i++) {
    /* Any op may write its result in any layout (the interpreter repacks); only reorder
     * and const say something about layouts themselves. */
    if (!out[i].layout) out[i].layout = g->values[n->outputs[i]].type.layout;
    ok &= check_result_type(vf, n, i, &out[i]);
  }
  return ok;
}

/* Verifies the nodes of r in order, then its results. */
static bool verify_region(Verifier *vf, Region *r, int depth) {
  Graph *g = vf->g;
  if (depth > IR_MAX_DEPTH) {
    diag_error(vf->d, r->result_loc, "regions are nested deeper than %d", IR_MAX_DEPTH);
    return false;
  }
  StrMap names;
  strmap_init(&names);
  bool ok = true;
  /* A region sees only its own parameters and results: clear what enclosing regions defined. */
  bool *saved = ir_malloc((size_t)g->nvalues + 1);
  if (!saved) return diag_oom(vf->d, r->result_loc), false;
  memcpy(saved, vf->defined, (size_t)g->nvalues);
  memset(vf->defined, 0, (size_t)g->nvalues);
  /* Names must be unique within a region. */
  for (int i = 0; i < r->nparams; i++) {
    const Value *v = &g->values[r->params[i]];
    vf->defined[r->params[i]] = true;
    if (v->name && strmap_get(&names, v->name) >= 0) {
      diag_error(vf->d, v->loc, "duplicate name %%%s", v->name);
      ok = false;
    } else if (v->name && !strmap_put(&names, v->name, r->params[i])) {
      diag_oom(vf->d, v->loc);
      ok = false;
    }
  }
  for (int i = 0; i < r->nnodes; i++) {
    NodeId id = r->nodes[i];
    /* A node that fails still defines its results, so its users do not report again. */
    if (!verify_node(vf, id, depth)) ok = false;
    const Node *n = &g->nodes[id];
    for (int k = 0; k < n->noutputs; k++) {
      ValueId v = n->outputs[k];
      vf->defined[v] = true;
      const char *name = g->values[v].name;
      if (!name) continue;
      if (strmap_get(&names, name) >= 0) {
        diag_error(vf->d, g->values[v].loc, "duplicate name %%%s", name);
        ok = false;
      } else if (!strmap_put(&names, name, v)) {
        diag_oom(vf->d, g->values[v].loc);
        ok = false;
      }
    }
  }
  for (int i = 0; ok && i < r->nresults; i++) {
    ValueId v = r->results[i];
    if (v < 0 || v >= g->nvalues || !vf->defined[v]) {
      diag_error(vf->d, r->result_loc, "result %d is not defined in this region", i);
      ok = false;
    }
  }
  strmap_free(&names);
  memcpy(vf->defined, saved, (size_t)g->nvalues);
  ir_free(saved);
  return ok;
}

IrStatus ir_verify(Graph *g, DiagSink *d) {
  int errors = d->errors;
  Verifier vf = {g, d, ir_calloc((size_t)g->nvalues + 1, 1)};
  if (!vf.defined) return diag_oom(d, g->loc);
  for (int i = 0; i < g->body->nparams; i++) {
    const char *why;
    const Value *v = &g->values[g->body->params[i]];
    if (!ir_type_valid(&v->type, &why)) diag_error(d, v->loc, "invalid type: %s", why);
  }
  bool ok = verify_region(&vf, g->body, 0);
  ir_free(vf.defined);
  for (int i = 0; ok && i < g->body->nresults; i++) {
    const TensorType *t = &g->values[g->body->results[i]].type;
    if (!ir_type_equal(t, &g->output_types[i])) {
      char a[256], b[256];
      diag_error(d, g->output_locs[i], "output %%%s is declared %s but the graph returns %s", g->output_names[i],
                 ir_type_str(&g->output_types[i], a, sizeof a), ir_type_str(t, b, sizeof b));
      ok = false;
    }
  }
  if (d->internal) return IR_ERR_INTERNAL;
  return ok && d->errors == errors ? IR_OK : IR_ERR_INPUT;
}

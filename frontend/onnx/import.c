/* import.c — the ONNX importer's driver. An import runs in three phases:
 *
 *   1. check: the opset, every name (defined once, every use defined), the order of the nodes
 *      (sorted topologically, cycles refused), the op types against the op table, the graph
 *      inputs' types (dynamic dimensions fixed by --shape) and the initializers (converted
 *      into const nodes). Malformed input is reported as errors; what lathe does not support
 *      is collected into one report.
 *   2. convert: each node, in topological order, through its op table row (ops.c) into lathe
 *      nodes whose shape operands are attributes. Nodes whose operands are all constants are
 *      evaluated on the reference kernels as they are built (ir/consteval.h), so shape
 *      computations (Shape → Gather → Concat → Reshape) fold into constants without any
 *      pattern matching. A node that cannot be converted poisons its outputs: its users are
 *      skipped silently, so each problem is reported once.
 *   3. finish: outputs bound and checked against their declared types, nodes whose results
 *      are unused dropped, the graph verified.
 *
 * The report of unsupported items is one message, printed before the import fails. */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "frontend/onnx/internal.h"
#include "ir/consteval.h"
#include "ir/printer.h"
#include "ir/fs.h"
#include "ir/verify.h"

/* The largest .onnx file read: protobuf itself cannot hold more than 2 GiB in one message. */
#define ONNX_MAX_FILE_BYTES ((int64_t)INT32_MAX)

/* Producers of ONNX names in the check phase (node producers are node indices >= 0). */
enum { PRODUCER_NONE = -1, PRODUCER_INPUT = -2, PRODUCER_INITIALIZER = -3 };

/* A protobuf-c string that may be NULL, as a string. */
static const char *str(const char *s) { return s ? s : ""; }

/* ---- reporting ---------------------------------------------------------------------------------------- */

void onnx_unsupported(Importer *im, const char *fmt, ...) {
  im->unsupported++;
  if (im->report_items++ >= ONNX_REPORT_MAX) return;
  ir_text_add(&im->report, "\n  - ");
  if (im->node) ir_text_add(&im->report, "node '%s' (%s): ", im->loc.origin, str(im->node->op_type));
  va_list ap;
  va_start(ap, fmt);
  ir_text_vadd(&im->report, fmt, ap);
  va_end(ap);
}

IrStatus onnx_error(Importer *im, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  diag_vreport(im->d, DIAG_ERROR, im->loc, fmt, ap);
  va_end(ap);
  return IR_ERR_INPUT;
}

IrStatus onnx_oom(Importer *im) {
  if (!im->oom) diag_oom(im->d, im->loc);
  im->oom = true;
  return IR_ERR_INPUT;
}

/* Records that a node uses op type `type` that lathe cannot import, for the reason why. */
static void add_gap(Importer *im, const char *type, const char *why, const char *node_name) {
  OnnxOpGap *gap = NULL;
  for (int i = 0; i < im->ngaps; i++)
    if (!strcmp(im->gaps[i].op_type, type) && im->gaps[i].why == why) gap = &im->gaps[i];
  if (!gap) {
    if (im->ngaps == im->cap_gaps) {
      int cap = im->cap_gaps ? 2 * im->cap_gaps : 16;
      OnnxOpGap *p = ir_realloc(im->gaps, sizeof *p * (size_t)cap);
      if (!p) { onnx_oom(im); return; }
      im->gaps = p;
      im->cap_gaps = cap;
    }
    gap = &im->gaps[im->ngaps++];
    memset(gap, 0, sizeof *gap);
    gap->op_type = type;
    gap->why = why;
  }
  if (gap->count < 8) ir_text_add(&gap->names, "%s'%s'", gap->count ? ", " : "", node_name);
  else if (gap->count == 8) ir_text_add(&gap->names, ", ...");
  gap->count++;
  im->unsupported++;
}

/* Prints the whole report of unsupported items as one error. */
static void print_report(Importer *im) {
  IrText t = {0};
  int items = im->ngaps + im->report_items;
  ir_text_add(&t, "lathe cannot import this model (%d unsupported item%s):", items, items == 1 ? "" : "s");
  if (im->report.s) ir_text_add(&t, "%s", im->report.s);
  if (im->report_items > ONNX_REPORT_MAX) ir_text_add(&t, "\n  - and %d more", im->report_items - ONNX_REPORT_MAX);
  for (int i = 0; i < im->ngaps; i++) {
    const OnnxOpGap *gap = &im->gaps[i];
    ir_text_add(&t, "\n  - op %s: %s; %d node%s: %s", gap->op_type, gap->why, gap->count, gap->count == 1 ? "" : "s",
             gap->names.s ? gap->names.s : "");
  }
  if (t.failed || im->report.failed) ir_text_add(&t, "\n  (the list is incomplete: out of memory)");
  diag_error(im->d, loc_file(im->file), "%s", t.s ? t.s : "lathe cannot import this model (out of memory)");
  ir_text_free(&t);
}

/* ---- names and values ------------------------------------------------------------------------------------ */

/* Gives every node an origin for its Loc: its name, or (when it has none) a description
 * made of its op type and position. */
static bool make_origins(Importer *im) {
  const Onnx__GraphProto *gp = im->graph;
  im->origins = ir_arena_alloc(&im->g->arena, sizeof(char *) * (gp->n_node + 1));
  if (!im->origins) return false;
  for (size_t i = 0; i < gp->n_node; i++) {
    const Onnx__NodeProto *n = gp->node[i];
    char buf[256];
    const char *name = str(n->name);
    if (!*name) {
      snprintf(buf, sizeof buf, "(unnamed %.64s #%zu)", str(n->op_type), i);
      name = buf;
    }
    size_t len = strlen(name);
    im->origins[i] = ir_arena_strndup(&im->g->arena, name, len < IR_MAX_NAME ? len : IR_MAX_NAME);
    if (!im->origins[i]) return false;
  }
  return true;
}

/* The location of node i: the model file and the node's origin. */
static Loc node_loc(const Importer *im, size_t i) {
  Loc loc = loc_file(im->file);
  loc.origin = im->origins[i];
  return loc;
}

/* Checks that an ONNX value name is non-empty and within IR_MAX_NAME bytes; reports it
 * (naming `what`) otherwise. */
static bool check_name(Importer *im, const char *name, const char *what) {
  size_t len = strlen(str(name));
  if (len == 0) return onnx_error(im, "%s has an empty name", what), false;
  if (len > IR_MAX_NAME)
    return onnx_error(im, "%s has a name of %zu bytes (the limit is %d)", what, len, IR_MAX_NAME), false;
  return true;
}

/* A fresh lathe value name derived from the current node's first output and hint. */
static const char *fresh_name(Importer *im, const char *hint) {
  const char *base = "v";
  if (im->node && im->node->n_output && *str(im->node->output[0])) base = im->node->output[0];
  char buf[IR_MAX_NAME + 64];
  int len = snprintf(buf, sizeof buf, "%.900s.%.60s", base, hint && *hint ? hint : "t");
  for (int k = 1; strmap_get(&im->names, buf) >= 0; k++)
    snprintf(buf + len, sizeof buf - (size_t)len, ".%d", k);
  char *name = ir_arena_strdup(&im->g->arena, buf);
  if (!name || !strmap_put(&im->names, name, 1)) return NULL;
  return name;
}

/* Adds a result value named after name (an ONNX name, bound to it) or a fresh name. */
static ValueId new_value(Importer *im, const char *name, const char *hint, const TensorType *t) {
  const char *lname = name ? ir_arena_strdup(&im->g->arena, name) : fresh_name(im, hint);
  if (!lname) return -1;
  ValueId v = ir_graph_add_value(im->g, lname, t, VAL_RESULT, im->loc);
  if (v >= 0 && name && !strmap_put(&im->values, name, v)) return -1;
  return v;
}

/* Appends node id to the body's order. */
static bool push_order(Importer *im, NodeId id) {
  if (im->norder == im->cap_order) {
    int cap = im->cap_order ? 2 * im->cap_order : 256;
    NodeId *p = ir_realloc(im->order, sizeof *p * (size_t)cap);
    if (!p) return false;
    im->order = p;
    im->cap_order = cap;
  }
  im->order[im->norder++] = id;
  return true;
}

IrStatus onnx_bind(Importer *im, const char *name, ValueId v) {
  if (!name || !*name) return IR_OK;
  return strmap_put(&im->values, name, v) ? IR_OK : onnx_oom(im);
}

ValueId onnx_input(Importer *im, int i) {
  const Onnx__NodeProto *n = im->node;
  if (i < 0 || (size_t)i >= n->n_input || !*str(n->input[i])) return -1;
  return strmap_get(&im->values, n->input[i]);
}

const Node *onnx_const_node(const Importer *im, ValueId v) {
  if (v < 0 || im->g->values[v].kind != VAL_RESULT) return NULL;
  const Node *n = &im->g->nodes[im->g->values[v].def];
  return n->op == OP_CONST && n->data ? n : NULL;
}

/* ---- building nodes -------------------------------------------------------------------------------------- */

/* Appends attribute `name` of kind k to al; returns it (NULL when al is full). The kind is
 * converted to what the lathe op's schema says later, in add_attrs. */
static Attr *attr_push(Importer *im, OnnxAttrs *al, const char *name, AttrKind k) {
  if (al->n == ONNX_MAX_ATTRS) { al->failed = true; return NULL; }
  Attr *a = &al->a[al->n++];
  memset(a, 0, sizeof *a);
  a->name = name;
  a->kind = k;
  a->loc = im->loc;
  return a;
}

void onnx_put_int(Importer *im, OnnxAttrs *al, const char *name, int64_t v) {
  Attr *a = attr_push(im, al, name, ATTR_INT);
  if (a) a->u.i = v;
}

void onnx_put_float(Importer *im, OnnxAttrs *al, const char *name, double v) {
  Attr *a = attr_push(im, al, name, ATTR_FLOAT);
  if (a) a->u.f = v;
}

void onnx_put_str(Importer *im, OnnxAttrs *al, const char *name, const char *v) {
  Attr *a = attr_push(im, al, name, ATTR_STR);
  if (a && !(a->u.s = ir_arena_strdup(&im->g->arena, v))) al->failed = true;
}

void onnx_put_ints(Importer *im, OnnxAttrs *al, const char *name, const int64_t *v, int n) {
  Attr *a = attr_push(im, al, name, ATTR_INTS);
  if (!a) return;
  a->n = n;
  a->u.ints = ir_arena_alloc(&im->g->arena, sizeof(int64_t) * (size_t)(n + 1));
  if (!a->u.ints) { al->failed = true; return; }
  if (n) memcpy(a->u.ints, v, sizeof(int64_t) * (size_t)n);
}

void onnx_put_floats(Importer *im, OnnxAttrs *al, const char *name, const double *v, int n) {
  Attr *a = attr_push(im, al, name, ATTR_FLOATS);
  if (!a) return;
  a->n = n;
  a->u.floats = ir_arena_alloc(&im->g->arena, sizeof(double) * (size_t)(n + 1));
  if (!a->u.floats) { al->failed = true; return; }
  if (n) memcpy(a->u.floats, v, sizeof(double) * (size_t)n);
}

/* Copies al onto node id, converting integers where the op's schema wants numbers; an
 * attribute the schema does not name is an internal error (the op table is wrong). */
static IrStatus add_attrs(Importer *im, NodeId id, const OnnxAttrs *al) {
  Graph *g = im->g;
  int op = g->nodes[id].op;
  Attr *attrs = ir_arena_memdup(&g->arena, al->a, sizeof(Attr) * (size_t)al->n);
  if (!attrs) return onnx_oom(im);
  for (int i = 0; i < al->n; i++) {
    Attr *a = &attrs[i];
    const AttrSpec *s = ir_ops[op].impl->attrs;
    while (s->name && strcmp(s->name, a->name) != 0) s++;
    if (!s->name) {
      diag_error(im->d, im->loc, "the ONNX op table gives %s an attribute '%s' it does not have", ir_ops[op].name,
                 a->name);
      return IR_INTERNAL(im->d, "ONNX op table out of step with ir/ops.def");
    }
    if (s->kind == ATTR_FLOAT && a->kind == ATTR_INT) {
      a->kind = ATTR_FLOAT;
      a->u.f = (double)a->u.i;
    } else if (s->kind == ATTR_INT && a->kind == ATTR_FLOAT) {
      if (!(a->u.f >= -9e18 && a->u.f <= 9e18)) return onnx_error(im, "attribute '%s' is out of range", a->name);
      a->kind = ATTR_INT;
      a->u.i = (int64_t)a->u.f;
    } else if (s->kind == ATTR_FLOATS && a->kind == ATTR_INTS) {
      double *f = ir_arena_alloc(&g->arena, sizeof(double) * (size_t)(a->n + 1));
      if (!f) return onnx_oom(im);
      for (int k = 0; k < a->n; k++) f[k] = (double)a->u.ints[k];
      a->kind = ATTR_FLOATS;
      a->u.floats = f;
    } else if (s->kind != a->kind) {
      diag_error(im->d, im->loc, "the ONNX op table gives %s's attribute '%s' the wrong kind", ir_ops[op].name,
                 a->name);
      return IR_INTERNAL(im->d, "ONNX op table out of step with ir/ops.def");
    }
  }
  g->nodes[id].attrs = attrs;
  g->nodes[id].nattrs = al->n;
  return IR_OK;
}

/* True when folding node id into constants pays: its operands are all constants and its
 * results are no larger than them (or small), so folding never inflates the weights much. */
static bool worth_folding(const Graph *g, NodeId id) {
  const Node *n = &g->nodes[id];
  if (n->ninputs == 0 || !ir_node_inputs_const(g, id)) return false;
  int64_t in = 0, out = 0;
  for (int i = 0; i < n->ninputs; i++) in += ir_type_bytes(&g->values[n->inputs[i]].type);
  for (int i = 0; i < n->noutputs; i++) out += ir_type_bytes(&g->values[n->outputs[i]].type);
  return out <= in || out <= ((int64_t)1 << 20);
}

/* Evaluates node id (operands all constants) and turns it into const nodes, one per result:
 * the node itself for result 0, new nodes (appended to the order) for the others. */
static IrStatus fold(Importer *im, NodeId id) {
  Graph *g = im->g;
  int nout = g->nodes[id].noutputs;
  IrBuffer *bufs[IR_MAX_RESULTS];
  IrStatus st = ir_const_eval(g, id, bufs, im->d);
  if (st != IR_OK) return st;
  for (int i = 1; i < nout; i++) {
    NodeId c = ir_graph_add_node(g, OP_CONST, 0, 1, im->loc);
    if (c < 0 || !push_order(im, c)) {
      for (int k = i; k < nout; k++) ir_buffer_unref(bufs[k]);
      ir_buffer_unref(bufs[0]);
      return onnx_oom(im);
    }
    ValueId v = g->nodes[id].outputs[i];
    g->nodes[c].outputs[0] = v;
    g->nodes[c].const_kind = CONST_DENSE;
    g->nodes[c].data = bufs[i];
    g->values[v].def = c;
    g->values[v].index = 0;
  }
  Node *n = &g->nodes[id];
  n->op = OP_CONST;
  n->ninputs = 0;
  n->noutputs = 1;
  n->attrs = NULL;
  n->nattrs = 0;
  n->const_kind = CONST_DENSE;
  n->data = bufs[0];
  return IR_OK;
}

IrStatus onnx_emit(Importer *im, int op, const ValueId *ins, int nin, const OnnxAttrs *al, int nout,
                   const DType *dtypes, const char *const *names, const char *hint, ValueId *outs) {
  Graph *g = im->g;
  if (al && al->failed) return onnx_oom(im);
  if (nin > IR_MAX_OPERANDS || nout > IR_MAX_RESULTS || nout < 1)
    return IR_INTERNAL(im->d, "onnx_emit: operand or result count out of range");
  for (int i = 0; i < nin; i++)
    if (ins[i] < 0) return IR_INTERNAL(im->d, "onnx_emit: missing operand");
  NodeId id = ir_graph_add_node(g, op, nin, nout, im->loc);
  if (id < 0 || !push_order(im, id)) return onnx_oom(im);
  if (nin) memcpy(g->nodes[id].inputs, ins, sizeof(ValueId) * (size_t)nin);
  if (al && al->n) {
    IrStatus st = add_attrs(im, id, al);
    if (st != IR_OK) return st;
  }
  for (int i = 0; i < nout; i++) {
    TensorType t;
    memset(&t, 0, sizeof t);
    t.dtype = dtypes ? dtypes[i] : nin ? g->values[ins[0]].type.dtype : DT_F32;
    ValueId v = new_value(im, names ? names[i] : NULL, hint, &t);
    if (v < 0) return onnx_oom(im);
    g->values[v].def = id;
    g->values[v].index = i;
    g->nodes[id].outputs[i] = v;
    outs[i] = v;
  }
  IrStatus st = ir_infer_node(g, id, im->d);
  if (st == IR_OK && worth_folding(g, id)) st = fold(im, id);
  return st;
}

IrStatus onnx_emit_const(Importer *im, const TensorType *t, IrBuffer *data, const char *name, const char *hint,
                         ValueId *out) {
  Graph *g = im->g;
  NodeId id = ir_graph_add_node(g, OP_CONST, 0, 1, im->loc);
  if (id < 0 || !push_order(im, id)) {
    ir_buffer_unref(data);
    return onnx_oom(im);
  }
  g->nodes[id].const_kind = CONST_DENSE;
  g->nodes[id].data = data;
  ValueId v = new_value(im, name, hint, t);
  if (v < 0) return onnx_oom(im);
  g->values[v].def = id;
  g->nodes[id].outputs[0] = v;
  *out = v;
  return IR_OK;
}

/* ---- constant operands -------------------------------------------------------------------------------- */

/* Remembers that graph input `name` must be constant (once per name). */
static void want_frozen(Importer *im, const char *name) {
  for (int i = 0; i < im->nfreeze; i++)
    if (!strcmp(im->freeze[i], name)) return;
  if (im->nfreeze == im->cap_freeze) {
    int cap = im->cap_freeze ? 2 * im->cap_freeze : 8;
    char **p = ir_realloc(im->freeze, sizeof *p * (size_t)cap);
    if (!p) return;
    im->freeze = p;
    im->cap_freeze = cap;
  }
  if ((im->freeze[im->nfreeze] = ir_strdup(name))) im->nfreeze++;
}

/* Reports that input i must be a constant (noting a graph input that could be frozen); false. */
static bool not_constant(Importer *im, int i, const char *what) {
  ValueId v = onnx_input(im, i);
  if (v >= 0 && im->g->values[v].kind == VAL_INPUT) want_frozen(im, im->node->input[i]);
  onnx_unsupported(im, "%s (input %d, '%.200s') is computed at run time; lathe needs it to be a constant", what, i,
                   str(im->node->input[i]));
  return false;
}

bool onnx_const_ints(Importer *im, int i, const char *what, int64_t *out, int max, int *n) {
  ValueId v = onnx_input(im, i);
  const Node *c = onnx_const_node(im, v);
  if (!c) return not_constant(im, i, what);
  const TensorType *t = onnx_type(im, v);
  int64_t numel = ir_type_numel(t);
  if (t->dtype != DT_I64 && t->dtype != DT_I32)
    return onnx_error(im, "%s (input %d) must be an integer tensor, not %s", what, i, ir_dtype_name(t->dtype)), false;
  if (numel > max)
    return onnx_error(im, "%s (input %d) has %lld elements; at most %d are allowed", what, i, (long long)numel, max),
           false;
  for (int64_t k = 0; k < numel; k++)
    out[k] = t->dtype == DT_I64 ? ((const int64_t *)c->data->data)[k] : ((const int32_t *)c->data->data)[k];
  *n = (int)numel;
  return true;
}

bool onnx_const_floats(Importer *im, int i, const char *what, double *out, int max, int *n) {
  ValueId v = onnx_input(im, i);
  const Node *c = onnx_const_node(im, v);
  if (!c) return not_constant(im, i, what);
  const TensorType *t = onnx_type(im, v);
  int64_t numel = ir_type_numel(t);
  if (numel > max)
    return onnx_error(im, "%s (input %d) has %lld elements; at most %d are allowed", what, i, (long long)numel, max),
           false;
  Tensor tensor = {*t, c->data->data};
  for (int64_t k = 0; k < numel; k++) out[k] = op_get(&tensor, k);
  *n = (int)numel;
  return true;
}

bool onnx_const_scalar(Importer *im, int i, const char *what, double *out) {
  ValueId v = onnx_input(im, i);
  const Node *c = onnx_const_node(im, v);
  if (!c) return not_constant(im, i, what);
  const TensorType *t = onnx_type(im, v);
  if (ir_type_numel(t) != 1)
    return onnx_error(im, "%s (input %d) must hold one element, not %lld", what, i, (long long)ir_type_numel(t)),
           false;
  Tensor tensor = {*t, c->data->data};
  *out = op_get(&tensor, 0);
  return true;
}

/* ---- ONNX attributes ---------------------------------------------------------------------------------- */

const Onnx__AttributeProto *onnx_attr(const Importer *im, const char *name) {
  for (size_t i = 0; i < im->node->n_attribute; i++)
    if (!strcmp(str(im->node->attribute[i]->name), name)) return im->node->attribute[i];
  return NULL;
}

/* The type of attribute a: its type field, or (for models too old to set it) the field that
 * holds a value. */
static int attr_type(const Onnx__AttributeProto *a) {
  if (a->has_type) return (int)a->type;
  if (a->has_f) return ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOAT;
  if (a->has_i) return ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INT;
  if (a->has_s) return ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__STRING;
  if (a->t) return ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__TENSOR;
  if (a->n_floats) return ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOATS;
  if (a->n_ints) return ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INTS;
  return ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__UNDEFINED;
}

/* Looks attribute name up and checks its type; NULL when absent or (reported, *ok cleared)
 * of another type. */
static const Onnx__AttributeProto *typed_attr(Importer *im, const char *name, int type, const char *type_name,
                                              bool *ok) {
  const Onnx__AttributeProto *a = onnx_attr(im, name);
  if (!a) return NULL;
  if (attr_type(a) != type) {
    onnx_error(im, "attribute '%s' must be %s", name, type_name);
    *ok = false;
    return NULL;
  }
  return a;
}

int64_t onnx_attr_i(Importer *im, const char *name, int64_t def, bool *ok) {
  const Onnx__AttributeProto *a = typed_attr(im, name, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INT, "an int", ok);
  return a ? a->i : def;
}

double onnx_attr_f(Importer *im, const char *name, double def, bool *ok) {
  const Onnx__AttributeProto *a = typed_attr(im, name, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOAT, "a float", ok);
  return a ? a->f : def;
}

const char *onnx_attr_s(Importer *im, const char *name, const char *def, bool *ok) {
  const Onnx__AttributeProto *a = typed_attr(im, name, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__STRING, "a string", ok);
  if (!a) return def;
  if (a->s.len > IR_MAX_STRING) {
    onnx_error(im, "attribute '%s' is a string of %zu bytes (the limit is %d)", name, a->s.len, IR_MAX_STRING);
    *ok = false;
    return def;
  }
  char *s = ir_arena_strndup(&im->g->arena, a->s.data ? (const char *)a->s.data : "", a->s.len);
  if (!s) { onnx_oom(im); *ok = false; return def; }
  return s;
}

const int64_t *onnx_attr_ints(Importer *im, const char *name, int max, int *n, bool *ok) {
  const Onnx__AttributeProto *a =
      typed_attr(im, name, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INTS, "a list of ints", ok);
  *n = 0;
  if (!a) return NULL;
  if (a->n_ints > (size_t)max) {
    onnx_error(im, "attribute '%s' has %zu entries; at most %d are allowed", name, a->n_ints, max);
    *ok = false;
    return NULL;
  }
  *n = (int)a->n_ints;
  return a->ints;
}

const float *onnx_attr_floats(Importer *im, const char *name, int max, int *n, bool *ok) {
  const Onnx__AttributeProto *a =
      typed_attr(im, name, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOATS, "a list of floats", ok);
  *n = 0;
  if (!a) return NULL;
  if (a->n_floats > (size_t)max) {
    onnx_error(im, "attribute '%s' has %zu entries; at most %d are allowed", name, a->n_floats, max);
    *ok = false;
    return NULL;
  }
  *n = (int)a->n_floats;
  return a->floats;
}

/* ---- phase 1: checks ---------------------------------------------------------------------------------- */

/* Finds the default domain's opset and reports an opset outside what lathe imports. */
static void check_opset(Importer *im) {
  const Onnx__ModelProto *m = im->model;
  for (size_t i = 0; i < m->n_opset_import; i++) {
    const Onnx__OperatorSetIdProto *o = m->opset_import[i];
    const char *dom = str(o->domain);
    if ((!*dom || !strcmp(dom, "ai.onnx")) && o->has_version && o->version > im->opset)
      im->opset = o->version > INT32_MAX ? INT32_MAX : (int)o->version;
  }
  if (im->opset == 0)
    onnx_unsupported(im, "the model imports no opset of the default ONNX domain (lathe imports opsets %d to %d)",
                     ONNX_MIN_OPSET, ONNX_MAX_OPSET);
  else if (im->opset < ONNX_MIN_OPSET || im->opset > ONNX_MAX_OPSET)
    onnx_unsupported(im, "opset %d of the default ONNX domain (lathe imports opsets %d to %d)", im->opset,
                     ONNX_MIN_OPSET, ONNX_MAX_OPSET);
}

/* Describes a producer for messages: "node 'x'", "graph input", "initializer". */
static void producer_str(Importer *im, int p, char *buf, size_t n) {
  if (p == PRODUCER_INPUT) snprintf(buf, n, "a graph input");
  else if (p == PRODUCER_INITIALIZER) snprintf(buf, n, "an initializer");
  else snprintf(buf, n, "node '%.200s'", im->origins[p]);
}

/* Records every name's producer in prod and every use in uses; reports names defined twice,
 * uses of names defined nowhere and names over the limits. */
static bool check_names(Importer *im, StrMap *prod, StrMap *uses) {
  const Onnx__GraphProto *gp = im->graph;
  bool ok = true;
  char a[256];
  for (size_t i = 0; i < gp->n_initializer; i++) {
    const char *name = gp->initializer[i]->name;
    if (!check_name(im, name, "an initializer")) { ok = false; continue; }
    if (strmap_get(prod, name) != PRODUCER_NONE) {
      onnx_error(im, "initializer '%s' is defined twice", name);
      ok = false;
    } else if (!strmap_put(prod, name, PRODUCER_INITIALIZER)) {
      return onnx_oom(im), false;
    }
  }
  for (size_t i = 0; i < gp->n_input; i++) {
    const char *name = gp->input[i]->name;
    if (!check_name(im, name, "a graph input")) { ok = false; continue; }
    int p = strmap_get(prod, name);
    if (p == PRODUCER_INITIALIZER) continue; /* an input with a default value: a constant here */
    if (p != PRODUCER_NONE) {
      onnx_error(im, "graph input '%s' is listed twice", name);
      ok = false;
    } else if (!strmap_put(prod, name, PRODUCER_INPUT)) {
      return onnx_oom(im), false;
    }
  }
  for (size_t i = 0; i < gp->n_node; i++) {
    const Onnx__NodeProto *n = gp->node[i];
    im->loc = node_loc(im, i);
    if (n->n_input > IR_MAX_OPERANDS || n->n_output > IR_MAX_RESULTS) {
      onnx_error(im, "%zu inputs and %zu outputs: the limits are %d and %d", n->n_input, n->n_output,
                 IR_MAX_OPERANDS, IR_MAX_RESULTS);
      ok = false;
      continue;
    }
    for (size_t k = 0; k < n->n_output; k++) {
      const char *name = str(n->output[k]);
      if (!*name) continue; /* an optional output not produced */
      if (!check_name(im, name, "an output")) { ok = false; continue; }
      int p = strmap_get(prod, name);
      if (p != PRODUCER_NONE) {
        producer_str(im, p, a, sizeof a);
        onnx_error(im, "output '%s' is also produced by %s", name, a);
        ok = false;
      } else if (!strmap_put(prod, name, (int)i)) {
        return onnx_oom(im), false;
      }
    }
  }
  for (size_t i = 0; i < gp->n_node; i++) {
    const Onnx__NodeProto *n = gp->node[i];
    if (n->n_input > IR_MAX_OPERANDS || n->n_output > IR_MAX_RESULTS) continue;
    im->loc = node_loc(im, i);
    for (size_t k = 0; k < n->n_input; k++) {
      const char *name = str(n->input[k]);
      if (!*name) continue; /* an optional input left out */
      if (strmap_get(prod, name) == PRODUCER_NONE) {
        onnx_error(im, "input %zu ('%.200s') is not produced by any node, graph input or initializer", k, name);
        ok = false;
      } else if (!strmap_put(uses, name, 1)) {
        return onnx_oom(im), false;
      }
    }
  }
  im->loc = loc_file(im->file);
  if (gp->n_output == 0) {
    /* lathe's graphs compute at least one output (docs/ir.md); found by fuzz_onnx */
    onnx_error(im, "the graph has no outputs");
    ok = false;
  }
  StrMap outs;
  strmap_init(&outs);
  for (size_t i = 0; i < gp->n_output; i++) {
    const char *name = gp->output[i]->name;
    if (!check_name(im, name, "a graph output")) { ok = false; continue; }
    if (strmap_get(&outs, name) >= 0) {
      onnx_error(im, "graph output '%.200s' is listed twice", name);
      ok = false;
    } else if (!strmap_put(&outs, name, 1)) {
      strmap_free(&outs);
      return onnx_oom(im), false;
    }
    if (strmap_get(prod, name) == PRODUCER_NONE) {
      onnx_error(im, "graph output '%.200s' is not produced by any node, graph input or initializer", name);
      ok = false;
    } else if (!strmap_put(uses, name, 1)) {
      strmap_free(&outs);
      return onnx_oom(im), false;
    }
  }
  strmap_free(&outs);
  return ok;
}

/* Sorts the nodes topologically into order (node indices), keeping the file's order where
 * it is already valid; reports a cycle by the nodes on it. */
static bool topo_sort(Importer *im, const StrMap *prod, int *order) {
  const Onnx__GraphProto *gp = im->graph;
  size_t n = gp->n_node;
  /* state: 0 unvisited, 1 on the stack, 2 done; the stack holds (node, next input). */
  unsigned char *state = ir_calloc(n + 1, 1);
  int *stack = ir_malloc(sizeof(int) * (n + 1)), *next = ir_malloc(sizeof(int) * (n + 1));
  bool ok = state && stack && next;
  if (!ok) onnx_oom(im);
  int count = 0;
  for (size_t root = 0; ok && root < n; root++) {
    if (state[root]) continue;
    int sp = 0;
    stack[sp] = (int)root;
    next[sp++] = 0;
    state[root] = 1;
    while (ok && sp > 0) {
      int v = stack[sp - 1];
      const Onnx__NodeProto *node = gp->node[v];
      if ((size_t)next[sp - 1] < node->n_input) {
        const char *name = str(node->input[next[sp - 1]++]);
        int p = *name ? strmap_get(prod, name) : PRODUCER_NONE;
        if (p < 0 || state[p] == 2) continue;
        if (state[p] == 1) { /* a cycle: the stack from p up to v */
          IrText t = {0};
          int from = sp - 1;
          while (stack[from] != p) from--;
          for (int k = from; k < sp && k < from + 12; k++)
            ir_text_add(&t, "'%s' -> ", im->origins[stack[k]]);
          ir_text_add(&t, "%s'%s'", sp - from > 12 ? "... -> " : "", im->origins[p]);
          im->loc = node_loc(im, (size_t)p);
          onnx_error(im, "the graph has a cycle: %s", t.s ? t.s : "(out of memory)");
          ir_text_free(&t);
          ok = false;
          break;
        }
        state[p] = 1;
        stack[sp] = p;
        next[sp++] = 0;
      } else {
        state[v] = 2;
        order[count++] = v;
        sp--;
      }
    }
  }
  ir_free(state);
  ir_free(stack);
  ir_free(next);
  im->loc = loc_file(im->file);
  return ok;
}

/* Checks every node's op type against the op table; lists the ones lathe cannot import. */
static void check_ops(Importer *im) {
  const Onnx__GraphProto *gp = im->graph;
  for (size_t i = 0; i < gp->n_node; i++) {
    const Onnx__NodeProto *n = gp->node[i];
    const char *dom = str(n->domain), *type = str(n->op_type);
    const char *origin = im->origins[i];
    if (*dom && strcmp(dom, "ai.onnx") != 0) {
      char *full = ir_arena_alloc(&im->g->arena, strlen(dom) + strlen(type) + 3);
      if (!full) { onnx_oom(im); return; }
      sprintf(full, "%s::%s", dom, type);
      add_gap(im, full, "lathe imports only the default ONNX domain", origin);
      continue;
    }
    bool later = false;
    /* An opset outside 11..17 is reported on its own; its ops are looked up as at the
     * nearest opset lathe imports, which says which of them lathe has at all. */
    int opset = im->opset < ONNX_MIN_OPSET ? ONNX_MIN_OPSET : im->opset > ONNX_MAX_OPSET ? ONNX_MAX_OPSET : im->opset;
    const OnnxRule *r = onnx_rule(type, opset, &later);
    if (!r)
      add_gap(im, type, later ? "the op does not exist at the model's opset" : "not in lathe's op set", origin);
    else if (r->lathe_op && onnx_rule_op(r) < 0)
      add_gap(im, type, "lathe's op set has no op for it yet", origin);
  }
}

/* The static type of graph input vi, or false (reported) when it has none: not a tensor, an
 * element type lathe does not have, dynamic dimensions not fixed by --shape. */
static bool input_type(Importer *im, const Onnx__ValueInfoProto *vi, TensorType *t, bool *overridden) {
  const char *name = vi->name;
  const OnnxShape *fix = NULL;
  memset(t, 0, sizeof *t);
  for (int i = 0; i < im->opts->nshapes; i++)
    if (!strcmp(im->opts->shapes[i].name, name)) fix = &im->opts->shapes[i];
  *overridden = fix != NULL;
  const Onnx__TypeProto *tp = vi->type;
  if (!tp || tp->value_case != ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE || !tp->tensor_type) {
    static const char *const kinds[] = {"has no type", "is a tensor", "", "", "is a sequence", "is a map", "", "",
                                        "is a sparse tensor", "is an optional"};
    int k = tp ? (int)tp->value_case : 0;
    onnx_unsupported(im, "input '%.200s' %s; lathe imports only tensors", name,
                     k >= 0 && k < 10 && *kinds[k] ? kinds[k] : "is not a tensor");
    return false;
  }
  const Onnx__TypeProto__Tensor *tt = tp->tensor_type;
  t->dtype = onnx_dtype(tt->elem_type);
  if (t->dtype == DT_INVALID) {
    onnx_unsupported(im, "input '%.200s' has element type %s, which lathe does not have", name,
                     onnx_dtype_name(tt->elem_type));
    return false;
  }
  const Onnx__TensorShapeProto *sp = tt->shape;
  if (!sp && !fix) {
    onnx_unsupported(im, "input '%.200s' has no shape (not even a rank): fix it with --shape %.200s=D0,D1,...", name,
                     name);
    return false;
  }
  if (sp && sp->n_dim > IR_MAX_RANK) {
    onnx_unsupported(im, "input '%.200s' has rank %zu; lathe's limit is %d", name, sp->n_dim, IR_MAX_RANK);
    return false;
  }
  if (fix && sp && (size_t)fix->rank != sp->n_dim) {
    onnx_error(im, "--shape %.200s gives %d dimensions but the input has %zu", name, fix->rank, sp->n_dim);
    return false;
  }
  t->rank = fix ? fix->rank : (int)sp->n_dim;
  IrText dyn = {0};
  int ndyn = 0;
  for (int i = 0; i < t->rank; i++) {
    const Onnx__TensorShapeProto__Dimension *dim = sp ? sp->dim[i] : NULL;
    bool known = dim && dim->value_case == ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE;
    if (known && dim->dim_value < 0) {
      onnx_error(im, "input '%.200s': dimension %d is negative (%lld)", name, i, (long long)dim->dim_value);
      ir_text_free(&dyn);
      return false;
    }
    if (fix) {
      if (known && dim->dim_value != fix->dims[i]) {
        onnx_error(im, "--shape %.200s: dimension %d is %lld in the model, not %lld", name, i,
                   (long long)dim->dim_value, (long long)fix->dims[i]);
        ir_text_free(&dyn);
        return false;
      }
      t->dims[i] = fix->dims[i];
    } else if (known) {
      t->dims[i] = dim->dim_value;
      ir_text_add(&dyn, "%s%lld", i ? "," : "", (long long)dim->dim_value);
    } else {
      bool param =
          dim && dim->value_case == ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_PARAM && *str(dim->dim_param);
      ir_text_add(&dyn, "%s%.60s", i ? "," : "", param ? dim->dim_param : "?");
      ndyn++;
    }
  }
  if (ndyn) {
    onnx_unsupported(im, "input '%.200s' has %d dynamic dimension%s, [%s]: fix %s with --shape %.200s=D0,D1,...", name,
                     ndyn, ndyn == 1 ? "" : "s", dyn.s ? dyn.s : "", ndyn == 1 ? "it" : "them", name);
    ir_text_free(&dyn);
    return false;
  }
  ir_text_free(&dyn);
  const char *why;
  if (!ir_type_valid(t, &why)) {
    onnx_error(im, "input '%.200s': %s", name, why);
    return false;
  }
  return true;
}

/* Makes graph input vi a const node holding the value the caller froze it to. */
static bool freeze_input(Importer *im, const Onnx__ValueInfoProto *vi, const OnnxConstInput *c) {
  const TensorType *t = &c->value.type;
  const Onnx__TypeProto *tp = vi->type;
  const char *why;
  bool agree = tp && tp->value_case == ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE && tp->tensor_type &&
               onnx_dtype(tp->tensor_type->elem_type) == t->dtype && !t->layout && !t->quant && ir_type_valid(t, &why);
  const Onnx__TensorShapeProto *sp = agree ? tp->tensor_type->shape : NULL;
  if (sp && sp->n_dim != (size_t)t->rank) agree = false;
  for (int i = 0; agree && sp && i < t->rank; i++)
    if (sp->dim[i]->value_case == ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE &&
        sp->dim[i]->dim_value != t->dims[i])
      agree = false;
  if (!agree) return onnx_error(im, "input '%.200s' cannot be frozen to a value of another type", vi->name), false;
  IrBuffer *data = ir_buffer_new(ir_type_bytes(t));
  if (!data) return onnx_oom(im), false;
  memcpy(data->data, c->value.data, (size_t)data->size);
  ValueId v;
  return onnx_emit_const(im, t, data, vi->name, NULL, &v) == IR_OK;
}

/* Makes the graph inputs (those without an initializer) and checks every --shape names one. */
static bool make_inputs(Importer *im, const StrMap *prod) {
  const Onnx__GraphProto *gp = im->graph;
  Graph *g = im->g;
  bool ok = true;
  im->loc = loc_file(im->file);
  int *used = ir_calloc((size_t)im->opts->nshapes + 1, sizeof *used);
  ValueId *params = ir_arena_alloc(&g->arena, sizeof(ValueId) * (gp->n_input + 1));
  if (!used || !params) { ir_free(used); return onnx_oom(im), false; }
  int np = 0;
  for (size_t i = 0; i < gp->n_input; i++) {
    const Onnx__ValueInfoProto *vi = gp->input[i];
    if (strmap_get(prod, str(vi->name)) != PRODUCER_INPUT) continue; /* an initializer, or nameless */
    TensorType t;
    bool overridden;
    for (int k = 0; k < im->opts->nshapes; k++)
      if (!strcmp(im->opts->shapes[k].name, vi->name)) used[k] = 1;
    const OnnxConstInput *frozen = NULL;
    for (int k = 0; k < im->opts->nconsts; k++)
      if (!strcmp(im->opts->consts[k].name, vi->name)) frozen = &im->opts->consts[k];
    if (frozen) {
      if (!freeze_input(im, vi, frozen)) ok = false;
      continue;
    }
    if (!input_type(im, vi, &t, &overridden)) {
      if (!strmap_put(&im->values, vi->name, ONNX_POISON)) { ok = false; onnx_oom(im); }
      continue;
    }
    const char *name = ir_arena_strdup(&g->arena, vi->name);
    ValueId v = name ? ir_graph_add_value(g, name, &t, VAL_INPUT, loc_file(im->file)) : -1;
    if (v < 0 || !strmap_put(&im->values, vi->name, v)) { ok = false; onnx_oom(im); break; }
    g->values[v].index = np;
    params[np++] = v;
  }
  g->body->params = params;
  g->body->nparams = np;
  for (int k = 0; k < im->opts->nshapes; k++)
    if (!used[k]) {
      onnx_error(im, "--shape %.200s: the model has no input named '%.200s'", im->opts->shapes[k].name,
                 im->opts->shapes[k].name);
      ok = false;
    }
  ir_free(used);
  return ok;
}

/* Converts the initializers into const nodes; the converted data of each is released from
 * the model as it is copied, so peak memory stays near twice the weights. */
static bool make_initializers(Importer *im, Onnx__GraphProto *gp) {
  bool ok = true;
  im->loc = loc_file(im->file); /* no origin: what marks a constant as an initializer */
  for (size_t i = 0; i < gp->n_initializer; i++) {
    Onnx__TensorProto *tp = gp->initializer[i];
    if (!*str(tp->name)) continue; /* reported by check_names */
    char what[IR_MAX_NAME + 32];
    snprintf(what, sizeof what, "initializer '%s'", tp->name);
    TensorType t;
    IrBuffer *data;
    OnnxTensorStatus ts = onnx_tensor_convert(tp, what, loc_file(im->file), &t, &data, im->d);
    if (ts == ONNX_TENSOR_UNSUPPORTED)
      onnx_unsupported(im, "initializer '%.200s' has element type %s, which lathe does not have", tp->name,
                       onnx_dtype_name(tp->data_type));
    if (ts != ONNX_TENSOR_OK) {
      if (ts == ONNX_TENSOR_BAD) ok = false;
      if (!strmap_put(&im->values, tp->name, ONNX_POISON)) return onnx_oom(im), false;
      continue;
    }
    if (tp->has_raw_data) { /* the copy is made: release the protobuf's bytes now */
      ir_free(tp->raw_data.data);
      tp->raw_data.data = NULL;
      tp->raw_data.len = 0;
      tp->has_raw_data = 0;
    }
    ValueId v;
    if (onnx_emit_const(im, &t, data, tp->name, NULL, &v) != IR_OK) return false;
  }
  if (gp->n_sparse_initializer)
    onnx_unsupported(im, "%zu sparse initializer%s (lathe imports dense tensors only)", gp->n_sparse_initializer,
                     gp->n_sparse_initializer == 1 ? "" : "s");
  return ok;
}

/* ---- phase 2: conversion -------------------------------------------------------------------------------- */

/* True when word is one of the space-separated words of list. */
static bool word_in(const char *list, const char *word) {
  size_t n = strlen(word);
  for (const char *p = list; p && *p;) {
    const char *e = strchr(p, ' ');
    size_t len = e ? (size_t)(e - p) : strlen(p);
    if (len == n && !memcmp(p, word, n)) return true;
    p = e ? e + 1 : NULL;
  }
  return false;
}

/* Marks the named outputs of the current node as poisoned: all of them when its conversion
 * failed (a result may have been bound before the failure), else those left unbound. */
static bool poison_outputs(Importer *im, bool all) {
  const Onnx__NodeProto *n = im->node;
  for (size_t k = 0; k < n->n_output; k++) {
    const char *name = str(n->output[k]);
    if (*name && (all || strmap_get(&im->values, name) < 0) && !strmap_put(&im->values, name, ONNX_POISON))
      return false;
  }
  return true;
}

/* Converts one node (index i); problems are reported and poison its outputs. */
static IrStatus convert_node(Importer *im, const StrMap *uses, size_t i) {
  const Onnx__NodeProto *n = im->graph->node[i];
  im->node = n;
  im->loc = node_loc(im, i);
  IrStatus st = IR_OK;
  bool skip = false;
  for (size_t k = 0; k < n->n_input; k++)
    if (*str(n->input[k]) && strmap_get(&im->values, n->input[k]) == ONNX_POISON) skip = true;
  const OnnxRule *r = NULL;
  bool later;
  const char *dom = str(n->domain);
  if (!skip && (!*dom || !strcmp(dom, "ai.onnx"))) r = onnx_rule(str(n->op_type), im->opset, &later);
  int op = r ? onnx_rule_op(r) : -1;
  if (!r || (r->lathe_op && op < 0)) skip = true; /* listed by check_ops */
  if (!skip && (n->n_input > (size_t)r->max_in || n->n_output > (size_t)r->max_out)) {
    onnx_error(im, "has %zu inputs and %zu outputs; %s takes at most %d and %d", n->n_input, n->n_output,
               str(n->op_type), r->max_in, r->max_out);
    skip = true;
  }
  for (int k = 0; !skip && k < r->min_in; k++)
    if ((size_t)k >= n->n_input || !*str(n->input[k])) {
      onnx_error(im, "input %d is missing; %s needs at least %d", k, str(n->op_type), r->min_in);
      skip = true;
    }
  for (size_t k = 0; !skip && k < n->n_attribute; k++) {
    const char *aname = str(n->attribute[k]->name);
    if (!word_in(r->attrs, aname)) {
      onnx_unsupported(im, "attribute '%.100s' is not supported", aname);
      skip = true;
    }
  }
  int errors = im->d->errors, unsupported = im->unsupported;
  if (!skip) {
    st = r->convert(im, r, op);
    for (size_t k = 0; st == IR_OK && k < n->n_output; k++) {
      const char *name = str(n->output[k]);
      if (*name && strmap_get(&im->values, name) < 0 && strmap_get(uses, name) >= 0)
        st = IR_INTERNAL(im->d, "an ONNX converter left a used output unbound");
    }
  }
  bool failed = skip || st != IR_OK || im->d->errors != errors || im->unsupported != unsupported;
  if (!poison_outputs(im, failed)) st = onnx_oom(im);
  im->node = NULL;
  return st == IR_ERR_INTERNAL ? st : IR_OK;
}

/* ---- phase 3: outputs ---------------------------------------------------------------------------------- */

/* Binds the graph outputs and checks each against its declared type (element type and the
 * dimensions it states). */
static bool make_outputs(Importer *im) {
  const Onnx__GraphProto *gp = im->graph;
  Graph *g = im->g;
  size_t n = gp->n_output;
  g->body->results = ir_arena_alloc(&g->arena, sizeof(ValueId) * (n + 1));
  g->output_names = ir_arena_alloc(&g->arena, sizeof(char *) * (n + 1));
  g->output_locs = ir_arena_alloc(&g->arena, sizeof(Loc) * (n + 1));
  g->output_types = ir_arena_alloc(&g->arena, sizeof(TensorType) * (n + 1));
  if (!g->body->results || !g->output_names || !g->output_locs || !g->output_types) return onnx_oom(im), false;
  bool ok = true;
  for (size_t i = 0; i < n; i++) {
    const Onnx__ValueInfoProto *vi = gp->output[i];
    ValueId v = strmap_get(&im->values, vi->name);
    if (v < 0) { ok = false; continue; } /* poisoned: reported already */
    const TensorType *t = &g->values[v].type;
    const Onnx__TypeProto *tp = vi->type;
    if (tp && tp->value_case == ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE && tp->tensor_type) {
      const Onnx__TypeProto__Tensor *tt = tp->tensor_type;
      const Onnx__TensorShapeProto *sp = tt->shape;
      bool same = !tt->has_elem_type || tt->elem_type == 0 || onnx_dtype(tt->elem_type) == t->dtype;
      if (sp && sp->n_dim != (size_t)t->rank) same = false;
      for (int k = 0; same && sp && k < t->rank; k++)
        if (sp->dim[k]->value_case == ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE &&
            sp->dim[k]->dim_value != t->dims[k])
          same = false;
      if (!same) {
        char buf[256];
        IrText want = {0};
        ir_text_add(&want, "%s[", tt->has_elem_type ? onnx_dtype_name(tt->elem_type) : "?");
        for (size_t k = 0; sp && k < sp->n_dim; k++) {
          if (sp->dim[k]->value_case == ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE)
            ir_text_add(&want, "%s%lld", k ? "," : "", (long long)sp->dim[k]->dim_value);
          else
            ir_text_add(&want, "%s?", k ? "," : "");
        }
        ir_text_add(&want, "]");
        onnx_error(im, "graph output '%.200s' is declared %s but computes to %s", vi->name,
                   want.s ? want.s : "?", ir_type_str(t, buf, sizeof buf));
        ir_text_free(&want);
        ok = false;
      }
    }
    g->body->results[i] = v;
    g->output_names[i] = ir_arena_strdup(&g->arena, vi->name);
    g->output_locs[i] = loc_file(im->file);
    g->output_types[i] = *t;
    if (!g->output_names[i]) return onnx_oom(im), false;
  }
  g->body->nresults = (int)n;
  return ok;
}

/* Drops nodes none of whose results is used (constants consumed as attributes, shape
 * computations, unused branches) and stores the remaining order as the body. */
static bool finish_body(Importer *im) {
  Graph *g = im->g;
  bool *used = ir_calloc((size_t)g->nvalues + 1, sizeof *used);
  NodeId *nodes = ir_arena_alloc(&g->arena, sizeof(NodeId) * (size_t)(im->norder + 1));
  if (!used || !nodes) { ir_free(used); return onnx_oom(im), false; }
  for (int i = 0; i < g->body->nresults; i++) used[g->body->results[i]] = true;
  int live = 0;
  for (int i = im->norder - 1; i >= 0; i--) {
    const Node *n = &g->nodes[im->order[i]];
    bool keep = false;
    for (int k = 0; k < n->noutputs; k++) keep |= used[n->outputs[k]];
    if (!keep) { im->order[i] = -1; continue; }
    for (int k = 0; k < n->ninputs; k++) used[n->inputs[k]] = true;
    live++;
  }
  int k = 0;
  for (int i = 0; i < im->norder; i++)
    if (im->order[i] >= 0) nodes[k++] = im->order[i];
  g->body->nodes = nodes;
  g->body->nnodes = live;
  ir_free(used);
  return true;
}

/* ---- the import ---------------------------------------------------------------------------------------- */

/* Runs the three phases on an unpacked model; on success *out owns the graph. */
static IrStatus import_model(Importer *im, Onnx__ModelProto *m, Graph **out) {
  im->model = m;
  im->graph = m->graph;
  if (!m->graph) {
    diag_error(im->d, loc_file(im->file), "the model has no graph");
    return IR_ERR_INPUT;
  }
  Onnx__GraphProto *gp = m->graph;
  Graph *g = im->g;
  size_t gname = strlen(str(gp->name));
  g->name = ir_arena_strdup(&g->arena, gname && gname <= IR_MAX_NAME ? gp->name : "main");
  g->loc = loc_file(im->file);
  if (!g->name) return onnx_oom(im);
  int errors = im->d->errors;
  check_opset(im);
  StrMap prod, uses;
  strmap_init(&prod);
  strmap_init(&uses);
  int *order = ir_malloc(sizeof(int) * (gp->n_node + 1));
  if (!order || !make_origins(im)) {
    ir_free(order);
    return onnx_oom(im);
  }
  bool ok = check_names(im, &prod, &uses);
  /* Every ONNX name is taken before any name is made up, so made-up names never collide. */
  for (int i = 0; ok && i < prod.cap; i++)
    if (prod.keys[i] && !strmap_put(&im->names, prod.keys[i], 1)) { onnx_oom(im); ok = false; }
  ok = ok && topo_sort(im, &prod, order);
  check_ops(im);
  ok &= make_inputs(im, &prod);
  ok &= make_initializers(im, gp);
  /* Nothing is converted when the input is malformed or the opset is one lathe does not know. */
  bool convert = ok && im->d->errors == errors && im->opset >= ONNX_MIN_OPSET && im->opset <= ONNX_MAX_OPSET;
  IrStatus st = IR_OK;
  for (size_t i = 0; convert && st == IR_OK && i < gp->n_node; i++) st = convert_node(im, &uses, (size_t)order[i]);
  strmap_free(&prod);
  strmap_free(&uses);
  ir_free(order);
  if (st != IR_OK) return st;
  if (convert && im->d->errors == errors && !im->unsupported && make_outputs(im) && finish_body(im) &&
      im->d->errors == errors) {
    st = ir_verify(g, im->d);
    if (st == IR_OK) {
      *out = g;
      im->g = NULL;
      return IR_OK;
    }
    diag_note(im->d, loc_file(im->file), "the imported graph does not verify: this is a bug in the importer");
    return st;
  }
  if (im->unsupported) print_report(im);
  return im->d->internal ? IR_ERR_INTERNAL : IR_ERR_INPUT;
}

/* Unpacks a model from bytes after checking its wire format; NULL (reported) when bad. */
static Onnx__ModelProto *unpack_model(const void *data, size_t len, const char *name, DiagSink *d) {
  const char *why;
  if (len == 0) {
    diag_error(d, loc_file(name), "the file is empty, not an ONNX model");
    return NULL;
  }
  if (!onnx_wire_check(&onnx__model_proto__descriptor, data, len, &why)) {
    diag_error(d, loc_file(name), "not a valid ONNX model: %s", why);
    return NULL;
  }
  Onnx__ModelProto *m = onnx__model_proto__unpack(&onnx_allocator, len, data);
  if (!m) diag_error(d, loc_file(name), "not a valid ONNX model (corrupted protobuf, or out of memory)");
  return m;
}

/* Imports an unpacked model (freed here) named name. */
static IrStatus import_unpacked(Onnx__ModelProto *m, const char *name, const OnnxImportOpts *opts, Graph **out,
                                OnnxImportInfo *info, DiagSink *d) {
  static const OnnxImportOpts no_opts = {NULL, 0, NULL, 0};
  Importer im;
  memset(&im, 0, sizeof im);
  im.d = d;
  im.opts = opts ? opts : &no_opts;
  strmap_init(&im.values);
  strmap_init(&im.names);
  im.g = ir_graph_new();
  IrStatus st;
  if (!im.g || !(im.file = ir_arena_strdup(&im.g->arena, name))) {
    st = diag_oom(d, loc_file(name));
  } else {
    im.loc = loc_file(im.file);
    st = import_model(&im, m, out);
  }
  if (info) {
    info->unsupported = im.unsupported;
    info->opset = im.opset;
    info->freeze = im.freeze;
    info->nfreeze = im.nfreeze;
    im.freeze = NULL;
    im.nfreeze = 0;
  }
  for (int i = 0; i < im.nfreeze; i++) ir_free(im.freeze[i]);
  ir_free(im.freeze);
  ir_graph_free(im.g);
  strmap_free(&im.values);
  strmap_free(&im.names);
  for (int i = 0; i < im.ngaps; i++) ir_text_free(&im.gaps[i].names);
  ir_free(im.gaps);
  ir_free(im.order);
  ir_text_free(&im.report);
  onnx__model_proto__free_unpacked(m, &onnx_allocator);
  return st;
}

void onnx_import_info_free(OnnxImportInfo *info) {
  for (int i = 0; i < info->nfreeze; i++) ir_free(info->freeze[i]);
  ir_free(info->freeze);
  info->freeze = NULL;
  info->nfreeze = 0;
}

IrStatus onnx_import_bytes(const void *data, size_t len, const char *name, const OnnxImportOpts *opts, Graph **out,
                           OnnxImportInfo *info, DiagSink *d) {
  *out = NULL;
  if (info) memset(info, 0, sizeof *info);
  Onnx__ModelProto *m = unpack_model(data, len, name, d);
  if (!m) return IR_ERR_INPUT;
  return import_unpacked(m, name, opts, out, info, d);
}

IrStatus onnx_import_file(const char *path, const OnnxImportOpts *opts, Graph **out, OnnxImportInfo *info,
                          DiagSink *d) {
  IrBuffer *file;
  *out = NULL;
  if (info) memset(info, 0, sizeof *info);
  IrStatus st = ir_read_file(path, ONNX_MAX_FILE_BYTES, &file, d);
  if (st != IR_OK) return st;
  Onnx__ModelProto *m = unpack_model(file->data, (size_t)file->size, path, d);
  ir_buffer_unref(file); /* the model holds copies of everything it needs */
  if (!m) return IR_ERR_INPUT;
  return import_unpacked(m, path, opts, out, info, d);
}

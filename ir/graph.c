/* graph.c — building graphs: values, nodes, attribute look-up, layouts. */
#include "ir/ir.h"

#include <string.h>

Graph *ir_graph_new(void) {
  Graph *g = ir_calloc(1, sizeof *g);
  if (!g) return NULL;
  ir_arena_init(&g->arena);
  g->version = 1;
  g->dir = ".";
  g->body = ir_arena_alloc(&g->arena, sizeof *g->body);
  if (!g->body) { ir_arena_free(&g->arena); ir_free(g); return NULL; }
  return g;
}

void ir_graph_free(Graph *g) {
  if (!g) return;
  for (int i = 0; i < g->nnodes; i++) ir_buffer_unref(g->nodes[i].data);
  ir_free(g->values);
  ir_free(g->nodes);
  ir_arena_free(&g->arena);
  ir_free(g);
}

/* Grows *arr (of *cap elements of size sz) to hold at least need; false when out of memory. */
static bool grow(void **arr, int *cap, int need, size_t sz) {
  if (need <= *cap) return true;
  if (need > (1 << 28)) return false;
  int ncap = *cap ? *cap * 2 : 64;
  while (ncap < need) ncap *= 2;
  void *p = ir_realloc(*arr, (size_t)ncap * sz);
  if (!p) return false;
  *arr = p;
  *cap = ncap;
  return true;
}

ValueId ir_graph_add_value(Graph *g, const char *name, const TensorType *type, ValueKind kind, Loc loc) {
  if (!grow((void **)&g->values, &g->cap_values, g->nvalues + 1, sizeof(Value))) return -1;
  Value *v = &g->values[g->nvalues];
  memset(v, 0, sizeof *v);
  v->name = name;
  if (type) v->type = *type;
  v->kind = kind;
  v->def = -1;
  v->loc = loc;
  return g->nvalues++;
}

NodeId ir_graph_add_node(Graph *g, int op, int ninputs, int noutputs, Loc loc) {
  if (ninputs < 0 || noutputs < 0 || ninputs > IR_MAX_OPERANDS || noutputs > IR_MAX_OPERANDS) return -1;
  if (!grow((void **)&g->nodes, &g->cap_nodes, g->nnodes + 1, sizeof(Node))) return -1;
  ValueId *in = ir_arena_alloc(&g->arena, sizeof(ValueId) * (size_t)(ninputs + 1));
  ValueId *out = ir_arena_alloc(&g->arena, sizeof(ValueId) * (size_t)(noutputs + 1));
  if (!in || !out) return -1;
  for (int i = 0; i < ninputs; i++) in[i] = -1;
  for (int i = 0; i < noutputs; i++) out[i] = -1;
  Node *n = &g->nodes[g->nnodes];
  memset(n, 0, sizeof *n);
  n->op = op;
  n->inputs = in;
  n->ninputs = ninputs;
  n->outputs = out;
  n->noutputs = noutputs;
  n->loc = loc;
  return g->nnodes++;
}

/* ---- attributes ---------------------------------------------------------------------------- */

const Attr *ir_attr(const Node *n, const char *name) {
  for (int i = 0; i < n->nattrs; i++)
    if (strcmp(n->attrs[i].name, name) == 0) return &n->attrs[i];
  return NULL;
}

int64_t ir_attr_int(const Node *n, const char *name, int64_t def) {
  const Attr *a = ir_attr(n, name);
  return a && a->kind == ATTR_INT ? a->u.i : def;
}

double ir_attr_float(const Node *n, const char *name, double def) {
  const Attr *a = ir_attr(n, name);
  if (a && a->kind == ATTR_FLOAT) return a->u.f;
  if (a && a->kind == ATTR_INT) return (double)a->u.i;
  return def;
}

const char *ir_attr_str(const Node *n, const char *name, const char *def) {
  const Attr *a = ir_attr(n, name);
  return a && a->kind == ATTR_STR ? a->u.s : def;
}

/* A present list with no entries (`[]`) may carry a NULL array: it reads as this empty one,
 * so callers can tell it from an absent attribute. */
static const int64_t no_ints[1];
static const double no_floats[1];

const int64_t *ir_attr_ints(const Node *n, const char *name, int *count) {
  const Attr *a = ir_attr(n, name);
  if (a && a->kind == ATTR_INTS) { *count = a->n; return a->u.ints ? a->u.ints : no_ints; }
  *count = 0;
  return NULL;
}

const double *ir_attr_floats(const Node *n, const char *name, int *count) {
  const Attr *a = ir_attr(n, name);
  if (a && a->kind == ATTR_FLOATS) { *count = a->n; return a->u.floats ? a->u.floats : no_floats; }
  *count = 0;
  return NULL;
}

/* ---- layouts -------------------------------------------------------------------------------- */

/* Maps a layout letter (lowercase) to a logical dimension in the given alphabet, or -1. */
static int layout_letter(char c, const char *alphabet) {
  const char *p = strchr(alphabet, c);
  return p && c ? (int)(p - alphabet) : -1;
}

const Layout *ir_layout_parse(IrArena *a, const char *text, int rank, const char **why) {
  size_t len = strlen(text);
  const char *alphabet = "abcdefgh";
  if (rank == 4 && strpbrk(text, "nN")) alphabet = "nchw";
  else if (rank == 4 && strpbrk(text, "oOiI")) alphabet = "oihw";
  Layout l;
  memset(&l, 0, sizeof l);
  int outer_open[IR_MAX_RANK] = {0}; /* blocked outer parts still waiting for their block */
  for (size_t i = 0; i < len;) {
    int64_t block = 0;
    bool has_block = i < len && text[i] >= '0' && text[i] <= '9';
    while (i < len && text[i] >= '0' && text[i] <= '9') {
      block = block * 10 + (text[i] - '0');
      if (block > (1 << 20)) { *why = "a layout block size is too large"; return NULL; }
      i++;
    }
    if (i >= len) { *why = "a layout ends with a number"; return NULL; }
    char c = text[i++];
    bool upper = c >= 'A' && c <= 'Z';
    int d = layout_letter(upper ? (char)(c - 'A' + 'a') : c, alphabet);
    if (d < 0 || d >= rank) { *why = "a layout letter names no dimension of this tensor"; return NULL; }
    if (l.ndims >= 2 * IR_MAX_RANK) { *why = "a layout has too many parts"; return NULL; }
    if (upper && has_block) { *why = "a block size must precede a lowercase letter"; return NULL; }
    if (upper) {
      outer_open[d]++;
    } else if (has_block) {
      if (block < 1) { *why = "a layout block size must be positive"; return NULL; }
      if (!outer_open[d]) { *why = "a layout block comes before its uppercase outer dimension"; return NULL; }
      outer_open[d]--;
    }
    l.dim[l.ndims] = (int8_t)d;
    l.block[l.ndims] = (int32_t)block;
    l.ndims++;
  }
  for (int d = 0; d < rank; d++)
    if (outer_open[d]) { *why = "an uppercase layout letter has no block"; return NULL; }
  Layout *out = ir_arena_memdup(a, &l, sizeof l);
  if (!out) { *why = "out of memory"; return NULL; }
  out->text = ir_arena_strdup(a, text);
  if (!out->text) { *why = "out of memory"; return NULL; }
  return out;
}

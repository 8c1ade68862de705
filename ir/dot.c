/* dot.c — the Graphviz drawing of a graph. Values are edges; a fused op is a cluster, and
 * its parameters and yield are drawn through to the nodes outside, so a fused graph reads
 * like the unfused one with boxes around the fused parts. */
#include "ir/dot.h"

#include "ir/op.h"
#include "ir/printer.h"

/* Writes s as a Graphviz quoted string's contents. */
static void dot_escape(FILE *out, const char *s) {
  for (; *s; s++) {
    if (*s == '"' || *s == '\\') fputc('\\', out);
    fputc(*s, out);
  }
}

/* src[v]: the drawn node a value comes from ("in3", "n17"); a parameter or fused result is
 * resolved to the node that really produces it. */
static void resolve_region(const Graph *g, const Region *r, int *src) {
  for (int i = 0; i < r->nnodes; i++) {
    NodeId id = r->nodes[i];
    const Node *n = &g->nodes[id];
    if (!n->body) {
      for (int k = 0; k < n->noutputs; k++) src[n->outputs[k]] = id;
      continue;
    }
    for (int k = 0; k < n->body->nparams && k < n->ninputs; k++) src[n->body->params[k]] = src[n->inputs[k]];
    resolve_region(g, n->body, src);
    for (int k = 0; k < n->noutputs && k < n->body->nresults; k++) src[n->outputs[k]] = src[n->body->results[k]];
  }
}

/* Writes the node that src names (a negative value: graph input -1 - index). */
static void dot_src(FILE *out, int s) {
  if (s < 0) fprintf(out, "in%d", -1 - s);
  else fprintf(out, "n%d", s);
}

/* Draws region r's nodes (fused ones as clusters) and the edges into them. */
static void draw_region(FILE *out, const Graph *g, const Region *r, const int *src, int indent) {
  for (int i = 0; i < r->nnodes; i++) {
    NodeId id = r->nodes[i];
    const Node *n = &g->nodes[id];
    if (n->body) {
      fprintf(out, "%*ssubgraph cluster_%d {\n%*slabel=\"fused ", indent, "", id, indent + 2, "");
      dot_escape(out, n->label ? n->label : "");
      fprintf(out, "\";\n%*sstyle=rounded;\n", indent + 2, "");
      draw_region(out, g, n->body, src, indent + 2);
      fprintf(out, "%*s}\n", indent, "");
      continue;
    }
    char type[128];
    ir_type_str(&g->values[n->outputs[0]].type, type, sizeof type);
    fprintf(out, "%*sn%d [label=\"%s\\n", indent, "", id, ir_ops[n->op].name);
    dot_escape(out, type);
    fprintf(out, "\"%s];\n", n->op == OP_CONST ? ", shape=note, fontsize=9" : "");
    for (int k = 0; k < n->ninputs; k++) {
      fprintf(out, "%*s", indent, "");
      dot_src(out, src[n->inputs[k]]);
      fprintf(out, " -> n%d;\n", id);
    }
  }
}

IrStatus ir_print_dot(FILE *out, const Graph *g, DiagSink *d) {
  int *src = ir_malloc(sizeof(int) * (size_t)(g->nvalues + 1));
  if (!src) return diag_oom(d, g->loc);
  for (int v = 0; v < g->nvalues; v++) src[v] = 0;
  for (int i = 0; i < g->body->nparams; i++) src[g->body->params[i]] = -1 - i;
  resolve_region(g, g->body, src);
  fputs("digraph \"", out);
  dot_escape(out, g->name ? g->name : "main");
  fputs("\" {\n  node [shape=box, fontname=\"monospace\"];\n", out);
  for (int i = 0; i < g->body->nparams; i++) {
    const Value *v = &g->values[g->body->params[i]];
    char type[128];
    fprintf(out, "  in%d [shape=ellipse, label=\"%%", i);
    dot_escape(out, v->name ? v->name : "");
    fputs("\\n", out);
    dot_escape(out, ir_type_str(&v->type, type, sizeof type));
    fputs("\"];\n", out);
  }
  draw_region(out, g, g->body, src, 2);
  for (int i = 0; i < g->body->nresults; i++) {
    fprintf(out, "  out%d [shape=ellipse, label=\"%%", i);
    dot_escape(out, g->output_names[i]);
    fputs("\"];\n  ", out);
    dot_src(out, src[g->body->results[i]]);
    fprintf(out, " -> out%d;\n", i);
  }
  fputs("}\n", out);
  ir_free(src);
  return IR_OK;
}

/* import.c — `lathe import`: an ONNX model in, the text IR and its safetensors sidecar out. */
#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "frontend/onnx/onnx.h"
#include "tools/commands.h"

static const char *const import_usage =
    "usage: lathe import MODEL.onnx -o OUT.lathe [--shape NAME=D0,D1,...]...\n"
    "\n"
    "Imports an ONNX model (opsets 11 to 17 of the default domain) into lathe's text IR.\n"
    "Writes OUT.lathe and, beside it, OUT.safetensors holding the initializers (the weights)\n"
    "and every other constant of more than 16 elements (Constant nodes, computations folded\n"
    "at import); smaller constants are written inline. A model with no such constant gets no\n"
    "sidecar. Both files are written under temporary names and renamed into place only when\n"
    "both are complete.\n"
    "\n"
    "Values keep their ONNX names; diagnostics name the ONNX node (node 'name': ...).\n"
    "Shape computations (Shape, Gather, Concat, ... feeding Reshape and the like) are\n"
    "evaluated at import, as every node whose operands are all constants is.\n"
    "\n"
    "Everything lathe cannot import (op types with their nodes, element types, dynamic\n"
    "dimensions, an opset outside 11..17) is listed in one message, and nothing is written.\n"
    "\n"
    "options:\n"
    "  -o, --output OUT.lathe   the text IR to write (required)\n"
    "  --shape NAME=D0,D1,...   the static shape of input NAME, fixing its dynamic\n"
    "                           dimensions (its static ones must agree); repeatable\n"
    "  -h, --help               print this help\n"
    "\n"
    "exit codes: 0 ok, 1 the model is malformed or uses what lathe cannot import, 2 usage,\n"
    "70 internal error\n";

/* Parses NAME=D0,D1,... into *s (name borrowed from spec, which it edits); false when it is
 * not of that form. An empty list after '=' is a scalar. */
static bool parse_shape(char *spec, OnnxShape *s) {
  char *eq = strrchr(spec, '=');
  if (!eq || eq == spec) return false;
  *eq = 0;
  s->name = spec;
  s->rank = 0;
  for (char *p = eq + 1; *p;) {
    if (s->rank == IR_MAX_RANK || *p < '0' || *p > '9') return false;
    errno = 0;
    char *end;
    long long v = strtoll(p, &end, 10);
    if (errno || v < 0) return false;
    s->dims[s->rank++] = v;
    if (*end == ',' && end[1]) p = end + 1;
    else if (*end) return false;
    else p = end;
  }
  return true;
}

int cmd_import(int argc, char **argv) {
  static const struct option opts[] = {{"help", no_argument, 0, 'h'},
                                       {"output", required_argument, 0, 'o'},
                                       {"shape", required_argument, 0, 'S'},
                                       {0, 0, 0, 0}};
  const char *out = NULL;
  OnnxShape *shapes = calloc((size_t)argc + 1, sizeof *shapes);
  int nshapes = 0, c;
  if (!shapes) { fputs("lathe: out of memory\n", stderr); return 1; }
  while ((c = getopt_long(argc, argv, "ho:", opts, NULL)) != -1) {
    switch (c) {
    case 'h': fputs(import_usage, stdout); free(shapes); return 0;
    case 'o': out = optarg; break;
    case 'S':
      if (!parse_shape(optarg, &shapes[nshapes])) {
        free(shapes);
        return usage_error("import", "--shape needs NAME=D0,D1,... (at most 8 non-negative integers), not '%s'", optarg);
      }
      for (int i = 0; i < nshapes; i++)
        if (!strcmp(shapes[i].name, shapes[nshapes].name)) {
          const char *name = shapes[i].name; /* points into argv */
          free(shapes);
          return usage_error("import", "--shape given twice for input '%s'", name);
        }
      nshapes++;
      break;
    default: free(shapes); return usage_error("import", "%s", "unknown option");
    }
  }
  if (optind != argc - 1) { free(shapes); return usage_error("import", "%s", "expected one MODEL.onnx"); }
  if (!out) { free(shapes); return usage_error("import", "%s", "-o OUT.lathe is required"); }
  DiagSink d;
  diag_init(&d, stderr);
  OnnxImportOpts o = {shapes, nshapes, NULL, 0};
  Graph *g;
  IrStatus st = onnx_import_file(argv[optind], &o, &g, NULL, &d);
  if (st == IR_OK) {
    st = onnx_save(g, out, &d);
    if (st == IR_OK && g->weights_path)
      printf("%s: %d nodes; weights in %s (%lld bytes)\n", out, g->body->nnodes, g->weights_path,
             (long long)g->weights_size);
    else if (st == IR_OK)
      printf("%s: %d nodes; no weights file\n", out, g->body->nnodes);
    ir_graph_free(g);
  }
  diag_free(&d);
  free(shapes);
  return exit_code(st);
}

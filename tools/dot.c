/* dot.c — `lathe dot`: a Graphviz drawing of a model, fused ops as clusters. */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "frontend/parser.h"
#include "ir/dot.h"
#include "ir/fs.h"
#include "tools/commands.h"

static const char *const dot_usage =
    "usage: lathe dot FILE [-o OUT.dot]\n"
    "\n"
    "Parses and verifies FILE and writes a Graphviz drawing of it (`dot -Tsvg OUT.dot`):\n"
    "inputs and outputs as ellipses, nodes as boxes with their op and result type, constants\n"
    "as notes, each fused op as a cluster around its body.\n"
    "\n"
    "options:\n"
    "  -o, --output OUT.dot  write to OUT.dot (replaced only when the whole file is written)\n"
    "  -h, --help            print this help\n";

int cmd_dot(int argc, char **argv) {
  static const struct option opts[] = {{"help", no_argument, 0, 'h'}, {"output", required_argument, 0, 'o'}, {0, 0, 0, 0}};
  const char *out = NULL;
  int c;
  while ((c = getopt_long(argc, argv, "ho:", opts, NULL)) != -1) {
    if (c == 'h') { fputs(dot_usage, stdout); return EXIT_OK; }
    if (c == 'o') out = optarg;
    else return usage_error("dot", "%s", "unknown option");
  }
  if (optind != argc - 1) return usage_error("dot", "%s", "expected one FILE");
  DiagSink d;
  diag_init(&d, stderr);
  Graph *g;
  IrStatus st = ir_load(&d, argv[optind], LOAD_VERIFY, &g);
  if (st == IR_OK && out) {
    IrOutFile f;
    st = ir_out_open(&f, out, &d);
    if (st == IR_OK) st = ir_print_dot(f.f, g, &d);
    if (st == IR_OK) st = ir_out_commit(&f, &d);
    else ir_out_abort(&f);
  } else if (st == IR_OK) {
    st = ir_print_dot(stdout, g, &d);
  }
  ir_graph_free(g);
  diag_free(&d);
  return exit_code(st);
}

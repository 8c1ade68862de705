/* opt.c — `lathe opt`: a model in, the same model after graph passes out, with the weights
 * the passes made in a new sidecar. */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "frontend/parser.h"
#include "frontend/save.h"
#include "ir/printer.h"
#include "passes/pass.h"
#include "tools/commands.h"

static const char *const opt_usage_head =
    "usage: lathe opt FILE [-o OUT.lathe] [-O0|-O1|-O2] [--passes=A,B,...] [--print-after-all]\n"
    "                 [--print-after=PASS] [--time-passes] [--verify-each] [--memory-map]\n"
    "\n"
    "Runs graph passes on the model in FILE (its weights loaded) and writes the result: with\n"
    "-o, OUT.lathe and beside it OUT.safetensors holding every weight the result uses (those\n"
    "the passes made or changed included; constants of at most 16 elements stay inline), whose\n"
    "size and SHA-256 go into OUT.lathe's weights line; both are renamed into place only when\n"
    "both are complete. Without -o the result is printed to stdout with its weights elided\n"
    "(weight references only). The default level is -O2. docs/passes.md describes the passes.\n"
    "\n"
    "options:\n"
    "  -o, --output OUT.lathe   write the result and its weights\n";
static const char *const opt_usage_tail =
    "  -h, --help               print this help\n"
    "\n"
    "exit codes: 0 ok, 1 bad input, 2 usage, 70 internal error (a pass broke the graph)\n"
    "\n"
    "passes:\n";

int cmd_opt(int argc, char **argv) {
  static const struct option opts[] = {{"help", no_argument, 0, 'h'}, {"output", required_argument, 0, 'o'},
                                       PASS_FLAG_OPTIONS, {0, 0, 0, 0}};
  const char *out = NULL;
  PassFlags f;
  pass_flags_init(&f);
  int c;
  while ((c = getopt_long(argc, argv, "ho:O:", opts, NULL)) != -1) {
    if (c == 'h') {
      fputs(opt_usage_head, stdout);
      fputs(pass_flags_help, stdout);
      fputs(opt_usage_tail, stdout);
      int n;
      const Pass *const *all = pass_all(&n);
      for (int i = 0; i < n; i++) printf("  %-18s %s\n", all[i]->name, all[i]->summary);
      return EXIT_OK;
    }
    if (c == 'o') { out = optarg; continue; }
    int took = pass_flags_take("opt", c, optarg, &f);
    if (took == EXIT_USAGE) return EXIT_USAGE;
    if (!took) return usage_error("opt", "%s", "unknown option");
  }
  if (optind != argc - 1) return usage_error("opt", "%s", "expected one FILE");
  if (f.passes && f.level >= 0) return usage_error("opt", "%s", "give either --passes or -O, not both");
  DiagSink d;
  diag_init(&d, stderr);
  Graph *g;
  IrStatus st = ir_load(&d, argv[optind], LOAD_VERIFY | LOAD_WEIGHTS, &g);
  if (st == IR_OK) {
    st = pass_flags_run(g, &f, 2, &d);
    if (st == IR_OK && out) st = ir_save(g, out, ir_save_weights_filter, &d);
    else if (st == IR_OK && !f.memory_map) ir_print_graph(stdout, g);
    ir_graph_free(g);
  }
  diag_free(&d);
  return exit_code(st);
}

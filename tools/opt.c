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
    "       lathe opt FILE --bisect [-O0|-O1|-O2] [--passes=A,B,...] [--in NAME=FILE.npy]...\n"
    "                 [--seed N] [--tolerance=RTOL[,ATOL]]\n"
    "\n"
    "Runs graph passes on the model in FILE (its weights loaded) and writes the result: with\n"
    "-o, OUT.lathe and beside it OUT.safetensors holding every weight the result uses (those\n"
    "the passes made or changed included; constants of at most 16 elements stay inline), whose\n"
    "size and SHA-256 go into OUT.lathe's weights line; both are renamed into place only when\n"
    "both are complete. Without -o the result is printed to stdout with its weights elided\n"
    "(weight references only). The default level is -O2. docs/passes.md describes the passes.\n"
    "\n"
    "With --bisect the passes run one at a time; after each the interpreter runs the graph on\n"
    "the same inputs and its outputs are compared (as --verify-each does) with the input\n"
    "graph's. It prints the first pass after which an output is beyond the tolerance (its\n"
    "position, name, the output and the largest differences) and exits 1, or prints `no pass\n"
    "changes the outputs` and exits 0. Nothing is written. docs/debugging.md has examples.\n"
    "\n"
    "options:\n"
    "  -o, --output OUT.lathe   write the result and its weights\n"
    "  --bisect                 find the first pass that changes the outputs (see above)\n"
    "  --in NAME=FILE.npy       (--bisect, --verify-each) input NAME from a NumPy file\n"
    "  --seed N                 (--bisect, --verify-each) inputs not given with --in are\n"
    "                           random from this seed (default 0), as `lathe run` makes them\n"
    "  --tolerance=R[,A]        (--bisect, --verify-each) floats agree when |got - want| <=\n"
    "                           A + R |want| (default 1e-3,1e-4; A defaults to R/10); other\n"
    "                           dtypes must match exactly\n";
static const char *const opt_usage_tail =
    "  -h, --help               print this help\n"
    "\n"
    "exit codes: 0 ok, 1 bad input (or --bisect found a pass that changes the outputs),\n"
    "2 usage, 70 internal error (a pass broke the graph)\n"
    "\n"
    "passes:\n";

enum { OPT_BISECT = 0x2000, OPT_IN, OPT_SEED, OPT_TOLERANCE };

/* What `lathe opt` was asked for beyond the pass flags. */
typedef struct OptArgs {
  const char *out;        /* -o, or NULL */
  bool bisect;            /* --bisect */
  const char **ins;       /* the --in NAME=FILE.npy arguments */
  int nins;
  uint64_t seed;          /* --seed */
  bool has_tol;           /* --tolerance given */
  IrTolerance tol;
} OptArgs;

/* Prints what a bisecting run found; returns the tool's exit code (1 when a pass changed the outputs). */
static int report_bisect(const Graph *g, const PassBisect *b, const IrTolerance *tol) {
  int npasses = b->npasses;
  if (!b->pass) {
    printf("no pass changes the outputs (%d pass%s run; rtol %g, atol %g)\n", npasses, npasses == 1 ? "" : "es",
           tol->rtol, tol->atol);
    return EXIT_OK;
  }
  const IrDiff *x = &b->diff;
  printf("pass %d of %d, %s, changes output %%%s: max abs diff %.9g, max rel diff %.9g; %lld of %lld elements beyond "
         "rtol %g, atol %g (first at element %lld: %.9g, was %.9g)\n",
         b->position, npasses, b->pass, g->output_names[b->output], x->max_abs, x->max_rel, (long long)x->bad,
         (long long)x->numel, tol->rtol, tol->atol, (long long)x->first_bad, x->got, x->want);
  return EXIT_INPUT;
}

/* Loads the model, runs the passes (bisecting or not) and writes or prints the result. */
static int opt_model(const char *path, const OptArgs *a, PassFlags *f) {
  DiagSink d;
  diag_init(&d, stderr);
  Graph *g;
  RunPort *ins = NULL, *outs = NULL;
  void **inputs = NULL;
  PassBisect b;
  IrStatus st = ir_load(&d, path, LOAD_VERIFY | LOAD_WEIGHTS, &g);
  if (st != IR_OK) {
    diag_free(&d);
    return exit_code(st);
  }
  if (a->has_tol) f->tol = &a->tol;
  if (a->bisect) f->bisect = &b;
  if (a->nins || a->seed) { /* else pass_run_pipeline makes the seed-0 inputs itself */
    st = graph_ports(g, &ins, &outs, &d);
    if (st == IR_OK) st = fill_inputs(ins, g->body->nparams, a->ins, a->nins, a->seed, &d);
    if (st == IR_OK && !(inputs = physical_inputs(g, ins))) st = diag_oom(&d, loc_none());
    f->inputs = (const void *const *)inputs;
  }
  int code = EXIT_OK;
  if (st == IR_OK) st = pass_flags_run(g, f, 2, &d);
  if (st == IR_OK && a->bisect) code = report_bisect(g, &b, f->tol ? f->tol : &pass_default_tol);
  else if (st == IR_OK && a->out) st = ir_save(g, a->out, ir_save_weights_filter, &d);
  else if (st == IR_OK && !f->memory_map) ir_print_graph(stdout, g);
  physical_free(inputs, g->body->nparams);
  ports_free(ins, g->body->nparams);
  ports_free(outs, g->body->nresults);
  ir_graph_free(g);
  diag_free(&d);
  return st == IR_OK ? code : exit_code(st);
}

int cmd_opt(int argc, char **argv) {
  static const struct option opts[] = {{"help", no_argument, 0, 'h'},
                                       {"output", required_argument, 0, 'o'},
                                       {"bisect", no_argument, 0, OPT_BISECT},
                                       {"in", required_argument, 0, OPT_IN},
                                       {"seed", required_argument, 0, OPT_SEED},
                                       {"tolerance", required_argument, 0, OPT_TOLERANCE},
                                       PASS_FLAG_OPTIONS,
                                       {0, 0, 0, 0}};
  OptArgs a;
  memset(&a, 0, sizeof a);
  PassFlags f;
  pass_flags_init(&f);
  a.ins = calloc((size_t)argc + 1, sizeof *a.ins);
  if (!a.ins) { fputs("lathe opt: out of memory\n", stderr); return EXIT_INPUT; }
  int c, code = -1;
  while (code < 0 && (c = getopt_long(argc, argv, "ho:O:", opts, NULL)) != -1) {
    char *end;
    switch (c) {
    case 'h': {
      fputs(opt_usage_head, stdout);
      fputs(pass_flags_help, stdout);
      fputs(opt_usage_tail, stdout);
      int n;
      const Pass *const *all = pass_all(&n);
      for (int i = 0; i < n; i++) printf("  %-18s %s\n", all[i]->name, all[i]->summary);
      code = EXIT_OK;
      break;
    }
    case 'o': a.out = optarg; break;
    case OPT_BISECT: a.bisect = true; break;
    case OPT_IN:
      if (!strchr(optarg, '=')) code = usage_error("opt", "--in needs NAME=FILE.npy, not '%s'", optarg);
      else a.ins[a.nins++] = optarg;
      break;
    case OPT_SEED:
      a.seed = strtoull(optarg, &end, 0);
      if (*end || !*optarg) code = usage_error("opt", "--seed needs a number, not '%s'", optarg);
      break;
    case OPT_TOLERANCE:
      a.has_tol = true;
      if (!tolerance_parse("opt", optarg, &a.tol)) code = EXIT_USAGE;
      break;
    default: {
      int took = pass_flags_take("opt", c, optarg, &f);
      if (took == EXIT_USAGE) code = EXIT_USAGE;
      else if (!took) code = usage_error("opt", "%s", "unknown option");
    }
    }
  }
  if (code < 0 && optind != argc - 1) code = usage_error("opt", "%s", "expected one FILE");
  if (code < 0 && f.passes && f.level >= 0) code = usage_error("opt", "%s", "give either --passes or -O, not both");
  if (code < 0 && a.bisect && (a.out || f.memory_map))
    code = usage_error("opt", "%s", "--bisect writes nothing: drop -o and --memory-map");
  if (code < 0 && !a.bisect && !f.verify_each && (a.nins || a.seed || a.has_tol))
    code = usage_error("opt", "%s", "--in, --seed and --tolerance go with --bisect or --verify-each");
  if (code < 0) code = opt_model(argv[optind], &a, &f);
  free(a.ins);
  return code;
}

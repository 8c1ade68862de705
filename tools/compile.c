/* compile.c — `lathe compile`: a model in; C source, a header, a loop-nest dump (and, once
 * the LLVM backend lands, .so, .o, .s, .ll) out. Every file is written under a temporary name
 * and renamed into place only when all of them are complete. */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "codegen/c/emit.h"
#include "codegen/lower.h"
#include "frontend/parser.h"
#include "ir/fs.h"
#include "tools/commands.h"

static const char *const compile_usage =
    "usage: lathe compile MODEL.lathe -o BASE [--emit=KIND,...] [--name=N] [--weights=FILE]\n"
    "\n"
    "Compiles MODEL.lathe (and its weights) ahead of time. Writes BASE.KIND-extension for each\n"
    "kind asked for; `-o m.c` alone means --emit=c (likewise .h, .nest, .so, .o, .s, .ll), and\n"
    "-o without a known extension and no --emit means --emit=so. Prints the workspace size.\n"
    "\n"
    "kinds:\n"
    "  c        BASE.c: portable C99 (entry point, typed wrapper, descriptor, weights)\n"
    "  header   BASE.h: the C header (NAME_run, NAME_run_<dtype>, NAME_WORKSPACE_SIZE, NAME_desc)\n"
    "  nest     BASE.nest: the loop nests every kernel is lowered to (for tests and debugging)\n"
    "  so, obj, asm, llvm   BASE.so, .o, .s, .ll: need the LLVM backend (not built yet)\n"
    "\n"
    "options:\n"
    "  -o, --output BASE    the base name of the files to write (required)\n"
    "  --emit=KIND,...      what to write (see above)\n"
    "  --name=N             the symbol prefix (N_run, N_desc; sanitized into a C identifier;\n"
    "                       default: the graph's name)\n"
    "  --weights=FILE       keep the weights out of the code: write the blob to FILE; the\n"
    "                       caller passes it in lathe_exec.weights\n"
    "  -h, --help           print this help\n"
    "\n"
    "exit codes: 0 ok, 1 bad model or an op the backends cannot compile yet, 2 usage,\n"
    "70 internal error\n";

/* What a backend writes for one kind to f, given the lowered program and the artifact;
 * IR_OK or a status it reported through d. */
typedef IrStatus (*EmitFn)(FILE *f, const NestProgram *p, const CgArtifact *a, DiagSink *d);

static IrStatus emit_header(FILE *f, const NestProgram *p, const CgArtifact *a, DiagSink *d) {
  (void)p, (void)d;
  cg_emit_header(f, a);
  return IR_OK;
}
static IrStatus emit_nest(FILE *f, const NestProgram *p, const CgArtifact *a, DiagSink *d) {
  (void)a, (void)d;
  cg_nest_print(f, p);
  return IR_OK;
}

/* Every kind of output: its name in --emit, its extension, and its writer (NULL: needs a
 * backend this build does not have yet — the LLVM backend plugs in here). */
static const struct EmitKind {
  const char *name;
  const char *ext;
  EmitFn fn;
  const char *missing; /* fn NULL: what is missing */
} kinds[] = {
    {"c", ".c", cg_emit_c, NULL},
    {"header", ".h", emit_header, NULL},
    {"nest", ".nest", emit_nest, NULL},
    {"so", ".so", NULL, "the LLVM backend (not built yet)"},
    {"obj", ".o", NULL, "the LLVM backend (not built yet)"},
    {"asm", ".s", NULL, "the LLVM backend (not built yet)"},
    {"llvm", ".ll", NULL, "the LLVM backend (not built yet)"},
};
enum { NKINDS = sizeof kinds / sizeof kinds[0] };

/* The kind named s[0..len), or -1. */
static int kind_by_name(const char *s, size_t len) {
  for (int i = 0; i < NKINDS; i++)
    if (strlen(kinds[i].name) == len && !memcmp(kinds[i].name, s, len)) return i;
  return -1;
}

/* The kind whose extension ends path, or -1. */
static int kind_by_ext(const char *path) {
  size_t n = strlen(path);
  for (int i = 0; i < NKINDS; i++) {
    size_t e = strlen(kinds[i].ext);
    if (n > e && !strcmp(path + n - e, kinds[i].ext)) return i;
  }
  return -1;
}

/* Lowers, then writes every wanted kind to BASE.ext (and the sidecar), all or nothing. */
static IrStatus compile(const char *model, const char *base, const bool *want, const char *name, const char *weights,
                        DiagSink *d) {
  Graph *g = NULL;
  NestProgram *p = NULL;
  CgArtifact a;
  memset(&a, 0, sizeof a);
  IrOutFile files[NKINDS + 1];
  memset(files, 0, sizeof files);
  IrStatus st = ir_load(d, model, LOAD_VERIFY | LOAD_WEIGHTS, &g);
  if (st == IR_OK) st = cg_lower(g, d, &p);
  if (st == IR_OK) st = cg_artifact_init(&a, g, p, name, model, "c", weights != NULL, d);
  size_t blen = strlen(base);
  char *path = malloc(blen + 16);
  if (st == IR_OK && !path) st = diag_oom(d, loc_none());
  for (int i = 0; st == IR_OK && i < NKINDS; i++) {
    if (!want[i]) continue;
    snprintf(path, blen + 16, "%s%s", base, kinds[i].ext);
    st = ir_out_open(&files[i], path, d);
    if (st == IR_OK) st = kinds[i].fn(files[i].f, p, &a, d);
  }
  if (st == IR_OK && weights) {
    st = ir_out_open(&files[NKINDS], weights, d);
    if (st == IR_OK && p->weights_size) fwrite(p->weights, 1, (size_t)p->weights_size, files[NKINDS].f);
  }
  for (int i = 0; i <= NKINDS; i++) {
    if (st == IR_OK && files[i].f) st = ir_out_commit(&files[i], d);
    else ir_out_abort(&files[i]);
  }
  if (st == IR_OK)
    printf("workspace: %lld bytes\nweights: %lld bytes%s\n", (long long)p->workspace_size,
           (long long)p->weights_size, weights ? " (sidecar)" : "");
  free(path);
  cg_artifact_free(&a);
  cg_nest_free(p);
  ir_graph_free(g);
  return st;
}

int cmd_compile(int argc, char **argv) {
  static const struct option opts[] = {{"help", no_argument, 0, 'h'},         {"output", required_argument, 0, 'o'},
                                       {"emit", required_argument, 0, 'e'},   {"name", required_argument, 0, 'n'},
                                       {"weights", required_argument, 0, 'w'}, {0, 0, 0, 0}};
  const char *out = NULL, *emit = NULL, *name = NULL, *weights = NULL;
  int c;
  optind = 1;
  while ((c = getopt_long(argc, argv, "ho:", opts, NULL)) != -1) {
    switch (c) {
    case 'h': fputs(compile_usage, stdout); return EXIT_OK;
    case 'o': out = optarg; break;
    case 'e': emit = optarg; break;
    case 'n': name = optarg; break;
    case 'w': weights = optarg; break;
    default: return usage_error("compile", "%s", "unknown option");
    }
  }
  if (optind != argc - 1) return usage_error("compile", "%s", "expected one MODEL file");
  if (!out || !*out) return usage_error("compile", "%s", "-o BASE is required");
  if (name && !*name) return usage_error("compile", "%s", "--name needs a name");
  bool want[NKINDS] = {false};
  char *base = strdup(out);
  if (!base) { fputs("lathe compile: out of memory\n", stderr); return EXIT_INPUT; }
  if (emit) {
    for (const char *s = emit; *s;) {
      size_t len = strcspn(s, ",");
      int k = kind_by_name(s, len);
      if (k < 0) {
        free(base);
        return usage_error("compile", "unknown emit kind '%.*s' (known: c, header, nest, so, obj, asm, llvm)", (int)len, s);
      }
      want[k] = true;
      s += len + (s[len] == ',');
    }
  } else {
    int k = kind_by_ext(out);
    if (k < 0) k = kind_by_name("so", 2);
    else base[strlen(base) - strlen(kinds[k].ext)] = 0;
    want[k] = true;
  }
  for (int i = 0; i < NKINDS; i++)
    if (want[i] && !kinds[i].fn) {
      fprintf(stderr, "lathe compile: --emit=%s needs %s; --emit=c,header works now\n", kinds[i].name, kinds[i].missing);
      free(base);
      return EXIT_USAGE;
    }
  DiagSink d;
  diag_init(&d, stderr);
  IrStatus st = compile(argv[optind], base, want, name, weights, &d);
  diag_free(&d);
  free(base);
  return exit_code(st);
}

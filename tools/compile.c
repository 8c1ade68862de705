/* compile.c — `lathe compile`: a model in; C source, a header, a loop-nest dump, and through
 * the LLVM backend a shared object, an object file, assembly and LLVM IR out. Every file is
 * written under a temporary name and renamed into place only when it is complete. */
#include <errno.h>
#include <stddef.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "codegen/c/emit.h"
#include "codegen/llvm/nest.h"
#include "codegen/lower.h"
#include "frontend/parser.h"
#include "ir/fs.h"
#include "tools/commands.h"

static const char *const compile_usage =
    "usage: lathe compile MODEL.lathe -o BASE [--emit=KIND,...] [--target=T] [--name=N]\n"
    "                     [--weights=FILE]\n"
    "\n"
    "Compiles MODEL.lathe (and its weights) ahead of time. Writes BASE.KIND-extension for each\n"
    "kind asked for; `-o m.c` alone means --emit=c (likewise .h, .nest, .so, .o, .s, .ll), and\n"
    "-o without a known extension and no --emit means --emit=so. Prints the workspace size.\n"
    "\n"
    "kinds:\n"
    "  c        BASE.c: portable C99 (entry point, typed wrapper, descriptor, weights)\n"
    "  header   BASE.h: the C header (NAME_run, NAME_run_<dtype>, NAME_WORKSPACE_SIZE, NAME_desc)\n"
    "  nest     BASE.nest: the loop nests every kernel is lowered to (for tests and debugging)\n"
    "  so       BASE.so: a shared object for `lathe run` and the runtime (liblathe_rt)\n"
    "  obj      BASE.o: a relocatable object with the same symbols, weights included\n"
    "  asm      BASE.s: the assembly (without the weight bytes)\n"
    "  llvm     BASE.ll: the optimized LLVM IR (without the weight bytes)\n"
    "\n"
    "options:\n"
    "  -o, --output BASE    the base name of the files to write (required)\n"
    "  --emit=KIND,...      what to write (see above)\n"
    "  --target=T           what the LLVM outputs run on: native (the host's CPU, the default),\n"
    "                       x86-64-v3 (AVX2, FMA), x86-64-v4 (AVX-512) or generic (SSE2)\n"
    "  --name=N             the symbol prefix (N_run, N_desc; sanitized into a C identifier;\n"
    "                       default: the graph's name)\n"
    "  --weights=FILE       keep the weights out of the code: write the blob to FILE; the\n"
    "                       caller passes it in lathe_exec.weights\n"
    "  -h, --help           print this help\n"
    "\n"
    "With --time-passes, also prints the time of each phase of the compilation to stderr:\n"
    "`phase NAME  T ms` for load, passes, lower, artifact (the descriptor and the C-side kinds),\n"
    "llvm-ir, llvm-o3, llvm-text (.ll, .s), llvm-codegen (object code) and link (ld.lld-16)\n"
    "or write (.o alone).\n"
    "\n"
    "pass flags (as `lathe opt`; the passes run before lowering, -O2 when none is given):\n";
static const char compile_exit_codes[] =
    "\n"
    "environment:\n"
    "  LATHE_LLVM_BACKEND   the LLVM backend module to load for so, obj, asm, llvm and\n"
    "                       --target (default: liblathe_llvm.so beside the lathe executable,\n"
    "                       else ../lib/lathe/liblathe_llvm.so from it)\n"
    "\n"
    "exit codes: 0 ok, 1 bad model, an op the backends cannot compile yet or no LLVM backend,\n"
    "2 usage, 70 internal error\n";

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

/* Every kind of output: its name in --emit, its extension, and its writer (NULL: the LLVM
 * backend writes it, all LLVM kinds from one call; llvm_path says which member of
 * LlvmEmitPaths names its file). */
static const struct EmitKind {
  const char *name;
  const char *ext;
  EmitFn fn;
  size_t llvm_path; /* fn NULL: offsetof the path in LlvmEmitPaths */
} kinds[] = {
    {"c", ".c", cg_emit_c, 0},
    {"header", ".h", emit_header, 0},
    {"nest", ".nest", emit_nest, 0},
    {"so", ".so", NULL, offsetof(LlvmEmitPaths, so)},
    {"obj", ".o", NULL, offsetof(LlvmEmitPaths, obj)},
    {"asm", ".s", NULL, offsetof(LlvmEmitPaths, asm_)},
    {"llvm", ".ll", NULL, offsetof(LlvmEmitPaths, ir)},
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

/* What one `lathe compile` asks for. */
typedef struct CompileOpts {
  const char *model, *base, *name, *weights, *target;
  bool want[NKINDS];
  bool quiet; /* no sizes on stdout */
  PassFlags passes;
} CompileOpts;

/* Runs the passes on g (o->model names its source), lowers, then writes every wanted kind to
 * BASE.ext (and the sidecar). The C-side files are complete under temporary names before the
 * LLVM backend writes its own (each safely); they are renamed into place only when that
 * succeeded too. With --time-passes, each phase's time goes to stderr (since: its start). */
static IrStatus compile_graph(Graph *g, const CompileOpts *o, double since, DiagSink *d) {
  NestProgram *p = NULL;
  CgArtifact a;
  memset(&a, 0, sizeof a);
  IrOutFile files[NKINDS + 1];
  memset(files, 0, sizeof files);
  FILE *times = o->passes.time_passes ? stderr : NULL;
  IrStatus st = pass_flags_run(g, &o->passes, 2, d);
  ir_time_phase(times, "passes", &since);
  if (st == IR_OK) st = cg_lower(g, d, &p);
  ir_time_phase(times, "lower", &since);
  if (st == IR_OK) st = cg_artifact_init(&a, g, p, o->name, o->model, "c", o->weights != NULL, d);
  size_t blen = strlen(o->base);
  char *paths[NKINDS] = {0};
  LlvmEmitPaths lp = {.times = times};
  bool any_llvm = false;
  for (int i = 0; st == IR_OK && i < NKINDS; i++) {
    if (!o->want[i]) continue;
    paths[i] = malloc(blen + 16);
    if (!paths[i]) { st = diag_oom(d, loc_none()); break; }
    snprintf(paths[i], blen + 16, "%s%s", o->base, kinds[i].ext);
    if (!kinds[i].fn) {
      *(const char **)((char *)&lp + kinds[i].llvm_path) = paths[i];
      any_llvm = true;
      continue;
    }
    st = ir_out_open(&files[i], paths[i], d);
    if (st == IR_OK) st = kinds[i].fn(files[i].f, p, &a, d);
  }
  if (st == IR_OK && o->weights) {
    st = ir_out_open(&files[NKINDS], o->weights, d);
    if (st == IR_OK && p->weights_size) fwrite(p->weights, 1, (size_t)p->weights_size, files[NKINDS].f);
  }
  /* Every file complete (a full disk shows here) before any is renamed into place. */
  for (int i = 0; st == IR_OK && i <= NKINDS; i++)
    if (files[i].f && (fflush(files[i].f) != 0 || ferror(files[i].f))) {
      diag_error(d, loc_file(files[i].path), "cannot write: %s", strerror(errno));
      st = IR_ERR_INPUT;
    }
  ir_time_phase(times, "artifact", &since);
  if (st == IR_OK && any_llvm) {
    const CgLlvmBackend *llvm = llvm_backend(d);
    st = llvm ? llvm->compile(p, &a, o->target, &lp, d) : IR_ERR_INPUT;
  }
  bool committed = st == IR_OK;
  for (int i = 0; i <= NKINDS; i++) {
    if (st == IR_OK && files[i].f) st = ir_out_commit(&files[i], d);
    else ir_out_abort(&files[i]);
  }
  /* A rename that failed after the LLVM files were written: take those back too. */
  for (int i = 0; committed && st != IR_OK && i < NKINDS; i++)
    if (paths[i] && !kinds[i].fn) remove(paths[i]);
  if (st == IR_OK && !o->quiet)
    printf("workspace: %lld bytes\nweights: %lld bytes%s\n", (long long)p->workspace_size,
           (long long)p->weights_size, o->weights ? " (sidecar)" : "");
  for (int i = 0; i < NKINDS; i++) free(paths[i]);
  cg_artifact_free(&a);
  cg_nest_free(p);
  return st;
}

/* Loads the model o->model and compiles it (compile_graph). */
static IrStatus compile(const CompileOpts *o, DiagSink *d) {
  Graph *g = NULL;
  double since = ir_now_ms();
  IrStatus st = ir_load(d, o->model, LOAD_VERIFY | LOAD_WEIGHTS, &g);
  ir_time_phase(o->passes.time_passes ? stderr : NULL, "load", &since);
  if (st == IR_OK) st = compile_graph(g, o, since, d);
  ir_graph_free(g);
  return st;
}

IrStatus compile_graph_so(Graph *g, const char *source, int level, const char *so_path, DiagSink *d) {
  CompileOpts o;
  memset(&o, 0, sizeof o);
  pass_flags_init(&o.passes);
  o.passes.level = level;
  size_t n = strlen(so_path);
  char *base = n > 3 && !strcmp(so_path + n - 3, ".so") ? strdup(so_path) : NULL;
  if (!base) return diag_oom(d, loc_none()); /* callers pass a path ending in .so */
  base[n - 3] = 0;
  o.model = source;
  o.base = base;
  o.quiet = true;
  o.want[kind_by_name("so", 2)] = true;
  IrStatus st = compile_graph(g, &o, ir_now_ms(), d);
  free(base);
  return st;
}

IrStatus compile_model_so(const char *model, const char *so_path, DiagSink *d) {
  Graph *g = NULL;
  IrStatus st = ir_load(d, model, LOAD_VERIFY | LOAD_WEIGHTS, &g);
  if (st == IR_OK) st = compile_graph_so(g, model, -1, so_path, d);
  ir_graph_free(g);
  return st;
}

int cmd_compile(int argc, char **argv) {
  static const struct option opts[] = {{"help", no_argument, 0, 'h'},          {"output", required_argument, 0, 'o'},
                                       {"emit", required_argument, 0, 'e'},    {"name", required_argument, 0, 'n'},
                                       {"weights", required_argument, 0, 'w'}, {"target", required_argument, 0, 't'},
                                       PASS_FLAG_OPTIONS,                      {0, 0, 0, 0}};
  CompileOpts o;
  memset(&o, 0, sizeof o);
  pass_flags_init(&o.passes);
  const char *out = NULL, *emit = NULL;
  int c;
  optind = 1;
  while ((c = getopt_long(argc, argv, "ho:O:", opts, NULL)) != -1) {
    switch (c) {
    case 'h':
      fputs(compile_usage, stdout);
      fputs(pass_flags_help, stdout);
      fputs(compile_exit_codes, stdout);
      return EXIT_OK;
    case 'o': out = optarg; break;
    case 'e': emit = optarg; break;
    case 'n': o.name = optarg; break;
    case 'w': o.weights = optarg; break;
    case 't': o.target = optarg; break;
    default: {
      int took = pass_flags_take("compile", c, optarg, &o.passes);
      if (took == 1) break;
      return took ? took : usage_error("compile", "%s", "unknown option");
    }
    }
  }
  if (optind != argc - 1) return usage_error("compile", "%s", "expected one MODEL file");
  if (!out || !*out) return usage_error("compile", "%s", "-o BASE is required");
  if (o.name && !*o.name) return usage_error("compile", "%s", "--name needs a name");
  DiagSink d;
  diag_init(&d, stderr);
  if (o.target) { /* an unknown target is a usage error, whatever is emitted */
    const CgLlvmBackend *llvm = llvm_backend(&d);
    IrStatus st = llvm ? llvm->check_target(o.target, &d) : IR_ERR_INPUT;
    if (st != IR_OK) { /* reported, with the known names */
      diag_free(&d);
      return exit_code(st);
    }
  }
  char *base = strdup(out);
  if (!base) { diag_free(&d); fputs("lathe compile: out of memory\n", stderr); return EXIT_INPUT; }
  if (emit) {
    for (const char *s = emit; *s;) {
      size_t len = strcspn(s, ",");
      int k = kind_by_name(s, len);
      if (k < 0) {
        free(base);
        diag_free(&d);
        return usage_error("compile", "unknown emit kind '%.*s' (known: c, header, nest, so, obj, asm, llvm)", (int)len, s);
      }
      o.want[k] = true;
      s += len + (s[len] == ',');
    }
  } else {
    int k = kind_by_ext(out);
    if (k < 0) k = kind_by_name("so", 2);
    else base[strlen(base) - strlen(kinds[k].ext)] = 0;
    o.want[k] = true;
  }
  o.model = argv[optind];
  o.base = base;
  IrStatus st = compile(&o, &d);
  diag_free(&d);
  free(base);
  return exit_code(st);
}

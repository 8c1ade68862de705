/* commands.h — the subcommands of the `lathe` tool that live in files of their own beside
 * tools/lathe.c, and what they share (tools/cli.c). Each takes the arguments after the command's name (argv[0] is the name)
 * and returns the tool's exit code: 0 ok, 1 bad input, 2 usage, 70 internal error. */
#ifndef LATHE_TOOLS_COMMANDS_H
#define LATHE_TOOLS_COMMANDS_H

#include <getopt.h>

#include "ir/compare.h"

struct lathe_model;
struct CgLlvmBackend;

/* The tool's exit codes. */
enum { EXIT_OK = 0, EXIT_INPUT = 1, EXIT_USAGE = 2, EXIT_INTERNAL = 70 };

/* Maps a library status to the tool's exit code (tools/cli.c). */
int exit_code(IrStatus st);
/* Reports a usage error of `lathe CMD` with the help hint; returns EXIT_USAGE. */
int usage_error(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* The LLVM backend, loaded on first use (tools/backend.c); NULL after reporting why not. */
const struct CgLlvmBackend *llvm_backend(DiagSink *d);

/* ---- the pass flags that `lathe opt` and `lathe compile` share (tools/cli.c) ---- */

/* What the pass flags asked for. */
typedef struct PassFlags {
  int level;               /* -O0, -O1, -O2; -1 when not given */
  const char *passes;      /* --passes=a,b,c as given, or NULL */
  const char *print_after; /* --print-after=PASS, or NULL */
  bool print_after_all;    /* --print-after-all */
  bool time_passes;        /* --time-passes */
  bool verify_each;        /* --verify-each */
  bool memory_map;         /* --memory-map */
  /* Set by `lathe opt` itself, not by pass_flags_take: */
  const IrTolerance *tol;     /* --tolerance for --verify-each and --bisect, or NULL */
  const void *const *inputs;  /* --verify-each and --bisect: the inputs (physical form), or NULL */
  struct PassBisect *bisect;  /* --bisect: where the first difference goes, or NULL */
} PassFlags;

/* getopt_long codes of the pass flags (-O is the short option 'O' with an argument). */
enum { PF_PASSES = 0x1000, PF_PRINT_AFTER_ALL, PF_PRINT_AFTER, PF_TIME_PASSES, PF_VERIFY_EACH, PF_MEMORY_MAP };
/* The long options of the pass flags, to put in a command's option table before its {0}. */
#define PASS_FLAG_OPTIONS                                                                        \
  {"passes", required_argument, 0, PF_PASSES}, {"print-after-all", no_argument, 0, PF_PRINT_AFTER_ALL}, \
      {"print-after", required_argument, 0, PF_PRINT_AFTER}, {"time-passes", no_argument, 0, PF_TIME_PASSES}, \
      {"verify-each", no_argument, 0, PF_VERIFY_EACH}, {"memory-map", no_argument, 0, PF_MEMORY_MAP}
/* The help text of the pass flags, for a command's --help. */
extern const char pass_flags_help[];

/* Starts f with nothing asked for. */
void pass_flags_init(PassFlags *f);
/* Takes option c (with argument arg) of command cmd when it is a pass flag: returns 1 when it
 * took it, 0 when c is no pass flag, and EXIT_USAGE (reported) when its argument is bad. */
int pass_flags_take(const char *cmd, int c, const char *arg, PassFlags *f);
/* Runs on g the passes f selects (-O default_level when neither -O nor --passes was given),
 * printing dumps and timings to stderr and, for --memory-map, the plan to stdout. */
IrStatus pass_flags_run(Graph *g, const PassFlags *f, int default_level, DiagSink *d);

/* ---- a model's inputs and outputs, as `lathe run` and `lathe opt --bisect` hold them (tools/ports.c) ---- */

/* One input or output of the model being run: its name, its row-major type and a buffer of
 * that type (the form .npy files and compiled models use). */
typedef struct RunPort {
  const char *name;
  TensorType type;
  void *data;
} RunPort;

/* Allocates each port's buffer (zeroed); false when out of memory. */
bool ports_alloc(RunPort *ports, int n);
/* Frees each port's buffer and the array (NULL is fine). */
void ports_free(RunPort *ports, int n);
/* Fills the inputs: seeded random first (ir_fill_random, one generator across them in
 * order), then the files of specs[0..nspecs), each NAME=FILE.npy (a file replaces its input;
 * its dtype and shape must match). */
IrStatus fill_inputs(RunPort *ins, int nin, const char *const *specs, int nspecs, uint64_t seed, DiagSink *d);
/* Ports for g's inputs and outputs (*ins, *outs: calloc'd arrays, buffers zeroed; both to be
 * freed with ports_free, whatever the result). */
IrStatus graph_ports(const Graph *g, RunPort **ins, RunPort **outs, DiagSink *d);
/* Zeroed buffers for the physical form of g's inputs (inputs true) or outputs, or NULL. */
void **physical_alloc(const Graph *g, bool inputs);
/* The inputs ins (row-major) packed into the physical form of g's inputs, or NULL. */
void **physical_inputs(const Graph *g, const RunPort *ins);
/* Frees n buffers and the array (NULL is fine). */
void physical_free(void **bufs, int n);

/* Opens the compiled artifact at path (checked before it is loaded: docs/abi.md) and, when
 * weights is not NULL, loads its sidecar weights from that file. */
IrStatus artifact_open(const char *path, const char *weights, struct lathe_model **m, DiagSink *d);
/* Ports for the artifact's inputs or outputs (buffers zeroed), or NULL when out of memory. */
RunPort *artifact_ports(const struct lathe_model *m, bool inputs);
/* Runs the artifact on ins, writing outs (ports as artifact_ports makes them): once, then
 * `timed` more times on the same workspace, whose times run_timing_print reports. */
IrStatus artifact_run(struct lathe_model *m, const RunPort *ins, RunPort *outs, int timed, DiagSink *d);
/* Prints `time: median X ms per run over N runs (min Y ms, max Z ms)` of the n run times t
 * (milliseconds, ir_now_ms; sorted in place). */
void run_timing_print(double *t, int n);
/* A new temporary file name DIR/lathe-run-XXXXXX.so in $TMPDIR (or /tmp), the file made
 * (empty) to reserve it; malloc'd; NULL (reported) when it cannot be made. */
char *temp_so_path(DiagSink *d);

/* Parses a --tolerance argument, RTOL or RTOL,ATOL (non-negative numbers; ATOL defaults to
 * RTOL / 10), into *tol; reports a usage error of `lathe CMD` and returns false when bad. */
bool tolerance_parse(const char *cmd, const char *arg, IrTolerance *tol);

/* lathe opt: a model in, the same model after passes out. */
int cmd_opt(int argc, char **argv);
/* lathe dot: a Graphviz drawing of a model. */
int cmd_dot(int argc, char **argv);

/* lathe import: an ONNX model in, the text IR and its safetensors sidecar out. */
int cmd_import(int argc, char **argv);

int cmd_compile(int argc, char **argv); /* lathe compile: a model in; C, a header, loop nests out */
/* Compiles the .lathe model at model (-O2, the native target) to the shared object so_path
 * (which ends in .so), written safely; prints nothing but diagnostics. For `lathe run`. */
IrStatus compile_model_so(const char *model, const char *so_path, DiagSink *d);
/* The same for the verified graph g in memory (its const nodes carrying data; the passes
 * change it), read from the file source, after the passes of -O level (-1: -O2). */
IrStatus compile_graph_so(Graph *g, const char *source, int level, const char *so_path, DiagSink *d);
/* lathe run --compare (tools/compare.c): the model at path (.lathe, or .onnx imported in
 * memory) compiled at -O0 with every node's result an output, run beside the interpreter on
 * inputs made as fill_inputs makes them; prints a one-line summary when every result is
 * within tol, else reports the first node that is not (IR_ERR_INPUT). */
IrStatus run_compare(const char *path, const char *const *specs, int nspecs, uint64_t seed, const IrTolerance *tol,
                     DiagSink *d);
/* The default tolerance of --compare: rtol 1e-5, atol 1e-6. */
extern const IrTolerance compare_default_tol;
/* lathe asm: a listing of systolic instructions in, a program file out (tools/systolic.c). */
int cmd_asm(int argc, char **argv);
/* lathe disasm: a systolic program file in, its listing out. */
int cmd_disasm(int argc, char **argv);
/* lathe sim: a systolic program, or a SCALE-Sim topology and config, on the simulator. */
int cmd_sim(int argc, char **argv);

#endif

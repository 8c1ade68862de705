/* commands.h — the subcommands of the `lathe` tool that live in files of their own beside
 * tools/lathe.c, and what they share (tools/cli.c). Each takes the arguments after the command's name (argv[0] is the name)
 * and returns the tool's exit code: 0 ok, 1 bad input, 2 usage, 70 internal error. */
#ifndef LATHE_TOOLS_COMMANDS_H
#define LATHE_TOOLS_COMMANDS_H

#include <getopt.h>

#include "ir/ir.h"

/* The tool's exit codes. */
enum { EXIT_OK = 0, EXIT_INPUT = 1, EXIT_USAGE = 2, EXIT_INTERNAL = 70 };

/* Maps a library status to the tool's exit code (tools/cli.c). */
int exit_code(IrStatus st);
/* Reports a usage error of `lathe CMD` with the help hint; returns EXIT_USAGE. */
int usage_error(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

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
/* lathe asm: a listing of systolic instructions in, a program file out (tools/systolic.c). */
int cmd_asm(int argc, char **argv);
/* lathe disasm: a systolic program file in, its listing out. */
int cmd_disasm(int argc, char **argv);
/* lathe sim: a systolic program, or a SCALE-Sim topology and config, on the simulator. */
int cmd_sim(int argc, char **argv);

#endif

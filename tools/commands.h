/* commands.h — the subcommands of the `lathe` tool that live in files of their own beside
 * tools/lathe.c, and what they share (tools/cli.c). Each takes the arguments after the command's name (argv[0] is the name)
 * and returns the tool's exit code: 0 ok, 1 bad input, 2 usage, 70 internal error. */
#ifndef LATHE_TOOLS_COMMANDS_H
#define LATHE_TOOLS_COMMANDS_H

#include "ir/base.h"

/* The tool's exit codes. */
enum { EXIT_OK = 0, EXIT_INPUT = 1, EXIT_USAGE = 2, EXIT_INTERNAL = 70 };

/* Maps a library status to the tool's exit code (tools/cli.c). */
int exit_code(IrStatus st);
/* Reports a usage error of `lathe CMD` with the help hint; returns EXIT_USAGE. */
int usage_error(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* lathe import: an ONNX model in, the text IR and its safetensors sidecar out. */
int cmd_import(int argc, char **argv);

int cmd_compile(int argc, char **argv); /* lathe compile: a model in; C, a header, loop nests out */
/* lathe asm: a listing of systolic instructions in, a program file out (tools/systolic.c). */
int cmd_asm(int argc, char **argv);
/* lathe disasm: a systolic program file in, its listing out. */
int cmd_disasm(int argc, char **argv);
/* lathe sim: a systolic program, or a SCALE-Sim topology and config, on the simulator. */
int cmd_sim(int argc, char **argv);

#endif

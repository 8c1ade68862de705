/* commands.h — the subcommands of the `lathe` tool that live in files of their own beside
 * tools/lathe.c. Each takes the arguments after the command's name (argv[0] is the name)
 * and returns the tool's exit code: 0 ok, 1 bad input, 2 usage, 70 internal error. */
#ifndef LATHE_TOOLS_COMMANDS_H
#define LATHE_TOOLS_COMMANDS_H

/* lathe import: an ONNX model in, the text IR and its safetensors sidecar out. */
int cmd_import(int argc, char **argv);

/* lathe asm: a listing of systolic instructions in, a program file out (tools/systolic.c). */
int cmd_asm(int argc, char **argv);
/* lathe disasm: a systolic program file in, its listing out. */
int cmd_disasm(int argc, char **argv);
/* lathe sim: a systolic program, or a SCALE-Sim topology and config, on the simulator. */
int cmd_sim(int argc, char **argv);

#endif

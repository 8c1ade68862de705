/* cli.c — what every command of the `lathe` tool shares: statuses to exit codes, and the
 * usage-error message with its help hint. */
#include <stdarg.h>
#include <stdio.h>

#include "tools/commands.h"

int exit_code(IrStatus st) {
  switch (st) {
  case IR_OK: return EXIT_OK;
  case IR_ERR_USAGE: return EXIT_USAGE;
  case IR_ERR_INTERNAL: return EXIT_INTERNAL;
  default: return EXIT_INPUT;
  }
}

int usage_error(const char *cmd, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  fprintf(stderr, "lathe %s: ", cmd);
  vfprintf(stderr, fmt, ap);
  va_end(ap);
  fprintf(stderr, "\nTry 'lathe %s --help'.\n", cmd);
  return EXIT_USAGE;
}

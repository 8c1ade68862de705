/* parser.h — reading the text IR (docs/ir.md) into a Graph. */
#ifndef LATHE_FRONTEND_PARSER_H
#define LATHE_FRONTEND_PARSER_H

#include "ir/ir.h"

/* Parses text (named `name` in diagnostics; the sink keeps a copy to quote lines) into a new
 * graph. Reports every error it can find, recovering at the next statement, and returns
 * NULL when there was any. The graph is not yet verified and its weights are not loaded. */
Graph *ir_parse_text(DiagSink *d, const char *name, const char *text, size_t len);

/* Reads and parses the file at path (sets g->dir to its directory). */
Graph *ir_parse_file(DiagSink *d, const char *path);

/* What ir_load does beyond parsing. */
typedef enum {
  LOAD_VERIFY = 1 << 0,  /* run the verifier */
  LOAD_WEIGHTS = 1 << 1, /* open the sidecar, check it and attach data to const nodes */
} LoadFlags;

/* Parses path, then verifies and loads weights as flags say. On success *out owns the graph. */
IrStatus ir_load(DiagSink *d, const char *path, unsigned flags, Graph **out);

#endif

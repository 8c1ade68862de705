/* roundtrip.h — the text IR's promise, checked by the fuzz targets that make graphs: a
 * verified graph prints as text that parses, verifies and prints the same. */
#ifndef LATHE_TESTS_FUZZ_ROUNDTRIP_H
#define LATHE_TESTS_FUZZ_ROUNDTRIP_H

#include "ir/ir.h"

/* Parses text (named name) and verifies it; returns the graph, or NULL after checking (a
 * finding otherwise) that d gained a diagnostic and no internal error. */
Graph *fuzz_parse_verified(DiagSink *d, const char *name, const char *text, size_t len);

/* Checks print(parse(print(g))) == print(g) for a verified g (a finding otherwise). */
void fuzz_check_roundtrip(const Graph *g);

#endif

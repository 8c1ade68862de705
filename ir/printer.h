/* printer.h — writing graphs and types as text IR that parses back to the same graph. */
#ifndef LATHE_IR_PRINTER_H
#define LATHE_IR_PRINTER_H

#include "ir/ir.h"

/* Writes t as in the text IR ("f32[1,3,224,224] layout(nChw16c)"). */
void ir_print_type(FILE *out, const TensorType *t);
/* Formats t into buf (at most n bytes, truncated with "..."); returns buf. */
char *ir_type_str(const TensorType *t, char *buf, size_t n);
/* Writes the whole graph. print(parse(print(g))) is byte-identical to print(g). */
void ir_print_graph(FILE *out, const Graph *g);
/* Prints into a new ir_malloc'd NUL-terminated string (NULL when out of memory). */
char *ir_print_to_string(const Graph *g);
/* Writes f so that strtof reads back the same bits (shortest form; inf, -inf, nan,
 * nan(0xBITS) for other NaNs); always recognizably a float ("1.0", not "1"). */
void ir_print_f32(FILE *out, float f);
/* The same for doubles (strtod). */
void ir_print_f64(FILE *out, double f);
/* Writes a value name with its sigil, quoted when it is not a bare identifier. */
void ir_print_name(FILE *out, char sigil, const char *name);

#endif

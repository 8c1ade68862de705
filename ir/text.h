/* text.h — a growing, NUL-terminated text built with printf-style appends (ir/text.c): the
 * ONNX importer's reports, the ISL sets and maps codegen/tile.c writes. An allocation that
 * fails marks the text failed and leaves it as it was; later appends do nothing. */
#ifndef LATHE_IR_TEXT_H
#define LATHE_IR_TEXT_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>

typedef struct IrText {
  char *s;     /* NUL-terminated, ir_malloc'd (NULL while empty) */
  size_t len;  /* bytes before the NUL */
  size_t cap;  /* bytes allocated */
  bool failed; /* an allocation failed */
} IrText;

/* Appends printf-formatted text to t. */
void ir_text_add(IrText *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void ir_text_vadd(IrText *t, const char *fmt, va_list ap) __attribute__((format(printf, 2, 0)));
/* Frees t's memory and empties it. */
void ir_text_free(IrText *t);

#endif

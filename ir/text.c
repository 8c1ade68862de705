/* text.c — growing texts (ir/text.h). */
#include "ir/text.h"

#include <stdio.h>
#include <string.h>

#include "ir/base.h"

void ir_text_vadd(IrText *t, const char *fmt, va_list ap) {
  va_list ap2;
  va_copy(ap2, ap);
  int n = vsnprintf(NULL, 0, fmt, ap2);
  va_end(ap2);
  if (n < 0 || t->failed) return;
  if (t->len + (size_t)n + 1 > t->cap) {
    size_t cap = t->cap ? t->cap : 256;
    while (cap < t->len + (size_t)n + 1) cap *= 2;
    char *s = ir_realloc(t->s, cap);
    if (!s) { t->failed = true; return; }
    t->s = s;
    t->cap = cap;
  }
  vsnprintf(t->s + t->len, t->cap - t->len, fmt, ap);
  t->len += (size_t)n;
}

void ir_text_add(IrText *t, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  ir_text_vadd(t, fmt, ap);
  va_end(ap);
}

void ir_text_free(IrText *t) {
  ir_free(t->s);
  memset(t, 0, sizeof *t);
}

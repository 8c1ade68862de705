/* internal.h — what the runtime's files share: error messages and dtype facts (artifact.c),
 * used by the loader (model.c). */
#ifndef LATHE_RUNTIME_INTERNAL_H
#define LATHE_RUNTIME_INTERNAL_H

#include <stdbool.h>

#include "lathe/runtime.h"

/* Fills err (when not NULL) with status and a printf-style message; returns status. */
int rt_fail(lathe_error *err, int status, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* Marks err (when not NULL) as a success; returns LATHE_OK. */
int rt_ok(lathe_error *err);

/* Writes a tensor's type as in the text IR ("f32[1,3,224,224]") to buf. */
void rt_format_type(const lathe_tensor_desc *t, char *buf, size_t n);
/* Bytes of one element of dtype, or 0 for a value that is no lathe_dtype. */
int rt_dtype_size(int dtype);

#endif

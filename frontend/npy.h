/* npy.h — NumPy .npy files (format versions 1.0, 2.0 and 3.0): one little-endian, C-order
 * array of a dtype lathe knows (<f4 <f2 |i1 |u1 <i4 <i8 |b1), for test inputs and outputs.
 * bf16 has no NumPy dtype and is refused both ways. */
#ifndef LATHE_FRONTEND_NPY_H
#define LATHE_FRONTEND_NPY_H

#include "ir/ir.h"

/* The most bytes of header (the dict literal and its padding) the reader accepts. */
#define NPY_MAX_HEADER_BYTES 65536

/* Reads the array in the .npy file at path: fills out->type (row-major) and sets *data to a
 * new buffer (one reference, the caller's) holding its bytes, 64-byte aligned, with
 * out->data = (*data)->data. On failure reports one diagnostic `path: error: ...`, sets
 * *data and out->data to NULL and returns IR_ERR_INPUT. */
IrStatus npy_read(const char *path, Tensor *out, IrBuffer **data, DiagSink *d);
/* Parses the bytes of a .npy file as npy_read does; name_for_diag names it in diagnostics
 * (NULL: none). *data is a slice of file when the data is aligned, else a copy. */
IrStatus npy_parse(IrBuffer *file, const char *name_for_diag, Tensor *out, IrBuffer **data, DiagSink *d);
/* Writes t (row-major, ir_type_numel * dtype size bytes at t->data) to path as a version 1.0
 * .npy file whose header is padded with spaces and a '\n' to a multiple of 64 bytes; safe:
 * a failure leaves any existing file untouched. A bf16 tensor, a layout or an invalid type
 * is IR_ERR_USAGE. */
IrStatus npy_write(const char *path, const Tensor *t, DiagSink *d);
/* The checks npy_write makes of the type before writing anything: IR_OK, or IR_ERR_USAGE
 * reported at path (a bf16 tensor, a layout, an invalid type). Lets a caller writing several
 * files refuse before it writes the first. */
IrStatus npy_can_write(const char *path, const TensorType *t, DiagSink *d);

#endif

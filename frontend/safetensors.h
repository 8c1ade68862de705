/* safetensors.h — the safetensors weights format: an 8-byte little-endian header length N,
 * N bytes of JSON naming each tensor's dtype, shape and byte range, then the data.
 *
 * The reader trusts nothing: every length, offset, shape and name is checked before use and
 * each problem is one diagnostic naming the file and the tensor. */
#ifndef LATHE_FRONTEND_SAFETENSORS_H
#define LATHE_FRONTEND_SAFETENSORS_H

#include "ir/ir.h"

/* The most bytes of JSON header the reader accepts. */
#define ST_MAX_HEADER_BYTES ((int64_t)100 * 1000 * 1000)

/* One tensor of a safetensors file. */
typedef struct StEntry {
  char *name;      /* the tensor's name (NUL-terminated, at most IR_MAX_NAME bytes) */
  TensorType type; /* dtype and shape; row-major: no layout, no quantization */
  int64_t begin;   /* absolute file offset of the first byte of its data */
  int64_t end;     /* absolute file offset one past its last byte (end - begin = its bytes) */
} StEntry;

/* A parsed, validated safetensors file. */
typedef struct SafeTensors {
  IrBuffer *file;   /* the whole file (one reference held) */
  StEntry *entries; /* count tensors, in the order of the header */
  int count;        /* entries */
} SafeTensors;

/* Reads the file at path and parses it (st_parse); on failure *st is empty. */
IrStatus st_read(const char *path, SafeTensors *st, DiagSink *d);
/* Parses and validates the bytes of a safetensors file, taking a reference on file (the
 * caller keeps its own). name_for_diag names the file in diagnostics (NULL: none). On failure
 * every problem found is reported, *st is left empty (count 0, no reference) and the result
 * is IR_ERR_INPUT. A "__metadata__" object of strings is checked and otherwise ignored. */
IrStatus st_parse(IrBuffer *file, const char *name_for_diag, SafeTensors *st, DiagSink *d);
/* Returns the entry named name, or NULL. */
const StEntry *st_find(const SafeTensors *st, const char *name);
/* Returns a new reference to the bytes of entry e (a slice of st->file; aligned only as the
 * file happens to place it), or NULL when out of memory. */
IrBuffer *st_data(const SafeTensors *st, const StEntry *e);
/* Drops the file reference and frees the entries; *st is left empty. Safe on an empty *st. */
void st_free(SafeTensors *st);
/* Writes count tensors (names[i] holding tensors[i], in the order given, with consecutive
 * data) to path safely: a failure leaves any existing file untouched. The header is padded
 * with spaces to a multiple of 8 bytes. Tensors must be row-major (no layout) of a dtype
 * safetensors knows; each contributes ir_type_bytes(&type) bytes from its data. Bad
 * arguments (duplicate or over-long names, a layout, an invalid type) are IR_ERR_USAGE. */
IrStatus st_write(const char *path, int count, const char *const *names, const Tensor *tensors,
                  DiagSink *d);

#endif

/* compare.h — one comparison of a computed tensor with its reference, shared by everything
 * that checks numbers against the interpreter: `lathe opt --verify-each` and `--bisect`
 * (passes/pipeline.c) and `lathe run --compare` (tools/lathe.c). */
#ifndef LATHE_IR_COMPARE_H
#define LATHE_IR_COMPARE_H

#include "ir/ir.h"

/* How far a float result may be from its reference: |got - want| <= atol + rtol |want|
 * (equal values, infinities included, and NaN against NaN match; a NaN against a number or
 * an infinity against anything else never does). Other dtypes must match exactly. */
typedef struct IrTolerance {
  double rtol, atol;
} IrTolerance;

/* What a comparison found. */
typedef struct IrDiff {
  int64_t numel;     /* elements compared */
  int64_t bad;       /* elements beyond the tolerance */
  int64_t first_bad; /* index of the first of them; -1 when none */
  double got, want;  /* the values at first_bad */
  double max_abs;    /* largest |got - want| (INFINITY where exactly one of them is NaN) */
  double max_rel;    /* largest |got - want| / |want| over the elements whose want is not 0 */
} IrDiff;

/* Compares got with want, both the physical data of type t, element by element (16-bit
 * floats widened to f32 first). Returns false only when out of memory. */
bool ir_compare(const TensorType *t, const void *got, const void *want, const IrTolerance *tol, IrDiff *out);

#endif

/* interp.h — the reference interpreter: the definition of what every graph computes. */
#ifndef LATHE_IR_INTERP_H
#define LATHE_IR_INTERP_H

#include "ir/op.h"

/* Runs the verified graph g, whose const nodes carry data, on inputs (one per graph input,
 * each in the physical form of its type) and writes outputs (one per graph output, each
 * ir_type_bytes of its type). Returns IR_OK, or reports through d. */
IrStatus ir_interp_run(const Graph *g, const void *const *inputs, void *const *outputs, DiagSink *d);

/* Runs region r of g (a fused body) on plain row-major f32-widened tensors, as a kernel of
 * its fused node: in has r->nparams entries, out r->nresults, already allocated. */
IrStatus ir_interp_region(struct Interp *it, const Region *r, const Tensor *in, Tensor *out);

/* Fills plain (row-major) data of type t with values from the generator state *seed
 * (splitmix64): floats uniform in [-1, 1), integers in [0, 10), bools 0 or 1 (ir/random.c). */
void ir_fill_random(const TensorType *t, void *data, uint64_t *seed);

#endif

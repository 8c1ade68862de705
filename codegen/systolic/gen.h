/* gen.h — a small program generator for the systolic unit: it tiles one convolution (or matrix
 * product) onto an R x C weight-stationary array and emits the instructions, with double
 * buffering of the scratchpad and accumulator and the dependency tokens between the units.
 *
 * Data layout in DRAM: the input is NHWC with batch 1 (h rows of w pixels of c channels), the
 * weights are HWIO ([fh][fw][c][n]: one row of n output channels per (kh, kw, ci)), the output
 * is NHWC (oh * ow pixels of n channels). A matrix product out[M][N] = A[M][K] * B[K][N] is the
 * convolution with h = 1, w = M, c = K, fh = fw = 1, n = N (sys_conv_gemm).
 *
 * Tiling: the reduction index k runs over (kh, kw, ci), the order of the weight rows. For one
 * kh the fw * c inputs of an output pixel are contiguous in NHWC, so a chunk of R consecutive
 * k is filled by one strided LOAD per kh it touches, each into its own columns of the
 * scratchpad rows (CONFIG.load dcol): the im2col matrix is built on the fly, one chunk at a
 * time. Each chunk is one weight tile (LOADW) and one MATMUL over a block of output pixels;
 * blocks hold as many pixels as half the accumulator and half the scratchpad allow; output
 * channels go C at a time.
 * Padding costs nothing to store: the LOAD's valid range makes padded inputs read as zero. */
#ifndef LATHE_CODEGEN_SYSTOLIC_GEN_H
#define LATHE_CODEGEN_SYSTOLIC_GEN_H

#include "ir/base.h"
#include "runtime/systolic/sys.h"

/* A growing array of instruction words. */
typedef struct SysProgram {
  SysWord *words; /* the words (ir_malloc'd) */
  int64_t n;      /* words used */
  int64_t cap;    /* words allocated */
} SysProgram;

/* Starts an empty program. */
void sys_prog_init(SysProgram *p);
/* Frees p's words and empties it. */
void sys_prog_free(SysProgram *p);
/* Encodes and appends i; returns IR_ERR_INPUT when out of memory, IR_ERR_INTERNAL when i does not
 * encode (a generator bug: the message goes to err). */
IrStatus sys_prog_emit(SysProgram *p, const SysInsn *i, char *err, size_t errlen);

/* One convolution layer and where its tensors live. */
typedef struct SysConv {
  int64_t h, w, c;         /* input height, width, channels */
  int64_t fh, fw, n;       /* filter height, width, number of filters (output channels) */
  int64_t sh, sw;          /* strides */
  int64_t pt, pl, pb, pr;  /* zero padding: top, left, bottom, right */
  int type;                /* input and weight type: SYS_T_I8 or SYS_T_BF16 */
  int out_type;            /* output SysType: i8 (requantized), i32, bf16 or f32 */
  int relu;                /* 1: relu on the way out */
  int32_t mult;            /* requantizer multiplier (out_type i8) */
  int shift;               /* requantizer shift */
  int32_t zp;              /* output zero point (out_type i8) */
  uint32_t in_addr;        /* DRAM byte address of the input */
  uint32_t w_addr;         /* DRAM byte address of the weights */
  uint32_t out_addr;       /* DRAM byte address of the output */
} SysConv;

/* Output height and width of cv: (h + pt + pb - fh) / sh + 1 (rounded down), likewise across. */
int64_t sys_conv_oh(const SysConv *cv);
int64_t sys_conv_ow(const SysConv *cv);
/* Bytes of the input, weights and output of cv. */
int64_t sys_conv_in_bytes(const SysConv *cv);
int64_t sys_conv_w_bytes(const SysConv *cv);
int64_t sys_conv_out_bytes(const SysConv *cv);
/* Fills cv as the matrix product out[m][n] = a[m][k] * b[k][n] (no padding, unit strides);
 * addresses, types and requantizer are left for the caller. */
void sys_conv_gemm(SysConv *cv, int64_t m, int64_t k, int64_t n);

/* Appends the instructions computing cv on machine p to prog: CONFIGs, then the tiled loads,
 * weight loads, matmuls and stores, with balanced tokens (none is left over, so several layers
 * can follow one another, separated by SYNC). No HALT. On a layer that does not fit the
 * machine returns IR_ERR_INPUT with a message in err. */
IrStatus sys_gen_conv(const SysParams *p, const SysConv *cv, SysProgram *prog, char *err, size_t errlen);

#endif

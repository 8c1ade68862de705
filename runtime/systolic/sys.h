/* sys.h — the systolic matrix unit's simulator: one code base for function and time. A machine
 * is created once with its sizes (array R x C, scratchpad, accumulator, DRAM, bandwidth) and
 * allocates every memory then; running a program allocates nothing. Runs stop with a status
 * and a message, never by exiting: bad instructions, addresses out of range, tokens that never
 * come, programs without HALT and programs past the cycle limit are all reported as
 * IR_ERR_INPUT with the instruction's index. docs/isa.md defines what is simulated. */
#ifndef LATHE_RUNTIME_SYSTOLIC_SYS_H
#define LATHE_RUNTIME_SYSTOLIC_SYS_H

#include "ir/base.h"
#include "runtime/systolic/isa.h"

/* The machine's parameters, fixed when it is created. */
typedef struct SysParams {
  int64_t rows;         /* R: rows of the array (the depth of a weight tile, the K of one pass) */
  int64_t cols;         /* C: columns of the array (outputs per input row) */
  int64_t spad_rows;    /* scratchpad rows; each holds max(R, C) elements of the input type */
  int64_t acc_rows;     /* accumulator rows; each holds C 32-bit elements */
  int64_t dram_bytes;   /* bytes of DRAM */
  int64_t dram_bw;      /* DRAM bytes per cycle (shared by loads and stores), at least 1 */
  int64_t dram_latency; /* cycles from a transfer's last byte on the bus to its data being in place */
  int64_t max_cycles;   /* a run that goes past this cycle stops with an error */
  int64_t token_depth;  /* tokens each of the four dependency queues holds */
  bool functional;      /* true: move and compute data; false: time only (memories untouched) */
} SysParams;

/* Fills p with the defaults: a 16 x 16 array, 256 KiB scratchpad, 64 KiB accumulator, 64 MiB
 * DRAM at 32 bytes per cycle and 100 cycles latency, a limit of 2^40 cycles, queues of 64
 * tokens, functional. */
void sys_params_default(SysParams *p);

/* Why the matrix array spent a cycle as it did (the categories of Table 3 of the TPU v1 paper).
 * Every cycle of a run falls in exactly one. */
typedef enum {
  SYS_C_BUSY = 0,      /* input rows streaming through the array (MATMUL) */
  SYS_C_WEIGHT = 1,    /* waiting for weights: LOADW shifting or its data not yet loaded */
  SYS_C_INPUT = 2,     /* waiting for input rows: a MATMUL or ALU waiting for the load unit */
  SYS_C_DEP = 3,       /* waiting on a dependency: the store unit, results in flight (RAW), SYNC */
  SYS_C_NONMATRIX = 4, /* the compute unit busy with other work (ALU, CONFIG), issue, and the tail */
  SYS_C_COUNT
} SysCause;

/* The names of SysCause values, for reports. */
extern const char *const sys_cause_names[SYS_C_COUNT];

/* What a run did. */
typedef struct SysStats {
  int64_t cycles;                /* cycles from the first instruction to the last unit's finish */
  int64_t by_cause[SYS_C_COUNT]; /* the cycles split by cause; they sum to cycles */
  int64_t useful_macs;           /* multiply-accumulates on weights a LOADW actually loaded */
  int64_t insns[SYS_OP_COUNT];   /* instructions run, by opcode */
  int64_t dram_read;             /* bytes read from DRAM (zero padding is not read) */
  int64_t dram_write;            /* bytes written to DRAM */
  int64_t spad_read;             /* scratchpad bytes read (LOADW, MATMUL) */
  int64_t spad_write;            /* scratchpad bytes written (LOAD) */
  int64_t acc_read;              /* accumulator bytes read (MATMUL add, ALU, STORE) */
  int64_t acc_write;             /* accumulator bytes written (LOAD, MATMUL, ALU) */
  int64_t unit_busy[3];          /* cycles the load, compute and store units were occupied */
} SysStats;

/* Utilization of the array: useful MACs / (cycles * R * C), in [0, 1]. */
double sys_utilization(const SysStats *s, const SysParams *p);

typedef struct SysMachine SysMachine;

/* Creates a machine with params p and zeroed memories. On failure returns IR_ERR_USAGE (bad
 * parameters) or IR_ERR_INPUT (out of memory), *out NULL, and a message in err[0..errlen). */
IrStatus sys_create(const SysParams *p, SysMachine **out, char *err, size_t errlen);
/* Frees m and its memories (m may be NULL). */
void sys_destroy(SysMachine *m);
/* The machine's parameters, as created. */
const SysParams *sys_params(const SysMachine *m);
/* The machine's DRAM: sys_params(m)->dram_bytes bytes, for binding inputs and reading outputs. */
uint8_t *sys_dram(SysMachine *m);

/* Runs the n words of prog from a reset state (configuration registers, weights, tokens and
 * clocks; memories keep their contents) and fills *stats. On failure returns IR_ERR_INPUT and
 * sys_error / sys_error_pc say what and where; *stats then holds the counts up to the failure. */
IrStatus sys_run(SysMachine *m, const SysWord *prog, int64_t n, SysStats *stats);
/* The message of the last failed run ("" after a success). */
const char *sys_error(const SysMachine *m);
/* The index of the instruction the last failure is about, or -1 when it is about none. */
int64_t sys_error_pc(const SysMachine *m);

#endif

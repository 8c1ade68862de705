/* internal.h — the machine's state, shared by the scheduler and timing model (sim.c) and the
 * functional model (exec.c). Not part of the runtime's interface. */
#ifndef LATHE_RUNTIME_SYSTOLIC_INTERNAL_H
#define LATHE_RUNTIME_SYSTOLIC_INTERNAL_H

#include "runtime/systolic/sys.h"

/* The four dependency queues: from the unit before the arrow to the unit after it. */
enum { SYS_Q_L2C = 0, SYS_Q_C2L = 1, SYS_Q_C2S = 2, SYS_Q_S2C = 3, SYS_NQ = 4 };

/* One weight tile of the array: R x C weights, of which the first k rows and c columns were
 * loaded (the rest are zero). */
typedef struct SysTile {
  int32_t *wi;  /* R * C weights, int8 mode (row-major: weight[k][c] at k * C + c) */
  float *wf;    /* R * C weights, bf16 mode (widened to f32) */
  int64_t k;    /* rows loaded */
  int64_t c;    /* columns loaded */
  int type;     /* SYS_T_I8 or SYS_T_BF16: the compute type when it was loaded; -1: never loaded */
} SysTile;

/* The registers CONFIG writes. */
typedef struct SysRegs {
  int64_t ld_stride; /* load: elements between DRAM rows */
  int64_t ld_limit;  /* load: elements from the base that are valid */
  int64_t ld_dcol;   /* load: first destination column */
  int64_t st_stride; /* store: elements between DRAM rows */
  int64_t st_type;   /* store: output SysType */
  int64_t st_act;    /* store: 0 none, 1 relu */
  int64_t rq_mult;   /* requantizer multiplier */
  int64_t rq_shift;  /* requantizer shift */
  int64_t rq_zp;     /* requantizer zero point */
  int64_t rq_lo;     /* requantizer lowest output */
  int64_t rq_hi;     /* requantizer highest output */
  int64_t ex_type;   /* compute: SYS_T_I8 or SYS_T_BF16 */
} SysRegs;

/* The clocks of the timing model, in cycles from the start of the run. */
typedef struct SysClock {
  int64_t unit[3];     /* when each unit can start its next instruction */
  int64_t dram_free;   /* when the DRAM bus is next free */
  int64_t arr_free;    /* when the array's input port is free (the last MATMUL's stream end) */
  int64_t acc_done;    /* when every issued MATMUL's results are in the accumulator */
  int64_t shift_free;  /* when the weight shifter is free (the last LOADW's end) */
  int64_t acct;        /* cycles before this are attributed to a SysCause */
  int64_t end;         /* the latest completion of anything so far */
} SysClock;

struct SysMachine {
  SysParams p;         /* parameters as created */
  int64_t width;       /* scratchpad row width in elements: max(R, C) */
  uint16_t *spad;      /* spad_rows * width slots (an int8 sign-extended, or bf16 bits) */
  uint32_t *acc;       /* acc_rows * C elements (int32 or f32 bits) */
  uint8_t *dram;       /* dram_bytes bytes */
  float *psum;         /* C floats of scratch for bf16 partial sums */
  SysTile tile[2];     /* the two weight buffers */
  int active;          /* index of the active tile; the other is the shadow */
  bool shadow_full;    /* a LOADW filled the shadow since the last swap */
  int64_t *tok[SYS_NQ];        /* each queue's ring of token times (token_depth entries) */
  int64_t tok_head[SYS_NQ];    /* index of each queue's oldest token */
  int64_t tok_count[SYS_NQ];   /* tokens in each queue */
  SysRegs regs;        /* configuration registers */
  SysClock clk;        /* timing state */
  SysStats st;         /* counts of the current run */
  char err[512];       /* the last failure's message */
  int64_t err_pc;      /* the last failure's instruction, or -1 */
};

/* Reports a failure of instruction pc: formats the message into m->err; returns IR_ERR_INPUT. */
IrStatus sys_fail(SysMachine *m, int64_t pc, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* Checks instruction i against the machine's sizes (rows, columns, memory ranges that do not
 * depend on registers); returns NULL or a static description of the problem. */
const char *sys_check_static(const SysMachine *m, const SysInsn *i);

/* The functional model: each applies instruction i to the memories and registers. The caller
 * has checked every address. exec_matmul fails (returns false, reason in *why) only for a swap
 * with no loaded shadow or weights of another type. */
void sys_exec_config(SysMachine *m, const SysInsn *i);
void sys_exec_load(SysMachine *m, const SysInsn *i);
void sys_exec_loadw(SysMachine *m, const SysInsn *i);
bool sys_exec_matmul(SysMachine *m, const SysInsn *i, const char **why);
void sys_exec_alu(SysMachine *m, const SysInsn *i);
void sys_exec_store(SysMachine *m, const SysInsn *i);

#endif

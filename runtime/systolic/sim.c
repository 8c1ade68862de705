/* sim.c — the machine, its scheduler and its timing model. The three units (load, compute,
 * store) each run their own instructions in program order; dependency tokens and SYNC order
 * them against each other. The scheduler repeatedly runs, of the units that can go on, the one
 * whose next instruction starts earliest; running an instruction means checking it, applying
 * its effect (exec.c) and advancing the clocks. docs/isa.md states every timing rule used here. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "runtime/systolic/internal.h"

const char *const sys_cause_names[SYS_C_COUNT] = {"matrix busy", "weight load/shift", "input stall",
                                                  "dependency stall", "non-matrix"};

void sys_params_default(SysParams *p) {
  memset(p, 0, sizeof *p);
  p->rows = 16;
  p->cols = 16;
  p->spad_rows = 256 * 1024 / 16;
  p->acc_rows = 64 * 1024 / (16 * 4);
  p->dram_bytes = 64 << 20;
  p->dram_bw = 32;
  p->dram_latency = 100;
  p->max_cycles = (int64_t)1 << 40;
  p->token_depth = 64;
  p->functional = true;
}

double sys_utilization(const SysStats *s, const SysParams *p) {
  if (s->cycles <= 0) return 0;
  return (double)s->useful_macs / ((double)s->cycles * (double)p->rows * (double)p->cols);
}

IrStatus sys_fail(SysMachine *m, int64_t pc, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(m->err, sizeof m->err, fmt, ap);
  va_end(ap);
  m->err_pc = pc;
  return IR_ERR_INPUT;
}

const SysParams *sys_params(const SysMachine *m) { return &m->p; }
uint8_t *sys_dram(SysMachine *m) { return m->dram; }
const char *sys_error(const SysMachine *m) { return m->err; }
int64_t sys_error_pc(const SysMachine *m) { return m->err_pc; }

/* ---- creation ----------------------------------------------------------------------------------- */

/* Returns a message when p is not a machine that can be built, else NULL. */
static const char *params_problem(const SysParams *p) {
  if (p->rows < 1 || p->cols < 1 || p->rows > 4095 || p->cols > 4095) return "the array needs 1 to 4095 rows and columns";
  if (p->spad_rows < 1 || p->spad_rows > (1 << 20)) return "the scratchpad needs 1 to 1048576 rows";
  if (p->acc_rows < 1 || p->acc_rows > (1 << 20)) return "the accumulator needs 1 to 1048576 rows";
  if (p->dram_bytes < 1 || p->dram_bytes > ((int64_t)1 << 32)) return "the DRAM needs 1 byte to 4 GiB";
  if (p->dram_bw < 1) return "the DRAM bandwidth must be at least 1 byte per cycle";
  if (p->dram_latency < 0) return "the DRAM latency cannot be negative";
  if (p->max_cycles < 1) return "the cycle limit must be at least 1";
  if (p->token_depth < 1 || p->token_depth > (1 << 20)) return "token queues need a depth of 1 to 1048576";
  return NULL;
}

IrStatus sys_create(const SysParams *p, SysMachine **out, char *err, size_t errlen) {
  *out = NULL;
  const char *why = params_problem(p);
  if (why) {
    snprintf(err, errlen, "%s", why);
    return IR_ERR_USAGE;
  }
  SysMachine *m = ir_calloc(1, sizeof *m);
  if (!m) { snprintf(err, errlen, "out of memory"); return IR_ERR_INPUT; }
  m->p = *p;
  m->width = p->rows > p->cols ? p->rows : p->cols;
  m->spad = ir_calloc((size_t)(p->spad_rows * m->width), sizeof *m->spad);
  m->acc = ir_calloc((size_t)(p->acc_rows * p->cols), sizeof *m->acc);
  m->dram = ir_calloc((size_t)p->dram_bytes, 1);
  m->psum = ir_calloc((size_t)p->cols, sizeof *m->psum);
  bool ok = m->spad && m->acc && m->dram && m->psum;
  for (int t = 0; t < 2; t++) {
    m->tile[t].wi = ir_calloc((size_t)(p->rows * p->cols), sizeof *m->tile[t].wi);
    m->tile[t].wf = ir_calloc((size_t)(p->rows * p->cols), sizeof *m->tile[t].wf);
    ok = ok && m->tile[t].wi && m->tile[t].wf;
  }
  for (int q = 0; q < SYS_NQ; q++) {
    m->tok[q] = ir_calloc((size_t)p->token_depth, sizeof *m->tok[q]);
    ok = ok && m->tok[q];
  }
  if (!ok) {
    sys_destroy(m);
    snprintf(err, errlen, "out of memory for the machine's memories");
    return IR_ERR_INPUT;
  }
  *out = m;
  return IR_OK;
}

void sys_destroy(SysMachine *m) {
  if (!m) return;
  ir_free(m->spad);
  ir_free(m->acc);
  ir_free(m->dram);
  ir_free(m->psum);
  for (int t = 0; t < 2; t++) {
    ir_free(m->tile[t].wi);
    ir_free(m->tile[t].wf);
  }
  for (int q = 0; q < SYS_NQ; q++) ir_free(m->tok[q]);
  ir_free(m);
}

/* Puts m in the state a run starts from: registers, weights, tokens, clocks and counts cleared. */
static void machine_reset(SysMachine *m) {
  memset(&m->regs, 0, sizeof m->regs);
  memset(&m->clk, 0, sizeof m->clk);
  memset(&m->st, 0, sizeof m->st);
  for (int t = 0; t < 2; t++) {
    size_t n = (size_t)(m->p.rows * m->p.cols);
    memset(m->tile[t].wi, 0, n * sizeof *m->tile[t].wi);
    memset(m->tile[t].wf, 0, n * sizeof *m->tile[t].wf);
    m->tile[t].k = m->tile[t].c = 0;
    m->tile[t].type = -1;
  }
  m->active = 0;
  m->shadow_full = false;
  memset(m->tok_head, 0, sizeof m->tok_head);
  memset(m->tok_count, 0, sizeof m->tok_count);
  m->err[0] = 0;
  m->err_pc = -1;
}

/* ---- static checks -------------------------------------------------------------------------- */

/* True when rows [first, first + n) lie within a memory of size rows. */
static bool rows_fit(int64_t first, int64_t n, int64_t size) { return first >= 0 && n >= 0 && first + n <= size; }

const char *sys_check_static(const SysMachine *m, const SysInsn *i) {
  const SysParams *p = &m->p;
  switch (i->op) {
  case SYS_OP_CONFIG:
    if (i->sub == SYS_CFG_REQUANT && i->lo > i->hi) return "config.requant needs lo <= hi";
    return NULL;
  case SYS_OP_LOAD:
    if (i->to == 0) {
      if (i->type != SYS_T_I8 && i->type != SYS_T_BF16) return "a load to the scratchpad carries i8 or bf16";
      if (!rows_fit(i->row, i->rows, p->spad_rows)) return "scratchpad rows out of range";
      if (i->cols > m->width) return "more columns than a scratchpad row holds (max(R, C))";
    } else {
      if (i->type != SYS_T_I32 && i->type != SYS_T_F32) return "a load to the accumulator carries i32 or f32";
      if (!rows_fit(i->row, i->rows, p->acc_rows)) return "accumulator rows out of range";
      if (i->cols > p->cols) return "more columns than an accumulator row holds (C)";
    }
    return NULL;
  case SYS_OP_LOADW:
    if (i->rows > p->rows) return "a weight tile has at most R rows";
    if (i->cols > p->cols) return "a weight tile has at most C columns";
    if (!rows_fit(i->row, i->rows, p->spad_rows)) return "scratchpad rows out of range";
    return NULL;
  case SYS_OP_MATMUL:
    if (!rows_fit(i->row, i->rows, p->spad_rows)) return "scratchpad rows out of range";
    if (!rows_fit(i->acc, i->rows, p->acc_rows)) return "accumulator rows out of range";
    return NULL;
  case SYS_OP_ALU:
    if (!rows_fit(i->row, i->rows, p->acc_rows) || !rows_fit(i->acc, i->rows, p->acc_rows)) return "accumulator rows out of range";
    if ((i->sub == SYS_ALU_ADD || i->sub == SYS_ALU_MAX) && !rows_fit(i->src2, i->rows, p->acc_rows)) return "accumulator rows out of range";
    if (i->sub == SYS_ALU_SHR && (i->imm < 0 || i->imm > 31)) return "alu.shr shifts by 0 to 31";
    return NULL;
  case SYS_OP_STORE:
    if (!rows_fit(i->row, i->rows, p->acc_rows)) return "accumulator rows out of range";
    if (i->cols > p->cols) return "more columns than an accumulator row holds (C)";
    return NULL;
  default: return NULL;
  }
}

/* Decodes and checks word pc; on failure reports it and returns IR_ERR_INPUT. */
static IrStatus decode_checked(SysMachine *m, const SysWord *prog, int64_t pc, SysInsn *i) {
  const char *why;
  if (!sys_decode(&prog[pc], i, &why)) return sys_fail(m, pc, "instruction %lld: %s", (long long)pc, why);
  why = sys_check_static(m, i);
  if (why) return sys_fail(m, pc, "instruction %lld (%s): %s", (long long)pc, sys_form_of(i->op, i->sub)->mnemonic, why);
  return IR_OK;
}

/* Checks every instruction before the first HALT; sets *halt to its index. */
static IrStatus check_program(SysMachine *m, const SysWord *prog, int64_t n, int64_t *halt) {
  *halt = -1;
  for (int64_t pc = 0; pc < n; pc++) {
    SysInsn i;
    IrStatus st = decode_checked(m, prog, pc, &i);
    if (st != IR_OK) return st;
    if (i.op == SYS_OP_HALT) { *halt = pc; return IR_OK; }
  }
  return sys_fail(m, n ? n - 1 : -1, "the program ends without halt (%lld instructions)", (long long)n);
}

/* ---- tokens --------------------------------------------------------------------------------- */

/* The queue a unit's dependency flag refers to (flag one of SYS_DEP_*), or -1 for none. */
static int dep_queue(SysUnit u, unsigned flag) {
  switch (u) {
  case SYS_UNIT_LOAD: return flag == SYS_DEP_WAIT_NEXT ? SYS_Q_C2L : flag == SYS_DEP_SIGNAL_NEXT ? SYS_Q_L2C : -1;
  case SYS_UNIT_COMPUTE:
    return flag == SYS_DEP_WAIT_PREV ? SYS_Q_L2C : flag == SYS_DEP_WAIT_NEXT ? SYS_Q_S2C
         : flag == SYS_DEP_SIGNAL_PREV ? SYS_Q_C2L : SYS_Q_C2S;
  case SYS_UNIT_STORE: return flag == SYS_DEP_WAIT_PREV ? SYS_Q_C2S : flag == SYS_DEP_SIGNAL_PREV ? SYS_Q_S2C : -1;
  default: return -1;
  }
}

static const char *const queue_names[SYS_NQ] = {"load->compute", "compute->load", "compute->store", "store->compute"};

/* True when every token instruction i (of unit u) waits for is there. */
static bool tokens_ready(const SysMachine *m, SysUnit u, const SysInsn *i) {
  for (unsigned f = SYS_DEP_WAIT_PREV; f <= SYS_DEP_WAIT_NEXT; f <<= 1)
    if ((i->deps & f) && m->tok_count[dep_queue(u, f)] == 0) return false;
  return true;
}

/* The time of the oldest token in queue q (which is not empty). */
static int64_t token_front(const SysMachine *m, int q) { return m->tok[q][m->tok_head[q]]; }

/* The latest time among the tokens instruction i waits for (0 when none); *q_out gets the queue
 * of that token (-1 when none). */
static int64_t token_time(const SysMachine *m, SysUnit u, const SysInsn *i, int *q_out) {
  int64_t t = 0;
  *q_out = -1;
  for (unsigned f = SYS_DEP_WAIT_PREV; f <= SYS_DEP_WAIT_NEXT; f <<= 1) {
    if (!(i->deps & f)) continue;
    int q = dep_queue(u, f);
    if (*q_out < 0 || token_front(m, q) >= t) { t = token_front(m, q); *q_out = q; }
  }
  return t;
}

/* Takes the tokens instruction i waits for. */
static void tokens_take(SysMachine *m, SysUnit u, const SysInsn *i) {
  for (unsigned f = SYS_DEP_WAIT_PREV; f <= SYS_DEP_WAIT_NEXT; f <<= 1) {
    if (!(i->deps & f)) continue;
    int q = dep_queue(u, f);
    m->tok_head[q] = (m->tok_head[q] + 1) % m->p.token_depth;
    m->tok_count[q]--;
  }
}

/* Sends the token of flag f (if i carries it) at time t; fails when the queue is full. */
static IrStatus token_send(SysMachine *m, int64_t pc, SysUnit u, const SysInsn *i, unsigned f, int64_t t) {
  if (!(i->deps & f)) return IR_OK;
  int q = dep_queue(u, f);
  if (m->tok_count[q] == m->p.token_depth)
    return sys_fail(m, pc, "instruction %lld: token overflow: the %s queue already holds %lld tokens", (long long)pc,
                    queue_names[q], (long long)m->p.token_depth);
  m->tok[q][(m->tok_head[q] + m->tok_count[q]) % m->p.token_depth] = t;
  m->tok_count[q]++;
  return IR_OK;
}

/* ---- timing ----------------------------------------------------------------------------------- */

/* Returns the larger of a and b. */
static int64_t max64(int64_t a, int64_t b) { return a > b ? a : b; }

/* Ceiling of a / b for a >= 0, b > 0. */
static int64_t ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }

/* Occupies the DRAM bus with bytes bytes from time t on; returns when the last byte has passed. */
static int64_t bus_transfer(SysMachine *m, int64_t t, int64_t bytes) {
  if (bytes <= 0) return t;
  int64_t start = max64(t, m->clk.dram_free);
  m->clk.dram_free = start + ceil_div(bytes, m->p.dram_bw);
  return m->clk.dram_free;
}

/* Attributes the array's idle cycles before t to cause c. */
static void attribute(SysMachine *m, int64_t t, SysCause c) {
  if (t > m->clk.acct) {
    m->st.by_cause[c] += t - m->clk.acct;
    m->clk.acct = t;
  }
}

/* The earliest start of compute instruction i and why it cannot start earlier (*cause). */
static int64_t compute_start(const SysMachine *m, const SysInsn *i, SysCause *cause) {
  const SysClock *k = &m->clk;
  int64_t s = k->unit[SYS_UNIT_COMPUTE];
  *cause = SYS_C_NONMATRIX;
  /* Later constraints win ties: the most specific reason is named. */
  if (i->op == SYS_OP_ALU && k->acc_done >= s) { s = k->acc_done; *cause = SYS_C_DEP; }
  if (i->op == SYS_OP_LOADW && k->shift_free >= s) { s = k->shift_free; *cause = SYS_C_WEIGHT; }
  if (i->op == SYS_OP_MATMUL && k->arr_free >= s) { s = k->arr_free; *cause = SYS_C_BUSY; }
  if (i->op == SYS_OP_MATMUL && i->swap && k->shift_free >= s) { s = k->shift_free; *cause = SYS_C_WEIGHT; }
  int q;
  int64_t t = token_time(m, SYS_UNIT_COMPUTE, i, &q);
  if (q >= 0 && t >= s) {
    s = t;
    *cause = q == SYS_Q_S2C ? SYS_C_DEP : i->op == SYS_OP_LOADW ? SYS_C_WEIGHT : SYS_C_INPUT;
  }
  return s;
}

/* The earliest start of instruction i of unit u. */
static int64_t start_time(const SysMachine *m, SysUnit u, const SysInsn *i) {
  if (u == SYS_UNIT_COMPUTE) {
    SysCause c;
    return compute_start(m, i, &c);
  }
  int q;
  return max64(m->clk.unit[u], token_time(m, u, i, &q));
}

/* Checks that bytes [first, end) lie in DRAM. */
static bool dram_fits(const SysMachine *m, int64_t first, int64_t end) {
  return first >= 0 && end <= m->p.dram_bytes && first <= end;
}

/* Counts the DRAM bytes a LOAD reads (elements inside its valid range) and checks that they lie in
 * DRAM; returns -1 (after reporting) when some do not. */
static int64_t load_bytes(SysMachine *m, int64_t pc, const SysInsn *i) {
  int es = sys_type_size((int)i->type);
  int64_t total = 0;
  for (int64_t r = 0; r < i->rows; r++) {
    int64_t start = i->col0 + r * m->regs.ld_stride;
    int64_t lo = max64(start, 0), hi = start + i->cols < m->regs.ld_limit ? start + i->cols : m->regs.ld_limit;
    if (lo >= hi) continue;
    if (!dram_fits(m, i->dram + lo * es, i->dram + hi * es)) {
      sys_fail(m, pc, "instruction %lld (load): row %lld reads DRAM bytes [%lld, %lld), outside the %lld-byte DRAM",
               (long long)pc, (long long)r, (long long)(i->dram + lo * es), (long long)(i->dram + hi * es),
               (long long)m->p.dram_bytes);
      return -1;
    }
    total += (hi - lo) * es;
  }
  return total;
}

/* Runs a LOAD or a load CONFIG starting at s. */
static IrStatus run_load_unit(SysMachine *m, int64_t pc, const SysInsn *i, int64_t s) {
  SysClock *k = &m->clk;
  int64_t done = s + 1, free_at = s + 1;
  if (i->op == SYS_OP_CONFIG) {
    sys_exec_config(m, i);
  } else {
    int64_t width = i->to == 1 ? m->p.cols : m->width;
    if (m->regs.ld_dcol + i->cols > width)
      return sys_fail(m, pc, "instruction %lld (load): columns [%lld, %lld) do not fit a %lld-element row", (long long)pc,
                      (long long)m->regs.ld_dcol, (long long)(m->regs.ld_dcol + i->cols), (long long)width);
    int64_t bytes = load_bytes(m, pc, i);
    if (bytes < 0) return IR_ERR_INPUT;
    int64_t bus_end = bus_transfer(m, s, bytes);
    free_at = max64(s + 1, bus_end);
    done = max64(s + 1, bytes > 0 ? bus_end + m->p.dram_latency : 0);
    m->st.dram_read += bytes;
    int64_t written = i->rows * i->cols * sys_type_size((int)i->type);
    if (i->to == 1) m->st.acc_write += written;
    else m->st.spad_write += written;
    sys_exec_load(m, i);
  }
  m->st.unit_busy[SYS_UNIT_LOAD] += free_at - s;
  k->unit[SYS_UNIT_LOAD] = free_at;
  k->end = max64(k->end, done);
  return token_send(m, pc, SYS_UNIT_LOAD, i, SYS_DEP_SIGNAL_NEXT, done);
}

/* Runs a STORE or a store CONFIG starting at s. */
static IrStatus run_store_unit(SysMachine *m, int64_t pc, const SysInsn *i, int64_t s) {
  SysClock *k = &m->clk;
  int64_t done = s + 1;
  if (i->op == SYS_OP_CONFIG) {
    sys_exec_config(m, i);
  } else {
    int es = sys_type_size((int)m->regs.st_type);
    int64_t bytes = i->rows * i->cols * es;
    if (i->rows > 0 && i->cols > 0) {
      int64_t last = i->dram + (i->rows - 1) * m->regs.st_stride * es;
      if (!dram_fits(m, i->dram, i->dram + i->cols * es) || !dram_fits(m, last, last + i->cols * es))
        return sys_fail(m, pc, "instruction %lld (store): rows reach DRAM bytes [%lld, %lld), outside the %lld-byte DRAM",
                        (long long)pc, (long long)i->dram, (long long)(last + i->cols * es), (long long)m->p.dram_bytes);
    }
    int64_t bus_end = bus_transfer(m, s, bytes);
    done = max64(s + max64(i->rows, 1), bus_end);
    k->end = max64(k->end, bytes > 0 ? bus_end + m->p.dram_latency : done);
    m->st.dram_write += bytes;
    m->st.acc_read += i->rows * i->cols * 4;
    sys_exec_store(m, i);
  }
  m->st.unit_busy[SYS_UNIT_STORE] += done - s;
  k->unit[SYS_UNIT_STORE] = done;
  k->end = max64(k->end, done);
  return token_send(m, pc, SYS_UNIT_STORE, i, SYS_DEP_SIGNAL_PREV, done);
}

/* Runs a compute-unit instruction: attributes the array's wait, applies it and advances the
 * clocks; *to_load and *to_store get the times its tokens are sent. */
static IrStatus run_compute_body(SysMachine *m, int64_t pc, const SysInsn *i, int64_t s, int64_t *to_load,
                                 int64_t *to_store) {
  SysClock *k = &m->clk;
  const SysParams *p = &m->p;
  int64_t busy = 1;
  switch (i->op) {
  case SYS_OP_LOADW:
    sys_exec_loadw(m, i);
    k->shift_free = s + p->rows;
    *to_load = *to_store = k->shift_free;
    m->st.spad_read += i->rows * p->cols * sys_type_size((int)m->regs.ex_type);
    k->unit[SYS_UNIT_COMPUTE] = s + 1;
    break;
  case SYS_OP_MATMUL: {
    const char *why;
    if (!sys_exec_matmul(m, i, &why)) return sys_fail(m, pc, "instruction %lld (matmul): %s", (long long)pc, why);
    const SysTile *t = &m->tile[m->active];
    m->st.useful_macs += i->rows * t->k * t->c;
    m->st.by_cause[SYS_C_BUSY] += i->rows;
    k->acct = s + i->rows;
    k->arr_free = s + i->rows;
    k->acc_done = max64(k->acc_done, s + i->rows + p->rows + p->cols - 1);
    *to_load = k->arr_free;
    *to_store = k->acc_done;
    busy = max64(i->rows, 1);
    m->st.spad_read += i->rows * p->rows * sys_type_size((int)m->regs.ex_type);
    m->st.acc_write += i->rows * p->cols * 4;
    if (i->mode == 1) m->st.acc_read += i->rows * p->cols * 4;
    k->unit[SYS_UNIT_COMPUTE] = s + 1;
    k->end = max64(k->end, k->acc_done);
    break;
  }
  case SYS_OP_ALU: {
    sys_exec_alu(m, i);
    bool two = i->sub == SYS_ALU_ADD || i->sub == SYS_ALU_MAX;
    busy = max64(i->rows, 1);
    m->st.by_cause[SYS_C_NONMATRIX] += busy;
    k->acct = s + busy;
    m->st.acc_read += i->rows * p->cols * 4 * (two ? 2 : 1);
    m->st.acc_write += i->rows * p->cols * 4;
    k->unit[SYS_UNIT_COMPUTE] = *to_load = *to_store = s + busy;
    break;
  }
  default: /* CONFIG */
    sys_exec_config(m, i);
    m->st.by_cause[SYS_C_NONMATRIX] += 1;
    k->acct = s + 1;
    k->unit[SYS_UNIT_COMPUTE] = *to_load = *to_store = s + 1;
    break;
  }
  m->st.unit_busy[SYS_UNIT_COMPUTE] += busy;
  k->end = max64(k->end, max64(*to_load, *to_store));
  return IR_OK;
}

/* Runs compute-unit instruction i, starting as early as its constraints allow. */
static IrStatus run_compute_unit(SysMachine *m, int64_t pc, const SysInsn *i) {
  SysCause cause;
  int64_t s = compute_start(m, i, &cause);
  attribute(m, s, cause == SYS_C_BUSY ? SYS_C_NONMATRIX : cause);
  int64_t to_load = s + 1, to_store = s + 1;
  IrStatus st = run_compute_body(m, pc, i, s, &to_load, &to_store);
  if (st == IR_OK) st = token_send(m, pc, SYS_UNIT_COMPUTE, i, SYS_DEP_SIGNAL_PREV, to_load);
  if (st == IR_OK) st = token_send(m, pc, SYS_UNIT_COMPUTE, i, SYS_DEP_SIGNAL_NEXT, to_store);
  return st;
}

/* ---- the scheduler ------------------------------------------------------------------------------- */

/* Where each unit is in the program. */
typedef struct Cursor {
  int64_t pc[3];      /* index of the unit's next instruction (or SYNC), halt when done */
  SysInsn insn[3];    /* that instruction, decoded */
  bool ready[3];      /* insn[u] holds the instruction at pc[u] */
} Cursor;

/* The unit of the word at pc: its opcode's unit, or for CONFIG its kind's unit. */
static SysUnit word_unit(const SysWord *w) {
  int op = (int)sys_word_bits(w, 0, 5);
  if (op == SYS_OP_CONFIG) {
    int kind = (int)sys_word_bits(w, SYS_SUB_LO, SYS_SUB_WIDTH);
    return kind == SYS_CFG_LOAD ? SYS_UNIT_LOAD : kind == SYS_CFG_COMPUTE ? SYS_UNIT_COMPUTE : SYS_UNIT_STORE;
  }
  if (op == SYS_OP_LOAD) return SYS_UNIT_LOAD;
  if (op == SYS_OP_STORE) return SYS_UNIT_STORE;
  if (op == SYS_OP_SYNC || op == SYS_OP_HALT) return SYS_UNIT_ALL;
  return SYS_UNIT_COMPUTE;
}

/* Moves unit u's cursor to its next instruction or SYNC before halt; false when it has none. */
static bool cursor_fill(Cursor *c, const SysWord *prog, int64_t halt, SysUnit u) {
  if (c->ready[u]) return true;
  int64_t pc = c->pc[u];
  while (pc < halt) {
    SysUnit wu = word_unit(&prog[pc]);
    if (wu == u || wu == SYS_UNIT_ALL) break;
    pc++;
  }
  c->pc[u] = pc;
  if (pc >= halt) return false;
  const char *why;
  sys_decode(&prog[pc], &c->insn[u], &why); /* checked before the run */
  c->ready[u] = true;
  return true;
}

/* Releases a SYNC every unit has reached: all work so far finishes, then every unit goes on. */
static void run_sync(SysMachine *m, Cursor *c) {
  SysClock *k = &m->clk;
  int64_t t = k->end;
  for (int u = 0; u < 3; u++) t = max64(t, k->unit[u]);
  attribute(m, t, SYS_C_DEP);
  for (int u = 0; u < 3; u++) {
    k->unit[u] = t;
    c->pc[u]++;
    c->ready[u] = false;
  }
  k->end = t;
  m->st.insns[SYS_OP_SYNC]++;
}

/* Reports that no unit can go on: the earliest blocked instruction waits for a token no one sends. */
static IrStatus report_deadlock(SysMachine *m, const Cursor *c, const bool *live) {
  int64_t best = -1;
  int bu = 0;
  for (int u = 0; u < 3; u++)
    if (live[u] && c->insn[u].op != SYS_OP_SYNC && (best < 0 || c->pc[u] < best)) { best = c->pc[u]; bu = u; }
  if (best < 0) return sys_fail(m, -1, "the units wait at different syncs");
  const SysInsn *i = &c->insn[bu];
  int q = -1;
  for (unsigned f = SYS_DEP_WAIT_PREV; f <= SYS_DEP_WAIT_NEXT; f <<= 1)
    if ((i->deps & f) && m->tok_count[dep_queue((SysUnit)bu, f)] == 0) q = dep_queue((SysUnit)bu, f);
  return sys_fail(m, best, "instruction %lld (%s): token underflow: it waits for a token on the %s queue, and no instruction left will send one",
                  (long long)best, sys_form_of(i->op, i->sub)->mnemonic, q >= 0 ? queue_names[q] : "?");
}

/* Runs unit u's current instruction (it can start). */
static IrStatus run_one(SysMachine *m, Cursor *c, SysUnit u) {
  const SysInsn *i = &c->insn[u];
  int64_t pc = c->pc[u];
  IrStatus st;
  if (u == SYS_UNIT_COMPUTE) {
    st = run_compute_unit(m, pc, i);
  } else {
    int64_t s = start_time(m, u, i);
    st = u == SYS_UNIT_LOAD ? run_load_unit(m, pc, i, s) : run_store_unit(m, pc, i, s);
  }
  tokens_take(m, u, i);
  if (st != IR_OK) return st;
  m->st.insns[i->op]++;
  if (m->clk.end > m->p.max_cycles)
    return sys_fail(m, pc, "instruction %lld (%s): cycle limit: the run passed %lld cycles", (long long)pc,
                    sys_form_of(i->op, i->sub)->mnemonic, (long long)m->p.max_cycles);
  c->pc[u]++;
  c->ready[u] = false;
  return IR_OK;
}

/* Picks the unit whose next instruction can start earliest; -1 when none can start. */
static int pick_unit(const SysMachine *m, const Cursor *c, const bool *live) {
  int best = -1;
  int64_t bt = 0;
  for (int u = 0; u < 3; u++) {
    if (!live[u] || c->insn[u].op == SYS_OP_SYNC || !tokens_ready(m, (SysUnit)u, &c->insn[u])) continue;
    int64_t t = start_time(m, (SysUnit)u, &c->insn[u]);
    if (best < 0 || t < bt || (t == bt && c->pc[u] < c->pc[best])) { best = u; bt = t; }
  }
  return best;
}

IrStatus sys_run(SysMachine *m, const SysWord *prog, int64_t n, SysStats *stats) {
  machine_reset(m);
  int64_t halt;
  IrStatus st = check_program(m, prog, n, &halt);
  Cursor c;
  memset(&c, 0, sizeof c);
  while (st == IR_OK) {
    bool live[3];
    int nlive = 0, nsync = 0;
    for (int u = 0; u < 3; u++) {
      live[u] = cursor_fill(&c, prog, halt, (SysUnit)u);
      nlive += live[u];
      nsync += live[u] && c.insn[u].op == SYS_OP_SYNC;
    }
    if (nlive == 0) break;
    if (nsync == 3) { run_sync(m, &c); continue; }
    int u = pick_unit(m, &c, live);
    if (u < 0) { st = report_deadlock(m, &c, live); break; }
    st = run_one(m, &c, (SysUnit)u);
  }
  SysClock *k = &m->clk;
  int64_t total = k->end;
  for (int u = 0; u < 3; u++) total = max64(total, k->unit[u]);
  if (st == IR_OK && halt >= 0) {
    attribute(m, total, SYS_C_NONMATRIX);
    m->st.insns[SYS_OP_HALT]++;
  }
  m->st.cycles = total;
  *stats = m->st;
  return st;
}

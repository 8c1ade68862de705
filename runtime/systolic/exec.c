/* exec.c — the functional model: what each instruction does to the scratchpad, accumulator,
 * weights, registers and DRAM. Integer results are exact (the accumulator wraps modulo 2^32
 * like 32-bit hardware); bf16 products are exact in f32 and each column's partial sum is added
 * in row order 0..R-1, as it flows down the array, then added to the accumulator. When the
 * machine is timing-only, only registers and weight bookkeeping change. */
#include <math.h>
#include <string.h>

#include "ir/base.h"
#include "runtime/requant.h"
#include "runtime/systolic/internal.h"

/* ---- element conversions ------------------------------------------------------------------------ */

/* Returns the f32 whose bits are b. */
static float f32_of_bits(uint32_t b) {
  float f;
  memcpy(&f, &b, 4);
  return f;
}

/* Returns the bits of f. */
static uint32_t bits_of_f32(float f) {
  uint32_t b;
  memcpy(&b, &f, 4);
  return b;
}

/* Widens bf16 bits to f32. */
static float bf16_to_f32(uint16_t h) { return f32_of_bits((uint32_t)h << 16); }

/* Rounds f to bf16, to nearest with ties to even; NaN stays a (quiet) NaN. */
static uint16_t f32_to_bf16(float f) {
  uint32_t b = bits_of_f32(f);
  if ((b & 0x7fffffffu) > 0x7f800000u) return (uint16_t)((b >> 16) | 0x40);
  b += 0x7fffu + ((b >> 16) & 1);
  return (uint16_t)(b >> 16);
}

/* Reads element idx of type t at p (little-endian) as a 32-bit slot: an int8 sign-extended, bf16
 * bits, or int32 / f32 bits. */
static uint32_t read_elem(const uint8_t *p, int64_t idx, int t) {
  switch (t) {
  case SYS_T_I8: return (uint32_t)(int32_t)(int8_t)p[idx];
  case SYS_T_BF16: return (uint32_t)p[2 * idx] | (uint32_t)p[2 * idx + 1] << 8;
  default: {
    const uint8_t *q = p + 4 * idx;
    return (uint32_t)q[0] | (uint32_t)q[1] << 8 | (uint32_t)q[2] << 16 | (uint32_t)q[3] << 24;
  }
  }
}

/* Writes the low bytes of v as element idx of type t at p (little-endian). */
static void write_elem(uint8_t *p, int64_t idx, int t, uint32_t v) {
  int size = sys_type_size(t);
  for (int k = 0; k < size; k++) p[size * idx + k] = (uint8_t)(v >> (8 * k));
}

/* ---- CONFIG ----------------------------------------------------------------------------------- */

void sys_exec_config(SysMachine *m, const SysInsn *i) {
  SysRegs *r = &m->regs;
  switch (i->sub) {
  case SYS_CFG_LOAD: r->ld_stride = i->stride; r->ld_limit = i->limit; r->ld_dcol = i->dcol; break;
  case SYS_CFG_STORE: r->st_stride = i->stride; r->st_type = i->type; r->st_act = i->act; break;
  case SYS_CFG_REQUANT:
    r->rq_mult = i->mult; r->rq_shift = i->shift; r->rq_zp = i->zp; r->rq_lo = i->lo; r->rq_hi = i->hi;
    break;
  case SYS_CFG_COMPUTE: r->ex_type = i->type; break;
  default: break;
  }
}

/* ---- LOAD ------------------------------------------------------------------------------------- */

void sys_exec_load(SysMachine *m, const SysInsn *i) {
  if (!m->p.functional) return;
  bool to_acc = i->to == 1;
  int64_t width = to_acc ? m->p.cols : m->width, dcol = m->regs.ld_dcol;
  const uint8_t *base = m->dram + i->dram;
  for (int64_t r = 0; r < i->rows; r++) {
    int64_t start = i->col0 + r * m->regs.ld_stride;
    uint16_t *sp = to_acc ? NULL : m->spad + (i->row + r) * m->width;
    uint32_t *ac = to_acc ? m->acc + (i->row + r) * m->p.cols : NULL;
    /* Columns [dcol, dcol + cols) get the data; with dcol = 0 the rest of the row is zeroed. */
    for (int64_t j = dcol ? dcol : 0; j < (dcol ? dcol + i->cols : width); j++) {
      int64_t idx = start + (j - dcol);
      uint32_t v = j - dcol < i->cols && idx >= 0 && idx < m->regs.ld_limit ? read_elem(base, idx, (int)i->type) : 0;
      if (to_acc) ac[j] = v;
      else sp[j] = (uint16_t)v;
    }
  }
}

/* ---- LOADW ------------------------------------------------------------------------------------ */

void sys_exec_loadw(SysMachine *m, const SysInsn *i) {
  SysTile *t = &m->tile[1 - m->active];
  t->k = i->rows;
  t->c = i->cols;
  t->type = (int)m->regs.ex_type;
  m->shadow_full = true;
  if (!m->p.functional) return;
  int64_t R = m->p.rows, C = m->p.cols;
  for (int64_t k = 0; k < R; k++) {
    const uint16_t *sp = k < i->rows ? m->spad + (i->row + k) * m->width : NULL;
    for (int64_t c = 0; c < C; c++) {
      uint16_t v = sp && c < i->cols ? sp[c] : 0;
      t->wi[k * C + c] = (int32_t)(int16_t)v;
      t->wf[k * C + c] = bf16_to_f32(v);
    }
  }
}

/* ---- MATMUL ----------------------------------------------------------------------------------- */

/* acc row out (+)= x (R int8 slots) times the int8 tile t; modulo 2^32. */
static void matmul_row_i8(const SysMachine *m, const SysTile *t, const uint16_t *x, uint32_t *out, bool add) {
  int64_t C = m->p.cols;
  if (!add) memset(out, 0, (size_t)C * sizeof *out);
  for (int64_t k = 0; k < t->k; k++) {
    int32_t xk = (int32_t)(int16_t)x[k];
    if (xk == 0) continue;
    const int32_t *w = t->wi + k * C;
    for (int64_t c = 0; c < C; c++) out[c] += (uint32_t)(xk * w[c]);
  }
}

/* acc row out (+)= x (R bf16 slots) times the bf16 tile t: each column's sum in row order, in f32. */
static void matmul_row_bf16(const SysMachine *m, const SysTile *t, const uint16_t *x, uint32_t *out, bool add) {
  int64_t C = m->p.cols;
  float *ps = m->psum;
  for (int64_t c = 0; c < C; c++) ps[c] = 0.0f;
  for (int64_t k = 0; k < m->p.rows; k++) {
    float xk = bf16_to_f32(x[k]);
    const float *w = t->wf + k * C;
    for (int64_t c = 0; c < C; c++) ps[c] = ps[c] + xk * w[c];
  }
  for (int64_t c = 0; c < C; c++) out[c] = bits_of_f32(add ? f32_of_bits(out[c]) + ps[c] : ps[c]);
}

bool sys_exec_matmul(SysMachine *m, const SysInsn *i, const char **why) {
  if (i->swap) {
    if (!m->shadow_full) { *why = "weights=new, but no loadw has filled the shadow weights since the last swap"; return false; }
    m->active = 1 - m->active;
    m->shadow_full = false;
  }
  const SysTile *t = &m->tile[m->active];
  if (t->type >= 0 && t->type != m->regs.ex_type) {
    *why = "the active weights were loaded for another compute type (config.compute)";
    return false;
  }
  if (!m->p.functional) return true;
  for (int64_t r = 0; r < i->rows; r++) {
    const uint16_t *x = m->spad + (i->row + r) * m->width;
    uint32_t *out = m->acc + (i->acc + r) * m->p.cols;
    if (m->regs.ex_type == SYS_T_BF16) matmul_row_bf16(m, t, x, out, i->mode == 1);
    else matmul_row_i8(m, t, x, out, i->mode == 1);
  }
  return true;
}

/* ---- ALU -------------------------------------------------------------------------------------- */

/* Clamps v to the int32 range. */
static int32_t sat32(int64_t v) { return v > INT32_MAX ? INT32_MAX : v < INT32_MIN ? INT32_MIN : (int32_t)v; }

/* One integer ALU operation on a and b (b is src2's element or the immediate). */
static uint32_t alu_int(int op, int32_t a, int32_t b) {
  switch (op) {
  case SYS_ALU_ADD: case SYS_ALU_ADDI: return (uint32_t)a + (uint32_t)b;
  case SYS_ALU_MAX: case SYS_ALU_MAXI: return (uint32_t)(a > b ? a : b);
  case SYS_ALU_MINI: return (uint32_t)(a < b ? a : b);
  case SYS_ALU_SHR: return (uint32_t)rt_round_shift(a, b);
  case SYS_ALU_MULI: return (uint32_t)sat32((int64_t)a * b);
  default: return (uint32_t)a;
  }
}

/* One float ALU operation on a and b (b is src2's element or the immediate's f32); shr divides
 * by 2^shift exactly (ldexpf). A NaN operand gives NaN in max and min. */
static float alu_float(int op, float a, float b, int shift) {
  switch (op) {
  case SYS_ALU_ADD: case SYS_ALU_ADDI: return a + b;
  case SYS_ALU_MAX: case SYS_ALU_MAXI: return a > b || isnan(a) ? a : b;
  case SYS_ALU_MINI: return a < b || isnan(a) ? a : b;
  case SYS_ALU_SHR: return ldexpf(a, -shift);
  case SYS_ALU_MULI: return a * b;
  default: return a;
  }
}

void sys_exec_alu(SysMachine *m, const SysInsn *i) {
  if (!m->p.functional) return;
  int64_t C = m->p.cols;
  bool two_rows = i->sub == SYS_ALU_ADD || i->sub == SYS_ALU_MAX;
  bool fl = m->regs.ex_type == SYS_T_BF16;
  for (int64_t r = 0; r < i->rows; r++) {
    uint32_t *dst = m->acc + (i->row + r) * C;
    const uint32_t *src = m->acc + (i->acc + r) * C;
    const uint32_t *src2 = two_rows ? m->acc + (i->src2 + r) * C : NULL;
    for (int64_t c = 0; c < C; c++) {
      uint32_t b = two_rows ? src2[c] : (uint32_t)i->imm;
      if (fl) dst[c] = bits_of_f32(alu_float(i->sub, f32_of_bits(src[c]), f32_of_bits(b), (int)i->imm));
      else dst[c] = alu_int(i->sub, (int32_t)src[c], (int32_t)b);
    }
  }
}

/* ---- STORE ------------------------------------------------------------------------------------ */

/* Converts one accumulator element to the store's output type, with its activation. */
static uint32_t store_convert(const SysRegs *r, uint32_t v) {
  switch (r->st_type) {
  case SYS_T_I8: {
    int32_t lo = r->rq_lo < -128 ? -128 : (int32_t)r->rq_lo, hi = r->rq_hi > 127 ? 127 : (int32_t)r->rq_hi;
    if (r->st_act && lo < r->rq_zp) lo = (int32_t)r->rq_zp;
    return (uint32_t)rt_requant((int32_t)v, (int32_t)r->rq_mult, (int)r->rq_shift, (int32_t)r->rq_zp, lo, hi);
  }
  case SYS_T_I32: return r->st_act && (int32_t)v < 0 ? 0 : v;
  case SYS_T_BF16: {
    float f = f32_of_bits(v);
    return f32_to_bf16(r->st_act && f < 0 ? 0.0f : f);
  }
  default: {
    float f = f32_of_bits(v);
    return bits_of_f32(r->st_act && f < 0 ? 0.0f : f);
  }
  }
}

void sys_exec_store(SysMachine *m, const SysInsn *i) {
  if (!m->p.functional) return;
  int t = (int)m->regs.st_type;
  for (int64_t r = 0; r < i->rows; r++) {
    const uint32_t *src = m->acc + (i->row + r) * m->p.cols;
    uint8_t *dst = m->dram + i->dram + r * m->regs.st_stride * sys_type_size(t);
    for (int64_t c = 0; c < i->cols; c++) write_elem(dst, c, t, store_convert(&m->regs, src[c]));
  }
}

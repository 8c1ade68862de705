/* gen.c — tiling a convolution onto the weight-stationary array (the plan is in gen.h). Each
 * step loads one weight tile and the input rows of one pixel block into one of 2 to 8
 * scratchpad buffers (as many as fit, to hide DRAM latency), while the array works on the
 * others; each pixel block accumulates in one half of the accumulator while the store unit
 * drains the other. Tokens: the load unit signals the compute unit twice per step, after the
 * weight tile (taken by LOADW) and after the step's last input LOAD (taken by MATMUL), and
 * waits, nbuf steps later, for the MATMUL that freed the buffer it is about to overwrite; the
 * compute unit signals the store unit after a block's last MATMUL and waits, two blocks later,
 * for the STORE that emptied its half. */
#include "codegen/systolic/gen.h"

#include <stdio.h>
#include <string.h>

void sys_prog_init(SysProgram *p) { memset(p, 0, sizeof *p); }

void sys_prog_free(SysProgram *p) {
  ir_free(p->words);
  memset(p, 0, sizeof *p);
}

IrStatus sys_prog_emit(SysProgram *p, const SysInsn *i, char *err, size_t errlen) {
  SysWord w;
  const char *why;
  if (!sys_encode(i, &w, &why)) {
    snprintf(err, errlen, "internal error: a generated %s does not encode: %s", sys_opcode_name(i->op), why);
    return IR_ERR_INTERNAL;
  }
  if (p->n == p->cap) {
    int64_t cap = p->cap ? 2 * p->cap : 1024;
    SysWord *nw = ir_realloc(p->words, (size_t)cap * sizeof *nw);
    if (!nw) { snprintf(err, errlen, "out of memory for the program"); return IR_ERR_INPUT; }
    p->words = nw;
    p->cap = cap;
  }
  p->words[p->n++] = w;
  return IR_OK;
}

int64_t sys_conv_oh(const SysConv *cv) { return (cv->h + cv->pt + cv->pb - cv->fh) / cv->sh + 1; }
int64_t sys_conv_ow(const SysConv *cv) { return (cv->w + cv->pl + cv->pr - cv->fw) / cv->sw + 1; }
int64_t sys_conv_in_bytes(const SysConv *cv) { return cv->h * cv->w * cv->c * sys_type_size(cv->type); }
int64_t sys_conv_w_bytes(const SysConv *cv) { return cv->fh * cv->fw * cv->c * cv->n * sys_type_size(cv->type); }
int64_t sys_conv_out_bytes(const SysConv *cv) { return sys_conv_oh(cv) * sys_conv_ow(cv) * cv->n * sys_type_size(cv->out_type); }

void sys_conv_gemm(SysConv *cv, int64_t m, int64_t k, int64_t n) {
  cv->h = 1;
  cv->w = m;
  cv->c = k;
  cv->fh = cv->fw = 1;
  cv->n = n;
  cv->sh = cv->sw = 1;
  cv->pt = cv->pl = cv->pb = cv->pr = 0;
}

/* The generator's plan and position. */
typedef struct Gen {
  const SysParams *p;   /* the machine */
  const SysConv *cv;    /* the layer */
  SysProgram *prog;     /* where instructions go */
  char *err;            /* message buffer */
  size_t errlen;        /* its size */
  int64_t oh, ow;       /* output height and width */
  int64_t kwc;          /* inputs per output pixel and kh: fw * c */
  int64_t ktotal;       /* the reduction length: fh * fw * c */
  int64_t kchunks;      /* chunks of R in ktotal (a chunk may span several kh) */
  int64_t nchunks;      /* chunks of C in n */
  int64_t mb;           /* pixels per block */
  int64_t nbuf;         /* scratchpad buffers (2 to 8: more hide more DRAM latency) */
  int64_t spad_buf;     /* scratchpad rows per buffer */
  int64_t acc_half;     /* accumulator rows per buffer */
  int64_t ld_stride;    /* the load unit's configured stride (-1: not yet configured) */
  int64_t ld_limit;     /* the load unit's configured limit */
  int64_t ld_dcol;      /* the load unit's configured destination column */
  int64_t step;         /* steps emitted so far */
  int64_t nsteps;       /* steps in the layer */
  int64_t block;        /* pixel blocks emitted so far */
  int64_t nblocks;      /* pixel blocks in the layer */
} Gen;

/* Appends i. */
static IrStatus emit(Gen *g, SysInsn *i) { return sys_prog_emit(g->prog, i, g->err, g->errlen); }

/* Ceiling of a / b. */
static int64_t cdiv(int64_t a, int64_t b) { return (a + b - 1) / b; }

/* Computes the plan; fails when the layer does not fit the machine or the encoding. */
static IrStatus gen_plan(Gen *g) {
  const SysConv *cv = g->cv;
  const SysParams *p = g->p;
  if (cv->h < 1 || cv->w < 1 || cv->c < 1 || cv->fh < 1 || cv->fw < 1 || cv->n < 1 || cv->sh < 1 || cv->sw < 1 ||
      cv->pt < 0 || cv->pl < 0 || cv->pb < 0 || cv->pr < 0) {
    snprintf(g->err, g->errlen, "a layer needs positive sizes and strides and non-negative padding");
    return IR_ERR_INPUT;
  }
  g->oh = sys_conv_oh(cv);
  g->ow = sys_conv_ow(cv);
  if (cv->h + cv->pt + cv->pb < cv->fh || cv->w + cv->pl + cv->pr < cv->fw || g->oh < 1 || g->ow < 1) {
    snprintf(g->err, g->errlen, "the filter is larger than the padded input");
    return IR_ERR_INPUT;
  }
  g->kwc = cv->fw * cv->c;
  g->ktotal = cv->fh * g->kwc;
  g->kchunks = cdiv(g->ktotal, p->rows);
  g->nchunks = cdiv(cv->n, p->cols);
  g->acc_half = p->acc_rows / 2;
  g->mb = g->acc_half < p->spad_rows / 2 - p->rows ? g->acc_half : p->spad_rows / 2 - p->rows;
  if (g->mb > 65535) g->mb = 65535;
  if (g->mb > g->oh * g->ow) g->mb = g->oh * g->ow;
  g->nbuf = g->mb >= 1 ? p->spad_rows / (p->rows + g->mb) : 0;
  if (g->nbuf > 8) g->nbuf = 8;
  g->spad_buf = p->spad_rows / (g->nbuf ? g->nbuf : 1);
  if (g->mb < 1) {
    snprintf(g->err, g->errlen, "the scratchpad (%lld rows) or accumulator (%lld rows) is too small to double-buffer an %lldx%lld array",
             (long long)p->spad_rows, (long long)p->acc_rows, (long long)p->rows, (long long)p->cols);
    return IR_ERR_INPUT;
  }
  g->nblocks = g->nchunks * cdiv(g->oh * g->ow, g->mb);
  g->nsteps = g->nblocks * g->kchunks;
  int64_t welems = g->ktotal * cv->n, top = (int64_t)1 << 32;
  if (welems > INT32_MAX || cv->w * cv->c > INT32_MAX || (int64_t)cv->in_addr + sys_conv_in_bytes(cv) > top ||
      (int64_t)cv->w_addr + sys_conv_w_bytes(cv) > top || (int64_t)cv->out_addr + sys_conv_out_bytes(cv) > top) {
    snprintf(g->err, g->errlen, "the layer is too large for the instructions' 32-bit addresses and offsets");
    return IR_ERR_INPUT;
  }
  g->ld_stride = g->ld_limit = g->ld_dcol = -1;
  return IR_OK;
}

/* Configures the load unit's stride, valid range and destination column unless they already are. */
static IrStatus load_config(Gen *g, int64_t stride, int64_t limit, int64_t dcol) {
  if (stride == g->ld_stride && limit == g->ld_limit && dcol == g->ld_dcol) return IR_OK;
  g->ld_stride = stride;
  g->ld_limit = limit;
  g->ld_dcol = dcol;
  SysInsn i = {.op = SYS_OP_CONFIG, .sub = SYS_CFG_LOAD, .stride = stride, .limit = limit, .dcol = dcol};
  return emit(g, &i);
}

/* Emits the configuration of the compute and store units for the layer. */
static IrStatus gen_configs(Gen *g) {
  const SysConv *cv = g->cv;
  SysInsn c = {.op = SYS_OP_CONFIG, .sub = SYS_CFG_COMPUTE, .type = cv->type};
  SysInsn s = {.op = SYS_OP_CONFIG, .sub = SYS_CFG_STORE, .stride = cv->n, .type = cv->out_type, .act = cv->relu};
  SysInsn q = {.op = SYS_OP_CONFIG, .sub = SYS_CFG_REQUANT, .mult = cv->mult, .shift = cv->shift, .zp = cv->zp,
               .lo = -128, .hi = 127};
  IrStatus st = emit(g, &c);
  if (st == IR_OK) st = emit(g, &s);
  if (st == IR_OK && cv->out_type == SYS_T_I8) st = emit(g, &q);
  return st;
}

/* Loads, for pixels [p0, p0 + count), inputs j0..j1 of filter row kh (within its fw * c) into
 * columns from dcol of the scratchpad rows from row; signal marks the last load. */
static IrStatus load_inputs(Gen *g, int64_t p0, int64_t count, int64_t kh, int64_t j0, int64_t j1, int64_t dcol,
                            int64_t row, bool signal) {
  const SysConv *cv = g->cv;
  int es = sys_type_size(cv->type);
  IrStatus st = IR_OK;
  for (int64_t px = p0; px < p0 + count && st == IR_OK;) {
    int64_t oy = px / g->ow, ox = px % g->ow;
    int64_t len = g->ow - ox < p0 + count - px ? g->ow - ox : p0 + count - px;
    int64_t iy = oy * cv->sh - cv->pt + kh;
    bool inside = iy >= 0 && iy < cv->h;
    st = inside ? load_config(g, cv->sw * cv->c, cv->w * cv->c, dcol) : load_config(g, 0, 0, dcol);
    SysInsn i = {.op = SYS_OP_LOAD, .to = 0, .type = cv->type, .row = row + (px - p0), .rows = len, .cols = j1 - j0};
    i.dram = inside ? cv->in_addr + iy * cv->w * cv->c * es : cv->in_addr;
    i.col0 = inside ? (ox * cv->sw - cv->pl) * cv->c + j0 : 0;
    if (signal && px + len == p0 + count) i.deps = SYS_DEP_SIGNAL_NEXT;
    if (st == IR_OK) st = emit(g, &i);
    px += len;
  }
  return st;
}

/* Loads the inputs of reduction chunk [k0, k0 + kt) for pixels [p0, p0 + count): one group of
 * loads per filter row kh the chunk touches, side by side in the scratchpad rows. */
static IrStatus load_chunk(Gen *g, int64_t p0, int64_t count, int64_t k0, int64_t kt, int64_t row) {
  IrStatus st = IR_OK;
  int64_t last_kh = (k0 + kt - 1) / g->kwc;
  for (int64_t kh = k0 / g->kwc; kh <= last_kh && st == IR_OK; kh++) {
    int64_t lo = k0 > kh * g->kwc ? k0 : kh * g->kwc;
    int64_t hi = k0 + kt < (kh + 1) * g->kwc ? k0 + kt : (kh + 1) * g->kwc;
    st = load_inputs(g, p0, count, kh, lo - kh * g->kwc, hi - kh * g->kwc, lo - k0, row, kh == last_kh);
  }
  return st;
}

/* Emits one step: the weight tile of reduction chunk kc for output channels n0..n0+nt, and the
 * pixel block [p0, p0 + count) through the array into accumulator buffer acc_base. */
static IrStatus gen_step(Gen *g, int64_t n0, int64_t nt, int64_t p0, int64_t count, int64_t kc, int64_t acc_base,
                         bool first, bool last) {
  const SysConv *cv = g->cv;
  const SysParams *p = g->p;
  int64_t k0 = kc * p->rows, kt = g->ktotal - k0 < p->rows ? g->ktotal - k0 : p->rows;
  int64_t sp = (g->step % g->nbuf) * g->spad_buf;
  IrStatus st = load_config(g, cv->n, g->ktotal * cv->n, 0);
  SysInsn w = {.op = SYS_OP_LOAD, .to = 0, .type = cv->type, .row = sp, .dram = cv->w_addr,
               .col0 = k0 * cv->n + n0, .rows = kt, .cols = nt, .deps = SYS_DEP_SIGNAL_NEXT};
  if (g->step >= g->nbuf) w.deps |= SYS_DEP_WAIT_NEXT;
  if (st == IR_OK) st = emit(g, &w);
  if (st == IR_OK) st = load_chunk(g, p0, count, k0, kt, sp + p->rows);
  SysInsn lw = {.op = SYS_OP_LOADW, .row = sp, .rows = kt, .cols = nt, .deps = SYS_DEP_WAIT_PREV};
  if (st == IR_OK) st = emit(g, &lw);
  SysInsn mm = {.op = SYS_OP_MATMUL, .row = sp + p->rows, .acc = acc_base, .rows = count, .mode = first ? 0 : 1,
                .swap = 1, .deps = SYS_DEP_WAIT_PREV};
  if (first && g->block >= 2) mm.deps |= SYS_DEP_WAIT_NEXT;
  if (g->step + g->nbuf < g->nsteps) mm.deps |= SYS_DEP_SIGNAL_PREV;
  if (last) mm.deps |= SYS_DEP_SIGNAL_NEXT;
  if (st == IR_OK) st = emit(g, &mm);
  g->step++;
  return st;
}

/* Emits one pixel block for output channels n0..n0+nt: every reduction step, then the store. */
static IrStatus gen_block(Gen *g, int64_t n0, int64_t nt, int64_t p0, int64_t count) {
  const SysConv *cv = g->cv;
  int64_t acc_base = (g->block % 2) * g->acc_half;
  IrStatus st = IR_OK;
  for (int64_t kc = 0; kc < g->kchunks && st == IR_OK; kc++)
    st = gen_step(g, n0, nt, p0, count, kc, acc_base, kc == 0, kc == g->kchunks - 1);
  int oes = sys_type_size(cv->out_type);
  SysInsn out = {.op = SYS_OP_STORE, .row = acc_base, .dram = cv->out_addr + (p0 * cv->n + n0) * oes, .rows = count,
                 .cols = nt, .deps = SYS_DEP_WAIT_PREV};
  if (g->block + 2 < g->nblocks) out.deps |= SYS_DEP_SIGNAL_PREV;
  if (st == IR_OK) st = emit(g, &out);
  g->block++;
  return st;
}

IrStatus sys_gen_conv(const SysParams *p, const SysConv *cv, SysProgram *prog, char *err, size_t errlen) {
  Gen g;
  memset(&g, 0, sizeof g);
  g.p = p;
  g.cv = cv;
  g.prog = prog;
  g.err = err;
  g.errlen = errlen;
  IrStatus st = gen_plan(&g);
  if (st == IR_OK) st = gen_configs(&g);
  int64_t m = g.oh * g.ow;
  for (int64_t nc = 0; nc < g.nchunks && st == IR_OK; nc++) {
    int64_t n0 = nc * p->cols, nt = cv->n - n0 < p->cols ? cv->n - n0 : p->cols;
    for (int64_t p0 = 0; p0 < m && st == IR_OK; p0 += g.mb)
      st = gen_block(&g, n0, nt, p0, m - p0 < g.mb ? m - p0 : g.mb);
  }
  return st;
}

/* isa.c — the field table of every instruction form and the 128-bit encoder and decoder built
 * on it. docs/isa.md draws the same layouts; change both together. */
#include "runtime/systolic/isa.h"

#include <string.h>

const char *const sys_unit_names[4] = {"load", "compute", "store", "all"};
const char *const sys_type_names[SYS_T_COUNT + 1] = {"i8", "bf16", "i32", "f32", NULL};

static const char *const to_names[] = {"sp", "acc", NULL};
static const char *const compute_type_names[] = {"i8", "bf16", NULL};
static const char *const act_names[] = {"none", "relu", NULL};
static const char *const mode_names[] = {"set", "add", NULL};
static const char *const weights_names[] = {"keep", "new", NULL};

/* A field entry: listing name, first bit, width, kind, SysInsn member, enum names, required. */
#define F(name, lo, width, kind, member, names, req) \
  { name, lo, width, kind, offsetof(SysInsn, member), names, req }

static const SysField cfg_load_fields[] = {
    F("stride", 16, 32, SYS_F_UINT, stride, NULL, true),
    F("limit", 64, 40, SYS_F_UINT, limit, NULL, true),
    F("dcol", 48, 12, SYS_F_UINT, dcol, NULL, false),
};
static const SysField cfg_store_fields[] = {
    F("stride", 16, 32, SYS_F_UINT, stride, NULL, true),
    F("type", 48, 2, SYS_F_ENUM, type, sys_type_names, true),
    F("act", 50, 1, SYS_F_ENUM, act, act_names, false),
};
static const SysField cfg_requant_fields[] = {
    F("mult", 16, 32, SYS_F_SINT, mult, NULL, true),   F("shift", 48, 6, SYS_F_UINT, shift, NULL, true),
    F("zp", 54, 16, SYS_F_SINT, zp, NULL, true),       F("lo", 70, 16, SYS_F_SINT, lo, NULL, true),
    F("hi", 86, 16, SYS_F_SINT, hi, NULL, true),
};
static const SysField cfg_compute_fields[] = {
    F("type", 16, 1, SYS_F_ENUM, type, compute_type_names, true),
};
static const SysField load_fields[] = {
    F("to", 13, 1, SYS_F_ENUM, to, to_names, true),       F("row", 16, 20, SYS_F_UINT, row, NULL, true),
    F("dram", 36, 32, SYS_F_ADDR, dram, NULL, true),      F("col0", 68, 32, SYS_F_SINT, col0, NULL, false),
    F("rows", 100, 16, SYS_F_UINT, rows, NULL, true),     F("cols", 116, 12, SYS_F_UINT, cols, NULL, true),
    F("type", 14, 2, SYS_F_ENUM, type, sys_type_names, true),
};
static const SysField loadw_fields[] = {
    F("row", 16, 20, SYS_F_UINT, row, NULL, true),
    F("rows", 36, 16, SYS_F_UINT, rows, NULL, true),
    F("cols", 52, 16, SYS_F_UINT, cols, NULL, true),
};
static const SysField matmul_fields[] = {
    F("in", 16, 20, SYS_F_UINT, row, NULL, true),          F("acc", 36, 20, SYS_F_UINT, acc, NULL, true),
    F("rows", 56, 16, SYS_F_UINT, rows, NULL, true),       F("mode", 72, 1, SYS_F_ENUM, mode, mode_names, true),
    F("weights", 73, 1, SYS_F_ENUM, swap, weights_names, false),
};
static const SysField alu_rr_fields[] = {
    F("dst", 16, 20, SYS_F_UINT, row, NULL, true),  F("src", 36, 20, SYS_F_UINT, acc, NULL, true),
    F("src2", 56, 20, SYS_F_UINT, src2, NULL, true), F("rows", 76, 16, SYS_F_UINT, rows, NULL, true),
};
static const SysField alu_ri_fields[] = {
    F("dst", 16, 20, SYS_F_UINT, row, NULL, true),  F("src", 36, 20, SYS_F_UINT, acc, NULL, true),
    F("rows", 76, 16, SYS_F_UINT, rows, NULL, true), F("imm", 96, 32, SYS_F_SINT, imm, NULL, true),
};
static const SysField alu_mov_fields[] = {
    F("dst", 16, 20, SYS_F_UINT, row, NULL, true),
    F("src", 36, 20, SYS_F_UINT, acc, NULL, true),
    F("rows", 76, 16, SYS_F_UINT, rows, NULL, true),
};
static const SysField store_fields[] = {
    F("acc", 16, 20, SYS_F_UINT, row, NULL, true),
    F("dram", 36, 32, SYS_F_ADDR, dram, NULL, true),
    F("rows", 68, 16, SYS_F_UINT, rows, NULL, true),
    F("cols", 84, 16, SYS_F_UINT, cols, NULL, true),
};
#undef F

#define N(a) ((int)(sizeof a / sizeof a[0]))
const SysForm sys_forms[] = {
    {"config.load", SYS_OP_CONFIG, SYS_CFG_LOAD, SYS_UNIT_LOAD, cfg_load_fields, N(cfg_load_fields)},
    {"config.store", SYS_OP_CONFIG, SYS_CFG_STORE, SYS_UNIT_STORE, cfg_store_fields, N(cfg_store_fields)},
    {"config.requant", SYS_OP_CONFIG, SYS_CFG_REQUANT, SYS_UNIT_STORE, cfg_requant_fields, N(cfg_requant_fields)},
    {"config.compute", SYS_OP_CONFIG, SYS_CFG_COMPUTE, SYS_UNIT_COMPUTE, cfg_compute_fields, N(cfg_compute_fields)},
    {"load", SYS_OP_LOAD, 0, SYS_UNIT_LOAD, load_fields, N(load_fields)},
    {"loadw", SYS_OP_LOADW, 0, SYS_UNIT_COMPUTE, loadw_fields, N(loadw_fields)},
    {"matmul", SYS_OP_MATMUL, 0, SYS_UNIT_COMPUTE, matmul_fields, N(matmul_fields)},
    {"alu.add", SYS_OP_ALU, SYS_ALU_ADD, SYS_UNIT_COMPUTE, alu_rr_fields, N(alu_rr_fields)},
    {"alu.max", SYS_OP_ALU, SYS_ALU_MAX, SYS_UNIT_COMPUTE, alu_rr_fields, N(alu_rr_fields)},
    {"alu.addi", SYS_OP_ALU, SYS_ALU_ADDI, SYS_UNIT_COMPUTE, alu_ri_fields, N(alu_ri_fields)},
    {"alu.maxi", SYS_OP_ALU, SYS_ALU_MAXI, SYS_UNIT_COMPUTE, alu_ri_fields, N(alu_ri_fields)},
    {"alu.mini", SYS_OP_ALU, SYS_ALU_MINI, SYS_UNIT_COMPUTE, alu_ri_fields, N(alu_ri_fields)},
    {"alu.shr", SYS_OP_ALU, SYS_ALU_SHR, SYS_UNIT_COMPUTE, alu_ri_fields, N(alu_ri_fields)},
    {"alu.muli", SYS_OP_ALU, SYS_ALU_MULI, SYS_UNIT_COMPUTE, alu_ri_fields, N(alu_ri_fields)},
    {"alu.mov", SYS_OP_ALU, SYS_ALU_MOV, SYS_UNIT_COMPUTE, alu_mov_fields, N(alu_mov_fields)},
    {"store", SYS_OP_STORE, 0, SYS_UNIT_STORE, store_fields, N(store_fields)},
    {"sync", SYS_OP_SYNC, 0, SYS_UNIT_ALL, NULL, 0},
    {"halt", SYS_OP_HALT, 0, SYS_UNIT_ALL, NULL, 0},
};
const int sys_nforms = N(sys_forms);
#undef N

static const char *const opcode_names[] = {
    "?",
#define X(e, name, meaning) name,
    SYS_OPCODES(X)
#undef X
};
static const char *const opcode_meanings[] = {
    NULL,
#define X(e, name, meaning) meaning,
    SYS_OPCODES(X)
#undef X
};

const char *sys_opcode_name(int op) { return op > 0 && op < SYS_OP_COUNT ? opcode_names[op] : "?"; }

const char *sys_opcode_meaning(int op) { return op > 0 && op < SYS_OP_COUNT ? opcode_meanings[op] : NULL; }

const SysForm *sys_form_of(int op, int sub) {
  for (int k = 0; k < sys_nforms; k++)
    if ((int)sys_forms[k].op == op && sys_forms[k].sub == sub) return &sys_forms[k];
  return NULL;
}

const SysForm *sys_form_named(const char *mnemonic, size_t len) {
  for (int k = 0; k < sys_nforms; k++)
    if (strlen(sys_forms[k].mnemonic) == len && memcmp(sys_forms[k].mnemonic, mnemonic, len) == 0)
      return &sys_forms[k];
  return NULL;
}

SysUnit sys_insn_unit(const SysInsn *i) {
  const SysForm *f = sys_form_of(i->op, i->sub);
  return f ? f->unit : SYS_UNIT_ALL;
}

int sys_type_size(int t) { return t == SYS_T_I8 ? 1 : t == SYS_T_BF16 ? 2 : 4; }

/* ---- bit fields -------------------------------------------------------------------------------- */

/* Returns a mask of the low width bits (width in 1..64). */
static uint64_t low_mask(int width) { return width >= 64 ? ~(uint64_t)0 : ((uint64_t)1 << width) - 1; }

uint64_t sys_word_bits(const SysWord *w, int lo, int width) {
  if (lo >= 64) return (w->hi >> (lo - 64)) & low_mask(width);
  uint64_t v = w->lo >> lo;
  if (lo + width > 64) v |= w->hi << (64 - lo);
  return v & low_mask(width);
}

/* Sets bits [lo, lo + width) of w to the low width bits of v. */
static void word_set(SysWord *w, int lo, int width, uint64_t v) {
  v &= low_mask(width);
  if (lo >= 64) {
    w->hi = (w->hi & ~(low_mask(width) << (lo - 64))) | (v << (lo - 64));
    return;
  }
  w->lo = (w->lo & ~(low_mask(width) << lo)) | (v << lo);
  if (lo + width > 64) {
    int high_bits = lo + width - 64;
    w->hi = (w->hi & ~low_mask(high_bits)) | (v >> (64 - lo));
  }
}

/* Marks bits [lo, lo + width) in the mask word m. */
static void mask_set(SysWord *m, int lo, int width) { word_set(m, lo, width, ~(uint64_t)0); }

/* Returns the number of names in a NULL-terminated list. */
static int64_t count_names(const char *const *names) {
  int64_t n = 0;
  while (names[n]) n++;
  return n;
}

bool sys_field_fits(const SysField *f, int64_t v) {
  if (f->kind == SYS_F_SINT) {
    int64_t half = (int64_t)1 << (f->width - 1);
    return v >= -half && v < half;
  }
  if (v < 0) return false;
  if (f->kind == SYS_F_ENUM && v >= count_names(f->names)) return false;
  return f->width >= 63 || v < ((int64_t)1 << f->width);
}

/* Returns a pointer to the SysInsn member that field f names. */
static int64_t *field_ptr(SysInsn *i, const SysField *f) { return (int64_t *)(void *)((char *)i + f->offset); }

/* True when unit may carry the dependency flags deps. */
static bool deps_allowed(SysUnit unit, unsigned deps) {
  if (deps & ~15u) return false;
  if (unit == SYS_UNIT_ALL) return deps == 0;
  if (unit == SYS_UNIT_LOAD) return (deps & (SYS_DEP_WAIT_PREV | SYS_DEP_SIGNAL_PREV)) == 0;
  if (unit == SYS_UNIT_STORE) return (deps & (SYS_DEP_WAIT_NEXT | SYS_DEP_SIGNAL_NEXT)) == 0;
  return true;
}

bool sys_encode(const SysInsn *i, SysWord *w, const char **why) {
  const SysForm *form = sys_form_of(i->op, i->sub);
  w->lo = w->hi = 0;
  if (!form) { *why = "no instruction has this opcode and sub-operation"; return false; }
  if (!deps_allowed(form->unit, i->deps)) { *why = "a dependency flag names a unit this unit has no queue to"; return false; }
  word_set(w, 0, 5, (uint64_t)i->op);
  word_set(w, 5, 4, i->deps);
  word_set(w, SYS_SUB_LO, SYS_SUB_WIDTH, (uint64_t)i->sub);
  for (int k = 0; k < form->nfields; k++) {
    const SysField *f = &form->fields[k];
    int64_t v = *field_ptr((SysInsn *)i, f);
    if (!sys_field_fits(f, v)) { *why = "a value does not fit its field"; return false; }
    word_set(w, f->lo, f->width, (uint64_t)v);
  }
  return true;
}

bool sys_decode(const SysWord *w, SysInsn *i, const char **why) {
  memset(i, 0, sizeof *i);
  int op = (int)sys_word_bits(w, 0, 5);
  int sub = (int)sys_word_bits(w, SYS_SUB_LO, SYS_SUB_WIDTH);
  if (op <= SYS_OP_INVALID || op >= SYS_OP_COUNT) { *why = "invalid opcode"; return false; }
  const SysForm *form = sys_form_of(op, sub);
  if (!form) { *why = op == SYS_OP_CONFIG ? "invalid config kind" : op == SYS_OP_ALU ? "invalid alu operation" : "sub-operation bits set"; return false; }
  i->op = (SysOpcode)op;
  i->sub = sub;
  i->deps = (unsigned)sys_word_bits(w, 5, 4);
  if (!deps_allowed(form->unit, i->deps)) { *why = "a dependency flag names a unit this unit has no queue to"; return false; }
  SysWord used = {0, 0};
  mask_set(&used, 0, 13);
  for (int k = 0; k < form->nfields; k++) {
    const SysField *f = &form->fields[k];
    uint64_t raw = sys_word_bits(w, f->lo, f->width);
    int64_t v = (int64_t)raw;
    if (f->kind == SYS_F_SINT && f->width < 64 && (raw >> (f->width - 1)) & 1) v = (int64_t)(raw | ~low_mask(f->width));
    if (f->kind == SYS_F_ENUM && v >= count_names(f->names)) { *why = "enumerated field out of range"; return false; }
    *field_ptr(i, f) = v;
    mask_set(&used, f->lo, f->width);
  }
  if ((w->lo & ~used.lo) || (w->hi & ~used.hi)) { *why = "reserved bits set"; return false; }
  return true;
}

/* ---- files ------------------------------------------------------------------------------------- */

/* Writes v as 4 little-endian bytes. */
static void put_u32(unsigned char *p, uint32_t v) {
  for (int k = 0; k < 4; k++) p[k] = (unsigned char)(v >> (8 * k));
}

/* Reads 4 little-endian bytes. */
static uint32_t get_u32(const unsigned char *p) {
  return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

void sys_file_header(uint32_t n, unsigned char out[SYS_WORD_BYTES]) {
  memcpy(out, SYS_FILE_MAGIC, 8);
  put_u32(out + 8, SYS_FILE_VERSION);
  put_u32(out + 12, n);
}

bool sys_file_parse(const unsigned char *bytes, size_t len, const unsigned char **words, uint32_t *n,
                    const char **why) {
  if (len < SYS_WORD_BYTES || memcmp(bytes, SYS_FILE_MAGIC, 8) != 0) {
    *why = "not a lathe systolic program (no LATHESYS header)";
    return false;
  }
  if (get_u32(bytes + 8) != SYS_FILE_VERSION) { *why = "unsupported program file version"; return false; }
  uint32_t count = get_u32(bytes + 12);
  if ((len - SYS_WORD_BYTES) % SYS_WORD_BYTES != 0 || (len - SYS_WORD_BYTES) / SYS_WORD_BYTES != count) {
    *why = "the file's length does not match the instruction count in its header";
    return false;
  }
  *words = bytes + SYS_WORD_BYTES;
  *n = count;
  return true;
}

SysWord sys_word_read(const unsigned char *p) {
  SysWord w = {0, 0};
  for (int k = 7; k >= 0; k--) w.lo = w.lo << 8 | p[k];
  for (int k = 15; k >= 8; k--) w.hi = w.hi << 8 | p[k];
  return w;
}

void sys_word_write(const SysWord *w, unsigned char *p) {
  for (int k = 0; k < 8; k++) p[k] = (unsigned char)(w->lo >> (8 * k));
  for (int k = 0; k < 8; k++) p[8 + k] = (unsigned char)(w->hi >> (8 * k));
}

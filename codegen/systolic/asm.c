/* asm.c — the listing of the systolic unit: a line-at-a-time assembler with file:line:col
 * diagnostics, and the disassembler that prints what the assembler reads. Both are driven by
 * the field table (runtime/systolic/isa.c), so a new field needs no change here. */
#include "codegen/systolic/asm.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

/* ---- units and dependency names ---------------------------------------------------------------- */

/* The unit before u in load -> compute -> store, or NULL. */
static const char *prev_unit(SysUnit u) { return u == SYS_UNIT_COMPUTE ? "load" : u == SYS_UNIT_STORE ? "compute" : NULL; }

/* The unit after u, or NULL. */
static const char *next_unit(SysUnit u) { return u == SYS_UNIT_LOAD ? "compute" : u == SYS_UNIT_COMPUTE ? "store" : NULL; }

/* ---- formatting --------------------------------------------------------------------------------- */

/* Appends the formatted text to buf at *len, never past size. */
static void append(char *buf, size_t size, size_t *len, const char *fmt, ...) __attribute__((format(printf, 4, 5)));
static void append(char *buf, size_t size, size_t *len, const char *fmt, ...) {
  if (*len >= size) return;
  va_list ap;
  va_start(ap, fmt);
  int k = vsnprintf(buf + *len, size - *len, fmt, ap);
  va_end(ap);
  if (k > 0) *len += (size_t)k < size - *len ? (size_t)k : size - *len - 1;
}

/* Appends " key=A[,B]" for the dependency flags prev_flag and next_flag of i, if set. */
static void append_deps(char *buf, size_t size, size_t *len, const char *key, const SysInsn *i, SysUnit u,
                        unsigned prev_flag, unsigned next_flag) {
  bool p = i->deps & prev_flag, n = i->deps & next_flag;
  if (!p && !n) return;
  append(buf, size, len, " %s=%s%s%s", key, p ? prev_unit(u) : "", p && n ? "," : "", n ? next_unit(u) : "");
}

void sys_insn_format(const SysInsn *i, char *buf, size_t size) {
  size_t len = 0;
  buf[0] = 0;
  const SysForm *form = sys_form_of(i->op, i->sub);
  if (!form) { append(buf, size, &len, "?"); return; }
  append(buf, size, &len, "%s", form->mnemonic);
  for (int k = 0; k < form->nfields; k++) {
    const SysField *f = &form->fields[k];
    int64_t v = *(const int64_t *)(const void *)((const char *)i + f->offset);
    switch (f->kind) {
    case SYS_F_ENUM: append(buf, size, &len, " %s=%s", f->name, f->names[v]); break;
    case SYS_F_ADDR: append(buf, size, &len, " %s=0x%" PRIx64, f->name, (uint64_t)v); break;
    default: append(buf, size, &len, " %s=%" PRId64, f->name, v); break;
    }
  }
  append_deps(buf, size, &len, "wait", i, form->unit, SYS_DEP_WAIT_PREV, SYS_DEP_WAIT_NEXT);
  append_deps(buf, size, &len, "signal", i, form->unit, SYS_DEP_SIGNAL_PREV, SYS_DEP_SIGNAL_NEXT);
}

IrStatus sys_disasm(FILE *out, const char *name, const SysWord *words, int64_t n, DiagSink *d) {
  IrStatus st = IR_OK;
  for (int64_t k = 0; k < n; k++) {
    SysInsn i;
    const char *why;
    if (!sys_decode(&words[k], &i, &why)) {
      diag_error(d, loc_file(name), "instruction %lld (byte %lld): %s (opcode %d)", (long long)k,
                 (long long)(SYS_WORD_BYTES * (k + 1)), why, (int)sys_word_bits(&words[k], 0, 5));
      st = IR_ERR_INPUT;
    }
  }
  if (st != IR_OK) return st;
  char line[512];
  for (int64_t k = 0; k < n; k++) {
    SysInsn i;
    const char *why;
    sys_decode(&words[k], &i, &why);
    sys_insn_format(&i, line, sizeof line);
    fprintf(out, "%s\n", line);
  }
  return IR_OK;
}

/* ---- the assembler -------------------------------------------------------------------------------- */

/* One whitespace-separated token of a line. */
typedef struct Token {
  const char *p; /* its first byte */
  size_t len;    /* its length */
  int col;       /* its column, from 1 */
} Token;

/* The assembler's state for one file. */
typedef struct Asm {
  const char *name; /* the file name for diagnostics */
  DiagSink *d;      /* where errors go */
  int line;         /* the current line, from 1 */
  SysWord *words;   /* the words so far */
  int *lines;       /* each word's line */
  int64_t n;        /* words used */
  int64_t cap;      /* words allocated */
  bool failed;      /* an error was reported */
} Asm;

/* Reports an error at column col of the current line. */
static void asm_error(Asm *a, int col, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void asm_error(Asm *a, int col, const char *fmt, ...) {
  char msg[512];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  Loc loc = {a->name, a->line, col, NULL};
  diag_error(a->d, loc, "%s", msg);
  a->failed = true;
}

/* Splits line[0..len) (without its comment) into at most max tokens; returns their count, or -1
 * when there are more. */
static int tokenize(const char *line, size_t len, Token *toks, int max) {
  int n = 0;
  size_t k = 0;
  while (k < len) {
    while (k < len && (line[k] == ' ' || line[k] == '\t' || line[k] == '\r')) k++;
    if (k >= len) break;
    size_t start = k;
    while (k < len && line[k] != ' ' && line[k] != '\t' && line[k] != '\r') k++;
    if (n == max) return -1;
    toks[n].p = line + start;
    toks[n].len = k - start;
    toks[n].col = (int)start + 1;
    n++;
  }
  return n;
}

/* Parses an integer literal s[0..n): [-]decimal or [-]0x hex; false when malformed or past 63 bits. */
static bool parse_int(const char *s, size_t n, int64_t *out) {
  bool neg = n > 0 && s[0] == '-';
  size_t k = neg ? 1 : 0;
  int base = 10;
  if (n - k > 2 && s[k] == '0' && (s[k + 1] == 'x' || s[k + 1] == 'X')) { base = 16; k += 2; }
  if (k >= n) return false;
  uint64_t v = 0;
  for (; k < n; k++) {
    int dgt;
    char c = s[k];
    if (c >= '0' && c <= '9') dgt = c - '0';
    else if (base == 16 && c >= 'a' && c <= 'f') dgt = c - 'a' + 10;
    else if (base == 16 && c >= 'A' && c <= 'F') dgt = c - 'A' + 10;
    else return false;
    if (v > (UINT64_C(1) << 62) / (uint64_t)base) return false;
    v = v * (uint64_t)base + (uint64_t)dgt;
  }
  if (v > (uint64_t)INT64_MAX) return false;
  *out = neg ? -(int64_t)v : (int64_t)v;
  return true;
}

/* Parses a float literal s[0..n) into the bits of an f32 (as a signed 32-bit value). */
static bool parse_float_bits(const char *s, size_t n, int64_t *out) {
  char buf[64];
  if (n == 0 || n >= sizeof buf) return false;
  memcpy(buf, s, n);
  buf[n] = 0;
  char *end;
  float f = strtof(buf, &end);
  if (*end) return false;
  uint32_t b;
  memcpy(&b, &f, 4);
  *out = (int64_t)(int32_t)b;
  return true;
}

/* True when s[0..n) reads as a float rather than an integer (a '.', an exponent, inf or nan). */
static bool looks_float(const char *s, size_t n) {
  bool hex = n > 2 && (memchr(s, 'x', n) || memchr(s, 'X', n));
  if (hex) return false;
  return memchr(s, '.', n) || memchr(s, 'e', n) || memchr(s, 'E', n) || memchr(s, 'n', n) || memchr(s, 'N', n);
}

/* Writes the value range of field f into buf (for messages). */
static void field_range(const SysField *f, char *buf, size_t size) {
  if (f->kind == SYS_F_ENUM) {
    size_t len = 0;
    buf[0] = 0;
    for (int k = 0; f->names[k]; k++) append(buf, size, &len, "%s%s", k ? ", " : "", f->names[k]);
  } else if (f->kind == SYS_F_SINT) {
    snprintf(buf, size, "%lld to %lld", -(1LL << (f->width - 1)), (1LL << (f->width - 1)) - 1);
  } else {
    snprintf(buf, size, "0 to %llu", (unsigned long long)((f->width >= 64 ? ~0ULL : (1ULL << f->width)) - 1));
  }
}

/* Parses the value of field f from token v (after the '='); false after reporting. */
static bool parse_field(Asm *a, const SysField *f, const Token *v, int64_t *out) {
  bool ok = false;
  if (f->kind == SYS_F_ENUM) {
    for (int k = 0; f->names[k] && !ok; k++)
      if (strlen(f->names[k]) == v->len && memcmp(f->names[k], v->p, v->len) == 0) { *out = k; ok = true; }
  } else if (!strcmp(f->name, "imm") && looks_float(v->p, v->len)) {
    ok = parse_float_bits(v->p, v->len, out);
  } else {
    ok = parse_int(v->p, v->len, out) && sys_field_fits(f, *out);
  }
  if (!ok) {
    char range[160];
    field_range(f, range, sizeof range);
    if (v->len == 0) asm_error(a, v->col, "%s needs a value (%s)", f->name, range);
    else asm_error(a, v->col, "'%.*s' is not a value of %s (%s)", (int)v->len, v->p, f->name, range);
  }
  return ok;
}

/* Parses a wait= or signal= list v for unit u into flags prev_flag / next_flag of *deps. */
static bool parse_deps(Asm *a, SysUnit u, const Token *v, const char *key, unsigned prev_flag, unsigned next_flag,
                       unsigned *deps) {
  const char *p = v->p, *end = v->p + v->len;
  bool ok = true;
  do {
    const char *comma = memchr(p, ',', (size_t)(end - p));
    const char *stop = comma ? comma : end;
    size_t len = (size_t)(stop - p);
    int col = v->col + (int)(p - v->p);
    const char *pu = prev_unit(u), *nu = next_unit(u);
    if (pu && strlen(pu) == len && memcmp(pu, p, len) == 0) *deps |= prev_flag;
    else if (nu && strlen(nu) == len && memcmp(nu, p, len) == 0) *deps |= next_flag;
    else {
      asm_error(a, col, "a %s-unit instruction cannot %s '%.*s': its queues go only to %s%s%s", sys_unit_names[u], key,
                (int)len, p, pu ? pu : "", pu && nu ? " and " : "", nu ? nu : "");
      ok = false;
    }
    p = comma ? comma + 1 : end;
  } while (p < end);
  return ok;
}

/* Appends w to the output. */
static void asm_emit(Asm *a, const SysWord *w) {
  if (a->n == a->cap) {
    int64_t cap = a->cap ? 2 * a->cap : 256;
    SysWord *nw = ir_realloc(a->words, (size_t)cap * sizeof *nw);
    if (nw) a->words = nw;
    int *nl = nw ? ir_realloc(a->lines, (size_t)cap * sizeof *nl) : NULL;
    if (nl) a->lines = nl;
    if (!nw || !nl) { diag_oom(a->d, loc_file(a->name)); a->failed = true; return; }
    a->cap = cap;
  }
  a->lines[a->n] = a->line;
  a->words[a->n++] = *w;
}

/* Finds the field of form named key[0..len), or NULL. */
static const SysField *find_field(const SysForm *form, const char *key, size_t len) {
  for (int k = 0; k < form->nfields; k++)
    if (strlen(form->fields[k].name) == len && memcmp(form->fields[k].name, key, len) == 0) return &form->fields[k];
  return NULL;
}

/* Lists the keys form accepts into buf (for messages). */
static void form_keys(const SysForm *form, char *buf, size_t size) {
  size_t len = 0;
  buf[0] = 0;
  for (int k = 0; k < form->nfields; k++) append(buf, size, &len, "%s, ", form->fields[k].name);
  append(buf, size, &len, "%s", form->unit == SYS_UNIT_ALL ? "no dependencies" : "wait, signal");
}

/* Parses one field token (key=value) of an instruction of form into *i. */
static void asm_operand(Asm *a, const SysForm *form, const Token *t, SysInsn *i, uint64_t *seen) {
  const char *eq = memchr(t->p, '=', t->len);
  size_t klen = eq ? (size_t)(eq - t->p) : t->len;
  Token v = {eq ? eq + 1 : t->p + t->len, eq ? t->len - klen - 1 : 0, t->col + (int)klen + 1};
  bool is_wait = klen == 4 && !memcmp(t->p, "wait", 4), is_signal = klen == 6 && !memcmp(t->p, "signal", 6);
  const SysField *f = find_field(form, t->p, klen);
  if (!eq) { asm_error(a, t->col, "expected key=value, not '%.*s'", (int)t->len, t->p); return; }
  int bit = f ? (int)(f - form->fields) : is_wait ? 62 : is_signal ? 63 : -1;
  if (bit < 0 || (form->unit == SYS_UNIT_ALL && (is_wait || is_signal))) {
    char keys[256];
    form_keys(form, keys, sizeof keys);
    asm_error(a, t->col, "%s has no field '%.*s' (it takes %s)", form->mnemonic, (int)klen, t->p, keys);
    return;
  }
  if (*seen & (UINT64_C(1) << bit)) { asm_error(a, t->col, "%.*s is given twice", (int)klen, t->p); return; }
  *seen |= UINT64_C(1) << bit;
  if (is_wait) parse_deps(a, form->unit, &v, "wait for", SYS_DEP_WAIT_PREV, SYS_DEP_WAIT_NEXT, &i->deps);
  else if (is_signal) parse_deps(a, form->unit, &v, "signal", SYS_DEP_SIGNAL_PREV, SYS_DEP_SIGNAL_NEXT, &i->deps);
  else {
    int64_t val;
    if (parse_field(a, f, &v, &val)) *(int64_t *)(void *)((char *)i + f->offset) = val;
  }
}

/* Assembles one line (comment already removed). */
static void asm_line(Asm *a, const char *line, size_t len) {
  Token toks[40];
  int nt = tokenize(line, len, toks, 40);
  if (nt == 0) return;
  if (nt < 0) { asm_error(a, 1, "too many fields on one line"); return; }
  const SysForm *form = sys_form_named(toks[0].p, toks[0].len);
  if (!form) { asm_error(a, toks[0].col, "unknown instruction '%.*s'", (int)toks[0].len, toks[0].p); return; }
  SysInsn i;
  memset(&i, 0, sizeof i);
  i.op = form->op;
  i.sub = form->sub;
  uint64_t seen = 0;
  bool was_failed = a->failed;
  a->failed = false;
  for (int k = 1; k < nt; k++) asm_operand(a, form, &toks[k], &i, &seen);
  for (int k = 0; k < form->nfields && !a->failed; k++)
    if (form->fields[k].required && !(seen & (UINT64_C(1) << k)))
      asm_error(a, toks[0].col, "%s needs %s=", form->mnemonic, form->fields[k].name);
  SysWord w;
  const char *why;
  if (!a->failed && !sys_encode(&i, &w, &why)) asm_error(a, toks[0].col, "%s", why);
  if (!a->failed) asm_emit(a, &w);
  a->failed = a->failed || was_failed;
}

IrStatus sys_asm(const char *name, const char *text, size_t len, SysWord **words, int64_t *n, int **lines,
                 DiagSink *d) {
  Asm a = {name, d, 0, NULL, NULL, 0, 0, false};
  size_t k = 0;
  while (k < len) {
    a.line++;
    const char *nl = memchr(text + k, '\n', len - k);
    size_t end = nl ? (size_t)(nl - text) : len;
    size_t code = k;
    while (code < end && text[code] != '#' && text[code] != ';') code++;
    if (memchr(text + k, 0, code - k)) asm_error(&a, 1, "NUL byte in the listing");
    else asm_line(&a, text + k, code - k);
    k = end + 1;
  }
  if (a.failed) {
    ir_free(a.words);
    ir_free(a.lines);
    *words = NULL;
    *n = 0;
    if (lines) *lines = NULL;
    return IR_ERR_INPUT;
  }
  *words = a.words;
  *n = a.n;
  if (lines) *lines = a.lines;
  else ir_free(a.lines);
  return IR_OK;
}

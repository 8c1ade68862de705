/* base.c — checked size arithmetic, the clock of --time-passes, the allocator hook, the arena
 * and the diagnostic sink. */
#include "ir/base.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

/* ---- time ---------------------------------------------------------------------------------- */

double ir_now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

void ir_time_phase(FILE *f, const char *name, double *since) {
  double now = ir_now_ms();
  if (f) fprintf(f, "phase %-17s %9.3f ms\n", name, now - *since);
  *since = now;
}

/* ---- size arithmetic ----------------------------------------------------------------------- */

bool ir_mul_ok(int64_t a, int64_t b, int64_t *out) {
  return !__builtin_mul_overflow(a, b, out);
}

bool ir_add_ok(int64_t a, int64_t b, int64_t *out) {
  return !__builtin_add_overflow(a, b, out);
}

/* ---- allocation -------------------------------------------------------------------------- */

static uint64_t alloc_count; /* allocations since the last ir_alloc_fail_after */
static uint64_t alloc_fail_at; /* 0: never fail; otherwise the first failing allocation */
static bool arena_counts; /* each arena allocation counts (ir_alloc_fault_arena) */

/* Counts one allocation and says whether fault injection makes it fail. */
static bool alloc_should_fail(void) {
  alloc_count++;
  return alloc_fail_at != 0 && alloc_count >= alloc_fail_at;
}

uint64_t ir_alloc_fail_after(uint64_t n) {
  uint64_t made = alloc_count;
  alloc_count = 0;
  alloc_fail_at = n;
  return made;
}

void ir_alloc_fault_arena(bool each) { arena_counts = each; }

void *ir_malloc(size_t n) {
  if (alloc_should_fail()) return NULL;
  return malloc(n ? n : 1);
}

void *ir_calloc(size_t count, size_t size) {
  if (alloc_should_fail()) return NULL;
  return calloc(count ? count : 1, size ? size : 1);
}

void *ir_realloc(void *p, size_t n) {
  if (alloc_should_fail()) return NULL;
  return realloc(p, n ? n : 1);
}

void ir_free(void *p) { free(p); }

char *ir_strdup(const char *s) {
  size_t n = strlen(s) + 1;
  char *d = ir_malloc(n);
  if (d) memcpy(d, s, n);
  return d;
}

/* ---- arena --------------------------------------------------------------------------------------- */

struct IrArenaChunk {
  IrArenaChunk *prev; /* older chunk */
  size_t used, cap;   /* bytes used and available in data */
  _Alignas(16) unsigned char data[];
};

enum { ARENA_CHUNK = 64 * 1024 };

void ir_arena_init(IrArena *a) { a->head = NULL; a->failed = false; }

void ir_arena_free(IrArena *a) {
  IrArenaChunk *c = a->head;
  while (c) {
    IrArenaChunk *prev = c->prev;
    ir_free(c);
    c = prev;
  }
  a->head = NULL;
}

void *ir_arena_alloc(IrArena *a, size_t n) {
  if (arena_counts && alloc_should_fail()) { a->failed = true; return NULL; }
  n = (n + 15) & ~(size_t)15;
  IrArenaChunk *c = a->head;
  if (!c || c->cap - c->used < n) {
    size_t cap = n > ARENA_CHUNK ? n : ARENA_CHUNK;
    if (cap > (size_t)IR_MAX_FILE_BYTES) { a->failed = true; return NULL; }
    c = ir_malloc(sizeof *c + cap);
    if (!c) { a->failed = true; return NULL; }
    c->prev = a->head;
    c->used = 0;
    c->cap = cap;
    a->head = c;
  }
  void *p = c->data + c->used;
  c->used += n;
  memset(p, 0, n);
  return p;
}

char *ir_arena_strndup(IrArena *a, const char *s, size_t len) {
  char *d = ir_arena_alloc(a, len + 1);
  if (!d) return NULL;
  memcpy(d, s, len);
  d[len] = 0;
  return d;
}

char *ir_arena_strdup(IrArena *a, const char *s) { return ir_arena_strndup(a, s, strlen(s)); }

void *ir_arena_memdup(IrArena *a, const void *p, size_t n) {
  void *d = ir_arena_alloc(a, n);
  if (d && n) memcpy(d, p, n);
  return d;
}

int ir_utf8_len(const unsigned char *p, size_t n) {
  if (p[0] < 0x80) return 1;
  int len = p[0] >= 0xf0 && p[0] <= 0xf4 ? 4 : p[0] >= 0xe0 ? 3 : p[0] >= 0xc2 && p[0] < 0xe0 ? 2 : 0;
  if (len == 0 || (size_t)len > n) return 0;
  for (int i = 1; i < len; i++)
    if ((p[i] & 0xc0) != 0x80) return 0;
  if (len == 3 && p[0] == 0xe0 && p[1] < 0xa0) return 0; /* overlong */
  if (len == 3 && p[0] == 0xed && p[1] >= 0xa0) return 0; /* surrogate */
  if (len == 4 && p[0] == 0xf0 && p[1] < 0x90) return 0; /* overlong */
  if (len == 4 && p[0] == 0xf4 && p[1] >= 0x90) return 0; /* past U+10FFFF */
  return len;
}

/* ---- diagnostics ------------------------------------------------------------------------------- */

void diag_init(DiagSink *d, FILE *out) {
  memset(d, 0, sizeof *d);
  d->out = out;
  d->max_errors = 50;
}

void diag_free(DiagSink *d) {
  DiagSource *s = d->sources;
  while (s) {
    DiagSource *next = s->next;
    ir_free(s->name);
    ir_free(s->text);
    ir_free(s);
    s = next;
  }
  d->sources = NULL;
}

const char *diag_add_source(DiagSink *d, const char *name, const char *text, size_t len) {
  DiagSource *s = ir_calloc(1, sizeof *s);
  if (!s) return NULL;
  s->name = ir_strdup(name);
  s->text = ir_malloc(len + 1);
  if (!s->name || !s->text) {
    ir_free(s->name);
    ir_free(s->text);
    ir_free(s);
    return NULL;
  }
  memcpy(s->text, text, len);
  s->text[len] = 0;
  s->len = len;
  s->next = d->sources;
  d->sources = s;
  return s->name;
}

/* Returns the registered source whose interned name is file (pointer or string match). */
static const DiagSource *diag_find(const DiagSink *d, const char *file) {
  for (const DiagSource *s = d->sources; s; s = s->next)
    if (s->name == file) return s;
  for (const DiagSource *s = d->sources; s; s = s->next)
    if (strcmp(s->name, file) == 0) return s;
  return NULL;
}

/* Prints line `line` of src and a caret under column col, counted in characters as the lexer
 * counts them (tabs kept so the caret lines up; control bytes and bytes that are not UTF-8
 * shown as '?'). */
static void diag_quote(FILE *out, const DiagSource *src, int line, int col) {
  const char *p = src->text, *end = src->text + src->len;
  for (int l = 1; l < line && p < end; l++) {
    const char *nl = memchr(p, '\n', (size_t)(end - p));
    if (!nl) return;
    p = nl + 1;
  }
  const char *e = p;
  while (e < end && *e != '\n' && *e != '\r') e++;
  if (e - p > 400) e = p + 400;
  fputs("  ", out);
  for (const char *q = p; q < e;) {
    unsigned char ch = (unsigned char)*q;
    int n = ir_utf8_len((const unsigned char *)q, (size_t)(e - q));
    if (ch >= 0x80 && n > 1) fwrite(q, 1, (size_t)n, out);
    else fputc(ch == '\t' || (ch >= 32 && ch < 127) ? ch : '?', out);
    q += n > 1 ? n : 1;
  }
  fputs("\n  ", out);
  const char *q = p;
  for (int i = 1; i < col && q < e; i++) {
    fputc(*q == '\t' ? '\t' : ' ', out);
    int n = ir_utf8_len((const unsigned char *)q, (size_t)(e - q));
    q += n > 1 ? n : 1;
  }
  fputs("^\n", out);
}

void diag_vreport(DiagSink *d, DiagLevel level, Loc loc, const char *fmt, va_list ap) {
  if (level == DIAG_ERROR) d->errors++;
  if (level == DIAG_WARNING) d->warnings++;
  if (!d->out) return;
  if (d->max_errors && level == DIAG_ERROR && d->errors > d->max_errors) {
    if (d->errors == d->max_errors + 1) fprintf(d->out, "lathe: too many errors, stopping output\n");
    return;
  }
  static const char *const names[] = {"error", "warning", "note"};
  if (loc.file && loc.line > 0)
    fprintf(d->out, "%s:%d:%d: ", loc.file, loc.line, loc.col);
  else if (loc.file)
    fprintf(d->out, "%s: ", loc.file);
  else
    fputs("lathe: ", d->out);
  fprintf(d->out, "%s: ", names[level]);
  if (loc.origin) fprintf(d->out, "node '%s': ", loc.origin);
  vfprintf(d->out, fmt, ap);
  fputc('\n', d->out);
  if (loc.file && loc.line > 0) {
    const DiagSource *src = diag_find(d, loc.file);
    if (src) diag_quote(d->out, src, loc.line, loc.col);
  }
}

void diag_report(DiagSink *d, DiagLevel level, Loc loc, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  diag_vreport(d, level, loc, fmt, ap);
  va_end(ap);
}

IrStatus diag_internal(DiagSink *d, const char *cfile, int cline, const char *what) {
  d->internal = true;
  diag_report(d, DIAG_ERROR, loc_none(), "internal error at %s:%d: %s", cfile, cline, what);
  return IR_ERR_INTERNAL;
}

IrStatus diag_oom(DiagSink *d, Loc loc) {
  diag_error(d, loc, "out of memory");
  return IR_ERR_INPUT;
}

/* base.h — status codes, the allocator hook, the arena, source locations and the
 * diagnostic sink: the few things every other part of lathe stands on. */
#ifndef LATHE_IR_BASE_H
#define LATHE_IR_BASE_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* ---- status ---------------------------------------------------------------------------- */

/* The result of every fallible library call. Values are the tools' exit codes. */
typedef enum {
  IR_OK = 0,            /* success */
  IR_ERR_INPUT = 1,     /* the input (model, weights, data) is bad; a diagnostic says why */
  IR_ERR_USAGE = 2,     /* the caller asked for something meaningless */
  IR_ERR_INTERNAL = 70, /* a broken invariant inside lathe; the message carries FILE:LINE */
} IrStatus;

/* ---- limits: hostile sizes are refused before anything is allocated ------------------- */

enum {
  IR_MAX_RANK = 8,               /* dimensions of a tensor */
  IR_MAX_NAME = 1024,            /* bytes of a value, global, op or attribute name */
  IR_MAX_STRING = 65536,         /* bytes of a string literal */
  IR_MAX_LIST = 1 << 20,         /* elements of an attribute list or inline literal */
  IR_MAX_OPERANDS = 4096,        /* inputs of one node, inputs and outputs of a graph */
  IR_MAX_RESULTS = 64,           /* results of one node */
  IR_MAX_DEPTH = 64,             /* nesting of regions */
};
#define IR_MAX_ELEMENTS ((int64_t)1 << 36)   /* elements of one tensor */
#define IR_MAX_TENSOR_BYTES ((int64_t)1 << 38) /* bytes of one tensor (256 GiB) */
#define IR_MAX_FILE_BYTES ((int64_t)1 << 38)   /* bytes of a file lathe reads whole */
#define IR_MAX_DENSE_BYTES ((int64_t)1 << 28)  /* bytes of a dense<...> constant written inline */

/* Overflow-checked arithmetic on sizes: false when the result does not fit. */
bool ir_mul_ok(int64_t a, int64_t b, int64_t *out);
bool ir_add_ok(int64_t a, int64_t b, int64_t *out);

/* ---- time -------------------------------------------------------------------------------- */

/* Milliseconds on the monotonic clock (for --time-passes; only differences mean anything). */
double ir_now_ms(void);
/* Prints `phase NAME  T ms` (T: milliseconds since *since) to f when f is not NULL, and sets
 * *since to now: the compile phases of `lathe compile --time-passes`. */
void ir_time_phase(FILE *f, const char *name, double *since);

/* ---- allocation -------------------------------------------------------------------------- */

/* Every heap allocation of lathe goes through these, so that a fault-injection test can
 * make the N-th one fail. They return NULL on failure (never abort). */
void *ir_malloc(size_t n);
void *ir_calloc(size_t count, size_t size);
void *ir_realloc(void *p, size_t n);
void ir_free(void *p);
char *ir_strdup(const char *s);
/* Makes allocation number n (counting from 1 after this call) and all later ones fail;
 * n = 0 turns injection off. Returns how many allocations were made since the last call. */
uint64_t ir_alloc_fail_after(uint64_t n);
/* Makes every arena allocation (ir_arena_alloc and what calls it) count as one allocation
 * for ir_alloc_fail_after too, not only the chunks the arena takes from the heap: a fault
 * injection test then reaches every place that builds IR in an arena. Off by default. */
void ir_alloc_fault_arena(bool each);

/* An arena: many small allocations freed together. The IR of one compilation lives in one. */
typedef struct IrArenaChunk IrArenaChunk;
typedef struct IrArena {
  IrArenaChunk *head; /* newest chunk; each links to the previous one */
  bool failed;        /* an allocation failed: the caller must stop and report */
} IrArena;

void ir_arena_init(IrArena *a);
void ir_arena_free(IrArena *a);
/* Returns n zeroed bytes aligned to 16, or NULL (and sets a->failed) when out of memory. */
void *ir_arena_alloc(IrArena *a, size_t n);
/* Returns a copy of s[0..len) with a terminating NUL, or NULL. */
char *ir_arena_strndup(IrArena *a, const char *s, size_t len);
char *ir_arena_strdup(IrArena *a, const char *s);
/* Returns a copy of n bytes of p, or NULL. */
void *ir_arena_memdup(IrArena *a, const void *p, size_t n);

/* Length of the valid UTF-8 sequence at p (n > 0 bytes left), or 0 when it is not valid
 * (overlong forms, surrogates and code points past U+10FFFF are not valid). */
int ir_utf8_len(const unsigned char *p, size_t n);

/* ---- locations and diagnostics --------------------------------------------------------------------- */

/* Where a node, value or attribute came from. file is interned by the sink (or a string
 * that outlives the graph); line and col count from 1; 0 means unknown. origin, when not
 * NULL, names the node of a foreign format it came from (an ONNX node name). */
typedef struct Loc {
  const char *file;
  int line;
  int col;
  const char *origin;
} Loc;

typedef enum { DIAG_ERROR, DIAG_WARNING, DIAG_NOTE } DiagLevel;

/* A source text the sink can quote when it prints a caret. */
typedef struct DiagSource {
  char *name;  /* file name as given */
  char *text;  /* whole contents, NUL-terminated */
  size_t len;  /* bytes of text */
  struct DiagSource *next;
} DiagSource;

/* Collects diagnostics and prints them as `file:line:col: error: message`, the source line
 * and a caret. Errors are counted so callers can stop after a phase with any. */
typedef struct DiagSink {
  FILE *out;          /* where messages go (stderr by default); NULL: only count them */
  DiagSource *sources;/* registered texts, for quoting lines */
  int errors;         /* errors reported so far */
  int warnings;       /* warnings reported so far */
  int max_errors;     /* stop printing after this many (0: no limit) */
  bool internal;      /* an internal error was reported */
} DiagSink;

void diag_init(DiagSink *d, FILE *out);
void diag_free(DiagSink *d);
/* Registers a copy of text under name so lines can be quoted; returns the interned name
 * (valid until diag_free) or NULL when out of memory. */
const char *diag_add_source(DiagSink *d, const char *name, const char *text, size_t len);
/* Reports at loc (loc.file NULL: no location). */
void diag_report(DiagSink *d, DiagLevel level, Loc loc, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
void diag_vreport(DiagSink *d, DiagLevel level, Loc loc, const char *fmt, va_list ap)
    __attribute__((format(printf, 4, 0)));
#define diag_error(d, loc, ...) diag_report((d), DIAG_ERROR, (loc), __VA_ARGS__)
#define diag_note(d, loc, ...) diag_report((d), DIAG_NOTE, (loc), __VA_ARGS__)
/* Reports a broken invariant with the C source position; returns IR_ERR_INTERNAL. */
IrStatus diag_internal(DiagSink *d, const char *cfile, int cline, const char *what);
#define IR_INTERNAL(d, what) diag_internal((d), __FILE__, __LINE__, (what))
/* Reports "out of memory" and returns IR_ERR_INPUT (a request too large for this machine). */
IrStatus diag_oom(DiagSink *d, Loc loc);

/* The location of no place in particular. */
static inline Loc loc_none(void) { Loc l = {0, 0, 0, 0}; return l; }
static inline Loc loc_file(const char *file) { Loc l = {file, 0, 0, 0}; return l; }

#endif

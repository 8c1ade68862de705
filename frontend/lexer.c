/* lexer.c — turns text IR into tokens, each with its file:line:col. */
#include "frontend/lexer.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

void lex_init(Lexer *lx, const char *file, const char *src, size_t len, IrArena *arena, DiagSink *d) {
  memset(lx, 0, sizeof *lx);
  lx->file = file;
  lx->src = src;
  lx->len = len;
  lx->line = 1;
  lx->col = 1;
  lx->arena = arena;
  lx->diag = d;
}

const char *lex_kind_name(TokKind k) {
  switch (k) {
  case TOK_EOF: return "end of file";
  case TOK_IDENT: return "a name";
  case TOK_VALUE: return "a value (%name)";
  case TOK_GLOBAL: return "a global name (@name)";
  case TOK_INT: return "an integer";
  case TOK_FLOAT: return "a number";
  case TOK_STRING: return "a string";
  case TOK_LPAREN: return "'('";
  case TOK_RPAREN: return "')'";
  case TOK_LBRACKET: return "'['";
  case TOK_RBRACKET: return "']'";
  case TOK_LBRACE: return "'{'";
  case TOK_RBRACE: return "'}'";
  case TOK_LANGLE: return "'<'";
  case TOK_RANGLE: return "'>'";
  case TOK_COMMA: return "','";
  case TOK_COLON: return "':'";
  case TOK_EQUAL: return "'='";
  case TOK_CARET: return "'^'";
  case TOK_STAR: return "'*'";
  case TOK_ARROW: return "'->'";
  case TOK_ERROR: return "an invalid token";
  }
  return "?";
}

/* The byte at pos + k, or 0 past the end. */
static int peek(const Lexer *lx, size_t k) {
  return lx->pos + k < lx->len ? (unsigned char)lx->src[lx->pos + k] : 0;
}

/* Moves past one byte, keeping line and column. */
static void advance(Lexer *lx) {
  if (lx->pos >= lx->len) return;
  if (lx->src[lx->pos] == '\n') { lx->line++; lx->col = 1; } else lx->col++;
  lx->pos++;
}

static Loc here(const Lexer *lx) { Loc l = {lx->file, lx->line, lx->col, NULL}; return l; }

/* Moves past one UTF-8 character (several bytes, one column); false (reported) when the
 * bytes are not UTF-8, after moving past one byte. */
static bool advance_char(Lexer *lx) {
  int n = ir_utf8_len((const unsigned char *)lx->src + lx->pos, lx->len - lx->pos);
  if (n == 0) {
    diag_error(lx->diag, here(lx), "invalid UTF-8 byte 0x%02x", peek(lx, 0));
    advance(lx);
    return false;
  }
  advance(lx);
  lx->pos += (size_t)(n - 1);
  return true;
}

/* Skips white space and '#' comments; false if a comment held bad UTF-8 (reported). */
static bool skip_space(Lexer *lx) {
  bool ok = true;
  for (;;) {
    int c = peek(lx, 0);
    if (c == ' ' || c == '\t' || c == '\n' || c == '\r') {
      advance(lx);
    } else if (c == '#') {
      while (lx->pos < lx->len && peek(lx, 0) != '\n') ok &= advance_char(lx);
    } else {
      return ok;
    }
  }
}

/* Character classes in ASCII, whatever the locale (the printer uses the same ones). */
static bool is_alpha(int c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
static bool is_digit(int c) { return c >= '0' && c <= '9'; }
static bool is_xdigit(int c) { return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'); }
static bool is_ident_start(int c) { return is_alpha(c) || c == '_'; }
static bool is_ident_char(int c) { return is_alpha(c) || is_digit(c) || c == '_'; }

static int hexval(int c) {
  return is_digit(c) ? c - '0' : (c >= 'a' && c <= 'f') ? c - 'a' + 10 : (c >= 'A' && c <= 'F') ? c - 'A' + 10 : -1;
}

/* Lexes a "..." string starting at the quote into t (unescaped into the arena). */
static void lex_string(Lexer *lx, Token *t) {
  advance(lx); /* the opening quote */
  size_t cap = 64, n = 0;
  char *buf = ir_malloc(cap);
  bool ok = buf != NULL;
  while (ok) {
    int c = peek(lx, 0);
    if (c == 0 && lx->pos < lx->len) {
      diag_error(lx->diag, here(lx), "a string or name cannot hold a NUL byte");
      ok = false;
      break;
    }
    if (lx->pos >= lx->len || c == '\n') {
      diag_error(lx->diag, t->loc, "unterminated string");
      ok = false;
      break;
    }
    if (c == '"') { advance(lx); break; }
    char ch[4];
    int chn = 1;
    if (c == '\\') {
      Loc at = here(lx);
      advance(lx);
      int e = peek(lx, 0);
      if (e == 'x' && hexval(peek(lx, 1)) >= 0 && hexval(peek(lx, 2)) >= 0) {
        ch[0] = (char)(hexval(peek(lx, 1)) * 16 + hexval(peek(lx, 2)));
        advance(lx); advance(lx); advance(lx);
        if (ch[0] == 0) {
          diag_error(lx->diag, at, "a string or name cannot hold a NUL byte");
          ok = false;
          break;
        }
      } else if (e == '"' || e == '\\') { ch[0] = (char)e; advance(lx);
      } else if (e == 'n') { ch[0] = '\n'; advance(lx);
      } else if (e == 't') { ch[0] = '\t'; advance(lx);
      } else {
        diag_error(lx->diag, at, "unknown escape sequence in string (use \\\" \\\\ \\n \\t or \\xNN)");
        ok = false;
        break;
      }
    } else {
      size_t start = lx->pos;
      if (!advance_char(lx)) { ok = false; break; }
      chn = (int)(lx->pos - start);
      memcpy(ch, lx->src + start, (size_t)chn);
    }
    if (n + (size_t)chn > IR_MAX_STRING) {
      diag_error(lx->diag, t->loc, "string is longer than %d bytes", IR_MAX_STRING);
      ok = false;
      break;
    }
    if (n + (size_t)chn >= cap) {
      char *nb = ir_realloc(buf, cap * 2);
      if (!nb) { ok = false; break; }
      buf = nb;
      cap *= 2;
    }
    memcpy(buf + n, ch, (size_t)chn);
    n += (size_t)chn;
  }
  if (ok) {
    t->text = ir_arena_strndup(lx->arena, buf, n);
    t->len = n;
    if (!t->text) { diag_oom(lx->diag, t->loc); ok = false; }
  } else if (!buf) {
    diag_oom(lx->diag, t->loc);
  }
  if (!ok) {
    t->kind = TOK_ERROR;
    while (lx->pos < lx->len && peek(lx, 0) != '\n') advance(lx); /* resume on the next line */
  }
  ir_free(buf);
}

/* Lexes a number (with optional leading '-') into t. */
static void lex_number(Lexer *lx, Token *t) {
  size_t start = lx->pos;
  bool is_float = false, hex = false;
  if (peek(lx, 0) == '-' || peek(lx, 0) == '+') advance(lx);
  if (peek(lx, 0) == '0' && (peek(lx, 1) == 'x' || peek(lx, 1) == 'X')) {
    hex = true;
    advance(lx); advance(lx);
  }
  for (;;) {
    int c = peek(lx, 0);
    if (hex ? is_xdigit(c) : is_digit(c)) {
      advance(lx);
    } else if (c == '.') {
      is_float = true;
      advance(lx);
    } else if ((hex && (c == 'p' || c == 'P')) || (!hex && (c == 'e' || c == 'E'))) {
      is_float = true;
      advance(lx);
      if (peek(lx, 0) == '-' || peek(lx, 0) == '+') advance(lx);
    } else {
      break;
    }
  }
  size_t n = lx->pos - start;
  if (is_ident_char(peek(lx, 0)) || n > 128) {
    while (is_ident_char(peek(lx, 0))) advance(lx);
    diag_error(lx->diag, t->loc, "malformed number");
    t->kind = TOK_ERROR;
    return;
  }
  char buf[130];
  memcpy(buf, lx->src + start, n);
  buf[n] = 0;
  char *end;
  errno = 0;
  t->has_minus = buf[0] == '-';
  if (is_float) {
    t->kind = TOK_FLOAT;
    t->f = strtod(buf, &end);
  } else {
    t->kind = TOK_INT;
    t->i = strtoll(buf, &end, hex ? 16 : 10);
    if (hex && t->has_minus) t->i = -strtoll(buf + 1, &end, 16);
  }
  if (*end != 0 || end == buf) {
    diag_error(lx->diag, t->loc, "malformed number");
    t->kind = TOK_ERROR;
  } else if (errno == ERANGE && !is_float) {
    diag_error(lx->diag, t->loc, "integer does not fit in 64 bits");
    t->kind = TOK_ERROR;
  } else if (is_float && isinf(t->f)) {
    diag_error(lx->diag, t->loc, "number is too large (write inf for infinity)");
    t->kind = TOK_ERROR;
  }
  t->text = lx->src + start;
  t->len = n;
}

/* Lexes the name after '%' or '@' (bare identifier characters or a quoted string). */
static void lex_name(Lexer *lx, Token *t, TokKind kind) {
  advance(lx); /* the sigil */
  if (peek(lx, 0) == '"') {
    lex_string(lx, t);
    if (t->kind == TOK_ERROR) return;
    if (t->len == 0) { diag_error(lx->diag, t->loc, "empty name"); t->kind = TOK_ERROR; return; }
  } else {
    size_t start = lx->pos;
    while (is_ident_char(peek(lx, 0))) advance(lx);
    if (lx->pos == start) {
      diag_error(lx->diag, t->loc, "expected a name after '%c' (quote names that are not identifiers: %c\"a.b\")",
                 lx->src[start - 1], lx->src[start - 1]);
      t->kind = TOK_ERROR;
      return;
    }
    t->text = ir_arena_strndup(lx->arena, lx->src + start, lx->pos - start);
    t->len = lx->pos - start;
    if (!t->text) { diag_oom(lx->diag, t->loc); t->kind = TOK_ERROR; return; }
  }
  if (t->len > IR_MAX_NAME) {
    diag_error(lx->diag, t->loc, "name is longer than %d bytes", IR_MAX_NAME);
    t->kind = TOK_ERROR;
    return;
  }
  t->kind = kind;
}

Token lex_next(Lexer *lx) {
  Token t;
  memset(&t, 0, sizeof t);
  if (!skip_space(lx)) { t.kind = TOK_ERROR; t.loc = here(lx); return t; }
  t.loc = here(lx);
  int c = peek(lx, 0);
  if (lx->pos >= lx->len) { t.kind = TOK_EOF; return t; }
  if (c == 0) {
    diag_error(lx->diag, t.loc, "NUL byte in the text");
    advance(lx);
    t.kind = TOK_ERROR;
    return t;
  }
  if (is_ident_start(c)) {
    size_t start = lx->pos;
    while (is_ident_char(peek(lx, 0))) advance(lx);
    t.kind = TOK_IDENT;
    t.text = lx->src + start;
    t.len = lx->pos - start;
    if (t.len > IR_MAX_NAME) {
      diag_error(lx->diag, t.loc, "name is longer than %d bytes", IR_MAX_NAME);
      t.kind = TOK_ERROR;
    }
    return t;
  }
  if (is_digit(c) || (c == '.' && is_digit(peek(lx, 1))) ||
      ((c == '-' || c == '+') && (is_digit(peek(lx, 1)) || peek(lx, 1) == '.'))) {
    lex_number(lx, &t);
    return t;
  }
  if (c == '-' && peek(lx, 1) == 'i' && peek(lx, 2) == 'n' && peek(lx, 3) == 'f' && !is_ident_char(peek(lx, 4))) {
    for (int i = 0; i < 4; i++) advance(lx);
    t.kind = TOK_FLOAT;
    t.f = -HUGE_VAL;
    t.has_minus = true;
    t.text = lx->src + lx->pos - 4;
    t.len = 4;
    return t;
  }
  if (c == '-' && peek(lx, 1) == '>') { advance(lx); advance(lx); t.kind = TOK_ARROW; return t; }
  if (c == '%') { lex_name(lx, &t, TOK_VALUE); return t; }
  if (c == '@') { lex_name(lx, &t, TOK_GLOBAL); return t; }
  if (c == '"') {
    lex_string(lx, &t);
    if (t.kind != TOK_ERROR) t.kind = TOK_STRING;
    return t;
  }
  static const char punct[] = "()[]{}<>,:=^*";
  static const TokKind kinds[] = {TOK_LPAREN, TOK_RPAREN, TOK_LBRACKET, TOK_RBRACKET, TOK_LBRACE,
                                  TOK_RBRACE, TOK_LANGLE, TOK_RANGLE, TOK_COMMA, TOK_COLON,
                                  TOK_EQUAL, TOK_CARET, TOK_STAR};
  const char *p = strchr(punct, c);
  if (p) {
    advance(lx);
    t.kind = kinds[p - punct];
    return t;
  }
  if (c >= 0x80) {
    int n = ir_utf8_len((const unsigned char *)lx->src + lx->pos, lx->len - lx->pos);
    if (n == 0)
      diag_error(lx->diag, t.loc, "invalid UTF-8 byte 0x%02x", c);
    else
      diag_error(lx->diag, t.loc, "unexpected non-ASCII character (only strings and comments may hold them)");
    advance(lx);
    if (n > 1) lx->pos += (size_t)(n - 1);
    t.kind = TOK_ERROR;
    return t;
  }
  diag_error(lx->diag, t.loc, "unexpected character '%c'", c);
  advance(lx);
  t.kind = TOK_ERROR;
  return t;
}

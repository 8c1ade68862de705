/* lexer.h — tokens of the text IR (docs/ir.md, "Lexical structure"). */
#ifndef LATHE_FRONTEND_LEXER_H
#define LATHE_FRONTEND_LEXER_H

#include "ir/ir.h"

typedef enum {
  TOK_EOF,
  TOK_IDENT,   /* [A-Za-z_][A-Za-z0-9_]*: keywords, op names, dtypes, layouts */
  TOK_VALUE,   /* %name or %"quoted": text holds the name (unescaped) */
  TOK_GLOBAL,  /* @name or @"quoted" */
  TOK_INT,     /* decimal or 0x hex integer, optional '-' */
  TOK_FLOAT,   /* decimal or hex float, optional '-' */
  TOK_STRING,  /* "..." with \" \\ \n \t \xNN escapes: text holds it unescaped */
  TOK_LPAREN, TOK_RPAREN, TOK_LBRACKET, TOK_RBRACKET, TOK_LBRACE, TOK_RBRACE,
  TOK_LANGLE, TOK_RANGLE, TOK_COMMA, TOK_COLON, TOK_EQUAL, TOK_CARET, TOK_STAR, TOK_ARROW,
  TOK_ERROR,   /* a lexical error, already reported */
} TokKind;

typedef struct Token {
  TokKind kind;
  Loc loc;          /* where it starts */
  const char *text; /* TOK_IDENT: start in the source; TOK_VALUE/GLOBAL/STRING: unescaped copy */
  size_t len;       /* bytes of text */
  int64_t i;        /* TOK_INT */
  double f;         /* TOK_FLOAT */
  bool has_minus;   /* TOK_INT/TOK_FLOAT written with a leading '-' */
} Token;

typedef struct Lexer {
  const char *file;  /* interned name for locations */
  const char *src;   /* the text */
  size_t len;        /* bytes of src */
  size_t pos;        /* next byte */
  int line, col;     /* of the next byte */
  IrArena *arena;    /* for unescaped strings */
  DiagSink *diag;
} Lexer;

void lex_init(Lexer *lx, const char *file, const char *src, size_t len, IrArena *arena, DiagSink *d);
/* Returns the next token; errors are reported and returned as TOK_ERROR (the lexer has
 * moved past the bad bytes). */
Token lex_next(Lexer *lx);
/* A short description of a token kind for messages ("'('", "a value name"). */
const char *lex_kind_name(TokKind k);

#endif

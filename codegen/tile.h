/* tile.h — tiled loop nests built by ISL for the lowering of matrix products and convolutions
 * (lower_linalg.c, lower_conv.c); docs/codegen.md, "Tiling", says what they look like.
 *
 * A tiled nest is a few statements that share an outer band of `nout` dimensions (the
 * elements of the output: batch, rows, columns, or batch, channels, rows, columns), run in
 * order for each output element: for example "Y = bias", then "Y += X * W" over the
 * reduction dimensions, then "Y = alpha * Y + beta * C". Two levels of tiles:
 *
 * - cache tiles (optional): the output is cut into blocks of `cache` elements per dimension
 *   (a multiple of the register tile), and a statement's first own (reduction) dimension into
 *   blocks of `block` (k, or the input channels), so that what one block of the reduction
 *   touches for one output block stays in cache; for each output block, the statements run in
 *   order over the whole block, S1's reduction one block at a time;
 * - register tiles: inside, the output block is cut into tiles of `tile` (a few rows by a
 *   vector's width or more of columns); the loops over one tile's points are below the
 *   statement's own (reduction) loops, so the tile is updated for every reduction step and the
 *   innermost loop is the last output dimension (contiguous, so LLVM vectorizes it and keeps
 *   the tile in registers). Without reduction blocks, the register tile is shared by the
 *   statements (one tile is set, updated and finished while it is in registers).
 *
 * The register tiles whose every point lies in every statement's domain (full tiles) are
 * generated apart from the others (partial tiles, the ISL "isolate" option), so their point
 * loops have constant trip counts and no min()/max() bounds. A dimension's tiles may start at
 * an offset (`shift`): a convolution's columns whose taps fall in the padding then form their
 * own partial tiles at the edges and the interior ones are full. ISL (schedule trees with
 * floor-divided bands, the AST build) does the scheduling; the AST it generates is converted
 * to NestStmt loops, and each statement instance is emitted by the caller's callback. */
#ifndef LATHE_CODEGEN_TILE_H
#define LATHE_CODEGEN_TILE_H

#include "codegen/nest.h"

enum { CG_TILE_MAX_STMTS = 4, CG_TILE_MAX_DIMS = 8 };

/* Appends statement `stmt` of the nest for the iteration `iters` (its ndims dimensions, DT_I64
 * index expressions) to block b; false when out of memory. */
typedef bool (*CgTileEmit)(void *user, NestBlock *b, int stmt, NestExpr *const *iters);

/* One statement: its iteration domain is the box [0, extent[d]) over its dimensions d0, d1,
 * ... (the first nout are the shared outer band, the others its own loops, outermost first)
 * intersected with the constraints `where`. */
typedef struct CgTileStmt {
  int ndims;              /* nout .. CG_TILE_MAX_DIMS */
  const int64_t *extent;  /* ndims extents, each >= 1; the first nout equal CgTileNest.extent */
  const char *where;      /* NULL, or ISL constraints over d0, d1, ... ("d2 + d5 >= 1") */
  int64_t block;          /* 0, or the block size of the first own dimension (d_nout): the
                           * reduction's cache tile */
} CgTileStmt;

typedef struct CgTileNest {
  int nout;                /* dimensions of the shared outer band (1 .. CG_TILE_MAX_DIMS) */
  const int64_t *extent;   /* nout extents of the outer band */
  const int64_t *tile;     /* nout register tile sizes, each >= 1 */
  const int64_t *cache;    /* NULL, or nout cache tile sizes (each rounded up to a multiple of
                            * the register tile's) */
  const int64_t *shift;    /* NULL, or nout offsets: tile i of dimension d starts at
                            * shift[d] + i * size (0 <= shift[d] < size) */
  int nstmts;              /* statements (1 .. CG_TILE_MAX_STMTS), run in this order */
  const CgTileStmt *stmts;
  bool parallel;           /* run the outermost loop through parallel_for (its iterations are
                            * independent; the caller decides the nest is big enough) */
  CgTileEmit emit;         /* emits one statement instance */
  void *user;              /* passed to emit */
} CgTileNest;

/* Builds the tiled nest t into the empty block b of kernel k (loop variables become k's).
 * Returns false when ISL fails or generates a construct the nest IR cannot hold (a
 * conditional): b and k are then left as they were, and the caller lowers a plain nest.
 * Running out of memory in the nest builders sets p->arena.failed (the caller checks). */
bool cg_tile_build(NestProgram *p, NestKernel *k, NestBlock *b, const CgTileNest *t);

/* cg_tile_build keeps the AST ISL generates for each problem for the life of the process (a
 * repeated shape is not scheduled again; not thread-safe: the compiler lowers on one thread).
 * Forgets them, so the next build of each problem schedules it again: for tests that count
 * allocations, whose runs must each allocate alike. */
void cg_tile_forget(void);

#endif

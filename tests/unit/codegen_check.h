/* codegen_check.h — running one case of codegen_cases.h compiled, for the C backend's test
 * (test_codegen.c) and the LLVM backend's (test_llvm_nest.c): the case's graph parsed and
 * verified, its inputs filled from a seed, the reference interpreter run on them, then the
 * compiled entry point run serially and through an uneven parallel_for, every output element
 * compared (integers and bools exactly; floats within |compiled - interpreter| <= tol *
 * (1 + |interpreter|), NaN matching NaN). Include after <cmocka.h>. */
#ifndef LATHE_TESTS_CODEGEN_CHECK_H
#define LATHE_TESTS_CODEGEN_CHECK_H

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codegen_cases.h"
#include "frontend/parser.h"
#include "ir/interp.h"
#include "ir/op.h"
#include "ir/verify.h"
#include "lathe/lathe.h"
#include "lathe/model.h"

/* One model: what it tests, the tolerance of its float results, its text (without the
 * "lathe 1" line). */
typedef struct Case {
  const char *what;
  double tol;
  const char *text;
} Case;

/* Parses and verifies case c into a graph (its locations point into d's copy of the text);
 * NULL, reported to d, when it does not. */
static inline Graph *case_parse(const Case *c, DiagSink *d) {
  char text[4096];
  snprintf(text, sizeof text, "lathe 1\n%s", c->text);
  Graph *g = ir_parse_text(d, c->what, text, strlen(text));
  if (g && ir_verify(g, d) != IR_OK) {
    ir_graph_free(g);
    g = NULL;
  }
  return g;
}

/* splitmix64: the same inputs for the interpreter and the compiled code. */
static inline uint64_t case_next(uint64_t *s) {
  uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

/* Fills data (plain, of type t) with floats in [-2, 2) or integers in [-9, 9] without 0 (so
 * integer division has no zero divisor: the interpreter refuses it); u8 in [1, 200]; bools 0
 * or 1. */
static inline void case_fill(const TensorType *t, void *data, uint64_t *seed) {
  int64_t n = ir_type_numel(t);
  for (int64_t i = 0; i < n; i++) {
    uint64_t r = case_next(seed);
    int64_t v = (int64_t)(r % 9) + 1;
    if (r & (1ull << 40)) v = -v;
    switch (t->dtype) {
    case DT_F32: ((float *)data)[i] = (float)((double)(r >> 11) / 9007199254740992.0 * 4 - 2); break;
    case DT_I8: ((int8_t *)data)[i] = (int8_t)v; break;
    case DT_U8: ((uint8_t *)data)[i] = (uint8_t)(1 + r % 200); break;
    case DT_I32: ((int32_t *)data)[i] = (int32_t)v; break;
    case DT_I64: ((int64_t *)data)[i] = v; break;
    default: ((uint8_t *)data)[i] = (uint8_t)(r & 1); break;
    }
  }
}

/* Runs graph g of case c through the interpreter and through desc (the same model compiled;
 * `where` names it in failures) on inputs filled from seed, serially and with the uneven
 * parallel exec, and compares every output element. weights (not NULL: a model compiled with
 * its weights apart) go in the exec; run without them, the model must refuse. */
static inline void case_check(const Case *c, const Graph *g, const lathe_model_desc *desc, const char *where,
                              uint64_t seed, const void *weights, uint64_t weights_size) {
  int nin = g->body->nparams, nout = g->body->nresults;
  void *in[16] = {0}, *want[16] = {0}, *got[16] = {0};
  assert_true(nin <= 16 && nout <= 16);
  for (int k = 0; k < nin; k++) {
    const TensorType *t = &g->values[g->body->params[k]].type;
    in[k] = calloc(1, (size_t)ir_type_bytes(t) + 8);
    assert_non_null(in[k]);
    case_fill(t, in[k], &seed);
  }
  for (int k = 0; k < nout; k++) {
    want[k] = calloc(1, (size_t)ir_type_bytes(&g->output_types[k]) + 8);
    got[k] = calloc(1, (size_t)ir_type_bytes(&g->output_types[k]) + 8);
    assert_true(want[k] && got[k]);
  }
  DiagSink d;
  diag_init(&d, stderr);
  assert_int_equal(ir_interp_run(g, (const void *const *)in, want, &d), IR_OK);
  void *ws = NULL;
  assert_int_equal(posix_memalign(&ws, 64, (size_t)desc->record->workspace_size + 64), 0);
  lathe_exec ex = {LATHE_ABI_VERSION, sizeof(lathe_exec), uneven_parallel_for, NULL, weights, weights_size};
  lathe_exec serial = {LATHE_ABI_VERSION, sizeof(lathe_exec), NULL, NULL, weights, weights_size};
  if (weights) assert_int_equal(desc->run(NULL, (const void *const *)in, got, ws), LATHE_ERR_INPUT);
  for (int pass = 0; pass < 2; pass++) {
    for (int k = 0; k < nout; k++) memset(got[k], 0xab, (size_t)ir_type_bytes(&g->output_types[k]));
    assert_int_equal(desc->run(pass ? &ex : weights ? &serial : NULL, (const void *const *)in, got, ws), LATHE_OK);
    for (int k = 0; k < nout; k++) {
      Tensor tw = {g->output_types[k], want[k]}, tg = {g->output_types[k], got[k]};
      for (int64_t e = 0; e < ir_type_numel(&tw.type); e++) {
        double w = op_get(&tw, e), v = op_get(&tg, e);
        if (!(fabs(v - w) <= c->tol * (1 + fabs(w))) && !(isnan(v) && isnan(w)))
          fail_msg("%s on %s (%s): output %d element %lld: compiled %.9g, interpreter %.9g", c->what, where,
                   pass ? "parallel" : "serial", k, (long long)e, v, w);
      }
    }
  }
  free(ws);
  diag_free(&d);
  for (int k = 0; k < nin; k++) free(in[k]);
  for (int k = 0; k < nout; k++) {
    free(want[k]);
    free(got[k]);
  }
}

#endif

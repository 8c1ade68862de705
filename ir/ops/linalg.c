/* linalg.c — matrix products: gemm (ONNX Gemm) and matmul (numpy matmul). */
#include "ir/op.h"

#include <string.h>

static const DType float_dtypes[] = {DT_F32, DT_F16, DT_BF16, DT_INVALID};

/* a * b, or INT64_MAX when it overflows (a, b >= 0). */
static int64_t mul_sat(int64_t a, int64_t b) {
  int64_t r;
  return ir_mul_ok(a, b, &r) ? r : INT64_MAX;
}

/* ---- gemm ----------------------------------------------------------------------------------- */

static const AttrSpec gemm_attrs[] = {
    {"alpha", ATTR_FLOAT, false}, {"beta", ATTR_FLOAT, false},
    {"transA", ATTR_INT, false},  {"transB", ATTR_INT, false}, {0}};

/* The sizes of a gemm: op(A) is [M, K], op(B) is [Kb, N] (Kb == K when valid). */
typedef struct GemmDims {
  int64_t M, K, Kb, N;
  bool ta, tb;
} GemmDims;

/* Reads M, K, Kb, N of A and B (both rank 2) under the transposition flags. */
static void gemm_dims(const TensorType *a, const TensorType *b, bool ta, bool tb, GemmDims *d) {
  d->ta = ta;
  d->tb = tb;
  d->M = ta ? a->dims[1] : a->dims[0];
  d->K = ta ? a->dims[0] : a->dims[1];
  d->Kb = tb ? b->dims[1] : b->dims[0];
  d->N = tb ? b->dims[0] : b->dims[1];
}

/* A and B rank 2 with matching K; C (optional) unidirectionally broadcastable to [M, N]. */
static bool gemm_infer(InferCtx *c) {
  int64_t ta, tb;
  if (!op_check_dtype(c, 0, float_dtypes)) return false;
  for (int i = 1; i < c->nin; i++)
    if (!op_check_same_dtype(c, i, 0)) return false;
  if (!op_int_attr(c, "transA", 0, 0, 1, &ta) || !op_int_attr(c, "transB", 0, 0, 1, &tb)) return false;
  if (!op_check_rank(c, 0, 2) || !op_check_rank(c, 1, 2)) return false;
  GemmDims d;
  gemm_dims(c->in[0], c->in[1], ta, tb, &d);
  char sa[OP_SHAPE_BUF], sb[OP_SHAPE_BUF];
  if (d.K != d.Kb)
    return op_fail(c, NULL, "gemm: A %s gives K = %lld but B %s gives K = %lld (transA %d, transB %d)",
                   op_shape_str(c->in[0], sa, sizeof sa), (long long)d.K,
                   op_shape_str(c->in[1], sb, sizeof sb), (long long)d.Kb, (int)ta, (int)tb);
  int64_t dims[2] = {d.M, d.N};
  op_out(c, 0, c->in[0]->dtype, 2, dims);
  if (c->nin < 3) return true;
  const TensorType *ct = c->in[2];
  bool ok = ct->rank <= 2;
  for (int i = 0; ok && i < ct->rank; i++) {
    int64_t want = dims[i + 2 - ct->rank];
    ok = ct->dims[i] == want || ct->dims[i] == 1;
  }
  if (!ok)
    return op_fail(c, NULL, "gemm: C %s does not broadcast to the result %s",
                   op_shape_str(ct, sa, sizeof sa), op_shape_str(&c->out[0], sb, sizeof sb));
  return true;
}

/* Y[m, n] = alpha * sum_k op(A)[m, k] * op(B)[k, n] + beta * C[m, n], in double. */
static IrStatus gemm_eval(EvalCtx *c) {
  const Node *n = c->node;
  double alpha = ir_attr_float(n, "alpha", 1.0), beta = ir_attr_float(n, "beta", 1.0);
  GemmDims d;
  gemm_dims(&c->in[0].type, &c->in[1].type, ir_attr_int(n, "transA", 0), ir_attr_int(n, "transB", 0), &d);
  const Tensor *a = &c->in[0], *b = &c->in[1], *ct = c->nin > 2 ? &c->in[2] : NULL;
  Tensor *y = &c->out[0];
  for (int64_t m = 0; m < d.M; m++) {
    for (int64_t j = 0; j < d.N; j++) {
      double acc = 0;
      for (int64_t k = 0; k < d.K; k++) {
        double av = op_get(a, d.ta ? k * d.M + m : m * d.K + k);
        double bv = op_get(b, d.tb ? j * d.K + k : k * d.N + j);
        acc += av * bv;
      }
      double v = alpha * acc;
      if (ct) {
        int64_t idx[2] = {m, j};
        v += beta * op_get(ct, op_broadcast_offset(&ct->type, &y->type, idx));
      }
      op_set(y, m * d.N + j, v);
    }
  }
  return IR_OK;
}

/* M * N * K. */
static int64_t gemm_macs(const Graph *g, const Node *n) {
  GemmDims d;
  gemm_dims(&g->values[n->inputs[0]].type, &g->values[n->inputs[1]].type, ir_attr_int(n, "transA", 0),
            ir_attr_int(n, "transB", 0), &d);
  return mul_sat(mul_sat(d.M, d.N), d.K);
}

const OpImpl ir_impl_gemm = {gemm_attrs, gemm_infer, gemm_eval, gemm_macs};

/* ---- matmul ---------------------------------------------------------------------------------- */

static const AttrSpec no_attrs[] = {{0}};

/* The sizes of a matmul: batch shapes of A, B and the result, and the matrix sizes
 * (a rank-1 A is [1, K], a rank-1 B is [K, 1]). */
typedef struct MatmulDims {
  TensorType abatch, bbatch, obatch;
  int64_t M, K, Kb, N;
} MatmulDims;

/* Splits A and B (rank >= 1) into batch and matrix parts; obatch is the broadcast batch shape
 * (meaningful when the batch shapes broadcast). */
static void matmul_dims(const TensorType *a, const TensorType *b, MatmulDims *d) {
  memset(d, 0, sizeof *d);
  d->M = a->rank >= 2 ? a->dims[a->rank - 2] : 1;
  d->K = a->dims[a->rank - 1];
  d->Kb = b->rank >= 2 ? b->dims[b->rank - 2] : b->dims[0];
  d->N = b->rank >= 2 ? b->dims[b->rank - 1] : 1;
  d->abatch.rank = a->rank > 2 ? a->rank - 2 : 0;
  d->bbatch.rank = b->rank > 2 ? b->rank - 2 : 0;
  for (int i = 0; i < d->abatch.rank; i++) d->abatch.dims[i] = a->dims[i];
  for (int i = 0; i < d->bbatch.rank; i++) d->bbatch.dims[i] = b->dims[i];
  int r = d->abatch.rank > d->bbatch.rank ? d->abatch.rank : d->bbatch.rank;
  d->obatch.rank = r;
  for (int i = 0; i < r; i++) {
    int ia = i - (r - d->abatch.rank), ib = i - (r - d->bbatch.rank);
    int64_t da = ia >= 0 ? d->abatch.dims[ia] : 1, db = ib >= 0 ? d->bbatch.dims[ib] : 1;
    d->obatch.dims[i] = da == 1 ? db : da;
  }
}

/* Float operands of rank >= 1 with matching K and broadcastable batch dimensions. */
static bool matmul_infer(InferCtx *c) {
  const TensorType *a = c->in[0], *b = c->in[1];
  char sa[OP_SHAPE_BUF], sb[OP_SHAPE_BUF];
  if (!op_check_dtype(c, 0, float_dtypes) || !op_check_same_dtype(c, 1, 0)) return false;
  if (a->rank < 1 || b->rank < 1)
    return op_fail(c, NULL, "matmul: operands must have rank >= 1 (got %d and %d)", a->rank, b->rank);
  MatmulDims d;
  matmul_dims(a, b, &d);
  if (d.K != d.Kb)
    return op_fail(c, NULL, "matmul: A %s has K = %lld but B %s has K = %lld", op_shape_str(a, sa, sizeof sa),
                   (long long)d.K, op_shape_str(b, sb, sizeof sb), (long long)d.Kb);
  int r = d.obatch.rank;
  for (int i = 0; i < r; i++) {
    int ia = i - (r - d.abatch.rank), ib = i - (r - d.bbatch.rank);
    int64_t da = ia >= 0 ? d.abatch.dims[ia] : 1, db = ib >= 0 ? d.bbatch.dims[ib] : 1;
    if (da != db && da != 1 && db != 1)
      return op_fail(c, NULL, "matmul: batch dimensions %s of A and %s of B do not broadcast (%lld vs %lld)",
                     op_shape_str(&d.abatch, sa, sizeof sa), op_shape_str(&d.bbatch, sb, sizeof sb),
                     (long long)da, (long long)db);
  }
  int64_t dims[IR_MAX_RANK];
  int rank = 0;
  for (int i = 0; i < r; i++) dims[rank++] = d.obatch.dims[i];
  if (a->rank >= 2) dims[rank++] = d.M;
  if (b->rank >= 2) dims[rank++] = d.N;
  op_out(c, 0, a->dtype, rank, dims);
  return true;
}

/* For each batch element, Y[m, n] = sum_k A[m, k] * B[k, n] in double. */
static IrStatus matmul_eval(EvalCtx *c) {
  const Tensor *a = &c->in[0], *b = &c->in[1];
  Tensor *y = &c->out[0];
  MatmulDims d;
  matmul_dims(&a->type, &b->type, &d);
  if (ir_type_numel(&y->type) == 0) return IR_OK;
  int64_t idx[IR_MAX_RANK] = {0}, batch = 0;
  do {
    int64_t ao = op_broadcast_offset(&d.abatch, &d.obatch, idx) * d.M * d.K;
    int64_t bo = op_broadcast_offset(&d.bbatch, &d.obatch, idx) * d.K * d.N;
    int64_t yo = batch * d.M * d.N;
    for (int64_t m = 0; m < d.M; m++) {
      for (int64_t j = 0; j < d.N; j++) {
        double acc = 0;
        for (int64_t k = 0; k < d.K; k++) acc += op_get(a, ao + m * d.K + k) * op_get(b, bo + k * d.N + j);
        op_set(y, yo + m * d.N + j, acc);
      }
    }
    batch++;
  } while (op_next_index(&d.obatch, idx));
  return IR_OK;
}

/* batch * M * N * K. */
static int64_t matmul_macs(const Graph *g, const Node *n) {
  MatmulDims d;
  matmul_dims(&g->values[n->inputs[0]].type, &g->values[n->inputs[1]].type, &d);
  return mul_sat(mul_sat(mul_sat(ir_type_numel(&d.obatch), d.M), d.N), d.K);
}

const OpImpl ir_impl_matmul = {no_attrs, matmul_infer, matmul_eval, matmul_macs};

/* test_vmath.c — the error of vmath's exp, tanh, erf, sigmoid and log, in ULP, against libm
 * in double precision over a sweep of the float range (every 4099th bit pattern, both signs,
 * subnormals, infinities and NaNs included), on every target this machine runs. The bounds
 * are the per-op tolerances of docs/llvm.md. LATHE_VMATH_STRIDE sets another stride (make
 * check-all sweeps every 257th pattern). */
#include <float.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "llvm_harness.h"

/* The tolerances of docs/llvm.md, in ULP of the correctly rounded result. */
static const double tolerance[VM_NOPS] = {
    [VM_EXP] = 1.5, [VM_TANH] = 2.0, [VM_ERF] = 3.0, [VM_SIGMOID] = 3.0, [VM_LOG] = 1.5};

/* libm's value in double precision. */
static double reference(VmathOp op, float x) {
  double d = x;
  switch (op) {
  case VM_EXP: return exp(d);
  case VM_TANH: return tanh(d);
  case VM_ERF: return erf(d);
  case VM_SIGMOID: return 1.0 / (1.0 + exp(-d));
  case VM_LOG: return log(d);
  case VM_NOPS: break;
  }
  return NAN;
}

/* |got - want| in units of the last place of want rounded to float; 0 for matching NaNs and
 * infinities, infinite for a NaN or infinity where none belongs. */
static double ulp_error(float got, double want) {
  if (isnan(want)) return isnan(got) ? 0.0 : INFINITY;
  float wf = (float)want;
  if (isinf(wf) || isinf(got)) return got == wf ? 0.0 : INFINITY;
  if (isnan(got)) return INFINITY;
  double u = fabs(wf) < FLT_MIN ? ldexp(1.0, -149) : ldexp(1.0, ilogbf(wf) - 23);
  return fabs((double)got - want) / u;
}

/* The inputs: every stride-th float bit pattern (4099 unless LATHE_VMATH_STRIDE says) and
 * the special values. */
static float *sweep_inputs(int64_t *count) {
  const char *env = getenv("LATHE_VMATH_STRIDE");
  uint64_t stride = env && atoll(env) > 0 ? (uint64_t)atoll(env) : 4099;
  static const float special[] = {0.0f, -0.0f, INFINITY, -INFINITY, NAN, FLT_MIN, FLT_TRUE_MIN,
                                  FLT_MAX, -FLT_MAX, 1.0f, -1.0f, 0.625f, 88.72f, -103.9f};
  int64_t n = (int64_t)(((uint64_t)1 << 32) / stride) + 1 + (int64_t)(sizeof special / sizeof special[0]);
  float *x = malloc((size_t)n * sizeof *x);
  assert_non_null(x);
  int64_t k = 0;
  for (uint64_t bits = 0; bits < ((uint64_t)1 << 32); bits += stride) {
    uint32_t b = (uint32_t)bits;
    memcpy(&x[k++], &b, 4);
  }
  for (size_t i = 0; i < sizeof special / sizeof special[0]; i++) x[k++] = special[i];
  *count = k;
  return x;
}

/* Compiles every op for target and checks the error of each over the sweep. */
static void sweep_target(const char *target) {
  DiagSink d;
  diag_init(&d, stderr);
  LlvmTarget t;
  assert_int_equal(cg_llvm_target_init(&t, target, &d), IR_OK);
  unsigned lanes = t.lanes;
  uint64_t need = t.cpu_features;
  cg_llvm_target_free(&t);
  diag_free(&d);
  if (!cpu_runs(need)) {
    printf("vmath %s: skipped (this CPU lacks its features)\n", target);
    skip();
  }
  int64_t n;
  float *x = sweep_inputs(&n);
  MapBody mb = {.nops = VM_NOPS, .lanes = lanes, .n = n};
  lathe_tensor_desc in = vec_desc("x", n), outs[VM_NOPS];
  float *y[VM_NOPS];
  for (int k = 0; k < VM_NOPS; k++) {
    mb.ops[k] = k;
    outs[k] = vec_desc(cg_vmath_name((VmathOp)k), n);
    y[k] = malloc((size_t)n * sizeof(float));
    assert_non_null(y[k]);
  }
  LlvmModelSpec m = {.name = "vm", .inputs = &in, .outputs = outs, .ninputs = 1,
                     .noutputs = VM_NOPS, .body = map_body, .user = &mb};
  char base[64];
  snprintf(base, sizeof base, "vmath_%s", target);
  void *h = build_model(target, &m, base, "s");
  lathe_run_fn run = (lathe_run_fn)model_sym(h, "vm", "run");
  const void *inp[] = {x};
  void *outp[VM_NOPS];
  for (int k = 0; k < VM_NOPS; k++) outp[k] = y[k];
  assert_int_equal(run(NULL, inp, outp, NULL), LATHE_OK);
  for (int k = 0; k < VM_NOPS; k++) {
    double worst = 0;
    float worst_x = 0, worst_y = 0;
    for (int64_t i = 0; i < n; i++) {
      double e = ulp_error(y[k][i], reference((VmathOp)k, x[i]));
      if (e > worst || isnan(e)) {
        worst = e;
        worst_x = x[i];
        worst_y = y[k][i];
      }
    }
    printf("vmath %-9s %-8s max error %.2f ULP (at x = %.9g)\n", target,
           cg_vmath_name((VmathOp)k), worst, worst_x);
    if (!(worst <= tolerance[k]))
      fail_msg("%s on %s: %.2f ULP at x = %.9g (%a): got %.9g, libm %.9g", cg_vmath_name((VmathOp)k),
               target, worst, worst_x, worst_x, worst_y, reference((VmathOp)k, worst_x));
    free(y[k]);
  }
  dlclose(h);
  free(x);
}

static void test_generic(void **state) { (void)state; sweep_target("generic"); }
static void test_x86_64_v3(void **state) { (void)state; sweep_target("x86-64-v3"); }
static void test_x86_64_v4(void **state) { (void)state; sweep_target("x86-64-v4"); }
static void test_native(void **state) { (void)state; sweep_target("native"); }

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_generic),
      cmocka_unit_test(test_x86_64_v3),
      cmocka_unit_test(test_x86_64_v4),
      cmocka_unit_test(test_native),
  };
  return cmocka_run_group_tests(tests, llvm_dir_setup, NULL);
}

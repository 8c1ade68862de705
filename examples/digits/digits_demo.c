/* digits_demo.c — runs the bundled digits model on its 360 held-out images with the
 * reference interpreter and prints the accuracy and the median time per image; given the
 * model compiled to a shared object (`lathe compile digits.lathe -o digits.so`), also runs
 * that through liblathe_rt and prints its accuracy, median time and the speed-up.
 * usage: digits_demo DIR [DIGITS.so]   (DIR holds digits.lathe, test_images.npy,
 *        test_labels.npy) */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "frontend/npy.h"
#include "frontend/parser.h"
#include "ir/interp.h"
#include "lathe/runtime.h"

/* Returns the index of the largest of n floats. */
static int argmax(const float *v, int n) {
  int best = 0;
  for (int i = 1; i < n; i++)
    if (v[i] > v[best]) best = i;
  return best;
}

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static int by_value(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

/* The median of n times (sorts them). */
static double median(double *t, int64_t n) {
  qsort(t, (size_t)n, sizeof *t, by_value);
  return t[n / 2];
}

/* Runs the compiled model at so on the count images; returns the images it got right, or
 * -1 after printing why not. times[k] gets image k's seconds. */
static int run_compiled(const char *so, const float *images, int64_t per_image, const int64_t *labels,
                        int64_t count, double *times) {
  lathe_error err;
  lathe_model *m = NULL;
  void *ws = NULL;
  int correct = 0;
  if (lathe_model_open(so, &m, &err) != LATHE_OK || !(ws = lathe_model_alloc_workspace(m, &err))) {
    fprintf(stderr, "digits_demo: %s\n", err.message);
    lathe_model_close(m);
    return -1;
  }
  float probs[10];
  const size_t in_size = (size_t)per_image * sizeof(float), out_size = sizeof probs;
  for (int64_t k = 0; k < count && correct >= 0; k++) {
    const void *inputs[1] = {images + k * per_image};
    void *outputs[1] = {probs};
    double t0 = now();
    if (lathe_model_run(m, NULL, inputs, &in_size, outputs, &out_size, ws, &err) != LATHE_OK) {
      fprintf(stderr, "digits_demo: %s\n", err.message);
      correct = -1;
      break;
    }
    times[k] = now() - t0;
    correct += argmax(probs, 10) == labels[k];
  }
  lathe_model_free_workspace(ws);
  lathe_model_close(m);
  return correct;
}

int main(int argc, char **argv) {
  if (argc != 2 && argc != 3) {
    fprintf(stderr, "usage: digits_demo DIR [DIGITS.so]\n");
    return 2;
  }
  double *times = NULL;
  char path[4096];
  DiagSink d;
  diag_init(&d, stderr);
  Graph *g = NULL;
  Tensor images, labels;
  IrBuffer *ibuf = NULL, *lbuf = NULL;
  int rc = 1;
  snprintf(path, sizeof path, "%s/digits.lathe", argv[1]);
  if (ir_load(&d, path, LOAD_VERIFY | LOAD_WEIGHTS, &g) != IR_OK) goto done;
  snprintf(path, sizeof path, "%s/test_images.npy", argv[1]);
  if (npy_read(path, &images, &ibuf, &d) != IR_OK) goto done;
  snprintf(path, sizeof path, "%s/test_labels.npy", argv[1]);
  if (npy_read(path, &labels, &lbuf, &d) != IR_OK) goto done;
  const TensorType *in = &g->values[g->body->params[0]].type;
  int64_t per_image = ir_type_numel(in);
  int64_t count = labels.type.dims[0];
  if (images.type.dtype != DT_F32 || labels.type.dtype != DT_I64 || ir_type_numel(&images.type) != count * per_image ||
      ir_type_numel(&g->output_types[0]) != 10) {
    fprintf(stderr, "digits_demo: the images, labels and model do not fit together\n");
    goto done;
  }
  int correct = 0;
  float probs[10];
  times = malloc((size_t)count * sizeof *times + 1);
  if (!times) goto done;
  for (int64_t k = 0; k < count; k++) {
    const void *inputs[1] = {(const float *)images.data + k * per_image};
    void *outputs[1] = {probs};
    double t0 = now();
    if (ir_interp_run(g, inputs, outputs, &d) != IR_OK) goto done;
    times[k] = now() - t0;
    correct += argmax(probs, 10) == ((const int64_t *)labels.data)[k];
  }
  double interp = median(times, count);
  printf("digits: %d of %lld held-out images right: accuracy %.2f %%\n", correct, (long long)count,
         100.0 * correct / (double)count);
  printf("interpreter: median %.2f us per image\n", interp * 1e6);
  if (argc == 3) {
    correct = run_compiled(argv[2], images.data, per_image, labels.data, count, times);
    if (correct < 0) goto done;
    double compiled = median(times, count);
    printf("compiled (%s): %d of %lld right: accuracy %.2f %%; median %.2f us per image, %.1fx the interpreter's speed\n",
           argv[2], correct, (long long)count, 100.0 * correct / (double)count, compiled * 1e6, interp / compiled);
  }
  rc = 0;
done:
  free(times);
  ir_buffer_unref(ibuf);
  ir_buffer_unref(lbuf);
  ir_graph_free(g);
  diag_free(&d);
  return rc;
}

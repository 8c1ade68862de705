/* digits_demo.c — runs the bundled digits model on its 360 held-out images with the
 * reference interpreter and prints the accuracy and the time per image.
 * usage: digits_demo DIR   (DIR holds digits.lathe, test_images.npy, test_labels.npy) */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "frontend/npy.h"
#include "frontend/parser.h"
#include "ir/interp.h"

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

int main(int argc, char **argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: digits_demo DIR\n");
    return 2;
  }
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
  double t0 = now();
  for (int64_t k = 0; k < count; k++) {
    const void *inputs[1] = {(const float *)images.data + k * per_image};
    void *outputs[1] = {probs};
    if (ir_interp_run(g, inputs, outputs, &d) != IR_OK) goto done;
    correct += argmax(probs, 10) == ((const int64_t *)labels.data)[k];
  }
  double t1 = now();
  printf("digits: %d of %lld held-out images right: accuracy %.2f %%\n", correct, (long long)count,
         100.0 * correct / (double)count);
  printf("interpreter: %.1f us per image\n", (t1 - t0) / (double)count * 1e6);
  rc = 0;
done:
  ir_buffer_unref(ibuf);
  ir_buffer_unref(lbuf);
  ir_graph_free(g);
  diag_free(&d);
  return rc;
}

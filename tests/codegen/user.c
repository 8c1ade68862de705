/* user.c — a program as a user writes it against a model compiled with
 * `lathe compile digits.lathe -o digits --emit=c,header`: it includes the generated header,
 * runs the 360 held-out digits through the typed wrapper and prints the accuracy, the
 * largest difference from the probabilities torch computed (test_probs.npy) and the median
 * time per image; then checks the entry point's refusals (misaligned workspace, NULL
 * buffers, another ABI version).
 * usage: user IMAGES.npy LABELS.npy PROBS.npy */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <lathe/lathe.h>

#include "digits.h"

/* Reads a version-1 .npy file of little-endian elements whose header names `descr`; returns
 * the data (malloc'd) and its byte count, or NULL. */
static void *read_npy(const char *path, const char *descr, long *bytes) {
  FILE *f = fopen(path, "rb");
  unsigned char head[10];
  if (!f || fread(head, 1, 10, f) != 10 || memcmp(head, "\x93NUMPY", 6) != 0) {
    fprintf(stderr, "%s: not a .npy file\n", path);
    if (f) fclose(f);
    return NULL;
  }
  long hlen = head[8] | (head[9] << 8);
  char *h = calloc(1, (size_t)hlen + 1);
  fseek(f, 0, SEEK_END);
  long size = ftell(f) - 10 - hlen;
  fseek(f, 10, SEEK_SET);
  void *data = h && size > 0 ? malloc((size_t)size) : NULL;
  if (!data || fread(h, 1, (size_t)hlen, f) != (size_t)hlen || !strstr(h, descr) ||
      fread(data, 1, (size_t)size, f) != (size_t)size) {
    fprintf(stderr, "%s: not a .npy file of %s\n", path, descr);
    free(data);
    data = NULL;
  }
  free(h);
  fclose(f);
  *bytes = size;
  return data;
}

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

int main(int argc, char **argv) {
  long ib, lb, pb;
  if (argc != 4) return 2;
  float *images = read_npy(argv[1], "'<f4'", &ib);
  long long *labels = read_npy(argv[2], "'<i8'", &lb);
  float *ref = read_npy(argv[3], "'<f4'", &pb);
  if (!images || !labels || !ref) return 1;
  long count = lb / 8;
  if (ib != count * 64 * 4 || pb != count * 10 * 4) {
    fprintf(stderr, "the images, labels and probabilities do not fit together\n");
    return 1;
  }
  /* One workspace, 64-byte aligned as the header says. */
  void *mem = NULL;
  if (posix_memalign(&mem, 64, DIGITS_WORKSPACE_SIZE + 64) != 0) return 1;
  unsigned char *ws = mem;
  double *times = malloc(sizeof(double) * (size_t)count), maxdiff = 0;
  int correct = 0;
  for (long k = 0; k < count; k++) {
    float probs[10];
    double t0 = now();
    int st = digits_run_f32(images + k * 64, probs, ws);
    times[k] = now() - t0;
    if (st != LATHE_OK) {
      fprintf(stderr, "digits_run_f32: status %d\n", st);
      return 1;
    }
    int best = 0;
    for (int i = 0; i < 10; i++) {
      if (probs[i] > probs[best]) best = i;
      double diff = fabs((double)probs[i] - (double)ref[k * 10 + i]);
      if (diff > maxdiff) maxdiff = diff;
    }
    correct += best == labels[k];
  }
  qsort(times, (size_t)count, sizeof *times, cmp_double);
  printf("accuracy %.2f %% (%d of %ld)\n", 100.0 * correct / (double)count, correct, count);
  printf("max |p - torch| %.3g\n", maxdiff);
  printf("median %.2f us per image\n", times[count / 2] * 1e6);

  /* The refusals the ABI promises (docs/abi.md). */
  float probs[10];
  const void *in[1] = {images};
  void *out[1] = {probs};
  lathe_exec other = {LATHE_ABI_VERSION + 1, sizeof(lathe_exec), 0, 0, 0, 0};
  printf("misaligned workspace: %s\n", digits_run(NULL, in, out, ws + 8) == LATHE_ERR_ALIGN ? "refused" : "ACCEPTED");
  out[0] = NULL;
  printf("NULL output: %s\n", digits_run(NULL, in, out, ws) == LATHE_ERR_INPUT ? "refused" : "ACCEPTED");
  out[0] = probs;
  printf("other ABI: %s\n", digits_run(&other, in, out, ws) == LATHE_ERR_ABI ? "refused" : "ACCEPTED");
  printf("descriptor: %s %s %lld bytes workspace\n", digits_desc.inputs[0].name, digits_desc.outputs[0].name,
         (long long)digits_desc.record->workspace_size);
  free(times);
  free(ws);
  free(images);
  free(labels);
  free(ref);
  return 0;
}

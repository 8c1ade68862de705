/* ports.c — the inputs and outputs of a model as `lathe run` and `lathe opt --bisect` hold
 * them: named row-major buffers, filled from seeded random values and .npy files, and the
 * physical form the interpreter reads; compiled artifacts opened and run on them through
 * liblathe_rt. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "frontend/npy.h"
#include "ir/interp.h"
#include "ir/printer.h"
#include "lathe/runtime.h"
#include "tools/commands.h"

bool ports_alloc(RunPort *ports, int n) {
  for (int i = 0; i < n; i++) {
    ports[i].data = calloc(1, (size_t)ir_type_bytes(&ports[i].type) + 1);
    if (!ports[i].data) return false;
  }
  return true;
}

void ports_free(RunPort *ports, int n) {
  for (int i = 0; ports && i < n; i++) free(ports[i].data);
  free(ports);
}

/* Binds one --in NAME=FILE: reads the file into the input port named NAME. */
static IrStatus bind_input(RunPort *ins, int nin, const char *spec, DiagSink *d) {
  const char *eq = strchr(spec, '=');
  if (!eq) return IR_ERR_USAGE;
  size_t len = (size_t)(eq - spec);
  if (len && spec[0] == '%') { spec++; len--; }
  for (int i = 0; i < nin; i++) {
    if (strlen(ins[i].name) != len || memcmp(ins[i].name, spec, len) != 0) continue;
    Tensor t;
    IrBuffer *buf;
    IrStatus st = npy_read(eq + 1, &t, &buf, d);
    if (st != IR_OK) return st;
    if (!ir_type_equal(&t.type, &ins[i].type)) {
      char a[256], b[256];
      diag_error(d, loc_file(eq + 1), "input %%%s needs %s but the file holds %s", ins[i].name,
                 ir_type_str(&ins[i].type, a, sizeof a), ir_type_str(&t.type, b, sizeof b));
      ir_buffer_unref(buf);
      return IR_ERR_INPUT;
    }
    memcpy(ins[i].data, t.data, (size_t)ir_type_bytes(&t.type));
    ir_buffer_unref(buf);
    return IR_OK;
  }
  diag_error(d, loc_none(), "--in %.*s: the model has no input named %%%.*s", (int)len, spec, (int)len, spec);
  return IR_ERR_INPUT;
}

IrStatus fill_inputs(RunPort *ins, int nin, const char *const *specs, int nspecs, uint64_t seed, DiagSink *d) {
  for (int i = 0; i < nin; i++) ir_fill_random(&ins[i].type, ins[i].data, &seed);
  for (int k = 0; k < nspecs; k++) {
    IrStatus st = bind_input(ins, nin, specs[k], d);
    if (st != IR_OK) return st;
  }
  return IR_OK;
}


IrStatus graph_ports(const Graph *g, RunPort **ins, RunPort **outs, DiagSink *d) {
  int nin = g->body->nparams, nout = g->body->nresults;
  *ins = calloc((size_t)nin + 1, sizeof **ins);
  *outs = calloc((size_t)nout + 1, sizeof **outs);
  if (!*ins || !*outs) return diag_oom(d, loc_none());
  for (int i = 0; i < nin; i++) {
    const Value *v = &g->values[g->body->params[i]];
    (*ins)[i] = (RunPort){v->name, ir_type_plain(&v->type, v->type.dtype), NULL};
  }
  for (int i = 0; i < nout; i++) {
    const TensorType *t = &g->output_types[i];
    (*outs)[i] = (RunPort){g->output_names[i], ir_type_plain(t, t->dtype), NULL};
  }
  return ports_alloc(*ins, nin) && ports_alloc(*outs, nout) ? IR_OK : diag_oom(d, loc_none());
}

void **physical_alloc(const Graph *g, bool inputs) {
  int n = inputs ? g->body->nparams : g->body->nresults;
  void **bufs = calloc((size_t)n + 1, sizeof *bufs);
  for (int i = 0; bufs && i < n; i++) {
    const TensorType *t = inputs ? &g->values[g->body->params[i]].type : &g->output_types[i];
    if (!(bufs[i] = calloc(1, (size_t)ir_type_bytes(t) + 1))) {
      physical_free(bufs, i);
      return NULL;
    }
  }
  return bufs;
}

void **physical_inputs(const Graph *g, const RunPort *ins) {
  void **bufs = physical_alloc(g, true);
  for (int i = 0; bufs && i < g->body->nparams; i++) {
    const TensorType *t = &g->values[g->body->params[i]].type;
    ir_tensor_pack(t, ins[i].data, t->dtype, bufs[i]);
  }
  return bufs;
}

void physical_free(void **bufs, int n) {
  for (int i = 0; bufs && i < n; i++) free(bufs[i]);
  free(bufs);
}

/* ---- compiled artifacts ---------------------------------------------------------------------- */

/* Reports a runtime error as a diagnostic (its message names the file) and returns the status
 * the tool's exit code comes from: 70 for an internal error, 1 for all else. */
static IrStatus rt_report(DiagSink *d, const lathe_error *err) {
  diag_error(d, loc_none(), "%s", err->message);
  return err->status == LATHE_ERR_INTERNAL ? IR_ERR_INTERNAL : IR_ERR_INPUT;
}

_Static_assert(LATHE_F32 == (int)DT_F32 && LATHE_BOOL == (int)DT_BOOL && LATHE_I64 == (int)DT_I64,
               "lathe_dtype numbers the dtypes as the text IR does");

IrStatus artifact_open(const char *path, const char *weights, lathe_model **m, DiagSink *d) {
  lathe_error err;
  if (lathe_model_open(path, m, &err) != LATHE_OK) return rt_report(d, &err);
  if (weights && lathe_model_load_weights(*m, weights, &err) != LATHE_OK) {
    lathe_model_close(*m);
    *m = NULL;
    return rt_report(d, &err);
  }
  return IR_OK;
}

RunPort *artifact_ports(const lathe_model *m, bool inputs) {
  int n = inputs ? lathe_model_ninputs(m) : lathe_model_noutputs(m);
  RunPort *ports = calloc((size_t)n + 1, sizeof *ports);
  for (int i = 0; ports && i < n; i++) {
    const lathe_tensor_desc *t = inputs ? lathe_model_input(m, i) : lathe_model_output(m, i);
    ports[i].name = t->name;
    ports[i].type = (TensorType){(DType)t->dtype, t->rank, {0}, NULL, NULL};
    memcpy(ports[i].type.dims, t->dims, sizeof ports[i].type.dims);
  }
  if (ports && !ports_alloc(ports, n)) {
    ports_free(ports, n);
    return NULL;
  }
  return ports;
}

/* Sorts n numbers in place (insertion: --time's counts are small). */
static void sort_times(double *t, int n) {
  for (int i = 1; i < n; i++)
    for (int j = i; j > 0 && t[j] < t[j - 1]; j--) {
      double x = t[j];
      t[j] = t[j - 1];
      t[j - 1] = x;
    }
}

void run_timing_print(double *t, int n) {
  if (n < 1) return;
  sort_times(t, n);
  double median = n % 2 ? t[n / 2] : (t[n / 2 - 1] + t[n / 2]) / 2;
  printf("time: median %.4f ms per run over %d runs (min %.4f ms, max %.4f ms)\n", median, n, t[0], t[n - 1]);
}

IrStatus artifact_run(lathe_model *m, const RunPort *ins, RunPort *outs, int timed, DiagSink *d) {
  lathe_error err;
  int nin = lathe_model_ninputs(m), nout = lathe_model_noutputs(m);
  const void **inputs = calloc((size_t)nin + 1, sizeof *inputs);
  void **outputs = calloc((size_t)nout + 1, sizeof *outputs);
  size_t *in_sizes = calloc((size_t)nin + 1, sizeof *in_sizes), *out_sizes = calloc((size_t)nout + 1, sizeof *out_sizes);
  void *ws = lathe_model_alloc_workspace(m, &err);
  IrStatus st = ws ? IR_OK : rt_report(d, &err);
  if (st == IR_OK && (!inputs || !outputs || !in_sizes || !out_sizes)) st = diag_oom(d, loc_none());
  for (int i = 0; st == IR_OK && i < nin; i++) {
    inputs[i] = ins[i].data;
    in_sizes[i] = lathe_model_input(m, i)->size;
  }
  for (int i = 0; st == IR_OK && i < nout; i++) {
    outputs[i] = outs[i].data;
    out_sizes[i] = lathe_model_output(m, i)->size;
  }
  if (st == IR_OK && lathe_model_run(m, NULL, inputs, in_sizes, outputs, out_sizes, ws, &err) != LATHE_OK)
    st = rt_report(d, &err);
  double *times = st == IR_OK && timed > 0 ? calloc((size_t)timed, sizeof *times) : NULL;
  if (st == IR_OK && timed > 0 && !times) st = diag_oom(d, loc_none());
  for (int i = 0; st == IR_OK && i < timed; i++) {
    double t0 = ir_now_ms();
    if (lathe_model_run(m, NULL, inputs, in_sizes, outputs, out_sizes, ws, &err) != LATHE_OK) st = rt_report(d, &err);
    times[i] = ir_now_ms() - t0;
  }
  if (st == IR_OK) run_timing_print(times, timed);
  free(times);
  lathe_model_free_workspace(ws);
  free(inputs);
  free(outputs);
  free(in_sizes);
  free(out_sizes);
  return st;
}

char *temp_so_path(DiagSink *d) {
  const char *dir = getenv("TMPDIR");
  if (!dir || !*dir) dir = "/tmp";
  size_t n = strlen(dir) + 32;
  char *so = malloc(n);
  if (!so) {
    diag_oom(d, loc_none());
    return NULL;
  }
  snprintf(so, n, "%s/lathe-run-XXXXXX.so", dir);
  int fd = mkstemps(so, 3); /* reserves the name; the compiler renames its file over it */
  if (fd < 0) {
    diag_error(d, loc_file(dir), "cannot make a temporary file: %s", strerror(errno));
    free(so);
    return NULL;
  }
  close(fd);
  return so;
}

/* model.c — opening a checked artifact (dlopen), its descriptor, sidecar weights, workspaces
 * and the run call. Only opening and loading allocate; lathe_model_run never does. */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ir/base.h"
#include "runtime/internal.h"
#include "runtime/io.h"

struct lathe_model {
  void *handle;                  /* from dlopen */
  const lathe_model_desc *desc;  /* NAME_desc in the loaded artifact */
  lathe_artifact_record record;  /* as read from the file before loading */
  void *weights;                 /* sidecar weights (64-byte aligned), or NULL */
  uint64_t weights_size;         /* bytes of weights */
};

/* ---- checking the descriptor ------------------------------------------------------------------- */

/* Checks one input or output of the descriptor: a name, a known dtype, a rank and dims in
 * range, and a byte size that is the dense size of its shape. */
static int check_tensor(const lathe_tensor_desc *t, const char *kind, int i, const char *path, lathe_error *err) {
  if (!t->name) return rt_fail(err, LATHE_ERR_CORRUPT, "%s: %s %d of the descriptor has no name", path, kind, i);
  int esize = rt_dtype_size(t->dtype);
  if (!esize || t->rank < 0 || t->rank > LATHE_MAX_RANK)
    return rt_fail(err, LATHE_ERR_CORRUPT, "%s: %s '%s' has dtype %d and rank %d", path, kind, t->name, t->dtype, t->rank);
  int64_t bytes = esize;
  for (int d = 0; d < t->rank; d++)
    if (t->dims[d] < 0 || !ir_mul_ok(bytes, t->dims[d], &bytes))
      return rt_fail(err, LATHE_ERR_CORRUPT, "%s: %s '%s' has a bad dimension %lld", path, kind, t->name,
                     (long long)t->dims[d]);
  if ((uint64_t)bytes != t->size) {
    char type[256];
    rt_format_type(t, type, sizeof type);
    return rt_fail(err, LATHE_ERR_CORRUPT, "%s: %s '%s' is %s (%lld bytes) but its descriptor says %llu bytes", path,
                   kind, t->name, type, (long long)bytes, (unsigned long long)t->size);
  }
  return LATHE_OK;
}

/* Checks the loaded descriptor against the record read from the file. */
static int check_desc(const lathe_model_desc *desc, const lathe_artifact_record *r, const char *path,
                      lathe_error *err) {
  if (!desc->record || memcmp(desc->record, r, sizeof *r) != 0)
    return rt_fail(err, LATHE_ERR_CORRUPT, "%s: %s_desc does not point at the record checked in the file", path, r->name);
  if (!desc->run) return rt_fail(err, LATHE_ERR_CORRUPT, "%s: %s_desc has no entry point", path, r->name);
  if (r->ninputs > IR_MAX_OPERANDS || r->noutputs > IR_MAX_OPERANDS || (r->ninputs && !desc->inputs) ||
      (r->noutputs && !desc->outputs))
    return rt_fail(err, LATHE_ERR_CORRUPT, "%s: %s_desc lacks its %u inputs or %u outputs", path, r->name, r->ninputs,
                   r->noutputs);
  for (uint32_t i = 0; i < r->ninputs; i++) {
    int st = check_tensor(&desc->inputs[i], "input", (int)i, path, err);
    if (st != LATHE_OK) return st;
  }
  for (uint32_t i = 0; i < r->noutputs; i++) {
    int st = check_tensor(&desc->outputs[i], "output", (int)i, path, err);
    if (st != LATHE_OK) return st;
  }
  return LATHE_OK;
}

/* ---- opening and closing ---------------------------------------------------------------------- */

/* dlopen's message for the last failure, or a fallback. */
static const char *dl_message(void) {
  const char *m = dlerror();
  return m ? m : "unknown dlopen error";
}

int lathe_model_open(const char *path, lathe_model **model, lathe_error *err) {
  if (!model) return rt_fail(err, LATHE_ERR_USAGE, "lathe_model_open: no place for the model");
  *model = NULL;
  if (!path) return rt_fail(err, LATHE_ERR_USAGE, "lathe_model_open: no path");
  lathe_model *m = ir_calloc(1, sizeof *m);
  if (!m) return rt_fail(err, LATHE_ERR_NOMEM, "%s: out of memory", path);
  int st = lathe_artifact_check(path, &m->record, err);
  if (st != LATHE_OK) {
    ir_free(m);
    return st;
  }
  /* dlopen searches the library path for a name without a slash: say "./" to mean this file.
   * Should the file change between the check and dlopen, the records compared below differ
   * (the loaded one carries its own content hash). */
  char *file = ir_malloc(strlen(path) + 3);
  if (!file) {
    ir_free(m);
    return rt_fail(err, LATHE_ERR_NOMEM, "%s: out of memory", path);
  }
  snprintf(file, strlen(path) + 3, "%s%s", strchr(path, '/') ? "" : "./", path);
  m->handle = dlopen(file, RTLD_LOCAL | RTLD_NOW);
  ir_free(file);
  if (!m->handle) {
    st = rt_fail(err, LATHE_ERR_CORRUPT, "%s: cannot load: %s", path, dl_message());
    ir_free(m);
    return st;
  }
  char symbol[sizeof m->record.name + 8];
  snprintf(symbol, sizeof symbol, "%s_desc", m->record.name);
  m->desc = dlsym(m->handle, symbol);
  if (!m->desc) st = rt_fail(err, LATHE_ERR_SYMBOL, "%s: no symbol %s, the model's descriptor", path, symbol);
  else st = check_desc(m->desc, &m->record, path, err);
  if (st != LATHE_OK) {
    lathe_model_close(m);
    return st;
  }
  *model = m;
  return rt_ok(err);
}

void lathe_model_close(lathe_model *model) {
  if (!model) return;
  if (model->handle) dlclose(model->handle);
  free(model->weights);
  ir_free(model);
}

/* ---- describing ---------------------------------------------------------------------------------- */

const lathe_artifact_record *lathe_model_record(const lathe_model *model) { return model ? &model->record : NULL; }

int lathe_model_ninputs(const lathe_model *model) { return model ? (int)model->record.ninputs : 0; }

int lathe_model_noutputs(const lathe_model *model) { return model ? (int)model->record.noutputs : 0; }

const lathe_tensor_desc *lathe_model_input(const lathe_model *model, int i) {
  return model && i >= 0 && (uint32_t)i < model->record.ninputs ? &model->desc->inputs[i] : NULL;
}

const lathe_tensor_desc *lathe_model_output(const lathe_model *model, int i) {
  return model && i >= 0 && (uint32_t)i < model->record.noutputs ? &model->desc->outputs[i] : NULL;
}

uint64_t lathe_model_workspace_size(const lathe_model *model) { return model ? model->record.workspace_size : 0; }

/* ---- memory: workspaces and weights --------------------------------------------------------- */

/* A new zeroed block of at least n bytes (at least one), LATHE_WORKSPACE_ALIGN-aligned, or NULL. */
static void *alloc_aligned(uint64_t n) {
  uint64_t rounded = (n + LATHE_WORKSPACE_ALIGN - 1) / LATHE_WORKSPACE_ALIGN * LATHE_WORKSPACE_ALIGN;
  if (rounded == 0) rounded = LATHE_WORKSPACE_ALIGN;
  if (rounded < n || rounded > (uint64_t)IR_MAX_FILE_BYTES) return NULL;
  void *p = aligned_alloc(LATHE_WORKSPACE_ALIGN, (size_t)rounded);
  if (p) memset(p, 0, (size_t)rounded);
  return p;
}

void *lathe_model_alloc_workspace(const lathe_model *model, lathe_error *err) {
  if (!model) {
    rt_fail(err, LATHE_ERR_USAGE, "lathe_model_alloc_workspace: no model");
    return NULL;
  }
  void *p = alloc_aligned(model->record.workspace_size);
  if (!p)
    rt_fail(err, LATHE_ERR_NOMEM, "out of memory for a workspace of %llu bytes",
            (unsigned long long)model->record.workspace_size);
  else
    rt_ok(err);
  return p;
}

void lathe_model_free_workspace(void *workspace) { free(workspace); }

int lathe_model_load_weights(lathe_model *model, const char *path, lathe_error *err) {
  if (!model || !path) return rt_fail(err, LATHE_ERR_USAGE, "lathe_model_load_weights: no model or no path");
  const lathe_artifact_record *r = &model->record;
  int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0) return rt_fail(err, LATHE_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
  struct stat st;
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    close(fd);
    return rt_fail(err, LATHE_ERR_IO, "%s: is not a regular file", path);
  }
  if ((uint64_t)st.st_size != r->weights_size) {
    close(fd);
    return rt_fail(err, LATHE_ERR_CORRUPT, "%s: the weights are %lld bytes but model '%s' needs %llu", path,
                   (long long)st.st_size, r->name, (unsigned long long)r->weights_size);
  }
  void *w = alloc_aligned(r->weights_size);
  if (!w) {
    close(fd);
    return rt_fail(err, LATHE_ERR_NOMEM, "%s: out of memory for %llu bytes of weights", path,
                   (unsigned long long)r->weights_size);
  }
  int64_t got = rt_read_full(fd, w, (int64_t)r->weights_size);
  int e = errno;
  close(fd);
  uint8_t hash[32];
  int status = LATHE_OK;
  if (got != (int64_t)r->weights_size)
    status = rt_fail(err, LATHE_ERR_IO, "%s: cannot read: %s", path, got < 0 ? strerror(e) : "the file shrank");
  else if (!rt_sha256(w, (size_t)r->weights_size, hash))
    status = rt_fail(err, LATHE_ERR_NOMEM, "%s: out of memory computing SHA-256", path);
  else if (memcmp(hash, r->weights_sha256, 32) != 0)
    status = rt_fail(err, LATHE_ERR_CORRUPT, "%s: the weights' SHA-256 is not the one model '%s' was compiled with",
                     path, r->name);
  if (status != LATHE_OK) {
    free(w);
    return status;
  }
  free(model->weights);
  model->weights = w;
  model->weights_size = r->weights_size;
  return rt_ok(err);
}

/* ---- running -------------------------------------------------------------------------------------- */

/* Checks one side of a run: n buffers, each non-NULL and of the described size. */
static int check_buffers(const lathe_tensor_desc *descs, uint32_t n, const void *const *bufs, const size_t *sizes,
                         const char *kind, lathe_error *err) {
  if (n && (!bufs || !sizes)) return rt_fail(err, LATHE_ERR_USAGE, "lathe_model_run: no %s or no %s sizes", kind, kind);
  for (uint32_t i = 0; i < n; i++) {
    const lathe_tensor_desc *t = &descs[i];
    if (!bufs[i]) return rt_fail(err, LATHE_ERR_INPUT, "%s '%s' (%u) is NULL", kind, t->name, i);
    if (sizes[i] != t->size) {
      char type[256];
      rt_format_type(t, type, sizeof type);
      return rt_fail(err, LATHE_ERR_SIZE, "%s '%s' is %zu bytes but the model needs %llu (%s)", kind, t->name, sizes[i],
                     (unsigned long long)t->size, type);
    }
  }
  return LATHE_OK;
}

int lathe_model_run(const lathe_model *model, const lathe_exec *ex, const void *const *inputs,
                    const size_t *in_sizes, void *const *outputs, const size_t *out_sizes, void *workspace,
                    lathe_error *err) {
  if (!model) return rt_fail(err, LATHE_ERR_USAGE, "lathe_model_run: no model");
  const lathe_artifact_record *r = &model->record;
  int st = check_buffers(model->desc->inputs, r->ninputs, inputs, in_sizes, "input", err);
  if (st == LATHE_OK)
    st = check_buffers(model->desc->outputs, r->noutputs, (const void *const *)outputs, out_sizes, "output", err);
  if (st != LATHE_OK) return st;
  if (r->workspace_size && !workspace)
    return rt_fail(err, LATHE_ERR_INPUT, "model '%s' needs a workspace of %llu bytes; none was given", r->name,
                   (unsigned long long)r->workspace_size);
  if ((uintptr_t)workspace % LATHE_WORKSPACE_ALIGN != 0)
    return rt_fail(err, LATHE_ERR_ALIGN, "the workspace at %p is not %d-byte aligned", workspace, LATHE_WORKSPACE_ALIGN);
  if (ex && (ex->abi_version != LATHE_ABI_VERSION || ex->size < sizeof *ex))
    return rt_fail(err, LATHE_ERR_ABI,
                   "the lathe_exec is of ABI version %u and %u bytes; this runtime has version %u, %zu bytes",
                   ex->abi_version, ex->size, LATHE_ABI_VERSION, sizeof *ex);
  /* Sidecar weights go to the model through a copy of the caller's exec (on the stack). */
  lathe_exec local;
  if (model->weights && (!ex || !ex->weights)) {
    if (ex) local = *ex;
    else memset(&local, 0, sizeof local);
    local.abi_version = LATHE_ABI_VERSION;
    local.size = sizeof local;
    local.weights = model->weights;
    local.weights_size = model->weights_size;
    ex = &local;
  }
  st = model->desc->run(ex, inputs, outputs, workspace);
  if (st != LATHE_OK)
    return rt_fail(err, st, "model '%s' returned status %d (%s)", r->name, st, lathe_status_string(st));
  return rt_ok(err);
}

/* save.c — writing a graph: the text IR and, beside it, a safetensors sidecar with its
 * weights, written so that neither file changes unless both are complete. The ONNX importer
 * (onnx_save) and `lathe opt` both write through ir_save. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "frontend/save.h"

#include "frontend/safetensors.h"
#include "ir/op.h"
#include "ir/fs.h"
#include "ir/printer.h"

/* The sidecar's path for lathe_path: ".lathe" replaced by ".safetensors" (appended when the
 * name has no ".lathe"). Returns an ir_malloc'd string or NULL. */
static char *sidecar_path(const char *lathe_path) {
  size_t len = strlen(lathe_path);
  if (len > 6 && !strcmp(lathe_path + len - 6, ".lathe")) len -= 6;
  char *s = ir_malloc(len + sizeof ".safetensors");
  if (s) {
    memcpy(s, lathe_path, len);
    memcpy(s + len, ".safetensors", sizeof ".safetensors");
  }
  return s;
}

/* Creates an empty file with a unique name beside path (path.tmp.XXXXXX) that the caller
 * fills and renames or removes; returns its ir_malloc'd name, or NULL (reported). */
static char *reserve_temp(const char *path, DiagSink *d) {
  char *name;
  int fd = ir_temp_beside(path, ".tmp.XXXXXX", &name, d);
  if (fd >= 0) close(fd);
  return name;
}

/* Removes a temporary file (when there is one) and frees its name. */
static void drop_temp(char *name) {
  if (name) unlink(name);
  ir_free(name);
}

bool ir_save_weights_filter(const Graph *g, const Node *n) {
  if (n->op != OP_CONST || !n->data) return false;
  const TensorType *t = &g->values[n->outputs[0]].type;
  return n->const_kind == CONST_WEIGHT || (!t->layout && ir_type_numel(t) > IR_SAVE_INLINE_MAX_ELEMENTS);
}

/* The name const node n's data has in the sidecar: its weight's, else its value's. */
static const char *sidecar_name(const Graph *g, const Node *n) {
  return n->const_kind == CONST_WEIGHT ? n->weight : g->values[n->outputs[0]].name;
}

/* Writes the constants of g that to_sidecar picks to the sidecar temp file (a weight that
 * several const nodes name, once) and fills the weights line's size and digest; *count
 * receives how many nodes there are (0: nothing written). */
static IrStatus write_sidecar(Graph *g, IrSaveFilter to_sidecar, const char *tmp, int *count, int64_t *size,
                              char sha[65], DiagSink *d) {
  const Region *r = g->body;
  int n = 0;
  for (int i = 0; i < r->nnodes; i++) n += to_sidecar(g, &g->nodes[r->nodes[i]]);
  *count = n;
  if (n == 0) return IR_OK;
  const char **names = ir_malloc(sizeof(char *) * (size_t)n);
  Tensor *tensors = ir_malloc(sizeof(Tensor) * (size_t)n);
  if (!names || !tensors) {
    ir_free(names);
    ir_free(tensors);
    return diag_oom(d, loc_file(tmp));
  }
  int k = 0;
  IrStatus st = IR_OK;
  for (int i = 0; i < r->nnodes && st == IR_OK; i++) {
    const Node *node = &g->nodes[r->nodes[i]];
    if (!to_sidecar(g, node)) continue;
    const Value *v = &g->values[node->outputs[0]];
    const char *name = sidecar_name(g, node);
    bool again = false;
    for (int j = 0; j < k && !again; j++) {
      if (strcmp(names[j], name) != 0) continue;
      again = true;
      if (tensors[j].data != node->data->data) {
        diag_error(d, node->loc, "two different constants would both be weight \"%s\"", name);
        st = IR_ERR_INPUT;
      }
    }
    if (again) continue;
    names[k] = name;
    tensors[k].type = v->type;
    tensors[k].data = node->data->data;
    k++;
  }
  if (st == IR_OK) st = st_write(tmp, k, names, tensors, d);
  ir_free(names);
  ir_free(tensors);
  IrBuffer *file = NULL;
  if (st == IR_OK) st = ir_read_file(tmp, IR_MAX_FILE_BYTES, &file, d);
  if (st == IR_OK) {
    *size = file->size;
    ir_sha256_hex(file->data, (size_t)file->size, sha);
  }
  ir_buffer_unref(file);
  return st;
}

/* The last component of path. */
static const char *base_name(const char *path) {
  const char *slash = strrchr(path, '/');
  return slash ? slash + 1 : path;
}

IrStatus ir_save(Graph *g, const char *lathe_path, IrSaveFilter to_sidecar, DiagSink *d) {
  char *side = sidecar_path(lathe_path);
  if (!side) return diag_oom(d, loc_file(lathe_path));
  char *side_tmp = reserve_temp(side, d), *lathe_tmp = NULL, *text = NULL;
  char sha[65] = "";
  int count = 0;
  int64_t size = 0;
  /* What is changed in g, to be put back on failure. */
  const char *old_path = g->weights_path, *old_sha = g->weights_sha256;
  int64_t old_size = g->weights_size;
  bool *was_dense = ir_calloc((size_t)g->body->nnodes + 1, sizeof *was_dense);
  IrStatus st = !was_dense ? diag_oom(d, loc_file(lathe_path)) : IR_OK;
  if (st == IR_OK) st = side_tmp ? write_sidecar(g, to_sidecar, side_tmp, &count, &size, sha, d) : IR_ERR_INPUT;
  if (st == IR_OK && count) {
    g->weights_path = ir_arena_strdup(&g->arena, base_name(side));
    g->weights_sha256 = ir_arena_strdup(&g->arena, sha);
    g->weights_size = size;
    if (!g->weights_path || !g->weights_sha256) st = diag_oom(d, loc_file(lathe_path));
    for (int i = 0; st == IR_OK && i < g->body->nnodes; i++) {
      Node *n = &g->nodes[g->body->nodes[i]];
      if (!to_sidecar(g, n)) continue;
      was_dense[i] = n->const_kind == CONST_DENSE;
      n->weight = sidecar_name(g, n);
      n->const_kind = CONST_WEIGHT;
    }
  } else if (st == IR_OK) {
    g->weights_path = NULL;
  }
  if (st == IR_OK) {
    text = ir_print_to_string(g);
    if (!text) st = diag_oom(d, loc_file(lathe_path));
  }
  if (st == IR_OK) st = (lathe_tmp = reserve_temp(lathe_path, d)) ? IR_OK : IR_ERR_INPUT;
  if (st == IR_OK) st = ir_write_file(lathe_tmp, text, strlen(text), d);
  /* Both are complete: the sidecar goes first, so that a .lathe never names a sidecar that
   * is not there (an old .lathe beside a new sidecar fails its SHA-256 check, loudly). */
  if (st == IR_OK && count && rename(side_tmp, side) != 0) {
    diag_error(d, loc_file(side), "cannot rename the written file into place: %s", strerror(errno));
    st = IR_ERR_INPUT;
  }
  if (st == IR_OK && rename(lathe_tmp, lathe_path) != 0) {
    diag_error(d, loc_file(lathe_path), "cannot rename the written file into place: %s", strerror(errno));
    st = IR_ERR_INPUT;
  }
  if (st == IR_OK && count) { ir_free(side_tmp); side_tmp = NULL; }
  if (st == IR_OK) { ir_free(lathe_tmp); lathe_tmp = NULL; }
  if (st != IR_OK) { /* g as it was */
    for (int i = 0; was_dense && i < g->body->nnodes; i++)
      if (was_dense[i]) g->nodes[g->body->nodes[i]].const_kind = CONST_DENSE;
    g->weights_path = old_path;
    g->weights_sha256 = old_sha;
    g->weights_size = old_size;
  }
  ir_free(was_dense);
  drop_temp(side_tmp);
  drop_temp(lathe_tmp);
  ir_free(text);
  ir_free(side);
  return st;
}

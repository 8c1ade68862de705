/* weights.c — the sidecar weights file, checked before any of it is used. */
#include "frontend/weights.h"

#include <string.h>
#include <sys/stat.h>

#include "frontend/parser.h"
#include "frontend/safetensors.h"
#include "ir/fs.h"
#include "ir/printer.h"
#include "ir/verify.h"

/* Joins dir and a relative path (an absolute path is used as it is); NULL when out of memory. */
static char *join_path(IrArena *a, const char *dir, const char *path) {
  if (path[0] == '/' || !dir || strcmp(dir, ".") == 0) return ir_arena_strdup(a, path);
  size_t n = strlen(dir) + strlen(path) + 2;
  char *s = ir_arena_alloc(a, n);
  if (s) snprintf(s, n, "%s%s%s", dir, dir[strlen(dir) - 1] == '/' ? "" : "/", path);
  return s;
}

/* Attaches the data of one weight const node; reports a missing or mismatched tensor. */
static bool attach_one(Graph *g, Node *n, const SafeTensors *st, const char *path, DiagSink *d) {
  const StEntry *e = st_find(st, n->weight);
  if (!e) {
    diag_error(d, n->loc, "weight \"%s\" is not in %s", n->weight, path);
    return false;
  }
  const TensorType *t = &g->values[n->outputs[0]].type;
  int64_t want = ir_type_bytes(t);
  bool same_shape = e->type.rank == t->rank;
  for (int i = 0; same_shape && i < t->rank; i++) same_shape = e->type.dims[i] == t->dims[i];
  if (e->type.dtype != t->dtype || !same_shape || e->end - e->begin != want) {
    char a[256], b[256];
    diag_error(d, n->loc, "weight \"%s\" is %s in %s but the model declares %s", n->weight,
               ir_type_str(&e->type, a, sizeof a), path, ir_type_str(t, b, sizeof b));
    return false;
  }
  ir_buffer_unref(n->data);
  n->data = st_data(st, e);
  if (!n->data) { diag_oom(d, n->loc); return false; }
  return true;
}

IrStatus ir_attach_weights(Graph *g, DiagSink *d) {
  bool any = false;
  for (int i = 0; i < g->nnodes; i++) any |= g->nodes[i].const_kind == CONST_WEIGHT;
  if (!g->weights_path) return IR_OK;
  const char *path = join_path(&g->arena, g->dir, g->weights_path);
  if (!path) return diag_oom(d, g->weights_loc);
  /* The size is checked before anything is read, so a huge file costs nothing. */
  struct stat sb;
  if (stat(path, &sb) == 0 && S_ISREG(sb.st_mode) && (int64_t)sb.st_size != g->weights_size) {
    diag_error(d, g->weights_loc, "weights file %s is %lld bytes but the model says %lld", path,
               (long long)sb.st_size, (long long)g->weights_size);
    return IR_ERR_INPUT;
  }
  IrBuffer *file;
  IrStatus st = ir_read_file(path, IR_MAX_FILE_BYTES, &file, d);
  if (st != IR_OK) {
    diag_note(d, g->weights_loc, "the weights file is named here");
    return st;
  }
  if (file->size != g->weights_size) {
    diag_error(d, g->weights_loc, "weights file %s is %lld bytes but the model says %lld", path,
               (long long)file->size, (long long)g->weights_size);
    ir_buffer_unref(file);
    return IR_ERR_INPUT;
  }
  char hex[65];
  ir_sha256_hex(file->data, (size_t)file->size, hex);
  if (strcmp(hex, g->weights_sha256) != 0) {
    diag_error(d, g->weights_loc, "weights file %s has SHA-256 %s but the model says %s", path, hex, g->weights_sha256);
    ir_buffer_unref(file);
    return IR_ERR_INPUT;
  }
  SafeTensors sts;
  st = st_parse(file, path, &sts, d);
  ir_buffer_unref(file);
  if (st != IR_OK) return st;
  bool ok = true;
  for (int i = 0; any && i < g->nnodes; i++)
    if (g->nodes[i].const_kind == CONST_WEIGHT) ok &= attach_one(g, &g->nodes[i], &sts, path, d);
  st_free(&sts);
  return ok ? IR_OK : IR_ERR_INPUT;
}

IrStatus ir_load(DiagSink *d, const char *path, unsigned flags, Graph **out) {
  *out = NULL;
  Graph *g = ir_parse_file(d, path);
  if (!g) return d->internal ? IR_ERR_INTERNAL : IR_ERR_INPUT;
  IrStatus st = IR_OK;
  if (flags & LOAD_VERIFY) st = ir_verify(g, d);
  if (st == IR_OK && (flags & LOAD_WEIGHTS)) st = ir_attach_weights(g, d);
  if (st != IR_OK) {
    ir_graph_free(g);
    return st;
  }
  *out = g;
  return IR_OK;
}

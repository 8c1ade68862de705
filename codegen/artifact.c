/* artifact.c — the signature and names of an artifact, shared by every backend. */
#include <string.h>

#include "codegen/artifact.h"
#include "ir/fs.h"

void cg_c_ident(const char *s, char *buf, size_t n) {
  static const char *const keywords[] = {
      "auto", "break", "case", "char", "const", "continue", "default", "do", "double", "else", "enum", "extern",
      "float", "for", "goto", "if", "inline", "int", "long", "register", "restrict", "return", "short", "signed",
      "sizeof", "static", "struct", "switch", "typedef", "union", "unsigned", "void", "volatile", "while", "bool",
      "true", "false", "class", "new", "delete", "this", "template", "operator", "private", "public", NULL};
  size_t len = 0;
  if (!s || !*s || (*s >= '0' && *s <= '9')) buf[len++] = '_';
  for (; s && *s && len + 2 < n; s++) {
    char c = *s;
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
    buf[len++] = ok ? c : '_';
  }
  buf[len] = 0;
  for (int i = 0; keywords[i]; i++)
    if (!strcmp(buf, keywords[i])) {
      buf[len++] = '_';
      buf[len] = 0;
    }
}

const char *cg_c_type(DType t) {
  switch (t) {
  case DT_F32: return "float";
  case DT_I8: return "int8_t";
  case DT_I32: return "int32_t";
  case DT_I64: return "int64_t";
  case DT_F16: case DT_BF16: return "uint16_t";
  default: return "uint8_t"; /* u8, bool */
  }
}

const char *cg_wrapper_suffix(const CgArtifact *a) {
  return a->uniform == DT_INVALID ? "typed" : ir_dtype_name(a->uniform);
}

void cg_c_string(FILE *f, const char *s) {
  fputc('"', f);
  for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
    if (*p == '"' || *p == '\\') fprintf(f, "\\%c", *p);
    else if (*p < 32 || *p >= 127 || *p == '?') fprintf(f, "\\%03o", *p);
    else fputc(*p, f);
  }
  fputc('"', f);
}

/* Fills t from a signature entry; its wrapper parameter name is made unique among the
 * `taken` entries before it. */
static void tensor_from(CgTensor *t, const char *name, const TensorType *type, const CgTensor *taken, int ntaken) {
  t->name = name;
  t->dtype = type->dtype;
  t->rank = type->rank;
  memcpy(t->dims, type->dims, sizeof t->dims);
  t->bytes = ir_type_bytes(type);
  cg_c_ident(name, t->param, 64);
  for (int i = 0; i < ntaken; i++)
    if (!strcmp(taken[i].param, t->param) || !strcmp(t->param, "workspace")) {
      size_t len = strlen(t->param);
      snprintf(t->param + len, sizeof t->param - len, "_%d", ntaken);
      break;
    }
}

IrStatus cg_artifact_init(CgArtifact *a, const Graph *g, const NestProgram *p, const char *name, const char *source,
                          const char *target, bool sidecar, DiagSink *d) {
  memset(a, 0, sizeof *a);
  cg_c_ident(name ? name : g->name, a->name, 41);
  for (size_t i = 0; a->name[i]; i++) a->upper[i] = (a->name[i] >= 'a' && a->name[i] <= 'z') ? (char)(a->name[i] - 32) : a->name[i];
  a->source = source;
  a->target = target;
  a->sidecar = sidecar;
  a->ninputs = g->body->nparams;
  a->noutputs = g->body->nresults;
  /* One array, inputs then outputs, so parameter names are unique across both. */
  CgTensor *all = ir_calloc((size_t)(a->ninputs + a->noutputs) + 1, sizeof *all);
  if (!all) return diag_oom(d, g->loc);
  a->inputs = all;
  a->outputs = all + a->ninputs;
  for (int i = 0; i < a->ninputs; i++) {
    const Value *v = &g->values[g->body->params[i]];
    tensor_from(&all[i], v->name, &v->type, all, i);
  }
  for (int i = 0; i < a->noutputs; i++)
    tensor_from(&all[a->ninputs + i], g->output_names[i], &g->output_types[i], all, a->ninputs + i);
  a->uniform = a->ninputs + a->noutputs ? all[0].dtype : DT_F32;
  for (int i = 0; i < a->ninputs + a->noutputs; i++)
    if (all[i].dtype != a->uniform) a->uniform = DT_INVALID;
  a->workspace_size = p->workspace_size;
  a->weights_size = p->weights_size;
  char hex[65];
  ir_sha256_hex(p->weights, (size_t)p->weights_size, hex);
  for (int i = 0; i < 32 && hex[0]; i++) {
    unsigned byte;
    sscanf(hex + 2 * i, "%2x", &byte);
    a->weights_sha256[i] = (uint8_t)byte;
  }
  return IR_OK;
}

void cg_artifact_free(CgArtifact *a) {
  ir_free(a->inputs);
  a->inputs = a->outputs = NULL;
}

void cg_emit_wrapper_params(FILE *f, const CgArtifact *a) {
  for (int i = 0; i < a->ninputs + a->noutputs; i++) {
    const CgTensor *t = &a->inputs[i];
    fprintf(f, "%s%s *%s, ", i < a->ninputs ? "const " : "", cg_c_type(t->dtype), t->param);
  }
  fputs("void *workspace", f);
}

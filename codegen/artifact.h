/* artifact.h — what every backend writes beside the code (docs/abi.md): the symbol prefix,
 * the signature (names, dtypes, shapes and sizes of inputs and outputs), the weight blob's
 * digest, the workspace size; and the generated header (codegen/header.c), which is the same
 * for every backend. */
#ifndef LATHE_CODEGEN_ARTIFACT_H
#define LATHE_CODEGEN_ARTIFACT_H

#include <stdio.h>

#include "codegen/nest.h"

/* One input or output of the entry point. */
typedef struct CgTensor {
  const char *name;     /* as in the model's signature */
  char param[80];       /* a C identifier for it in the typed wrapper (unique among all) */
  DType dtype;
  int rank;
  int64_t dims[IR_MAX_RANK];
  int64_t bytes;
} CgTensor;

/* Everything about an artifact but its code. Owned by the caller; cg_artifact_free frees it. */
typedef struct CgArtifact {
  char name[64];          /* the symbol prefix: a C identifier, at most 40 bytes */
  char upper[64];         /* the prefix in capitals, for macros (NAME_WORKSPACE_SIZE) */
  const char *source;     /* the model file it was compiled from (for comments) */
  const char *target;     /* "c", "x86-64-v4", ... (record.target) */
  uint64_t cpu_features;  /* LATHE_CPU_* bits the code needs */
  bool sidecar;           /* weights come from lathe_exec.weights, not embedded */
  CgTensor *inputs;       /* ninputs */
  CgTensor *outputs;      /* noutputs */
  int ninputs, noutputs;
  DType uniform;          /* the dtype of every input and output, or DT_INVALID when mixed */
  int64_t workspace_size; /* bytes */
  int64_t weights_size;   /* bytes of the blob */
  uint8_t weights_sha256[32];
} CgArtifact;

/* Writes a C identifier made from s into buf (n >= 2 bytes): characters other than
 * [A-Za-z0-9_] become '_', a leading digit (or an empty s) gets a '_' in front, a C keyword
 * gets one behind; at most n - 1 bytes. */
void cg_c_ident(const char *s, char *buf, size_t n);

/* Fills *a for the program p compiled from graph g (verified) with symbol prefix `name`
 * (sanitized with cg_c_ident; NULL: the graph's name). IR_ERR_INPUT (reported) on OOM. */
IrStatus cg_artifact_init(CgArtifact *a, const Graph *g, const NestProgram *p, const char *name, const char *source,
                          const char *target, bool sidecar, DiagSink *d);
void cg_artifact_free(CgArtifact *a);

/* The C type of dtype t in generated code ("float", "int8_t", ...; bool is "uint8_t"). */
const char *cg_c_type(DType t);
/* The name of the typed wrapper's suffix: "f32" ... when uniform, else "typed". */
const char *cg_wrapper_suffix(const CgArtifact *a);
/* Writes s as a C string literal (quotes included), escaping what C needs. */
void cg_c_string(FILE *f, const char *s);

/* Writes the generated header (docs/abi.md "The header"). */
void cg_emit_header(FILE *f, const CgArtifact *a);
/* Writes the typed wrapper's parameter list ("const float *input, float *probs, void *workspace"). */
void cg_emit_wrapper_params(FILE *f, const CgArtifact *a);

#endif

/* model.h — the ABI between a compiled model and the code that calls it (docs/abi.md).
 *
 * `lathe compile` writes, for a model compiled with --name NAME:
 *   NAME_record  a lathe_artifact_record in the ELF section ".lathe": flat, without pointers,
 *                so that the runtime can read and check it in the file before dlopen;
 *   NAME_desc    a lathe_model_desc: names, dtypes and shapes of inputs and outputs;
 *   NAME_run     the generic entry point (lathe_run_fn);
 * and, in the generated header, NAME_WORKSPACE_SIZE and a typed wrapper NAME_run_<dtype>.
 * This header is C99 and has no dependencies beyond <stdint.h>. */
#ifndef LATHE_MODEL_H
#define LATHE_MODEL_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define LATHE_ABI_VERSION 1u
#define LATHE_RECORD_MAGIC "LATHE\x00" "AR" /* the 8 bytes that open every record */
#define LATHE_RECORD_SECTION ".lathe"     /* the ELF section that holds the record */
#define LATHE_MAX_RANK 8
#define LATHE_WORKSPACE_ALIGN 64          /* the workspace base must be this aligned */

/* Element types, numbered as in the text IR (f32 first). */
typedef enum {
  LATHE_F32 = 0, LATHE_F16 = 1, LATHE_BF16 = 2, LATHE_I8 = 3,
  LATHE_U8 = 4, LATHE_I32 = 5, LATHE_I64 = 6, LATHE_BOOL = 7,
} lathe_dtype;

/* CPU features compiled code may need (lathe_artifact_record.cpu_features). */
enum {
  LATHE_CPU_SSE42 = 1u << 0,
  LATHE_CPU_AVX2 = 1u << 1,
  LATHE_CPU_FMA = 1u << 2,
  LATHE_CPU_F16C = 1u << 3,
  LATHE_CPU_AVX512F = 1u << 4,
  LATHE_CPU_AVX512BW = 1u << 5,
  LATHE_CPU_AVX512DQ = 1u << 6,
  LATHE_CPU_AVX512VL = 1u << 7,
  LATHE_CPU_AVX512VNNI = 1u << 8,
  LATHE_CPU_AVX512BF16 = 1u << 9,
};

/* Flat facts about an artifact, checked before its code is loaded. */
typedef struct lathe_artifact_record {
  char magic[8];              /* LATHE_RECORD_MAGIC */
  uint32_t abi_version;       /* LATHE_ABI_VERSION */
  uint32_t record_size;       /* sizeof(lathe_artifact_record) */
  uint64_t cpu_features;      /* LATHE_CPU_* bits the code needs */
  uint64_t workspace_size;    /* bytes; the base must be LATHE_WORKSPACE_ALIGN-aligned */
  uint64_t weights_size;      /* bytes of the weight blob (embedded, or the sidecar's) */
  uint32_t ninputs, noutputs;
  char name[64];              /* the symbol prefix, NUL-terminated */
  char target[32];            /* "x86-64-v4", "x86-64-v3", "generic", "c", ... */
  uint8_t weights_sha256[32]; /* SHA-256 of the weight blob (a sidecar is checked against it) */
  uint8_t content_sha256[32]; /* SHA-256 of the whole file with these 32 bytes zeroed;
                                 all zero where no file hash applies (a .o, C source) */
} lathe_artifact_record;

/* One input or output. */
typedef struct lathe_tensor_desc {
  const char *name;           /* as in the model (the signature's name) */
  int32_t dtype;              /* lathe_dtype */
  int32_t rank;
  int64_t dims[LATHE_MAX_RANK];
  uint64_t size;              /* bytes */
} lathe_tensor_desc;

/* Calls fn(ctx, begin, end) on pieces that cover [0, n) once, maybe concurrently, and
 * returns when all have returned. */
typedef void (*lathe_task_fn)(void *ctx, int64_t begin, int64_t end);
typedef void (*lathe_parallel_for_fn)(void *pool, int64_t n, lathe_task_fn fn, void *ctx);

/* What the caller lends a run; NULL (or zeroed fields) runs serially with embedded weights. */
typedef struct lathe_exec {
  uint32_t abi_version;             /* LATHE_ABI_VERSION */
  uint32_t size;                    /* sizeof(lathe_exec), for later extension */
  lathe_parallel_for_fn parallel_for; /* NULL: serial */
  void *pool;                       /* passed to parallel_for */
  const void *weights;              /* the weight blob, for models compiled --weights=file */
  uint64_t weights_size;
} lathe_exec;

/* The generic entry point: inputs and outputs in the descriptor's order, each a dense
 * row-major buffer of the described size; workspace: workspace_size bytes, 64-aligned.
 * Returns a lathe_status (LATHE_ERR_CPU, LATHE_ERR_ALIGN, LATHE_ERR_INPUT for a NULL
 * buffer, LATHE_ERR_ABI for an exec of another version). Reentrant: concurrent runs need
 * one workspace each. */
typedef int (*lathe_run_fn)(const lathe_exec *ex, const void *const *inputs, void *const *outputs,
                            void *workspace);

typedef struct lathe_model_desc {
  const lathe_artifact_record *record;
  const lathe_tensor_desc *inputs;  /* record->ninputs */
  const lathe_tensor_desc *outputs; /* record->noutputs */
  lathe_run_fn run;
} lathe_model_desc;

#ifdef __cplusplus
}
#endif

#endif

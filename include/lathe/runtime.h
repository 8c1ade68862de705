/* runtime.h — liblathe_rt: check, open and run compiled models (docs/abi.md, "The runtime").
 *
 * The library links no LLVM and no compiler code, never exits the process, and allocates
 * only when a model is opened, weights are loaded or a workspace is allocated: never in
 * lathe_model_run. Every fallible call returns a lathe_status (include/lathe/lathe.h) and,
 * when err is not NULL, fills err with the same status and a message naming what failed.
 *
 * A model may be run from several threads at once with one workspace per concurrent run;
 * opening, loading weights and closing must not overlap with runs of the same model. */
#ifndef LATHE_RUNTIME_H
#define LATHE_RUNTIME_H

#include <stddef.h>
#include <stdint.h>

#include "lathe/lathe.h"
#include "lathe/model.h"

#ifdef __cplusplus
extern "C" {
#endif

/* What went wrong in the last failing call given this struct. */
typedef struct lathe_error {
  int status;         /* a lathe_status; LATHE_OK after a call that succeeded */
  char message[512];  /* one line, NUL-terminated, without a trailing newline */
} lathe_error;

/* An opened model: the loaded artifact, its descriptor and, once loaded, sidecar weights. */
typedef struct lathe_model lathe_model;

/* A short English phrase for a status ("the artifact is corrupt", ...); never NULL. */
const char *lathe_status_string(int status);
/* The name of a lathe_dtype as in the text IR ("f32", ...), or "?" for another value. */
const char *lathe_dtype_name(int dtype);
/* The LATHE_CPU_* features of the running CPU that the operating system has enabled. */
uint64_t lathe_cpu_features(void);

/* Reads the file at path and checks, without loading or running any of it: the ELF64 header
 * and section table, the ".lathe" section, the record's magic, ABI version and size, the
 * content hash over the whole file, and that this CPU has the features the code needs.
 * Returns LATHE_OK, or LATHE_ERR_IO, LATHE_ERR_CORRUPT, LATHE_ERR_ABI, LATHE_ERR_CPU. When
 * record is not NULL it receives a copy of the record (valid only when LATHE_OK). */
int lathe_artifact_check(const char *path, lathe_artifact_record *record, lathe_error *err);

/* The same checks on the n bytes of an artifact already in memory (named name in messages;
 * NULL: "artifact"). data is only read. */
int lathe_artifact_check_image(const void *data, size_t n, const char *name, lathe_artifact_record *record,
                               lathe_error *err);

/* Computes the content hash of the linked artifact at path (the whole file with the record's
 * content_sha256 zeroed) and writes it into the record in place. The compiler calls it on
 * the file it has just linked, before renaming it into place. Returns LATHE_OK, LATHE_ERR_IO
 * or LATHE_ERR_CORRUPT (no valid record). */
int lathe_artifact_seal(const char *path, lathe_error *err);
/* The same on the n bytes of a linked artifact in memory (before the compiler writes them
 * out): writes the hash into the record inside data. */
int lathe_artifact_seal_image(void *data, size_t n, const char *name, lathe_error *err);

/* Checks the artifact at path (lathe_artifact_check), then loads it (dlopen, RTLD_LOCAL |
 * RTLD_NOW: this runs the artifact's initializers), finds NAME_desc for the NAME in its
 * record and checks the descriptor against the record. On success *model owns the loaded
 * artifact (free it with lathe_model_close); on failure *model is NULL. Also
 * LATHE_ERR_SYMBOL (no descriptor) and LATHE_ERR_NOMEM. */
int lathe_model_open(const char *path, lathe_model **model, lathe_error *err);
/* Unloads the artifact and frees the model, its loaded weights included. NULL is ignored.
 * Workspaces from lathe_model_alloc_workspace stay valid (free them yourself). */
void lathe_model_close(lathe_model *model);

/* The record as read from the file (the same bytes as the loaded descriptor's record). */
const lathe_artifact_record *lathe_model_record(const lathe_model *model);
int lathe_model_ninputs(const lathe_model *model);
int lathe_model_noutputs(const lathe_model *model);
/* Input or output i (0 <= i < count), or NULL for another i. Borrowed from the loaded
 * artifact: valid until lathe_model_close. */
const lathe_tensor_desc *lathe_model_input(const lathe_model *model, int i);
const lathe_tensor_desc *lathe_model_output(const lathe_model *model, int i);

/* Reads the weight blob of a model compiled with --weights=file from path and checks its
 * size and SHA-256 against the record. Later runs pass it to the model (through a copy of
 * the caller's lathe_exec when that names no weights). LATHE_ERR_IO, LATHE_ERR_CORRUPT,
 * LATHE_ERR_NOMEM. */
int lathe_model_load_weights(lathe_model *model, const char *path, lathe_error *err);

/* Bytes of workspace a run needs (its base LATHE_WORKSPACE_ALIGN-aligned). */
uint64_t lathe_model_workspace_size(const lathe_model *model);
/* A new zeroed workspace for one concurrent run (at least one byte, 64-byte aligned), or NULL
 * with LATHE_ERR_NOMEM. Free it with lathe_model_free_workspace. */
void *lathe_model_alloc_workspace(const lathe_model *model, lathe_error *err);
void lathe_model_free_workspace(void *workspace);

/* Runs the model once: inputs and outputs in the descriptor's order, each a dense row-major
 * buffer whose byte size (in_sizes[i], out_sizes[i]) must be the descriptor's; workspace as
 * above (a caller's own must be LATHE_WORKSPACE_ALIGN-aligned). ex may be NULL (serial).
 * Checks everything before calling the model: LATHE_ERR_USAGE (NULL model or arrays),
 * LATHE_ERR_INPUT (a NULL buffer or workspace), LATHE_ERR_SIZE, LATHE_ERR_ALIGN, LATHE_ERR_ABI
 * (an exec of another version); then returns the model's own status. Allocates nothing. */
int lathe_model_run(const lathe_model *model, const lathe_exec *ex, const void *const *inputs,
                    const size_t *in_sizes, void *const *outputs, const size_t *out_sizes, void *workspace,
                    lathe_error *err);

#ifdef __cplusplus
}
#endif

#endif

/* onnx.h — importing ONNX models (opsets 11 to 17) into lathe graphs, and writing an imported
 * graph as text IR with its weights in a safetensors sidecar.
 *
 * The protobuf is read by C code that protoc-c generates at build time from Debian's
 * onnx.proto; every allocation goes through ir_malloc. An ONNX file is hostile input: sizes,
 * ranks, names and nesting are checked before anything is allocated for them. What lathe
 * cannot import (op types, element types, dynamic dimensions, opsets outside 11..17, op
 * features) is reported whole, in one message, before anything is written. */
#ifndef LATHE_FRONTEND_ONNX_ONNX_H
#define LATHE_FRONTEND_ONNX_ONNX_H

#include "ir/ir.h"

/* The opsets of the default ONNX domain that lathe imports. */
enum { ONNX_MIN_OPSET = 11, ONNX_MAX_OPSET = 17 };

/* A --shape NAME=D0,D1,... given by the user: the full static shape of one graph input. */
typedef struct OnnxShape {
  const char *name;           /* the ONNX input's name */
  int rank;                   /* entries of dims */
  int64_t dims[IR_MAX_RANK];  /* the dimensions, each >= 0 */
} OnnxShape;

/* A graph input frozen to a constant value: it becomes a const node of the graph. */
typedef struct OnnxConstInput {
  const char *name; /* the ONNX input's name */
  Tensor value;     /* its value: row-major, of the input's element type and a shape that
                       agrees with the input's static dimensions (copied by the import) */
} OnnxConstInput;

/* What the caller can choose about an import. */
typedef struct OnnxImportOpts {
  const OnnxShape *shapes;       /* nshapes shapes that fix inputs' dynamic dimensions */
  int nshapes;
  const OnnxConstInput *consts;  /* nconsts inputs frozen to constants */
  int nconsts;
} OnnxImportOpts;

/* What an import found, beyond the graph. */
typedef struct OnnxImportInfo {
  int unsupported; /* items lathe does not support (listed in the one report); 0 when none */
  int opset;       /* the model's version of the default domain (0: none imported) */
  char **freeze;   /* nfreeze names of graph inputs that an op needs constant (a Reshape's
                      shape fed as an input): freezing them (consts) may make the model
                      importable; ir_malloc'd, freed by onnx_import_info_free */
  int nfreeze;
} OnnxImportInfo;

/* Frees what info holds (safe on a zeroed or already freed info). */
void onnx_import_info_free(OnnxImportInfo *info);

/* Reads the ONNX model at path and builds a verified graph in *out whose const nodes carry
 * their data (dense, in memory). Values keep their ONNX names; every node's Loc has the
 * model's path as file and the ONNX node's name as origin. On failure *out is NULL, the
 * problems are reported through d (what lathe does not support in one message) and
 * info->unsupported (info may be NULL) counts the unsupported items. opts may be NULL. The
 * caller frees *info with onnx_import_info_free, whatever the result. */
IrStatus onnx_import_file(const char *path, const OnnxImportOpts *opts, Graph **out, OnnxImportInfo *info,
                          DiagSink *d);

/* The same for the bytes of a model already in memory; name names it in diagnostics. */
IrStatus onnx_import_bytes(const void *data, size_t len, const char *name, const OnnxImportOpts *opts,
                           Graph **out, OnnxImportInfo *info, DiagSink *d);

/* Reads a file holding one serialized TensorProto (as the ONNX backend tests store their
 * inputs and outputs) into *t, whose data lives in *buf (one reference, the caller's). *name
 * (may be NULL) receives the tensor's name, ir_malloc'd (empty when it has none). */
IrStatus onnx_read_tensor_file(const char *path, Tensor *t, IrBuffer **buf, char **name, DiagSink *d);
/* The same, except that a UINT16 tensor (an element type lathe lacks) is read as the bit
 * patterns of 16-bit floats of dtype bits16 (DT_F16 or DT_BF16; DT_INVALID refuses it as
 * onnx_read_tensor_file does): onnx 1.12's backend tests store their BFLOAT16 data so, since
 * numpy has no bfloat16. */
IrStatus onnx_read_tensor_file_bits16(const char *path, DType bits16, Tensor *t, IrBuffer **buf, char **name,
                                      DiagSink *d);

/* Constants made by nodes (Constant, folded computations) with more elements than this go to
 * the sidecar; smaller ones are written inline. Initializers always go to the sidecar. */
enum { ONNX_INLINE_MAX_ELEMENTS = 16 };

/* Writes g (an imported graph whose const nodes carry data) as text IR to lathe_path and its
 * weights to a safetensors sidecar beside it (lathe_path with ".lathe" replaced by
 * ".safetensors"), named by their values: the initializers (the const nodes whose Loc has no
 * origin: no ONNX node made them) and every other constant of more than
 * ONNX_INLINE_MAX_ELEMENTS elements.
 * Both are written to temporary names and renamed into place only when both are complete;
 * on failure neither existing file is touched and g is left as it was. The sidecar's size and SHA-256 go into the
 * weights line; those constants become weight("name") references (their data stays
 * attached). A graph with no such constant gets no sidecar and no weights line. */
IrStatus onnx_save(Graph *g, const char *lathe_path, DiagSink *d);

#endif

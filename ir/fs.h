/* fs.h — file utilities: reading a whole file into a buffer, writing files safely (to a
 * temporary name renamed into place only on success) and SHA-256 digests. */
#ifndef LATHE_IR_FS_H
#define LATHE_IR_FS_H

#include "ir/ir.h"

/* Reads the whole regular file at path into a new buffer (*out, refs = 1, 64-byte aligned).
 * Refuses a file larger than max_bytes, a directory or any other file that is not regular;
 * every failure is one diagnostic `path: error: ...` and IR_ERR_INPUT (*out is then NULL). */
IrStatus ir_read_file(const char *path, int64_t max_bytes, IrBuffer **out, DiagSink *d);

/* An output file being written. The data goes to tmp, a new file in the same directory as
 * path, which ir_out_commit renames to path; until then an existing file at path is untouched. */
typedef struct IrOutFile {
  FILE *f;    /* the open temporary file: write the contents here */
  char *path; /* the final name (a copy of what was given) */
  char *tmp;  /* the temporary name: path + ".tmp.XXXXXX" */
} IrOutFile;

/* Creates the temporary file for path (mode 0666 less the umask) and fills *o; on failure
 * reports `path: error: ...`, leaves *o empty (all NULL) and returns IR_ERR_INPUT. */
IrStatus ir_out_open(IrOutFile *o, const char *path, DiagSink *d);
/* Creates a new empty file named path + suffix, where suffix ends in XXXXXX (mkstemp), and
 * returns its open descriptor with its ir_malloc'd name in *name; -1 (reported, *name NULL)
 * when it cannot. */
int ir_temp_beside(const char *path, const char *suffix, char **name, DiagSink *d);
/* Flushes, syncs and closes the temporary file and renames it to the final name; on any
 * error (a write that failed earlier included) reports it, removes the temporary file and
 * returns IR_ERR_INPUT. Either way *o is emptied and its memory freed. */
IrStatus ir_out_commit(IrOutFile *o, DiagSink *d);
/* Closes and removes the temporary file and empties *o, leaving any existing file at the
 * final name as it was. Does nothing on an empty (or already committed) *o. */
void ir_out_abort(IrOutFile *o);
/* Writes n bytes of data to path safely (ir_out_open, fwrite, ir_out_commit). */
IrStatus ir_write_file(const char *path, const void *data, size_t n, DiagSink *d);

/* Writes the SHA-256 digest of data[0..n) to hex as 64 lowercase hex digits and a NUL. In the
 * (out of memory) case where OpenSSL fails, hex is the empty string, which matches no digest. */
void ir_sha256_hex(const void *data, size_t n, char hex[65]);

#endif

/* fs.c — whole-file reads, safe (temporary file + rename) writes and SHA-256. */
#include "ir/fs.h"
#include "runtime/io.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* ---- reading ------------------------------------------------------------------------------------ */

IrStatus ir_read_file(const char *path, int64_t max_bytes, IrBuffer **out, DiagSink *d) {
  *out = NULL;
  Loc loc = loc_file(path);
  /* O_NONBLOCK: opening a FIFO must not hang waiting for a writer; it is refused below. */
  int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0) {
    diag_error(d, loc, "cannot open: %s", strerror(errno));
    return IR_ERR_INPUT;
  }
  struct stat st;
  if (fstat(fd, &st) != 0) {
    diag_error(d, loc, "cannot stat: %s", strerror(errno));
    close(fd);
    return IR_ERR_INPUT;
  }
  if (S_ISDIR(st.st_mode)) {
    diag_error(d, loc, "is a directory, not a file");
    close(fd);
    return IR_ERR_INPUT;
  }
  if (!S_ISREG(st.st_mode)) {
    diag_error(d, loc, "is not a regular file");
    close(fd);
    return IR_ERR_INPUT;
  }
  int64_t size = (int64_t)st.st_size;
  int64_t limit = max_bytes < IR_MAX_FILE_BYTES ? max_bytes : IR_MAX_FILE_BYTES;
  if (size < 0 || size > limit) {
    diag_error(d, loc, "file is too large (%lld bytes; the limit is %lld)", (long long)size,
               (long long)limit);
    close(fd);
    return IR_ERR_INPUT;
  }
  IrBuffer *b = ir_buffer_new(size);
  if (!b) {
    close(fd);
    return diag_oom(d, loc);
  }
  int64_t done = rt_read_full(fd, b->data, size);
  if (done < 0)
    diag_error(d, loc, "cannot read: %s", strerror(errno));
  else if (done < size)
    diag_error(d, loc, "file shrank while being read (%lld of %lld bytes read)", (long long)done,
               (long long)size);
  close(fd);
  if (done != size) {
    ir_buffer_unref(b);
    return IR_ERR_INPUT;
  }
  *out = b;
  return IR_OK;
}

/* ---- safe writing -------------------------------------------------------------------------------- */

/* Frees the names of o and empties it (the stream must already be closed or given up). */
static void out_clear(IrOutFile *o) {
  ir_free(o->path);
  ir_free(o->tmp);
  o->f = NULL;
  o->path = NULL;
  o->tmp = NULL;
}

int ir_temp_beside(const char *path, const char *suffix, char **name, DiagSink *d) {
  size_t len = strlen(path), slen = strlen(suffix);
  *name = ir_malloc(len + slen + 1);
  if (!*name) return diag_oom(d, loc_file(path)), -1;
  memcpy(*name, path, len);
  memcpy(*name + len, suffix, slen + 1);
  int fd = mkstemp(*name);
  if (fd < 0) {
    diag_error(d, loc_file(path), "cannot create a temporary file next to it: %s", strerror(errno));
    ir_free(*name);
    *name = NULL;
  }
  return fd;
}

IrStatus ir_out_open(IrOutFile *o, const char *path, DiagSink *d) {
  Loc loc = loc_file(path);
  o->f = NULL;
  o->tmp = NULL;
  o->path = ir_strdup(path);
  if (!o->path) return diag_oom(d, loc);
  int fd = ir_temp_beside(path, ".tmp.XXXXXX", &o->tmp, d);
  if (fd < 0) {
    out_clear(o);
    return IR_ERR_INPUT;
  }
  /* mkstemp makes the file 0600; give it the mode an ordinary creat(2) would. The umask can
   * only be read by setting it, so it is set back at once (lathe is single-threaded here). */
  mode_t mask = umask(022);
  umask(mask);
  if (fchmod(fd, (mode_t)0666 & ~mask) != 0) {
    diag_error(d, loc, "cannot set the mode of '%s': %s", o->tmp, strerror(errno));
    close(fd);
    unlink(o->tmp);
    out_clear(o);
    return IR_ERR_INPUT;
  }
  o->f = fdopen(fd, "wb");
  if (!o->f) {
    diag_error(d, loc, "cannot open '%s' for writing: %s", o->tmp, strerror(errno));
    close(fd);
    unlink(o->tmp);
    out_clear(o);
    return IR_ERR_INPUT;
  }
  return IR_OK;
}

IrStatus ir_out_commit(IrOutFile *o, DiagSink *d) {
  if (!o->f) return IR_INTERNAL(d, "ir_out_commit on a file that is not open");
  Loc loc = loc_file(o->path);
  bool ok = true;
  if (fflush(o->f) != 0) {
    diag_error(d, loc, "cannot write: %s", strerror(errno));
    ok = false;
  } else if (ferror(o->f)) {
    diag_error(d, loc, "cannot write: an earlier write to '%s' failed", o->tmp);
    ok = false;
  } else if (fsync(fileno(o->f)) != 0 && errno != EINVAL && errno != EROFS && errno != ENOTSUP) {
    /* EINVAL/EROFS/ENOTSUP: the file system does not sync; that is no write error. */
    diag_error(d, loc, "cannot write: %s", strerror(errno));
    ok = false;
  }
  int rc = fclose(o->f);
  o->f = NULL;
  if (ok && rc != 0) {
    diag_error(d, loc, "cannot write: %s", strerror(errno));
    ok = false;
  }
  if (ok && rename(o->tmp, o->path) != 0) {
    diag_error(d, loc, "cannot rename '%s' to it: %s", o->tmp, strerror(errno));
    ok = false;
  }
  if (!ok) unlink(o->tmp);
  out_clear(o);
  return ok ? IR_OK : IR_ERR_INPUT;
}

void ir_out_abort(IrOutFile *o) {
  if (o->f) fclose(o->f);
  if (o->tmp) unlink(o->tmp);
  out_clear(o);
}

IrStatus ir_write_file(const char *path, const void *data, size_t n, DiagSink *d) {
  IrOutFile o;
  IrStatus s = ir_out_open(&o, path, d);
  if (s != IR_OK) return s;
  if (n > 0 && fwrite(data, 1, n, o.f) != n) {
    diag_error(d, loc_file(path), "cannot write: %s", strerror(errno));
    ir_out_abort(&o);
    return IR_ERR_INPUT;
  }
  return ir_out_commit(&o, d);
}

/* ---- hashing ------------------------------------------------------------------------------------- */

void ir_sha256_hex(const void *data, size_t n, char hex[65]) {
  static const char digits[] = "0123456789abcdef";
  uint8_t md[32];
  hex[0] = 0;
  if (!rt_sha256(data, n, md)) return;
  for (unsigned i = 0; i < 32; i++) {
    hex[2 * i] = digits[md[i] >> 4];
    hex[2 * i + 1] = digits[md[i] & 15];
  }
  hex[64] = 0;
}

/* lathe.h — lathe's public version and status codes. */
#ifndef LATHE_LATHE_H
#define LATHE_LATHE_H

#define LATHE_VERSION_MAJOR 0
#define LATHE_VERSION_MINOR 1

/* Status codes of every public call. 0, 1, 2 and 70 are also the `lathe` command's exit
 * codes; the runtime's own codes (10 and up) reach the command line as exit code 1. */
typedef enum {
  LATHE_OK = 0,             /* success */
  LATHE_ERR_INPUT = 1,      /* bad input: a model, weights or data file, or a bad argument value */
  LATHE_ERR_USAGE = 2,      /* a call that makes no sense */
  LATHE_ERR_ABI = 10,       /* an artifact built for another ABI version */
  LATHE_ERR_CPU = 11,       /* this CPU lacks a feature the compiled code needs */
  LATHE_ERR_CORRUPT = 12,   /* an artifact whose magic, record or content hash does not check */
  LATHE_ERR_ALIGN = 13,     /* a workspace or buffer not aligned as documented */
  LATHE_ERR_IO = 14,        /* a file that cannot be opened or read */
  LATHE_ERR_SYMBOL = 15,    /* an artifact that lacks a symbol it must define */
  LATHE_ERR_NOMEM = 16,     /* an allocation failed (never on the run path) */
  LATHE_ERR_SIZE = 17,      /* a buffer of the wrong size for the tensor it carries */
  LATHE_ERR_INTERNAL = 70,  /* a broken invariant inside lathe */
} lathe_status;

#endif

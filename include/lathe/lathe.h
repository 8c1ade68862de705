/* lathe.h — lathe's public version and status codes (the runtime API comes with codegen). */
#ifndef LATHE_LATHE_H
#define LATHE_LATHE_H

#define LATHE_VERSION_MAJOR 0
#define LATHE_VERSION_MINOR 1

/* Status codes of every public call; equal to the `lathe` command's exit codes. */
typedef enum {
  LATHE_OK = 0,             /* success */
  LATHE_ERR_INPUT = 1,      /* bad input: a model, weights or data file, or a bad argument value */
  LATHE_ERR_USAGE = 2,      /* a call that makes no sense */
  LATHE_ERR_INTERNAL = 70,  /* a broken invariant inside lathe */
} lathe_status;

#endif

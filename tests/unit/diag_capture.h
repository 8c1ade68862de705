/* diag_capture.h — for unit tests: a diagnostic sink whose messages can be read back and
 * checked. Include after <cmocka.h>. */
#ifndef LATHE_TESTS_DIAG_CAPTURE_H
#define LATHE_TESTS_DIAG_CAPTURE_H

#include <stdio.h>
#include <string.h>

#include "ir/base.h"

static char diag_buf[16384]; /* the text of the last diag_text */

/* Starts a sink that prints into a temporary file, so messages can be checked. */
static void diag_start(DiagSink *d) {
  diag_init(d, tmpfile());
  assert_non_null(d->out);
}

/* Returns everything printed to d so far. */
static const char *diag_text(DiagSink *d) {
  fflush(d->out);
  rewind(d->out);
  size_t n = fread(diag_buf, 1, sizeof diag_buf - 1, d->out);
  diag_buf[n] = 0;
  fseek(d->out, 0, SEEK_END);
  return diag_buf;
}

/* Closes the sink's file and frees it. */
static void diag_end(DiagSink *d) {
  fclose(d->out);
  diag_free(d);
}

/* Asserts that the printed text contains want. */
static void assert_diag_has(DiagSink *d, const char *want) {
  const char *text = diag_text(d);
  if (!strstr(text, want)) fail_msg("diagnostics lack \"%s\"; got:\n%s", want, text);
}

#endif

/* fuzz_artifact.c — the artifact checks that run before dlopen (runtime/artifact.c) on
 * arbitrary bytes. Every input must be accepted or refused with a status the checks may
 * return and a message; an accepted one has a record whose name is a C identifier and whose
 * target is NUL-terminated. Mutated bytes almost never keep the content hash, so each input
 * is also sealed (lathe_artifact_seal_image on a copy): once sealed, the hash must check, so
 * the fuzzer reaches the checks behind it too. */
#include <string.h>

#include "ir/base.h"
#include "lathe/runtime.h"
#include "tests/fuzz/fuzz.h"

/* Checks the image and the promises every result keeps; returns the status. */
static int check(const uint8_t *data, size_t size) {
  lathe_error err;
  lathe_artifact_record r;
  memset(&err, 0xA5, sizeof err);
  int st = lathe_artifact_check_image(data, size, "fuzz.so", &r, &err);
  FUZZ_REQUIRE(err.status == st && memchr(err.message, 0, sizeof err.message));
  if (st == LATHE_OK) {
    size_t len = strnlen(r.name, sizeof r.name);
    FUZZ_REQUIRE(len > 0 && len < sizeof r.name && memchr(r.target, 0, sizeof r.target));
  } else {
    FUZZ_REQUIRE(st == LATHE_ERR_CORRUPT || st == LATHE_ERR_ABI || st == LATHE_ERR_CPU || st == LATHE_ERR_NOMEM);
    FUZZ_REQUIRE(err.message[0] != '\0');
  }
  return st;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  check(data, size);
  uint8_t *copy = ir_malloc(size ? size : 1);
  if (!copy) return 0;
  if (size) memcpy(copy, data, size);
  lathe_error err;
  if (lathe_artifact_seal_image(copy, size, "fuzz.so", &err) == LATHE_OK) {
    int st = check(copy, size);
    FUZZ_REQUIRE(st == LATHE_OK || st == LATHE_ERR_CPU || st == LATHE_ERR_NOMEM);
  }
  ir_free(copy);
  return 0;
}

/* fuzz.h — the one entry point every fuzz target defines. libFuzzer calls it with each input
 * (build-fuzz, clang-16 -fsanitize=fuzzer); tests/fuzz/replay.c calls it with the committed
 * corpus and regression inputs in every build. A target returns 0, and aborts (a finding)
 * only when lathe broke a promise the target checks: a failure without a diagnostic, an
 * internal error, or a printed graph that does not parse back to the same text. */
#ifndef LATHE_TESTS_FUZZ_FUZZ_H
#define LATHE_TESTS_FUZZ_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Stops the run with a message: libFuzzer records the input that got here as a crash. */
#define FUZZ_REQUIRE(cond)                                                                   \
  do {                                                                                       \
    if (!(cond)) {                                                                           \
      fprintf(stderr, "%s:%d: fuzz target's check failed: %s\n", __FILE__, __LINE__, #cond); \
      abort();                                                                               \
    }                                                                                        \
  } while (0)

#endif

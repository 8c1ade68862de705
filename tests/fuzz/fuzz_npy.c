/* fuzz_npy.c — the .npy reader on arbitrary bytes. Every input must parse or be refused with
 * at least one diagnostic; a parsed array's data must hold exactly its type's bytes. */
#include <string.h>

#include "frontend/npy.h"
#include "tests/fuzz/fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  IrBuffer *file = ir_buffer_new((int64_t)size);
  if (!file) return 0;
  if (size) memcpy(file->data, data, size);
  DiagSink d;
  diag_init(&d, NULL);
  Tensor t;
  IrBuffer *bytes = NULL;
  if (npy_parse(file, "fuzz.npy", &t, &bytes, &d) == IR_OK) {
    FUZZ_REQUIRE(bytes && t.data == bytes->data && bytes->size == ir_type_bytes(&t.type));
    volatile unsigned char sum = 0;
    for (int64_t k = 0; k < bytes->size; k++) sum ^= ((const unsigned char *)bytes->data)[k];
  } else {
    FUZZ_REQUIRE(d.errors > 0 && bytes == NULL);
  }
  ir_buffer_unref(bytes);
  ir_buffer_unref(file);
  diag_free(&d);
  return 0;
}

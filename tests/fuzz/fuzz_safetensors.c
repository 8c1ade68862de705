/* fuzz_safetensors.c — the safetensors reader on arbitrary bytes. Every input must parse or
 * be refused with at least one diagnostic; each entry of a file that parses must lie inside
 * the file, and its data is read whole. */
#include <string.h>

#include "frontend/safetensors.h"
#include "tests/fuzz/fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  IrBuffer *file = ir_buffer_new((int64_t)size);
  if (!file) return 0;
  if (size) memcpy(file->data, data, size);
  DiagSink d;
  diag_init(&d, NULL);
  SafeTensors st;
  if (st_parse(file, "fuzz.safetensors", &st, &d) == IR_OK) {
    for (int i = 0; i < st.count; i++) {
      const StEntry *e = &st.entries[i];
      FUZZ_REQUIRE(e->begin >= 0 && e->begin <= e->end && e->end <= (int64_t)size);
      FUZZ_REQUIRE(ir_type_bytes(&e->type) == e->end - e->begin);
      IrBuffer *b = st_data(&st, e);
      volatile unsigned char sum = 0;
      for (int64_t k = 0; b && k < b->size; k++) sum ^= ((const unsigned char *)b->data)[k];
      ir_buffer_unref(b);
    }
    st_free(&st);
  } else {
    FUZZ_REQUIRE(d.errors > 0 && st.count == 0);
  }
  ir_buffer_unref(file);
  diag_free(&d);
  return 0;
}

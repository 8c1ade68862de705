/* random.c — seeded random tensors, the same on every machine: what `lathe run` feeds inputs
 * it is not given and what `lathe opt --verify-each` compares passes on. */
#include "ir/interp.h"

/* splitmix64: a small, well-known generator; the same seed gives the same inputs everywhere. */
static uint64_t rng_next(uint64_t *s) {
  uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

void ir_fill_random(const TensorType *t, void *data, uint64_t *seed) {
  int64_t n = ir_type_numel(t);
  for (int64_t i = 0; i < n; i++) {
    uint64_t r = rng_next(seed);
    double u = (double)(r >> 11) / 9007199254740992.0; /* [0, 1) */
    switch (t->dtype) {
    case DT_F32: ((float *)data)[i] = (float)(2 * u - 1); break;
    case DT_F16: ((uint16_t *)data)[i] = ir_f32_to_f16((float)(2 * u - 1)); break;
    case DT_BF16: ((uint16_t *)data)[i] = ir_f32_to_bf16((float)(2 * u - 1)); break;
    case DT_I8: ((int8_t *)data)[i] = (int8_t)(r % 10); break;
    case DT_U8: ((uint8_t *)data)[i] = (uint8_t)(r % 10); break;
    case DT_I32: ((int32_t *)data)[i] = (int32_t)(r % 10); break;
    case DT_I64: ((int64_t *)data)[i] = (int64_t)(r % 10); break;
    case DT_BOOL: ((uint8_t *)data)[i] = (uint8_t)(r & 1); break;
    default: break;
    }
  }
}


/* requant.h — the fixed-point requantizer: the one rule that turns an int32 accumulator into a
 * narrow integer. The systolic simulator's STORE uses it; the interpreter and the CPU
 * backends are meant to call the same function so that int8 results agree bit for bit.
 *
 *   y = clamp(zp + round(acc * mult / 2^shift), lo, hi)
 *
 * acc * mult is computed exactly in 64 bits (|acc|, |mult| <= 2^31, so |product| <= 2^62).
 * round() is round half away from zero: 2.5 -> 3, -2.5 -> -3, 2.4 -> 2. Saturation is to
 * [lo, hi], which callers intersect with the output type's range (for int8 [-128, 127]). The
 * real scale is mult / 2^shift; for full precision choose mult in [2^30, 2^31). */
#ifndef LATHE_RUNTIME_REQUANT_H
#define LATHE_RUNTIME_REQUANT_H

#include <stdint.h>

/* Returns x / 2^shift rounded half away from zero, for |x| <= 2^62 and shift in [0, 63]. */
static inline int64_t rt_round_shift(int64_t x, int shift) {
  if (shift <= 0) return x;
  uint64_t mag = x < 0 ? (uint64_t)0 - (uint64_t)x : (uint64_t)x;
  uint64_t r = (mag + ((uint64_t)1 << (shift - 1))) >> shift;
  return x < 0 ? -(int64_t)r : (int64_t)r;
}

/* Returns clamp(zp + round_half_away(acc * mult / 2^shift), lo, hi); shift in [0, 63]. */
static inline int32_t rt_requant(int32_t acc, int32_t mult, int shift, int32_t zp, int32_t lo, int32_t hi) {
  int64_t y = rt_round_shift((int64_t)acc * (int64_t)mult, shift) + (int64_t)zp;
  if (y < lo) y = lo;
  if (y > hi) y = hi;
  return (int32_t)y;
}

#endif

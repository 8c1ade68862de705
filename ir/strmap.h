/* strmap.h — a string-keyed hash map of ints (keys are borrowed, not copied). */
#ifndef LATHE_IR_STRMAP_H
#define LATHE_IR_STRMAP_H

#include "ir/base.h"

typedef struct StrMap {
  const char **keys; /* cap slots; NULL: empty */
  int *vals;         /* cap slots */
  int cap;           /* a power of two, or 0 */
  int count;         /* keys present */
} StrMap;

void strmap_init(StrMap *m);
void strmap_free(StrMap *m);
/* Returns the value of key, or -1 when absent. */
int strmap_get(const StrMap *m, const char *key);
/* Sets key (which must outlive the map) to val; false when out of memory. */
bool strmap_put(StrMap *m, const char *key, int val);

#endif

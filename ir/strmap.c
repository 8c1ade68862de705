/* strmap.c — open addressing with linear probing, FNV-1a hashing. */
#include "ir/strmap.h"

#include <string.h>

void strmap_init(StrMap *m) { memset(m, 0, sizeof *m); }

void strmap_free(StrMap *m) {
  ir_free(m->keys);
  ir_free(m->vals);
  memset(m, 0, sizeof *m);
}

static uint32_t hash(const char *s) {
  uint32_t h = 2166136261u;
  for (; *s; s++) h = (h ^ (unsigned char)*s) * 16777619u;
  return h;
}

/* Returns the slot holding key, or the empty slot where it would go. */
static int slot(const StrMap *m, const char *key) {
  int i = (int)(hash(key) & (uint32_t)(m->cap - 1));
  while (m->keys[i] && strcmp(m->keys[i], key) != 0) i = (i + 1) & (m->cap - 1);
  return i;
}

int strmap_get(const StrMap *m, const char *key) {
  if (!m->cap) return -1;
  int i = slot(m, key);
  return m->keys[i] ? m->vals[i] : -1;
}

bool strmap_put(StrMap *m, const char *key, int val) {
  if ((m->count + 1) * 2 > m->cap) {
    StrMap n = {0};
    n.cap = m->cap ? m->cap * 2 : 64;
    n.keys = ir_calloc((size_t)n.cap, sizeof *n.keys);
    n.vals = ir_calloc((size_t)n.cap, sizeof *n.vals);
    if (!n.keys || !n.vals) { ir_free(n.keys); ir_free(n.vals); return false; }
    for (int i = 0; i < m->cap; i++)
      if (m->keys[i]) {
        int j = slot(&n, m->keys[i]);
        n.keys[j] = m->keys[i];
        n.vals[j] = m->vals[i];
      }
    n.count = m->count;
    strmap_free(m);
    *m = n;
  }
  int i = slot(m, key);
  if (!m->keys[i]) m->count++;
  m->keys[i] = key;
  m->vals[i] = val;
  return true;
}

/* io.c — a whole read(2) loop and SHA-256, shared by the runtime and the compiler (ir/fs.c). */
#include "runtime/io.h"

#include <errno.h>
#include <openssl/evp.h>
#include <string.h>
#include <unistd.h>

/* The most bytes asked of one read(2) call (Linux caps a read near 2 GiB anyway). */
#define IO_READ_CHUNK ((int64_t)1 << 30)

int64_t rt_read_full(int fd, void *buf, int64_t n) {
  char *p = buf;
  int64_t done = 0;
  while (done < n) {
    int64_t want = n - done < IO_READ_CHUNK ? n - done : IO_READ_CHUNK;
    ssize_t got = read(fd, p + done, (size_t)want);
    if (got < 0 && (errno == EINTR || errno == EAGAIN)) continue;
    if (got < 0) return -1;
    if (got == 0) break;
    done += got;
  }
  return done;
}

bool rt_sha256_zeroed(const void *data, size_t n, size_t zero_at, size_t zero_len, uint8_t out[32]) {
  static const unsigned char zeros[64];
  const unsigned char *p = n ? data : zeros;
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_MD_CTX *ctx = EVP_MD_CTX_new();
  bool ok = ctx && EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) && EVP_DigestUpdate(ctx, p, zero_at);
  for (size_t left = zero_len; ok && left > 0;) {
    size_t k = left < sizeof zeros ? left : sizeof zeros;
    ok = EVP_DigestUpdate(ctx, zeros, k);
    left -= k;
  }
  ok = ok && EVP_DigestUpdate(ctx, p + zero_at + zero_len, n - zero_at - zero_len) &&
       EVP_DigestFinal_ex(ctx, md, &len) && len == 32;
  EVP_MD_CTX_free(ctx);
  if (ok) memcpy(out, md, 32);
  return ok;
}

bool rt_sha256(const void *data, size_t n, uint8_t out[32]) { return rt_sha256_zeroed(data, n, 0, 0, out); }

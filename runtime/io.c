/* io.c — a whole read(2) loop and SHA-256, shared by the runtime and the compiler (ir/fs.c). */
#include "runtime/io.h"

#include <errno.h>
#include <openssl/evp.h>
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

bool rt_sha256(const void *data, size_t n, uint8_t out[32]) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (!EVP_Digest(n ? data : "", n, md, &len, EVP_sha256(), NULL) || len != 32) return false;
  for (unsigned i = 0; i < 32; i++) out[i] = md[i];
  return true;
}

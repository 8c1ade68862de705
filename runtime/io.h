/* io.h — the two file and hashing helpers the runtime and the compiler share: a read(2) loop
 * that reads all it is asked for, and SHA-256 (OpenSSL's libcrypto). */
#ifndef LATHE_RUNTIME_IO_H
#define LATHE_RUNTIME_IO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Reads up to n bytes from fd into buf, retrying interrupted and partial reads, until n bytes
 * or the end of the file. Returns the bytes read (less than n only at the end of the file),
 * or -1 with errno set when a read fails. */
int64_t rt_read_full(int fd, void *buf, int64_t n);

/* Writes the SHA-256 digest of data[0..n) to out; false (out untouched) when OpenSSL fails,
 * which happens only when it runs out of memory. */
bool rt_sha256(const void *data, size_t n, uint8_t out[32]);
/* The same, of data[0..n) with the bytes [zero_at, zero_at + zero_len) read as zeros (the
 * range must lie inside data): the content hash of an artifact without copying it. */
bool rt_sha256_zeroed(const void *data, size_t n, size_t zero_at, size_t zero_len, uint8_t out[32]);

#endif

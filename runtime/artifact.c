/* artifact.c — reading an artifact file and checking it before any of its code is loaded:
 * the ELF64 header and section table (every offset bounds-checked), the ".lathe" record, the
 * content hash and the CPU features; sealing (writing the content hash) for the compiler;
 * status strings and the CPU's features. Nothing here calls dlopen. */
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ir/base.h"
#include "runtime/internal.h"
#include "runtime/io.h"

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#endif

/* ---- errors and names --------------------------------------------------------------------------- */

int rt_fail(lathe_error *err, int status, const char *fmt, ...) {
  if (err) {
    va_list ap;
    va_start(ap, fmt);
    err->status = status;
    vsnprintf(err->message, sizeof err->message, fmt, ap);
    va_end(ap);
  }
  return status;
}

int rt_ok(lathe_error *err) {
  if (err) {
    err->status = LATHE_OK;
    err->message[0] = 0;
  }
  return LATHE_OK;
}

const char *lathe_status_string(int status) {
  switch (status) {
  case LATHE_OK: return "success";
  case LATHE_ERR_INPUT: return "bad input";
  case LATHE_ERR_USAGE: return "a call that makes no sense";
  case LATHE_ERR_ABI: return "an artifact of another ABI version";
  case LATHE_ERR_CPU: return "this CPU lacks a feature the compiled code needs";
  case LATHE_ERR_CORRUPT: return "a corrupt artifact";
  case LATHE_ERR_ALIGN: return "a misaligned buffer";
  case LATHE_ERR_IO: return "a file that cannot be opened or read";
  case LATHE_ERR_SYMBOL: return "an artifact that lacks a symbol";
  case LATHE_ERR_NOMEM: return "out of memory";
  case LATHE_ERR_SIZE: return "a buffer of the wrong size";
  case LATHE_ERR_INTERNAL: return "an internal error";
  default: return "an unknown status";
  }
}

static const struct { const char *name; int size; } dtypes[] = {
    [LATHE_F32] = {"f32", 4}, [LATHE_F16] = {"f16", 2}, [LATHE_BF16] = {"bf16", 2}, [LATHE_I8] = {"i8", 1},
    [LATHE_U8] = {"u8", 1},   [LATHE_I32] = {"i32", 4}, [LATHE_I64] = {"i64", 8},   [LATHE_BOOL] = {"bool", 1},
};
enum { NDTYPES = sizeof dtypes / sizeof dtypes[0] };

const char *lathe_dtype_name(int dtype) { return dtype >= 0 && dtype < NDTYPES ? dtypes[dtype].name : "?"; }

int rt_dtype_size(int dtype) { return dtype >= 0 && dtype < NDTYPES ? dtypes[dtype].size : 0; }

void rt_format_type(const lathe_tensor_desc *t, char *buf, size_t n) {
  int len = snprintf(buf, n, "%s[", lathe_dtype_name(t->dtype));
  for (int i = 0; i < t->rank && i < LATHE_MAX_RANK && len > 0 && (size_t)len < n; i++)
    len += snprintf(buf + len, n - (size_t)len, "%s%lld", i ? "," : "", (long long)t->dims[i]);
  if (len > 0 && (size_t)len < n) snprintf(buf + len, n - (size_t)len, "]");
}

/* ---- the CPU --------------------------------------------------------------------------------------- */

/* Names of the LATHE_CPU_* bits, lowest first, as in compilers' -m flags. */
static const char *const cpu_feature_names[] = {"sse4.2",   "avx2",     "fma",      "f16c",       "avx512f",
                                                "avx512bw", "avx512dq", "avx512vl", "avx512vnni", "avx512bf16"};
enum { NCPU_FEATURES = sizeof cpu_feature_names / sizeof cpu_feature_names[0] };

#if defined(__x86_64__) || defined(__i386__)
/* The OS-enabled register state (XCR0); only valid when CPUID says OSXSAVE. */
static uint64_t read_xcr0(void) {
  uint32_t lo, hi;
  __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
  return ((uint64_t)hi << 32) | lo;
}

uint64_t lathe_cpu_features(void) {
  unsigned a, b, c, d;
  uint64_t f = 0;
  if (!__get_cpuid(1, &a, &b, &c, &d)) return 0;
  if (c & (1u << 20)) f |= LATHE_CPU_SSE42;
  uint64_t xcr0 = (c & (1u << 27)) ? read_xcr0() : 0;  /* OSXSAVE */
  bool avx = (c & (1u << 28)) && (xcr0 & 0x6) == 0x6;  /* AVX, and the OS saves xmm and ymm */
  bool avx512_os = avx && (xcr0 & 0xe0) == 0xe0;        /* and opmask, zmm0-15 high, zmm16-31 */
  if (avx && (c & (1u << 12))) f |= LATHE_CPU_FMA;
  if (avx && (c & (1u << 29))) f |= LATHE_CPU_F16C;
  if (__get_cpuid_max(0, NULL) < 7) return f;
  __cpuid_count(7, 0, a, b, c, d);
  unsigned max_sub = a;
  if (avx && (b & (1u << 5))) f |= LATHE_CPU_AVX2;
  if (avx512_os && (b & (1u << 16))) {
    f |= LATHE_CPU_AVX512F;
    if (b & (1u << 30)) f |= LATHE_CPU_AVX512BW;
    if (b & (1u << 17)) f |= LATHE_CPU_AVX512DQ;
    if (b & (1u << 31)) f |= LATHE_CPU_AVX512VL;
    if (c & (1u << 11)) f |= LATHE_CPU_AVX512VNNI;
    if (max_sub >= 1) {
      __cpuid_count(7, 1, a, b, c, d);
      if (a & (1u << 5)) f |= LATHE_CPU_AVX512BF16;
    }
  }
  return f;
}
#else
uint64_t lathe_cpu_features(void) { return 0; }
#endif

/* Writes the names of the bits of missing to buf ("avx512f, avx512bw", unknown bits as "bit N"). */
static void format_features(uint64_t missing, char *buf, size_t n) {
  size_t len = 0;
  buf[0] = 0;
  for (int i = 0; i < 64 && len < n; i++) {
    if (!(missing >> i & 1)) continue;
    int w = i < NCPU_FEATURES ? snprintf(buf + len, n - len, "%s%s", len ? ", " : "", cpu_feature_names[i])
                              : snprintf(buf + len, n - len, "%sbit %d (unknown to this runtime)", len ? ", " : "", i);
    if (w < 0) break;
    len += (size_t)w;
  }
}

/* ---- reading the file -------------------------------------------------------------------------- */

/* Reads the regular file fd whole into a new buffer (*data, ir_free it). */
static int read_fd(int fd, const char *path, uint8_t **data, size_t *size, lathe_error *err) {
  *data = NULL;
  struct stat st;
  if (fstat(fd, &st) != 0) return rt_fail(err, LATHE_ERR_IO, "%s: cannot stat: %s", path, strerror(errno));
  if (!S_ISREG(st.st_mode)) return rt_fail(err, LATHE_ERR_IO, "%s: is not a regular file", path);
  if (st.st_size > IR_MAX_FILE_BYTES)
    return rt_fail(err, LATHE_ERR_IO, "%s: file is too large (%lld bytes)", path, (long long)st.st_size);
  uint8_t *p = ir_malloc((size_t)st.st_size);
  if (!p) return rt_fail(err, LATHE_ERR_NOMEM, "%s: out of memory reading %lld bytes", path, (long long)st.st_size);
  int64_t got = rt_read_full(fd, p, (int64_t)st.st_size);
  if (got != (int64_t)st.st_size) {
    int e = errno;
    ir_free(p);
    if (got < 0) return rt_fail(err, LATHE_ERR_IO, "%s: cannot read: %s", path, strerror(e));
    return rt_fail(err, LATHE_ERR_IO, "%s: file shrank while being read", path);
  }
  *data = p;
  *size = (size_t)st.st_size;
  return LATHE_OK;
}

/* True when [off, off + len) lies inside a file of n bytes. */
static bool in_file(uint64_t off, uint64_t len, size_t n) { return off <= n && len <= n - off; }

/* Finds the ".lathe" section of the ELF64 image data[0..n) and sets *off and *len to its
 * bytes in the file. Every header field used is checked against the file's size first. */
static int find_record_section(const uint8_t *data, size_t n, const char *path, uint64_t *off, uint64_t *len,
                               lathe_error *err) {
  Elf64_Ehdr eh;
  if (n < sizeof eh || memcmp(data, ELFMAG, SELFMAG) != 0)
    return rt_fail(err, LATHE_ERR_CORRUPT, "%s: not an ELF file", path);
  memcpy(&eh, data, sizeof eh);
  if (eh.e_ident[EI_CLASS] != ELFCLASS64 || eh.e_ident[EI_DATA] != ELFDATA2LSB)
    return rt_fail(err, LATHE_ERR_CORRUPT, "%s: not a little-endian 64-bit ELF file", path);
#if defined(__x86_64__)
  if (eh.e_machine != EM_X86_64)
    return rt_fail(err, LATHE_ERR_CPU, "%s: built for ELF machine %u, not x86-64", path, (unsigned)eh.e_machine);
#endif
  if (eh.e_type != ET_DYN) return rt_fail(err, LATHE_ERR_CORRUPT, "%s: not a shared object (ELF type %u)", path, eh.e_type);
  if (eh.e_shentsize != sizeof(Elf64_Shdr) || eh.e_shnum == 0 || eh.e_shstrndx >= eh.e_shnum)
    return rt_fail(err, LATHE_ERR_CORRUPT, "%s: no usable section table (%u sections of %u bytes, names in %u)", path,
                   eh.e_shnum, eh.e_shentsize, eh.e_shstrndx);
  if (!in_file(eh.e_shoff, (uint64_t)eh.e_shnum * sizeof(Elf64_Shdr), n))
    return rt_fail(err, LATHE_ERR_CORRUPT,
                   "%s: truncated: the section table (at byte %llu, %u entries) lies past the end (%zu bytes)",
                   path, (unsigned long long)eh.e_shoff, eh.e_shnum, n);
  Elf64_Shdr names;
  memcpy(&names, data + eh.e_shoff + (uint64_t)eh.e_shstrndx * sizeof names, sizeof names);
  if (names.sh_type != SHT_STRTAB || !in_file(names.sh_offset, names.sh_size, n))
    return rt_fail(err, LATHE_ERR_CORRUPT, "%s: the section name table is missing or lies past the end of the file", path);
  const char *strtab = (const char *)data + names.sh_offset;
  static const char want[] = LATHE_RECORD_SECTION;
  int found = -1;
  for (int i = 0; i < eh.e_shnum; i++) {
    Elf64_Shdr sh;
    memcpy(&sh, data + eh.e_shoff + (uint64_t)i * sizeof sh, sizeof sh);
    if (sh.sh_name >= names.sh_size || names.sh_size - sh.sh_name < sizeof want ||
        memcmp(strtab + sh.sh_name, want, sizeof want) != 0)
      continue;
    if (found >= 0) return rt_fail(err, LATHE_ERR_CORRUPT, "%s: two %s sections", path, want);
    if (sh.sh_type != SHT_PROGBITS || !in_file(sh.sh_offset, sh.sh_size, n))
      return rt_fail(err, LATHE_ERR_CORRUPT, "%s: truncated: the %s section lies past the end of the file", path, want);
    found = i;
    *off = sh.sh_offset;
    *len = sh.sh_size;
  }
  if (found < 0) return rt_fail(err, LATHE_ERR_CORRUPT, "%s: no %s section: not a lathe artifact", path, want);
  return LATHE_OK;
}

/* True when the n bytes of s hold a NUL-terminated C identifier. */
static bool is_identifier(const char *s, size_t n) {
  size_t len = strnlen(s, n);
  if (len == 0 || len == n || (s[0] >= '0' && s[0] <= '9')) return false;
  for (size_t i = 0; i < len; i++) {
    char c = s[i];
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_')) return false;
  }
  return true;
}

/* Finds and checks the record of the image (magic, ABI version, size, name, target); copies
 * it to *record and its file offset to *off. */
static int read_record(const uint8_t *data, size_t n, const char *path, lathe_artifact_record *record, uint64_t *off,
                       lathe_error *err) {
  uint64_t len = 0;
  int st = find_record_section(data, n, path, off, &len, err);
  if (st != LATHE_OK) return st;
  lathe_artifact_record r;
  size_t head = offsetof(lathe_artifact_record, cpu_features); /* magic, abi_version, record_size */
  memset(&r, 0, sizeof r);
  if (len < head) return rt_fail(err, LATHE_ERR_CORRUPT, "%s: the %s section (%llu bytes) is too small for a record", path,
                                 LATHE_RECORD_SECTION, (unsigned long long)len);
  memcpy(&r, data + *off, head);
  if (memcmp(r.magic, LATHE_RECORD_MAGIC, sizeof r.magic) != 0)
    return rt_fail(err, LATHE_ERR_CORRUPT, "%s: the record's magic is wrong", path);
  if (r.abi_version != LATHE_ABI_VERSION)
    return rt_fail(err, LATHE_ERR_ABI, "%s: built for ABI version %u; this runtime reads version %u", path,
                   r.abi_version, LATHE_ABI_VERSION);
  if (r.record_size != sizeof r || len != sizeof r)
    return rt_fail(err, LATHE_ERR_CORRUPT, "%s: the record is %u bytes in a %llu-byte section; ABI version %u needs %zu",
                   path, r.record_size, (unsigned long long)len, LATHE_ABI_VERSION, sizeof r);
  memcpy(&r, data + *off, sizeof r);
  if (!is_identifier(r.name, sizeof r.name))
    return rt_fail(err, LATHE_ERR_CORRUPT, "%s: the record's model name is not a C identifier", path);
  if (strnlen(r.target, sizeof r.target) == sizeof r.target)
    return rt_fail(err, LATHE_ERR_CORRUPT, "%s: the record's target is not NUL-terminated", path);
  *record = r;
  return LATHE_OK;
}

/* Finds the record of the image and computes its content hash: SHA-256 of the whole file with
 * the record's content_sha256 read as zeros. */
static int record_and_hash(const uint8_t *data, size_t n, const char *name, lathe_artifact_record *r, uint64_t *off,
                           uint8_t hash[32], lathe_error *err) {
  int st = read_record(data, n, name, r, off, err);
  if (st != LATHE_OK) return st;
  if (!rt_sha256_zeroed(data, n, *off + offsetof(lathe_artifact_record, content_sha256), 32, hash))
    return rt_fail(err, LATHE_ERR_NOMEM, "%s: out of memory computing SHA-256", name);
  return LATHE_OK;
}

/* ---- the checks -------------------------------------------------------------------------------- */

int lathe_artifact_check_image(const void *data, size_t n, const char *name, lathe_artifact_record *record,
                               lathe_error *err) {
  if (!data && n) return rt_fail(err, LATHE_ERR_USAGE, "lathe_artifact_check_image: no data");
  if (!name) name = "artifact";
  lathe_artifact_record r;
  uint64_t off = 0;
  uint8_t hash[32];
  int st = record_and_hash(n ? data : "", n, name, &r, &off, hash, err);
  if (st != LATHE_OK) return st;
  static const uint8_t zero[32];
  if (memcmp(r.content_sha256, zero, 32) == 0)
    return rt_fail(err, LATHE_ERR_CORRUPT, "%s: the artifact was never sealed (its content hash is zero)", name);
  if (memcmp(r.content_sha256, hash, 32) != 0)
    return rt_fail(err, LATHE_ERR_CORRUPT, "%s: the content hash does not match: the file was altered or truncated", name);
  uint64_t missing = r.cpu_features & ~lathe_cpu_features();
  if (missing) {
    char names[256];
    format_features(missing, names, sizeof names);
    return rt_fail(err, LATHE_ERR_CPU, "%s: compiled for %s and needs %s, which this CPU lacks", name, r.target, names);
  }
  if (record) *record = r;
  return rt_ok(err);
}

int lathe_artifact_check(const char *path, lathe_artifact_record *record, lathe_error *err) {
  if (!path) return rt_fail(err, LATHE_ERR_USAGE, "lathe_artifact_check: no path");
  int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0) return rt_fail(err, LATHE_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
  uint8_t *data;
  size_t n;
  int st = read_fd(fd, path, &data, &n, err);
  close(fd);
  if (st != LATHE_OK) return st;
  st = lathe_artifact_check_image(data, n, path, record, err);
  ir_free(data);
  return st;
}

int lathe_artifact_seal_image(void *data, size_t n, const char *name, lathe_error *err) {
  if (!data && n) return rt_fail(err, LATHE_ERR_USAGE, "lathe_artifact_seal_image: no data");
  if (!name) name = "artifact";
  lathe_artifact_record r;
  uint64_t off = 0;
  uint8_t hash[32];
  int st = record_and_hash(n ? data : "", n, name, &r, &off, hash, err);
  if (st != LATHE_OK) return st;
  memcpy((uint8_t *)data + off + offsetof(lathe_artifact_record, content_sha256), hash, 32);
  return rt_ok(err);
}

int lathe_artifact_seal(const char *path, lathe_error *err) {
  if (!path) return rt_fail(err, LATHE_ERR_USAGE, "lathe_artifact_seal: no path");
  int fd = open(path, O_RDWR | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0) return rt_fail(err, LATHE_ERR_IO, "%s: cannot open for writing: %s", path, strerror(errno));
  uint8_t *data;
  size_t n;
  lathe_artifact_record r;
  uint64_t off = 0;
  uint8_t hash[32];
  int st = read_fd(fd, path, &data, &n, err);
  if (st == LATHE_OK) {
    st = record_and_hash(data, n, path, &r, &off, hash, err);
    ir_free(data);
  }
  if (st == LATHE_OK) {
    off_t at = (off_t)(off + offsetof(lathe_artifact_record, content_sha256));
    if (pwrite(fd, hash, 32, at) != 32)
      st = rt_fail(err, LATHE_ERR_IO, "%s: cannot write the hash: %s", path, strerror(errno));
  }
  if (close(fd) != 0 && st == LATHE_OK) st = rt_fail(err, LATHE_ERR_IO, "%s: cannot close: %s", path, strerror(errno));
  return st == LATHE_OK ? rt_ok(err) : st;
}

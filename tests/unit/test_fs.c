/* test_fs.c — whole-file reads, safe writes (temporary file + rename) and SHA-256. */
#include <dirent.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "ir/fs.h"

/* The scratch directory of this program (its own, so test programs can run in parallel). */
#define FS_DIR LATHE_TEST_TMP "/fs/"

#include "diag_capture.h"

/* Counts the files in FS_DIR whose name contains ".tmp.". */
static int count_temps(void) {
  DIR *dir = opendir(FS_DIR);
  assert_non_null(dir);
  int n = 0;
  struct dirent *e;
  while ((e = readdir(dir)) != NULL)
    if (strstr(e->d_name, ".tmp.")) n++;
  closedir(dir);
  return n;
}

/* Asserts that the file at path holds exactly the NUL-terminated text want. */
static void assert_file_is(const char *path, const char *want) {
  FILE *f = fopen(path, "rb");
  assert_non_null(f);
  char buf[256];
  size_t n = fread(buf, 1, sizeof buf, f);
  fclose(f);
  assert_int_equal(n, strlen(want));
  assert_memory_equal(buf, want, n);
}

static int setup(void **state) {
  (void)state;
  if (mkdir(FS_DIR, 0777) != 0 && errno != EEXIST) return -1;
  return 0;
}

static void test_sha256_vectors(void **state) {
  (void)state;
  char hex[65];
  ir_sha256_hex("abc", 3, hex);
  assert_string_equal(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  ir_sha256_hex("", 0, hex);
  assert_string_equal(hex, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  ir_sha256_hex(NULL, 0, hex);
  assert_string_equal(hex, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  const char *two = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
  ir_sha256_hex(two, strlen(two), hex);
  assert_string_equal(hex, "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
  char *million = malloc(1000000);
  assert_non_null(million);
  memset(million, 'a', 1000000);
  ir_sha256_hex(million, 1000000, hex);
  free(million);
  assert_string_equal(hex, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

static void test_write_then_read(void **state) {
  (void)state;
  DiagSink d;
  diag_start(&d);
  unsigned char bytes[300];
  for (int i = 0; i < 300; i++) bytes[i] = (unsigned char)(i * 7 + 3);
  assert_int_equal(ir_write_file(FS_DIR "rw.bin", bytes, sizeof bytes, &d), IR_OK);
  IrBuffer *b = NULL;
  assert_int_equal(ir_read_file(FS_DIR "rw.bin", 1 << 20, &b, &d), IR_OK);
  assert_non_null(b);
  assert_int_equal(b->size, 300);
  assert_int_equal(b->refs, 1);
  assert_int_equal((uintptr_t)b->data % 64, 0);
  assert_memory_equal(b->data, bytes, 300);
  ir_buffer_unref(b);
  /* exactly at the limit is fine */
  assert_int_equal(ir_read_file(FS_DIR "rw.bin", 300, &b, &d), IR_OK);
  ir_buffer_unref(b);
  /* an empty file */
  assert_int_equal(ir_write_file(FS_DIR "empty.bin", NULL, 0, &d), IR_OK);
  assert_int_equal(ir_read_file(FS_DIR "empty.bin", 1 << 20, &b, &d), IR_OK);
  assert_int_equal(b->size, 0);
  ir_buffer_unref(b);
  assert_int_equal(d.errors, 0);
  assert_int_equal(count_temps(), 0);
  /* the mode is that of an ordinary new file */
  mode_t mask = umask(022);
  umask(mask);
  struct stat st;
  assert_int_equal(stat(FS_DIR "rw.bin", &st), 0);
  assert_int_equal(st.st_mode & 0777, 0666 & ~mask);
  diag_end(&d);
}

static void test_read_missing(void **state) {
  (void)state;
  DiagSink d;
  diag_start(&d);
  IrBuffer *b = (IrBuffer *)&d; /* must be reset to NULL */
  assert_int_equal(ir_read_file(FS_DIR "no-such-file.bin", 1 << 20, &b, &d), IR_ERR_INPUT);
  assert_null(b);
  assert_int_equal(d.errors, 1);
  assert_diag_has(&d, FS_DIR "no-such-file.bin: error: cannot open: ");
  assert_diag_has(&d, strerror(ENOENT));
  diag_end(&d);
}

static void test_read_directory(void **state) {
  (void)state;
  DiagSink d;
  diag_start(&d);
  IrBuffer *b = NULL;
  assert_int_equal(ir_read_file(LATHE_TEST_TMP, 1 << 20, &b, &d), IR_ERR_INPUT);
  assert_null(b);
  assert_int_equal(d.errors, 1);
  assert_diag_has(&d, "is a directory");
  diag_end(&d);
}

static void test_read_fifo(void **state) {
  (void)state;
  DiagSink d;
  diag_start(&d);
  unlink(FS_DIR "fifo");
  assert_int_equal(mkfifo(FS_DIR "fifo", 0600), 0);
  IrBuffer *b = NULL;
  /* must neither block waiting for a writer nor read it */
  assert_int_equal(ir_read_file(FS_DIR "fifo", 1 << 20, &b, &d), IR_ERR_INPUT);
  assert_null(b);
  assert_int_equal(d.errors, 1);
  assert_diag_has(&d, "is not a regular file");
  unlink(FS_DIR "fifo");
  diag_end(&d);
}

static void test_read_too_large(void **state) {
  (void)state;
  DiagSink d;
  diag_start(&d);
  assert_int_equal(ir_write_file(FS_DIR "ten.bin", "0123456789", 10, &d), IR_OK);
  IrBuffer *b = NULL;
  assert_int_equal(ir_read_file(FS_DIR "ten.bin", 9, &b, &d), IR_ERR_INPUT);
  assert_null(b);
  assert_int_equal(d.errors, 1);
  assert_diag_has(&d, "ten.bin: error: file is too large (10 bytes; the limit is 9)");
  diag_end(&d);
}

static void test_abort_keeps_old_contents(void **state) {
  (void)state;
  DiagSink d;
  diag_start(&d);
  assert_int_equal(ir_write_file(FS_DIR "safe.txt", "old contents", 12, &d), IR_OK);
  IrOutFile o;
  assert_int_equal(ir_out_open(&o, FS_DIR "safe.txt", &d), IR_OK);
  assert_non_null(o.f);
  assert_string_equal(o.path, FS_DIR "safe.txt");
  assert_int_equal(strncmp(o.tmp, FS_DIR "safe.txt.tmp.", strlen(FS_DIR "safe.txt.tmp.")), 0);
  assert_int_equal(count_temps(), 1);
  fputs("new contents that never land", o.f);
  fflush(o.f);
  assert_file_is(FS_DIR "safe.txt", "old contents"); /* untouched while writing */
  ir_out_abort(&o);                               /* the write "fails" */
  assert_null(o.f);
  assert_null(o.path);
  assert_null(o.tmp);
  assert_file_is(FS_DIR "safe.txt", "old contents");
  assert_int_equal(count_temps(), 0);
  ir_out_abort(&o); /* a second abort is harmless */
  /* and a committed write replaces the file */
  assert_int_equal(ir_out_open(&o, FS_DIR "safe.txt", &d), IR_OK);
  fputs("new contents", o.f);
  assert_int_equal(ir_out_commit(&o, &d), IR_OK);
  assert_null(o.tmp);
  assert_file_is(FS_DIR "safe.txt", "new contents");
  assert_int_equal(count_temps(), 0);
  assert_int_equal(d.errors, 0);
  diag_end(&d);
}

static void test_commit_after_write_error(void **state) {
  (void)state;
  DiagSink d;
  diag_start(&d);
  assert_int_equal(ir_write_file(FS_DIR "werr.txt", "keep me", 7, &d), IR_OK);
  IrOutFile o;
  assert_int_equal(ir_out_open(&o, FS_DIR "werr.txt", &d), IR_OK);
  fputs("half", o.f);
  /* reading a write-only stream sets its error flag, as a failed write would */
  assert_int_equal(fgetc(o.f), EOF);
  assert_true(ferror(o.f));
  assert_int_equal(ir_out_commit(&o, &d), IR_ERR_INPUT);
  assert_null(o.f);
  assert_null(o.tmp);
  assert_int_equal(d.errors, 1);
  assert_diag_has(&d, "werr.txt: error: cannot write");
  assert_file_is(FS_DIR "werr.txt", "keep me");
  assert_int_equal(count_temps(), 0);
  diag_end(&d);
}

static void test_commit_rename_fails(void **state) {
  (void)state;
  DiagSink d;
  diag_start(&d);
  /* the target is a directory: rename(2) cannot replace it */
  if (mkdir(FS_DIR "adir", 0777) != 0) assert_int_equal(errno, EEXIST);
  IrOutFile o;
  assert_int_equal(ir_out_open(&o, FS_DIR "adir", &d), IR_OK);
  fputs("data", o.f);
  assert_int_equal(ir_out_commit(&o, &d), IR_ERR_INPUT);
  assert_int_equal(d.errors, 1);
  assert_diag_has(&d, "adir: error: cannot rename");
  assert_int_equal(count_temps(), 0);
  struct stat st;
  assert_int_equal(stat(FS_DIR "adir", &st), 0);
  assert_true(S_ISDIR(st.st_mode));
  diag_end(&d);
}

static void test_open_in_missing_directory(void **state) {
  (void)state;
  DiagSink d;
  diag_start(&d);
  IrOutFile o;
  assert_int_equal(ir_out_open(&o, FS_DIR "no/such/dir/x.bin", &d), IR_ERR_INPUT);
  assert_null(o.f);
  assert_null(o.path);
  assert_null(o.tmp);
  ir_out_abort(&o); /* harmless on the emptied struct */
  assert_int_equal(d.errors, 1);
  assert_diag_has(&d, "x.bin: error: cannot create a temporary file");
  assert_int_equal(ir_write_file(FS_DIR "no/such/dir/y.bin", "z", 1, &d), IR_ERR_INPUT);
  assert_int_equal(d.errors, 2);
  diag_end(&d);
}

static void test_alloc_failures(void **state) {
  (void)state;
  DiagSink d;
  diag_init(&d, NULL);
  assert_int_equal(ir_write_file(FS_DIR "oom.bin", "abcdef", 6, &d), IR_OK);
  /* every allocation in turn fails: a clean error each time, then success */
  bool done = false;
  for (uint64_t n = 1; n < 50 && !done; n++) {
    IrBuffer *b = NULL;
    ir_alloc_fail_after(n);
    IrStatus s = ir_read_file(FS_DIR "oom.bin", 100, &b, &d);
    ir_alloc_fail_after(0);
    if (s == IR_OK) {
      assert_memory_equal(b->data, "abcdef", 6);
      ir_buffer_unref(b);
      done = true;
    } else {
      assert_int_equal(s, IR_ERR_INPUT);
      assert_null(b);
    }
  }
  assert_true(done);
  done = false;
  for (uint64_t n = 1; n < 50 && !done; n++) {
    ir_alloc_fail_after(n);
    IrStatus s = ir_write_file(FS_DIR "oom2.bin", "xyz", 3, &d);
    ir_alloc_fail_after(0);
    done = s == IR_OK;
    if (!done) assert_int_equal(s, IR_ERR_INPUT);
    assert_int_equal(count_temps(), 0);
  }
  assert_true(done);
  assert_file_is(FS_DIR "oom2.bin", "xyz");
  diag_free(&d);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_sha256_vectors),
      cmocka_unit_test(test_write_then_read),
      cmocka_unit_test(test_read_missing),
      cmocka_unit_test(test_read_directory),
      cmocka_unit_test(test_read_fifo),
      cmocka_unit_test(test_read_too_large),
      cmocka_unit_test(test_abort_keeps_old_contents),
      cmocka_unit_test(test_commit_after_write_error),
      cmocka_unit_test(test_commit_rename_fails),
      cmocka_unit_test(test_open_in_missing_directory),
      cmocka_unit_test(test_alloc_failures),
  };
  return cmocka_run_group_tests(tests, setup, NULL);
}

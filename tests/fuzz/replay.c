/* replay.c — runs a fuzz target's LLVMFuzzerTestOneInput on files, without libFuzzer, so the
 * committed seed corpus and every regression input are replayed in every build (gcc ones
 * included). usage: fuzz_replay_NAME FILE_OR_DIR... (a folder's files in name order).
 * Prints `N inputs replayed`; a finding aborts, as under libFuzzer. */
#include <dirent.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "ir/fs.h"
#include "tests/fuzz/fuzz.h"

/* Feeds the file at path to the target; returns 1 when it ran, 0 when it could not be read. */
static int replay_file(const char *path) {
  DiagSink d;
  diag_init(&d, stderr);
  IrBuffer *b = NULL;
  IrStatus st = ir_read_file(path, (int64_t)1 << 30, &b, &d);
  diag_free(&d);
  if (st != IR_OK) return 0;
  LLVMFuzzerTestOneInput(b->data, (size_t)b->size);
  ir_buffer_unref(b);
  return 1;
}

/* Skips "." entries and hidden files such as .gitkeep. */
static int visible(const struct dirent *e) { return e->d_name[0] != '.'; }

int main(int argc, char **argv) {
  int replayed = 0, unreadable = 0;
  for (int i = 1; i < argc; i++) {
    struct stat s;
    if (stat(argv[i], &s) == 0 && S_ISDIR(s.st_mode)) {
      struct dirent **list;
      int n = scandir(argv[i], &list, visible, alphasort);
      if (n < 0) { unreadable++; continue; }
      for (int k = 0; k < n; k++) {
        size_t len = strlen(argv[i]) + strlen(list[k]->d_name) + 2;
        char *path = malloc(len);
        if (path) {
          snprintf(path, len, "%s/%s", argv[i], list[k]->d_name);
          if (replay_file(path)) replayed++; else unreadable++;
          free(path);
        }
        free(list[k]);
      }
      free(list);
    } else if (replay_file(argv[i])) {
      replayed++;
    } else {
      unreadable++;
    }
  }
  printf("%d inputs replayed, %d unreadable\n", replayed, unreadable);
  return unreadable ? 1 : 0;
}

/* backend.c — the LLVM backend as the lathe command reaches it: the module liblathe_llvm.so,
 * loaded the first time a command compiles (codegen/llvm/nest.h, CgLlvmBackend says why). It
 * is looked for in $LATHE_LLVM_BACKEND when set, else beside the lathe executable, else in
 * ../lib/lathe/ from it (an installed layout). */
#include <dlfcn.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "codegen/llvm/nest.h"
#include "tools/commands.h"

#define MODULE_NAME "liblathe_llvm.so"

/* Opens the module at path; NULL (with dlerror's message in why) when it cannot. */
static void *open_module(const char *path, char *why, size_t n) {
  void *h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
  if (!h) snprintf(why, n, "%s", dlerror());
  return h;
}

const CgLlvmBackend *llvm_backend(DiagSink *d) {
  static const CgLlvmBackend *loaded; /* never unloaded: LLVM stays until exit */
  if (loaded) return loaded;
  char why[512] = "", path[PATH_MAX];
  void *h = NULL;
  const char *env = getenv("LATHE_LLVM_BACKEND");
  if (env && *env) {
    h = open_module(env, why, sizeof why);
  } else {
    ssize_t n = readlink("/proc/self/exe", path, sizeof path - 1);
    path[n > 0 ? n : 0] = 0;
    char *slash = strrchr(path, '/');
    if (!slash) {
      snprintf(why, sizeof why, "cannot tell where the lathe executable lies");
    } else {
      size_t dir = (size_t)(slash - path);
      const char *const places[] = {"/" MODULE_NAME, "/../lib/lathe/" MODULE_NAME};
      for (size_t i = 0; !h && i < sizeof places / sizeof *places; i++) {
        if (dir + strlen(places[i]) >= sizeof path) break;
        strcpy(path + dir, places[i]);
        h = open_module(path, why, sizeof why);
      }
    }
  }
  if (h) loaded = (const CgLlvmBackend *)dlsym(h, CG_LLVM_BACKEND_SYMBOL);
  if (!loaded) {
    if (h) snprintf(why, sizeof why, "%s", dlerror());
    diag_error(d, loc_none(), "cannot load the LLVM backend (" MODULE_NAME "): %s; "
               "set LATHE_LLVM_BACKEND to its path", why);
  }
  return loaded;
}

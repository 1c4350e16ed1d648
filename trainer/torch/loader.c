// The Go side of the shim boundary, compiled by cgo without any libtorch header: a function pointer per
// line of shim/api.def, filled from libmedqa_torch.so with dlsym, and a same-named wrapper that calls it,
// so the Go code calls C.tt_* as if the shim were linked in.
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "shim/shim.h"

#define TT_FN(ret, name, params, args) static ret(*p_##name) params;
#include "shim/api.def"
#undef TT_FN

// Why the shim is not loaded, set by the Go loader; printed if a function is called anyway.
static char not_loaded[8192] = "the Go package trainer/torch never tried to load it";

void tt_set_not_loaded(const char* why) { snprintf(not_loaded, sizeof not_loaded, "%s", why); }

// A call without the shim cannot return a meaningful value of every signature: stop with the reason
// (every place looked in) rather than crash on a NULL pointer.
static void unloaded(const char* name) {
  fprintf(stderr, "medqa: %s called without the libtorch shim: %s\n", name, not_loaded);
  exit(2);
}

#define TT_FN(ret, name, params, args)  \
  ret name params {                     \
    if (!p_##name) unloaded(#name);     \
    return p_##name args;               \
  }
#include "shim/api.def"
#undef TT_FN

static char* errorf(const char* fmt, const char* a, const char* b, const char* c) {
  size_t n = strlen(fmt) + strlen(a) + strlen(b) + strlen(c) + 1;
  char* s = malloc(n);
  if (s) snprintf(s, n, fmt, a, b, c);
  return s;
}

// tt_load opens the library at path and resolves every function of api.def, after checking that it was
// built from the sources this binary was (want_sha256). NULL on success, else a malloc'd reason; on
// failure no pointer is set. The handle is never closed: unloading libtorch is not supported.
char* tt_load(const char* path, const char* want_sha256) {
  void* h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
  if (!h) {
    const char* e = dlerror();
    return errorf("%s%s%s", "", "", e ? e : "dlopen failed");
  }
  const char* (*source)(void) = (const char* (*)(void))dlsym(h, "tt_shim_source");
  if (!source) return errorf("%s is not a medqa libtorch shim (no tt_shim_source)%s%s", path, "", "");
  const char* got = source();
  if (strcmp(got, want_sha256) != 0)
    return errorf("%s was built from other shim sources (sha256 %.16s…, this binary's are %.16s…)", path,
                  got, want_sha256);
  char missing[4096] = "";
#define TT_FN(ret, name, params, args)                                                       \
  if (!dlsym(h, #name) && strlen(missing) + sizeof(#name) + 2 < sizeof missing) {          \
    strcat(missing, " ");                                                                   \
    strcat(missing, #name);                                                                 \
  }
#include "shim/api.def"
#undef TT_FN
  if (missing[0]) return errorf("%s lacks%s%s", path, missing, "");
#define TT_FN(ret, name, params, args) p_##name = (ret(*) params)dlsym(h, #name);
#include "shim/api.def"
#undef TT_FN
  return NULL;
}

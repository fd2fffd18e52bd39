/* dlopen of the launcher's libraries: see bundle/dl.h for why. */
#include <dlfcn.h>
#include <stdbool.h>

#include "bundle/dl.h"
#include "olrun/util.h"

#define OLRUN_DL_DEFINE(s) __typeof__ (s) *sym_##s;
OLRUN_DL_CRYPTO_SYMS (OLRUN_DL_DEFINE)
OLRUN_DL_ZLIB_SYMS (OLRUN_DL_DEFINE)
OLRUN_DL_ZSTD_SYMS (OLRUN_DL_DEFINE)
OLRUN_DL_ARCHIVE_SYMS (OLRUN_DL_DEFINE)
OLRUN_DL_CURL_SYMS (OLRUN_DL_DEFINE)
#undef OLRUN_DL_DEFINE

struct dl_sym
{
  const char *name;
  void **ptr;
};

#define OLRUN_DL_ENTRY(s) { #s, (void **) &sym_##s },
static const struct dl_sym crypto_syms[] = { OLRUN_DL_CRYPTO_SYMS (OLRUN_DL_ENTRY) };
static const struct dl_sym zlib_syms[] = { OLRUN_DL_ZLIB_SYMS (OLRUN_DL_ENTRY) };
static const struct dl_sym zstd_syms[] = { OLRUN_DL_ZSTD_SYMS (OLRUN_DL_ENTRY) };
static const struct dl_sym archive_syms[] = { OLRUN_DL_ARCHIVE_SYMS (OLRUN_DL_ENTRY) };
static const struct dl_sym curl_syms[] = { OLRUN_DL_CURL_SYMS (OLRUN_DL_ENTRY) };
#undef OLRUN_DL_ENTRY

static const struct
{
  const char *soname;
  const char *package;
  const struct dl_sym *syms;
  size_t n_syms;
} libs[OLRUN_DL_COUNT] = {
  [OLRUN_DL_CRYPTO] = { "libcrypto.so.3", "libssl3", crypto_syms, ARRAY_SIZE (crypto_syms) },
  [OLRUN_DL_ZLIB] = { "libz.so.1", "zlib1g", zlib_syms, ARRAY_SIZE (zlib_syms) },
  [OLRUN_DL_ZSTD] = { "libzstd.so.1", "libzstd1", zstd_syms, ARRAY_SIZE (zstd_syms) },
  [OLRUN_DL_ARCHIVE] = { "libarchive.so.13", "libarchive13", archive_syms, ARRAY_SIZE (archive_syms) },
  [OLRUN_DL_CURL] = { "libcurl.so.4", "libcurl4", curl_syms, ARRAY_SIZE (curl_syms) },
};

static void *handles[OLRUN_DL_COUNT];

bool
olrun_dl_loaded (enum olrun_dl_lib lib)
{
  return handles[lib] != NULL;
}

int
olrun_dl_load (enum olrun_dl_lib lib, olrun_error_t *err)
{
  if (handles[lib] != NULL)
    return 0;
#ifdef OLRUN_STATIC
  return olrun_error_set (err, OLRUN_E_UNSUPPORTED, 0,
                          "images need %s, and this olrun is the static build, which cannot load "
                          "libraries: use the dynamic build (`make`) for images and the launcher",
                          libs[lib].soname);
#endif
  /* RTLD_LOCAL: the symbols are reached only through our table, so two
   * libraries exporting the same name cannot interpose on each other. */
  void *h = dlopen (libs[lib].soname, RTLD_NOW | RTLD_LOCAL);
  if (h == NULL)
    return olrun_error_set (err, OLRUN_E_UNSUPPORTED, 0,
                            "%s is needed for images but cannot be loaded (install the Debian package "
                            "`%s`): %s",
                            libs[lib].soname, libs[lib].package, dlerror ());
  for (size_t i = 0; i < libs[lib].n_syms; i++)
    {
      void *p = dlsym (h, libs[lib].syms[i].name);
      if (p == NULL)
        {
          dlclose (h);
          return olrun_error_set (err, OLRUN_E_UNSUPPORTED, 0, "%s lacks `%s` (too old?)", libs[lib].soname,
                                  libs[lib].syms[i].name);
        }
      *libs[lib].syms[i].ptr = p;
    }
  if (lib == OLRUN_DL_CURL && sym_curl_global_init (CURL_GLOBAL_DEFAULT) != CURLE_OK)
    {
      dlclose (h);
      return olrun_fail (err, 0, "curl_global_init failed");
    }
  handles[lib] = h;
  return 0;
}

int
olrun_dl_load_unpack (olrun_error_t *err)
{
  static const enum olrun_dl_lib need[] = { OLRUN_DL_CRYPTO, OLRUN_DL_ZLIB, OLRUN_DL_ZSTD, OLRUN_DL_ARCHIVE };
  for (size_t i = 0; i < ARRAY_SIZE (need); i++)
    if (olrun_dl_load (need[i], err) < 0)
      return -1;
  return 0;
}

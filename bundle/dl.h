/* The launcher's heavy libraries, loaded with dlopen at first use.
 *
 * Linking libcurl, libarchive, libcrypto, zlib and libzstd into ./olrun would
 * make every runtime verb (create, start, exec, ...) pay the dynamic loader
 * for some 40 shared objects (DESIGN.md, "Speed by design").  Instead each
 * library is opened the first time an image needs it, and every symbol olrun
 * uses is listed once below and called through a `sym_` pointer, as systemd's
 * dlopen_many_sym_or_warn does.  The headers are still included, so each
 * pointer has the library's own prototype. */
#ifndef OLRUN_BUNDLE_DL_H
#define OLRUN_BUNDLE_DL_H

#include <stdbool.h>

#define CURL_DISABLE_TYPECHECK 1
#include <archive.h>
#include <archive_entry.h>
#include <curl/curl.h>
#include <openssl/evp.h>
#include <zlib.h>
#include <zstd.h>

#include "olrun/error.h"

enum olrun_dl_lib
{
  OLRUN_DL_CRYPTO,
  OLRUN_DL_ZLIB,
  OLRUN_DL_ZSTD,
  OLRUN_DL_ARCHIVE,
  OLRUN_DL_CURL,
  OLRUN_DL_COUNT,
};

#define OLRUN_DL_CRYPTO_SYMS(X)                                                                    \
  X (EVP_MD_CTX_new) X (EVP_MD_CTX_free) X (EVP_DigestInit_ex) X (EVP_DigestUpdate)                  \
  X (EVP_DigestFinal_ex) X (EVP_sha256) X (EVP_MD_CTX_copy_ex)

#define OLRUN_DL_ZLIB_SYMS(X) X (inflateInit2_) X (inflate) X (inflateEnd) X (inflateReset)

#define OLRUN_DL_ZSTD_SYMS(X)                                                                      \
  X (ZSTD_createDStream) X (ZSTD_freeDStream) X (ZSTD_initDStream) X (ZSTD_decompressStream)       \
  X (ZSTD_isError) X (ZSTD_getErrorName)

#define OLRUN_DL_ARCHIVE_SYMS(X)                                                                   \
  X (archive_read_new) X (archive_read_support_format_tar) X (archive_read_support_filter_all)     \
  X (archive_read_open) X (archive_read_open_fd) X (archive_read_next_header)                      \
  X (archive_read_data_block) X (archive_read_data) X (archive_read_free) X (archive_error_string)  \
  X (archive_errno) X (archive_entry_pathname) X (archive_entry_filetype) X (archive_entry_perm)   \
  X (archive_entry_uid) X (archive_entry_gid) X (archive_entry_mtime) X (archive_entry_mtime_nsec) \
  X (archive_entry_mtime_is_set) X (archive_entry_hardlink) X (archive_entry_symlink)              \
  X (archive_entry_rdevmajor) X (archive_entry_rdevminor) X (archive_entry_size)                   \
  X (archive_entry_xattr_reset) X (archive_entry_xattr_next) X (archive_read_support_format_empty)

#define OLRUN_DL_CURL_SYMS(X)                                                                      \
  X (curl_global_init) X (curl_easy_init) X (curl_easy_setopt) X (curl_easy_perform)               \
  X (curl_easy_getinfo) X (curl_easy_cleanup) X (curl_slist_append) X (curl_slist_free_all)        \
  X (curl_easy_strerror)

#define OLRUN_DL_DECLARE(s) extern __typeof__ (s) *sym_##s;
OLRUN_DL_CRYPTO_SYMS (OLRUN_DL_DECLARE)
OLRUN_DL_ZLIB_SYMS (OLRUN_DL_DECLARE)
OLRUN_DL_ZSTD_SYMS (OLRUN_DL_DECLARE)
OLRUN_DL_ARCHIVE_SYMS (OLRUN_DL_DECLARE)
OLRUN_DL_CURL_SYMS (OLRUN_DL_DECLARE)
#undef OLRUN_DL_DECLARE

/* Load one library and resolve all its symbols (once; later calls are
 * free).  A missing library is an UNSUPPORTED error naming the file and the
 * Debian package that provides it.  Call from one thread, before starting
 * workers. */
int olrun_dl_load (enum olrun_dl_lib lib, olrun_error_t *err);
/* Load every library unpacking needs (crypto, zlib, zstd, archive). */
int olrun_dl_load_unpack (olrun_error_t *err);
/* Whether a library has been loaded (tests check the fast path loads none). */
bool olrun_dl_loaded (enum olrun_dl_lib lib);

#endif

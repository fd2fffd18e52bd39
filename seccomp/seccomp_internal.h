/* Shared by the files of seccomp/: the raw syscall and the program type. */
#ifndef OLRUN_SECCOMP_INTERNAL_H
#define OLRUN_SECCOMP_INTERNAL_H

#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "olrun/seccomp.h"

/* glibc 2.36 has no seccomp() wrapper. */
static inline long
olrun_sys_seccomp (unsigned int op, unsigned int flags, void *args)
{
  return syscall (SYS_seccomp, op, flags, args);
}

struct olrun_seccomp_program
{
  struct sock_filter *insns;
  size_t len;                   /* instructions */
  unsigned int kernel_flags;    /* SECCOMP_FILTER_FLAG_* for seccomp(2) */
  bool notify;                  /* SECCOMP_FILTER_FLAG_NEW_LISTENER is set */
  bool from_cache;
};

/* The kernel's SECCOMP_FILTER_FLAG_* bits for a profile's flags. */
unsigned int olrun_seccomp_kernel_flags (unsigned flags, bool notify);

/* The BPF cache (seccomp/cache.c).  An entry matches only when both the
 * build identity and the profile text are byte for byte the same. */
struct olrun_seccomp_cache_key
{
  const char *id;               /* libseccomp, kernel, architecture, format */
  size_t id_len;
  const char *text;             /* the raw linux.seccomp JSON */
  size_t text_len;
};
uint64_t olrun_seccomp_hash64 (uint64_t seed, const void *data, size_t len);
struct olrun_seccomp_program *olrun_seccomp_cache_load (int dirfd, const struct olrun_seccomp_cache_key *k);
int olrun_seccomp_cache_store (int dirfd, const struct olrun_seccomp_cache_key *k,
                               const struct olrun_seccomp_program *p, olrun_error_t *err);
/* Open (creating it 0700) a cache directory we may trust: a real directory
 * owned by us and writable by nobody else.  -1 with a debug line otherwise. */
int olrun_seccomp_cache_open (const char *path);

#endif

/* Shared helpers: cleanup attributes, allocation, fd and file helpers,
 * a growable buffer.  Everything above util/ uses these. */
#ifndef OLRUN_UTIL_H
#define OLRUN_UTIL_H

#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/types.h>
#include <unistd.h>

#include "olrun/error.h"

#define _cleanup_(f) __attribute__ ((cleanup (f)))
#define ARRAY_SIZE(a) (sizeof (a) / sizeof ((a)[0]))
#define UNUSED __attribute__ ((unused))

/* Close an fd without touching errno and return -1, so `fd = safe_close (fd)`
 * both closes and invalidates.  close() is never retried on EINTR: Linux has
 * already released the descriptor and a retry could close a reused one. */
static inline int
safe_close (int fd)
{
  if (fd >= 0)
    {
      int saved = errno;
      close (fd);
      errno = saved;
    }
  return -1;
}

static inline void
closep (int *fd)
{
  *fd = safe_close (*fd);
}
static inline void
freep (void *p)
{
  free (*(void **) p);
}
static inline void
fclosep (FILE **f)
{
  if (*f)
    fclose (*f);
}
static inline void
closedirp (DIR **d)
{
  if (*d)
    closedir (*d);
}
void strv_freep (char ***v);
/* Kill (SIGKILL) and reap a child that a function failed to hand off. */
void olrun_pid_cleanup (pid_t *pid);

#define _cleanup_close_ _cleanup_ (closep)
#define _cleanup_free_ _cleanup_ (freep)
#define _cleanup_fclose_ _cleanup_ (fclosep)
#define _cleanup_closedir_ _cleanup_ (closedirp)
#define _cleanup_strv_ _cleanup_ (strv_freep)
#define _cleanup_pid_ _cleanup_ (olrun_pid_cleanup)

/* Hand ownership over: return the value and disarm the cleanup. */
#define TAKE_FD(fd)                                                                                \
  ({                                                                                               \
    int _fd_ = (fd);                                                                               \
    (fd) = -1;                                                                                     \
    _fd_;                                                                                          \
  })
#define TAKE_PTR(p)                                                                                \
  ({                                                                                               \
    __typeof__ (p) _p_ = (p);                                                                      \
    (p) = NULL;                                                                                    \
    _p_;                                                                                           \
  })

/* Allocation never fails: on OOM olrun aborts, as crun and systemd's
 * xmalloc do.  A container runtime cannot degrade gracefully without memory. */
void *xmalloc (size_t n);
void *xzalloc (size_t n);
void *xrealloc (void *p, size_t n);
void *xreallocarray (void *p, size_t n, size_t size);
char *xstrdup (const char *s);
char *xstrndup (const char *s, size_t n);
char *xasprintf (const char *fmt, ...) __attribute__ ((format (printf, 1, 2)));
char *xvasprintf (const char *fmt, va_list ap) __attribute__ ((format (printf, 1, 0)));

/* NULL-terminated string vectors. */
size_t strv_length (char *const *v);
void strv_free (char **v);
char **strv_copy (char *const *v);

/* A growable byte buffer, always NUL-terminated. */
struct olrun_buf
{
  char *data;
  size_t len;
  size_t cap;
};
void olrun_buf_append (struct olrun_buf *b, const void *data, size_t len);
void olrun_buf_puts (struct olrun_buf *b, const char *s);
void olrun_buf_printf (struct olrun_buf *b, const char *fmt, ...) __attribute__ ((format (printf, 2, 3)));
/* Append s as a JSON string literal, quotes included. */
void olrun_buf_json_string (struct olrun_buf *b, const char *s);
char *olrun_buf_steal (struct olrun_buf *b);
void olrun_buf_free (struct olrun_buf *b);

/* Parse a whole decimal integer; -1 with errno set on trailing junk or range. */
int olrun_parse_int64 (const char *s, int64_t *out);

/* I/O that retries EINTR and short counts. */
int olrun_write_all (int fd, const void *buf, size_t len);
ssize_t olrun_read_all (int fd, void *buf, size_t len);

/* Read a whole fd or file into a NUL-terminated heap buffer. */
int olrun_read_fd (int fd, char **ret, size_t *ret_len, olrun_error_t *err);
int olrun_read_file_at (int dirfd, const char *path, char **ret, size_t *ret_len, olrun_error_t *err);
/* Write to an existing file (O_WRONLY|O_TRUNC, no create, no symlink). */
int olrun_write_file_at (int dirfd, const char *path, const void *data, size_t len, olrun_error_t *err);
/* Create or replace `name` in dirfd atomically: a temp file, fsync, rename. */
int olrun_atomic_write_at (int dirfd, const char *name, const void *data, size_t len, mode_t mode,
                           olrun_error_t *err);
/* The same without the fsync, for caches whose entries check themselves:
 * after a crash the file may be empty or partial, never half old, half new.
 * (An fsync on this host's ext4 takes ~60 ms.) */
int olrun_atomic_write_nosync_at (int dirfd, const char *name, const void *data, size_t len, mode_t mode,
                                  olrun_error_t *err);
/* mkdir -p relative to dirfd (or AT_FDCWD); existing directories are fine. */
int olrun_mkdir_p_at (int dirfd, const char *path, mode_t mode, olrun_error_t *err);
/* rm -rf of `name` in dirfd, never following symlinks nor crossing mounts. */
int olrun_rm_rf_at (int dirfd, const char *name, olrun_error_t *err);

/* Mark every fd >= from close-on-exec (close_range CLOEXEC, with a /proc
 * fallback), so nothing but what we chose survives an execve. */
int olrun_cloexec_from (int from, olrun_error_t *err);

/* Send `len` bytes (len > 0) with up to `nfds` fds attached (SCM_RIGHTS),
 * in one sendmsg.  Receiving returns the bytes read (0 on EOF) and stores
 * at most max_fds received fds, -1 filled for the rest; fds are CLOEXEC. */
int olrun_send_fds (int sock, const void *buf, size_t len, const int *fds, size_t nfds, olrun_error_t *err);
ssize_t olrun_recv_fds (int sock, void *buf, size_t len, int *fds, size_t max_fds, olrun_error_t *err);

/* Close every fd >= from except those in keep[] (close_range between them). */
void olrun_close_fds_except (int from, const int *keep, size_t nkeep);

/* The current time as RFC 3339 with nanoseconds, UTC ("...Z"). */
char *olrun_rfc3339_now (void);

#endif

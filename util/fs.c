/* fd and file helpers.  Everything takes a directory fd first, so callers
 * work relative to a tree they opened and tests can point them at a temp dir. */
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/vfs.h>

#include "olrun/syscalls.h"
#include "olrun/util.h"

int
olrun_write_all (int fd, const void *buf, size_t len)
{
  const char *p = buf;
  while (len > 0)
    {
      ssize_t n = write (fd, p, len);
      if (n < 0)
        {
          if (errno == EINTR)
            continue;
          return -1;
        }
      p += n;
      len -= (size_t) n;
    }
  return 0;
}

ssize_t
olrun_read_all (int fd, void *buf, size_t len)
{
  size_t done = 0;
  while (done < len)
    {
      ssize_t n = read (fd, (char *) buf + done, len - done);
      if (n < 0)
        {
          if (errno == EINTR)
            continue;
          return -1;
        }
      if (n == 0)
        break;
      done += (size_t) n;
    }
  return (ssize_t) done;
}

int
olrun_read_fd (int fd, char **ret, size_t *ret_len, olrun_error_t *err)
{
  struct olrun_buf b = { 0 };
  char chunk[8192];
  for (;;)
    {
      ssize_t n = read (fd, chunk, sizeof chunk);
      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0)
        {
          olrun_buf_free (&b);
          return olrun_fail (err, errno, "read");
        }
      if (n == 0)
        break;
      olrun_buf_append (&b, chunk, (size_t) n);
    }
  if (ret_len)
    *ret_len = b.len;
  *ret = olrun_buf_steal (&b);
  return 0;
}

int
olrun_read_file_at (int dirfd, const char *path, char **ret, size_t *ret_len, olrun_error_t *err)
{
  _cleanup_close_ int fd = openat (dirfd, path, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return olrun_fail (err, errno, "open `%s`", path);
  if (olrun_read_fd (fd, ret, ret_len, err) < 0)
    return olrun_error_wrap (err, "`%s`", path);
  return 0;
}

int
olrun_write_file_at (int dirfd, const char *path, const void *data, size_t len, olrun_error_t *err)
{
  _cleanup_close_ int fd = openat (dirfd, path, O_WRONLY | O_TRUNC | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0)
    return olrun_fail (err, errno, "open `%s`", path);
  if (olrun_write_all (fd, data, len) < 0)
    return olrun_fail (err, errno, "write `%s`", path);
  return 0;
}

static int
atomic_write_in_dir (int dirfd, const char *name, const void *data, size_t len, mode_t mode, bool sync,
                     olrun_error_t *err)
{
  _cleanup_free_ char *tmp = xasprintf (".%s.tmp.%d", name, (int) getpid ());
  _cleanup_close_ int fd
      = openat (dirfd, tmp, O_WRONLY | O_CREAT | O_TRUNC | O_EXCL | O_CLOEXEC | O_NOFOLLOW, mode);
  if (fd < 0 && errno == EEXIST)
    {
      /* A leftover of a process with our pid that died mid-write. */
      unlinkat (dirfd, tmp, 0);
      fd = openat (dirfd, tmp, O_WRONLY | O_CREAT | O_TRUNC | O_EXCL | O_CLOEXEC | O_NOFOLLOW, mode);
    }
  if (fd < 0)
    return olrun_fail (err, errno, "create `%s`", tmp);
  if (olrun_write_all (fd, data, len) < 0 || (sync && fsync (fd) < 0))
    {
      int e = errno;
      unlinkat (dirfd, tmp, 0);
      return olrun_fail (err, e, "write `%s`", tmp);
    }
  if (renameat (dirfd, tmp, dirfd, name) < 0)
    {
      int e = errno;
      unlinkat (dirfd, tmp, 0);
      return olrun_fail (err, e, "rename `%s` to `%s`", tmp, name);
    }
  return 0;
}

static int
atomic_write (int dirfd, const char *name, const void *data, size_t len, mode_t mode, bool sync, olrun_error_t *err)
{
  const char *slash = strrchr (name, '/');
  if (slash == NULL)
    return atomic_write_in_dir (dirfd, name, data, len, mode, sync, err);
  /* The temp file must sit beside the target for rename to be atomic. */
  _cleanup_free_ char *dir = slash == name ? xstrdup ("/") : xstrndup (name, (size_t) (slash - name));
  _cleanup_close_ int dfd = openat (dirfd, dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd < 0)
    return olrun_fail (err, errno, "open directory `%s`", dir);
  return atomic_write_in_dir (dfd, slash + 1, data, len, mode, sync, err);
}

int
olrun_atomic_write_at (int dirfd, const char *name, const void *data, size_t len, mode_t mode,
                       olrun_error_t *err)
{
  return atomic_write (dirfd, name, data, len, mode, true, err);
}

int
olrun_atomic_write_nosync_at (int dirfd, const char *name, const void *data, size_t len, mode_t mode,
                              olrun_error_t *err)
{
  return atomic_write (dirfd, name, data, len, mode, false, err);
}

int
olrun_mkdir_p_at (int dirfd, const char *path, mode_t mode, olrun_error_t *err)
{
  _cleanup_free_ char *p = xstrdup (path);
  for (char *s = p + 1; ; s++)
    {
      if (*s != '/' && *s != '\0')
        continue;
      char c = *s;
      *s = '\0';
      if (mkdirat (dirfd, p, mode) < 0 && errno != EEXIST)
        return olrun_fail (err, errno, "mkdir `%s`", p);
      *s = c;
      if (c == '\0')
        break;
    }
  struct stat st;
  if (fstatat (dirfd, path, &st, 0) < 0)
    return olrun_fail (err, errno, "stat `%s`", path);
  if (!S_ISDIR (st.st_mode))
    return olrun_fail (err, ENOTDIR, "mkdir `%s`", path);
  return 0;
}

/* Remove the contents of the directory open at dfd (which this consumes).
 * dev is the device of the top directory: a mount point below it (a
 * different st_dev) is never descended into, so rm -rf cannot reach
 * through a bind mount into the host. */
static int
rm_rf_children (int dfd, dev_t dev, olrun_error_t *err)
{
  DIR *d = fdopendir (dfd);
  if (d == NULL)
    {
      int e = errno;
      close (dfd);
      return olrun_fail (err, e, "fdopendir");
    }
  _cleanup_closedir_ DIR *dir = d;
  struct dirent *de;
  while ((de = readdir (dir)) != NULL)
    {
      if (strcmp (de->d_name, ".") == 0 || strcmp (de->d_name, "..") == 0)
        continue;
      if (unlinkat (dirfd (dir), de->d_name, 0) == 0 || errno == ENOENT)
        continue;
      if (errno != EISDIR && errno != EPERM)
        return olrun_fail (err, errno, "unlink `%s`", de->d_name);
      int sub = openat (dirfd (dir), de->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
      if (sub < 0)
        return olrun_fail (err, errno, "open `%s`", de->d_name);
      struct stat st;
      if (fstat (sub, &st) < 0 || st.st_dev != dev)
        {
          close (sub);
          return olrun_fail (err, EBUSY, "remove `%s`: a mount point", de->d_name);
        }
      if (rm_rf_children (sub, dev, err) < 0)
        return olrun_error_wrap (err, "`%s`", de->d_name);
      if (unlinkat (dirfd (dir), de->d_name, AT_REMOVEDIR) < 0 && errno != ENOENT)
        return olrun_fail (err, errno, "rmdir `%s`", de->d_name);
    }
  return 0;
}

int
olrun_rm_rf_at (int dirfd, const char *name, olrun_error_t *err)
{
  if (unlinkat (dirfd, name, 0) == 0 || errno == ENOENT)
    return 0;
  int fd = openat (dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0)
    return errno == ENOENT ? 0 : olrun_fail (err, errno, "open `%s`", name);
  struct stat st;
  if (fstat (fd, &st) < 0)
    {
      int e = errno;
      close (fd);
      return olrun_fail (err, e, "stat `%s`", name);
    }
  if (rm_rf_children (fd, st.st_dev, err) < 0)
    return olrun_error_wrap (err, "remove `%s`", name);
  if (unlinkat (dirfd, name, AT_REMOVEDIR) < 0 && errno != ENOENT)
    return olrun_fail (err, errno, "rmdir `%s`", name);
  return 0;
}

int
olrun_cloexec_from (int from, olrun_error_t *err)
{
  if (olrun_close_range ((unsigned) from, ~0U, CLOSE_RANGE_CLOEXEC) == 0)
    return 0;
  if (errno != ENOSYS && errno != EINVAL)
    return olrun_fail (err, errno, "close_range");
  /* Kernels before 5.11: walk /proc/self/fd. */
  _cleanup_closedir_ DIR *d = opendir ("/proc/self/fd");
  if (d == NULL)
    return olrun_fail (err, errno, "open /proc/self/fd");
  struct dirent *de;
  while ((de = readdir (d)) != NULL)
    {
      int64_t fd;
      if (olrun_parse_int64 (de->d_name, &fd) < 0 || fd < from || fd == dirfd (d))
        continue;
      if (fcntl ((int) fd, F_SETFD, FD_CLOEXEC) < 0 && errno != EBADF)
        return olrun_fail (err, errno, "fcntl %d FD_CLOEXEC", (int) fd);
    }
  return 0;
}

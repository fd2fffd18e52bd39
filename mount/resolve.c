/* Paths inside the rootfs.  Every destination is resolved relative to a
 * dirfd of the rootfs with openat2(RESOLVE_IN_ROOT): "..", absolute
 * symlinks and symlinks planted by the image all stay inside it, and
 * whatever we create is created in the directory we resolved, never
 * through a path string that could be swapped meanwhile (CVE-2021-30465,
 * CVE-2024-45310). */
#include <fcntl.h>
#include <limits.h>
#include <string.h>
#include <sys/stat.h>

#include "mount/internal.h"
#include "olrun/syscalls.h"
#include "olrun/util.h"

char *
olrun_mount_clean_path (const char *path)
{
  struct olrun_buf b = { 0 };
  _cleanup_free_ char *copy = xstrdup (path);
  char *save = NULL;
  for (char *c = strtok_r (copy, "/", &save); c; c = strtok_r (NULL, "/", &save))
    {
      if (strcmp (c, ".") == 0)
        continue;
      if (strcmp (c, "..") == 0)
        {
          char *slash = b.data ? strrchr (b.data, '/') : NULL;
          b.len = slash ? (size_t) (slash - b.data) : 0;
          if (b.data)
            b.data[b.len] = '\0';
          continue;
        }
      if (b.len)
        olrun_buf_puts (&b, "/");
      olrun_buf_puts (&b, c);
    }
  return olrun_buf_steal (&b);
}

int
olrun_mount_openat_in_root (int rootfd, const char *path, int flags, mode_t mode)
{
  struct open_how how = {
    .flags = (uint64_t) (flags | O_CLOEXEC),
    .mode = (flags & O_CREAT) ? mode : 0,
    .resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS,
  };
  const char *p = *path ? path : ".";
  int fd;
  /* EAGAIN: a concurrent rename raced the lookup; the kernel asks us to
   * retry rather than risk a wrong answer. */
  for (int tries = 0; (fd = olrun_openat2 (rootfd, p, &how)) < 0 && errno == EAGAIN && tries < 16; tries++)
    ;
  return fd;
}

int
olrun_mount_open_in_root (int rootfd, const char *path, int flags, mode_t mode, int *ret_fd, olrun_error_t *err)
{
  int fd = olrun_mount_openat_in_root (rootfd, path, flags, mode);
  if (fd < 0)
    return olrun_fail (err, errno, "open `/%s` in the container", path);
  *ret_fd = fd;
  return 0;
}

static int
create_component (int parent, const char *name, bool as_file, olrun_error_t *err)
{
  int r = as_file ? openat (parent, name, O_CREAT | O_EXCL | O_NOFOLLOW | O_WRONLY | O_CLOEXEC, 0644)
                  : mkdirat (parent, name, 0755);
  if (r < 0 && errno != EEXIST)
    return olrun_fail (err, errno, "create `%s`", name);
  if (as_file && r >= 0)
    close (r);
  return 0;
}

/* A dangling symlink at `name` in parent: the path to create instead,
 * its target followed inside the root, then the rest (as SecureJoin and
 * runc's MkdirAllInRoot do: images link /var/run to a /run they lack). */
static char *
follow_dangling (int parent, const char *prefix_dir, const char *name, const char *rest)
{
  struct stat st;
  char target[PATH_MAX];
  if (fstatat (parent, name, &st, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISLNK (st.st_mode))
    return NULL;
  ssize_t n = readlinkat (parent, name, target, sizeof target - 1);
  if (n <= 0)
    return NULL;
  target[n] = '\0';
  if (target[0] == '/')
    return xasprintf ("%s/%s", target, rest);
  return xasprintf ("%s/%s/%s", prefix_dir, target, rest);
}

/* One attempt: walk `clean`, creating what is missing.  Returns 1 with
 * *ret_next set when a dangling symlink sends us down another path. */
static int
create_walk (int rootfd, const char *clean, bool last_is_file, int *ret_fd, char **ret_next, olrun_error_t *err)
{
  _cleanup_close_ int cur = dup (rootfd);
  if (cur < 0)
    return olrun_fail (err, errno, "dup");
  size_t len = strlen (clean);
  for (size_t start = 0; start < len;)
    {
      size_t end = start;
      while (end < len && clean[end] != '/')
        end++;
      bool last = end == len;
      _cleanup_free_ char *prefix = xstrndup (clean, end);
      _cleanup_free_ char *name = xstrndup (clean + start, end - start);
      /* Resolve the prefix in the root; if it is missing, create the last
       * component in the parent we resolved before, and resolve again. */
      int next = olrun_mount_openat_in_root (rootfd, prefix, O_PATH, 0);
      if (next < 0)
        {
          int e = errno;
          if (e != ENOENT || create_component (cur, name, last && last_is_file, err) < 0)
            return e != ENOENT ? olrun_fail (err, e, "resolve `/%s` in the container", prefix)
                               : olrun_error_wrap (err, "`/%s`", prefix);
          next = olrun_mount_openat_in_root (rootfd, prefix, O_PATH, 0);
          if (next < 0)
            {
              _cleanup_free_ char *dir = xstrndup (clean, start ? start - 1 : 0);
              *ret_next = follow_dangling (cur, dir, name, last ? "" : clean + end + 1);
              if (*ret_next)
                return 1;
              return olrun_fail (err, ENOENT, "resolve `/%s` in the container", prefix);
            }
        }
      if (!last)
        {
          struct stat st;
          if (fstat (next, &st) < 0 || !S_ISDIR (st.st_mode))
            {
              safe_close (next);
              return olrun_fail (err, ENOTDIR, "`/%s` in the container", prefix);
            }
        }
      safe_close (cur);
      cur = next;
      start = end + 1;
    }
  *ret_fd = TAKE_FD (cur);
  return 0;
}

int
olrun_mount_create_in_root (int rootfd, const char *path, bool last_is_file, int *ret_fd, olrun_error_t *err)
{
  _cleanup_free_ char *clean = olrun_mount_clean_path (path);
  /* 40 symlinks, as the kernel's own limit (ELOOP). */
  for (int hops = 0; hops < 40; hops++)
    {
      char *next = NULL;
      int r = create_walk (rootfd, clean, last_is_file, ret_fd, &next, err);
      if (r <= 0)
        return r;
      free (clean);
      clean = olrun_mount_clean_path (next);
      free (next);
    }
  return olrun_fail (err, ELOOP, "create `%s` in the container", path);
}

int
olrun_mount_parent_in_root (int rootfd, const char *path, int *ret_fd, char **ret_name, olrun_error_t *err)
{
  _cleanup_free_ char *clean = olrun_mount_clean_path (path);
  char *slash = strrchr (clean, '/');
  if (*clean == '\0')
    return olrun_invalid (err, "`%s` names the root", path);
  _cleanup_free_ char *parent = slash ? xstrndup (clean, (size_t) (slash - clean)) : xstrdup ("");
  _cleanup_close_ int pfd = -1;
  if (olrun_mount_create_in_root (rootfd, parent, false, &pfd, err) < 0)
    return -1;
  /* O_PATH fds work as dirfds for mknodat/symlinkat/unlinkat. */
  *ret_name = xstrdup (slash ? slash + 1 : clean);
  *ret_fd = TAKE_FD (pfd);
  return 0;
}

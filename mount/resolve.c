/* Paths inside the rootfs.  Every destination is resolved relative to a
 * dirfd of the rootfs with openat2(RESOLVE_IN_ROOT): "..", absolute
 * symlinks and symlinks planted by the image all stay inside it, and
 * whatever we create is created in the directory we resolved, never
 * through a path string that could be swapped meanwhile (CVE-2021-30465,
 * CVE-2024-45310). */
#include <fcntl.h>
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
olrun_mount_open_in_root (int rootfd, const char *path, int flags, mode_t mode, int *ret_fd, olrun_error_t *err)
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

int
olrun_mount_create_in_root (int rootfd, const char *path, bool last_is_file, int *ret_fd, olrun_error_t *err)
{
  _cleanup_free_ char *clean = olrun_mount_clean_path (path);
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
      int next = -1;
      olrun_error_t ignored = NULL;
      /* Try to resolve the prefix in the root; create the component in the
       * parent we resolved last if it is missing, then resolve again (a
       * symlink that now exists is followed, still inside the root). */
      for (int attempt = 0; attempt < 2 && next < 0; attempt++)
        {
          if (olrun_mount_open_in_root (rootfd, prefix, O_PATH, 0, &next, &ignored) == 0)
            break;
          int e = ignored->errnum;
          olrun_error_release (&ignored);
          if (e != ENOENT || attempt == 1)
            return olrun_fail (err, e, "resolve `/%s` in the container", prefix);
          if (create_component (cur, name, last && last_is_file, err) < 0)
            return olrun_error_wrap (err, "`/%s`", prefix);
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

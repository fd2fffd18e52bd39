/* tmpcopyup (crun's extension): a tmpfs mounted over a directory of the
 * image starts with that directory's content, owners and modes. */
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>

#include "mount/internal.h"
#include "olrun/util.h"

static int copy_dir (int src, int dst, int depth, olrun_error_t *err);

static int
copy_file (int src, int dst, const char *name, const struct stat *st, olrun_error_t *err)
{
  _cleanup_close_ int in = openat (src, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
  _cleanup_close_ int out = openat (dst, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, st->st_mode & 07777);
  if (in < 0 || out < 0)
    return olrun_fail (err, errno, "copy `%s`", name);
  char buf[65536];
  ssize_t n;
  while ((n = read (in, buf, sizeof buf)) > 0)
    if (olrun_write_all (out, buf, (size_t) n) < 0)
      return olrun_fail (err, errno, "copy `%s`", name);
  if (n < 0)
    return olrun_fail (err, errno, "read `%s`", name);
  return 0;
}

static int
copy_entry (int src, int dst, const char *name, int depth, olrun_error_t *err)
{
  struct stat st;
  if (fstatat (src, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
    return olrun_fail (err, errno, "stat `%s`", name);
  if (S_ISREG (st.st_mode))
    {
      if (copy_file (src, dst, name, &st, err) < 0)
        return -1;
    }
  else if (S_ISDIR (st.st_mode))
    {
      if (mkdirat (dst, name, st.st_mode & 07777) < 0)
        return olrun_fail (err, errno, "mkdir `%s`", name);
      _cleanup_close_ int s = openat (src, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
      _cleanup_close_ int d = openat (dst, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
      if (s < 0 || d < 0)
        return olrun_fail (err, errno, "open `%s`", name);
      if (copy_dir (s, d, depth + 1, err) < 0)
        return olrun_error_wrap (err, "`%s`", name);
    }
  else if (S_ISLNK (st.st_mode))
    {
      char target[4096];
      ssize_t n = readlinkat (src, name, target, sizeof target - 1);
      if (n < 0)
        return olrun_fail (err, errno, "readlink `%s`", name);
      target[n] = '\0';
      if (symlinkat (target, dst, name) < 0)
        return olrun_fail (err, errno, "symlink `%s`", name);
    }
  else if (mknodat (dst, name, st.st_mode, st.st_rdev) < 0)
    return olrun_fail (err, errno, "mknod `%s`", name);
  if (fchownat (dst, name, st.st_uid, st.st_gid, AT_SYMLINK_NOFOLLOW) < 0)
    return olrun_fail (err, errno, "chown `%s`", name);
  if (!S_ISLNK (st.st_mode) && fchmodat (dst, name, st.st_mode & 07777, 0) < 0)
    return olrun_fail (err, errno, "chmod `%s`", name);
  return 0;
}

static int
copy_dir (int src, int dst, int depth, olrun_error_t *err)
{
  if (depth > 64)
    return olrun_fail (err, ELOOP, "directories nested too deep");
  int fd = dup (src);
  DIR *d = fd < 0 ? NULL : fdopendir (fd);
  if (d == NULL)
    {
      safe_close (fd);
      return olrun_fail (err, errno, "opendir");
    }
  _cleanup_closedir_ DIR *dir = d;
  struct dirent *de;
  while ((de = readdir (dir)) != NULL)
    {
      if (strcmp (de->d_name, ".") == 0 || strcmp (de->d_name, "..") == 0)
        continue;
      if (copy_entry (src, dst, de->d_name, depth, err) < 0)
        return -1;
    }
  return 0;
}

int
olrun_mount_copy_up (int src, int tree, olrun_error_t *err)
{
  _cleanup_close_ int s = openat (src, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  _cleanup_close_ int d = openat (tree, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (s < 0 || d < 0)
    return olrun_fail (err, errno, "open directories");
  struct stat st;
  if (fstat (s, &st) < 0 || fchown (d, st.st_uid, st.st_gid) < 0 || fchmod (d, st.st_mode & 07777) < 0)
    return olrun_fail (err, errno, "copy the directory's owner and mode");
  return copy_dir (s, d, 0, err);
}

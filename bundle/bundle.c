/* Bundles: a directory with config.json and rootfs/, where rootfs/ is the
 * cached pristine tree bound read-only, nodev and nosuid, as the seed's
 * native bundle does.  Deleting one unmounts first and never descends into
 * a mount, so the pristine tree is never touched. */
#include <fcntl.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>

#include "bundle/internal.h"
#include "olrun/syscalls.h"
#include "olrun/util.h"

int
olrun_bundle_mount_rootfs (const char *rootfs, const char *target, olrun_error_t *err)
{
  /* A detached copy of the tree, made read-only/nodev/nosuid before it is
   * attached: it is never visible writable, not even for a moment. */
  _cleanup_close_ int tree = olrun_open_tree (AT_FDCWD, rootfs, OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_RECURSIVE);
  if (tree < 0)
    return olrun_fail (err, errno, "bind `%s`", rootfs);
  struct mount_attr attr = { .attr_set = MOUNT_ATTR_RDONLY | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOSUID };
  if (olrun_mount_setattr (tree, "", AT_EMPTY_PATH | AT_RECURSIVE, &attr) < 0)
    return olrun_fail (err, errno, "make the rootfs bind read-only");
  if (olrun_move_mount (tree, "", AT_FDCWD, target, MOVE_MOUNT_F_EMPTY_PATH) < 0)
    return olrun_fail (err, errno, "mount the rootfs on `%s`", target);
  return 0;
}

int
olrun_bundle_create (const char *dir, const struct olrun_image *img, const struct olrun_config_opts *o,
                     olrun_error_t *err)
{
  bool made = mkdir (dir, 0700) == 0;
  if (!made && errno != EEXIST)
    return olrun_fail (err, errno, "create bundle `%s`", dir);
  _cleanup_close_ int dfd = open (dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
  if (dfd < 0)
    return olrun_fail (err, errno, "open bundle `%s`", dir);
  if (!made)
    {
      _cleanup_closedir_ DIR *d = fdopendir (dup (dfd));
      struct dirent *de;
      while (d && (de = readdir (d)) != NULL)
        if (strcmp (de->d_name, ".") != 0 && strcmp (de->d_name, "..") != 0)
          return olrun_error_set (err, OLRUN_E_EXISTS, 0, "bundle `%s` exists and is not empty", dir);
    }
  _cleanup_close_ int rootfs_fd = open (img->rootfs, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (rootfs_fd < 0)
    return olrun_fail (err, errno, "open `%s`", img->rootfs);
  _cleanup_free_ char *config = NULL;
  _cleanup_free_ char *target = xasprintf ("%s/rootfs", dir);
  if (olrun_config_generate (img, rootfs_fd, o, &config, err) < 0)
    goto fail;
  if (mkdirat (dfd, "rootfs", 0755) < 0)
    {
      olrun_fail (err, errno, "create `%s/rootfs`", dir);
      goto fail;
    }
  if (olrun_bundle_mount_rootfs (img->rootfs, target, err) < 0)
    goto fail;
  if (olrun_atomic_write_at (dfd, "config.json", config, strlen (config), 0644, err) < 0)
    {
      umount2 (target, MNT_DETACH);
      goto fail;
    }
  return 0;
fail:
  unlinkat (dfd, "rootfs", AT_REMOVEDIR);
  if (made)
    rmdir (dir);
  return -1;
}

int
olrun_bundle_delete (const char *dir, olrun_error_t *err)
{
  _cleanup_free_ char *target = xasprintf ("%s/rootfs", dir);
  struct stat st;
  if (lstat (dir, &st) < 0)
    return olrun_error_set (err, errno == ENOENT ? OLRUN_E_NOT_EXIST : OLRUN_E_GENERIC, errno, "bundle `%s`", dir);
  /* Unmount every layer stacked on rootfs (a runtime may have added one). */
  while (umount2 (target, MNT_DETACH | UMOUNT_NOFOLLOW) == 0)
    ;
  if (errno != EINVAL && errno != ENOENT)
    return olrun_fail (err, errno, "unmount `%s`", target);
  _cleanup_free_ char *parent = xstrdup (dir);
  char *slash = strrchr (parent, '/');
  const char *name = dir;
  if (slash)
    {
      *slash = '\0';
      name = slash + 1;
    }
  _cleanup_close_ int pfd = open (slash ? (*parent ? parent : "/") : ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (pfd < 0)
    return olrun_fail (err, errno, "open the parent of `%s`", dir);
  /* rm -rf never crosses a mount point: if the rootfs were still bound, it fails instead. */
  return olrun_rm_rf_at (pfd, name, err);
}

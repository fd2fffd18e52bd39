/* The rootfs: prepared in the container's mount namespace, then made the
 * root with pivot_root, then masked and made read-only where asked. */
#include <fcntl.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include "mount/internal.h"
#include "olrun/log.h"
#include "olrun/syscalls.h"
#include "olrun/util.h"

/* Bind the rootfs onto itself: pivot_root needs a mount point, and
 * everything below happens inside this new mount.  Returns a fd on the
 * bind mount's root (the old path fd would name the directory under it). */
static int
bind_rootfs (const char *rootfs, int *ret_fd, olrun_error_t *err)
{
  _cleanup_close_ int target = open (rootfs, O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (target < 0)
    return olrun_fail (err, errno, "open rootfs `%s`", rootfs);
  _cleanup_close_ int tree = olrun_open_tree (target, "", OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_RECURSIVE | AT_EMPTY_PATH);
  if (tree < 0)
    return olrun_fail (err, errno, "bind rootfs `%s`", rootfs);
  if (olrun_mount_attach (tree, target, rootfs, err) < 0)
    return -1;
  int fd = open (rootfs, O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0)
    return olrun_fail (err, errno, "open rootfs `%s`", rootfs);
  *ret_fd = fd;
  return 0;
}

int
olrun_mount_prepare (const struct olrun_rootfs_config *c, olrun_error_t *err)
{
  /* Nothing we mount may propagate back to the host: make every mount of
   * this namespace a slave first (runc's default).  Slave, not private,
   * so host mounts made later still reach the container. */
  if (mount (NULL, "/", NULL, MS_SLAVE | MS_REC, NULL) < 0)
    return olrun_fail (err, errno, "make / rslave");
  _cleanup_close_ int rootfd = -1;
  if (bind_rootfs (c->rootfs, &rootfd, err) < 0)
    return -1;
  for (size_t i = 0; i < c->n_mounts; i++)
    if (olrun_mount_entry (rootfd, &c->mounts[i], c->idmapped_trees ? c->idmapped_trees[i] : -1, c, err) < 0)
      return olrun_error_wrap (err, "mounts[%zu] `%s`", i, c->mounts[i].destination);
  return olrun_mount_setup_dev (rootfd, c, err);
}

static int
do_pivot (int rootfd, bool no_pivot, olrun_error_t *err)
{
  if (fchdir (rootfd) < 0)
    return olrun_fail (err, errno, "chdir to the rootfs");
  if (no_pivot)
    {
      /* --no-pivot (for ramfs roots, where pivot_root is impossible). */
      if (mount (".", "/", NULL, MS_MOVE, NULL) < 0)
        return olrun_fail (err, errno, "move the rootfs to /");
      if (chroot (".") < 0)
        return olrun_fail (err, errno, "chroot");
    }
  else
    {
      /* pivot_root(".", ".") stacks the old root on the new one; unmount
       * it at once.  The unmount cannot reach the host: every mount of the
       * old root was made a slave in olrun_mount_prepare.  (runc makes it
       * rslave again here, but mount(2) on "." names the new root, and
       * that would undo the propagation the config asked for.) */
      if (olrun_pivot_root (".", ".") < 0)
        return olrun_fail (err, errno, "pivot_root");
      if (umount2 (".", MNT_DETACH) < 0)
        return olrun_fail (err, errno, "unmount the old root");
    }
  if (chdir ("/") < 0)
    return olrun_fail (err, errno, "chdir /");
  return 0;
}

/* The host's /dev/null, checked to be the real device, to mask files
 * with: the container's /dev/null may be anything, even a symlink to a
 * host path (CVE-2025-31133). */
static int
open_host_null (olrun_error_t *err)
{
  int fd = open ("/dev/null", O_PATH | O_CLOEXEC);
  struct stat st;
  if (fd < 0 || fstat (fd, &st) < 0)
    return olrun_fail (err, errno, "open /dev/null");
  if (!S_ISCHR (st.st_mode) || major (st.st_rdev) != 1 || minor (st.st_rdev) != 3)
    {
      safe_close (fd);
      return olrun_fail (err, 0, "/dev/null is not the null device");
    }
  return fd;
}

static int
mask_path (int root, int null_fd, const char *path, olrun_error_t *err)
{
  _cleanup_free_ char *clean = olrun_mount_clean_path (path);
  _cleanup_close_ int target = olrun_mount_openat_in_root (root, clean, O_PATH, 0);
  if (target < 0)
    {
      /* A masked path that does not exist needs no mask. */
      if (errno == ENOENT)
        return 0;
      return olrun_fail (err, errno, "open `/%s` in the container", clean);
    }
  struct stat st;
  if (fstat (target, &st) < 0)
    return olrun_fail (err, errno, "stat `%s`", path);
  _cleanup_close_ int tree = -1;
  if (S_ISDIR (st.st_mode))
    {
      _cleanup_close_ int fsfd = olrun_fsopen ("tmpfs", FSOPEN_CLOEXEC);
      if (fsfd < 0 || olrun_fsconfig (fsfd, FSCONFIG_CMD_CREATE, NULL, NULL, 0) < 0)
        return olrun_fail (err, errno, "tmpfs to mask `%s`", path);
      tree = olrun_fsmount (fsfd, FSMOUNT_CLOEXEC, MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC);
    }
  else
    tree = olrun_open_tree (null_fd, "", OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_EMPTY_PATH);
  if (tree < 0)
    return olrun_fail (err, errno, "mask `%s`", path);
  return olrun_mount_attach (tree, target, path, err);
}

/* Read-only paths: bind each onto itself, read-only, submounts included. */
static int
readonly_path (int root, const char *path, olrun_error_t *err)
{
  _cleanup_free_ char *clean = olrun_mount_clean_path (path);
  _cleanup_close_ int target = -1;
  if (olrun_mount_open_in_root (root, clean, O_PATH, 0, &target, err) < 0)
    {
      if ((*err)->errnum == ENOENT)
        return olrun_error_release (err), 0;
      return -1;
    }
  _cleanup_close_ int tree
      = olrun_open_tree (target, "", OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_RECURSIVE | AT_EMPTY_PATH);
  if (tree < 0)
    return olrun_fail (err, errno, "bind `%s`", path);
  /* Only RDONLY is added: nosuid/nodev/noexec stay as they were. */
  struct mount_attr attr = { .attr_set = MOUNT_ATTR_RDONLY };
  if (olrun_mount_setattr (tree, "", AT_EMPTY_PATH | AT_RECURSIVE, &attr) < 0)
    return olrun_fail (err, errno, "make `%s` read-only", path);
  return olrun_mount_attach (tree, target, path, err);
}

static int
finish_root (const struct olrun_rootfs_config *c, int root, olrun_error_t *err)
{
  if (c->readonly)
    {
      struct mount_attr attr = { .attr_set = MOUNT_ATTR_RDONLY };
      if (olrun_mount_setattr (root, "", AT_EMPTY_PATH, &attr) < 0)
        return olrun_fail (err, errno, "make the root read-only");
    }
  if (c->propagation)
    {
      struct mount_attr attr = { .propagation = c->propagation & ~(unsigned long) MS_REC };
      if (olrun_mount_setattr (root, "", AT_EMPTY_PATH | ((c->propagation & MS_REC) ? AT_RECURSIVE : 0), &attr) < 0)
        return olrun_fail (err, errno, "set rootfsPropagation");
    }
  return 0;
}

int
olrun_mount_finish (const struct olrun_rootfs_config *c, olrun_error_t *err)
{
  _cleanup_close_ int rootfd = open (c->rootfs, O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (rootfd < 0)
    return olrun_fail (err, errno, "open rootfs `%s`", c->rootfs);
  /* Masks go on before pivot_root, while the host's /dev/null can still
   * be cloned (a detached copy of it cannot be cloned again). */
  _cleanup_close_ int null_fd = open_host_null (err);
  if (null_fd < 0)
    return -1;
  for (char *const *p = c->masked_paths; p && *p; p++)
    if (mask_path (rootfd, null_fd, *p, err) < 0)
      return olrun_error_wrap (err, "maskedPaths");
  for (char *const *p = c->readonly_paths; p && *p; p++)
    if (readonly_path (rootfd, *p, err) < 0)
      return olrun_error_wrap (err, "readonlyPaths");
  if (do_pivot (rootfd, c->no_pivot, err) < 0)
    return -1;
  _cleanup_close_ int root = open ("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (root < 0)
    return olrun_fail (err, errno, "open /");
  return finish_root (c, root, err);
}

/* /dev: the default devices every container gets, linux.devices, and the
 * standard links.  Nodes are made with mknodat in a directory fd resolved
 * inside the rootfs; an existing entry (a symlink planted by the image,
 * say) is removed, never followed (CVE-2026-47766).  In a user namespace
 * mknod is not allowed, so the host's node is bind-mounted instead. */
#include <fcntl.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include "mount/internal.h"
#include "olrun/syscalls.h"
#include "olrun/util.h"

static const struct olrun_device default_devices[] = {
  { .path = (char *) "/dev/null", .type = 'c', .major = 1, .minor = 3, .file_mode = 0666, .has_mode = true },
  { .path = (char *) "/dev/zero", .type = 'c', .major = 1, .minor = 5, .file_mode = 0666, .has_mode = true },
  { .path = (char *) "/dev/full", .type = 'c', .major = 1, .minor = 7, .file_mode = 0666, .has_mode = true },
  { .path = (char *) "/dev/random", .type = 'c', .major = 1, .minor = 8, .file_mode = 0666, .has_mode = true },
  { .path = (char *) "/dev/urandom", .type = 'c', .major = 1, .minor = 9, .file_mode = 0666, .has_mode = true },
  { .path = (char *) "/dev/tty", .type = 'c', .major = 5, .minor = 0, .file_mode = 0666, .has_mode = true },
};

static const struct
{
  const char *name;
  const char *target;
} dev_links[] = {
  { "fd", "/proc/self/fd" },         { "stdin", "/proc/self/fd/0" }, { "stdout", "/proc/self/fd/1" },
  { "stderr", "/proc/self/fd/2" },
};

static mode_t
node_type (char t)
{
  switch (t)
    {
    case 'b': return S_IFBLK;
    case 'p': return S_IFIFO;
    default: return S_IFCHR; /* 'c' and 'u' */
    }
}

/* Remove whatever is at name (file, link, node, empty dir). */
static int
clear_entry (int dir, const char *name, olrun_error_t *err)
{
  struct stat st;
  if (fstatat (dir, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
    return errno == ENOENT ? 0 : olrun_fail (err, errno, "stat `%s`", name);
  if (unlinkat (dir, name, S_ISDIR (st.st_mode) ? AT_REMOVEDIR : 0) < 0)
    return olrun_fail (err, errno, "remove `%s`", name);
  return 0;
}

static int
bind_host_node (int dir, const char *name, const struct olrun_device *d, olrun_error_t *err)
{
  _cleanup_close_ int target = openat (dir, name, O_CREAT | O_EXCL | O_NOFOLLOW | O_RDONLY | O_CLOEXEC, 0600);
  if (target < 0)
    return olrun_fail (err, errno, "create `%s`", d->path);
  _cleanup_close_ int tree = olrun_open_tree (AT_FDCWD, d->path, OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC);
  if (tree < 0)
    return olrun_fail (err, errno, "bind host device `%s`", d->path);
  return olrun_mount_attach (tree, target, d->path, err);
}

static int
make_device (int rootfd, const struct olrun_device *d, bool in_userns, olrun_error_t *err)
{
  _cleanup_close_ int dir = -1;
  _cleanup_free_ char *name = NULL;
  if (olrun_mount_parent_in_root (rootfd, d->path, &dir, &name, err) < 0 || clear_entry (dir, name, err) < 0)
    return olrun_error_wrap (err, "device `%s`", d->path);
  mode_t mode = (d->has_mode ? d->file_mode : 0666) & 07777;
  if (in_userns && d->type != 'p')
    return bind_host_node (dir, name, d, err);
  /* umask is 0 while devices are made, so the mode is exact.  Where mknod
   * is not allowed even to root (a device cgroup, a restricted host), the
   * host's node is bound instead. */
  if (mknodat (dir, name, node_type (d->type) | mode, makedev ((unsigned) d->major, (unsigned) d->minor)) < 0)
    {
      if (errno == EPERM && d->type != 'p')
        return bind_host_node (dir, name, d, err);
      return olrun_fail (err, errno, "mknod `%s`", d->path);
    }
  if (fchownat (dir, name, d->has_uid ? d->uid : 0, d->has_gid ? d->gid : 0, AT_SYMLINK_NOFOLLOW) < 0)
    return olrun_fail (err, errno, "chown `%s`", d->path);
  return 0;
}

static bool
config_binds_dev (const struct olrun_rootfs_config *c)
{
  for (size_t i = 0; i < c->n_mounts; i++)
    if (c->mounts[i].bind && strcmp (c->mounts[i].destination, "/dev") == 0)
      return true;
  return false;
}

static bool
config_has_device (const struct olrun_rootfs_config *c, const char *path)
{
  for (size_t i = 0; i < c->n_devices; i++)
    if (strcmp (c->devices[i].path, path) == 0)
      return true;
  return false;
}

static int
make_links (int rootfd, olrun_error_t *err)
{
  _cleanup_close_ int dev = -1;
  if (olrun_mount_create_in_root (rootfd, "dev", false, &dev, err) < 0)
    return -1;
  for (size_t i = 0; i < ARRAY_SIZE (dev_links); i++)
    if (symlinkat (dev_links[i].target, dev, dev_links[i].name) < 0 && errno != EEXIST)
      return olrun_fail (err, errno, "symlink /dev/%s", dev_links[i].name);
  /* /dev/ptmx must be the container's devpts instance, not the host's. */
  struct stat st;
  if (fstatat (dev, "pts/ptmx", &st, AT_SYMLINK_NOFOLLOW) == 0)
    {
      if (clear_entry (dev, "ptmx", err) < 0)
        return -1;
      if (symlinkat ("pts/ptmx", dev, "ptmx") < 0)
        return olrun_fail (err, errno, "symlink /dev/ptmx");
    }
  if (access ("/proc/kcore", F_OK) == 0 && symlinkat ("/proc/kcore", dev, "core") < 0 && errno != EEXIST)
    return olrun_fail (err, errno, "symlink /dev/core");
  return 0;
}

int
olrun_mount_setup_dev (int rootfd, const struct olrun_rootfs_config *c, olrun_error_t *err)
{
  /* A bind-mounted /dev is the config's own business (runc: needsSetupDev). */
  bool defaults = !config_binds_dev (c);
  mode_t old = umask (0);
  int rc = 0;
  for (size_t i = 0; defaults && rc == 0 && i < ARRAY_SIZE (default_devices); i++)
    if (!config_has_device (c, default_devices[i].path))
      rc = make_device (rootfd, &default_devices[i], c->in_userns, err);
  for (size_t i = 0; rc == 0 && i < c->n_devices; i++)
    rc = make_device (rootfd, &c->devices[i], c->in_userns, err);
  umask (old);
  if (rc < 0)
    return -1;
  return defaults ? make_links (rootfd, err) : 0;
}

/* Idmapped bind mounts (runtime-spec 1.2: the idmap and ridmap options,
 * mounts[].uidMappings and gidMappings), built detached by the parent.
 *
 * mount_setattr(MOUNT_ATTR_IDMAP) needs CAP_SYS_ADMIN over the user
 * namespace that owns the filesystem (the initial one, for a disk
 * filesystem), which the container's setup gives up the moment it is
 * cloned into its own user namespace.  So the parent, still privileged,
 * makes the open_tree clone and sets the mapping on it before clone3; the
 * setup inherits the fd and attaches it like any other bind mount, with
 * its other attributes (ro, nosuid...) set there as usual. */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "mount/internal.h"
#include "olrun/syscalls.h"
#include "olrun/util.h"

bool
olrun_mount_is_idmapped (const struct olrun_mount *m)
{
  return m->idmap || m->uid_mappings.len > 0 || m->gid_mappings.len > 0;
}

/* The filesystem type of the mount `path` is on, from mountinfo (only
 * used to explain a refusal); NULL if it cannot be found. */
static char *
fs_type_of (const char *path)
{
  struct statx stx;
  if (statx (AT_FDCWD, path, AT_STATX_DONT_SYNC, STATX_MNT_ID, &stx) < 0 || !(stx.stx_mask & STATX_MNT_ID))
    return NULL;
  _cleanup_fclose_ FILE *f = fopen ("/proc/self/mountinfo", "re");
  if (f == NULL)
    return NULL;
  _cleanup_free_ char *line = NULL;
  size_t cap = 0;
  while (getline (&line, &cap, f) > 0)
    {
      unsigned long long id;
      char *sep = strstr (line, " - ");
      if (sscanf (line, "%llu", &id) != 1 || id != stx.stx_mnt_id || sep == NULL)
        continue;
      /* "... - ext4 /dev/vda rw,..." */
      char *type = sep + 3;
      type[strcspn (type, " ")] = '\0';
      return xstrdup (type);
    }
  return NULL;
}

/* EINVAL from MOUNT_ATTR_IDMAP means the filesystem (or, for ridmap, one
 * mounted below) cannot be idmapped on this kernel (FS_ALLOW_IDMAP):
 * tmpfs before Linux 6.3, procfs, sysfs, most network filesystems. */
static int
idmap_error (const struct olrun_mount *m, const char *src, int e, olrun_error_t *err)
{
  if (e == EINVAL)
    {
      _cleanup_free_ char *type = fs_type_of (src);
      return olrun_error_set (err, OLRUN_E_UNSUPPORTED, e,
                              "idmapped mount of `%s` on `%s`: the %s filesystem%s cannot be idmapped on this kernel",
                              src, m->destination, type ? type : "source's",
                              m->ridmap && m->recursive ? " (or one mounted below it: ridmap maps them all)" : "");
    }
  if (e == EPERM)
    return olrun_error_set (err, OLRUN_E_UNSUPPORTED, e,
                            "idmapped mount of `%s` on `%s`: not permitted (it needs CAP_SYS_ADMIN in the user "
                            "namespace that owns the filesystem)",
                            src, m->destination);
  return olrun_fail (err, e, "idmapped mount of `%s` on `%s`", src, m->destination);
}

int
olrun_mount_idmapped_tree (const struct olrun_mount *m, const char *bundle, int userns_fd, int *ret_tree,
                           olrun_error_t *err)
{
  _cleanup_free_ char *src = olrun_mount_source_path (m, bundle);
  _cleanup_close_ int tree = -1;
  if (olrun_mount_clone_source (m, bundle, &tree, err) < 0)
    return -1;
  /* idmap maps the top mount only: an rbind's submounts keep the owners
   * they show on the host (runc's semantics; ridmap maps them too). */
  struct mount_attr attr = { .attr_set = MOUNT_ATTR_IDMAP, .userns_fd = (uint64_t) userns_fd };
  if (olrun_mount_setattr (tree, "", AT_EMPTY_PATH | (m->ridmap ? AT_RECURSIVE : 0), &attr) < 0)
    return idmap_error (m, src, errno, err);
  *ret_tree = TAKE_FD (tree);
  return 0;
}

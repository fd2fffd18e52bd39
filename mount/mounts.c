/* One entry of mounts[], with the new mount API: the mount is built
 * detached (open_tree for binds, fsopen/fsmount for filesystems), its
 * attributes set with mount_setattr, and only then attached with
 * move_mount onto an fd of the destination resolved inside the rootfs.
 * No step re-resolves a path string the container could have changed. */
#include <fcntl.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>

#include "mount/internal.h"
#include "olrun/log.h"
#include "olrun/syscalls.h"
#include "olrun/util.h"

uint64_t
olrun_mount_flags_to_attr (unsigned long flags)
{
  uint64_t a = 0;
  if (flags & MS_RDONLY)
    a |= MOUNT_ATTR_RDONLY;
  if (flags & MS_NOSUID)
    a |= MOUNT_ATTR_NOSUID;
  if (flags & MS_NODEV)
    a |= MOUNT_ATTR_NODEV;
  if (flags & MS_NOEXEC)
    a |= MOUNT_ATTR_NOEXEC;
  if (flags & MS_NODIRATIME)
    a |= MOUNT_ATTR_NODIRATIME;
  if (flags & MS_NOATIME)
    a |= MOUNT_ATTR_NOATIME;
  else if (flags & MS_STRICTATIME)
    a |= MOUNT_ATTR_STRICTATIME;
  else if (flags & MS_RELATIME)
    a |= OLRUN_ATTR_RELATIME;
  if (flags & 0x100 /* MS_NOSYMFOLLOW */)
    a |= MOUNT_ATTR_NOSYMFOLLOW;
  return a;
}

/* Set attributes on a mount (detached or attached).  The atime mode is a
 * field: setting one clears the others. */
static int
set_attrs (int fd, uint64_t set, uint64_t clr, bool recursive, const char *what, olrun_error_t *err)
{
  if (set == 0 && clr == 0)
    return 0;
  const uint64_t atime = MOUNT_ATTR_NOATIME | MOUNT_ATTR_STRICTATIME | OLRUN_ATTR_RELATIME;
  struct mount_attr attr = { .attr_set = set & ~OLRUN_ATTR_RELATIME, .attr_clr = clr & ~atime };
  /* Setting an atime mode replaces the field; clearing one (atime,
   * norelatime, nostrictatime) falls back to the default, relatime. */
  if ((set | clr) & atime)
    attr.attr_clr |= MOUNT_ATTR__ATIME;
  if (olrun_mount_setattr (fd, "", AT_EMPTY_PATH | (recursive ? AT_RECURSIVE : 0), &attr) < 0)
    return olrun_fail (err, errno, "set mount attributes of `%s`", what);
  return 0;
}

int
olrun_mount_attach (int tree, int target, const char *what, olrun_error_t *err)
{
  if (olrun_move_mount (tree, "", target, "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) < 0)
    return olrun_fail (err, errno, "mount on `%s`", what);
  return 0;
}

/* The kernel explains a failed fsconfig in the fs context's log: read it,
 * so "tmpfs: Unknown parameter 'bogus'" reaches the user. */
static int
fs_error (int fsfd, int e, const char *type, olrun_error_t *err)
{
  char buf[256];
  ssize_t n = read (fsfd, buf, sizeof buf - 1);
  if (n > 2)
    {
      buf[n] = '\0';
      buf[strcspn (buf, "\n")] = '\0';
      return olrun_fail (err, e, "mount %s: %s", type, buf + 2);
    }
  return olrun_fail (err, e, "mount %s", type);
}

/* Superblock flags go through fsconfig like any other option. */
static int
configure_fs (int fsfd, const struct olrun_mount *m, olrun_error_t *err)
{
  static const struct
  {
    unsigned long flag;
    const char *name;
  } sb_flags[] = { { MS_SYNCHRONOUS, "sync" }, { MS_DIRSYNC, "dirsync" }, { MS_LAZYTIME, "lazytime" },
                   { MS_MANDLOCK, "mand" },    { MS_I_VERSION, "iversion" } };
  if (m->source && *m->source && olrun_fsconfig (fsfd, FSCONFIG_SET_STRING, "source", m->source, 0) < 0)
    return fs_error (fsfd, errno, m->type, err);
  for (size_t i = 0; i < ARRAY_SIZE (sb_flags); i++)
    if ((m->flags & sb_flags[i].flag) && olrun_fsconfig (fsfd, FSCONFIG_SET_FLAG, sb_flags[i].name, NULL, 0) < 0)
      {
        /* "iversion" is no generic fsconfig key, unlike the others: mount(2)
         * set SB_I_VERSION directly, and a filesystem without the option
         * ignored it.  Those that track i_version (ext4, xfs, btrfs, tmpfs)
         * now always do, so only an explicit refusal is an error. */
        if (sb_flags[i].flag == MS_I_VERSION && errno == EINVAL)
          {
            char drain[256];
            if (read (fsfd, drain, sizeof drain) < 0 && errno != ENODATA)
              return olrun_fail (err, errno, "mount %s", m->type);
            continue;
          }
        return fs_error (fsfd, errno, m->type, err);
      }
  _cleanup_free_ char *data = xstrdup (m->data ? m->data : "");
  char *save = NULL;
  for (char *o = strtok_r (data, ",", &save); o; o = strtok_r (NULL, ",", &save))
    {
      char *eq = strchr (o, '=');
      int rc = eq ? (*eq = '\0', olrun_fsconfig (fsfd, FSCONFIG_SET_STRING, o, eq + 1, 0))
                  : olrun_fsconfig (fsfd, FSCONFIG_SET_FLAG, o, NULL, 0);
      if (rc < 0)
        return fs_error (fsfd, errno, m->type, err);
    }
  if (olrun_fsconfig (fsfd, FSCONFIG_CMD_CREATE, NULL, NULL, 0) < 0)
    return fs_error (fsfd, errno, m->type, err);
  return 0;
}

static int
new_fs (const char *type, const struct olrun_mount *m, int *ret_tree, olrun_error_t *err)
{
  _cleanup_close_ int fsfd = olrun_fsopen (type, FSOPEN_CLOEXEC);
  if (fsfd < 0)
    {
      if (errno == ENODEV)
        return olrun_error_set (err, OLRUN_E_INVALID, 0, "unknown filesystem type `%s`", type);
      return olrun_fail (err, errno, "fsopen %s", type);
    }
  if (configure_fs (fsfd, m, err) < 0)
    return -1;
  unsigned attrs = (unsigned) (olrun_mount_flags_to_attr (m->flags) & ~OLRUN_ATTR_RELATIME);
  int tree = olrun_fsmount (fsfd, FSMOUNT_CLOEXEC, attrs);
  if (tree < 0)
    return olrun_fail (err, errno, "fsmount %s", type);
  *ret_tree = tree;
  return 0;
}

int
olrun_mount_clone_tree (const char *path, bool recursive, int *ret_tree, olrun_error_t *err)
{
  int tree = olrun_open_tree (AT_FDCWD, path, OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | (recursive ? AT_RECURSIVE : 0));
  if (tree < 0)
    return olrun_error_set (err, errno == ENOENT ? OLRUN_E_INVALID : OLRUN_E_GENERIC, errno, "bind source `%s`",
                            path);
  *ret_tree = tree;
  return 0;
}

/* cgroup mounts: with a cgroup namespace, a fresh cgroup2 shows the
 * container's cgroup as its root; without one, the container's cgroup
 * directory is bind-mounted, as runc does, so it never sees the host's
 * tree.  Read-only unless the options say rw. */
static int
cgroup_tree (const struct olrun_mount *m, const struct olrun_rootfs_config *c, int *ret_tree, olrun_error_t *err)
{
  struct olrun_mount fresh = { .type = (char *) "cgroup2", .flags = m->flags };
  /* Rootless, never writable: the cgroup seen there (without a cgroup
   * namespace, the delegated parent's) belongs to the user, who could
   * otherwise be escaped into or limited from inside (CVE-2023-25809). */
  if (!(m->clear & MS_RDONLY) || c->rootless)
    fresh.flags |= MS_RDONLY;
  if (c->new_cgroupns || c->cgroup2_path == NULL)
    return new_fs ("cgroup2", &fresh, ret_tree, err);
  _cleanup_free_ char *src = xasprintf ("%s%s", c->cgroup2_mountpoint, c->cgroup2_path);
  if (olrun_mount_clone_tree (src, false, ret_tree, err) < 0)
    return -1;
  return set_attrs (*ret_tree, olrun_mount_flags_to_attr (fresh.flags), 0, false, m->destination, err);
}

/* In a user namespace without its own network (or ipc) namespace, sysfs
 * (mqueue) cannot be mounted fresh: bind the host's, as runc does. */
static bool
bind_fallback (const struct olrun_mount *m, const struct olrun_rootfs_config *c, int e)
{
  return c->in_userns && e == EPERM && (strcmp (m->type, "sysfs") == 0 || strcmp (m->type, "mqueue") == 0);
}

char *
olrun_mount_source_path (const struct olrun_mount *m, const char *bundle)
{
  const char *src = m->source ? m->source : "";
  return src[0] == '/' || bundle == NULL ? xstrdup (src) : xasprintf ("%s/%s", bundle, src);
}

/* Open a bind mount's source.  An absolute source is the host's, taken as
 * the config gives it (runc does the same).  A relative one names
 * something in the bundle, which may hold content nobody vetted (an
 * unpacked image): it is resolved beneath the bundle, so neither `..` nor
 * a symlink in there can make us bind a host path the config never named. */
static int
open_source (const struct olrun_mount *m, const char *bundle, olrun_error_t *err)
{
  const char *src = m->source ? m->source : "";
  int fd;
  if (src[0] == '/' || bundle == NULL)
    fd = open (src, O_PATH | O_CLOEXEC);
  else
    {
      _cleanup_close_ int dir = open (bundle, O_PATH | O_DIRECTORY | O_CLOEXEC);
      if (dir < 0)
        return olrun_fail (err, errno, "open the bundle `%s`", bundle);
      struct open_how how = { .flags = O_PATH | O_CLOEXEC, .resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS };
      fd = olrun_openat2 (dir, src, &how);
      if (fd < 0 && errno == EXDEV)
        return olrun_error_set (err, OLRUN_E_INVALID, 0,
                                "bind source `%s` leads out of the bundle (through `..` or a symlink): "
                                "name a host path with an absolute source",
                                src);
    }
  if (fd < 0)
    return olrun_error_set (err, errno == ENOENT ? OLRUN_E_INVALID : OLRUN_E_GENERIC, errno, "bind source `%s`",
                            src);
  return fd;
}

int
olrun_mount_clone_source (const struct olrun_mount *m, const char *bundle, int *ret_tree, olrun_error_t *err)
{
  _cleanup_close_ int fd = open_source (m, bundle, err);
  if (fd < 0)
    return -1;
  /* From the fd just checked: no second lookup of the path. */
  int tree = olrun_open_tree (fd, "", OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_EMPTY_PATH
                                          | (m->recursive ? AT_RECURSIVE : 0));
  if (tree < 0)
    return olrun_fail (err, errno, "bind source `%s`", m->source ? m->source : "");
  *ret_tree = tree;
  return 0;
}

/* Build the detached mount for an entry and tell whether it is a file. */
static int
build_tree (const struct olrun_mount *m, int idmapped_tree, const struct olrun_rootfs_config *c, int *ret_tree,
            bool *ret_is_file, olrun_error_t *err)
{
  *ret_is_file = false;
  /* An idmapped mount without its prepared tree would be an ordinary
   * bind, silently showing the wrong owners. */
  if (olrun_mount_is_idmapped (m) && idmapped_tree < 0)
    return olrun_error_set (err, OLRUN_E_GENERIC, 0, "idmapped mount was not prepared");
  if (m->bind)
    {
      _cleanup_free_ char *src = olrun_mount_source_path (m, c->bundle);
      if (idmapped_tree >= 0)
        {
          /* Ours to attach: the parent's copy and the inherited number
           * are closed with the rest of our fds. */
          *ret_tree = fcntl (idmapped_tree, F_DUPFD_CLOEXEC, 3);
          if (*ret_tree < 0)
            return olrun_fail (err, errno, "dup the idmapped mount");
        }
      else if (olrun_mount_clone_source (m, c->bundle, ret_tree, err) < 0)
        return -1;
      struct stat st;
      if (fstat (*ret_tree, &st) < 0)
        return olrun_fail (err, errno, "stat `%s`", src);
      *ret_is_file = !S_ISDIR (st.st_mode);
      return set_attrs (*ret_tree, olrun_mount_flags_to_attr (m->flags), olrun_mount_flags_to_attr (m->clear), false,
                        m->destination, err);
    }
  if (strcmp (m->type, "cgroup") == 0 || strcmp (m->type, "cgroup2") == 0)
    return cgroup_tree (m, c, ret_tree, err);
  if (new_fs (m->type, m, ret_tree, err) == 0)
    return 0;
  if (!bind_fallback (m, c, (*err)->errnum))
    return -1;
  olrun_error_release (err);
  const char *host = strcmp (m->type, "sysfs") == 0 ? "/sys" : "/dev/mqueue";
  if (olrun_mount_clone_tree (host, true, ret_tree, err) < 0)
    return -1;
  return set_attrs (*ret_tree, olrun_mount_flags_to_attr (m->flags), 0, false, m->destination, err);
}

/* "remount": change the attributes of what is already mounted there. */
static int
remount_entry (int rootfd, const struct olrun_mount *m, olrun_error_t *err)
{
  _cleanup_free_ char *clean = olrun_mount_clean_path (m->destination);
  _cleanup_close_ int fd = -1;
  if (olrun_mount_open_in_root (rootfd, clean, O_PATH, 0, &fd, err) < 0)
    return -1;
  return set_attrs (fd, olrun_mount_flags_to_attr (m->flags), olrun_mount_flags_to_attr (m->clear), false,
                    m->destination, err);
}

int
olrun_mount_entry (int rootfd, const struct olrun_mount *m, int idmapped_tree, const struct olrun_rootfs_config *c,
                   olrun_error_t *err)
{
  if (m->flags & MS_REMOUNT)
    return remount_entry (rootfd, m, err);
  _cleanup_close_ int tree = -1;
  bool is_file = false;
  if (build_tree (m, idmapped_tree, c, &tree, &is_file, err) < 0)
    return -1;
  if (set_attrs (tree, m->attr_set, m->attr_clr, true, m->destination, err) < 0)
    return -1;
  _cleanup_close_ int target = -1;
  if (olrun_mount_create_in_root (rootfd, m->destination, is_file, &target, err) < 0)
    return -1;
  if (m->tmpcopyup && olrun_mount_copy_up (target, tree, err) < 0)
    return olrun_error_wrap (err, "tmpcopyup `%s`", m->destination);
  if (olrun_mount_attach (tree, target, m->destination, err) < 0)
    return -1;
  if (m->propagation == 0)
    return 0;
  /* The target fd names the mount point below; the new mount is reached
   * by resolving the destination again (inside the root, as before). */
  _cleanup_free_ char *clean = olrun_mount_clean_path (m->destination);
  _cleanup_close_ int mounted = -1;
  if (olrun_mount_open_in_root (rootfd, clean, O_PATH, 0, &mounted, err) < 0)
    return -1;
  struct mount_attr attr = { .propagation = m->propagation & ~(unsigned long) MS_REC };
  if (olrun_mount_setattr (mounted, "", AT_EMPTY_PATH | ((m->propagation & MS_REC) ? AT_RECURSIVE : 0), &attr) < 0)
    return olrun_fail (err, errno, "set propagation of `%s`", m->destination);
  return 0;
}

/* The container's filesystem: rootfs, mounts, /dev, masked and read-only
 * paths, pivot_root, and safe path resolution inside the rootfs. */
#ifndef OLRUN_MOUNT_H
#define OLRUN_MOUNT_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "olrun/error.h"
#include "olrun/namespaces.h"

/* One entry of config.json's mounts[], with its options parsed. */
struct olrun_mount
{
  char *destination;
  char *source;
  char *type;
  char **options;
  /* parsed from options: */
  unsigned long flags;        /* MS_* to set */
  unsigned long clear;        /* MS_* flags the options explicitly turn off (rw, suid, dev, ...) */
  unsigned long propagation;  /* one of MS_SHARED/SLAVE/PRIVATE/UNBINDABLE, | MS_REC */
  uint64_t attr_set;          /* MOUNT_ATTR_* applied recursively (rro, rnosuid, ...) */
  uint64_t attr_clr;
  bool bind;                  /* bind or rbind */
  bool recursive;             /* rbind */
  bool idmap, ridmap;         /* idmapped bind mount (runtime-spec 1.2) */
  bool tmpcopyup;             /* copy the image's content into a new tmpfs */
  char *data;                 /* the remaining filesystem-specific options, comma-joined */
  struct olrun_idmaps uid_mappings, gid_mappings;
};

/* Parse m->options into the fields above.  An unknown option that is not a
 * plausible filesystem option (key=value, or a plain word passed as data)
 * is returned in *bad (a pointer into m->options) with -1. */
int olrun_mount_parse_options (struct olrun_mount *m, const char **bad);
void olrun_mount_clear (struct olrun_mount *m);
/* The option words the parser turns into flags, propagation, attributes
 * or extensions (not filesystem data) and the mount code applies, in
 * table order; NULL past the end.  For `features`. */
const char *olrun_mount_option_name (size_t i);
/* MS_* propagation flags for a rootfsPropagation name; -1 if unknown. */
long olrun_mount_propagation_flags (const char *name);

/* One entry of linux.devices. */
struct olrun_device
{
  char *path;
  char type;            /* 'c', 'b', 'u' or 'p' */
  int64_t major, minor;
  uint32_t file_mode;   /* permission bits */
  bool has_mode;
  uint32_t uid, gid;
  bool has_uid, has_gid;
};
void olrun_device_clear (struct olrun_device *d);

/* Everything the container's init needs to build its filesystem. */
struct olrun_rootfs_config
{
  const char *rootfs;             /* absolute host path of root.path */
  const char *bundle;             /* relative mount sources are relative to it */
  bool readonly;                  /* root.readonly */
  unsigned long propagation;      /* rootfsPropagation, 0 for the default (rslave) */
  const struct olrun_mount *mounts;
  size_t n_mounts;
  const struct olrun_device *devices;
  size_t n_devices;
  char *const *masked_paths;
  char *const *readonly_paths;
  bool no_pivot;                  /* --no-pivot: MS_MOVE + chroot */
  bool in_userns;                 /* devices are bind-mounted: mknod is not allowed */
  bool rootless;                  /* cgroup mounts are read-only whatever the options say */
  bool new_cgroupns;              /* cgroup mounts show the container's own cgroup */
  const char *cgroup2_mountpoint; /* where the host's cgroup2 hierarchy is mounted, or NULL */
  const char *cgroup2_path;       /* the container's cgroup in it (cgroup mounts without cgroupns) */
  int console_fd;                 /* pty slave for /dev/console, or -1 */
  const int *idmapped_trees;      /* per mounts[] entry: the detached idmapped mount to attach, or -1;
                                     NULL when there is none */
};

/* Stage 1, in the container's new mount namespace: make the mounts private
 * to it, bind the rootfs onto itself and perform every mounts[] entry,
 * /dev and its devices.  Every destination is resolved inside the rootfs
 * without following symlinks out of it (CVE-2021-30465).  Host paths are
 * still visible after this, for createContainer hooks. */
int olrun_mount_prepare (const struct olrun_rootfs_config *c, olrun_error_t *err);
/* Stage 2: pivot_root into the rootfs (or MS_MOVE + chroot with no_pivot),
 * then masked and read-only paths, the read-only root and the final
 * propagation. */
int olrun_mount_finish (const struct olrun_rootfs_config *c, olrun_error_t *err);

/* Idmapped bind mounts (idmap, ridmap, mounts[].uidMappings): a detached
 * open_tree clone of the source (rbind: submounts included) carrying
 * MOUNT_ATTR_IDMAP with the mapping of the user namespace userns_fd
 * (ridmap: on every submount, idmap: on the top one only).  The kernel
 * wants CAP_SYS_ADMIN over the filesystem's user namespace (the host's),
 * which the container's setup no longer has inside its own user
 * namespace: so the parent builds it, and the setup attaches it. */
int olrun_mount_idmapped_tree (const struct olrun_mount *m, const char *bundle, int userns_fd, int *ret_tree,
                               olrun_error_t *err);
/* Whether a mounts[] entry asks for an idmapped mount. */
bool olrun_mount_is_idmapped (const struct olrun_mount *m);

/* Open `path` inside the tree at rootfd, resolving every component there:
 * `..` and absolute symlinks cannot leave it (openat2 RESOLVE_IN_ROOT). */
int olrun_mount_open_in_root (int rootfd, const char *path, int flags, mode_t mode, int *ret_fd,
                              olrun_error_t *err);

#endif

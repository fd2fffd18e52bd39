/* Shared between the files of mount/. */
#ifndef OLRUN_MOUNT_INTERNAL_H
#define OLRUN_MOUNT_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>

#include "olrun/mount.h"

/* Lexically clean an absolute container path: no empty, "." or ".."
 * components (".." stops at the root).  Returns it without a leading '/'
 * ("" for the root). */
char *olrun_mount_clean_path (const char *path);
/* Resolve `path` in the root (RESOLVE_IN_ROOT), creating what is missing:
 * directories, and the last component as a directory or an empty file.
 * Returns an O_PATH fd on the result. */
int olrun_mount_create_in_root (int rootfd, const char *path, bool last_is_file, int *ret_fd, olrun_error_t *err);
/* Open the parent directory of path in the root (creating it) and return
 * the last component's name (heap). */
int olrun_mount_parent_in_root (int rootfd, const char *path, int *ret_fd, char **ret_name, olrun_error_t *err);

/* MOUNT_ATTR_RELATIME is 0 (the atime mode is a 3-bit field), so asking
 * for it needs a marker of our own; set_attrs turns it into "clear the
 * field".  Never passed to the kernel as such. */
#define OLRUN_ATTR_RELATIME (UINT64_C (1) << 62)

/* Copy the directory at src (an O_PATH fd) into the root of the detached
 * tmpfs `tree` (tmpcopyup). */
int olrun_mount_copy_up (int src, int tree, olrun_error_t *err);

/* MS_* per-mount flags to MOUNT_ATTR_* for mount_setattr/fsmount. */
uint64_t olrun_mount_flags_to_attr (unsigned long flags);
/* Perform one mounts[] entry; idmapped_tree is the prepared mount for an
 * idmapped entry (see olrun_mount_idmapped_tree), else -1. */
int olrun_mount_entry (int rootfd, const struct olrun_mount *m, int idmapped_tree,
                       const struct olrun_rootfs_config *c, olrun_error_t *err);
/* The host path of a bind mount's source (relative ones are relative to
 * the bundle). */
char *olrun_mount_source_path (const struct olrun_mount *m, const char *bundle);
/* A detached copy of a bind mount's source (rbind: with its submounts); a
 * relative source must stay beneath the bundle. */
int olrun_mount_clone_source (const struct olrun_mount *m, const char *bundle, int *ret_tree, olrun_error_t *err);
/* A detached copy of the mount at path (with its submounts if recursive). */
int olrun_mount_clone_tree (const char *path, bool recursive, int *ret_tree, olrun_error_t *err);
/* olrun_mount_open_in_root() returning -1 with errno instead of an error,
 * for callers to whom a missing path is an answer (an error object costs a
 * formatted message). */
int olrun_mount_openat_in_root (int rootfd, const char *path, int flags, mode_t mode);
/* Attach a detached mount (open_tree/fsmount fd) on the target fd. */
int olrun_mount_attach (int tree, int target, const char *what, olrun_error_t *err);
/* /dev: default devices, linux.devices, the standard links. */
int olrun_mount_setup_dev (int rootfd, const struct olrun_rootfs_config *c, olrun_error_t *err);

#endif

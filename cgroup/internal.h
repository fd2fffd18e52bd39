/* Shared between the files of cgroup/. */
#ifndef OLRUN_CGROUP_INTERNAL_H
#define OLRUN_CGROUP_INTERNAL_H

#include "olrun/cgroup.h"

const char *olrun_cgroup2_mountpoint (void);
int olrun_cgroup_own_path (char **ret, olrun_error_t *err);
int olrun_cgroup_resolve_path (const char *cgroups_path, const char *id, char **ret, olrun_error_t *err);
int olrun_cgroup_populated (int dirfd, bool *ret, olrun_error_t *err);

int olrun_cgroupfs_create (const struct olrun_cgroup_config *c, struct olrun_cgroup *cg, olrun_error_t *err);
int olrun_cgroupfs_load (const char *path, struct olrun_cgroup *cg, olrun_error_t *err);
int olrun_cgroupfs_destroy (struct olrun_cgroup *cg, olrun_error_t *err);
int olrun_cgroupfs_signal_all (int dirfd, int sig, olrun_error_t *err);

#endif

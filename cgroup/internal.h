/* Shared between the files of cgroup/: the manager vtable and the
 * dirfd-based helpers the managers are built from.  Every helper works on
 * an open cgroup directory, so the unit tests point them at a mkdtemp()
 * directory holding fake control files. */
#ifndef OLRUN_CGROUP_INTERNAL_H
#define OLRUN_CGROUP_INTERNAL_H

#include "olrun/cgroup.h"

/* One manager.  systemd reuses the cgroupfs methods for everything a
 * delegated (Delegate=yes) cgroup lets its owner do itself. */
struct olrun_cgroup_ops
{
  const char *name;
  int (*create) (const struct olrun_cgroup_config *c, struct olrun_cgroup *cg, olrun_error_t *err);
  int (*spawned) (struct olrun_cgroup *cg, olrun_error_t *err);
  int (*load) (const char *path, struct olrun_cgroup *cg, olrun_error_t *err);
  int (*update) (struct olrun_cgroup *cg, const struct olrun_resources *r, olrun_error_t *err);
  int (*freeze) (struct olrun_cgroup *cg, bool frozen, olrun_error_t *err);
  int (*kill_all) (struct olrun_cgroup *cg, int sig, olrun_error_t *err);
  int (*destroy) (struct olrun_cgroup *cg, olrun_error_t *err);
};

extern const struct olrun_cgroup_ops olrun_cgroupfs_ops;
extern const struct olrun_cgroup_ops olrun_systemd_ops;
extern const struct olrun_cgroup_ops olrun_disabled_ops;

/* ---- cgroupfs.c: paths and the directory itself ---- */
const char *olrun_cgroup2_mountpoint (void);
int olrun_cgroup_own_path (char **ret, olrun_error_t *err);
int olrun_cgroup_resolve_path (const char *cgroups_path, const char *id, char **ret, olrun_error_t *err);
int olrun_cgroup_populated (int dirfd, bool *ret, olrun_error_t *err);
/* mkdir the cgroup (and its parents, enabling controllers on the way) and
 * apply the resources: the part of create shared by cgroupfs and systemd. */
int olrun_cgroupfs_make (const struct olrun_cgroup_config *c, struct olrun_cgroup *cg, olrun_error_t *err);
int olrun_cgroupfs_setup (const struct olrun_cgroup_config *c, struct olrun_cgroup *cg, olrun_error_t *err);
int olrun_cgroupfs_signal_all (int dirfd, int sig, olrun_error_t *err);
int olrun_cgroupfs_freeze_at (int dirfd, bool frozen, olrun_error_t *err);
/* Wait until cgroup.events has "<key> <want>" (POLLPRI-driven). */
int olrun_cgroup_wait_event (int dirfd, const char *key, char want, olrun_error_t *err);
int olrun_cgroup_read_event (int dirfd, const char *key, char *ret, olrun_error_t *err);

/* ---- systemd.c ---- */
/* A systemd runs here and libsystemd can be loaded. */
bool olrun_cgroup_systemd_usable (void);

/* ---- controllers.c ---- */
enum olrun_controller
{
  OLRUN_CTRL_CPU,
  OLRUN_CTRL_CPUSET,
  OLRUN_CTRL_IO,
  OLRUN_CTRL_MEMORY,
  OLRUN_CTRL_PIDS,
  OLRUN_CTRL_HUGETLB,
  OLRUN_CTRL_RDMA,
  OLRUN_CTRL_MISC,
  OLRUN_CTRL_COUNT,
};
const char *olrun_controller_name (int ctrl);
int olrun_controller_from_name (const char *name, size_t len);
/* Bitmask of the controllers a set of resources needs, and for each the
 * name of the first setting that asks for it (for error messages). */
unsigned olrun_resources_controllers (const struct olrun_resources *r, const char *why[OLRUN_CTRL_COUNT]);
/* Parse a "cpu io memory" line into a bitmask.  Unknown names are skipped. */
unsigned olrun_controllers_parse (const char *text);
/* Read dirfd/<file> ("cgroup.controllers" or "cgroup.subtree_control"). */
int olrun_controllers_read (int dirfd, const char *file, unsigned *ret, olrun_error_t *err);
/* Walk from the hierarchy root (rootfd) down to `rel`'s parent, enabling in
 * each cgroup.subtree_control every controller available there; a
 * controller in `need` that is missing or cannot be enabled is an error
 * naming it and the setting that asked for it. */
int olrun_controllers_enable (int rootfd, const char *rel, unsigned need, const char *const *why,
                              olrun_error_t *err);

/* ---- resources.c ---- */
/* Write r into the cgroup at dirfd.  update: r holds only what changes,
 * and memory.checkBeforeUpdate applies. */
int olrun_cgroup_apply_resources (int dirfd, const struct olrun_resources *r, bool update, olrun_error_t *err);

/* ---- devices.c ---- */
/* Load a device program and attach it to the cgroup, beside any program
 * already there (BPF_F_ALLOW_MULTI). */
int olrun_cgroup_devices_attach (int dirfd, const void *insns, size_t count, olrun_error_t *err);
/* The device program for these rules (config rules, then runc's default
 * allow-list, then `extra` rwm), as raw instructions (struct bpf_insn, 8
 * bytes each); the unit tests run it through an interpreter. */
int olrun_cgroup_devices_program (const struct olrun_cgroup_device_rule *rules, size_t n_rules,
                                  const struct olrun_cgroup_device_rule *extra, size_t n_extra, void **ret_insns,
                                  size_t *ret_count, olrun_error_t *err);

/* ---- stats.c ---- */
int olrun_cgroup_stats_at (int dirfd, struct olrun_cgroup_stats *ret, olrun_error_t *err);
int olrun_cgroup_pids_at (int dirfd, pid_t **ret, size_t *ret_len, olrun_error_t *err);

#endif

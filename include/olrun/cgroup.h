/* cgroup v2.  Only cgroup/ touches /sys/fs/cgroup.
 *
 * A manager (cgroupfs, systemd or disabled) is a vtable; a container's
 * cgroup is a `struct olrun_cgroup` that records which manager made it and
 * where, so later commands can load it from the state. */
#ifndef OLRUN_CGROUP_H
#define OLRUN_CGROUP_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "olrun/error.h"

enum olrun_cgroup_manager_kind
{
  OLRUN_CGROUP_CGROUPFS,
  OLRUN_CGROUP_SYSTEMD,
  OLRUN_CGROUP_DISABLED,
};

/* linux.resources, parsed (runtime/spec_resources.c fills it in). */
struct olrun_resources;
void olrun_resources_free (struct olrun_resources *r);

struct olrun_cgroup_config
{
  const char *id;                         /* container ID */
  const char *cgroups_path;               /* linux.cgroupsPath, or NULL */
  enum olrun_cgroup_manager_kind manager;
  bool rootless;
  const struct olrun_resources *resources; /* may be NULL */
};

struct olrun_cgroup
{
  enum olrun_cgroup_manager_kind manager;
  char *path;          /* absolute path in the cgroup2 hierarchy ("/olrun/ID"), NULL when disabled */
  char *mountpoint;    /* where that hierarchy is mounted on the host */
  int dirfd;           /* open on the cgroup directory, -1 when disabled or not open */
  bool created;        /* this process made the directory (and so removes it on failure) */
};

/* Create the container's cgroup and apply its resources.  On success
 * ret->dirfd is ready for clone3(CLONE_INTO_CGROUP).  On a host without
 * cgroup v2, a config without resources gets a disabled cgroup and a
 * warning; one with resources fails naming them. */
int olrun_cgroup_create (const struct olrun_cgroup_config *c, struct olrun_cgroup **ret, olrun_error_t *err);
/* Re-open a cgroup recorded in a container's state. */
int olrun_cgroup_load (enum olrun_cgroup_manager_kind manager, const char *path, struct olrun_cgroup **ret,
                       olrun_error_t *err);
/* Kill every process in it (cgroup.kill), wait until it is empty, remove
 * it.  A cgroup that is already gone is fine. */
int olrun_cgroup_destroy (struct olrun_cgroup *cg, olrun_error_t *err);
/* Send sig to every process in the cgroup. */
int olrun_cgroup_kill (struct olrun_cgroup *cg, int sig, olrun_error_t *err);
/* Is the cgroup frozen (cgroup.freeze / cgroup.events)? */
int olrun_cgroup_is_frozen (struct olrun_cgroup *cg, bool *ret, olrun_error_t *err);
void olrun_cgroup_free (struct olrun_cgroup *cg);
const char *olrun_cgroup_manager_name (enum olrun_cgroup_manager_kind k);

/* The runtime-spec features' linux.cgroup object: what works on this host. */
struct olrun_cgroup_features
{
  bool v1, v2, systemd, systemd_user, rdma;
};
void olrun_cgroup_features (struct olrun_cgroup_features *ret);
int olrun_cgroup_manager_from_name (const char *name);

#endif

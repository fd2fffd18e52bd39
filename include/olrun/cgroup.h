/* cgroup v2.  Only cgroup/ touches /sys/fs/cgroup.
 *
 * A manager (cgroupfs, systemd or disabled) is a vtable; a container's
 * cgroup is a `struct olrun_cgroup` that records which manager made it and
 * where, so later commands can load it from the state.
 *
 * linux.resources is parsed by runtime/spec_resources.c into a
 * `struct olrun_resources` and applied here, before the container's first
 * instruction runs (the process is cloned straight into the cgroup). */
#ifndef OLRUN_CGROUP_H
#define OLRUN_CGROUP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "olrun/error.h"

enum olrun_cgroup_manager_kind
{
  OLRUN_CGROUP_CGROUPFS,
  OLRUN_CGROUP_SYSTEMD,
  OLRUN_CGROUP_DISABLED,
};

/* ---- linux.resources ------------------------------------------------------ */

/* Device access bits, the values of the kernel's BPF_DEVCG_ACC_*. */
enum
{
  OLRUN_DEV_ACC_MKNOD = 1,
  OLRUN_DEV_ACC_READ = 2,
  OLRUN_DEV_ACC_WRITE = 4,
};

/* One devices cgroup rule.  type is 'a' (all), 'c' or 'b'; major/minor -1
 * is the wildcard. */
struct olrun_cgroup_device_rule
{
  bool allow;
  char type;
  int64_t major, minor;
  unsigned access;
};

/* A per-device io value: a throttle rate, or a weight. */
struct olrun_cgroup_io_device
{
  int64_t major, minor;
  uint64_t value;
};

struct olrun_cgroup_hugetlb
{
  char *pagesize;        /* "2MB", "1GB", ... */
  uint64_t limit;        /* bytes */
};

struct olrun_cgroup_rdma
{
  char *device;
  bool has_handles, has_objects;
  uint32_t handles, objects;
};

struct olrun_cgroup_kv
{
  char *key;
  char *value;
};

enum olrun_io_throttle
{
  OLRUN_IO_READ_BPS,
  OLRUN_IO_WRITE_BPS,
  OLRUN_IO_READ_IOPS,
  OLRUN_IO_WRITE_IOPS,
  OLRUN_IO_THROTTLE_COUNT,
};

/* Every member has a has_ flag: only what the config sets is written. */
struct olrun_resources
{
  struct
  {
    bool has_limit, has_reservation, has_swap;
    int64_t limit, reservation, swap; /* bytes; -1 is "max" */
    bool check_before_update;
  } memory;
  struct
  {
    bool has_shares, has_quota, has_period, has_burst, has_idle;
    uint64_t shares, period, burst;   /* shares: v1 units, converted to cpu.weight */
    int64_t quota;                    /* microseconds; -1 is "max" */
    int64_t idle;
    char *cpus, *mems;
  } cpu;
  struct
  {
    bool has_limit;
    int64_t limit;                    /* <= 0 is "max" */
  } pids;
  struct
  {
    bool has_weight;
    uint16_t weight;                  /* blkio units, 10..1000 */
    struct olrun_cgroup_io_device *weight_devices;
    size_t n_weight_devices;
    struct olrun_cgroup_io_device *throttle[OLRUN_IO_THROTTLE_COUNT];
    size_t n_throttle[OLRUN_IO_THROTTLE_COUNT];
  } io;
  struct olrun_cgroup_hugetlb *hugetlb;
  size_t n_hugetlb;
  struct olrun_cgroup_rdma *rdma;
  size_t n_rdma;
  struct olrun_cgroup_kv *unified;
  size_t n_unified;
  bool has_devices;                   /* linux.resources.devices was given */
  struct olrun_cgroup_device_rule *devices;
  size_t n_devices;
};

struct olrun_resources *olrun_resources_new (void);
void olrun_resources_free (struct olrun_resources *r);
void olrun_resources_freep (struct olrun_resources **r);
#define _cleanup_resources_ __attribute__ ((cleanup (olrun_resources_freep)))
/* Overlay what `src` sets onto `dst` (for `update`).  Arrays in src
 * replace dst's. */
void olrun_resources_merge (struct olrun_resources *dst, const struct olrun_resources *src);
/* Does the config set anything a cgroup would have to enforce?  *what
 * names the first such setting ("memory.limit"). */
bool olrun_resources_any (const struct olrun_resources *r, const char **what);

/* linux.devices -> allow rules for olrun_cgroup_config.extra_devices
 * (heap array of n; FIFOs are skipped when the program is built).
 * Defined in runtime/spec_resources.c. */
struct olrun_device;
struct olrun_cgroup_device_rule *olrun_resources_rules_from_devices (const struct olrun_device *devs, size_t n);

/* runc/crun conversions, exposed for the tests. */
uint64_t olrun_cgroup_shares_to_weight (uint64_t shares);
uint64_t olrun_cgroup_blkio_to_io_weight (uint64_t blkio_weight);
/* memory.swap.max from the v1-style swap (memory+swap) and limit.  Returns
 * -1 (error) for combinations runc refuses; *ret is -1 for "max",
 * -2 for "leave unset". */
int olrun_cgroup_swap_max (int64_t swap, int64_t limit, int64_t *ret, olrun_error_t *err);

/* ---- managers --------------------------------------------------------------- */

struct olrun_cgroup_config
{
  const char *id;                         /* container ID */
  const char *cgroups_path;               /* linux.cgroupsPath, or NULL */
  enum olrun_cgroup_manager_kind manager;
  bool rootless;
  const struct olrun_resources *resources; /* may be NULL */
  /* linux.devices: each is allowed rwm in the device program, as runc
   * does, so a device the config creates can be opened.  May be empty. */
  const struct olrun_cgroup_device_rule *extra_devices;
  size_t n_extra_devices;
  /* What olrun_cgroup_planned_path() gave, if the caller asked: the
   * cgroupfs manager then uses it rather than resolving it again. */
  const char *planned_path;
};

struct olrun_cgroup_ops;
struct olrun_cgroup
{
  enum olrun_cgroup_manager_kind manager;
  const struct olrun_cgroup_ops *ops;
  char *path;          /* absolute path in the cgroup2 hierarchy ("/olrun/ID"), NULL when disabled */
  char *mountpoint;    /* where that hierarchy is mounted on the host */
  int dirfd;           /* open on the cgroup directory, -1 when disabled or not open */
  bool created;        /* this process made the directory (and so removes it on failure) */
  char *unit;          /* systemd: the transient unit's name */
  char *own_path;      /* systemd: our cgroup before we joined the scope */
  void *device_insns;  /* the device program, until olrun_cgroup_spawned() attaches it */
  size_t n_device_insns;
};

/* Create the container's cgroup and apply its resources.  On success
 * ret->dirfd is ready for clone3(CLONE_INTO_CGROUP).  On a host without
 * cgroup v2, a config without resources gets a disabled cgroup and a
 * warning; one with resources fails naming them. */
int olrun_cgroup_create (const struct olrun_cgroup_config *c, struct olrun_cgroup **ret, olrun_error_t *err);
/* The path olrun_cgroup_create() will give the cgroup, where it is known
 * before (cgroupfs on a host with cgroup v2), so the caller can record it
 * first; otherwise *ret is NULL. */
int olrun_cgroup_planned_path (const struct olrun_cgroup_config *c, char **ret, olrun_error_t *err);
/* Call once the container's first process is in the cgroup, before it
 * runs anything but olrun's code: attaches the device program.  The
 * systemd manager had to put olrun itself into the new scope (a scope
 * cannot be created empty); this moves olrun back out. */
int olrun_cgroup_spawned (struct olrun_cgroup *cg, olrun_error_t *err);
/* Re-open a cgroup recorded in a container's state. */
int olrun_cgroup_load (enum olrun_cgroup_manager_kind manager, const char *path, struct olrun_cgroup **ret,
                       olrun_error_t *err);
/* Kill every process in it (cgroup.kill), wait until it is empty, remove
 * it.  A cgroup that is already gone is fine. */
int olrun_cgroup_destroy (struct olrun_cgroup *cg, olrun_error_t *err);
/* Send sig to every process in the cgroup. */
int olrun_cgroup_kill (struct olrun_cgroup *cg, int sig, olrun_error_t *err);
/* Freeze (true) or thaw (false), and wait until cgroup.events agrees. */
int olrun_cgroup_freeze (struct olrun_cgroup *cg, bool frozen, olrun_error_t *err);
/* Is the cgroup frozen (cgroup.freeze / cgroup.events)? */
int olrun_cgroup_is_frozen (struct olrun_cgroup *cg, bool *ret, olrun_error_t *err);
/* Write new limits to the live cgroup (`update`).  memory.checkBeforeUpdate
 * refuses a limit below the current usage. */
int olrun_cgroup_update (struct olrun_cgroup *cg, const struct olrun_resources *r, olrun_error_t *err);
/* Every pid in the cgroup and its descendants, sorted. */
int olrun_cgroup_pids (struct olrun_cgroup *cg, pid_t **ret, size_t *ret_len, olrun_error_t *err);
void olrun_cgroup_free (struct olrun_cgroup *cg);
void olrun_cgroup_freep (struct olrun_cgroup **cg);
#define _cleanup_cgroup_ __attribute__ ((cleanup (olrun_cgroup_freep)))
const char *olrun_cgroup_manager_name (enum olrun_cgroup_manager_kind k);

/* The runtime-spec features' linux.cgroup object: what works on this host. */
struct olrun_cgroup_features
{
  bool v1, v2, systemd, systemd_user, rdma;
};
void olrun_cgroup_features (struct olrun_cgroup_features *ret);
int olrun_cgroup_manager_from_name (const char *name);

/* ---- stats (`events --stats`) ---------------------------------------------- */

struct olrun_cgroup_io_stat
{
  uint32_t major, minor;
  uint64_t rbytes, wbytes, rios, wios;
};

struct olrun_cgroup_hugetlb_stat
{
  char pagesize[16];
  uint64_t usage, max, failcnt;
};

/* Values from files the kernel lacks stay 0 and their has_ flag false.
 * "max" reads as UINT64_MAX. */
struct olrun_cgroup_stats
{
  bool has_cpu;
  uint64_t cpu_usage_ns, cpu_user_ns, cpu_system_ns;
  uint64_t cpu_periods, cpu_throttled_periods, cpu_throttled_ns;
  bool has_memory;
  uint64_t mem_usage, mem_limit, mem_max_usage, swap_usage, swap_limit;
  uint64_t oom, oom_kill, mem_failcnt; /* memory.events: oom, oom_kill, max */
  struct olrun_cgroup_kv *mem_raw;     /* memory.stat, as text */
  size_t n_mem_raw;
  bool has_pids;
  uint64_t pids_current, pids_limit;   /* limit 0 when "max", as runc reports it */
  struct olrun_cgroup_io_stat *io;
  size_t n_io;
  struct olrun_cgroup_hugetlb_stat *hugetlb;
  size_t n_hugetlb;
};

int olrun_cgroup_stats (struct olrun_cgroup *cg, struct olrun_cgroup_stats *ret, olrun_error_t *err);
void olrun_cgroup_stats_clear (struct olrun_cgroup_stats *s);

/* ---- helpers exposed for the tests ----------------------------------------- */

/* systemd's "slice:prefix:name" -> the slice ("system.slice") and the unit
 * ("prefix-name.scope", or name itself when it ends in ".slice"). */
int olrun_cgroup_systemd_parse_path (const char *cgroups_path, const char *id, bool rootless, char **ret_slice,
                                     char **ret_unit, olrun_error_t *err);
/* "a-b-c.slice" -> "/a.slice/a-b.slice/a-b-c.slice" ("-.slice" is "/"). */
int olrun_cgroup_systemd_expand_slice (const char *slice, char **ret, olrun_error_t *err);

#endif

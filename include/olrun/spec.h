/* The runtime-spec config (v1.3, Linux) as C data.  runtime/spec*.c build
 * it from config.json and check it before anything is created. */
#ifndef OLRUN_SPEC_H
#define OLRUN_SPEC_H

#include <stdbool.h>
#include <stdint.h>

#include "olrun/cgroup.h"
#include "olrun/error.h"
#include "olrun/json.h"
#include "olrun/mount.h"
#include "olrun/namespaces.h"
#include "olrun/seccomp.h"

/* Capability sets as bitmasks of CAP_* numbers. */
struct olrun_capsets
{
  uint64_t bounding, effective, permitted, inheritable, ambient;
};

struct olrun_rlimit
{
  int resource;         /* RLIMIT_* */
  uint64_t soft, hard;
};

/* process.scheduler: sched_setattr(2).  policy is a SCHED_* number. */
struct olrun_scheduler
{
  int policy;
  int nice;
  int priority;
  uint64_t flags;       /* SCHED_FLAG_* */
  uint64_t runtime, deadline, period;
};

/* process.ioPriority: ioprio_set(2). */
struct olrun_io_priority
{
  bool set;
  int klass;            /* IOPRIO_CLASS_* */
  int priority;         /* 0-7 */
};

/* linux.memoryPolicy: set_mempolicy(2). */
struct olrun_memory_policy
{
  int mode;             /* MPOL_*, with the MPOL_F_* mode flags or'ed in */
  unsigned long nodes[1024 / (8 * sizeof (unsigned long))];
  unsigned long maxnode; /* bits in `nodes` that set_mempolicy looks at (0: none given) */
};

struct olrun_process
{
  bool terminal;
  unsigned console_height, console_width;
  uint32_t uid, gid;
  uint32_t *additional_gids;
  size_t n_additional_gids;
  int umask;            /* -1: not set (0022 is applied, as runc does) */
  char **args;
  char **env;
  char *cwd;
  bool has_capabilities; /* process.capabilities present */
  struct olrun_capsets caps;
  struct olrun_rlimit *rlimits;
  size_t n_rlimits;
  bool no_new_privileges;
  char *apparmor_profile;
  char *selinux_label;
  bool has_oom_score_adj;
  int oom_score_adj;
  struct olrun_scheduler *scheduler;   /* NULL when not given */
  struct olrun_io_priority io_priority;
};

enum olrun_hook_kind
{
  OLRUN_HOOK_PRESTART,
  OLRUN_HOOK_CREATE_RUNTIME,
  OLRUN_HOOK_CREATE_CONTAINER,
  OLRUN_HOOK_START_CONTAINER,
  OLRUN_HOOK_POSTSTART,
  OLRUN_HOOK_POSTSTOP,
  OLRUN_HOOK_COUNT,
};

/* linux.memoryPolicy's mode and flag names ("MPOL_BIND", ...), in table
 * order; NULL past the end.  For `features`. */
const char *olrun_spec_mempolicy_mode_name (size_t i);
const char *olrun_spec_mempolicy_flag_name (size_t i);

/* "prestart", "createRuntime", ... as config.json's hooks spell them. */
const char *olrun_spec_hook_name (enum olrun_hook_kind k);

struct olrun_hook
{
  char *path;
  char **args;
  char **env;
  int timeout;          /* seconds, 0 for none */
};

struct olrun_hooks
{
  struct olrun_hook *v[OLRUN_HOOK_COUNT];
  size_t len[OLRUN_HOOK_COUNT];
};

struct olrun_sysctl
{
  char *key;
  char *value;
};

struct olrun_netdev
{
  char *host_name;      /* the interface on the host */
  char *name;           /* its name in the container (defaults to host_name) */
};

struct olrun_linux
{
  struct olrun_ns_config ns[OLRUN_NS_COUNT];
  struct olrun_idmaps uid_mappings, gid_mappings;
  struct olrun_device *devices;
  size_t n_devices;
  char *cgroups_path;
  struct olrun_resources *resources;
  const olrun_json_t *resources_json;  /* the raw object, kept for the state */
  struct olrun_sysctl *sysctl;
  size_t n_sysctl;
  struct olrun_seccomp *seccomp;
  const olrun_json_t *seccomp_json;    /* raw, for the BPF cache key */
  char *rootfs_propagation;
  char **masked_paths;
  char **readonly_paths;
  char *mount_label;
  bool has_time_offsets;
  int64_t monotonic_secs, boottime_secs;
  uint32_t monotonic_nanosecs, boottime_nanosecs;
  struct olrun_netdev *net_devices;
  size_t n_net_devices;
  bool has_personality;
  unsigned long personality;           /* PER_LINUX or PER_LINUX32 */
  struct olrun_memory_policy *memory_policy;
};

struct olrun_spec
{
  olrun_json_doc_t *doc;   /* owns the raw sections referenced below */
  char *oci_version;
  struct olrun_process *process;   /* NULL when the config has none */
  char *root_path;                 /* as written in the config */
  bool root_readonly;
  char *hostname;
  char *domainname;
  struct olrun_mount *mounts;
  size_t n_mounts;
  struct olrun_hooks hooks;
  const olrun_json_t *annotations; /* an object of strings, or NULL */
  struct olrun_linux linux;
};

/* Parse a config document.  Every error names the document, the JSON path
 * and the byte offset.  Takes ownership of doc. */
int olrun_spec_from_doc (olrun_json_doc_t *doc, struct olrun_spec **ret, olrun_error_t *err);
/* Read and parse `path` (relative to dirfd). */
int olrun_spec_load (int dirfd, const char *path, struct olrun_spec **ret, olrun_error_t *err);
void olrun_spec_free (struct olrun_spec *s);
void olrun_spec_freep (struct olrun_spec **s);
#define _cleanup_spec_ __attribute__ ((cleanup (olrun_spec_freep)))

/* Parse one runtime-spec `process` object (used by config.json and by
 * `exec --process`). */
int olrun_spec_parse_process (const struct olrun_jdec *d, const olrun_json_t *node,
                              const struct olrun_jpath *p, struct olrun_process **ret);
void olrun_process_free (struct olrun_process *p);

/* Sections parsed by their subsystem's own file. */
int olrun_spec_parse_resources (const struct olrun_jdec *d, const olrun_json_t *node,
                                const struct olrun_jpath *p, struct olrun_resources **ret);
int olrun_spec_parse_seccomp (const struct olrun_jdec *d, const olrun_json_t *node,
                              const struct olrun_jpath *p, struct olrun_seccomp **ret);
/* process.scheduler and process.ioPriority (runtime/spec_process.c). */
int olrun_spec_parse_process_sched (const struct olrun_jdec *d, const olrun_json_t *node,
                                    const struct olrun_jpath *p, struct olrun_process *ret);
/* linux.personality and linux.memoryPolicy (runtime/spec_process.c). */
int olrun_spec_parse_linux_process (const struct olrun_jdec *d, const olrun_json_t *lin,
                                    const struct olrun_jpath *p, struct olrun_linux *ret);
int olrun_spec_parse_capabilities (const struct olrun_jdec *d, const olrun_json_t *node,
                                   const struct olrun_jpath *p, struct olrun_capsets *ret);

/* Checks that need the whole config (namespaces vs. sysctl, user ns vs.
 * mappings, ...), run before anything is created. */
int olrun_spec_validate (const struct olrun_spec *s, olrun_error_t *err);

/* A container ID matches ^[A-Za-z0-9_+.-]{1,1024}$ and is not . or .. */
bool olrun_id_valid (const char *id);

#endif

/* Namespaces: the type table, joining by path, clone3 and user-namespace
 * id maps. */
#ifndef OLRUN_NAMESPACES_H
#define OLRUN_NAMESPACES_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "olrun/error.h"

/* The order is the order in which namespaces are joined: user first, so the
 * others are joined with the privileges of the container's user namespace;
 * mount last among the joined, so the paths of the others still resolve. */
enum olrun_ns_type
{
  OLRUN_NS_USER,
  OLRUN_NS_PID,
  OLRUN_NS_NET,
  OLRUN_NS_IPC,
  OLRUN_NS_UTS,
  OLRUN_NS_CGROUP,
  OLRUN_NS_TIME,
  OLRUN_NS_MOUNT,
  OLRUN_NS_COUNT,
};

/* One entry per type in a config's linux.namespaces. */
struct olrun_ns_config
{
  bool enabled;     /* the container has its own (new or joined) namespace of this type */
  char *path;       /* join this one instead of creating it */
};

struct olrun_idmap
{
  uint32_t container_id;
  uint32_t host_id;
  uint32_t size;
};

struct olrun_idmaps
{
  struct olrun_idmap *v;
  size_t len;
};

/* "pid" -> OLRUN_NS_PID; -1 for an unknown name. */
int olrun_ns_from_name (const char *name);
const char *olrun_ns_name (enum olrun_ns_type t);
/* The CLONE_NEW* flag of a type. */
int olrun_ns_clone_flag (enum olrun_ns_type t);
/* The name under /proc/PID/ns/ ("mnt" for mount). */
const char *olrun_ns_proc_name (enum olrun_ns_type t);

/* Open a namespace file and check that it is a namespace of type t
 * (NS_GET_NSTYPE), so a bogus path is refused before anything is created. */
int olrun_ns_open (enum olrun_ns_type t, const char *path, int *ret_fd, olrun_error_t *err);

/* Write uid_map and gid_map of `pid`.  Writes through /proc fds checked to
 * be procfs (CVE-2025-52881), directly when olrun may, otherwise through
 * newuidmap/newgidmap.  deny_setgroups writes "deny" to setgroups first,
 * which the kernel requires for an unprivileged gid map. */
int olrun_ns_write_idmaps (pid_t pid, const struct olrun_idmaps *uid, const struct olrun_idmaps *gid,
                           bool deny_setgroups, olrun_error_t *err);

/* A new user namespace with exactly these maps, held by the returned fd
 * (for MOUNT_ATTR_IDMAP); the process that made it is already gone. */
int olrun_ns_userns_with_maps (const struct olrun_idmaps *uid, const struct olrun_idmaps *gid, int *ret_fd,
                               olrun_error_t *err);

/* Move the host interface `host_name` into the network namespace of the
 * process pid (our unreaped child, so the pid is stable), renamed to `name` (rtnetlink, one RTM_NEWLINK). */
int olrun_netdev_move (const char *host_name, const char *name, pid_t pid, olrun_error_t *err);

/* Format a map in the kernel's uid_map format. */
char *olrun_idmaps_format (const struct olrun_idmaps *m);
void olrun_idmaps_free (struct olrun_idmaps *m);
/* Map a container id to the host (UINT32_MAX if unmapped). */
uint32_t olrun_idmaps_to_host (const struct olrun_idmaps *m, uint32_t id);

#endif

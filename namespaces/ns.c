/* The namespace type table and joining namespaces by path. */
#include <fcntl.h>
#include <linux/nsfs.h>
#include <sched.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>

#include "olrun/namespaces.h"
#include "olrun/syscalls.h"
#include "olrun/util.h"

static const struct
{
  const char *name;       /* in config.json */
  const char *proc_name;  /* under /proc/PID/ns */
  int flag;
} ns_table[OLRUN_NS_COUNT] = {
  [OLRUN_NS_USER] = { "user", "user", CLONE_NEWUSER },
  [OLRUN_NS_PID] = { "pid", "pid", CLONE_NEWPID },
  [OLRUN_NS_NET] = { "network", "net", CLONE_NEWNET },
  [OLRUN_NS_IPC] = { "ipc", "ipc", CLONE_NEWIPC },
  [OLRUN_NS_UTS] = { "uts", "uts", CLONE_NEWUTS },
  [OLRUN_NS_CGROUP] = { "cgroup", "cgroup", CLONE_NEWCGROUP },
  [OLRUN_NS_TIME] = { "time", "time", CLONE_NEWTIME },
  [OLRUN_NS_MOUNT] = { "mount", "mnt", CLONE_NEWNS },
};

int
olrun_ns_from_name (const char *name)
{
  for (int t = 0; t < OLRUN_NS_COUNT; t++)
    if (strcmp (name, ns_table[t].name) == 0)
      return t;
  return -1;
}

const char *
olrun_ns_name (enum olrun_ns_type t)
{
  return ns_table[t].name;
}

const char *
olrun_ns_proc_name (enum olrun_ns_type t)
{
  return ns_table[t].proc_name;
}

int
olrun_ns_clone_flag (enum olrun_ns_type t)
{
  return ns_table[t].flag;
}

int
olrun_ns_open (enum olrun_ns_type t, const char *path, int *ret_fd, olrun_error_t *err)
{
  _cleanup_close_ int fd = open (path, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return olrun_error_set (err, OLRUN_E_INVALID, errno, "open %s namespace `%s`", ns_table[t].name, path);
  /* NS_GET_NSTYPE tells a namespace file from any other file, and its
   * type: joining a network namespace given as the "ipc" one would
   * otherwise fail late, or not at all. */
  int type = ioctl (fd, NS_GET_NSTYPE);
  if (type < 0)
    return olrun_error_set (err, OLRUN_E_INVALID, 0, "`%s` is not a namespace", path);
  if (type != ns_table[t].flag)
    return olrun_error_set (err, OLRUN_E_INVALID, 0, "`%s` is not a %s namespace", path, ns_table[t].name);
  *ret_fd = TAKE_FD (fd);
  return 0;
}

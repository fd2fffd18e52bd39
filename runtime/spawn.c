/* Starting the container's first process with clone3.
 *
 * The fast path (no namespace joined by path, except pid) is one clone3
 * with every CLONE_NEW* flag, CLONE_PIDFD and CLONE_INTO_CGROUP: the child
 * is born in its namespaces and its cgroup, with no cgroup.procs write
 * (which waits in synchronize_rcu on v1, 5-12 ms here).
 *
 * The slow path exists because joining a namespace needs privileges over
 * its owner: a child already in a new user namespace could not setns into
 * the host's network namespace.  So the child starts in no new namespace,
 * joins the given ones, creates its user namespace, unshares the rest, and
 * forks the container's init with CLONE_PARENT (so the init is still our
 * child, and a new pid namespace is owned by the container's userns). */
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <string.h>
#include <sys/wait.h>

#include "olrun/namespaces.h"
#include "olrun/syscalls.h"
#include "olrun/util.h"
#include "runtime/create.h"
#include "runtime/internal.h"

static uint64_t
fast_path_flags (const struct olrun_container *c)
{
  uint64_t flags = 0;
  const struct olrun_ns_config *ns = c->spec->linux.ns;
  for (int t = 0; t < OLRUN_NS_COUNT; t++)
    if (ns[t].enabled && ns[t].path == NULL)
      flags |= (uint64_t) olrun_ns_clone_flag (t);
  /* Time offsets can only be written before any process enters the time
   * namespace, so the child unshares it itself (init.c). */
  if (c->spec->linux.has_time_offsets)
    flags &= ~(uint64_t) CLONE_NEWTIME;
  return flags;
}

/* Enter a joined pid namespace for our children only, remembering ours. */
static int
enter_pid_ns (struct olrun_container *c, int *ret_saved, olrun_error_t *err)
{
  *ret_saved = -1;
  if (c->ns_fds[OLRUN_NS_PID] < 0 || c->slow_path)
    return 0;
  *ret_saved = open ("/proc/self/ns/pid_for_children", O_RDONLY | O_CLOEXEC);
  if (*ret_saved < 0)
    return olrun_fail (err, errno, "open /proc/self/ns/pid_for_children");
  if (setns (c->ns_fds[OLRUN_NS_PID], CLONE_NEWPID) < 0)
    return olrun_fail (err, errno, "join pid namespace `%s`", c->spec->linux.ns[OLRUN_NS_PID].path);
  return 0;
}

int
olrun_create_spawn (struct olrun_container *c, olrun_error_t *err)
{
  _cleanup_close_ int saved_pidns = -1;
  if (enter_pid_ns (c, &saved_pidns, err) < 0)
    return -1;
  int pidfd = -1;
  struct clone_args args = {
    .flags = CLONE_PIDFD | (c->slow_path ? 0 : fast_path_flags (c)),
    .pidfd = (uint64_t) (uintptr_t) &pidfd,
    .exit_signal = SIGCHLD,
  };
  if (c->cgroup && c->cgroup->dirfd >= 0)
    {
      args.flags |= CLONE_INTO_CGROUP;
      args.cgroup = (uint64_t) c->cgroup->dirfd;
    }
  long pid = olrun_clone3 (&args, sizeof args);
  if (pid == 0)
    olrun_init_main (c);
  int clone_errno = errno;
  /* Back to our own pid namespace, so hooks we run later are not born in
   * the container's. */
  if (saved_pidns >= 0 && setns (saved_pidns, CLONE_NEWPID) < 0)
    return olrun_fail (err, errno, "restore pid namespace");
  if (pid < 0)
    {
      if (clone_errno == ENOSYS)
        return olrun_error_set (err, OLRUN_E_UNSUPPORTED, 0, "clone3 is not available (Linux 5.7 or later is needed)");
      return olrun_fail (err, clone_errno, "clone3 the container process");
    }
  c->init_pid = (pid_t) pid;
  c->init_pidfd = pidfd;
  return 0;
}

int
olrun_create_take_init (struct olrun_container *c, olrun_error_t *err)
{
  int init_pid = 0;
  if (olrun_sync_recv (c->sync_parent, SYNC_INIT_PID, &init_pid, NULL, err) < 0)
    return -1;
  if (init_pid == c->init_pid)
    return 0; /* no pid namespace: the first child is the init */
  /* The intermediate has done its job and exits; reap it. */
  int status;
  while (waitpid (c->init_pid, &status, 0) < 0 && errno == EINTR)
    ;
  c->init_pidfd = safe_close (c->init_pidfd);
  c->init_pid = init_pid;
  /* The init is our child (CLONE_PARENT) and not reaped, so its pid cannot
   * have been reused: pidfd_open is race-free here. */
  c->init_pidfd = olrun_pidfd_open (c->init_pid, 0);
  if (c->init_pidfd < 0)
    return olrun_fail (err, errno, "pidfd_open %d", init_pid);
  return 0;
}

bool
olrun_create_hooks_sync (const struct olrun_container *c)
{
  const size_t *n = c->spec->hooks.len;
  return n[OLRUN_HOOK_PRESTART] || n[OLRUN_HOOK_CREATE_RUNTIME] || n[OLRUN_HOOK_CREATE_CONTAINER]
         || n[OLRUN_HOOK_START_CONTAINER] || c->spec->linux.n_net_devices > 0;
}

int
olrun_create_net_devices (struct olrun_container *c, olrun_error_t *err)
{
  const struct olrun_linux *l = &c->spec->linux;
  for (size_t i = 0; i < l->n_net_devices; i++)
    if (olrun_netdev_move (l->net_devices[i].host_name, l->net_devices[i].name, c->init_pid, err) < 0)
      return olrun_error_wrap (err, "linux.netDevices `%s`", l->net_devices[i].host_name);
  return 0;
}

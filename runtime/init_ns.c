/* The slow path of namespace setup: some namespace is joined by path.
 *
 * Order matters.  The user namespace is joined first, so the others are
 * joined with the privileges of the container's user namespace.  The
 * mount namespace is joined last, so the other paths still resolve.  A
 * new user namespace is created only after the joins (from inside it we
 * would lack the privileges over the host's namespaces), and the other
 * new ones after it, so it owns them: /proc can only be mounted by the
 * owner of the pid namespace. */
#include <fcntl.h>
#include <sched.h>
#include <sys/prctl.h>

#include "olrun/namespaces.h"
#include "olrun/syscalls.h"
#include "olrun/util.h"
#include "runtime/internal.h"

static int
join (struct olrun_container *c, enum olrun_ns_type t, olrun_error_t *err)
{
  if (c->ns_fds[t] < 0)
    return 0;
  if (setns (c->ns_fds[t], olrun_ns_clone_flag (t)) < 0)
    return olrun_fail (err, errno, "join %s namespace `%s`", olrun_ns_name (t), c->spec->linux.ns[t].path);
  c->ns_fds[t] = safe_close (c->ns_fds[t]);
  /* setns keeps our ids, and host root is not mapped in a container's
   * user namespace: as the overflow uid, every file we created would fail
   * (EOVERFLOW).  Become its root, as runc's nsexec does. */
  if (t == OLRUN_NS_USER && (setresgid (0, 0, 0) < 0 || setresuid (0, 0, 0) < 0))
    return olrun_fail (err, errno, "become root in the joined user namespace (is 0 mapped?)");
  return 0;
}

static int
new_user_namespace (struct olrun_container *c, olrun_error_t *err)
{
  if (unshare (CLONE_NEWUSER) < 0)
    return olrun_fail (err, errno, "unshare the user namespace");
  return olrun_init_userns_handshake (c, err);
}

/* Flags for the namespaces still to create; a time namespace with offsets
 * is made later by the init itself. */
static int
unshare_flags (const struct olrun_container *c)
{
  int flags = 0;
  for (int t = 0; t < OLRUN_NS_COUNT; t++)
    if (t != OLRUN_NS_USER && c->spec->linux.ns[t].enabled && c->spec->linux.ns[t].path == NULL)
      flags |= olrun_ns_clone_flag (t);
  if (c->spec->linux.has_time_offsets)
    flags &= ~CLONE_NEWTIME;
  return flags;
}

int
olrun_fork_into_pidns (int sync_sock, olrun_error_t *err)
{
  /* The child shares our end of the sync socket: it must not speak before
   * we have told olrun its pid, so it waits on this pipe until we have. */
  int gate[2];
  if (pipe2 (gate, O_CLOEXEC) < 0)
    return olrun_fail (err, errno, "pipe");
  /* clone3 refuses an exit_signal with CLONE_PARENT: the child takes
   * ours (SIGCHLD), which now goes to olrun. */
  struct clone_args args = { .flags = CLONE_PARENT };
  long pid = olrun_clone3 (&args, sizeof args);
  if (pid < 0)
    return olrun_fail (err, errno, "fork into the container's pid namespace");
  if (pid == 0)
    {
      /* Our parent is olrun now; die with it until committed.  A
       * getppid() check is useless across a pid namespace (it reads 0),
       * so a dead parent shows up as EOF on the sync socket. */
      prctl (PR_SET_PDEATHSIG, SIGKILL);
      char byte;
      safe_close (gate[1]);
      ssize_t n = olrun_read_all (gate[0], &byte, 1);
      safe_close (gate[0]);
      return n == 1 ? 0 : olrun_fail (err, EPIPE, "the intermediate process died");
    }
  safe_close (gate[0]);
  int rc = olrun_sync_send (sync_sock, SYNC_INIT_PID, (int) pid, -1, err);
  if (rc == 0 && olrun_write_all (gate[1], "", 1) < 0)
    rc = olrun_fail (err, errno, "release the forked process");
  safe_close (gate[1]);
  if (rc < 0)
    return -1;
  return 1;
}

int
olrun_init_join_namespaces (struct olrun_container *c, olrun_error_t *err)
{
  static const enum olrun_ns_type order[] = {
    OLRUN_NS_USER, OLRUN_NS_PID, OLRUN_NS_NET, OLRUN_NS_IPC, OLRUN_NS_UTS, OLRUN_NS_CGROUP, OLRUN_NS_TIME,
    OLRUN_NS_MOUNT,
  };
  for (size_t i = 0; i < ARRAY_SIZE (order); i++)
    if (join (c, order[i], err) < 0)
      return -1;
  if (c->new_userns && new_user_namespace (c, err) < 0)
    return -1;
  int flags = unshare_flags (c);
  if (flags && unshare (flags) < 0)
    return olrun_fail (err, errno, "unshare namespaces (flags %#x)", flags);
  /* A new or joined pid namespace applies to our children only: the init
   * must be forked.  CLONE_PARENT makes it olrun's child, not ours. */
  bool fork_init = c->spec->linux.ns[OLRUN_NS_PID].enabled;
  if (!fork_init)
    return olrun_sync_send (c->sync_child, SYNC_INIT_PID, getpid (), -1, err);
  return olrun_fork_into_pidns (c->sync_child, err);
}

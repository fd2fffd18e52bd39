/* The exec'd process between clone3 and execve.
 *
 * It was born in the container's pid namespace (the parent entered it for
 * its children) and cgroup (CLONE_INTO_CGROUP), non-dumpable and with its
 * exe link on a read-only mount (both inherited from the parent's mm), so
 * no process of the container can reach a writable olrun binary through
 * it (CVE-2019-5736).  Here it joins the other namespaces, takes the
 * init's root, sets up its terminal and then goes through the same last
 * stage as the container's init (process.c).
 *
 * Rootless, the parent cannot enter the pid namespace: this child joins
 * it with the rest (in the container's user namespace it may), guards the
 * exe link itself, and forks the process into it (an intermediate, as the
 * slow path of create has). */
#include <sched.h>
#include <signal.h>
#include <sys/prctl.h>

#include "olrun/syscalls.h"
#include "olrun/util.h"
#include "runtime/exec.h"

static int
setns_failed (int flags, olrun_error_t *err)
{
  if (errno == EINVAL || errno == EBADF)
    return olrun_error_set (err, OLRUN_E_UNSUPPORTED, errno,
                            "join the container's namespaces through a pidfd (Linux 5.8 or later is needed)");
  return olrun_fail (err, errno, "join the container's namespaces (%#x)", flags);
}

/* Unprivileged, the parent could not clone the olrun binary's mount for
 * the exe guard: do it as root of the container's user namespace, in a
 * mount namespace of our own (a copy of the host's, where the binary's
 * path still means the binary), before any process of the container can
 * see us.  Returns the namespaces still to join. */
static int
guard_exe_in_userns (struct olrun_exec *e, olrun_error_t *err)
{
  int flags = e->ns_flags;
  if (flags & CLONE_NEWUSER)
    {
      if (setns (e->init_pidfd, CLONE_NEWUSER) < 0)
        return setns_failed (CLONE_NEWUSER, err);
      if (setresgid (0, 0, 0) < 0 || setresuid (0, 0, 0) < 0)
        return olrun_fail (err, errno, "become root in the container's user namespace");
      flags &= ~CLONE_NEWUSER;
    }
  if (unshare (CLONE_NEWNS) < 0)
    return olrun_fail (err, errno, "a mount namespace to guard the olrun binary in");
  if (olrun_process_protect_exe (&e->exe_guard, err) < 0)
    return -1;
  return flags;
}

/* Every namespace at once through the init's pidfd (Linux 5.8): the
 * kernel joins them in the right order (user first) and atomically, and
 * none of them is looked up by a path the container could swap. */
static int
join_namespaces (struct olrun_exec *e, olrun_error_t *err)
{
  int flags = e->ns_flags;
  if (e->exe_guard.fd < 0 && (flags = guard_exe_in_userns (e, err)) < 0)
    return -1;
  if (flags == 0)
    return 0;
  if (setns (e->init_pidfd, flags) < 0)
    return setns_failed (flags, err);
  /* In the container's user namespace we are whoever our host uid maps
   * to, usually nobody: become its root, as the init did. */
  if ((flags & CLONE_NEWUSER) && (setresgid (0, 0, 0) < 0 || setresuid (0, 0, 0) < 0))
    return olrun_fail (err, errno, "become root in the container's user namespace");
  return 0;
}

/* Joining the mount namespace put us at its root, which is the container's
 * only if the init used pivot_root.  With --no-pivot the init chrooted
 * into a rootfs mounted over the namespace's root, so the init's own root
 * (opened from the host before joining) is the one to take, always. */
static int
enter_root (struct olrun_exec *e, olrun_error_t *err)
{
  if (fchdir (e->root_fd) < 0 || chroot (".") < 0 || chdir ("/") < 0)
    return olrun_fail (err, errno, "enter the container's root");
  e->root_fd = safe_close (e->root_fd);
  return 0;
}

static int
setup_terminal (struct olrun_exec *e, olrun_error_t *err)
{
  /* The pty becomes our controlling terminal: that takes a new session. */
  if (setsid () < 0)
    return olrun_fail (err, errno, "setsid");
  _cleanup_close_ int master = -1;
  if (olrun_terminal_setup (e->process, false, &master, err) < 0)
    return -1;
  return olrun_sync_send (e->sync_child, SYNC_PTY, 0, master, err);
}

/* Returns 1 in an intermediate that has handed over to the process. */
static int
child_stages (struct olrun_exec *e, olrun_error_t *err)
{
  e->sync_parent = safe_close (e->sync_parent);
  if (join_namespaces (e, err) < 0)
    return -1;
  /* The pid namespace joined above is our children's only. */
  if (e->intermediate)
    {
      int r = olrun_fork_into_pidns (e->sync_child, err);
      if (r != 0)
        return r;
    }
  if (enter_root (e, err) < 0)
    return -1;
  /* In the container's root, before any path the caller or the config
   * names is resolved: nothing of ours but the sync socket stays, so
   * /proc/self/fd/N can name no host directory (the state dir, a caller's
   * leaked fd) for --cwd or args[0] (CVE-2024-21626). */
  olrun_close_fds_except (3 + e->opts->preserve_fds, &e->sync_child, 1);
  if (e->process->terminal && setup_terminal (e, err) < 0)
    return -1;
  _cleanup_free_ char *exe = NULL;
  if (olrun_process_chdir (e->process, err) < 0 || olrun_process_resolve (e->process, &exe, err) < 0)
    return -1;
  /* The container's personality and memory policy, as its init has them. */
  if (olrun_process_apply_linux (&e->spec->linux, err) < 0)
    return -1;
  /* The process outlives an `exec -d`; only the setup dies with olrun. */
  if (prctl (PR_SET_PDEATHSIG, 0) < 0)
    return olrun_fail (err, errno, "prctl PDEATHSIG");
  return olrun_process_exec (e->process, exe, e->opts->preserve_fds, &e->sync_child, 1, e->seccomp, e->sync_child,
                             err);
}

_Noreturn void
olrun_exec_child (struct olrun_exec *e)
{
  olrun_error_t err = NULL;
  /* Die with olrun while setting up.  Across the pid namespace getppid()
   * reads 0, so a parent that died before this shows up as EOF on the
   * sync socket, or as nobody waiting for the process. */
  prctl (PR_SET_PDEATHSIG, SIGKILL);
  /* A foreground exec blocks the signals it forwards; the process must
   * start with none blocked. */
  sigset_t none;
  sigemptyset (&none);
  sigprocmask (SIG_SETMASK, &none, NULL);
  if (child_stages (e, &err) > 0)
    _exit (0);
  olrun_sync_send_error (e->sync_child, err);
  _exit (err->kind == OLRUN_E_EXEC_NOENT ? 127 : err->kind == OLRUN_E_EXEC_FAILED ? 126 : 1);
}

/* exec: one more process in a running (or created) container, the parent's
 * side.  The child's side is exec_child.c, the process it becomes is built
 * by exec_process.c.
 *
 * The cost that matters is the time to start the process, so everything is
 * done once and in the parent: the state and the saved config are read,
 * the seccomp filter comes from the cache that create filled, and the
 * process is born with one clone3 directly in the container's pid
 * namespace and cgroup (CLONE_INTO_CGROUP; no cgroup.procs write, no
 * second fork).  The child then joins the other namespaces with a single
 * setns on the init's pidfd.  olrun is never executed again. */
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "olrun/cgroup.h"
#include "olrun/namespaces.h"
#include "olrun/seccomp.h"
#include "olrun/spec.h"
#include "olrun/syscalls.h"
#include "olrun/util.h"
#include "runtime/exec.h"

static void
exec_free (struct olrun_exec *e)
{
  if (e == NULL)
    return;
  olrun_state_free (e->state);
  olrun_spec_free (e->spec);
  olrun_process_free (e->process);
  olrun_seccomp_program_free (e->seccomp);
  olrun_cgroup_free (e->cgroup);
  safe_close (e->state_dirfd);
  safe_close (e->init_pidfd);
  safe_close (e->proc_fd);
  safe_close (e->root_fd);
  safe_close (e->sync_parent);
  safe_close (e->sync_child);
  safe_close (e->console_socket);
  safe_close (e->pty_master);
  safe_close (e->pidfd);
  olrun_exe_guard_clear (&e->exe_guard);
  free (e);
}

static void
exec_freep (struct olrun_exec **e)
{
  exec_free (*e);
  *e = NULL;
}
#define _cleanup_exec_ __attribute__ ((cleanup (exec_freep)))

/* The states runc refuses, with runc's words.  A created container is
 * fine: its namespaces and root are complete, only its process waits. */
static int
check_status (struct olrun_exec *e, olrun_error_t *err)
{
  enum olrun_status st;
  if (olrun_container_status (e->state, &st, err) < 0)
    return -1;
  if (st == OLRUN_STATUS_STOPPED)
    return olrun_error_set (err, OLRUN_E_BAD_STATE, 0, "cannot exec in a stopped container");
  if (st == OLRUN_STATUS_CREATING)
    return olrun_error_set (err, OLRUN_E_BAD_STATE, 0, "cannot exec in a container that is being created");
  if (st == OLRUN_STATUS_PAUSED && !e->opts->ignore_paused)
    return olrun_error_set (err, OLRUN_E_BAD_STATE, 0,
                            "cannot exec in a paused container (use --ignore-paused to override)");
  return 0;
}

/* Read the state under a shared lock (a concurrent delete, or a create or
 * start still in progress, waits or is waited for; other execs are not),
 * and the config as saved at create. */
static int
load_container (const struct olrun_context *ctx, struct olrun_exec *e, olrun_error_t *err)
{
  const char *id = e->opts->id;
  if (olrun_state_dir_open (ctx->root, id, false, &e->state_dirfd, err) < 0)
    return -1;
  if (flock (e->state_dirfd, LOCK_SH) < 0)
    return olrun_fail (err, errno, "lock state of `%s`", id);
  if (olrun_state_read (e->state_dirfd, id, &e->state, err) < 0 || check_status (e, err) < 0)
    return -1;
  if (olrun_state_pidfd (e->state, &e->init_pidfd, err) < 0)
    return -1;
  if (e->init_pidfd < 0)
    return olrun_error_set (err, OLRUN_E_BAD_STATE, 0, "cannot exec in a stopped container");
  if (olrun_spec_load (e->state_dirfd, "config.json", &e->spec, err) < 0)
    return olrun_error_wrap (err, "the config of `%s`", id);
  return 0;
}

/* /proc/<init> and the init's root, and which of its namespaces are not
 * ours.  The pid was checked against the start time when the pidfd was
 * opened; a pidfd still alive after /proc/<pid> is opened proves that
 * directory is the init's and not a reused pid's. */
static int
open_init (struct olrun_exec *e, olrun_error_t *err)
{
  char path[32];
  snprintf (path, sizeof path, "/proc/%d", (int) e->state->pid);
  e->proc_fd = open (path, O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (e->proc_fd < 0 || olrun_pidfd_send_signal (e->init_pidfd, 0, NULL, 0) < 0)
    return olrun_error_set (err, OLRUN_E_BAD_STATE, 0, "cannot exec in a stopped container");
  e->root_fd = openat (e->proc_fd, "root", O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (e->root_fd < 0)
    return olrun_fail (err, errno, "open the root of the container's init (%s/root)", path);
  for (int t = 0; t < OLRUN_NS_COUNT; t++)
    {
      _cleanup_free_ char *ns = xasprintf ("ns/%s", olrun_ns_proc_name (t));
      _cleanup_free_ char *self = xasprintf ("/proc/self/ns/%s", olrun_ns_proc_name (t));
      struct stat theirs, ours;
      if (fstatat (e->proc_fd, ns, &theirs, 0) < 0)
        {
          /* A kernel without this namespace type (time before 5.6). */
          if (errno == ENOENT)
            continue;
          return olrun_fail (err, errno, "%s/%s", path, ns);
        }
      if (stat (self, &ours) < 0 || theirs.st_ino != ours.st_ino || theirs.st_dev != ours.st_dev)
        e->ns_flags |= olrun_ns_clone_flag (t);
    }
  return 0;
}

static int
prepare_seccomp (const struct olrun_context *ctx, struct olrun_exec *e, olrun_error_t *err)
{
  const struct olrun_linux *l = &e->spec->linux;
  if (l->seccomp == NULL)
    return 0;
  /* The same text as at create, so the BPF create compiled is reused. */
  _cleanup_free_ char *cache = xasprintf ("%s/.seccomp-cache", ctx->root);
  const char *text = olrun_json_doc_text (e->spec->doc) + l->seccomp_json->offset;
  return olrun_seccomp_prepare (l->seccomp, text, l->seccomp_json->end - l->seccomp_json->offset, cache, &e->seccomp,
                                err);
}

static int
load_cgroup (struct olrun_exec *e, olrun_error_t *err)
{
  const struct olrun_state *s = e->state;
  int kind = s->cgroup_manager ? olrun_cgroup_manager_from_name (s->cgroup_manager) : OLRUN_CGROUP_DISABLED;
  return olrun_cgroup_load (kind < 0 ? OLRUN_CGROUP_DISABLED : kind, s->cgroup_path, &e->cgroup, err);
}

/* The intermediate forked the process into the pid namespace and exits:
 * reap it and take the process, our child too (CLONE_PARENT), and not
 * reaped, so its pid cannot have been reused before pidfd_open. */
static int
take_process (struct olrun_exec *e, olrun_error_t *err)
{
  int pid = 0;
  int rc = olrun_sync_recv (e->sync_parent, SYNC_INIT_PID, &pid, NULL, err);
  while (waitpid (e->pid, NULL, 0) < 0 && errno == EINTR)
    ;
  e->pid = 0;
  e->pidfd = safe_close (e->pidfd);
  if (rc < 0)
    return -1;
  e->pid = pid;
  e->pidfd = olrun_pidfd_open (pid, 0);
  if (e->pidfd < 0)
    return olrun_fail (err, errno, "pidfd_open %d", pid);
  return 0;
}

/* clone3 into the container's cgroup, with the parent standing in the
 * container's pid namespace for its children, so the child is born inside
 * both and no second fork is needed. */
static int
spawn (struct olrun_exec *e, olrun_error_t *err)
{
  int fds[2];
  if (olrun_sync_pair (fds, err) < 0)
    return -1;
  e->sync_parent = fds[0];
  e->sync_child = fds[1];
  _cleanup_close_ int saved_pidns = -1;
  if (e->ns_flags & CLONE_NEWPID)
    {
      saved_pidns = open ("/proc/self/ns/pid_for_children", O_RDONLY | O_CLOEXEC);
      if (saved_pidns < 0)
        return olrun_fail (err, errno, "open /proc/self/ns/pid_for_children");
      /* Without CAP_SYS_ADMIN (rootless) only a process in the container's
       * user namespace may enter its pid namespace: the child does, and
       * forks the process there. */
      int r = setns (e->init_pidfd, CLONE_NEWPID);
      if (r < 0 && errno != EPERM)
        return olrun_fail (err, errno, "enter the container's pid namespace");
      e->intermediate = r < 0;
      if (e->intermediate)
        saved_pidns = safe_close (saved_pidns);
    }
  /* Both are inherited by the child's mm, so it is born with them:
   * non-dumpable, and its /proc/PID/exe the olrun binary through a
   * read-only mount (CVE-2019-5736).  It is visible to the container's
   * processes from its first instant, in their pid namespace.  An
   * unprivileged olrun cannot clone the binary's mount: the child does it
   * in the container's user namespace, before it forks into the pid
   * namespace (exec_child.c). */
  prctl (PR_SET_DUMPABLE, 0, 0, 0, 0);
  if (olrun_exe_guard_prepare (&e->exe_guard, err) < 0
      || (e->exe_guard.fd >= 0 && olrun_process_protect_exe (&e->exe_guard, err) < 0))
    return -1;
  struct clone_args args = {
    .flags = CLONE_PIDFD,
    .pidfd = (uint64_t) (uintptr_t) &e->pidfd,
    .exit_signal = SIGCHLD,
  };
  if (e->cgroup->dirfd >= 0)
    {
      args.flags |= CLONE_INTO_CGROUP;
      args.cgroup = (uint64_t) e->cgroup->dirfd;
    }
  if (!e->intermediate)
    e->ns_flags &= ~CLONE_NEWPID;
  long pid = olrun_clone3 (&args, sizeof args);
  if (pid == 0)
    olrun_exec_child (e);
  int clone_errno = errno;
  if (saved_pidns >= 0 && setns (saved_pidns, CLONE_NEWPID) < 0)
    {
      if (pid > 0)
        e->pid = (pid_t) pid; /* the caller kills it */
      return olrun_fail (err, errno, "restore our pid namespace");
    }
  if (pid < 0)
    return olrun_fail (err, clone_errno, "clone3 the process into cgroup `%s`",
                       e->cgroup->path ? e->cgroup->path : "(none)");
  e->pid = (pid_t) pid;
  e->sync_child = safe_close (e->sync_child);
  return e->intermediate ? take_process (e, err) : 0;
}

/* Until EOF (the process exec'd) or its error: pass the pty and a seccomp
 * notify listener on as they come. */
static int
handshake (struct olrun_exec *e, olrun_error_t *err)
{
  for (;;)
    {
      int type = 0, fd = -1;
      if (olrun_sync_recv_any (e->sync_parent, &type, NULL, &fd, err) < 0)
        return -1;
      _cleanup_close_ int owned = fd;
      if (type == 0)
        return 0;
      if (type == SYNC_PTY && owned >= 0)
        {
          if (e->console_socket >= 0 && olrun_terminal_send (e->console_socket, owned, err) < 0)
            return -1;
          if (e->console_socket < 0)
            e->pty_master = TAKE_FD (owned);
        }
      else if (type == SYNC_SECCOMP_FD && owned >= 0)
        {
          _cleanup_free_ char *json = olrun_state_json (e->state, "running", false);
          if (olrun_seccomp_send_listener (e->spec->linux.seccomp, owned, e->pid, json, err) < 0)
            return -1;
        }
    }
}

static void
kill_child (struct olrun_exec *e)
{
  if (e->pid <= 0)
    return;
  kill (e->pid, SIGKILL);
  while (waitpid (e->pid, NULL, 0) < 0 && errno == EINTR)
    ;
  e->pid = 0;
}

static int
prepare (const struct olrun_context *ctx, struct olrun_exec *e, olrun_error_t *err)
{
  if (load_container (ctx, e, err) < 0 || open_init (e, err) < 0 || olrun_exec_build_process (e, err) < 0
      || prepare_seccomp (ctx, e, err) < 0 || load_cgroup (e, err) < 0)
    return -1;
  if (e->opts->console_socket
      && olrun_console_socket_connect (e->opts->console_socket, &e->console_socket, err) < 0)
    return -1;
  return 0;
}

static int
start (struct olrun_exec *e, olrun_error_t *err)
{
  if (spawn (e, err) < 0)
    return -1;
  /* The process is in the cgroup now: a delete kills it with the rest.
   * Holding the lock longer would deadlock with `resume` when the
   * container is paused (--ignore-paused): the child is frozen before it
   * can exec, and resume waits for the lock. */
  flock (e->state_dirfd, LOCK_UN);
  if (handshake (e, err) < 0)
    return -1;
  if (e->opts->pid_file && olrun_pid_file_write (e->opts->pid_file, e->pid, err) < 0)
    return -1;
  return 0;
}

int
olrun_container_exec (const struct olrun_context *ctx, const struct olrun_exec_opts *o, int *ret_status,
                      olrun_error_t *err)
{
  _cleanup_exec_ struct olrun_exec *e = xzalloc (sizeof *e);
  e->opts = o;
  e->state_dirfd = e->init_pidfd = e->proc_fd = e->root_fd = -1;
  e->sync_parent = e->sync_child = e->console_socket = e->pty_master = e->pidfd = -1;
  e->exe_guard.fd = e->exe_guard.tree = -1;
  if (prepare (ctx, e, err) < 0)
    return -1;
  sigset_t old;
  _cleanup_close_ int sfd = o->detach ? -1 : olrun_signals_forward_fd (&old, err);
  if (!o->detach && sfd < 0)
    return -1;
  int rc = start (e, err);
  if (rc < 0)
    kill_child (e);
  if (rc == 0 && o->detach)
    *ret_status = 0;
  else if (rc == 0)
    {
      struct olrun_relay r = { .notify = -1 };
      olrun_relay_begin (&r, e->pty_master);
      rc = olrun_relay_wait (&r, sfd, e->pid, e->pidfd, ret_status, err);
      olrun_relay_end (&r);
    }
  if (!o->detach)
    sigprocmask (SIG_SETMASK, &old, NULL);
  return rc;
}

/* The container's setup, in the child of clone3, up to "created" and then
 * on to the user's process when start arrives.
 *
 * Every step reports failure the same way: the error travels to the parent
 * over the sync socket (SYNC_ERROR) and the child exits.  The parent's
 * rollback then removes what was made. */
#include <fcntl.h>
#include <linux/keyctl.h>
#include <linux/magic.h>
#include <sched.h>
#include <signal.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/vfs.h>

#include "olrun/log.h"
#include "olrun/mount.h"
#include "olrun/namespaces.h"
#include "olrun/seccomp.h"
#include "olrun/syscalls.h"
#include "olrun/util.h"
#include "runtime/internal.h"

/* The inode number of every procfs root (fs/proc/root.c). */
#define PROC_ROOT_INO 1

/* Become root of the new user namespace once the parent has written the
 * maps: until then we are the overflow uid, and files we create would be
 * owned by nobody. */
int
olrun_init_userns_handshake (struct olrun_container *c, olrun_error_t *err)
{
  /* A non-dumpable process's /proc files belong to root, so an
   * unprivileged parent could not write our maps directly: dumpable for
   * that moment only, while no process of the container exists yet. */
  if (c->rootless && prctl (PR_SET_DUMPABLE, 1, 0, 0, 0) < 0)
    return olrun_fail (err, errno, "prctl DUMPABLE");
  if (olrun_sync_send (c->sync_child, SYNC_USERNS_READY, 0, -1, err) < 0
      || olrun_sync_recv (c->sync_child, SYNC_USERNS_DONE, NULL, NULL, err) < 0)
    return -1;
  if (prctl (PR_SET_DUMPABLE, 0, 0, 0, 0) < 0)
    return olrun_fail (err, errno, "prctl DUMPABLE");
  /* A map without 0 (the launcher's rootless mode, for a user without
   * subordinate ids, maps only the user's own id): we keep our ids, and
   * still hold every capability in the namespace we were born with, until
   * the process's own credentials are set before execve.  (EINVAL: the id
   * is not mapped.) */
  if ((setresgid (0, 0, 0) < 0 && errno != EINVAL) || (setresuid (0, 0, 0) < 0 && errno != EINVAL))
    return olrun_fail (err, errno, "become root in the user namespace");
  return 0;
}

/* Open a file under /proc for writing and check it is procfs, so a write
 * meant for the kernel cannot be redirected (CVE-2025-52881). */
static int
open_proc_write (int dirfd, const char *path, olrun_error_t *err)
{
  /* "self" is an ordinary symlink within /proc, so symlinks are allowed,
   * but only beneath /proc, and no magic link (/proc/PID/fd/N...).  No
   * mount may be crossed either: a procfs file bind-mounted over the one
   * we mean (another process's, a host-wide sysctl) is procfs too, and
   * fstatfs alone would let the write through (CVE-2025-52881). */
  struct open_how how = {
    .flags = O_WRONLY | O_CLOEXEC,
    .resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS | RESOLVE_NO_XDEV,
  };
  int fd = olrun_openat2 (dirfd, path, &how);
  if (fd < 0)
    return olrun_fail (err, errno, "open /proc/%s", path);
  struct statfs sfs;
  if (fstatfs (fd, &sfs) < 0 || sfs.f_type != PROC_SUPER_MAGIC)
    {
      safe_close (fd);
      return olrun_fail (err, EXDEV, "/proc/%s is not on procfs", path);
    }
  return fd;
}

static int
write_proc (int procfd, const char *path, const char *value, olrun_error_t *err)
{
  _cleanup_close_ int fd = open_proc_write (procfd, path, err);
  if (fd < 0)
    return -1;
  if (olrun_write_all (fd, value, strlen (value)) < 0)
    return olrun_fail (err, errno, "write `%s` to /proc/%s", value, path);
  return 0;
}

/* /proc, checked to be the root of a procfs: in a joined mount namespace
 * it is whatever that namespace mounted there. */
static int
open_proc (olrun_error_t *err)
{
  _cleanup_close_ int fd = open ("/proc", O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0)
    return olrun_fail (err, errno, "open /proc");
  struct statfs sfs;
  struct stat st;
  if (fstatfs (fd, &sfs) < 0 || sfs.f_type != PROC_SUPER_MAGIC || fstat (fd, &st) < 0 || st.st_ino != PROC_ROOT_INO)
    return olrun_fail (err, EXDEV, "/proc is not the root of a procfs");
  return TAKE_FD (fd);
}

/* Time offsets can only be set while no process is in the namespace:
 * unshare it (it becomes our children's), write the offsets, then enter it
 * ourselves through time_for_children. */
static int
setup_time_offsets (struct olrun_container *c, int procfd, olrun_error_t *err)
{
  const struct olrun_linux *l = &c->spec->linux;
  if (!l->has_time_offsets)
    return 0;
  if (unshare (CLONE_NEWTIME) < 0)
    return olrun_fail (err, errno, "unshare the time namespace");
  char buf[128];
  snprintf (buf, sizeof buf, "monotonic %lld %u\nboottime %lld %u\n", (long long) l->monotonic_secs,
            l->monotonic_nanosecs, (long long) l->boottime_secs, l->boottime_nanosecs);
  if (write_proc (procfd, "self/timens_offsets", buf, err) < 0)
    return -1;
  /* setns checks the fd is a time namespace: no procfs check needed. */
  _cleanup_close_ int ns = openat (procfd, "self/ns/time_for_children", O_RDONLY | O_CLOEXEC);
  if (ns < 0 || setns (ns, CLONE_NEWTIME) < 0)
    return olrun_fail (err, errno, "enter the time namespace");
  return 0;
}

/* sysctl keys use dots ("net.ipv4.ip_forward") or slashes. */
static int
write_sysctls (struct olrun_container *c, int procfd, olrun_error_t *err)
{
  for (size_t i = 0; i < c->spec->linux.n_sysctl; i++)
    {
      const struct olrun_sysctl *s = &c->spec->linux.sysctl[i];
      _cleanup_free_ char *path = xasprintf ("sys/%s", s->key);
      for (char *p = path + 4; *p; p++)
        if (*p == '.')
          *p = '/';
      if (write_proc (procfd, path, s->value, err) < 0)
        return olrun_error_wrap (err, "sysctl `%s`", s->key);
    }
  return 0;
}

static int
setup_kernel_settings (struct olrun_container *c, olrun_error_t *err)
{
  const struct olrun_spec *s = c->spec;
  _cleanup_close_ int procfd = open_proc (err);
  if (procfd < 0 || setup_time_offsets (c, procfd, err) < 0)
    return -1;
  if (s->hostname && sethostname (s->hostname, strlen (s->hostname)) < 0)
    return olrun_fail (err, errno, "sethostname `%s`", s->hostname);
  if (s->domainname && setdomainname (s->domainname, strlen (s->domainname)) < 0)
    return olrun_fail (err, errno, "setdomainname `%s`", s->domainname);
  if (write_sysctls (c, procfd, err) < 0)
    return -1;
  if (s->process && s->process->has_oom_score_adj)
    {
      char buf[16];
      snprintf (buf, sizeof buf, "%d", s->process->oom_score_adj);
      if (write_proc (procfd, "self/oom_score_adj", buf, err) < 0)
        return -1;
    }
  /* A session keyring of its own, so the container cannot read the host's
   * (runc does the same unless --no-new-keyring).  Kernels without keys,
   * or where the keyring quota is denied, are tolerated as runc does. */
  if (!c->opts->no_new_keyring && syscall (SYS_keyctl, KEYCTL_JOIN_SESSION_KEYRING, c->id) < 0 && errno != ENOSYS
      && errno != EPERM && errno != EDQUOT)
    return olrun_fail (err, errno, "join a new session keyring");
  return 0;
}

static struct olrun_rootfs_config
rootfs_config (const struct olrun_container *c)
{
  const struct olrun_spec *s = c->spec;
  long prop = s->linux.rootfs_propagation ? olrun_mount_propagation_flags (s->linux.rootfs_propagation) : 0;
  return (struct olrun_rootfs_config){
    .rootfs = c->rootfs,
    .bundle = c->bundle,
    .readonly = s->root_readonly,
    .propagation = (unsigned long) prop,
    .mounts = s->mounts,
    .n_mounts = s->n_mounts,
    .devices = s->linux.devices,
    .n_devices = s->linux.n_devices,
    .masked_paths = s->linux.masked_paths,
    .readonly_paths = s->linux.readonly_paths,
    .no_pivot = c->opts->no_pivot,
    .in_userns = s->linux.ns[OLRUN_NS_USER].enabled,
    .rootless = c->rootless,
    .new_cgroupns = s->linux.ns[OLRUN_NS_CGROUP].enabled,
    .cgroup2_path = c->cgroup && c->cgroup->mountpoint ? c->state.cgroup_path : NULL,
    .cgroup2_mountpoint = c->cgroup ? c->cgroup->mountpoint : NULL,
    .console_fd = -1,
    .idmapped_trees = c->idmapped_trees,
  };
}

/* Without a mount namespace of its own the container shares the caller's
 * (runtime-spec: an unlisted namespace is inherited), where mounting
 * would change the host: the root is entered by chroot alone. */
int
olrun_init_chroot (const char *rootfs, olrun_error_t *err)
{
  if (chroot (rootfs) < 0)
    return olrun_fail (err, errno, "chroot to `%s`", rootfs);
  if (chdir ("/") < 0)
    return olrun_fail (err, errno, "chdir /");
  return 0;
}

/* Close every fd olrun's parent left us but the sync sockets, once the
 * mounts are made (the idmapped ones were the last we needed) and before
 * the root changes.  After pivot_root, /proc/self/fd/N of a host
 * directory we hold (the state dir, the cgroup, a caller's leaked fd) is a
 * way out of the root for every path the config names and we resolve as
 * the init: process.cwd, args[0] on PATH, createContainer hooks
 * (CVE-2024-21626).  The caller's --preserve-fds are the user's and stay;
 * olrun_process_chdir refuses a cwd reached through one of them. */
static void
drop_inherited_fds (struct olrun_container *c)
{
  int keep[] = { c->sync_child, c->start_listen };
  olrun_close_fds_except (3 + c->opts->preserve_fds, keep, ARRAY_SIZE (keep));
}

/* Filesystem, hooks and the terminal: from the namespaces to "created". */
static int
setup_container (struct olrun_container *c, olrun_error_t *err)
{
  struct olrun_rootfs_config rc = rootfs_config (c);
  bool own_mounts = c->spec->linux.ns[OLRUN_NS_MOUNT].enabled;
  int pid = 0;
  if (own_mounts && olrun_mount_prepare (&rc, err) < 0)
    return -1;
  drop_inherited_fds (c);
  if (olrun_create_hooks_sync (c)
      && (olrun_sync_send (c->sync_child, SYNC_HOOKS_READY, 0, -1, err) < 0
          || olrun_sync_recv (c->sync_child, SYNC_HOOKS_DONE, &pid, NULL, err) < 0))
    return -1;
  /* Our pid as the host sees it, for the state the hooks read. */
  c->state.pid = pid;
  /* createContainer hooks run in the container's namespaces but before
   * pivot_root, so their paths resolve on the host. */
  if (c->spec->hooks.len[OLRUN_HOOK_CREATE_CONTAINER] > 0)
    {
      _cleanup_free_ char *json = olrun_state_json (&c->state, "created", false);
      if (olrun_hooks_run (c->spec, OLRUN_HOOK_CREATE_CONTAINER, json, err) < 0)
        return -1;
    }
  if (own_mounts ? olrun_mount_finish (&rc, err) < 0 : olrun_init_chroot (c->rootfs, err) < 0)
    return -1;
  /* A config without a process can be created; only start fails. */
  if (c->spec->process == NULL)
    return 0;
  if (c->spec->process->terminal)
    {
      _cleanup_close_ int master = -1;
      if (olrun_terminal_setup (c->spec->process, true, &master, err) < 0
          || olrun_sync_send (c->sync_child, SYNC_PTY, 0, master, err) < 0)
        return -1;
    }
  /* Fail now, at create, for a missing binary or cwd, not later at start. */
  if (olrun_process_chdir (c->spec->process, err) < 0
      || olrun_process_resolve (c->spec->process, &c->exe_path, err) < 0)
    return -1;
  return 0;
}

/* Wait for `start` (or, for run, the parent's go), then run
 * startContainer hooks and become the user's process. */
static int
wait_start_and_exec (struct olrun_container *c, int *report, olrun_error_t *err)
{
  int conn = c->sync_child;
  if (!c->start_inline)
    {
      do
        conn = accept4 (c->start_listen, NULL, NULL, SOCK_CLOEXEC);
      while (conn < 0 && errno == EINTR);
      if (conn < 0)
        return olrun_fail (err, errno, "accept start");
      c->start_listen = safe_close (c->start_listen);
      c->sync_child = safe_close (c->sync_child);
    }
  *report = conn;
  if (olrun_sync_recv (conn, SYNC_START, NULL, NULL, err) < 0)
    return -1;
  if (c->spec->hooks.len[OLRUN_HOOK_START_CONTAINER] > 0)
    {
      _cleanup_free_ char *json = olrun_state_json (&c->state, "running", false);
      if (olrun_hooks_run (c->spec, OLRUN_HOOK_START_CONTAINER, json, err) < 0)
        return -1;
    }
  if (c->spec->process == NULL)
    return olrun_invalid (err, "cannot start `%s`: its config has no process", c->id);
  return olrun_process_exec (c->spec->process, c->exe_path, c->opts->preserve_fds, &conn, 1, c->seccomp, conn,
                             err);
}

static int
init_stages (struct olrun_container *c, int *report, olrun_error_t *err)
{
  c->sync_parent = safe_close (c->sync_parent);
  /* First, while no process of the container exists yet (in the slow
   * path the init forked later inherits it). */
  if (olrun_process_protect_exe (&c->exe_guard, err) < 0)
    return -1;
  if (c->slow_path)
    {
      int r = olrun_init_join_namespaces (c, err);
      if (r != 0)
        return r; /* 1: we were the intermediate and handed over */
    }
  else if (c->new_userns && olrun_init_userns_handshake (c, err) < 0)
    return -1;
  if (setsid () < 0)
    return olrun_fail (err, errno, "setsid");
  if (setup_kernel_settings (c, err) < 0 || setup_container (c, err) < 0
      || olrun_process_apply_linux (&c->spec->linux, err) < 0)
    return -1;
  /* From here the container must outlive `create`, so PDEATHSIG goes; a
   * parent that dies before COMMIT still takes us along, as EOF on the
   * sync socket.  (Clearing it after COMMIT would race the parent's exit.) */
  if (prctl (PR_SET_PDEATHSIG, 0) < 0)
    return olrun_fail (err, errno, "prctl PDEATHSIG");
  if (olrun_sync_send (c->sync_child, SYNC_CREATED, 0, -1, err) < 0
      || olrun_sync_recv (c->sync_child, SYNC_COMMIT, NULL, NULL, err) < 0)
    return -1;
  return wait_start_and_exec (c, report, err);
}

_Noreturn void
olrun_init_main (struct olrun_container *c)
{
  olrun_error_t err = NULL;
  int report = c->sync_child;
  /* Die with olrun until the container is committed: a create killed
   * midway must not leave a process behind.  The parent may already be
   * gone before this takes effect: then getppid() changed, or, across a
   * new pid namespace where it always reads 0, the sync socket is at EOF
   * at our next message. */
  pid_t ppid = getppid ();
  if (prctl (PR_SET_PDEATHSIG, SIGKILL) < 0 || (ppid != 0 && ppid != c->parent_pid))
    _exit (1);
  /* `run` blocks every signal it forwards (so none is lost before its
   * wait loop); the mask is inherited through clone and execve, and the
   * container's process must start with none blocked. */
  sigset_t none;
  sigemptyset (&none);
  sigprocmask (SIG_SETMASK, &none, NULL);
  /* Not dumpable until execve: no process of the container can ptrace us
   * or open /proc/PID/exe (the olrun binary) meanwhile (CVE-2019-5736). */
  prctl (PR_SET_DUMPABLE, 0, 0, 0, 0);
  int r = init_stages (c, &report, &err);
  if (r > 0)
    _exit (0);
  olrun_sync_send_error (report, err);
  _exit (err->kind == OLRUN_E_EXEC_NOENT ? 127 : err->kind == OLRUN_E_EXEC_FAILED ? 126 : 1);
}

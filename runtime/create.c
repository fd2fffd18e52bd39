/* create: everything up to the "created" state, in the parent.
 *
 * do_create() builds the container step by step; on any failure
 * create_rollback() undoes what was done (process, cgroup, state dir) and
 * the first error is the one reported.  The child's side is init.c. */
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <string.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>

#include "olrun/log.h"
#include "olrun/namespaces.h"
#include "olrun/runtime.h"
#include "olrun/seccomp.h"
#include "olrun/syscalls.h"
#include "olrun/util.h"
#include "runtime/create.h"
#include "runtime/internal.h"

static int
resolve_paths (struct olrun_container *c, olrun_error_t *err)
{
  const char *bundle = c->opts->bundle ? c->opts->bundle : ".";
  c->bundle = realpath (bundle, NULL);
  if (c->bundle == NULL)
    return olrun_error_set (err, OLRUN_E_INVALID, errno, "bundle `%s`", bundle);
  const char *root = c->spec->root_path;
  c->rootfs = root[0] == '/' ? xstrdup (root) : xasprintf ("%s/%s", c->bundle, root);
  struct stat st;
  if (stat (c->rootfs, &st) < 0)
    return olrun_error_set (err, OLRUN_E_INVALID, errno, "rootfs `%s`", c->rootfs);
  if (!S_ISDIR (st.st_mode))
    return olrun_invalid (err, "rootfs `%s` is not a directory", c->rootfs);
  return 0;
}

static int
load_spec (struct olrun_container *c, olrun_error_t *err)
{
  const char *bundle = c->opts->bundle ? c->opts->bundle : ".";
  _cleanup_free_ char *path
      = c->opts->config ? xstrdup (c->opts->config) : xasprintf ("%s/config.json", bundle);
  if (olrun_spec_load (AT_FDCWD, path, &c->spec, err) < 0 || olrun_spec_validate (c->spec, err) < 0
      || olrun_process_check_lsm (c->spec->process, err) < 0 || olrun_hooks_check (c->spec, err) < 0)
    return -1;
  if (c->opts->listen_fds > 0 && c->spec->process)
    {
      /* Socket activation passes through: the fds are preserved and the
       * container's init is their listener. */
      char ***env = &c->spec->process->env;
      size_t n = strv_length (*env);
      *env = xreallocarray (*env, n + 3, sizeof **env);
      (*env)[n] = xasprintf ("LISTEN_FDS=%d", c->opts->listen_fds);
      (*env)[n + 1] = xstrdup ("LISTEN_PID=1");
      (*env)[n + 2] = NULL;
    }
  return 0;
}

/* Open every namespace given by path now, so a bad path fails before any
 * process exists.  A joined pid namespace is entered by the parent for
 * its child (pid_for_children); any other joined one makes the child do
 * setns/unshare itself, in order (the slow path). */
static int
open_namespaces (struct olrun_container *c, olrun_error_t *err)
{
  const struct olrun_ns_config *ns = c->spec->linux.ns;
  for (int t = 0; t < OLRUN_NS_COUNT; t++)
    {
      if (!ns[t].enabled || ns[t].path == NULL)
        continue;
      if (olrun_ns_open (t, ns[t].path, &c->ns_fds[t], err) < 0)
        return -1;
      if (t != OLRUN_NS_PID)
        c->slow_path = true;
    }
  c->new_userns = ns[OLRUN_NS_USER].enabled && ns[OLRUN_NS_USER].path == NULL;
  return 0;
}

static int
start_listener (struct olrun_container *c, olrun_error_t *err)
{
  /* start connects here.  The state dir's path may be longer than
   * sun_path allows, so it is named through our fd of it. */
  struct sockaddr_un addr = { .sun_family = AF_UNIX };
  snprintf (addr.sun_path, sizeof addr.sun_path, "/proc/self/fd/%d/start.sock", c->state_dirfd);
  c->start_listen = socket (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (c->start_listen < 0)
    return olrun_fail (err, errno, "socket");
  if (bind (c->start_listen, (struct sockaddr *) &addr, sizeof addr) < 0 || listen (c->start_listen, 4) < 0)
    return olrun_fail (err, errno, "bind start socket");
  return 0;
}

static bool
same_string (const char *a, const char *b)
{
  return a == b || (a && b && strcmp (a, b) == 0);
}

/* The cgroup is recorded in the state before it exists, so a create
 * killed from here on leaves enough for `delete --force` to remove it.
 * Where its path is known beforehand (cgroupfs), the one write that
 * records "creating" records it too; otherwise (systemd picks the path, or
 * the create fell back to no cgroup) a second write follows. */
static int
prepare_cgroup (struct olrun_container *c, olrun_error_t *err)
{
  _cleanup_free_ char *name = olrun_state_dirname (c->id);
  /* linux.devices are allowed in the device program, as runc does. */
  _cleanup_free_ struct olrun_cgroup_device_rule *devs
    = olrun_resources_rules_from_devices (c->spec->linux.devices, c->spec->linux.n_devices);
  struct olrun_cgroup_config cfg = {
    .id = name,
    .cgroups_path = c->spec->linux.cgroups_path,
    .manager = c->ctx->cgroup_manager,
    .rootless = c->rootless,
    .resources = c->spec->linux.resources,
    .extra_devices = devs,
    .n_extra_devices = c->spec->linux.n_devices,
  };
  if (olrun_cgroup_planned_path (&cfg, &c->state.cgroup_path, err) < 0)
    return -1;
  if (c->state.cgroup_path)
    c->state.cgroup_manager = xstrdup (olrun_cgroup_manager_name (cfg.manager));
  cfg.planned_path = c->state.cgroup_path;
  if (olrun_state_write (c->state_dirfd, &c->state, err) < 0 || olrun_cgroup_create (&cfg, &c->cgroup, err) < 0)
    return -1;
  const char *manager = olrun_cgroup_manager_name (c->cgroup->manager);
  if (same_string (c->state.cgroup_manager, manager) && same_string (c->state.cgroup_path, c->cgroup->path))
    return 0;
  free (c->state.cgroup_manager);
  free (c->state.cgroup_path);
  c->state.cgroup_manager = xstrdup (manager);
  c->state.cgroup_path = xstrdup (c->cgroup->path);
  return olrun_state_write (c->state_dirfd, &c->state, err);
}

static int
prepare_seccomp (struct olrun_container *c, olrun_error_t *err)
{
  const olrun_json_t *raw = c->spec->linux.seccomp_json;
  if (c->spec->linux.seccomp == NULL)
    return 0;
  _cleanup_free_ char *cache = xasprintf ("%s/.seccomp-cache", c->ctx->root);
  const char *text = olrun_json_doc_text (c->spec->doc) + raw->offset;
  return olrun_seccomp_prepare (c->spec->linux.seccomp, text, raw->end - raw->offset, cache, &c->seccomp, err);
}

static void
init_state (struct olrun_container *c)
{
  struct olrun_state *s = &c->state;
  s->id = xstrdup (c->id);
  s->bundle = xstrdup (c->bundle);
  s->rootfs = xstrdup (c->rootfs);
  s->created = olrun_rfc3339_now ();
  s->recorded_status = xstrdup ("creating");
  s->own_pidns = c->spec->linux.ns[OLRUN_NS_PID].enabled && c->spec->linux.ns[OLRUN_NS_PID].path == NULL;
  s->owner = geteuid ();
  if (c->spec->annotations)
    {
      olrun_jw_t *w = olrun_jw_new (false);
      olrun_jw_node (w, c->spec->annotations);
      s->annotations = xstrdup (olrun_jw_text (w, NULL));
      olrun_jw_free (w);
    }
}

static int
set_recorded_status (struct olrun_container *c, const char *status, olrun_error_t *err)
{
  free (c->state.recorded_status);
  c->state.recorded_status = xstrdup (status);
  return olrun_state_write (c->state_dirfd, &c->state, err);
}

int
olrun_pid_file_write (const char *path, pid_t pid, olrun_error_t *err)
{
  char buf[16];
  int n = snprintf (buf, sizeof buf, "%d", (int) pid);
  if (olrun_atomic_write_at (AT_FDCWD, path, buf, (size_t) n, 0644, err) < 0)
    return olrun_error_wrap (err, "pid file `%s`", path);
  return 0;
}

/* The hooks that run in the runtime namespace while the container is
 * being created, with its init's pid already known. */
static int
run_create_hooks (struct olrun_container *c, olrun_error_t *err)
{
  /* Step 2 of the lifecycle (the environment) is done: the hooks see
   * "created", as the OCI validation suite expects. */
  _cleanup_free_ char *json = olrun_state_json (&c->state, "created", false);
  if (olrun_hooks_run (c->spec, OLRUN_HOOK_PRESTART, json, err) < 0
      || olrun_hooks_run (c->spec, OLRUN_HOOK_CREATE_RUNTIME, json, err) < 0)
    return -1;
  return 0;
}

/* The pid and its start time go to disk with "created": until then a
 * killed create is cleaned up through the cgroup, which needs no pid. */
static int
record_init (struct olrun_container *c, olrun_error_t *err)
{
  c->state.pid = c->init_pid;
  if (olrun_proc_stat (c->init_pid, &c->state.start_time, NULL) < 0)
    return olrun_fail (err, errno, "read start time of pid %d", (int) c->init_pid);
  return 0;
}

/* Receive the pty master and hand it on: to the console socket, or keep
 * it for a foreground run on the caller's terminal. */
static int
take_pty (struct olrun_container *c, olrun_error_t *err)
{
  _cleanup_close_ int master = -1;
  if (olrun_sync_recv (c->sync_parent, SYNC_PTY, NULL, &master, err) < 0)
    return -1;
  if (c->console_socket >= 0)
    return olrun_terminal_send (c->console_socket, master, err);
  c->pty_master = TAKE_FD (master);
  return 0;
}

/* The parent's half of the conversation with the container's setup. */
static int
handshake (struct olrun_container *c, olrun_error_t *err)
{
  if (c->new_userns)
    {
      if (olrun_sync_recv (c->sync_parent, SYNC_USERNS_READY, NULL, NULL, err) < 0)
        return -1;
      if (olrun_ns_write_idmaps (c->init_pid, &c->spec->linux.uid_mappings,
                                 &c->spec->linux.gid_mappings, false, err) < 0
          || olrun_sync_send (c->sync_parent, SYNC_USERNS_DONE, 0, -1, err) < 0)
        return -1;
    }
  if (c->slow_path && olrun_create_take_init (c, err) < 0)
    return -1;
  if (record_init (c, err) < 0 || olrun_create_net_devices (c, err) < 0)
    return -1;
  if (olrun_create_hooks_sync (c)
      && (olrun_sync_recv (c->sync_parent, SYNC_HOOKS_READY, NULL, NULL, err) < 0 || run_create_hooks (c, err) < 0
          || olrun_sync_send (c->sync_parent, SYNC_HOOKS_DONE, c->init_pid, -1, err) < 0))
    return -1;
  if (c->spec->process && c->spec->process->terminal && take_pty (c, err) < 0)
    return -1;
  if (olrun_sync_recv (c->sync_parent, SYNC_CREATED, NULL, NULL, err) < 0)
    return -1;
  /* run starts at once: the init is released first, and execs while the
   * state is written ("running" straight away, which saves a write).  A
   * failure from here kills it in the rollback, as before the exec. */
  if (c->start_inline
      && (olrun_sync_send (c->sync_parent, SYNC_COMMIT, 0, -1, err) < 0
          || olrun_sync_send (c->sync_parent, SYNC_START, 0, -1, err) < 0))
    return -1;
  if (set_recorded_status (c, c->start_inline ? "running" : "created", err) < 0)
    return -1;
  if (c->opts->pid_file && olrun_pid_file_write (c->opts->pid_file, c->init_pid, err) < 0)
    return -1;
  return c->start_inline ? 0 : olrun_sync_send (c->sync_parent, SYNC_COMMIT, 0, -1, err);
}

/* Hooks at start and delete, exec and update read the config as it was at
 * create.  Nobody reads it before the state says "created", which is
 * written after it, so it is written in place: no temp file and rename,
 * each of which costs a new inode on a disk-backed --root.  Not fsynced
 * either (see olrun_state_write).  A create killed midway may leave it
 * partial: delete then finds no hooks to run, which is right. */
static int
save_config (struct olrun_container *c, olrun_error_t *err)
{
  const char *text = olrun_json_doc_text (c->spec->doc);
  _cleanup_close_ int fd
      = openat (c->state_dirfd, "config.json", O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0 || olrun_write_all (fd, text, strlen (text)) < 0)
    return olrun_fail (err, errno, "save config.json in the state dir");
  return 0;
}

static int
do_create (struct olrun_container *c, olrun_error_t *err)
{
  if (olrun_state_dir_create (c->ctx->root, c->id, &c->state_dirfd, err) < 0)
    return -1;
  init_state (c);
  if (c->ctx->notify_socket && c->spec->process)
    {
      _cleanup_free_ char *name = olrun_state_dirname (c->id);
      _cleanup_free_ char *dir = xasprintf ("%s/%s", c->ctx->root, name);
      if (olrun_notify_prepare (c->spec, dir, c->state_dirfd, err) < 0)
        return -1;
    }
  if (prepare_cgroup (c, err) < 0 || open_namespaces (c, err) < 0 || prepare_seccomp (c, err) < 0)
    return -1;
  if (c->opts->console_socket
      && olrun_console_socket_connect (c->opts->console_socket, &c->console_socket, err) < 0)
    return -1;
  if (!c->start_inline && start_listener (c, err) < 0)
    return -1;
  if (olrun_exe_guard_prepare (&c->exe_guard, err) < 0 || olrun_idmapped_prepare (c, err) < 0)
    return -1;
  int fds[2];
  if (olrun_sync_pair (fds, err) < 0)
    return -1;
  c->sync_parent = fds[0];
  c->sync_child = fds[1];
  /* While the init sets itself up, the device program is attached and
   * the config saved: both must be done by "created", and neither needs
   * to be before the init exists. */
  if (olrun_create_spawn (c, err) < 0 || olrun_cgroup_spawned (c->cgroup, err) < 0 || save_config (c, err) < 0)
    return -1;
  c->sync_child = safe_close (c->sync_child);
  c->start_listen = safe_close (c->start_listen);
  olrun_idmapped_release (c);
  return handshake (c, err);
}

/* Undo a failed create.  Errors here are secondary to the one that got
 * us here, so they are only logged. */
static void
create_rollback (struct olrun_container *c)
{
  olrun_error_t tmp = NULL;
  if (c->init_pidfd >= 0)
    olrun_pidfd_send_signal (c->init_pidfd, SIGKILL, NULL, 0);
  if (c->init_pid > 0)
    while (waitpid (c->init_pid, NULL, 0) < 0 && errno == EINTR)
      ;
  if (c->cgroup && olrun_cgroup_destroy (c->cgroup, &tmp) < 0)
    {
      olrun_warn ("rollback: %s", tmp->msg);
      olrun_error_release (&tmp);
    }
  if (c->state_dirfd >= 0 && olrun_state_dir_remove (c->ctx->root, c->id, &tmp) < 0)
    {
      olrun_warn ("rollback: %s", tmp->msg);
      olrun_error_release (&tmp);
    }
}

void
olrun_container_free (struct olrun_container *c)
{
  if (c == NULL)
    return;
  for (int t = 0; t < OLRUN_NS_COUNT; t++)
    safe_close (c->ns_fds[t]);
  safe_close (c->state_dirfd);
  safe_close (c->sync_parent);
  safe_close (c->sync_child);
  safe_close (c->start_listen);
  safe_close (c->console_socket);
  safe_close (c->pty_master);
  safe_close (c->init_pidfd);
  olrun_exe_guard_clear (&c->exe_guard);
  olrun_idmapped_release (c);
  olrun_cgroup_free (c->cgroup);
  olrun_seccomp_program_free (c->seccomp);
  olrun_spec_free (c->spec);
  free (c->bundle);
  free (c->rootfs);
  free (c->exe_path);
  free (c->state.id);
  free (c->state.bundle);
  free (c->state.created);
  free (c->state.rootfs);
  free (c->state.recorded_status);
  free (c->state.cgroup_manager);
  free (c->state.cgroup_path);
  free (c->state.annotations);
  free (c);
}

void
olrun_container_freep (struct olrun_container **c)
{
  olrun_container_free (*c);
  *c = NULL;
}

/* --rootless auto: rootless unless we are root of the initial user
 * namespace (an engine running rootless starts us as root of its own). */
static bool
rootless_mode (const struct olrun_context *ctx)
{
  if (ctx->rootless >= 0)
    return ctx->rootless == 1;
  if (geteuid () != 0)
    return true;
  char buf[64] = { 0 };
  _cleanup_close_ int fd = open ("/proc/self/uid_map", O_RDONLY | O_CLOEXEC);
  unsigned long a = 1, b = 1, n = 0;
  if (fd < 0 || read (fd, buf, sizeof buf - 1) <= 0 || sscanf (buf, "%lu %lu %lu", &a, &b, &n) != 3)
    return false;
  return !(a == 0 && b == 0 && n == 4294967295UL);
}

int
olrun_create_internal (const struct olrun_context *ctx, const struct olrun_create_opts *o, bool start_inline,
                       struct olrun_container **ret, olrun_error_t *err)
{
  if (!olrun_id_valid (o->id))
    return olrun_invalid (err, "invalid container ID `%s`", o->id);
  _cleanup_container_ struct olrun_container *c = xzalloc (sizeof *c);
  c->ctx = ctx;
  c->opts = o;
  c->id = o->id;
  c->start_inline = start_inline;
  c->rootless = rootless_mode (ctx);
  c->parent_pid = getpid ();
  c->state_dirfd = c->sync_parent = c->sync_child = c->start_listen = -1;
  c->console_socket = c->pty_master = c->init_pidfd = c->exe_guard.fd = c->exe_guard.tree = -1;
  for (int t = 0; t < OLRUN_NS_COUNT; t++)
    c->ns_fds[t] = -1;
  /* Everything that only reads input is checked before the state dir
   * exists, so bad input leaves nothing behind by construction. */
  if (load_spec (c, err) < 0 || resolve_paths (c, err) < 0)
    return -1;
  /* A pty master needs a taker: the console socket, or a foreground run
   * relaying the caller's terminal. */
  if (c->spec->process && c->spec->process->terminal && o->console_socket == NULL && (!start_inline || o->detach))
    return olrun_invalid (err, "process.terminal is set: --console-socket is required%s",
                          start_inline ? " with --detach" : "");
  /* Without privileges, only a user namespace can give the container a
   * root of its own (runc says the same). */
  if (c->rootless && !c->spec->linux.ns[OLRUN_NS_USER].enabled)
    return olrun_invalid (err, "rootless mode needs a user namespace in linux.namespaces");
  if (do_create (c, err) < 0)
    {
      create_rollback (c);
      return -1;
    }
  /* Created: later commands on this container may now take the lock. */
  flock (c->state_dirfd, LOCK_UN);
  *ret = TAKE_PTR (c);
  return 0;
}

int
olrun_container_create (const struct olrun_context *ctx, const struct olrun_create_opts *o, olrun_error_t *err)
{
  _cleanup_container_ struct olrun_container *c = NULL;
  return olrun_create_internal (ctx, o, false, &c, err);
}

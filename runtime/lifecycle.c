/* start, kill, delete, state and list: the commands that act on a
 * container recorded under --root.
 *
 * The state machine (runc's state_linux.go, simplified):
 *   creating -> created -> running <-> paused -> stopped
 * The recorded status only says how far create/start got; whether the
 * process still lives is always asked of the kernel (pidfd + start time),
 * so a container whose process died reports stopped even if nobody
 * waited for it. */
#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>

#include "olrun/cgroup.h"
#include "olrun/log.h"
#include "olrun/runtime.h"
#include "olrun/syscalls.h"
#include "olrun/util.h"
#include "runtime/internal.h"

int
olrun_container_load (const struct olrun_context *ctx, const char *id, struct olrun_state **ret, olrun_error_t *err)
{
  _cleanup_close_ int dirfd = -1;
  if (olrun_state_dir_open (ctx->root, id, false, &dirfd, err) < 0)
    return -1;
  return olrun_state_read (dirfd, id, ret, err);
}

static int
load_cgroup (const struct olrun_state *s, struct olrun_cgroup **ret, olrun_error_t *err)
{
  int kind = s->cgroup_manager ? olrun_cgroup_manager_from_name (s->cgroup_manager) : OLRUN_CGROUP_DISABLED;
  if (kind < 0)
    kind = OLRUN_CGROUP_DISABLED;
  return olrun_cgroup_load (kind, s->cgroup_path, ret, err);
}

int
olrun_container_status (const struct olrun_state *s, enum olrun_status *ret, olrun_error_t *err)
{
  _cleanup_close_ int pidfd = -1;
  if (olrun_state_pidfd (s, &pidfd, err) < 0)
    return -1;
  if (strcmp (s->recorded_status, "creating") == 0)
    {
      *ret = s->pid > 0 && pidfd < 0 ? OLRUN_STATUS_STOPPED : OLRUN_STATUS_CREATING;
      return 0;
    }
  if (pidfd < 0)
    {
      *ret = OLRUN_STATUS_STOPPED;
      return 0;
    }
  if (strcmp (s->recorded_status, "created") == 0)
    {
      *ret = OLRUN_STATUS_CREATED;
      return 0;
    }
  struct olrun_cgroup *cg = NULL;
  bool frozen = false;
  if (load_cgroup (s, &cg, err) < 0)
    return -1;
  int rc = olrun_cgroup_is_frozen (cg, &frozen, err);
  olrun_cgroup_free (cg);
  if (rc < 0)
    return -1;
  *ret = frozen ? OLRUN_STATUS_PAUSED : OLRUN_STATUS_RUNNING;
  return 0;
}

/* After SYNC_START: wait for the exec (EOF) or its error.  A seccomp
 * notify listener, if the init sends one, is passed on to the agent. */
int
olrun_start_wait (int conn, const struct olrun_spec *spec, const struct olrun_state *s, olrun_error_t *err)
{
  for (;;)
    {
      int type = 0, fd = -1;
      if (olrun_sync_recv_any (conn, &type, NULL, &fd, err) < 0)
        return -1;
      _cleanup_close_ int owned = fd;
      if (type == 0)
        return 0;
      if (type == SYNC_SECCOMP_FD && spec && spec->linux.seccomp)
        {
          _cleanup_free_ char *json = olrun_state_json (s, "running", false);
          if (olrun_seccomp_send_listener (spec->linux.seccomp, fd, s->pid, json, err) < 0)
            return -1;
        }
    }
}

static int
connect_start (int dirfd, int *ret, olrun_error_t *err)
{
  struct sockaddr_un addr = { .sun_family = AF_UNIX };
  snprintf (addr.sun_path, sizeof addr.sun_path, "/proc/self/fd/%d/start.sock", dirfd);
  _cleanup_close_ int fd = socket (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0)
    return olrun_fail (err, errno, "socket");
  if (connect (fd, (struct sockaddr *) &addr, sizeof addr) < 0)
    return olrun_fail (err, errno, "connect to the container's init");
  *ret = TAKE_FD (fd);
  return 0;
}

/* The config as it was at create (kept in the state dir), for the hooks
 * of start and delete.  A state dir without one (a create killed early)
 * has no hooks to run. */
static struct olrun_spec *
load_saved_spec (int dirfd)
{
  struct olrun_spec *spec = NULL;
  olrun_error_t tmp = NULL;
  if (olrun_spec_load (dirfd, "config.json", &spec, &tmp) < 0)
    {
      olrun_debug ("no hooks at start: %s", tmp->msg);
      olrun_error_release (&tmp);
      return NULL;
    }
  return spec;
}

int
olrun_container_start (const struct olrun_context *ctx, const char *id, olrun_error_t *err)
{
  _cleanup_close_ int dirfd = -1;
  _cleanup_state_ struct olrun_state *s = NULL;
  enum olrun_status st;
  if (olrun_state_dir_open (ctx->root, id, true, &dirfd, err) < 0 || olrun_state_read (dirfd, id, &s, err) < 0
      || olrun_container_status (s, &st, err) < 0)
    return -1;
  if (st != OLRUN_STATUS_CREATED)
    return olrun_error_set (err, OLRUN_E_BAD_STATE, 0, "cannot start a container that is %s (`%s`)",
                            olrun_status_name (st), id);
  _cleanup_close_ int conn = -1, notify = -1;
  if ((ctx->notify_socket && olrun_notify_listen (dirfd, &notify, err) < 0) || connect_start (dirfd, &conn, err) < 0)
    return -1;
  /* From here on the container counts as started, whatever happens. */
  unlinkat (dirfd, "start.sock", 0);
  free (s->recorded_status);
  s->recorded_status = xstrdup ("running");
  if (olrun_state_write (dirfd, s, err) < 0)
    return -1;
  struct olrun_spec *spec = load_saved_spec (dirfd);
  int rc = olrun_sync_send (conn, SYNC_START, 0, -1, err) < 0 ? -1 : olrun_start_wait (conn, spec, s, err);
  if (rc == 0)
    olrun_hooks_run_warn (spec, OLRUN_HOOK_POSTSTART, s, "running");
  olrun_spec_free (spec);
  if (rc == 0 && notify >= 0)
    {
      _cleanup_close_ int pidfd = -1;
      if (olrun_state_pidfd (s, &pidfd, err) < 0)
        return -1;
      rc = olrun_notify_wait_ready (notify, ctx->notify_socket, pidfd, s->pid, err);
    }
  return rc;
}

int
olrun_container_kill (const struct olrun_context *ctx, const char *id, int sig, bool all, olrun_error_t *err)
{
  _cleanup_state_ struct olrun_state *s = NULL;
  if (olrun_container_load (ctx, id, &s, err) < 0)
    return -1;
  _cleanup_close_ int pidfd = -1;
  if (olrun_state_pidfd (s, &pidfd, err) < 0)
    return -1;
  if (pidfd < 0)
    return olrun_error_set (err, OLRUN_E_NOT_RUNNING, 0, "container not running");
  if (all)
    {
      struct olrun_cgroup *cg = NULL;
      if (load_cgroup (s, &cg, err) < 0)
        return -1;
      int rc = olrun_cgroup_kill (cg, sig, err);
      olrun_cgroup_free (cg);
      return rc;
    }
  if (olrun_pidfd_send_signal (pidfd, sig, NULL, 0) < 0)
    {
      if (errno == ESRCH)
        return olrun_error_set (err, OLRUN_E_NO_PROCESS, 0, "no such process");
      return olrun_fail (err, errno, "kill %s", id);
    }
  return 0;
}

/* SIGKILL the init (and so its pid namespace) and wait until it is gone. */
static int
kill_and_wait (const struct olrun_state *s, struct olrun_cgroup *cg, olrun_error_t *err)
{
  _cleanup_close_ int pidfd = -1;
  if (olrun_state_pidfd (s, &pidfd, err) < 0)
    return -1;
  /* With the init gone, destroying the cgroup kills whatever is left in
   * it; that costs nothing when it is empty, as after a `run`. */
  if (pidfd < 0)
    return 0;
  if (cg->manager != OLRUN_CGROUP_DISABLED && cg->dirfd >= 0)
    {
      /* cgroup.kill also catches processes outside the pid namespace. */
      if (olrun_cgroup_kill (cg, SIGKILL, err) < 0)
        olrun_error_release (err);
    }
  olrun_pidfd_send_signal (pidfd, SIGKILL, NULL, 0);
  /* pidfd becomes readable when the process exits (reaped or not). */
  struct pollfd p = { .fd = pidfd, .events = POLLIN };
  for (int i = 0; i < 100; i++)
    if (poll (&p, 1, 100) > 0)
      return 0;
  return olrun_fail (err, ETIMEDOUT, "container process %d does not die", (int) s->pid);
}

int
olrun_container_teardown (const struct olrun_context *ctx, const struct olrun_state *s, struct olrun_cgroup *cg,
                          const struct olrun_spec *spec, bool started, olrun_error_t *err)
{
  /* poststop hooks run once the container is deleted (runtime-spec):
   * every process dead and its cgroup gone. */
  if (kill_and_wait (s, cg, err) < 0 || olrun_cgroup_destroy (cg, err) < 0)
    return -1;
  if (started)
    olrun_hooks_run_warn (spec, OLRUN_HOOK_POSTSTOP, s, "stopped");
  return olrun_state_dir_remove (ctx->root, s->id, err);
}

int
olrun_container_delete (const struct olrun_context *ctx, const char *id, bool force, olrun_error_t *err)
{
  _cleanup_close_ int dirfd = -1;
  _cleanup_state_ struct olrun_state *s = NULL;
  if (olrun_state_dir_open (ctx->root, id, true, &dirfd, err) < 0)
    {
      if (force && (*err)->kind == OLRUN_E_NOT_EXIST)
        return olrun_error_release (err), 0;
      return -1;
    }
  enum olrun_status st;
  if (olrun_state_read (dirfd, id, &s, err) < 0)
    {
      /* An unreadable state (a crash took it) names no process and no
       * cgroup to clean: --force removes what is left, the state dir. */
      if (!force || (*err)->kind != OLRUN_E_INVALID)
        return -1;
      olrun_warn ("%s; removing it", (*err)->msg);
      olrun_error_release (err);
      return olrun_state_dir_remove (ctx->root, id, err);
    }
  if (olrun_container_status (s, &st, err) < 0)
    return -1;
  /* Like runc: a created container may be deleted; a running or paused
   * one only with --force. */
  if ((st == OLRUN_STATUS_RUNNING || st == OLRUN_STATUS_PAUSED) && !force)
    return olrun_error_set (err, OLRUN_E_BAD_STATE, 0, "cannot delete container `%s` that is %s (use --force)",
                            id, olrun_status_name (st));
  struct olrun_cgroup *cg = NULL;
  if (load_cgroup (s, &cg, err) < 0)
    return -1;
  struct olrun_spec *spec = st != OLRUN_STATUS_CREATING ? load_saved_spec (dirfd) : NULL;
  int rc = olrun_container_teardown (ctx, s, cg, spec, st != OLRUN_STATUS_CREATING, err);
  olrun_spec_free (spec);
  olrun_cgroup_free (cg);
  return rc;
}

int
olrun_container_state_json (const struct olrun_context *ctx, const char *id, char **ret, olrun_error_t *err)
{
  _cleanup_state_ struct olrun_state *s = NULL;
  enum olrun_status st;
  if (olrun_container_load (ctx, id, &s, err) < 0 || olrun_container_status (s, &st, err) < 0)
    return -1;
  *ret = olrun_state_json (s, olrun_status_name (st), true);
  return 0;
}

static int
cmp_str (const void *a, const void *b)
{
  return strcmp (*(char *const *) a, *(char *const *) b);
}

int
olrun_container_list (const struct olrun_context *ctx, char ***ret_ids, olrun_error_t *err)
{
  size_t n = 0;
  char **ids = xzalloc (sizeof *ids);
  DIR *d = opendir (ctx->root);
  if (d == NULL)
    {
      *ret_ids = ids;
      return errno == ENOENT ? 0 : (strv_free (ids), olrun_fail (err, errno, "open `%s`", ctx->root));
    }
  struct dirent *de;
  while ((de = readdir (d)) != NULL)
    {
      if (de->d_name[0] == '.')
        continue;
      char *id = NULL;
      if (strchr (de->d_name, '~'))
        {
          /* A long ID: the whole of it is in state.json. */
          _cleanup_close_ int fd = openat (dirfd (d), de->d_name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
          _cleanup_state_ struct olrun_state *s = NULL;
          olrun_error_t tmp = NULL;
          if (fd >= 0 && olrun_state_read (fd, NULL, &s, &tmp) == 0 && s->id)
            id = xstrdup (s->id);
          olrun_error_release (&tmp);
        }
      else if (olrun_id_valid (de->d_name))
        id = xstrdup (de->d_name);
      if (id == NULL)
        continue;
      ids = xreallocarray (ids, n + 2, sizeof *ids);
      ids[n++] = id;
      ids[n] = NULL;
    }
  closedir (d);
  qsort (ids, n, sizeof *ids, cmp_str);
  *ret_ids = ids;
  return 0;
}

int
olrun_signal_parse (const char *s)
{
  int64_t n;
  if (olrun_parse_int64 (s, &n) == 0)
    return n > 0 && n < NSIG ? (int) n : -1;
  const char *name = strncmp (s, "SIG", 3) == 0 ? s + 3 : s;
  for (int sig = 1; sig < NSIG; sig++)
    {
      const char *abbrev = sigabbrev_np (sig);
      if (abbrev && strcmp (abbrev, name) == 0)
        return sig;
    }
  return -1;
}

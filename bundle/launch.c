/* The launcher: `olrun run [options] REF [CMD [ARG...]]`, as the seed's OCI
 * mode does it.  The image comes through the verified cache (the second
 * launch unpacks nothing), a temporary bundle binds the pristine rootfs
 * read-only, nodev and nosuid, config.json comes from the image config and
 * the options, and the chosen backend runs it under a generated ID: the
 * embedded runtime in this process, or crun/runc executed.  Afterwards the
 * container, the bundle and the instance directory are removed, on success,
 * on error and on SIGINT/SIGTERM (forwarded to the container, whose exit
 * ends the launch).  A launch killed outright is cleaned up by the next one
 * (instance.c).
 *
 * The bundle's mounts are made in a private mount namespace (or the outer
 * user namespace's, rootless), so they vanish with the launch even when it
 * is killed, and never show in the host's mount table; only --keep-bundle
 * mounts in the host's namespace, since its bundle must outlive the launch. */
#include <fcntl.h>
#include <linux/mount.h>
#include <signal.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>

#include "bundle/launch.h"
#include "olrun/json.h"
#include "olrun/log.h"
#include "olrun/spec.h"
#include "olrun/syscalls.h"
#include "olrun/util.h"

static const char *const transports[] = { "oci:", "oci-archive:", "docker-archive:", "docker://" };

bool
olrun_launch_is_reference (const char *arg)
{
  for (size_t i = 0; i < ARRAY_SIZE (transports); i++)
    if (strncmp (arg, transports[i], strlen (transports[i])) == 0)
      return true;
  return strchr (arg, '/') != NULL;
}

static bool
is_bundle_dir (const char *ref)
{
  for (size_t i = 0; i < ARRAY_SIZE (transports); i++)
    if (strncmp (ref, transports[i], strlen (transports[i])) == 0)
      return false;
  _cleanup_free_ char *p = xasprintf ("%s/config.json", ref);
  struct stat st;
  return stat (p, &st) == 0 && S_ISREG (st.st_mode);
}

void
olrun_bind_clear (struct olrun_bind *b)
{
  free (b->src);
  free (b->dst);
  b->src = b->dst = NULL;
}

int
olrun_bind_parse (const char *spec, struct olrun_bind *ret, olrun_error_t *err)
{
  _cleanup_free_ char *s = xstrdup (spec);
  char *dst = strchr (s, ':'), *mode = NULL;
  if (dst)
    {
      *dst++ = '\0';
      if ((mode = strchr (dst, ':')) != NULL)
        *mode++ = '\0';
    }
  if (*s == '\0' || (dst && *dst == '\0'))
    return olrun_invalid (err, "--bind `%s`: expected SRC[:DST[:ro|rw]]", spec);
  bool ro = false;
  if (mode && strcmp (mode, "ro") != 0 && strcmp (mode, "rw") != 0)
    return olrun_invalid (err, "--bind `%s`: the mode is ro or rw, not `%s`", spec, mode);
  ro = mode && strcmp (mode, "ro") == 0;
  const char *d = dst ? dst : s;
  if (d[0] != '/')
    return olrun_invalid (err, "--bind `%s`: the destination `%s` is not absolute", spec, d);
  for (const char *p = d; (p = strstr (p, "..")) != NULL; p += 2)
    if ((p == d || p[-1] == '/') && (p[2] == '\0' || p[2] == '/'))
      return olrun_invalid (err, "--bind `%s`: the destination contains `..`", spec);
  char *src = realpath (s, NULL);
  if (src == NULL)
    return olrun_error_set (err, OLRUN_E_INVALID, errno, "--bind `%s`: source `%s`", spec, s);
  ret->src = src;
  ret->dst = xstrdup (d);
  ret->ro = ro;
  return 0;
}

/* A bundle directory brings its own config.json: options that would
 * change it are refused rather than ignored. */
static int
check_bundle_opts (const struct olrun_launch_opts *o, olrun_error_t *err)
{
  const struct olrun_config_opts *c = &o->config;
  const char *what = c->args ? "a command" : c->entrypoint ? "--entrypoint" : c->env ? "--env"
                     : c->cwd ? "--cwd" : c->hostname ? "--hostname" : c->n_binds ? "--bind"
                     : c->net_none ? "--net" : c->seccomp ? "--seccomp" : o->writable_tmpfs ? "--writable-tmpfs"
                     : o->keep_bundle ? "--keep-bundle" : o->userns || o->fakeroot || geteuid () != 0 ? "a user namespace"
                     : NULL;
  if (what)
    return olrun_invalid (err, "`%s` is a bundle directory: %s applies to images only (edit its config.json)",
                          o->image.ref, what);
  return 0;
}

/* process.terminal of a bundle directory's config. */
static int
bundle_terminal (const char *bundle, bool *ret, olrun_error_t *err)
{
  _cleanup_free_ char *path = xasprintf ("%s/config.json", bundle);
  _cleanup_json_doc_ olrun_json_doc_t *doc = NULL;
  if (olrun_json_parse_file (AT_FDCWD, path, &doc, err) < 0)
    return -1;
  const olrun_json_t *t = olrun_json_get (olrun_json_get (olrun_json_root (doc), "process"), "terminal");
  *ret = t && t->type == OLRUN_JSON_BOOL && t->u.boolean;
  return 0;
}

/* The upper layer of --writable-tmpfs lives on a tmpfs that is never
 * attached anywhere: overlayfs finds it through our fd, keeps it alive,
 * and it goes away with the overlay. */
static int
mount_overlay (const char *lower, const char *target, olrun_error_t *err)
{
  _cleanup_close_ int tfs = olrun_fsopen ("tmpfs", FSOPEN_CLOEXEC);
  if (tfs < 0 || olrun_fsconfig (tfs, FSCONFIG_SET_STRING, "mode", "0755", 0) < 0
      || olrun_fsconfig (tfs, FSCONFIG_CMD_CREATE, NULL, NULL, 0) < 0)
    return olrun_fail (err, errno, "--writable-tmpfs: create the tmpfs");
  _cleanup_close_ int tmnt = olrun_fsmount (tfs, FSMOUNT_CLOEXEC, MOUNT_ATTR_NODEV | MOUNT_ATTR_NOSUID);
  if (tmnt < 0)
    return olrun_fail (err, errno, "--writable-tmpfs: mount the tmpfs");
  /* The merged root takes the upper dir's owner and mode: copy the image's. */
  struct stat st;
  if (stat (lower, &st) < 0 || mkdirat (tmnt, "upper", st.st_mode & 07777) < 0 || mkdirat (tmnt, "work", 0700) < 0
      || fchownat (tmnt, "upper", st.st_uid, st.st_gid, 0) < 0)
    return olrun_fail (err, errno, "--writable-tmpfs: prepare the upper layer");
  _cleanup_free_ char *upper = xasprintf ("/proc/self/fd/%d/upper", tmnt);
  _cleanup_free_ char *work = xasprintf ("/proc/self/fd/%d/work", tmnt);
  _cleanup_close_ int ofs = olrun_fsopen ("overlay", FSOPEN_CLOEXEC);
  if (ofs < 0)
    return olrun_error_set (err, OLRUN_E_UNSUPPORTED, errno, "--writable-tmpfs needs overlayfs");
  /* lowerdir+ (Linux 6.8) takes the path as is; plain lowerdir splits on ':'. */
  if (olrun_fsconfig (ofs, FSCONFIG_SET_STRING, "lowerdir+", lower, 0) < 0
      && (strpbrk (lower, ":,\\") || olrun_fsconfig (ofs, FSCONFIG_SET_STRING, "lowerdir", lower, 0) < 0))
    return olrun_fail (err, errno, "--writable-tmpfs: overlay lowerdir `%s`", lower);
  if (olrun_fsconfig (ofs, FSCONFIG_SET_STRING, "upperdir", upper, 0) < 0
      || olrun_fsconfig (ofs, FSCONFIG_SET_STRING, "workdir", work, 0) < 0)
    return olrun_fail (err, errno, "--writable-tmpfs: overlay upper and work dirs");
  /* Unprivileged overlay mounts keep their metadata in user.* xattrs. */
  if (getuid () != 0 || geteuid () != 0)
    olrun_fsconfig (ofs, FSCONFIG_SET_FLAG, "userxattr", NULL, 0);
  if (olrun_fsconfig (ofs, FSCONFIG_CMD_CREATE, NULL, NULL, 0) < 0)
    return olrun_fail (err, errno, "--writable-tmpfs: create the overlay");
  _cleanup_close_ int omnt = olrun_fsmount (ofs, FSMOUNT_CLOEXEC, MOUNT_ATTR_NODEV | MOUNT_ATTR_NOSUID);
  if (omnt < 0 || olrun_move_mount (omnt, "", AT_FDCWD, target, MOVE_MOUNT_F_EMPTY_PATH) < 0)
    return olrun_fail (err, errno, "--writable-tmpfs: mount the overlay on `%s`", target);
  return 0;
}

/* mkdir dir, or accept an existing empty one (--keep-bundle DIR). */
static int
make_bundle_dir (const char *dir, olrun_error_t *err)
{
  if (mkdir (dir, 0700) == 0)
    return 0;
  if (errno != EEXIST)
    return olrun_fail (err, errno, "create bundle `%s`", dir);
  _cleanup_closedir_ DIR *d = opendir (dir);
  if (d == NULL)
    return olrun_fail (err, errno, "open bundle `%s`", dir);
  struct dirent *de;
  while ((de = readdir (d)) != NULL)
    if (strcmp (de->d_name, ".") != 0 && strcmp (de->d_name, "..") != 0)
      return olrun_error_set (err, OLRUN_E_EXISTS, 0, "bundle `%s` exists and is not empty", dir);
  return 0;
}

static int
build_bundle (struct launch *l, const struct olrun_config_opts *co, olrun_error_t *err)
{
  _cleanup_close_ int rootfs_fd = open (l->img->rootfs, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (rootfs_fd < 0)
    return olrun_fail (err, errno, "open `%s`", l->img->rootfs);
  _cleanup_free_ char *config = NULL;
  if (olrun_config_generate (l->img, rootfs_fd, co, &config, err) < 0)
    return -1;
  if (make_bundle_dir (l->bundle, err) < 0)
    return -1;
  l->made_bundle = true;
  _cleanup_close_ int bfd = open (l->bundle, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
  if (bfd < 0 || mkdirat (bfd, "rootfs", 0755) < 0)
    return olrun_fail (err, errno, "create `%s/rootfs`", l->bundle);
  _cleanup_free_ char *target = xasprintf ("%s/rootfs", l->bundle);
  bool overlay = l->o->writable_tmpfs || olrun_config_needs_mountpoints (rootfs_fd, co);
  if (overlay ? mount_overlay (l->img->rootfs, target, err) < 0
              : olrun_bundle_mount_rootfs (l->img->rootfs, target, err) < 0)
    return -1;
  return olrun_atomic_write_nosync_at (bfd, "config.json", config, strlen (config), 0644, err);
}

static int
launch_prepare (struct launch *l, struct olrun_config_opts *co, bool *ret_is_bundle, olrun_error_t *err)
{
  const struct olrun_launch_opts *o = l->o;
  if (olrun_backend_resolve (l->ctx, o->backend ? o->backend : l->ctx->backend, &l->backend, err) < 0)
    return -1;
  *ret_is_bundle = is_bundle_dir (o->image.ref);
  if (*ret_is_bundle && check_bundle_opts (o, err) < 0)
    return -1;
  instance_cleanup_stale (l->ctx);
  if (!*ret_is_bundle && olrun_image_prepare (&o->image, &l->img, err) < 0)
    return -1;
  if (o->userns || o->fakeroot || geteuid () != 0)
    return launch_enter_userns (l, co, err);
  if (o->keep_bundle)
    return 0;
  _cleanup_free_ char *dir = xasprintf ("%s/.launch", l->ctx->root);
  if (olrun_mkdir_p_at (AT_FDCWD, dir, 0700, err) < 0)
    return -1;
  return launch_enter_mountns (dir, err);
}

static int
launch_setup (struct launch *l, const struct olrun_config_opts *co, bool is_bundle, olrun_error_t *err)
{
  const struct olrun_launch_opts *o = l->o;
  if (instance_create (l->ctx, &l->inst, err) < 0)
    return -1;
  if (is_bundle)
    {
      if ((l->bundle = realpath (o->image.ref, NULL)) == NULL)
        return olrun_fail (err, errno, "bundle `%s`", o->image.ref);
      if (bundle_terminal (l->bundle, &l->terminal, err) < 0)
        return -1;
    }
  else if (o->keep_bundle)
    {
      _cleanup_free_ char *cwd = getcwd (NULL, 0);
      l->bundle = o->keep_bundle[0] == '/' || cwd == NULL ? xstrdup (o->keep_bundle)
                                                          : xasprintf ("%s/%s", cwd, o->keep_bundle);
    }
  else
    l->bundle = xasprintf ("%s/bundle", l->inst.dir);
  struct instance_record r = {
    .ref = (char *) o->image.ref, .bundle = l->bundle, .keep_bundle = o->keep_bundle != NULL,
    .backend = l->backend->name, .backend_path = l->backend->path, .backend_root = l->backend->root,
    .detached = o->detach, .terminal = l->terminal, .stdin_open = o->interactive,
  };
  /* Recorded before anything is made, so a killed launch can be undone. */
  if (instance_record_write (&l->inst, &r, err) < 0)
    return -1;
  return is_bundle ? 0 : build_bundle (l, co, err);
}

/* A signal that arrived while the launch was being prepared ends it
 * before the container starts. */
static int
pending_termination (void)
{
  static const int sigs[] = { SIGINT, SIGTERM, SIGHUP, SIGQUIT };
  sigset_t p;
  if (sigpending (&p) < 0)
    return 0;
  for (size_t i = 0; i < ARRAY_SIZE (sigs); i++)
    if (sigismember (&p, sigs[i]))
      {
        sigset_t one;
        sigemptyset (&one);
        sigaddset (&one, sigs[i]);
        struct timespec zero = { 0, 0 };
        sigtimedwait (&one, NULL, &zero);
        return sigs[i];
      }
  return 0;
}

static int
block_termination (struct launch *l, olrun_error_t *err)
{
  sigset_t set;
  sigemptyset (&set);
  sigaddset (&set, SIGINT);
  sigaddset (&set, SIGTERM);
  sigaddset (&set, SIGHUP);
  sigaddset (&set, SIGQUIT);
  if (sigprocmask (SIG_BLOCK, &set, &l->saved_mask) < 0)
    return olrun_fail (err, errno, "sigprocmask");
  l->masked = true;
  return 0;
}

static void
restore_signals (struct launch *l)
{
  if (!l->masked)
    return;
  /* Signals that came after the container exited have done their job
   * (the launch is over); they must not kill us now. */
  while (pending_termination () != 0)
    ;
  sigprocmask (SIG_SETMASK, &l->saved_mask, NULL);
  l->masked = false;
}

/* The pid of the container's init, from `BACKEND state ID`; 0 if unknown. */
static pid_t
external_init_pid (struct launch *l)
{
  int out[2];
  if (pipe2 (out, O_CLOEXEC) < 0)
    return 0;
  int null = open ("/dev/null", O_RDWR | O_CLOEXEC);
  int stdio[3] = { null, out[1], null };
  char *args[] = { "state", l->inst.id, NULL };
  pid_t child = -1, pid = 0;
  olrun_error_t e = NULL;
  _cleanup_free_ char *text = NULL;
  size_t len = 0;
  int rc = olrun_backend_spawn (l->backend, &l->rctx, args, stdio, &child, &e);
  safe_close (out[1]);
  safe_close (null);
  if (rc == 0)
    rc = olrun_read_fd (out[0], &text, &len, &e);
  safe_close (out[0]);
  olrun_error_t waited = NULL;
  if (child > 0 && olrun_backend_wait (l->backend, child, "state", NULL, &waited) < 0)
    rc = -1;
  olrun_error_release (&waited);
  _cleanup_json_doc_ olrun_json_doc_t *doc = NULL;
  int64_t v = 0;
  if (rc == 0 && olrun_json_parse (text, len, "state", &doc, &e) == 0)
    {
      const olrun_json_t *n = olrun_json_get (olrun_json_root (doc), "pid");
      if (n && n->type == OLRUN_JSON_NUMBER && olrun_json_number_int64 (n, &v) == 0 && v > 0)
        pid = (pid_t) v;
    }
  olrun_error_release (&e);
  return pid;
}

/* crun 1.8.1's own `run` does not pass a new window size on to the
 * container's terminal (runc's does): set it on the pty its init has as
 * stdin, which makes the kernel send the container its SIGWINCH. */
static void
external_winsize (struct launch *l)
{
  struct winsize ws;
  if (!l->terminal || ioctl (STDIN_FILENO, TIOCGWINSZ, &ws) < 0)
    return;
  pid_t pid = external_init_pid (l);
  _cleanup_free_ char *path = xasprintf ("/proc/%d/fd/0", (int) pid);
  _cleanup_close_ int fd = pid > 0 ? open (path, O_RDWR | O_NOCTTY | O_NONBLOCK | O_CLOEXEC) : -1;
  struct stat st;
  /* Only a pty slave (Unix98 majors 136-143): never another file. */
  if (fd >= 0 && fstat (fd, &st) == 0 && S_ISCHR (st.st_mode) && major (st.st_rdev) >= 136 && major (st.st_rdev) <= 143)
    ioctl (fd, TIOCSWINSZ, &ws);
}

/* An external backend in the foreground: `BACKEND run`, with the caller's
 * stdio and terminal (the backend relays it), signals forwarded.  Those
 * the kernel sends (a terminal's ^C, SIGWINCH) reach the backend directly,
 * since it shares our process group, so only the others are forwarded. */
static int
run_external (struct launch *l, int *ret_status, olrun_error_t *err)
{
  sigset_t old;
  _cleanup_close_ int sfd = olrun_signals_forward_fd (&old, err);
  if (sfd < 0)
    return -1;
  char *args[] = { "run", "--bundle", l->bundle, l->inst.id, NULL };
  pid_t pid = -1;
  int rc = olrun_backend_spawn (l->backend, &l->rctx, args, NULL, &pid, err);
  while (rc == 0)
    {
      struct signalfd_siginfo si;
      if (read (sfd, &si, sizeof si) != sizeof si)
        continue;
      if (si.ssi_signo == SIGCHLD)
        {
          int status;
          if (waitpid (pid, &status, WNOHANG) == pid)
            {
              *ret_status = WIFEXITED (status) ? WEXITSTATUS (status) : 128 + WTERMSIG (status);
              break;
            }
        }
      else if (si.ssi_signo == SIGWINCH)
        external_winsize (l);
      else if (si.ssi_code != SI_KERNEL)
        kill (pid, (int) si.ssi_signo);
    }
  sigprocmask (SIG_SETMASK, &old, NULL);
  return rc;
}

static int
launch_foreground (struct launch *l, int *ret_status, olrun_error_t *err)
{
  int sig = pending_termination ();
  if (sig)
    {
      *ret_status = 128 + sig;
      return 0;
    }
  if (!olrun_backend_embedded (l->backend))
    return run_external (l, ret_status, err);
  struct olrun_create_opts co = { .id = l->inst.id, .bundle = l->bundle };
  return olrun_container_run (&l->rctx, &co, ret_status, err);
}

/* Teardown steps go on after a failure; the first error is reported. */
static void
keep_first (olrun_error_t *first, olrun_error_t *tmp)
{
  if (*tmp == NULL)
    return;
  if (*first == NULL)
    *first = TAKE_PTR (*tmp);
  else
    olrun_error_release (tmp);
}

int
launch_teardown (struct launch *l, bool keep_record, olrun_error_t *err)
{
  olrun_error_t first = NULL, tmp = NULL;
  if (l->inst.id == NULL)
    return 0;
  /* The runtime deletes what it ran; this catches a run that failed half
   * way.  An external backend is asked only if it has state for the ID. */
  _cleanup_free_ char *state = l->backend->root ? xasprintf ("%s/%s", l->backend->root, l->inst.id) : NULL;
  struct stat st;
  if (state == NULL || stat (state, &st) == 0)
    {
      instance_delete_container (&l->rctx, l->backend, l->inst.id, &tmp);
      keep_first (&first, &tmp);
    }
  if (l->made_bundle && !l->o->keep_bundle)
    {
      instance_remove_bundle (l->inst.dirfd, "bundle", &tmp);
      keep_first (&first, &tmp);
    }
  if (!keep_record)
    {
      _cleanup_free_ char *launch_dir = xasprintf ("%s/.launch", l->ctx->root);
      _cleanup_close_ int lfd = open (launch_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
      if (lfd < 0)
        olrun_fail (&tmp, errno, "open `%s`", launch_dir);
      else
        olrun_rm_rf_at (lfd, l->inst.id, &tmp);
      keep_first (&first, &tmp);
    }
  if (first == NULL)
    return 0;
  *err = first;
  return olrun_error_wrap (err, "remove the launch `%s`", l->inst.id);
}

int
olrun_launch (const struct olrun_context *ctx, const struct olrun_launch_opts *o, int *ret_status, char **ret_id,
              olrun_error_t *err)
{
  struct launch l = { .ctx = ctx, .o = o, .rctx = *ctx, .inst = { .dirfd = -1 }, .terminal = o->config.terminal };
  struct olrun_config_opts co = o->config;
  co.writable = o->writable_tmpfs;
  struct winsize ws;
  if (co.terminal && ioctl (STDIN_FILENO, TIOCGWINSZ, &ws) == 0)
    {
      co.console_rows = ws.ws_row;
      co.console_cols = ws.ws_col;
    }
  bool is_bundle = false;
  int rc = launch_prepare (&l, &co, &is_bundle, err);
  if (rc == 0)
    rc = block_termination (&l, err);
  if (rc == 0)
    rc = launch_setup (&l, &co, is_bundle, err);
  bool handed_off = false;
  if (rc == 0 && o->detach)
    {
      rc = monitor_launch (&l, err);
      handed_off = rc == 0;
      if (rc == 0)
        *ret_id = xstrdup (l.inst.id);
    }
  else if (rc == 0)
    rc = launch_foreground (&l, ret_status, err);
  if (handed_off)
    ; /* the monitor owns the instance now */
  else if (rc < 0)
    {
      olrun_error_t tmp = NULL;
      launch_teardown (&l, false, &tmp);
      if (tmp)
        olrun_debug ("teardown after the error: %s", tmp->msg);
      olrun_error_release (&tmp);
    }
  else
    rc = launch_teardown (&l, false, err);
  instance_close (&l.inst);
  restore_signals (&l);
  olrun_idmaps_free (&co.inner_uidmap);
  olrun_idmaps_free (&co.inner_gidmap);
  olrun_image_free (l.img);
  olrun_backend_free (l.backend);
  free (l.bundle);
  return rc;
}

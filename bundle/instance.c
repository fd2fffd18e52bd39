/* Launcher instances: one directory per launch, <root>/.launch/<id>/.
 *
 *   instance.json  the backend, the bundle, whether it is detached
 *   bundle/        the temporary bundle (unless --keep-bundle)
 *   attach.sock    a detached instance's monitor listens here
 *   log, exit      a detached instance's output and exit status
 *
 * The launcher, and then a detached instance's monitor, holds an
 * exclusive flock on the directory for as long as the instance lives.  So
 * a directory nobody holds belongs to an olrun that was killed: the next
 * launch deletes its container and removes its bundle.  A detached
 * instance that exited keeps its log and exit status (unlocked, with an
 * `exit` file) until `olrun delete ID`.
 *
 * Creating a directory and locking it are two steps, and a cleaner must
 * never see one between them: creators hold a shared flock on .launch/
 * itself while they do, the cleaner an exclusive one while it scans. */
#include <fcntl.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mount.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>

#include "bundle/launch.h"
#include "olrun/json.h"
#include "olrun/log.h"
#include "olrun/runtime.h"
#include "olrun/spec.h"
#include "olrun/util.h"

#define LAUNCH_DIR ".launch"

static int
open_launch_dir (const struct olrun_context *ctx, bool create, int *ret, olrun_error_t *err)
{
  _cleanup_free_ char *path = xasprintf ("%s/" LAUNCH_DIR, ctx->root);
  if (create && olrun_mkdir_p_at (AT_FDCWD, path, 0700, err) < 0)
    return -1;
  int fd = open (path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0)
    return olrun_error_set (err, errno == ENOENT ? OLRUN_E_NOT_EXIST : OLRUN_E_GENERIC, errno, "open `%s`", path);
  *ret = fd;
  return 0;
}

void
instance_close (struct instance *in)
{
  free (in->id);
  free (in->dir);
  in->id = in->dir = NULL;
  in->dirfd = safe_close (in->dirfd);
}

static char *
new_id (void)
{
  uint8_t r[6];
  if (getrandom (r, sizeof r, 0) != sizeof r)
    {
      struct timespec ts;
      clock_gettime (CLOCK_REALTIME, &ts);
      uint64_t x = (uint64_t) ts.tv_nsec ^ ((uint64_t) getpid () << 32);
      memcpy (r, &x, sizeof r);
    }
  return xasprintf ("olrun-%02x%02x%02x%02x%02x%02x", r[0], r[1], r[2], r[3], r[4], r[5]);
}

int
instance_create (const struct olrun_context *ctx, struct instance *ret, olrun_error_t *err)
{
  _cleanup_close_ int lfd = -1;
  if (open_launch_dir (ctx, true, &lfd, err) < 0)
    return -1;
  if (flock (lfd, LOCK_SH) < 0)
    return olrun_fail (err, errno, "lock `%s/" LAUNCH_DIR "`", ctx->root);
  for (int attempt = 0; attempt < 8; attempt++)
    {
      _cleanup_free_ char *id = new_id ();
      if (mkdirat (lfd, id, 0700) < 0)
        {
          if (errno == EEXIST)
            continue;
          return olrun_fail (err, errno, "create `%s/" LAUNCH_DIR "/%s`", ctx->root, id);
        }
      int fd = openat (lfd, id, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
      if (fd < 0 || flock (fd, LOCK_EX | LOCK_NB) < 0)
        {
          safe_close (fd);
          return olrun_fail (err, errno, "lock `%s`", id);
        }
      ret->dirfd = fd;
      ret->dir = xasprintf ("%s/" LAUNCH_DIR "/%s", ctx->root, id);
      ret->id = TAKE_PTR (id);
      return 0;
    }
  return olrun_fail (err, EEXIST, "no free instance ID");
}

int
instance_record_write (const struct instance *in, const struct instance_record *r, olrun_error_t *err)
{
  olrun_jw_t *w = olrun_jw_new (true);
  _cleanup_free_ char *now = olrun_rfc3339_now ();
  olrun_jw_object_open (w);
  olrun_jw_kv_string (w, "id", in->id);
  olrun_jw_kv_string (w, "ref", r->ref);
  olrun_jw_kv_string (w, "bundle", r->bundle);
  olrun_jw_kv_bool (w, "keepBundle", r->keep_bundle);
  olrun_jw_kv_string (w, "backend", r->backend);
  olrun_jw_kv_string (w, "backendPath", r->backend_path);
  olrun_jw_kv_string (w, "backendRoot", r->backend_root);
  olrun_jw_kv_bool (w, "detached", r->detached);
  olrun_jw_kv_bool (w, "terminal", r->terminal);
  olrun_jw_kv_bool (w, "stdin", r->stdin_open);
  olrun_jw_kv_string (w, "created", now);
  olrun_jw_object_close (w);
  size_t len = 0;
  const char *text = olrun_jw_text (w, &len);
  int rc = olrun_atomic_write_nosync_at (in->dirfd, "instance.json", text, len, 0600, err);
  olrun_jw_free (w);
  return rc;
}

void
instance_record_clear (struct instance_record *r)
{
  free (r->ref);
  free (r->bundle);
  free (r->backend);
  free (r->backend_path);
  free (r->backend_root);
  memset (r, 0, sizeof *r);
}

int
instance_record_read (int dirfd, struct instance_record *ret, olrun_error_t *err)
{
  _cleanup_json_doc_ olrun_json_doc_t *doc = NULL;
  if (olrun_json_parse_file (dirfd, "instance.json", &doc, err) < 0)
    return -1;
  const olrun_json_t *root = olrun_json_root (doc);
  struct olrun_jdec d = { doc, err };
  struct olrun_jpath top = { 0 };
  if (olrun_jdec_expect (&d, root, &top, OLRUN_JSON_OBJECT) < 0)
    return -1;
  struct instance_record r = { 0 };
  if (olrun_jdec_string (&d, root, &top, "ref", false, &r.ref) < 0
      || olrun_jdec_string (&d, root, &top, "bundle", true, &r.bundle) < 0
      || olrun_jdec_bool (&d, root, &top, "keepBundle", &r.keep_bundle) < 0
      || olrun_jdec_string (&d, root, &top, "backend", true, &r.backend) < 0
      || olrun_jdec_string (&d, root, &top, "backendPath", false, &r.backend_path) < 0
      || olrun_jdec_string (&d, root, &top, "backendRoot", false, &r.backend_root) < 0
      || olrun_jdec_bool (&d, root, &top, "detached", &r.detached) < 0
      || olrun_jdec_bool (&d, root, &top, "terminal", &r.terminal) < 0
      || olrun_jdec_bool (&d, root, &top, "stdin", &r.stdin_open) < 0)
    {
      instance_record_clear (&r);
      return -1;
    }
  *ret = r;
  return 0;
}

/* The backend an instance was started with, as recorded (not as the
 * caller's options or environment say now). */
int
instance_backend (const struct olrun_context *ctx, const struct instance_record *r, struct olrun_backend **ret,
                  olrun_error_t *err)
{
  struct olrun_backend *b = xzalloc (sizeof *b);
  b->name = xstrdup (r->backend);
  if (r->backend_path)
    {
      b->path = xstrdup (r->backend_path);
      b->root = xstrdup (r->backend_root ? r->backend_root : ctx->root);
      b->crun = strstr (strrchr (b->path, '/') ? strrchr (b->path, '/') : b->path, "crun") != NULL;
    }
  *ret = b;
  return 0;
}

int
instance_delete_container (const struct olrun_context *ctx, const struct olrun_backend *b, const char *id,
                           olrun_error_t *err)
{
  if (olrun_backend_embedded (b))
    return olrun_container_delete (ctx, id, true, err);
  char *args[] = { "delete", "--force", (char *) id, NULL };
  int null = open ("/dev/null", O_RDWR | O_CLOEXEC);
  int stdio[3] = { null, null, null };
  int rc = olrun_backend_call (b, ctx, args, null >= 0 ? stdio : NULL, err);
  safe_close (null);
  return rc;
}

/* Whether dirfd/name is the root of a mount (a different mount id from
 * the directory holding it). */
bool
instance_is_mountpoint (int dirfd, const char *name)
{
  struct statx a, b;
  if (statx (dirfd, name, AT_SYMLINK_NOFOLLOW, STATX_MNT_ID, &a) < 0
      || statx (dirfd, "", AT_EMPTY_PATH, STATX_MNT_ID, &b) < 0)
    return false;
  return a.stx_mnt_id != b.stx_mnt_id;
}

/* Unmount everything stacked on dir/name, then check nothing is left:
 * rm -rf must never run into a bind of the pristine tree. */
int
instance_unmount (int dirfd, const char *name, olrun_error_t *err)
{
  _cleanup_close_ int fd = openat (dirfd, name, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0)
    return errno == ENOENT ? 0 : olrun_fail (err, errno, "open `%s`", name);
  _cleanup_free_ char *path = xasprintf ("/proc/self/fd/%d/%s", dirfd, name);
  for (int i = 0; i < 16 && instance_is_mountpoint (dirfd, name); i++)
    if (umount2 (path, MNT_DETACH | UMOUNT_NOFOLLOW) < 0 && errno != EINVAL)
      return olrun_fail (err, errno, "unmount `%s`", name);
  if (instance_is_mountpoint (dirfd, name))
    return olrun_fail (err, EBUSY, "unmount `%s`", name);
  return 0;
}

/* Remove the bundle of an instance: bundle/rootfs and the overlay's
 * tmpfs may be mounted (in this mount namespace, or the host's with
 * --keep-bundle), and are unmounted first. */
int
instance_remove_bundle (int bundle_fd_parent, const char *name, olrun_error_t *err)
{
  _cleanup_close_ int bfd = openat (bundle_fd_parent, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (bfd < 0)
    return errno == ENOENT ? 0 : olrun_fail (err, errno, "open bundle `%s`", name);
  if (instance_unmount (bfd, "rootfs", err) < 0 || instance_unmount (bfd, ".overlay", err) < 0)
    return -1;
  return olrun_rm_rf_at (bundle_fd_parent, name, err);
}

/* One unlocked instance directory: delete its container and bundle.  A
 * detached instance that finished (it has `exit`) is kept for logs. */
static int
cleanup_one (const struct olrun_context *ctx, int lfd, const char *name, olrun_error_t *err)
{
  _cleanup_close_ int fd = openat (lfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0 || flock (fd, LOCK_EX | LOCK_NB) < 0)
    return 0; /* alive, or gone */
  struct stat st;
  if (fstatat (fd, "exit", &st, 0) == 0)
    return 0;
  olrun_debug ("removing the stale launch `%s`", name);
  struct instance_record r = { 0 };
  olrun_error_t tmp = NULL;
  if (instance_record_read (fd, &r, &tmp) == 0)
    {
      _cleanup_backend_ struct olrun_backend *b = NULL;
      instance_backend (ctx, &r, &b, &tmp);
      if (instance_delete_container (ctx, b, name, &tmp) < 0)
        {
          olrun_warn ("stale launch `%s`: %s", name, tmp->msg);
          olrun_error_release (&tmp);
        }
      if (r.keep_bundle)
        olrun_debug ("stale launch `%s`: keeping its bundle `%s`", name, r.bundle);
    }
  olrun_error_release (&tmp);
  instance_record_clear (&r);
  if (instance_remove_bundle (fd, "bundle", err) < 0)
    return olrun_error_wrap (err, "stale launch `%s`", name);
  return olrun_rm_rf_at (lfd, name, err);
}

void
instance_cleanup_stale (const struct olrun_context *ctx)
{
  _cleanup_close_ int lfd = -1;
  olrun_error_t err = NULL;
  if (open_launch_dir (ctx, false, &lfd, &err) < 0)
    {
      olrun_error_release (&err);
      return;
    }
  if (flock (lfd, LOCK_EX | LOCK_NB) < 0)
    return; /* someone is creating one (or cleaning): next time */
  _cleanup_closedir_ DIR *d = fdopendir (dup (lfd));
  struct dirent *de;
  while (d && (de = readdir (d)) != NULL)
    if (de->d_name[0] != '.' && cleanup_one (ctx, lfd, de->d_name, &err) < 0)
      {
        olrun_warn ("%s", err->msg);
        olrun_error_release (&err);
      }
}

int
instance_open (const struct olrun_context *ctx, const char *id, struct instance *ret, bool *ret_alive,
               olrun_error_t *err)
{
  if (!olrun_id_valid (id))
    return olrun_invalid (err, "invalid container ID `%s`", id);
  _cleanup_close_ int lfd = -1;
  if (open_launch_dir (ctx, false, &lfd, err) < 0)
    {
      olrun_error_release (err);
      return olrun_error_set (err, OLRUN_E_NOT_EXIST, 0, "instance `%s` does not exist", id);
    }
  int fd = openat (lfd, id, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0)
    return olrun_error_set (err, errno == ENOENT ? OLRUN_E_NOT_EXIST : OLRUN_E_GENERIC, errno,
                            "instance `%s` does not exist", id);
  /* A shared lock we can take means nobody holds the instance. */
  *ret_alive = flock (fd, LOCK_SH | LOCK_NB) < 0;
  if (!*ret_alive)
    flock (fd, LOCK_UN);
  ret->dirfd = fd;
  ret->id = xstrdup (id);
  ret->dir = xasprintf ("%s/" LAUNCH_DIR "/%s", ctx->root, id);
  return 0;
}

bool
instance_alive (const struct instance *in)
{
  if (flock (in->dirfd, LOCK_SH | LOCK_NB) < 0)
    return true;
  flock (in->dirfd, LOCK_UN);
  return false;
}

int
olrun_instance_remove (const struct olrun_context *ctx, const char *id, olrun_error_t *err)
{
  struct instance in = { .dirfd = -1 };
  bool alive = false;
  if (instance_open (ctx, id, &in, &alive, err) < 0)
    return -1;
  int rc = 0;
  struct stat st;
  if (alive)
    rc = olrun_error_set (err, OLRUN_E_BAD_STATE, 0, "instance `%s` is running (use `olrun stop`)", id);
  else if (fstatat (in.dirfd, "exit", &st, 0) < 0)
    rc = olrun_error_set (err, OLRUN_E_BAD_STATE, 0, "instance `%s` has not finished", id);
  else
    {
      _cleanup_close_ int lfd = -1;
      if ((rc = open_launch_dir (ctx, false, &lfd, err)) == 0)
        rc = olrun_rm_rf_at (lfd, id, err);
    }
  instance_close (&in);
  return rc;
}

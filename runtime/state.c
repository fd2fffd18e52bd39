/* The state store: one directory per container under --root, holding
 * state.json.  Writes are atomic (temp, fsync, rename); a per-container
 * flock orders concurrent commands; mkdir makes duplicate IDs impossible,
 * even for two creates racing. */
#include <fcntl.h>
#include <inttypes.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>

#include "olrun/json.h"
#include "olrun/runtime.h"
#include "olrun/spec.h"
#include "olrun/syscalls.h"
#include "olrun/util.h"
#include "runtime/internal.h"

static const char *const status_names[] = {
  [OLRUN_STATUS_CREATING] = "creating", [OLRUN_STATUS_CREATED] = "created",
  [OLRUN_STATUS_RUNNING] = "running",   [OLRUN_STATUS_PAUSED] = "paused",
  [OLRUN_STATUS_STOPPED] = "stopped",
};

const char *
olrun_status_name (enum olrun_status s)
{
  return status_names[s];
}

static uint64_t
fnv1a (const char *s, uint64_t h)
{
  for (; *s; s++)
    h = (h ^ (unsigned char) *s) * UINT64_C (0x100000001b3);
  return h;
}

/* IDs may be 1,024 bytes long, file names only 255.  A long ID gets a
 * directory named by its first 64 bytes and a 128-bit hash; '~' cannot
 * occur in an ID, so these never clash with a short one, and state.json
 * keeps the whole ID (checked on open, so even a crafted collision is
 * refused rather than confused). */
char *
olrun_state_dirname (const char *id)
{
  if (strlen (id) <= 200)
    return xstrdup (id);
  return xasprintf ("%.64s~%016llx%016llx", id, (unsigned long long) fnv1a (id, UINT64_C (0xcbf29ce484222325)),
                    (unsigned long long) fnv1a (id, UINT64_C (0x6c62272e07bb0142)));
}

static int
open_root (const char *root, bool create, olrun_error_t *err)
{
  if (create && olrun_mkdir_p_at (AT_FDCWD, root, 0700, err) < 0)
    return olrun_error_wrap (err, "state directory");
  int fd = open (root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0)
    return olrun_fail (err, errno, "open state directory `%s`", root);
  return fd;
}

int
olrun_state_dir_create (const char *root, const char *id, int *ret_dirfd, olrun_error_t *err)
{
  _cleanup_close_ int rootfd = open_root (root, true, err);
  if (rootfd < 0)
    return -1;
  _cleanup_free_ char *name = olrun_state_dirname (id);
  if (mkdirat (rootfd, name, 0700) < 0)
    {
      if (errno == EEXIST)
        return olrun_error_set (err, OLRUN_E_EXISTS, 0, "container `%s` already exists", id);
      return olrun_fail (err, errno, "create state directory for `%s`", id);
    }
  int fd = openat (rootfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0 || flock (fd, LOCK_EX) < 0)
    {
      int e = errno;
      safe_close (fd);
      unlinkat (rootfd, name, AT_REMOVEDIR);
      return olrun_fail (err, e, "open state directory for `%s`", id);
    }
  *ret_dirfd = fd;
  return 0;
}

int
olrun_state_dir_open (const char *root, const char *id, bool lock, int *ret_dirfd, olrun_error_t *err)
{
  if (!olrun_id_valid (id))
    return olrun_invalid (err, "invalid container ID `%s`", id);
  _cleanup_close_ int rootfd = open (root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (rootfd < 0 && errno != ENOENT)
    return olrun_fail (err, errno, "open state directory `%s`", root);
  _cleanup_free_ char *name = olrun_state_dirname (id);
  _cleanup_close_ int fd = rootfd < 0 ? -1 : openat (rootfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0)
    {
      if (errno == ENOENT)
        return olrun_error_set (err, OLRUN_E_NOT_EXIST, 0, "container `%s` does not exist", id);
      return olrun_fail (err, errno, "open state of `%s`", id);
    }
  if (lock && flock (fd, LOCK_EX) < 0)
    return olrun_fail (err, errno, "lock state of `%s`", id);
  *ret_dirfd = TAKE_FD (fd);
  return 0;
}

int
olrun_state_dir_remove (const char *root, const char *id, olrun_error_t *err)
{
  _cleanup_close_ int rootfd = open (root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (rootfd < 0)
    return errno == ENOENT ? 0 : olrun_fail (err, errno, "open `%s`", root);
  _cleanup_free_ char *name = olrun_state_dirname (id);
  return olrun_rm_rf_at (rootfd, name, err);
}

int
olrun_state_write (int dirfd, const struct olrun_state *s, olrun_error_t *err)
{
  olrun_jw_t *w = olrun_jw_new (false);
  olrun_jw_object_open (w);
  olrun_jw_kv_string (w, "id", s->id);
  olrun_jw_kv_string (w, "status", s->recorded_status);
  olrun_jw_kv_int (w, "pid", s->pid);
  olrun_jw_key (w, "start_time");
  olrun_jw_uint (w, s->start_time);
  olrun_jw_kv_string (w, "bundle", s->bundle);
  olrun_jw_kv_string (w, "rootfs", s->rootfs);
  olrun_jw_kv_string (w, "created", s->created);
  olrun_jw_kv_string (w, "cgroup_manager", s->cgroup_manager);
  olrun_jw_kv_string (w, "cgroup_path", s->cgroup_path);
  olrun_jw_kv_bool (w, "own_pidns", s->own_pidns);
  olrun_jw_kv_int (w, "owner", s->owner);
  olrun_jw_kv_string (w, "annotations", s->annotations);
  olrun_jw_object_close (w);
  size_t len;
  const char *text = olrun_jw_text (w, &len);
  /* Atomic (temp file, rename), so no reader ever sees half a state; not
   * fsynced.  The state describes processes and cgroups, which a power
   * loss takes with it, and a killed olrun leaves the page cache intact:
   * an fsync protects nothing that survives, and costs 0.7-1.3 ms per
   * write where --root is on disk (it is here), a fifth of a `run`.
   * runc and crun do not fsync their state either.  A state.json lost to
   * a crash reads as unreadable, and `delete --force` removes it. */
  int rc = olrun_atomic_write_nosync_at (dirfd, "state.json", text, len, 0600, err);
  olrun_jw_free (w);
  return rc;
}

int
olrun_state_read (int dirfd, const char *id, struct olrun_state **ret, olrun_error_t *err)
{
  _cleanup_json_doc_ olrun_json_doc_t *doc = NULL;
  if (olrun_json_parse_file (dirfd, "state.json", &doc, err) < 0)
    {
      /* A create killed before its first write leaves an empty directory. */
      if ((*err)->errnum == ENOENT)
        {
          olrun_error_release (err);
          struct olrun_state *s = xzalloc (sizeof *s);
          s->id = xstrdup (id);  /* NULL when the caller does not know it */
          s->recorded_status = xstrdup ("creating");
          *ret = s;
          return 0;
        }
      return olrun_error_wrap (err, "state of `%s`", id);
    }
  struct olrun_jdec d = { .doc = doc, .err = err };
  const olrun_json_t *r = olrun_json_root (doc);
  _cleanup_state_ struct olrun_state *s = xzalloc (sizeof *s);
  int64_t pid = 0, owner = 0;
  uint64_t start = 0;
  if (olrun_jdec_expect (&d, r, NULL, OLRUN_JSON_OBJECT) < 0
      || olrun_jdec_string (&d, r, NULL, "id", true, &s->id) < 0
      || olrun_jdec_string (&d, r, NULL, "status", true, &s->recorded_status) < 0
      || olrun_jdec_int64 (&d, r, NULL, "pid", 0, INT32_MAX, &pid, NULL) < 0
      || olrun_jdec_uint64 (&d, r, NULL, "start_time", &start, NULL) < 0
      || olrun_jdec_string (&d, r, NULL, "bundle", false, &s->bundle) < 0
      || olrun_jdec_string (&d, r, NULL, "rootfs", false, &s->rootfs) < 0
      || olrun_jdec_string (&d, r, NULL, "created", false, &s->created) < 0
      || olrun_jdec_string (&d, r, NULL, "cgroup_manager", false, &s->cgroup_manager) < 0
      || olrun_jdec_string (&d, r, NULL, "cgroup_path", false, &s->cgroup_path) < 0
      || olrun_jdec_bool (&d, r, NULL, "own_pidns", &s->own_pidns) < 0
      || olrun_jdec_int64 (&d, r, NULL, "owner", 0, UINT32_MAX, &owner, NULL) < 0
      || olrun_jdec_string (&d, r, NULL, "annotations", false, &s->annotations) < 0)
    return -1;
  if (id && strcmp (s->id, id) != 0)
    return olrun_error_set (err, OLRUN_E_NOT_EXIST, 0, "container `%s` does not exist", id);
  s->pid = (pid_t) pid;
  s->start_time = start;
  s->owner = (uid_t) owner;
  *ret = TAKE_PTR (s);
  return 0;
}

void
olrun_state_free (struct olrun_state *s)
{
  if (s == NULL)
    return;
  free (s->id);
  free (s->bundle);
  free (s->created);
  free (s->rootfs);
  free (s->recorded_status);
  free (s->cgroup_manager);
  free (s->cgroup_path);
  free (s->annotations);
  free (s);
}

void
olrun_state_freep (struct olrun_state **s)
{
  olrun_state_free (*s);
  *s = NULL;
}

/* Field 22 of /proc/PID/stat (start time in clock ticks since boot) and
 * field 3 (the state letter).  The command name in field 2 may contain
 * spaces and parentheses, so parsing starts after the last ')'. */
int
olrun_proc_stat (pid_t pid, uint64_t *ret_start, char *ret_state)
{
  char path[64];
  snprintf (path, sizeof path, "/proc/%d/stat", (int) pid);
  _cleanup_close_ int fd = open (path, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return -1;
  char buf[1024];
  ssize_t n = olrun_read_all (fd, buf, sizeof buf - 1);
  if (n <= 0)
    return -1;
  buf[n] = '\0';
  char *p = strrchr (buf, ')');
  if (p == NULL || p[1] != ' ')
    return -1;
  p += 2;
  if (ret_state)
    *ret_state = *p;
  /* p is at field 3; skip to field 22. */
  for (int field = 3; field < 22; field++)
    {
      p = strchr (p, ' ');
      if (p == NULL)
        return -1;
      p++;
    }
  *ret_start = strtoull (p, NULL, 10);
  return 0;
}

int
olrun_state_pidfd (const struct olrun_state *s, int *ret_pidfd, olrun_error_t *err)
{
  *ret_pidfd = -1;
  if (s->pid <= 0)
    return 0;
  _cleanup_close_ int pidfd = olrun_pidfd_open (s->pid, 0);
  if (pidfd < 0)
    {
      if (errno == ESRCH)
        return 0;
      return olrun_fail (err, errno, "pidfd_open %d", (int) s->pid);
    }
  /* The pidfd pins whatever process has this pid now.  Only if its start
   * time is the recorded one is it our container: a reused pid is never
   * signalled.  A zombie has exited: the container is stopped. */
  uint64_t start;
  char st = '?';
  if (olrun_proc_stat (s->pid, &start, &st) < 0 || start != s->start_time || st == 'Z' || st == 'X')
    return 0;
  *ret_pidfd = TAKE_FD (pidfd);
  return 0;
}

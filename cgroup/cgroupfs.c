/* The cgroupfs manager: the container's cgroup is a directory in the
 * cgroup2 hierarchy, wherever the host mounts it (/sys/fs/cgroup on a pure
 * v2 host, /sys/fs/cgroup/unified on a hybrid one).  v1 hierarchies are
 * never written. */
#include <fcntl.h>
#include <linux/magic.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <time.h>

#include "olrun/cgroup.h"
#include "olrun/log.h"
#include "olrun/util.h"
#include "cgroup/internal.h"

/* Find the cgroup2 mount: /sys/fs/cgroup itself, or the "unified" mount of
 * a hybrid host.  NULL when the host has no cgroup2 at all. */
const char *
olrun_cgroup2_mountpoint (void)
{
  static const char *const candidates[] = { "/sys/fs/cgroup", "/sys/fs/cgroup/unified" };
  for (size_t i = 0; i < ARRAY_SIZE (candidates); i++)
    {
      struct statfs sfs;
      if (statfs (candidates[i], &sfs) == 0 && sfs.f_type == CGROUP2_SUPER_MAGIC)
        return candidates[i];
    }
  return NULL;
}

/* This process's cgroup2 path, from the "0::" line of /proc/self/cgroup. */
int
olrun_cgroup_own_path (char **ret, olrun_error_t *err)
{
  _cleanup_free_ char *text = NULL;
  if (olrun_read_file_at (AT_FDCWD, "/proc/self/cgroup", &text, NULL, err) < 0)
    return -1;
  for (char *line = text, *next; line && *line; line = next)
    {
      next = strchr (line, '\n');
      if (next)
        *next++ = '\0';
      if (strncmp (line, "0::", 3) == 0)
        {
          *ret = xstrdup (line + 3);
          return 0;
        }
    }
  return olrun_fail (err, 0, "no cgroup2 entry in /proc/self/cgroup");
}

/* runc's forms: an absolute cgroupsPath is used as is, a relative one goes
 * under our own cgroup, and none gives <own>/olrun/<id>. */
int
olrun_cgroup_resolve_path (const char *cgroups_path, const char *id, char **ret, olrun_error_t *err)
{
  if (cgroups_path && *cgroups_path)
    {
      /* A ".." component would let a config place the container anywhere. */
      for (const char *p = cgroups_path; (p = strstr (p, "..")) != NULL; p += 2)
        if ((p == cgroups_path || p[-1] == '/') && (p[2] == '\0' || p[2] == '/'))
          return olrun_invalid (err, "cgroupsPath `%s`: `..` is not allowed", cgroups_path);
      if (cgroups_path[0] == '/')
        {
          *ret = xstrdup (cgroups_path);
          return 0;
        }
    }
  _cleanup_free_ char *own = NULL;
  if (olrun_cgroup_own_path (&own, err) < 0)
    return -1;
  const char *sep = strcmp (own, "/") == 0 ? "" : "/";
  if (cgroups_path && *cgroups_path)
    *ret = xasprintf ("%s%s%s", own, sep, cgroups_path);
  else
    *ret = xasprintf ("%s%solrun/%s", own, sep, id);
  return 0;
}

static int
open_cgroup_dir (struct olrun_cgroup *cg, olrun_error_t *err)
{
  _cleanup_free_ char *full = xasprintf ("%s%s", cg->mountpoint, cg->path);
  cg->dirfd = open (full, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (cg->dirfd < 0)
    return olrun_fail (err, errno, "open cgroup `%s`", full);
  return 0;
}

int
olrun_cgroupfs_create (const struct olrun_cgroup_config *c, struct olrun_cgroup *cg, olrun_error_t *err)
{
  const char *mnt = olrun_cgroup2_mountpoint ();
  if (mnt == NULL)
    return olrun_error_set (err, OLRUN_E_UNSUPPORTED, 0, "cgroup v2 is not mounted");
  if (olrun_cgroup_resolve_path (c->cgroups_path, c->id, &cg->path, err) < 0)
    return -1;
  cg->mountpoint = xstrdup (mnt);
  _cleanup_close_ int root = open (mnt, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (root < 0)
    return olrun_fail (err, errno, "open `%s`", mnt);
  const char *rel = cg->path + strspn (cg->path, "/");
  if (*rel == '\0')
    return olrun_invalid (err, "cgroupsPath resolves to the root cgroup");
  /* The leaf must be new: mkdirat fails with EEXIST if another container
   * (or a stale one) owns it, and we never adopt someone else's cgroup. */
  _cleanup_free_ char *parent = xstrdup (rel);
  char *slash = strrchr (parent, '/');
  if (slash)
    {
      *slash = '\0';
      if (olrun_mkdir_p_at (root, parent, 0755, err) < 0)
        return olrun_error_wrap (err, "create cgroup parent");
    }
  if (mkdirat (root, rel, 0755) < 0)
    {
      if (errno != EEXIST)
        return olrun_fail (err, errno, "create cgroup `%s`", cg->path);
      /* runc and crun reuse an existing empty cgroup (podman pre-creates
       * some); refuse one that still has processes. */
      if (open_cgroup_dir (cg, err) < 0)
        return -1;
      bool populated = false;
      if (olrun_cgroup_populated (cg->dirfd, &populated, err) < 0)
        return -1;
      if (populated)
        return olrun_error_set (err, OLRUN_E_EXISTS, 0, "cgroup `%s` already has processes", cg->path);
      return 0;
    }
  cg->created = true;
  return open_cgroup_dir (cg, err);
}

int
olrun_cgroup_populated (int dirfd, bool *ret, olrun_error_t *err)
{
  _cleanup_free_ char *events = NULL;
  if (olrun_read_file_at (dirfd, "cgroup.events", &events, NULL, err) < 0)
    return -1;
  const char *p = strstr (events, "populated ");
  *ret = p && p[10] == '1';
  return 0;
}

/* Wait until cgroup.events says "populated 0".  The kernel signals changes
 * of that file with POLLPRI, so this does not spin. */
static int
wait_empty (int dirfd, olrun_error_t *err)
{
  _cleanup_close_ int fd = openat (dirfd, "cgroup.events", O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return errno == ENOENT ? 0 : olrun_fail (err, errno, "open cgroup.events");
  for (int tries = 0; tries < 100; tries++)
    {
      bool populated;
      if (olrun_cgroup_populated (dirfd, &populated, err) < 0)
        return -1;
      if (!populated)
        return 0;
      struct pollfd pfd = { .fd = fd, .events = POLLPRI };
      poll (&pfd, 1, 100);
    }
  return olrun_fail (err, EBUSY, "processes remain in the cgroup after SIGKILL");
}

/* cgroup.kill (5.14+) kills everything at once, even processes forking as
 * we go.  Older kernels: signal each pid in cgroup.procs until it is empty. */
int
olrun_cgroupfs_signal_all (int dirfd, int sig, olrun_error_t *err)
{
  if (sig == SIGKILL && olrun_write_file_at (dirfd, "cgroup.kill", "1", 1, err) == 0)
    return 0;
  olrun_error_release (err);
  _cleanup_free_ char *procs = NULL;
  if (olrun_read_file_at (dirfd, "cgroup.procs", &procs, NULL, err) < 0)
    return -1;
  for (char *line = strtok (procs, "\n"); line; line = strtok (NULL, "\n"))
    {
      int64_t pid;
      if (olrun_parse_int64 (line, &pid) == 0 && kill ((pid_t) pid, sig) < 0 && errno != ESRCH)
        return olrun_fail (err, errno, "kill %d", (int) pid);
    }
  return 0;
}

int
olrun_cgroupfs_destroy (struct olrun_cgroup *cg, olrun_error_t *err)
{
  if (cg->dirfd < 0)
    {
      _cleanup_free_ char *full = xasprintf ("%s%s", cg->mountpoint, cg->path);
      cg->dirfd = open (full, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
      if (cg->dirfd < 0)
        return errno == ENOENT ? 0 : olrun_fail (err, errno, "open cgroup `%s`", full);
    }
  bool populated = false;
  if (olrun_cgroup_populated (cg->dirfd, &populated, err) < 0)
    return errno == ENOENT || errno == ENODEV ? (olrun_error_release (err), 0) : -1;
  if (populated
      && (olrun_cgroupfs_signal_all (cg->dirfd, SIGKILL, err) < 0 || wait_empty (cg->dirfd, err) < 0))
    return olrun_error_wrap (err, "cgroup `%s`", cg->path);
  _cleanup_free_ char *full = xasprintf ("%s%s", cg->mountpoint, cg->path);
  /* rmdir can race with the last exits being accounted: retry briefly. */
  for (int tries = 0;; tries++)
    {
      if (rmdir (full) == 0 || errno == ENOENT)
        return 0;
      if (errno != EBUSY || tries == 50)
        return olrun_fail (err, errno, "remove cgroup `%s`", full);
      nanosleep (&(struct timespec){ 0, 2000000 }, NULL);
    }
}

int
olrun_cgroupfs_load (const char *path, struct olrun_cgroup *cg, olrun_error_t *err)
{
  const char *mnt = olrun_cgroup2_mountpoint ();
  if (mnt == NULL)
    return olrun_error_set (err, OLRUN_E_UNSUPPORTED, 0, "cgroup v2 is not mounted");
  cg->mountpoint = xstrdup (mnt);
  cg->path = xstrdup (path);
  _cleanup_free_ char *full = xasprintf ("%s%s", mnt, path);
  cg->dirfd = open (full, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (cg->dirfd < 0 && errno != ENOENT)
    return olrun_fail (err, errno, "open cgroup `%s`", full);
  return 0;
}

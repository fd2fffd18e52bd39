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

/* mkdir the cgroup and its parents, then enable controllers from the root
 * down.  cg->path and cg->mountpoint are set. */
int
olrun_cgroupfs_make (const struct olrun_cgroup_config *c, struct olrun_cgroup *cg, olrun_error_t *err)
{
  _cleanup_close_ int root = open (cg->mountpoint, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (root < 0)
    return olrun_fail (err, errno, "open `%s`", cg->mountpoint);
  const char *rel = cg->path + strspn (cg->path, "/");
  if (*rel == '\0')
    return olrun_invalid (err, "cgroupsPath resolves to the root cgroup");
  _cleanup_free_ char *parent = xstrdup (rel);
  char *slash = strrchr (parent, '/');
  if (slash)
    {
      *slash = '\0';
      if (olrun_mkdir_p_at (root, parent, 0755, err) < 0)
        return olrun_error_wrap (err, "create cgroup parent");
    }
  if (mkdirat (root, rel, 0755) == 0)
    cg->created = true;
  else if (errno != EEXIST)
    return olrun_fail (err, errno, "create cgroup `%s`", cg->path);
  if (open_cgroup_dir (cg, err) < 0)
    return -1;
  if (!cg->created)
    {
      /* runc and crun reuse an existing empty cgroup (podman pre-creates
       * some); refuse one that still has processes. */
      bool populated = false;
      if (olrun_cgroup_populated (cg->dirfd, &populated, err) < 0)
        return -1;
      if (populated)
        return olrun_error_set (err, OLRUN_E_EXISTS, 0, "cgroup `%s` already has processes", cg->path);
    }
  const char *why[OLRUN_CTRL_COUNT] = { 0 };
  unsigned need = c->resources ? olrun_resources_controllers (c->resources, why) : 0;
  return olrun_controllers_enable (root, rel, need, why, err);
}

/* Resources, written now; the device program, built now (bad rules fail
 * the create before any process exists) and attached by
 * olrun_cgroup_spawned().  Loading it is the costliest step of the cgroup
 * (the kernel verifies and JITs it, ~0.35 ms here), and once the container's
 * init exists it overlaps with the init's own setup.  Until then only
 * olrun's code runs in the cgroup, creating the devices the program
 * allows anyway. */
int
olrun_cgroupfs_setup (const struct olrun_cgroup_config *c, struct olrun_cgroup *cg, olrun_error_t *err)
{
  const struct olrun_resources *r = c->resources;
  if (olrun_cgroup_apply_resources (cg->dirfd, r, false, err) < 0)
    return -1;
  /* Rootless: attaching BPF needs CAP_SYS_ADMIN (or CAP_BPF) in the
   * initial namespace, which a rootless olrun lacks; and its container can
   * open no device its user could not open anyway.  runc skips it too. */
  if (c->rootless)
    {
      if (r && r->has_devices)
        olrun_debug ("rootless: linux.resources.devices left to the host's permissions");
      return 0;
    }
  /* runc installs its default allow-list even when the config has no
   * device rules: without it the container could open any host device. */
  if (olrun_cgroup_devices_program (r ? r->devices : NULL, r ? r->n_devices : 0, c->extra_devices,
                                    c->n_extra_devices, &cg->device_insns, &cg->n_device_insns, err) < 0)
    return olrun_error_wrap (err, "linux.resources.devices");
  return 0;
}

static int
cgroupfs_create (const struct olrun_cgroup_config *c, struct olrun_cgroup *cg, olrun_error_t *err)
{
  const char *mnt = olrun_cgroup2_mountpoint ();
  if (mnt == NULL)
    return olrun_error_set (err, OLRUN_E_UNSUPPORTED, 0, "cgroup v2 is not mounted");
  if (c->planned_path)
    cg->path = xstrdup (c->planned_path);
  else if (olrun_cgroup_resolve_path (c->cgroups_path, c->id, &cg->path, err) < 0)
    return -1;
  cg->mountpoint = xstrdup (mnt);
  if (olrun_cgroupfs_make (c, cg, err) < 0)
    return -1;
  return olrun_cgroupfs_setup (c, cg, err);
}

int
olrun_cgroup_read_event (int dirfd, const char *key, char *ret, olrun_error_t *err)
{
  _cleanup_free_ char *events = NULL;
  if (olrun_read_file_at (dirfd, "cgroup.events", &events, NULL, err) < 0)
    return -1;
  size_t klen = strlen (key);
  for (const char *p = events; p && *p; p = strchr (p, '\n') ? strchr (p, '\n') + 1 : NULL)
    if (strncmp (p, key, klen) == 0 && p[klen] == ' ')
      {
        *ret = p[klen + 1];
        return 0;
      }
  *ret = '\0';
  return 0;
}

int
olrun_cgroup_populated (int dirfd, bool *ret, olrun_error_t *err)
{
  char v;
  if (olrun_cgroup_read_event (dirfd, "populated", &v, err) < 0)
    return -1;
  *ret = v == '1';
  return 0;
}

/* Wait until cgroup.events has "<key> <want>".  The kernel signals changes
 * of that file with POLLPRI, so this does not spin; the poll timeout only
 * bounds a wait for an event that was already past when we looked. */
int
olrun_cgroup_wait_event (int dirfd, const char *key, char want, olrun_error_t *err)
{
  _cleanup_close_ int fd = openat (dirfd, "cgroup.events", O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return olrun_fail (err, errno, "open cgroup.events");
  struct timespec start, now;
  clock_gettime (CLOCK_MONOTONIC, &start);
  for (;;)
    {
      char v;
      if (olrun_cgroup_read_event (dirfd, key, &v, err) < 0)
        return -1;
      if (v == want)
        return 0;
      clock_gettime (CLOCK_MONOTONIC, &now);
      if (now.tv_sec - start.tv_sec >= 30)
        return olrun_fail (err, ETIMEDOUT, "cgroup.events: `%s` did not become %c", key, want);
      struct pollfd pfd = { .fd = fd, .events = POLLPRI };
      poll (&pfd, 1, 100);
    }
}

int
olrun_cgroupfs_freeze_at (int dirfd, bool frozen, olrun_error_t *err)
{
  if (olrun_write_file_at (dirfd, "cgroup.freeze", frozen ? "1" : "0", 1, err) < 0)
    {
      if ((*err)->errnum != ENOENT)
        return -1;
      olrun_error_release (err);
      return olrun_error_set (err, OLRUN_E_UNSUPPORTED, 0, "the kernel has no cgroup.freeze (cgroup v2 freezer, 5.2+)");
    }
  /* cgroup.freeze only asks; the cgroup is frozen once every task has
   * stopped, which cgroup.events reports. */
  return olrun_cgroup_wait_event (dirfd, "frozen", frozen ? '1' : '0', err);
}

/* Signal each pid of the cgroup tree.  Used for signals other than
 * SIGKILL, and for SIGKILL on kernels before 5.14 (no cgroup.kill): there
 * the tree is frozen first, as runc does, so nothing forks past us. */
static int
signal_each (int dirfd, int sig, olrun_error_t *err)
{
  _cleanup_free_ pid_t *pids = NULL;
  size_t n = 0;
  if (olrun_cgroup_pids_at (dirfd, &pids, &n, err) < 0)
    return -1;
  for (size_t i = 0; i < n; i++)
    if (kill (pids[i], sig) < 0 && errno != ESRCH)
      return olrun_fail (err, errno, "kill %d", (int) pids[i]);
  return 0;
}

int
olrun_cgroupfs_signal_all (int dirfd, int sig, olrun_error_t *err)
{
  if (sig != SIGKILL)
    return signal_each (dirfd, sig, err);
  if (olrun_write_file_at (dirfd, "cgroup.kill", "1", 1, err) == 0)
    return 0;
  olrun_error_release (err);
  bool froze = olrun_write_file_at (dirfd, "cgroup.freeze", "1", 1, err) == 0;
  olrun_error_release (err);
  int rc = signal_each (dirfd, sig, err);
  /* SIGKILL reaches frozen tasks once they thaw. */
  if (froze)
    {
      olrun_error_t tmp = NULL;
      olrun_write_file_at (dirfd, "cgroup.freeze", "0", 1, &tmp);
      olrun_error_release (&tmp);
    }
  return rc;
}

/* rmdir a cgroup and the cgroups the container made below it (with a
 * cgroup namespace it may have), children first. */
static int
remove_tree (int parentfd, const char *name, olrun_error_t *err)
{
  int fd = openat (parentfd, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0)
    return errno == ENOENT ? 0 : olrun_fail (err, errno, "open cgroup `%s`", name);
  _cleanup_closedir_ DIR *d = fdopendir (fd);
  if (d == NULL)
    return olrun_fail (err, errno, "fdopendir");
  for (struct dirent *e; (e = readdir (d)) != NULL;)
    if (e->d_type == DT_DIR && strcmp (e->d_name, ".") && strcmp (e->d_name, "..")
        && remove_tree (dirfd (d), e->d_name, err) < 0)
      return -1;
  /* rmdir can race with the last exits being accounted: retry briefly. */
  for (int tries = 0;; tries++)
    {
      if (unlinkat (parentfd, name, AT_REMOVEDIR) == 0 || errno == ENOENT)
        return 0;
      if (errno != EBUSY || tries == 250)
        return olrun_fail (err, errno, "remove cgroup `%s`", name);
      nanosleep (&(struct timespec){ 0, 2000000 }, NULL);
    }
}

static int
cgroupfs_destroy (struct olrun_cgroup *cg, olrun_error_t *err)
{
  if (cg->path == NULL)
    return 0;
  _cleanup_free_ char *full = xasprintf ("%s%s", cg->mountpoint, cg->path);
  /* Most often the container is gone and its cgroup empty, with no
   * children: one rmdir does it. */
  if (rmdir (full) == 0 || errno == ENOENT)
    return 0;
  if (cg->dirfd < 0)
    {
      cg->dirfd = open (full, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
      if (cg->dirfd < 0)
        return errno == ENOENT ? 0 : olrun_fail (err, errno, "open cgroup `%s`", full);
    }
  bool populated = false;
  if (olrun_cgroup_populated (cg->dirfd, &populated, err) < 0)
    return errno == ENOENT || errno == ENODEV ? (olrun_error_release (err), 0) : -1;
  if (populated
      && (olrun_cgroupfs_signal_all (cg->dirfd, SIGKILL, err) < 0
          || olrun_cgroup_wait_event (cg->dirfd, "populated", '0', err) < 0))
    return olrun_error_wrap (err, "cgroup `%s`", cg->path);
  char *slash = strrchr (full, '/');
  *slash = '\0';
  _cleanup_close_ int parent = open (*full ? full : "/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (parent < 0)
    return errno == ENOENT ? 0 : olrun_fail (err, errno, "open `%s`", full);
  cg->dirfd = safe_close (cg->dirfd);
  return remove_tree (parent, slash + 1, err);
}

static int
cgroupfs_load (const char *path, struct olrun_cgroup *cg, olrun_error_t *err)
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

static int
need_dir (struct olrun_cgroup *cg, olrun_error_t *err)
{
  if (cg->dirfd < 0)
    return olrun_error_set (err, OLRUN_E_NOT_EXIST, 0, "cgroup `%s` does not exist", cg->path ? cg->path : "");
  return 0;
}

static int
cgroupfs_update (struct olrun_cgroup *cg, const struct olrun_resources *r, olrun_error_t *err)
{
  if (need_dir (cg, err) < 0)
    return -1;
  /* Device rules are not updated: the allow-list built at create also
   * holds linux.devices, which `update` does not see (runc's update has no
   * device flags either). */
  if (r->has_devices)
    return olrun_error_set (err, OLRUN_E_UNSUPPORTED, 0, "updating linux.resources.devices is not supported");
  /* A controller asked for now may not have been needed at create. */
  _cleanup_close_ int root = open (cg->mountpoint, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (root < 0)
    return olrun_fail (err, errno, "open `%s`", cg->mountpoint);
  const char *why[OLRUN_CTRL_COUNT] = { 0 };
  unsigned need = olrun_resources_controllers (r, why);
  if (olrun_controllers_enable (root, cg->path + strspn (cg->path, "/"), need, why, err) < 0)
    return -1;
  return olrun_cgroup_apply_resources (cg->dirfd, r, true, err);
}

static int
cgroupfs_freeze (struct olrun_cgroup *cg, bool frozen, olrun_error_t *err)
{
  if (need_dir (cg, err) < 0)
    return -1;
  return olrun_cgroupfs_freeze_at (cg->dirfd, frozen, err);
}

static int
cgroupfs_kill (struct olrun_cgroup *cg, int sig, olrun_error_t *err)
{
  if (need_dir (cg, err) < 0)
    return -1;
  return olrun_cgroupfs_signal_all (cg->dirfd, sig, err);
}

static int
cgroupfs_spawned (struct olrun_cgroup *cg, olrun_error_t *err)
{
  return 0;
}

const struct olrun_cgroup_ops olrun_cgroupfs_ops = {
  .name = "cgroupfs",
  .create = cgroupfs_create,
  .spawned = cgroupfs_spawned,
  .load = cgroupfs_load,
  .update = cgroupfs_update,
  .freeze = cgroupfs_freeze,
  .kill_all = cgroupfs_kill,
  .destroy = cgroupfs_destroy,
};

/* ---- disabled: no cgroup at all ---- */

static int
disabled_create (const struct olrun_cgroup_config *c, struct olrun_cgroup *cg, olrun_error_t *err)
{
  const char *what = NULL;
  if (c->resources && olrun_resources_any (c->resources, &what))
    return olrun_error_set (err, OLRUN_E_UNSUPPORTED, 0,
                            "linux.resources.%s needs a cgroup, but the cgroup manager is disabled", what);
  return 0;
}

static int
disabled_load (const char *path, struct olrun_cgroup *cg, olrun_error_t *err)
{
  return 0;
}

static int
disabled_none (struct olrun_cgroup *cg, olrun_error_t *err)
{
  return 0;
}

static int
disabled_update (struct olrun_cgroup *cg, const struct olrun_resources *r, olrun_error_t *err)
{
  return olrun_error_set (err, OLRUN_E_UNSUPPORTED, 0, "the container has no cgroup (cgroup manager disabled)");
}

static int
disabled_freeze (struct olrun_cgroup *cg, bool frozen, olrun_error_t *err)
{
  return olrun_error_set (err, OLRUN_E_UNSUPPORTED, 0, "the container has no cgroup to freeze (cgroup manager disabled)");
}

static int
disabled_kill (struct olrun_cgroup *cg, int sig, olrun_error_t *err)
{
  return olrun_error_set (err, OLRUN_E_UNSUPPORTED, 0, "the container has no cgroup (cgroup manager disabled)");
}

const struct olrun_cgroup_ops olrun_disabled_ops = {
  .name = "disabled",
  .create = disabled_create,
  .spawned = disabled_none,
  .load = disabled_load,
  .update = disabled_update,
  .freeze = disabled_freeze,
  .kill_all = disabled_kill,
  .destroy = disabled_none,
};

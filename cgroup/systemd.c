/* The systemd manager: the container's cgroup is a transient scope unit
 * made over D-Bus (org.freedesktop.systemd1.Manager.StartTransientUnit),
 * with Delegate=yes so that olrun may then write its control files itself
 * -- limits, freeze and kill are the cgroupfs code's.
 *
 * libsystemd is loaded with dlopen() only when this manager is chosen: the
 * runtime verbs must not pay for it (DESIGN.md: every shared library is
 * paid for on every create), and it must not be a DT_NEEDED of ./olrun. */
#include <dlfcn.h>
#include <fcntl.h>
#include <string.h>
#include <time.h>

#include "olrun/cgroup.h"
#include "olrun/log.h"
#include "olrun/util.h"
#include "cgroup/internal.h"

/* ---- path forms (pure, unit-tested) ---- */

int
olrun_cgroup_systemd_expand_slice (const char *slice, char **ret, olrun_error_t *err)
{
  size_t len = strlen (slice);
  if (len < 6 || strcmp (slice + len - 6, ".slice") != 0 || strchr (slice, '/'))
    return olrun_invalid (err, "invalid systemd slice `%s`: expected NAME.slice", slice);
  if (strcmp (slice, "-.slice") == 0)
    {
      *ret = xstrdup ("");
      return 0;
    }
  size_t base = len - 6;
  if (base == 0 || slice[0] == '-' || slice[base - 1] == '-' || memmem (slice, base, "--", 2))
    return olrun_invalid (err, "invalid systemd slice `%s`", slice);
  /* Each '-' starts a parent: a-b.slice lives in a.slice. */
  struct olrun_buf b = { 0 };
  for (size_t i = 0; i <= base; i++)
    if (i == base || slice[i] == '-')
      olrun_buf_printf (&b, "/%.*s.slice", (int) i, slice);
  *ret = olrun_buf_steal (&b);
  return 0;
}

/* runc's form "slice:prefix:name"; an empty cgroupsPath is
 * "system.slice:olrun:<id>" (user.slice when rootless). */
int
olrun_cgroup_systemd_parse_path (const char *cgroups_path, const char *id, bool rootless, char **ret_slice,
                                 char **ret_unit, olrun_error_t *err)
{
  const char *def_slice = rootless ? "user.slice" : "system.slice";
  if (cgroups_path == NULL || *cgroups_path == '\0')
    {
      *ret_slice = xstrdup (def_slice);
      *ret_unit = xasprintf ("olrun-%s.scope", id);
      return 0;
    }
  const char *c1 = strchr (cgroups_path, ':');
  const char *c2 = c1 ? strchr (c1 + 1, ':') : NULL;
  if (c1 == NULL || c2 == NULL || strchr (c2 + 1, ':'))
    return olrun_invalid (err, "cgroupsPath `%s`: the systemd manager expects `slice:prefix:name`", cgroups_path);
  _cleanup_free_ char *slice = xstrndup (cgroups_path, (size_t) (c1 - cgroups_path));
  _cleanup_free_ char *prefix = xstrndup (c1 + 1, (size_t) (c2 - c1 - 1));
  const char *name = c2 + 1;
  if (*name == '\0')
    return olrun_invalid (err, "cgroupsPath `%s`: empty unit name", cgroups_path);
  for (const char *s = name; *s; s++)
    if (*s == '/')
      return olrun_invalid (err, "cgroupsPath `%s`: `/` in the unit name", cgroups_path);
  if (strchr (prefix, '/'))
    return olrun_invalid (err, "cgroupsPath `%s`: `/` in the prefix", cgroups_path);
  size_t nlen = strlen (name);
  if (nlen > 6 && strcmp (name + nlen - 6, ".slice") == 0)
    return olrun_error_set (err, OLRUN_E_UNSUPPORTED, 0,
                            "cgroupsPath `%s`: a slice as the container's own unit is not supported (use a scope)",
                            cgroups_path);
  _cleanup_free_ char *expanded = NULL;
  if (*slice && olrun_cgroup_systemd_expand_slice (slice, &expanded, err) < 0)
    return olrun_error_wrap (err, "cgroupsPath `%s`", cgroups_path);
  *ret_slice = *slice ? TAKE_PTR (slice) : xstrdup (def_slice);
  *ret_unit = *prefix ? xasprintf ("%s-%s.scope", prefix, name) : xasprintf ("%s.scope", name);
  return 0;
}

/* ---- sd-bus through dlopen ---- */

typedef struct sd_bus sd_bus;
typedef struct sd_bus_message sd_bus_message;
typedef struct
{
  const char *name;
  const char *message;
  int need_free;
} sd_bus_error;

static struct
{
  void *handle;
  int (*open_system) (sd_bus **);
  int (*open_user) (sd_bus **);
  int (*new_method_call) (sd_bus *, sd_bus_message **, const char *, const char *, const char *, const char *);
  int (*append) (sd_bus_message *, const char *, ...);
  int (*open_container) (sd_bus_message *, char, const char *);
  int (*close_container) (sd_bus_message *);
  int (*call) (sd_bus *, sd_bus_message *, uint64_t, sd_bus_error *, sd_bus_message **);
  void (*error_free) (sd_bus_error *);
  sd_bus_message *(*message_unref) (sd_bus_message *);
  sd_bus *(*flush_close_unref) (sd_bus *);
} sd;

static int
load_libsystemd (olrun_error_t *err)
{
  if (sd.handle)
    return 0;
#ifdef OLRUN_STATIC
  return olrun_error_set (err, OLRUN_E_UNSUPPORTED, 0,
                          "the systemd cgroup manager needs libsystemd.so.0, and this olrun is the static "
                          "build, which cannot load libraries: use --cgroup-manager cgroupfs");
#endif
  void *h = dlopen ("libsystemd.so.0", RTLD_NOW | RTLD_LOCAL);
  if (h == NULL)
    return olrun_error_set (err, OLRUN_E_UNSUPPORTED, 0, "the systemd cgroup manager needs libsystemd.so.0: %s",
                            dlerror ());
  struct
  {
    const char *name;
    void **slot;
  } syms[] = {
    { "sd_bus_open_system", (void **) &sd.open_system },
    { "sd_bus_open_user", (void **) &sd.open_user },
    { "sd_bus_message_new_method_call", (void **) &sd.new_method_call },
    { "sd_bus_message_append", (void **) &sd.append },
    { "sd_bus_message_open_container", (void **) &sd.open_container },
    { "sd_bus_message_close_container", (void **) &sd.close_container },
    { "sd_bus_call", (void **) &sd.call },
    { "sd_bus_error_free", (void **) &sd.error_free },
    { "sd_bus_message_unref", (void **) &sd.message_unref },
    { "sd_bus_flush_close_unref", (void **) &sd.flush_close_unref },
  };
  for (size_t i = 0; i < ARRAY_SIZE (syms); i++)
    if ((*syms[i].slot = dlsym (h, syms[i].name)) == NULL)
      {
        dlclose (h);
        return olrun_error_set (err, OLRUN_E_UNSUPPORTED, 0, "libsystemd.so.0 lacks `%s`", syms[i].name);
      }
  sd.handle = h;
  return 0;
}

/* The checks, in the order a user can act on them. */
static int
systemd_available (olrun_error_t *err)
{
  /* sd_booted()'s test: systemd creates this directory when it is PID 1. */
  if (access ("/run/systemd/system", F_OK) < 0)
    return olrun_error_set (err, OLRUN_E_UNSUPPORTED, 0,
                            "the systemd cgroup manager needs a running systemd, and none runs on this host "
                            "(/run/systemd/system is missing); use --cgroup-manager cgroupfs");
  return load_libsystemd (err);
}

bool
olrun_cgroup_systemd_usable (void)
{
  olrun_error_t err = NULL;
  if (systemd_available (&err) == 0)
    return true;
  olrun_error_release (&err);
  return false;
}

/* One method call on org.freedesktop.systemd1.Manager; `fill` appends the
 * arguments. */
static int
manager_call (bool user, const char *method, int (*fill) (sd_bus_message *, const void *), const void *arg,
              olrun_error_t *err)
{
  sd_bus *bus = NULL;
  sd_bus_message *m = NULL, *reply = NULL;
  sd_bus_error e = { 0 };
  int r = user ? sd.open_user (&bus) : sd.open_system (&bus);
  if (r < 0)
    return olrun_fail (err, -r, "connect to the systemd %s bus", user ? "user" : "system");
  r = sd.new_method_call (bus, &m, "org.freedesktop.systemd1", "/org/freedesktop/systemd1",
                          "org.freedesktop.systemd1.Manager", method);
  if (r >= 0)
    r = fill (m, arg);
  if (r < 0)
    olrun_fail (err, -r, "build the D-Bus call %s", method);
  else if ((r = sd.call (bus, m, 0, &e, &reply)) < 0)
    olrun_fail (err, -r, "systemd %s: %s", method, e.message ? e.message : e.name ? e.name : "failed");
  sd.error_free (&e);
  sd.message_unref (reply);
  sd.message_unref (m);
  sd.flush_close_unref (bus);
  return r < 0 ? -1 : 0;
}

struct start_args
{
  const char *unit, *slice, *id;
};

static int
fill_start (sd_bus_message *m, const void *arg)
{
  const struct start_args *a = arg;
  _cleanup_free_ char *desc = xasprintf ("olrun container %s", a->id);
  int r;
  if ((r = sd.append (m, "ss", a->unit, "fail")) < 0 || (r = sd.open_container (m, 'a', "(sv)")) < 0
      || (r = sd.append (m, "(sv)", "Description", "s", desc)) < 0
      || (r = sd.append (m, "(sv)", "Slice", "s", a->slice)) < 0
      /* Delegate: the cgroup is olrun's to manage below the unit. */
      || (r = sd.append (m, "(sv)", "Delegate", "b", 1)) < 0
      || (r = sd.append (m, "(sv)", "DefaultDependencies", "b", 0)) < 0
      /* A scope cannot start empty: it adopts olrun, which leaves again
       * in olrun_cgroup_spawned() once the container is in. */
      || (r = sd.append (m, "(sv)", "PIDs", "au", 1, (uint32_t) getpid ())) < 0
      || (r = sd.close_container (m)) < 0 || (r = sd.append (m, "a(sa(sv))", 0)) < 0)
    return r;
  return 0;
}

static int
fill_stop (sd_bus_message *m, const void *arg)
{
  return sd.append (m, "ss", (const char *) arg, "replace");
}

/* StartTransientUnit returns a job; the scope exists once systemd has
 * moved us into it, which /proc/self/cgroup shows. */
static int
wait_in_unit (const char *unit, char **ret_path, olrun_error_t *err)
{
  size_t ulen = strlen (unit);
  for (int tries = 0; tries < 500; tries++)
    {
      _cleanup_free_ char *own = NULL;
      if (olrun_cgroup_own_path (&own, err) < 0)
        return -1;
      size_t olen = strlen (own);
      if (olen > ulen && own[olen - ulen - 1] == '/' && strcmp (own + olen - ulen, unit) == 0)
        {
          *ret_path = TAKE_PTR (own);
          return 0;
        }
      nanosleep (&(struct timespec){ 0, 10000000 }, NULL);
    }
  return olrun_fail (err, ETIMEDOUT, "systemd did not start the scope `%s`", unit);
}

static int
systemd_create (const struct olrun_cgroup_config *c, struct olrun_cgroup *cg, olrun_error_t *err)
{
  _cleanup_free_ char *slice = NULL;
  if (olrun_cgroup_systemd_parse_path (c->cgroups_path, c->id, c->rootless, &slice, &cg->unit, err) < 0
      || systemd_available (err) < 0)
    return -1;
  const char *mnt = olrun_cgroup2_mountpoint ();
  if (mnt == NULL)
    return olrun_error_set (err, OLRUN_E_UNSUPPORTED, 0, "cgroup v2 is not mounted");
  cg->mountpoint = xstrdup (mnt);
  if (olrun_cgroup_own_path (&cg->own_path, err) < 0)
    return -1;
  struct start_args a = { cg->unit, slice, c->id };
  if (manager_call (c->rootless, "StartTransientUnit", fill_start, &a, err) < 0)
    return -1;
  cg->created = true;
  if (wait_in_unit (cg->unit, &cg->path, err) < 0)
    return -1;
  _cleanup_free_ char *full = xasprintf ("%s%s", cg->mountpoint, cg->path);
  cg->dirfd = open (full, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (cg->dirfd < 0)
    return olrun_fail (err, errno, "open cgroup `%s`", full);
  return olrun_cgroupfs_setup (c, cg, err);
}

/* Leave the scope: olrun was only its placeholder. */
static int
systemd_spawned (struct olrun_cgroup *cg, olrun_error_t *err)
{
  if (cg->own_path == NULL)
    return 0;
  _cleanup_free_ char *procs = xasprintf ("%s%s/cgroup.procs", cg->mountpoint, cg->own_path);
  char pid[16];
  int n = snprintf (pid, sizeof pid, "%d", (int) getpid ());
  if (olrun_write_file_at (AT_FDCWD, procs, pid, (size_t) n, err) < 0)
    return olrun_error_wrap (err, "leave the container's scope");
  return 0;
}

static int
systemd_load (const char *path, struct olrun_cgroup *cg, olrun_error_t *err)
{
  if (olrun_cgroupfs_ops.load (path, cg, err) < 0)
    return -1;
  const char *base = strrchr (path, '/');
  cg->unit = xstrdup (base ? base + 1 : path);
  return 0;
}

static int
systemd_destroy (struct olrun_cgroup *cg, olrun_error_t *err)
{
  /* A create that failed after StartTransientUnit left olrun inside the
   * scope: leave it first, or cgroup.kill would take olrun along. */
  if (cg->own_path)
    {
      olrun_error_t tmp = NULL;
      if (systemd_spawned (cg, &tmp) < 0)
        olrun_debug ("%s", tmp->msg);
      olrun_error_release (&tmp);
    }
  /* Empty and remove the cgroup ourselves (it is delegated to us), then
   * tell systemd; a scope that is already gone is fine. */
  if (olrun_cgroupfs_ops.destroy (cg, err) < 0)
    return -1;
  if (cg->unit == NULL || access ("/run/systemd/system", F_OK) < 0 || load_libsystemd (err) < 0)
    {
      olrun_error_release (err);
      return 0;
    }
  olrun_error_t tmp = NULL;
  if (manager_call (geteuid () != 0, "StopUnit", fill_stop, cg->unit, &tmp) < 0)
    olrun_debug ("systemd StopUnit %s: %s", cg->unit, tmp->msg);
  olrun_error_release (&tmp);
  return 0;
}

/* With Delegate=yes the rest is plain cgroupfs work on the scope. */
static int
systemd_update (struct olrun_cgroup *cg, const struct olrun_resources *r, olrun_error_t *err)
{
  return olrun_cgroupfs_ops.update (cg, r, err);
}

static int
systemd_freeze (struct olrun_cgroup *cg, bool frozen, olrun_error_t *err)
{
  return olrun_cgroupfs_ops.freeze (cg, frozen, err);
}

static int
systemd_kill (struct olrun_cgroup *cg, int sig, olrun_error_t *err)
{
  return olrun_cgroupfs_ops.kill_all (cg, sig, err);
}

const struct olrun_cgroup_ops olrun_systemd_ops = {
  .name = "systemd",
  .create = systemd_create,
  .spawned = systemd_spawned,
  .load = systemd_load,
  .update = systemd_update,
  .freeze = systemd_freeze,
  .kill_all = systemd_kill,
  .destroy = systemd_destroy,
};

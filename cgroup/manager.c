/* The manager interface: dispatch to cgroupfs, systemd or disabled. */
#include <fcntl.h>
#include <string.h>

#include "olrun/cgroup.h"
#include "olrun/log.h"
#include "olrun/util.h"
#include "cgroup/internal.h"

/* Filled in by the resources code as it grows; for now a config's
 * resources are only recorded. */
struct olrun_resources
{
  bool present;
};

void
olrun_resources_free (struct olrun_resources *r)
{
  free (r);
}

struct olrun_resources *
olrun_resources_new (void)
{
  struct olrun_resources *r = xzalloc (sizeof *r);
  r->present = true;
  return r;
}

static const char *const manager_names[] = {
  [OLRUN_CGROUP_CGROUPFS] = "cgroupfs",
  [OLRUN_CGROUP_SYSTEMD] = "systemd",
  [OLRUN_CGROUP_DISABLED] = "disabled",
};

const char *
olrun_cgroup_manager_name (enum olrun_cgroup_manager_kind k)
{
  return manager_names[k];
}

int
olrun_cgroup_manager_from_name (const char *name)
{
  for (size_t i = 0; i < ARRAY_SIZE (manager_names); i++)
    if (strcmp (name, manager_names[i]) == 0)
      return (int) i;
  return -1;
}

static struct olrun_cgroup *
cgroup_new (enum olrun_cgroup_manager_kind k)
{
  struct olrun_cgroup *cg = xzalloc (sizeof *cg);
  cg->manager = k;
  cg->dirfd = -1;
  return cg;
}

void
olrun_cgroup_free (struct olrun_cgroup *cg)
{
  if (cg == NULL)
    return;
  safe_close (cg->dirfd);
  free (cg->path);
  free (cg->mountpoint);
  free (cg);
}

int
olrun_cgroup_create (const struct olrun_cgroup_config *c, struct olrun_cgroup **ret, olrun_error_t *err)
{
  struct olrun_cgroup *cg = cgroup_new (c->manager);
  int rc = 0;
  switch (c->manager)
    {
    case OLRUN_CGROUP_DISABLED:
      break;
    case OLRUN_CGROUP_SYSTEMD:
      rc = olrun_error_set (err, OLRUN_E_UNSUPPORTED, 0, "the systemd cgroup manager is not supported yet");
      break;
    case OLRUN_CGROUP_CGROUPFS:
      if (olrun_cgroup2_mountpoint () == NULL && c->resources == NULL)
        {
          olrun_warn ("cgroup v2 is not mounted: the container runs without a cgroup");
          cg->manager = OLRUN_CGROUP_DISABLED;
          break;
        }
      rc = olrun_cgroupfs_create (c, cg, err);
      break;
    }
  if (rc < 0)
    {
      if (cg->created)
        {
          olrun_error_t tmp = NULL;
          olrun_cgroupfs_destroy (cg, &tmp);
          olrun_error_release (&tmp);
        }
      olrun_cgroup_free (cg);
      return -1;
    }
  *ret = cg;
  return 0;
}

int
olrun_cgroup_load (enum olrun_cgroup_manager_kind manager, const char *path, struct olrun_cgroup **ret,
                   olrun_error_t *err)
{
  struct olrun_cgroup *cg = cgroup_new (manager);
  if (manager != OLRUN_CGROUP_DISABLED && path && olrun_cgroupfs_load (path, cg, err) < 0)
    {
      olrun_cgroup_free (cg);
      return -1;
    }
  if (manager != OLRUN_CGROUP_DISABLED && path == NULL)
    cg->manager = OLRUN_CGROUP_DISABLED;
  *ret = cg;
  return 0;
}

int
olrun_cgroup_destroy (struct olrun_cgroup *cg, olrun_error_t *err)
{
  if (cg->manager == OLRUN_CGROUP_DISABLED)
    return 0;
  return olrun_cgroupfs_destroy (cg, err);
}

int
olrun_cgroup_kill (struct olrun_cgroup *cg, int sig, olrun_error_t *err)
{
  if (cg->manager == OLRUN_CGROUP_DISABLED || cg->dirfd < 0)
    return olrun_error_set (err, OLRUN_E_UNSUPPORTED, 0, "the container has no cgroup");
  return olrun_cgroupfs_signal_all (cg->dirfd, sig, err);
}

int
olrun_cgroup_is_frozen (struct olrun_cgroup *cg, bool *ret, olrun_error_t *err)
{
  *ret = false;
  if (cg->manager == OLRUN_CGROUP_DISABLED || cg->dirfd < 0)
    return 0;
  _cleanup_free_ char *events = NULL;
  if (olrun_read_file_at (cg->dirfd, "cgroup.events", &events, NULL, err) < 0)
    return -1;
  const char *p = strstr (events, "frozen ");
  *ret = p && p[7] == '1';
  return 0;
}

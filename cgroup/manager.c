/* The manager interface: pick the vtable, and the resources model's
 * memory management. */
#include <fcntl.h>
#include <string.h>

#include "olrun/cgroup.h"
#include "olrun/log.h"
#include "olrun/util.h"
#include "cgroup/internal.h"

struct olrun_resources *
olrun_resources_new (void)
{
  return xzalloc (sizeof (struct olrun_resources));
}

static void
free_io (struct olrun_resources *r)
{
  free (r->io.weight_devices);
  r->io.weight_devices = NULL;
  r->io.n_weight_devices = 0;
  for (int k = 0; k < OLRUN_IO_THROTTLE_COUNT; k++)
    {
      free (r->io.throttle[k]);
      r->io.throttle[k] = NULL;
      r->io.n_throttle[k] = 0;
    }
}

static void
free_kv (struct olrun_cgroup_kv *v, size_t n)
{
  for (size_t i = 0; i < n; i++)
    {
      free (v[i].key);
      free (v[i].value);
    }
  free (v);
}

static void
free_arrays (struct olrun_resources *r)
{
  for (size_t i = 0; i < r->n_hugetlb; i++)
    free (r->hugetlb[i].pagesize);
  free (r->hugetlb);
  for (size_t i = 0; i < r->n_rdma; i++)
    free (r->rdma[i].device);
  free (r->rdma);
  free_kv (r->unified, r->n_unified);
  free (r->devices);
}

void
olrun_resources_free (struct olrun_resources *r)
{
  if (r == NULL)
    return;
  free (r->cpu.cpus);
  free (r->cpu.mems);
  free_io (r);
  free_arrays (r);
  free (r);
}

void
olrun_resources_freep (struct olrun_resources **r)
{
  olrun_resources_free (*r);
}

static void *
dup_array (const void *src, size_t n, size_t size)
{
  if (n == 0)
    return NULL;
  void *p = xreallocarray (NULL, n, size);
  memcpy (p, src, n * size);
  return p;
}

void
olrun_resources_merge (struct olrun_resources *dst, const struct olrun_resources *src)
{
#define TAKE(sec, flag, field)                                                                                      \
  if (src->sec.flag)                                                                                                \
    {                                                                                                               \
      dst->sec.flag = true;                                                                                         \
      dst->sec.field = src->sec.field;                                                                              \
    }
  TAKE (memory, has_limit, limit);
  TAKE (memory, has_reservation, reservation);
  TAKE (memory, has_swap, swap);
  TAKE (cpu, has_shares, shares);
  TAKE (cpu, has_quota, quota);
  TAKE (cpu, has_period, period);
  TAKE (cpu, has_burst, burst);
  TAKE (cpu, has_idle, idle);
  TAKE (pids, has_limit, limit);
  TAKE (io, has_weight, weight);
#undef TAKE
  dst->memory.check_before_update |= src->memory.check_before_update;
  if (src->cpu.cpus)
    free (dst->cpu.cpus), dst->cpu.cpus = xstrdup (src->cpu.cpus);
  if (src->cpu.mems)
    free (dst->cpu.mems), dst->cpu.mems = xstrdup (src->cpu.mems);
  if (src->io.n_weight_devices)
    {
      free (dst->io.weight_devices);
      dst->io.weight_devices = dup_array (src->io.weight_devices, src->io.n_weight_devices,
                                          sizeof *src->io.weight_devices);
      dst->io.n_weight_devices = src->io.n_weight_devices;
    }
  for (int k = 0; k < OLRUN_IO_THROTTLE_COUNT; k++)
    if (src->io.n_throttle[k])
      {
        free (dst->io.throttle[k]);
        dst->io.throttle[k] = dup_array (src->io.throttle[k], src->io.n_throttle[k], sizeof *src->io.throttle[k]);
        dst->io.n_throttle[k] = src->io.n_throttle[k];
      }
  if (src->n_hugetlb)
    {
      for (size_t i = 0; i < dst->n_hugetlb; i++)
        free (dst->hugetlb[i].pagesize);
      free (dst->hugetlb);
      dst->hugetlb = dup_array (src->hugetlb, src->n_hugetlb, sizeof *src->hugetlb);
      for (size_t i = 0; i < src->n_hugetlb; i++)
        dst->hugetlb[i].pagesize = xstrdup (src->hugetlb[i].pagesize);
      dst->n_hugetlb = src->n_hugetlb;
    }
  if (src->n_rdma)
    {
      for (size_t i = 0; i < dst->n_rdma; i++)
        free (dst->rdma[i].device);
      free (dst->rdma);
      dst->rdma = dup_array (src->rdma, src->n_rdma, sizeof *src->rdma);
      for (size_t i = 0; i < src->n_rdma; i++)
        dst->rdma[i].device = xstrdup (src->rdma[i].device);
      dst->n_rdma = src->n_rdma;
    }
  if (src->n_unified)
    {
      free_kv (dst->unified, dst->n_unified);
      dst->unified = xreallocarray (NULL, src->n_unified, sizeof *dst->unified);
      for (size_t i = 0; i < src->n_unified; i++)
        dst->unified[i] = (struct olrun_cgroup_kv){ xstrdup (src->unified[i].key), xstrdup (src->unified[i].value) };
      dst->n_unified = src->n_unified;
    }
  if (src->has_devices)
    {
      free (dst->devices);
      dst->devices = dup_array (src->devices, src->n_devices, sizeof *src->devices);
      dst->n_devices = src->n_devices;
      dst->has_devices = true;
    }
}

bool
olrun_resources_any (const struct olrun_resources *r, const char **what)
{
  const char *why[OLRUN_CTRL_COUNT] = { 0 };
  unsigned m = olrun_resources_controllers (r, why);
  for (int c = 0; c < OLRUN_CTRL_COUNT; c++)
    if (m & (1u << c))
      {
        *what = why[c];
        return true;
      }
  if (r->has_devices && r->n_devices)
    {
      *what = "devices";
      return true;
    }
  return false;
}

static const struct olrun_cgroup_ops *const managers[] = {
  [OLRUN_CGROUP_CGROUPFS] = &olrun_cgroupfs_ops,
  [OLRUN_CGROUP_SYSTEMD] = &olrun_systemd_ops,
  [OLRUN_CGROUP_DISABLED] = &olrun_disabled_ops,
};

const char *
olrun_cgroup_manager_name (enum olrun_cgroup_manager_kind k)
{
  return managers[k]->name;
}

int
olrun_cgroup_manager_from_name (const char *name)
{
  for (size_t i = 0; i < ARRAY_SIZE (managers); i++)
    if (strcmp (name, managers[i]->name) == 0)
      return (int) i;
  return -1;
}

static struct olrun_cgroup *
cgroup_new (enum olrun_cgroup_manager_kind k)
{
  struct olrun_cgroup *cg = xzalloc (sizeof *cg);
  cg->manager = k;
  cg->ops = managers[k];
  cg->dirfd = -1;
  return cg;
}

static void
set_disabled (struct olrun_cgroup *cg)
{
  cg->manager = OLRUN_CGROUP_DISABLED;
  cg->ops = &olrun_disabled_ops;
}

void
olrun_cgroup_free (struct olrun_cgroup *cg)
{
  if (cg == NULL)
    return;
  safe_close (cg->dirfd);
  free (cg->path);
  free (cg->mountpoint);
  free (cg->unit);
  free (cg->own_path);
  free (cg->device_insns);
  free (cg);
}

void
olrun_cgroup_freep (struct olrun_cgroup **cg)
{
  olrun_cgroup_free (*cg);
}

/* Rootless, a cgroup is used when one is delegated to the user (its
 * directory writable by them); when none is, the container runs without,
 * as runc and crun do, unless the config asks for limits. */
static int
rootless_without_delegation (const struct olrun_cgroup_config *c, struct olrun_cgroup **cg, olrun_error_t *err)
{
  int e = (*err)->errnum;
  const char *what = NULL;
  if (!c->rootless || c->manager != OLRUN_CGROUP_CGROUPFS || (e != EACCES && e != EPERM && e != EROFS))
    return -1;
  if (c->resources && olrun_resources_any (c->resources, &what))
    return olrun_error_wrap (err, "rootless: linux.resources.%s needs a cgroup delegated to this user", what);
  olrun_debug ("rootless: no cgroup is delegated to this user (%s); running without one", (*err)->msg);
  olrun_error_release (err);
  olrun_cgroup_free (*cg);
  *cg = cgroup_new (c->manager);
  set_disabled (*cg);
  return (*cg)->ops->create (c, *cg, err);
}

int
olrun_cgroup_create (const struct olrun_cgroup_config *c, struct olrun_cgroup **ret, olrun_error_t *err)
{
  _cleanup_cgroup_ struct olrun_cgroup *cg = cgroup_new (c->manager);
  if (c->manager == OLRUN_CGROUP_CGROUPFS && olrun_cgroup2_mountpoint () == NULL)
    {
      const char *what = NULL;
      if (c->resources && olrun_resources_any (c->resources, &what))
        return olrun_error_set (err, OLRUN_E_UNSUPPORTED, 0,
                                "linux.resources.%s needs cgroup v2, which is not mounted on this host", what);
      olrun_warn ("cgroup v2 is not mounted: the container runs without a cgroup");
      set_disabled (cg);
    }
  if (cg->ops->create (c, cg, err) < 0)
    {
      /* Undo only what this call made: never a cgroup someone else owns. */
      if (cg->created)
        {
          olrun_error_t tmp = NULL;
          cg->ops->destroy (cg, &tmp);
          olrun_error_release (&tmp);
        }
      return rootless_without_delegation (c, &cg, err) < 0 ? -1 : (*ret = TAKE_PTR (cg), 0);
    }
  *ret = TAKE_PTR (cg);
  return 0;
}

int
olrun_cgroup_planned_path (const struct olrun_cgroup_config *c, char **ret, olrun_error_t *err)
{
  *ret = NULL;
  if (c->manager != OLRUN_CGROUP_CGROUPFS || olrun_cgroup2_mountpoint () == NULL)
    return 0;
  return olrun_cgroup_resolve_path (c->cgroups_path, c->id, ret, err);
}

int
olrun_cgroup_spawned (struct olrun_cgroup *cg, olrun_error_t *err)
{
  if (cg->ops->spawned (cg, err) < 0)
    return -1;
  if (cg->device_insns == NULL)
    return 0;
  int rc = olrun_cgroup_devices_attach (cg->dirfd, cg->device_insns, cg->n_device_insns, err);
  free (cg->device_insns);
  cg->device_insns = NULL;
  return rc < 0 ? olrun_error_wrap (err, "linux.resources.devices") : 0;
}

int
olrun_cgroup_load (enum olrun_cgroup_manager_kind manager, const char *path, struct olrun_cgroup **ret,
                   olrun_error_t *err)
{
  _cleanup_cgroup_ struct olrun_cgroup *cg = cgroup_new (manager);
  if (path == NULL || *path == '\0')
    set_disabled (cg);
  if (cg->ops->load (path, cg, err) < 0)
    return -1;
  *ret = TAKE_PTR (cg);
  return 0;
}

int
olrun_cgroup_destroy (struct olrun_cgroup *cg, olrun_error_t *err)
{
  return cg->ops->destroy (cg, err);
}

int
olrun_cgroup_kill (struct olrun_cgroup *cg, int sig, olrun_error_t *err)
{
  return cg->ops->kill_all (cg, sig, err);
}

int
olrun_cgroup_freeze (struct olrun_cgroup *cg, bool frozen, olrun_error_t *err)
{
  return cg->ops->freeze (cg, frozen, err);
}

int
olrun_cgroup_update (struct olrun_cgroup *cg, const struct olrun_resources *r, olrun_error_t *err)
{
  return cg->ops->update (cg, r, err);
}

int
olrun_cgroup_is_frozen (struct olrun_cgroup *cg, bool *ret, olrun_error_t *err)
{
  *ret = false;
  if (cg->dirfd < 0)
    return 0;
  char v;
  if (olrun_cgroup_read_event (cg->dirfd, "frozen", &v, err) < 0)
    return -1;
  *ret = v == '1';
  return 0;
}

int
olrun_cgroup_pids (struct olrun_cgroup *cg, pid_t **ret, size_t *ret_len, olrun_error_t *err)
{
  *ret = NULL;
  *ret_len = 0;
  if (cg->dirfd < 0)
    return cg->manager == OLRUN_CGROUP_DISABLED
               ? olrun_error_set (err, OLRUN_E_UNSUPPORTED, 0, "the container has no cgroup (cgroup manager disabled)")
               : 0;
  return olrun_cgroup_pids_at (cg->dirfd, ret, ret_len, err);
}

int
olrun_cgroup_stats (struct olrun_cgroup *cg, struct olrun_cgroup_stats *ret, olrun_error_t *err)
{
  memset (ret, 0, sizeof *ret);
  if (cg->dirfd < 0)
    return olrun_error_set (err, OLRUN_E_UNSUPPORTED, 0, "the container has no cgroup");
  return olrun_cgroup_stats_at (cg->dirfd, ret, err);
}

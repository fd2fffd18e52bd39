/* struct olrun_resources -> a runtime-spec linux.resources object, so that
 * `update` can save what it applied and read it back with the same parser
 * (runtime/spec_resources.c). */
#include <string.h>

#include "olrun/json.h"
#include "olrun/spec.h"
#include "olrun/util.h"

static void
io_devices (olrun_jw_t *w, const char *key, const char *value_key, const struct olrun_cgroup_io_device *v, size_t n)
{
  if (n == 0)
    return;
  olrun_jw_key (w, key);
  olrun_jw_array_open (w);
  for (size_t i = 0; i < n; i++)
    {
      olrun_jw_object_open (w);
      olrun_jw_kv_int (w, "major", v[i].major);
      olrun_jw_kv_int (w, "minor", v[i].minor);
      olrun_jw_key (w, value_key);
      olrun_jw_uint (w, v[i].value);
      olrun_jw_object_close (w);
    }
  olrun_jw_array_close (w);
}

static void
write_memory_cpu (olrun_jw_t *w, const struct olrun_resources *r)
{
  olrun_jw_key (w, "memory");
  olrun_jw_object_open (w);
  if (r->memory.has_limit)
    olrun_jw_kv_int (w, "limit", r->memory.limit);
  if (r->memory.has_reservation)
    olrun_jw_kv_int (w, "reservation", r->memory.reservation);
  if (r->memory.has_swap)
    olrun_jw_kv_int (w, "swap", r->memory.swap);
  if (r->memory.check_before_update)
    olrun_jw_kv_bool (w, "checkBeforeUpdate", true);
  olrun_jw_object_close (w);
  olrun_jw_key (w, "cpu");
  olrun_jw_object_open (w);
  if (r->cpu.has_shares)
    olrun_jw_key (w, "shares"), olrun_jw_uint (w, r->cpu.shares);
  if (r->cpu.has_quota)
    olrun_jw_kv_int (w, "quota", r->cpu.quota);
  if (r->cpu.has_period)
    olrun_jw_key (w, "period"), olrun_jw_uint (w, r->cpu.period);
  if (r->cpu.has_burst)
    olrun_jw_key (w, "burst"), olrun_jw_uint (w, r->cpu.burst);
  if (r->cpu.has_idle)
    olrun_jw_kv_int (w, "idle", r->cpu.idle);
  if (r->cpu.cpus)
    olrun_jw_kv_string (w, "cpus", r->cpu.cpus);
  if (r->cpu.mems)
    olrun_jw_kv_string (w, "mems", r->cpu.mems);
  olrun_jw_object_close (w);
}

static void
write_rest (olrun_jw_t *w, const struct olrun_resources *r)
{
  static const char *const throttle_keys[OLRUN_IO_THROTTLE_COUNT] = {
    "throttleReadBpsDevice", "throttleWriteBpsDevice", "throttleReadIOPSDevice", "throttleWriteIOPSDevice"
  };
  if (r->pids.has_limit)
    {
      olrun_jw_key (w, "pids");
      olrun_jw_object_open (w);
      olrun_jw_kv_int (w, "limit", r->pids.limit);
      olrun_jw_object_close (w);
    }
  olrun_jw_key (w, "blockIO");
  olrun_jw_object_open (w);
  if (r->io.has_weight)
    olrun_jw_kv_int (w, "weight", r->io.weight);
  io_devices (w, "weightDevice", "weight", r->io.weight_devices, r->io.n_weight_devices);
  for (int k = 0; k < OLRUN_IO_THROTTLE_COUNT; k++)
    io_devices (w, throttle_keys[k], "rate", r->io.throttle[k], r->io.n_throttle[k]);
  olrun_jw_object_close (w);
  olrun_jw_key (w, "hugepageLimits");
  olrun_jw_array_open (w);
  for (size_t i = 0; i < r->n_hugetlb; i++)
    {
      olrun_jw_object_open (w);
      olrun_jw_kv_string (w, "pageSize", r->hugetlb[i].pagesize);
      olrun_jw_key (w, "limit");
      olrun_jw_uint (w, r->hugetlb[i].limit);
      olrun_jw_object_close (w);
    }
  olrun_jw_array_close (w);
  olrun_jw_key (w, "rdma");
  olrun_jw_object_open (w);
  for (size_t i = 0; i < r->n_rdma; i++)
    {
      olrun_jw_key (w, r->rdma[i].device);
      olrun_jw_object_open (w);
      if (r->rdma[i].has_handles)
        olrun_jw_kv_int (w, "hcaHandles", r->rdma[i].handles);
      if (r->rdma[i].has_objects)
        olrun_jw_kv_int (w, "hcaObjects", r->rdma[i].objects);
      olrun_jw_object_close (w);
    }
  olrun_jw_object_close (w);
  olrun_jw_key (w, "unified");
  olrun_jw_object_open (w);
  for (size_t i = 0; i < r->n_unified; i++)
    olrun_jw_kv_string (w, r->unified[i].key, r->unified[i].value);
  olrun_jw_object_close (w);
}

static void
write_devices (olrun_jw_t *w, const struct olrun_resources *r)
{
  if (!r->has_devices)
    return;
  olrun_jw_key (w, "devices");
  olrun_jw_array_open (w);
  for (size_t i = 0; i < r->n_devices; i++)
    {
      const struct olrun_cgroup_device_rule *d = &r->devices[i];
      char type[2] = { d->type, 0 }, access[4] = { 0 };
      size_t n = 0;
      if (d->access & OLRUN_DEV_ACC_READ)
        access[n++] = 'r';
      if (d->access & OLRUN_DEV_ACC_WRITE)
        access[n++] = 'w';
      if (d->access & OLRUN_DEV_ACC_MKNOD)
        access[n++] = 'm';
      olrun_jw_object_open (w);
      olrun_jw_kv_bool (w, "allow", d->allow);
      olrun_jw_kv_string (w, "type", type);
      if (d->major >= 0)
        olrun_jw_kv_int (w, "major", d->major);
      if (d->minor >= 0)
        olrun_jw_kv_int (w, "minor", d->minor);
      olrun_jw_kv_string (w, "access", access);
      olrun_jw_object_close (w);
    }
  olrun_jw_array_close (w);
}

char *
olrun_resources_to_json (const struct olrun_resources *r)
{
  olrun_jw_t *w = olrun_jw_new (true);
  olrun_jw_object_open (w);
  write_memory_cpu (w, r);
  write_rest (w, r);
  write_devices (w, r);
  olrun_jw_object_close (w);
  char *text = xstrdup (olrun_jw_text (w, NULL));
  olrun_jw_free (w);
  return text;
}

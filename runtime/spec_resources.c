/* linux.resources -> struct olrun_resources (include/olrun/cgroup.h).
 *
 * Everything cgroup v2 cannot honour is refused here, with the file, the
 * JSON path and the byte offset, before anything is created: the v1-only
 * knobs (kernel memory, swappiness, disableOOMKiller, leaf weights,
 * net_cls/net_prio), the realtime scheduler budget (cgroup v2's cpu
 * controller has no cpu.rt_*), and out-of-range values.  Conversions to v2
 * files happen in cgroup/resources.c. */
#include <inttypes.h>
#include <string.h>

#include "olrun/spec.h"
#include "olrun/util.h"

struct ctx
{
  const struct olrun_jdec *d;
  const olrun_json_t *obj;      /* the section */
  const struct olrun_jpath *p;  /* its path */
};

static int
refuse (const struct ctx *c, const char *key, const char *why)
{
  struct olrun_jpath kp = OLRUN_JPATH_KEY (c->p, key);
  return olrun_jdec_error (c->d, &kp, olrun_json_get (c->obj, key), "%s", why);
}

/* A limit in bytes: -1 ("max") or non-negative. */
static int
limit (const struct ctx *c, const char *key, int64_t *ret, bool *present)
{
  if (olrun_jdec_int64 (c->d, c->obj, c->p, key, INT64_MIN, INT64_MAX, ret, present) < 0)
    return -1;
  if (*present && *ret < -1)
    return refuse (c, key, "a negative limit (only -1, unlimited, is allowed)");
  return 0;
}

static int
parse_memory (const struct ctx *c, struct olrun_resources *r)
{
  bool has = false, b = false;
  int64_t v = 0;
  uint64_t u = 0;
  if (limit (c, "limit", &r->memory.limit, &r->memory.has_limit) < 0
      || limit (c, "reservation", &r->memory.reservation, &r->memory.has_reservation) < 0
      || limit (c, "swap", &r->memory.swap, &r->memory.has_swap) < 0
      || olrun_jdec_bool (c->d, c->obj, c->p, "checkBeforeUpdate", &r->memory.check_before_update) < 0)
    return -1;
  if (olrun_jdec_int64 (c->d, c->obj, c->p, "kernel", INT64_MIN, INT64_MAX, &v, &has) < 0)
    return -1;
  if (has && v != 0)
    return refuse (c, "kernel", "kernel memory limits do not exist on cgroup v2");
  has = false;
  if (olrun_jdec_int64 (c->d, c->obj, c->p, "kernelTCP", INT64_MIN, INT64_MAX, &v, &has) < 0)
    return -1;
  if (has && v != 0)
    return refuse (c, "kernelTCP", "kernel TCP memory limits do not exist on cgroup v2");
  has = false;
  if (olrun_jdec_uint64 (c->d, c->obj, c->p, "swappiness", &u, &has) < 0)
    return -1;
  if (has)
    return refuse (c, "swappiness", "per-cgroup swappiness does not exist on cgroup v2");
  if (olrun_jdec_bool (c->d, c->obj, c->p, "disableOOMKiller", &b) < 0)
    return -1;
  if (b)
    return refuse (c, "disableOOMKiller", "the OOM killer cannot be disabled on cgroup v2 (no memory.oom_control)");
  b = true;
  if (olrun_jdec_bool (c->d, c->obj, c->p, "useHierarchy", &b) < 0)
    return -1;
  if (!b)
    return refuse (c, "useHierarchy", "cgroup v2 is always hierarchical");
  return 0;
}

/* "0-3,7": what cpuset.cpus and cpuset.mems accept. */
static int
cpu_list (const struct ctx *c, const char *key, char **ret)
{
  if (olrun_jdec_string (c->d, c->obj, c->p, key, false, ret) < 0)
    return -1;
  if (*ret && (*ret)[strspn (*ret, "0123456789,- ")] != '\0')
    return refuse (c, key, "expected a list such as `0-3,7`");
  return 0;
}

static int
parse_cpu (const struct ctx *c, struct olrun_resources *r)
{
  bool has = false;
  int64_t rt = 0;
  uint64_t rtp = 0;
  if (olrun_jdec_uint64 (c->d, c->obj, c->p, "shares", &r->cpu.shares, &r->cpu.has_shares) < 0
      || olrun_jdec_int64 (c->d, c->obj, c->p, "quota", INT64_MIN, INT64_MAX, &r->cpu.quota, &r->cpu.has_quota) < 0
      || olrun_jdec_uint64 (c->d, c->obj, c->p, "period", &r->cpu.period, &r->cpu.has_period) < 0
      || olrun_jdec_uint64 (c->d, c->obj, c->p, "burst", &r->cpu.burst, &r->cpu.has_burst) < 0
      || olrun_jdec_int64 (c->d, c->obj, c->p, "idle", 0, 1, &r->cpu.idle, &r->cpu.has_idle) < 0
      || cpu_list (c, "cpus", &r->cpu.cpus) < 0 || cpu_list (c, "mems", &r->cpu.mems) < 0)
    return -1;
  if (r->cpu.has_shares && r->cpu.shares != 0 && (r->cpu.shares < 2 || r->cpu.shares > 262144))
    return refuse (c, "shares", "out of range: cpu shares are 2..262144");
  /* The kernel's cpu.max bounds: period 1ms..1s, quota at least 1ms. */
  if (r->cpu.has_period && r->cpu.period != 0 && (r->cpu.period < 1000 || r->cpu.period > 1000000))
    return refuse (c, "period", "out of range: the period is 1000..1000000 microseconds");
  if (r->cpu.has_quota && r->cpu.quota < -1)
    return refuse (c, "quota", "a negative quota (only -1, unlimited, is allowed)");
  if (r->cpu.has_quota && r->cpu.quota > 0 && r->cpu.quota < 1000)
    return refuse (c, "quota", "out of range: the quota is at least 1000 microseconds");
  if (r->cpu.has_burst && (!r->cpu.has_quota || r->cpu.quota <= 0 || r->cpu.burst > (uint64_t) r->cpu.quota))
    return refuse (c, "burst", "the burst needs a quota and may not exceed it");
  if (olrun_jdec_int64 (c->d, c->obj, c->p, "realtimeRuntime", INT64_MIN, INT64_MAX, &rt, &has) < 0)
    return -1;
  if (has && rt != 0)
    return refuse (c, "realtimeRuntime", "realtime CPU budgets do not exist on cgroup v2");
  has = false;
  if (olrun_jdec_uint64 (c->d, c->obj, c->p, "realtimePeriod", &rtp, &has) < 0)
    return -1;
  if (has && rtp != 0)
    return refuse (c, "realtimePeriod", "realtime CPU budgets do not exist on cgroup v2");
  return 0;
}

/* blockIO.weightDevice[] or one of the throttle arrays. */
static int
io_devices (const struct ctx *c, const char *key, const char *value_key, struct olrun_cgroup_io_device **ret,
            size_t *ret_len)
{
  bool failed = false;
  const olrun_json_t *arr = olrun_jdec_member (c->d, c->obj, c->p, key, OLRUN_JSON_ARRAY, false, &failed);
  if (arr == NULL)
    return failed ? -1 : 0;
  struct olrun_jpath ap = OLRUN_JPATH_KEY (c->p, key);
  free (*ret);
  *ret = xzalloc ((arr->u.array.len + 1) * sizeof **ret);
  *ret_len = 0;
  for (size_t i = 0; i < arr->u.array.len; i++)
    {
      const olrun_json_t *e = arr->u.array.items[i];
      struct olrun_jpath ip = OLRUN_JPATH_INDEX (&ap, i);
      struct olrun_cgroup_io_device *d = &(*ret)[i];
      bool has_major = false, has_minor = false, has_value = false, has_leaf = false;
      uint64_t leaf = 0;
      if (olrun_jdec_expect (c->d, e, &ip, OLRUN_JSON_OBJECT) < 0
          || olrun_jdec_int64 (c->d, e, &ip, "major", 0, UINT32_MAX, &d->major, &has_major) < 0
          || olrun_jdec_int64 (c->d, e, &ip, "minor", 0, UINT32_MAX, &d->minor, &has_minor) < 0
          || olrun_jdec_uint64 (c->d, e, &ip, value_key, &d->value, &has_value) < 0
          || olrun_jdec_uint64 (c->d, e, &ip, "leafWeight", &leaf, &has_leaf) < 0)
        return -1;
      if (!has_major || !has_minor)
        return olrun_jdec_error (c->d, &ip, e, "major and minor are required");
      if (has_leaf && leaf != 0)
        return olrun_jdec_error (c->d, &ip, e, "leafWeight does not exist on cgroup v2");
      if (strcmp (value_key, "weight") == 0 && (!has_value || d->value < 10 || d->value > 1000))
        return olrun_jdec_error (c->d, &ip, e, "weight must be 10..1000");
      if (!has_value && strcmp (value_key, "rate") == 0)
        return olrun_jdec_error (c->d, &ip, e, "rate is required");
      (*ret_len)++;
    }
  return 0;
}

static int
parse_block_io (const struct ctx *c, struct olrun_resources *r)
{
  static const char *const throttle_keys[OLRUN_IO_THROTTLE_COUNT] = {
    "throttleReadBpsDevice", "throttleWriteBpsDevice", "throttleReadIOPSDevice", "throttleWriteIOPSDevice"
  };
  int64_t w = 0, leaf = 0;
  bool has_leaf = false;
  if (olrun_jdec_int64 (c->d, c->obj, c->p, "weight", 0, 65535, &w, &r->io.has_weight) < 0
      || olrun_jdec_int64 (c->d, c->obj, c->p, "leafWeight", 0, 65535, &leaf, &has_leaf) < 0)
    return -1;
  if (r->io.has_weight && w != 0 && (w < 10 || w > 1000))
    return refuse (c, "weight", "out of range: the weight is 10..1000");
  r->io.weight = (uint16_t) w;
  if (has_leaf && leaf != 0)
    return refuse (c, "leafWeight", "leafWeight does not exist on cgroup v2");
  if (io_devices (c, "weightDevice", "weight", &r->io.weight_devices, &r->io.n_weight_devices) < 0)
    return -1;
  for (int k = 0; k < OLRUN_IO_THROTTLE_COUNT; k++)
    if (io_devices (c, throttle_keys[k], "rate", &r->io.throttle[k], &r->io.n_throttle[k]) < 0)
      return -1;
  return 0;
}

static int
parse_hugetlb (const struct olrun_jdec *d, const olrun_json_t *arr, const struct olrun_jpath *ap,
               struct olrun_resources *r)
{
  r->hugetlb = xzalloc ((arr->u.array.len + 1) * sizeof *r->hugetlb);
  for (size_t i = 0; i < arr->u.array.len; i++)
    {
      const olrun_json_t *e = arr->u.array.items[i];
      struct olrun_jpath ip = OLRUN_JPATH_INDEX (ap, i);
      struct olrun_cgroup_hugetlb *h = &r->hugetlb[r->n_hugetlb];
      bool has_limit = false;
      if (olrun_jdec_expect (d, e, &ip, OLRUN_JSON_OBJECT) < 0
          || olrun_jdec_string (d, e, &ip, "pageSize", true, &h->pagesize) < 0)
        return -1;
      r->n_hugetlb++;
      if (olrun_jdec_uint64 (d, e, &ip, "limit", &h->limit, &has_limit) < 0)
        return -1;
      /* The size becomes part of a file name: digits and a unit only. */
      size_t digits = strspn (h->pagesize, "0123456789");
      const char *unit = h->pagesize + digits;
      if (digits == 0 || digits > 8 || (strcmp (unit, "KB") && strcmp (unit, "MB") && strcmp (unit, "GB")))
        {
          struct olrun_jpath pp = OLRUN_JPATH_KEY (&ip, "pageSize");
          return olrun_jdec_error (d, &pp, olrun_json_get (e, "pageSize"), "invalid page size `%s` (e.g. `2MB`)",
                                   h->pagesize);
        }
      if (!has_limit)
        return olrun_jdec_error (d, &ip, e, "limit is required");
    }
  return 0;
}

static int
parse_rdma (const struct olrun_jdec *d, const olrun_json_t *obj, const struct olrun_jpath *op,
            struct olrun_resources *r)
{
  r->rdma = xzalloc ((obj->u.object.len + 1) * sizeof *r->rdma);
  for (size_t i = 0; i < obj->u.object.len; i++)
    {
      const char *dev = obj->u.object.keys[i];
      const olrun_json_t *e = obj->u.object.values[i];
      struct olrun_jpath kp = OLRUN_JPATH_KEY (op, dev);
      struct olrun_cgroup_rdma *x = &r->rdma[r->n_rdma++];
      x->device = xstrdup (dev);
      int64_t h = 0, o = 0;
      if (olrun_jdec_expect (d, e, &kp, OLRUN_JSON_OBJECT) < 0
          || olrun_jdec_int64 (d, e, &kp, "hcaHandles", 0, UINT32_MAX, &h, &x->has_handles) < 0
          || olrun_jdec_int64 (d, e, &kp, "hcaObjects", 0, UINT32_MAX, &o, &x->has_objects) < 0)
        return -1;
      x->handles = (uint32_t) h;
      x->objects = (uint32_t) o;
      if (*dev == '\0' || dev[strcspn (dev, " \t\n=/")] != '\0')
        return olrun_jdec_error (d, &kp, e, "invalid RDMA device name `%s`", dev);
    }
  return 0;
}

/* unified: any "file": "value" of the container's own cgroup.  A key that
 * could name another cgroup's file, or a file through which the runtime
 * itself manages the cgroup, is refused. */
static int
parse_unified (const struct olrun_jdec *d, const olrun_json_t *obj, const struct olrun_jpath *op,
               struct olrun_resources *r)
{
  static const char *const owned[] = { "cgroup.procs", "cgroup.threads", "cgroup.subtree_control", "cgroup.kill",
                                       "cgroup.freeze", "cgroup.type", "cgroup.events", "cgroup.controllers" };
  r->unified = xzalloc ((obj->u.object.len + 1) * sizeof *r->unified);
  for (size_t i = 0; i < obj->u.object.len; i++)
    {
      const char *key = obj->u.object.keys[i];
      struct olrun_jpath kp = OLRUN_JPATH_KEY (op, key);
      const olrun_json_t *v = obj->u.object.values[i];
      struct olrun_cgroup_kv *kv = &r->unified[r->n_unified++];
      kv->key = xstrdup (key);
      if (olrun_jdec_string_node (d, v, &kp, &kv->value) < 0)
        return -1;
      if (*key == '\0' || strchr (key, '/') || strcmp (key, ".") == 0 || strcmp (key, "..") == 0
          || strlen (key) != strlen (kv->key))
        return olrun_jdec_error (d, &kp, v, "key `%s` is outside the container's cgroup", key);
      if (strchr (key, '.') == NULL)
        return olrun_jdec_error (d, &kp, v, "unknown key `%s`: expected `<controller>.<file>`", key);
      for (size_t k = 0; k < ARRAY_SIZE (owned); k++)
        if (strcmp (key, owned[k]) == 0)
          return olrun_jdec_error (d, &kp, v, "`%s` is managed by the runtime", key);
    }
  return 0;
}

static int
parse_device_rule (const struct olrun_jdec *d, const olrun_json_t *e, const struct olrun_jpath *ip,
                   struct olrun_cgroup_device_rule *rule)
{
  _cleanup_free_ char *type = NULL, *access = NULL;
  bool has_allow = false;
  rule->major = rule->minor = -1;
  if (olrun_jdec_expect (d, e, ip, OLRUN_JSON_OBJECT) < 0 || olrun_jdec_string (d, e, ip, "type", false, &type) < 0
      || olrun_jdec_string (d, e, ip, "access", false, &access) < 0
      || olrun_jdec_int64 (d, e, ip, "major", -1, UINT32_MAX, &rule->major, NULL) < 0
      || olrun_jdec_int64 (d, e, ip, "minor", -1, UINT32_MAX, &rule->minor, NULL) < 0)
    return -1;
  const olrun_json_t *a = olrun_json_get (e, "allow");
  if (a && a->type == OLRUN_JSON_BOOL)
    rule->allow = a->u.boolean, has_allow = true;
  if (!has_allow)
    {
      struct olrun_jpath ap = OLRUN_JPATH_KEY (ip, "allow");
      return olrun_jdec_error (d, &ap, a ? a : e, a ? "expected a boolean" : "required but missing");
    }
  rule->type = 'a';
  if (type && (strlen (type) != 1 || !strchr ("abc", type[0])))
    {
      struct olrun_jpath tp = OLRUN_JPATH_KEY (ip, "type");
      return olrun_jdec_error (d, &tp, olrun_json_get (e, "type"), "bad device type `%s` (expected a, b or c)",
                               type);
    }
  if (type)
    rule->type = type[0];
  /* An empty access, like none, means all three (runc). */
  const char *acc = access && *access ? access : "rwm";
  for (const char *ch = acc; *ch; ch++)
    {
      unsigned bit = *ch == 'r' ? OLRUN_DEV_ACC_READ : *ch == 'w' ? OLRUN_DEV_ACC_WRITE : *ch == 'm' ? OLRUN_DEV_ACC_MKNOD : 0;
      if (bit == 0 || (rule->access & bit))
        {
          struct olrun_jpath cp = OLRUN_JPATH_KEY (ip, "access");
          return olrun_jdec_error (d, &cp, olrun_json_get (e, "access"), "bad access `%s` (letters r, w, m)", acc);
        }
      rule->access |= bit;
    }
  return 0;
}

static int
parse_devices (const struct olrun_jdec *d, const olrun_json_t *arr, const struct olrun_jpath *ap,
               struct olrun_resources *r)
{
  r->has_devices = true;
  r->devices = xzalloc ((arr->u.array.len + 1) * sizeof *r->devices);
  for (size_t i = 0; i < arr->u.array.len; i++)
    {
      struct olrun_jpath ip = OLRUN_JPATH_INDEX (ap, i);
      if (parse_device_rule (d, arr->u.array.items[i], &ip, &r->devices[i]) < 0)
        return -1;
      r->n_devices++;
    }
  return 0;
}

/* Sections that are objects, parsed by a function of the (ctx, r) shape. */
static int
section (const struct olrun_jdec *d, const olrun_json_t *node, const struct olrun_jpath *p, const char *key,
         int (*fn) (const struct ctx *, struct olrun_resources *), struct olrun_resources *r)
{
  bool failed = false;
  const olrun_json_t *obj = olrun_jdec_member (d, node, p, key, OLRUN_JSON_OBJECT, false, &failed);
  if (obj == NULL)
    return failed ? -1 : 0;
  struct olrun_jpath kp = OLRUN_JPATH_KEY (p, key);
  struct ctx c = { d, obj, &kp };
  return fn (&c, r);
}

static int
parse_pids (const struct ctx *c, struct olrun_resources *r)
{
  return olrun_jdec_int64 (c->d, c->obj, c->p, "limit", INT64_MIN, INT64_MAX, &r->pids.limit, &r->pids.has_limit);
}

static int
parse_network (const struct ctx *c, struct olrun_resources *r)
{
  const olrun_json_t *cls = olrun_json_get (c->obj, "classID");
  const olrun_json_t *prio = olrun_json_get (c->obj, "priorities");
  if ((cls && cls->type != OLRUN_JSON_NULL) || (prio && prio->type == OLRUN_JSON_ARRAY && prio->u.array.len))
    return refuse (c, cls ? "classID" : "priorities", "net_cls and net_prio are cgroup v1 controllers; v2 has none");
  return 0;
}

static int
parse_all (const struct olrun_jdec *d, const olrun_json_t *node, const struct olrun_jpath *p,
           struct olrun_resources *r)
{
  bool failed = false;
  if (section (d, node, p, "memory", parse_memory, r) < 0 || section (d, node, p, "cpu", parse_cpu, r) < 0
      || section (d, node, p, "pids", parse_pids, r) < 0 || section (d, node, p, "blockIO", parse_block_io, r) < 0
      || section (d, node, p, "network", parse_network, r) < 0)
    return -1;
  const olrun_json_t *x = olrun_jdec_member (d, node, p, "hugepageLimits", OLRUN_JSON_ARRAY, false, &failed);
  struct olrun_jpath hp = OLRUN_JPATH_KEY (p, "hugepageLimits");
  if (failed || (x && parse_hugetlb (d, x, &hp, r) < 0))
    return -1;
  x = olrun_jdec_member (d, node, p, "rdma", OLRUN_JSON_OBJECT, false, &failed);
  struct olrun_jpath rp = OLRUN_JPATH_KEY (p, "rdma");
  if (failed || (x && parse_rdma (d, x, &rp, r) < 0))
    return -1;
  x = olrun_jdec_member (d, node, p, "unified", OLRUN_JSON_OBJECT, false, &failed);
  struct olrun_jpath up = OLRUN_JPATH_KEY (p, "unified");
  if (failed || (x && parse_unified (d, x, &up, r) < 0))
    return -1;
  x = olrun_jdec_member (d, node, p, "devices", OLRUN_JSON_ARRAY, false, &failed);
  struct olrun_jpath dp = OLRUN_JPATH_KEY (p, "devices");
  if (failed || (x && parse_devices (d, x, &dp, r) < 0))
    return -1;
  return 0;
}

int
olrun_spec_parse_resources (const struct olrun_jdec *d, const olrun_json_t *node, const struct olrun_jpath *p,
                            struct olrun_resources **ret)
{
  if (olrun_jdec_expect (d, node, p, OLRUN_JSON_OBJECT) < 0)
    return -1;
  _cleanup_resources_ struct olrun_resources *r = olrun_resources_new ();
  if (parse_all (d, node, p, r) < 0)
    return -1;
  /* swap is memory+swap: check the pair now rather than at create.  (A
   * swap without a limit may be an `update` against the live limit.) */
  if (r->memory.has_swap && r->memory.has_limit)
    {
      int64_t unused;
      olrun_error_t tmp = NULL;
      if (olrun_cgroup_swap_max (r->memory.swap, r->memory.limit, &unused, &tmp) < 0)
        {
          const olrun_json_t *mem = olrun_json_get (node, "memory");
          struct olrun_jpath mp = OLRUN_JPATH_KEY (p, "memory");
          struct olrun_jpath sp = OLRUN_JPATH_KEY (&mp, "swap");
          olrun_jdec_error (d, &sp, olrun_json_get (mem, "swap"), "%s", tmp->msg);
          olrun_error_release (&tmp);
          return -1;
        }
    }
  *ret = TAKE_PTR (r);
  return 0;
}

struct olrun_cgroup_device_rule *
olrun_resources_rules_from_devices (const struct olrun_device *devs, size_t n)
{
  struct olrun_cgroup_device_rule *v = xzalloc ((n + 1) * sizeof *v);
  for (size_t i = 0; i < n; i++)
    v[i] = (struct olrun_cgroup_device_rule){ .allow = true, .type = devs[i].type, .major = devs[i].major,
                                              .minor = devs[i].minor,
                                              .access = OLRUN_DEV_ACC_READ | OLRUN_DEV_ACC_WRITE | OLRUN_DEV_ACC_MKNOD };
  return v;
}

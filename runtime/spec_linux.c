/* config.json's linux object -> struct olrun_linux. */
#include <string.h>

#include "olrun/spec.h"
#include "olrun/util.h"
#include "runtime/spec_internal.h"

int
olrun_spec_parse_idmaps (const struct olrun_jdec *d, const olrun_json_t *obj, const struct olrun_jpath *p,
                         const char *key, struct olrun_idmaps *ret)
{
  bool failed = false;
  const olrun_json_t *arr = olrun_jdec_member (d, obj, p, key, OLRUN_JSON_ARRAY, false, &failed);
  if (arr == NULL)
    return failed ? -1 : 0;
  struct olrun_jpath ap = OLRUN_JPATH_KEY (p, key);
  ret->v = xzalloc (arr->u.array.len * sizeof *ret->v);
  for (size_t i = 0; i < arr->u.array.len; i++)
    {
      const olrun_json_t *e = arr->u.array.items[i];
      struct olrun_jpath ip = OLRUN_JPATH_INDEX (&ap, i);
      int64_t c = -1, h = -1, n = -1;
      if (olrun_jdec_expect (d, e, &ip, OLRUN_JSON_OBJECT) < 0
          || olrun_jdec_int64 (d, e, &ip, "containerID", 0, UINT32_MAX, &c, NULL) < 0
          || olrun_jdec_int64 (d, e, &ip, "hostID", 0, UINT32_MAX, &h, NULL) < 0
          || olrun_jdec_int64 (d, e, &ip, "size", 1, UINT32_MAX, &n, NULL) < 0)
        return -1;
      if (c < 0 || h < 0 || n < 0)
        return olrun_jdec_error (d, &ip, e, "containerID, hostID and size are required");
      if (c + n > (int64_t) UINT32_MAX + 1 || h + n > (int64_t) UINT32_MAX + 1)
        return olrun_jdec_error (d, &ip, e, "range overflows 32 bits");
      ret->v[ret->len++] = (struct olrun_idmap){ (uint32_t) c, (uint32_t) h, (uint32_t) n };
    }
  return 0;
}

static int
parse_namespaces (const struct olrun_jdec *d, const olrun_json_t *lin, const struct olrun_jpath *lp,
                  struct olrun_linux *l)
{
  bool failed = false;
  const olrun_json_t *arr = olrun_jdec_member (d, lin, lp, "namespaces", OLRUN_JSON_ARRAY, false, &failed);
  if (arr == NULL)
    return failed ? -1 : 0;
  struct olrun_jpath ap = OLRUN_JPATH_KEY (lp, "namespaces");
  for (size_t i = 0; i < arr->u.array.len; i++)
    {
      const olrun_json_t *e = arr->u.array.items[i];
      struct olrun_jpath ip = OLRUN_JPATH_INDEX (&ap, i);
      struct olrun_jpath tp = OLRUN_JPATH_KEY (&ip, "type");
      _cleanup_free_ char *type = NULL, *path = NULL;
      if (olrun_jdec_expect (d, e, &ip, OLRUN_JSON_OBJECT) < 0
          || olrun_jdec_string (d, e, &ip, "type", true, &type) < 0
          || olrun_jdec_string (d, e, &ip, "path", false, &path) < 0)
        return -1;
      int t = olrun_ns_from_name (type);
      if (t < 0)
        return olrun_jdec_error (d, &tp, olrun_json_get (e, "type"), "unknown namespace type `%s`", type);
      if (l->ns[t].enabled)
        return olrun_jdec_error (d, &tp, olrun_json_get (e, "type"), "duplicate namespace `%s`", type);
      if (path && path[0] != '/')
        {
          struct olrun_jpath pp = OLRUN_JPATH_KEY (&ip, "path");
          return olrun_jdec_error (d, &pp, olrun_json_get (e, "path"), "must be an absolute path, got `%s`", path);
        }
      l->ns[t].enabled = true;
      l->ns[t].path = path && *path ? TAKE_PTR (path) : NULL;
    }
  return 0;
}

static int
parse_devices (const struct olrun_jdec *d, const olrun_json_t *lin, const struct olrun_jpath *lp,
               struct olrun_linux *l)
{
  bool failed = false;
  const olrun_json_t *arr = olrun_jdec_member (d, lin, lp, "devices", OLRUN_JSON_ARRAY, false, &failed);
  if (arr == NULL)
    return failed ? -1 : 0;
  struct olrun_jpath ap = OLRUN_JPATH_KEY (lp, "devices");
  l->devices = xzalloc (arr->u.array.len * sizeof *l->devices);
  for (size_t i = 0; i < arr->u.array.len; i++)
    {
      const olrun_json_t *e = arr->u.array.items[i];
      struct olrun_jpath ip = OLRUN_JPATH_INDEX (&ap, i);
      struct olrun_device *dev = &l->devices[l->n_devices++];
      _cleanup_free_ char *type = NULL;
      int64_t major = 0, minor = 0, mode = 0, uid = 0, gid = 0;
      if (olrun_jdec_expect (d, e, &ip, OLRUN_JSON_OBJECT) < 0
          || olrun_jdec_string (d, e, &ip, "path", true, &dev->path) < 0
          || olrun_jdec_string (d, e, &ip, "type", true, &type) < 0
          || olrun_jdec_int64 (d, e, &ip, "major", 0, INT32_MAX, &major, NULL) < 0
          || olrun_jdec_int64 (d, e, &ip, "minor", 0, INT32_MAX, &minor, NULL) < 0
          || olrun_jdec_int64 (d, e, &ip, "fileMode", 0, 07777, &mode, &dev->has_mode) < 0
          || olrun_jdec_int64 (d, e, &ip, "uid", 0, UINT32_MAX - 1, &uid, &dev->has_uid) < 0
          || olrun_jdec_int64 (d, e, &ip, "gid", 0, UINT32_MAX - 1, &gid, &dev->has_gid) < 0)
        return -1;
      struct olrun_jpath tp = OLRUN_JPATH_KEY (&ip, "type");
      if (strlen (type) != 1 || !strchr ("cbup", type[0]))
        return olrun_jdec_error (d, &tp, olrun_json_get (e, "type"), "unknown device type `%s`", type);
      dev->type = type[0];
      if (dev->path[0] != '/')
        {
          struct olrun_jpath pp = OLRUN_JPATH_KEY (&ip, "path");
          return olrun_jdec_error (d, &pp, olrun_json_get (e, "path"), "must be an absolute path");
        }
      if (dev->type != 'p' && (!olrun_json_get (e, "major") || !olrun_json_get (e, "minor")))
        return olrun_jdec_error (d, &ip, e, "major and minor are required for a `%c` device", dev->type);
      dev->major = major;
      dev->minor = minor;
      dev->file_mode = (uint32_t) mode;
      dev->uid = (uint32_t) uid;
      dev->gid = (uint32_t) gid;
    }
  return 0;
}

static int
parse_sysctl (const struct olrun_jdec *d, const olrun_json_t *lin, const struct olrun_jpath *lp,
              struct olrun_linux *l)
{
  bool failed = false;
  const olrun_json_t *obj = olrun_jdec_member (d, lin, lp, "sysctl", OLRUN_JSON_OBJECT, false, &failed);
  if (obj == NULL)
    return failed ? -1 : 0;
  struct olrun_jpath sp = OLRUN_JPATH_KEY (lp, "sysctl");
  l->sysctl = xzalloc (obj->u.object.len * sizeof *l->sysctl);
  for (size_t i = 0; i < obj->u.object.len; i++)
    {
      const char *key = obj->u.object.keys[i];
      struct olrun_jpath kp = OLRUN_JPATH_KEY (&sp, key);
      struct olrun_sysctl *e = &l->sysctl[l->n_sysctl++];
      e->key = xstrdup (key);
      if (olrun_jdec_string_node (d, obj->u.object.values[i], &kp, &e->value) < 0)
        return -1;
      /* The key becomes a path under /proc/sys: no way out of it. */
      if (*key == '\0' || strstr (key, "..") || strchr (key, '/') == key || strstr (key, "//"))
        return olrun_jdec_error (d, &kp, obj->u.object.values[i], "invalid sysctl name `%s`", key);
    }
  return 0;
}

static int
parse_time_offsets (const struct olrun_jdec *d, const olrun_json_t *lin, const struct olrun_jpath *lp,
                    struct olrun_linux *l)
{
  bool failed = false;
  const olrun_json_t *obj = olrun_jdec_member (d, lin, lp, "timeOffsets", OLRUN_JSON_OBJECT, false, &failed);
  if (obj == NULL)
    return failed ? -1 : 0;
  struct olrun_jpath tp = OLRUN_JPATH_KEY (lp, "timeOffsets");
  static const char *const clocks[] = { "monotonic", "boottime" };
  for (size_t c = 0; c < 2; c++)
    {
      const olrun_json_t *e = olrun_jdec_member (d, obj, &tp, clocks[c], OLRUN_JSON_OBJECT, false, &failed);
      if (failed)
        return -1;
      if (e == NULL)
        continue;
      struct olrun_jpath cp = OLRUN_JPATH_KEY (&tp, clocks[c]);
      int64_t secs = 0, nsecs = 0;
      if (olrun_jdec_int64 (d, e, &cp, "secs", INT64_MIN, INT64_MAX, &secs, NULL) < 0
          || olrun_jdec_int64 (d, e, &cp, "nanosecs", 0, 999999999, &nsecs, NULL) < 0)
        return -1;
      if (c == 0)
        {
          l->monotonic_secs = secs;
          l->monotonic_nanosecs = (uint32_t) nsecs;
        }
      else
        {
          l->boottime_secs = secs;
          l->boottime_nanosecs = (uint32_t) nsecs;
        }
    }
  l->has_time_offsets = true;
  return 0;
}

static int
parse_net_devices (const struct olrun_jdec *d, const olrun_json_t *lin, const struct olrun_jpath *lp,
                   struct olrun_linux *l)
{
  bool failed = false;
  const olrun_json_t *obj = olrun_jdec_member (d, lin, lp, "netDevices", OLRUN_JSON_OBJECT, false, &failed);
  if (obj == NULL)
    return failed ? -1 : 0;
  struct olrun_jpath np = OLRUN_JPATH_KEY (lp, "netDevices");
  l->net_devices = xzalloc (obj->u.object.len * sizeof *l->net_devices);
  for (size_t i = 0; i < obj->u.object.len; i++)
    {
      const char *host = obj->u.object.keys[i];
      struct olrun_jpath kp = OLRUN_JPATH_KEY (&np, host);
      struct olrun_netdev *nd = &l->net_devices[l->n_net_devices++];
      nd->host_name = xstrdup (host);
      if (olrun_jdec_expect (d, obj->u.object.values[i], &kp, OLRUN_JSON_OBJECT) < 0
          || olrun_jdec_string (d, obj->u.object.values[i], &kp, "name", false, &nd->name) < 0)
        return -1;
      if (nd->name == NULL)
        nd->name = xstrdup (host);
      /* Interface names: at most 15 bytes, no '/', ':' or whitespace. */
      for (int k = 0; k < 2; k++)
        {
          const char *n = k ? nd->name : host;
          if (*n == '\0' || strlen (n) > 15 || strpbrk (n, "/: \t\n") || !strcmp (n, ".") || !strcmp (n, ".."))
            return olrun_jdec_error (d, &kp, obj->u.object.values[i], "invalid interface name `%s`", n);
        }
    }
  return 0;
}

static int
parse_sections (const struct olrun_jdec *d, const olrun_json_t *lin, const struct olrun_jpath *lp,
                struct olrun_linux *l)
{
  bool failed = false;
  const olrun_json_t *r = olrun_jdec_member (d, lin, lp, "resources", OLRUN_JSON_OBJECT, false, &failed);
  if (failed)
    return -1;
  if (r)
    {
      struct olrun_jpath rp = OLRUN_JPATH_KEY (lp, "resources");
      l->resources_json = r;
      if (olrun_spec_parse_resources (d, r, &rp, &l->resources) < 0)
        return -1;
    }
  const olrun_json_t *s = olrun_jdec_member (d, lin, lp, "seccomp", OLRUN_JSON_OBJECT, false, &failed);
  if (failed)
    return -1;
  if (s)
    {
      struct olrun_jpath sp = OLRUN_JPATH_KEY (lp, "seccomp");
      l->seccomp_json = s;
      if (olrun_spec_parse_seccomp (d, s, &sp, &l->seccomp) < 0)
        return -1;
    }
  return 0;
}

int
olrun_spec_parse_linux (const struct olrun_jdec *d, const olrun_json_t *lin, const struct olrun_jpath *lp,
                        struct olrun_linux *l)
{
  if (lin == NULL)
    return 0;
  if (parse_namespaces (d, lin, lp, l) < 0 || olrun_spec_parse_idmaps (d, lin, lp, "uidMappings", &l->uid_mappings) < 0
      || olrun_spec_parse_idmaps (d, lin, lp, "gidMappings", &l->gid_mappings) < 0
      || parse_devices (d, lin, lp, l) < 0
      || olrun_jdec_string (d, lin, lp, "cgroupsPath", false, &l->cgroups_path) < 0
      || parse_sysctl (d, lin, lp, l) < 0 || parse_sections (d, lin, lp, l) < 0
      || olrun_jdec_string (d, lin, lp, "rootfsPropagation", false, &l->rootfs_propagation) < 0
      || olrun_jdec_strv (d, lin, lp, "maskedPaths", false, &l->masked_paths) < 0
      || olrun_jdec_strv (d, lin, lp, "readonlyPaths", false, &l->readonly_paths) < 0
      || olrun_jdec_string (d, lin, lp, "mountLabel", false, &l->mount_label) < 0
      || parse_time_offsets (d, lin, lp, l) < 0 || parse_net_devices (d, lin, lp, l) < 0
      || olrun_spec_parse_linux_process (d, lin, lp, l) < 0)
    return -1;
  if (l->rootfs_propagation && olrun_mount_propagation_flags (l->rootfs_propagation) < 0)
    {
      struct olrun_jpath pp = OLRUN_JPATH_KEY (lp, "rootfsPropagation");
      return olrun_jdec_error (d, &pp, olrun_json_get (lin, "rootfsPropagation"), "unknown propagation `%s`",
                               l->rootfs_propagation);
    }
  return 0;
}

void
olrun_spec_linux_clear (struct olrun_linux *l)
{
  for (int t = 0; t < OLRUN_NS_COUNT; t++)
    free (l->ns[t].path);
  olrun_idmaps_free (&l->uid_mappings);
  olrun_idmaps_free (&l->gid_mappings);
  for (size_t i = 0; i < l->n_devices; i++)
    olrun_device_clear (&l->devices[i]);
  free (l->devices);
  free (l->cgroups_path);
  olrun_resources_free (l->resources);
  for (size_t i = 0; i < l->n_sysctl; i++)
    {
      free (l->sysctl[i].key);
      free (l->sysctl[i].value);
    }
  free (l->sysctl);
  olrun_seccomp_free (l->seccomp);
  free (l->rootfs_propagation);
  strv_free (l->masked_paths);
  strv_free (l->readonly_paths);
  free (l->mount_label);
  for (size_t i = 0; i < l->n_net_devices; i++)
    {
      free (l->net_devices[i].host_name);
      free (l->net_devices[i].name);
    }
  free (l->net_devices);
  free (l->memory_policy);
}

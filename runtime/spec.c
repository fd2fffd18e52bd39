/* config.json -> struct olrun_spec: the top level, process, root, mounts,
 * hooks and annotations.  linux.* is in spec_linux.c. */
#include <fcntl.h>
#include <string.h>
#include <sys/resource.h>

#include "olrun/spec.h"
#include "olrun/util.h"
#include "runtime/spec_internal.h"

bool
olrun_id_valid (const char *id)
{
  size_t n = strlen (id);
  if (n == 0 || n > 1024 || strcmp (id, ".") == 0 || strcmp (id, "..") == 0)
    return false;
  for (const char *c = id; *c; c++)
    if (!((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') || (*c >= '0' && *c <= '9')
          || strchr ("_+.-", *c)))
      return false;
  return true;
}

static const struct
{
  const char *name;
  int resource;
} rlimit_names[] = {
  { "RLIMIT_AS", RLIMIT_AS },         { "RLIMIT_CORE", RLIMIT_CORE },
  { "RLIMIT_CPU", RLIMIT_CPU },       { "RLIMIT_DATA", RLIMIT_DATA },
  { "RLIMIT_FSIZE", RLIMIT_FSIZE },   { "RLIMIT_LOCKS", RLIMIT_LOCKS },
  { "RLIMIT_MEMLOCK", RLIMIT_MEMLOCK }, { "RLIMIT_MSGQUEUE", RLIMIT_MSGQUEUE },
  { "RLIMIT_NICE", RLIMIT_NICE },     { "RLIMIT_NOFILE", RLIMIT_NOFILE },
  { "RLIMIT_NPROC", RLIMIT_NPROC },   { "RLIMIT_RSS", RLIMIT_RSS },
  { "RLIMIT_RTPRIO", RLIMIT_RTPRIO }, { "RLIMIT_RTTIME", RLIMIT_RTTIME },
  { "RLIMIT_SIGPENDING", RLIMIT_SIGPENDING }, { "RLIMIT_STACK", RLIMIT_STACK },
};

static int
parse_rlimits (const struct olrun_jdec *d, const olrun_json_t *proc, const struct olrun_jpath *pp,
               struct olrun_process *p)
{
  bool failed = false;
  const olrun_json_t *arr = olrun_jdec_member (d, proc, pp, "rlimits", OLRUN_JSON_ARRAY, false, &failed);
  if (arr == NULL)
    return failed ? -1 : 0;
  struct olrun_jpath ap = OLRUN_JPATH_KEY (pp, "rlimits");
  p->rlimits = xzalloc (arr->u.array.len * sizeof *p->rlimits);
  for (size_t i = 0; i < arr->u.array.len; i++)
    {
      const olrun_json_t *e = arr->u.array.items[i];
      struct olrun_jpath ip = OLRUN_JPATH_INDEX (&ap, i);
      _cleanup_free_ char *type = NULL;
      if (olrun_jdec_expect (d, e, &ip, OLRUN_JSON_OBJECT) < 0
          || olrun_jdec_string (d, e, &ip, "type", true, &type) < 0)
        return -1;
      struct olrun_rlimit *r = &p->rlimits[p->n_rlimits];
      r->resource = -1;
      for (size_t k = 0; k < ARRAY_SIZE (rlimit_names); k++)
        if (strcmp (type, rlimit_names[k].name) == 0)
          r->resource = rlimit_names[k].resource;
      if (r->resource < 0)
        {
          struct olrun_jpath tp = OLRUN_JPATH_KEY (&ip, "type");
          return olrun_jdec_error (d, &tp, olrun_json_get (e, "type"), "unknown rlimit `%s`", type);
        }
      for (size_t k = 0; k < p->n_rlimits; k++)
        if (p->rlimits[k].resource == r->resource)
          return olrun_jdec_error (d, &ip, e, "duplicate rlimit `%s`", type);
      bool has_soft = false, has_hard = false;
      if (olrun_jdec_uint64 (d, e, &ip, "soft", &r->soft, &has_soft) < 0
          || olrun_jdec_uint64 (d, e, &ip, "hard", &r->hard, &has_hard) < 0)
        return -1;
      if (!has_soft || !has_hard)
        return olrun_jdec_error (d, &ip, e, "`soft` and `hard` are required");
      if (r->soft > r->hard)
        return olrun_jdec_error (d, &ip, e, "soft limit %lu exceeds hard limit %lu",
                                 (unsigned long) r->soft, (unsigned long) r->hard);
      p->n_rlimits++;
    }
  return 0;
}

static int
parse_user (const struct olrun_jdec *d, const olrun_json_t *proc, const struct olrun_jpath *pp,
            struct olrun_process *p)
{
  bool failed = false;
  const olrun_json_t *u = olrun_jdec_member (d, proc, pp, "user", OLRUN_JSON_OBJECT, false, &failed);
  if (u == NULL)
    return failed ? -1 : 0;
  struct olrun_jpath up = OLRUN_JPATH_KEY (pp, "user");
  int64_t uid = 0, gid = 0, umask = -1;
  if (olrun_jdec_int64 (d, u, &up, "uid", 0, UINT32_MAX - 1, &uid, NULL) < 0
      || olrun_jdec_int64 (d, u, &up, "gid", 0, UINT32_MAX - 1, &gid, NULL) < 0
      || olrun_jdec_int64 (d, u, &up, "umask", 0, 0777, &umask, NULL) < 0)
    return -1;
  p->uid = (uint32_t) uid;
  p->gid = (uint32_t) gid;
  p->umask = (int) umask;
  const olrun_json_t *g = olrun_jdec_member (d, u, &up, "additionalGids", OLRUN_JSON_ARRAY, false, &failed);
  if (failed)
    return -1;
  if (g == NULL)
    return 0;
  struct olrun_jpath gp = OLRUN_JPATH_KEY (&up, "additionalGids");
  p->additional_gids = xzalloc (g->u.array.len * sizeof *p->additional_gids);
  for (size_t i = 0; i < g->u.array.len; i++)
    {
      struct olrun_jpath ip = OLRUN_JPATH_INDEX (&gp, i);
      int64_t v;
      if (g->u.array.items[i]->type != OLRUN_JSON_NUMBER
          || olrun_json_number_int64 (g->u.array.items[i], &v) < 0 || v < 0 || v >= UINT32_MAX)
        return olrun_jdec_error (d, &ip, g->u.array.items[i], "expected a gid");
      p->additional_gids[p->n_additional_gids++] = (uint32_t) v;
    }
  return 0;
}

static int
parse_console_size (const struct olrun_jdec *d, const olrun_json_t *proc, const struct olrun_jpath *pp,
                    struct olrun_process *p)
{
  bool failed = false;
  const olrun_json_t *c = olrun_jdec_member (d, proc, pp, "consoleSize", OLRUN_JSON_OBJECT, false, &failed);
  if (c == NULL)
    return failed ? -1 : 0;
  struct olrun_jpath cp = OLRUN_JPATH_KEY (pp, "consoleSize");
  int64_t h = 0, w = 0;
  if (olrun_jdec_int64 (d, c, &cp, "height", 0, UINT16_MAX, &h, NULL) < 0
      || olrun_jdec_int64 (d, c, &cp, "width", 0, UINT16_MAX, &w, NULL) < 0)
    return -1;
  p->console_height = (unsigned) h;
  p->console_width = (unsigned) w;
  return 0;
}

int
olrun_spec_parse_process (const struct olrun_jdec *d, const olrun_json_t *node, const struct olrun_jpath *pp,
                          struct olrun_process **ret)
{
  if (olrun_jdec_expect (d, node, pp, OLRUN_JSON_OBJECT) < 0)
    return -1;
  struct olrun_process *p = xzalloc (sizeof *p);
  p->umask = -1;
  int64_t oom = 0;
  bool failed = false;
  const olrun_json_t *caps = NULL;
  if (olrun_jdec_bool (d, node, pp, "terminal", &p->terminal) < 0
      || parse_console_size (d, node, pp, p) < 0 || parse_user (d, node, pp, p) < 0
      || olrun_jdec_strv (d, node, pp, "args", false, &p->args) < 0
      || olrun_jdec_strv (d, node, pp, "env", false, &p->env) < 0
      || olrun_jdec_string (d, node, pp, "cwd", false, &p->cwd) < 0
      || parse_rlimits (d, node, pp, p) < 0
      || olrun_jdec_bool (d, node, pp, "noNewPrivileges", &p->no_new_privileges) < 0
      || olrun_jdec_string (d, node, pp, "apparmorProfile", false, &p->apparmor_profile) < 0
      || olrun_jdec_string (d, node, pp, "selinuxLabel", false, &p->selinux_label) < 0
      || olrun_jdec_int64 (d, node, pp, "oomScoreAdj", -1000, 1000, &oom, &p->has_oom_score_adj) < 0
      || olrun_spec_parse_process_sched (d, node, pp, p) < 0)
    goto fail;
  p->oom_score_adj = (int) oom;
  caps = olrun_jdec_member (d, node, pp, "capabilities", OLRUN_JSON_OBJECT, false, &failed);
  if (failed)
    goto fail;
  if (caps)
    {
      struct olrun_jpath cp = OLRUN_JPATH_KEY (pp, "capabilities");
      p->has_capabilities = true;
      if (olrun_spec_parse_capabilities (d, caps, &cp, &p->caps) < 0)
        goto fail;
    }
  if (p->cwd == NULL)
    p->cwd = xstrdup ("/");
  if (p->cwd[0] != '/')
    {
      struct olrun_jpath cp = OLRUN_JPATH_KEY (pp, "cwd");
      olrun_jdec_error (d, &cp, olrun_json_get (node, "cwd"), "must be an absolute path, got `%s`", p->cwd);
      goto fail;
    }
  *ret = p;
  return 0;
fail:
  olrun_process_free (p);
  return -1;
}

void
olrun_process_free (struct olrun_process *p)
{
  if (p == NULL)
    return;
  free (p->additional_gids);
  strv_free (p->args);
  strv_free (p->env);
  free (p->cwd);
  free (p->rlimits);
  free (p->apparmor_profile);
  free (p->selinux_label);
  free (p->scheduler);
  free (p);
}

static int
parse_mount (const struct olrun_jdec *d, const olrun_json_t *e, const struct olrun_jpath *ip,
             struct olrun_mount *m)
{
  if (olrun_jdec_expect (d, e, ip, OLRUN_JSON_OBJECT) < 0
      || olrun_jdec_string (d, e, ip, "destination", true, &m->destination) < 0
      || olrun_jdec_string (d, e, ip, "source", false, &m->source) < 0
      || olrun_jdec_string (d, e, ip, "type", false, &m->type) < 0
      || olrun_jdec_strv (d, e, ip, "options", false, &m->options) < 0)
    return -1;
  if (olrun_spec_parse_idmaps (d, e, ip, "uidMappings", &m->uid_mappings) < 0
      || olrun_spec_parse_idmaps (d, e, ip, "gidMappings", &m->gid_mappings) < 0)
    return -1;
  const char *bad = NULL;
  if (olrun_mount_parse_options (m, &bad) < 0)
    {
      struct olrun_jpath op = OLRUN_JPATH_KEY (ip, "options");
      return olrun_jdec_error (d, &op, olrun_json_get (e, "options"), "unknown mount option `%s`", bad);
    }
  if (m->type == NULL && !m->bind)
    {
      struct olrun_jpath tp = OLRUN_JPATH_KEY (ip, "type");
      return olrun_jdec_error (d, &tp, e, "required unless the mount is a bind mount");
    }
  return 0;
}

static int
parse_mounts (const struct olrun_jdec *d, const olrun_json_t *root, struct olrun_spec *s)
{
  bool failed = false;
  const olrun_json_t *arr = olrun_jdec_member (d, root, NULL, "mounts", OLRUN_JSON_ARRAY, false, &failed);
  if (arr == NULL)
    return failed ? -1 : 0;
  struct olrun_jpath ap = OLRUN_JPATH_KEY (NULL, "mounts");
  s->mounts = xzalloc (arr->u.array.len * sizeof *s->mounts);
  for (size_t i = 0; i < arr->u.array.len; i++)
    {
      struct olrun_jpath ip = OLRUN_JPATH_INDEX (&ap, i);
      s->n_mounts++;
      if (parse_mount (d, arr->u.array.items[i], &ip, &s->mounts[i]) < 0)
        return -1;
    }
  return 0;
}

static const char *const hook_names[OLRUN_HOOK_COUNT] = {
  "prestart", "createRuntime", "createContainer", "startContainer", "poststart", "poststop",
};

const char *
olrun_spec_hook_name (enum olrun_hook_kind k)
{
  return k < OLRUN_HOOK_COUNT ? hook_names[k] : NULL;
}

static int
parse_hook (const struct olrun_jdec *d, const olrun_json_t *e, const struct olrun_jpath *ip, struct olrun_hook *h)
{
  int64_t timeout = 0;
  bool has_timeout = false;
  if (olrun_jdec_expect (d, e, ip, OLRUN_JSON_OBJECT) < 0
      || olrun_jdec_string (d, e, ip, "path", true, &h->path) < 0
      || olrun_jdec_strv (d, e, ip, "args", false, &h->args) < 0
      || olrun_jdec_strv (d, e, ip, "env", false, &h->env) < 0
      || olrun_jdec_int64 (d, e, ip, "timeout", INT32_MIN, INT32_MAX, &timeout, &has_timeout) < 0)
    return -1;
  if (has_timeout && timeout <= 0)
    {
      struct olrun_jpath tp = OLRUN_JPATH_KEY (ip, "timeout");
      return olrun_jdec_error (d, &tp, olrun_json_get (e, "timeout"), "must be greater than zero");
    }
  if (h->path[0] != '/')
    {
      struct olrun_jpath pp = OLRUN_JPATH_KEY (ip, "path");
      return olrun_jdec_error (d, &pp, olrun_json_get (e, "path"), "must be an absolute path, got `%s`", h->path);
    }
  h->timeout = (int) timeout;
  return 0;
}

static int
parse_hooks (const struct olrun_jdec *d, const olrun_json_t *root, struct olrun_spec *s)
{
  bool failed = false;
  const olrun_json_t *hooks = olrun_jdec_member (d, root, NULL, "hooks", OLRUN_JSON_OBJECT, false, &failed);
  if (hooks == NULL)
    return failed ? -1 : 0;
  struct olrun_jpath hp = OLRUN_JPATH_KEY (NULL, "hooks");
  for (int k = 0; k < OLRUN_HOOK_COUNT; k++)
    {
      const olrun_json_t *arr = olrun_jdec_member (d, hooks, &hp, hook_names[k], OLRUN_JSON_ARRAY, false, &failed);
      if (failed)
        return -1;
      if (arr == NULL)
        continue;
      struct olrun_jpath kp = OLRUN_JPATH_KEY (&hp, hook_names[k]);
      s->hooks.v[k] = xzalloc (arr->u.array.len * sizeof (struct olrun_hook));
      for (size_t i = 0; i < arr->u.array.len; i++)
        {
          struct olrun_jpath ip = OLRUN_JPATH_INDEX (&kp, i);
          s->hooks.len[k]++;
          if (parse_hook (d, arr->u.array.items[i], &ip, &s->hooks.v[k][i]) < 0)
            return -1;
        }
    }
  return 0;
}

static int
parse_annotations (const struct olrun_jdec *d, const olrun_json_t *root, struct olrun_spec *s)
{
  bool failed = false;
  const olrun_json_t *a = olrun_jdec_member (d, root, NULL, "annotations", OLRUN_JSON_OBJECT, false, &failed);
  if (a == NULL)
    return failed ? -1 : 0;
  struct olrun_jpath ap = OLRUN_JPATH_KEY (NULL, "annotations");
  for (size_t i = 0; i < a->u.object.len; i++)
    {
      struct olrun_jpath kp = OLRUN_JPATH_KEY (&ap, a->u.object.keys[i]);
      if (olrun_jdec_expect (d, a->u.object.values[i], &kp, OLRUN_JSON_STRING) < 0)
        return -1;
    }
  s->annotations = a;
  return 0;
}

static int
parse_root (const struct olrun_jdec *d, const olrun_json_t *root, struct olrun_spec *s)
{
  bool failed = false;
  const olrun_json_t *r = olrun_jdec_member (d, root, NULL, "root", OLRUN_JSON_OBJECT, true, &failed);
  if (r == NULL)
    return -1;
  struct olrun_jpath rp = OLRUN_JPATH_KEY (NULL, "root");
  return olrun_jdec_string (d, r, &rp, "path", true, &s->root_path) < 0
                 || olrun_jdec_bool (d, r, &rp, "readonly", &s->root_readonly) < 0
             ? -1
             : 0;
}

static int
parse_version (const struct olrun_jdec *d, const olrun_json_t *root, struct olrun_spec *s)
{
  if (olrun_jdec_string (d, root, NULL, "ociVersion", true, &s->oci_version) < 0)
    return -1;
  /* Any 1.x is accepted: a strict check is what broke crun under docker. */
  if (strncmp (s->oci_version, "1.", 2) != 0 && strcmp (s->oci_version, "1") != 0)
    {
      struct olrun_jpath vp = OLRUN_JPATH_KEY (NULL, "ociVersion");
      return olrun_jdec_error (d, &vp, olrun_json_get (root, "ociVersion"), "unsupported version `%s` (want 1.x)",
                               s->oci_version);
    }
  return 0;
}

int
olrun_spec_from_doc (olrun_json_doc_t *doc, struct olrun_spec **ret, olrun_error_t *err)
{
  _cleanup_spec_ struct olrun_spec *s = xzalloc (sizeof *s);
  s->doc = doc;
  struct olrun_jdec d = { .doc = doc, .err = err };
  const olrun_json_t *root = olrun_json_root (doc);
  if (olrun_jdec_expect (&d, root, NULL, OLRUN_JSON_OBJECT) < 0 || parse_version (&d, root, s) < 0
      || parse_root (&d, root, s) < 0
      || olrun_jdec_string (&d, root, NULL, "hostname", false, &s->hostname) < 0
      || olrun_jdec_string (&d, root, NULL, "domainname", false, &s->domainname) < 0
      || parse_mounts (&d, root, s) < 0 || parse_hooks (&d, root, s) < 0
      || parse_annotations (&d, root, s) < 0)
    return -1;
  const olrun_json_t *proc = olrun_json_get (root, "process");
  if (proc && proc->type != OLRUN_JSON_NULL)
    {
      struct olrun_jpath pp = OLRUN_JPATH_KEY (NULL, "process");
      if (olrun_spec_parse_process (&d, proc, &pp, &s->process) < 0)
        return -1;
    }
  bool failed = false;
  const olrun_json_t *lin = olrun_jdec_member (&d, root, NULL, "linux", OLRUN_JSON_OBJECT, false, &failed);
  if (failed)
    return -1;
  struct olrun_jpath lp = OLRUN_JPATH_KEY (NULL, "linux");
  if (olrun_spec_parse_linux (&d, lin, &lp, &s->linux) < 0)
    return -1;
  *ret = TAKE_PTR (s);
  return 0;
}

int
olrun_spec_load (int dirfd, const char *path, struct olrun_spec **ret, olrun_error_t *err)
{
  olrun_json_doc_t *doc = NULL;
  if (olrun_json_parse_file (dirfd, path, &doc, err) < 0)
    return -1;
  return olrun_spec_from_doc (doc, ret, err);
}

static void
hooks_clear (struct olrun_hooks *h)
{
  for (int k = 0; k < OLRUN_HOOK_COUNT; k++)
    {
      for (size_t i = 0; i < h->len[k]; i++)
        {
          free (h->v[k][i].path);
          strv_free (h->v[k][i].args);
          strv_free (h->v[k][i].env);
        }
      free (h->v[k]);
    }
}

void
olrun_spec_free (struct olrun_spec *s)
{
  if (s == NULL)
    return;
  free (s->oci_version);
  olrun_process_free (s->process);
  free (s->root_path);
  free (s->hostname);
  free (s->domainname);
  for (size_t i = 0; i < s->n_mounts; i++)
    olrun_mount_clear (&s->mounts[i]);
  free (s->mounts);
  hooks_clear (&s->hooks);
  olrun_spec_linux_clear (&s->linux);
  olrun_json_doc_free (s->doc);
  free (s);
}

void
olrun_spec_freep (struct olrun_spec **s)
{
  olrun_spec_free (*s);
  *s = NULL;
}

/* OCI and Docker schema-2 manifests, indexes (manifest lists), and image
 * configs, decoded with the JSON tree so errors name the path and byte. */
#include <string.h>
#include <sys/utsname.h>

#include "bundle/internal.h"
#include "olrun/json.h"
#include "olrun/util.h"

void
descriptor_clear (struct descriptor *d)
{
  free (d->media_type);
  free (d->digest);
  free (d->path);
  free (d->ref_name);
  free (d->os);
  free (d->arch);
  free (d->variant);
  memset (d, 0, sizeof *d);
}

void
descriptor_copy (struct descriptor *dst, const struct descriptor *s)
{
  *dst = (struct descriptor){
    .media_type = xstrdup (s->media_type), .digest = xstrdup (s->digest), .size = s->size,
    .path = xstrdup (s->path), .ref_name = xstrdup (s->ref_name), .os = xstrdup (s->os),
    .arch = xstrdup (s->arch), .variant = xstrdup (s->variant), .has_urls = s->has_urls,
  };
}

void
manifest_clear (struct manifest *m)
{
  descriptor_clear (&m->config);
  for (size_t i = 0; i < m->n_layers; i++)
    descriptor_clear (&m->layers[i]);
  free (m->layers);
  memset (m, 0, sizeof *m);
}

enum media_kind
media_kind (const char *t)
{
  if (t == NULL)
    return MEDIA_UNKNOWN;
  if (strcmp (t, "application/vnd.oci.image.index.v1+json") == 0
      || strcmp (t, "application/vnd.docker.distribution.manifest.list.v2+json") == 0)
    return MEDIA_INDEX;
  if (strcmp (t, "application/vnd.oci.image.manifest.v1+json") == 0
      || strcmp (t, "application/vnd.docker.distribution.manifest.v2+json") == 0)
    return MEDIA_MANIFEST;
  if (strstr (t, "nondistributable") || strstr (t, ".foreign."))
    return MEDIA_FOREIGN;
  static const char *const layers[] = {
    "application/vnd.oci.image.layer.v1.tar",        "application/vnd.oci.image.layer.v1.tar+gzip",
    "application/vnd.oci.image.layer.v1.tar+zstd",   "application/vnd.docker.image.rootfs.diff.tar.gzip",
    "application/vnd.docker.image.rootfs.diff.tar",  "application/vnd.docker.image.rootfs.diff.tar.zstd",
  };
  for (size_t i = 0; i < ARRAY_SIZE (layers); i++)
    if (strcmp (t, layers[i]) == 0)
      return MEDIA_LAYER;
  return MEDIA_UNKNOWN;
}

static int
parse_descriptor (const struct olrun_jdec *d, const olrun_json_t *n, const struct olrun_jpath *p,
                  struct descriptor *ret)
{
  memset (ret, 0, sizeof *ret);
  ret->size = -1;
  bool failed = false;
  if (olrun_jdec_expect (d, n, p, OLRUN_JSON_OBJECT) < 0 || olrun_jdec_string (d, n, p, "mediaType", false, &ret->media_type) < 0
      || olrun_jdec_string (d, n, p, "digest", true, &ret->digest) < 0
      || olrun_jdec_int64 (d, n, p, "size", 0, INT64_MAX, &ret->size, NULL) < 0)
    return -1;
  if (!digest_valid (ret->digest))
    {
      struct olrun_jpath dp = OLRUN_JPATH_KEY (p, "digest");
      return olrun_jdec_error (d, &dp, olrun_json_get (n, "digest"), "unsupported or invalid digest `%s`",
                               ret->digest);
    }
  const olrun_json_t *ann = olrun_jdec_member (d, n, p, "annotations", OLRUN_JSON_OBJECT, false, &failed);
  struct olrun_jpath ap = OLRUN_JPATH_KEY (p, "annotations");
  if (failed || (ann && olrun_jdec_string (d, ann, &ap, "org.opencontainers.image.ref.name", false, &ret->ref_name) < 0))
    return -1;
  const olrun_json_t *plat = olrun_jdec_member (d, n, p, "platform", OLRUN_JSON_OBJECT, false, &failed);
  struct olrun_jpath pp = OLRUN_JPATH_KEY (p, "platform");
  if (failed
      || (plat
          && (olrun_jdec_string (d, plat, &pp, "os", false, &ret->os) < 0
              || olrun_jdec_string (d, plat, &pp, "architecture", false, &ret->arch) < 0
              || olrun_jdec_string (d, plat, &pp, "variant", false, &ret->variant) < 0)))
    return -1;
  const olrun_json_t *urls = olrun_json_get (n, "urls");
  ret->has_urls = urls && urls->type == OLRUN_JSON_ARRAY && urls->u.array.len > 0;
  return 0;
}

int
manifest_parse (const char *text, size_t len, const char *name, struct manifest *ret, olrun_error_t *err)
{
  _cleanup_json_doc_ olrun_json_doc_t *doc = NULL;
  if (olrun_json_parse (text, len, name, &doc, err) < 0)
    return -1;
  struct olrun_jdec d = { doc, err };
  const olrun_json_t *root = olrun_json_root (doc);
  bool failed = false;
  memset (ret, 0, sizeof *ret);
  if (olrun_jdec_expect (&d, root, NULL, OLRUN_JSON_OBJECT) < 0)
    return -1;
  int64_t schema = 0;
  if (olrun_jdec_int64 (&d, root, NULL, "schemaVersion", 0, 100, &schema, NULL) < 0)
    return -1;
  if (schema != 2)
    return olrun_error_set (err, OLRUN_E_UNSUPPORTED, 0, "%s: schemaVersion %ld is not supported (only 2)", name,
                            (long) schema);
  const olrun_json_t *cfg = olrun_jdec_member (&d, root, NULL, "config", OLRUN_JSON_OBJECT, true, &failed);
  if (failed)
    return -1;
  struct olrun_jpath cp = OLRUN_JPATH_KEY (NULL, "config");
  if (parse_descriptor (&d, cfg, &cp, &ret->config) < 0)
    goto fail;
  const olrun_json_t *layers = olrun_jdec_member (&d, root, NULL, "layers", OLRUN_JSON_ARRAY, true, &failed);
  if (failed)
    goto fail;
  struct olrun_jpath lp = OLRUN_JPATH_KEY (NULL, "layers");
  ret->layers = xzalloc (layers->u.array.len * sizeof *ret->layers);
  for (size_t i = 0; i < layers->u.array.len; i++)
    {
      struct olrun_jpath ip = OLRUN_JPATH_INDEX (&lp, i);
      if (parse_descriptor (&d, layers->u.array.items[i], &ip, &ret->layers[i]) < 0)
        goto fail;
      ret->n_layers++;
      enum media_kind k = media_kind (ret->layers[i].media_type);
      if (k == MEDIA_FOREIGN || ret->layers[i].has_urls)
        {
          olrun_error_set (err, OLRUN_E_UNSUPPORTED, 0,
                           "%s: layers[%zu]: foreign or non-distributable layer (%s) is not supported", name, i,
                           ret->layers[i].media_type);
          goto fail;
        }
      if (k != MEDIA_LAYER && ret->layers[i].media_type)
        {
          olrun_error_set (err, OLRUN_E_UNSUPPORTED, 0, "%s: layers[%zu]: unsupported layer media type `%s`", name,
                           i, ret->layers[i].media_type);
          goto fail;
        }
    }
  return 0;
fail:
  manifest_clear (ret);
  return -1;
}

enum media_kind
manifest_doc_kind (const char *text, size_t len, const char *declared)
{
  enum media_kind k = media_kind (declared);
  if (k == MEDIA_INDEX || k == MEDIA_MANIFEST)
    return k;
  olrun_error_t err = NULL;
  _cleanup_json_doc_ olrun_json_doc_t *doc = NULL;
  if (olrun_json_parse (text, len, "manifest", &doc, &err) < 0)
    {
      olrun_error_release (&err);
      return MEDIA_UNKNOWN;
    }
  const olrun_json_t *root = olrun_json_root (doc);
  const olrun_json_t *mt = olrun_json_get (root, "mediaType");
  if (mt && mt->type == OLRUN_JSON_STRING)
    {
      k = media_kind (mt->u.string.str);
      if (k == MEDIA_INDEX || k == MEDIA_MANIFEST)
        return k;
    }
  /* An OCI document may omit mediaType: tell them apart by shape. */
  if (olrun_json_get (root, "manifests"))
    return MEDIA_INDEX;
  if (olrun_json_get (root, "layers"))
    return MEDIA_MANIFEST;
  return MEDIA_UNKNOWN;
}

const char *
platform_host (void)
{
  static char buf[160];
  if (buf[0])
    return buf;
  struct utsname u;
  const char *arch = "amd64", *variant = NULL;
  if (uname (&u) == 0)
    {
      static const struct { const char *m, *arch, *variant; } map[] = {
        { "x86_64", "amd64", NULL }, { "aarch64", "arm64", NULL }, { "armv7l", "arm", "v7" },
        { "armv6l", "arm", "v6" },   { "i686", "386", NULL },      { "i386", "386", NULL },
        { "ppc64le", "ppc64le", NULL }, { "s390x", "s390x", NULL }, { "riscv64", "riscv64", NULL },
      };
      arch = u.machine;
      for (size_t i = 0; i < ARRAY_SIZE (map); i++)
        if (strcmp (u.machine, map[i].m) == 0)
          {
            arch = map[i].arch;
            variant = map[i].variant;
          }
    }
  snprintf (buf, sizeof buf, "linux/%s%s%s", arch, variant ? "/" : "", variant ? variant : "");
  return buf;
}

static int
index_entries (const char *text, size_t len, const char *name, olrun_json_doc_t **ret_doc,
               const olrun_json_t **ret_arr, olrun_error_t *err)
{
  if (olrun_json_parse (text, len, name, ret_doc, err) < 0)
    return -1;
  struct olrun_jdec d = { *ret_doc, err };
  bool failed = false;
  const olrun_json_t *root = olrun_json_root (*ret_doc);
  if (olrun_jdec_expect (&d, root, NULL, OLRUN_JSON_OBJECT) < 0)
    return -1;
  *ret_arr = olrun_jdec_member (&d, root, NULL, "manifests", OLRUN_JSON_ARRAY, true, &failed);
  return failed ? -1 : 0;
}

int
index_select_tag (const char *text, size_t len, const char *name, const char *tag, struct descriptor *ret,
                  olrun_error_t *err)
{
  _cleanup_json_doc_ olrun_json_doc_t *doc = NULL;
  const olrun_json_t *arr = NULL;
  if (index_entries (text, len, name, &doc, &arr, err) < 0)
    return -1;
  struct olrun_jdec d = { doc, err };
  struct olrun_jpath mp = OLRUN_JPATH_KEY (NULL, "manifests");
  size_t n = arr->u.array.len, found = n;
  for (size_t i = 0; i < n; i++)
    {
      struct olrun_jpath ip = OLRUN_JPATH_INDEX (&mp, i);
      struct descriptor desc;
      if (parse_descriptor (&d, arr->u.array.items[i], &ip, &desc) < 0)
        return -1;
      bool match = tag ? (desc.ref_name && strcmp (desc.ref_name, tag) == 0) : n == 1;
      descriptor_clear (&desc);
      if (match)
        found = i;
    }
  if (found == n)
    {
      if (tag)
        return olrun_error_set (err, OLRUN_E_NOT_EXIST, 0, "%s: no image tagged `%s`", name, tag);
      return olrun_error_set (err, n ? OLRUN_E_INVALID : OLRUN_E_NOT_EXIST, 0,
                              n ? "%s: %zu images and no tag given: name one with :TAG" : "%s: no images", name, n);
    }
  struct olrun_jpath ip = OLRUN_JPATH_INDEX (&mp, found);
  return parse_descriptor (&d, arr->u.array.items[found], &ip, ret);
}

static bool
platform_match (const struct descriptor *d, const char *os, const char *arch, const char *variant)
{
  if (d->os == NULL || d->arch == NULL || strcmp (d->os, os) != 0 || strcmp (d->arch, arch) != 0)
    return false;
  /* No variant asked: any (arm64's is v8 and often omitted). */
  return variant == NULL || (d->variant && strcmp (d->variant, variant) == 0);
}

int
index_select_platform (const char *text, size_t len, const char *name, const char *platform,
                       struct descriptor *ret, olrun_error_t *err)
{
  _cleanup_json_doc_ olrun_json_doc_t *doc = NULL;
  const olrun_json_t *arr = NULL;
  if (index_entries (text, len, name, &doc, &arr, err) < 0)
    return -1;
  _cleanup_free_ char *p = xstrdup (platform);
  char *arch = strchr (p, '/');
  if (arch == NULL)
    return olrun_invalid (err, "invalid platform `%s` (expected OS/ARCH[/VARIANT])", platform);
  *arch++ = '\0';
  char *variant = strchr (arch, '/');
  if (variant)
    *variant++ = '\0';
  struct olrun_jdec d = { doc, err };
  struct olrun_jpath mp = OLRUN_JPATH_KEY (NULL, "manifests");
  for (size_t i = 0; i < arr->u.array.len; i++)
    {
      struct olrun_jpath ip = OLRUN_JPATH_INDEX (&mp, i);
      struct descriptor desc;
      if (parse_descriptor (&d, arr->u.array.items[i], &ip, &desc) < 0)
        return -1;
      if (platform_match (&desc, p, arch, variant))
        {
          *ret = desc;
          return 0;
        }
      descriptor_clear (&desc);
    }
  return olrun_error_set (err, OLRUN_E_NOT_EXIST, 0, "%s: no image for platform %s", name, platform);
}

int
config_diff_ids (const char *text, size_t len, const char *name, char ***ret, olrun_error_t *err)
{
  _cleanup_json_doc_ olrun_json_doc_t *doc = NULL;
  if (olrun_json_parse (text, len, name, &doc, err) < 0)
    return -1;
  struct olrun_jdec d = { doc, err };
  bool failed = false;
  const olrun_json_t *root = olrun_json_root (doc);
  if (olrun_jdec_expect (&d, root, NULL, OLRUN_JSON_OBJECT) < 0)
    return -1;
  const olrun_json_t *rootfs = olrun_jdec_member (&d, root, NULL, "rootfs", OLRUN_JSON_OBJECT, true, &failed);
  if (failed)
    return -1;
  struct olrun_jpath rp = OLRUN_JPATH_KEY (NULL, "rootfs");
  _cleanup_strv_ char **ids = NULL;
  if (olrun_jdec_strv (&d, rootfs, &rp, "diff_ids", true, &ids) < 0)
    return -1;
  for (size_t i = 0; ids[i]; i++)
    if (!digest_valid (ids[i]))
      return olrun_invalid (err, "%s: rootfs.diff_ids[%zu]: unsupported or invalid digest `%s`", name, i, ids[i]);
  *ret = TAKE_PTR (ids);
  return 0;
}

void
olrun_image_config_clear (struct olrun_image_config *c)
{
  strv_free (c->entrypoint);
  strv_free (c->cmd);
  strv_free (c->env);
  strv_free (c->labels);
  free (c->working_dir);
  free (c->user);
  free (c->stop_signal);
  free (c->os);
  free (c->architecture);
  memset (c, 0, sizeof *c);
}

static int
parse_labels (const struct olrun_jdec *d, const olrun_json_t *cfg, const struct olrun_jpath *cp, char ***ret)
{
  bool failed = false;
  const olrun_json_t *l = olrun_jdec_member (d, cfg, cp, "Labels", OLRUN_JSON_OBJECT, false, &failed);
  if (l == NULL)
    return failed ? -1 : 0;
  struct olrun_jpath lp = OLRUN_JPATH_KEY (cp, "Labels");
  char **v = xzalloc ((l->u.object.len + 1) * sizeof *v);
  for (size_t i = 0; i < l->u.object.len; i++)
    {
      struct olrun_jpath kp = OLRUN_JPATH_KEY (&lp, l->u.object.keys[i]);
      _cleanup_free_ char *val = NULL;
      if (olrun_jdec_string_node (d, l->u.object.values[i], &kp, &val) < 0)
        {
          strv_free (v);
          return -1;
        }
      v[i] = xasprintf ("%s=%s", l->u.object.keys[i], val);
    }
  *ret = v;
  return 0;
}

int
olrun_image_config_parse (const char *text, size_t len, const char *name, struct olrun_image_config *ret,
                          olrun_error_t *err)
{
  _cleanup_json_doc_ olrun_json_doc_t *doc = NULL;
  if (olrun_json_parse (text, len, name, &doc, err) < 0)
    return -1;
  struct olrun_jdec d = { doc, err };
  bool failed = false;
  const olrun_json_t *root = olrun_json_root (doc);
  memset (ret, 0, sizeof *ret);
  if (olrun_jdec_expect (&d, root, NULL, OLRUN_JSON_OBJECT) < 0)
    return -1;
  if (olrun_jdec_string (&d, root, NULL, "os", false, &ret->os) < 0
      || olrun_jdec_string (&d, root, NULL, "architecture", false, &ret->architecture) < 0)
    goto fail;
  const olrun_json_t *cfg = olrun_jdec_member (&d, root, NULL, "config", OLRUN_JSON_OBJECT, false, &failed);
  if (failed)
    goto fail;
  if (cfg == NULL)
    return 0;
  struct olrun_jpath cp = OLRUN_JPATH_KEY (NULL, "config");
  if (olrun_jdec_strv (&d, cfg, &cp, "Entrypoint", false, &ret->entrypoint) < 0
      || olrun_jdec_strv (&d, cfg, &cp, "Cmd", false, &ret->cmd) < 0
      || olrun_jdec_strv (&d, cfg, &cp, "Env", false, &ret->env) < 0
      || olrun_jdec_string (&d, cfg, &cp, "WorkingDir", false, &ret->working_dir) < 0
      || olrun_jdec_string (&d, cfg, &cp, "User", false, &ret->user) < 0
      || olrun_jdec_string (&d, cfg, &cp, "StopSignal", false, &ret->stop_signal) < 0
      || parse_labels (&d, cfg, &cp, &ret->labels) < 0)
    goto fail;
  return 0;
fail:
  olrun_image_config_clear (ret);
  return -1;
}

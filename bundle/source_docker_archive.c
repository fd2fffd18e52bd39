/* docker-archive:FILE[:REPO:TAG]: the `docker save` format.  manifest.json
 * names the config file and the layer tars; layers carry no digest of their
 * own there, so each one is verified against the config's diff_ids, and the
 * config against the digest in its name.  Read in place, like oci-archive. */
#include <string.h>
#include <sys/stat.h>

#include "bundle/internal.h"
#include "olrun/json.h"
#include "olrun/util.h"

struct docker_archive_source
{
  struct image_source s;
  const struct image_ref *ref;
};

static int
da_open_blob (struct image_source *s, const struct descriptor *d, struct blob_reader **ret, olrun_error_t *err)
{
  struct docker_archive_source *o = (struct docker_archive_source *) s;
  return archive_member_open (o->ref->path, d->path, ret, err);
}

static int
da_read_blob (struct image_source *s, const struct descriptor *d, char **ret, size_t *ret_len, olrun_error_t *err)
{
  struct blob_reader *r = NULL;
  if (da_open_blob (s, d, &r, err) < 0)
    return -1;
  return blob_read_verified (r, d, MAX_CONFIG_SIZE, ret, ret_len, err);
}

static bool
has_tag (const olrun_json_t *entry, const char *want)
{
  const olrun_json_t *tags = olrun_json_get (entry, "RepoTags");
  for (size_t i = 0; tags && tags->type == OLRUN_JSON_ARRAY && i < tags->u.array.len; i++)
    {
      const olrun_json_t *t = tags->u.array.items[i];
      if (t->type != OLRUN_JSON_STRING)
        continue;
      const char *s = t->u.string.str;
      /* docker writes Hub names short ("busybox:latest"); accept both forms. */
      if (strcmp (s, want) == 0 || (strncmp (want, "docker.io/library/", 18) == 0 && strcmp (s, want + 18) == 0)
          || (strncmp (want, "docker.io/", 10) == 0 && strcmp (s, want + 10) == 0))
        return true;
    }
  return false;
}

/* The config member's digest: its name is "<hex>.json" or
 * "blobs/sha256/<hex>"; anything else is hashed when read. */
static char *
config_digest_from_name (const char *name)
{
  const char *base = strrchr (name, '/') ? strrchr (name, '/') + 1 : name;
  _cleanup_free_ char *d = xasprintf ("sha256:%.*s", 64, base);
  size_t bl = strlen (base);
  if ((bl == 64 || (bl == 69 && strcmp (base + 64, ".json") == 0)) && digest_valid (d))
    return TAKE_PTR (d);
  return NULL;
}

static int
da_fill (const struct olrun_jdec *d, const olrun_json_t *entry, const struct olrun_jpath *ep, struct manifest *m)
{
  _cleanup_free_ char *config = NULL;
  _cleanup_strv_ char **layers = NULL;
  if (olrun_jdec_expect (d, entry, ep, OLRUN_JSON_OBJECT) < 0 || olrun_jdec_string (d, entry, ep, "Config", true, &config) < 0
      || olrun_jdec_strv (d, entry, ep, "Layers", true, &layers) < 0)
    return -1;
  m->config = (struct descriptor){ .path = xstrdup (config), .digest = config_digest_from_name (config), .size = -1 };
  m->n_layers = strv_length (layers);
  m->layers = xzalloc ((m->n_layers + 1) * sizeof *m->layers);
  for (size_t i = 0; i < m->n_layers; i++)
    m->layers[i] = (struct descriptor){ .path = xstrdup (layers[i]), .size = -1,
                                        .media_type = xstrdup ("application/vnd.docker.image.rootfs.diff.tar") };
  return 0;
}

static int
da_resolve (struct image_source *s, const char *platform, struct manifest *ret, char **ret_digest,
            olrun_error_t *err)
{
  struct docker_archive_source *o = (struct docker_archive_source *) s;
  _cleanup_free_ char *text = NULL;
  size_t len = 0;
  if (archive_member_read (o->ref->path, "manifest.json", MAX_MANIFEST_SIZE, &text, &len, err) < 0)
    return olrun_error_wrap (err, "not a docker archive");
  _cleanup_free_ char *name = xasprintf ("%s:manifest.json", o->ref->path);
  _cleanup_json_doc_ olrun_json_doc_t *doc = NULL;
  if (olrun_json_parse (text, len, name, &doc, err) < 0)
    return -1;
  struct olrun_jdec d = { doc, err };
  const olrun_json_t *root = olrun_json_root (doc);
  if (olrun_jdec_expect (&d, root, NULL, OLRUN_JSON_ARRAY) < 0)
    return -1;
  size_t n = root->u.array.len, pick = n;
  for (size_t i = 0; i < n; i++)
    if (o->ref->repo ? has_tag (root->u.array.items[i], o->ref->repo) : n == 1)
      pick = i;
  if (pick == n)
    {
      if (o->ref->repo)
        return olrun_error_set (err, OLRUN_E_NOT_EXIST, 0, "%s: no image tagged `%s`", name, o->ref->repo);
      return olrun_error_set (err, n ? OLRUN_E_INVALID : OLRUN_E_NOT_EXIST, 0,
                              n ? "%s: %zu images and no REPO:TAG given" : "%s: no images", name, n);
    }
  struct olrun_jpath ep = OLRUN_JPATH_INDEX (NULL, pick);
  memset (ret, 0, sizeof *ret);
  if (da_fill (&d, root->u.array.items[pick], &ep, ret) < 0)
    {
      manifest_clear (ret);
      return -1;
    }
  if (ret->config.digest == NULL)
    {
      /* An unusual name: the config identifies itself by its own hash. */
      _cleanup_free_ char *cfg = NULL;
      size_t clen = 0;
      char dg[DIGEST_LEN + 1];
      if (da_read_blob (s, &ret->config, &cfg, &clen, err) < 0 || sha256_buffer (cfg, clen, dg, err) < 0)
        {
          manifest_clear (ret);
          return -1;
        }
      ret->config.digest = xstrdup (dg);
    }
  *ret_digest = NULL;
  return 0;
}

static void
da_free (struct image_source *s)
{
  free (s);
}

static const struct image_source_ops da_ops = {
  .resolve = da_resolve,
  .read_blob = da_read_blob,
  .open_blob = da_open_blob,
  .free = da_free,
};

int
source_docker_archive_open (const struct image_ref *ref, struct image_source **ret, olrun_error_t *err)
{
  struct stat st;
  if (stat (ref->path, &st) < 0)
    return olrun_error_set (err, errno == ENOENT ? OLRUN_E_NOT_EXIST : OLRUN_E_GENERIC, errno,
                            "docker-archive: `%s`", ref->path);
  struct docker_archive_source *o = xzalloc (sizeof *o);
  o->s.ops = &da_ops;
  o->ref = ref;
  *ret = &o->s;
  return 0;
}

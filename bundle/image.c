/* olrun_image_prepare: a reference in, a pristine rootfs and its config out.
 *
 * The fast path must stay cheap, because it is every launch after the
 * first: it computes a resolution key from what it can read without any
 * heavy library (an OCI index.json through the JSON tree, an archive's
 * stat, a registry tag as written: podman's "pull if missing" policy),
 * looks the key up in refs/, stats the image dir and parses its config.
 * Only a miss loads libcrypto and friends and talks to the source. */
#include <fcntl.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>

#include "bundle/internal.h"
#include "olrun/json.h"
#include "olrun/log.h"
#include "olrun/util.h"

void
olrun_image_free (struct olrun_image *img)
{
  if (img == NULL)
    return;
  free (img->rootfs);
  free (img->config_digest);
  free (img->manifest_digest);
  olrun_image_config_clear (&img->config);
  free (img);
}

void
olrun_image_freep (struct olrun_image **img)
{
  olrun_image_free (*img);
  *img = NULL;
}

static int
fast_key (const struct image_ref *ref, const char *platform, char **ret, olrun_error_t *err)
{
  struct stat st;
  switch (ref->transport)
    {
    case REF_OCI:
      {
        if (ref->digest)
          {
            *ret = xasprintf ("digest:%s|%s", ref->digest, platform);
            return 0;
          }
        _cleanup_free_ char *p = xasprintf ("%s/index.json", ref->path);
        _cleanup_free_ char *text = NULL;
        size_t len = 0;
        if (olrun_read_file_at (AT_FDCWD, p, &text, &len, err) < 0)
          return olrun_error_wrap (err, "oci: not an OCI layout");
        struct descriptor d;
        if (index_select_tag (text, len, p, ref->tag, &d, err) < 0)
          return -1;
        *ret = xasprintf ("digest:%s|%s", d.digest, platform);
        descriptor_clear (&d);
        return 0;
      }
    case REF_OCI_ARCHIVE:
    case REF_DOCKER_ARCHIVE:
      if (stat (ref->path, &st) < 0)
        return olrun_error_set (err, errno == ENOENT ? OLRUN_E_NOT_EXIST : OLRUN_E_GENERIC, errno, "`%s`", ref->path);
      /* The file's identity and version: a rewritten archive misses. */
      *ret = xasprintf ("file:%s|%lu:%lu:%lld:%lld.%ld|%s|%s", ref->path, (unsigned long) st.st_dev,
                        (unsigned long) st.st_ino, (long long) st.st_size, (long long) st.st_mtim.tv_sec,
                        st.st_mtim.tv_nsec, ref->tag ? ref->tag : ref->repo ? ref->repo : "", platform);
      return 0;
    case REF_DOCKER:
      *ret = ref->digest ? xasprintf ("digest:%s|%s", ref->digest, platform)
                         : xasprintf ("tag:%s/%s:%s|%s", ref->registry, ref->repo, ref->tag, platform);
      return 0;
    }
  abort ();
}

/* Fill img from images/sha256/<hex> (config.json is the verified config blob). */
static int
load_cached (struct cache *c, const char *config_digest, const char *manifest_digest, struct olrun_image **ret,
             olrun_error_t *err)
{
  _cleanup_free_ char *dir = xasprintf ("images/sha256/%s", digest_hex (config_digest));
  _cleanup_free_ char *cfgpath = xasprintf ("%s/config.json", dir);
  _cleanup_free_ char *text = NULL;
  size_t len = 0;
  if (olrun_read_file_at (c->dirfd, cfgpath, &text, &len, err) < 0)
    return olrun_error_wrap (err, "cache");
  struct olrun_image *img = xzalloc (sizeof *img);
  _cleanup_free_ char *name = xasprintf ("%s/%s", c->dir, cfgpath);
  if (olrun_image_config_parse (text, len, name, &img->config, err) < 0)
    {
      free (img);
      return -1;
    }
  img->rootfs = xasprintf ("%s/%s/rootfs", c->dir, dir);
  img->config_digest = xstrdup (config_digest);
  img->manifest_digest = xstrdup (manifest_digest);
  *ret = img;
  return 0;
}

static int
open_source (const struct image_ref *ref, const struct olrun_image_opts *o, struct cache *c,
             struct image_source **ret, olrun_error_t *err)
{
  static int (*const openers[]) (const struct image_ref *, struct image_source **, olrun_error_t *) = {
    [REF_OCI] = source_oci_open,
    [REF_OCI_ARCHIVE] = source_oci_archive_open,
    [REF_DOCKER_ARCHIVE] = source_docker_archive_open,
    [REF_DOCKER] = source_registry_open,
  };
  struct image_source *s = NULL;
  if (openers[ref->transport](ref, &s, err) < 0)
    return -1;
  s->opts = o;
  s->cache = c;
  if (ref->transport == REF_DOCKER && registry_configure (s, err) < 0)
    {
      s->ops->free (s);
      return -1;
    }
  *ret = s;
  return 0;
}

static void
write_image_json (int dfd, const struct image_ref *ref, const char *cfg, const char *man, uint64_t size,
                  char **blobs, olrun_error_t *err)
{
  olrun_jw_t *w = olrun_jw_new (true);
  _cleanup_free_ char *now = olrun_rfc3339_now ();
  olrun_jw_object_open (w);
  olrun_jw_kv_string (w, "config", cfg);
  olrun_jw_kv_string (w, "manifest", man);
  olrun_jw_kv_string (w, "ref", ref->display);
  olrun_jw_kv_string (w, "created", now);
  olrun_jw_key (w, "size");
  olrun_jw_uint (w, size);
  olrun_jw_key (w, "blobs");
  olrun_jw_array_open (w);
  for (size_t i = 0; blobs && blobs[i]; i++)
    olrun_jw_string (w, blobs[i]);
  olrun_jw_array_close (w);
  olrun_jw_object_close (w);
  size_t len = 0;
  const char *text = olrun_jw_text (w, &len);
  olrun_atomic_write_at (dfd, "image.json", text, len, 0644, err);
  olrun_jw_free (w);
}

/* Runtimes mount /proc, /sys and /dev over these; the rootfs is bound
 * read-only, so they cannot be created at run time. */
static void
ensure_mountpoints (int rootfd)
{
  static const char *const dirs[] = { "proc", "sys", "dev" };
  struct stat st;
  for (size_t i = 0; i < ARRAY_SIZE (dirs); i++)
    if (fstatat (rootfd, dirs[i], &st, AT_SYMLINK_NOFOLLOW) < 0 && errno == ENOENT)
      mkdirat (rootfd, dirs[i], 0755);
}

struct unpack_ctx
{
  const struct olrun_image_opts *o;
  const struct image_ref *ref;
  struct image_source *src;
  struct cache *c;
  const struct manifest *m;
  char **diff_ids;
  const char *config_digest, *manifest_digest;
  const char *config_text;
  size_t config_len;
};

/* Build the image dir in tmp/ and rename it into place: a crash never
 * leaves a half rootfs that looks complete. */
static int
unpack_into_cache (const struct unpack_ctx *u, olrun_error_t *err)
{
  _cleanup_free_ char *tmpl = xasprintf ("%s/tmp/unpack-XXXXXX", u->c->dir);
  if (mkdtemp (tmpl) == NULL)
    return olrun_fail (err, errno, "cache: create a temp dir in `%s/tmp`", u->c->dir);
  const char *tname = strrchr (tmpl, '/') + 1;
  _cleanup_close_ int tfd = open (tmpl, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  /* Held until the rename: `cache prune` leaves a locked temp dir alone. */
  if (tfd < 0 || flock (tfd, LOCK_EX) < 0)
    return olrun_fail (err, errno, "cache: open `%s`", tmpl);
  _cleanup_close_ int rootfd = -1;
  struct unpack_layer *layers = xzalloc ((u->m->n_layers + 1) * sizeof *layers);
  for (size_t i = 0; i < u->m->n_layers; i++)
    layers[i] = (struct unpack_layer){ &u->m->layers[i], u->diff_ids[i] };
  struct unpack_job job = {
    .src = u->src, .layers = layers, .n_layers = u->m->n_layers, .limits = u->o->limits,
    .progress = u->o->progress, .progress_data = u->o->progress_data,
  };
  uint64_t bytes = 0;
  int rc = 0;
  if (mkdirat (tfd, "rootfs", 0755) < 0 || (rootfd = openat (tfd, "rootfs", O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
    rc = olrun_fail (err, errno, "cache: create `%s/rootfs`", tmpl);
  if (rc == 0)
    rc = unpack_layers (rootfd, &job, &bytes, err);
  if (rc == 0)
    {
      ensure_mountpoints (rootfd);
      rc = olrun_atomic_write_at (tfd, "config.json", u->config_text, u->config_len, 0644, err);
    }
  if (rc == 0)
    write_image_json (tfd, u->ref, u->config_digest, u->manifest_digest, bytes, u->src->used_blobs, err);
  rc = *err ? -1 : 0;
  _cleanup_free_ char *dest = xasprintf ("images/sha256/%s", digest_hex (u->config_digest));
  _cleanup_close_ int tmpdir = openat (u->c->dirfd, "tmp", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (rc == 0 && renameat (tmpdir, tname, u->c->dirfd, dest) < 0)
    rc = olrun_fail (err, errno, "cache: rename the unpacked image into `%s`", dest);
  if (rc < 0)
    {
      olrun_error_t e2 = NULL;
      if (tmpdir >= 0 && olrun_rm_rf_at (tmpdir, tname, &e2) < 0)
        olrun_warn ("could not remove the partial rootfs `%s`: %s", tmpl, e2->msg);
      olrun_error_release (&e2);
    }
  free (layers);
  return rc;
}

static int
fetch_and_unpack (struct unpack_ctx *u, olrun_error_t *err)
{
  _cleanup_free_ char *lockname = xasprintf ("image-%s", digest_hex (u->config_digest));
  _cleanup_close_ int lock = -1;
  if (cache_lock (u->c, lockname, &lock, err) < 0)
    return -1;
  /* Another process may have finished it while we waited for the lock.
   * Returns 1 when this call unpacked the image, 0 when it found it done. */
  if (cache_has_image (u->c, u->config_digest))
    return 0;
  for (size_t i = 0; u->src->ops->fetch && i < u->m->n_layers; i++)
    if (u->src->ops->fetch (u->src, &u->m->layers[i], i, u->m->n_layers, err) < 0)
      return -1;
  return unpack_into_cache (u, err) < 0 ? -1 : 1;
}

static int
prepare_slow (const struct olrun_image_opts *o, const struct image_ref *ref, struct cache *c, const char *key,
              const char *platform, struct olrun_image **ret, olrun_error_t *err)
{
  struct image_source *src = NULL;
  if (open_source (ref, o, c, &src, err) < 0)
    return -1;
  struct manifest m = { 0 };
  _cleanup_free_ char *man_digest = NULL, *cfg = NULL;
  _cleanup_strv_ char **diff_ids = NULL;
  size_t cfg_len = 0;
  bool unpacked = false;
  int rc = src->ops->resolve (src, platform, &m, &man_digest, err);
  if (rc == 0)
    rc = src->ops->read_blob (src, &m.config, &cfg, &cfg_len, err);
  if (rc == 0)
    rc = config_diff_ids (cfg, cfg_len, m.config.digest, &diff_ids, err);
  if (rc == 0 && strv_length (diff_ids) != m.n_layers)
    rc = olrun_invalid (err, "%s: %zu layers but %zu rootfs.diff_ids", ref->display, m.n_layers,
                        strv_length (diff_ids));
  if (rc == 0 && !cache_has_image (c, m.config.digest))
    {
      struct unpack_ctx u = { o, ref, src, c, &m, diff_ids, m.config.digest, man_digest, cfg, cfg_len };
      rc = fetch_and_unpack (&u, err);
      unpacked = rc > 0;
      if (rc > 0)
        {
          olrun_debug ("unpacked %s (%s)", ref->display, m.config.digest);
          rc = 0;
        }
    }
  struct cache_record rec = { m.config.digest, man_digest };
  if (rc == 0)
    rc = cache_record_put (c, key, ref->display, &rec, err);
  if (rc == 0 && man_digest && ref->transport == REF_DOCKER && !ref->digest)
    {
      /* A later pull by the digest this tag resolved to needs no network. */
      _cleanup_free_ char *dkey = xasprintf ("digest:%s|%s", man_digest, platform);
      _cleanup_free_ char *disp = xasprintf ("docker://%s/%s@%s", ref->registry, ref->repo, man_digest);
      rc = cache_record_put (c, dkey, disp, &rec, err);
    }
  if (rc == 0)
    rc = load_cached (c, m.config.digest, man_digest, ret, err);
  if (rc == 0)
    (*ret)->fresh = unpacked;
  manifest_clear (&m);
  strv_free (src->used_blobs);
  src->ops->free (src);
  return rc;
}

int
olrun_image_prepare (const struct olrun_image_opts *opts, struct olrun_image **ret, olrun_error_t *err)
{
  struct olrun_image_opts o = *opts;
  if (o.limits.max_size == 0)
    o.limits.max_size = OLRUN_UNPACK_DEFAULT_MAX_SIZE;
  if (o.limits.max_entries == 0)
    o.limits.max_entries = OLRUN_UNPACK_DEFAULT_MAX_ENTRIES;
  if (o.limits.max_path == 0)
    o.limits.max_path = OLRUN_UNPACK_DEFAULT_MAX_PATH;
  const char *platform = o.platform ? o.platform : platform_host ();
  struct image_ref ref;
  if (image_ref_parse (o.ref, &ref, err) < 0)
    return -1;
  struct cache c = { .dirfd = -1 };
  _cleanup_free_ char *key = NULL;
  int rc = cache_open (o.cache_dir, &c, err);
  if (rc == 0)
    rc = fast_key (&ref, platform, &key, err);
  if (rc == 0)
    {
      struct cache_record rec = { 0 };
      if (cache_record_get (&c, key, &rec) && cache_has_image (&c, rec.config))
        rc = load_cached (&c, rec.config, rec.manifest, ret, err);
      else
        rc = prepare_slow (&o, &ref, &c, key, platform, ret, err);
      cache_record_clear (&rec);
    }
  if (rc < 0)
    olrun_error_wrap (err, "%s", ref.display);
  cache_close (&c);
  image_ref_clear (&ref);
  return rc;
}

/* The cache: verified blobs, pristine rootfs trees, and the resolution
 * records that let a second launch skip every heavy library.
 *
 *   blobs/sha256/<hex>           registry blobs, renamed in only once verified
 *   blobs/partial/<hex>          an interrupted download, resumed with Range
 *   images/sha256/<config-hex>/  rootfs/, config.json (the config blob), image.json
 *   refs/<fnv64>.json            resolution key -> config and manifest digests
 *   locks/<name>.lock            flock(2) locks: one per blob, one per image
 *   tmp/                         trees being unpacked (each flock'ed by its writer)
 */
#include <fcntl.h>
#include <inttypes.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>

#include "bundle/internal.h"
#include "olrun/json.h"
#include "olrun/util.h"

char *
olrun_cache_default_dir (void)
{
  if (geteuid () == 0)
    return xstrdup ("/var/cache/olrun");
  const char *x = getenv ("XDG_CACHE_HOME");
  if (x && x[0] == '/')
    return xasprintf ("%s/olrun", x);
  const char *home = getenv ("HOME");
  return xasprintf ("%s/.cache/olrun", home && *home ? home : "/tmp");
}

int
cache_open (const char *dir, struct cache *ret, olrun_error_t *err)
{
  _cleanup_free_ char *d = dir ? xstrdup (dir) : olrun_cache_default_dir ();
  if (olrun_mkdir_p_at (AT_FDCWD, d, 0700, err) < 0)
    return olrun_error_wrap (err, "cache");
  _cleanup_close_ int fd = open (d, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0)
    return olrun_fail (err, errno, "cache: open `%s`", d);
  static const char *const subdirs[] = { "blobs", "blobs/sha256", "blobs/partial", "images",
                                         "images/sha256", "refs", "locks", "tmp" };
  for (size_t i = 0; i < ARRAY_SIZE (subdirs); i++)
    if (mkdirat (fd, subdirs[i], 0700) < 0 && errno != EEXIST)
      return olrun_fail (err, errno, "cache: mkdir `%s/%s`", d, subdirs[i]);
  ret->dir = TAKE_PTR (d);
  ret->dirfd = TAKE_FD (fd);
  return 0;
}

void
cache_close (struct cache *c)
{
  free (c->dir);
  c->dir = NULL;
  c->dirfd = safe_close (c->dirfd);
}

int
cache_lock (struct cache *c, const char *name, int *ret_fd, olrun_error_t *err)
{
  _cleanup_free_ char *p = xasprintf ("locks/%s.lock", name);
  _cleanup_close_ int fd = openat (c->dirfd, p, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0)
    return olrun_fail (err, errno, "cache: open lock `%s`", p);
  while (flock (fd, LOCK_EX) < 0)
    if (errno != EINTR)
      return olrun_fail (err, errno, "cache: lock `%s`", p);
  *ret_fd = TAKE_FD (fd);
  return 0;
}

bool
cache_has_image (struct cache *c, const char *config_digest)
{
  _cleanup_free_ char *p = xasprintf ("images/sha256/%s/rootfs", digest_hex (config_digest));
  struct stat st;
  return fstatat (c->dirfd, p, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR (st.st_mode);
}

int
cache_blob_open (struct cache *c, const char *digest)
{
  _cleanup_free_ char *p = xasprintf ("blobs/sha256/%s", digest_hex (digest));
  return openat (c->dirfd, p, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
}

void
cache_record_clear (struct cache_record *r)
{
  free (r->config);
  free (r->manifest);
  r->config = r->manifest = NULL;
}

static char *
record_name (const char *key)
{
  return xasprintf ("refs/%016" PRIx64 ".json", fnv1a64 (key));
}

/* A miss is not an error: a missing, foreign (hash collision) or damaged
 * record just sends the caller down the slow path, which rewrites it. */
int
cache_record_get (struct cache *c, const char *key, struct cache_record *ret)
{
  _cleanup_free_ char *name = record_name (key);
  _cleanup_json_doc_ olrun_json_doc_t *doc = NULL;
  olrun_error_t err = NULL;
  if (olrun_json_parse_file (c->dirfd, name, &doc, &err) < 0)
    {
      olrun_error_release (&err);
      return 0;
    }
  const olrun_json_t *root = olrun_json_root (doc);
  const olrun_json_t *k = olrun_json_get (root, "key");
  const olrun_json_t *cfg = olrun_json_get (root, "config");
  const olrun_json_t *man = olrun_json_get (root, "manifest");
  if (k == NULL || k->type != OLRUN_JSON_STRING || strcmp (k->u.string.str, key) != 0 || cfg == NULL
      || cfg->type != OLRUN_JSON_STRING || !digest_valid (cfg->u.string.str))
    return 0;
  ret->config = xstrdup (cfg->u.string.str);
  ret->manifest = man && man->type == OLRUN_JSON_STRING && digest_valid (man->u.string.str)
                      ? xstrdup (man->u.string.str) : NULL;
  return 1;
}

int
cache_record_put (struct cache *c, const char *key, const char *display, const struct cache_record *r,
                  olrun_error_t *err)
{
  _cleanup_free_ char *name = record_name (key);
  olrun_jw_t *w = olrun_jw_new (false);
  olrun_jw_object_open (w);
  olrun_jw_kv_string (w, "key", key);
  olrun_jw_kv_string (w, "ref", display);
  olrun_jw_kv_string (w, "config", r->config);
  olrun_jw_kv_string (w, "manifest", r->manifest);
  olrun_jw_object_close (w);
  size_t len = 0;
  const char *text = olrun_jw_text (w, &len);
  _cleanup_close_ int refs = openat (c->dirfd, "refs", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  int rc = refs < 0 ? olrun_fail (err, errno, "cache: open refs")
                    : olrun_atomic_write_at (refs, name + 5, text, len, 0600, err);
  olrun_jw_free (w);
  return rc;
}

/* ---- listing ------------------------------------------------------------------ */
void
olrun_cached_images_free (struct olrun_cached_image *v, size_t n)
{
  for (size_t i = 0; i < n; i++)
    {
      free (v[i].config_digest);
      free (v[i].manifest_digest);
      strv_free (v[i].refs);
      free (v[i].created);
    }
  free (v);
}

/* Every record as (ref, config digest); records are small and few. */
static void
scan_records (int cachefd, char ***ret_refs, char ***ret_configs, char ***ret_files)
{
  size_t n = 0;
  char **refs = xzalloc (sizeof *refs), **cfgs = xzalloc (sizeof *cfgs), **files = xzalloc (sizeof *files);
  int fd = openat (cachefd, "refs", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  _cleanup_closedir_ DIR *d = fd >= 0 ? fdopendir (fd) : NULL;
  if (d == NULL && fd >= 0)
    close (fd);
  struct dirent *de;
  while (d && (de = readdir (d)) != NULL)
    {
      if (de->d_name[0] == '.' || strstr (de->d_name, ".json") == NULL)
        continue;
      _cleanup_json_doc_ olrun_json_doc_t *doc = NULL;
      olrun_error_t err = NULL;
      if (olrun_json_parse_file (dirfd (d), de->d_name, &doc, &err) < 0)
        {
          olrun_error_release (&err);
          continue;
        }
      const olrun_json_t *r = olrun_json_get (olrun_json_root (doc), "ref");
      const olrun_json_t *c = olrun_json_get (olrun_json_root (doc), "config");
      if (r == NULL || c == NULL || r->type != OLRUN_JSON_STRING || c->type != OLRUN_JSON_STRING)
        continue;
      refs = xreallocarray (refs, n + 2, sizeof *refs);
      cfgs = xreallocarray (cfgs, n + 2, sizeof *cfgs);
      files = xreallocarray (files, n + 2, sizeof *files);
      refs[n] = xstrdup (r->u.string.str);
      cfgs[n] = xstrdup (c->u.string.str);
      files[n] = xstrdup (de->d_name);
      n++;
      refs[n] = cfgs[n] = files[n] = NULL;
    }
  *ret_refs = refs;
  *ret_configs = cfgs;
  *ret_files = files;
}

static void
read_image_json (int imgfd, struct olrun_cached_image *ci)
{
  _cleanup_json_doc_ olrun_json_doc_t *doc = NULL;
  olrun_error_t err = NULL;
  if (olrun_json_parse_file (imgfd, "image.json", &doc, &err) < 0)
    {
      olrun_error_release (&err);
      return;
    }
  struct olrun_jdec d = { doc, &err };
  const olrun_json_t *root = olrun_json_root (doc);
  if (olrun_jdec_string (&d, root, NULL, "manifest", false, &ci->manifest_digest) < 0
      || olrun_jdec_string (&d, root, NULL, "created", false, &ci->created) < 0
      || olrun_jdec_uint64 (&d, root, NULL, "size", &ci->size, NULL) < 0)
    olrun_error_release (&err);
}

int
olrun_cache_list (const char *cache_dir, struct olrun_cached_image **ret, size_t *ret_len, olrun_error_t *err)
{
  struct cache c = { .dirfd = -1 };
  if (cache_open (cache_dir, &c, err) < 0)
    return -1;
  _cleanup_strv_ char **refs = NULL, **cfgs = NULL, **files = NULL;
  scan_records (c.dirfd, &refs, &cfgs, &files);
  int fd = openat (c.dirfd, "images/sha256", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  DIR *d = fd >= 0 ? fdopendir (fd) : NULL;
  if (d == NULL)
    {
      int e = errno;
      safe_close (fd);
      cache_close (&c);
      return olrun_fail (err, e, "cache: open images");
    }
  struct olrun_cached_image *v = NULL;
  size_t n = 0;
  struct dirent *de;
  while ((de = readdir (d)) != NULL)
    {
      _cleanup_free_ char *digest = xasprintf ("sha256:%s", de->d_name);
      if (!digest_valid (digest) || !cache_has_image (&c, digest))
        continue;
      v = xreallocarray (v, n + 1, sizeof *v);
      struct olrun_cached_image *ci = &v[n++];
      memset (ci, 0, sizeof *ci);
      ci->config_digest = TAKE_PTR (digest);
      _cleanup_close_ int imgfd = openat (dirfd (d), de->d_name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
      if (imgfd >= 0)
        read_image_json (imgfd, ci);
      size_t k = 0;
      ci->refs = xzalloc (sizeof *ci->refs);
      for (size_t i = 0; refs[i]; i++)
        if (strcmp (cfgs[i], ci->config_digest) == 0)
          {
            ci->refs = xreallocarray (ci->refs, k + 2, sizeof *ci->refs);
            ci->refs[k++] = xstrdup (refs[i]);
            ci->refs[k] = NULL;
          }
    }
  closedir (d);
  cache_close (&c);
  *ret = v;
  *ret_len = n;
  return 0;
}

/* ---- prune -------------------------------------------------------------------- */
/* Blob digests the cached images name in their image.json. */
static char **
used_blobs (struct cache *c)
{
  struct olrun_buf all = { 0 };
  size_t n = 0;
  char **v = xzalloc (sizeof *v);
  int fd = openat (c->dirfd, "images/sha256", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  _cleanup_closedir_ DIR *d = fd >= 0 ? fdopendir (fd) : NULL;
  if (d == NULL && fd >= 0)
    close (fd);
  struct dirent *de;
  while (d && (de = readdir (d)) != NULL)
    {
      if (de->d_name[0] == '.')
        continue;
      _cleanup_free_ char *p = xasprintf ("%s/image.json", de->d_name);
      _cleanup_json_doc_ olrun_json_doc_t *doc = NULL;
      olrun_error_t err = NULL;
      if (olrun_json_parse_file (dirfd (d), p, &doc, &err) < 0)
        {
          olrun_error_release (&err);
          continue;
        }
      const olrun_json_t *b = olrun_json_get (olrun_json_root (doc), "blobs");
      for (size_t i = 0; b && b->type == OLRUN_JSON_ARRAY && i < b->u.array.len; i++)
        if (b->u.array.items[i]->type == OLRUN_JSON_STRING)
          {
            v = xreallocarray (v, n + 2, sizeof *v);
            v[n++] = xstrdup (b->u.array.items[i]->u.string.str);
            v[n] = NULL;
          }
    }
  olrun_buf_free (&all);
  return v;
}

/* Try to take an entry's lock without waiting: held means in use. */
static bool
lock_free (int dirfd, const char *name, bool is_lockfile)
{
  _cleanup_close_ int fd = openat (dirfd, name, (is_lockfile ? O_RDWR : O_RDONLY) | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0)
    return errno == ENOENT;
  return flock (fd, LOCK_EX | LOCK_NB) == 0;
}

static uint64_t
size_at (int dirfd, const char *name)
{
  struct stat st;
  return fstatat (dirfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 ? (uint64_t) st.st_size : 0;
}

static int
prune_blob_dir (struct cache *c, const char *sub, char **used, struct olrun_prune_stats *st, olrun_error_t *err)
{
  int fd = openat (c->dirfd, sub, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0)
    return errno == ENOENT ? 0 : olrun_fail (err, errno, "cache: open `%s`", sub);
  _cleanup_closedir_ DIR *d = fdopendir (fd);
  if (d == NULL)
    return olrun_fail (err, errno, "cache: open `%s`", sub);
  struct dirent *de;
  while ((de = readdir (d)) != NULL)
    {
      if (de->d_name[0] == '.')
        continue;
      _cleanup_free_ char *digest = xasprintf ("sha256:%s", de->d_name);
      bool in_use = false;
      for (size_t i = 0; used[i] && !in_use; i++)
        in_use = strcmp (used[i], digest) == 0;
      if (in_use)
        continue;
      /* A download in progress holds the blob's lock: leave it alone. */
      _cleanup_free_ char *lock = xasprintf ("locks/blob-%s.lock", de->d_name);
      _cleanup_close_ int lfd = openat (c->dirfd, lock, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
      if (lfd >= 0 && flock (lfd, LOCK_EX | LOCK_NB) < 0)
        continue;
      uint64_t sz = size_at (dirfd (d), de->d_name);
      if (unlinkat (dirfd (d), de->d_name, 0) < 0 && errno != ENOENT)
        return olrun_fail (err, errno, "cache: remove `%s/%s`", sub, de->d_name);
      st->blobs++;
      st->bytes += sz;
    }
  return 0;
}

static int
prune_temps (struct cache *c, struct olrun_prune_stats *st, olrun_error_t *err)
{
  _cleanup_close_ int tfd = openat (c->dirfd, "tmp", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  int fd = tfd >= 0 ? dup (tfd) : -1;
  _cleanup_closedir_ DIR *d = fd >= 0 ? fdopendir (fd) : NULL;
  if (d == NULL)
    {
      safe_close (fd);
      return olrun_fail (err, errno, "cache: open tmp");
    }
  struct dirent *de;
  while ((de = readdir (d)) != NULL)
    {
      if (strcmp (de->d_name, ".") == 0 || strcmp (de->d_name, "..") == 0 || !lock_free (tfd, de->d_name, false))
        continue;
      if (olrun_rm_rf_at (tfd, de->d_name, err) < 0)
        return olrun_error_wrap (err, "cache: prune tmp");
      st->temps++;
    }
  return 0;
}

int
olrun_cache_prune (const char *cache_dir, struct olrun_prune_stats *ret, olrun_error_t *err)
{
  struct cache c = { .dirfd = -1 };
  if (cache_open (cache_dir, &c, err) < 0)
    return -1;
  memset (ret, 0, sizeof *ret);
  _cleanup_strv_ char **used = used_blobs (&c);
  _cleanup_strv_ char **refs = NULL, **cfgs = NULL, **files = NULL;
  int rc = prune_temps (&c, ret, err);
  if (rc == 0)
    rc = prune_blob_dir (&c, "blobs/sha256", used, ret, err);
  if (rc == 0)
    rc = prune_blob_dir (&c, "blobs/partial", used, ret, err);
  if (rc == 0)
    {
      scan_records (c.dirfd, &refs, &cfgs, &files);
      for (size_t i = 0; refs[i]; i++)
        if (!digest_valid (cfgs[i]) || !cache_has_image (&c, cfgs[i]))
          {
            _cleanup_free_ char *p = xasprintf ("refs/%s", files[i]);
            if (unlinkat (c.dirfd, p, 0) == 0)
              ret->records++;
          }
    }
  cache_close (&c);
  return rc;
}

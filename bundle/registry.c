/* docker://: the registry HTTP API v2 over libcurl (loaded with dlopen).
 *
 * Manifests by tag or digest (OCI and Docker schema 2, indexes and manifest
 * lists resolved by resolve_manifest), blobs into the cache: hashed as they
 * arrive, kept under blobs/partial/ between attempts so a retry resumes
 * with Range, and renamed into blobs/sha256/ only when the digest matches.
 * Bearer tokens from the WWW-Authenticate realm; Basic auth; retries with
 * backoff on 429, 5xx and broken connections. */
#include <dirent.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "bundle/dl.h"
#include "bundle/internal.h"
#include "olrun/json.h"
#include "olrun/log.h"
#include "olrun/util.h"

#define MAX_ATTEMPTS 5

struct registry_source
{
  struct image_source s;
  const struct image_ref *ref;
  CURL *curl;
  char *base;         /* "https://host:port" (or http:// with --tls-verify=false) */
  char *creds;        /* "user:password" or NULL */
  char *auth_header;  /* "Authorization: ..." once negotiated */
  struct olrun_buf ca;/* extra CA certificates (PEM) */
  bool tried_https;
};

struct response
{
  long status;
  char *content_type;
  char *docker_digest;
  char *www_auth;
  /* body sink: memory, or an fd with a running hash */
  struct olrun_buf body;
  size_t max_body;
  bool too_big;
  int fd;
  struct sha256 *hash;
  uint64_t written;
  int write_errno;
  bool expect_partial;  /* we sent Range */
  bool range_ignored;   /* ... and got a 200 with the whole blob */
  /* progress */
  const struct image_source *s;
  const struct descriptor *d;
  size_t index, n;
  uint64_t base_offset, next_report;
};

static void
response_reset (struct response *r)
{
  free (r->content_type);
  free (r->docker_digest);
  free (r->www_auth);
  r->content_type = r->docker_digest = r->www_auth = NULL;
  olrun_buf_free (&r->body);
  r->status = 0;
  r->too_big = false;
}

static char *
header_value (const char *line, size_t len, const char *name)
{
  size_t nl = strlen (name);
  if (len <= nl || strncasecmp (line, name, nl) != 0 || line[nl] != ':')
    return NULL;
  const char *v = line + nl + 1;
  const char *end = line + len;
  while (v < end && (*v == ' ' || *v == '\t'))
    v++;
  while (end > v && (end[-1] == '\r' || end[-1] == '\n' || end[-1] == ' '))
    end--;
  return xstrndup (v, (size_t) (end - v));
}

static size_t
on_header (char *buf, size_t size, size_t n, void *data)
{
  struct response *r = data;
  size_t len = size * n;
  char *v;
  if (len >= 5 && strncmp (buf, "HTTP/", 5) == 0)
    {
      /* A new response (after a redirect or 100-continue): forget the old headers. */
      free (r->content_type);
      free (r->docker_digest);
      free (r->www_auth);
      r->content_type = r->docker_digest = r->www_auth = NULL;
    }
  else if ((v = header_value (buf, len, "Content-Type")))
    free (r->content_type), r->content_type = v;
  else if ((v = header_value (buf, len, "Docker-Content-Digest")))
    free (r->docker_digest), r->docker_digest = v;
  else if ((v = header_value (buf, len, "WWW-Authenticate")))
    free (r->www_auth), r->www_auth = v;
  return len;
}

static size_t
on_body (char *buf, size_t size, size_t n, void *data)
{
  struct response *r = data;
  size_t len = size * n;
  long status = 0;
  sym_curl_easy_getinfo (((struct registry_source *) r->s)->curl, CURLINFO_RESPONSE_CODE, &status);
  if (r->fd < 0 || (status != 200 && status != 206))
    {
      /* Error bodies are kept (small) for the message; blobs go to the fd. */
      if (r->body.len + len > r->max_body)
        {
          r->too_big = true;
          return 0;
        }
      olrun_buf_append (&r->body, buf, len);
      return len;
    }
  if (status == 200 && r->expect_partial)
    {
      r->range_ignored = true;
      return 0;
    }
  if (olrun_write_all (r->fd, buf, len) < 0)
    {
      r->write_errno = errno;
      return 0;
    }
  sha256_update (r->hash, buf, len);
  r->written += len;
  if (r->s->opts->progress && r->written >= r->next_report)
    {
      struct olrun_progress p = { OLRUN_PROGRESS_FETCH, r->index, r->n, r->d->digest, r->base_offset + r->written,
                                  r->d->size > 0 ? (uint64_t) r->d->size : 0, false };
      r->s->opts->progress (r->s->opts->progress_data, &p);
      r->next_report = r->written + (1U << 20);
    }
  return len;
}

static void
backoff (int attempt)
{
  struct timespec ts = { 0, 200000000L << (attempt < 4 ? attempt : 4) };
  while (ts.tv_nsec >= 1000000000L)
    {
      ts.tv_sec++;
      ts.tv_nsec -= 1000000000L;
    }
  nanosleep (&ts, NULL);
}

static void
setup_handle (struct registry_source *rs, const char *url, struct curl_slist *hdrs, struct response *r,
              const char *range)
{
  CURL *c = rs->curl;
  sym_curl_easy_setopt (c, CURLOPT_URL, url);
  sym_curl_easy_setopt (c, CURLOPT_HTTPHEADER, hdrs);
  sym_curl_easy_setopt (c, CURLOPT_FOLLOWLOCATION, 1L);
  sym_curl_easy_setopt (c, CURLOPT_MAXREDIRS, 10L);
  sym_curl_easy_setopt (c, CURLOPT_HEADERFUNCTION, on_header);
  sym_curl_easy_setopt (c, CURLOPT_HEADERDATA, r);
  sym_curl_easy_setopt (c, CURLOPT_WRITEFUNCTION, on_body);
  sym_curl_easy_setopt (c, CURLOPT_WRITEDATA, r);
  sym_curl_easy_setopt (c, CURLOPT_USERAGENT, "olrun/" OLRUN_VERSION);
  sym_curl_easy_setopt (c, CURLOPT_CONNECTTIMEOUT, 30L);
  /* A stalled transfer is retried (and resumed) rather than waited on forever. */
  sym_curl_easy_setopt (c, CURLOPT_LOW_SPEED_LIMIT, 1L);
  sym_curl_easy_setopt (c, CURLOPT_LOW_SPEED_TIME, 60L);
  sym_curl_easy_setopt (c, CURLOPT_RANGE, range);
  sym_curl_easy_setopt (c, CURLOPT_NOSIGNAL, 1L);
  sym_curl_easy_setopt (c, CURLOPT_PROTOCOLS_STR, "http,https");
  sym_curl_easy_setopt (c, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
  if (rs->s.opts->tls_verify_off)
    {
      sym_curl_easy_setopt (c, CURLOPT_SSL_VERIFYPEER, 0L);
      sym_curl_easy_setopt (c, CURLOPT_SSL_VERIFYHOST, 0L);
    }
  if (rs->ca.len)
    {
      struct curl_blob blob = { rs->ca.data, rs->ca.len, CURL_BLOB_COPY };
      sym_curl_easy_setopt (c, CURLOPT_CAINFO_BLOB, &blob);
    }
}

/* One request with the auth header we have, retried on transient failures.
 * Returns 0 with r->status set, or -1 on a transport error. */
static int
perform (struct registry_source *rs, const char *path_or_url, const char *accept, struct response *r,
         olrun_error_t *err)
{
  for (int attempt = 0;; attempt++)
    {
      _cleanup_free_ char *url = strncmp (path_or_url, "http", 4) == 0 ? xstrdup (path_or_url)
                                                                        : xasprintf ("%s%s", rs->base, path_or_url);
      struct curl_slist *h = NULL;
      if (accept)
        h = sym_curl_slist_append (h, accept);
      if (rs->auth_header)
        h = sym_curl_slist_append (h, rs->auth_header);
      _cleanup_free_ char *range = NULL;
      if (r->fd >= 0)
        {
          /* Resume: whatever the partial file already holds stays, verified by the hash. */
          struct stat st;
          if (fstat (r->fd, &st) == 0 && st.st_size > 0 && (uint64_t) st.st_size == r->base_offset + r->written)
            range = xasprintf ("%lld-", (long long) st.st_size);
        }
      response_reset (r);
      r->expect_partial = range != NULL;
      setup_handle (rs, url, h, r, range);
      CURLcode cc = sym_curl_easy_perform (rs->curl);
      sym_curl_easy_getinfo (rs->curl, CURLINFO_RESPONSE_CODE, &r->status);
      sym_curl_slist_free_all (h);
      sym_curl_easy_setopt (rs->curl, CURLOPT_HTTPHEADER, NULL);
      if (r->write_errno)
        return olrun_fail (err, r->write_errno, "write the download");
      if (cc == CURLE_SSL_CONNECT_ERROR && rs->s.opts->tls_verify_off && strncmp (rs->base, "https:", 6) == 0)
        {
          /* --tls-verify=false also allows plain HTTP, as podman does. */
          char *b = xasprintf ("http:%s", rs->base + 6);
          free (rs->base);
          rs->base = b;
          attempt--;
          continue;
        }
      if (r->range_ignored)
        return 0;
      bool transient = (cc != CURLE_OK && cc != CURLE_WRITE_ERROR) || r->status == 429 || r->status >= 500;
      if (!transient)
        {
          if (cc != CURLE_OK && !r->too_big)
            return olrun_fail (err, 0, "GET %s: %s", url, sym_curl_easy_strerror (cc));
          return 0;
        }
      if (attempt + 1 >= MAX_ATTEMPTS)
        {
          if (cc != CURLE_OK)
            return olrun_fail (err, 0, "GET %s: %s (after %d attempts)", url, sym_curl_easy_strerror (cc), attempt + 1);
          return 0; /* the caller reports the HTTP status */
        }
      olrun_debug ("GET %s: %s, retrying", url, cc != CURLE_OK ? sym_curl_easy_strerror (cc) : "server busy");
      backoff (attempt);
    }
}

static int
get_token (struct registry_source *rs, const struct auth_challenge *ch, olrun_error_t *err)
{
  _cleanup_free_ char *service = ch->service ? url_escape (ch->service) : NULL;
  _cleanup_free_ char *scope_raw = ch->scope ? xstrdup (ch->scope) : xasprintf ("repository:%s:pull", rs->ref->repo);
  _cleanup_free_ char *scope = url_escape (scope_raw);
  _cleanup_free_ char *url = xasprintf ("%s%sscope=%s%s%s", ch->realm, strchr (ch->realm, '?') ? "&" : "?", scope,
                                        service ? "&service=" : "", service ? service : "");
  struct response r = { .fd = -1, .max_body = 1 << 20, .s = &rs->s };
  if (rs->creds)
    {
      sym_curl_easy_setopt (rs->curl, CURLOPT_HTTPAUTH, (long) CURLAUTH_BASIC);
      sym_curl_easy_setopt (rs->curl, CURLOPT_USERPWD, rs->creds);
    }
  free (rs->auth_header);
  rs->auth_header = NULL;
  int rc = perform (rs, url, NULL, &r, err);
  sym_curl_easy_setopt (rs->curl, CURLOPT_USERPWD, NULL);
  if (rc == 0 && r.status != 200)
    rc = olrun_error_set (err, r.status == 401 || r.status == 403 ? OLRUN_E_INVALID : OLRUN_E_GENERIC, 0,
                          "token from %s: HTTP %ld%s", ch->realm, r.status,
                          rs->creds ? "" : " (no credentials found for this registry)");
  _cleanup_json_doc_ olrun_json_doc_t *doc = NULL;
  if (rc == 0)
    rc = olrun_json_parse (r.body.data ? r.body.data : "", r.body.len, "token response", &doc, err);
  if (rc == 0)
    {
      const olrun_json_t *t = olrun_json_get (olrun_json_root (doc), "token");
      if (t == NULL || t->type != OLRUN_JSON_STRING)
        t = olrun_json_get (olrun_json_root (doc), "access_token");
      if (t == NULL || t->type != OLRUN_JSON_STRING)
        rc = olrun_invalid (err, "token response from %s has no token", ch->realm);
      else
        rs->auth_header = xasprintf ("Authorization: Bearer %s", t->u.string.str);
    }
  response_reset (&r);
  return rc;
}

static int
negotiate (struct registry_source *rs, const struct response *r, olrun_error_t *err)
{
  struct auth_challenge ch;
  auth_challenge_parse (r->www_auth ? r->www_auth : "", &ch);
  int rc = 0;
  if (ch.bearer && ch.realm)
    rc = get_token (rs, &ch, err);
  else if (ch.basic && rs->creds)
    {
      struct olrun_buf b = { 0 };
      static const char tbl[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
      const unsigned char *s = (const unsigned char *) rs->creds;
      size_t n = strlen (rs->creds);
      olrun_buf_puts (&b, "Authorization: Basic ");
      for (size_t i = 0; i < n; i += 3)
        {
          unsigned v = (unsigned) s[i] << 16 | (i + 1 < n ? (unsigned) s[i + 1] << 8 : 0) | (i + 2 < n ? s[i + 2] : 0);
          char out[4] = { tbl[v >> 18 & 63], tbl[v >> 12 & 63], i + 1 < n ? tbl[v >> 6 & 63] : '=',
                          i + 2 < n ? tbl[v & 63] : '=' };
          olrun_buf_append (&b, out, 4);
        }
      free (rs->auth_header);
      rs->auth_header = olrun_buf_steal (&b);
    }
  else
    rc = olrun_error_set (err, OLRUN_E_INVALID, 0, "%s: authentication required%s", rs->ref->registry,
                          rs->creds ? "" : " (no credentials found: see --authfile)");
  auth_challenge_clear (&ch);
  return rc;
}

/* GET with auth negotiated on a 401; the final status is the caller's. */
static int
request (struct registry_source *rs, const char *path, const char *accept, struct response *r, olrun_error_t *err)
{
  if (perform (rs, path, accept, r, err) < 0)
    return -1;
  if (r->status != 401)
    return 0;
  if (negotiate (rs, r, err) < 0 || perform (rs, path, accept, r, err) < 0)
    return -1;
  if (r->status == 401)
    return olrun_error_set (err, OLRUN_E_INVALID, 0, "%s: authentication failed (HTTP 401)", rs->ref->registry);
  return 0;
}

static int
http_error (struct registry_source *rs, const struct response *r, const char *what, olrun_error_t *err)
{
  if (r->status == 404)
    return olrun_error_set (err, OLRUN_E_NOT_EXIST, 0, "%s: %s does not exist (HTTP 404)", rs->ref->display, what);
  return olrun_fail (err, 0, "%s: %s: HTTP %ld", rs->ref->display, what, r->status);
}

static void
note_blob (struct image_source *s, const char *digest)
{
  size_t n = strv_length (s->used_blobs);
  for (size_t i = 0; i < n; i++)
    if (strcmp (s->used_blobs[i], digest) == 0)
      return;
  s->used_blobs = xreallocarray (s->used_blobs, n + 2, sizeof *s->used_blobs);
  s->used_blobs[n] = xstrdup (digest);
  s->used_blobs[n + 1] = NULL;
}

/* Keep a small verified blob (manifest, config) in the cache too. */
static void
store_small (struct registry_source *rs, const char *digest, const char *data, size_t len)
{
  olrun_error_t e = NULL;
  _cleanup_close_ int dfd = openat (rs->s.cache->dirfd, "blobs/sha256", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd < 0 || olrun_atomic_write_at (dfd, digest_hex (digest), data, len, 0644, &e) < 0)
    olrun_debug ("cache: not keeping %s: %s", digest, e ? e->msg : strerror (errno));
  else
    note_blob (&rs->s, digest);
  olrun_error_release (&e);
}

static int
read_cached_small (struct registry_source *rs, const char *digest, size_t max, char **ret, size_t *ret_len)
{
  int fd = cache_blob_open (rs->s.cache, digest);
  if (fd < 0)
    return 0;
  olrun_error_t e = NULL;
  int rc = olrun_read_fd (fd, ret, ret_len, &e);
  close (fd);
  olrun_error_release (&e);
  if (rc < 0 || *ret_len > max)
    {
      free (*ret);
      *ret = NULL;
      return 0;
    }
  note_blob (&rs->s, digest);
  return 1;
}

static const char accept_manifests[]
    = "Accept: application/vnd.oci.image.index.v1+json, application/vnd.oci.image.manifest.v1+json, "
      "application/vnd.docker.distribution.manifest.list.v2+json, "
      "application/vnd.docker.distribution.manifest.v2+json";

static int
reg_get_manifest (struct image_source *s, const struct descriptor *d, char **ret, size_t *ret_len, char **ret_type,
                  char **ret_digest, olrun_error_t *err)
{
  struct registry_source *rs = (struct registry_source *) s;
  if (d->digest && read_cached_small (rs, d->digest, MAX_MANIFEST_SIZE, ret, ret_len))
    {
      *ret_type = xstrdup (d->media_type);
      *ret_digest = xstrdup (d->digest);
      return 0;
    }
  const char *reference = d->digest ? d->digest : d->ref_name;
  _cleanup_free_ char *path = xasprintf ("/v2/%s/manifests/%s", rs->ref->repo, reference);
  struct response r = { .fd = -1, .max_body = MAX_MANIFEST_SIZE, .s = s };
  int rc = request (rs, path, accept_manifests, &r, err);
  if (rc == 0 && r.status != 200)
    rc = http_error (rs, &r, d->digest ? "manifest" : "tag", err);
  char got[DIGEST_LEN + 1];
  if (rc == 0)
    rc = sha256_buffer (r.body.data ? r.body.data : "", r.body.len, got, err);
  /* By digest, the bytes must hash to it; by tag, to what the registry says. */
  const char *want = d->digest ? d->digest : r.docker_digest;
  if (rc == 0 && want && strcmp (want, got) != 0)
    rc = olrun_invalid (err, "%s: manifest digest mismatch: expected %s, got %s", rs->ref->display, want, got);
  if (rc == 0)
    {
      store_small (rs, got, r.body.data ? r.body.data : "", r.body.len);
      *ret_len = r.body.len;
      *ret = olrun_buf_steal (&r.body);
      *ret_type = xstrdup (r.content_type);
      *ret_digest = xstrdup (got);
    }
  response_reset (&r);
  return rc;
}

static int
reg_resolve (struct image_source *s, const char *platform, struct manifest *ret, char **ret_digest,
             olrun_error_t *err)
{
  struct registry_source *rs = (struct registry_source *) s;
  struct descriptor top = { .digest = rs->ref->digest, .ref_name = rs->ref->tag, .size = -1 };
  return resolve_manifest (s, &top, platform, reg_get_manifest, ret, ret_digest, err);
}

static int
reg_read_blob (struct image_source *s, const struct descriptor *d, char **ret, size_t *ret_len, olrun_error_t *err)
{
  struct registry_source *rs = (struct registry_source *) s;
  if (read_cached_small (rs, d->digest, MAX_CONFIG_SIZE, ret, ret_len))
    return 0;
  _cleanup_free_ char *path = xasprintf ("/v2/%s/blobs/%s", rs->ref->repo, d->digest);
  struct response r = { .fd = -1, .max_body = MAX_CONFIG_SIZE, .s = s };
  int rc = request (rs, path, NULL, &r, err);
  if (rc == 0 && r.status != 200)
    rc = http_error (rs, &r, d->digest, err);
  char got[DIGEST_LEN + 1];
  if (rc == 0)
    rc = sha256_buffer (r.body.data ? r.body.data : "", r.body.len, got, err);
  if (rc == 0 && strcmp (got, d->digest) != 0)
    rc = olrun_invalid (err, "blob digest mismatch: expected %s, got %s", d->digest, got);
  if (rc == 0)
    {
      store_small (rs, got, r.body.data ? r.body.data : "", r.body.len);
      *ret_len = r.body.len;
      *ret = olrun_buf_steal (&r.body);
    }
  response_reset (&r);
  return rc;
}

/* Hash what an earlier attempt left in the partial file, to resume after it. */
static int
rehash_partial (int fd, struct sha256 *h, uint64_t *ret, olrun_error_t *err)
{
  char buf[1 << 16];
  uint64_t total = 0;
  if (lseek (fd, 0, SEEK_SET) < 0)
    return olrun_fail (err, errno, "seek");
  for (;;)
    {
      ssize_t n = read (fd, buf, sizeof buf);
      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0)
        return olrun_fail (err, errno, "read the partial download");
      if (n == 0)
        break;
      sha256_update (h, buf, (size_t) n);
      total += (uint64_t) n;
    }
  *ret = total;
  return 0;
}

static int
download (struct registry_source *rs, const struct descriptor *d, int pfd, const char *pname, size_t index,
          size_t n, olrun_error_t *err)
{
  struct sha256 h = { 0 };
  if (sha256_init (&h, err) < 0)
    return -1;
  struct response r = { .fd = pfd, .max_body = 1 << 20, .s = &rs->s, .d = d, .index = index, .n = n, .hash = &h };
  _cleanup_free_ char *path = xasprintf ("/v2/%s/blobs/%s", rs->ref->repo, d->digest);
  int rc = 0;
  for (int attempt = 0; rc == 0; attempt++)
    {
      uint64_t have = 0;
      if ((rc = rehash_partial (pfd, &h, &have, err)) < 0)
        break;
      r.base_offset = have;
      r.written = 0;
      /* A short body (the connection dropped) is retried from where it stopped. */
      if ((rc = request (rs, path, NULL, &r, err)) < 0)
        break;
      if (r.range_ignored)
        {
          /* The server ignored our Range and started sending the whole
           * blob: drop the partial bytes and start over. */
          r.range_ignored = false;
          if (attempt + 1 >= MAX_ATTEMPTS)
            {
              rc = olrun_fail (err, 0, "%s: the server keeps ignoring Range requests", d->digest);
              break;
            }
          if (ftruncate (pfd, 0) < 0)
            rc = olrun_fail (err, errno, "truncate `%s`", pname);
          sha256_free (&h);
          if (rc == 0 && (rc = sha256_init (&h, err)) == 0)
            continue;
          break;
        }
      if (r.status != 200 && r.status != 206 && !(r.status == 416 && have > 0))
        {
          rc = http_error (rs, &r, d->digest, err);
          break;
        }
      uint64_t total = have + r.written;
      if (d->size >= 0 && total < (uint64_t) d->size && attempt + 1 < MAX_ATTEMPTS)
        {
          olrun_debug ("%s: %llu of %lld bytes, resuming", d->digest, (unsigned long long) total, (long long) d->size);
          sha256_free (&h);
          if ((rc = sha256_init (&h, err)) < 0)
            break;
          backoff (attempt);
          continue;
        }
      char got[DIGEST_LEN + 1];
      sha256_final (&h, got);
      if (strcmp (got, d->digest) != 0 || (d->size >= 0 && total != (uint64_t) d->size))
        {
          /* Nothing of a bad blob stays behind, so the next try starts clean. */
          unlinkat (rs->s.cache->dirfd, pname, 0);
          rc = olrun_invalid (err, "blob digest mismatch: expected %s, got %s (%llu bytes)", d->digest, got,
                              (unsigned long long) total);
        }
      break;
    }
  sha256_free (&h);
  response_reset (&r);
  return rc;
}

static int
reg_fetch (struct image_source *s, const struct descriptor *d, size_t index, size_t n, olrun_error_t *err)
{
  struct registry_source *rs = (struct registry_source *) s;
  _cleanup_free_ char *final = xasprintf ("blobs/sha256/%s", digest_hex (d->digest));
  _cleanup_free_ char *pname = xasprintf ("blobs/partial/%s", digest_hex (d->digest));
  _cleanup_free_ char *lockname = xasprintf ("blob-%s", digest_hex (d->digest));
  struct stat st;
  _cleanup_close_ int lock = -1;
  /* One download per blob: a second puller waits here, then finds it done. */
  if (fstatat (s->cache->dirfd, final, &st, 0) < 0 && cache_lock (s->cache, lockname, &lock, err) < 0)
    return -1;
  int rc = 0;
  if (fstatat (s->cache->dirfd, final, &st, 0) < 0)
    {
      _cleanup_close_ int pfd = openat (s->cache->dirfd, pname, O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC | O_NOFOLLOW, 0644);
      if (pfd < 0)
        return olrun_fail (err, errno, "cache: open `%s`", pname);
      rc = download (rs, d, pfd, pname, index, n, err);
      if (rc == 0 && renameat (s->cache->dirfd, pname, s->cache->dirfd, final) < 0)
        rc = olrun_fail (err, errno, "cache: rename `%s`", pname);
    }
  if (rc < 0)
    return olrun_error_wrap (err, "layer %zu", index);
  note_blob (s, d->digest);
  if (s->opts->progress)
    {
      struct olrun_progress p = { OLRUN_PROGRESS_FETCH, index, n, d->digest, d->size > 0 ? (uint64_t) d->size : 0,
                                  d->size > 0 ? (uint64_t) d->size : 0, true };
      s->opts->progress (s->opts->progress_data, &p);
    }
  return 0;
}

static int
reg_open_blob (struct image_source *s, const struct descriptor *d, struct blob_reader **ret, olrun_error_t *err)
{
  int fd = cache_blob_open (s->cache, d->digest);
  if (fd < 0)
    return olrun_fail (err, errno, "cache: blob %s", d->digest);
  /* Verified on its way into the cache; the DiffID is still checked. */
  *ret = fd_reader_new (fd, -1, true);
  return 0;
}

static void
reg_free (struct image_source *s)
{
  struct registry_source *rs = (struct registry_source *) s;
  if (rs->curl)
    sym_curl_easy_cleanup (rs->curl);
  free (rs->base);
  free (rs->creds);
  free (rs->auth_header);
  olrun_buf_free (&rs->ca);
  free (rs);
}

static const struct image_source_ops registry_ops = {
  .resolve = reg_resolve,
  .read_blob = reg_read_blob,
  .fetch = reg_fetch,
  .open_blob = reg_open_blob,
  .free = reg_free,
};

/* CA certificates for this registry: every *.crt in --cert-dir, or in
 * /etc/containers/certs.d/HOST:PORT/ (where podman and skopeo look). */
static int
load_cas (struct registry_source *rs, const char *cert_dir, olrun_error_t *err)
{
  _cleanup_free_ char *def = xasprintf ("/etc/containers/certs.d/%s", rs->ref->registry);
  const char *dir = cert_dir ? cert_dir : def;
  _cleanup_closedir_ DIR *d = opendir (dir);
  if (d == NULL)
    return cert_dir ? olrun_fail (err, errno, "--cert-dir `%s`", cert_dir) : 0;
  struct dirent *de;
  while ((de = readdir (d)) != NULL)
    {
      size_t l = strlen (de->d_name);
      if (l < 5 || strcmp (de->d_name + l - 4, ".crt") != 0)
        continue;
      _cleanup_free_ char *pem = NULL;
      size_t len = 0;
      if (olrun_read_file_at (dirfd (d), de->d_name, &pem, &len, err) < 0)
        return olrun_error_wrap (err, "certificates in `%s`", dir);
      olrun_buf_append (&rs->ca, pem, len);
      olrun_buf_puts (&rs->ca, "\n");
    }
  return 0;
}

int
source_registry_open (const struct image_ref *ref, struct image_source **ret, olrun_error_t *err)
{
  if (olrun_dl_load (OLRUN_DL_CURL, err) < 0 || olrun_dl_load (OLRUN_DL_CRYPTO, err) < 0)
    return -1;
  struct registry_source *rs = xzalloc (sizeof *rs);
  rs->s.ops = &registry_ops;
  rs->ref = ref;
  const char *host = strcmp (ref->registry, "docker.io") == 0 ? "registry-1.docker.io" : ref->registry;
  rs->base = xasprintf ("https://%s", host);
  rs->curl = sym_curl_easy_init ();
  if (rs->curl == NULL)
    {
      reg_free (&rs->s);
      return olrun_fail (err, 0, "curl_easy_init failed");
    }
  *ret = &rs->s;
  return 0;
}

int
registry_configure (struct image_source *s, olrun_error_t *err)
{
  struct registry_source *rs = (struct registry_source *) s;
  if (registry_credentials (s->opts->auth_file, rs->ref->registry, &rs->creds, err) < 0)
    return -1;
  return load_cas (rs, s->opts->cert_dir, err);
}

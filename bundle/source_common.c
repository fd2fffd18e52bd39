/* What the transports share: blob readers, verified small reads, the walk
 * from an index down to one manifest, and tar members of archive files. */
#include <fcntl.h>
#include <string.h>

#include "bundle/dl.h"
#include "bundle/internal.h"
#include "olrun/util.h"

struct fd_reader
{
  struct blob_reader r;
  int fd;
  int64_t left; /* -1: to EOF */
};

static ssize_t
fd_read (struct blob_reader *r, void *buf, size_t len, olrun_error_t *err)
{
  struct fd_reader *f = (struct fd_reader *) r;
  if (f->left == 0)
    return 0;
  if (f->left > 0 && (int64_t) len > f->left)
    len = (size_t) f->left;
  ssize_t n;
  do
    n = read (f->fd, buf, len);
  while (n < 0 && errno == EINTR);
  if (n < 0)
    return olrun_fail (err, errno, "read blob");
  if (f->left > 0)
    f->left -= n;
  return n;
}

static void
fd_close (struct blob_reader *r)
{
  struct fd_reader *f = (struct fd_reader *) r;
  safe_close (f->fd);
  free (f);
}

struct blob_reader *
fd_reader_new (int fd, int64_t limit, bool verified)
{
  struct fd_reader *f = xzalloc (sizeof *f);
  f->r = (struct blob_reader){ .read = fd_read, .close = fd_close, .verified = verified };
  f->fd = fd;
  f->left = limit;
  posix_fadvise (fd, 0, 0, POSIX_FADV_SEQUENTIAL);
  return &f->r;
}

int
blob_read_verified (struct blob_reader *r, const struct descriptor *d, size_t max, char **ret, size_t *ret_len,
                    olrun_error_t *err)
{
  struct olrun_buf b = { 0 };
  char chunk[65536];
  for (;;)
    {
      ssize_t n = r->read (r, chunk, sizeof chunk, err);
      if (n < 0)
        goto fail;
      if (n == 0)
        break;
      if (b.len + (size_t) n > max)
        {
          olrun_invalid (err, "blob %s is larger than %zu bytes", d->digest ? d->digest : d->path, max);
          goto fail;
        }
      olrun_buf_append (&b, chunk, (size_t) n);
    }
  if (d->size >= 0 && (uint64_t) d->size != b.len)
    {
      olrun_invalid (err, "blob %s: size mismatch: expected %lld bytes, got %zu", d->digest, (long long) d->size, b.len);
      goto fail;
    }
  if (d->digest)
    {
      char got[DIGEST_LEN + 1];
      if (sha256_buffer (b.data ? b.data : "", b.len, got, err) < 0)
        goto fail;
      if (strcmp (got, d->digest) != 0)
        {
          olrun_invalid (err, "blob digest mismatch: expected %s, got %s", d->digest, got);
          goto fail;
        }
    }
  r->close (r);
  *ret_len = b.len;
  *ret = olrun_buf_steal (&b);
  return 0;
fail:
  r->close (r);
  olrun_buf_free (&b);
  return -1;
}

int
resolve_manifest (struct image_source *s, const struct descriptor *top, const char *platform, manifest_get_fn get,
                  struct manifest *ret, char **ret_digest, olrun_error_t *err)
{
  struct descriptor cur;
  descriptor_copy (&cur, top);
  /* Indexes may nest (an index of indexes); a short bound stops a loop. */
  for (int depth = 0; depth < 4; depth++)
    {
      _cleanup_free_ char *text = NULL, *type = NULL, *digest = NULL;
      size_t len = 0;
      if (get (s, &cur, &text, &len, &type, &digest, err) < 0)
        {
          descriptor_clear (&cur);
          return -1;
        }
      enum media_kind k = manifest_doc_kind (text, len, type ? type : cur.media_type);
      struct descriptor next;
      int rc;
      switch (k)
        {
        case MEDIA_MANIFEST:
          descriptor_clear (&cur);
          if (manifest_parse (text, len, digest, ret, err) < 0)
            return -1;
          *ret_digest = TAKE_PTR (digest);
          return 0;
        case MEDIA_INDEX:
          rc = index_select_platform (text, len, digest, platform, &next, err);
          descriptor_clear (&cur);
          if (rc < 0)
            return -1;
          cur = next;
          break;
        default:
          descriptor_clear (&cur);
          return olrun_error_set (err, OLRUN_E_UNSUPPORTED, 0, "%s: not an image manifest or index (media type %s)",
                                  digest, type ? type : "unknown");
        }
    }
  descriptor_clear (&cur);
  return olrun_invalid (err, "indexes nested too deeply");
}

/* ---- tar members of an archive file ---------------------------------------- */
struct member_reader
{
  struct blob_reader r;
  struct archive *a;
  int fd;
};

static ssize_t
member_read (struct blob_reader *r, void *buf, size_t len, olrun_error_t *err)
{
  struct member_reader *m = (struct member_reader *) r;
  la_ssize_t n = sym_archive_read_data (m->a, buf, len);
  if (n < 0)
    return olrun_fail (err, 0, "read archive member: %s", sym_archive_error_string (m->a));
  return n;
}

static void
member_close (struct blob_reader *r)
{
  struct member_reader *m = (struct member_reader *) r;
  sym_archive_read_free (m->a);
  safe_close (m->fd);
  free (m);
}

static const char *
strip_dot (const char *p)
{
  while (p[0] == '.' && p[1] == '/')
    p += 2;
  while (p[0] == '/')
    p++;
  return p;
}

int
archive_member_open (const char *file, const char *member, struct blob_reader **ret, olrun_error_t *err)
{
  if (olrun_dl_load (OLRUN_DL_ARCHIVE, err) < 0)
    return -1;
  int fd = open (file, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return olrun_error_set (err, errno == ENOENT ? OLRUN_E_NOT_EXIST : OLRUN_E_GENERIC, errno, "open `%s`", file);
  struct archive *a = sym_archive_read_new ();
  sym_archive_read_support_format_tar (a);
  sym_archive_read_support_filter_all (a);
  /* The fd stays with libarchive's lifetime: it skips members by seeking,
   * so finding the one we want does not read the others. */
  if (sym_archive_read_open_fd (a, fd, 1 << 16) != ARCHIVE_OK)
    {
      olrun_fail (err, 0, "`%s`: %s", file, sym_archive_error_string (a));
      sym_archive_read_free (a);
      close (fd);
      return -1;
    }
  struct archive_entry *e;
  const char *want = strip_dot (member);
  for (;;)
    {
      int r = sym_archive_read_next_header (a, &e);
      if (r == ARCHIVE_EOF)
        break;
      if (r < ARCHIVE_WARN)
        {
          olrun_fail (err, 0, "`%s`: %s", file, sym_archive_error_string (a));
          goto fail;
        }
      if (strcmp (strip_dot (sym_archive_entry_pathname (e)), want) == 0)
        {
          struct member_reader *m = xzalloc (sizeof *m);
          m->r = (struct blob_reader){ .read = member_read, .close = member_close };
          m->a = a;
          m->fd = fd; /* archive_read_free does not close an fd it was handed */
          *ret = &m->r;
          return 0;
        }
    }
  olrun_error_set (err, OLRUN_E_NOT_EXIST, ENOENT, "`%s`: no member `%s`", file, want);
fail:
  sym_archive_read_free (a);
  close (fd);
  return -1;
}

int
archive_member_read (const char *file, const char *member, size_t max, char **ret, size_t *ret_len,
                     olrun_error_t *err)
{
  struct blob_reader *r = NULL;
  if (archive_member_open (file, member, &r, err) < 0)
    return -1;
  struct descriptor d = { .path = (char *) member, .size = -1 };
  return blob_read_verified (r, &d, max, ret, ret_len, err);
}

/* oci:DIR and oci-archive:FILE: OCI image layouts, read in place.  Their
 * blobs are verified but never copied into the cache (Singularity's copy of
 * them was a known waste, sylabs/singularity#2934). */
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>

#include "bundle/internal.h"
#include "olrun/json.h"
#include "olrun/util.h"

struct oci_source
{
  struct image_source s;
  const struct image_ref *ref;
  int dirfd;        /* oci: the layout directory; -1 for an archive */
};

static int
blob_path (const struct descriptor *d, char **ret, olrun_error_t *err)
{
  if (digest_check (d->digest, "blob", err) < 0)
    return -1;
  *ret = xasprintf ("blobs/sha256/%s", digest_hex (d->digest));
  return 0;
}

static int
oci_open_blob (struct image_source *s, const struct descriptor *d, struct blob_reader **ret, olrun_error_t *err)
{
  struct oci_source *o = (struct oci_source *) s;
  _cleanup_free_ char *p = NULL;
  if (blob_path (d, &p, err) < 0)
    return -1;
  if (o->dirfd < 0)
    return archive_member_open (o->ref->path, p, ret, err);
  int fd = openat (o->dirfd, p, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0)
    return olrun_error_set (err, errno == ENOENT ? OLRUN_E_NOT_EXIST : OLRUN_E_GENERIC, errno, "`%s/%s`",
                            o->ref->path, p);
  *ret = fd_reader_new (fd, -1, false);
  return 0;
}

static int
oci_read_blob (struct image_source *s, const struct descriptor *d, char **ret, size_t *ret_len, olrun_error_t *err)
{
  struct blob_reader *r = NULL;
  if (oci_open_blob (s, d, &r, err) < 0)
    return -1;
  return blob_read_verified (r, d, MAX_CONFIG_SIZE, ret, ret_len, err);
}

static int
oci_get_manifest (struct image_source *s, const struct descriptor *d, char **ret, size_t *ret_len, char **ret_type,
                  char **ret_digest, olrun_error_t *err)
{
  struct blob_reader *r = NULL;
  if (oci_open_blob (s, d, &r, err) < 0 || blob_read_verified (r, d, MAX_MANIFEST_SIZE, ret, ret_len, err) < 0)
    return -1;
  *ret_type = xstrdup (d->media_type);
  *ret_digest = xstrdup (d->digest);
  return 0;
}

/* index.json: the entry for the tag, the digest, or the only one. */
static int
oci_top (struct oci_source *o, struct descriptor *ret, olrun_error_t *err)
{
  _cleanup_free_ char *text = NULL;
  size_t len = 0;
  _cleanup_free_ char *name = xasprintf ("%s/index.json", o->ref->path);
  int rc = o->dirfd >= 0 ? olrun_read_file_at (o->dirfd, "index.json", &text, &len, err)
                         : archive_member_read (o->ref->path, "index.json", MAX_MANIFEST_SIZE, &text, &len, err);
  if (rc < 0)
    return olrun_error_wrap (err, "not an OCI layout");
  if (o->ref->digest)
    {
      *ret = (struct descriptor){ .digest = xstrdup (o->ref->digest), .size = -1 };
      return 0;
    }
  return index_select_tag (text, len, name, o->ref->tag, ret, err);
}

static int
oci_resolve (struct image_source *s, const char *platform, struct manifest *ret, char **ret_digest,
             olrun_error_t *err)
{
  struct oci_source *o = (struct oci_source *) s;
  struct descriptor top;
  if (oci_top (o, &top, err) < 0)
    return -1;
  int rc = resolve_manifest (s, &top, platform, oci_get_manifest, ret, ret_digest, err);
  descriptor_clear (&top);
  return rc;
}

static void
oci_free (struct image_source *s)
{
  struct oci_source *o = (struct oci_source *) s;
  safe_close (o->dirfd);
  free (o);
}

static const struct image_source_ops oci_ops = {
  .resolve = oci_resolve,
  .read_blob = oci_read_blob,
  .open_blob = oci_open_blob,
  .free = oci_free,
};

int
source_oci_open (const struct image_ref *ref, struct image_source **ret, olrun_error_t *err)
{
  int fd = open (ref->path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0)
    return olrun_error_set (err, errno == ENOENT ? OLRUN_E_NOT_EXIST : OLRUN_E_GENERIC, errno,
                            "oci: open layout `%s`", ref->path);
  struct oci_source *o = xzalloc (sizeof *o);
  o->s.ops = &oci_ops;
  o->ref = ref;
  o->dirfd = fd;
  *ret = &o->s;
  return 0;
}

int
source_oci_archive_open (const struct image_ref *ref, struct image_source **ret, olrun_error_t *err)
{
  struct stat st;
  if (stat (ref->path, &st) < 0)
    return olrun_error_set (err, errno == ENOENT ? OLRUN_E_NOT_EXIST : OLRUN_E_GENERIC, errno,
                            "oci-archive: `%s`", ref->path);
  struct oci_source *o = xzalloc (sizeof *o);
  o->s.ops = &oci_ops;
  o->ref = ref;
  o->dirfd = -1;
  *ret = &o->s;
  return 0;
}

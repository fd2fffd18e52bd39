/* What the files of bundle/ share and nobody else sees. */
#ifndef OLRUN_BUNDLE_INTERNAL_H
#define OLRUN_BUNDLE_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "olrun/bundle.h"
#include "olrun/error.h"
#include "olrun/json.h"

/* ---- digests (digest.c) --------------------------------------------------- */
#define DIGEST_PREFIX "sha256:"
#define DIGEST_LEN (7 + 64) /* "sha256:" + 64 hex */

struct sha256
{
  void *ctx; /* EVP_MD_CTX */
};
/* libcrypto must be loaded (olrun_dl_load (OLRUN_DL_CRYPTO)). */
int sha256_init (struct sha256 *h, olrun_error_t *err);
void sha256_update (struct sha256 *h, const void *data, size_t len);
/* Writes "sha256:<hex>" into out (DIGEST_LEN + 1 bytes). */
void sha256_final (struct sha256 *h, char out[DIGEST_LEN + 1]);
void sha256_free (struct sha256 *h);
int sha256_buffer (const void *data, size_t len, char out[DIGEST_LEN + 1], olrun_error_t *err);
/* "sha256:" followed by exactly 64 lowercase hex digits.  Other algorithms
 * are refused: a digest is also a file name in the cache. */
bool digest_valid (const char *d);
int digest_check (const char *d, const char *what, olrun_error_t *err);
static inline const char *
digest_hex (const char *d)
{
  return d + 7;
}
/* FNV-1a 64: names record files, which also store the full key. */
uint64_t fnv1a64 (const char *s);

/* ---- references (ref.c) --------------------------------------------------- */
enum ref_transport
{
  REF_OCI,
  REF_OCI_ARCHIVE,
  REF_DOCKER_ARCHIVE,
  REF_DOCKER,
};
struct image_ref
{
  enum ref_transport transport;
  char *path;     /* oci, oci-archive, docker-archive: absolute path */
  char *tag;      /* NULL when absent */
  char *digest;   /* NULL when absent */
  char *registry; /* docker: "host[:port]" as written ("docker.io" for Hub) */
  char *repo;     /* docker: "library/alpine"; docker-archive: "repo:tag" or NULL */
  char *display;  /* the canonical form, for messages and `images` */
};
int image_ref_parse (const char *s, struct image_ref *ret, olrun_error_t *err);
void image_ref_clear (struct image_ref *r);

/* ---- manifests and indexes (manifest.c) ------------------------------------ */
struct descriptor
{
  char *media_type;
  char *digest;   /* NULL for a docker-archive legacy layer */
  int64_t size;   /* -1 when unknown */
  char *path;     /* docker-archive: the member name in the archive */
  char *ref_name; /* org.opencontainers.image.ref.name */
  char *os, *arch, *variant;
  bool has_urls;
};
void descriptor_clear (struct descriptor *d);
void descriptor_copy (struct descriptor *dst, const struct descriptor *src);

enum media_kind
{
  MEDIA_UNKNOWN,
  MEDIA_INDEX,     /* OCI index or Docker manifest list */
  MEDIA_MANIFEST,  /* OCI or Docker schema 2 image manifest */
  MEDIA_LAYER,
  MEDIA_FOREIGN,   /* non-distributable or foreign layers */
};
enum media_kind media_kind (const char *media_type);

struct manifest
{
  struct descriptor config;
  struct descriptor *layers;
  size_t n_layers;
};
void manifest_clear (struct manifest *m);
/* Parse an image manifest (OCI or Docker schema 2). */
int manifest_parse (const char *text, size_t len, const char *name, struct manifest *ret, olrun_error_t *err);
/* The kind of a manifest-ish document from its mediaType member (or its shape). */
enum media_kind manifest_doc_kind (const char *text, size_t len, const char *declared);

/* "os/arch[/variant]" of the host, e.g. "linux/amd64" (static string). */
const char *platform_host (void);
/* Choose from an index: by tag (ref.name annotation) when tag is set,
 * else the only entry; with for_platform, the entry matching platform.
 * name names the document in errors. */
int index_select_tag (const char *text, size_t len, const char *name, const char *tag, struct descriptor *ret,
                      olrun_error_t *err);
int index_select_platform (const char *text, size_t len, const char *name, const char *platform,
                           struct descriptor *ret, olrun_error_t *err);

/* The parts of an image config the unpack needs besides olrun_image_config. */
int config_diff_ids (const char *text, size_t len, const char *name, char ***ret, olrun_error_t *err);

/* ---- sources (source_*.c, registry.c) --------------------------------------- */
struct blob_reader
{
  /* Returns bytes read, 0 at the end, -1 with err set. */
  ssize_t (*read) (struct blob_reader *r, void *buf, size_t len, olrun_error_t *err);
  void (*close) (struct blob_reader *r);
  bool verified;  /* the bytes were checked against the digest already (the cache) */
};

struct image_source;
struct image_source_ops
{
  /* Resolve the reference to one image manifest for platform.  The
   * manifest and the config are verified against their digests.
   * *ret_manifest_digest may be NULL (docker-archive has none). */
  int (*resolve) (struct image_source *s, const char *platform, struct manifest *ret,
                  char **ret_manifest_digest, olrun_error_t *err);
  /* Read a small blob (the config) whole, verified against d->digest. */
  int (*read_blob) (struct image_source *s, const struct descriptor *d, char **ret, size_t *ret_len,
                    olrun_error_t *err);
  /* Bring a layer where open_blob can stream it (the registry downloads it
   * into the cache); NULL when blobs are read in place. */
  int (*fetch) (struct image_source *s, const struct descriptor *d, size_t index, size_t n,
                olrun_error_t *err);
  /* Stream a layer's raw bytes; the unpacker verifies them.  Called from
   * the unpacker's reading thread. */
  int (*open_blob) (struct image_source *s, const struct descriptor *d, struct blob_reader **ret,
                    olrun_error_t *err);
  void (*free) (struct image_source *s);
};
struct image_source
{
  const struct image_source_ops *ops;
  const struct olrun_image_opts *opts;
  struct cache *cache;
  char **used_blobs; /* cache blobs this image relies on (for prune) */
};

int source_oci_open (const struct image_ref *ref, struct image_source **ret, olrun_error_t *err);
int source_oci_archive_open (const struct image_ref *ref, struct image_source **ret, olrun_error_t *err);
int source_docker_archive_open (const struct image_ref *ref, struct image_source **ret, olrun_error_t *err);
int source_registry_open (const struct image_ref *ref, struct image_source **ret, olrun_error_t *err);
/* Options arrive with s->opts, after open: credentials and CAs then. */
int registry_configure (struct image_source *s, olrun_error_t *err);

/* A reader over a file descriptor (owned), optionally limited to `limit`
 * bytes (-1: none). */
struct blob_reader *fd_reader_new (int fd, int64_t limit, bool verified);
/* Read a whole reader, verifying its digest and size. */
int blob_read_verified (struct blob_reader *r, const struct descriptor *d, size_t max, char **ret,
                        size_t *ret_len, olrun_error_t *err);

/* ---- the cache (cache.c) ---------------------------------------------------- */
struct cache
{
  char *dir;
  int dirfd;
};
int cache_open (const char *dir, struct cache *ret, olrun_error_t *err);
void cache_close (struct cache *c);
/* flock(LOCK_EX) on locks/<name>.lock; returns the fd holding it. */
int cache_lock (struct cache *c, const char *name, int *ret_fd, olrun_error_t *err);
/* An image dir exists for this config digest (its rootfs is complete). */
bool cache_has_image (struct cache *c, const char *config_digest);
struct cache_record
{
  char *config;
  char *manifest;
};
/* Records map a resolution key (see image.c) to the image it resolved to. */
int cache_record_get (struct cache *c, const char *key, struct cache_record *ret);
int cache_record_put (struct cache *c, const char *key, const char *display, const struct cache_record *r,
                      olrun_error_t *err);
void cache_record_clear (struct cache_record *r);
/* Blobs: blobs/sha256/<hex>.  Returns an fd open for reading, or -1 with
 * errno ENOENT when absent (no error set). */
int cache_blob_open (struct cache *c, const char *digest);

/* ---- unpack (unpack.c, writer.c) --------------------------------------------- */
struct unpack_layer
{
  const struct descriptor *desc;
  const char *diff_id;
};
struct unpack_job
{
  struct image_source *src;
  const struct unpack_layer *layers;
  size_t n_layers;
  struct olrun_unpack_limits limits;
  olrun_progress_fn progress;
  void *progress_data;
};
/* Apply the layers in order into the empty directory rootfd. */
int unpack_layers (int rootfd, const struct unpack_job *job, uint64_t *ret_bytes, olrun_error_t *err);

/* The confined writer: one tar stream at a time into the tree at rootfd. */
struct writer;
int writer_new (int rootfd, const struct olrun_unpack_limits *limits, struct writer **ret, olrun_error_t *err);
/* Apply one layer read from the archive handle `a` (a struct archive *). */
int writer_apply_layer (struct writer *w, void *a, size_t layer, olrun_error_t *err);
/* Deferred work (directory times) and the summary warnings. */
int writer_finish (struct writer *w, olrun_error_t *err);
void writer_free (struct writer *w);

#endif

/* ---- shared by the sources (source_common.c) ------------------------------- */
/* Fetch one manifest-ish document, verified: by d->digest, or by tag
 * (d->digest NULL, d->ref_name the tag) when the transport can.  Returns its
 * text, declared media type (may be NULL) and digest. */
typedef int (*manifest_get_fn) (struct image_source *s, const struct descriptor *d, char **ret, size_t *ret_len,
                                char **ret_type, char **ret_digest, olrun_error_t *err);
/* Follow indexes down to the manifest for platform. */
int resolve_manifest (struct image_source *s, const struct descriptor *top, const char *platform,
                      manifest_get_fn get, struct manifest *ret, char **ret_digest, olrun_error_t *err);
/* A tar member of an archive file, located by name ("./" prefixes ignored).
 * Returns 0 and a reader, or -1 with errno ENOENT and err set when absent. */
int archive_member_open (const char *file, const char *member, struct blob_reader **ret, olrun_error_t *err);
int archive_member_read (const char *file, const char *member, size_t max, char **ret, size_t *ret_len,
                         olrun_error_t *err);
#define MAX_MANIFEST_SIZE (4U << 20)
#define MAX_CONFIG_SIZE (8U << 20)

/* ---- registry credentials (registry_auth.c) --------------------------------- */
/* "user:password" for host from --authfile, $REGISTRY_AUTH_FILE,
 * $XDG_RUNTIME_DIR/containers/auth.json or ~/.docker/config.json; NULL when
 * none has an entry.  Errors only for a file that exists but is unreadable. */
int registry_credentials (const char *auth_file, const char *host, char **ret, olrun_error_t *err);
/* Parse `Bearer realm="...",service="...",scope="..."` (or Basic). */
struct auth_challenge
{
  bool bearer, basic;
  char *realm, *service, *scope;
};
void auth_challenge_parse (const char *header, struct auth_challenge *ret);
void auth_challenge_clear (struct auth_challenge *c);
/* Percent-encode for a URL query value. */
char *url_escape (const char *s);

/* ---- the launcher's seccomp profile (seccomp_profile.c) --------------------- */
/* Write "seccomp": {...} into w: spec NULL is podman's default profile when
 * installed, else olrun's built-in one; "builtin"; "unconfined" (nothing
 * written); or a profile file, in containers/common's format or the
 * runtime-spec's.  caps: the container's capabilities (rules that need or
 * exclude one are resolved against them). */
int seccomp_profile_write (olrun_jw_t *w, const char *spec, char *const *caps, olrun_error_t *err);

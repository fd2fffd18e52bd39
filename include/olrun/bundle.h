/* Images and bundles: references and transports, the verified blob cache,
 * the layer unpacker, and image config -> config.json.
 *
 * The heavy libraries (libcurl, libarchive, libcrypto, zlib, libzstd) are
 * loaded with dlopen the first time an image has to be fetched or unpacked,
 * never by the runtime verbs (DESIGN.md, "Speed by design").  Resolving a
 * reference whose pristine rootfs is already in the cache reads only small
 * JSON records and stats a directory, so the second launch of an image pays
 * for none of them. */
#ifndef OLRUN_BUNDLE_H
#define OLRUN_BUNDLE_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "olrun/error.h"
#include "olrun/namespaces.h"

/* Caps against decompression bombs and hostile tars.  0 means the default. */
struct olrun_unpack_limits
{
  uint64_t max_size;       /* total uncompressed bytes of all layers */
  uint64_t max_entries;    /* tar entries over all layers */
  uint64_t max_path;       /* bytes in one entry's path */
};
#define OLRUN_UNPACK_DEFAULT_MAX_SIZE (64ULL << 30)
#define OLRUN_UNPACK_DEFAULT_MAX_ENTRIES 2000000ULL
#define OLRUN_UNPACK_DEFAULT_MAX_PATH 4096ULL

/* Progress reports, from the library to the CLI (which draws the bars). */
enum olrun_progress_phase
{
  OLRUN_PROGRESS_FETCH,    /* a blob is downloaded into the cache */
  OLRUN_PROGRESS_UNPACK,   /* a layer is inflated and written */
};
struct olrun_progress
{
  enum olrun_progress_phase phase;
  size_t layer;            /* 0-based layer index */
  size_t n_layers;
  const char *digest;      /* the blob's digest, or NULL (docker-archive legacy layers) */
  uint64_t done;           /* bytes of the (compressed) blob consumed so far */
  uint64_t total;          /* its size, 0 when unknown */
  bool finished;           /* the last report for this layer and phase */
};
typedef void (*olrun_progress_fn) (void *data, const struct olrun_progress *p);

struct olrun_image_opts
{
  const char *ref;         /* oci:, oci-archive:, docker-archive:, docker://, or a short name */
  const char *cache_dir;   /* NULL: olrun_cache_default_dir () */
  const char *platform;    /* "os/arch[/variant]", NULL for the host */
  bool tls_verify_off;     /* --tls-verify=false: plain HTTP, no certificate checks */
  const char *cert_dir;    /* extra CA certificates (*.crt) for registries, or NULL */
  const char *auth_file;   /* --authfile, or NULL for the usual places */
  struct olrun_unpack_limits limits;
  olrun_progress_fn progress;  /* may be NULL */
  void *progress_data;
};

/* The parts of the image config (OCI image-spec `config`) a launch needs. */
struct olrun_image_config
{
  char **entrypoint;       /* NULL when unset */
  char **cmd;
  char **env;              /* "K=V" */
  char *working_dir;
  char *user;
  char **labels;           /* "K=V" pairs, in document order */
  char *stop_signal;
  char *os, *architecture;
};

struct olrun_image
{
  char *rootfs;            /* absolute path of the pristine rootfs (never write to it) */
  char *config_digest;     /* "sha256:<hex>": the image ID and the cache key */
  char *manifest_digest;   /* "sha256:<hex>" */
  struct olrun_image_config config;
  bool fresh;              /* this call unpacked it (false: it was cached) */
};

/* Resolve ref, fetch what is missing through the verified cache, unpack the
 * layers into the pristine rootfs when it is not there yet, and return it. */
int olrun_image_prepare (const struct olrun_image_opts *o, struct olrun_image **ret, olrun_error_t *err);
void olrun_image_free (struct olrun_image *img);
void olrun_image_freep (struct olrun_image **img);
#define _cleanup_image_ __attribute__ ((cleanup (olrun_image_freep)))

/* Parse an image config document (a config blob). */
int olrun_image_config_parse (const char *text, size_t len, const char *name, struct olrun_image_config *ret,
                              olrun_error_t *err);
void olrun_image_config_clear (struct olrun_image_config *c);

/* ---- the cache -------------------------------------------------------------- */
/* ${XDG_CACHE_HOME:-~/.cache}/olrun, or /var/cache/olrun for root (heap). */
char *olrun_cache_default_dir (void);

struct olrun_cached_image
{
  char *config_digest;
  char *manifest_digest;
  char **refs;             /* the references that resolved to it */
  uint64_t size;           /* bytes of the unpacked rootfs (apparent) */
  char *created;           /* RFC 3339, when it was unpacked */
};
/* List the images whose pristine rootfs is in the cache. */
int olrun_cache_list (const char *cache_dir, struct olrun_cached_image **ret, size_t *ret_len,
                      olrun_error_t *err);
void olrun_cached_images_free (struct olrun_cached_image *v, size_t n);

struct olrun_prune_stats
{
  size_t blobs, records, temps;
  uint64_t bytes;
};
/* Remove blobs no cached image uses, records of images that are gone, and
 * the leftovers of interrupted pulls and unpacks (those nobody holds). */
int olrun_cache_prune (const char *cache_dir, struct olrun_prune_stats *ret, olrun_error_t *err);

/* ---- bundles ------------------------------------------------------------------ */
/* --bind SRC[:DST[:ro|rw]] */
struct olrun_bind
{
  char *src;               /* absolute, existing */
  char *dst;               /* absolute, without `..` */
  bool ro;
};
/* Parse and check one --bind: a missing source or a destination with `..`
 * is an error. */
int olrun_bind_parse (const char *spec, struct olrun_bind *ret, olrun_error_t *err);
void olrun_bind_clear (struct olrun_bind *b);

/* What config.json gets beyond the image config; NULL/0 fields keep the
 * image's values and podman's defaults. */
struct olrun_config_opts
{
  char **args;             /* replaces the image's Cmd (CMD on the command line) */
  const char *entrypoint;  /* replaces Entrypoint ("" clears it), NULL keeps it */
  char **env;              /* "K=V" added after the image's Env (later wins) */
  const char *cwd;         /* replaces WorkingDir */
  const char *hostname;    /* default "olrun" */
  bool terminal;
  bool net_none;           /* a new network namespace (default: the host's, as Singularity) */
  /* The launcher's: */
  unsigned short console_rows, console_cols;  /* process.consoleSize (0: none) */
  const struct olrun_bind *binds;
  size_t n_binds;
  bool writable;           /* root.readonly false (--writable-tmpfs); else tmpfs on /tmp, /var/tmp, /run */
  const char *seccomp;     /* NULL: podman's default profile if installed, else olrun's; "builtin",
                              "unconfined", or a profile file */
  /* User namespaces (the launcher's rootless modes; see launch_userns.c). */
  bool in_userns;          /* the runtime runs in a user namespace: no sysfs of its own on the
                              host's network, /dev/pts without gid=5 unless mapped */
  bool tty_gid_mapped;     /* gid 5 exists in that user namespace */
  bool inner_userns;       /* the container gets a user namespace of its own, with these maps
                              (host ids: the outer namespace's) */
  struct olrun_idmaps inner_uidmap, inner_gidmap;
  bool inner_as_user;      /* the process runs as inner_uid/gid, not as the image's User */
  uint32_t inner_uid, inner_gid;
};

/* Generate the runtime-spec config.json text for an image.  rootfs_fd is
 * the pristine rootfs (to resolve user names in its /etc/passwd and
 * /etc/group); the result is a heap string. */
int olrun_config_generate (const struct olrun_image *img, int rootfs_fd, const struct olrun_config_opts *o,
                           char **ret, olrun_error_t *err);
/* Whether some bind destination is missing from the rootfs: the launcher
 * then stacks a tmpfs overlay, so the runtime can create the mount points
 * (root.readonly still makes the root read-only for the process). */
bool olrun_config_needs_mountpoints (int rootfs_fd, const struct olrun_config_opts *o);

/* Make a bundle at dir (created; it must not exist, or be an empty
 * directory): rootfs/ with img->rootfs bound read-only, nodev, nosuid, and
 * config.json.  On failure nothing is left behind. */
int olrun_bundle_create (const char *dir, const struct olrun_image *img, const struct olrun_config_opts *o,
                         olrun_error_t *err);
/* Only the mount: bind `rootfs` read-only, nodev, nosuid onto `target`
 * (for callers that write their own config.json, or that mount later in a
 * user namespace). */
int olrun_bundle_mount_rootfs (const char *rootfs, const char *target, olrun_error_t *err);
/* Unmount dir/rootfs and remove the bundle.  The cached pristine tree is
 * never touched: the removal refuses to cross a mount point. */
int olrun_bundle_delete (const char *dir, olrun_error_t *err);

/* ---- the launcher ------------------------------------------------------------ */
struct olrun_context;
struct olrun_launch_opts
{
  struct olrun_image_opts image;    /* image.ref: a reference, or a bundle directory */
  struct olrun_config_opts config;  /* config.terminal: the caller decided (-t, or a terminal) */
  const char *backend;              /* NULL: the context's, then $OLRUN_BACKEND, then embedded */
  const char *keep_bundle;          /* make the bundle here and keep it (in the host's mount namespace) */
  bool writable_tmpfs;              /* an overlay with a tmpfs upper over the pristine rootfs */
  bool detach;                      /* a monitor owns the container; olrun_launch returns its ID */
  bool interactive;                 /* detached: give the container a stdin that attach writes to */
  bool userns;                      /* a user namespace even as root */
  bool fakeroot;                    /* in the user namespace, stay uid 0 */
};
/* Whether a `run` argument is for the launcher: it has a transport prefix
 * (oci:, oci-archive:, docker-archive:, docker://) or a `/` (DESIGN.md). */
bool olrun_launch_is_reference (const char *arg);
/* Run an image (or a bundle directory) as the seed's OCI launcher does:
 * pull through the cache, a temporary bundle bound read-only on the
 * pristine rootfs, a generated ID, the chosen backend; then remove it all.
 * In the foreground *ret_status is the container's exit status (128+signal);
 * detached, *ret_id is the new instance's ID (heap). */
int olrun_launch (const struct olrun_context *ctx, const struct olrun_launch_opts *o, int *ret_status,
                  char **ret_id, olrun_error_t *err);

/* Detached instances. */
/* Connect the caller's terminal (or stdio) to a running instance until it
 * exits (*ret_status, and *ret_detached false) or the detach keys ctrl-p
 * ctrl-q are typed (*ret_detached true). */
int olrun_instance_attach (const struct olrun_context *ctx, const char *id, int *ret_status, bool *ret_detached,
                           olrun_error_t *err);
/* Copy an instance's log to out_fd; with follow, until the instance exits. */
int olrun_instance_logs (const struct olrun_context *ctx, const char *id, int out_fd, bool follow,
                         olrun_error_t *err);
/* SIGTERM, then SIGKILL after timeout seconds, and wait until the instance
 * (or a plain container of the embedded runtime) is gone. */
int olrun_instance_stop (const struct olrun_context *ctx, const char *id, unsigned timeout, olrun_error_t *err);
/* Remove the record (log, exit status) of a detached instance that exited. */
int olrun_instance_remove (const struct olrun_context *ctx, const char *id, olrun_error_t *err);

#endif

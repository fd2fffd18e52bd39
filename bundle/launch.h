/* Shared by the launcher's files (launch.c, launch_userns.c, instance.c,
 * monitor.c, attach.c); not part of the library's API. */
#ifndef OLRUN_BUNDLE_LAUNCH_H
#define OLRUN_BUNDLE_LAUNCH_H

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>

#include "olrun/bundle.h"
#include "olrun/runtime.h"

/* ---- instances (instance.c) ---- */
struct instance
{
  char *id;
  char *dir;               /* <root>/.launch/<id> */
  int dirfd;               /* flock'ed LOCK_EX by the launcher or the monitor while it lives */
};
struct instance_record
{
  char *ref;               /* what was launched */
  char *bundle;            /* the bundle's path */
  bool keep_bundle;        /* --keep-bundle: the bundle is the user's */
  char *backend, *backend_path, *backend_root;
  bool detached, terminal, stdin_open;
};
int instance_create (const struct olrun_context *ctx, struct instance *ret, olrun_error_t *err);
/* Open an existing instance; *ret_alive tells whether its launcher or
 * monitor still holds it. */
int instance_open (const struct olrun_context *ctx, const char *id, struct instance *ret, bool *ret_alive,
                   olrun_error_t *err);
bool instance_alive (const struct instance *in);
void instance_close (struct instance *in);
int instance_record_write (const struct instance *in, const struct instance_record *r, olrun_error_t *err);
int instance_record_read (int dirfd, struct instance_record *ret, olrun_error_t *err);
void instance_record_clear (struct instance_record *r);
int instance_backend (const struct olrun_context *ctx, const struct instance_record *r, struct olrun_backend **ret,
                      olrun_error_t *err);
/* delete --force through the backend. */
int instance_delete_container (const struct olrun_context *ctx, const struct olrun_backend *b, const char *id,
                               olrun_error_t *err);
bool instance_is_mountpoint (int dirfd, const char *name);
int instance_unmount (int dirfd, const char *name, olrun_error_t *err);
/* Unmount parent/name/rootfs and remove the bundle. */
int instance_remove_bundle (int parent_fd, const char *name, olrun_error_t *err);
/* Remove what killed launchers left behind (warnings only). */
void instance_cleanup_stale (const struct olrun_context *ctx);

/* ---- one launch (launch.c) ---- */
struct launch
{
  const struct olrun_context *ctx;
  const struct olrun_launch_opts *o;
  struct olrun_context rctx;      /* what the runtime gets (rootless: no cgroup of its own) */
  struct olrun_backend *backend;
  struct olrun_image *img;        /* NULL when the reference is a bundle directory */
  struct instance inst;
  char *bundle;                   /* absolute path of the bundle */
  bool made_bundle;               /* we made it: unmount and remove it afterwards */
  bool terminal;                  /* the container's process.terminal */
  sigset_t saved_mask;
  bool masked;
};
/* Tear the launch down: its container (if left), bundle and instance dir. */
int launch_teardown (struct launch *l, bool keep_record, olrun_error_t *err);

/* ---- user namespaces (launch_userns.c) ---- */
/* Enter an outer user namespace (with a mount namespace) mapping the
 * caller's uid and gid to 0, plus their subordinate ranges when
 * /etc/subuid and newuidmap allow.  Fills the config's user-namespace
 * fields. */
int launch_enter_userns (struct launch *l, struct olrun_config_opts *co, olrun_error_t *err);
/* The container's id map inside the outer namespace, whose ids are 0 (the
 * user) and 1..extra (the subordinate ones): `id` mapped to the outer 0
 * with the rest around it, or with identity (--fakeroot) the outer ids as
 * they are; one extent per outer extent. */
void launch_inner_map (struct olrun_idmaps *m, uint32_t id, uint32_t extra, bool identity);
/* A private mount namespace for the bundle's mounts: they vanish with the
 * launch, even when it is killed. */
int launch_enter_mountns (const char *launch_dir, olrun_error_t *err);

/* ---- detached instances (monitor.c) ---- */
/* Fork the monitor, which starts the container and owns it, its I/O and
 * the teardown.  Returns once the container runs (or failed to start). */
int monitor_launch (struct launch *l, olrun_error_t *err);

/* ---- the attach protocol (monitor.c <-> attach.c) ----
 * SOCK_SEQPACKET at <instance>/attach.sock; each packet is a type byte and
 * a payload. */
enum
{
  ATTACH_STDIN = 'i',      /* client -> monitor: bytes for the container's stdin (or pty) */
  ATTACH_RESIZE = 'w',     /* client -> monitor: uint16 rows, uint16 cols */
  ATTACH_STDOUT = 'o',     /* monitor -> client */
  ATTACH_STDERR = 'e',
  ATTACH_EXIT = 'x',       /* monitor -> client: int32 exit status, then the monitor closes */
  ATTACH_HELLO = 'h',      /* monitor -> client, first: uint8 terminal, uint8 stdin */
};
#define ATTACH_MAX_PACKET 16384

#endif

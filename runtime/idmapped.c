/* The parent's half of idmapped mounts: a user namespace per distinct
 * mapping, and each idmapped bind mount built detached before clone3 (see
 * mount/idmapped.c for why the parent must).  clone3 copies our fd table,
 * so the container's setup finds the trees at the same numbers. */
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "olrun/mount.h"
#include "olrun/namespaces.h"
#include "olrun/syscalls.h"
#include "olrun/util.h"
#include "runtime/create.h"
#include "runtime/internal.h"

/* One user namespace per distinct (uid, gid) mapping, so a config with
 * many volumes sharing the container's mapping clones once. */
struct userns_entry
{
  const struct olrun_idmaps *uid, *gid;
  int fd;
};

static bool
same_maps (const struct olrun_idmaps *a, const struct olrun_idmaps *b)
{
  return a->len == b->len && (a->len == 0 || memcmp (a->v, b->v, a->len * sizeof *a->v) == 0);
}

/* The user namespace whose mapping the mount takes: its own uidMappings
 * and gidMappings, else the container's (runc and crun agree). */
static int
userns_for (struct olrun_container *c, const struct olrun_mount *m, struct userns_entry *cache, size_t *n,
            int *ret_fd, olrun_error_t *err)
{
  const struct olrun_linux *l = &c->spec->linux;
  if (m->uid_mappings.len == 0 && c->ns_fds[OLRUN_NS_USER] >= 0)
    {
      /* A joined user namespace: its own mapping, as it is. */
      *ret_fd = c->ns_fds[OLRUN_NS_USER];
      return 0;
    }
  const struct olrun_idmaps *uid = m->uid_mappings.len ? &m->uid_mappings : &l->uid_mappings;
  const struct olrun_idmaps *gid = m->gid_mappings.len ? &m->gid_mappings : &l->gid_mappings;
  for (size_t i = 0; i < *n; i++)
    if (same_maps (cache[i].uid, uid) && same_maps (cache[i].gid, gid))
      {
        *ret_fd = cache[i].fd;
        return 0;
      }
  int fd = -1;
  if (olrun_ns_userns_with_maps (uid, gid, &fd, err) < 0)
    return -1;
  cache[(*n)++] = (struct userns_entry){ uid, gid, fd };
  *ret_fd = fd;
  return 0;
}

static int
build_all (struct olrun_container *c, struct userns_entry *cache, size_t *n, olrun_error_t *err)
{
  const struct olrun_spec *s = c->spec;
  for (size_t i = 0; i < s->n_mounts; i++)
    {
      const struct olrun_mount *m = &s->mounts[i];
      if (!olrun_mount_is_idmapped (m))
        continue;
      int userns = -1;
      if (userns_for (c, m, cache, n, &userns, err) < 0
          || olrun_mount_idmapped_tree (m, c->bundle, userns, &c->idmapped_trees[i], err) < 0)
        return olrun_error_wrap (err, "mounts[%zu] `%s`", i, m->destination);
    }
  return 0;
}

int
olrun_idmapped_prepare (struct olrun_container *c, olrun_error_t *err)
{
  const struct olrun_spec *s = c->spec;
  size_t wanted = 0;
  /* Without a mount namespace no mount is made at all (validate.c). */
  if (!s->linux.ns[OLRUN_NS_MOUNT].enabled)
    return 0;
  for (size_t i = 0; i < s->n_mounts; i++)
    wanted += olrun_mount_is_idmapped (&s->mounts[i]);
  if (wanted == 0)
    return 0;
  /* runc refuses the same: only root of the initial user namespace holds
   * CAP_SYS_ADMIN over the host's filesystems. */
  if (geteuid () != 0)
    return olrun_error_set (err, OLRUN_E_UNSUPPORTED, 0,
                            "idmapped mounts need root: MOUNT_ATTR_IDMAP needs CAP_SYS_ADMIN over the "
                            "filesystem, which a rootless container does not have");
  c->idmapped_trees = xmalloc (s->n_mounts * sizeof *c->idmapped_trees);
  for (size_t i = 0; i < s->n_mounts; i++)
    c->idmapped_trees[i] = -1;
  _cleanup_free_ struct userns_entry *cache = xzalloc (wanted * sizeof *cache);
  size_t n = 0;
  int r = build_all (c, cache, &n, err);
  /* The namespaces are only needed to set the mappings. */
  for (size_t i = 0; i < n; i++)
    safe_close (cache[i].fd);
  return r;
}

void
olrun_idmapped_release (struct olrun_container *c)
{
  if (c->idmapped_trees == NULL)
    return;
  for (size_t i = 0; i < c->spec->n_mounts; i++)
    safe_close (c->idmapped_trees[i]);
  free (c->idmapped_trees);
  c->idmapped_trees = NULL;
}

/* For `features`: whether this caller can make idmapped mounts at all.
 * MOUNT_ATTR_IDMAP needs Linux 5.12 and root of the initial user namespace
 * (CAP_SYS_ADMIN over the host's filesystems), and the mapping needs a
 * user namespace, which the host may forbid (user.max_user_namespaces).
 * Whether a given filesystem can be idmapped is decided per mount, and
 * refused there by name. */
bool
olrun_idmapped_available (void)
{
  if (geteuid () != 0)
    return false;
  /* Nothing to change, on no fd: ENOSYS only if the syscall is missing. */
  struct mount_attr attr = { 0 };
  if (olrun_mount_setattr (-1, "", AT_EMPTY_PATH, &attr) < 0 && errno == ENOSYS)
    return false;
  struct olrun_idmap one = { 0, 0, 1 };
  struct olrun_idmaps maps = { &one, 1 };
  olrun_error_t err = NULL;
  int fd = -1;
  if (olrun_ns_userns_with_maps (&maps, &maps, &fd, &err) < 0)
    {
      olrun_error_release (&err);
      return false;
    }
  safe_close (fd);
  return true;
}

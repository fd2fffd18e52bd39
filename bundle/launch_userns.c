/* The launcher's namespaces, as the seed has them.
 *
 * As root, only a private mount namespace: the bundle's mounts stay out of
 * the host's table and vanish with the launch.
 *
 * Unprivileged (or with --userns / --fakeroot), an outer user namespace
 * (with its mount namespace) maps the user's uid and gid to 0, followed by
 * their /etc/subuid and /etc/subgid ranges through newuidmap/newgidmap, or
 * by nothing (a single-id map) when they have none.  There the launcher is
 * root: it can mount the bundle, and the runtime runs as if it were root.
 * The container then gets a user namespace of its own inside that one:
 *   - without --fakeroot it maps the user's own uid/gid to the outer 0, and
 *     the process runs as that uid, so `id` shows the user's ids and their
 *     files are theirs;
 *   - with --fakeroot it maps the outer ids as they are, and the process
 *     stays uid 0, with the capabilities of a user-namespace root.
 * Giving the container its own user namespace in both modes also tells the
 * runtime it cannot mknod devices or mount a sysfs of its own. */
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <sched.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "bundle/launch.h"
#include "olrun/log.h"
#include "olrun/namespaces.h"
#include "olrun/syscalls.h"
#include "olrun/util.h"

/* The root of the mount that holds path: the topmost ancestor with the
 * same mount id (mount_setattr only takes a mount's root). */
static char *
mount_root_of (const char *path)
{
  char *p = realpath (path, NULL);
  if (p == NULL)
    return NULL;
  struct statx cur;
  if (statx (AT_FDCWD, p, 0, STATX_MNT_ID, &cur) < 0)
    return p;
  for (char *slash; (slash = strrchr (p, '/')) != NULL;)
    {
      char saved = slash[slash == p ? 1 : 0];
      slash[slash == p ? 1 : 0] = '\0';
      struct statx up;
      if (statx (AT_FDCWD, p, 0, STATX_MNT_ID, &up) < 0 || up.stx_mnt_id != cur.stx_mnt_id)
        {
          slash[slash == p ? 1 : 0] = saved;
          break;
        }
      if (slash == p)
        break;
    }
  return p;
}

int
launch_enter_mountns (const char *launch_dir, olrun_error_t *err)
{
  if (unshare (CLONE_NEWNS) < 0)
    return olrun_fail (err, errno, "unshare the mount namespace");
  /* A mount under a shared mount would propagate back to the host: make
   * the one that holds the launch dir a slave (host mounts still reach
   * us).  Only that one: a recursive change walks every mount. */
  _cleanup_free_ char *root = mount_root_of (launch_dir);
  struct mount_attr attr = { .propagation = MS_SLAVE };
  if (root == NULL || olrun_mount_setattr (AT_FDCWD, root, 0, &attr) < 0)
    return olrun_fail (err, errno, "make the mount of `%s` a slave", launch_dir);
  return 0;
}

/* Append the ranges /etc/sub{u,g}id grants `name` (or the numeric id) to m,
 * after container id 0.  Returns the number of ids mapped after 0. */
static uint32_t
add_subordinate (const char *file, const char *name, uint32_t id, struct olrun_idmaps *m)
{
  _cleanup_fclose_ FILE *f = fopen (file, "re");
  _cleanup_free_ char *line = NULL;
  size_t cap = 0;
  uint32_t next = 1;
  char idstr[16];
  snprintf (idstr, sizeof idstr, "%u", id);
  while (f && getline (&line, &cap, f) > 0)
    {
      char owner[256];
      unsigned long start, count;
      if (sscanf (line, "%255[^:]:%lu:%lu", owner, &start, &count) != 3 || count == 0
          || (strcmp (owner, name) != 0 && strcmp (owner, idstr) != 0) || start > UINT32_MAX
          || count > UINT32_MAX - next)
        continue;
      m->v = xreallocarray (m->v, m->len + 1, sizeof *m->v);
      m->v[m->len++] = (struct olrun_idmap){ next, (uint32_t) start, (uint32_t) count };
      next += (uint32_t) count;
    }
  return next - 1;
}

struct outer_maps
{
  struct olrun_idmaps uid, gid;
  uint32_t uid_extra, gid_extra;  /* ids mapped after 0 */
  bool deny_setgroups;
};

static void
outer_maps (struct outer_maps *om)
{
  uid_t uid = getuid ();
  gid_t gid = getgid ();
  om->uid.v = xzalloc (sizeof *om->uid.v);
  om->uid.v[0] = (struct olrun_idmap){ 0, uid, 1 };
  om->uid.len = 1;
  om->gid.v = xzalloc (sizeof *om->gid.v);
  om->gid.v[0] = (struct olrun_idmap){ 0, gid, 1 };
  om->gid.len = 1;
  /* Ranges need newuidmap/newgidmap, unless we are root (we write any map). */
  bool helpers = geteuid () == 0
                 || (access ("/usr/bin/newuidmap", X_OK) == 0 && access ("/usr/bin/newgidmap", X_OK) == 0);
#ifdef OLRUN_STATIC
  struct passwd *pw = NULL; /* never run: the static olrun hands launches to olrun-images */
#else
  struct passwd *pw = getpwuid (uid);
#endif
  if (helpers && pw)
    {
      om->uid_extra = add_subordinate ("/etc/subuid", pw->pw_name, uid, &om->uid);
      om->gid_extra = add_subordinate ("/etc/subgid", pw->pw_name, uid, &om->gid);
    }
  /* An unprivileged single-id gid map is only accepted with setgroups
   * denied (CVE-2014-8989); newgidmap checks /etc/subgid instead. */
  om->deny_setgroups = geteuid () != 0 && om->gid_extra == 0;
  if (om->uid_extra == 0 || om->gid_extra == 0)
    {
      /* Both or neither: a uid range without a gid range (or the reverse)
       * would leave ids unmapped in the container. */
      om->uid.len = om->gid.len = 1;
      om->uid_extra = om->gid_extra = 0;
      om->deny_setgroups = geteuid () != 0;
    }
}

/* The maps must be written from outside the new namespace: a helper
 * forked before the unshare writes them once we say so. */
static int
unshare_with_maps (const struct outer_maps *om, olrun_error_t *err)
{
  int go[2], report[2];
  if (pipe2 (go, O_CLOEXEC) < 0)
    return olrun_fail (err, errno, "pipe");
  if (pipe2 (report, O_CLOEXEC) < 0)
    {
      safe_close (go[0]);
      safe_close (go[1]);
      return olrun_fail (err, errno, "pipe");
    }
  pid_t parent = getpid ();
  pid_t child = fork ();
  if (child == 0)
    {
      safe_close (go[1]);
      safe_close (report[0]);
      char c;
      olrun_error_t e = NULL;
      if (read (go[0], &c, 1) == 1
          && olrun_ns_write_idmaps (parent, &om->uid, &om->gid, om->deny_setgroups, &e) < 0)
        olrun_error_write_fd (report[1], e);
      _exit (0);
    }
  safe_close (go[0]);
  safe_close (report[1]);
  _cleanup_close_ int go_w = go[1], report_r = report[0];
  if (child < 0)
    return olrun_fail (err, errno, "fork");
  int rc = 0;
  if (unshare (CLONE_NEWUSER | CLONE_NEWNS) < 0)
    rc = olrun_error_set (err, errno == EPERM || errno == ENOSPC ? OLRUN_E_UNSUPPORTED : OLRUN_E_GENERIC, errno,
                          "unshare a user namespace (are unprivileged user namespaces enabled?)");
  /* The helper writes the maps on our word, or exits on EOF. */
  if (rc == 0 && olrun_write_all (go_w, "g", 1) < 0)
    rc = olrun_fail (err, errno, "wake the id-map helper");
  go_w = safe_close (go_w);
  olrun_error_t received = NULL;
  if (rc == 0)
    {
      int r = olrun_error_read_fd (report_r, &received, err);
      if (r < 0)
        rc = -1;
      else if (r == 1)
        {
          *err = received;
          rc = olrun_error_wrap (err, "map the user namespace");
        }
    }
  while (waitpid (child, NULL, 0) < 0 && errno == EINTR)
    ;
  return rc;
}

static void
push_map (struct olrun_idmaps *m, uint32_t container_id, uint32_t host_id, uint32_t size)
{
  if (size == 0)
    return;
  m->v = xreallocarray (m->v, m->len + 1, sizeof *m->v);
  m->v[m->len++] = (struct olrun_idmap){ container_id, host_id, size };
}

/* The container's map inside the outer namespace (whose ids are 0, the
 * user, and 1..extra, the subordinate ones).  Without --fakeroot the
 * user's own id `id` is the outer 0 and the subordinate ids fill the rest
 * around it, so 0 and nobody still exist in the container:
 *   [0, id) -> 1..,  id -> 0,  (id, extra] -> id+1..
 * With --fakeroot, or as root, the outer ids as they are. */
void
launch_inner_map (struct olrun_idmaps *m, uint32_t id, uint32_t extra, bool identity)
{
  /* One extent per outer extent: the kernel maps each extent of a child
   * namespace through a single extent of its parent, never across two. */
  if (identity || id == 0)
    {
      push_map (m, 0, 0, 1);
      push_map (m, 1, 1, extra);
      return;
    }
  uint32_t below = id < extra ? id : extra;
  push_map (m, 0, 1, below);
  push_map (m, id, 0, 1);
  if (id < extra)
    push_map (m, id + 1, id + 1, extra - id);
}

int
launch_enter_userns (struct launch *l, struct olrun_config_opts *co, olrun_error_t *err)
{
  uid_t uid = getuid ();
  gid_t gid = getgid ();
  struct outer_maps om = { 0 };
  outer_maps (&om);
  int rc = unshare_with_maps (&om, err);
  olrun_idmaps_free (&om.uid);
  olrun_idmaps_free (&om.gid);
  if (rc < 0)
    return -1;
  /* Our ids are now the namespace's 0; make every id say so (the saved
   * and filesystem ids included). */
  if (setresgid (0, 0, 0) < 0 || setresuid (0, 0, 0) < 0)
    return olrun_fail (err, errno, "become root in the user namespace");
  if (!om.deny_setgroups && setgroups (0, NULL) < 0)
    olrun_debug ("setgroups in the user namespace: %s", strerror (errno));
  co->in_userns = true;
  co->inner_userns = true;
  launch_inner_map (&co->inner_uidmap, uid, om.uid_extra, l->o->fakeroot);
  launch_inner_map (&co->inner_gidmap, gid, om.gid_extra, l->o->fakeroot);
  if (!l->o->fakeroot)
    {
      co->inner_as_user = true;
      co->inner_uid = uid;
      co->inner_gid = gid;
    }
  /* devpts' gid=5 (tty) must exist in the container's namespace. */
  co->tty_gid_mapped = olrun_idmaps_to_host (&co->inner_gidmap, 5) != UINT32_MAX;
  /* Unprivileged, the cgroup tree is not ours to write (no delegation
   * here): the container shares the launcher's cgroup. */
  if (uid != 0)
    {
      l->rctx.cgroup_manager = OLRUN_CGROUP_DISABLED;
      l->rctx.rootless = 1;
    }
  return 0;
}

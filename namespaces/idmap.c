/* User-namespace id maps: written directly when we may, otherwise through
 * the setuid newuidmap/newgidmap helpers (the uidmap package). */
#include <fcntl.h>
#include <linux/magic.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <sys/wait.h>

#include "olrun/namespaces.h"
#include "olrun/syscalls.h"
#include "olrun/util.h"

char *
olrun_idmaps_format (const struct olrun_idmaps *m)
{
  struct olrun_buf b = { 0 };
  for (size_t i = 0; i < m->len; i++)
    olrun_buf_printf (&b, "%u %u %u\n", m->v[i].container_id, m->v[i].host_id, m->v[i].size);
  return olrun_buf_steal (&b);
}

void
olrun_idmaps_free (struct olrun_idmaps *m)
{
  free (m->v);
  m->v = NULL;
  m->len = 0;
}

uint32_t
olrun_idmaps_to_host (const struct olrun_idmaps *m, uint32_t id)
{
  for (size_t i = 0; i < m->len; i++)
    if (id >= m->v[i].container_id && id - m->v[i].container_id < m->v[i].size)
      return m->v[i].host_id + (id - m->v[i].container_id);
  return UINT32_MAX;
}

/* Open /proc/PID/<name> for writing and prove it is procfs: a path that a
 * container could redirect must never receive our writes (CVE-2025-52881). */
static int
open_proc_file (int procdir, const char *name, olrun_error_t *err)
{
  /* No symlink, no crossing into a mount over the file: a procfs file
   * bind-mounted there would pass the fstatfs check below. */
  struct open_how how = {
    .flags = O_WRONLY | O_CLOEXEC,
    .resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_XDEV,
  };
  int fd = olrun_openat2 (procdir, name, &how);
  if (fd < 0)
    return olrun_fail (err, errno, "open %s", name);
  struct statfs sfs;
  if (fstatfs (fd, &sfs) < 0 || sfs.f_type != PROC_SUPER_MAGIC)
    {
      safe_close (fd);
      return olrun_fail (err, EXDEV, "%s is not on procfs", name);
    }
  return fd;
}

static int
write_proc_file (int procdir, const char *name, const char *text, olrun_error_t *err)
{
  _cleanup_close_ int fd = open_proc_file (procdir, name, err);
  if (fd < 0)
    return -1;
  if (olrun_write_all (fd, text, strlen (text)) < 0)
    return olrun_fail (err, errno, "write %s", name);
  return 0;
}

/* newuidmap PID  CONTAINER HOST SIZE ... */
static int
run_helper (const char *helper, pid_t pid, const struct olrun_idmaps *m, olrun_error_t *err)
{
  size_t argc = 2 + 3 * m->len + 1;
  _cleanup_strv_ char **argv = xzalloc (argc * sizeof *argv);
  argv[0] = xstrdup (helper);
  argv[1] = xasprintf ("%d", (int) pid);
  for (size_t i = 0; i < m->len; i++)
    {
      argv[2 + 3 * i] = xasprintf ("%u", m->v[i].container_id);
      argv[3 + 3 * i] = xasprintf ("%u", m->v[i].host_id);
      argv[4 + 3 * i] = xasprintf ("%u", m->v[i].size);
    }
  pid_t child = fork ();
  if (child < 0)
    return olrun_fail (err, errno, "fork %s", helper);
  if (child == 0)
    {
      execvp (helper, argv);
      _exit (127);
    }
  int status;
  while (waitpid (child, &status, 0) < 0)
    if (errno != EINTR)
      return olrun_fail (err, errno, "wait for %s", helper);
  if (WIFEXITED (status) && WEXITSTATUS (status) == 127)
    return olrun_error_set (err, OLRUN_E_UNSUPPORTED, 0,
                            "%s is needed to map these ids and is not installed (package uidmap)", helper);
  if (!WIFEXITED (status) || WEXITSTATUS (status) != 0)
    return olrun_fail (err, 0, "%s failed (status %d): check /etc/subuid and /etc/subgid", helper, status);
  return 0;
}

/* Root in the parent user namespace may write any map.  Anyone else may
 * only map their own uid/gid, once, with setgroups denied. */
static bool
may_write_directly (const struct olrun_idmaps *m, uint32_t own)
{
  if (geteuid () == 0)
    return true;
  return m->len == 1 && m->v[0].host_id == own && m->v[0].size == 1;
}

int
olrun_ns_write_idmaps (pid_t pid, const struct olrun_idmaps *uid, const struct olrun_idmaps *gid,
                       bool deny_setgroups, olrun_error_t *err)
{
  _cleanup_free_ char *dir = xasprintf ("/proc/%d", (int) pid);
  _cleanup_close_ int procdir = open (dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (procdir < 0)
    return olrun_fail (err, errno, "open %s", dir);
  bool direct_gid = gid->len > 0 && may_write_directly (gid, getegid ());
  /* The kernel takes a gid map from an unprivileged writer only once
   * setgroups is denied (else the container could drop a group that
   * denies it access: CVE-2014-8989).  newgidmap checks /etc/subgid and
   * may leave setgroups allowed. */
  if ((deny_setgroups || (direct_gid && geteuid () != 0))
      && write_proc_file (procdir, "setgroups", "deny", err) < 0)
    return -1;
  if (gid->len > 0)
    {
      _cleanup_free_ char *text = olrun_idmaps_format (gid);
      int rc = direct_gid ? write_proc_file (procdir, "gid_map", text, err)
                          : run_helper ("newgidmap", pid, gid, err);
      if (rc < 0)
        return olrun_error_wrap (err, "write gid map");
    }
  if (uid->len > 0)
    {
      _cleanup_free_ char *text = olrun_idmaps_format (uid);
      int rc = may_write_directly (uid, geteuid ()) ? write_proc_file (procdir, "uid_map", text, err)
                                                    : run_helper ("newuidmap", pid, uid, err);
      if (rc < 0)
        return olrun_error_wrap (err, "write uid map");
    }
  return 0;
}

/* Which controllers a config needs, and enabling them down the tree.
 *
 * A v2 controller is usable in a cgroup only when every ancestor lists it
 * in cgroup.subtree_control.  Like runc, olrun enables every controller an
 * ancestor offers (so `events --stats` has memory and cpu numbers even
 * without limits), but only a controller the config asks for must succeed:
 * a host without, say, the pids controller runs a config that sets no pids
 * limit, and fails with the controller's name on one that does. */
#include <fcntl.h>
#include <string.h>

#include "olrun/cgroup.h"
#include "olrun/log.h"
#include "olrun/util.h"
#include "cgroup/internal.h"

static const char *const names[OLRUN_CTRL_COUNT] = {
  [OLRUN_CTRL_CPU] = "cpu",         [OLRUN_CTRL_CPUSET] = "cpuset", [OLRUN_CTRL_IO] = "io",
  [OLRUN_CTRL_MEMORY] = "memory",   [OLRUN_CTRL_PIDS] = "pids",     [OLRUN_CTRL_HUGETLB] = "hugetlb",
  [OLRUN_CTRL_RDMA] = "rdma",       [OLRUN_CTRL_MISC] = "misc",
};

const char *
olrun_controller_name (int ctrl)
{
  return names[ctrl];
}

int
olrun_controller_from_name (const char *name, size_t len)
{
  for (int c = 0; c < OLRUN_CTRL_COUNT; c++)
    if (strlen (names[c]) == len && strncmp (names[c], name, len) == 0)
      return c;
  return -1;
}

unsigned
olrun_controllers_parse (const char *text)
{
  unsigned mask = 0;
  for (const char *p = text; *p;)
    {
      size_t skip = strspn (p, " \t\n");
      p += skip;
      size_t len = strcspn (p, " \t\n");
      if (len == 0)
        break;
      int c = olrun_controller_from_name (p, len);
      if (c >= 0)
        mask |= 1u << c;
      p += len;
    }
  return mask;
}

static void
need (unsigned *mask, const char **why, int ctrl, const char *setting)
{
  if (!(*mask & (1u << ctrl)))
    why[ctrl] = setting;
  *mask |= 1u << ctrl;
}

/* Only real limits count: "max", 0 and -1 mean "no limit" and need no
 * controller. */
unsigned
olrun_resources_controllers (const struct olrun_resources *r, const char *why[OLRUN_CTRL_COUNT])
{
  unsigned m = 0;
  if (r->memory.has_limit && r->memory.limit > 0)
    need (&m, why, OLRUN_CTRL_MEMORY, "memory.limit");
  if (r->memory.has_reservation && r->memory.reservation > 0)
    need (&m, why, OLRUN_CTRL_MEMORY, "memory.reservation");
  if (r->memory.has_swap && r->memory.swap > 0)
    need (&m, why, OLRUN_CTRL_MEMORY, "memory.swap");
  if (r->cpu.has_shares && r->cpu.shares > 0)
    need (&m, why, OLRUN_CTRL_CPU, "cpu.shares");
  if ((r->cpu.has_quota && r->cpu.quota > 0) || (r->cpu.has_period && r->cpu.period > 0))
    need (&m, why, OLRUN_CTRL_CPU, r->cpu.has_quota ? "cpu.quota" : "cpu.period");
  if (r->cpu.has_burst)
    need (&m, why, OLRUN_CTRL_CPU, "cpu.burst");
  if (r->cpu.has_idle)
    need (&m, why, OLRUN_CTRL_CPU, "cpu.idle");
  if (r->cpu.cpus && *r->cpu.cpus)
    need (&m, why, OLRUN_CTRL_CPUSET, "cpu.cpus");
  if (r->cpu.mems && *r->cpu.mems)
    need (&m, why, OLRUN_CTRL_CPUSET, "cpu.mems");
  if (r->pids.has_limit && r->pids.limit > 0)
    need (&m, why, OLRUN_CTRL_PIDS, "pids.limit");
  if ((r->io.has_weight && r->io.weight) || r->io.n_weight_devices)
    need (&m, why, OLRUN_CTRL_IO, r->io.n_weight_devices ? "blockIO.weightDevice" : "blockIO.weight");
  for (int k = 0; k < OLRUN_IO_THROTTLE_COUNT; k++)
    if (r->io.n_throttle[k])
      need (&m, why, OLRUN_CTRL_IO, "blockIO.throttle*");
  if (r->n_hugetlb)
    need (&m, why, OLRUN_CTRL_HUGETLB, "hugepageLimits");
  if (r->n_rdma)
    need (&m, why, OLRUN_CTRL_RDMA, "rdma");
  for (size_t i = 0; i < r->n_unified; i++)
    {
      /* "memory.high" belongs to memory; "cgroup.*" files to no controller. */
      const char *key = r->unified[i].key;
      int c = olrun_controller_from_name (key, strcspn (key, "."));
      if (c >= 0)
        need (&m, why, c, "unified");
    }
  return m;
}

int
olrun_controllers_read (int dirfd, const char *file, unsigned *ret, olrun_error_t *err)
{
  _cleanup_free_ char *text = NULL;
  if (olrun_read_file_at (dirfd, file, &text, NULL, err) < 0)
    return -1;
  *ret = olrun_controllers_parse (text);
  return 0;
}

/* Enable `want` in dirfd's cgroup.subtree_control.  One write for all
 * first; if the kernel refuses it (one bad controller fails the whole
 * write), one controller at a time, so the others still get enabled. */
static int
enable_at (int dirfd, const char *where, unsigned want, unsigned need, const char *const *why, olrun_error_t *err)
{
  struct olrun_buf b = { 0 };
  for (int c = 0; c < OLRUN_CTRL_COUNT; c++)
    if (want & (1u << c))
      olrun_buf_printf (&b, "%s+%s", b.len ? " " : "", names[c]);
  if (b.len == 0)
    return 0;
  int rc = olrun_write_file_at (dirfd, "cgroup.subtree_control", b.data, b.len, err);
  olrun_buf_free (&b);
  if (rc == 0)
    return 0;
  olrun_error_release (err);
  for (int c = 0; c < OLRUN_CTRL_COUNT; c++)
    {
      if (!(want & (1u << c)))
        continue;
      char word[16];
      int n = snprintf (word, sizeof word, "+%s", names[c]);
      if (olrun_write_file_at (dirfd, "cgroup.subtree_control", word, (size_t) n, err) == 0)
        continue;
      int e = (*err)->errnum;
      olrun_error_release (err);
      if (need & (1u << c))
        /* EBUSY: the no-internal-processes rule -- `where` has processes
         * of its own, so it cannot hand domain controllers down. */
        return olrun_fail (err, e, "enable cgroup controller `%s` in `%s` (needed by linux.resources.%s)%s",
                           names[c], where, why[c], e == EBUSY ? ": the cgroup has processes of its own" : "");
      olrun_debug ("cgroup: cannot enable %s in %s: %s", names[c], where, strerror (e));
    }
  return 0;
}

int
olrun_controllers_enable (int rootfd, const char *rel, unsigned need, const char *const *why, olrun_error_t *err)
{
  _cleanup_free_ char *path = xstrdup (rel);
  _cleanup_close_ int cur = fcntl (rootfd, F_DUPFD_CLOEXEC, 3);
  if (cur < 0)
    return olrun_fail (err, errno, "dup");
  struct olrun_buf where = { 0 };
  olrun_buf_puts (&where, "/");
  int rc = 0;
  /* Walk every ancestor of the leaf: the root, then each component but
   * the last. */
  for (char *comp = path, *next; comp; comp = next)
    {
      next = strchr (comp, '/');
      if (next)
        *next++ = '\0';
      unsigned avail = 0, enabled = 0;
      if (olrun_controllers_read (cur, "cgroup.controllers", &avail, err) < 0
          || olrun_controllers_read (cur, "cgroup.subtree_control", &enabled, err) < 0)
        {
          rc = olrun_error_wrap (err, "cgroup `%s`", where.data);
          break;
        }
      for (int c = 0; c < OLRUN_CTRL_COUNT; c++)
        if ((need & (1u << c)) && !(avail & (1u << c)))
          {
            rc = olrun_error_set (err, OLRUN_E_UNSUPPORTED, 0,
                                  "cgroup controller `%s` is not available in `%s` (the host lacks it or does not "
                                  "delegate it; needed by linux.resources.%s)",
                                  names[c], where.data, why[c]);
            goto out;
          }
      if (enable_at (cur, where.data, avail & ~enabled, need, why, err) < 0)
        {
          rc = -1;
          break;
        }
      if (next == NULL || *comp == '\0')
        break;
      int nfd = openat (cur, comp, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
      if (nfd < 0)
        {
          rc = olrun_fail (err, errno, "open cgroup `%s%s`", where.data, comp);
          break;
        }
      safe_close (cur);
      cur = nfd;
      olrun_buf_printf (&where, "%s%s", where.len > 1 ? "/" : "", comp);
    }
out:
  olrun_buf_free (&where);
  return rc;
}

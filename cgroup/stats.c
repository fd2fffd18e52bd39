/* What `events --stats` and `ps` read: the cgroup's counters and pids.
 * A file the kernel does not have (a controller not enabled) is not an
 * error; its numbers stay 0 and their has_ flag false. */
#include <fcntl.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "olrun/cgroup.h"
#include "olrun/util.h"
#include "cgroup/internal.h"

/* Read a file that may be absent: 1 with *ret set, 0 when missing. */
static int
read_opt (int dirfd, const char *file, char **ret, olrun_error_t *err)
{
  if (olrun_read_file_at (dirfd, file, ret, NULL, err) == 0)
    return 1;
  int e = (*err)->errnum;
  if (e == ENOENT || e == EOPNOTSUPP || e == ENODEV)
    {
      olrun_error_release (err);
      return 0;
    }
  return -1;
}

static uint64_t
parse_u64 (const char *s)
{
  if (strncmp (s, "max", 3) == 0)
    return UINT64_MAX;
  return strtoull (s, NULL, 10);
}

static int
read_u64 (int dirfd, const char *file, uint64_t *ret, bool *present, olrun_error_t *err)
{
  _cleanup_free_ char *text = NULL;
  int r = read_opt (dirfd, file, &text, err);
  if (r <= 0)
    return r;
  *ret = parse_u64 (text);
  if (present)
    *present = true;
  return 1;
}

/* "key value\n" lines: the value of `key`, or 0. */
static uint64_t
flat_get (const char *text, const char *key)
{
  size_t klen = strlen (key);
  for (const char *p = text; p && *p; p = strchr (p, '\n') ? strchr (p, '\n') + 1 : NULL)
    if (strncmp (p, key, klen) == 0 && p[klen] == ' ')
      return parse_u64 (p + klen + 1);
  return 0;
}

/* Split a buffer into lines in place: the next line, or NULL at the end. */
static char *
next_line (char **cursor)
{
  char *line = *cursor;
  if (line == NULL || *line == '\0')
    return NULL;
  char *nl = strchr (line, '\n');
  *cursor = nl ? nl + 1 : NULL;
  if (nl)
    *nl = '\0';
  return line;
}

static int
read_cpu (int dirfd, struct olrun_cgroup_stats *s, olrun_error_t *err)
{
  _cleanup_free_ char *t = NULL;
  int r = read_opt (dirfd, "cpu.stat", &t, err);
  if (r <= 0)
    return r;
  s->has_cpu = true;
  /* runc reports nanoseconds; v2 counts microseconds. */
  s->cpu_usage_ns = flat_get (t, "usage_usec") * 1000;
  s->cpu_user_ns = flat_get (t, "user_usec") * 1000;
  s->cpu_system_ns = flat_get (t, "system_usec") * 1000;
  s->cpu_periods = flat_get (t, "nr_periods");
  s->cpu_throttled_periods = flat_get (t, "nr_throttled");
  s->cpu_throttled_ns = flat_get (t, "throttled_usec") * 1000;
  return 0;
}

static int
read_memory (int dirfd, struct olrun_cgroup_stats *s, olrun_error_t *err)
{
  if (read_u64 (dirfd, "memory.current", &s->mem_usage, &s->has_memory, err) < 0)
    return -1;
  if (!s->has_memory)
    return 0;
  uint64_t swap = 0, swap_max = 0;
  _cleanup_free_ char *events = NULL, *stat = NULL;
  if (read_u64 (dirfd, "memory.max", &s->mem_limit, NULL, err) < 0
      || read_u64 (dirfd, "memory.peak", &s->mem_max_usage, NULL, err) < 0
      || read_u64 (dirfd, "memory.swap.current", &swap, NULL, err) < 0
      || read_u64 (dirfd, "memory.swap.max", &swap_max, NULL, err) < 0 || read_opt (dirfd, "memory.events", &events, err) < 0
      || read_opt (dirfd, "memory.stat", &stat, err) < 0)
    return -1;
  /* runc's v2 "swap" is memory+swap, to match the v1 memsw files. */
  s->swap_usage = s->mem_usage + swap;
  s->swap_limit = s->mem_limit == UINT64_MAX || swap_max == UINT64_MAX ? UINT64_MAX : s->mem_limit + swap_max;
  if (events)
    {
      s->oom = flat_get (events, "oom");
      s->oom_kill = flat_get (events, "oom_kill");
      s->mem_failcnt = flat_get (events, "max");
    }
  for (char *cur = stat, *line; (line = next_line (&cur)) != NULL;)
    {
      char *sp = strchr (line, ' ');
      if (sp == NULL)
        continue;
      s->mem_raw = xreallocarray (s->mem_raw, s->n_mem_raw + 1, sizeof *s->mem_raw);
      s->mem_raw[s->n_mem_raw++] = (struct olrun_cgroup_kv){ xstrndup (line, (size_t) (sp - line)), xstrdup (sp + 1) };
    }
  return 0;
}

static int
read_io (int dirfd, struct olrun_cgroup_stats *s, olrun_error_t *err)
{
  _cleanup_free_ char *t = NULL;
  int r = read_opt (dirfd, "io.stat", &t, err);
  if (r <= 0)
    return r;
  for (char *cur = t, *line; (line = next_line (&cur)) != NULL;)
    {
      struct olrun_cgroup_io_stat io = { 0 };
      int used = 0;
      if (sscanf (line, "%" SCNu32 ":%" SCNu32 "%n", &io.major, &io.minor, &used) < 2)
        continue;
      for (char *kv = strtok (line + used, " "); kv; kv = strtok (NULL, " "))
        {
          char *eq = strchr (kv, '=');
          if (eq == NULL)
            continue;
          *eq = '\0';
          uint64_t v = parse_u64 (eq + 1);
          if (strcmp (kv, "rbytes") == 0)
            io.rbytes = v;
          else if (strcmp (kv, "wbytes") == 0)
            io.wbytes = v;
          else if (strcmp (kv, "rios") == 0)
            io.rios = v;
          else if (strcmp (kv, "wios") == 0)
            io.wios = v;
        }
      s->io = xreallocarray (s->io, s->n_io + 1, sizeof *s->io);
      s->io[s->n_io++] = io;
    }
  return 0;
}

static int
read_hugetlb (int dirfd, struct olrun_cgroup_stats *s, olrun_error_t *err)
{
  int fd = openat (dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0)
    return olrun_fail (err, errno, "open cgroup");
  _cleanup_closedir_ DIR *d = fdopendir (fd);
  if (d == NULL)
    return olrun_fail (err, errno, "fdopendir");
  for (struct dirent *e; (e = readdir (d)) != NULL;)
    {
      /* hugetlb.<size>.current, but not hugetlb.<size>.rsvd.current */
      size_t n = strlen (e->d_name);
      if (strncmp (e->d_name, "hugetlb.", 8) || n < 16 || strcmp (e->d_name + n - 8, ".current")
          || strstr (e->d_name, ".rsvd."))
        continue;
      struct olrun_cgroup_hugetlb_stat h = { 0 };
      size_t plen = n - 16;
      if (plen == 0 || plen >= sizeof h.pagesize)
        continue;
      memcpy (h.pagesize, e->d_name + 8, plen);
      char file[64];
      _cleanup_free_ char *events = NULL;
      if (read_u64 (dirfd, e->d_name, &h.usage, NULL, err) < 0)
        return -1;
      snprintf (file, sizeof file, "hugetlb.%s.max", h.pagesize);
      if (read_u64 (dirfd, file, &h.max, NULL, err) < 0)
        return -1;
      snprintf (file, sizeof file, "hugetlb.%s.events", h.pagesize);
      if (read_opt (dirfd, file, &events, err) < 0)
        return -1;
      h.failcnt = events ? flat_get (events, "max") : 0;
      s->hugetlb = xreallocarray (s->hugetlb, s->n_hugetlb + 1, sizeof *s->hugetlb);
      s->hugetlb[s->n_hugetlb++] = h;
    }
  return 0;
}

int
olrun_cgroup_stats_at (int dirfd, struct olrun_cgroup_stats *s, olrun_error_t *err)
{
  memset (s, 0, sizeof *s);
  if (read_cpu (dirfd, s, err) < 0 || read_memory (dirfd, s, err) < 0
      || read_u64 (dirfd, "pids.current", &s->pids_current, &s->has_pids, err) < 0
      || read_u64 (dirfd, "pids.max", &s->pids_limit, NULL, err) < 0 || read_io (dirfd, s, err) < 0
      || read_hugetlb (dirfd, s, err) < 0)
    {
      olrun_cgroup_stats_clear (s);
      return olrun_error_wrap (err, "cgroup stats");
    }
  if (s->pids_limit == UINT64_MAX)
    s->pids_limit = 0;
  return 0;
}

void
olrun_cgroup_stats_clear (struct olrun_cgroup_stats *s)
{
  for (size_t i = 0; i < s->n_mem_raw; i++)
    {
      free (s->mem_raw[i].key);
      free (s->mem_raw[i].value);
    }
  free (s->mem_raw);
  free (s->io);
  free (s->hugetlb);
  memset (s, 0, sizeof *s);
}

struct pidv
{
  pid_t *v;
  size_t len;
};

static int
collect_pids (int cgfd, struct pidv *out, int depth, olrun_error_t *err)
{
  _cleanup_free_ char *procs = NULL;
  if (olrun_read_file_at (cgfd, "cgroup.procs", &procs, NULL, err) < 0)
    return -1;
  for (char *line = strtok (procs, "\n"); line; line = strtok (NULL, "\n"))
    {
      int64_t pid;
      if (olrun_parse_int64 (line, &pid) == 0 && pid > 0)
        {
          out->v = xreallocarray (out->v, out->len + 1, sizeof *out->v);
          out->v[out->len++] = (pid_t) pid;
        }
    }
  /* Nested cgroups the container made (cgroupns) hold its processes too. */
  if (depth > 64)
    return 0;
  int fd = openat (cgfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0)
    return olrun_fail (err, errno, "open cgroup");
  _cleanup_closedir_ DIR *d = fdopendir (fd);
  if (d == NULL)
    return olrun_fail (err, errno, "fdopendir");
  for (struct dirent *e; (e = readdir (d)) != NULL;)
    {
      if (e->d_type != DT_DIR || !strcmp (e->d_name, ".") || !strcmp (e->d_name, ".."))
        continue;
      _cleanup_close_ int sub = openat (dirfd (d), e->d_name, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
      if (sub < 0)
        {
          if (errno == ENOENT)
            continue;
          return olrun_fail (err, errno, "open cgroup `%s`", e->d_name);
        }
      if (collect_pids (sub, out, depth + 1, err) < 0)
        return -1;
    }
  return 0;
}

static int
cmp_pid (const void *a, const void *b)
{
  pid_t x = *(const pid_t *) a, y = *(const pid_t *) b;
  return (x > y) - (x < y);
}

int
olrun_cgroup_pids_at (int dirfd, pid_t **ret, size_t *ret_len, olrun_error_t *err)
{
  struct pidv out = { 0 };
  if (collect_pids (dirfd, &out, 0, err) < 0)
    {
      free (out.v);
      return -1;
    }
  if (out.len)
    qsort (out.v, out.len, sizeof *out.v, cmp_pid);
  *ret = out.v;
  *ret_len = out.len;
  return 0;
}

/* linux.resources -> cgroup v2 control files, converted as runc and crun
 * convert the runtime-spec's v1-shaped values. */
#include <fcntl.h>
#include <inttypes.h>
#include <string.h>

#include "olrun/cgroup.h"
#include "olrun/util.h"
#include "cgroup/internal.h"

/* crun's shares -> weight mapping: a quadratic in log2(shares) through
 * (2, 1), (1024, 100) and (262144, 10000), so the v1 default 1024 lands on
 * the v2 default 100, which runc's linear formula misses (it gives 39).
 * Computed without libm, which the runtime does not link. */
static double
ln_approx (double x)
{
  /* x = m * 2^k with m in [1, 2); ln m by the atanh series. */
  int k = 0;
  while (x >= 2.0)
    {
      x /= 2.0;
      k++;
    }
  double y = (x - 1.0) / (x + 1.0), y2 = y * y, term = y, sum = 0.0;
  for (int i = 1; i < 60; i += 2)
    {
      sum += term / i;
      term *= y2;
    }
  return 2.0 * sum + k * 0.69314718055994530942;
}

static double
exp_approx (double x)
{
  /* e^x = (e^(x/2^n))^(2^n) with a short Taylor series for the small part. */
  int n = 0;
  while (x > 0.5)
    {
      x /= 2.0;
      n++;
    }
  double sum = 1.0, term = 1.0;
  for (int i = 1; i < 30; i++)
    {
      term *= x / i;
      sum += term;
    }
  while (n-- > 0)
    sum *= sum;
  return sum;
}

uint64_t
olrun_cgroup_shares_to_weight (uint64_t shares)
{
  if (shares == 0)
    return 0;
  if (shares <= 2)
    return 1;
  if (shares >= 262144)
    return 10000;
  double l = ln_approx ((double) shares) / 0.69314718055994530942;
  double exponent = (l * l + 125.0 * l) / 612.0 - 7.0 / 34.0;
  double w = exp_approx (exponent * 2.30258509299404568402);
  /* ceil(), tolerant of the last-bit error of the series at exact points
   * such as 1024 -> 100. */
  uint64_t r = (uint64_t) w;
  if (w - (double) r > 1e-9)
    r++;
  return r < 1 ? 1 : r > 10000 ? 10000 : r;
}

/* blkio weight [10, 1000] -> io.weight [1, 10000], linearly (runc, crun). */
uint64_t
olrun_cgroup_blkio_to_io_weight (uint64_t w)
{
  if (w == 0)
    return 0;
  if (w < 10)
    w = 10;
  return 1 + (w - 10) * 9999 / 990;
}

/* runtime-spec memory.swap is memory+swap (v1); v2's memory.swap.max is
 * swap alone.  The rules are runc's: -1 is unlimited, 0 is unset, and an
 * unlimited memory with unset swap means unlimited swap too. */
int
olrun_cgroup_swap_max (int64_t swap, int64_t limit, int64_t *ret, olrun_error_t *err)
{
  if (limit == -1 && swap == 0)
    return *ret = -1, 0;
  if (swap == -1)
    return *ret = -1, 0;
  if (swap == 0)
    return *ret = -2, 0;
  if (limit <= 0)
    return olrun_invalid (err, "linux.resources.memory.swap needs memory.limit to be set");
  if (swap < limit)
    return olrun_invalid (err, "linux.resources.memory.swap (%" PRId64 ") must be >= memory.limit (%" PRId64 ")",
                          swap, limit);
  *ret = swap - limit;
  return 0;
}

static void
fmt_max (char *buf, size_t len, int64_t v)
{
  if (v < 0)
    snprintf (buf, len, "max");
  else
    snprintf (buf, len, "%" PRId64, v);
}

/* Write one control file.  ENOENT means the kernel has no such file: the
 * controller is not enabled here, or the kernel is too old for it. */
static int
put (int dirfd, const char *file, const char *value, olrun_error_t *err)
{
  if (olrun_write_file_at (dirfd, file, value, strlen (value), err) == 0)
    return 0;
  int e = (*err)->errnum;
  olrun_error_release (err);
  if (e == ENOENT)
    return olrun_error_set (err, OLRUN_E_UNSUPPORTED, 0, "cgroup file `%s` does not exist (controller not enabled?)",
                            file);
  return olrun_fail (err, e, "write `%s` to `%s`", value, file);
}

static bool
file_exists (int dirfd, const char *file)
{
  return faccessat (dirfd, file, F_OK, 0) == 0;
}

/* A live limit: "max" reads as -1. */
static int
read_limit (int dirfd, const char *file, int64_t *ret, olrun_error_t *err)
{
  _cleanup_free_ char *text = NULL;
  if (olrun_read_file_at (dirfd, file, &text, NULL, err) < 0)
    return -1;
  text[strcspn (text, "\n")] = '\0';
  if (strcmp (text, "max") == 0)
    *ret = -1;
  else if (olrun_parse_int64 (text, ret) < 0)
    return olrun_fail (err, 0, "`%s`: unexpected content `%s`", file, text);
  return 0;
}

static int
apply_memory (int dirfd, const struct olrun_resources *r, bool update, olrun_error_t *err)
{
  char buf[32];
  if (update && r->memory.check_before_update && r->memory.has_limit && r->memory.limit > 0)
    {
      /* memory.checkBeforeUpdate: a limit below the current usage would make
       * the kernel reclaim or OOM-kill at once; refuse it instead. */
      _cleanup_free_ char *cur = NULL;
      int64_t usage;
      if (olrun_read_file_at (dirfd, "memory.current", &cur, NULL, err) < 0)
        return -1;
      cur[strcspn (cur, "\n")] = '\0';
      if (olrun_parse_int64 (cur, &usage) == 0 && usage > r->memory.limit)
        return olrun_invalid (err, "memory.limit %" PRId64 " is below the current usage %" PRId64
                                   " (memory.checkBeforeUpdate)", r->memory.limit, usage);
    }
  /* "max" needs no controller: skip it where the file is missing. */
  if (r->memory.has_limit && (r->memory.limit > 0 || (r->memory.limit < 0 && file_exists (dirfd, "memory.max"))))
    {
      fmt_max (buf, sizeof buf, r->memory.limit);
      if (put (dirfd, "memory.max", buf, err) < 0)
        return -1;
    }
  if (r->memory.has_reservation
      && (r->memory.reservation > 0 || (r->memory.reservation < 0 && file_exists (dirfd, "memory.low"))))
    {
      fmt_max (buf, sizeof buf, r->memory.reservation);
      if (put (dirfd, "memory.low", buf, err) < 0)
        return -1;
    }
  if (r->memory.has_swap || (r->memory.has_limit && r->memory.limit == -1))
    {
      int64_t swap_max, lim = r->memory.has_limit ? r->memory.limit : 0;
      if (!r->memory.has_limit && update && read_limit (dirfd, "memory.max", &lim, err) < 0)
        return -1;
      if (olrun_cgroup_swap_max (r->memory.has_swap ? r->memory.swap : 0, lim, &swap_max, err) < 0)
        return -1;
      /* Kernels built without swap accounting have no memory.swap.max;
       * "max" there is what they do anyway. */
      if (swap_max != -2 && (swap_max != -1 || file_exists (dirfd, "memory.swap.max")))
        {
          fmt_max (buf, sizeof buf, swap_max);
          if (put (dirfd, "memory.swap.max", buf, err) < 0)
            return -1;
        }
    }
  return 0;
}

static int
apply_cpu (int dirfd, const struct olrun_resources *r, olrun_error_t *err)
{
  char buf[64];
  if (r->cpu.cpus && *r->cpu.cpus && put (dirfd, "cpuset.cpus", r->cpu.cpus, err) < 0)
    return -1;
  if (r->cpu.mems && *r->cpu.mems && put (dirfd, "cpuset.mems", r->cpu.mems, err) < 0)
    return -1;
  if (r->cpu.has_shares && r->cpu.shares != 0)
    {
      snprintf (buf, sizeof buf, "%" PRIu64, olrun_cgroup_shares_to_weight (r->cpu.shares));
      if (put (dirfd, "cpu.weight", buf, err) < 0)
        return -1;
    }
  if ((r->cpu.has_quota && r->cpu.quota != 0) || (r->cpu.has_period && r->cpu.period != 0))
    {
      /* runc: "max" unless a positive quota; the period only when given. */
      int n = r->cpu.has_quota && r->cpu.quota > 0 ? snprintf (buf, sizeof buf, "%" PRId64, r->cpu.quota)
                                                    : snprintf (buf, sizeof buf, "max");
      if (r->cpu.has_period && r->cpu.period != 0)
        snprintf (buf + n, sizeof buf - (size_t) n, " %" PRIu64, r->cpu.period);
      if (put (dirfd, "cpu.max", buf, err) < 0)
        return -1;
    }
  if (r->cpu.has_burst)
    {
      snprintf (buf, sizeof buf, "%" PRIu64, r->cpu.burst);
      if (put (dirfd, "cpu.max.burst", buf, err) < 0)
        return -1;
    }
  if (r->cpu.has_idle)
    {
      snprintf (buf, sizeof buf, "%" PRId64, r->cpu.idle);
      if (put (dirfd, "cpu.idle", buf, err) < 0)
        return -1;
    }
  return 0;
}

static int
apply_io (int dirfd, const struct olrun_resources *r, olrun_error_t *err)
{
  static const char *const keys[OLRUN_IO_THROTTLE_COUNT] = { "rbps", "wbps", "riops", "wiops" };
  char buf[96];
  /* BFQ takes blkio's own scale; without BFQ, io.weight takes the
   * converted value (the kernel's io.weight is 1..10000). */
  bool bfq = file_exists (dirfd, "io.bfq.weight");
  const char *wfile = bfq ? "io.bfq.weight" : "io.weight";
  if (r->io.has_weight && r->io.weight != 0)
    {
      snprintf (buf, sizeof buf, "%" PRIu64,
                bfq ? (uint64_t) r->io.weight : olrun_cgroup_blkio_to_io_weight (r->io.weight));
      if (put (dirfd, wfile, buf, err) < 0)
        return -1;
    }
  for (size_t i = 0; i < r->io.n_weight_devices; i++)
    {
      const struct olrun_cgroup_io_device *d = &r->io.weight_devices[i];
      snprintf (buf, sizeof buf, "%" PRId64 ":%" PRId64 " %" PRIu64, d->major, d->minor,
                bfq ? d->value : olrun_cgroup_blkio_to_io_weight (d->value));
      if (put (dirfd, wfile, buf, err) < 0)
        return olrun_error_wrap (err, "blockIO.weightDevice %s", buf);
    }
  for (int k = 0; k < OLRUN_IO_THROTTLE_COUNT; k++)
    for (size_t i = 0; i < r->io.n_throttle[k]; i++)
      {
        const struct olrun_cgroup_io_device *d = &r->io.throttle[k][i];
        /* v1 wrote 0 to lift a limit; v2 spells that "max". */
        if (d->value == 0)
          snprintf (buf, sizeof buf, "%" PRId64 ":%" PRId64 " %s=max", d->major, d->minor, keys[k]);
        else
          snprintf (buf, sizeof buf, "%" PRId64 ":%" PRId64 " %s=%" PRIu64, d->major, d->minor, keys[k], d->value);
        if (put (dirfd, "io.max", buf, err) < 0)
          return olrun_error_wrap (err, "blockIO throttle `%s`", buf);
      }
  return 0;
}

static int
apply_misc (int dirfd, const struct olrun_resources *r, olrun_error_t *err)
{
  char buf[128], file[64];
  if (r->pids.has_limit)
    {
      fmt_max (buf, sizeof buf, r->pids.limit > 0 ? r->pids.limit : -1);
      if ((r->pids.limit > 0 || file_exists (dirfd, "pids.max")) && put (dirfd, "pids.max", buf, err) < 0)
        return -1;
    }
  for (size_t i = 0; i < r->n_hugetlb; i++)
    {
      snprintf (buf, sizeof buf, "%" PRIu64, r->hugetlb[i].limit);
      snprintf (file, sizeof file, "hugetlb.%s.max", r->hugetlb[i].pagesize);
      if (put (dirfd, file, buf, err) < 0)
        return olrun_error_wrap (err, "hugepageLimits pageSize `%s`", r->hugetlb[i].pagesize);
      /* Reservations (5.7+) are charged separately: limit them alike, as
       * runc does, or a mapping reserves pages the limit does not see. */
      snprintf (file, sizeof file, "hugetlb.%s.rsvd.max", r->hugetlb[i].pagesize);
      if (file_exists (dirfd, file) && put (dirfd, file, buf, err) < 0)
        return -1;
    }
  for (size_t i = 0; i < r->n_rdma; i++)
    {
      const struct olrun_cgroup_rdma *d = &r->rdma[i];
      char h[24] = "max", o[24] = "max";
      if (d->has_handles)
        snprintf (h, sizeof h, "%" PRIu32, d->handles);
      if (d->has_objects)
        snprintf (o, sizeof o, "%" PRIu32, d->objects);
      snprintf (buf, sizeof buf, "%s hca_handle=%s hca_object=%s", d->device, h, o);
      if (put (dirfd, "rdma.max", buf, err) < 0)
        return olrun_error_wrap (err, "rdma `%s`", d->device);
    }
  return 0;
}

static int
apply_unified (int dirfd, const struct olrun_resources *r, olrun_error_t *err)
{
  for (size_t i = 0; i < r->n_unified; i++)
    {
      const char *key = r->unified[i].key;
      /* The parser refused these already; a second look costs nothing and
       * keeps a key from naming a file outside the container's cgroup. */
      if (strchr (key, '/') || strcmp (key, ".") == 0 || strcmp (key, "..") == 0)
        return olrun_invalid (err, "linux.resources.unified: key `%s` is outside the container's cgroup", key);
      if (olrun_write_file_at (dirfd, key, r->unified[i].value, strlen (r->unified[i].value), err) < 0)
        {
          int e = (*err)->errnum;
          olrun_error_release (err);
          if (e == ENOENT)
            return olrun_invalid (err, "linux.resources.unified: unknown key `%s` (no such file in the container's "
                                       "cgroup, or its controller is not enabled)", key);
          return olrun_fail (err, e, "linux.resources.unified: write `%s` to `%s`", r->unified[i].value, key);
        }
    }
  return 0;
}

int
olrun_cgroup_apply_resources (int dirfd, const struct olrun_resources *r, bool update, olrun_error_t *err)
{
  if (r == NULL)
    return 0;
  /* A controller the config asks for must be available to the cgroup;
   * the message names the controller and the setting. */
  const char *why[OLRUN_CTRL_COUNT] = { 0 };
  unsigned need = olrun_resources_controllers (r, why);
  unsigned avail = 0;
  if (need && olrun_controllers_read (dirfd, "cgroup.controllers", &avail, err) < 0)
    return -1;
  for (int c = 0; c < OLRUN_CTRL_COUNT; c++)
    if ((need & (1u << c)) && !(avail & (1u << c)))
      return olrun_error_set (err, OLRUN_E_UNSUPPORTED, 0,
                              "cgroup controller `%s` is not available (needed by linux.resources.%s)",
                              olrun_controller_name (c), why[c]);
  if (apply_cpu (dirfd, r, err) < 0 || apply_memory (dirfd, r, update, err) < 0 || apply_io (dirfd, r, err) < 0
      || apply_misc (dirfd, r, err) < 0 || apply_unified (dirfd, r, err) < 0)
    return olrun_error_wrap (err, "apply linux.resources");
  return 0;
}

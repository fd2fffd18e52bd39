/* The manager layer: path forms (cgroupfs and systemd), controller
 * enabling, freeze, stats and pids on fake cgroup directories, the
 * disabled manager, and the systemd manager's error where no systemd runs. */
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include "test_cgroup_fake.h"

#include "cgroup/internal.h"

static void
expect_err (int rc, olrun_error_t *err, const char *needle)
{
  assert_int_equal (rc, -1);
  assert_non_null (*err);
  if (strstr ((*err)->msg, needle) == NULL)
    fail_msg ("error `%s` lacks `%s`", (*err)->msg, needle);
  olrun_error_release (err);
}

static void
test_resolve_path (void **state)
{
  olrun_error_t err = NULL;
  char *p = NULL;
  assert_int_equal (olrun_cgroup_resolve_path ("/machine/ctr", "id", &p, &err), 0);
  assert_string_equal (p, "/machine/ctr");
  free (p);
  expect_err (olrun_cgroup_resolve_path ("/a/../../etc", "id", &p, &err), &err, "`..` is not allowed");
  expect_err (olrun_cgroup_resolve_path ("..", "id", &p, &err), &err, "`..` is not allowed");
  /* "a..b" is a name, not a parent reference. */
  assert_int_equal (olrun_cgroup_resolve_path ("/a..b", "id", &p, &err), 0);
  free (p);
  char *own = NULL;
  assert_int_equal (olrun_cgroup_own_path (&own, &err), 0);
  const char *sep = strcmp (own, "/") == 0 ? "" : "/";
  char *want = xasprintf ("%s%solrun/myid", own, sep);
  assert_int_equal (olrun_cgroup_resolve_path (NULL, "myid", &p, &err), 0);
  assert_string_equal (p, want);
  free (p);
  free (want);
  want = xasprintf ("%s%srel/x", own, sep);
  assert_int_equal (olrun_cgroup_resolve_path ("rel/x", "myid", &p, &err), 0);
  assert_string_equal (p, want);
  free (p);
  free (want);
  free (own);
}

static void
test_systemd_paths (void **state)
{
  olrun_error_t err = NULL;
  char *slice = NULL, *unit = NULL, *x = NULL;
  assert_int_equal (olrun_cgroup_systemd_parse_path ("system.slice:olrun:abc", "abc", false, &slice, &unit, &err), 0);
  assert_string_equal (slice, "system.slice");
  assert_string_equal (unit, "olrun-abc.scope");
  free (slice), free (unit);
  assert_int_equal (olrun_cgroup_systemd_parse_path (":libpod:c1", "c1", false, &slice, &unit, &err), 0);
  assert_string_equal (slice, "system.slice");
  assert_string_equal (unit, "libpod-c1.scope");
  free (slice), free (unit);
  assert_int_equal (olrun_cgroup_systemd_parse_path ("machine-pod.slice::c1", "c1", true, &slice, &unit, &err), 0);
  assert_string_equal (slice, "machine-pod.slice");
  assert_string_equal (unit, "c1.scope");
  free (slice), free (unit);
  assert_int_equal (olrun_cgroup_systemd_parse_path (NULL, "id9", true, &slice, &unit, &err), 0);
  assert_string_equal (slice, "user.slice");
  assert_string_equal (unit, "olrun-id9.scope");
  free (slice), free (unit);
  expect_err (olrun_cgroup_systemd_parse_path ("/sys/fs/cgroup/x", "i", false, &slice, &unit, &err), &err,
              "expects `slice:prefix:name`");
  expect_err (olrun_cgroup_systemd_parse_path ("a:b:c:d", "i", false, &slice, &unit, &err), &err, "slice:prefix:name");
  expect_err (olrun_cgroup_systemd_parse_path ("system.slice:p:", "i", false, &slice, &unit, &err), &err,
              "empty unit name");
  expect_err (olrun_cgroup_systemd_parse_path ("system.slice:p:../x", "i", false, &slice, &unit, &err), &err,
              "`/` in the unit name");
  expect_err (olrun_cgroup_systemd_parse_path ("bad:p:n", "i", false, &slice, &unit, &err), &err,
              "invalid systemd slice `bad`");
  expect_err (olrun_cgroup_systemd_parse_path ("system.slice:p:n.slice", "i", false, &slice, &unit, &err), &err,
              "not supported");
  assert_int_equal (olrun_cgroup_systemd_expand_slice ("a-b-c.slice", &x, &err), 0);
  assert_string_equal (x, "/a.slice/a-b.slice/a-b-c.slice");
  free (x);
  assert_int_equal (olrun_cgroup_systemd_expand_slice ("-.slice", &x, &err), 0);
  assert_string_equal (x, "");
  free (x);
  expect_err (olrun_cgroup_systemd_expand_slice ("a--b.slice", &x, &err), &err, "invalid");
  expect_err (olrun_cgroup_systemd_expand_slice ("-a.slice", &x, &err), &err, "invalid");
  expect_err (olrun_cgroup_systemd_expand_slice ("a.scope", &x, &err), &err, "expected NAME.slice");
}

/* Where no systemd runs (this host, the VM), the systemd manager says so
 * instead of failing somewhere inside D-Bus. */
static void
test_systemd_absent (void **state)
{
  if (access ("/run/systemd/system", F_OK) == 0)
    skip ();
  struct olrun_cgroup_config c = { .id = "t", .manager = OLRUN_CGROUP_SYSTEMD };
  struct olrun_cgroup *cg = NULL;
  olrun_error_t err = NULL;
  assert_int_equal (olrun_cgroup_create (&c, &cg, &err), -1);
  assert_int_equal (err->kind, OLRUN_E_UNSUPPORTED);
  assert_non_null (strstr (err->msg, "needs a running systemd"));
  assert_non_null (strstr (err->msg, "--cgroup-manager cgroupfs"));
  assert_null (cg);
  olrun_error_release (&err);
  /* A bad path is reported before systemd's absence. */
  c.cgroups_path = "no-colons";
  assert_int_equal (olrun_cgroup_create (&c, &cg, &err), -1);
  assert_non_null (strstr (err->msg, "slice:prefix:name"));
  olrun_error_release (&err);
}

static void
test_disabled (void **state)
{
  olrun_error_t err = NULL;
  struct olrun_cgroup *cg = NULL;
  struct olrun_cgroup_config c = { .id = "t", .manager = OLRUN_CGROUP_DISABLED };
  assert_int_equal (olrun_cgroup_create (&c, &cg, &err), 0);
  assert_int_equal (cg->dirfd, -1);
  assert_string_equal (olrun_cgroup_manager_name (cg->manager), "disabled");
  expect_err (olrun_cgroup_freeze (cg, true, &err), &err, "no cgroup");
  expect_err (olrun_cgroup_kill (cg, SIGKILL, &err), &err, "no cgroup");
  assert_int_equal (olrun_cgroup_destroy (cg, &err), 0);
  olrun_cgroup_free (cg);
  struct olrun_resources *r = NULL;
  assert_int_equal (parse_res ("{\"memory\": {\"limit\": 1048576}}", &r, &err), 0);
  c.resources = r;
  expect_err (olrun_cgroup_create (&c, &cg, &err), &err, "linux.resources.memory.limit needs a cgroup");
  olrun_resources_free (r);
  assert_int_equal (olrun_cgroup_manager_from_name ("systemd"), OLRUN_CGROUP_SYSTEMD);
  assert_int_equal (olrun_cgroup_manager_from_name ("nope"), -1);
}

/* A fake tree root/a/<leaf>: every controller root offers gets enabled
 * on the way down; one the config needs but root lacks is an error naming
 * it. */
static void
test_enable_controllers (void **state)
{
  struct fake f;
  fake_open (&f);
  fake_put (f.fd, "cgroup.controllers", "cpu io memory pids\n");
  fake_put (f.fd, "cgroup.subtree_control", "cpu\n");
  assert_int_equal (mkdirat (f.fd, "a", 0755), 0);
  int a = openat (f.fd, "a", O_RDONLY | O_DIRECTORY);
  fake_put (a, "cgroup.controllers", "cpu io memory pids\n");
  fake_put (a, "cgroup.subtree_control", "");
  olrun_error_t err = NULL;
  const char *why[OLRUN_CTRL_COUNT] = { [OLRUN_CTRL_MEMORY] = "memory.limit" };
  assert_int_equal (olrun_controllers_enable (f.fd, "a/leaf", 1u << OLRUN_CTRL_MEMORY, why, &err), 0);
  assert_file (f.fd, "cgroup.subtree_control", "+io +memory +pids"); /* cpu was on already */
  assert_file (a, "cgroup.subtree_control", "+cpu +io +memory +pids");
  why[OLRUN_CTRL_HUGETLB] = "hugepageLimits";
  expect_err (olrun_controllers_enable (f.fd, "a/leaf", 1u << OLRUN_CTRL_HUGETLB, why, &err), &err,
              "controller `hugetlb` is not available in `/`");
  /* The parse of a controllers line skips what it does not know. */
  assert_int_equal (olrun_controllers_parse ("cpu  bogus\nmemory"), (1u << OLRUN_CTRL_CPU) | (1u << OLRUN_CTRL_MEMORY));
  close (a);
  fake_close (&f);
}

static void
test_freeze_fake (void **state)
{
  struct fake f;
  fake_open (&f);
  fake_put (f.fd, "cgroup.freeze", "0\n");
  fake_put (f.fd, "cgroup.events", "populated 1\nfrozen 1\n");
  olrun_error_t err = NULL;
  assert_int_equal (olrun_cgroupfs_freeze_at (f.fd, true, &err), 0);
  assert_file (f.fd, "cgroup.freeze", "1");
  char v;
  assert_int_equal (olrun_cgroup_read_event (f.fd, "populated", &v, &err), 0);
  assert_int_equal (v, '1');
  unlinkat (f.fd, "cgroup.freeze", 0);
  expect_err (olrun_cgroupfs_freeze_at (f.fd, true, &err), &err, "no cgroup.freeze");
  fake_close (&f);
}

static void
test_stats_fake (void **state)
{
  struct fake f;
  fake_open (&f);
  fake_put (f.fd, "cpu.stat", "usage_usec 2500\nuser_usec 2000\nsystem_usec 500\nnr_periods 10\n"
                              "nr_throttled 4\nthrottled_usec 700\n");
  fake_put (f.fd, "memory.current", "4096\n");
  fake_put (f.fd, "memory.max", "max\n");
  fake_put (f.fd, "memory.peak", "8192\n");
  fake_put (f.fd, "memory.swap.current", "0\n");
  fake_put (f.fd, "memory.swap.max", "0\n");
  fake_put (f.fd, "memory.events", "low 0\nhigh 0\nmax 3\noom 2\noom_kill 1\n");
  fake_put (f.fd, "memory.stat", "anon 4096\nfile 0\n");
  fake_put (f.fd, "pids.current", "3\n");
  fake_put (f.fd, "pids.max", "max\n");
  fake_put (f.fd, "io.stat", "254:0 rbytes=1 wbytes=4096 rios=1 wios=2 dbytes=0 dios=0\n");
  fake_put (f.fd, "hugetlb.2MB.current", "0\n");
  fake_put (f.fd, "hugetlb.2MB.max", "4194304\n");
  fake_put (f.fd, "hugetlb.2MB.rsvd.current", "0\n");
  fake_put (f.fd, "hugetlb.2MB.events", "max 5\n");
  struct olrun_cgroup_stats s;
  olrun_error_t err = NULL;
  assert_int_equal (olrun_cgroup_stats_at (f.fd, &s, &err), 0);
  assert_true (s.has_cpu && s.has_memory && s.has_pids);
  assert_int_equal (s.cpu_usage_ns, 2500000);
  assert_int_equal (s.cpu_throttled_periods, 4);
  assert_int_equal (s.cpu_throttled_ns, 700000);
  assert_int_equal (s.mem_usage, 4096);
  assert_true (s.mem_limit == UINT64_MAX);
  assert_int_equal (s.mem_max_usage, 8192);
  assert_true (s.swap_limit == UINT64_MAX);
  assert_int_equal (s.oom_kill, 1);
  assert_int_equal (s.oom, 2);
  assert_int_equal (s.n_mem_raw, 2);
  assert_string_equal (s.mem_raw[0].key, "anon");
  assert_int_equal (s.pids_current, 3);
  assert_int_equal (s.pids_limit, 0); /* "max" reads as 0, as runc reports it */
  assert_int_equal (s.n_io, 1);
  assert_int_equal (s.io[0].major, 254);
  assert_int_equal (s.io[0].wbytes, 4096);
  assert_int_equal (s.io[0].wios, 2);
  assert_int_equal (s.n_hugetlb, 1);
  assert_string_equal (s.hugetlb[0].pagesize, "2MB");
  assert_int_equal (s.hugetlb[0].max, 4194304);
  assert_int_equal (s.hugetlb[0].failcnt, 5);
  olrun_cgroup_stats_clear (&s);
  /* A bare cgroup (no controllers) is not an error. */
  struct fake g;
  fake_open (&g);
  assert_int_equal (olrun_cgroup_stats_at (g.fd, &s, &err), 0);
  assert_false (s.has_cpu || s.has_memory || s.has_pids);
  olrun_cgroup_stats_clear (&s);
  fake_close (&g);
  fake_close (&f);
}

static void
test_pids_fake (void **state)
{
  struct fake f;
  fake_open (&f);
  fake_put (f.fd, "cgroup.procs", "30\n10\n");
  assert_int_equal (mkdirat (f.fd, "nested", 0755), 0);
  int n = openat (f.fd, "nested", O_RDONLY | O_DIRECTORY);
  fake_put (n, "cgroup.procs", "20\n");
  close (n);
  pid_t *pids = NULL;
  size_t len = 0;
  olrun_error_t err = NULL;
  assert_int_equal (olrun_cgroup_pids_at (f.fd, &pids, &len, &err), 0);
  assert_int_equal (len, 3);
  assert_int_equal (pids[0], 10);
  assert_int_equal (pids[1], 20);
  assert_int_equal (pids[2], 30);
  free (pids);
  fake_close (&f);
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (test_resolve_path),   cmocka_unit_test (test_systemd_paths),
    cmocka_unit_test (test_systemd_absent), cmocka_unit_test (test_disabled),
    cmocka_unit_test (test_enable_controllers), cmocka_unit_test (test_freeze_fake),
    cmocka_unit_test (test_stats_fake),     cmocka_unit_test (test_pids_fake),
  };
  return cmocka_run_group_tests (tests, NULL, NULL);
}

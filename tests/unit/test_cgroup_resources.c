/* linux.resources: parsing (runtime/spec_resources.c), the runc/crun
 * conversions, and writing the v2 files (cgroup/resources.c) into a fake
 * cgroup directory. */
#include "test_cgroup_fake.h"

#include "cgroup/internal.h"

static void
test_shares_to_weight (void **state)
{
  /* crun's quadratic: the v1 default 1024 lands on the v2 default 100. */
  static const struct
  {
    uint64_t shares, weight;
  } t[] = { { 0, 0 }, { 1, 1 }, { 2, 1 }, { 3, 2 }, { 10, 4 }, { 100, 17 }, { 512, 59 }, { 1024, 100 },
            { 2048, 174 }, { 4096, 303 }, { 262143, 10000 }, { 262144, 10000 }, { 1000000, 10000 } };
  for (size_t i = 0; i < ARRAY_SIZE (t); i++)
    if (olrun_cgroup_shares_to_weight (t[i].shares) != t[i].weight)
      fail_msg ("shares %lu: weight %lu, want %lu", (unsigned long) t[i].shares,
                (unsigned long) olrun_cgroup_shares_to_weight (t[i].shares), (unsigned long) t[i].weight);
}

static void
test_blkio_weight (void **state)
{
  assert_int_equal (olrun_cgroup_blkio_to_io_weight (10), 1);
  assert_int_equal (olrun_cgroup_blkio_to_io_weight (500), 4950);
  assert_int_equal (olrun_cgroup_blkio_to_io_weight (1000), 10000);
}

static void
test_swap_conversion (void **state)
{
  olrun_error_t err = NULL;
  int64_t v;
  assert_int_equal (olrun_cgroup_swap_max (0, 100, &v, &err), 0);
  assert_int_equal (v, -2); /* unset */
  assert_int_equal (olrun_cgroup_swap_max (-1, 100, &v, &err), 0);
  assert_int_equal (v, -1); /* max */
  assert_int_equal (olrun_cgroup_swap_max (0, -1, &v, &err), 0);
  assert_int_equal (v, -1); /* unlimited memory: unlimited swap */
  assert_int_equal (olrun_cgroup_swap_max (300, 100, &v, &err), 0);
  assert_int_equal (v, 200); /* memory+swap 300 = swap 200 */
  assert_int_equal (olrun_cgroup_swap_max (50, 100, &v, &err), -1);
  assert_non_null (strstr (err->msg, ">= memory.limit"));
  olrun_error_release (&err);
  assert_int_equal (olrun_cgroup_swap_max (100, 0, &v, &err), -1);
  olrun_error_release (&err);
}

static void
test_parse_errors (void **state)
{
  expect_parse_error ("{\"memory\": {\"limit\": -5}}", "linux.resources.memory.limit: a negative limit", "(byte 21)");
  expect_parse_error ("{\"memory\": {\"limit\": 99999999999999999999}}", "linux.resources.memory.limit", NULL);
  expect_parse_error ("{\"memory\": {\"disableOOMKiller\": true}}", "memory.disableOOMKiller", "cgroup v2");
  expect_parse_error ("{\"memory\": {\"swappiness\": 10}}", "memory.swappiness", NULL);
  expect_parse_error ("{\"memory\": {\"kernel\": 1000}}", "memory.kernel", NULL);
  expect_parse_error ("{\"memory\": {\"limit\": 100, \"swap\": 50}}", "memory.swap", ">= memory.limit");
  expect_parse_error ("{\"cpu\": {\"realtimeRuntime\": 950000}}", "cpu.realtimeRuntime", "realtime");
  expect_parse_error ("{\"memory\": 5}", "linux.resources.memory: expected an object", "(byte 11)");
}

static void
test_parse_absurd (void **state)
{
  expect_parse_error ("{\"cpu\": {\"period\": 10000000000}}", "cpu.period", "out of range");
  expect_parse_error ("{\"cpu\": {\"quota\": 10}}", "cpu.quota", "1000");
  expect_parse_error ("{\"cpu\": {\"shares\": 1}}", "cpu.shares", "2..262144");
  expect_parse_error ("{\"cpu\": {\"idle\": 5}}", "cpu.idle", NULL);
  expect_parse_error ("{\"cpu\": {\"cpus\": \"0-3;rm\"}}", "cpu.cpus", NULL);
  expect_parse_error ("{\"cpu\": {\"burst\": 5000}}", "cpu.burst", "quota");
  expect_parse_error ("{\"blockIO\": {\"weight\": 5000}}", "blockIO.weight", "10..1000");
  expect_parse_error ("{\"blockIO\": {\"leafWeight\": 300}}", "blockIO.leafWeight", NULL);
  expect_parse_error ("{\"blockIO\": {\"throttleReadBpsDevice\": [{\"major\": 8}]}}",
                      "blockIO.throttleReadBpsDevice[0]", "major and minor");
  expect_parse_error ("{\"hugepageLimits\": [{\"pageSize\": \"2MB/../x\", \"limit\": 1}]}",
                      "hugepageLimits[0].pageSize", "invalid page size");
  expect_parse_error ("{\"network\": {\"classID\": 1}}", "network.classID", "cgroup v1");
  expect_parse_error ("{\"pids\": {\"limit\": \"ten\"}}", "pids.limit", "expected");
}

static void
test_parse_unified_keys (void **state)
{
  expect_parse_error ("{\"unified\": {\"../../memory.max\": \"1\"}}", "unified.../../memory.max",
                      "outside the container's cgroup");
  expect_parse_error ("{\"unified\": {\"cgroup.procs\": \"1\"}}", "unified.cgroup.procs", "managed by the runtime");
  expect_parse_error ("{\"unified\": {\"bogus\": \"1\"}}", "unified.bogus", "unknown key");
  expect_parse_error ("{\"unified\": {\"memory.high\": 1}}", "unified.memory.high", "expected a string");
}

static void
test_parse_device_rules (void **state)
{
  expect_parse_error ("{\"devices\": [{\"allow\": true, \"type\": \"x\"}]}", "devices[0].type", "bad device type");
  expect_parse_error ("{\"devices\": [{\"allow\": true, \"access\": \"rwx\"}]}", "devices[0].access", NULL);
  expect_parse_error ("{\"devices\": [{\"type\": \"c\"}]}", "devices[0].allow", "missing");
  olrun_error_t err = NULL;
  struct olrun_resources *r = NULL;
  assert_int_equal (parse_res ("{\"devices\": [{\"allow\": false, \"access\": \"rwm\"},"
                               " {\"allow\": true, \"type\": \"c\", \"major\": 10, \"minor\": 229, \"access\": \"rw\"}]}",
                               &r, &err),
                    0);
  assert_true (r->has_devices);
  assert_int_equal (r->n_devices, 2);
  assert_int_equal (r->devices[0].type, 'a');
  assert_int_equal (r->devices[0].major, -1);
  assert_false (r->devices[0].allow);
  assert_int_equal (r->devices[1].access, OLRUN_DEV_ACC_READ | OLRUN_DEV_ACC_WRITE);
  assert_int_equal (r->devices[1].minor, 229);
  olrun_resources_free (r);
}

static void
fake_v2 (struct fake *f)
{
  fake_open (f);
  fake_put (f->fd, "cgroup.controllers", "cpuset cpu io memory hugetlb pids rdma misc\n");
  static const char *const files[] = { "memory.max", "memory.low", "memory.swap.max", "cpu.weight", "cpu.max",
                                       "cpu.max.burst", "cpu.idle", "cpuset.cpus", "cpuset.mems", "pids.max",
                                       "io.weight", "io.max", "hugetlb.2MB.max", "rdma.max", "memory.high" };
  for (size_t i = 0; i < ARRAY_SIZE (files); i++)
    fake_put (f->fd, files[i], "untouched");
  fake_put (f->fd, "memory.current", "1000000\n");
}

static struct olrun_resources *
must_parse (const char *json)
{
  olrun_error_t err = NULL;
  struct olrun_resources *r = NULL;
  if (parse_res (json, &r, &err) < 0)
    fail_msg ("%s", err->msg);
  return r;
}

static void
test_apply_all (void **state)
{
  struct fake f;
  fake_v2 (&f);
  _cleanup_resources_ struct olrun_resources *r = must_parse (
    "{\"memory\": {\"limit\": 67108864, \"reservation\": 1048576, \"swap\": 100663296},"
    " \"cpu\": {\"shares\": 2048, \"quota\": 50000, \"period\": 100000, \"burst\": 10000, \"idle\": 1,"
    "          \"cpus\": \"0-1\", \"mems\": \"0\"},"
    " \"pids\": {\"limit\": 42},"
    " \"blockIO\": {\"weight\": 500, \"throttleWriteBpsDevice\": [{\"major\": 254, \"minor\": 0, \"rate\": 1048576}]},"
    " \"hugepageLimits\": [{\"pageSize\": \"2MB\", \"limit\": 4194304}],"
    " \"rdma\": {\"mlx5_1\": {\"hcaHandles\": 3}},"
    " \"unified\": {\"memory.high\": \"50000000\"}}");
  olrun_error_t err = NULL;
  if (olrun_cgroup_apply_resources (f.fd, r, false, &err) < 0)
    fail_msg ("%s", err->msg);
  assert_file (f.fd, "memory.max", "67108864");
  assert_file (f.fd, "memory.low", "1048576");
  assert_file (f.fd, "memory.swap.max", "33554432");
  assert_file (f.fd, "cpu.weight", "174");
  assert_file (f.fd, "cpu.max", "50000 100000");
  assert_file (f.fd, "cpu.max.burst", "10000");
  assert_file (f.fd, "cpu.idle", "1");
  assert_file (f.fd, "cpuset.cpus", "0-1");
  assert_file (f.fd, "cpuset.mems", "0");
  assert_file (f.fd, "pids.max", "42");
  assert_file (f.fd, "io.weight", "4950"); /* no io.bfq.weight: converted */
  assert_file (f.fd, "io.max", "254:0 wbps=1048576");
  assert_file (f.fd, "hugetlb.2MB.max", "4194304");
  assert_file (f.fd, "rdma.max", "mlx5_1 hca_handle=3 hca_object=max");
  assert_file (f.fd, "memory.high", "50000000");
  fake_close (&f);
}

static void
test_apply_bfq_and_max (void **state)
{
  struct fake f;
  fake_v2 (&f);
  fake_put (f.fd, "io.bfq.weight", "default 100\n");
  _cleanup_resources_ struct olrun_resources *r
    = must_parse ("{\"memory\": {\"limit\": -1}, \"cpu\": {\"period\": 50000}, \"pids\": {\"limit\": 0},"
                  " \"blockIO\": {\"weight\": 300}}");
  olrun_error_t err = NULL;
  assert_int_equal (olrun_cgroup_apply_resources (f.fd, r, false, &err), 0);
  assert_file (f.fd, "memory.max", "max");
  assert_file (f.fd, "memory.swap.max", "max"); /* unlimited memory, unset swap: unlimited */
  assert_file (f.fd, "cpu.max", "max 50000");
  assert_file (f.fd, "pids.max", "max");
  assert_file (f.fd, "io.bfq.weight", "300"); /* BFQ takes blkio's scale as is */
  assert_file (f.fd, "io.weight", "untouched");
  assert_file (f.fd, "memory.low", "untouched"); /* unset stays unset */
  fake_close (&f);
}

/* A controller the host lacks: ignored when not asked for, a clear error
 * naming it (and the setting) when asked for. */
static void
test_missing_controller (void **state)
{
  struct fake f;
  fake_open (&f);
  fake_put (f.fd, "cgroup.controllers", "cpu memory\n");
  fake_put (f.fd, "memory.max", "max\n");
  _cleanup_resources_ struct olrun_resources *unlimited = must_parse ("{\"pids\": {\"limit\": -1}}");
  olrun_error_t err = NULL;
  assert_int_equal (olrun_cgroup_apply_resources (f.fd, unlimited, false, &err), 0);
  _cleanup_resources_ struct olrun_resources *r = must_parse ("{\"pids\": {\"limit\": 10}}");
  assert_int_equal (olrun_cgroup_apply_resources (f.fd, r, false, &err), -1);
  assert_int_equal (err->kind, OLRUN_E_UNSUPPORTED);
  assert_non_null (strstr (err->msg, "controller `pids` is not available"));
  assert_non_null (strstr (err->msg, "linux.resources.pids.limit"));
  olrun_error_release (&err);
  _cleanup_resources_ struct olrun_resources *h
    = must_parse ("{\"hugepageLimits\": [{\"pageSize\": \"1GB\", \"limit\": 0}]}");
  assert_int_equal (olrun_cgroup_apply_resources (f.fd, h, false, &err), -1);
  assert_non_null (strstr (err->msg, "`hugetlb`"));
  olrun_error_release (&err);
  fake_close (&f);
}

static void
test_unified_unknown_file (void **state)
{
  struct fake f;
  fake_v2 (&f);
  _cleanup_resources_ struct olrun_resources *r = must_parse ("{\"unified\": {\"memory.bogus\": \"1\"}}");
  olrun_error_t err = NULL;
  assert_int_equal (olrun_cgroup_apply_resources (f.fd, r, false, &err), -1);
  assert_non_null (strstr (err->msg, "unknown key `memory.bogus`"));
  olrun_error_release (&err);
  fake_close (&f);
}

static void
test_check_before_update (void **state)
{
  struct fake f;
  fake_v2 (&f);
  _cleanup_resources_ struct olrun_resources *r
    = must_parse ("{\"memory\": {\"limit\": 500000, \"checkBeforeUpdate\": true}}");
  olrun_error_t err = NULL;
  /* memory.current is 1000000: the update is refused, nothing written. */
  assert_int_equal (olrun_cgroup_apply_resources (f.fd, r, true, &err), -1);
  assert_non_null (strstr (err->msg, "below the current usage 1000000"));
  olrun_error_release (&err);
  assert_file (f.fd, "memory.max", "untouched");
  /* At create the check does not apply; without the flag neither. */
  assert_int_equal (olrun_cgroup_apply_resources (f.fd, r, false, &err), 0);
  assert_file (f.fd, "memory.max", "500000");
  fake_close (&f);
}

static void
test_update_swap_uses_live_limit (void **state)
{
  struct fake f;
  fake_v2 (&f);
  fake_put (f.fd, "memory.max", "1000000\n");
  _cleanup_resources_ struct olrun_resources *r = must_parse ("{\"memory\": {\"swap\": 3000000}}");
  olrun_error_t err = NULL;
  if (olrun_cgroup_apply_resources (f.fd, r, true, &err) < 0)
    fail_msg ("%s", err->msg);
  assert_file (f.fd, "memory.swap.max", "2000000");
  fake_close (&f);
}

static void
test_merge (void **state)
{
  _cleanup_resources_ struct olrun_resources *a
    = must_parse ("{\"memory\": {\"limit\": 100}, \"cpu\": {\"cpus\": \"0\"}, \"pids\": {\"limit\": 5}}");
  _cleanup_resources_ struct olrun_resources *b
    = must_parse ("{\"memory\": {\"limit\": 200}, \"cpu\": {\"cpus\": \"1\"}, \"unified\": {\"memory.high\": \"9\"}}");
  olrun_resources_merge (a, b);
  assert_int_equal (a->memory.limit, 200);
  assert_string_equal (a->cpu.cpus, "1");
  assert_int_equal (a->pids.limit, 5);
  assert_int_equal (a->n_unified, 1);
  assert_string_equal (a->unified[0].value, "9");
  const char *what = NULL;
  assert_true (olrun_resources_any (a, &what));
  _cleanup_resources_ struct olrun_resources *none = must_parse ("{\"memory\": {\"limit\": -1}}");
  assert_false (olrun_resources_any (none, &what));
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (test_shares_to_weight),    cmocka_unit_test (test_blkio_weight),
    cmocka_unit_test (test_swap_conversion),     cmocka_unit_test (test_parse_errors),
    cmocka_unit_test (test_parse_absurd),        cmocka_unit_test (test_parse_unified_keys),
    cmocka_unit_test (test_parse_device_rules),  cmocka_unit_test (test_apply_all),
    cmocka_unit_test (test_apply_bfq_and_max),   cmocka_unit_test (test_missing_controller),
    cmocka_unit_test (test_unified_unknown_file), cmocka_unit_test (test_check_before_update),
    cmocka_unit_test (test_update_swap_uses_live_limit), cmocka_unit_test (test_merge),
  };
  return cmocka_run_group_tests (tests, NULL, NULL);
}

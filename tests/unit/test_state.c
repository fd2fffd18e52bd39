/* runtime/state.c: the state store on a temp --root. */
#include <fcntl.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "olrun/runtime.h"
#include "olrun/util.h"
#include "runtime/internal.h"

static char root[64];

static int
setup (void **state)
{
  strcpy (root, "/tmp/olrun-state-XXXXXX");
  return mkdtemp (root) ? 0 : -1;
}

static int
teardown (void **state)
{
  olrun_error_t err = NULL;
  int dir = open ("/tmp", O_RDONLY | O_DIRECTORY);
  olrun_rm_rf_at (dir, root + 5, &err);
  olrun_error_release (&err);
  close (dir);
  return 0;
}

static void
test_round_trip_and_duplicates (void **state)
{
  olrun_error_t err = NULL;
  int dirfd = -1;
  assert_int_equal (olrun_state_dir_create (root, "c1", &dirfd, &err), 0);
  struct olrun_state s = { .id = "c1", .bundle = "/b", .created = "2026-01-01T00:00:00Z", .pid = 42,
                           .start_time = 12345678901ULL, .recorded_status = "created",
                           .cgroup_manager = "cgroupfs", .cgroup_path = "/olrun/c1", .annotations = "{\"a\":\"b\"}",
                           .own_pidns = true };
  assert_int_equal (olrun_state_write (dirfd, &s, &err), 0);
  struct olrun_state *r = NULL;
  assert_int_equal (olrun_state_read (dirfd, "c1", &r, &err), 0);
  assert_string_equal (r->bundle, "/b");
  assert_int_equal (r->pid, 42);
  assert_true (r->start_time == 12345678901ULL);
  assert_string_equal (r->annotations, "{\"a\":\"b\"}");
  assert_true (r->own_pidns);
  olrun_state_free (r);
  /* No temp file is left behind by the atomic write. */
  assert_int_equal (faccessat (dirfd, ".state.json.tmp", F_OK, 0), -1);
  int second = -1;
  assert_int_equal (olrun_state_dir_create (root, "c1", &second, &err), -1);
  assert_int_equal (err->kind, OLRUN_E_EXISTS);
  olrun_error_release (&err);
  close (dirfd);
  struct olrun_context ctx = { .root = root };
  assert_int_equal (olrun_container_load (&ctx, "nope", &r, &err), -1);
  assert_int_equal (err->kind, OLRUN_E_NOT_EXIST);
  assert_non_null (strstr (err->msg, "does not exist"));
  olrun_error_release (&err);
}

static void
test_long_ids (void **state)
{
  char a[1025], b[1025];
  memset (a, 'x', 1024);
  a[1024] = '\0';
  memcpy (b, a, sizeof a);
  b[1000] = 'y';
  _cleanup_free_ char *na = olrun_state_dirname (a);
  _cleanup_free_ char *nb = olrun_state_dirname (b);
  assert_true (strlen (na) < 255);
  assert_string_not_equal (na, nb);
  assert_non_null (strchr (na, '~'));
  _cleanup_free_ char *s = olrun_state_dirname ("short");
  assert_string_equal (s, "short");
  olrun_error_t err = NULL;
  int dirfd = -1;
  assert_int_equal (olrun_state_dir_create (root, a, &dirfd, &err), 0);
  struct olrun_state st = { .id = a, .recorded_status = "created" };
  assert_int_equal (olrun_state_write (dirfd, &st, &err), 0);
  close (dirfd);
  struct olrun_context ctx = { .root = root };
  char **ids = NULL;
  assert_int_equal (olrun_container_list (&ctx, &ids, &err), 0);
  assert_string_equal (ids[0], a);
  strv_free (ids);
  struct olrun_state *r = NULL;
  assert_int_equal (olrun_container_load (&ctx, b, &r, &err), -1);
  olrun_error_release (&err);
}

static void
test_killed_create_reads_as_creating (void **state)
{
  olrun_error_t err = NULL;
  int dirfd = -1;
  assert_int_equal (olrun_state_dir_create (root, "early", &dirfd, &err), 0);
  struct olrun_state *r = NULL;
  assert_int_equal (olrun_state_read (dirfd, "early", &r, &err), 0);
  assert_string_equal (r->recorded_status, "creating");
  enum olrun_status st;
  assert_int_equal (olrun_container_status (r, &st, &err), 0);
  assert_int_equal (st, OLRUN_STATUS_CREATING);
  olrun_state_free (r);
  close (dirfd);
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test_setup_teardown (test_round_trip_and_duplicates, setup, teardown),
    cmocka_unit_test_setup_teardown (test_long_ids, setup, teardown),
    cmocka_unit_test_setup_teardown (test_killed_create_reads_as_creating, setup, teardown),
  };
  return cmocka_run_group_tests (tests, NULL, NULL);
}

/* mount/resolve.c: destinations are resolved and created inside the
 * rootfs, whatever symlinks the image planted (CVE-2021-30465,
 * CVE-2024-45310).  Runs without root on a temp dir. */
#include <fcntl.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include <cmocka.h>

#include "mount/internal.h"
#include "olrun/util.h"

struct fixture
{
  char base[64];    /* holds rootfs/ and outside/ */
  int rootfd;
};

static int
setup (void **state)
{
  struct fixture *f = xzalloc (sizeof *f);
  strcpy (f->base, "/tmp/olrun-resolve-XXXXXX");
  if (mkdtemp (f->base) == NULL)
    return -1;
  char path[PATH_MAX];
  snprintf (path, sizeof path, "%s/rootfs", f->base);
  mkdir (path, 0755);
  snprintf (path, sizeof path, "%s/outside", f->base);
  mkdir (path, 0755);
  snprintf (path, sizeof path, "%s/rootfs", f->base);
  f->rootfd = open (path, O_PATH | O_DIRECTORY);
  /* Hostile links: absolute, climbing, and into a climbing link. */
  snprintf (path, sizeof path, "%s/outside", f->base);
  if (symlinkat (path, f->rootfd, "abs") < 0 || symlinkat ("../../../../../../outside", f->rootfd, "up") < 0
      || symlinkat ("/up/sub", f->rootfd, "chain") < 0)
    return -1;
  *state = f;
  return 0;
}

static int
teardown (void **state)
{
  struct fixture *f = *state;
  olrun_error_t err = NULL;
  close (f->rootfd);
  int dir = open ("/tmp", O_RDONLY | O_DIRECTORY);
  olrun_rm_rf_at (dir, f->base + 5, &err);
  olrun_error_release (&err);
  close (dir);
  free (f);
  return 0;
}

static bool
outside_is_empty (struct fixture *f)
{
  char path[PATH_MAX];
  snprintf (path, sizeof path, "%s/outside", f->base);
  DIR *d = opendir (path);
  struct dirent *de;
  int n = 0;
  while ((de = readdir (d)) != NULL)
    n += de->d_name[0] != '.';
  closedir (d);
  return n == 0;
}

static void
create_stays_inside (void **state, const char *dest, bool file)
{
  struct fixture *f = *state;
  olrun_error_t err = NULL;
  int fd = -1;
  if (olrun_mount_create_in_root (f->rootfd, dest, file, &fd, &err) < 0)
    fail_msg ("%s: %s", dest, err->msg);
  close (fd);
  assert_true (outside_is_empty (f));
}

static void
test_absolute_symlink (void **state)
{
  create_stays_inside (state, "/abs/created/dir", false);
  struct fixture *f = *state;
  struct stat st;
  /* The link was followed as if the rootfs were /: to rootfs/<outside>. */
  char path[PATH_MAX];
  snprintf (path, sizeof path, "%s/rootfs%s/outside/created/dir", f->base, f->base);
  assert_int_equal (stat (path, &st), 0);
}

static void
test_climbing_symlink (void **state)
{
  create_stays_inside (state, "/up/x", true);
  create_stays_inside (state, "/chain/y", false);
  create_stays_inside (state, "../../../../escape", false);
}

static void
test_clean_path (void **state)
{
  const char *cases[][2] = {
    { "/a/b/c", "a/b/c" }, { "a//b/./c/", "a/b/c" }, { "/../../x", "x" },
    { "/a/../../b", "b" }, { "/", "" },               { "./", "" },
  };
  for (size_t i = 0; i < ARRAY_SIZE (cases); i++)
    {
      _cleanup_free_ char *c = olrun_mount_clean_path (cases[i][0]);
      assert_string_equal (c, cases[i][1]);
    }
}

static void
test_file_in_place_of_dir (void **state)
{
  struct fixture *f = *state;
  int fd = openat (f->rootfd, ".", O_RDONLY);
  close (fd);
  olrun_error_t err = NULL;
  int out = -1;
  char path[PATH_MAX];
  snprintf (path, sizeof path, "%s/rootfs/afile", f->base);
  close (open (path, O_CREAT | O_WRONLY, 0644));
  assert_int_equal (olrun_mount_create_in_root (f->rootfd, "/afile/below", false, &out, &err), -1);
  assert_non_null (strstr (err->msg, "afile"));
  olrun_error_release (&err);
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test_setup_teardown (test_absolute_symlink, setup, teardown),
    cmocka_unit_test_setup_teardown (test_climbing_symlink, setup, teardown),
    cmocka_unit_test (test_clean_path),
    cmocka_unit_test_setup_teardown (test_file_in_place_of_dir, setup, teardown),
  };
  return cmocka_run_group_tests (tests, NULL, NULL);
}

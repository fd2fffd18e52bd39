/* Unit tests for the launcher's pure parts: --bind parsing, the `run`
 * dispatch rule, the container's id maps, the seccomp profile conversion
 * and the config.json the launcher writes. */
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <sys/stat.h>
#include <cmocka.h>

#include "bundle/internal.h"
#include "bundle/launch.h"
#include "olrun/json.h"
#include "olrun/util.h"

static char tmpdir[] = "/tmp/olrun-unit-launch-XXXXXX";

static void
test_bind_parse (void **state)
{
  struct olrun_bind b;
  olrun_error_t err = NULL;
  assert_int_equal (olrun_bind_parse ("/tmp", &b, &err), 0);
  assert_string_equal (b.src, "/tmp");
  assert_string_equal (b.dst, "/tmp");
  assert_false (b.ro);
  olrun_bind_clear (&b);
  assert_int_equal (olrun_bind_parse ("/tmp/../tmp:/x/y:ro", &b, &err), 0);
  assert_string_equal (b.src, "/tmp");
  assert_string_equal (b.dst, "/x/y");
  assert_true (b.ro);
  olrun_bind_clear (&b);
  static const char *const bad[][2] = {
    { "/nonexistent-olrun:/x", "source" }, { "/tmp:x", "not absolute" }, { "/tmp:/a/../b", "`..`" },
    { "/tmp:/..", "`..`" },                { "/tmp:/x:rx", "ro or rw" }, { ":/x", "SRC" },
  };
  for (size_t i = 0; i < ARRAY_SIZE (bad); i++)
    {
      assert_int_equal (olrun_bind_parse (bad[i][0], &b, &err), -1);
      if (strstr (err->msg, bad[i][1]) == NULL)
        fail_msg ("%s: %s", bad[i][0], err->msg);
      assert_int_equal (err->kind, OLRUN_E_INVALID);
      olrun_error_release (&err);
    }
  /* `..` inside a name is not a parent reference */
  assert_int_equal (olrun_bind_parse ("/tmp:/a..b/c..", &b, &err), 0);
  olrun_bind_clear (&b);
}

static void
test_dispatch_rule (void **state)
{
  assert_false (olrun_launch_is_reference ("busybox"));
  assert_false (olrun_launch_is_reference ("my-container.1"));
  assert_true (olrun_launch_is_reference ("docker.io/library/busybox"));
  assert_true (olrun_launch_is_reference ("./bundle"));
  assert_true (olrun_launch_is_reference ("oci:layout"));
  assert_true (olrun_launch_is_reference ("docker-archive:img.tar"));
  assert_true (olrun_launch_is_reference ("oci-archive:img.tar:v1"));
}

static void
assert_map (const struct olrun_idmaps *m, const uint32_t (*want)[3], size_t n)
{
  assert_int_equal (m->len, n);
  for (size_t i = 0; i < n; i++)
    {
      assert_int_equal (m->v[i].container_id, want[i][0]);
      assert_int_equal (m->v[i].host_id, want[i][1]);
      assert_int_equal (m->v[i].size, want[i][2]);
    }
}

static void
test_inner_maps (void **state)
{
  struct olrun_idmaps m = { 0 };
  launch_inner_map (&m, 1000, 65536, false);
  static const uint32_t user[][3] = { { 0, 1, 1000 }, { 1000, 0, 1 }, { 1001, 1001, 64536 } };
  assert_map (&m, user, 3);
  olrun_idmaps_free (&m);
  /* a uid above the subordinate range: everything below it */
  launch_inner_map (&m, 70000, 65536, false);
  static const uint32_t high[][3] = { { 0, 1, 65536 }, { 70000, 0, 1 } };
  assert_map (&m, high, 2);
  olrun_idmaps_free (&m);
  /* no subordinate ids: only the user */
  launch_inner_map (&m, 1000, 0, false);
  static const uint32_t single[][3] = { { 1000, 0, 1 } };
  assert_map (&m, single, 1);
  olrun_idmaps_free (&m);
  /* --fakeroot: one extent per outer extent (the kernel never maps one
   * child extent through two parent extents) */
  launch_inner_map (&m, 1000, 65536, true);
  static const uint32_t fake[][3] = { { 0, 0, 1 }, { 1, 1, 65536 } };
  assert_map (&m, fake, 2);
  olrun_idmaps_free (&m);
  launch_inner_map (&m, 1000, 0, true);
  static const uint32_t fake1[][3] = { { 0, 0, 1 } };
  assert_map (&m, fake1, 1);
  olrun_idmaps_free (&m);
}

static olrun_json_doc_t *
converted (const char *spec, char *const *caps)
{
  olrun_jw_t *w = olrun_jw_new (false);
  olrun_error_t err = NULL;
  olrun_jw_object_open (w);
  if (seccomp_profile_write (w, spec, caps, &err) < 0)
    fail_msg ("%s", err->msg);
  olrun_jw_object_close (w);
  size_t len = 0;
  const char *text = olrun_jw_text (w, &len);
  olrun_json_doc_t *doc = NULL;
  if (olrun_json_parse (text, len, "out", &doc, &err) < 0)
    fail_msg ("%s", err->msg);
  olrun_jw_free (w);
  return doc;
}

static void
test_seccomp_conversion (void **state)
{
  _cleanup_free_ char *path = xasprintf ("%s/profile.json", tmpdir);
  static const char profile[]
      = "{\"defaultAction\":\"SCMP_ACT_ERRNO\",\"defaultErrnoRet\":38,"
        "\"archMap\":[{\"architecture\":\"SCMP_ARCH_X86_64\",\"subArchitectures\":[\"SCMP_ARCH_X86\"]}],"
        "\"syscalls\":["
        "{\"names\":[\"read\"],\"action\":\"SCMP_ACT_ALLOW\"},"
        "{\"names\":[\"chown\"],\"action\":\"SCMP_ACT_ALLOW\",\"includes\":{\"caps\":[\"CAP_CHOWN\"]}},"
        "{\"names\":[\"mount\"],\"action\":\"SCMP_ACT_ALLOW\",\"includes\":{\"caps\":[\"CAP_SYS_ADMIN\"]}},"
        "{\"names\":[\"ptrace\"],\"action\":\"SCMP_ACT_ALLOW\",\"excludes\":{\"caps\":[\"CAP_CHOWN\"]}},"
        "{\"names\":[\"arch_prctl\"],\"action\":\"SCMP_ACT_ALLOW\",\"includes\":{\"arches\":[\"amd64\"]}},"
        "{\"names\":[\"sync_file_range2\"],\"action\":\"SCMP_ACT_ALLOW\",\"includes\":{\"arches\":[\"ppc64le\"]}},"
        "{\"name\":\"personality\",\"action\":\"SCMP_ACT_ALLOW\",\"args\":[{\"index\":0,\"value\":8,"
        "\"valueTwo\":0,\"op\":\"SCMP_CMP_EQ\"}]}]}";
  olrun_error_t err = NULL;
  assert_int_equal (olrun_atomic_write_at (AT_FDCWD, path, profile, strlen (profile), 0644, &err), 0);
  char *caps[] = { "CAP_CHOWN", "CAP_KILL", NULL };
  olrun_json_doc_t *doc = converted (path, caps);
  const olrun_json_t *s = olrun_json_get (olrun_json_root (doc), "seccomp");
  assert_non_null (s);
  const olrun_json_t *rules = olrun_json_get (s, "syscalls");
  /* read, chown (cap present), personality; and arch_prctl on x86_64 */
  size_t want = 3;
#if defined(__x86_64__)
  want = 4;
  const olrun_json_t *arches = olrun_json_get (s, "architectures");
  assert_int_equal (arches->u.array.len, 2);
#endif
  assert_int_equal (rules->u.array.len, want);
  for (size_t i = 0; i < rules->u.array.len; i++)
    {
      const olrun_json_t *n = olrun_json_get (rules->u.array.items[i], "names")->u.array.items[0];
      assert_true (strncmp (n->u.string.str, "mount", n->u.string.len) != 0);
      assert_true (strncmp (n->u.string.str, "ptrace", n->u.string.len) != 0);
      if (strncmp (n->u.string.str, "personality", n->u.string.len) == 0)
        {
          const olrun_json_t *arg = olrun_json_get (rules->u.array.items[i], "args")->u.array.items[0];
          assert_null (olrun_json_get (arg, "valueTwo")); /* Go's omitempty, as podman writes it */
          assert_non_null (olrun_json_get (arg, "value"));
        }
    }
  olrun_json_doc_free (doc);
  doc = converted ("unconfined", caps);
  assert_null (olrun_json_get (olrun_json_root (doc), "seccomp"));
  olrun_json_doc_free (doc);
  doc = converted ("builtin", caps);
  s = olrun_json_get (olrun_json_root (doc), "seccomp");
  const olrun_json_t *def = olrun_json_get (s, "defaultAction");
  assert_memory_equal (def->u.string.str, "SCMP_ACT_ALLOW", def->u.string.len);
  olrun_json_doc_free (doc);
}

static void
test_config_for_the_launcher (void **state)
{
  _cleanup_free_ char *rootfs = xasprintf ("%s/rootfs", tmpdir);
  _cleanup_free_ char *tmp = xasprintf ("%s/rootfs/tmp", tmpdir);
  mkdir (rootfs, 0755);
  mkdir (tmp, 01777);
  int rootfd = open (rootfs, O_RDONLY | O_DIRECTORY);
  struct olrun_image img = { .rootfs = rootfs, .config_digest = "sha256:0" };
  char *cmd[] = { "sh", NULL };
  img.config.cmd = cmd;
  struct olrun_bind binds[] = { { "/etc", "/mnt/etc", true } };
  struct olrun_idmap um[] = { { 1000, 0, 1 } };
  struct olrun_config_opts o = {
    .binds = binds, .n_binds = 1, .seccomp = "unconfined", .terminal = true, .console_rows = 30,
    .console_cols = 90, .in_userns = true, .inner_userns = true, .inner_uidmap = { um, 1 },
    .inner_gidmap = { um, 1 }, .inner_as_user = true, .inner_uid = 1000, .inner_gid = 1000,
  };
  assert_true (olrun_config_needs_mountpoints (rootfd, &o));
  _cleanup_free_ char *text = NULL;
  olrun_error_t err = NULL;
  if (olrun_config_generate (&img, rootfd, &o, &text, &err) < 0)
    fail_msg ("%s", err->msg);
  assert_non_null (strstr (text, "\"consoleSize\""));
  assert_non_null (strstr (text, "\"uid\": 1000"));
  assert_non_null (strstr (text, "\"containerID\": 1000"));
  assert_non_null (strstr (text, "\"readonly\": true"));
  assert_non_null (strstr (text, "\"destination\": \"/tmp\""));      /* exists in the image */
  assert_null (strstr (text, "\"destination\": \"/var/tmp\""));     /* does not */
  assert_non_null (strstr (text, "\"destination\": \"/mnt/etc\""));
  assert_null (strstr (text, "gid=5"));                             /* 5 unmapped */
  assert_null (strstr (text, "\"type\": \"sysfs\""));               /* host network in a userns */
  assert_null (strstr (text, "\"seccomp\""));
  o.writable = true;
  free (text);
  text = NULL;
  assert_int_equal (olrun_config_generate (&img, rootfd, &o, &text, &err), 0);
  assert_non_null (strstr (text, "\"readonly\": false"));
  assert_null (strstr (text, "\"destination\": \"/tmp\""));
  close (rootfd);
}

int
main (void)
{
  if (mkdtemp (tmpdir) == NULL)
    return 1;
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (test_bind_parse),         cmocka_unit_test (test_dispatch_rule),
    cmocka_unit_test (test_inner_maps),         cmocka_unit_test (test_seccomp_conversion),
    cmocka_unit_test (test_config_for_the_launcher),
  };
  int rc = cmocka_run_group_tests (tests, NULL, NULL);
  olrun_error_t err = NULL;
  olrun_rm_rf_at (AT_FDCWD, tmpdir, &err);
  olrun_error_release (&err);
  return rc;
}

/* Unit tests for bundle/: references, challenges, manifests, image configs. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <cmocka.h>

#include "bundle/internal.h"
#include "olrun/util.h"

static void
parse_ok (const char *s, struct image_ref *r)
{
  olrun_error_t err = NULL;
  int rc = image_ref_parse (s, r, &err);
  if (rc < 0)
    fail_msg ("%s: %s", s, err->msg);
}

static void
test_short_names (void **state)
{
  struct image_ref r;
  parse_ok ("alpine", &r);
  assert_int_equal (r.transport, REF_DOCKER);
  assert_string_equal (r.registry, "docker.io");
  assert_string_equal (r.repo, "library/alpine");
  assert_string_equal (r.tag, "latest");
  assert_string_equal (r.display, "docker://docker.io/library/alpine:latest");
  image_ref_clear (&r);
  parse_ok ("library/alpine:3.19", &r);
  assert_string_equal (r.repo, "library/alpine");
  assert_string_equal (r.tag, "3.19");
  image_ref_clear (&r);
  parse_ok ("docker://localhost:5000/a/b@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef", &r);
  assert_string_equal (r.registry, "localhost:5000");
  assert_string_equal (r.repo, "a/b");
  assert_null (r.tag);
  assert_non_null (r.digest);
  image_ref_clear (&r);
  parse_ok ("quay.io/x/y", &r);
  assert_string_equal (r.registry, "quay.io");
  image_ref_clear (&r);
}

static void
test_path_refs (void **state)
{
  struct image_ref r;
  parse_ok ("oci:/a:b/layout:v1", &r);
  assert_string_equal (r.path, "/a:b/layout");
  assert_string_equal (r.tag, "v1");
  image_ref_clear (&r);
  parse_ok ("oci-archive:/x/img.tar", &r);
  assert_int_equal (r.transport, REF_OCI_ARCHIVE);
  assert_null (r.tag);
  image_ref_clear (&r);
}

static void
test_bad_refs (void **state)
{
  static const char *const bad[] = { "foo://bar", "docker://x/Y", "oci:", "docker://h/r:bad tag",
                                     "oci:/x@sha512:abcd", "docker://h/r@sha256:xyz" };
  for (size_t i = 0; i < ARRAY_SIZE (bad); i++)
    {
      struct image_ref r;
      olrun_error_t err = NULL;
      assert_int_equal (image_ref_parse (bad[i], &r, &err), -1);
      assert_non_null (err);
      olrun_error_release (&err);
    }
}

static void
test_challenge (void **state)
{
  struct auth_challenge c;
  auth_challenge_parse ("Bearer realm=\"https://auth.example/token\",service=\"registry\",scope=\"repository:a/b:pull\"",
                        &c);
  assert_true (c.bearer);
  assert_string_equal (c.realm, "https://auth.example/token");
  assert_string_equal (c.service, "registry");
  assert_string_equal (c.scope, "repository:a/b:pull");
  auth_challenge_clear (&c);
  auth_challenge_parse ("Basic realm=\"x\"", &c);
  assert_true (c.basic);
  auth_challenge_clear (&c);
  char *e = url_escape ("repository:a/b:pull");
  assert_string_equal (e, "repository%3Aa%2Fb%3Apull");
  free (e);
}

static void
test_manifest_errors_name_the_path (void **state)
{
  const char *doc = "{\"schemaVersion\":2,\"config\":{\"digest\":\"sha256:00\",\"size\":1},\"layers\":[]}";
  struct manifest m;
  olrun_error_t err = NULL;
  assert_int_equal (manifest_parse (doc, strlen (doc), "m.json", &m, &err), -1);
  assert_non_null (strstr (err->msg, "config.digest"));
  olrun_error_release (&err);
  const char *foreign = "{\"schemaVersion\":2,\"config\":{\"digest\":\"sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef\",\"size\":1},"
                        "\"layers\":[{\"mediaType\":\"application/vnd.docker.image.rootfs.foreign.diff.tar.gzip\","
                        "\"digest\":\"sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef\",\"size\":1}]}";
  assert_int_equal (manifest_parse (foreign, strlen (foreign), "m.json", &m, &err), -1);
  assert_int_equal (err->kind, OLRUN_E_UNSUPPORTED);
  assert_non_null (strstr (err->msg, "foreign"));
  olrun_error_release (&err);
}

static void
test_image_config (void **state)
{
  const char *doc = "{\"os\":\"linux\",\"config\":{\"Entrypoint\":[\"/bin/sh\"],\"Cmd\":[\"-c\",\"x\"],"
                    "\"Env\":[\"A=1\"],\"User\":\"1:2\",\"Labels\":{\"k\":\"v\"}}}";
  struct olrun_image_config c;
  olrun_error_t err = NULL;
  assert_int_equal (olrun_image_config_parse (doc, strlen (doc), "c.json", &c, &err), 0);
  assert_string_equal (c.entrypoint[0], "/bin/sh");
  assert_string_equal (c.cmd[1], "x");
  assert_string_equal (c.user, "1:2");
  assert_string_equal (c.labels[0], "k=v");
  olrun_image_config_clear (&c);
  const char *bad = "{\"config\":{\"Cmd\":\"not-an-array\"}}";
  assert_int_equal (olrun_image_config_parse (bad, strlen (bad), "c.json", &c, &err), -1);
  assert_non_null (strstr (err->msg, "config.Cmd"));
  olrun_error_release (&err);
}

static void
test_index_select (void **state)
{
  const char *idx = "{\"manifests\":[{\"digest\":\"sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef\","
                    "\"platform\":{\"os\":\"linux\",\"architecture\":\"arm\",\"variant\":\"v7\"}},"
                    "{\"digest\":\"sha256:1123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef\","
                    "\"platform\":{\"os\":\"linux\",\"architecture\":\"arm64\"},"
                    "\"annotations\":{\"org.opencontainers.image.ref.name\":\"t\"}}]}";
  struct descriptor d;
  olrun_error_t err = NULL;
  assert_int_equal (index_select_platform (idx, strlen (idx), "i", "linux/arm/v7", &d, &err), 0);
  assert_int_equal (d.digest[7], '0');
  descriptor_clear (&d);
  assert_int_equal (index_select_tag (idx, strlen (idx), "i", "t", &d, &err), 0);
  assert_int_equal (d.digest[7], '1');
  descriptor_clear (&d);
  assert_int_equal (index_select_platform (idx, strlen (idx), "i", "linux/arm/v6", &d, &err), -1);
  assert_int_equal (err->kind, OLRUN_E_NOT_EXIST);
  olrun_error_release (&err);
  assert_int_equal (index_select_tag (idx, strlen (idx), "i", NULL, &d, &err), -1);
  assert_non_null (strstr (err->msg, "no tag given"));
  olrun_error_release (&err);
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (test_short_names),  cmocka_unit_test (test_path_refs),
    cmocka_unit_test (test_bad_refs),     cmocka_unit_test (test_challenge),
    cmocka_unit_test (test_manifest_errors_name_the_path), cmocka_unit_test (test_image_config),
    cmocka_unit_test (test_index_select),
  };
  return cmocka_run_group_tests (tests, NULL, NULL);
}

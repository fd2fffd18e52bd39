/* runtime/spec*.c, runtime/validate.c, mount/options.c: config -> model,
 * and the errors, which name the file, the JSON path and the byte offset. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/resource.h>

#include <cmocka.h>

#include "olrun/runtime.h"
#include "olrun/spec.h"
#include "olrun/util.h"

#define BASE "\"ociVersion\":\"1.3.0\",\"root\":{\"path\":\"rootfs\"}"

static int
parse (const char *text, struct olrun_spec **ret, olrun_error_t *err)
{
  olrun_json_doc_t *doc = NULL;
  if (olrun_json_parse (text, strlen (text), "config.json", &doc, err) < 0)
    return -1;
  return olrun_spec_from_doc (doc, ret, err);
}

static struct olrun_spec *
parse_ok (const char *text)
{
  struct olrun_spec *s = NULL;
  olrun_error_t err = NULL;
  if (parse (text, &s, &err) < 0)
    fail_msg ("unexpected error: %s", err->msg);
  return s;
}

/* The error names `words`, and its byte offset is where `at` occurs. */
static void
parse_fails (const char *text, const char *words, const char *at)
{
  struct olrun_spec *s = NULL;
  olrun_error_t err = NULL;
  assert_int_equal (parse (text, &s, &err), -1);
  if (strstr (err->msg, words) == NULL)
    fail_msg ("`%s` not in `%s`", words, err->msg);
  if (at)
    {
      _cleanup_free_ char *byte = xasprintf ("(byte %zu)", (size_t) (strstr (text, at) - text));
      if (strstr (err->msg, byte) == NULL)
        fail_msg ("`%s` not in `%s`", byte, err->msg);
    }
  assert_int_equal (err->kind, OLRUN_E_INVALID);
  olrun_error_release (&err);
}

static void
test_full_config (void **state)
{
  struct olrun_spec *s = parse_ok (
      "{" BASE ",\"hostname\":\"h\",\"process\":{\"args\":[\"sh\"],\"env\":[\"A=1\"],\"cwd\":\"/tmp\","
      "\"user\":{\"uid\":1,\"gid\":2,\"umask\":18,\"additionalGids\":[3,4]},"
      "\"rlimits\":[{\"type\":\"RLIMIT_NOFILE\",\"soft\":10,\"hard\":20}],\"oomScoreAdj\":-5,"
      "\"capabilities\":{\"bounding\":[\"CAP_KILL\"],\"ambient\":[\"CAP_CHOWN\"]}},"
      "\"mounts\":[{\"destination\":\"/d\",\"source\":\"/s\",\"options\":[\"rbind\",\"ro\",\"rprivate\",\"rnosuid\"]}],"
      "\"linux\":{\"namespaces\":[{\"type\":\"pid\"},{\"type\":\"network\",\"path\":\"/run/netns/x\"}],"
      "\"uidMappings\":[{\"containerID\":0,\"hostID\":1000,\"size\":10}],"
      "\"devices\":[{\"path\":\"/dev/x\",\"type\":\"c\",\"major\":1,\"minor\":3}],"
      "\"sysctl\":{\"net.ipv4.ip_forward\":\"1\"},\"maskedPaths\":[\"/m\"],\"rootfsPropagation\":\"rshared\","
      "\"timeOffsets\":{\"boottime\":{\"secs\":5,\"nanosecs\":7}},\"netDevices\":{\"eth1\":{\"name\":\"c0\"}}},"
      "\"annotations\":{\"k\":\"v\"}}");
  const struct olrun_process *p = s->process;
  assert_string_equal (p->args[0], "sh");
  assert_int_equal (p->uid, 1);
  assert_int_equal (p->gid, 2);
  assert_int_equal (p->umask, 18);
  assert_int_equal (p->n_additional_gids, 2);
  assert_int_equal (p->rlimits[0].resource, RLIMIT_NOFILE);
  assert_int_equal (p->rlimits[0].hard, 20);
  assert_true (p->has_oom_score_adj);
  assert_int_equal (p->oom_score_adj, -5);
  assert_true (p->caps.bounding == (1ULL << 5));
  assert_true (p->caps.ambient == (1ULL << 0));
  assert_true (s->mounts[0].bind && s->mounts[0].recursive);
  assert_true (s->mounts[0].flags & MS_RDONLY);
  assert_int_equal (s->mounts[0].propagation, MS_PRIVATE | MS_REC);
  assert_true (s->linux.ns[OLRUN_NS_PID].enabled);
  assert_string_equal (s->linux.ns[OLRUN_NS_NET].path, "/run/netns/x");
  assert_int_equal (s->linux.uid_mappings.v[0].host_id, 1000);
  assert_int_equal (s->linux.devices[0].type, 'c');
  assert_string_equal (s->linux.sysctl[0].key, "net.ipv4.ip_forward");
  assert_true (s->linux.has_time_offsets);
  assert_int_equal (s->linux.boottime_secs, 5);
  assert_string_equal (s->linux.net_devices[0].name, "c0");
  assert_non_null (s->annotations);
  olrun_spec_free (s);
}

static void
test_errors_name_path_and_offset (void **state)
{
  parse_fails ("{" BASE ",\"process\":{\"args\":[\"a\",7]}}", "config.json: process.args[1]: expected a string", "7]");
  parse_fails ("{" BASE ",\"linux\":{\"namespaces\":[{\"type\":\"pid\"},{\"type\":\"bogus\"}]}}",
               "linux.namespaces[1].type: unknown namespace type `bogus`", "\"bogus\"");
  parse_fails ("{" BASE ",\"linux\":{\"namespaces\":[{\"type\":\"pid\"},{\"type\":\"pid\"}]}}",
               "duplicate namespace `pid`", NULL);
  parse_fails ("{\"ociVersion\":\"1.3.0\"}", "root: required but missing", NULL);
  parse_fails ("{" BASE ",\"ociVersion\":\"2.0.0\"}", "unsupported version `2.0.0`", NULL);
  parse_fails ("{" BASE ",\"process\":{\"cwd\":\"rel\"}}", "process.cwd: must be an absolute path", "\"rel\"");
  parse_fails ("{" BASE ",\"process\":{\"rlimits\":[{\"type\":\"RLIMIT_X\",\"soft\":1,\"hard\":1}]}}",
               "process.rlimits[0].type: unknown rlimit `RLIMIT_X`", "\"RLIMIT_X\"");
  parse_fails ("{" BASE ",\"process\":{\"rlimits\":[{\"type\":\"RLIMIT_CORE\",\"soft\":2,\"hard\":1}]}}",
               "soft limit 2 exceeds hard limit 1", NULL);
  parse_fails ("{" BASE ",\"process\":{\"capabilities\":{\"effective\":[\"CAP_NOPE\"]}}}",
               "process.capabilities.effective[0]: unknown capability `CAP_NOPE`", "\"CAP_NOPE\"");
  parse_fails ("{" BASE ",\"mounts\":[{\"destination\":\"/x\",\"source\":\"/y\",\"options\":[\"bind\",\"nope\"]}]}",
               "mounts[0].options: unknown mount option `nope`", NULL);
  parse_fails ("{" BASE ",\"mounts\":[{\"destination\":\"/x\"}]}", "mounts[0].type: required unless", NULL);
  parse_fails ("{" BASE ",\"linux\":{\"devices\":[{\"path\":\"/d\",\"type\":\"q\",\"major\":1,\"minor\":1}]}}",
               "linux.devices[0].type: unknown device type `q`", "\"q\"");
  parse_fails ("{" BASE ",\"linux\":{\"rootfsPropagation\":\"sideways\"}}", "unknown propagation `sideways`", NULL);
  parse_fails ("{" BASE ",\"linux\":{\"sysctl\":{\"../x\":\"1\"}}}", "invalid sysctl name", NULL);
  parse_fails ("{" BASE ",\"linux\":{\"netDevices\":{\"a/b\":{}}}}", "invalid interface name", NULL);
  parse_fails ("{" BASE ",\"hooks\":{\"prestart\":[{\"path\":\"rel\"}]}}", "hooks.prestart[0].path", NULL);
  parse_fails ("{" BASE ",\"hooks\":{\"prestart\":[{\"path\":\"/x\",\"timeout\":0}]}}", "must be greater than zero",
               NULL);
  parse_fails ("{" BASE ",\"annotations\":{\"k\":1}}", "annotations.k: expected a string", NULL);
}

static void
validate_fails (const char *text, const char *words)
{
  struct olrun_spec *s = parse_ok (text);
  olrun_error_t err = NULL;
  assert_int_equal (olrun_spec_validate (s, &err), -1);
  if (strstr (err->msg, words) == NULL)
    fail_msg ("`%s` not in `%s`", words, err->msg);
  olrun_error_release (&err);
  olrun_spec_free (s);
}

#define P ",\"process\":{\"args\":[\"sh\"]}"
#define NS(x) ",\"linux\":{\"namespaces\":[{\"type\":\"mount\"}" x "]"

static void
test_validate (void **state)
{
  /* process is optional: such a container can be created, not started. */
  struct olrun_spec *np = parse_ok ("{" BASE NS ("") "}}");
  olrun_error_t e = NULL;
  assert_int_equal (olrun_spec_validate (np, &e), 0);
  olrun_spec_free (np);
  validate_fails ("{" BASE ",\"process\":{\"args\":[]}" NS ("") "}}", "process.args: must not be empty");
  validate_fails ("{" BASE P NS (",{\"type\":\"user\"}") "}}", "needs linux.uidMappings");
  validate_fails ("{" BASE P NS ("") ",\"uidMappings\":[{\"containerID\":0,\"hostID\":1,\"size\":1}]}}",
                  "given without a user namespace");
  validate_fails ("{" BASE P ",\"hostname\":\"h\"" NS ("") "}}", "hostname: needs a uts namespace");
  validate_fails ("{" BASE P NS ("") ",\"sysctl\":{\"kernel.panic\":\"1\"}}}", "is not namespaced");
  validate_fails ("{" BASE P NS ("") ",\"sysctl\":{\"net.ipv4.ip_forward\":\"1\"}}}", "needs a new network");
  validate_fails ("{" BASE P NS ("") ",\"timeOffsets\":{}}}", "need a new time namespace");
  struct olrun_spec *s = parse_ok ("{" BASE P NS (",{\"type\":\"ipc\"}") ",\"sysctl\":{\"kernel.shmmax\":\"1\"}}}");
  olrun_error_t err = NULL;
  assert_int_equal (olrun_spec_validate (s, &err), 0);
  olrun_spec_free (s);
}

static void
test_ids (void **state)
{
  assert_true (olrun_id_valid ("abc-DEF_1.2+3"));
  assert_false (olrun_id_valid (""));
  assert_false (olrun_id_valid ("."));
  assert_false (olrun_id_valid (".."));
  assert_false (olrun_id_valid ("a/b"));
  assert_false (olrun_id_valid ("a b"));
  char long_id[1026];
  memset (long_id, 'a', 1025);
  long_id[1025] = '\0';
  assert_false (olrun_id_valid (long_id));
  long_id[1024] = '\0';
  assert_true (olrun_id_valid (long_id));
}

static void
test_signals (void **state)
{
  assert_int_equal (olrun_signal_parse ("9"), 9);
  assert_int_equal (olrun_signal_parse ("KILL"), 9);
  assert_int_equal (olrun_signal_parse ("SIGKILL"), 9);
  assert_int_equal (olrun_signal_parse ("SIGUSR1"), 10);
  assert_int_equal (olrun_signal_parse ("BOGUS"), -1);
  assert_int_equal (olrun_signal_parse ("0"), -1);
  assert_int_equal (olrun_signal_parse ("999"), -1);
  assert_int_equal (olrun_signal_parse (""), -1);
}

static void
test_mount_options (void **state)
{
  char *opts[] = { "nosuid", "rw", "noatime", "rshared", "mode=755", "size=1m", "rro", NULL };
  struct olrun_mount m = { .type = "tmpfs", .options = opts };
  const char *bad = NULL;
  assert_int_equal (olrun_mount_parse_options (&m, &bad), 0);
  assert_true (m.flags & MS_NOSUID);
  assert_true (m.clear & MS_RDONLY);
  assert_true (m.flags & MS_NOATIME);
  assert_int_equal (m.propagation, MS_SHARED | MS_REC);
  assert_string_equal (m.data, "mode=755,size=1m");
  assert_true (m.attr_set != 0);
  free (m.data);
  char *bind_opts[] = { "rbind", "frob", NULL };
  struct olrun_mount b = { .type = NULL, .options = bind_opts };
  assert_int_equal (olrun_mount_parse_options (&b, &bad), -1);
  assert_string_equal (bad, "frob");
  free (b.data);
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (test_full_config), cmocka_unit_test (test_errors_name_path_and_offset),
    cmocka_unit_test (test_validate),    cmocka_unit_test (test_ids),
    cmocka_unit_test (test_signals),     cmocka_unit_test (test_mount_options),
  };
  return cmocka_run_group_tests (tests, NULL, NULL);
}

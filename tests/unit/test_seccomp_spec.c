/* runtime/spec_seccomp.c: linux.seccomp -> struct olrun_seccomp, and the
 * errors, which must name the file, the JSON path and the byte offset. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>

#include "olrun/spec.h"
#include "olrun/util.h"

static char *
config_with (const char *seccomp)
{
  return xasprintf ("{\"ociVersion\":\"1.0.2\",\"root\":{\"path\":\"rootfs\"},\"linux\":{\"seccomp\":%s}}", seccomp);
}

static struct olrun_spec *
parse_ok (const char *seccomp)
{
  _cleanup_free_ char *text = config_with (seccomp);
  olrun_json_doc_t *doc = NULL;
  struct olrun_spec *spec = NULL;
  olrun_error_t err = NULL;
  if (olrun_json_parse (text, strlen (text), "config.json", &doc, &err) < 0
      || olrun_spec_from_doc (doc, &spec, &err) < 0)
    fail_msg ("unexpected error: %s", err->msg);
  assert_non_null (spec->linux.seccomp);
  return spec;
}

/* Parse, expect an error containing `path` and the byte offset of the first
 * occurrence of `at` in the document. */
static void
parse_fails (const char *seccomp, const char *path, const char *at, const char *words)
{
  _cleanup_free_ char *text = config_with (seccomp);
  olrun_json_doc_t *doc = NULL;
  struct olrun_spec *spec = NULL;
  _cleanup_error_ olrun_error_t err = NULL;
  assert_int_equal (olrun_json_parse (text, strlen (text), "config.json", &doc, &err), 0);
  assert_int_equal (olrun_spec_from_doc (doc, &spec, &err), -1);
  assert_null (spec);
  assert_non_null (err);
  assert_int_equal (err->kind, OLRUN_E_INVALID);
  _cleanup_free_ char *where = xasprintf ("config.json: %s: ", path);
  if (strncmp (err->msg, where, strlen (where)) != 0)
    fail_msg ("`%s` does not start with `%s`", err->msg, where);
  const char *hit = strstr (text, at);
  assert_non_null (hit);
  _cleanup_free_ char *byte = xasprintf ("(byte %zu)", (size_t) (hit - text));
  if (strstr (err->msg, byte) == NULL)
    fail_msg ("`%s` does not name %s", err->msg, byte);
  if (words && strstr (err->msg, words) == NULL)
    fail_msg ("`%s` does not say `%s`", err->msg, words);
}

static void
test_full_profile (void **state)
{
  (void) state;
  const char *p = "{\"defaultAction\":\"SCMP_ACT_ERRNO\",\"defaultErrnoRet\":38,"
                  "\"architectures\":[\"SCMP_ARCH_X86_64\",\"SCMP_ARCH_X86\",\"SCMP_ARCH_X32\"],"
                  "\"flags\":[\"SECCOMP_FILTER_FLAG_LOG\",\"SECCOMP_FILTER_FLAG_SPEC_ALLOW\","
                  "\"SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV\",\"SECCOMP_FILTER_FLAG_TSYNC\"],"
                  "\"listenerPath\":\"/run/agent.sock\",\"listenerMetadata\":\"m=1\","
                  "\"syscalls\":[{\"names\":[\"read\",\"no_such_syscall\"],\"action\":\"SCMP_ACT_ALLOW\","
                  "\"comment\":\"ignored\",\"includes\":{}},"
                  "{\"names\":[\"mkdir\"],\"action\":\"SCMP_ACT_NOTIFY\"},"
                  "{\"names\":[\"personality\"],\"action\":\"SCMP_ACT_TRACE\",\"errnoRet\":65535,"
                  "\"args\":[{\"index\":0,\"value\":18446744073709551615,\"op\":\"SCMP_CMP_NE\"},"
                  "{\"index\":5,\"value\":15,\"valueTwo\":5,\"op\":\"SCMP_CMP_MASKED_EQ\"}]}]}";
  struct olrun_spec *spec = parse_ok (p);
  const struct olrun_seccomp *s = spec->linux.seccomp;
  assert_int_equal (s->default_action, OLRUN_SCMP_ACT_ERRNO);
  assert_true (s->has_default_errno_ret);
  assert_int_equal (s->default_errno_ret, 38);
  assert_int_equal (s->n_arches, 3);
  assert_int_equal (s->arches[0], OLRUN_SCMP_ARCH_X86_64);
  assert_int_equal (s->arches[1], OLRUN_SCMP_ARCH_X86);
  assert_int_equal (s->arches[2], OLRUN_SCMP_ARCH_X32);
  assert_int_equal (s->flags, OLRUN_SCMP_FLAG_LOG | OLRUN_SCMP_FLAG_SPEC_ALLOW | OLRUN_SCMP_FLAG_WAIT_KILLABLE_RECV
                                  | OLRUN_SCMP_FLAG_TSYNC);
  assert_string_equal (s->listener_path, "/run/agent.sock");
  assert_string_equal (s->listener_metadata, "m=1");
  assert_true (s->uses_notify);
  assert_int_equal (s->n_rules, 3);
  assert_string_equal (s->rules[0].names[1], "no_such_syscall");
  assert_null (s->rules[0].names[2]);
  assert_int_equal (s->rules[0].action, OLRUN_SCMP_ACT_ALLOW);
  assert_false (s->rules[0].has_errno_ret);
  assert_int_equal (s->rules[1].action, OLRUN_SCMP_ACT_NOTIFY);
  const struct olrun_seccomp_rule *r = &s->rules[2];
  assert_int_equal (r->action, OLRUN_SCMP_ACT_TRACE);
  assert_true (r->has_errno_ret);
  assert_int_equal (r->errno_ret, 65535);
  assert_int_equal (r->n_args, 2);
  assert_int_equal (r->args[0].index, 0);
  assert_true (r->args[0].value == UINT64_MAX);
  assert_int_equal (r->args[0].value_two, 0);
  assert_int_equal (r->args[0].op, OLRUN_SCMP_CMP_NE);
  assert_int_equal (r->args[1].index, 5);
  assert_int_equal (r->args[1].value, 15);
  assert_int_equal (r->args[1].value_two, 5);
  assert_int_equal (r->args[1].op, OLRUN_SCMP_CMP_MASKED_EQ);
  /* The raw node is kept for the cache key. */
  const olrun_json_t *raw = spec->linux.seccomp_json;
  const char *text = olrun_json_doc_text (spec->doc);
  assert_int_equal (raw->end - raw->offset, strlen (p));
  assert_memory_equal (text + raw->offset, p, strlen (p));
  olrun_spec_free (spec);
}

/* Every name in the tables round-trips; every action parses. */
static void
test_names (void **state)
{
  (void) state;
  size_t i;
  for (i = 0; olrun_seccomp_action_name (i); i++)
    {
      assert_int_equal (olrun_seccomp_action_from_name (olrun_seccomp_action_name (i)), (int) i);
      _cleanup_free_ char *p
          = xasprintf ("{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"listenerPath\":\"/x\",\"syscalls\":"
                       "[{\"names\":[\"getpid\"],\"action\":\"%s\"}]}",
                       olrun_seccomp_action_name (i));
      struct olrun_spec *spec = parse_ok (p);
      assert_int_equal (spec->linux.seccomp->rules[0].action, (int) i);
      olrun_spec_free (spec);
    }
  assert_int_equal (i, OLRUN_SCMP_ACT_COUNT);
  for (i = 0; olrun_seccomp_op_name (i); i++)
    assert_int_equal (olrun_seccomp_op_from_name (olrun_seccomp_op_name (i)), (int) i);
  assert_int_equal (i, OLRUN_SCMP_CMP_COUNT);
  for (i = 0; olrun_seccomp_arch_name (i); i++)
    assert_int_equal (olrun_seccomp_arch_from_name (olrun_seccomp_arch_name (i)), (int) i);
  assert_int_equal (i, OLRUN_SCMP_ARCH_COUNT);
  for (i = 0; olrun_seccomp_flag_name (i); i++)
    assert_int_equal (olrun_seccomp_flag_from_name (olrun_seccomp_flag_name (i)), 1 << i);
  assert_int_equal (i, OLRUN_SCMP_FLAG_COUNT);
  assert_int_equal (olrun_seccomp_action_from_name ("SCMP_ACT_allow"), -1);
  assert_int_equal (olrun_seccomp_arch_from_name ("x86_64"), -1);
}

static void
test_minimal (void **state)
{
  (void) state;
  struct olrun_spec *spec = parse_ok ("{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"listenerPath\":null}");
  const struct olrun_seccomp *s = spec->linux.seccomp;
  assert_int_equal (s->default_action, OLRUN_SCMP_ACT_ALLOW);
  assert_false (s->has_default_errno_ret);
  assert_int_equal (s->n_arches, 0);
  assert_int_equal (s->n_rules, 0);
  assert_int_equal (s->flags, 0);
  assert_null (s->listener_path);
  assert_false (s->uses_notify);
  olrun_spec_free (spec);
}

static void
test_errors_top (void **state)
{
  (void) state;
  parse_fails ("[]", "linux.seccomp", "[]", "expected an object");
  parse_fails ("{}", "linux.seccomp.defaultAction", "{}", "required");
  parse_fails ("{\"defaultAction\":\"SCMP_ACT_DENY\"}", "linux.seccomp.defaultAction", "\"SCMP_ACT_DENY",
               "unknown seccomp action `SCMP_ACT_DENY`");
  parse_fails ("{\"defaultAction\":7}", "linux.seccomp.defaultAction", "7}", "expected a string");
  parse_fails ("{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"defaultErrnoRet\":1}", "linux.seccomp.defaultErrnoRet",
               "1}", "only SCMP_ACT_ERRNO and SCMP_ACT_TRACE");
  parse_fails ("{\"defaultAction\":\"SCMP_ACT_ERRNO\",\"defaultErrnoRet\":4096}", "linux.seccomp.defaultErrnoRet",
               "4096", "[0, 4095]");
  parse_fails ("{\"defaultAction\":\"SCMP_ACT_ERRNO\",\"defaultErrnoRet\":-1}", "linux.seccomp.defaultErrnoRet",
               "-1", NULL);
  parse_fails ("{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"architectures\":[\"SCMP_ARCH_X86_64\",\"SCMP_ARCH_Z80\"]}",
               "linux.seccomp.architectures[1]", "\"SCMP_ARCH_Z80", "unknown seccomp architecture `SCMP_ARCH_Z80`");
  parse_fails ("{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"flags\":[\"SECCOMP_FILTER_FLAG_FAST\"]}",
               "linux.seccomp.flags[0]", "\"SECCOMP_FILTER_FLAG_FAST", "unknown seccomp flag");
  parse_fails ("{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"flags\":\"SECCOMP_FILTER_FLAG_LOG\"}", "linux.seccomp.flags",
               "\"SECCOMP_FILTER_FLAG_LOG", "expected an array");
  parse_fails ("{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"listenerPath\":1}", "linux.seccomp.listenerPath", "1}",
               NULL);
  parse_fails ("{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"syscalls\":{}}", "linux.seccomp.syscalls", "{}}",
               "expected an array");
}

static void
test_errors_rules (void **state)
{
  (void) state;
  const char *head = "{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"syscalls\":[{\"names\":[\"read\"],\"action\":"
                     "\"SCMP_ACT_ERRNO\"},";
  struct
  {
    const char *rule, *path, *at, *words;
  } cases[] = {
    { "7", "linux.seccomp.syscalls[1]", "7]", "expected an object" },
    { "{\"action\":\"SCMP_ACT_LOG\"}", "linux.seccomp.syscalls[1].names", "{\"action\":\"SCMP_ACT_LOG", "required" },
    { "{\"names\":[],\"action\":\"SCMP_ACT_LOG\"}", "linux.seccomp.syscalls[1].names", "[],", "at least one" },
    { "{\"names\":[\"read\",3],\"action\":\"SCMP_ACT_LOG\"}", "linux.seccomp.syscalls[1].names[1]", "3]",
      "expected a string" },
    { "{\"names\":[\"read\"]}", "linux.seccomp.syscalls[1].action", "{\"names\":[\"read\"]}", "required" },
    { "{\"names\":[\"read\"],\"action\":\"SCMP_ACT_KILL_ALL\"}", "linux.seccomp.syscalls[1].action",
      "\"SCMP_ACT_KILL_ALL", "unknown seccomp action" },
    { "{\"names\":[\"read\"],\"action\":\"SCMP_ACT_KILL\",\"errnoRet\":1}", "linux.seccomp.syscalls[1].errnoRet",
      "1}", "not SCMP_ACT_KILL" },
    { "{\"names\":[\"read\"],\"action\":\"SCMP_ACT_ERRNO\",\"errnoRet\":\"EPERM\"}",
      "linux.seccomp.syscalls[1].errnoRet", "\"EPERM", "expected a number" },
    { "{\"names\":[\"read\"],\"action\":\"SCMP_ACT_LOG\",\"args\":{}}", "linux.seccomp.syscalls[1].args", "{}}",
      "expected an array" },
    { "{\"names\":[\"read\"],\"action\":\"SCMP_ACT_LOG\",\"args\":[{\"index\":6,\"value\":1,\"op\":\"SCMP_CMP_EQ\"}]}",
      "linux.seccomp.syscalls[1].args[0].index", "6,", "[0, 5]" },
    { "{\"names\":[\"read\"],\"action\":\"SCMP_ACT_LOG\",\"args\":[{\"index\":0,\"op\":\"SCMP_CMP_EQ\"}]}",
      "linux.seccomp.syscalls[1].args[0]", "{\"index\":0,", "required" },
    { "{\"names\":[\"read\"],\"action\":\"SCMP_ACT_LOG\",\"args\":[{\"index\":0,\"value\":1}]}",
      "linux.seccomp.syscalls[1].args[0].op", "{\"index\":0,", "required" },
    { "{\"names\":[\"read\"],\"action\":\"SCMP_ACT_LOG\",\"args\":[{\"index\":0,\"value\":-1,\"op\":\"SCMP_CMP_EQ\"}]}",
      "linux.seccomp.syscalls[1].args[0].value", "-1", "non-negative" },
    { "{\"names\":[\"read\"],\"action\":\"SCMP_ACT_LOG\",\"args\":[{\"index\":0,\"value\":1,\"op\":\"SCMP_CMP_LIKE\"}]}",
      "linux.seccomp.syscalls[1].args[0].op", "\"SCMP_CMP_LIKE", "unknown seccomp operator `SCMP_CMP_LIKE`" },
  };
  for (size_t i = 0; i < ARRAY_SIZE (cases); i++)
    {
      _cleanup_free_ char *p = xasprintf ("%s%s]}", head, cases[i].rule);
      parse_fails (p, cases[i].path, cases[i].at, cases[i].words);
    }
}

/* The SCMP_ACT_NOTIFY rules that would hang or do nothing. */
static void
test_errors_notify (void **state)
{
  (void) state;
  parse_fails ("{\"defaultAction\":\"SCMP_ACT_NOTIFY\",\"listenerPath\":\"/a\"}", "linux.seccomp.defaultAction",
               "\"SCMP_ACT_NOTIFY", "cannot be used as the default action");
  parse_fails ("{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"listenerPath\":\"/a\",\"syscalls\":[{\"names\":[\"mkdir\","
               "\"write\"],\"action\":\"SCMP_ACT_NOTIFY\"}]}",
               "linux.seccomp.syscalls[0].names[1]", "\"write", "cannot be used for the write syscall");
  parse_fails ("{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"listenerPath\":\"/a\",\"syscalls\":[{\"names\":[\"sendmsg\"],"
               "\"action\":\"SCMP_ACT_NOTIFY\"}]}",
               "linux.seccomp.syscalls[0].names[0]", "\"sendmsg", "sendmsg");
  parse_fails ("{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"syscalls\":[{\"names\":[\"mkdir\"],"
               "\"action\":\"SCMP_ACT_NOTIFY\"}]}",
               "linux.seccomp", "{\"defaultAction", "needs listenerPath");
  parse_fails ("{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"listenerPath\":\"\",\"syscalls\":[{\"names\":[\"mkdir\"],"
               "\"action\":\"SCMP_ACT_NOTIFY\"}]}",
               "linux.seccomp", "{\"defaultAction", "needs listenerPath");
  parse_fails ("{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"flags\":[\"SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV\"]}",
               "linux.seccomp.flags", "[\"SECCOMP_FILTER_FLAG_WAIT", "needs an SCMP_ACT_NOTIFY rule");
  /* write under another action is fine. */
  struct olrun_spec *spec = parse_ok ("{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"syscalls\":[{\"names\":[\"write\"],"
                                      "\"action\":\"SCMP_ACT_LOG\"}]}");
  olrun_spec_free (spec);
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (test_full_profile), cmocka_unit_test (test_names),
    cmocka_unit_test (test_minimal),      cmocka_unit_test (test_errors_top),
    cmocka_unit_test (test_errors_rules), cmocka_unit_test (test_errors_notify),
  };
  return cmocka_run_group_tests (tests, NULL, NULL);
}

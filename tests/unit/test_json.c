/* runtime/json.c + runtime/jdec.c: the tree, its offsets, the typed
 * decoders and their errors. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>

#include "olrun/json.h"
#include "olrun/util.h"

static olrun_json_doc_t *
parse (const char *text)
{
  olrun_json_doc_t *doc = NULL;
  olrun_error_t err = NULL;
  if (olrun_json_parse (text, strlen (text), "t.json", &doc, &err) < 0)
    fail_msg ("unexpected error: %s", err->msg);
  return doc;
}

static void
test_offsets (void **state)
{
  const char *text = "{\"a\": [1, \"x\\\"y\", true, null], \"b\": {\"c\": -12}}";
  _cleanup_json_doc_ olrun_json_doc_t *doc = parse (text);
  const olrun_json_t *a = olrun_json_get (olrun_json_root (doc), "a");
  assert_int_equal (a->type, OLRUN_JSON_ARRAY);
  assert_int_equal (a->u.array.len, 4);
  /* Each node's span is exactly its text. */
  const char *expect[] = { "1", "\"x\\\"y\"", "true", "null" };
  for (size_t i = 0; i < 4; i++)
    {
      const olrun_json_t *n = a->u.array.items[i];
      assert_int_equal (n->end - n->offset, strlen (expect[i]));
      assert_memory_equal (text + n->offset, expect[i], strlen (expect[i]));
    }
  assert_string_equal (a->u.array.items[1]->u.string.str, "x\"y");
  const olrun_json_t *b = olrun_json_get (olrun_json_root (doc), "b");
  assert_int_equal (text[b->offset], '{');
  assert_int_equal (text[b->end - 1], '}');
}

static void
test_syntax_error_offset (void **state)
{
  const char *text = "{\"a\": [1,, 2]}";
  olrun_json_doc_t *doc = NULL;
  olrun_error_t err = NULL;
  assert_int_equal (olrun_json_parse (text, strlen (text), "t.json", &doc, &err), -1);
  assert_int_equal (err->kind, OLRUN_E_INVALID);
  assert_non_null (strstr (err->msg, "t.json: invalid JSON at byte 9"));
  olrun_error_release (&err);
  assert_int_equal (olrun_json_parse ("{\"a\": [", 7, "t.json", &doc, &err), -1);
  assert_non_null (strstr (err->msg, "at byte 7"));
  olrun_error_release (&err);
  assert_int_equal (olrun_json_parse ("", 0, "t.json", &doc, &err), -1);
  olrun_error_release (&err);
}

static void
test_duplicate_keys_last_wins (void **state)
{
  _cleanup_json_doc_ olrun_json_doc_t *doc = parse ("{\"k\": 1, \"k\": 2}");
  assert_string_equal (olrun_json_get (olrun_json_root (doc), "k")->u.number, "2");
}

static void
test_decoders_and_paths (void **state)
{
  const char *text = "{\"p\": {\"args\": [\"a\", 3], \"n\": 70000, \"u\": -1, \"s\": \"x\", \"b\": true}}";
  _cleanup_json_doc_ olrun_json_doc_t *doc = parse (text);
  olrun_error_t err = NULL;
  struct olrun_jdec d = { .doc = doc, .err = &err };
  const olrun_json_t *p = olrun_json_get (olrun_json_root (doc), "p");
  struct olrun_jpath pp = OLRUN_JPATH_KEY (NULL, "p");
  char **v = NULL;
  assert_int_equal (olrun_jdec_strv (&d, p, &pp, "args", true, &v), -1);
  assert_non_null (strstr (err->msg, "t.json: p.args[1]: expected a string, got a number (byte "));
  _cleanup_free_ char *at = xasprintf ("(byte %zu)", (size_t) (strstr (text, "3]") - text));
  assert_non_null (strstr (err->msg, at));
  olrun_error_release (&err);

  int64_t n = 0;
  assert_int_equal (olrun_jdec_int64 (&d, p, &pp, "n", 0, 65535, &n, NULL), -1);
  assert_non_null (strstr (err->msg, "p.n: expected an integer in [0, 65535], got 70000"));
  olrun_error_release (&err);
  uint64_t u = 0;
  assert_int_equal (olrun_jdec_uint64 (&d, p, &pp, "u", &u, NULL), -1);
  olrun_error_release (&err);

  _cleanup_free_ char *s = NULL;
  bool b = false, present = false;
  assert_int_equal (olrun_jdec_string (&d, p, &pp, "s", true, &s), 0);
  assert_string_equal (s, "x");
  assert_int_equal (olrun_jdec_bool (&d, p, &pp, "b", &b), 0);
  assert_true (b);
  assert_int_equal (olrun_jdec_int64 (&d, p, &pp, "absent", 0, 1, &n, &present), 0);
  assert_false (present);
  assert_int_equal (olrun_jdec_string (&d, p, &pp, "absent", true, &s), -1);
  assert_non_null (strstr (err->msg, "p.absent: required but missing"));
  olrun_error_release (&err);
}

static void
test_nul_in_string_refused (void **state)
{
  const char text[] = "{\"s\": \"a\\u0000b\"}";
  _cleanup_json_doc_ olrun_json_doc_t *doc = parse (text);
  olrun_error_t err = NULL;
  struct olrun_jdec d = { .doc = doc, .err = &err };
  char *s = NULL;
  assert_int_equal (olrun_jdec_string (&d, olrun_json_root (doc), NULL, "s", true, &s), -1);
  assert_non_null (strstr (err->msg, "NUL"));
  olrun_error_release (&err);
}

static void
test_writer_round_trip (void **state)
{
  _cleanup_json_doc_ olrun_json_doc_t *doc = parse ("{\"a\": [1, 2.5, \"t\\n\"], \"b\": {}, \"c\": null}");
  olrun_jw_t *w = olrun_jw_new (false);
  olrun_jw_node (w, olrun_json_root (doc));
  assert_string_equal (olrun_jw_text (w, NULL), "{\"a\":[1,2.5,\"t\\n\"],\"b\":{},\"c\":null}");
  olrun_jw_free (w);
}

static void
test_deep_nesting (void **state)
{
  /* The tree is built without recursion: deep input cannot blow the stack. */
  size_t depth = 100000;
  char *text = xmalloc (2 * depth + 1);
  memset (text, '[', depth);
  memset (text + depth, ']', depth);
  text[2 * depth] = '\0';
  olrun_json_doc_t *doc = NULL;
  olrun_error_t err = NULL;
  int rc = olrun_json_parse (text, 2 * depth, "deep.json", &doc, &err);
  if (rc == 0)
    olrun_json_doc_free (doc);
  else
    olrun_error_release (&err);
  free (text);
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (test_offsets),
    cmocka_unit_test (test_syntax_error_offset),
    cmocka_unit_test (test_duplicate_keys_last_wins),
    cmocka_unit_test (test_decoders_and_paths),
    cmocka_unit_test (test_nul_in_string_refused),
    cmocka_unit_test (test_writer_round_trip),
    cmocka_unit_test (test_deep_nesting),
  };
  return cmocka_run_group_tests (tests, NULL, NULL);
}

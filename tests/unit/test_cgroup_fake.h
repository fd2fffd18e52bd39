/* A fake cgroup directory for the cgroup unit tests: cgroup/ takes a
 * directory fd, so a mkdtemp() directory with plain files stands in for
 * /sys/fs/cgroup/<path> and no root is needed. */
#ifndef TEST_CGROUP_FAKE_H
#define TEST_CGROUP_FAKE_H

#include <fcntl.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <string.h>
#include <sys/stat.h>
#include <cmocka.h>

#include "olrun/json.h"
#include "olrun/spec.h"
#include "olrun/util.h"

struct fake
{
  char dir[64];
  int fd;
};

static inline void
fake_open (struct fake *f)
{
  strcpy (f->dir, "/tmp/olrun-cgtest-XXXXXX");
  assert_non_null (mkdtemp (f->dir));
  f->fd = open (f->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  assert_true (f->fd >= 0);
}

static inline void
fake_close (struct fake *f)
{
  olrun_error_t err = NULL;
  char *slash = strrchr (f->dir, '/');
  *slash = '\0';
  int parent = open (f->dir, O_RDONLY | O_DIRECTORY);
  *slash = '/';
  assert_int_equal (olrun_rm_rf_at (parent, slash + 1, &err), 0);
  close (parent);
  close (f->fd);
}

/* Create (or replace) a file in dirfd with the given content. */
static inline void
fake_put (int dirfd, const char *name, const char *content)
{
  int fd = openat (dirfd, name, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  assert_true (fd >= 0);
  assert_int_equal (write (fd, content, strlen (content)), (ssize_t) strlen (content));
  close (fd);
}

/* The file's content, or NULL when missing (caller frees). */
static inline char *
fake_get (int dirfd, const char *name)
{
  olrun_error_t err = NULL;
  char *s = NULL;
  if (olrun_read_file_at (dirfd, name, &s, NULL, &err) < 0)
    {
      olrun_error_release (&err);
      return NULL;
    }
  return s;
}

static inline void
assert_file (int dirfd, const char *name, const char *want)
{
  char *got = fake_get (dirfd, name);
  assert_non_null (got);
  assert_string_equal (got, want);
  free (got);
}

/* Parse a resources object as if it were config.json's linux.resources:
 * errors read "test.json: linux.resources.<path>: ...". */
static inline int
parse_res (const char *json, struct olrun_resources **ret, olrun_error_t *err)
{
  olrun_json_doc_t *doc = NULL;
  if (olrun_json_parse (json, strlen (json), "test.json", &doc, err) < 0)
    return -1;
  struct olrun_jdec d = { doc, err };
  struct olrun_jpath lp = OLRUN_JPATH_KEY (NULL, "linux");
  struct olrun_jpath rp = OLRUN_JPATH_KEY (&lp, "resources");
  int rc = olrun_spec_parse_resources (&d, olrun_json_root (doc), &rp, ret);
  olrun_json_doc_free (doc);
  return rc;
}

/* Expect a parse error whose message contains each of the given words. */
static inline void
expect_parse_error (const char *json, const char *needle1, const char *needle2)
{
  olrun_error_t err = NULL;
  struct olrun_resources *r = NULL;
  assert_int_equal (parse_res (json, &r, &err), -1);
  assert_null (r);
  assert_non_null (err);
  if (strstr (err->msg, needle1) == NULL || (needle2 && strstr (err->msg, needle2) == NULL))
    fail_msg ("error `%s` lacks `%s`/`%s`", err->msg, needle1, needle2 ? needle2 : "");
  olrun_error_release (&err);
}

#endif

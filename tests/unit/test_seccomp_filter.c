/* seccomp/filter.c and seccomp/cache.c: compiling, and the BPF cache
 * (hits, misses, and every way an entry can be wrong). */
#include <dirent.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <sys/stat.h>

#include <cmocka.h>

#include "olrun/json.h"
#include "olrun/seccomp.h"
#include "olrun/spec.h"
#include "olrun/util.h"
#include "seccomp/seccomp_internal.h"

struct profile
{
  olrun_json_doc_t *doc;
  struct olrun_seccomp *s;
  const char *raw;
  size_t raw_len;
};

static void
profile_load (struct profile *p, const char *json)
{
  olrun_error_t err = NULL;
  if (olrun_json_parse (json, strlen (json), "profile.json", &p->doc, &err) < 0)
    fail_msg ("%s", err->msg);
  const olrun_json_t *root = olrun_json_root (p->doc);
  struct olrun_jdec d = { .doc = p->doc, .err = &err };
  if (olrun_spec_parse_seccomp (&d, root, NULL, &p->s) < 0)
    fail_msg ("%s", err->msg);
  p->raw = olrun_json_doc_text (p->doc) + root->offset;
  p->raw_len = root->end - root->offset;
}

static void
profile_clear (struct profile *p)
{
  olrun_seccomp_free (p->s);
  olrun_json_doc_free (p->doc);
}

static struct olrun_seccomp_program *
prepare (const char *json, const char *cache)
{
  struct profile p = { 0 };
  profile_load (&p, json);
  struct olrun_seccomp_program *prog = NULL;
  olrun_error_t err = NULL;
  if (olrun_seccomp_prepare (p.s, p.raw, p.raw_len, cache, &prog, &err) < 0)
    fail_msg ("%s", err->msg);
  profile_clear (&p);
  return prog;
}

static const char *const BASE = "{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"syscalls\":[{\"names\":[\"getppid\"],"
                                "\"action\":\"SCMP_ACT_ERRNO\",\"errnoRet\":9}]}";

static char *
make_tmpdir (void)
{
  char *d = xstrdup ("/tmp/olrun-test-seccomp.XXXXXX");
  assert_non_null (mkdtemp (d));
  return d;
}

static void
remove_tmpdir (char *d)
{
  olrun_error_t err = NULL;
  assert_int_equal (olrun_rm_rf_at (AT_FDCWD, d, &err), 0);
  free (d);
}

/* The one entry in a cache dir (there must be exactly one). */
static char *
only_entry (const char *dir)
{
  DIR *d = opendir (dir);
  assert_non_null (d);
  char *name = NULL;
  struct dirent *de;
  while ((de = readdir (d)))
    if (de->d_name[0] != '.')
      {
        assert_null (name);
        name = xasprintf ("%s/%s", dir, de->d_name);
      }
  closedir (d);
  assert_non_null (name);
  return name;
}

static size_t
count_entries (const char *dir)
{
  DIR *d = opendir (dir);
  assert_non_null (d);
  size_t n = 0;
  struct dirent *de;
  while ((de = readdir (d)))
    n += de->d_name[0] != '.';
  closedir (d);
  return n;
}

static void
assert_same_program (const struct olrun_seccomp_program *a, const struct olrun_seccomp_program *b)
{
  assert_int_equal (a->len, b->len);
  assert_memory_equal (a->insns, b->insns, a->len * sizeof *a->insns);
}

static void
test_compile (void **state)
{
  (void) state;
  struct olrun_seccomp_program *p = prepare (BASE, NULL);
  assert_true (p->len > 4);
  assert_false (p->from_cache);
  assert_false (p->notify);
  assert_int_equal (p->kernel_flags, 0);
  /* Unknown syscall names are skipped, and so is a rule that repeats the
   * default action: both compile to the same program as without them. */
  struct olrun_seccomp_program *q
      = prepare ("{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"syscalls\":[{\"names\":[\"getppid\",\"no_such_call\"],"
                 "\"action\":\"SCMP_ACT_ERRNO\",\"errnoRet\":9},{\"names\":[\"read\"],\"action\":\"SCMP_ACT_ALLOW\"},"
                 "{\"names\":[\"not_a_syscall\"],\"action\":\"SCMP_ACT_KILL\"}]}",
                 NULL);
  assert_same_program (p, q);
  olrun_seccomp_program_free (q);
  /* A different errno is a different program. */
  q = prepare ("{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"syscalls\":[{\"names\":[\"getppid\"],"
               "\"action\":\"SCMP_ACT_ERRNO\",\"errnoRet\":10}]}",
               NULL);
  assert_int_equal (p->len, q->len);
  assert_memory_not_equal (p->insns, q->insns, p->len * sizeof *p->insns);
  olrun_seccomp_program_free (q);
  olrun_seccomp_program_free (p);
}

static void
test_flags (void **state)
{
  (void) state;
  struct olrun_seccomp_program *p
      = prepare ("{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"flags\":[\"SECCOMP_FILTER_FLAG_LOG\","
                 "\"SECCOMP_FILTER_FLAG_SPEC_ALLOW\"]}",
                 NULL);
  assert_int_equal (p->kernel_flags, SECCOMP_FILTER_FLAG_LOG | SECCOMP_FILTER_FLAG_SPEC_ALLOW);
  olrun_seccomp_program_free (p);
  p = prepare ("{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"listenerPath\":\"/x\",\"flags\":[\"SECCOMP_FILTER_FLAG_TSYNC\","
               "\"SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV\"],\"syscalls\":[{\"names\":[\"mkdir\"],"
               "\"action\":\"SCMP_ACT_NOTIFY\"}]}",
               NULL);
  assert_true (p->notify);
  assert_int_equal (p->kernel_flags, SECCOMP_FILTER_FLAG_TSYNC | SECCOMP_FILTER_FLAG_TSYNC_ESRCH
                                         | SECCOMP_FILTER_FLAG_NEW_LISTENER
                                         | SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV);
  olrun_seccomp_program_free (p);
  /* Kernel 6.18 knows all of them. */
  for (size_t i = 0; olrun_seccomp_flag_name (i); i++)
    assert_true (olrun_seccomp_flag_supported (1u << i));
  assert_false (olrun_seccomp_flag_supported (1u << 20));
}

static void
test_arches (void **state)
{
  (void) state;
  struct olrun_seccomp_program *one = prepare (BASE, NULL);
  struct olrun_seccomp_program *three
      = prepare ("{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"architectures\":[\"SCMP_ARCH_X86_64\",\"SCMP_ARCH_X86\","
                 "\"SCMP_ARCH_X32\"],\"syscalls\":[{\"names\":[\"getppid\"],\"action\":\"SCMP_ACT_ERRNO\","
                 "\"errnoRet\":9}]}",
                 NULL);
  /* Each added architecture brings its own section. */
  assert_true (three->len > one->len);
  olrun_seccomp_program_free (one);
  olrun_seccomp_program_free (three);
  struct profile p = { 0 };
  profile_load (&p, "{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"architectures\":[\"SCMP_ARCH_LOONGARCH64\"]}");
  struct olrun_seccomp_program *prog = NULL;
  _cleanup_error_ olrun_error_t err = NULL;
  int rc = olrun_seccomp_prepare (p.s, p.raw, p.raw_len, NULL, &prog, &err);
  if (rc < 0)
    {
      /* libseccomp 2.5 lacks it: refused by name, not ignored. */
      assert_int_equal (err->kind, OLRUN_E_UNSUPPORTED);
      assert_non_null (strstr (err->msg, "SCMP_ARCH_LOONGARCH64 is not supported by libseccomp"));
    }
  olrun_seccomp_program_free (prog);
  profile_clear (&p);
}

/* Two comparisons of one argument become two rules (runc's reading). */
static void
test_repeated_argument (void **state)
{
  (void) state;
  struct olrun_seccomp_program *p
      = prepare ("{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"syscalls\":[{\"names\":[\"getppid\"],"
                 "\"action\":\"SCMP_ACT_ERRNO\",\"args\":[{\"index\":0,\"value\":1,\"op\":\"SCMP_CMP_EQ\"},"
                 "{\"index\":0,\"value\":2,\"op\":\"SCMP_CMP_EQ\"}]}]}",
                 NULL);
  assert_true (p->len > 0);
  olrun_seccomp_program_free (p);
}

static void
test_cache_hit (void **state)
{
  (void) state;
  char *tmp = make_tmpdir ();
  _cleanup_free_ char *dir = xasprintf ("%s/a/b/seccomp-cache", tmp);
  struct olrun_seccomp_program *first = prepare (BASE, dir);
  assert_false (first->from_cache);
  /* The directory was created 0700 with one entry, 0600. */
  struct stat st;
  assert_int_equal (stat (dir, &st), 0);
  assert_int_equal (st.st_mode & 07777, 0700);
  _cleanup_free_ char *entry = only_entry (dir);
  assert_int_equal (stat (entry, &st), 0);
  assert_int_equal (st.st_mode & 07777, 0600);
  struct olrun_seccomp_program *second = prepare (BASE, dir);
  assert_true (second->from_cache);
  assert_same_program (first, second);
  /* Another profile text (even one byte) misses and adds an entry. */
  struct olrun_seccomp_program *third
      = prepare ("{\"defaultAction\":\"SCMP_ACT_ALLOW\", \"syscalls\":[{\"names\":[\"getppid\"],"
                 "\"action\":\"SCMP_ACT_ERRNO\",\"errnoRet\":9}]}",
                 dir);
  assert_false (third->from_cache);
  assert_int_equal (count_entries (dir), 2);
  olrun_seccomp_program_free (first);
  olrun_seccomp_program_free (second);
  olrun_seccomp_program_free (third);
  remove_tmpdir (tmp);
}

/* Damage the entry with `damage`, check that the next prepare compiles
 * (and gets the right program), and that the one after hits again. */
static void
check_recovers (const char *what, void (*damage) (const char *dir, const char *entry))
{
  char *dir = make_tmpdir ();
  struct olrun_seccomp_program *good = prepare (BASE, dir);
  _cleanup_free_ char *entry = only_entry (dir);
  damage (dir, entry);
  struct olrun_seccomp_program *p = prepare (BASE, dir);
  if (p->from_cache)
    fail_msg ("a %s entry was used", what);
  assert_same_program (good, p);
  struct olrun_seccomp_program *q = prepare (BASE, dir);
  if (!q->from_cache)
    fail_msg ("the %s entry was not replaced", what);
  assert_same_program (good, q);
  olrun_seccomp_program_free (good);
  olrun_seccomp_program_free (p);
  olrun_seccomp_program_free (q);
  remove_tmpdir (dir);
}

static void
rewrite (const char *entry, void (*edit) (char *buf, size_t *len))
{
  char *buf = NULL;
  size_t len = 0;
  olrun_error_t err = NULL;
  assert_int_equal (olrun_read_file_at (AT_FDCWD, entry, &buf, &len, &err), 0);
  edit (buf, &len);
  int fd = open (entry, O_WRONLY | O_TRUNC);
  assert_true (fd >= 0);
  assert_int_equal (olrun_write_all (fd, buf, len), 0);
  close (fd);
  free (buf);
}

static void
flip_last (char *buf, size_t *len)
{
  buf[*len - 3] ^= 0x40; /* inside the last instruction */
}
static void
cut (char *buf, size_t *len)
{
  (void) buf;
  *len -= 8;
}
static void
flip_text (char *buf, size_t *len)
{
  char *p = memmem (buf, *len, "getppid", 7);
  assert_non_null (p);
  p[0] = 'G';
}
static void
damage_body (const char *dir, const char *entry)
{
  (void) dir;
  rewrite (entry, flip_last);
}
static void
damage_truncate (const char *dir, const char *entry)
{
  (void) dir;
  rewrite (entry, cut);
}
static void
damage_text (const char *dir, const char *entry)
{
  (void) dir;
  rewrite (entry, flip_text);
}
static void
damage_empty (const char *dir, const char *entry)
{
  (void) dir;
  assert_int_equal (truncate (entry, 0), 0);
}
static void
damage_mode (const char *dir, const char *entry)
{
  (void) dir;
  assert_int_equal (chmod (entry, 0666), 0);
}
static void
damage_owner (const char *dir, const char *entry)
{
  (void) dir;
  assert_int_equal (chown (entry, 65534, 65534), 0);
}
/* An entry that is a symlink to a valid one elsewhere. */
static void
damage_symlink (const char *dir, const char *entry)
{
  _cleanup_free_ char *elsewhere = xasprintf ("%s/../%s", dir, strrchr (entry, '/') + 1);
  assert_int_equal (rename (entry, elsewhere), 0);
  assert_int_equal (symlink (elsewhere, entry), 0);
}
/* Another profile's valid entry under this profile's name: what a name
 * collision looks like. */
static void
damage_other_profile (const char *dir, const char *entry)
{
  char *other_dir = make_tmpdir ();
  olrun_seccomp_program_free (prepare ("{\"defaultAction\":\"SCMP_ACT_LOG\"}", other_dir));
  _cleanup_free_ char *other = only_entry (other_dir);
  assert_int_equal (rename (other, entry), 0);
  remove_tmpdir (other_dir);
  (void) dir;
}

static void
test_cache_corrupt (void **state)
{
  (void) state;
  check_recovers ("bit-flipped", damage_body);
  check_recovers ("truncated", damage_truncate);
  check_recovers ("empty", damage_empty);
  check_recovers ("other-text", damage_text);
  check_recovers ("world-writable", damage_mode);
  check_recovers ("foreign", damage_other_profile);
  check_recovers ("symlinked", damage_symlink);
  if (geteuid () == 0)
    check_recovers ("foreign-owned", damage_owner);
}

/* A directory others may write is not used at all. */
static void
test_cache_untrusted_dir (void **state)
{
  (void) state;
  char *dir = make_tmpdir ();
  assert_int_equal (chmod (dir, 0777), 0);
  struct olrun_seccomp_program *p = prepare (BASE, dir);
  assert_false (p->from_cache);
  assert_int_equal (count_entries (dir), 0);
  olrun_seccomp_program_free (p);
  /* Nor one reached through a symlink (O_NOFOLLOW on the last part). */
  assert_int_equal (chmod (dir, 0700), 0);
  _cleanup_free_ char *link = xasprintf ("%s.link", dir);
  assert_int_equal (symlink (dir, link), 0);
  p = prepare (BASE, link);
  assert_false (p->from_cache);
  assert_int_equal (count_entries (dir), 0);
  olrun_seccomp_program_free (p);
  unlink (link);
  /* An unusable cache dir is no error: the filter is compiled. */
  p = prepare (BASE, "/proc/version/cache");
  assert_false (p->from_cache);
  olrun_seccomp_program_free (p);
  remove_tmpdir (dir);
}

static void
test_cache_evict (void **state)
{
  (void) state;
  char *dir = make_tmpdir ();
  for (int i = 0; i < 140; i++)
    {
      _cleanup_free_ char *f = xasprintf ("%s/%016x.bpf", dir, i);
      int fd = open (f, O_WRONLY | O_CREAT, 0600);
      assert_true (fd >= 0);
      close (fd);
    }
  _cleanup_free_ char *other = xasprintf ("%s/not-an-entry", dir);
  int fd = open (other, O_WRONLY | O_CREAT, 0600);
  close (fd);
  struct olrun_seccomp_program *p = prepare (BASE, dir);
  olrun_seccomp_program_free (p);
  /* 141 entries: the older 70 went, foreign files stayed, the new entry
   * is there. */
  assert_int_equal (count_entries (dir), 141 - 70 + 1);
  assert_int_equal (access (other, F_OK), 0);
  p = prepare (BASE, dir);
  assert_true (p->from_cache);
  olrun_seccomp_program_free (p);
  remove_tmpdir (dir);
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (test_compile),
    cmocka_unit_test (test_flags),
    cmocka_unit_test (test_arches),
    cmocka_unit_test (test_repeated_argument),
    cmocka_unit_test (test_cache_hit),
    cmocka_unit_test (test_cache_corrupt),
    cmocka_unit_test (test_cache_untrusted_dir),
    cmocka_unit_test (test_cache_evict),
  };
  return cmocka_run_group_tests (tests, NULL, NULL);
}

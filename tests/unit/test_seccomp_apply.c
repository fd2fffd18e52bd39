/* The effects of a loaded filter, checked in forked children: every action,
 * every operator, the flags, the no_new_privs rule and the notify
 * hand-over to an agent (the library's own olrun_seccomp_send_listener). */
#include <errno.h>
#include <fcntl.h>
#include <linux/seccomp.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>

#include <cmocka.h>

#include "olrun/json.h"
#include "olrun/seccomp.h"
#include "olrun/spec.h"
#include "olrun/util.h"

struct loaded
{
  olrun_json_doc_t *doc;
  struct olrun_seccomp *s;
  struct olrun_seccomp_program *prog;
};

static void
load (struct loaded *l, const char *json)
{
  olrun_error_t err = NULL;
  if (olrun_json_parse (json, strlen (json), "profile.json", &l->doc, &err) < 0)
    fail_msg ("%s", err->msg);
  const olrun_json_t *root = olrun_json_root (l->doc);
  struct olrun_jdec d = { .doc = l->doc, .err = &err };
  if (olrun_spec_parse_seccomp (&d, root, NULL, &l->s) < 0
      || olrun_seccomp_prepare (l->s, NULL, 0, NULL, &l->prog, &err) < 0)
    fail_msg ("%s", err->msg);
}

static void
unload (struct loaded *l)
{
  olrun_seccomp_program_free (l->prog);
  olrun_seccomp_free (l->s);
  olrun_json_doc_free (l->doc);
}

enum
{
  RUN_NO_NNP = 1,      /* do not set no_new_privs */
  RUN_DROP_ROOT = 2,   /* become uid 65534 first (no CAP_SYS_ADMIN) */
};

#define INSTALL_FAILED 100

/* The child's side: what the runtime does right before execve. */
static _Noreturn void
child (const struct loaded *l, int flags, int (*body) (void))
{
  struct rlimit no_core = { 0, 0 };
  setrlimit (RLIMIT_CORE, &no_core); /* SIGSYS dumps core by default */
  signal (SIGSYS, SIG_DFL);          /* cmocka's handler would catch it */
  if ((flags & RUN_DROP_ROOT) && setresuid (65534, 65534, 65534) < 0)
    _exit (INSTALL_FAILED + 1);
  if (!(flags & RUN_NO_NNP) && prctl (PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
    _exit (INSTALL_FAILED + 2);
  olrun_error_t err = NULL;
  int listener = -1;
  if (olrun_seccomp_install (l->prog, &listener, &err) < 0)
    {
      /* Tell the parent what went wrong through the exit status alone:
       * writing could itself be filtered. */
      _exit (strstr (err->msg, "no_new_privs or CAP_SYS_ADMIN") ? INSTALL_FAILED + 3 : INSTALL_FAILED);
    }
  _exit (body ());
}

/* Run body() in a child under `json`; returns the wait status. */
static int
run_under (const char *json, int flags, int (*body) (void))
{
  struct loaded l = { 0 };
  load (&l, json);
  pid_t pid = fork ();
  assert_true (pid >= 0);
  if (pid == 0)
    child (&l, flags, body);
  int status;
  assert_int_equal (waitpid (pid, &status, 0), pid);
  unload (&l);
  return status;
}

static void
assert_exit (int status, int code)
{
  if (!WIFEXITED (status))
    fail_msg ("child killed by signal %d", WTERMSIG (status));
  assert_int_equal (WEXITSTATUS (status), code);
}

static void
assert_killed (int status, int sig)
{
  if (!WIFSIGNALED (status))
    fail_msg ("child exited with %d", WEXITSTATUS (status));
  assert_int_equal (WTERMSIG (status), sig);
}

/* getppid ignores its arguments but seccomp sees the registers, so it is
 * the probe: any arguments, no side effects. */
static long
probe (uint64_t a0, uint64_t a1)
{
  return syscall (SYS_getppid, a0, a1);
}

static pid_t parent_pid;

static int
fails_with_42 (void)
{
  return probe (0, 0) == -1 && errno == 42 ? 0 : 1;
}
static int
fails_with_eperm (void)
{
  return probe (0, 0) == -1 && errno == EPERM ? 0 : 1;
}
static int
fails_with_enosys (void)
{
  return probe (0, 0) == -1 && errno == ENOSYS ? 0 : 1;
}
static int
succeeds (void)
{
  return probe (0, 0) == parent_pid ? 0 : 1;
}

#define RULE(action, extra)                                                                                       \
  "{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"syscalls\":[{\"names\":[\"getppid\"],\"action\":\"" action "\"" extra \
  "}]}"

static void
test_errno (void **state)
{
  (void) state;
  assert_exit (run_under (RULE ("SCMP_ACT_ERRNO", ",\"errnoRet\":42"), 0, fails_with_42), 0);
  assert_exit (run_under (RULE ("SCMP_ACT_ERRNO", ""), 0, fails_with_eperm), 0);
  /* The check can fail: without the rule getppid works. */
  assert_exit (run_under ("{\"defaultAction\":\"SCMP_ACT_ALLOW\"}", 0, fails_with_42), 1);
  assert_exit (run_under ("{\"defaultAction\":\"SCMP_ACT_ALLOW\"}", 0, succeeds), 0);
}

/* What the ASan runtime calls on its own in a child that exits. */
#ifdef __SANITIZE_ADDRESS__
#define SANITIZER_SYSCALLS                                                                                      \
  ",\"sigaltstack\",\"mmap\",\"munmap\",\"mprotect\",\"madvise\",\"write\",\"rt_sigprocmask\","               \
  "\"rt_sigaction\",\"gettid\",\"getpid\",\"futex\",\"sched_yield\",\"prctl\",\"clone\",\"clone3\","          \
  "\"ptrace\",\"wait4\",\"openat\",\"read\",\"close\",\"readlink\",\"readlinkat\",\"getdents64\","         \
  "\"newfstatat\",\"fstat\",\"lseek\",\"pread64\""
#else
#define SANITIZER_SYSCALLS ""
#endif

/* defaultAction with defaultErrnoRet, and ALLOW rules punching through. */
static int
default_denies (void)
{
  long ok = probe (0, 0);
  long denied = syscall (SYS_getuid);
  if (ok != parent_pid)
    return 1;
  return denied == -1 && errno == 77 ? 0 : 2;
}

static void
test_default_and_allow (void **state)
{
  (void) state;
  const char *p = "{\"defaultAction\":\"SCMP_ACT_ERRNO\",\"defaultErrnoRet\":77,\"syscalls\":[{\"names\":["
                  "\"getppid\",\"exit_group\",\"exit\"" SANITIZER_SYSCALLS "],\"action\":\"SCMP_ACT_ALLOW\"}]}";
  assert_exit (run_under (p, 0, default_denies), 0);
}

static void
test_log (void **state)
{
  (void) state;
  assert_exit (run_under (RULE ("SCMP_ACT_LOG", ""), 0, succeeds), 0);
}

static void *
probe_thread (void *arg)
{
  (void) arg;
  probe (0, 0);
  return NULL;
}

/* A thread makes the call; the main thread survives it or not. */
static int
call_from_thread (void)
{
  pthread_t t;
  if (pthread_create (&t, NULL, probe_thread, NULL) != 0)
    return 2;
  pthread_join (t, NULL);
  return 3;
}

static void
test_kill (void **state)
{
  (void) state;
  assert_killed (run_under (RULE ("SCMP_ACT_KILL", ""), 0, succeeds), SIGSYS);
  assert_killed (run_under (RULE ("SCMP_ACT_KILL_THREAD", ""), 0, succeeds), SIGSYS);
  assert_killed (run_under (RULE ("SCMP_ACT_KILL_PROCESS", ""), 0, succeeds), SIGSYS);
  /* KILL and KILL_THREAD take only the calling thread, KILL_PROCESS all. */
  assert_exit (run_under (RULE ("SCMP_ACT_KILL", ""), 0, call_from_thread), 3);
  assert_exit (run_under (RULE ("SCMP_ACT_KILL_THREAD", ""), 0, call_from_thread), 3);
  assert_killed (run_under (RULE ("SCMP_ACT_KILL_PROCESS", ""), 0, call_from_thread), SIGSYS);
}

static volatile sig_atomic_t trapped;

static void
on_sigsys (int sig, siginfo_t *si, void *ctx)
{
  (void) sig;
  (void) ctx;
  if (si->si_code == 1 /* SYS_SECCOMP */ && si->si_syscall == SYS_getppid)
    trapped = 1;
}

static int
traps (void)
{
  struct sigaction sa = { .sa_sigaction = on_sigsys, .sa_flags = SA_SIGINFO };
  sigaction (SIGSYS, &sa, NULL);
  probe (0, 0);
  return trapped ? 0 : 1;
}

static void
test_trap (void **state)
{
  (void) state;
  assert_exit (run_under (RULE ("SCMP_ACT_TRAP", ""), 0, traps), 0);
  /* Without a handler SIGSYS kills. */
  assert_killed (run_under (RULE ("SCMP_ACT_TRAP", ""), 0, succeeds), SIGSYS);
}

/* TRACE: without a tracer the call fails with ENOSYS; with one, the tracer
 * stops at it and reads errnoRet as the event message. */
static void
test_trace (void **state)
{
  (void) state;
  assert_exit (run_under (RULE ("SCMP_ACT_TRACE", ",\"errnoRet\":4242"), 0, fails_with_enosys), 0);

  struct loaded l = { 0 };
  load (&l, RULE ("SCMP_ACT_TRACE", ",\"errnoRet\":4242"));
  pid_t pid = fork ();
  assert_true (pid >= 0);
  if (pid == 0)
    {
      if (ptrace (PTRACE_TRACEME, 0, NULL, NULL) < 0)
        _exit (90);
      raise (SIGSTOP);
      child (&l, 0, succeeds);
    }
  int status;
  assert_int_equal (waitpid (pid, &status, 0), pid);
  assert_true (WIFSTOPPED (status));
  assert_int_equal (ptrace (PTRACE_SETOPTIONS, pid, NULL, (void *) (PTRACE_O_TRACESECCOMP | PTRACE_O_EXITKILL)), 0);
  assert_int_equal (ptrace (PTRACE_CONT, pid, NULL, NULL), 0);
  unsigned long msg = 0;
  bool seen = false;
  for (;;)
    {
      assert_int_equal (waitpid (pid, &status, 0), pid);
      if (!WIFSTOPPED (status))
        break;
      if (status >> 8 == (SIGTRAP | (PTRACE_EVENT_SECCOMP << 8)))
        {
          seen = true;
          assert_int_equal (ptrace (PTRACE_GETEVENTMSG, pid, NULL, &msg), 0);
        }
      int sig = WSTOPSIG (status) == SIGTRAP ? 0 : WSTOPSIG (status);
      assert_int_equal (ptrace (PTRACE_CONT, pid, NULL, (void *) (long) sig), 0);
    }
  assert_true (seen);
  assert_int_equal (msg, 4242);
  /* The tracer let the call run. */
  assert_exit (status, 0);
  unload (&l);
}

/* Operators: the rule fails getppid with errno 99 when the comparison on
 * argument 0 holds; each case names a value for which it holds and one
 * for which it does not. */
static const struct op_case
{
  const char *op;
  uint64_t value, value_two, hit, miss;
} op_cases[] = {
  { "SCMP_CMP_NE", 5, 0, 6, 5 },
  { "SCMP_CMP_LT", 5, 0, 4, 5 },
  { "SCMP_CMP_LE", 5, 0, 5, 6 },
  { "SCMP_CMP_EQ", 5, 0, 5, 4 },
  { "SCMP_CMP_GE", 5, 0, 5, 4 },
  { "SCMP_CMP_GT", 5, 0, 6, 5 },
  { "SCMP_CMP_MASKED_EQ", 0xf0, 0x20, 0x25, 0x35 },
  /* 64-bit values: BPF compares 32-bit halves, libseccomp must join them. */
  { "SCMP_CMP_EQ", 0x100000005ULL, 0, 0x100000005ULL, 5 },
  { "SCMP_CMP_GT", 0xffffffffULL, 0, 0x100000000ULL, 0xffffffffULL },
  { "SCMP_CMP_MASKED_EQ", 0xff00000000000000ULL, 0x4200000000000000ULL, 0x42000000deadbeefULL, 0x43ULL },
};
static const struct op_case *current;

static int
op_holds (void)
{
  long hit = probe (current->hit, 0);
  int hit_errno = errno;
  long miss = probe (current->miss, 0);
  return hit == -1 && hit_errno == 99 && miss == parent_pid ? 0 : 1;
}

static void
test_operators (void **state)
{
  (void) state;
  for (size_t i = 0; i < ARRAY_SIZE (op_cases); i++)
    {
      current = &op_cases[i];
      _cleanup_free_ char *p = xasprintf (
          RULE ("SCMP_ACT_ERRNO", ",\"errnoRet\":99,\"args\":[{\"index\":0,\"value\":%llu,\"valueTwo\":%llu,"
                                  "\"op\":\"%s\"}]"),
          (unsigned long long) current->value, (unsigned long long) current->value_two, current->op);
      int status = run_under (p, 0, op_holds);
      if (!WIFEXITED (status) || WEXITSTATUS (status) != 0)
        fail_msg ("case %zu (%s %llx): status %#x", i, current->op, (unsigned long long) current->value, status);
    }
}

/* Comparisons on different arguments must all hold; two on the same
 * argument are alternatives (each its own rule, as runc reads them). */
static int
and_semantics (void)
{
  long both = probe (1, 2);
  int e = errno;
  return both == -1 && e == 99 && probe (1, 3) == parent_pid && probe (0, 2) == parent_pid ? 0 : 1;
}
static int
or_semantics (void)
{
  long a = probe (1, 0);
  int ea = errno;
  long b = probe (2, 0);
  int eb = errno;
  return a == -1 && ea == 99 && b == -1 && eb == 99 && probe (3, 0) == parent_pid ? 0 : 1;
}

static void
test_argument_combinations (void **state)
{
  (void) state;
  assert_exit (run_under (RULE ("SCMP_ACT_ERRNO", ",\"errnoRet\":99,\"args\":["
                                                  "{\"index\":0,\"value\":1,\"op\":\"SCMP_CMP_EQ\"},"
                                                  "{\"index\":1,\"value\":2,\"op\":\"SCMP_CMP_EQ\"}]"),
                          0, and_semantics),
               0);
  assert_exit (run_under (RULE ("SCMP_ACT_ERRNO", ",\"errnoRet\":99,\"args\":["
                                                  "{\"index\":0,\"value\":1,\"op\":\"SCMP_CMP_EQ\"},"
                                                  "{\"index\":0,\"value\":2,\"op\":\"SCMP_CMP_EQ\"}]"),
                          0, or_semantics),
               0);
}

/* The filter is in force: /proc/self/status says mode 2, one filter. */
static int
status_says_filtered (void)
{
  char *text = NULL;
  size_t len;
  olrun_error_t err = NULL;
  if (olrun_read_file_at (AT_FDCWD, "/proc/self/status", &text, &len, &err) < 0)
    return 2;
  int ok = strstr (text, "Seccomp:\t2\n") && strstr (text, "Seccomp_filters:\t1\n");
  free (text);
  return ok ? 0 : 1;
}

static void
test_flags (void **state)
{
  (void) state;
  assert_exit (run_under ("{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"flags\":[\"SECCOMP_FILTER_FLAG_LOG\","
                          "\"SECCOMP_FILTER_FLAG_SPEC_ALLOW\",\"SECCOMP_FILTER_FLAG_TSYNC\"],"
                          "\"syscalls\":[{\"names\":[\"getppid\"],\"action\":\"SCMP_ACT_ERRNO\",\"errnoRet\":42}]}",
                          0, fails_with_42),
               0);
  assert_exit (run_under ("{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"flags\":[\"SECCOMP_FILTER_FLAG_LOG\"]}", 0,
                          status_says_filtered),
               0);
}

/* Without no_new_privs only CAP_SYS_ADMIN may load a filter. */
static void
test_no_new_privs (void **state)
{
  (void) state;
  if (geteuid () != 0)
    skip ();
  /* Root keeps CAP_SYS_ADMIN: loading works without no_new_privs. */
  assert_exit (run_under (RULE ("SCMP_ACT_ERRNO", ",\"errnoRet\":42"), RUN_NO_NNP, fails_with_42), 0);
  /* An unprivileged process without it gets the explanation. */
  assert_exit (run_under (RULE ("SCMP_ACT_ERRNO", ",\"errnoRet\":42"), RUN_NO_NNP | RUN_DROP_ROOT, fails_with_42),
               INSTALL_FAILED + 3);
  /* With no_new_privs it may. */
  assert_exit (run_under (RULE ("SCMP_ACT_ERRNO", ",\"errnoRet\":42"), RUN_DROP_ROOT, fails_with_42), 0);
}

/* ---- SCMP_ACT_NOTIFY ----------------------------------------------------- */

/* Read a stream to EOF, collecting the one fd that came with it. */
static char *
recv_all (int sock, int *fd)
{
  struct olrun_buf b = { 0 };
  *fd = -1;
  for (;;)
    {
      char data[4096];
      int got = -1;
      olrun_error_t err = NULL;
      ssize_t n = olrun_recv_fds (sock, data, sizeof data, &got, 1, &err);
      if (n < 0)
        fail_msg ("%s", err->msg);
      if (got >= 0)
        {
          assert_int_equal (*fd, -1);
          *fd = got;
        }
      if (n == 0)
        break;
      olrun_buf_append (&b, data, (size_t) n);
    }
  return olrun_buf_steal (&b);
}

/* In the child: hand the listener over, then make the notified call.  The
 * agent answers mkdir with "success, 0" without running it. */
static int
notified_mkdir (void)
{
  return syscall (SYS_mkdir, "/proc/olrun-no-such-dir", 0700) == 0 ? 0 : 1;
}

static _Noreturn void
notify_child (const struct loaded *l, int sock)
{
  prctl (PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
  olrun_error_t err = NULL;
  int listener = -1;
  if (olrun_seccomp_install (l->prog, &listener, &err) < 0 || listener < 0)
    _exit (INSTALL_FAILED);
  if (olrun_send_fds (sock, "F", 1, &listener, 1, &err) < 0)
    _exit (INSTALL_FAILED + 4);
  close (listener);
  close (sock); /* the parent reads to EOF */
  _exit (notified_mkdir ());
}

/* The agent's side: take one notification and answer it. */
static void
answer_one (int listener, int expect_nr)
{
  struct seccomp_notif req;
  struct seccomp_notif_resp resp;
  memset (&req, 0, sizeof req);
  assert_int_equal (ioctl (listener, SECCOMP_IOCTL_NOTIF_RECV, &req), 0);
  assert_int_equal (req.data.nr, expect_nr);
  memset (&resp, 0, sizeof resp);
  resp.id = req.id;
  resp.val = 0;
  resp.error = 0;
  assert_int_equal (ioctl (listener, SECCOMP_IOCTL_NOTIF_SEND, &resp), 0);
}

static void
test_notify (void **state)
{
  (void) state;
  char dir[] = "/tmp/olrun-test-notify.XXXXXX";
  assert_non_null (mkdtemp (dir));
  _cleanup_free_ char *sock_path = xasprintf ("%s/agent.sock", dir);
  _cleanup_free_ char *profile = xasprintf (
      "{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"listenerPath\":\"%s\",\"listenerMetadata\":\"tag \\\"7\\\"\","
      "\"flags\":[\"SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV\"],"
      "\"syscalls\":[{\"names\":[\"mkdir\",\"mkdirat\"],\"action\":\"SCMP_ACT_NOTIFY\"}]}",
      sock_path);
  struct loaded l = { 0 };
  load (&l, profile);
  assert_true (olrun_seccomp_program_notifies (l.prog));

  /* The agent's socket: connect() completes from the backlog, so this one
   * process can play both the runtime and the agent. */
  int agent = socket (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  struct sockaddr_un sa = { .sun_family = AF_UNIX };
  strcpy (sa.sun_path, sock_path);
  assert_int_equal (bind (agent, (struct sockaddr *) &sa, sizeof sa), 0);
  assert_int_equal (listen (agent, 1), 0);

  int sv[2];
  assert_int_equal (socketpair (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
  pid_t pid = fork ();
  assert_true (pid >= 0);
  if (pid == 0)
    {
      close (sv[0]);
      notify_child (&l, sv[1]);
    }
  close (sv[1]);
  /* The runtime's side: receive the fd from the child, send it on. */
  int fd = -1;
  free (recv_all (sv[0], &fd));
  close (sv[0]);
  assert_true (fd >= 0);
  olrun_error_t err = NULL;
  if (olrun_seccomp_send_listener (l.s, fd, pid, "{\"ociVersion\":\"1.3.0\",\"id\":\"c1\",\"status\":\"creating\"}",
                                   &err)
      < 0)
    fail_msg ("%s", err->msg);
  close (fd);

  /* The agent's side: one containerProcessState with the fd. */
  int conn = accept4 (agent, NULL, NULL, SOCK_CLOEXEC);
  assert_true (conn >= 0);
  int listener = -1;
  _cleanup_free_ char *state_text = recv_all (conn, &listener);
  close (conn);
  close (agent);
  assert_true (listener >= 0);
  olrun_json_doc_t *doc = NULL;
  if (olrun_json_parse (state_text, strlen (state_text), "state", &doc, &err) < 0)
    fail_msg ("%s: %s", err->msg, state_text);
  const olrun_json_t *root = olrun_json_root (doc);
  assert_string_equal (olrun_json_get (root, "ociVersion")->u.string.str, "1.3.0");
  const olrun_json_t *fds = olrun_json_get (root, "fds");
  assert_int_equal (fds->u.array.len, 1);
  assert_string_equal (fds->u.array.items[0]->u.string.str, "seccompFd");
  int64_t spid = 0;
  assert_int_equal (olrun_json_number_int64 (olrun_json_get (root, "pid"), &spid), 0);
  assert_int_equal (spid, pid);
  assert_string_equal (olrun_json_get (root, "metadata")->u.string.str, "tag \"7\"");
  assert_string_equal (olrun_json_get (olrun_json_get (root, "state"), "id")->u.string.str, "c1");
  olrun_json_doc_free (doc);

  /* The fd is the child's listener: its mkdir waits for our answer. */
  answer_one (listener, SYS_mkdir);
  int status;
  assert_int_equal (waitpid (pid, &status, 0), pid);
  assert_exit (status, 0);
  close (listener);
  unload (&l);
  unlink (sock_path);
  rmdir (dir);
}

/* A missing agent is an error naming the socket. */
static void
test_notify_no_agent (void **state)
{
  (void) state;
  struct loaded l = { 0 };
  load (&l, "{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"listenerPath\":\"/nonexistent/agent.sock\","
            "\"syscalls\":[{\"names\":[\"mkdir\"],\"action\":\"SCMP_ACT_NOTIFY\"}]}");
  _cleanup_error_ olrun_error_t err = NULL;
  assert_int_equal (olrun_seccomp_send_listener (l.s, 0, 1, "{}", &err), -1);
  assert_non_null (strstr (err->msg, "/nonexistent/agent.sock"));
  assert_int_equal (err->errnum, ENOENT);
  unload (&l);
}

int
main (void)
{
  parent_pid = getpid ();
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (test_errno),        cmocka_unit_test (test_default_and_allow),
    cmocka_unit_test (test_log),          cmocka_unit_test (test_kill),
    cmocka_unit_test (test_trap),         cmocka_unit_test (test_trace),
    cmocka_unit_test (test_operators),    cmocka_unit_test (test_argument_combinations),
    cmocka_unit_test (test_flags),        cmocka_unit_test (test_no_new_privs),
    cmocka_unit_test (test_notify),       cmocka_unit_test (test_notify_no_agent),
  };
  return cmocka_run_group_tests (tests, NULL, NULL);
}

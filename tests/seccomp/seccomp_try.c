/* seccomp_try: run a command under a seccomp profile the way olrun's
 * runtime does, without a container, so tests and the bench can drive the
 * seccomp/ library on its own:
 *
 *   seccomp_try [--cache DIR] [--no-nnp] [--info] PROFILE -- CMD [ARG...]
 *   seccomp_try --bench N PROFILE
 *
 * PROFILE is a config.json (its linux.seccomp is used) or a bare seccomp
 * object.  The parent prepares the program (cache or compile), the child
 * sets no_new_privs, loads the filter and execs CMD; with SCMP_ACT_NOTIFY
 * the child passes the listener back over a socketpair and the parent sends
 * it to the agent at listenerPath.  Exit status: CMD's, 128+signal when it
 * was killed, 125 when seccomp_try itself failed. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>

#include "olrun/json.h"
#include "olrun/log.h"
#include "olrun/seccomp.h"
#include "olrun/spec.h"
#include "olrun/util.h"

struct options
{
  const char *cache;
  const char *profile;
  char **argv;
  bool no_nnp, info;
  long bench;
};

static int
die (olrun_error_t *err)
{
  fprintf (stderr, "seccomp_try: %s\n", (*err)->msg);
  olrun_error_release (err);
  return 125;
}

/* The profile and its exact text, as the runtime has them. */
struct profile
{
  olrun_json_doc_t *doc;
  struct olrun_seccomp *s;
  const char *raw;
  size_t raw_len;
};

static int
load_profile (const char *path, struct profile *p, olrun_error_t *err)
{
  if (olrun_json_parse_file (AT_FDCWD, path, &p->doc, err) < 0)
    return -1;
  const olrun_json_t *node = olrun_json_root (p->doc);
  struct olrun_jpath lp = OLRUN_JPATH_KEY (NULL, "linux"), sp = OLRUN_JPATH_KEY (&lp, "seccomp");
  const struct olrun_jpath *jp = NULL;
  const olrun_json_t *lin = olrun_json_get (node, "linux");
  if (lin)
    {
      node = olrun_json_get (lin, "seccomp");
      jp = &sp;
      if (node == NULL)
        return olrun_invalid (err, "%s: no linux.seccomp", path);
    }
  struct olrun_jdec d = { .doc = p->doc, .err = err };
  if (olrun_spec_parse_seccomp (&d, node, jp, &p->s) < 0)
    return -1;
  p->raw = olrun_json_doc_text (p->doc) + node->offset;
  p->raw_len = node->end - node->offset;
  return 0;
}

static void
profile_clear (struct profile *p)
{
  olrun_seccomp_free (p->s);
  olrun_json_doc_free (p->doc);
}

/* The container's side: no_new_privs, the filter, the hand-over, execve. */
static _Noreturn void
child (const struct options *o, const struct olrun_seccomp_program *prog, int sock)
{
  _cleanup_error_ olrun_error_t err = NULL;
  int listener = -1;
  if (!o->no_nnp && prctl (PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
    {
      perror ("seccomp_try: PR_SET_NO_NEW_PRIVS");
      _exit (125);
    }
  if (olrun_seccomp_install (prog, &listener, &err) < 0)
    _exit (die (&err));
  if (listener >= 0 && olrun_send_fds (sock, "F", 1, &listener, 1, &err) < 0)
    _exit (die (&err));
  execvp (o->argv[0], o->argv);
  _exit (errno == ENOENT ? 127 : 126);
}

/* The parent's side of SCMP_ACT_NOTIFY: what the runtime does after clone. */
static int
hand_listener (const struct profile *pr, int sock, pid_t pid, olrun_error_t *err)
{
  char byte;
  _cleanup_close_ int fd = -1;
  ssize_t n = olrun_recv_fds (sock, &byte, 1, &fd, 1, err);
  if (n < 0)
    return -1;
  if (fd < 0)
    return olrun_fail (err, 0, "the child sent no listener fd");
  _cleanup_free_ char *state = xasprintf ("{\"ociVersion\":\"1.3.0\",\"id\":\"seccomp-try\",\"status\":\"creating\","
                                          "\"pid\":%d,\"bundle\":\"/\"}",
                                          (int) pid);
  return olrun_seccomp_send_listener (pr->s, fd, pid, state, err);
}

static int
run (const struct options *o, struct profile *pr, olrun_error_t *err)
{
  _cleanup_seccomp_program_ struct olrun_seccomp_program *prog = NULL;
  if (olrun_seccomp_prepare (pr->s, pr->raw, pr->raw_len, o->cache, &prog, err) < 0)
    return die (err);
  if (o->info)
    fprintf (stderr, "seccomp_try: instructions=%zu cached=%d notify=%d\n", olrun_seccomp_program_len (prog),
             olrun_seccomp_program_from_cache (prog), olrun_seccomp_program_notifies (prog));
  int sv[2];
  if (socketpair (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
    return perror ("seccomp_try: socketpair"), 125;
  fflush (NULL);
  pid_t pid = fork ();
  if (pid < 0)
    return perror ("seccomp_try: fork"), 125;
  if (pid == 0)
    {
      close (sv[0]);
      child (o, prog, sv[1]);
    }
  close (sv[1]);
  _cleanup_close_ int sock = sv[0];
  if (olrun_seccomp_program_notifies (prog) && hand_listener (pr, sock, pid, err) < 0)
    {
      kill (pid, SIGKILL);
      waitpid (pid, NULL, 0);
      return die (err);
    }
  int status;
  while (waitpid (pid, &status, 0) < 0)
    if (errno != EINTR)
      return perror ("seccomp_try: waitpid"), 125;
  return WIFSIGNALED (status) ? 128 + WTERMSIG (status) : WEXITSTATUS (status);
}

static int64_t
now_ns (void)
{
  struct timespec ts;
  clock_gettime (CLOCK_MONOTONIC, &ts);
  return (int64_t) ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static int
cmp_i64 (const void *a, const void *b)
{
  int64_t x = *(const int64_t *) a, y = *(const int64_t *) b;
  return (x > y) - (x < y);
}

/* Median time of `n` prepares of the profile; with a cache dir, a first
 * untimed prepare fills it. */
static int
time_prepare (struct profile *pr, const char *cache, long n, int64_t *median, olrun_error_t *err)
{
  _cleanup_free_ int64_t *t = xzalloc ((size_t) n * sizeof *t);
  for (long i = -1; i < n; i++)
    {
      struct olrun_seccomp_program *prog = NULL;
      int64_t t0 = now_ns ();
      if (olrun_seccomp_prepare (pr->s, pr->raw, pr->raw_len, cache, &prog, err) < 0)
        return -1;
      int64_t dt = now_ns () - t0;
      bool cached = olrun_seccomp_program_from_cache (prog);
      olrun_seccomp_program_free (prog);
      if (i >= 0)
        t[i] = dt;
      if (i >= 0 && cache && !cached)
        return olrun_fail (err, 0, "the cache in `%s` did not answer", cache);
    }
  qsort (t, (size_t) n, sizeof *t, cmp_i64);
  *median = t[n / 2];
  return 0;
}

static int
bench (const struct options *o, struct profile *pr, olrun_error_t *err)
{
  char dir[] = "/tmp/olrun-seccomp-bench.XXXXXX";
  if (mkdtemp (dir) == NULL)
    return perror ("seccomp_try: mkdtemp"), 125;
  int64_t compile_ns = 0, cached_ns = 0;
  int rc = time_prepare (pr, NULL, o->bench, &compile_ns, err) < 0
                   || time_prepare (pr, dir, o->bench, &cached_ns, err) < 0
               ? -1
               : 0;
  _cleanup_error_ olrun_error_t rmerr = NULL;
  olrun_rm_rf_at (AT_FDCWD, dir, &rmerr);
  if (rc < 0)
    return die (err);
  printf ("{\"runs\":%ld,\"compile_median_us\":%.1f,\"cached_median_us\":%.1f,\"ratio\":%.1f}\n", o->bench,
          compile_ns / 1e3, cached_ns / 1e3, (double) compile_ns / (double) (cached_ns ? cached_ns : 1));
  return 0;
}

static int
parse_args (int argc, char **argv, struct options *o)
{
  static const struct option longopts[] = {
    { "cache", required_argument, NULL, 'c' }, { "no-nnp", no_argument, NULL, 'n' },
    { "info", no_argument, NULL, 'i' },        { "bench", required_argument, NULL, 'b' },
    { NULL, 0, NULL, 0 },
  };
  int c;
  while ((c = getopt_long (argc, argv, "+", longopts, NULL)) != -1)
    switch (c)
      {
      case 'c': o->cache = optarg; break;
      case 'n': o->no_nnp = true; break;
      case 'i': o->info = true; break;
      case 'b': o->bench = strtol (optarg, NULL, 10); break;
      default: return -1;
      }
  if (optind >= argc)
    return -1;
  o->profile = argv[optind++];
  if (optind < argc && strcmp (argv[optind], "--") == 0)
    optind++;
  o->argv = argv + optind;
  return o->bench > 0 || o->argv[0] != NULL ? 0 : -1;
}

int
main (int argc, char **argv)
{
  struct options o = { 0 };
  if (parse_args (argc, argv, &o) < 0)
    {
      fprintf (stderr, "usage: seccomp_try [--cache DIR] [--no-nnp] [--info] PROFILE -- CMD [ARG...]\n"
                       "       seccomp_try --bench N PROFILE\n");
      return 125;
    }
  olrun_log_init (NULL, OLRUN_LOG_TEXT, getenv ("SECCOMP_TRY_DEBUG") != NULL);
  _cleanup_error_ olrun_error_t err = NULL;
  struct profile pr = { 0 };
  int rc = load_profile (o.profile, &pr, &err) < 0 ? die (&err) : o.bench > 0 ? bench (&o, &pr, &err) : run (&o, &pr, &err);
  profile_clear (&pr);
  return rc;
}

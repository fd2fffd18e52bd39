/* olrun-cgdriver: drives cgroup/ through its public API, for the host
 * integration tests and the VM tier, without the rest of the runtime.
 *
 *   olrun-cgdriver run [-m MANAGER] [-p CGROUPSPATH] [-r RESOURCES.json] [-i ID] [-k] [-b] -- CMD [ARG...]
 *       create the cgroup (resources applied), clone3(CLONE_INTO_CGROUP)
 *       CMD into it, wait, print "path=P" and "exit=N" on stdout, destroy
 *       the cgroup unless -k.  -b: do not wait, print "pid=N" and keep it.
 *       Exits with CMD's status (128+signal when killed).
 *   olrun-cgdriver freeze|thaw|frozen|pids|stats|destroy PATH
 *   olrun-cgdriver kill PATH SIGNAL
 *   olrun-cgdriver update PATH RESOURCES.json
 *   olrun-cgdriver hugetlb N     map and touch N 2 MiB huge pages (run inside a cgroup)
 */
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>

#include "olrun/cgroup.h"
#include "olrun/json.h"
#include "olrun/spec.h"
#include "olrun/syscalls.h"
#include "olrun/util.h"

static int
fail (olrun_error_t *err)
{
  fprintf (stderr, "olrun-cgdriver: %s\n", (*err)->msg);
  olrun_error_release (err);
  return 1;
}

static int
load_resources (const char *file, struct olrun_resources **ret, olrun_error_t *err)
{
  _cleanup_json_doc_ olrun_json_doc_t *doc = NULL;
  if (olrun_json_parse_file (AT_FDCWD, file, &doc, err) < 0)
    return -1;
  struct olrun_jdec d = { doc, err };
  return olrun_spec_parse_resources (&d, olrun_json_root (doc), NULL, ret);
}

static int
cmd_run (int argc, char **argv)
{
  struct olrun_cgroup_config cfg = { .id = "cgdriver", .manager = OLRUN_CGROUP_CGROUPFS };
  _cleanup_resources_ struct olrun_resources *res = NULL;
  olrun_error_t err = NULL;
  bool keep = false, background = false;
  int opt;
  while ((opt = getopt (argc, argv, "+m:p:r:i:kb")) != -1)
    switch (opt)
      {
      case 'm':
        if (olrun_cgroup_manager_from_name (optarg) < 0)
          return fprintf (stderr, "unknown manager %s\n", optarg), 2;
        cfg.manager = olrun_cgroup_manager_from_name (optarg);
        break;
      case 'p':
        cfg.cgroups_path = optarg;
        break;
      case 'r':
        if (load_resources (optarg, &res, &err) < 0)
          return fail (&err);
        cfg.resources = res;
        break;
      case 'i':
        cfg.id = optarg;
        break;
      case 'k':
        keep = true;
        break;
      case 'b':
        background = keep = true;
        break;
      default:
        return 2;
      }
  if (optind >= argc)
    return fprintf (stderr, "run: no command\n"), 2;
  _cleanup_cgroup_ struct olrun_cgroup *cg = NULL;
  if (olrun_cgroup_create (&cfg, &cg, &err) < 0)
    return fail (&err);
  printf ("path=%s\n", cg->path ? cg->path : "");
  fflush (stdout);
  struct clone_args ca = { .exit_signal = SIGCHLD };
  if (cg->dirfd >= 0)
    {
      ca.flags = CLONE_INTO_CGROUP;
      ca.cgroup = (uint64_t) cg->dirfd;
    }
  pid_t pid = (pid_t) olrun_clone3 (&ca, sizeof ca);
  if (pid < 0)
    return perror ("clone3"), 1;
  if (pid == 0)
    {
      execvp (argv[optind], argv + optind);
      _exit (127);
    }
  if (olrun_cgroup_spawned (cg, &err) < 0)
    return fail (&err);
  if (background)
    {
      printf ("pid=%d\n", (int) pid);
      return 0;
    }
  int status = 0;
  while (waitpid (pid, &status, 0) < 0 && errno == EINTR)
    ;
  int code = WIFEXITED (status) ? WEXITSTATUS (status) : 128 + WTERMSIG (status);
  printf ("exit=%d\n", code);
  fflush (stdout);
  if (!keep && olrun_cgroup_destroy (cg, &err) < 0)
    return fail (&err);
  return code;
}

static void
print_stats (const struct olrun_cgroup_stats *s)
{
  printf ("cpu_usage_ns %" PRIu64 "\ncpu_user_ns %" PRIu64 "\ncpu_system_ns %" PRIu64 "\n", s->cpu_usage_ns,
          s->cpu_user_ns, s->cpu_system_ns);
  printf ("cpu_periods %" PRIu64 "\ncpu_throttled_periods %" PRIu64 "\ncpu_throttled_ns %" PRIu64 "\n",
          s->cpu_periods, s->cpu_throttled_periods, s->cpu_throttled_ns);
  printf ("mem_usage %" PRIu64 "\nmem_limit %" PRIu64 "\nmem_max_usage %" PRIu64 "\noom_kill %" PRIu64 "\n",
          s->mem_usage, s->mem_limit, s->mem_max_usage, s->oom_kill);
  printf ("pids_current %" PRIu64 "\npids_limit %" PRIu64 "\n", s->pids_current, s->pids_limit);
  for (size_t i = 0; i < s->n_io; i++)
    printf ("io %" PRIu32 ":%" PRIu32 " rbytes=%" PRIu64 " wbytes=%" PRIu64 " rios=%" PRIu64 " wios=%" PRIu64 "\n",
            s->io[i].major, s->io[i].minor, s->io[i].rbytes, s->io[i].wbytes, s->io[i].rios, s->io[i].wios);
  for (size_t i = 0; i < s->n_hugetlb; i++)
    printf ("hugetlb %s usage=%" PRIu64 " max=%" PRIu64 "\n", s->hugetlb[i].pagesize, s->hugetlb[i].usage,
            s->hugetlb[i].max);
}

static int
cmd_on_path (const char *verb, int argc, char **argv)
{
  olrun_error_t err = NULL;
  _cleanup_cgroup_ struct olrun_cgroup *cg = NULL;
  if (argc < 2)
    return fprintf (stderr, "%s: PATH required\n", verb), 2;
  if (olrun_cgroup_load (OLRUN_CGROUP_CGROUPFS, argv[1], &cg, &err) < 0)
    return fail (&err);
  int rc = 0;
  if (strcmp (verb, "freeze") == 0 || strcmp (verb, "thaw") == 0)
    rc = olrun_cgroup_freeze (cg, strcmp (verb, "freeze") == 0, &err);
  else if (strcmp (verb, "frozen") == 0)
    {
      bool f = false;
      rc = olrun_cgroup_is_frozen (cg, &f, &err);
      if (rc == 0)
        printf ("%s\n", f ? "frozen" : "thawed");
    }
  else if (strcmp (verb, "destroy") == 0)
    rc = olrun_cgroup_destroy (cg, &err);
  else if (strcmp (verb, "kill") == 0)
    rc = argc < 3 ? (fprintf (stderr, "kill: SIGNAL required\n"), 2) : olrun_cgroup_kill (cg, atoi (argv[2]), &err);
  else if (strcmp (verb, "pids") == 0)
    {
      _cleanup_free_ pid_t *pids = NULL;
      size_t n = 0;
      rc = olrun_cgroup_pids (cg, &pids, &n, &err);
      for (size_t i = 0; rc == 0 && i < n; i++)
        printf ("%d\n", (int) pids[i]);
    }
  else if (strcmp (verb, "stats") == 0)
    {
      struct olrun_cgroup_stats s;
      rc = olrun_cgroup_stats (cg, &s, &err);
      if (rc == 0)
        print_stats (&s);
      olrun_cgroup_stats_clear (&s);
    }
  else if (strcmp (verb, "update") == 0)
    {
      _cleanup_resources_ struct olrun_resources *r = NULL;
      if (argc < 3)
        return fprintf (stderr, "update: RESOURCES required\n"), 2;
      rc = load_resources (argv[2], &r, &err);
      if (rc == 0)
        rc = olrun_cgroup_update (cg, r, &err);
    }
  else
    return fprintf (stderr, "unknown command %s\n", verb), 2;
  return rc < 0 ? fail (&err) : rc;
}

/* Exit 0 when N huge pages could be mapped and touched, 1 when the
 * mapping is refused (hugetlb.*.rsvd.max); a fault past hugetlb.*.max
 * kills with SIGBUS. */
static int
cmd_hugetlb (int argc, char **argv)
{
  size_t n = argc > 1 ? (size_t) atoi (argv[1]) : 1, len = n * 2 * 1024 * 1024;
  char *p = mmap (NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_HUGETLB, -1, 0);
  if (p == MAP_FAILED)
    return perror ("mmap MAP_HUGETLB"), 1;
  for (size_t off = 0; off < len; off += 4096)
    p[off] = 1;
  printf ("touched %zu huge pages\n", n);
  return 0;
}

int
main (int argc, char **argv)
{
  if (argc >= 2 && strcmp (argv[1], "hugetlb") == 0)
    return cmd_hugetlb (argc - 1, argv + 1);
  if (argc < 2)
    return fprintf (stderr, "usage: olrun-cgdriver run|freeze|thaw|frozen|kill|pids|stats|update|destroy ...\n"), 2;
  if (strcmp (argv[1], "run") == 0)
    return cmd_run (argc - 1, argv + 1);
  return cmd_on_path (argv[1], argc - 1, argv + 1);
}

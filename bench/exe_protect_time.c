/* For bench/security.sh: the time olrun_process_protect_exe takes, in a
 * fresh child each round (it changes the calling process for good), as
 * the container's init pays it.  Prints the median and quartiles in us. */
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "olrun/util.h"
#include "runtime/internal.h"

static int
cmp (const void *a, const void *b)
{
  double x = *(const double *) a, y = *(const double *) b;
  return x < y ? -1 : x > y;
}

int
main (int argc, char **argv)
{
  int n = argc > 1 ? atoi (argv[1]) : 200;
  if (n < 4)
    n = 4;
  double *us = calloc ((size_t) n, sizeof *us);
  /* The parent's share, as `create` pays it once before it clones. */
  struct olrun_exe_guard g;
  olrun_error_t perr = NULL;
  struct timespec pa, pb;
  clock_gettime (CLOCK_MONOTONIC, &pa);
  if (olrun_exe_guard_prepare (&g, &perr) < 0)
    {
      fprintf (stderr, "prepare: %s\n", perr->msg);
      return 1;
    }
  clock_gettime (CLOCK_MONOTONIC, &pb);
  /* As in create: the tree goes after the clone, off the critical path. */
  double prep = (double) (pb.tv_sec - pa.tv_sec) * 1e6 + (double) (pb.tv_nsec - pa.tv_nsec) / 1e3;
  for (int i = 0; i < n; i++)
    {
      int fds[2];
      if (pipe (fds) < 0)
        return 1;
      pid_t pid = fork ();
      if (pid == 0)
        {
          struct timespec a, b;
          olrun_error_t err = NULL;
          clock_gettime (CLOCK_MONOTONIC, &a);
          int rc = olrun_process_protect_exe (&g, &err);
          clock_gettime (CLOCK_MONOTONIC, &b);
          double d = rc < 0 ? -1 : (double) (b.tv_sec - a.tv_sec) * 1e6 + (double) (b.tv_nsec - a.tv_nsec) / 1e3;
          if (rc < 0)
            fprintf (stderr, "protect: %s\n", err->msg);
          (void) !write (fds[1], &d, sizeof d);
          _exit (rc < 0);
        }
      close (fds[1]);
      if (read (fds[0], &us[i], sizeof us[i]) != sizeof us[i] || us[i] < 0)
        return 1;
      close (fds[0]);
      waitpid (pid, NULL, 0);
    }
  qsort (us, (size_t) n, sizeof *us, cmp);
  printf ("{\"runs\": %d, \"parent_us\": %.1f, \"median_us\": %.1f, \"q1_us\": %.1f, \"q3_us\": %.1f}\n", n, prep,
          us[n / 2], us[n / 4], us[3 * n / 4]);
  free (us);
  return 0;
}

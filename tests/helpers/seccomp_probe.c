/* seccomp_probe NR [ARG...]: make raw syscall NR with integer arguments
 * and print 0 on success or the errno, so a test inside a busybox
 * container can see what a seccomp profile answers for any syscall. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

int
main (int argc, char **argv)
{
  if (argc < 2 || argc > 8)
    {
      fprintf (stderr, "usage: seccomp_probe NR [ARG...] (up to 6)\n");
      return 2;
    }
  long a[6] = { 0 };
  for (int i = 2; i < argc; i++)
    a[i - 2] = strtol (argv[i], NULL, 0);
  long r = syscall (strtol (argv[1], NULL, 0), a[0], a[1], a[2], a[3], a[4], a[5]);
  printf ("%d\n", r < 0 ? errno : 0);
  return 0;
}

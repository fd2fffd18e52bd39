/* olrun's entry point: global options, then one command from the table. */
#include <stdio.h>
#include <string.h>

int
main (int argc, char **argv)
{
  if (argc > 1 && strcmp (argv[1], "--version") == 0)
    {
      printf ("olrun version %s\ncommit: %s\n", OLRUN_VERSION, OLRUN_COMMIT);
      return 0;
    }
  fprintf (stderr, "olrun: no command\n");
  return 1;
}

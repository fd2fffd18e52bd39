/* olrun's entry point: global options, then one command from the table.
 * TEMPORARY (images branch): dispatches the image verbs until the lead's
 * dispatcher lands; the lead's main.c replaces this file. */
#include <stdio.h>
#include <string.h>

#include "cli/commands.h"
#include "olrun/log.h"

int
main (int argc, char **argv)
{
  if (argc > 1 && strcmp (argv[1], "--version") == 0)
    {
      printf ("olrun version %s\ncommit: %s\n", OLRUN_VERSION, OLRUN_COMMIT);
      return 0;
    }
  bool debug = argc > 1 && strcmp (argv[1], "--debug") == 0;
  if (debug)
    argc--, argv++;
  olrun_log_init (NULL, OLRUN_LOG_TEXT, debug);
  static const struct { const char *name; int (*fn) (int, char **); } cmds[] = {
    { "pull", olrun_cmd_pull }, { "bundle", olrun_cmd_bundle },
    { "images", olrun_cmd_images }, { "cache", olrun_cmd_cache },
  };
  for (size_t i = 0; argc > 1 && i < sizeof cmds / sizeof cmds[0]; i++)
    if (strcmp (argv[1], cmds[i].name) == 0)
      return cmds[i].fn (argc - 1, argv + 1);
  fprintf (stderr, "olrun: no command\n");
  return 1;
}

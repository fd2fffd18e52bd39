/* olrun attach ID: connect the terminal to a detached instance until it
 * exits (its status is ours) or ctrl-p ctrl-q detaches (status 0). */
#include <stdio.h>
#include <unistd.h>

#include "cli/commands.h"
#include "olrun/bundle.h"

static int
no_options (void *opts, int index, const char *arg)
{
  return 0;
}

int
olrun_cmd_attach (struct olrun_cli *cli, int argc, char **argv)
{
  const struct olrun_command *cmd = olrun_cli_find ("attach");
  int first = olrun_cli_parse (cmd, argc, argv, no_options, NULL);
  olrun_cli_nargs (cmd, argc - first, 1, 1);
  olrun_error_t err = NULL;
  int status = 0;
  bool detached = false;
  if (olrun_instance_attach (&cli->ctx, argv[first], &status, &detached, &err) < 0)
    return olrun_cli_fail (&err);
  if (detached && isatty (STDERR_FILENO))
    fprintf (stderr, "\r\nolrun: detached from %s\r\n", argv[first]);
  return detached ? 0 : status;
}

/* olrun logs [-f] ID: the output of a detached instance, from its log. */
#include <stdio.h>
#include <unistd.h>

#include "cli/commands.h"
#include "olrun/bundle.h"

const struct olrun_option olrun_logs_options[] = {
  { "follow", 'f', NULL, "keep printing until the instance exits" },
  { NULL, 0, NULL, NULL },
};

static int
option (void *opts, int index, const char *arg)
{
  *(bool *) opts = true;
  return 0;
}

int
olrun_cmd_logs (struct olrun_cli *cli, int argc, char **argv)
{
  const struct olrun_command *cmd = olrun_cli_find ("logs");
  bool follow = false;
  int first = olrun_cli_parse (cmd, argc, argv, option, &follow);
  olrun_cli_nargs (cmd, argc - first, 1, 1);
  olrun_error_t err = NULL;
  if (olrun_instance_logs (&cli->ctx, argv[first], STDOUT_FILENO, follow, &err) < 0)
    return olrun_cli_fail (&err);
  return 0;
}

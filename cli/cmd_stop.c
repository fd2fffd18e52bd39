/* olrun stop [-t SECS] ID: SIGTERM, SIGKILL after SECS (default 10), and
 * wait until the container (and a detached instance's bundle) is gone. */
#include <stdio.h>

#include "cli/commands.h"
#include "olrun/bundle.h"
#include "olrun/util.h"

const struct olrun_option olrun_stop_options[] = {
  { "time", 't', "SECS", "seconds to wait after SIGTERM before SIGKILL (default 10)" },
  { NULL, 0, NULL, NULL },
};

static int
option (void *opts, int index, const char *arg)
{
  int64_t v;
  if (olrun_parse_int64 (arg, &v) < 0 || v < 0 || v > 86400)
    return olrun_cli_failf ("stop: --time: expected seconds, got `%s`", arg), -1;
  *(unsigned *) opts = (unsigned) v;
  return 0;
}

int
olrun_cmd_stop (struct olrun_cli *cli, int argc, char **argv)
{
  const struct olrun_command *cmd = olrun_cli_find ("stop");
  unsigned timeout = 10;
  int first = olrun_cli_parse (cmd, argc, argv, option, &timeout);
  if (first < 0)
    return 1;
  olrun_cli_nargs (cmd, argc - first, 1, 1);
  olrun_error_t err = NULL;
  if (olrun_instance_stop (&cli->ctx, argv[first], timeout, &err) < 0)
    return olrun_cli_fail (&err);
  return 0;
}

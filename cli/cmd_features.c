/* features: the runtime-spec features document; checkpoint and restore,
 * which olrun does not have (podman checks their status). */
#include <stdio.h>

#include "cli/cli.h"
#include "olrun/util.h"

int
olrun_cmd_features (struct olrun_cli *cli, int argc, char **argv)
{
  const struct olrun_command *cmd = olrun_cli_find ("features");
  int first = olrun_cli_parse (cmd, argc, argv, NULL, NULL);
  olrun_cli_nargs (cmd, argc - first, 0, 0);
  _cleanup_free_ char *json = olrun_features_json ();
  printf ("%s\n", json);
  return 0;
}

/* Not even `checkpoint --help` succeeds: podman runs it to learn whether
 * the runtime can checkpoint, and a zero status would claim it can. */
int
olrun_cmd_checkpoint (struct olrun_cli *cli, int argc, char **argv)
{
  return olrun_cli_failf ("%s: checkpoint/restore is not supported (olrun has no CRIU support)", argv[0]);
}

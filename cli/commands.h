/* Command entry points.  argv[0] is the verb; each returns the exit status.
 * main.c parses the global options and dispatches to these. */
#ifndef OLRUN_CLI_COMMANDS_H
#define OLRUN_CLI_COMMANDS_H

#include "cli/cli.h"

/* Images (bundle/): cmd_pull.c, cmd_bundle.c, cmd_images.c, cmd_cache.c */
int olrun_cmd_pull (struct olrun_cli *cli, int argc, char **argv);
int olrun_cmd_bundle (struct olrun_cli *cli, int argc, char **argv);
int olrun_cmd_images (struct olrun_cli *cli, int argc, char **argv);
int olrun_cmd_cache (struct olrun_cli *cli, int argc, char **argv);

#endif

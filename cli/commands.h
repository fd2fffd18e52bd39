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

/* The launcher and its instances: cmd_run.c, cmd_attach.c, cmd_logs.c, cmd_stop.c */
int olrun_cmd_run_dispatch (struct olrun_cli *cli, int argc, char **argv);
int olrun_cmd_attach (struct olrun_cli *cli, int argc, char **argv);
int olrun_cmd_logs (struct olrun_cli *cli, int argc, char **argv);
int olrun_cmd_stop (struct olrun_cli *cli, int argc, char **argv);
extern const struct olrun_option olrun_logs_options[];
extern const struct olrun_option olrun_stop_options[];

/* Runtime verbs under an external backend (cli/backend.c): exec it.
 * Returns -1 when the embedded runtime is to handle the command, else the
 * exit status (it returns only when the exec failed). */
int olrun_cli_backend_dispatch (struct olrun_cli *cli, int argc, char **argv);
/* The same for any verb (run in runc's mode). */
int olrun_cli_backend_exec (struct olrun_cli *cli, int argc, char **argv);

#endif

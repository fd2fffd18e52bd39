/* start, state, kill, delete, list: the small commands. */
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "olrun/bundle.h"
#include "olrun/util.h"

static int
no_options (void *opts, int index, const char *arg)
{
  return 0;
}

/* Parse a command that has no options but --help and exactly one ID. */
static const char *
one_id (const char *verb, int argc, char **argv)
{
  const struct olrun_command *cmd = olrun_cli_find (verb);
  int first = olrun_cli_parse (cmd, argc, argv, no_options, NULL);
  olrun_cli_nargs (cmd, argc - first, 1, 1);
  return argv[first];
}

int
olrun_cmd_start (struct olrun_cli *cli, int argc, char **argv)
{
  olrun_error_t err = NULL;
  if (olrun_container_start (&cli->ctx, one_id ("start", argc, argv), &err) < 0)
    return olrun_cli_fail (&err);
  return 0;
}

int
olrun_cmd_state (struct olrun_cli *cli, int argc, char **argv)
{
  olrun_error_t err = NULL;
  _cleanup_free_ char *json = NULL;
  if (olrun_container_state_json (&cli->ctx, one_id ("state", argc, argv), &json, &err) < 0)
    return olrun_cli_fail (&err);
  printf ("%s\n", json);
  return 0;
}

const struct olrun_option olrun_kill_options[] = {
  { "all", 'a', NULL, "signal every process of the container" },
  { NULL, 0, NULL, NULL },
};

static int
kill_option (void *opts, int index, const char *arg)
{
  *(bool *) opts = true;
  return 0;
}

int
olrun_cmd_kill (struct olrun_cli *cli, int argc, char **argv)
{
  const struct olrun_command *cmd = olrun_cli_find ("kill");
  bool all = false;
  int first = olrun_cli_parse (cmd, argc, argv, kill_option, &all);
  olrun_cli_nargs (cmd, argc - first, 1, 2);
  int sig = SIGTERM;
  if (argc - first == 2 && (sig = olrun_signal_parse (argv[first + 1])) < 0)
    return olrun_cli_failf ("kill: unknown signal `%s`", argv[first + 1]);
  olrun_error_t err = NULL;
  if (olrun_container_kill (&cli->ctx, argv[first], sig, all, &err) < 0)
    return olrun_cli_fail (&err);
  return 0;
}

const struct olrun_option olrun_delete_options[] = {
  { "force", 'f', NULL, "kill the container first if it runs; an unknown ID is not an error" },
  { NULL, 0, NULL, NULL },
};

int
olrun_cmd_delete (struct olrun_cli *cli, int argc, char **argv)
{
  const struct olrun_command *cmd = olrun_cli_find ("delete");
  bool force = false;
  int first = olrun_cli_parse (cmd, argc, argv, kill_option, &force);
  olrun_cli_nargs (cmd, argc - first, 1, 1);
  olrun_error_t err = NULL, rec = NULL;
  int rc = olrun_container_delete (&cli->ctx, argv[first], force, &err);
  /* A detached launcher instance that exited keeps its log and exit
   * status (no container any more) until it is deleted. */
  if (olrun_instance_remove (&cli->ctx, argv[first], &rec) == 0 && rc < 0 && err->kind == OLRUN_E_NOT_EXIST)
    {
      olrun_error_release (&err);
      rc = 0;
    }
  olrun_error_release (&rec);
  return rc < 0 ? olrun_cli_fail (&err) : 0;
}

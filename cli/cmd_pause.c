/* pause and resume: freeze and thaw the container's cgroup. */
#include "cli/cli.h"

static int
no_options (void *opts, int index, const char *arg)
{
  return 0;
}

static int
freeze_cmd (struct olrun_cli *cli, const char *verb, int argc, char **argv,
            int (*fn) (const struct olrun_context *, const char *, olrun_error_t *))
{
  const struct olrun_command *cmd = olrun_cli_find (verb);
  int first = olrun_cli_parse (cmd, argc, argv, no_options, NULL);
  if (first < 0)
    return 1;
  olrun_cli_nargs (cmd, argc - first, 1, 1);
  olrun_error_t err = NULL;
  if (fn (&cli->ctx, argv[first], &err) < 0)
    return olrun_cli_fail (&err);
  return 0;
}

int
olrun_cmd_pause (struct olrun_cli *cli, int argc, char **argv)
{
  return freeze_cmd (cli, "pause", argc, argv, olrun_container_pause);
}

int
olrun_cmd_resume (struct olrun_cli *cli, int argc, char **argv)
{
  return freeze_cmd (cli, "resume", argc, argv, olrun_container_resume);
}

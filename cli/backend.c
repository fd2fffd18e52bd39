/* --backend / OLRUN_BACKEND for the runtime verbs: an external backend
 * (crun, runc, a path) runs them itself, with runc's command line and
 * olrun's global options translated (runtime/backend.c); olrun execs it. */
#include <string.h>

#include "cli/commands.h"
#include "olrun/util.h"

/* The verbs of the runc command line.  `run` decides for itself (a
 * reference goes to the launcher, which uses the backend its own way) and
 * calls olrun_cli_backend_exec in runc's mode. */
static const char *const runtime_verbs[] = {
  "create", "start", "state", "kill", "delete", "list", "ps", "exec", "pause",
  "resume", "update", "events", "features", "checkpoint", "restore",
};

int
olrun_cli_backend_exec (struct olrun_cli *cli, int argc, char **argv)
{
  /* The common case costs one getenv: no backend asked for. */
  const char *env = getenv ("OLRUN_BACKEND");
  if ((cli->ctx.backend == NULL || *cli->ctx.backend == '\0') && (env == NULL || *env == '\0'))
    return -1;
  olrun_error_t err = NULL;
  _cleanup_backend_ struct olrun_backend *b = NULL;
  if (olrun_backend_resolve (&cli->ctx, cli->ctx.backend, &b, &err) < 0)
    return olrun_cli_fail (&err);
  if (olrun_backend_embedded (b))
    return -1;
  olrun_backend_exec (b, &cli->ctx, argv, &err);
  return olrun_cli_fail (&err);
}

int
olrun_cli_backend_dispatch (struct olrun_cli *cli, int argc, char **argv)
{
  for (size_t i = 0; i < ARRAY_SIZE (runtime_verbs); i++)
    if (strcmp (argv[0], runtime_verbs[i]) == 0)
      return olrun_cli_backend_exec (cli, argc, argv);
  return -1;
}

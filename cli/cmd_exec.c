/* exec [options] ID [CMD [ARG...]]: run one more process in a container. */
#include <string.h>

#include "cli/cli.h"
#include "olrun/util.h"

enum
{
  OPT_PROCESS,
  OPT_TTY,
  OPT_DETACH,
  OPT_CONSOLE_SOCKET,
  OPT_PID_FILE,
  OPT_CWD,
  OPT_ENV,
  OPT_USER,
  OPT_ADDITIONAL_GIDS,
  OPT_CAP,
  OPT_NO_NEW_PRIVS,
  OPT_PRESERVE_FDS,
  OPT_APPARMOR,
  OPT_PROCESS_LABEL,
  OPT_IGNORE_PAUSED,
};

const struct olrun_option olrun_exec_options[] = {
  [OPT_PROCESS] = { "process", 'p', "FILE", "a runtime-spec process object (`-` for stdin) instead of the container's" },
  [OPT_TTY] = { "tty", 't', NULL, "give the process a pty" },
  [OPT_DETACH] = { "detach", 'd', NULL, "return as soon as the process runs" },
  [OPT_CONSOLE_SOCKET] = { "console-socket", 0, "PATH", "send the pty master to this unix socket" },
  [OPT_PID_FILE] = { "pid-file", 0, "FILE", "write the process's pid to FILE" },
  [OPT_CWD] = { "cwd", 0, "DIR", "the working directory, resolved in the container" },
  [OPT_ENV] = { "env", 'e', "KEY=VALUE", "set an environment variable (repeatable)" },
  [OPT_USER] = { "user", 'u', "UID[:GID]", "run as this user; names are looked up in the container's /etc/passwd and /etc/group" },
  [OPT_ADDITIONAL_GIDS] = { "additional-gids", 'g', "GID", "a supplementary group instead of the container's (repeatable)" },
  [OPT_CAP] = { "cap", 'c', "CAP", "add a capability (repeatable)" },
  [OPT_NO_NEW_PRIVS] = { "no-new-privs", 0, NULL, "set no_new_privs for the process" },
  [OPT_PRESERVE_FDS] = { "preserve-fds", 0, "N", "pass N more fds (from 3) to the process" },
  [OPT_APPARMOR] = { "apparmor", 0, "PROFILE", "the AppArmor profile of the process" },
  [OPT_PROCESS_LABEL] = { "process-label", 0, "LABEL", "the SELinux label of the process" },
  [OPT_IGNORE_PAUSED] = { "ignore-paused", 0, NULL, "exec even into a paused container (the process waits for resume)" },
  { NULL, 0, NULL, NULL },
};

struct exec_cli
{
  struct olrun_exec_opts o;
  char **env;
  char **caps;
  uint32_t *gids;
};

static void
push (char ***v, const char *s)
{
  size_t n = strv_length (*v);
  *v = xreallocarray (*v, n + 2, sizeof **v);
  (*v)[n] = xstrdup (s);
  (*v)[n + 1] = NULL;
}

/* runc takes one gid per flag; a comma-separated list is accepted too. */
static int
add_gids (struct exec_cli *c, const char *arg)
{
  _cleanup_free_ char *copy = xstrdup (arg);
  for (char *save = NULL, *g = strtok_r (copy, ",", &save); g; g = strtok_r (NULL, ",", &save))
    {
      int64_t v;
      if (olrun_parse_int64 (g, &v) < 0 || v < 0 || v >= UINT32_MAX)
        return olrun_cli_failf ("--additional-gids: expected a gid, got `%s`", g), -1;
      c->gids = xreallocarray (c->gids, c->o.n_additional_gids + 1, sizeof *c->gids);
      c->gids[c->o.n_additional_gids++] = (uint32_t) v;
    }
  c->o.has_additional_gids = true;
  return 0;
}

static int
handle (void *opts, int index, const char *arg)
{
  struct exec_cli *c = opts;
  struct olrun_exec_opts *o = &c->o;
  switch (index)
    {
    case OPT_PROCESS: o->process_file = arg; break;
    case OPT_TTY: o->tty = true; break;
    case OPT_DETACH: o->detach = true; break;
    case OPT_CONSOLE_SOCKET: o->console_socket = arg; break;
    case OPT_PID_FILE: o->pid_file = arg; break;
    case OPT_CWD: o->cwd = arg; break;
    case OPT_ENV: push (&c->env, arg); break;
    case OPT_USER: o->user = arg; break;
    case OPT_ADDITIONAL_GIDS: return add_gids (c, arg);
    case OPT_CAP: push (&c->caps, arg); break;
    case OPT_NO_NEW_PRIVS: o->no_new_privs = true; break;
    case OPT_PRESERVE_FDS: return olrun_cli_parse_count ("preserve-fds", arg, 65536, &o->preserve_fds);
    case OPT_APPARMOR: o->apparmor = arg; break;
    case OPT_PROCESS_LABEL: o->process_label = arg; break;
    case OPT_IGNORE_PAUSED: o->ignore_paused = true; break;
    }
  return 0;
}

int
olrun_cmd_exec (struct olrun_cli *cli, int argc, char **argv)
{
  const struct olrun_command *cmd = olrun_cli_find ("exec");
  struct exec_cli c = { 0 };
  int first = olrun_cli_parse (cmd, argc, argv, handle, &c);
  _cleanup_strv_ char **env = c.env;
  _cleanup_strv_ char **caps = c.caps;
  _cleanup_free_ uint32_t *gids = c.gids;
  if (first < 0)
    return 1;
  /* Without -p the command is required: there is nothing else to run. */
  olrun_cli_nargs (cmd, argc - first, c.o.process_file ? 1 : 2, -1);
  c.o.id = argv[first];
  c.o.args = argv + first + 1;
  c.o.env = env;
  c.o.caps = caps;
  c.o.additional_gids = gids;
  olrun_error_t err = NULL;
  int status = 0;
  if (olrun_container_exec (&cli->ctx, &c.o, &status, &err) < 0)
    {
      /* A process that cannot start exits as a shell would say it; any
       * other failure as runc's exec does (255). */
      int code = err->kind == OLRUN_E_EXEC_NOENT ? 127 : err->kind == OLRUN_E_EXEC_FAILED ? 126 : 255;
      olrun_cli_fail (&err);
      return code;
    }
  return status;
}

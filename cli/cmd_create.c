/* create and run: the same options (run adds --detach and --keep). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "olrun/util.h"

enum
{
  OPT_BUNDLE,
  OPT_PID_FILE,
  OPT_CONSOLE_SOCKET,
  OPT_PRESERVE_FDS,
  OPT_NO_PIVOT,
  OPT_NO_NEW_KEYRING,
  OPT_CONFIG,
  OPT_DETACH,
  OPT_KEEP,
};

#define CREATE_OPTIONS                                                                                             \
  { "bundle", 'b', "DIR", "the bundle (default: the current directory)" },                                     \
      { "pid-file", 0, "FILE", "write the container's pid to FILE" },                                          \
      { "console-socket", 0, "PATH", "send the pty master to this unix socket" },                              \
      { "preserve-fds", 0, "N", "pass N more fds (from 3) to the container" },                                 \
      { "no-pivot", 0, NULL, "do not use pivot_root (for a rootfs on ramfs)" },                                \
      { "no-new-keyring", 0, NULL, "keep the caller's session keyring" },                                      \
      { "config", 0, "FILE", "use FILE instead of <bundle>/config.json" }

const struct olrun_option olrun_create_options[] = { CREATE_OPTIONS, { NULL, 0, NULL, NULL } };
const struct olrun_option olrun_run_options[] = {
  CREATE_OPTIONS,
  { "detach", 'd', NULL, "do not wait for the container" },
  { "keep", 0, NULL, "do not delete the container after it exits" },
  { NULL, 0, NULL, NULL },
};

static int
handle (void *opts, int index, const char *arg)
{
  struct olrun_create_opts *o = opts;
  switch (index)
    {
    case OPT_BUNDLE: o->bundle = arg; break;
    case OPT_PID_FILE: o->pid_file = arg; break;
    case OPT_CONSOLE_SOCKET: o->console_socket = arg; break;
    case OPT_PRESERVE_FDS: return olrun_cli_parse_count ("preserve-fds", arg, 65536, &o->preserve_fds);
    case OPT_NO_PIVOT: o->no_pivot = true; break;
    case OPT_NO_NEW_KEYRING: o->no_new_keyring = true; break;
    case OPT_CONFIG: o->config = arg; break;
    case OPT_DETACH: o->detach = true; break;
    case OPT_KEEP: o->keep = true; break;
    }
  return 0;
}

/* systemd socket activation: the fds from 3 on are the container's too,
 * as runc passes them (LISTEN_PID is rewritten to 1 in the container). */
static void
add_listen_fds (struct olrun_create_opts *o)
{
  const char *n = getenv ("LISTEN_FDS");
  int64_t v;
  if (n && olrun_parse_int64 (n, &v) == 0 && v > 0 && v < 4096)
    {
      o->listen_fds = (int) v;
      o->preserve_fds += (int) v;
    }
}

static int
parse (const char *verb, int argc, char **argv, struct olrun_create_opts *o)
{
  const struct olrun_command *cmd = olrun_cli_find (verb);
  int first = olrun_cli_parse (cmd, argc, argv, handle, o);
  if (first < 0)
    return -1;
  olrun_cli_nargs (cmd, argc - first, 1, 1);
  o->id = argv[first];
  add_listen_fds (o);
  return 0;
}

int
olrun_cmd_create (struct olrun_cli *cli, int argc, char **argv)
{
  struct olrun_create_opts o = { 0 };
  olrun_error_t err = NULL;
  if (parse ("create", argc, argv, &o) < 0)
    return 1;
  if (olrun_container_create (&cli->ctx, &o, &err) < 0)
    return olrun_cli_fail (&err);
  return 0;
}

int
olrun_cmd_run (struct olrun_cli *cli, int argc, char **argv)
{
  struct olrun_create_opts o = { 0 };
  olrun_error_t err = NULL;
  if (parse ("run", argc, argv, &o) < 0)
    return 1;
  int status = 0;
  if (olrun_container_run (&cli->ctx, &o, &status, &err) < 0)
    {
      /* A process that cannot start exits as a shell would say it. */
      int code = err->kind == OLRUN_E_EXEC_NOENT ? 127 : err->kind == OLRUN_E_EXEC_FAILED ? 126 : 1;
      olrun_cli_fail (&err);
      return code;
    }
  return status;
}

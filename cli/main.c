/* olrun's entry point: global options, then one command from the table. */
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cli/commands.h"
#include "olrun/log.h"
#include "olrun/seccomp.h"
#include "olrun/util.h"

static const struct olrun_option global_options[] = {
  { "root", 0, "DIR", "state directory (default /run/olrun, or $XDG_RUNTIME_DIR/olrun when not root)" },
  { "log", 0, "FILE", "write errors (and, with --debug, everything) to FILE" },
  { "log-format", 0, "text|json", "format of the --log file" },
  { "debug", 0, NULL, "log debug lines" },
  { "systemd-cgroup", 0, NULL, "use the systemd cgroup manager" },
  { "cgroup-manager", 0, "cgroupfs|systemd|disabled", "how the container's cgroup is managed" },
  { "rootless", 0, "true|false|auto", "run as in rootless mode" },
  { "backend", 0, "embedded|crun|runc|PATH", "the runtime behind every verb (default $OLRUN_BACKEND, else embedded)" },
  { "version", 'v', NULL, "print the version" },
  { NULL, 0, NULL, NULL },
};

const struct olrun_command olrun_commands[] = {
  { "create", "ID", "Create a container from a bundle; it waits for `start`.", olrun_create_options, olrun_cmd_create },
  { "start", "ID", "Start a created container.", NULL, olrun_cmd_start },
  { "run", "ID | REF [CMD...]", "Run a bundle as runc does, or an image (the launcher).", olrun_run_options,
    olrun_cmd_run_dispatch },
  { "exec", "ID [COMMAND [ARG...]]", "Run one more process in a running container.", olrun_exec_options, olrun_cmd_exec },
  { "state", "ID", "Print the state of a container as JSON.", NULL, olrun_cmd_state },
  { "kill", "ID [SIGNAL]", "Send a signal (default SIGTERM) to a container.", olrun_kill_options, olrun_cmd_kill },
  { "delete", "ID", "Delete a container.", olrun_delete_options, olrun_cmd_delete },
  { "list", NULL, "List containers.", olrun_list_options, olrun_cmd_list },
  { "features", NULL, "Print what this build of olrun supports on this host, as JSON.", NULL, olrun_cmd_features },
  { "checkpoint", "ID", "Not supported: olrun has no CRIU support; always fails.", NULL, olrun_cmd_checkpoint },
  { "restore", "ID", "Not supported: olrun has no CRIU support; always fails.", NULL, olrun_cmd_checkpoint },
  { "pause", "ID", "Freeze every process of a container.", NULL, olrun_cmd_pause },
  { "resume", "ID", "Thaw a paused container.", NULL, olrun_cmd_resume },
  { "update", "ID", "Change a running container's resource limits.", olrun_update_options, olrun_cmd_update },
  { "events", "ID", "Print a container's cgroup statistics (runc's events format).", olrun_events_options,
    olrun_cmd_events },
  { "ps", "ID [PS-ARGS...]", "List the processes of a container.", olrun_ps_options, olrun_cmd_ps },
  { "spec", NULL, "Write a starting config.json for a bundle.", olrun_spec_options, olrun_cmd_spec },
  { "pull", "REF", "Fetch an image into the cache and print its digest.", NULL, olrun_cmd_pull },
  { "bundle", "create REF DIR | delete DIR", "Make a bundle from an image, or remove one.", NULL, olrun_cmd_bundle },
  { "images", NULL, "List the cached images.", NULL, olrun_cmd_images },
  { "cache", "prune", "Remove what no cached image uses.", NULL, olrun_cmd_cache },
  { "attach", "ID", "Connect to a detached instance (detach with ctrl-p ctrl-q).", NULL, olrun_cmd_attach },
  { "logs", "ID", "Print the output of a detached instance.", olrun_logs_options, olrun_cmd_logs },
  { "stop", "ID", "Stop a container: SIGTERM, then SIGKILL after a timeout.", olrun_stop_options, olrun_cmd_stop },
  { NULL, NULL, NULL, NULL, NULL },
};

const struct olrun_command *
olrun_cli_find (const char *name)
{
  for (const struct olrun_command *c = olrun_commands; c->name; c++)
    if (strcmp (c->name, name) == 0)
      return c;
  return NULL;
}

static const struct olrun_command global = { "COMMAND", "[ARGS...]", "A container runtime.", global_options, NULL };

static char *
default_root (void)
{
  if (geteuid () == 0)
    return xstrdup ("/run/olrun");
  const char *xdg = getenv ("XDG_RUNTIME_DIR");
  if (xdg && *xdg)
    return xasprintf ("%s/olrun", xdg);
  return xasprintf ("/tmp/olrun-%u", (unsigned) geteuid ());
}

static int
handle_global (void *opts, int index, const char *arg)
{
  struct olrun_cli *cli = opts;
  const char *name = index >= 0 ? global_options[index].name : "version";
  if (strcmp (name, "root") == 0)
    cli->ctx.root = arg;
  else if (strcmp (name, "log") == 0)
    cli->log_path = arg;
  else if (strcmp (name, "log-format") == 0)
    {
      if (strcmp (arg, "json") != 0 && strcmp (arg, "text") != 0)
        return olrun_cli_failf ("--log-format: unknown format `%s`", arg), -1;
      cli->log_json = strcmp (arg, "json") == 0;
    }
  else if (strcmp (name, "debug") == 0)
    cli->debug = true;
  else if (strcmp (name, "systemd-cgroup") == 0)
    cli->ctx.cgroup_manager = OLRUN_CGROUP_SYSTEMD;
  else if (strcmp (name, "cgroup-manager") == 0)
    {
      int m = olrun_cgroup_manager_from_name (arg);
      if (m < 0)
        return olrun_cli_failf ("--cgroup-manager: unknown manager `%s`", arg), -1;
      cli->ctx.cgroup_manager = m;
    }
  else if (strcmp (name, "rootless") == 0)
    {
      if (strcmp (arg, "true") && strcmp (arg, "false") && strcmp (arg, "auto"))
        return olrun_cli_failf ("--rootless: expected true, false or auto, got `%s`", arg), -1;
      cli->ctx.rootless = strcmp (arg, "auto") == 0 ? -1 : strcmp (arg, "true") == 0;
    }
  else if (strcmp (name, "backend") == 0)
    cli->ctx.backend = arg;
  else if (strcmp (name, "version") == 0)
    {
      /* runc's shape ("runc version X", "commit:", "spec:", "libseccomp:"),
       * which tools parse line by line. */
      char *libseccomp = olrun_seccomp_library_version ();
      printf ("olrun version %s\ncommit: %s\nspec: %s\nlibseccomp: %s\n", OLRUN_VERSION, OLRUN_COMMIT,
              OLRUN_OCI_VERSION, libseccomp);
      free (libseccomp); /* exit() runs no cleanup attributes */
      exit (0);
    }
  return 0;
}

/* fds 0-2 must be open: otherwise the first fd we open becomes someone's
 * stdin or stdout, and could reach the container as such. */
static void
ensure_stdio (void)
{
  for (int fd = 0; fd < 3; fd++)
    if (fcntl (fd, F_GETFD) < 0 && open ("/dev/null", O_RDWR) != fd)
      abort ();
}

/* What the static ./olrun hands to olrun-images (cli/images_helper.c):
 * the image commands, and any command under the systemd cgroup manager.
 * `features` goes too where the helper is installed, so that it tells
 * what the host offers, systemd included. */
static int
images_half (const struct olrun_cli *cli, const struct olrun_command *cmd)
{
  static const char *const image_commands[] = { "pull", "bundle", "images", "cache" };
  for (size_t i = 0; i < ARRAY_SIZE (image_commands); i++)
    if (strcmp (cmd->name, image_commands[i]) == 0)
      return olrun_cli_images_helper (cli, cmd->name, true);
  if (cli->ctx.cgroup_manager == OLRUN_CGROUP_SYSTEMD)
    return olrun_cli_images_helper (cli, "the systemd cgroup manager", true);
  if (strcmp (cmd->name, "features") == 0)
    return olrun_cli_images_helper (cli, "features", false);
  return 0;
}

int
main (int argc, char **argv)
{
  ensure_stdio ();
  /* Build-time modes for `make docs`: not options of the runtime. */
  if (argc == 3 && strcmp (argv[1], "--generate-man") == 0)
    return olrun_cli_generate_man (argv[2], &global);
  if (argc == 2 && strcmp (argv[1], "--generate-completion") == 0)
    return olrun_cli_generate_completion (&global);
  struct olrun_cli cli = { .ctx = { .cgroup_manager = OLRUN_CGROUP_CGROUPFS, .rootless = -1 } };
  _cleanup_free_ char *root = default_root ();
  cli.ctx.root = root;
  cli.argv = argv;
  const char *notify = getenv ("NOTIFY_SOCKET");
  cli.ctx.notify_socket = notify && *notify ? notify : NULL;
  int first = olrun_cli_parse (&global, argc, argv, handle_global, &cli);
  if (first < 0)
    return 1;
  cli.ctx.log_path = cli.log_path;
  cli.ctx.log_json = cli.log_json;
  cli.ctx.debug = cli.debug;
  if (olrun_log_init (cli.log_path, cli.log_json ? OLRUN_LOG_JSON : OLRUN_LOG_TEXT, cli.debug) < 0)
    return olrun_cli_failf ("--log `%s`: %s", cli.log_path, strerror (errno));
  if (first >= argc)
    {
      olrun_cli_usage (&global, true);
      return 1;
    }
  const struct olrun_command *cmd = olrun_cli_find (argv[first]);
  if (cmd == NULL)
    {
      fprintf (stderr, "olrun: unknown command `%s`\n", argv[first]);
      olrun_cli_usage (&global, true);
      return 1;
    }
  int rc = olrun_cli_backend_dispatch (&cli, argc - first, argv + first);
  if (rc >= 0)
    return rc;
  if (images_half (&cli, cmd) < 0)
    return 1;
  return cmd->run (&cli, argc - first, argv + first);
}

/* ps ID [--format table|json] [PS-ARGS...]: the processes in the
 * container's cgroup.  json prints the pids; table runs ps(1) (with
 * PS-ARGS, default -ef) and keeps the header and the container's lines,
 * as runc does. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cli/cli.h"
#include "olrun/util.h"

const struct olrun_option olrun_ps_options[] = {
  { "format", 'f', "table|json", "output format (default table)" },
  { NULL, 0, NULL, NULL },
};

static int
ps_option (void *opts, int index, const char *arg)
{
  if (strcmp (arg, "table") && strcmp (arg, "json"))
    return olrun_cli_failf ("ps: --format: expected table or json, got `%s`", arg), -1;
  *(const char **) opts = arg;
  return 0;
}

static bool
has_pid (const pid_t *pids, size_t n, long pid)
{
  for (size_t i = 0; i < n; i++)
    if (pids[i] == pid)
      return true;
  return false;
}

/* The PID column of ps's header decides which word of each line to read. */
static int
print_table (char **ps_args, const pid_t *pids, size_t n)
{
  int fds[2];
  if (pipe (fds) < 0)
    return olrun_cli_failf ("ps: pipe: %m");
  pid_t child = fork ();
  if (child == 0)
    {
      dup2 (fds[1], 1);
      close (fds[0]);
      close (fds[1]);
      execvp ("ps", ps_args);
      _exit (127);
    }
  close (fds[1]);
  FILE *in = fdopen (fds[0], "r");
  char *line = NULL;
  size_t cap = 0;
  int col = -1;
  for (ssize_t len; in && (len = getline (&line, &cap, in)) > 0;)
    {
      _cleanup_free_ char *copy = xstrdup (line);
      int i = 0;
      long pid = -1;
      for (char *w = strtok (copy, " \t\n"); w; w = strtok (NULL, " \t\n"), i++)
        if (col < 0 && strcmp (w, "PID") == 0)
          col = i;
        else if (i == col)
          pid = strtol (w, NULL, 10);
      if (pid < 0 || has_pid (pids, n, pid))
        fputs (line, stdout);
    }
  free (line);
  if (in)
    fclose (in);
  int status = 0;
  waitpid (child, &status, 0);
  if (col < 0 || !WIFEXITED (status) || WEXITSTATUS (status) != 0)
    return olrun_cli_failf ("ps: `ps` failed or printed no PID column");
  return 0;
}

int
olrun_cmd_ps (struct olrun_cli *cli, int argc, char **argv)
{
  const struct olrun_command *cmd = olrun_cli_find ("ps");
  const char *format = "table";
  int first = olrun_cli_parse (cmd, argc, argv, ps_option, &format);
  if (first < 0)
    return 1;
  olrun_cli_nargs (cmd, argc - first, 1, argc);
  olrun_error_t err = NULL;
  _cleanup_free_ pid_t *pids = NULL;
  size_t n = 0;
  if (olrun_container_pids (&cli->ctx, argv[first], &pids, &n, &err) < 0)
    return olrun_cli_fail (&err);
  if (strcmp (format, "json") == 0)
    {
      printf ("[");
      for (size_t i = 0; i < n; i++)
        printf ("%s%d", i ? "," : "", (int) pids[i]);
      printf ("]\n");
      return 0;
    }
  char *def[] = { "ps", "-ef", NULL };
  _cleanup_free_ char **args = NULL;
  if (argc - first > 1)
    {
      args = xzalloc ((size_t) (argc - first + 1) * sizeof *args);
      args[0] = "ps";
      for (int i = first + 1; i < argc; i++)
        args[i - first] = argv[i];
    }
  return print_table (args ? args : def, pids, n);
}

/* Option parsing and usage, driven by the command table. */
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "olrun/log.h"
#include "olrun/util.h"

void
olrun_cli_usage (const struct olrun_command *cmd, bool to_stderr)
{
  FILE *f = to_stderr ? stderr : stdout;
  fprintf (f, "Usage: olrun [global options] %s [options]%s%s\n\n%s\n", cmd->name, cmd->args ? " " : "",
           cmd->args ? cmd->args : "", cmd->summary);
  if (cmd->run == NULL)
    {
      /* The global usage lists the commands too. */
      fprintf (f, "\nCommands:\n");
      for (const struct olrun_command *c = olrun_commands; c->name; c++)
        fprintf (f, "  %-10s %s\n", c->name, c->summary);
    }
  if (cmd->options == NULL || cmd->options[0].name == NULL)
    return;
  fprintf (f, "\nOptions:\n");
  for (const struct olrun_option *o = cmd->options; o->name; o++)
    {
      char left[64];
      if (o->short_name)
        snprintf (left, sizeof left, "-%c, --%s%s%s", o->short_name, o->name, o->arg ? " " : "", o->arg ? o->arg : "");
      else
        snprintf (left, sizeof left, "    --%s%s%s", o->name, o->arg ? " " : "", o->arg ? o->arg : "");
      fprintf (f, "  %-30s %s\n", left, o->help);
    }
}

void
olrun_cli_nargs (const struct olrun_command *cmd, int n, int min, int max)
{
  if (n >= min && (max < 0 || n <= max))
    return;
  fprintf (stderr, "olrun: %s: expected %s\n", cmd->name, cmd->args ? cmd->args : "no arguments");
  olrun_cli_usage (cmd, true);
  exit (1);
}

int
olrun_cli_parse (const struct olrun_command *cmd, int argc, char **argv,
                 int (*handle) (void *opts, int index, const char *arg), void *opts)
{
  size_t n = 0;
  while (cmd->options && cmd->options[n].name)
    n++;
  struct option *longopts = xzalloc ((n + 2) * sizeof *longopts);
  struct olrun_buf shorts = { 0 };
  olrun_buf_puts (&shorts, "+:");
  for (size_t i = 0; i < n; i++)
    {
      const struct olrun_option *o = &cmd->options[i];
      longopts[i] = (struct option){ o->name, o->arg ? required_argument : no_argument, NULL, 256 + (int) i };
      if (o->short_name)
        {
          char s[3] = { (char) o->short_name, o->arg ? ':' : '\0', '\0' };
          olrun_buf_puts (&shorts, s);
        }
    }
  longopts[n] = (struct option){ "help", no_argument, NULL, 'h' };
  optind = 1;
  opterr = 0;
  int c, rc = 0;
  while (rc == 0 && (c = getopt_long_only (argc, argv, shorts.data, longopts, NULL)) != -1)
    {
      int index = -1;
      if (c >= 256)
        index = c - 256;
      else if (c == 'h')
        {
          olrun_cli_usage (cmd, false);
          exit (0);
        }
      else if (c == '?' || c == ':')
        {
          fprintf (stderr, "olrun: %s: %s `%s`\n", cmd->name, c == ':' ? "missing argument for" : "unknown option",
                   argv[optind - 1]);
          olrun_cli_usage (cmd, true);
          exit (1);
        }
      for (size_t i = 0; index < 0 && i < n; i++)
        if (cmd->options[i].short_name == c)
          index = (int) i;
      rc = handle ? handle (opts, index, optarg) : 0;
    }
  free (longopts);
  olrun_buf_free (&shorts);
  return rc < 0 ? -1 : optind;
}

int
olrun_cli_parse_count (const char *option, const char *arg, int max, int *ret)
{
  int64_t n;
  if (olrun_parse_int64 (arg, &n) < 0 || n < 0 || n > max)
    return olrun_cli_failf ("--%s: expected a number from 0 to %d, got `%s`", option, max, arg), -1;
  *ret = (int) n;
  return 0;
}

int
olrun_cli_fail (olrun_error_t *err)
{
  olrun_log (OLRUN_LOG_ERROR, "%s", (*err)->msg);
  olrun_error_release (err);
  return 1;
}

int
olrun_cli_failf (const char *fmt, ...)
{
  va_list ap;
  va_start (ap, fmt);
  char *msg = xvasprintf (fmt, ap);
  va_end (ap);
  olrun_log (OLRUN_LOG_ERROR, "%s", msg);
  free (msg);
  return 1;
}

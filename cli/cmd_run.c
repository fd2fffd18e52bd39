/* olrun run: runc's `run ID` or the launcher, by DESIGN.md's rule.  A
 * single positional argument that is a container ID (no `/`, no transport
 * prefix) runs a bundle as runc does; anything else is the launcher:
 * `olrun run [launcher options] REF [CMD [ARG...]]`. */
#include <stdio.h>
#include <string.h>

#include "cli/commands.h"
#include "cli/launch_opts.h"
#include "olrun/util.h"

/* Whether an option takes an argument, in either command line: by long
 * name (name, len), or by short name. */
static bool
long_takes_arg (const char *name, size_t len)
{
  for (const struct option *o = olrun_launch_longopts; o->name; o++)
    if (strlen (o->name) == len && strncmp (o->name, name, len) == 0)
      return o->has_arg == required_argument;
  for (const struct olrun_option *o = olrun_run_options; o->name; o++)
    if (strlen (o->name) == len && strncmp (o->name, name, len) == 0)
      return o->arg != NULL;
  return false;
}

static bool
short_takes_arg (char c)
{
  for (const struct option *o = olrun_launch_longopts; o->name; o++)
    if (o->val == c)
      return o->has_arg == required_argument;
  for (const struct olrun_option *o = olrun_run_options; o->name; o++)
    if (o->short_name == c)
      return o->arg != NULL;
  return false;
}

/* The index of the first positional argument (argc if none), skipping
 * the options of both command lines and their arguments. */
static int
first_positional (int argc, char **argv)
{
  for (int i = 1; i < argc; i++)
    {
      const char *a = argv[i];
      if (strcmp (a, "--") == 0)
        return i + 1;
      if (a[0] != '-' || a[1] == '\0')
        return i;
      /* --name[=value]; runc's parser also takes -name */
      const char *name = a + (a[1] == '-' ? 2 : 1);
      size_t len = strcspn (name, "=");
      if (a[1] == '-' || (len > 1 && long_takes_arg (name, len)))
        {
          if (name[len] != '=' && long_takes_arg (name, len))
            i++;
          continue;
        }
      /* a cluster of short options: -it, -eK=V, -e K=V */
      for (const char *c = name; *c; c++)
        if (short_takes_arg (*c))
          {
            if (c[1] == '\0')
              i++;
            break;
          }
    }
  return argc;
}

int
olrun_cmd_run_dispatch (struct olrun_cli *cli, int argc, char **argv)
{
  int first = first_positional (argc, argv);
  for (int i = 1; i < first && i < argc; i++)
    if (strcmp (argv[i], "--help") == 0 || strcmp (argv[i], "-help") == 0 || strcmp (argv[i], "-h") == 0)
      {
        olrun_cli_usage (olrun_cli_find ("run"), false);
        printf ("\n");
        fputs (olrun_launch_usage, stdout);
        return 0;
      }
  if (first >= argc || !olrun_launch_is_reference (argv[first]))
    {
      if (first + 1 < argc)
        return olrun_cli_failf ("run: `%s` is a container ID; an image needs a transport prefix or a `/` "
                                "(docker://%s, oci:DIR, ./bundle)",
                                argv[first], argv[first]);
      int rc = olrun_cli_backend_exec (cli, argc, argv);
      return rc >= 0 ? rc : olrun_cmd_run (cli, argc, argv);
    }
  if (olrun_cli_images_helper (cli, "the launcher", true) < 0)
    return 1;
  struct launch_cli c = { 0 };
  if (launch_cli_parse (&c, argc, argv) < 0)
    {
      launch_cli_clear (&c);
      return 1;
    }
  olrun_error_t err = NULL;
  int status = 0;
  _cleanup_free_ char *id = NULL;
  int rc = olrun_launch (&cli->ctx, &c.o, &status, &id, &err);
  launch_cli_clear (&c);
  if (rc < 0)
    {
      /* A process that cannot start exits as a shell would say it. */
      int code = err->kind == OLRUN_E_EXEC_NOENT ? 127 : err->kind == OLRUN_E_EXEC_FAILED ? 126 : 1;
      olrun_cli_fail (&err);
      return code;
    }
  if (id)
    printf ("%s\n", id);
  return status;
}

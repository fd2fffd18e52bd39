/* The launcher's command line (cli/launch_opts.c), for cmd_run.c. */
#ifndef OLRUN_CLI_LAUNCH_OPTS_H
#define OLRUN_CLI_LAUNCH_OPTS_H

#include <getopt.h>

#include "cli/cli.h"
#include "cli/image_opts.h"
#include "olrun/bundle.h"

struct launch_cli
{
  struct olrun_launch_opts o;
  struct image_cli image;
  char **env;
  size_t n_env;
  struct olrun_bind *binds;
  size_t n_binds;
  int tty;                 /* -1: decide from the terminal; 0/1: -T/-t */
};

extern const char olrun_launch_usage[];
extern const struct option olrun_launch_longopts[];
extern const char olrun_launch_shortopts[];

/* Parse argv (argv[0] is "run"); -1 after printing why. */
int launch_cli_parse (struct launch_cli *c, int argc, char **argv);
void launch_cli_clear (struct launch_cli *c);

#endif

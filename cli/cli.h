/* The command line: one table of commands and their options, from which
 * the parser, --help, the man pages and the completion are all made. */
#ifndef OLRUN_CLI_H
#define OLRUN_CLI_H

#include <stdbool.h>

#include "olrun/error.h"
#include "olrun/runtime.h"

struct olrun_cli
{
  struct olrun_context ctx;
  char **argv;             /* main's, whole: what olrun-images is run with */
  const char *log_path;
  bool log_json;
  bool debug;
};

struct olrun_option
{
  const char *name;        /* long name, without dashes */
  int short_name;          /* 0 for none */
  const char *arg;         /* the argument's name, NULL for a flag */
  const char *help;
};

struct olrun_command
{
  const char *name;
  const char *args;        /* positional arguments, for the synopsis */
  const char *summary;
  const struct olrun_option *options;  /* NULL-name terminated, may be NULL */
  int (*run) (struct olrun_cli *cli, int argc, char **argv);
};

extern const struct olrun_command olrun_commands[];
const struct olrun_command *olrun_cli_find (const char *name);

/* Parse argv (argv[0] is the command) against cmd's options, calling
 * handle(opts, index into cmd->options, optarg) for each.  Options come
 * first, as in runc: parsing stops at the first positional argument, so
 * `exec ID sh -c ...` keeps its -c.  Long options take one or two dashes
 * (Go's flag package accepts both, and clients use both).  --help prints
 * the usage and exits 0; a bad option prints it to stderr and exits 1.
 * Returns the index of the first positional argument, or -1 when handle
 * failed (it has printed why).  A command without options may pass NULL. */
int olrun_cli_parse (const struct olrun_command *cmd, int argc, char **argv,
                     int (*handle) (void *opts, int index, const char *arg), void *opts);
void olrun_cli_usage (const struct olrun_command *cmd, bool to_stderr);
/* A count option (--preserve-fds N): 0..max, else it says why and
 * returns -1. */
int olrun_cli_parse_count (const char *option, const char *arg, int max, int *ret);
/* Check the number of positional arguments; prints usage and exits 1. */
void olrun_cli_nargs (const struct olrun_command *cmd, int n, int min, int max);

/* Man pages (olrun.8, olrun-COMMAND.8 into dir) and the bash completion
 * script (stdout), from the table above (cli/docs.c).  `global` is the
 * global options' pseudo-command.  Return the exit status. */
int olrun_cli_generate_man (const char *dir, const struct olrun_command *global);
int olrun_cli_generate_completion (const struct olrun_command *global);

/* Report an error as "olrun: <msg>" (and in the log) and release it.
 * Returns the exit status to use: 1. */
int olrun_cli_fail (olrun_error_t *err);
/* The same for an error the CLI found itself. */
int olrun_cli_failf (const char *fmt, ...) __attribute__ ((format (printf, 1, 2)));

/* In the static ./olrun: exec olrun-images, the dynamically linked build,
 * with the same argv, for `what` (which needs dlopen()ed libraries).  If
 * it cannot be found: an error when required (returns -1, said), else 0
 * to go on here.  In the dynamic build: returns 0 at once. */
int olrun_cli_images_helper (const struct olrun_cli *cli, const char *what, bool required);

/* The commands. */
int olrun_cmd_create (struct olrun_cli *cli, int argc, char **argv);
int olrun_cmd_run (struct olrun_cli *cli, int argc, char **argv);
int olrun_cmd_start (struct olrun_cli *cli, int argc, char **argv);
int olrun_cmd_state (struct olrun_cli *cli, int argc, char **argv);
int olrun_cmd_kill (struct olrun_cli *cli, int argc, char **argv);
int olrun_cmd_delete (struct olrun_cli *cli, int argc, char **argv);
int olrun_cmd_list (struct olrun_cli *cli, int argc, char **argv);
int olrun_cmd_pause (struct olrun_cli *cli, int argc, char **argv);
int olrun_cmd_resume (struct olrun_cli *cli, int argc, char **argv);
int olrun_cmd_update (struct olrun_cli *cli, int argc, char **argv);
int olrun_cmd_events (struct olrun_cli *cli, int argc, char **argv);
int olrun_cmd_ps (struct olrun_cli *cli, int argc, char **argv);
int olrun_cmd_spec (struct olrun_cli *cli, int argc, char **argv);
int olrun_cmd_exec (struct olrun_cli *cli, int argc, char **argv);
int olrun_cmd_features (struct olrun_cli *cli, int argc, char **argv);
int olrun_cmd_checkpoint (struct olrun_cli *cli, int argc, char **argv);

extern const struct olrun_option olrun_create_options[];
extern const struct olrun_option olrun_run_options[];
extern const struct olrun_option olrun_kill_options[];
extern const struct olrun_option olrun_delete_options[];
extern const struct olrun_option olrun_list_options[];
extern const struct olrun_option olrun_update_options[];
extern const struct olrun_option olrun_events_options[];
extern const struct olrun_option olrun_ps_options[];
extern const struct olrun_option olrun_spec_options[];
extern const struct olrun_option olrun_exec_options[];

#endif

/* olrun cache prune [--cache DIR]: remove what no cached image uses. */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cli/commands.h"
#include "cli/image_opts.h"

static const char usage[] = "Usage: olrun cache prune [--cache DIR]\n"
                            "Remove blobs no cached image uses, records of removed images, and the\n"
                            "leftovers of interrupted pulls and unpacks.\n";

int
olrun_cmd_cache (struct olrun_cli *cli, int argc, char **argv)
{
  if (argc >= 2 && (strcmp (argv[1], "--help") == 0 || strcmp (argv[1], "-h") == 0))
    return fputs (usage, stdout), 0;
  if (argc < 2 || strcmp (argv[1], "prune") != 0)
    return fputs (usage, stderr), 1;
  static const struct option longopts[] = { { "cache", required_argument, NULL, 'c' },
                                            { "help", no_argument, NULL, 'h' },
                                            { 0 } };
  const char *cache = NULL;
  int opt;
  optind = 0;
  while ((opt = getopt_long (argc - 1, argv + 1, "+h", longopts, NULL)) != -1)
    switch (opt)
      {
      case 'c': cache = optarg; break;
      case 'h': return fputs (usage, stdout), 0;
      default: return fputs (usage, stderr), 1;
      }
  if (optind != argc - 1)
    return fputs (usage, stderr), 1;
  olrun_error_t err = NULL;
  struct olrun_prune_stats st;
  if (olrun_cache_prune (cache, &st, &err) < 0)
    return cli_report (&err);
  printf ("removed %zu blobs (%.1f MiB), %zu stale records, %zu interrupted unpacks\n", st.blobs,
          (double) st.bytes / (1 << 20), st.records, st.temps);
  return 0;
}

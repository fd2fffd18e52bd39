/* Options shared by the commands that touch images (pull, bundle create,
 * and the launcher's run): --cache, --platform, --tls-verify, --cert-dir,
 * --authfile, --quiet, --max-size, --max-entries; plus the progress bars. */
#ifndef OLRUN_CLI_IMAGE_OPTS_H
#define OLRUN_CLI_IMAGE_OPTS_H

#include <getopt.h>
#include <stdbool.h>

#include "olrun/bundle.h"

struct image_cli
{
  struct olrun_image_opts opts;
  bool quiet;
  /* progress state */
  bool tty;
  double started;
  int last_phase, last_layer;
};

/* The getopt_long entries; their `val`s start at IMAGE_OPT_BASE. */
#define IMAGE_OPT_BASE 0x1000
#define IMAGE_LONG_OPTIONS                                                                         \
  { "cache", required_argument, NULL, IMAGE_OPT_BASE + 0 },                                        \
  { "platform", required_argument, NULL, IMAGE_OPT_BASE + 1 },                                     \
  { "tls-verify", required_argument, NULL, IMAGE_OPT_BASE + 2 },                                   \
  { "cert-dir", required_argument, NULL, IMAGE_OPT_BASE + 3 },                                     \
  { "authfile", required_argument, NULL, IMAGE_OPT_BASE + 4 },                                     \
  { "quiet", no_argument, NULL, 'q' },                                                             \
  { "max-size", required_argument, NULL, IMAGE_OPT_BASE + 5 },                                     \
  { "max-entries", required_argument, NULL, IMAGE_OPT_BASE + 6 }

#define IMAGE_OPTIONS_HELP                                                                         \
  "  --cache DIR          the image cache (default ~/.cache/olrun, /var/cache/olrun for root)\n"   \
  "  --platform OS/ARCH[/VARIANT]  the image to pick from an index (default: this host)\n"          \
  "  --tls-verify=false   allow plain HTTP and unverified TLS for the registry\n"                  \
  "  --cert-dir DIR       CA certificates (*.crt) for the registry\n"                              \
  "  --authfile FILE      registry credentials (auth.json format)\n"                               \
  "  -q, --quiet          no progress output\n"                                                    \
  "  --max-size BYTES     cap on the total uncompressed size of the layers (suffix K, M, G)\n"     \
  "  --max-entries N      cap on the number of tar entries\n"

/* Handle one option c (from getopt_long); 1 if it was ours, 0 if not, -1
 * (after printing the error) on a bad value. */
int image_cli_option (struct image_cli *c, int opt, const char *arg);
/* Install the progress callback (unless --quiet). */
void image_cli_finish (struct image_cli *c);
/* Print "olrun: <msg>" and release the error; returns 1 (the exit status). */
int cli_report (olrun_error_t *err);

#endif

/* olrun pull [options] REF: fill the cache (blobs and the pristine rootfs)
 * and print the image ID (the config digest). */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cli/commands.h"
#include "cli/image_opts.h"

static const char usage[] = "Usage: olrun pull [OPTIONS] REF\n"
                            "Fetch an image into the cache, unpack it, and print its ID.\n"
                            "REF: oci:DIR[:TAG|@DIGEST], oci-archive:FILE[:TAG], docker-archive:FILE[:REPO:TAG],\n"
                            "     docker://HOST[:PORT]/REPO[:TAG|@DIGEST], or a short name (docker.io)\n" IMAGE_OPTIONS_HELP;

int
olrun_cmd_pull (struct olrun_cli *cli, int argc, char **argv)
{
  static const struct option longopts[] = { IMAGE_LONG_OPTIONS, { "help", no_argument, NULL, 'h' }, { 0 } };
  struct image_cli c = { 0 };
  int opt;
  optind = 0;
  while ((opt = getopt_long (argc, argv, "+qh", longopts, NULL)) != -1)
    {
      if (opt == 'h')
        return fputs (usage, stdout), 0;
      int r = image_cli_option (&c, opt, optarg);
      if (r <= 0)
        return r < 0 ? 1 : (fputs (usage, stderr), 1);
    }
  if (argc - optind != 1)
    {
      fputs (usage, stderr);
      return 1;
    }
  c.opts.ref = argv[optind];
  image_cli_finish (&c);
  olrun_error_t err = NULL;
  struct olrun_image *img = NULL;
  if (olrun_image_prepare (&c.opts, &img, &err) < 0)
    return cli_report (&err);
  printf ("%s\n", img->config_digest);
  olrun_image_free (img);
  return 0;
}

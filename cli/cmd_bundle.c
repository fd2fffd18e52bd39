/* olrun bundle create [options] REF DIR | olrun bundle delete DIR */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cli/commands.h"
#include "cli/image_opts.h"

static const char usage[] = "Usage: olrun bundle create [OPTIONS] REF DIR\n"
                            "       olrun bundle delete DIR\n"
                            "create: make an OCI bundle at DIR whose rootfs is the image's cached tree,\n"
                            "bound read-only, nodev, nosuid, with a config.json from the image config.\n"
                            "delete: unmount the rootfs and remove the bundle (the cache is untouched).\n"
                            "Options of create:\n" IMAGE_OPTIONS_HELP
                            "  --hostname NAME      the container's hostname (default olrun)\n"
                            "  --net none|host      a new network namespace, or the host's (default)\n";

static int
bundle_create (int argc, char **argv)
{
  enum { OPT_HOSTNAME = 1, OPT_NET };
  static const struct option longopts[] = { IMAGE_LONG_OPTIONS,
                                             { "hostname", required_argument, NULL, OPT_HOSTNAME },
                                             { "net", required_argument, NULL, OPT_NET },
                                             { "help", no_argument, NULL, 'h' },
                                             { 0 } };
  struct image_cli c = { 0 };
  struct olrun_config_opts co = { 0 };
  int opt;
  optind = 0;
  while ((opt = getopt_long (argc, argv, "+qh", longopts, NULL)) != -1)
    {
      if (opt == 'h')
        return fputs (usage, stdout), 0;
      if (opt == OPT_HOSTNAME)
        co.hostname = optarg;
      else if (opt == OPT_NET && (strcmp (optarg, "none") == 0 || strcmp (optarg, "host") == 0))
        co.net_none = strcmp (optarg, "none") == 0;
      else if (opt == OPT_NET)
        return fprintf (stderr, "olrun: --net: expected none or host, got `%s`\n", optarg), 1;
      else
        {
          int r = image_cli_option (&c, opt, optarg);
          if (r <= 0)
            return r < 0 ? 1 : (fputs (usage, stderr), 1);
        }
    }
  if (argc - optind != 2)
    return fputs (usage, stderr), 1;
  c.opts.ref = argv[optind];
  image_cli_finish (&c);
  olrun_error_t err = NULL;
  struct olrun_image *img = NULL;
  if (olrun_image_prepare (&c.opts, &img, &err) < 0)
    return cli_report (&err);
  int rc = olrun_bundle_create (argv[optind + 1], img, &co, &err);
  olrun_image_free (img);
  return rc < 0 ? cli_report (&err) : 0;
}

int
olrun_cmd_bundle (struct olrun_cli *cli, int argc, char **argv)
{
  if (argc >= 2 && strcmp (argv[1], "create") == 0)
    return bundle_create (argc - 1, argv + 1);
  if (argc >= 2 && (strcmp (argv[1], "--help") == 0 || strcmp (argv[1], "-h") == 0))
    return fputs (usage, stdout), 0;
  if (argc == 3 && strcmp (argv[1], "delete") == 0)
    {
      olrun_error_t err = NULL;
      return olrun_bundle_delete (argv[2], &err) < 0 ? cli_report (&err) : 0;
    }
  fputs (usage, stderr);
  return 1;
}

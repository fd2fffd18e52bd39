/* olrun images [--cache DIR] [--format table|json] [-q]: the cached images. */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cli/commands.h"
#include "cli/image_opts.h"
#include "olrun/json.h"
#include "olrun/util.h"

static const char usage[] = "Usage: olrun images [--cache DIR] [--format table|json] [-q]\n"
                            "List the images whose rootfs is in the cache.\n";

static void
print_json (const struct olrun_cached_image *v, size_t n)
{
  olrun_jw_t *w = olrun_jw_new (true);
  olrun_jw_array_open (w);
  for (size_t i = 0; i < n; i++)
    {
      olrun_jw_object_open (w);
      olrun_jw_kv_string (w, "id", v[i].config_digest);
      olrun_jw_kv_string (w, "manifest", v[i].manifest_digest);
      olrun_jw_key (w, "refs");
      olrun_jw_array_open (w);
      for (size_t k = 0; v[i].refs && v[i].refs[k]; k++)
        olrun_jw_string (w, v[i].refs[k]);
      olrun_jw_array_close (w);
      olrun_jw_key (w, "size");
      olrun_jw_uint (w, v[i].size);
      olrun_jw_kv_string (w, "created", v[i].created);
      olrun_jw_object_close (w);
    }
  olrun_jw_array_close (w);
  printf ("%s\n", olrun_jw_text (w, NULL));
  olrun_jw_free (w);
}

int
olrun_cmd_images (struct olrun_cli *cli, int argc, char **argv)
{
  static const struct option longopts[] = { { "cache", required_argument, NULL, 'c' },
                                            { "format", required_argument, NULL, 'f' },
                                            { "quiet", no_argument, NULL, 'q' },
                                            { "help", no_argument, NULL, 'h' },
                                            { 0 } };
  const char *cache = NULL, *format = "table";
  bool quiet = false;
  int opt;
  optind = 0;
  while ((opt = getopt_long (argc, argv, "+qh", longopts, NULL)) != -1)
    switch (opt)
      {
      case 'c': cache = optarg; break;
      case 'f': format = optarg; break;
      case 'q': quiet = true; break;
      case 'h': return fputs (usage, stdout), 0;
      default: return fputs (usage, stderr), 1;
      }
  if (optind != argc || (strcmp (format, "table") != 0 && strcmp (format, "json") != 0))
    return fputs (usage, stderr), 1;
  olrun_error_t err = NULL;
  struct olrun_cached_image *v = NULL;
  size_t n = 0;
  if (olrun_cache_list (cache, &v, &n, &err) < 0)
    return cli_report (&err);
  if (strcmp (format, "json") == 0)
    print_json (v, n);
  else if (quiet)
    for (size_t i = 0; i < n; i++)
      printf ("%s\n", v[i].config_digest);
  else
    {
      printf ("%-19s %-10s %-20s %s\n", "IMAGE ID", "SIZE", "CREATED", "REFERENCES");
      for (size_t i = 0; i < n; i++)
        {
          char refs[4096] = "";
          for (size_t k = 0; v[i].refs && v[i].refs[k]; k++)
            snprintf (refs + strlen (refs), sizeof refs - strlen (refs), "%s%s", k ? ", " : "", v[i].refs[k]);
          printf ("%-19.19s %-10.1f %-20.19s %s\n", v[i].config_digest + 7, (double) v[i].size / (1 << 20),
                  v[i].created ? v[i].created : "", *refs ? refs : "<none>");
        }
    }
  olrun_cached_images_free (v, n);
  return 0;
}

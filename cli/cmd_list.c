/* list: a table (runc's columns) or JSON (an array of state objects). */
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "olrun/json.h"
#include "olrun/util.h"

const struct olrun_option olrun_list_options[] = {
  { "format", 'f', "table|json", "output format" },
  { "quiet", 'q', NULL, "print only the IDs" },
  { NULL, 0, NULL, NULL },
};

struct list_opts
{
  bool json;
  bool quiet;
};

static int
handle (void *opts, int index, const char *arg)
{
  struct list_opts *o = opts;
  if (index == 1)
    o->quiet = true;
  else if (strcmp (arg, "json") == 0)
    o->json = true;
  else if (strcmp (arg, "table") != 0)
    return olrun_cli_failf ("list: unknown format `%s`", arg), -1;
  return 0;
}

static void
json_entry (olrun_jw_t *w, const struct olrun_state *s, const char *status)
{
  olrun_jw_object_open (w);
  olrun_jw_kv_string (w, "ociVersion", "1.3.0");
  olrun_jw_kv_string (w, "id", s->id);
  olrun_jw_kv_int (w, "pid", strcmp (status, "stopped") == 0 ? 0 : s->pid);
  olrun_jw_kv_string (w, "status", status);
  olrun_jw_kv_string (w, "bundle", s->bundle);
  olrun_jw_kv_string (w, "rootfs", s->rootfs);
  olrun_jw_kv_string (w, "created", s->created);
  olrun_jw_kv_string (w, "owner", "");
  olrun_jw_object_close (w);
}

int
olrun_cmd_list (struct olrun_cli *cli, int argc, char **argv)
{
  const struct olrun_command *cmd = olrun_cli_find ("list");
  struct list_opts o = { 0 };
  int first = olrun_cli_parse (cmd, argc, argv, handle, &o);
  if (first < 0)
    return 1;
  olrun_cli_nargs (cmd, argc - first, 0, 0);
  olrun_error_t err = NULL;
  _cleanup_strv_ char **ids = NULL;
  if (olrun_container_list (&cli->ctx, &ids, &err) < 0)
    return olrun_cli_fail (&err);
  olrun_jw_t *w = o.json ? olrun_jw_new (false) : NULL;
  if (w)
    olrun_jw_array_open (w);
  else if (!o.quiet)
    printf ("%-12s %-8s %-10s %-40s %-30s %s\n", "ID", "PID", "STATUS", "BUNDLE", "CREATED", "OWNER");
  for (char **id = ids; *id; id++)
    {
      _cleanup_state_ struct olrun_state *s = NULL;
      enum olrun_status st;
      /* A container deleted while we list is simply not listed. */
      if (olrun_container_load (&cli->ctx, *id, &s, &err) < 0 || olrun_container_status (s, &st, &err) < 0)
        {
          olrun_error_release (&err);
          continue;
        }
      const char *status = olrun_status_name (st);
      if (w)
        json_entry (w, s, status);
      else if (o.quiet)
        printf ("%s\n", s->id);
      else
        printf ("%-12s %-8d %-10s %-40s %-30s %s\n", s->id, st == OLRUN_STATUS_STOPPED ? 0 : (int) s->pid, status,
                s->bundle ? s->bundle : "", s->created ? s->created : "", "root");
    }
  if (w)
    {
      olrun_jw_array_close (w);
      printf ("%s\n", olrun_jw_text (w, NULL));
      olrun_jw_free (w);
    }
  return 0;
}

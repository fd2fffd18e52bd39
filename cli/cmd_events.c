/* events ID [--stats] [--interval D]: the cgroup's statistics in runc's
 * `events` JSON ({"type":"stats","id":...,"data":{cpu,memory,pids,blkio,
 * hugetlb}}), once with --stats, else every interval (plus an "oom" event
 * when the OOM counter moves) until the container stops. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli/cli.h"
#include "olrun/json.h"
#include "olrun/util.h"

const struct olrun_option olrun_events_options[] = {
  { "stats", 0, NULL, "print one statistics snapshot and exit" },
  { "interval", 0, "DURATION", "time between snapshots (default 5s; ms, s, m)" },
  { NULL, 0, NULL, NULL },
};

struct events_opts
{
  bool stats;
  long interval_ms;
};

static int
events_option (void *opts, int index, const char *arg)
{
  struct events_opts *o = opts;
  if (index == 0)
    {
      o->stats = true;
      return 0;
    }
  char *end = NULL;
  double v = strtod (arg, &end);
  double scale = strcmp (end, "ms") == 0 ? 1 : strcmp (end, "s") == 0 || *end == '\0' ? 1000 : strcmp (end, "m") == 0 ? 60000 : -1;
  if (end == arg || scale < 0 || v <= 0)
    return olrun_cli_failf ("events: --interval: expected a duration such as 5s, got `%s`", arg), -1;
  o->interval_ms = (long) (v * scale);
  return 0;
}

static void
kv_u (olrun_jw_t *w, const char *k, uint64_t v)
{
  olrun_jw_key (w, k);
  olrun_jw_uint (w, v);
}

static void
blkio (olrun_jw_t *w, const char *key, const struct olrun_cgroup_stats *s, bool bytes)
{
  olrun_jw_key (w, key);
  olrun_jw_array_open (w);
  for (size_t i = 0; i < s->n_io; i++)
    for (int op = 0; op < 2; op++)
      {
        olrun_jw_object_open (w);
        kv_u (w, "major", s->io[i].major);
        kv_u (w, "minor", s->io[i].minor);
        olrun_jw_kv_string (w, "op", op ? "Write" : "Read");
        kv_u (w, "value", bytes ? (op ? s->io[i].wbytes : s->io[i].rbytes) : (op ? s->io[i].wios : s->io[i].rios));
        olrun_jw_object_close (w);
      }
  olrun_jw_array_close (w);
}

static void
memory (olrun_jw_t *w, const struct olrun_cgroup_stats *s)
{
  olrun_jw_key (w, "memory");
  olrun_jw_object_open (w);
  olrun_jw_key (w, "usage");
  olrun_jw_object_open (w);
  kv_u (w, "limit", s->mem_limit), kv_u (w, "usage", s->mem_usage), kv_u (w, "max", s->mem_max_usage);
  kv_u (w, "failcnt", s->mem_failcnt);
  olrun_jw_object_close (w);
  olrun_jw_key (w, "swap");
  olrun_jw_object_open (w);
  kv_u (w, "limit", s->swap_limit), kv_u (w, "usage", s->swap_usage);
  olrun_jw_object_close (w);
  olrun_jw_key (w, "raw");
  olrun_jw_object_open (w);
  for (size_t i = 0; i < s->n_mem_raw; i++)
    kv_u (w, s->mem_raw[i].key, strtoull (s->mem_raw[i].value, NULL, 10));
  olrun_jw_object_close (w);
  olrun_jw_object_close (w);
}

static void
print_stats (const char *id, const struct olrun_cgroup_stats *s)
{
  olrun_jw_t *w = olrun_jw_new (false);
  olrun_jw_object_open (w);
  olrun_jw_kv_string (w, "type", "stats");
  olrun_jw_kv_string (w, "id", id);
  olrun_jw_key (w, "data");
  olrun_jw_object_open (w);
  olrun_jw_key (w, "cpu");
  olrun_jw_object_open (w);
  olrun_jw_key (w, "usage");
  olrun_jw_object_open (w);
  kv_u (w, "total", s->cpu_usage_ns), kv_u (w, "kernel", s->cpu_system_ns), kv_u (w, "user", s->cpu_user_ns);
  olrun_jw_object_close (w);
  olrun_jw_key (w, "throttling");
  olrun_jw_object_open (w);
  kv_u (w, "periods", s->cpu_periods), kv_u (w, "throttled_periods", s->cpu_throttled_periods);
  kv_u (w, "throttled_time", s->cpu_throttled_ns);
  olrun_jw_object_close (w);
  olrun_jw_object_close (w);
  memory (w, s);
  olrun_jw_key (w, "pids");
  olrun_jw_object_open (w);
  kv_u (w, "current", s->pids_current), kv_u (w, "limit", s->pids_limit);
  olrun_jw_object_close (w);
  olrun_jw_key (w, "blkio");
  olrun_jw_object_open (w);
  blkio (w, "ioServiceBytesRecursive", s, true);
  blkio (w, "ioServicedRecursive", s, false);
  olrun_jw_object_close (w);
  olrun_jw_key (w, "hugetlb");
  olrun_jw_object_open (w);
  for (size_t i = 0; i < s->n_hugetlb; i++)
    {
      olrun_jw_key (w, s->hugetlb[i].pagesize);
      olrun_jw_object_open (w);
      kv_u (w, "usage", s->hugetlb[i].usage), kv_u (w, "max", s->hugetlb[i].max);
      kv_u (w, "failcnt", s->hugetlb[i].failcnt);
      olrun_jw_object_close (w);
    }
  olrun_jw_object_close (w);
  olrun_jw_object_close (w);
  olrun_jw_object_close (w);
  printf ("%s\n", olrun_jw_text (w, NULL));
  fflush (stdout);
  olrun_jw_free (w);
}

int
olrun_cmd_events (struct olrun_cli *cli, int argc, char **argv)
{
  const struct olrun_command *cmd = olrun_cli_find ("events");
  struct events_opts o = { .interval_ms = 5000 };
  int first = olrun_cli_parse (cmd, argc, argv, events_option, &o);
  if (first < 0)
    return 1;
  olrun_cli_nargs (cmd, argc - first, 1, 1);
  const char *id = argv[first];
  uint64_t last_oom = 0;
  for (bool once = true;; once = false)
    {
      olrun_error_t err = NULL;
      struct olrun_cgroup_stats s;
      if (olrun_container_stats (&cli->ctx, id, &s, &err) < 0)
        {
          /* A stream ends quietly when the container does. */
          if (!o.stats && !once && err->kind == OLRUN_E_NOT_RUNNING)
            return olrun_error_release (&err), 0;
          return olrun_cli_fail (&err);
        }
      if (!once && s.oom > last_oom)
        printf ("{\"type\":\"oom\",\"id\":\"%s\"}\n", id);
      last_oom = s.oom;
      print_stats (id, &s);
      olrun_cgroup_stats_clear (&s);
      if (o.stats)
        return 0;
      nanosleep (&(struct timespec){ o.interval_ms / 1000, (o.interval_ms % 1000) * 1000000 }, NULL);
    }
}

/* update ID: new limits for a running container, from --resources FILE|-
 * (a linux.resources object) and/or runc's flags.  The flags are turned
 * into the same JSON and go through the same parser, so they are checked
 * alike; flags win over the file, as in runc. */
#include <ctype.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "olrun/util.h"

enum
{
  U_RESOURCES, U_BLKIO_WEIGHT, U_CPU_PERIOD, U_CPU_QUOTA, U_CPU_SHARE, U_CPU_RT_PERIOD, U_CPU_RT_RUNTIME,
  U_CPUSET_CPUS, U_CPUSET_MEMS, U_KERNEL_MEMORY, U_KERNEL_MEMORY_TCP, U_MEMORY, U_MEMORY_RESERVATION,
  U_MEMORY_SWAP, U_PIDS_LIMIT, U_L3_CACHE, U_MEM_BW, U_COUNT,
};

const struct olrun_option olrun_update_options[] = {
  { "resources", 'r', "FILE", "a linux.resources JSON object, `-` for stdin" },
  { "blkio-weight", 0, "N", "block IO weight, 10..1000" },
  { "cpu-period", 0, "USEC", "CPU CFS period" },
  { "cpu-quota", 0, "USEC", "CPU CFS quota (-1: none)" },
  { "cpu-share", 0, "N", "CPU shares (relative weight)" },
  { "cpu-rt-period", 0, "USEC", "realtime period (refused on cgroup v2)" },
  { "cpu-rt-runtime", 0, "USEC", "realtime runtime (refused on cgroup v2)" },
  { "cpuset-cpus", 0, "LIST", "CPUs to run on (0-3,7)" },
  { "cpuset-mems", 0, "LIST", "memory nodes to use" },
  { "kernel-memory", 0, "BYTES", "kernel memory limit (refused on cgroup v2)" },
  { "kernel-memory-tcp", 0, "BYTES", "kernel TCP memory limit (refused on cgroup v2)" },
  { "memory", 0, "BYTES", "memory limit (k, m, g suffixes; -1: none)" },
  { "memory-reservation", 0, "BYTES", "memory soft limit (memory.low)" },
  { "memory-swap", 0, "BYTES", "memory+swap limit (-1: unlimited swap)" },
  { "pids-limit", 0, "N", "maximum number of tasks (-1 or 0: none)" },
  { "l3-cache-schema", 0, "SCHEMA", "Intel RDT L3 schema (not supported)" },
  { "mem-bw-schema", 0, "SCHEMA", "Intel RDT memory bandwidth schema (not supported)" },
  { NULL, 0, NULL, NULL },
};

struct update_opts
{
  const char *v[U_COUNT];
};

static int
update_option (void *opts, int index, const char *arg)
{
  ((struct update_opts *) opts)->v[index] = arg;
  return 0;
}

/* "512m", "1G", "100" (bytes), "-1": binary units, as runc's flags. */
static int
parse_size (const char *flag, const char *s, int64_t *ret)
{
  char *end = NULL;
  errno = 0;
  long long v = strtoll (s, &end, 10);
  int shift = 0;
  switch (tolower ((unsigned char) *end))
    {
    case 'k': shift = 10; end++; break;
    case 'm': shift = 20; end++; break;
    case 'g': shift = 30; end++; break;
    case 't': shift = 40; end++; break;
    default: break;
    }
  if (shift && (tolower ((unsigned char) *end) == 'i'))
    end++;
  if (shift && tolower ((unsigned char) *end) == 'b')
    end++;
  if (errno || end == s || *end || (v < 0 && (v != -1 || shift)) || (shift && v > (INT64_MAX >> shift)))
    return olrun_cli_failf ("update: --%s: expected a size such as 512m, got `%s`", flag, s), -1;
  *ret = (int64_t) v << shift;
  return 0;
}

/* Append `"key": value` for a flag, as a number (sizes for memory). */
static int
add_num (struct olrun_buf *b, const struct update_opts *o, int idx, const char *key, bool size)
{
  if (o->v[idx] == NULL)
    return 0;
  int64_t v;
  const char *flag = olrun_update_options[idx].name;
  if (size ? parse_size (flag, o->v[idx], &v) < 0 : olrun_parse_int64 (o->v[idx], &v) < 0)
    return size ? -1 : (olrun_cli_failf ("update: --%s: expected a number, got `%s`", flag, o->v[idx]), -1);
  olrun_buf_printf (b, "%s\"%s\": %" PRId64, b->data[b->len - 1] == '{' ? "" : ", ", key, v);
  return 0;
}

static void
add_str (struct olrun_buf *b, const struct update_opts *o, int idx, const char *key)
{
  if (o->v[idx] == NULL)
    return;
  olrun_buf_printf (b, "%s\"%s\": ", b->data[b->len - 1] == '{' ? "" : ", ", key);
  olrun_buf_json_string (b, o->v[idx]);
}

/* Close a section, or drop it when nothing was added. */
static void
end_section (struct olrun_buf *b, size_t start)
{
  if (b->data[b->len - 1] == '{')
    b->data[b->len = start] = '\0';
  else
    olrun_buf_puts (b, "}");
}

static int
flags_json (const struct update_opts *o, struct olrun_buf *b)
{
  olrun_buf_puts (b, "{");
  size_t s = b->len;
  olrun_buf_puts (b, "\"memory\": {");
  if (add_num (b, o, U_MEMORY, "limit", true) < 0 || add_num (b, o, U_MEMORY_RESERVATION, "reservation", true) < 0
      || add_num (b, o, U_MEMORY_SWAP, "swap", true) < 0 || add_num (b, o, U_KERNEL_MEMORY, "kernel", true) < 0
      || add_num (b, o, U_KERNEL_MEMORY_TCP, "kernelTCP", true) < 0)
    return -1;
  end_section (b, s);
  s = b->len;
  olrun_buf_printf (b, "%s\"cpu\": {", s > 1 ? ", " : "");
  if (add_num (b, o, U_CPU_SHARE, "shares", false) < 0 || add_num (b, o, U_CPU_QUOTA, "quota", false) < 0
      || add_num (b, o, U_CPU_PERIOD, "period", false) < 0
      || add_num (b, o, U_CPU_RT_RUNTIME, "realtimeRuntime", false) < 0
      || add_num (b, o, U_CPU_RT_PERIOD, "realtimePeriod", false) < 0)
    return -1;
  add_str (b, o, U_CPUSET_CPUS, "cpus");
  add_str (b, o, U_CPUSET_MEMS, "mems");
  end_section (b, s);
  s = b->len;
  olrun_buf_printf (b, "%s\"pids\": {", s > 1 ? ", " : "");
  if (add_num (b, o, U_PIDS_LIMIT, "limit", false) < 0)
    return -1;
  end_section (b, s);
  s = b->len;
  olrun_buf_printf (b, "%s\"blockIO\": {", s > 1 ? ", " : "");
  if (add_num (b, o, U_BLKIO_WEIGHT, "weight", false) < 0)
    return -1;
  end_section (b, s);
  olrun_buf_puts (b, "}");
  return 0;
}

int
olrun_cmd_update (struct olrun_cli *cli, int argc, char **argv)
{
  const struct olrun_command *cmd = olrun_cli_find ("update");
  struct update_opts o = { 0 };
  int first = olrun_cli_parse (cmd, argc, argv, update_option, &o);
  if (first < 0)
    return 1;
  olrun_cli_nargs (cmd, argc - first, 1, 1);
  if (o.v[U_L3_CACHE] || o.v[U_MEM_BW])
    return olrun_cli_failf ("update: Intel RDT (--l3-cache-schema, --mem-bw-schema) is not supported");
  olrun_error_t err = NULL;
  _cleanup_resources_ struct olrun_resources *r = NULL, *flags = NULL;
  if (o.v[U_RESOURCES] && olrun_resources_load (o.v[U_RESOURCES], &r, &err) < 0)
    return olrun_cli_fail (&err);
  struct olrun_buf b = { 0 };
  int rc = flags_json (&o, &b);
  if (rc == 0 && olrun_resources_parse_text (b.data, "update flags", &flags, &err) < 0)
    rc = olrun_cli_fail (&err);
  olrun_buf_free (&b);
  if (rc != 0)
    return 1;
  if (r == NULL)
    r = TAKE_PTR (flags);
  else
    olrun_resources_merge (r, flags);
  if (olrun_container_update (&cli->ctx, argv[first], r, &err) < 0)
    return olrun_cli_fail (&err);
  return 0;
}

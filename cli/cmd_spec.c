/* spec: write a starting config.json, as `runc spec` does. */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "cli/cli.h"
#include "olrun/json.h"
#include "olrun/util.h"

const struct olrun_option olrun_spec_options[] = {
  { "bundle", 'b', "DIR", "where to write config.json (default: the current directory)" },
  { "rootless", 0, NULL, "a config for an unprivileged user (user namespace, no cgroup limits)" },
  { NULL, 0, NULL, NULL },
};

struct spec_opts
{
  const char *bundle;
  bool rootless;
};

static int
handle (void *opts, int index, const char *arg)
{
  struct spec_opts *o = opts;
  if (index == 0)
    o->bundle = arg;
  else
    o->rootless = true;
  return 0;
}

static void
strings (olrun_jw_t *w, const char *key, const char *const *v)
{
  olrun_jw_key (w, key);
  olrun_jw_array_open (w);
  for (; *v; v++)
    olrun_jw_string (w, *v);
  olrun_jw_array_close (w);
}

static void
mount (olrun_jw_t *w, const char *dest, const char *type, const char *src, const char *const *opts)
{
  olrun_jw_object_open (w);
  olrun_jw_kv_string (w, "destination", dest);
  olrun_jw_kv_string (w, "type", type);
  olrun_jw_kv_string (w, "source", src);
  if (opts)
    strings (w, "options", opts);
  olrun_jw_object_close (w);
}

static void
process (olrun_jw_t *w)
{
  static const char *const args[] = { "sh", NULL };
  static const char *const env[] = { "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
                                     "TERM=xterm", NULL };
  static const char *const caps[] = { "CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE", NULL };
  olrun_jw_key (w, "process");
  olrun_jw_object_open (w);
  olrun_jw_kv_bool (w, "terminal", true);
  olrun_jw_key (w, "user");
  olrun_jw_object_open (w);
  olrun_jw_kv_int (w, "uid", 0);
  olrun_jw_kv_int (w, "gid", 0);
  olrun_jw_object_close (w);
  strings (w, "args", args);
  strings (w, "env", env);
  olrun_jw_kv_string (w, "cwd", "/");
  olrun_jw_key (w, "capabilities");
  olrun_jw_object_open (w);
  strings (w, "bounding", caps);
  strings (w, "effective", caps);
  strings (w, "permitted", caps);
  olrun_jw_object_close (w);
  olrun_jw_kv_bool (w, "noNewPrivileges", true);
  olrun_jw_object_close (w);
}

static void
mounts (olrun_jw_t *w, bool rootless)
{
  static const char *const dev[] = { "nosuid", "strictatime", "mode=755", "size=65536k", NULL };
  static const char *const pts[] = { "nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", NULL };
  static const char *const shm[] = { "nosuid", "noexec", "nodev", "mode=1777", "size=65536k", NULL };
  static const char *const nne[] = { "nosuid", "noexec", "nodev", NULL };
  static const char *const ro[] = { "nosuid", "noexec", "nodev", "ro", NULL };
  /* Rootless, sysfs cannot be mounted fresh without a network namespace
   * of one's own: the host's is bound instead (runc's rootless spec). */
  static const char *const rbind_ro[] = { "rbind", "nosuid", "noexec", "nodev", "ro", NULL };
  olrun_jw_key (w, "mounts");
  olrun_jw_array_open (w);
  mount (w, "/proc", "proc", "proc", NULL);
  mount (w, "/dev", "tmpfs", "tmpfs", dev);
  mount (w, "/dev/pts", "devpts", "devpts", pts);
  mount (w, "/dev/shm", "tmpfs", "shm", shm);
  mount (w, "/dev/mqueue", "mqueue", "mqueue", nne);
  mount (w, "/sys", rootless ? "none" : "sysfs", rootless ? "/sys" : "sysfs", rootless ? rbind_ro : ro);
  if (!rootless)
    mount (w, "/sys/fs/cgroup", "cgroup", "cgroup", ro);
  olrun_jw_array_close (w);
}

static void
linux_section (olrun_jw_t *w, bool rootless)
{
  static const char *const ns[] = { "pid", "network", "ipc", "uts", "mount", "cgroup", "user" };
  static const char *const masked[] = { "/proc/acpi", "/proc/asound", "/proc/kcore", "/proc/keys",
                                        "/proc/latency_stats", "/proc/timer_list", "/proc/timer_stats",
                                        "/proc/sched_debug", "/sys/firmware", "/proc/scsi", NULL };
  static const char *const ro[] = { "/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger", NULL };
  olrun_jw_key (w, "linux");
  olrun_jw_object_open (w);
  olrun_jw_key (w, "namespaces");
  olrun_jw_array_open (w);
  for (size_t i = 0; i < ARRAY_SIZE (ns) - (rootless ? 0 : 1); i++)
    {
      olrun_jw_object_open (w);
      olrun_jw_kv_string (w, "type", ns[i]);
      olrun_jw_object_close (w);
    }
  olrun_jw_array_close (w);
  if (rootless)
    for (int k = 0; k < 2; k++)
      {
        olrun_jw_key (w, k ? "gidMappings" : "uidMappings");
        olrun_jw_array_open (w);
        olrun_jw_object_open (w);
        olrun_jw_kv_int (w, "containerID", 0);
        olrun_jw_kv_int (w, "hostID", k ? getegid () : geteuid ());
        olrun_jw_kv_int (w, "size", 1);
        olrun_jw_object_close (w);
        olrun_jw_array_close (w);
      }
  strings (w, "maskedPaths", masked);
  strings (w, "readonlyPaths", ro);
  olrun_jw_object_close (w);
}

int
olrun_cmd_spec (struct olrun_cli *cli, int argc, char **argv)
{
  const struct olrun_command *cmd = olrun_cli_find ("spec");
  struct spec_opts o = { .bundle = "." };
  int first = olrun_cli_parse (cmd, argc, argv, handle, &o);
  if (first < 0)
    return 1;
  olrun_cli_nargs (cmd, argc - first, 0, 0);
  olrun_jw_t *w = olrun_jw_new (true);
  olrun_jw_object_open (w);
  olrun_jw_kv_string (w, "ociVersion", "1.3.0");
  process (w);
  olrun_jw_key (w, "root");
  olrun_jw_object_open (w);
  olrun_jw_kv_string (w, "path", "rootfs");
  olrun_jw_kv_bool (w, "readonly", true);
  olrun_jw_object_close (w);
  olrun_jw_kv_string (w, "hostname", "olrun");
  mounts (w, o.rootless);
  linux_section (w, o.rootless);
  olrun_jw_object_close (w);
  size_t len;
  const char *text = olrun_jw_text (w, &len);
  _cleanup_free_ char *path = xasprintf ("%s/config.json", o.bundle);
  /* Like runc: never overwrite an existing config. */
  int fd = open (path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  int rc = 0;
  if (fd < 0)
    rc = olrun_cli_failf ("spec: create `%s`: %s", path, strerror (errno));
  else if (olrun_write_all (fd, text, len) < 0 || olrun_write_all (fd, "\n", 1) < 0)
    rc = olrun_cli_failf ("spec: write `%s`: %s", path, strerror (errno));
  safe_close (fd);
  olrun_jw_free (w);
  return rc;
}

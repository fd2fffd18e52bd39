/* Image config -> runtime-spec config.json, with podman's defaults for
 * what an image does not say (capabilities, mounts, masked paths).  Kept
 * apart so the launcher can grow its options here. */
#include <fcntl.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>

#include "bundle/internal.h"
#include "olrun/json.h"
#include "olrun/syscalls.h"
#include "olrun/util.h"

#define DEFAULT_PATH "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

/* podman's default capability set (containers/common, DefaultCapabilities). */
static const char *const default_caps_v[] = {
  "CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FOWNER", "CAP_FSETID", "CAP_KILL", "CAP_NET_BIND_SERVICE",
  "CAP_SETFCAP", "CAP_SETGID", "CAP_SETPCAP", "CAP_SETUID", "CAP_SYS_CHROOT", NULL,
};
static const char *const masked_paths[] = {
  "/proc/acpi", "/proc/kcore", "/proc/keys", "/proc/latency_stats", "/proc/timer_list", "/proc/timer_stats",
  "/proc/sched_debug", "/proc/scsi", "/sys/firmware", "/sys/fs/selinux", "/sys/dev/block",
};
static const char *const readonly_paths[] = {
  "/proc/asound", "/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger",
};

struct mount_def
{
  const char *dest, *type, *source;
  const char *options[8];
};
static const struct mount_def default_mounts[] = {
  { "/proc", "proc", "proc", { "nosuid", "noexec", "nodev" } },
  { "/dev", "tmpfs", "tmpfs", { "nosuid", "strictatime", "mode=755", "size=65536k" } },
  { "/dev/pts", "devpts", "devpts", { "nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5" } },
  { "/dev/shm", "tmpfs", "shm", { "nosuid", "noexec", "nodev", "mode=1777", "size=65536k" } },
  { "/dev/mqueue", "mqueue", "mqueue", { "nosuid", "noexec", "nodev" } },
  { "/sys", "sysfs", "sysfs", { "nosuid", "noexec", "nodev", "ro" } },
};

/* Look `name` up in the image's passwd or group file (field 0 -> field 2),
 * reading it inside the rootfs so a symlinked /etc cannot point at the host's. */
static int
lookup_id (int rootfs_fd, const char *file, const char *name, uint32_t *ret, uint32_t *ret_gid)
{
  struct open_how how = { .flags = O_RDONLY | O_CLOEXEC, .resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS };
  _cleanup_close_ int fd = rootfs_fd >= 0 ? olrun_openat2 (rootfs_fd, file, &how) : -1;
  if (fd < 0)
    return 0;
  _cleanup_free_ char *text = NULL;
  size_t len = 0;
  olrun_error_t e = NULL;
  if (olrun_read_fd (fd, &text, &len, &e) < 0)
    {
      olrun_error_release (&e);
      return 0;
    }
  char *save = NULL;
  for (char *line = strtok_r (text, "\n", &save); line; line = strtok_r (NULL, "\n", &save))
    {
      char *f[4] = { 0 };
      char *p = line;
      for (int i = 0; i < 4 && p; i++)
        {
          f[i] = p;
          p = strchr (p, ':');
          if (p)
            *p++ = '\0';
        }
      int64_t id, gid;
      if (f[0] && f[2] && strcmp (f[0], name) == 0 && olrun_parse_int64 (f[2], &id) == 0 && id >= 0)
        {
          *ret = (uint32_t) id;
          if (ret_gid && f[3] && olrun_parse_int64 (f[3], &gid) == 0 && gid >= 0)
            *ret_gid = (uint32_t) gid;
          return 1;
        }
    }
  return 0;
}

/* USER[:GROUP], each a name or a number, as docker reads the User field. */
static int
resolve_user (int rootfs_fd, const char *spec, uint32_t *uid, uint32_t *gid, olrun_error_t *err)
{
  *uid = *gid = 0;
  if (spec == NULL || *spec == '\0')
    return 0;
  _cleanup_free_ char *u = xstrdup (spec);
  char *g = strchr (u, ':');
  if (g)
    *g++ = '\0';
  int64_t n;
  if (olrun_parse_int64 (u, &n) == 0 && n >= 0 && n <= UINT32_MAX)
    *uid = (uint32_t) n;
  else if (!lookup_id (rootfs_fd, "/etc/passwd", u, uid, gid))
    return olrun_invalid (err, "user `%s` does not exist in the image's /etc/passwd", u);
  if (g == NULL)
    return 0;
  if (olrun_parse_int64 (g, &n) == 0 && n >= 0 && n <= UINT32_MAX)
    *gid = (uint32_t) n;
  else if (!lookup_id (rootfs_fd, "/etc/group", g, gid, NULL))
    return olrun_invalid (err, "group `%s` does not exist in the image's /etc/group", g);
  return 0;
}

/* Image Env, then the caller's: a later K=V replaces an earlier K. */
static char **
merge_env (char **image, char **extra, bool terminal)
{
  size_t n = 0;
  char **v = xzalloc ((strv_length (image) + strv_length (extra) + 3) * sizeof *v);
  char **lists[] = { image, extra };
  for (size_t l = 0; l < 2; l++)
    for (size_t i = 0; lists[l] && lists[l][i]; i++)
      {
        const char *kv = lists[l][i];
        size_t kl = strchrnul (kv, '=') - kv;
        size_t j = 0;
        while (j < n && !(strncmp (v[j], kv, kl) == 0 && (v[j][kl] == '=' || v[j][kl] == '\0')))
          j++;
        if (j == n)
          n++;
        else
          free (v[j]);
        v[j] = xstrdup (kv);
      }
  bool has_path = false, has_term = false;
  for (size_t i = 0; i < n; i++)
    {
      has_path |= strncmp (v[i], "PATH=", 5) == 0;
      has_term |= strncmp (v[i], "TERM=", 5) == 0;
    }
  if (!has_path)
    v[n++] = xstrdup (DEFAULT_PATH);
  if (terminal && !has_term)
    v[n++] = xstrdup ("TERM=xterm");
  return v;
}

/* Entrypoint + Cmd.  As docker does, --entrypoint also drops the image's Cmd. */
static char **
build_args (const struct olrun_image_config *c, const struct olrun_config_opts *o)
{
  char *const *ep = c->entrypoint;
  char *one[2] = { (char *) o->entrypoint, NULL };
  char *const *cmd = o->args ? o->args : c->cmd;
  if (o->entrypoint)
    {
      ep = *o->entrypoint ? one : NULL;
      if (o->args == NULL)
        cmd = NULL;
    }
  char **v = xzalloc ((strv_length (ep) + strv_length (cmd) + 1) * sizeof *v);
  size_t n = 0;
  for (size_t i = 0; ep && ep[i]; i++)
    v[n++] = xstrdup (ep[i]);
  for (size_t i = 0; cmd && cmd[i]; i++)
    v[n++] = xstrdup (cmd[i]);
  return v;
}

static void
jw_strv (olrun_jw_t *w, const char *key, char *const *v, size_t n)
{
  olrun_jw_key (w, key);
  olrun_jw_array_open (w);
  for (size_t i = 0; (n ? i < n : v[i] != NULL); i++)
    olrun_jw_string (w, v[i]);
  olrun_jw_array_close (w);
}

static void
write_process (olrun_jw_t *w, char **args, char **env, const char *cwd, uint32_t uid, uint32_t gid,
               const struct olrun_config_opts *o)
{
  olrun_jw_key (w, "process");
  olrun_jw_object_open (w);
  olrun_jw_kv_bool (w, "terminal", o->terminal);
  /* The caller's terminal size from the start: crun and runc otherwise
   * only learn it at the first SIGWINCH. */
  if (o->terminal && o->console_rows && o->console_cols)
    {
      olrun_jw_key (w, "consoleSize");
      olrun_jw_object_open (w);
      olrun_jw_kv_int (w, "height", o->console_rows);
      olrun_jw_kv_int (w, "width", o->console_cols);
      olrun_jw_object_close (w);
    }
  olrun_jw_key (w, "user");
  olrun_jw_object_open (w);
  olrun_jw_kv_int (w, "uid", uid);
  olrun_jw_kv_int (w, "gid", gid);
  olrun_jw_object_close (w);
  jw_strv (w, "args", args, 0);
  jw_strv (w, "env", env, 0);
  olrun_jw_kv_string (w, "cwd", cwd);
  olrun_jw_key (w, "capabilities");
  olrun_jw_object_open (w);
  static const char *const sets[] = { "bounding", "effective", "permitted" };
  for (size_t i = 0; i < ARRAY_SIZE (sets); i++)
    jw_strv (w, sets[i], (char *const *) default_caps_v, ARRAY_SIZE (default_caps_v) - 1);
  olrun_jw_object_close (w);
  /* podman raises nofile to 1048576 when it can; never above our hard limit,
   * which a runtime without CAP_SYS_RESOURCE could not set. */
  struct rlimit rl = { 1024, 1024 };
  getrlimit (RLIMIT_NOFILE, &rl);
  uint64_t nofile = rl.rlim_max < 1048576 ? rl.rlim_max : 1048576;
  olrun_jw_key (w, "rlimits");
  olrun_jw_array_open (w);
  olrun_jw_object_open (w);
  olrun_jw_kv_string (w, "type", "RLIMIT_NOFILE");
  olrun_jw_key (w, "hard");
  olrun_jw_uint (w, nofile);
  olrun_jw_key (w, "soft");
  olrun_jw_uint (w, nofile);
  olrun_jw_object_close (w);
  olrun_jw_array_close (w);
  olrun_jw_object_close (w);
}

static void
write_idmaps (olrun_jw_t *w, const char *key, const struct olrun_idmaps *m)
{
  olrun_jw_key (w, key);
  olrun_jw_array_open (w);
  for (size_t i = 0; i < m->len; i++)
    {
      olrun_jw_object_open (w);
      olrun_jw_kv_int (w, "containerID", m->v[i].container_id);
      olrun_jw_kv_int (w, "hostID", m->v[i].host_id);
      olrun_jw_kv_int (w, "size", m->v[i].size);
      olrun_jw_object_close (w);
    }
  olrun_jw_array_close (w);
}

static int
write_linux (olrun_jw_t *w, const struct olrun_config_opts *o, olrun_error_t *err)
{
  olrun_jw_key (w, "linux");
  olrun_jw_object_open (w);
  olrun_jw_key (w, "namespaces");
  olrun_jw_array_open (w);
  static const char *const ns[] = { "pid", "ipc", "uts", "mount", "network", "user" };
  for (size_t i = 0; i < ARRAY_SIZE (ns); i++)
    {
      if ((strcmp (ns[i], "network") == 0 && !o->net_none) || (strcmp (ns[i], "user") == 0 && !o->inner_userns))
        continue;
      olrun_jw_object_open (w);
      olrun_jw_kv_string (w, "type", ns[i]);
      olrun_jw_object_close (w);
    }
  olrun_jw_array_close (w);
  /* See launch_userns.c for the maps. */
  if (o->inner_userns)
    {
      write_idmaps (w, "uidMappings", &o->inner_uidmap);
      write_idmaps (w, "gidMappings", &o->inner_gidmap);
    }
  jw_strv (w, "maskedPaths", (char *const *) masked_paths, ARRAY_SIZE (masked_paths));
  jw_strv (w, "readonlyPaths", (char *const *) readonly_paths, ARRAY_SIZE (readonly_paths));
  if (seccomp_profile_write (w, o->seccomp, (char *const *) default_caps_v, err) < 0)
    return -1;
  olrun_jw_object_close (w);
  return 0;
}

static void
write_mount (olrun_jw_t *w, const char *dest, const char *type, const char *source, const char *const *options,
             size_t n)
{
  olrun_jw_object_open (w);
  olrun_jw_kv_string (w, "destination", dest);
  olrun_jw_kv_string (w, "type", type);
  olrun_jw_kv_string (w, "source", source);
  jw_strv (w, "options", (char *const *) options, n);
  olrun_jw_object_close (w);
}

/* What exists at `path` in the image (resolved inside it): 'd', 'f', or 0. */
static char
image_has (int rootfs_fd, const char *path)
{
  struct open_how how = { .flags = O_PATH | O_CLOEXEC, .resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS };
  _cleanup_close_ int fd = rootfs_fd >= 0 ? olrun_openat2 (rootfs_fd, path, &how) : -1;
  struct stat st;
  if (fd < 0 || fstat (fd, &st) < 0)
    return 0;
  return S_ISDIR (st.st_mode) ? 'd' : S_ISREG (st.st_mode) ? 'f' : 0;
}

bool
olrun_config_needs_mountpoints (int rootfs_fd, const struct olrun_config_opts *o)
{
  for (size_t i = 0; i < o->n_binds; i++)
    if (image_has (rootfs_fd, o->binds[i].dst) == 0)
      return true;
  return false;
}

/* podman's /dev, /proc, /sys, ... adjusted for a user namespace, then
 * what a read-only rootfs needs (podman --read-only's tmpfs dirs), the
 * host's resolver files on the host's network, and the --bind mounts. */
static void
write_mounts (olrun_jw_t *w, int rootfs_fd, const struct olrun_config_opts *o)
{
  olrun_jw_key (w, "mounts");
  olrun_jw_array_open (w);
  for (size_t i = 0; i < ARRAY_SIZE (default_mounts); i++)
    {
      const struct mount_def *m = &default_mounts[i];
      const char *opts[ARRAY_SIZE (m->options)];
      size_t n = 0;
      for (size_t k = 0; k < ARRAY_SIZE (m->options) && m->options[k]; k++)
        /* devpts refuses a gid= that its user namespace does not map. */
        if (!(o->in_userns && !o->tty_gid_mapped && strcmp (m->options[k], "gid=5") == 0))
          opts[n++] = m->options[k];
      /* sysfs can only be mounted by the owner of the network namespace:
       * on the host's network from a user namespace, bind the host's
       * /sys instead, as podman does rootless. */
      if (strcmp (m->dest, "/sys") == 0 && o->in_userns && !o->net_none)
        {
          static const char *const sys_opts[] = { "rbind", "nosuid", "noexec", "nodev", "ro" };
          write_mount (w, "/sys", "bind", "/sys", sys_opts, ARRAY_SIZE (sys_opts));
          continue;
        }
      write_mount (w, m->dest, m->type, m->source, opts, n);
    }
  static const char *const tmp_dirs[] = { "/tmp", "/var/tmp", "/run" };
  static const char *const tmp_opts[] = { "nosuid", "nodev", "mode=1777" };
  for (size_t i = 0; !o->writable && i < ARRAY_SIZE (tmp_dirs); i++)
    if (image_has (rootfs_fd, tmp_dirs[i]) == 'd')
      write_mount (w, tmp_dirs[i], "tmpfs", "tmpfs", tmp_opts, ARRAY_SIZE (tmp_opts));
  static const char *const host_files[] = { "/etc/resolv.conf", "/etc/hosts" };
  static const char *const ro_bind[] = { "bind", "nosuid", "nodev", "ro" };
  for (size_t i = 0; !o->net_none && i < ARRAY_SIZE (host_files); i++)
    if (access (host_files[i], R_OK) == 0 && image_has (rootfs_fd, host_files[i]) == 'f')
      write_mount (w, host_files[i], "bind", host_files[i], ro_bind, ARRAY_SIZE (ro_bind));
  for (size_t i = 0; i < o->n_binds; i++)
    {
      const char *opts[] = { "rbind", "nosuid", "nodev", o->binds[i].ro ? "ro" : "rw" };
      write_mount (w, o->binds[i].dst, "bind", o->binds[i].src, opts, ARRAY_SIZE (opts));
    }
  olrun_jw_array_close (w);
}

int
olrun_config_generate (const struct olrun_image *img, int rootfs_fd, const struct olrun_config_opts *o,
                       char **ret, olrun_error_t *err)
{
  const struct olrun_image_config *c = &img->config;
  _cleanup_strv_ char **args = build_args (c, o);
  if (args[0] == NULL)
    return olrun_invalid (err, "the image has no Entrypoint or Cmd: give a command");
  uint32_t uid = 0, gid = 0;
  if (resolve_user (rootfs_fd, c->user, &uid, &gid, err) < 0)
    return -1;
  /* Without --fakeroot the process is the user, whatever the image says
   * (as Singularity runs it): no other id exists in that namespace. */
  if (o->inner_as_user)
    {
      uid = o->inner_uid;
      gid = o->inner_gid;
    }
  _cleanup_strv_ char **env = merge_env (c->env, o->env, o->terminal);
  const char *cwd = o->cwd ? o->cwd : c->working_dir && *c->working_dir ? c->working_dir : "/";
  if (cwd[0] != '/')
    return olrun_invalid (err, "working directory `%s` is not absolute", cwd);

  olrun_jw_t *w = olrun_jw_new (true);
  olrun_jw_object_open (w);
  olrun_jw_kv_string (w, "ociVersion", "1.0.2");
  write_process (w, args, env, cwd, uid, gid, o);
  olrun_jw_key (w, "root");
  olrun_jw_object_open (w);
  olrun_jw_kv_string (w, "path", "rootfs");
  olrun_jw_kv_bool (w, "readonly", !o->writable);
  olrun_jw_object_close (w);
  olrun_jw_kv_string (w, "hostname", o->hostname ? o->hostname : "olrun");
  write_mounts (w, rootfs_fd, o);
  olrun_jw_key (w, "annotations");
  olrun_jw_object_open (w);
  for (size_t i = 0; c->labels && c->labels[i]; i++)
    {
      const char *eq = strchr (c->labels[i], '=');
      _cleanup_free_ char *k = xstrndup (c->labels[i], (size_t) (eq - c->labels[i]));
      olrun_jw_kv_string (w, k, eq + 1);
    }
  if (img->manifest_digest)
    olrun_jw_kv_string (w, "org.opencontainers.image.digest", img->manifest_digest);
  olrun_jw_kv_string (w, "io.olrun.image.id", img->config_digest);
  olrun_jw_object_close (w);
  if (write_linux (w, o, err) < 0)
    {
      olrun_jw_free (w);
      return -1;
    }
  olrun_jw_object_close (w);
  size_t len = 0;
  const char *text = olrun_jw_text (w, &len);
  *ret = xstrndup (text, len);
  olrun_jw_free (w);
  return 0;
}

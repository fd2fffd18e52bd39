/* Checks on the whole config, before anything is created: each is a pure
 * function of the spec, so bad input leaves nothing behind. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "olrun/log.h"
#include "olrun/spec.h"
#include "olrun/util.h"

/* An INVALID error at a dotted path of the config ("linux.sysctl"), with
 * the byte offset of the deepest node that exists on that path. */
static int __attribute__ ((format (printf, 4, 5)))
fail_at (const struct olrun_spec *s, olrun_error_t *err, const char *path, const char *fmt, ...)
{
  const olrun_json_t *node = olrun_json_root (s->doc);
  _cleanup_free_ char *copy = xstrdup (path);
  char *save = NULL;
  for (char *k = strtok_r (copy, ".", &save); k && node; k = strtok_r (NULL, ".", &save))
    {
      const olrun_json_t *next = olrun_json_get (node, k);
      if (next == NULL)
        break;
      node = next;
    }
  va_list ap;
  va_start (ap, fmt);
  char *msg = xvasprintf (fmt, ap);
  va_end (ap);
  olrun_invalid (err, "%s: %s: %s (byte %zu)", olrun_json_doc_name (s->doc), path, msg, node ? node->offset : 0);
  free (msg);
  return -1;
}

static bool
has_new (const struct olrun_spec *s, enum olrun_ns_type t)
{
  return s->linux.ns[t].enabled;
}

static int
check_process (const struct olrun_spec *s, olrun_error_t *err)
{
  /* process is optional (runtime-spec): such a container can be created,
   * and start then fails. */
  if (s->process == NULL)
    return 0;
  if (s->process->args == NULL || s->process->args[0] == NULL)
    return fail_at (s, err, "process.args", "must not be empty");
  return 0;
}

static int
check_namespaces (const struct olrun_spec *s, olrun_error_t *err)
{
  const struct olrun_linux *l = &s->linux;
  /* Without a mount namespace the container is chrooted in the caller's:
   * what would mount something there would change the host, so it is
   * skipped, loudly (runc skips it silently). */
  if (!has_new (s, OLRUN_NS_MOUNT))
    {
      static const char *const needs[] = { "mounts", "linux.maskedPaths", "linux.readonlyPaths", "linux.devices" };
      bool present[] = { s->n_mounts > 0, s->linux.masked_paths && *s->linux.masked_paths,
                         s->linux.readonly_paths && *s->linux.readonly_paths, s->linux.n_devices > 0 };
      for (size_t i = 0; i < ARRAY_SIZE (needs); i++)
        if (present[i])
          olrun_warn ("%s: not applied: the config has no mount namespace, and mounting in the caller's "
                      "would change the host", needs[i]);
      if (s->root_readonly)
        olrun_warn ("root.readonly: not applied: the config has no mount namespace");
    }
  bool new_user = l->ns[OLRUN_NS_USER].enabled && l->ns[OLRUN_NS_USER].path == NULL;
  if (new_user && (l->uid_mappings.len == 0 || l->gid_mappings.len == 0))
    return fail_at (s, err, "linux.namespaces", "a new user namespace needs linux.uidMappings and linux.gidMappings");
  if (!l->ns[OLRUN_NS_USER].enabled && (l->uid_mappings.len || l->gid_mappings.len))
    return fail_at (s, err, "linux.uidMappings", "given without a user namespace");
  if ((s->hostname || s->domainname) && !has_new (s, OLRUN_NS_UTS))
    return fail_at (s, err, s->hostname ? "hostname" : "domainname", "needs a uts namespace");
  if (l->has_time_offsets && (!has_new (s, OLRUN_NS_TIME) || l->ns[OLRUN_NS_TIME].path))
    return fail_at (s, err, "linux.timeOffsets", "need a new time namespace");
  if (l->n_net_devices && (!has_new (s, OLRUN_NS_NET) || l->ns[OLRUN_NS_NET].path))
    return fail_at (s, err, "linux.netDevices", "need a new network namespace");
  return 0;
}

/* A sysctl is only safe to set when the container has its own copy of
 * the kernel object it controls (runc's validator). */
static int
check_sysctl (const struct olrun_spec *s, olrun_error_t *err)
{
  static const char *const ipc_exact[] = { "kernel.msgmax", "kernel.msgmnb", "kernel.msgmni", "kernel.sem",
                                           "kernel.shmall", "kernel.shmmax", "kernel.shmmni", "kernel.shm_rmid_forced" };
  for (size_t i = 0; i < s->linux.n_sysctl; i++)
    {
      _cleanup_free_ char *key = xstrdup (s->linux.sysctl[i].key);
      for (char *p = key; *p; p++)
        if (*p == '/')
          *p = '.';
      bool ipc = strncmp (key, "fs.mqueue.", 10) == 0;
      for (size_t k = 0; k < ARRAY_SIZE (ipc_exact); k++)
        ipc = ipc || strcmp (key, ipc_exact[k]) == 0;
      enum olrun_ns_type need;
      if (ipc)
        need = OLRUN_NS_IPC;
      else if (strncmp (key, "net.", 4) == 0)
        need = OLRUN_NS_NET;
      else if (strcmp (key, "kernel.hostname") == 0 || strcmp (key, "kernel.domainname") == 0)
        need = OLRUN_NS_UTS;
      else
        return fail_at (s, err, "linux.sysctl", "`%s` is not namespaced: it would change the host", key);
      if (!has_new (s, need) || s->linux.ns[need].path)
        return fail_at (s, err, "linux.sysctl", "`%s` needs a new %s namespace", key, olrun_ns_name (need));
    }
  return 0;
}

int
olrun_spec_validate (const struct olrun_spec *s, olrun_error_t *err)
{
  if (check_process (s, err) < 0 || check_namespaces (s, err) < 0 || check_sysctl (s, err) < 0)
    return -1;
  return 0;
}

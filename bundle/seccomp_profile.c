/* The launcher's seccomp profile: podman's default where it is installed
 * (/usr/share/containers/seccomp.json, package golang-github-containers-common),
 * otherwise olrun's own built-in default.
 *
 * podman's file is in containers/common's format: rules carry
 * includes/excludes by architecture (Go's names), capability and minimum
 * kernel, and an archMap lists the sub-architectures of each native one.
 * podman resolves all of that before it writes config.json; this does the
 * same, for the capabilities the container gets and this machine's
 * architecture, so the result is the linux.seccomp podman would write. */
#include <fcntl.h>
#include <string.h>
#include <sys/utsname.h>

#include "bundle/internal.h"
#include "olrun/json.h"
#include "olrun/util.h"

#define PODMAN_PROFILE "/usr/share/containers/seccomp.json"

struct arch_names
{
  const char *machine;  /* uname -m */
  const char *goarch;   /* containers/common's arch names */
  const char *native;   /* SCMP_ARCH_* */
  const char *sub[3];   /* the built-in default's sub-architectures */
};
static const struct arch_names arches[] = {
  { "x86_64", "amd64", "SCMP_ARCH_X86_64", { "SCMP_ARCH_X86", "SCMP_ARCH_X32" } },
  { "aarch64", "arm64", "SCMP_ARCH_AARCH64", { "SCMP_ARCH_ARM" } },
  { "s390x", "s390x", "SCMP_ARCH_S390X", { "SCMP_ARCH_S390" } },
  { "ppc64le", "ppc64le", "SCMP_ARCH_PPC64LE", { NULL } },
  { "riscv64", "riscv64", "SCMP_ARCH_RISCV64", { NULL } },
};

static const struct arch_names *
host_arch (void)
{
  static struct utsname u;
  if (u.machine[0] == '\0' && uname (&u) < 0)
    return NULL;
  for (size_t i = 0; i < ARRAY_SIZE (arches); i++)
    if (strcmp (u.machine, arches[i].machine) == 0)
      return &arches[i];
  return NULL;
}

/* Syscalls the built-in default refuses with EPERM; everything else is
 * allowed.  They are the ones Docker's and podman's profiles deny to a
 * container without extra capabilities: kernel modules and kexec, clocks,
 * swap, accounting, mounts and namespaces, keyrings, BPF and perf, and
 * obsolete or dangerous interfaces (vm86, uselib, userfaultfd). */
static const char *const builtin_denied[] = {
  "acct", "add_key", "bpf", "clock_adjtime", "clock_settime", "create_module", "delete_module",
  "finit_module", "fsconfig", "fsmount", "fsopen", "fspick", "get_kernel_syms", "init_module", "ioperm",
  "iopl", "kcmp", "kexec_file_load", "kexec_load", "keyctl", "lookup_dcookie", "mount", "mount_setattr",
  "move_mount", "name_to_handle_at", "nfsservctl", "open_by_handle_at", "open_tree", "perf_event_open",
  "pivot_root", "process_vm_readv", "process_vm_writev", "query_module", "quotactl", "quotactl_fd", "reboot",
  "request_key", "setns", "settimeofday", "stime", "swapoff", "swapon", "sysfs", "_sysctl", "umount",
  "umount2", "unshare", "uselib", "userfaultfd", "ustat", "vm86", "vm86old",
};

static void
write_builtin (olrun_jw_t *w, const struct arch_names *a)
{
  olrun_jw_object_open (w);
  olrun_jw_kv_string (w, "defaultAction", "SCMP_ACT_ALLOW");
  if (a)
    {
      olrun_jw_key (w, "architectures");
      olrun_jw_array_open (w);
      olrun_jw_string (w, a->native);
      for (size_t i = 0; i < ARRAY_SIZE (a->sub) && a->sub[i]; i++)
        olrun_jw_string (w, a->sub[i]);
      olrun_jw_array_close (w);
    }
  olrun_jw_key (w, "syscalls");
  olrun_jw_array_open (w);
  olrun_jw_object_open (w);
  olrun_jw_key (w, "names");
  olrun_jw_array_open (w);
  for (size_t i = 0; i < ARRAY_SIZE (builtin_denied); i++)
    olrun_jw_string (w, builtin_denied[i]);
  olrun_jw_array_close (w);
  olrun_jw_kv_string (w, "action", "SCMP_ACT_ERRNO");
  olrun_jw_kv_int (w, "errnoRet", 1); /* EPERM */
  olrun_jw_object_close (w);
  olrun_jw_array_close (w);
  olrun_jw_object_close (w);
}

static bool
strv_node_has (const olrun_json_t *arr, const char *s)
{
  for (size_t i = 0; arr && arr->type == OLRUN_JSON_ARRAY && i < arr->u.array.len; i++)
    {
      const olrun_json_t *n = arr->u.array.items[i];
      if (n->type == OLRUN_JSON_STRING && strlen (s) == n->u.string.len && memcmp (n->u.string.str, s, n->u.string.len) == 0)
        return true;
    }
  return false;
}

static bool
kernel_at_least (const olrun_json_t *min)
{
  if (min == NULL || min->type != OLRUN_JSON_STRING)
    return true;
  struct utsname u;
  unsigned have[2] = { 0 }, want[2] = { 0 };
  _cleanup_free_ char *m = xstrndup (min->u.string.str, min->u.string.len);
  if (uname (&u) < 0 || sscanf (u.release, "%u.%u", &have[0], &have[1]) < 1 || sscanf (m, "%u.%u", &want[0], &want[1]) < 1)
    return true;
  return have[0] != want[0] ? have[0] > want[0] : have[1] >= want[1];
}

/* containers/common's rule filter: every `includes` condition must hold
 * (all its caps present), no `excludes` condition may. */
static bool
rule_applies (const olrun_json_t *rule, const char *goarch, char *const *caps)
{
  const olrun_json_t *inc = olrun_json_get (rule, "includes"), *exc = olrun_json_get (rule, "excludes");
  const olrun_json_t *v;
  if ((v = olrun_json_get (inc, "arches")) && v->type == OLRUN_JSON_ARRAY && v->u.array.len && !strv_node_has (v, goarch))
    return false;
  for (size_t i = 0; (v = olrun_json_get (inc, "caps")) && v->type == OLRUN_JSON_ARRAY && i < v->u.array.len; i++)
    {
      const olrun_json_t *c = v->u.array.items[i];
      bool have = false;
      for (size_t k = 0; caps[k] && c->type == OLRUN_JSON_STRING; k++)
        have |= strlen (caps[k]) == c->u.string.len && memcmp (caps[k], c->u.string.str, c->u.string.len) == 0;
      if (!have)
        return false;
    }
  if (!kernel_at_least (olrun_json_get (inc, "minKernel")))
    return false;
  if (strv_node_has (olrun_json_get (exc, "arches"), goarch))
    return false;
  for (size_t k = 0; caps[k]; k++)
    if (strv_node_has (olrun_json_get (exc, "caps"), caps[k]))
      return false;
  return true;
}

/* One arg: index, value, valueTwo (left out when 0, as Go's omitempty), op. */
static void
copy_arg (olrun_jw_t *w, const olrun_json_t *a)
{
  olrun_jw_object_open (w);
  for (size_t i = 0; i < a->u.object.len; i++)
    {
      const char *k = a->u.object.keys[i];
      const olrun_json_t *v = a->u.object.values[i];
      uint64_t n;
      if (strcmp (k, "valueTwo") == 0 && v->type == OLRUN_JSON_NUMBER && olrun_json_number_uint64 (v, &n) == 0 && n == 0)
        continue;
      olrun_jw_key (w, k);
      olrun_jw_node (w, v);
    }
  olrun_jw_object_close (w);
}

static void
copy_rule (olrun_jw_t *w, const olrun_json_t *rule)
{
  olrun_jw_object_open (w);
  const olrun_json_t *names = olrun_json_get (rule, "names"), *name = olrun_json_get (rule, "name");
  olrun_jw_key (w, "names");
  if (names && names->type == OLRUN_JSON_ARRAY)
    olrun_jw_node (w, names);
  else
    {
      olrun_jw_array_open (w);
      if (name && name->type == OLRUN_JSON_STRING)
        olrun_jw_node (w, name);
      olrun_jw_array_close (w);
    }
  static const char *const copied[] = { "action", "errnoRet" };
  for (size_t i = 0; i < ARRAY_SIZE (copied); i++)
    {
      const olrun_json_t *v = olrun_json_get (rule, copied[i]);
      if (v && v->type != OLRUN_JSON_NULL)
        {
          olrun_jw_key (w, copied[i]);
          olrun_jw_node (w, v);
        }
    }
  const olrun_json_t *args = olrun_json_get (rule, "args");
  if (args && args->type == OLRUN_JSON_ARRAY && args->u.array.len)
    {
      olrun_jw_key (w, "args");
      olrun_jw_array_open (w);
      for (size_t i = 0; i < args->u.array.len; i++)
        if (args->u.array.items[i]->type == OLRUN_JSON_OBJECT)
          copy_arg (w, args->u.array.items[i]);
      olrun_jw_array_close (w);
    }
  olrun_jw_object_close (w);
}

static void
write_arches (olrun_jw_t *w, const olrun_json_t *root, const struct arch_names *a)
{
  const olrun_json_t *map = olrun_json_get (root, "archMap");
  for (size_t i = 0; a && map && map->type == OLRUN_JSON_ARRAY && i < map->u.array.len; i++)
    {
      const olrun_json_t *m = map->u.array.items[i], *arch = olrun_json_get (m, "architecture");
      if (arch == NULL || arch->type != OLRUN_JSON_STRING || strlen (a->native) != arch->u.string.len
          || memcmp (arch->u.string.str, a->native, arch->u.string.len) != 0)
        continue;
      olrun_jw_key (w, "architectures");
      olrun_jw_array_open (w);
      olrun_jw_string (w, a->native);
      const olrun_json_t *sub = olrun_json_get (m, "subArchitectures");
      for (size_t k = 0; sub && sub->type == OLRUN_JSON_ARRAY && k < sub->u.array.len; k++)
        olrun_jw_node (w, sub->u.array.items[k]);
      olrun_jw_array_close (w);
      return;
    }
  const olrun_json_t *plain = olrun_json_get (root, "architectures");
  if (plain && plain->type == OLRUN_JSON_ARRAY)
    {
      olrun_jw_key (w, "architectures");
      olrun_jw_node (w, plain);
    }
}

static int
write_converted (olrun_jw_t *w, const char *path, char *const *caps, olrun_error_t *err)
{
  _cleanup_json_doc_ olrun_json_doc_t *doc = NULL;
  if (olrun_json_parse_file (AT_FDCWD, path, &doc, err) < 0)
    return olrun_error_wrap (err, "seccomp profile");
  const olrun_json_t *root = olrun_json_root (doc);
  const olrun_json_t *def = olrun_json_get (root, "defaultAction");
  const olrun_json_t *rules = olrun_json_get (root, "syscalls");
  if (root->type != OLRUN_JSON_OBJECT || def == NULL || def->type != OLRUN_JSON_STRING
      || (rules && rules->type != OLRUN_JSON_ARRAY))
    return olrun_invalid (err, "seccomp profile `%s`: expected an object with defaultAction and syscalls[]", path);
  const struct arch_names *a = host_arch ();
  olrun_jw_object_open (w);
  olrun_jw_key (w, "defaultAction");
  olrun_jw_node (w, def);
  static const char *const copied[] = { "defaultErrnoRet", "flags", "listenerPath", "listenerMetadata" };
  for (size_t i = 0; i < ARRAY_SIZE (copied); i++)
    {
      const olrun_json_t *v = olrun_json_get (root, copied[i]);
      if (v && v->type != OLRUN_JSON_NULL)
        {
          olrun_jw_key (w, copied[i]);
          olrun_jw_node (w, v);
        }
    }
  write_arches (w, root, a);
  olrun_jw_key (w, "syscalls");
  olrun_jw_array_open (w);
  for (size_t i = 0; rules && i < rules->u.array.len; i++)
    {
      const olrun_json_t *r = rules->u.array.items[i];
      if (r->type == OLRUN_JSON_OBJECT && rule_applies (r, a ? a->goarch : "", caps))
        copy_rule (w, r);
    }
  olrun_jw_array_close (w);
  olrun_jw_object_close (w);
  return 0;
}

int
seccomp_profile_write (olrun_jw_t *w, const char *spec, char *const *caps, olrun_error_t *err)
{
  if (spec && strcmp (spec, "unconfined") == 0)
    return 0;
  bool builtin = spec && strcmp (spec, "builtin") == 0;
  const char *path = spec && !builtin ? spec : PODMAN_PROFILE;
  if (!spec && access (PODMAN_PROFILE, R_OK) < 0)
    builtin = true;
  olrun_jw_key (w, "seccomp");
  if (builtin)
    {
      write_builtin (w, host_arch ());
      return 0;
    }
  return write_converted (w, path, caps, err);
}

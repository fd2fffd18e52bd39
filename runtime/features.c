/* `features`: the runtime-spec features document.
 *
 * Engines trust it to decide what to ask for (containerd and CRI-O turn on
 * user namespaces or idmapped mounts when it says so), so every list here
 * is taken from the tables the config parser and the code that applies the
 * config use, filtered by what this build and this host can do.  A feature
 * that is parsed but not applied is not listed. */
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>

#include "olrun/cgroup.h"
#include "olrun/json.h"
#include "olrun/mount.h"
#include "olrun/namespaces.h"
#include "olrun/runtime.h"
#include "olrun/seccomp.h"
#include "olrun/spec.h"
#include "olrun/util.h"
#include "runtime/caps.h"
#include "runtime/internal.h"

/* Any 1.x config is accepted. */
#define OCI_VERSION_MIN "1.0.0"

/* names[i] for every i until NULL, those for which keep(i) holds (all
 * without keep). */
static void
string_list_if (olrun_jw_t *w, const char *key, const char *(*name) (size_t), bool (*keep) (size_t))
{
  olrun_jw_key (w, key);
  olrun_jw_array_open (w);
  for (size_t i = 0; name (i); i++)
    if (keep == NULL || keep (i))
      olrun_jw_string (w, name (i));
  olrun_jw_array_close (w);
}

static void
string_list (olrun_jw_t *w, const char *key, const char *(*name) (size_t))
{
  string_list_if (w, key, name, NULL);
}

static const char *
hook_name (size_t i)
{
  return olrun_spec_hook_name ((enum olrun_hook_kind) i);
}

static const char *
ns_name (size_t i)
{
  return i < OLRUN_NS_COUNT ? olrun_ns_name ((enum olrun_ns_type) i) : NULL;
}

/* A namespace type the kernel lacks (time before 5.6) cannot be used. */
static bool
ns_exists (size_t i)
{
  char path[64];
  snprintf (path, sizeof path, "/proc/self/ns/%s", olrun_ns_proc_name ((enum olrun_ns_type) i));
  struct stat st;
  return lstat (path, &st) == 0;
}

/* The names the parser accepts and the running kernel has, that olrun can
 * hand on: one missing from its own bounding set (CAP_SYS_RESOURCE on some
 * hosts) cannot be granted to any container, and asking for it fails. */
static void
capabilities (olrun_jw_t *w)
{
  olrun_jw_key (w, "capabilities");
  olrun_jw_array_open (w);
  for (int c = 0; c <= olrun_caps_last_cap (); c++)
    {
      if (prctl (PR_CAPBSET_READ, c, 0, 0, 0) != 1)
        continue;
      _cleanup_free_ char *name = olrun_caps_name (c);
      if (name)
        olrun_jw_string (w, name);
    }
  olrun_jw_array_close (w);
}

static void
cgroup (olrun_jw_t *w)
{
  struct olrun_cgroup_features f;
  olrun_cgroup_features (&f);
  olrun_jw_key (w, "cgroup");
  olrun_jw_object_open (w);
  olrun_jw_kv_bool (w, "v1", f.v1);
  olrun_jw_kv_bool (w, "v2", f.v2);
  olrun_jw_kv_bool (w, "systemd", f.systemd);
  olrun_jw_kv_bool (w, "systemdUser", f.systemd_user);
  olrun_jw_kv_bool (w, "rdma", f.rdma);
  olrun_jw_object_close (w);
}

static bool
arch_supported (size_t i)
{
  return olrun_seccomp_arch_supported ((enum olrun_seccomp_arch) i);
}

static bool
flag_supported (size_t i)
{
  return olrun_seccomp_flag_supported (1u << i);
}

static void
seccomp (olrun_jw_t *w)
{
  olrun_jw_key (w, "seccomp");
  olrun_jw_object_open (w);
  olrun_jw_kv_bool (w, "enabled", true);
  string_list (w, "actions", olrun_seccomp_action_name);
  string_list (w, "operators", olrun_seccomp_op_name);
  string_list_if (w, "archs", olrun_seccomp_arch_name, arch_supported);
  string_list (w, "knownFlags", olrun_seccomp_flag_name);
  string_list_if (w, "supportedFlags", olrun_seccomp_flag_name, flag_supported);
  olrun_jw_object_close (w);
}

static void
enabled (olrun_jw_t *w, const char *key, bool value)
{
  olrun_jw_key (w, key);
  olrun_jw_object_open (w);
  olrun_jw_kv_bool (w, "enabled", value);
  olrun_jw_object_close (w);
}

static void
linux_section (olrun_jw_t *w)
{
  olrun_jw_key (w, "linux");
  olrun_jw_object_open (w);
  string_list_if (w, "namespaces", ns_name, ns_exists);
  capabilities (w);
  cgroup (w);
  seccomp (w);
  /* Labels are written where the LSM is active, and refused elsewhere. */
  enabled (w, "apparmor", olrun_lsm_apparmor_enabled ());
  enabled (w, "selinux", olrun_lsm_selinux_enabled ());
  /* Not implemented, and refused: linux.intelRdt. */
  enabled (w, "intelRdt", false);
  olrun_jw_key (w, "mountExtensions");
  olrun_jw_object_open (w);
  /* Idmapped bind mounts, where this caller can make them (runtime/idmapped.c). */
  enabled (w, "idmap", olrun_idmapped_available ());
  olrun_jw_object_close (w);
  /* linux.netDevices (runtime-spec 1.3): moved with rtnetlink. */
  enabled (w, "netDevices", true);
  /* linux.memoryPolicy (runtime-spec 1.3): set_mempolicy in the init. */
  olrun_jw_key (w, "memoryPolicy");
  olrun_jw_object_open (w);
  string_list (w, "modes", olrun_spec_mempolicy_mode_name);
  string_list (w, "flags", olrun_spec_mempolicy_flag_name);
  olrun_jw_object_close (w);
  olrun_jw_object_close (w);
}

char *
olrun_features_json (void)
{
  olrun_jw_t *w = olrun_jw_new (true);
  olrun_jw_object_open (w);
  olrun_jw_kv_string (w, "ociVersionMin", OCI_VERSION_MIN);
  olrun_jw_kv_string (w, "ociVersionMax", OLRUN_OCI_VERSION);
  string_list (w, "hooks", hook_name);
  string_list (w, "mountOptions", olrun_mount_option_name);
  linux_section (w);
  olrun_jw_key (w, "annotations");
  olrun_jw_object_open (w);
  _cleanup_free_ char *libseccomp = olrun_seccomp_library_version ();
  olrun_jw_kv_string (w, "io.github.seccomp.libseccomp.version", libseccomp);
  olrun_jw_kv_string (w, "org.olrun.version", OLRUN_VERSION);
  olrun_jw_kv_string (w, "org.olrun.commit", OLRUN_COMMIT);
  /* Checkpoint/restore needs CRIU, which olrun does not drive. */
  olrun_jw_kv_string (w, "org.olrun.checkpoint.enabled", "false");
  olrun_jw_object_close (w);
  olrun_jw_object_close (w);
  char *text = xstrdup (olrun_jw_text (w, NULL));
  olrun_jw_free (w);
  return text;
}

/* The last stage: the container's process itself.  Credentials,
 * capabilities, rlimits, no_new_privs, seccomp (last, so olrun's own
 * syscalls are never filtered), then execve. */
#include <fcntl.h>
#include <grp.h>
#include <linux/capability.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>

#include "olrun/log.h"
#include "olrun/seccomp.h"
#include "olrun/util.h"
#include "runtime/caps.h"
#include "runtime/internal.h"

#define DEFAULT_PATH "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

static const char *
env_get (char *const *env, const char *name)
{
  size_t n = strlen (name);
  for (; env && *env; env++)
    if (strncmp (*env, name, n) == 0 && (*env)[n] == '=')
      return *env + n + 1;
  return NULL;
}

static int
check_executable (const char *path, int *ret_errno)
{
  struct stat st;
  if (stat (path, &st) < 0)
    {
      *ret_errno = errno;
      return -1;
    }
  if (S_ISDIR (st.st_mode) || !(st.st_mode & 0111))
    {
      *ret_errno = EACCES;
      return -1;
    }
  return 0;
}

int
olrun_process_resolve (const struct olrun_process *p, char **ret_path, olrun_error_t *err)
{
  if (p->args == NULL || p->args[0] == NULL || p->args[0][0] == '\0')
    return olrun_invalid (err, "process.args must not be empty");
  const char *name = p->args[0];
  int e = 0;
  if (strchr (name, '/'))
    {
      if (check_executable (name, &e) < 0)
        return olrun_error_set (err, e == ENOENT ? OLRUN_E_EXEC_NOENT : OLRUN_E_EXEC_FAILED, e, "exec `%s`", name);
      *ret_path = xstrdup (name);
      return 0;
    }
  const char *path = env_get (p->env, "PATH");
  _cleanup_free_ char *dirs = xstrdup (path ? path : DEFAULT_PATH);
  int first_error = ENOENT;
  for (char *save = NULL, *dir = strtok_r (dirs, ":", &save); dir; dir = strtok_r (NULL, ":", &save))
    {
      _cleanup_free_ char *candidate = xasprintf ("%s/%s", *dir ? dir : ".", name);
      if (check_executable (candidate, &e) == 0)
        {
          *ret_path = TAKE_PTR (candidate);
          return 0;
        }
      /* Like the shells: a match we may not run beats "not found". */
      if (e != ENOENT && e != ENOTDIR)
        first_error = e;
    }
  /* The errno text is part of the message: engines tell a missing binary
   * (127) from one that may not run (126) by "no such file or directory"
   * and "permission denied" in it (podman's getOCIRuntimeError). */
  if (first_error == ENOENT)
    return olrun_error_set (err, OLRUN_E_EXEC_NOENT, ENOENT, "executable file `%s` not found in $PATH", name);
  return olrun_error_set (err, OLRUN_E_EXEC_FAILED, first_error, "exec `%s`", name);
}

int
olrun_process_chdir (const struct olrun_process *p, olrun_error_t *err)
{
  if (chdir (p->cwd) < 0)
    return olrun_error_set (err, OLRUN_E_EXEC_FAILED, errno, "chdir to cwd `%s`", p->cwd);
  /* A cwd reached through a leaked fd of the host (/proc/self/fd/N) lies
   * outside our root, and getcwd() then says "(unreachable)"
   * (CVE-2024-21626).  Refuse it whatever the path looked like. */
  char buf[4096];
  if (getcwd (buf, sizeof buf) == NULL || buf[0] != '/')
    return olrun_error_set (err, OLRUN_E_EXEC_FAILED, 0, "cwd `%s` is outside the container", p->cwd);
  return 0;
}

static int
apply_rlimits (const struct olrun_process *p, olrun_error_t *err)
{
  for (size_t i = 0; i < p->n_rlimits; i++)
    {
      struct rlimit rl = { .rlim_cur = p->rlimits[i].soft, .rlim_max = p->rlimits[i].hard };
      if (setrlimit (p->rlimits[i].resource, &rl) < 0)
        {
          if (errno == EPERM)
            return olrun_fail (err, errno,
                               "rlimit %d: raising a hard limit needs CAP_SYS_RESOURCE, which this host does not grant",
                               p->rlimits[i].resource);
          return olrun_fail (err, errno, "setrlimit %d", p->rlimits[i].resource);
        }
    }
  return 0;
}

/* Groups, gid, uid.  With a capability config, PR_SET_KEEPCAPS keeps the
 * permitted set across the uid change so olrun_caps_apply can set exactly
 * what was asked; without one, the kernel's usual rules apply. */
static int
apply_credentials (const struct olrun_process *p, olrun_error_t *err)
{
  gid_t groups[64] = { 0 };
  size_t n = p->n_additional_gids;
  if (n > ARRAY_SIZE (groups))
    return olrun_invalid (err, "too many additionalGids (%zu)", n);
  for (size_t i = 0; i < n; i++)
    groups[i] = p->additional_gids[i];
  /* setgroups is denied in a user namespace whose setgroups file says
   * "deny"; an empty list is then what we have anyway. */
  if (setgroups (n, groups) < 0 && !(errno == EPERM && n == 0))
    return olrun_fail (err, errno, "setgroups");
  if (p->has_capabilities)
    {
      if (olrun_caps_drop_bounding (p->caps.bounding, err) < 0)
        return -1;
      if (prctl (PR_SET_KEEPCAPS, 1, 0, 0, 0) < 0)
        return olrun_fail (err, errno, "prctl KEEPCAPS");
    }
  if (setresgid (p->gid, p->gid, p->gid) < 0)
    return olrun_fail (err, errno, "setgid %u", p->gid);
  if (setresuid (p->uid, p->uid, p->uid) < 0)
    return olrun_fail (err, errno, "setuid %u", p->uid);
  if (p->has_capabilities)
    {
      if (prctl (PR_SET_KEEPCAPS, 0, 0, 0, 0) < 0)
        return olrun_fail (err, errno, "prctl KEEPCAPS");
      if (olrun_caps_apply (&p->caps, err) < 0)
        return -1;
    }
  return 0;
}

static char **
build_env (const struct olrun_process *p)
{
  /* A container without PATH gets the default one (runc, docker). */
  if (env_get (p->env, "PATH"))
    return p->env;
  size_t n = strv_length (p->env);
  char **env = xzalloc ((n + 2) * sizeof *env);
  for (size_t i = 0; i < n; i++)
    env[i] = p->env[i];
  env[n] = (char *) "PATH=" DEFAULT_PATH;
  return env;
}

/* Load the filter and hand a notify listener to whoever started us (the
 * parent passes it on to the agent at listenerPath). */
static int
load_seccomp (const struct olrun_seccomp_program *seccomp, int report_fd, olrun_error_t *err)
{
  int listener = -1;
  if (olrun_seccomp_install (seccomp, &listener, err) < 0)
    return -1;
  if (listener < 0)
    return 0;
  int rc = olrun_sync_send (report_fd, SYNC_SECCOMP_FD, 0, listener, err);
  safe_close (listener);
  return rc;
}

/* The kernel lets a process without no_new_privs load a filter only while
 * it holds CAP_SYS_ADMIN.  Whether the process will still hold it after
 * apply_credentials: root keeps all its capabilities unless
 * process.capabilities says otherwise, anyone else keeps what the
 * effective set lists. */
static bool
keeps_sys_admin (const struct olrun_process *p)
{
  if (!p->has_capabilities)
    return p->uid == 0;
  return (p->caps.effective & (UINT64_C (1) << CAP_SYS_ADMIN)) != 0;
}

int
olrun_process_exec (const struct olrun_process *p, const char *exe, int preserve_fds, const int *keep, size_t nkeep,
                    const struct olrun_seccomp_program *seccomp, int report_fd, olrun_error_t *err)
{
  /* While we still hold every privilege (a real-time policy needs
   * CAP_SYS_NICE), and before any filter. */
  if (olrun_process_apply_sched (p, err) < 0 || olrun_process_apply_lsm (p, err) < 0)
    return -1;
  /* Normally the filter comes last, right before execve, so olrun's own
   * setup is never filtered.  Without no_new_privs and with CAP_SYS_ADMIN
   * about to go, it must come before the credentials change instead (as
   * runc and crun do); the profile then also sees the rest of the setup. */
  bool early = seccomp && !p->no_new_privileges && !keeps_sys_admin (p);
  /* Our fds go first: nothing but stdio, the preserved range and the
   * report socket may reach the process (CVE-2024-21626), and a filter
   * loaded early may well forbid close_range. */
  olrun_close_fds_except (3 + preserve_fds, keep, nkeep);
  if (olrun_cloexec_from (3 + preserve_fds, err) < 0)
    return -1;
  if (early && load_seccomp (seccomp, report_fd, err) < 0)
    return -1;
  if (apply_rlimits (p, err) < 0 || apply_credentials (p, err) < 0)
    return -1;
  umask (p->umask >= 0 ? (mode_t) p->umask : 022);
  /* Again after the uid change: cwd may not be reachable for the user.
   * A plain chdir: the leaked-fd check (CVE-2024-21626) was made at
   * create, no fd of ours is left to reach the host through, and an early
   * filter may refuse getcwd. */
  if (chdir (p->cwd) < 0)
    return olrun_error_set (err, OLRUN_E_EXEC_FAILED, errno, "chdir to cwd `%s`", p->cwd);
  if (p->no_new_privileges && prctl (PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
    return olrun_fail (err, errno, "prctl NO_NEW_PRIVS");
  if (!early && load_seccomp (seccomp, report_fd, err) < 0)
    return -1;
  char **env = build_env (p);
  execve (exe, p->args, env);
  int e = errno;
  return olrun_error_set (err, e == ENOENT ? OLRUN_E_EXEC_NOENT : OLRUN_E_EXEC_FAILED, e, "exec `%s`", exe);
}

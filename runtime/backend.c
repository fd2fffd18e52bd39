/* Backends: the runtime that runs a container.  The default is olrun's
 * own (embedded, called in-process); crun, runc or any runc-compatible
 * executable can be chosen at run time with --backend or OLRUN_BACKEND.
 *
 * An external backend is always called with runc's command line (execv,
 * no shell), with olrun's global options translated and a --root of its
 * own under olrun's: the state formats differ, and a crun container under
 * olrun's root would look like a broken olrun container to `list`. */
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "olrun/runtime.h"
#include "olrun/util.h"

void
olrun_backend_free (struct olrun_backend *b)
{
  if (b == NULL)
    return;
  free (b->name);
  free (b->path);
  free (b->root);
  free (b);
}

void
olrun_backend_freep (struct olrun_backend **b)
{
  olrun_backend_free (*b);
  *b = NULL;
}

/* execvp's search, done once up front so a missing backend is reported
 * before anything is prepared. */
static char *
find_on_path (const char *name)
{
  const char *path = getenv ("PATH");
  if (path == NULL || *path == '\0')
    path = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
  _cleanup_free_ char *copy = xstrdup (path);
  char *save = NULL;
  for (char *dir = strtok_r (copy, ":", &save); dir; dir = strtok_r (NULL, ":", &save))
    {
      char *p = xasprintf ("%s/%s", *dir ? dir : ".", name);
      struct stat st;
      if (stat (p, &st) == 0 && S_ISREG (st.st_mode) && access (p, X_OK) == 0)
        return p;
      free (p);
    }
  return NULL;
}

int
olrun_backend_resolve (const struct olrun_context *ctx, const char *spec, struct olrun_backend **ret,
                       olrun_error_t *err)
{
  if (spec == NULL || *spec == '\0')
    spec = getenv ("OLRUN_BACKEND");
  if (spec == NULL || *spec == '\0')
    spec = "embedded";
  _cleanup_backend_ struct olrun_backend *b = xzalloc (sizeof *b);
  b->name = xstrdup (spec);
  if (strcmp (spec, "embedded") == 0 || strcmp (spec, "olrun") == 0)
    {
      *ret = TAKE_PTR (b);
      return 0;
    }
  if (strchr (spec, '/'))
    {
      struct stat st;
      if (stat (spec, &st) < 0 || !S_ISREG (st.st_mode) || access (spec, X_OK) < 0)
        return olrun_error_set (err, OLRUN_E_UNSUPPORTED, errno ? errno : EACCES, "backend `%s` is not an executable",
                                spec);
      b->path = realpath (spec, NULL);
      if (b->path == NULL)
        return olrun_fail (err, errno, "backend `%s`", spec);
    }
  else if ((b->path = find_on_path (spec)) == NULL)
    return olrun_error_set (err, OLRUN_E_UNSUPPORTED, 0, "backend `%s` is not installed (no `%s` on PATH)", spec,
                            spec);
  const char *base = strrchr (b->path, '/') + 1;
  b->crun = strstr (base, "crun") != NULL;
  b->root = xasprintf ("%s/.backend-%s", ctx->root, base);
  *ret = TAKE_PTR (b);
  return 0;
}

/* olrun's global options in the backend's words.  crun and runc share
 * runc's names; only crun knows --cgroup-manager. */
static int
translate_globals (const struct olrun_backend *b, const struct olrun_context *ctx, char ***argv, size_t *n,
                   olrun_error_t *err)
{
  char **v = *argv;
  v[(*n)++] = xasprintf ("--root=%s", b->root);
  if (ctx->log_path)
    v[(*n)++] = xasprintf ("--log=%s", ctx->log_path);
  if (ctx->log_json)
    v[(*n)++] = xstrdup ("--log-format=json");
  if (ctx->debug)
    v[(*n)++] = xstrdup ("--debug");
  if (ctx->rootless >= 0)
    v[(*n)++] = xasprintf ("--rootless=%s", ctx->rootless ? "true" : "false");
  switch (ctx->cgroup_manager)
    {
    case OLRUN_CGROUP_CGROUPFS:
      break;
    case OLRUN_CGROUP_SYSTEMD:
      v[(*n)++] = xstrdup ("--systemd-cgroup");
      break;
    case OLRUN_CGROUP_DISABLED:
      if (!b->crun)
        return olrun_error_set (err, OLRUN_E_UNSUPPORTED, 0,
                                "backend `%s` cannot run without a cgroup (--cgroup-manager disabled is crun's)",
                                b->name);
      v[(*n)++] = xstrdup ("--cgroup-manager=disabled");
      break;
    }
  return 0;
}

int
olrun_backend_argv (const struct olrun_backend *b, const struct olrun_context *ctx, char *const *args, char ***ret,
                    olrun_error_t *err)
{
  if (b->path == NULL)
    return olrun_invalid (err, "the embedded runtime is not executed");
  size_t n = 0;
  _cleanup_strv_ char **v = xzalloc ((strv_length (args) + 10) * sizeof *v);
  v[n++] = xstrdup (b->path);
  if (translate_globals (b, ctx, &v, &n, err) < 0)
    return -1;
  for (size_t i = 0; args[i]; i++)
    v[n++] = xstrdup (args[i]);
  *ret = TAKE_PTR (v);
  return 0;
}

int
olrun_backend_exec (const struct olrun_backend *b, const struct olrun_context *ctx, char *const *args,
                    olrun_error_t *err)
{
  _cleanup_strv_ char **argv = NULL;
  if (olrun_backend_argv (b, ctx, args, &argv, err) < 0)
    return -1;
  if (olrun_mkdir_p_at (AT_FDCWD, b->root, 0700, err) < 0)
    return olrun_error_wrap (err, "backend root");
  execv (argv[0], argv);
  return olrun_fail (err, errno, "execute backend `%s`", argv[0]);
}

int
olrun_backend_spawn (const struct olrun_backend *b, const struct olrun_context *ctx, char *const *args,
                     const int *stdio, pid_t *ret_pid, olrun_error_t *err)
{
  _cleanup_strv_ char **argv = NULL;
  if (olrun_backend_argv (b, ctx, args, &argv, err) < 0)
    return -1;
  if (olrun_mkdir_p_at (AT_FDCWD, b->root, 0700, err) < 0)
    return olrun_error_wrap (err, "backend root");
  pid_t pid = fork ();
  if (pid < 0)
    return olrun_fail (err, errno, "fork");
  if (pid == 0)
    {
      /* The caller may block signals it forwards; the backend must not
       * inherit that mask (it forwards signals itself). */
      sigset_t none;
      sigemptyset (&none);
      sigprocmask (SIG_SETMASK, &none, NULL);
      for (int fd = 0; stdio && fd < 3; fd++)
        if (stdio[fd] >= 0 && stdio[fd] != fd && dup2 (stdio[fd], fd) < 0)
          _exit (127);
      execv (argv[0], argv);
      _exit (127);
    }
  *ret_pid = pid;
  return 0;
}

int
olrun_backend_wait (const struct olrun_backend *b, pid_t pid, const char *verb, int *ret_status, olrun_error_t *err)
{
  int status;
  while (waitpid (pid, &status, 0) < 0)
    if (errno != EINTR)
      return olrun_fail (err, errno, "wait for %s %s", b->name, verb);
  int code = WIFEXITED (status) ? WEXITSTATUS (status) : WIFSIGNALED (status) ? 128 + WTERMSIG (status) : 1;
  if (ret_status)
    {
      *ret_status = code;
      return 0;
    }
  if (code != 0)
    return olrun_fail (err, 0, "%s %s failed (exit status %d)", b->name, verb, code);
  return 0;
}

int
olrun_backend_call (const struct olrun_backend *b, const struct olrun_context *ctx, char *const *args,
                    const int *stdio, olrun_error_t *err)
{
  pid_t pid;
  if (olrun_backend_spawn (b, ctx, args, stdio, &pid, err) < 0)
    return -1;
  return olrun_backend_wait (b, pid, args[0], NULL, err);
}

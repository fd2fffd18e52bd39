/* Hooks: run with the state JSON on stdin, a timeout, and their output
 * kept for the error message.  stdin and the output are memfds, so a hook
 * that ignores stdin or writes a lot can never deadlock us on a pipe. */
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>

#include "olrun/json.h"
#include "olrun/log.h"
#include "olrun/syscalls.h"
#include "olrun/util.h"
#include "runtime/internal.h"

static const char *const hook_names[OLRUN_HOOK_COUNT] = {
  "prestart", "createRuntime", "createContainer", "startContainer", "poststart", "poststop",
};

char *
olrun_state_json (const struct olrun_state *s, const char *status, bool pretty)
{
  olrun_jw_t *w = olrun_jw_new (pretty);
  olrun_jw_object_open (w);
  olrun_jw_kv_string (w, "ociVersion", "1.3.0");
  olrun_jw_kv_string (w, "id", s->id);
  olrun_jw_kv_string (w, "status", status);
  if (strcmp (status, "stopped") != 0 && s->pid > 0)
    olrun_jw_kv_int (w, "pid", s->pid);
  olrun_jw_kv_string (w, "bundle", s->bundle);
  olrun_jw_key (w, "annotations");
  olrun_json_doc_t *doc = NULL;
  olrun_error_t ignored = NULL;
  if (s->annotations && olrun_json_parse (s->annotations, strlen (s->annotations), "annotations", &doc, &ignored) == 0)
    olrun_jw_node (w, olrun_json_root (doc));
  else
    {
      olrun_jw_object_open (w);
      olrun_jw_object_close (w);
    }
  olrun_error_release (&ignored);
  olrun_json_doc_free (doc);
  if (s->created)
    olrun_jw_kv_string (w, "created", s->created);
  olrun_jw_kv_string (w, "owner", "");
  olrun_jw_object_close (w);
  char *r = xstrdup (olrun_jw_text (w, NULL));
  olrun_jw_free (w);
  return r;
}

static int
memfd_with (const char *name, const char *text, olrun_error_t *err)
{
  int fd = memfd_create (name, MFD_CLOEXEC);
  if (fd < 0)
    return olrun_fail (err, errno, "memfd_create");
  if (text && (olrun_write_all (fd, text, strlen (text)) < 0 || lseek (fd, 0, SEEK_SET) < 0))
    {
      safe_close (fd);
      return olrun_fail (err, errno, "write hook input");
    }
  return fd;
}

/* Wait for the hook, killing it at the timeout.  Returns its wait status. */
static int
wait_hook (pid_t pid, int pidfd, int timeout, int *ret_status, olrun_error_t *err)
{
  if (timeout > 0)
    {
      struct pollfd p = { .fd = pidfd, .events = POLLIN };
      int r;
      do
        r = poll (&p, 1, timeout * 1000);
      while (r < 0 && errno == EINTR);
      if (r == 0)
        {
          olrun_pidfd_send_signal (pidfd, SIGKILL, NULL, 0);
          waitpid (pid, NULL, 0);
          return olrun_fail (err, ETIMEDOUT, "timed out after %d s", timeout);
        }
    }
  while (waitpid (pid, ret_status, 0) < 0)
    if (errno != EINTR)
      return olrun_fail (err, errno, "waitpid");
  return 0;
}

static _Noreturn void
exec_hook (const struct olrun_hook *h, int in, int out)
{
  if (dup2 (in, 0) < 0 || dup2 (out, 1) < 0 || dup2 (out, 2) < 0)
    _exit (127);
  olrun_close_fds_except (3, NULL, 0);
  char *argv0[] = { h->path, NULL };
  char *empty[] = { NULL };
  execve (h->path, h->args && h->args[0] ? h->args : argv0, h->env ? h->env : empty);
  dprintf (2, "exec: %s\n", strerror (errno));
  _exit (127);
}

static int
run_one (const struct olrun_hook *h, const char *state_json, olrun_error_t *err)
{
  _cleanup_close_ int in = memfd_with ("hook-stdin", state_json, err);
  if (in < 0)
    return -1;
  _cleanup_close_ int out = memfd_with ("hook-output", NULL, err);
  if (out < 0)
    return -1;
  int pidfd = -1;
  struct clone_args args = { .flags = CLONE_PIDFD, .pidfd = (uint64_t) (uintptr_t) &pidfd, .exit_signal = SIGCHLD };
  long pid = olrun_clone3 (&args, sizeof args);
  if (pid < 0)
    return olrun_fail (err, errno, "fork");
  if (pid == 0)
    exec_hook (h, in, out);
  _cleanup_close_ int owned_pidfd = pidfd;
  int status = 0;
  if (wait_hook ((pid_t) pid, pidfd, h->timeout, &status, err) < 0)
    return -1;
  if (WIFEXITED (status) && WEXITSTATUS (status) == 0)
    return 0;
  char output[512] = "";
  ssize_t n = pread (out, output, sizeof output - 1, 0);
  output[n > 0 ? n : 0] = '\0';
  for (char *p = output; *p; p++)
    if (*p == '\n')
      *p = ' ';
  if (WIFSIGNALED (status))
    return olrun_fail (err, 0, "killed by signal %d%s%s", WTERMSIG (status), *output ? ": " : "", output);
  return olrun_fail (err, 0, "exit status %d%s%s", WEXITSTATUS (status), *output ? ": " : "", output);
}

void
olrun_hooks_run_warn (const struct olrun_spec *spec, enum olrun_hook_kind kind, const struct olrun_state *s,
                      const char *status)
{
  if (spec == NULL || spec->hooks.len[kind] == 0)
    return;
  _cleanup_free_ char *json = olrun_state_json (s, status, false);
  olrun_error_t tmp = NULL;
  if (olrun_hooks_run (spec, kind, json, &tmp) < 0)
    {
      olrun_warn ("%s", tmp->msg);
      olrun_error_release (&tmp);
    }
}

int
olrun_hooks_run (const struct olrun_spec *spec, enum olrun_hook_kind kind, const char *state_json,
                 olrun_error_t *err)
{
  for (size_t i = 0; i < spec->hooks.len[kind]; i++)
    {
      const struct olrun_hook *h = &spec->hooks.v[kind][i];
      if (run_one (h, state_json, err) < 0)
        return olrun_error_wrap (err, "%s hook `%s`", hook_names[kind], h->path);
    }
  return 0;
}

/* Handing the notify listener to the seccomp agent, as the runtime-spec
 * describes it: connect to listenerPath (AF_UNIX, SOCK_STREAM), send one
 * containerProcessState with the listener fd as SCM_RIGHTS, and close the
 * connection; the agent reads the JSON until EOF.  This runs in the parent,
 * which is not under the container's filter. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>

#include "olrun/seccomp.h"
#include "olrun/util.h"

/* The runtime-spec version whose containerProcessState this is. */
#define OCI_STATE_VERSION "1.3.0"

/* sun_path holds 108 bytes.  A longer socket path is reached through an
 * O_PATH fd on its directory: /proc/self/fd/N/name is short. */
static int
connect_path (int sock, const char *path, olrun_error_t *err)
{
  struct sockaddr_un sa = { .sun_family = AF_UNIX };
  _cleanup_close_ int dirfd = -1;
  if (strlen (path) < sizeof sa.sun_path)
    strcpy (sa.sun_path, path);
  else
    {
      const char *slash = strrchr (path, '/');
      _cleanup_free_ char *dir = slash ? xstrndup (path, slash == path ? 1 : (size_t) (slash - path)) : xstrdup (".");
      const char *base = slash ? slash + 1 : path;
      dirfd = open (dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
      if (dirfd < 0)
        return olrun_fail (err, errno, "seccomp: open the directory of listenerPath `%s`", path);
      int n = snprintf (sa.sun_path, sizeof sa.sun_path, "/proc/self/fd/%d/%s", dirfd, base);
      if (n < 0 || (size_t) n >= sizeof sa.sun_path)
        return olrun_fail (err, ENAMETOOLONG, "seccomp: listenerPath `%s`", path);
    }
  int rc;
  do
    rc = connect (sock, (struct sockaddr *) &sa, sizeof sa);
  while (rc < 0 && errno == EINTR);
  if (rc < 0)
    return olrun_fail (err, errno, "seccomp: connect to the agent at listenerPath `%s`", path);
  return 0;
}

/* The containerProcessState object. */
static char *
process_state (const struct olrun_seccomp *s, pid_t pid, const char *state_json)
{
  struct olrun_buf b = { 0 };
  olrun_buf_printf (&b, "{\"ociVersion\":\"%s\",\"fds\":[\"seccompFd\"],\"pid\":%" PRId64 ",\"metadata\":",
                    OCI_STATE_VERSION, (int64_t) pid);
  olrun_buf_json_string (&b, s->listener_metadata ? s->listener_metadata : "");
  olrun_buf_puts (&b, ",\"state\":");
  olrun_buf_puts (&b, state_json);
  olrun_buf_puts (&b, "}");
  return olrun_buf_steal (&b);
}

int
olrun_seccomp_send_listener (const struct olrun_seccomp *s, int listener_fd, pid_t pid, const char *state_json,
                             olrun_error_t *err)
{
  if (s->listener_path == NULL || *s->listener_path == '\0')
    return olrun_invalid (err, "seccomp: SCMP_ACT_NOTIFY is used but linux.seccomp.listenerPath is not set");
  _cleanup_close_ int sock = socket (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (sock < 0)
    return olrun_fail (err, errno, "seccomp: socket");
  if (connect_path (sock, s->listener_path, err) < 0)
    return -1;
  _cleanup_free_ char *payload = process_state (s, pid, state_json);
  /* One sendmsg: a blocking stream socket takes it all, fd included. */
  if (olrun_send_fds (sock, payload, strlen (payload), &listener_fd, 1, err) < 0)
    return olrun_error_wrap (err, "seccomp: sending the listener to the agent at `%s`", s->listener_path);
  /* "The connection MUST NOT be reused and it MUST be closed after sending
   * a seccomp state": the cleanup closes it; shutdown makes the EOF explicit
   * even if the fd was inherited somewhere. */
  shutdown (sock, SHUT_WR);
  return 0;
}

/* Typed messages between olrun and the container's setup process.
 *
 * A SOCK_SEQPACKET pair keeps message boundaries, so each message is one
 * packet: a header, an optional fd (SCM_RIGHTS) and, for SYNC_ERROR, the
 * error itself.  A failure in the child thus reaches the CLI as an ordinary
 * olrun_error_t with the child's own words (runc's procError). */
#include <string.h>
#include <sys/socket.h>

#include "olrun/util.h"
#include "runtime/internal.h"

struct wire
{
  int32_t type;
  int32_t value;
  int32_t kind;
  int32_t errnum;
  char text[4096];
};

int
olrun_sync_pair (int fds[2], olrun_error_t *err)
{
  if (socketpair (AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, fds) < 0)
    return olrun_fail (err, errno, "socketpair");
  return 0;
}

int
olrun_sync_send (int sock, int type, int value, int fd, olrun_error_t *err)
{
  struct wire w = { .type = type, .value = value };
  return olrun_send_fds (sock, &w, offsetof (struct wire, text), &fd, fd >= 0 ? 1 : 0, err);
}

int
olrun_sync_send_error (int sock, const struct olrun_error *e)
{
  struct wire w = { .type = SYNC_ERROR, .kind = e->kind, .errnum = e->errnum };
  size_t len = strlen (e->msg);
  if (len >= sizeof w.text)
    len = sizeof w.text - 1;
  memcpy (w.text, e->msg, len);
  olrun_error_t ignored = NULL;
  int rc = olrun_send_fds (sock, &w, offsetof (struct wire, text) + len + 1, NULL, 0, &ignored);
  olrun_error_release (&ignored);
  return rc;
}

int
olrun_sync_recv (int sock, int expect, int *ret_value, int *ret_fd, olrun_error_t *err)
{
  int type = 0, fd = -1;
  if (olrun_sync_recv_any (sock, &type, ret_value, &fd, err) < 0)
    return -1;
  _cleanup_close_ int owned = fd;
  if (type == 0)
    return olrun_fail (err, 0, "the container process exited during setup");
  if (type != expect)
    return olrun_fail (err, EPROTO, "sync: expected message %d, got %d", expect, type);
  if (ret_fd)
    *ret_fd = TAKE_FD (owned);
  return 0;
}

int
olrun_sync_recv_any (int sock, int *ret_type, int *ret_value, int *ret_fd, olrun_error_t *err)
{
  struct wire w;
  int fd = -1;
  memset (&w, 0, sizeof w);
  ssize_t n = olrun_recv_fds (sock, &w, sizeof w, &fd, 1, err);
  if (n < 0)
    return -1;
  _cleanup_close_ int owned = fd;
  *ret_type = 0;
  if (n == 0)
    return 0;
  if (n < (ssize_t) offsetof (struct wire, text))
    return olrun_fail (err, EPROTO, "short sync message");
  if (w.type == SYNC_ERROR)
    {
      w.text[sizeof w.text - 1] = '\0';
      olrun_error_set (err, w.kind, 0, "%s", w.text);
      (*err)->errnum = w.errnum;
      return -1;
    }
  *ret_type = w.type;
  if (ret_value)
    *ret_value = w.value;
  if (ret_fd)
    *ret_fd = TAKE_FD (owned);
  return 0;
}

/* Passing fds over unix sockets, and closing fd ranges. */
#include <string.h>
#include <sys/socket.h>

#include "olrun/syscalls.h"
#include "olrun/util.h"

#define MAX_FDS 8

int
olrun_send_fds (int sock, const void *buf, size_t len, const int *fds, size_t nfds, olrun_error_t *err)
{
  if (nfds > MAX_FDS || len == 0)
    abort ();
  union
  {
    char buf[CMSG_SPACE (sizeof (int) * MAX_FDS)];
    struct cmsghdr align;
  } control;
  memset (&control, 0, sizeof control);
  struct iovec iov = { .iov_base = (void *) buf, .iov_len = len };
  struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1 };
  if (nfds > 0)
    {
      msg.msg_control = control.buf;
      msg.msg_controllen = CMSG_SPACE (sizeof (int) * nfds);
      struct cmsghdr *c = CMSG_FIRSTHDR (&msg);
      c->cmsg_level = SOL_SOCKET;
      c->cmsg_type = SCM_RIGHTS;
      c->cmsg_len = CMSG_LEN (sizeof (int) * nfds);
      memcpy (CMSG_DATA (c), fds, sizeof (int) * nfds);
    }
  ssize_t n;
  do
    n = sendmsg (sock, &msg, MSG_NOSIGNAL);
  while (n < 0 && errno == EINTR);
  if (n < 0)
    return olrun_fail (err, errno, "sendmsg");
  if ((size_t) n != len)
    return olrun_fail (err, EIO, "sendmsg: short write");
  return 0;
}

ssize_t
olrun_recv_fds (int sock, void *buf, size_t len, int *fds, size_t max_fds, olrun_error_t *err)
{
  union
  {
    char buf[CMSG_SPACE (sizeof (int) * MAX_FDS)];
    struct cmsghdr align;
  } control;
  for (size_t i = 0; i < max_fds; i++)
    fds[i] = -1;
  struct iovec iov = { .iov_base = buf, .iov_len = len };
  struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = control.buf,
                        .msg_controllen = sizeof control.buf };
  ssize_t n;
  do
    n = recvmsg (sock, &msg, MSG_CMSG_CLOEXEC);
  while (n < 0 && errno == EINTR);
  if (n < 0)
    return olrun_fail (err, errno, "recvmsg");
  size_t got = 0;
  for (struct cmsghdr *c = CMSG_FIRSTHDR (&msg); c; c = CMSG_NXTHDR (&msg, c))
    {
      if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
        continue;
      size_t n_in = (c->cmsg_len - CMSG_LEN (0)) / sizeof (int);
      int *in = (int *) CMSG_DATA (c);
      for (size_t i = 0; i < n_in; i++)
        {
          /* Keep what fits; close the rest rather than leak them. */
          if (got < max_fds)
            fds[got++] = in[i];
          else
            close (in[i]);
        }
    }
  return n;
}

static int
cmp_int (const void *a, const void *b)
{
  return *(const int *) a - *(const int *) b;
}

void
olrun_close_fds_except (int from, const int *keep, size_t nkeep)
{
  int sorted[16];
  if (nkeep > ARRAY_SIZE (sorted))
    abort ();
  if (nkeep > 0)
    memcpy (sorted, keep, nkeep * sizeof *keep);
  qsort (sorted, nkeep, sizeof *sorted, cmp_int);
  int lo = from;
  for (size_t i = 0; i < nkeep; i++)
    {
      if (sorted[i] < lo)
        continue;
      if (sorted[i] > lo)
        olrun_close_range ((unsigned) lo, (unsigned) sorted[i] - 1, 0);
      lo = sorted[i] + 1;
    }
  olrun_close_range ((unsigned) lo, ~0U, 0);
}

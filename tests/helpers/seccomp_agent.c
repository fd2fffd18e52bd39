/* seccomp_agent: a tiny seccomp notify agent for the tests.
 *
 *   seccomp_agent SOCKET OUT MODE
 *
 * Listens on SOCKET (AF_UNIX, SOCK_STREAM), prints "ready" on stdout, takes
 * one connection, reads the containerProcessState up to EOF together with
 * the listener fd (SCM_RIGHTS), and writes that JSON to OUT.  Then it
 * answers every notification until the container is gone, appending
 * "<syscall nr> <pid>" per call to OUT.calls.  MODE is how it answers:
 *   errno:N    the syscall fails with errno N
 *   value:V    the syscall "succeeds" with return value V, not run at all
 *   continue   the syscall runs as if there were no filter
 * Exit status: 0 after the container went away, 1 on a protocol error. */
#include <errno.h>
#include <linux/seccomp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <unistd.h>

static void
fail (const char *what)
{
  fprintf (stderr, "seccomp_agent: %s: %s\n", what, strerror (errno));
  exit (1);
}

/* Read the whole state; the fd arrives with one of the messages. */
static int
receive_state (int conn, char **text)
{
  size_t len = 0, cap = 4096;
  char *buf = malloc (cap);
  int fd = -1;
  for (;;)
    {
      union
      {
        char b[CMSG_SPACE (sizeof (int))];
        struct cmsghdr align;
      } u;
      if (len + 1 >= cap && (buf = realloc (buf, cap *= 2)) == NULL)
        fail ("realloc");
      struct iovec iov = { buf + len, cap - len - 1 };
      struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.b, .msg_controllen = sizeof u.b };
      ssize_t n = recvmsg (conn, &m, MSG_CMSG_CLOEXEC);
      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0)
        fail ("recvmsg");
      for (struct cmsghdr *c = CMSG_FIRSTHDR (&m); c; c = CMSG_NXTHDR (&m, c))
        if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS)
          memcpy (&fd, CMSG_DATA (c), sizeof fd);
      if (n == 0)
        break;
      len += (size_t) n;
    }
  buf[len] = '\0';
  *text = buf;
  return fd;
}

static void
write_file (const char *path, const char *text)
{
  char tmp[4096];
  snprintf (tmp, sizeof tmp, "%s.tmp", path);
  FILE *f = fopen (tmp, "w");
  if (f == NULL || fputs (text, f) < 0 || fclose (f) != 0 || rename (tmp, path) < 0)
    fail (path);
}

static void
answer (int fd, const char *mode, FILE *calls)
{
  struct seccomp_notif_sizes sizes;
  if (syscall (SYS_seccomp, SECCOMP_GET_NOTIF_SIZES, 0, &sizes) < 0)
    fail ("SECCOMP_GET_NOTIF_SIZES");
  /* The kernel's structs may be bigger than this program's headers. */
  struct seccomp_notif *req = calloc (1, sizes.seccomp_notif > sizeof *req ? sizes.seccomp_notif : sizeof *req);
  struct seccomp_notif_resp *resp
      = calloc (1, sizes.seccomp_notif_resp > sizeof *resp ? sizes.seccomp_notif_resp : sizeof *resp);
  for (;;)
    {
      struct pollfd p = { .fd = fd, .events = POLLIN };
      if (poll (&p, 1, -1) < 0)
        {
          if (errno == EINTR)
            continue;
          fail ("poll");
        }
      if (!(p.revents & POLLIN))
        return; /* POLLHUP: every task under the filter is gone */
      memset (req, 0, sizes.seccomp_notif);
      if (ioctl (fd, SECCOMP_IOCTL_NOTIF_RECV, req) < 0)
        {
          if (errno == EINTR || errno == ENOENT)
            continue; /* the caller died meanwhile */
          fail ("SECCOMP_IOCTL_NOTIF_RECV");
        }
      fprintf (calls, "%d %u\n", req->data.nr, req->pid);
      fflush (calls);
      memset (resp, 0, sizes.seccomp_notif_resp);
      resp->id = req->id;
      if (strncmp (mode, "errno:", 6) == 0)
        resp->error = -atoi (mode + 6);
      else if (strncmp (mode, "value:", 6) == 0)
        resp->val = atoll (mode + 6);
      else
        resp->flags = SECCOMP_USER_NOTIF_FLAG_CONTINUE;
      if (ioctl (fd, SECCOMP_IOCTL_NOTIF_SEND, resp) < 0 && errno != ENOENT)
        fail ("SECCOMP_IOCTL_NOTIF_SEND");
    }
}

int
main (int argc, char **argv)
{
  if (argc != 4)
    {
      fprintf (stderr, "usage: seccomp_agent SOCKET OUT errno:N|value:V|continue\n");
      return 2;
    }
  struct sockaddr_un sa = { .sun_family = AF_UNIX };
  if (strlen (argv[1]) >= sizeof sa.sun_path)
    {
      errno = ENAMETOOLONG;
      fail (argv[1]);
    }
  strcpy (sa.sun_path, argv[1]);
  unlink (argv[1]);
  int ls = socket (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (ls < 0 || bind (ls, (struct sockaddr *) &sa, sizeof sa) < 0 || listen (ls, 1) < 0)
    fail ("listen");
  printf ("ready\n");
  fflush (stdout);
  int conn = accept4 (ls, NULL, NULL, SOCK_CLOEXEC);
  if (conn < 0)
    fail ("accept");
  char *state = NULL;
  int fd = receive_state (conn, &state);
  close (conn);
  close (ls);
  if (fd < 0)
    {
      errno = EPROTO;
      fail ("no fd came with the state");
    }
  char path[4096];
  snprintf (path, sizeof path, "%s.calls", argv[2]);
  FILE *calls = fopen (path, "w");
  if (calls == NULL)
    fail (path);
  write_file (argv[2], state);
  answer (fd, argv[3], calls);
  fclose (calls);
  return 0;
}

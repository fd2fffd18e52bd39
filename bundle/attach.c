/* The client side of detached instances: attach, logs and stop.
 *
 * attach speaks to the monitor over <instance>/attach.sock (see launch.h
 * for the packets).  With a terminal on both ends the caller's terminal is
 * raw while attached (and always restored), its size follows SIGWINCH,
 * and the detach keys, ctrl-p ctrl-q, end the session but not the
 * container.  A ctrl-p followed by anything else is passed on, both bytes. */
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/file.h>
#include <sys/inotify.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <termios.h>
#include <time.h>

#include "bundle/launch.h"
#include "olrun/util.h"

#define KEY_CTRL_P 0x10
#define KEY_CTRL_Q 0x11

/* The exit status a finished instance recorded, or -1. */
static int
recorded_exit (int dirfd)
{
  _cleanup_free_ char *text = NULL;
  size_t len = 0;
  olrun_error_t e = NULL;
  int64_t v;
  if (olrun_read_file_at (dirfd, "exit", &text, &len, &e) < 0)
    {
      olrun_error_release (&e);
      return -1;
    }
  text[strcspn (text, "\n")] = '\0';
  return olrun_parse_int64 (text, &v) == 0 ? (int) v : -1;
}

static int
open_running (const struct olrun_context *ctx, const char *id, struct instance *in, olrun_error_t *err)
{
  bool alive = false;
  if (instance_open (ctx, id, in, &alive, err) < 0)
    return -1;
  if (alive)
    return 0;
  int st = recorded_exit (in->dirfd);
  instance_close (in);
  if (st >= 0)
    return olrun_error_set (err, OLRUN_E_NOT_RUNNING, 0, "container not running: `%s` exited with status %d", id, st);
  return olrun_error_set (err, OLRUN_E_NOT_RUNNING, 0, "container not running: `%s`", id);
}

static int
connect_monitor (const struct instance *in, int *ret, olrun_error_t *err)
{
  struct sockaddr_un addr = { .sun_family = AF_UNIX };
  snprintf (addr.sun_path, sizeof addr.sun_path, "/proc/self/fd/%d/attach.sock", in->dirfd);
  _cleanup_close_ int fd = socket (AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
  if (fd < 0)
    return olrun_fail (err, errno, "socket");
  if (connect (fd, (struct sockaddr *) &addr, sizeof addr) < 0)
    return olrun_error_set (err, errno == ENOENT ? OLRUN_E_NOT_RUNNING : OLRUN_E_GENERIC, errno,
                            "connect to the monitor of `%s`", in->id);
  *ret = TAKE_FD (fd);
  return 0;
}

static void
send_winsize (int sock)
{
  struct winsize ws;
  if (ioctl (STDIN_FILENO, TIOCGWINSZ, &ws) < 0)
    return;
  char pkt[5] = { ATTACH_RESIZE };
  uint16_t rc[2] = { ws.ws_row, ws.ws_col };
  memcpy (pkt + 1, rc, sizeof rc);
  send (sock, pkt, sizeof pkt, MSG_NOSIGNAL);
}

struct session
{
  int sock;
  bool terminal;           /* the instance has a pty */
  bool stdin_open;         /* we still read our stdin */
  bool ctrl_p;             /* the last byte typed was ctrl-p */
  bool detached;
  bool exited;
  int status;
};

/* Pass typed bytes on, watching for ctrl-p ctrl-q.  False on EOF. */
static bool
forward_input (struct session *s)
{
  char buf[ATTACH_MAX_PACKET];
  ssize_t n = read (STDIN_FILENO, buf, sizeof buf);
  if (n < 0 && (errno == EAGAIN || errno == EINTR))
    return true;
  if (n <= 0)
    return false;
  char pkt[ATTACH_MAX_PACKET + 2] = { ATTACH_STDIN };
  size_t len = 1;
  for (ssize_t i = 0; i < n; i++)
    {
      if (s->terminal && s->ctrl_p)
        {
          s->ctrl_p = false;
          if (buf[i] == KEY_CTRL_Q)
            {
              s->detached = true;
              break;
            }
          pkt[len++] = KEY_CTRL_P;
        }
      if (s->terminal && buf[i] == KEY_CTRL_P)
        s->ctrl_p = true;
      else
        pkt[len++] = buf[i];
    }
  if (len > 1)
    send (s->sock, pkt, len, MSG_NOSIGNAL);
  return true;
}

/* One packet from the monitor; false when the session is over. */
static bool
monitor_packet (struct session *s)
{
  char pkt[ATTACH_MAX_PACKET + 1];
  ssize_t n = recv (s->sock, pkt, sizeof pkt, 0);
  if (n < 0 && errno == EINTR)
    return true;
  if (n <= 0)
    return false;
  if ((pkt[0] == ATTACH_STDOUT || pkt[0] == ATTACH_STDERR) && n > 1)
    olrun_write_all (pkt[0] == ATTACH_STDOUT ? STDOUT_FILENO : STDERR_FILENO, pkt + 1, (size_t) n - 1);
  else if (pkt[0] == ATTACH_EXIT && n == 5)
    {
      int32_t st;
      memcpy (&st, pkt + 1, sizeof st);
      s->status = st;
      s->exited = true;
      return false;
    }
  return true;
}

static int
session_loop (struct session *s, int sfd, olrun_error_t *err)
{
  while (!s->detached)
    {
      struct pollfd p[3] = { { .fd = s->sock, .events = POLLIN },
                             { .fd = s->stdin_open ? STDIN_FILENO : -1, .events = POLLIN },
                             { .fd = sfd, .events = POLLIN } };
      if (poll (p, 3, -1) < 0 && errno != EINTR)
        return olrun_fail (err, errno, "poll");
      if (p[1].revents && !forward_input (s))
        s->stdin_open = false;
      if (p[2].revents)
        {
          struct signalfd_siginfo si;
          if (read (sfd, &si, sizeof si) == sizeof si && s->terminal)
            send_winsize (s->sock);
        }
      if (p[0].revents && !monitor_packet (s))
        break;
    }
  if (!s->detached && !s->exited)
    return olrun_error_set (err, OLRUN_E_NOT_RUNNING, 0, "the monitor went away");
  return 0;
}

int
olrun_instance_attach (const struct olrun_context *ctx, const char *id, int *ret_status, bool *ret_detached,
                       olrun_error_t *err)
{
  struct instance in = { .dirfd = -1 };
  if (open_running (ctx, id, &in, err) < 0)
    return -1;
  struct session s = { .sock = -1 };
  int rc = connect_monitor (&in, &s.sock, err);
  instance_close (&in);
  if (rc < 0)
    return -1;
  char hello[3];
  if (recv (s.sock, hello, sizeof hello, 0) != sizeof hello || hello[0] != ATTACH_HELLO)
    {
      safe_close (s.sock);
      return olrun_error_set (err, OLRUN_E_NOT_RUNNING, 0, "container not running: `%s`", id);
    }
  s.terminal = hello[1];
  s.stdin_open = hello[1] || hello[2];
  sigset_t winch, old;
  sigemptyset (&winch);
  sigaddset (&winch, SIGWINCH);
  sigprocmask (SIG_BLOCK, &winch, &old);
  _cleanup_close_ int sfd = signalfd (-1, &winch, SFD_CLOEXEC);
  struct termios saved;
  bool raw = s.terminal && olrun_tty_raw (STDIN_FILENO, &saved);
  if (s.terminal)
    send_winsize (s.sock);
  rc = session_loop (&s, sfd, err);
  if (raw)
    olrun_tty_restore (STDIN_FILENO, &saved);
  sigprocmask (SIG_SETMASK, &old, NULL);
  safe_close (s.sock);
  *ret_status = s.status;
  *ret_detached = s.detached;
  return rc;
}

/* Copy the log from *offset to out_fd. */
static int
copy_log (int fd, int out_fd, olrun_error_t *err)
{
  char buf[65536];
  ssize_t n;
  while ((n = read (fd, buf, sizeof buf)) > 0)
    if (olrun_write_all (out_fd, buf, (size_t) n) < 0)
      return olrun_fail (err, errno, "write the log");
  return n < 0 ? olrun_fail (err, errno, "read the log") : 0;
}

int
olrun_instance_logs (const struct olrun_context *ctx, const char *id, int out_fd, bool follow, olrun_error_t *err)
{
  struct instance in = { .dirfd = -1 };
  bool alive = false;
  if (instance_open (ctx, id, &in, &alive, err) < 0)
    return -1;
  _cleanup_close_ int fd = openat (in.dirfd, "log", O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  _cleanup_close_ int ino = follow ? inotify_init1 (IN_CLOEXEC) : -1;
  if (ino >= 0)
    inotify_add_watch (ino, in.dir, IN_MODIFY | IN_CREATE);
  int rc = fd < 0 ? olrun_error_set (err, errno == ENOENT ? OLRUN_E_NOT_EXIST : OLRUN_E_GENERIC, errno,
                                     "`%s` has no log (it is not a detached instance)", id)
                  : copy_log (fd, out_fd, err);
  /* Follow: copy what arrives until the monitor lets the instance go. */
  while (rc == 0 && follow && instance_alive (&in))
    {
      struct pollfd p = { .fd = ino, .events = POLLIN };
      char ev[4096];
      if (poll (&p, 1, 200) > 0)
        while (read (ino, ev, sizeof ev) > 0 && poll (&p, 1, 0) > 0)
          ;
      rc = copy_log (fd, out_fd, err);
    }
  if (rc == 0 && follow)
    rc = copy_log (fd, out_fd, err);
  instance_close (&in);
  return rc;
}

static double
now_s (void)
{
  struct timespec ts;
  clock_gettime (CLOCK_MONOTONIC, &ts);
  return (double) ts.tv_sec + (double) ts.tv_nsec / 1e9;
}

/* Wait until gone() or the deadline; true when gone. */
static bool
wait_gone (bool (*gone) (void *), void *data, double seconds)
{
  double end = now_s () + seconds;
  for (;;)
    {
      if (gone (data))
        return true;
      if (now_s () >= end)
        return false;
      struct timespec step = { 0, 10 * 1000 * 1000 };
      nanosleep (&step, NULL);
    }
}

static bool
instance_gone (void *data)
{
  return !instance_alive (data);
}

struct plain
{
  const struct olrun_context *ctx;
  const char *id;
};

static bool
plain_gone (void *data)
{
  struct plain *p = data;
  _cleanup_state_ struct olrun_state *s = NULL;
  olrun_error_t e = NULL;
  enum olrun_status st;
  bool gone = olrun_container_load (p->ctx, p->id, &s, &e) < 0 || olrun_container_status (s, &st, &e) < 0
              || st == OLRUN_STATUS_STOPPED;
  olrun_error_release (&e);
  return gone;
}

static int
send_signal (const struct olrun_context *ctx, const struct olrun_backend *b, const char *id, int sig,
             olrun_error_t *err)
{
  if (olrun_backend_embedded (b))
    {
      /* Gone already is what stop wants. */
      if (olrun_container_kill (ctx, id, sig, false, err) < 0 && (*err)->kind != OLRUN_E_NOT_RUNNING
          && (*err)->kind != OLRUN_E_NO_PROCESS && (*err)->kind != OLRUN_E_NOT_EXIST)
        return -1;
      olrun_error_release (err);
      return 0;
    }
  char signame[16];
  snprintf (signame, sizeof signame, "%d", sig);
  char *args[] = { "kill", (char *) id, signame, NULL };
  int null = open ("/dev/null", O_RDWR | O_CLOEXEC);
  int stdio[3] = { null, null, null };
  olrun_backend_call (b, ctx, args, null >= 0 ? stdio : NULL, err);
  olrun_error_release (err); /* it may have exited meanwhile */
  safe_close (null);
  return 0;
}

int
olrun_instance_stop (const struct olrun_context *ctx, const char *id, unsigned timeout, olrun_error_t *err)
{
  struct instance in = { .dirfd = -1 };
  bool alive = false;
  if (instance_open (ctx, id, &in, &alive, err) < 0)
    {
      /* Not an instance: a container of the embedded runtime. */
      if ((*err)->kind != OLRUN_E_NOT_EXIST)
        return -1;
      olrun_error_release (err);
      struct plain p = { ctx, id };
      _cleanup_state_ struct olrun_state *s = NULL;
      if (olrun_container_load (ctx, id, &s, err) < 0)
        return -1;
      struct olrun_backend embedded = { .name = "embedded" };
      if (send_signal (ctx, &embedded, id, SIGTERM, err) < 0)
        return -1;
      if (!wait_gone (plain_gone, &p, timeout) && send_signal (ctx, &embedded, id, SIGKILL, err) < 0)
        return -1;
      return wait_gone (plain_gone, &p, 10) ? 0 : olrun_fail (err, ETIMEDOUT, "`%s` does not stop", id);
    }
  struct instance_record r = { 0 };
  _cleanup_backend_ struct olrun_backend *b = NULL;
  int rc = 0;
  if (alive && (rc = instance_record_read (in.dirfd, &r, err)) == 0 && (rc = instance_backend (ctx, &r, &b, err)) == 0
      && (rc = send_signal (ctx, b, id, SIGTERM, err)) == 0 && !wait_gone (instance_gone, &in, timeout))
    rc = send_signal (ctx, b, id, SIGKILL, err);
  /* Stopped means torn down too: wait for the monitor to let go. */
  if (rc == 0 && alive && !wait_gone (instance_gone, &in, 10))
    rc = olrun_fail (err, ETIMEDOUT, "`%s` does not stop", id);
  instance_record_clear (&r);
  instance_close (&in);
  return rc;
}

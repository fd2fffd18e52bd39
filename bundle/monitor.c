/* Detached instances: `olrun run -d REF`.  What the seed did with conmon,
 * olrun does with a small monitor of its own, forked from the launch:
 *
 *   - it starts the container (the embedded runtime in-process, or the
 *     backend's create + start) and so is its parent (a child subreaper for
 *     an external backend, whose init is reparented to it);
 *   - it holds the pty master, or the pipes of stdout/stderr (and of stdin
 *     with -i), copies the output to <instance>/log and to every attached
 *     client, and passes their input and window sizes on;
 *   - when the container exits it records the exit status in
 *     <instance>/exit, deletes the container and removes the bundle.
 *
 * It holds the instance's lock all along (instance.c), so `stop`, `attach`
 * and the next launch's cleanup know whether it lives. */
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>

#include "bundle/launch.h"
#include "olrun/log.h"
#include "olrun/util.h"

#define MAX_CLIENTS 16

struct monitor
{
  struct launch *l;
  int sfd;                      /* signalfd: SIGCHLD and the signals forwarded */
  int listen_fd;                /* attach.sock */
  int log_fd;
  int out_fd, err_fd;           /* the pty master (out only), or the pipes' read ends */
  int in_fd;                    /* the pty master, the stdin pipe's write end, or -1 */
  int master;                   /* the pty master, or -1 */
  int clients[MAX_CLIENTS];
  size_t n_clients;
  pid_t init_pid;
  int status;
};

static void
monitor_close (struct monitor *m)
{
  safe_close (m->sfd);
  safe_close (m->listen_fd);
  safe_close (m->log_fd);
  safe_close (m->out_fd);
  safe_close (m->err_fd);
  if (m->in_fd != m->master && m->in_fd != m->out_fd)
    safe_close (m->in_fd);
  for (size_t i = 0; i < m->n_clients; i++)
    safe_close (m->clients[i]);
}

static int
bind_socket (int dirfd, const char *name, int type, int *ret, olrun_error_t *err)
{
  /* Named through our fd of the instance dir: its path may be longer
   * than sun_path allows. */
  struct sockaddr_un addr = { .sun_family = AF_UNIX };
  snprintf (addr.sun_path, sizeof addr.sun_path, "/proc/self/fd/%d/%s", dirfd, name);
  unlinkat (dirfd, name, 0);
  _cleanup_close_ int fd = socket (AF_UNIX, type | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0)
    return olrun_fail (err, errno, "socket");
  if (bind (fd, (struct sockaddr *) &addr, sizeof addr) < 0 || listen (fd, 8) < 0)
    return olrun_fail (err, errno, "bind `%s`", name);
  *ret = TAKE_FD (fd);
  return 0;
}

/* The container's stdio without a terminal: pipes we read (and write,
 * with -i); /dev/null for stdin otherwise. */
static int
make_pipes (struct monitor *m, int child[3], olrun_error_t *err)
{
  int out[2], errp[2], in[2] = { -1, -1 };
  if (pipe2 (out, O_CLOEXEC) < 0)
    return olrun_fail (err, errno, "pipe");
  if (pipe2 (errp, O_CLOEXEC) < 0)
    {
      safe_close (out[0]);
      safe_close (out[1]);
      return olrun_fail (err, errno, "pipe");
    }
  m->out_fd = out[0];
  m->err_fd = errp[0];
  child[1] = out[1];
  child[2] = errp[1];
  if (m->l->o->interactive && pipe2 (in, O_CLOEXEC) == 0)
    {
      child[0] = in[0];
      m->in_fd = in[1];
      fcntl (m->in_fd, F_SETFL, O_NONBLOCK);
    }
  else
    child[0] = open ("/dev/null", O_RDONLY | O_CLOEXEC);
  return 0;
}

static int
read_pid_file (int dirfd, pid_t *ret, olrun_error_t *err)
{
  _cleanup_free_ char *text = NULL;
  size_t len = 0;
  int64_t pid;
  if (olrun_read_file_at (dirfd, "pid", &text, &len, err) < 0)
    return -1;
  if (olrun_parse_int64 (text, &pid) < 0 || pid <= 0)
    return olrun_invalid (err, "the backend wrote a bad pid file: `%s`", text);
  *ret = (pid_t) pid;
  return 0;
}

/* create + start with an external backend.  Its init is reparented to us
 * (a child subreaper) when the backend's create exits. */
static int
start_external (struct monitor *m, const int child[3], const char *console, olrun_error_t *err)
{
  struct launch *l = m->l;
  _cleanup_free_ char *pidfile = xasprintf ("%s/pid", l->inst.dir);
  _cleanup_free_ char *cs = console ? xasprintf ("--console-socket=%s", console) : NULL;
  char *args[] = { "create", "--bundle", l->bundle, "--pid-file", pidfile, cs ? cs : l->inst.id, cs ? l->inst.id : NULL,
                   NULL };
  char *start[] = { "start", l->inst.id, NULL };
  /* Our stdio is /dev/null: the backend's own errors go to a log of the
   * instance (unless the caller gave --log), whose last line is the why. */
  _cleanup_free_ char *log = l->rctx.log_path ? NULL : xasprintf ("%s/backend.log", l->inst.dir);
  if (log)
    l->rctx.log_path = log;
  int rc = olrun_backend_call (l->backend, &l->rctx, args, child, err);
  if (rc == 0)
    rc = read_pid_file (l->inst.dirfd, &m->init_pid, err);
  if (rc == 0)
    rc = olrun_backend_call (l->backend, &l->rctx, start, NULL, err);
  _cleanup_free_ char *text = NULL;
  size_t len = 0;
  olrun_error_t tmp = NULL;
  if (rc < 0 && log && olrun_read_file_at (l->inst.dirfd, "backend.log", &text, &len, &tmp) == 0 && len > 0)
    {
      while (len > 0 && text[len - 1] == '\n')
        text[--len] = '\0';
      _cleanup_free_ char *what = xstrdup ((*err)->msg);
      olrun_error_release (err);
      olrun_fail (err, 0, "%s: %s", what, strrchr (text, '\n') ? strrchr (text, '\n') + 1 : text);
    }
  olrun_error_release (&tmp);
  if (log)
    l->rctx.log_path = NULL;
  return rc;
}

static int
start_embedded (struct monitor *m, const int child[3], const char *console, olrun_error_t *err)
{
  struct launch *l = m->l;
  struct olrun_create_opts co = { .id = l->inst.id, .bundle = l->bundle, .console_socket = console };
  /* The container inherits fds 0-2 of the process that creates it. */
  int saved[3] = { -1, -1, -1 };
  for (int fd = 0; fd < 3 && !console; fd++)
    if ((saved[fd] = fcntl (fd, F_DUPFD_CLOEXEC, 3)) < 0 || dup2 (child[fd], fd) < 0)
      return olrun_fail (err, errno, "set up the container's stdio");
  int rc = olrun_container_create (&l->rctx, &co, err);
  for (int fd = 0; fd < 3; fd++)
    if (saved[fd] >= 0)
      {
        dup2 (saved[fd], fd);
        safe_close (saved[fd]);
      }
  _cleanup_state_ struct olrun_state *s = NULL;
  if (rc == 0 && (rc = olrun_container_load (&l->rctx, l->inst.id, &s, err)) == 0)
    m->init_pid = s->pid;
  return rc == 0 ? olrun_container_start (&l->rctx, l->inst.id, err) : -1;
}

static int
monitor_start (struct monitor *m, olrun_error_t *err)
{
  struct launch *l = m->l;
  int child[3] = { -1, -1, -1 };
  int console_fd = -1, rc = 0;
  _cleanup_free_ char *console = NULL;
  if (l->terminal)
    {
      rc = bind_socket (l->inst.dirfd, "console.sock", SOCK_STREAM, &console_fd, err);
      console = xasprintf ("/proc/%d/fd/%d/console.sock", (int) getpid (), l->inst.dirfd);
    }
  else
    rc = make_pipes (m, child, err);
  if (rc == 0)
    rc = olrun_backend_embedded (l->backend) ? start_embedded (m, child, console, err)
                                             : start_external (m, child, console, err);
  for (int fd = 0; fd < 3; fd++)
    safe_close (child[fd]);
  if (rc == 0 && console_fd >= 0)
    {
      /* The runtime sent the master before its create returned. */
      _cleanup_close_ int conn = accept4 (console_fd, NULL, NULL, SOCK_CLOEXEC);
      char buf[64];
      int fds[1] = { -1 };
      if (conn < 0 || olrun_recv_fds (conn, buf, sizeof buf, fds, 1, err) < 0 || fds[0] < 0)
        rc = *err ? -1 : olrun_fail (err, errno, "receive the container's pty");
      m->master = m->out_fd = m->in_fd = fds[0];
      if (m->master >= 0)
        fcntl (m->master, F_SETFL, O_NONBLOCK);
    }
  safe_close (console_fd);
  unlinkat (l->inst.dirfd, "console.sock", 0);
  return rc;
}

static void
drop_client (struct monitor *m, size_t i)
{
  safe_close (m->clients[i]);
  m->clients[i] = m->clients[--m->n_clients];
}

static void
broadcast (struct monitor *m, char type, const void *data, size_t len)
{
  char pkt[ATTACH_MAX_PACKET + 1];
  pkt[0] = type;
  memcpy (pkt + 1, data, len);
  for (size_t i = 0; i < m->n_clients;)
    /* A client too slow to take our output is dropped, never waited for. */
    if (send (m->clients[i], pkt, len + 1, MSG_NOSIGNAL | MSG_DONTWAIT) != (ssize_t) len + 1)
      drop_client (m, i);
    else
      i++;
}

/* Copy what the container wrote to the log and the clients; false at EOF
 * (or EIO: every slave of the pty is closed). */
static bool
pump_output (struct monitor *m, int fd, char type)
{
  char buf[ATTACH_MAX_PACKET];
  ssize_t n = read (fd, buf, sizeof buf);
  if (n < 0 && (errno == EAGAIN || errno == EINTR))
    return true;
  if (n <= 0)
    return false;
  olrun_write_all (m->log_fd, buf, (size_t) n);
  broadcast (m, type, buf, (size_t) n);
  return true;
}

static void
client_input (struct monitor *m, size_t i)
{
  char pkt[ATTACH_MAX_PACKET + 1];
  ssize_t n = recv (m->clients[i], pkt, sizeof pkt, MSG_DONTWAIT);
  if (n < 0 && (errno == EAGAIN || errno == EINTR))
    return;
  if (n <= 0)
    {
      drop_client (m, i);
      return;
    }
  if (pkt[0] == ATTACH_STDIN && m->in_fd >= 0)
    olrun_write_all (m->in_fd, pkt + 1, (size_t) n - 1);
  else if (pkt[0] == ATTACH_RESIZE && n == 5 && m->master >= 0)
    {
      uint16_t rc[2];
      memcpy (rc, pkt + 1, sizeof rc);
      struct winsize ws = { .ws_row = rc[0], .ws_col = rc[1] };
      ioctl (m->master, TIOCSWINSZ, &ws);
    }
}

static void
accept_client (struct monitor *m)
{
  int fd = accept4 (m->listen_fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
  if (fd < 0)
    return;
  if (m->n_clients == MAX_CLIENTS)
    {
      safe_close (fd);
      return;
    }
  m->clients[m->n_clients++] = fd;
  char pkt[3] = { ATTACH_HELLO, m->master >= 0, m->in_fd >= 0 };
  send (fd, pkt, sizeof pkt, MSG_NOSIGNAL | MSG_DONTWAIT);
}

/* Returns true when the container's init has exited (m->status set). */
static bool
handle_signal (struct monitor *m)
{
  struct signalfd_siginfo si;
  if (read (m->sfd, &si, sizeof si) != sizeof si)
    return false;
  if (si.ssi_signo != SIGCHLD)
    {
      kill (m->init_pid, (int) si.ssi_signo);
      return false;
    }
  bool exited = false;
  int status;
  pid_t pid;
  /* Reap everything: as a subreaper we also inherit the backend's strays. */
  while ((pid = waitpid (-1, &status, WNOHANG)) > 0)
    if (pid == m->init_pid)
      {
        m->status = WIFEXITED (status) ? WEXITSTATUS (status) : 128 + WTERMSIG (status);
        exited = true;
      }
  return exited;
}

static void
monitor_loop (struct monitor *m)
{
  for (;;)
    {
      struct pollfd p[4 + MAX_CLIENTS] = {
        { .fd = m->sfd, .events = POLLIN },
        { .fd = m->listen_fd, .events = POLLIN },
        { .fd = m->out_fd, .events = POLLIN },
        { .fd = m->err_fd, .events = POLLIN },
      };
      size_t nc = m->n_clients;
      for (size_t i = 0; i < nc; i++)
        p[4 + i] = (struct pollfd){ .fd = m->clients[i], .events = POLLIN };
      if (poll (p, 4 + nc, -1) < 0 && errno != EINTR)
        return;
      if (p[2].revents && !pump_output (m, m->out_fd, ATTACH_STDOUT))
        m->out_fd = m->out_fd == m->master ? -1 : safe_close (m->out_fd);
      if (p[3].revents && !pump_output (m, m->err_fd, ATTACH_STDERR))
        m->err_fd = safe_close (m->err_fd);
      /* Writes above may have dropped clients (and moved others): look
       * each ready one up by its fd. */
      for (size_t i = 0; i < nc; i++)
        for (size_t k = 0; p[4 + i].revents && k < m->n_clients; k++)
          if (m->clients[k] == p[4 + i].fd)
            {
              client_input (m, k);
              break;
            }
      if (p[1].revents)
        accept_client (m);
      if (p[0].revents && handle_signal (m))
        break;
    }
  /* What the container wrote before it exited, without waiting for
   * processes it left behind that still hold the pipes. */
  for (int *fd = &m->out_fd; fd <= &m->err_fd; fd++)
    if (*fd >= 0)
      {
        fcntl (*fd, F_SETFL, O_NONBLOCK);
        while (pump_output (m, *fd, fd == &m->out_fd ? ATTACH_STDOUT : ATTACH_STDERR))
          {
            struct pollfd q = { .fd = *fd, .events = POLLIN };
            if (poll (&q, 1, 0) <= 0)
              break;
          }
      }
  int32_t st = m->status;
  broadcast (m, ATTACH_EXIT, &st, sizeof st);
}

static int
monitor_setup (struct monitor *m, olrun_error_t *err)
{
  sigset_t set;
  sigemptyset (&set);
  static const int sigs[] = { SIGCHLD, SIGTERM, SIGINT, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2 };
  for (size_t i = 0; i < ARRAY_SIZE (sigs); i++)
    sigaddset (&set, sigs[i]);
  if (sigprocmask (SIG_BLOCK, &set, NULL) < 0 || (m->sfd = signalfd (-1, &set, SFD_CLOEXEC)) < 0)
    return olrun_fail (err, errno, "signalfd");
  if (prctl (PR_SET_CHILD_SUBREAPER, 1) < 0)
    return olrun_fail (err, errno, "become a child subreaper");
  m->log_fd = openat (m->l->inst.dirfd, "log", O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (m->log_fd < 0)
    return olrun_fail (err, errno, "create the log");
  return bind_socket (m->l->inst.dirfd, "attach.sock", SOCK_SEQPACKET, &m->listen_fd, err);
}

/* After the container exited: the teardown, then its status. */
static void
monitor_finish (struct monitor *m)
{
  struct launch *l = m->l;
  olrun_error_t tmp = NULL;
  unlinkat (l->inst.dirfd, "attach.sock", 0);
  unlinkat (l->inst.dirfd, "pid", 0);
  if (launch_teardown (l, true, &tmp) < 0)
    {
      olrun_warn ("%s", tmp->msg);
      olrun_error_release (&tmp);
    }
  /* Written last: with an `exit` file, the next launch's cleanup knows the
   * instance is completely gone and keeps its record for `logs`. */
  char buf[16];
  int n = snprintf (buf, sizeof buf, "%d\n", m->status);
  if (olrun_atomic_write_nosync_at (l->inst.dirfd, "exit", buf, (size_t) n, 0600, &tmp) < 0)
    {
      olrun_warn ("%s", tmp->msg);
      olrun_error_release (&tmp);
    }
  instance_close (&l->inst);
}

static _Noreturn void
monitor_main (struct launch *l, int report)
{
  struct monitor m = { .l = l, .sfd = -1, .listen_fd = -1, .log_fd = -1, .out_fd = -1, .err_fd = -1,
                       .in_fd = -1, .master = -1 };
  olrun_error_t err = NULL;
  if (monitor_setup (&m, &err) < 0 || monitor_start (&m, &err) < 0)
    {
      /* The launcher, which waits for this report, tears the launch down. */
      monitor_close (&m);
      olrun_write_all (report, "e", 1);
      olrun_error_write_fd (report, err);
      _exit (1);
    }
  /* Running: the launcher may print the ID and go. */
  olrun_write_all (report, "k", 1);
  safe_close (report);
  monitor_loop (&m);
  monitor_close (&m);
  monitor_finish (&m);
  _exit (0);
}

int
monitor_launch (struct launch *l, olrun_error_t *err)
{
  int report[2];
  if (pipe2 (report, O_CLOEXEC) < 0)
    return olrun_fail (err, errno, "pipe");
  pid_t pid = fork ();
  if (pid < 0)
    {
      safe_close (report[0]);
      safe_close (report[1]);
      return olrun_fail (err, errno, "fork the monitor");
    }
  if (pid == 0)
    {
      safe_close (report[0]);
      setsid ();
      int null = open ("/dev/null", O_RDWR | O_CLOEXEC);
      for (int fd = 0; fd < 3 && null >= 0; fd++)
        dup2 (null, fd);
      safe_close (null);
      monitor_main (l, report[1]);
    }
  safe_close (report[1]);
  _cleanup_close_ int r = report[0];
  char c = 0;
  if (olrun_read_all (r, &c, 1) != 1 || (c != 'k' && c != 'e'))
    return olrun_fail (err, 0, "the monitor exited before the container started");
  if (c == 'k')
    return 0;
  olrun_error_t received = NULL;
  if (olrun_error_read_fd (r, &received, err) < 0)
    return -1;
  if (received == NULL)
    return olrun_fail (err, 0, "the monitor failed without saying why");
  *err = received;
  return -1;
}

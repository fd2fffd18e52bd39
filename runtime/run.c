/* run: create + start, then (in the foreground) wait for the container,
 * forwarding signals and relaying the terminal, and delete it after. */
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <termios.h>

#include "olrun/log.h"
#include "olrun/runtime.h"
#include "olrun/syscalls.h"
#include "olrun/util.h"
#include "runtime/create.h"
#include "runtime/internal.h"

int olrun_start_handshake (int conn, const struct olrun_spec *spec, const struct olrun_state *s, olrun_error_t *err);

struct relay
{
  int master;               /* pty master, or -1 without a terminal */
  bool master_open;         /* false once the slave side hung up (EIO) */
  bool stdin_open;
  bool raw;                 /* stdin was put in raw mode */
  struct termios saved;
  int notify;               /* the container's notify socket until READY=1, or -1 */
  const char *notify_host;
};

static void
relay_begin (struct relay *r)
{
  r->stdin_open = r->master >= 0;
  r->master_open = r->master >= 0;
  /* The caller's terminal is restored in relay_end, on every path out. */
  if (r->master < 0 || !(r->raw = olrun_tty_raw (STDIN_FILENO, &r->saved)))
    return;
  struct winsize ws;
  if (ioctl (STDIN_FILENO, TIOCGWINSZ, &ws) == 0)
    ioctl (r->master, TIOCSWINSZ, &ws);
}

static void
relay_end (struct relay *r)
{
  if (r->raw)
    olrun_tty_restore (STDIN_FILENO, &r->saved);
  r->raw = false;
}

/* Copy what is available from one fd to another; false at EOF or error. */
static bool
pump (int from, int to)
{
  char buf[8192];
  ssize_t n = read (from, buf, sizeof buf);
  if (n < 0 && (errno == EAGAIN || errno == EINTR))
    return true;
  if (n <= 0)
    return false;
  return olrun_write_all (to, buf, (size_t) n) == 0;
}

static void
drain_master (struct relay *r)
{
  if (!r->master_open)
    return;
  fcntl (r->master, F_SETFL, O_NONBLOCK);
  while (pump (r->master, STDOUT_FILENO))
    {
      struct pollfd p = { .fd = r->master, .events = POLLIN };
      if (poll (&p, 1, 0) <= 0)
        break;
    }
}

static int
exit_code (int status)
{
  if (WIFEXITED (status))
    return WEXITSTATUS (status);
  if (WIFSIGNALED (status))
    return 128 + WTERMSIG (status);
  return 1;
}

/* Forward a signal to the container's init, or resize its terminal. */
static void
handle_signal (struct olrun_container *c, struct relay *r, int sig)
{
  if (sig == SIGWINCH)
    {
      struct winsize ws;
      if (r->master >= 0 && ioctl (STDIN_FILENO, TIOCGWINSZ, &ws) == 0)
        ioctl (r->master, TIOCSWINSZ, &ws);
      return;
    }
  olrun_pidfd_send_signal (c->init_pidfd, sig, NULL, 0);
}

static int
wait_loop (struct olrun_container *c, struct relay *r, int sfd, int *ret_status, olrun_error_t *err)
{
  for (;;)
    {
      struct pollfd p[4] = { { .fd = sfd, .events = POLLIN },
                             { .fd = r->master_open ? r->master : -1, .events = POLLIN },
                             { .fd = r->stdin_open ? STDIN_FILENO : -1, .events = POLLIN },
                             { .fd = r->notify, .events = POLLIN } };
      if (poll (p, 4, -1) < 0 && errno != EINTR)
        return olrun_fail (err, errno, "poll");
      bool ready = false;
      if (p[3].revents && olrun_notify_forward (r->notify, r->notify_host, c->init_pid, &ready, err) < 0)
        return -1;
      if (ready)
        r->notify = safe_close (r->notify);
      /* EIO on the master: every slave fd is closed; SIGCHLD follows. */
      if (p[1].revents && !pump (r->master, STDOUT_FILENO))
        r->master_open = false;
      if (p[2].revents && !pump (STDIN_FILENO, r->master))
        r->stdin_open = false;
      if (!(p[0].revents & POLLIN))
        continue;
      struct signalfd_siginfo si;
      if (read (sfd, &si, sizeof si) != sizeof si)
        continue;
      if (si.ssi_signo != SIGCHLD)
        {
          handle_signal (c, r, (int) si.ssi_signo);
          continue;
        }
      int status;
      pid_t pid = waitpid (c->init_pid, &status, WNOHANG);
      if (pid == c->init_pid)
        {
          drain_master (r);
          *ret_status = exit_code (status);
          return 0;
        }
    }
}

/* Block the signals we forward, before the container can be told to
 * start, so none is lost between start and the wait loop. */
int
olrun_signals_forward_fd (sigset_t *old, olrun_error_t *err)
{
  sigset_t all;
  sigfillset (&all);
  sigdelset (&all, SIGSEGV);
  sigdelset (&all, SIGBUS);
  sigdelset (&all, SIGILL);
  sigdelset (&all, SIGFPE);
  sigdelset (&all, SIGPIPE);
  if (sigprocmask (SIG_BLOCK, &all, old) < 0)
    return olrun_fail (err, errno, "sigprocmask");
  int fd = signalfd (-1, &all, SFD_CLOEXEC);
  if (fd < 0)
    {
      int e = errno;
      sigprocmask (SIG_SETMASK, old, NULL);
      return olrun_fail (err, e, "signalfd");
    }
  return fd;
}

/* The state already says "running" (create recorded it for us). */
static int
start_inline (struct olrun_container *c, olrun_error_t *err)
{
  c->started = true;
  if (olrun_start_handshake (c->sync_parent, c->spec, &c->state, err) < 0)
    return -1;
  olrun_hooks_run_warn (c->spec, OLRUN_HOOK_POSTSTART, &c->state, "running");
  return 0;
}

int
olrun_container_run (const struct olrun_context *ctx, const struct olrun_create_opts *o, int *ret_status,
                     olrun_error_t *err)
{
  sigset_t old;
  _cleanup_close_ int sfd = o->detach ? -1 : olrun_signals_forward_fd (&old, err);
  if (!o->detach && sfd < 0)
    return -1;
  _cleanup_container_ struct olrun_container *c = NULL;
  struct relay r = { .master = -1, .notify = -1, .notify_host = ctx->notify_socket };
  int rc = olrun_create_internal (ctx, o, true, &c, err);
  if (rc == 0 && ctx->notify_socket)
    rc = olrun_notify_listen (c->state_dirfd, &r.notify, err);
  if (rc == 0)
    rc = start_inline (c, err);
  if (c)
    r.master = c->pty_master;
  if (rc == 0 && o->detach && r.notify >= 0)
    rc = olrun_notify_wait_ready (r.notify, ctx->notify_socket, c->init_pidfd, c->init_pid, err);
  if (rc == 0 && !o->detach)
    {
      relay_begin (&r);
      rc = wait_loop (c, &r, sfd, ret_status, err);
      relay_end (&r);
    }
  safe_close (r.notify);
  if (!o->detach)
    sigprocmask (SIG_SETMASK, &old, NULL);
  /* The container is deleted after a foreground run, and after a start
   * that failed (its process is gone), unless --keep. */
  if (c && (!o->detach || rc < 0) && !o->keep)
    {
      /* Everything is in memory: no need to read it back as delete does. */
      olrun_error_t tmp = NULL;
      if (olrun_container_teardown (ctx, &c->state, c->cgroup, c->spec, c->started, &tmp) < 0)
        {
          if (rc < 0)
            olrun_error_release (&tmp); /* the first error is the one reported */
          else
            {
              *err = tmp;
              return olrun_error_wrap (err, "remove the container after it exited");
            }
        }
    }
  if (rc == 0 && o->detach)
    *ret_status = 0;
  return rc;
}

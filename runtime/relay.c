/* The foreground half of `run` and `exec`: wait for one process while
 * forwarding every signal olrun receives to it, and relay the caller's
 * terminal to the process's pty when it has one.
 *
 * Signals are blocked and read from a signalfd, so none is lost between the
 * moment the process is started and the moment the loop runs, and none
 * interrupts olrun itself: SIGINT or SIGTERM sent to olrun reach the
 * container's process instead, as with runc. */
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <sys/wait.h>

#include "olrun/runtime.h"
#include "olrun/syscalls.h"
#include "olrun/util.h"
#include "runtime/internal.h"

int
olrun_signals_forward_fd (sigset_t *ret_old, olrun_error_t *err)
{
  sigset_t all;
  sigfillset (&all);
  /* Faults stay synchronous and fatal to olrun; SIGPIPE from a caller that
   * went away must not be forwarded as if the user sent it. */
  sigdelset (&all, SIGSEGV);
  sigdelset (&all, SIGBUS);
  sigdelset (&all, SIGILL);
  sigdelset (&all, SIGFPE);
  sigdelset (&all, SIGPIPE);
  if (sigprocmask (SIG_BLOCK, &all, ret_old) < 0)
    return olrun_fail (err, errno, "sigprocmask");
  int fd = signalfd (-1, &all, SFD_CLOEXEC);
  if (fd < 0)
    {
      int e = errno;
      sigprocmask (SIG_SETMASK, ret_old, NULL);
      return olrun_fail (err, e, "signalfd");
    }
  return fd;
}

void
olrun_relay_begin (struct olrun_relay *r, int master)
{
  r->master = master;
  r->master_open = r->stdin_open = master >= 0;
  /* The caller's terminal is restored in olrun_relay_end, on every path. */
  r->raw = master >= 0 && olrun_tty_raw (STDIN_FILENO, &r->saved);
  struct winsize ws;
  if (r->raw && ioctl (STDIN_FILENO, TIOCGWINSZ, &ws) == 0)
    ioctl (master, TIOCSWINSZ, &ws);
}

void
olrun_relay_end (struct olrun_relay *r)
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

/* What the process wrote just before it exited is still in the pty. */
static void
drain_master (struct olrun_relay *r)
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

int
olrun_exit_code (int status)
{
  if (WIFEXITED (status))
    return WEXITSTATUS (status);
  if (WIFSIGNALED (status))
    return 128 + WTERMSIG (status);
  return 1;
}

/* Forward a signal to the process, or resize its terminal. */
static void
handle_signal (struct olrun_relay *r, int pidfd, int sig)
{
  if (sig == SIGWINCH)
    {
      struct winsize ws;
      if (r->master >= 0 && ioctl (STDIN_FILENO, TIOCGWINSZ, &ws) == 0)
        ioctl (r->master, TIOCSWINSZ, &ws);
      return;
    }
  /* Through the pidfd: a pid reused after the process died is never hit. */
  olrun_pidfd_send_signal (pidfd, sig, NULL, 0);
}

int
olrun_relay_wait (struct olrun_relay *r, int sfd, pid_t pid, int pidfd, int *ret_status, olrun_error_t *err)
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
      if (p[3].revents && olrun_notify_forward (r->notify, r->notify_host, pid, &ready, err) < 0)
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
          handle_signal (r, pidfd, (int) si.ssi_signo);
          continue;
        }
      int status;
      if (waitpid (pid, &status, WNOHANG) == pid)
        {
          drain_master (r);
          *ret_status = olrun_exit_code (status);
          return 0;
        }
    }
}

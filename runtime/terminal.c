/* The container's terminal: a pty allocated from the container's own
 * devpts, its master handed to the caller. */
#include <fcntl.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/un.h>
#include <termios.h>

#include "olrun/mount.h"
#include "olrun/syscalls.h"
#include "olrun/util.h"
#include "runtime/internal.h"

#ifndef TIOCGPTPEER
#define TIOCGPTPEER _IO ('T', 0x41)
#endif

bool
olrun_tty_raw (int fd, struct termios *saved)
{
  if (!isatty (fd) || tcgetattr (fd, saved) < 0)
    return false;
  struct termios raw = *saved;
  cfmakeraw (&raw);
  return tcsetattr (fd, TCSANOW, &raw) == 0;
}

void
olrun_tty_restore (int fd, const struct termios *saved)
{
  tcsetattr (fd, TCSANOW, saved);
}

int
olrun_console_socket_connect (const char *path, int *ret_fd, olrun_error_t *err)
{
  struct sockaddr_un addr = { .sun_family = AF_UNIX };
  if (strlen (path) >= sizeof addr.sun_path)
    return olrun_invalid (err, "console socket path `%s` is too long", path);
  strcpy (addr.sun_path, path);
  _cleanup_close_ int fd = socket (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0)
    return olrun_fail (err, errno, "socket");
  if (connect (fd, (struct sockaddr *) &addr, sizeof addr) < 0)
    return olrun_fail (err, errno, "connect to console socket `%s`", path);
  *ret_fd = TAKE_FD (fd);
  return 0;
}

int
olrun_terminal_send (int sock, int master, olrun_error_t *err)
{
  /* runc sends the terminal's name as the payload; clients (conmon,
   * recvtty) only need it to be non-empty. */
  static const char name[] = "/dev/ptmx";
  if (olrun_send_fds (sock, name, sizeof name - 1, &master, 1, err) < 0)
    return olrun_error_wrap (err, "send the pty to the console socket");
  return 0;
}

/* /dev/console becomes a bind mount of the pty slave.  The existing entry
 * may be a symlink planted by the image (CVE-2025-52565): it is removed,
 * never followed, and a fresh file made as the mount point. */
static int
bind_console (int slave, olrun_error_t *err)
{
  _cleanup_close_ int dev = open ("/dev", O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (dev < 0)
    return olrun_fail (err, errno, "open /dev");
  struct stat st;
  if (fstatat (dev, "console", &st, AT_SYMLINK_NOFOLLOW) == 0 && !S_ISREG (st.st_mode)
      && unlinkat (dev, "console", S_ISDIR (st.st_mode) ? AT_REMOVEDIR : 0) < 0)
    return olrun_fail (err, errno, "remove /dev/console");
  _cleanup_close_ int target = openat (dev, "console", O_CREAT | O_NOFOLLOW | O_CLOEXEC | O_RDONLY, 0600);
  if (target < 0)
    return olrun_fail (err, errno, "create /dev/console");
  _cleanup_close_ int tree = olrun_open_tree (slave, "", OPEN_TREE_CLONE | AT_EMPTY_PATH | OPEN_TREE_CLOEXEC);
  if (tree < 0)
    return olrun_fail (err, errno, "clone the pty for /dev/console");
  if (olrun_move_mount (tree, "", target, "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) < 0)
    return olrun_fail (err, errno, "mount the pty on /dev/console");
  return 0;
}

/* /dev/ptmx as the container sees it.  In a running container (exec) its
 * processes may have replaced it: a FIFO would block the open, so it is
 * opened non-blocking and must be the pty multiplexer (char 5:2, the one
 * in the container's devpts, or the legacy node that redirects to it). */
static int
open_ptmx (olrun_error_t *err)
{
  _cleanup_close_ int master = open ("/dev/ptmx", O_RDWR | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);
  if (master < 0)
    return olrun_fail (err, errno, "open /dev/ptmx");
  struct stat st;
  if (fstat (master, &st) < 0)
    return olrun_fail (err, errno, "stat /dev/ptmx");
  if (!S_ISCHR (st.st_mode) || major (st.st_rdev) != 5 || minor (st.st_rdev) != 2)
    return olrun_fail (err, 0, "/dev/ptmx is not the pty multiplexer");
  int fl = fcntl (master, F_GETFL);
  if (fl < 0 || fcntl (master, F_SETFL, fl & ~O_NONBLOCK) < 0)
    return olrun_fail (err, errno, "fcntl /dev/ptmx");
  return TAKE_FD (master);
}

int
olrun_terminal_setup (const struct olrun_process *p, bool console, int *ret_master, olrun_error_t *err)
{
  /* /dev/ptmx is (or links to) the container's devpts instance. */
  _cleanup_close_ int master = open_ptmx (err);
  if (master < 0)
    return -1;
  int unlock = 0;
  if (ioctl (master, TIOCSPTLCK, &unlock) < 0)
    return olrun_fail (err, errno, "unlock the pty");
  /* TIOCGPTPEER opens the slave through the master: no path lookup that
   * the container could race. */
  _cleanup_close_ int slave = ioctl (master, TIOCGPTPEER, O_RDWR | O_NOCTTY | O_CLOEXEC);
  if (slave < 0)
    return olrun_fail (err, errno, "open the pty slave");
  if (p->console_height || p->console_width)
    {
      struct winsize ws = { .ws_row = (unsigned short) p->console_height, .ws_col = (unsigned short) p->console_width };
      if (ioctl (master, TIOCSWINSZ, &ws) < 0)
        return olrun_fail (err, errno, "set the console size");
    }
  if (console && bind_console (slave, err) < 0)
    return -1;
  if (dup2 (slave, 0) < 0 || dup2 (slave, 1) < 0 || dup2 (slave, 2) < 0)
    return olrun_fail (err, errno, "dup the pty to stdio");
  if (ioctl (0, TIOCSCTTY, 0) < 0)
    return olrun_fail (err, errno, "make the pty the controlling terminal");
  *ret_master = TAKE_FD (master);
  return 0;
}

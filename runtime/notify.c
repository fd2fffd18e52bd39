/* NOTIFY_SOCKET passed through as runc does it.
 *
 * A caller under systemd (Type=notify, or podman --sdnotify=container)
 * gives us its notify socket.  The container cannot reach that path, so it
 * gets a socket of its own: <state>/notify/notify.sock, bind-mounted
 * read-only at /run/notify, named in its NOTIFY_SOCKET.  start (or run)
 * listens there and forwards the container's READY=1 to the caller, with
 * MAINPID set to the container's init, so systemd watches the right
 * process. */
#include <fcntl.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include "olrun/log.h"
#include "olrun/util.h"
#include "runtime/internal.h"

#define NOTIFY_DIR_IN_CONTAINER "/run/notify"

int
olrun_notify_prepare (struct olrun_spec *spec, const char *state_dir, int state_dirfd, olrun_error_t *err)
{
  if (mkdirat (state_dirfd, "notify", 0755) < 0 && errno != EEXIST)
    return olrun_fail (err, errno, "create the notify directory");
  struct olrun_mount m = {
    .destination = xstrdup (NOTIFY_DIR_IN_CONTAINER),
    .source = xasprintf ("%s/notify", state_dir),
    .type = xstrdup ("bind"),
    .options = xzalloc (6 * sizeof (char *)),
  };
  static const char *const opts[] = { "bind", "nosuid", "noexec", "nodev", "ro" };
  for (size_t i = 0; i < ARRAY_SIZE (opts); i++)
    m.options[i] = xstrdup (opts[i]);
  const char *bad = NULL;
  olrun_mount_parse_options (&m, &bad);
  spec->mounts = xreallocarray (spec->mounts, spec->n_mounts + 1, sizeof *spec->mounts);
  spec->mounts[spec->n_mounts++] = m;
  char ***env = &spec->process->env;
  size_t n = strv_length (*env);
  *env = xreallocarray (*env, n + 2, sizeof **env);
  (*env)[n] = xstrdup ("NOTIFY_SOCKET=" NOTIFY_DIR_IN_CONTAINER "/notify.sock");
  (*env)[n + 1] = NULL;
  return 0;
}

int
olrun_notify_listen (int state_dirfd, int *ret_fd, olrun_error_t *err)
{
  *ret_fd = -1;
  struct stat st;
  if (fstatat (state_dirfd, "notify", &st, 0) < 0)
    return 0; /* created without NOTIFY_SOCKET */
  unlinkat (state_dirfd, "notify/notify.sock", 0);
  struct sockaddr_un addr = { .sun_family = AF_UNIX };
  snprintf (addr.sun_path, sizeof addr.sun_path, "/proc/self/fd/%d/notify/notify.sock", state_dirfd);
  _cleanup_close_ int fd = socket (AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0)
    return olrun_fail (err, errno, "notify socket");
  if (bind (fd, (struct sockaddr *) &addr, sizeof addr) < 0)
    return olrun_fail (err, errno, "bind the notify socket");
  /* Anyone in the container may notify, whatever its uid. */
  if (fchmodat (state_dirfd, "notify/notify.sock", 0777, 0) < 0)
    return olrun_fail (err, errno, "chmod the notify socket");
  *ret_fd = TAKE_FD (fd);
  return 0;
}

static int
send_to_host (const char *host, const char *msg, size_t len, olrun_error_t *err)
{
  struct sockaddr_un addr = { .sun_family = AF_UNIX };
  size_t n = strlen (host);
  if (n >= sizeof addr.sun_path)
    return olrun_invalid (err, "NOTIFY_SOCKET `%s` is too long", host);
  memcpy (addr.sun_path, host, n);
  /* "@name" is an abstract socket, as in sd_notify. */
  if (host[0] == '@')
    addr.sun_path[0] = '\0';
  _cleanup_close_ int fd = socket (AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0)
    return olrun_fail (err, errno, "socket");
  socklen_t alen = (socklen_t) (offsetof (struct sockaddr_un, sun_path) + n + (host[0] == '@' ? 0 : 1));
  if (sendto (fd, msg, len, MSG_NOSIGNAL, (struct sockaddr *) &addr, alen) < 0)
    return olrun_fail (err, errno, "notify `%s`", host);
  return 0;
}

int
olrun_notify_forward (int fd, const char *host, pid_t pid, bool *ret_ready, olrun_error_t *err)
{
  char buf[4096];
  ssize_t n = recv (fd, buf, sizeof buf - 1, MSG_DONTWAIT);
  if (n < 0)
    return errno == EAGAIN || errno == EINTR ? 0 : olrun_fail (err, errno, "read the notify socket");
  buf[n] = '\0';
  *ret_ready = strstr (buf, "READY=1") != NULL;
  if (!*ret_ready)
    return 0;
  /* Only READY is forwarded, with the pid systemd must watch. */
  char msg[64];
  int len = snprintf (msg, sizeof msg, "MAINPID=%d\nREADY=1\n", (int) pid);
  return send_to_host (host, msg, (size_t) len, err);
}

int
olrun_notify_wait_ready (int fd, const char *host, int pidfd, pid_t pid, olrun_error_t *err)
{
  /* pidfd < 0: the process is gone already (reaped before we could
   * open it); only what it sent before it went still counts. */
  int timeout = pidfd < 0 ? 0 : -1;
  for (;;)
    {
      struct pollfd p[2] = { { .fd = fd, .events = POLLIN }, { .fd = pidfd, .events = POLLIN } };
      int n = poll (p, 2, timeout);
      if (n < 0)
        {
          if (errno == EINTR)
            continue;
          return olrun_fail (err, errno, "poll");
        }
      if (n == 0)
        return olrun_fail (err, 0, "the container exited before it was ready (NOTIFY_SOCKET)");
      if (p[0].revents)
        {
          bool ready = false;
          if (olrun_notify_forward (fd, host, pid, &ready, err) < 0)
            return -1;
          if (ready)
            return 0;
        }
      if (p[1].revents)
        return olrun_fail (err, 0, "the container exited before it was ready (NOTIFY_SOCKET)");
    }
}

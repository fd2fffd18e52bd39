/* Raw wrappers for syscalls glibc 2.36 does not wrap (or wraps too late),
 * in one place, as crun's syscalls.h keeps them. */
#ifndef OLRUN_SYSCALLS_H
#define OLRUN_SYSCALLS_H

#include <fcntl.h>
#include <linux/mount.h>
#include <linux/openat2.h>
#include <linux/sched.h>
#include <signal.h>
#include <stdint.h>
#include <sys/syscall.h>
#include <unistd.h>

#ifndef CLONE_INTO_CGROUP
#define CLONE_INTO_CGROUP 0x200000000ULL
#endif
#ifndef CLONE_NEWTIME
#define CLONE_NEWTIME 0x00000080
#endif
#ifndef CLOSE_RANGE_CLOEXEC
#define CLOSE_RANGE_CLOEXEC (1U << 2)
#endif
#ifndef MOUNT_ATTR_IDMAP
#define MOUNT_ATTR_IDMAP 0x00100000
#endif
#ifndef PIDFD_NONBLOCK
#define PIDFD_NONBLOCK O_NONBLOCK
#endif

static inline long
olrun_clone3 (struct clone_args *args, size_t size)
{
  return syscall (SYS_clone3, args, size);
}
static inline int
olrun_openat2 (int dirfd, const char *path, struct open_how *how)
{
  return (int) syscall (SYS_openat2, dirfd, path, how, sizeof (*how));
}
static inline int
olrun_pidfd_open (pid_t pid, unsigned int flags)
{
  return (int) syscall (SYS_pidfd_open, pid, flags);
}
static inline int
olrun_pidfd_send_signal (int pidfd, int sig, siginfo_t *info, unsigned int flags)
{
  return (int) syscall (SYS_pidfd_send_signal, pidfd, sig, info, flags);
}
static inline int
olrun_pidfd_getfd (int pidfd, int targetfd, unsigned int flags)
{
  return (int) syscall (SYS_pidfd_getfd, pidfd, targetfd, flags);
}
static inline int
olrun_close_range (unsigned int first, unsigned int last, unsigned int flags)
{
  return (int) syscall (SYS_close_range, first, last, flags);
}
static inline int
olrun_pivot_root (const char *new_root, const char *put_old)
{
  return (int) syscall (SYS_pivot_root, new_root, put_old);
}
static inline int
olrun_open_tree (int dirfd, const char *path, unsigned int flags)
{
  return (int) syscall (SYS_open_tree, dirfd, path, flags);
}
static inline int
olrun_move_mount (int from_dirfd, const char *from_path, int to_dirfd, const char *to_path,
                  unsigned int flags)
{
  return (int) syscall (SYS_move_mount, from_dirfd, from_path, to_dirfd, to_path, flags);
}
static inline int
olrun_fsopen (const char *fsname, unsigned int flags)
{
  return (int) syscall (SYS_fsopen, fsname, flags);
}
static inline int
olrun_fsconfig (int fd, unsigned int cmd, const char *key, const void *value, int aux)
{
  return (int) syscall (SYS_fsconfig, fd, cmd, key, value, aux);
}
static inline int
olrun_fsmount (int fd, unsigned int flags, unsigned int attr_flags)
{
  return (int) syscall (SYS_fsmount, fd, flags, attr_flags);
}
static inline int
olrun_mount_setattr (int dirfd, const char *path, unsigned int flags, struct mount_attr *attr)
{
  return (int) syscall (SYS_mount_setattr, dirfd, path, flags, attr, sizeof (*attr));
}

#endif

/* Process attributes the container's process inherits through execve:
 * scheduling policy, I/O priority, personality, NUMA memory policy and the
 * LSM label to take on at exec (AppArmor profile, SELinux label). */
#include <fcntl.h>
#include <linux/ioprio.h>
#include <linux/magic.h>
#include <linux/sched/types.h>
#include <stdio.h>
#include <string.h>
#include <sys/personality.h>
#include <sys/syscall.h>
#include <sys/vfs.h>

#include "olrun/syscalls.h"
#include "olrun/util.h"
#include "runtime/internal.h"

#ifndef SELINUX_MAGIC
#define SELINUX_MAGIC 0xf97cff8c
#endif

int
olrun_process_apply_sched (const struct olrun_process *p, olrun_error_t *err)
{
  if (p->io_priority.set)
    {
      int v = IOPRIO_PRIO_VALUE (p->io_priority.klass, p->io_priority.priority);
      if (syscall (SYS_ioprio_set, IOPRIO_WHO_PROCESS, 0, v) < 0)
        return olrun_fail (err, errno, "process.ioPriority: ioprio_set");
    }
  const struct olrun_scheduler *s = p->scheduler;
  if (s == NULL)
    return 0;
  struct sched_attr attr = {
    .size = sizeof attr,
    .sched_policy = (uint32_t) s->policy,
    .sched_flags = s->flags,
    .sched_nice = s->nice,
    .sched_priority = (uint32_t) s->priority,
    .sched_runtime = s->runtime,
    .sched_deadline = s->deadline,
    .sched_period = s->period,
  };
  if (syscall (SYS_sched_setattr, 0, &attr, 0) < 0)
    return olrun_fail (err, errno, "process.scheduler: sched_setattr");
  return 0;
}

int
olrun_process_apply_linux (const struct olrun_linux *l, olrun_error_t *err)
{
  if (l->has_personality && personality (l->personality) < 0)
    return olrun_fail (err, errno, "linux.personality");
  const struct olrun_memory_policy *mp = l->memory_policy;
  if (mp && syscall (SYS_set_mempolicy, mp->mode, mp->maxnode ? mp->nodes : NULL,
                     mp->maxnode ? mp->maxnode + 1 : 0) < 0)
    {
      if (errno == EINVAL)
        return olrun_fail (err, errno, "linux.memoryPolicy: the kernel refuses it (a node this host lacks, or a "
                                       "mode or flag it does not know)");
      return olrun_fail (err, errno, "linux.memoryPolicy: set_mempolicy");
    }
  return 0;
}

/* ---- LSM labels ----
 * Whether the LSM is really active decides, not whether the config asks:
 * a label that silently does nothing would be a confinement the user
 * believes in and does not have. */
bool
olrun_lsm_apparmor_enabled (void)
{
  char c = 0;
  _cleanup_close_ int fd = open ("/sys/module/apparmor/parameters/enabled", O_RDONLY | O_CLOEXEC);
  return fd >= 0 && read (fd, &c, 1) == 1 && c == 'Y';
}

bool
olrun_lsm_selinux_enabled (void)
{
  struct statfs sfs;
  return statfs ("/sys/fs/selinux", &sfs) == 0 && sfs.f_type == SELINUX_MAGIC;
}

int
olrun_process_check_lsm (const struct olrun_process *p, olrun_error_t *err)
{
  if (p == NULL)
    return 0;
  if (p->apparmor_profile && *p->apparmor_profile && !olrun_lsm_apparmor_enabled ())
    return olrun_error_set (err, OLRUN_E_UNSUPPORTED, 0,
                            "process.apparmorProfile `%s`: AppArmor is not enabled on this host",
                            p->apparmor_profile);
  if (p->selinux_label && *p->selinux_label && !olrun_lsm_selinux_enabled ())
    return olrun_error_set (err, OLRUN_E_UNSUPPORTED, 0,
                            "process.selinuxLabel `%s`: SELinux is not enabled on this host", p->selinux_label);
  return 0;
}

/* A procfs of our own, never attached anywhere: the container's /proc may
 * be a volume of the image, and a label written there would be lost
 * (CVE-2019-16884) or land in a file of the image (CVE-2025-52881). */
static int
private_procfs (olrun_error_t *err)
{
  _cleanup_close_ int fs = olrun_fsopen ("proc", FSOPEN_CLOEXEC);
  if (fs < 0 || olrun_fsconfig (fs, FSCONFIG_CMD_CREATE, NULL, NULL, 0) < 0)
    return olrun_fail (err, errno, "a procfs for the LSM label");
  int mnt = olrun_fsmount (fs, FSMOUNT_CLOEXEC, MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC);
  if (mnt < 0)
    return olrun_fail (err, errno, "a procfs for the LSM label");
  return mnt;
}

static int
write_attr (int proc, const char *path, const char *value, olrun_error_t *err)
{
  struct open_how how = { .flags = O_WRONLY | O_CLOEXEC, .resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS };
  _cleanup_close_ int fd = olrun_openat2 (proc, path, &how);
  struct statfs sfs;
  if (fd < 0)
    return olrun_fail (err, errno, "open /proc/%s", path);
  if (fstatfs (fd, &sfs) < 0 || sfs.f_type != PROC_SUPER_MAGIC)
    return olrun_fail (err, EXDEV, "/proc/%s is not on procfs", path);
  if (olrun_write_all (fd, value, strlen (value)) < 0)
    return olrun_fail (err, errno, "write `%s` to /proc/%s", value, path);
  return 0;
}

int
olrun_process_apply_lsm (const struct olrun_process *p, olrun_error_t *err)
{
  bool aa = p->apparmor_profile && *p->apparmor_profile;
  bool se = p->selinux_label && *p->selinux_label;
  if (!aa && !se)
    return 0;
  if (olrun_process_check_lsm (p, err) < 0)
    return -1;
  _cleanup_close_ int proc = private_procfs (err);
  if (proc < 0 && (*err)->errnum == EPERM)
    {
      /* A user namespace may not mount a procfs while parts of /proc are
       * masked: use the container's, proven to be procfs by write_attr. */
      olrun_error_release (err);
      proc = open ("/proc", O_PATH | O_DIRECTORY | O_CLOEXEC);
      if (proc < 0)
        return olrun_fail (err, errno, "open /proc");
    }
  if (proc < 0)
    return -1;
  if (aa)
    {
      /* Linux 5.8+ names AppArmor's own attr directory; "exec" takes
       * effect at the next execve. */
      _cleanup_free_ char *v = xasprintf ("exec %s", p->apparmor_profile);
      if (write_attr (proc, "thread-self/attr/apparmor/exec", v, err) < 0)
        return olrun_error_wrap (err, "process.apparmorProfile");
    }
  if (se && write_attr (proc, "thread-self/attr/exec", p->selinux_label, err) < 0)
    return olrun_error_wrap (err, "process.selinuxLabel");
  return 0;
}

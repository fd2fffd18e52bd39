/* Loading a compiled filter into the calling process with seccomp(2).  Runs
 * in the container's process right before execve: everything olrun does
 * before this point is unfiltered, and nothing here allocates on success. */
#include <errno.h>

#include "olrun/seccomp.h"
#include "olrun/util.h"
#include "seccomp/seccomp_internal.h"

static const struct
{
  unsigned int bit;
  const char *name;
} kernel_flag_names[] = {
  { SECCOMP_FILTER_FLAG_TSYNC, "SECCOMP_FILTER_FLAG_TSYNC" },
  { SECCOMP_FILTER_FLAG_LOG, "SECCOMP_FILTER_FLAG_LOG" },
  { SECCOMP_FILTER_FLAG_SPEC_ALLOW, "SECCOMP_FILTER_FLAG_SPEC_ALLOW" },
  { SECCOMP_FILTER_FLAG_NEW_LISTENER, "SECCOMP_FILTER_FLAG_NEW_LISTENER (SCMP_ACT_NOTIFY)" },
  { SECCOMP_FILTER_FLAG_TSYNC_ESRCH, "SECCOMP_FILTER_FLAG_TSYNC_ESRCH" },
  { SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV, "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV" },
};

/* After an EINVAL: name the first flag this kernel does not know, probing
 * each as olrun_seccomp_flag_supported() does (EFAULT = known). */
static const char *
unsupported_flag (unsigned int flags)
{
  for (size_t i = 0; i < ARRAY_SIZE (kernel_flag_names); i++)
    {
      unsigned int bit = kernel_flag_names[i].bit, probe = bit;
      if (!(flags & bit))
        continue;
      /* Some flags are only valid in company. */
      if (bit == SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV || bit == SECCOMP_FILTER_FLAG_TSYNC_ESRCH)
        probe |= SECCOMP_FILTER_FLAG_NEW_LISTENER;
      if (olrun_sys_seccomp (SECCOMP_SET_MODE_FILTER, probe, NULL) < 0 && errno == EINVAL)
        return kernel_flag_names[i].name;
    }
  return NULL;
}

int
olrun_seccomp_install (const struct olrun_seccomp_program *p, int *ret_listener_fd, olrun_error_t *err)
{
  *ret_listener_fd = -1;
  if (p == NULL)
    return 0; /* the config has no linux.seccomp */
  struct sock_fprog prog = { .len = (unsigned short) p->len, .filter = p->insns };
  long rc = olrun_sys_seccomp (SECCOMP_SET_MODE_FILTER, p->kernel_flags, &prog);
  if (rc < 0)
    {
      int e = errno;
      if (e == EACCES)
        /* The kernel's rule against handing a filter to a setuid binary:
         * without no_new_privs only CAP_SYS_ADMIN may load one. */
        return olrun_fail (err, e,
                           "seccomp: loading the filter needs no_new_privs or CAP_SYS_ADMIN (set "
                           "process.noNewPrivileges, or keep CAP_SYS_ADMIN until the filter is loaded)");
      if (e == EINVAL)
        {
          const char *flag = unsupported_flag (p->kernel_flags);
          if (flag)
            return olrun_error_set (err, OLRUN_E_UNSUPPORTED, 0, "seccomp: this kernel does not support %s", flag);
        }
      if (e == ESRCH)
        return olrun_fail (err, e, "seccomp: another thread could not be synchronized (SECCOMP_FILTER_FLAG_TSYNC)");
      return olrun_fail (err, e, "seccomp: loading the filter (%zu instructions)", p->len);
    }
  /* With TSYNC and no listener, a positive value is the id of a thread that
   * could not be synchronized: the filter is not in force. */
  if (!p->notify && rc > 0)
    return olrun_fail (err, 0, "seccomp: thread %ld could not be synchronized (SECCOMP_FILTER_FLAG_TSYNC)", rc);
  if (p->notify)
    *ret_listener_fd = (int) rc;
  return 0;
}

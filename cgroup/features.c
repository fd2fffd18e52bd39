/* What the cgroup code can do on this host, for `features`. */
#include <fcntl.h>

#include "cgroup/internal.h"
#include "olrun/cgroup.h"
#include "olrun/util.h"

void
olrun_cgroup_features (struct olrun_cgroup_features *ret)
{
  /* cgroup v1 is never used (on a hybrid host the v2 hierarchy is).  The
   * rest works only where this host has it: a cgroup2 mount, a running
   * systemd (the user manager is reached the same way), an rdma
   * controller at the top of the hierarchy. */
  const char *mnt = olrun_cgroup2_mountpoint ();
  *ret = (struct olrun_cgroup_features){ .v2 = mnt != NULL };
  ret->systemd = ret->systemd_user = mnt && olrun_cgroup_systemd_usable ();
  _cleanup_close_ int rootfd = mnt ? open (mnt, O_RDONLY | O_DIRECTORY | O_CLOEXEC) : -1;
  unsigned available = 0;
  olrun_error_t err = NULL;
  if (rootfd >= 0 && olrun_controllers_read (rootfd, "cgroup.controllers", &available, &err) < 0)
    olrun_error_release (&err);
  ret->rdma = (available & (1u << OLRUN_CTRL_RDMA)) != 0;
}
